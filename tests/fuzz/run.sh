#!/usr/bin/env bash
# Builds every tests/fuzz/fuzz_*.c with clang + libFuzzer + ASan/UBSan and runs each for
# FUZZ_SECONDS (default 60) on a corpus seeded from the test fixtures. The corpus grows in
# build-fuzz/corpus/<target>/ (not committed); crashing inputs go to tests/fuzz/crashes/.
# Committed regression inputs in tests/fuzz/regress/<target>/ are replayed first.
# Prints one line per target: executions, corpus size, result.
# FUZZ_TARGETS="nifti decoder" limits the run to those targets (default: every fuzz_*.c).
# Seeds: tests/fixtures (wfile, npy, dataset, png, jpeg, models) and tests/fuzz/seeds/<target>/
# (nifti: tiny .nii/.nii.gz; decoder: tiny files written by hyper train; models: tiny PGGANs;
# events: the GLM fixtures' events and confounds TSVs).
# Temp files for path-based readers go to /dev/shm when present (see fuzz_util.h).
set -euo pipefail
cd "$(dirname "$0")/../.."
SECS=${FUZZ_SECONDS:-60}
B=build-fuzz
mkdir -p $B/obj $B/corpus tests/fuzz/crashes
CFLAGS="-std=c11 -D_GNU_SOURCE -O1 -g -Iinclude $(pkg-config --cflags libpng) -I/usr/include/x86_64-linux-gnu/openblas-pthread -fsanitize=fuzzer-no-link,address,undefined -fno-sanitize-recover=undefined"
objs=()
for s in src/*/*.c; do
  case $s in src/cli/*) continue;; esac
  o=$B/obj/$(echo "${s#src/}" | tr / _ | sed 's/\.c$//').o  # role_name.o: glm/stats.c and study/stats.c differ
  if [ ! -e "$o" ] || [ "$s" -nt "$o" ] || [ -n "$(find include -newer "$o" -name '*.h' | head -1)" ]; then
    clang $CFLAGS -c "$s" -o "$o"
  fi
  objs+=("$o")
done
seed_dir() {  # target -> fixture globs
  case $1 in
    wfile) ls tests/fixtures/*.bin 2>/dev/null;;
    npy) ls tests/fixtures/npy/*.npy tests/fixtures/*/*.npy 2>/dev/null;;
    png) ls tests/fixtures/png/*.png 2>/dev/null;;
    jpeg) ls tests/fixtures/jpeg/*.jpg 2>/dev/null;;
    dataset) ls tests/fixtures/npy/*.npy tests/fixtures/*/*.npy 2>/dev/null;;
    models) ls tests/fixtures/*tiny.bin tests/fixtures/faceapi_tiny_*.bin tests/fuzz/seeds/models/* 2>/dev/null;;
    *) ls tests/fuzz/seeds/$1/* tests/fixtures/$1/* 2>/dev/null || true;;
  esac
}
status=0
printf '%-10s %12s %8s  %s\n' target executions corpus result
for src in tests/fuzz/fuzz_*.c; do
  t=$(basename "${src%.c}"); t=${t#fuzz_}
  if [ -n "${FUZZ_TARGETS:-}" ] && [[ " $FUZZ_TARGETS " != *" $t "* ]]; then continue; fi
  maxlen=65536
  [ "$t" = models ] && maxlen=2200000  # the tiny model fixtures are 1.3-2 MB
  bin=$B/fuzz_$t
  clang $CFLAGS -fsanitize=fuzzer "$src" "${objs[@]}" -lopenblas -lpng -ljpeg -lz -lm -lpthread -o "$bin"
  corpus=$B/corpus/$t; mkdir -p "$corpus"
  for f in $(seed_dir $t); do cp -n "$f" "$corpus/" 2>/dev/null || true; done
  if [ -d tests/fuzz/regress/$t ] && [ -n "$(ls tests/fuzz/regress/$t)" ]; then
    "$bin" tests/fuzz/regress/$t/* >/dev/null 2>&1 || { echo "$t: a regression input crashes"; status=1; }
  fi
  log=$B/$t.log
  if "$bin" "$corpus" -max_total_time="$SECS" -rss_limit_mb=2048 -timeout=10 -max_len=$maxlen \
       -artifact_prefix=tests/fuzz/crashes/$t- -print_final_stats=1 >"$log" 2>&1; then res=ok; else res="FAILED (see $log)"; status=1; fi
  execs=$(grep -E '^stat::number_of_executed_units' "$log" | awk '{print $2}')
  printf '%-10s %12s %8s  %s\n' "$t" "${execs:-?}" "$(ls "$corpus" | wc -l)" "$res"
done
exit $status
