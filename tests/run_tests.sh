#!/usr/bin/env bash
# Runs each test binary given on the command line (each a Check suite run with
# CK_FORK=no under valgrind/sanitizers is fine) and prints a summary line
#   "N passed, N failed"
# counting Check's per-test results. Exits non-zero when any test failed or errored.
# The binaries named in HY_ISA_TESTS (the golden tests; set by the Makefile) run once per
# kernel instruction set, HY_ISA=avx512, avx2 and generic (include/nn/cpu.h); a binary exits
# with status 77 and a SKIP line for an ISA this CPU lacks.
set -u
passed=0; failed=0; bad_bins=""
run_one() {  # label binary [env assignment]
  local label=$1 t=$2 out rc line n f e
  shift 2
  out=$(env "$@" "$t" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -E '^(SKIP|[0-9]+%:|.*:[EF]:)' | sed "s|^|$label|" || true
  if [ "$rc" -eq 77 ] && ! printf '%s\n' "$out" | grep -qE '^[0-9]+%: Checks: '; then return; fi
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -1)
  if [ -z "$line" ]; then
    echo "$label$t: no Check summary (exit $rc)"; printf '%s\n' "$out" | tail -20
    failed=$((failed+1)); bad_bins="$bad_bins $label$t"; return
  fi
  n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
  f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
  e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
  passed=$((passed + n - f - e)); failed=$((failed + f + e))
  if [ "$rc" -ne 0 ] && [ $((f+e)) -eq 0 ]; then failed=$((failed+1)); bad_bins="$bad_bins $label$t"; fi
}
for t in "$@"; do
  if [[ " ${HY_ISA_TESTS:-} " == *" $(basename "$t") "* ]]; then
    for isa in avx512 avx2 generic; do run_one "[$isa] " "$t" HY_ISA=$isa; done
  else
    run_one "" "$t"
  fi
done
echo
[ -n "$bad_bins" ] && echo "failing binaries:$bad_bins"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
