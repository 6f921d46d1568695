#!/usr/bin/env bash
# tests/cross_aarch64.sh - the project where only a C compiler and a BLAS exist: cross-builds the
# library, the CLI and every test binary for aarch64 (Debian's gcc-aarch64-linux-gnu and the
# arm64 multiarch OpenBLAS, libpng, libjpeg-turbo, zlib, Check) with -Werror into build-aarch64/, then runs the
# generic path under qemu-user on the tiny golden models and compares it with the x86-64 build
# (HY_ISA=generic) run on the same inputs.
#
# What runs under qemu, and why not the Check golden suites: on the development machines
# qemu-user 7.2 (Debian 12) hangs in the first clone() of a thread (any pthread_create, hence
# any OpenMP team or OpenBLAS thread pool) and crashes in fork() (Check's fork mode, system()),
# so only single-threaded processes work: the CLI with --threads 1 and OPENBLAS_NUM_THREADS=1.
# The golden suites start threads (FaceNet's batch lanes), subprocesses (the CLI tests) and
# forked test cases; under qemu they hang. The smoke runs below cover the same three models.
#
# Setup (root, once; a few minutes): HY_CROSS_SETUP=1 adds the arm64 architecture to dpkg and
# installs the packages. Without the toolchain the script prints SKIP and exits 0.
# Env: HY_CROSS_SETUP=1, QEMU (default qemu-aarch64).
set -u
cd "$(dirname "$0")/.."
PKGS="gcc-aarch64-linux-gnu libc6-dev-arm64-cross qemu-user libopenblas-dev:arm64 libpng-dev:arm64 libjpeg62-turbo-dev:arm64 zlib1g-dev:arm64 check:arm64"
if [ "${HY_CROSS_SETUP:-0}" = 1 ]; then
  SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
  dpkg --print-foreign-architectures | grep -qx arm64 || { $SUDO dpkg --add-architecture arm64 && $SUDO apt-get update -qq; }
  HY_EXTRA_PKGS="$PKGS" HY_WITH_PYTHON=0 HY_WITH_FUZZ=0 bash .ci/deps.sh || exit 1
fi
QEMU=${QEMU:-qemu-aarch64}
if ! command -v aarch64-linux-gnu-gcc >/dev/null || ! command -v "$QEMU" >/dev/null ||
   [ ! -e /usr/include/aarch64-linux-gnu/openblas-pthread/cblas.h ]; then
  echo "SKIP cross_aarch64: no aarch64 toolchain / qemu-user / arm64 libraries (HY_CROSS_SETUP=1 installs them)"
  exit 0
fi
B=build-aarch64
echo "== cross-build for aarch64 ($B/, -Werror)"
TESTS=$(for t in tests/test_*.c; do echo "$B/tests/$(basename "${t%.c}")"; done)
# -fno-tree-vectorize: Debian's aarch64 gcc 12.2 stops with an internal compiler error
# (vect_transform_reduction) on a reduction loop in tests/test_mtcnn.c; the smoke runs do not
# need vectorised code
CFLAGS=-fno-tree-vectorize make --no-print-directory -j2 CC=aarch64-linux-gnu-gcc BUILD=$B "$B/hyper" $TESTS >/dev/null ||
  exit 1
file "$B/hyper" | grep -q "ARM aarch64" || { echo "cross_aarch64: $B/hyper is not an aarch64 binary"; exit 1; }
make --no-print-directory -j2 build/hyper >/dev/null || exit 1

# one thread, no thread pools, no re-exec (see above); the loader finds the cross libgomp
run_arm() {
  "$QEMU" -E LD_LIBRARY_PATH=/usr/aarch64-linux-gnu/lib -E OPENBLAS_NUM_THREADS=1 -E OMP_WAIT_POLICY=passive \
    -E OPENBLAS_THREAD_TIMEOUT=4 "$B/hyper" "$@" --threads 1
}
run_x86() { HY_ISA=generic OPENBLAS_NUM_THREADS=1 build/hyper "$@" --threads 1; }
T=$(mktemp -d); trap 'rm -rf "$T"' EXIT
status=0
echo "== under $QEMU: $(run_arm --version 2>&1 | head -1)"
cmp_npy() {  # label a.npy b.npy tol: max |a - b| over float32 arrays of the same shape
  if ! /usr/bin/python3 -c 'import numpy' 2>/dev/null; then
    if cmp -s "$2" "$3"; then echo "$1: identical"; else echo "SKIP $1: no numpy to compare (outputs differ bytewise)"; fi
    return
  fi
  /usr/bin/python3 - "$@" <<'EOF' || status=1
import sys, numpy as np
label, a, b, tol = sys.argv[1], np.load(sys.argv[2]), np.load(sys.argv[3]), float(sys.argv[4])
d = float(np.max(np.abs(a.astype(np.float64) - b))) if a.shape == b.shape else float("inf")
print(f"{label}: aarch64 vs x86-64 generic, shape {a.shape}, max |diff| {d:.3g} (tolerance {tol:g})")
sys.exit(0 if d <= tol else 1)
EOF
}
# The tolerances: both sides are float32 with another BLAS kernel (summation order), so they
# agree to ~1e-6 relative; the tiny models' outputs are O(1), 1e-4 leaves margin and an indexing
# or layout error gives O(1) differences.
run_x86 generate -g tests/fixtures/pggan_tiny.bin --seed 3 -n 2 -o "$T/png" -q >/dev/null || status=1
# MTCNN: the synthetic image of the MTCNN golden fixture (faces the tiny random weights find)
PHOTO=$T/synth.png
/usr/bin/python3 - "$PHOTO" <<'EOF' || PHOTO=$T/png/000000.png
import sys
sys.path.insert(0, "convert")
import numpy as np, wfile
from PIL import Image
Image.fromarray(np.asarray(wfile.read("tests/fixtures/mtcnn_golden.bin")[2]["image"], np.uint8)).save(sys.argv[1])
EOF
for arch in arm x86; do
  run_$arch generate -g tests/fixtures/pggan_tiny.bin --seed 3 -n 2 --npy "$T/g_$arch.npy" --no-png -q >/dev/null || status=1
  run_$arch embed -e tests/fixtures/facenet_tiny.bin --crop full "$T"/png/*.png -o "$T/e_$arch.npy" -q >/dev/null || status=1
  run_$arch detect -m tests/fixtures/mtcnn_tiny.bin "$PHOTO" --all --tsv >"$T/d_$arch.tsv" 2>/dev/null || status=1
done
cmp_npy "generate (PGGAN tiny)" "$T/g_arm.npy" "$T/g_x86.npy" 1e-4
cmp_npy "embed (FaceNet tiny)" "$T/e_arm.npy" "$T/e_x86.npy" 1e-4
# detect: the same fields, numbers equal to 1e-3 (boxes in pixels, probabilities)
if /usr/bin/python3 - "$T/d_arm.tsv" "$T/d_x86.tsv" <<'EOF'; then :; else status=1; fi
import sys
a, b = (open(f).read().split() for f in sys.argv[1:3])
def num(x):
    try: return float(x)
    except ValueError: return None
ok = len(a) == len(b) and all((num(x) is None and x == y) or (num(x) is not None and num(y) is not None and
                                 abs(num(x) - num(y)) <= 1e-3) for x, y in zip(a, b))
print(f"detect (MTCNN tiny): {len(a)} fields, {'same as' if ok else 'DIFFERENT from'} x86-64 within 1e-3")
sys.exit(0 if ok else 1)
EOF
[ $status = 0 ] && echo "cross_aarch64: passed" || echo "cross_aarch64: FAILED"
exit $status
