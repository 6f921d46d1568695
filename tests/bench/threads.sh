#!/usr/bin/env bash
# tests/bench/threads.sh HYPER_BIN - do threads help, and never hurt? (issue 18, goal 3)
#
# Times each command below with --threads 1 and --threads 2 (wall clock, best of REPS runs),
#   1. on the machine as it is ("idle" if nothing else runs: check the load printed), and
#   2. with one competing CPU-bound process running (a shell busy loop, started here),
# and prints t1/t2 (speed-up from the second thread; goal >= 1.7 idle where the work is large)
# and t2/t1 under competition (goal <= 1.1: a second thread must not slow a command down when a
# core is taken). Commands:
#   generate   PGGAN 1024x1024, 2 images (random weights from tests/bench/pggan.sh's file)
#   embed b1   FaceNet, 8 images one at a time;  embed b32: 32 images in one batch
#   detect     MTCNN on an 800x778 photo, 4 times (needs the shared data; skipped otherwise)
#   ridge      hyper train --model ridge --cv 5 on a HYPER-sized simulation (1050 x 4096 -> 512)
#   lasso      hyper train --model lasso (path 20 x 5 folds) on 8 latent dims of the same data
#   linear     HYPER's Adam model, 5 epochs, same data;  linear-small: 100 epochs on 200 x 256
#   glm        hyper glm on a study made by tests/bench/glm.sh's generator (3 runs x 330 volumes, 100,000 voxels,
#              180 conditions per run, AR(1); plain .nii maps); needs /usr/bin/python3 + numpy
# Env: REPS (default 2), ONLY (comma-separated subset of the names above), HY_BENCH_DIR (/tmp),
#      HY_ISA (passed through: the kernels to use).
set -u
HY=${1:?usage: tests/bench/threads.sh build/hyper}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
REPS=${REPS:-2}
DIR=${HY_BENCH_DIR:-/tmp}
PY=/usr/bin/python3
T=$(mktemp -d "$DIR/hy_bench_threads.XXXXXX")
BUSY=""
trap '[ -n "$BUSY" ] && kill "$BUSY" 2>/dev/null; rm -rf "$T"' EXIT
want() { [ -z "${ONLY:-}" ] || [[ ",$ONLY," == *",$1,"* ]]; }

# --- inputs -------------------------------------------------------------------------------------
G=$DIR/pggan1024_random.bin
if want generate && [ ! -s "$G" ]; then
  echo "(generate skipped: run tests/bench/pggan.sh once to write $G)"; ONLY_SKIP_GEN=1
fi
if want embed-b1 || want embed-b32; then
  $PY - "$T" <<PYEOF || { echo "cannot write FaceNet inputs (needs torch)"; exit 1; }
import sys, numpy as np, torch
sys.path.insert(0, "$ROOT/convert")
import _paths
from facenet_ref import FaceNetRef, randomize
import facenet
d = sys.argv[1]
facenet.build_wfile(randomize(FaceNetRef(1), 0).state_dict(), 1, "bench").save(d + "/fn.bin")
x = (np.random.RandomState(0).randint(0, 256, (32, 3, 160, 160)).astype(np.float32) - 127.5) / 128
np.save(d + "/x32.npy", x); np.save(d + "/x8.npy", x[:8])
PYEOF
fi
HAVE_GLM=0
if want glm && $PY "$ROOT/convert/bench/bench_glm.py" make "$T/glm" --voxels 100000 --runs 3 --volumes 330 \
     --conditions 180 >/dev/null 2>&1; then
  HAVE_GLM=1
fi
SD=${HY_SHARED_DATA:-$ROOT/../shared/data}
HAVE_MTCNN=0
if want detect && [ -f "$SD/mtcnn/pnet.pt" ] && $PY "$ROOT/convert/mtcnn.py" "$SD/mtcnn" -o "$T/mtcnn.bin" >/dev/null 2>&1; then
  HAVE_MTCNN=1
fi
"$HY" simulate -o "$T/d" --quiet >/dev/null
"$HY" simulate -o "$T/s" --train 200 --voxels 256 --quiet >/dev/null
$PY - "$T" <<'PYEOF'
import sys, os, numpy as np
w = sys.argv[1]
os.makedirs(w + "/l", exist_ok=True)
for s in ("train", "test"):
    np.save(f"{w}/l/{s}_fmri.npy", np.load(f"{w}/d/{s}_fmri.npy"))
    np.save(f"{w}/l/{s}_latents.npy", np.load(f"{w}/d/{s}_latents.npy")[:, :8].copy())
