#!/usr/bin/env bash
# tests/bench/facenet.sh HYPER - FaceNet (Inception-ResNet-v1, 160x160, 1.418 GMAC/image) images/s
# at batch 1 and 32 with 1 and 2 threads, and peak RSS, for `hyper embed --input-npy` and for
# the same architecture in this machine's PyTorch (convert/bench/bench_facenet_torch.py), same run.
# Full-size random weights are generated and converted once (needs /usr/bin/python3 + torch).
# "img/s" is wall clock over the timed forward loop (after loading; torch after one warm-up
# batch). "img/CPU-s" is images per second of process CPU time (all threads): on a shared,
# overloaded machine wall clock mostly measures the other jobs, CPU time much less so.
# Each configuration is timed FN_REPS times (C and torch interleaved) and the best run is shown,
# which filters out most interference from other jobs.
# Each kernel ISA in $BENCH_ISAS (default: avx512 and avx2 where the CPU has them) gets its own
# rows: C with HY_ISA set, PyTorch with oneDNN held to the same class (tests/bench/isa.sh).
# GF/s counts the network's 2 x 1.418 GMAC per image (every conv as written: PyTorch's work);
# "exe" counts what the C side executes: its 3x3 stride-1 convs (0.517 GMAC) run as Winograd
# F(2x2, 3x3) with 0.239 G multiply-adds in the products (16 per 2x2 tile, partial tiles included;
# the transforms' additions not counted), Block17's 1x7 / 7x1 convs (0.147 GMAC) as F(2, 7)
# with 0.084 G (8 per 2 outputs instead of 14) and conv2d_4b (3x3 stride 2, 0.128 GMAC) in the
# polyphase form with 0.100 G (25 per 2x2 tile, 81 tiles): 1.049 GMAC per image in all
# (HY_WINOGRAD=0: 1.418).
# Env: FN_N1 (images timed at batch 1, default 32), FN_N32 (at batch 32, default 32), FN_REPS (2),
#      BENCH_ISAS.
set -euo pipefail
HY=${1:-build/hyper}
HERE=$(cd "$(dirname "$0")/../.." && pwd)
. "$HERE/tests/bench/isa.sh"
PY=/usr/bin/python3
N1=${FN_N1:-32}; N32=${FN_N32:-32}; REPS=${FN_REPS:-2}
T=$(mktemp -d /tmp/hy_bench_facenet.XXXXXX)
trap 'rm -rf "$T"' EXIT
$PY - "$T" "$N32" "$N1" <<PYEOF
import sys, numpy as np, torch
sys.path.insert(0, "$HERE/convert")
import _paths
from facenet_ref import FaceNetRef, randomize
import facenet
torch.set_num_threads(1)
d, n, n1 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
facenet.build_wfile(randomize(FaceNetRef(1), 0).state_dict(), 1, "bench").save(d + "/w.bin")
x = (np.random.RandomState(0).randint(0, 256, (max(n, n1), 3, 160, 160)).astype(np.float32) - 127.5) / 128
np.save(d + "/x32.npy", x[:n]); np.save(d + "/x1.npy", x[:n1])
PYEOF
echo "FaceNet 160x160, images/s (higher is better, best of $REPS); C = hyper embed --input-npy, torch = $($PY -c 'import torch; print(torch.__version__)')"
EXE_GMAC=1.049; [ "${HY_WINOGRAD:-1}" = 0 ] && EXE_GMAC=1.418
printf '%-7s %-5s %-7s | %8s %6s %6s %9s %7s | %8s %9s %7s | %8s %9s\n' isa batch threads "C img/s" "GF/s" "exe" "img/CPU-s" "RSS MB" "torch" "img/CPU-s" "RSS MB" "C/torch" "(CPU)"
for isa in $(bench_isas "$HY"); do
for th in 1 2; do
  for b in 1 32; do
    xin=$T/x1.npy; n=$N1; [ "$b" = 32 ] && xin=$T/x32.npy && n=$N32
    # hyper reports "embedded N faces in S s (..., C s CPU)" for the timed forward loop; best of REPS
    c_ips=0; c_cps=0; c_rss=0
    for rep in $(seq "$REPS"); do
      HY_ISA=$isa /usr/bin/time -f "RSS %M" "$HY" embed -e "$T/w.bin" --input-npy "$xin" -o "$T/e.npy" --face-batch "$b" --threads "$th" 2> "$T/c.log"
      # faces/s as printed (0.1 resolution) rather than N / seconds (the seconds have 0.01 resolution)
      read -r ips cps < <(sed -nE 's/.*embedded ([0-9]+) faces in ([0-9.]+) s \(([0-9.]+) faces\/s.* ([0-9.]+) s CPU.*/\1 \3 \4/p' "$T/c.log" |
                          awk '{printf "%.2f %.2f\n", $2, $1/$3}')
      rss=$(sed -nE 's/^RSS ([0-9]+)/\1/p' "$T/c.log" | awk '{printf "%.0f", $1/1024}')
      c_ips=$(awk -v a="$c_ips" -v b="$ips" 'BEGIN{print (b > a ? b : a)}')
      c_cps=$(awk -v a="$c_cps" -v b="$cps" 'BEGIN{print (b > a ? b : a)}')
      c_rss=$(awk -v a="$c_rss" -v b="$rss" 'BEGIN{print (b > a ? b : a)}')
    done
    read -r _ t_ips _ t_rss _ t_cpu _ t_n < <(env $(torch_isa "$isa") $PY "$HERE/convert/bench/bench_facenet_torch.py" --threads "$th" --batch "$b" --n "$n" --reps "$REPS")
    t_cps=$(awk -v n="$t_n" -v c="$t_cpu" 'BEGIN{printf "%.2f", n/c}')
    r=$(awk -v a="$c_ips" -v b="$t_ips" 'BEGIN{printf "%.2fx", a/b}')
    rc=$(awk -v a="$c_cps" -v b="$t_cps" 'BEGIN{printf "%.2fx", a/b}')
    gf=$(awk -v a="$c_ips" 'BEGIN{printf "%.1f", a * 2 * 1.418}')
    gx=$(awk -v a="$c_ips" -v g="$EXE_GMAC" 'BEGIN{printf "%.1f", a * 2 * g}')
    printf '%-7s %-5s %-7s | %8s %6s %6s %9s %7s | %8s %9s %7s | %8s %9s\n' "$isa" "$b" "$th" "$c_ips" "$gf" "$gx" "$c_cps" "$c_rss" "$t_ips" "$t_cps" "$t_rss" "$r" "$rc"
  done
done
done
echo "(target: C >= 1.5x torch img/s at both batch sizes and thread counts; load average now: $(cut -d' ' -f1-3 /proc/loadavg) on $(nproc) cores)"
