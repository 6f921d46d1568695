#!/usr/bin/env bash
# `make demo`: the study on an embedded default, end to end (tens of minutes on 2 cores).
#   1. simulate fMRI for the HYPER design with the calibrated defaults (1050 training faces seen
#      once, 36 test faces averaged over 14 repetitions, 4096 voxels; DEMO_VOXELS=1024 for a
#      quicker, different problem)
#   2. sweep the study's default grid (hyper sweep --help): linear, linear-nobias and three MLPs
#      trained with HYPER's recipe, each once to 1500 epochs with the runs of 700, 900, 1200 and
#      1500 epochs written on the way, plus OLS, ridge and lasso; reconstruct the test faces,
#      crop them with MTCNN, score them with FaceNet and face-api's descriptor, compare ages and
#      genders (face-api's age/gender net), rank the decoders
#   3. print the ranked table, the paths of the report files and the wall time
# DEMO_BOLD=1 (`make demo-bold`) starts one step earlier, from the scanner's files: simulate BOLD
# runs in BIDS layout (`hyper simulate --bold`), fit the first-level GLM (`hyper glm --bids`), and
# build the dataset from its z-maps (`hyper extract --glm`); the same sweep follows.
# Models: converted real weights in weights/ when present (weights/pggan*.bin,
# weights/facenet*.bin), else the bundled demo models trained on CelebA (weights/demo_generator.bin,
# weights/demo_facenet.bin), else the untrained test fixtures; MTCNN from weights/mtcnn.bin
# (committed); face-api's networks from `make weights` (npm), which this script runs when they are
# missing (DEMO_FACEAPI=0 skips them; without npm/network the demo runs with FaceNet alone).
set -euo pipefail
cd "$(dirname "$0")/.."
HYPER=${HYPER:-build/hyper}
OUT=${DEMO_OUT:-out/demo}
t0=$(date +%s)

pick() {  # first existing file among the arguments
  for f in "$@"; do [ -e "$f" ] && { echo "$f"; return 0; }; done; return 0
}
G=$(pick weights/pggan_celebahq_1024.bin weights/pggan*.bin weights/demo_generator.bin)
F=$(pick weights/facenet-vggface2.bin weights/facenet*.bin weights/demo_facenet.bin)
banner=""
if [ -z "$G" ]; then G=tests/fixtures/pggan_tiny.bin; banner="untrained"; fi
if [ -z "$F" ]; then F=tests/fixtures/facenet_tiny.bin; banner="untrained"; fi
crop=(--crop full)
[ -e weights/mtcnn.bin ] && crop=(--crop mtcnn --mtcnn weights/mtcnn.bin)
FA=weights/faceapi_recognition.bin
AG=weights/faceapi_agegender.bin
extra=()
if [ "${DEMO_FACEAPI:-1}" = 1 ]; then
  if [ ! -e "$FA" ] || [ ! -e "$AG" ]; then
    make --no-print-directory weights || echo "demo: face-api's models are not available (see above); FaceNet only"
  fi
  [ -e "$FA" ] && extra+=(-e "faceapi=$FA")
  [ -e "$AG" ] && extra+=(-a "$AG")
fi

echo "=================================================================="
echo " hyper demo: simulated fMRI -> decoders -> faces -> FaceNet ranking"
echo "   generator: $G"
echo "   FaceNet:   $F"
echo "   face-api:  ${extra[*]:-(none)}"
echo "   face crop: ${crop[*]}"
if [ -n "$banner" ]; then
  echo
  echo " !! UNTRAINED TEST MODELS: no trained generator/FaceNet weights were found in"
  echo " !! weights/, so the pictures are noise and the distances mean nothing. This run"
  echo " !! only shows that the pipeline works. See docs/models.md, 'Demo models'."
fi
case "$G" in weights/demo_*) echo " (demo models trained on 10,000 CelebA faces at 64x64; real reconstructions"
                               echo "  need the converted CelebA-HQ PGGAN and VGGFace2 FaceNet, see README 'Real data')";; esac
echo "=================================================================="

# Each demo starts afresh: results of an earlier demo may come from other models (after
# `make demo-models`, or once real weights are converted), and a sweep refuses to mix setups.
rm -rf "$OUT/results"
if [ "${DEMO_BOLD:-0}" = 1 ]; then
  rm -rf "$OUT/bids" "$OUT/glm" "$OUT/data"
  "$HYPER" simulate --bold -o "$OUT/bids" --seed 1 --voxels "${DEMO_VOXELS:-1024}"
  "$HYPER" glm --bids "$OUT/bids" --sub 01 --task faces --derivatives "$OUT/bids/derivatives/sim" -o "$OUT/glm"
  "$HYPER" extract --glm "$OUT/glm" --split "$OUT/bids/split.tsv" --select-top "${DEMO_VOXELS:-1024}" \
    --train-latents "$OUT/bids/truth/train_latents.npy" --test-latents "$OUT/bids/truth/test_latents.npy" -o "$OUT/data"
else
  "$HYPER" simulate -o "$OUT/data" --seed 1 --voxels "${DEMO_VOXELS:-4096}"
fi
"$HYPER" sweep -d "$OUT/data" -g "$G" -e "facenet=$F" "${extra[@]}" -o "$OUT/results" "${crop[@]}" --null 100 --seed 1

echo
cat "$OUT/results/results.md"
echo
echo "demo finished in $(( $(date +%s) - t0 )) s. Open the report:"
echo "  $OUT/results/report.html   (everything in one page: table, chart, every run's faces and curve)"
echo "Report files:"
for f in results.md results.csv pairs.csv chart.svg chart.png; do echo "  $OUT/results/$f"; done
echo "  $OUT/results/runs/<model>/comparison.png   (ground truth above, reconstruction below)"
echo "  $OUT/results/runs/<model>/summary.txt      (every metric of that run)"
echo "  $OUT/results/runs/<model>/curve.png        (train and test loss per epoch, iterative models)"
