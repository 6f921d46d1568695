#!/usr/bin/env bash
# tests/bench/lasso.sh HYPER_BIN - LassoCV at HYPER size (1050 x 4096 -> latent columns, 5
# contiguous folds, a 20-penalty path down to eps * alpha_max) in C and in scikit-learn 1.2,
# on the same machine in the same run (issue 14's goal: all 512 targets >= 10x faster than
# scikit-learn and under 2 minutes on 2 cores).
#
#   C         tests/bench/lasso_cv.c (hy_dec_enet_fit: strong rules, working sets, shared Gram
#             matrix per fold), LASSO_TARGETS targets, LASSO_THREADS threads
#   C plain   the naive twin (coordinate descent over every feature), LASSO_PLAIN_TARGETS targets
#   sklearn   LassoCV(n_alphas, eps, cv=5) per target, LASSO_SK_TARGETS targets, n_jobs =
#             LASSO_THREADS (folds in parallel); its chosen alphas and coefficients are compared
#             with the C run's on those targets
# Per-target times are extrapolated to 512 targets (each target is an independent fit; the C
# run is scaled whole, so its fixed cost (the Gram matrices) is counted 512/N times: an overestimate). Knobs (defaults: a quick run of a
# few minutes): LASSO_TARGETS=32 LASSO_PLAIN_TARGETS=4 LASSO_SK_TARGETS=2 LASSO_EPS=0.1
# LASSO_PATH=20 LASSO_THREADS=2 LASSO_L1_RATIO=1. The full goal: LASSO_TARGETS=512.
set -euo pipefail
HY=${1:-build/hyper}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(dirname "$HY")
PY=/usr/bin/python3
NT=${LASSO_TARGETS:-32}
NP=${LASSO_PLAIN_TARGETS:-4}
NS=${LASSO_SK_TARGETS:-2}
EPS=${LASSO_EPS:-0.1}
PATHN=${LASSO_PATH:-20}
T=${LASSO_THREADS:-2}
L1=${LASSO_L1_RATIO:-1}
W=$(mktemp -d /tmp/hylasso.XXXXXX)
trap 'rm -rf "$W"' EXIT
BLAS_INC=$(ls -d /usr/include/x86_64-linux-gnu/openblas-pthread 2>/dev/null || echo /usr/include)
cc -O2 -fopenmp -march=native -I"$ROOT/include" -I"$BLAS_INC" "$ROOT/tests/bench/lasso_cv.c" "$BUILD/libhyper.a" \
    -lopenblas -lpng -lz -lm -o "$W/lasso_cv"
"$HY" simulate -o "$W/d" --quiet
export OPENBLAS_NUM_THREADS=$T OMP_NUM_THREADS=$T
echo "LassoCV, HYPER-sized problem (1050 x 4096), path $PATHN x eps $EPS, 5 folds, l1_ratio $L1, $T thread(s)"
echo "machine: $(nproc) cores ($(lscpu | grep -o 'avx512f\|avx2' | sort -u | tr '\n' ' ')), load before: $(cut -d' ' -f1-3 /proc/loadavg)"
c=$(HY_THREADS=$T "$W/lasso_cv" "$W/d" "$NT" "$PATHN" "$EPS" "$L1" "$W/c")
p=$(HY_THREADS=$T "$W/lasso_cv" "$W/d" "$NP" "$PATHN" "$EPS" "$L1" "$W/p" plain)
s=$(OPENBLAS_NUM_THREADS=1 $PY "$ROOT/convert/bench/bench_lasso_sklearn.py" "$W/d" "$W/c" --targets "$NS" \
    --path "$PATHN" --eps "$EPS" --l1-ratio "$L1" --jobs "$T")
echo "load after: $(cut -d' ' -f1-3 /proc/loadavg)"
val() { tr ' ' '\n' <<<"$2" | sed -n "s/^$1=//p"; }  # the value of key=value in a line of them
awk -v nt="$NT" -v np="$NP" -v ns="$NS" -v c="$(val seconds "$c")" -v cc="$(val cpu_seconds "$c")" \
    -v p="$(val seconds "$p")" -v pc="$(val cpu_seconds "$p")" -v sk="$(val sk_seconds_per_target "$s")" \
    -v skc="$(val sk_cpu_per_target "$s")" 'BEGIN {
  printf "%-32s %7s %9s %9s %11s %11s %12s\n", "solver", "targets", "wall s", "CPU s", "wall/target", "CPU/target", "512 (wall)"
  printf "%-32s %7d %9.1f %9.1f %11.4f %11.4f %12.1f\n", "C (strong rules, working sets)", nt, c, cc, c / nt, cc / nt, c / nt * 512
  printf "%-32s %7d %9.1f %9.1f %11.4f %11.4f %12.1f\n", "C plain (every feature)", np, p, pc, p / np, pc / np, p / np * 512
  printf "%-32s %7d %9.1f %9.1f %11.4f %11.4f %12.1f\n", "scikit-learn LassoCV", ns, sk * ns, skc * ns, sk, skc, sk * 512
  printf "per target, C vs scikit-learn: %.1fx (wall), %.1fx (CPU); C vs the plain C solver: %.1fx (wall)\n",
         sk / (c / nt), skc / (cc / nt), (p / np) / (c / nt)
}'
echo "agreement with scikit-learn on its $NS target(s): $(tr ' ' '\n' <<<"$s" | grep -E '^(alpha_same|max_coef_diff|coef_scale)=' | tr '\n' ' ')"