PYEOF

cmd_of() {  # name -> the hyper command line (without --threads)
  case $1 in
    generate) echo "generate -g $G --seed 1 -n 2 --npy $T/g.npy --no-png";;
    embed-b1) echo "embed -e $T/fn.bin --input-npy $T/x8.npy -o $T/e.npy --face-batch 1";;
    embed-b32) echo "embed -e $T/fn.bin --input-npy $T/x32.npy -o $T/e.npy --face-batch 32";;
    detect) echo "detect -m $T/mtcnn.bin $SD/faces/photos/shea_whigham.png $SD/faces/photos/shea_whigham.png $SD/faces/photos/shea_whigham.png $SD/faces/photos/shea_whigham.png";;
    ridge) echo "train -d $T/d --model ridge --cv 5 -o $T/m.bin";;
    lasso) echo "train -d $T/l --model lasso --path 20 --cv 5 -o $T/m.bin";;
    linear) echo "train -d $T/d --model linear --epochs 5 -o $T/m.bin";;
    linear-small) echo "train -d $T/s --model linear --epochs 100 -o $T/m.bin";;
    glm) local a="" k
         for k in 1 2 3; do a="$a --bold $T/glm/run-${k}_bold.nii --events $T/glm/run-${k}_events.tsv --confounds $T/glm/run-${k}_confounds.tsv"; done
         echo "glm$a --mask $T/glm/mask.nii --gzip-level 0 -o $T/glm/out";;
  esac
}
best_time() {  # threads name -> best wall seconds of REPS runs
  local best="" s e t
  for _ in $(seq "$REPS"); do
    [ "$2" = glm ] && rm -rf "$T/glm/out"  # a fresh output folder, as a user's run has (replacing maps costs more)
    s=$(date +%s.%N)
    $HY $(cmd_of "$2") --threads "$1" --quiet >/dev/null 2>&1 || { echo fail; return; }
    e=$(date +%s.%N)
    t=$(awk -v a="$s" -v b="$e" 'BEGIN {printf "%.3f", b - a}')
    best=$(awk -v a="$best" -v b="$t" 'BEGIN {print (a == "" || b < a) ? b : a}')
  done
  echo "$best"
}

NAMES=""
for n in generate embed-b1 embed-b32 detect ridge lasso linear linear-small glm; do
  want "$n" || continue
  [ "$n" = generate ] && [ -n "${ONLY_SKIP_GEN:-}" ] && continue
  [ "$n" = detect ] && [ "$HAVE_MTCNN" = 0 ] && { echo "(detect skipped: no shared MTCNN weights/photos or no torch)"; continue; }
  [ "$n" = glm ] && [ "$HAVE_GLM" = 0 ] && { echo "(glm skipped: convert/bench/bench_glm.py could not write the study)"; continue; }
  NAMES="$NAMES $n"
done
declare -A I1 I2 B1 B2
echo "threads bench: $(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), $("$HY" --version)"
echo "load before: $(cut -d' ' -f1-3 /proc/loadavg)"
for n in $NAMES; do I1[$n]=$(best_time 1 "$n"); I2[$n]=$(best_time 2 "$n"); done
sh -c 'while :; do :; done' &
BUSY=$!
sleep 1
for n in $NAMES; do B1[$n]=$(best_time 1 "$n"); B2[$n]=$(best_time 2 "$n"); done
kill "$BUSY"; BUSY=""
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
printf '%-13s | %8s %8s %7s | %8s %8s %7s\n' command "1 thr s" "2 thr s" "t1/t2" "1+busy" "2+busy" "t2/t1"
for n in $NAMES; do
  awk -v n="$n" -v a="${I1[$n]}" -v b="${I2[$n]}" -v c="${B1[$n]}" -v d="${B2[$n]}" 'BEGIN {
    printf "%-13s | %8.2f %8.2f %6.2fx | %8.2f %8.2f %6.2fx\n", n, a, b, a / b, c, d, d / c }'
done
echo "(best of $REPS wall-clock runs; t1/t2: speed-up of the second thread (goal >= 1.7 for large work on an idle"
echo " machine); t2/t1 with one busy-loop process competing for the 2 CPUs (goal <= 1.1))"
