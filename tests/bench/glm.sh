#!/usr/bin/env bash
# tests/bench/glm.sh HYPER_BIN - first-level GLM speed and memory: `hyper glm` vs Nipy 0.5 (and
# nilearn 0.10.4 when NILEARN_SRC points at its source) on the same synthetic study, same run.
#
# The study (convert/bench/bench_glm.py make): GLM_RUNS runs x GLM_VOLUMES volumes of 1.5 s,
# GLM_CONDITIONS events per run, each its own condition, 6 confounds, GLM_VOXELS in-mask voxels,
# float32 .nii runs. Model on every side: SPM HRF, cosine drift 0.01 Hz, confounds, constant,
# percent scaling, AR(1) with 100 bins, one t contrast per condition -> effect, variance, t, z.
#   quick default   GLM_VOXELS=20000 GLM_RUNS=3  (~4 GB less than the full size, a few minutes)
#   whole brain     GLM_VOXELS=100000 GLM_RUNS=9 (the issue's size: 1.2 GB of BOLD; Nipy takes
#                   long, nilearn longer: GLM_NILEARN_CONDITIONS=K times K contrasts and
#                   extrapolates to all of them, marked "extrapolated")
# hyper writes plain .nii maps here (--gzip-level 0; the .nii.gz default adds the gzip time, shown
# on its own line); the Python sides keep their maps in memory. Threads: BENCH_THREADS (default 2)
# for both (HY_THREADS; OPENBLAS_NUM_THREADS/OMP_NUM_THREADS for numpy/scipy).
# GLM_DATA=DIR keeps (or reuses) the generated study instead of a temporary folder.
set -euo pipefail
HY=${1:-build/hyper}
PY=/usr/bin/python3
T=${BENCH_THREADS:-2}
V=${GLM_VOXELS:-20000}
R=${GLM_RUNS:-3}
N=${GLM_VOLUMES:-330}
C=${GLM_CONDITIONS:-180}
K=${GLM_NILEARN_CONDITIONS:-0}
if [ -n "${GLM_DATA:-}" ]; then W=$GLM_DATA; mkdir -p "$W"; else W=$(mktemp -d /tmp/hyglm.XXXXXX); trap 'rm -rf "$W"' EXIT; fi
export HY_THREADS=$T OPENBLAS_NUM_THREADS=$T OMP_NUM_THREADS=$T
[ -e "$W/run-$R""_bold.nii" ] || $PY convert/bench/bench_glm.py make "$W" --voxels "$V" --runs "$R" --volumes "$N" --conditions "$C"
args=()
for k in $(seq 1 "$R"); do
  args+=(--bold "$W/run-$k""_bold.nii" --events "$W/run-$k""_events.tsv" --confounds "$W/run-$k""_confounds.tsv")
done
bold_mb=$(( V * R * N * 4 / 1000000 ))
echo "study: $R runs x $N volumes, $V voxels, $C conditions per run; in-mask BOLD as float32: $bold_mb MB; threads $T"
echo "load: $(cut -d' ' -f1-3 /proc/loadavg)   CPU: $(lscpu | grep -o 'avx512f\|avx2' | sort -u | tr '\n' ' ')"

run_c() {  # $1 = gzip level; prints "wall rss read fit write cpu"
  rm -rf "$W/out"
  /usr/bin/time -f "TIME %e %M %U %S" "$HY" glm "${args[@]}" --mask "$W/mask.nii" --gzip-level "$1" -o "$W/out" 2>"$W/c.log" >/dev/null
  local wall rss rd ft wr us sy
  read -r wall rss us sy < <(sed -n 's/^TIME //p' "$W/c.log")
  rd=$(sed -n 's/.*(read \([0-9.]*\) s.*/\1/p' "$W/c.log")
  ft=$(sed -n 's/.*fit \([0-9.]*\) s.*/\1/p' "$W/c.log")
  wr=$(sed -n 's/.*write \([0-9.]*\) s).*/\1/p' "$W/c.log")
  echo "$wall $(( rss / 1024 )) $rd $ft $wr $($PY -c "print(f'{$us + $sy:.1f}')")"
}
read -r c_wall c_rss c_read c_fit c_write c_cpu < <(run_c 0)
read -r z_wall z_rss z_read z_fit z_write z_cpu < <(run_c 1)

py_side() {  # $1 = nipy | nilearn; prints "seconds rss cpu note"
  local line
  line=$($PY convert/bench/bench_glm.py "$1" "$W" --max-conditions "$K" 2>/dev/null | tail -1)
  case "$line" in SKIP*) echo "- - - skipped"; return;; esac
  local s m c x
  s=$(echo "$line" | sed -n 's/.*seconds=\([0-9.]*\).*/\1/p')
  m=$(echo "$line" | sed -n 's/.*peak_rss_mb=\([0-9]*\).*/\1/p')
  c=$(echo "$line" | sed -n 's/.*cpu=\([0-9.]*\).*/\1/p')
  x=$(echo "$line" | grep -o extrapolated || true)
  echo "$s $m $c ${x:--}"
}
read -r n_s n_m n_c n_x < <(py_side nipy)
read -r l_s l_m l_c l_x < <(py_side nilearn)

ratio() { [ "$1" = - ] && echo - || $PY -c "print(f'{$1 / $2:.1f}x')"; }
f='%-44s %10s %10s %9s %10s %9s\n'
printf "$f" implementation "wall s" "CPU s" "RSS MB" "wall vs C" "CPU vs C"
printf "$f" "hyper glm (.nii maps)" "$c_wall" "$c_cpu" "$c_rss" "1.0x" "1.0x"
printf "$f" "  of which read / fit / write (wall)" "$c_read/$c_fit/$c_write" "" "" "" ""
printf "$f" "hyper glm (.nii.gz maps, the default)" "$z_wall" "$z_cpu" "$z_rss" "$(ratio "$z_wall" "$c_wall")" "$(ratio "$z_cpu" "$c_cpu")"
printf "$f" "Nipy 0.5 GeneralLinearModel ar1" "$n_s" "$n_c" "$n_m" "$(ratio "$n_s" "$c_wall")" "$(ratio "$n_c" "$c_cpu")"
printf "$f" "nilearn 0.10.4 FirstLevelModel ar1 ${l_x/-/}" "$l_s" "$l_c" "$l_m" "$(ratio "$l_s" "$c_wall")" "$(ratio "$l_c" "$c_cpu")"
echo "(peak RSS of hyper / in-mask BOLD as float32: $($PY -c "print(f'{$c_rss / max($bold_mb, 1):.2f}')"))"
