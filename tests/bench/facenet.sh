#!/usr/bin/env bash
# tests/bench/facenet.sh HYPER - FaceNet (Inception-ResNet-v1, 160x160, 1.418 GMAC/image) images/s
# at batch 1 and 32 with 1 and 2 threads, and peak RSS, for `hyper embed --input-npy` and for
# the same architecture in this machine's PyTorch (convert/bench_facenet_torch.py), same run.
# Full-size random weights are generated and converted once (needs /usr/bin/python3 + torch).
# Env: FN_N1 (images timed at batch 1, default 16), FN_N32 (at batch 32, default 64).
set -euo pipefail
HY=${1:-build/hyper}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
PY=/usr/bin/python3
N1=${FN_N1:-16}; N32=${FN_N32:-64}
T=$(mktemp -d /tmp/hy_bench_facenet.XXXXXX)
trap 'rm -rf "$T"' EXIT
$PY - "$T" "$N32" <<PYEOF
import sys, numpy as np, torch
sys.path.insert(0, "$HERE/convert")
from facenet_ref import FaceNetRef, randomize
import facenet
torch.set_num_threads(1)
d, n = sys.argv[1], int(sys.argv[2])
facenet.build_wfile(randomize(FaceNetRef(1), 0).state_dict(), 1, "bench").save(d + "/w.bin")
x = (np.random.RandomState(0).randint(0, 256, (n, 3, 160, 160)).astype(np.float32) - 127.5) / 128
np.save(d + "/x32.npy", x); np.save(d + "/x1.npy", x[:$N1])
PYEOF
printf '%-8s %-6s %-8s | %12s %10s | %12s %10s | %7s\n' engine batch threads "C img/s" "C RSS MB" "torch img/s" "torch RSS" "C/torch"
for th in 1 2; do
  for b in 1 32; do
    xin=$T/x1.npy; n=$N1; [ "$b" = 32 ] && xin=$T/x32.npy && n=$N32
    # hyper reports "embedded N faces in S s": the timed forward loop (buffers sized before it)
    /usr/bin/time -f "RSS %M" "$HY" embed -w "$T/w.bin" --input-npy "$xin" -o "$T/e.npy" --batch "$b" --threads "$th" 2> "$T/c.log"
    c_ips=$(sed -nE 's/.*embedded ([0-9]+) faces in ([0-9.]+) s.*/\1 \2/p' "$T/c.log" | awk '{printf "%.2f", $1/$2}')
    c_rss=$(sed -nE 's/^RSS ([0-9]+)/\1/p' "$T/c.log" | awk '{printf "%.0f", $1/1024}')
    read -r _ t_ips _ t_rss < <($PY "$HERE/convert/bench_facenet_torch.py" --threads "$th" --batch "$b" --n "$n")
    ratio=$(awk -v a="$c_ips" -v b="$t_ips" 'BEGIN{printf "%.2fx", a/b}')
    printf '%-8s %-6s %-8s | %12s %10s | %12s %10s | %7s\n' facenet "$b" "$th" "$c_ips" "$c_rss" "$t_ips" "$t_rss" "$ratio"
  done
done
echo "(target: C >= 1.2x torch at both batch sizes; machine load: $(cut -d' ' -f1-3 /proc/loadavg))"
