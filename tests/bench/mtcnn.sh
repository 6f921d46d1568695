#!/usr/bin/env bash
# MTCNN detection time per image: hyper detect (C) vs the same pipeline in Debian's PyTorch
# (convert/ref/mtcnn_ref.py, written from shared/spec/mtcnn.md), same machine, same run.
# Usage: tests/bench/mtcnn.sh build/hyper
# Needs the shared data (real weights + photos) and /usr/bin/python3 with torch; skips otherwise.
# Times exclude PNG decoding and weight loading; each side runs a warm-up, then REPS runs, and
# the median is reported. Thread counts are set explicitly on both sides.
set -u
HYPER=${1:-build/hyper}
REPS=${REPS:-7}
root=$(cd "$(dirname "$0")/../.." && pwd)
SD=""
if [ -n "${HY_SHARED_DATA:-}" ]; then cands=("$HY_SHARED_DATA"); else cands=("$root/../shared/data" /work/shared/data); fi
for d in "${cands[@]}"; do
  [ -n "$d" ] && [ -f "$d/mtcnn/pnet.pt" ] && { SD=$d; break; }
done
if [ -z "$SD" ]; then echo "SKIP mtcnn bench: shared data (mtcnn weights, photos) not found"; exit 0; fi
if ! /usr/bin/python3 -c 'import torch' 2>/dev/null; then echo "SKIP mtcnn bench: /usr/bin/python3 has no torch"; exit 0; fi
tmp=$(mktemp -d); trap 'rm -rf "$tmp"' EXIT
/usr/bin/python3 "$root/convert/mtcnn.py" "$SD/mtcnn" -o "$tmp/mtcnn.bin" >/dev/null || exit 1
IMG=$SD/faces/photos/shea_whigham.png   # 800x778, the ~800x800 photo
median() { sort -n | awk '{a[NR]=$1} END {if (NR==0) print "nan"; else if (NR%2) print a[(NR+1)/2]; else printf "%.2f\n", (a[NR/2]+a[NR/2+1])/2}'; }

c_time() {  # threads
  local args=()
  for ((i = 0; i <= REPS; i++)); do args+=("$IMG"); done
  HY_THREADS=$1 "$HYPER" detect -m "$tmp/mtcnn.bin" --time "${args[@]}" 2>&1 >/dev/null |
    awk -F'\t' '/^time/ {split($4, t, " "); print t[1]}' | tail -n +2 | median
}
py_time() {  # threads
  HY_TORCH_THREADS=$1 /usr/bin/python3 "$root/convert/ref/mtcnn_ref.py" "$tmp/mtcnn.bin" "$IMG" --bench "$REPS" --times |
    tail -n +2 | median
}

echo "MTCNN detection, $(basename "$IMG") (800x778), median of $REPS runs, $(nproc) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf '%-8s %14s %14s %8s\n' threads "hyper (ms)" "PyTorch (ms)" speedup
for th in 1 $(nproc); do
  c=$(c_time "$th"); p=$(py_time "$th")
  printf '%-8s %14s %14s %8s\n' "$th" "$c" "$p" "$(awk -v c="$c" -v p="$p" 'BEGIN {printf "%.2fx", p / c}')"
  [ "$(nproc)" = 1 ] && break
done
echo "(PyTorch side: torch $(/usr/bin/python3 -c 'import torch; print(torch.__version__)'), NMS in numpy; speedup = PyTorch / hyper)"
