#!/usr/bin/env bash
# `make demo`: the study on an embedded default, end to end, in a few minutes on 2 cores.
#   1. simulate fMRI for the HYPER design (1050 training faces seen once, 36 test faces
#      averaged over 14 repetitions; 1024 voxels here instead of 4096 to keep it quick)
#   2. sweep a reduced grid of decoders (linear and MLP at 50 and 200 epochs, OLS, ridge),
#      reconstruct the test faces, crop them with MTCNN, score them with FaceNet and face-api's
#      descriptor, compare ages and genders (face-api), rank the decoders
#   3. print the ranked table and the paths of the report files
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
  echo " !! only shows that the pipeline works. See README 'Demo models'."
fi
case "$G" in weights/demo_*) echo " (demo models trained on 10,000 CelebA faces at 64x64; real reconstructions"
                               echo "  need the converted CelebA-HQ PGGAN and VGGFace2 FaceNet, see README)";; esac
echo "=================================================================="

# Each demo starts afresh: results of an earlier demo may come from other models (after
# `make demo-models`, or once real weights are converted), and a sweep refuses to mix setups.
rm -rf "$OUT/results"
"$HYPER" simulate -o "$OUT/data" --seed 1 --voxels 1024
"$HYPER" sweep -d "$OUT/data" -g "$G" -e "facenet=$F" "${extra[@]}" -o "$OUT/results" "${crop[@]}" \
  --models linear,mlp --epochs 50,200 --closed ols,ridge --null 100 --seed 1

echo
cat "$OUT/results/results.md"
echo
echo "demo finished in $(( $(date +%s) - t0 )) s. Report files:"
for f in results.md results.csv chart.svg chart.png; do echo "  $OUT/results/$f"; done
echo "  $OUT/results/runs/<model>/comparison.png   (ground truth above, reconstruction below)"
echo "  $OUT/results/runs/<model>/summary.txt      (every metric of that run)"
