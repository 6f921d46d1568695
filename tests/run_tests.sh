#!/usr/bin/env bash
# Runs each test binary given on the command line (each a Check suite run with
# CK_FORK=no under valgrind/sanitizers is fine) and prints a summary line
#   "N passed, N failed"
# counting Check's per-test results. Exits non-zero when any test failed or errored.
set -u
passed=0; failed=0; bad_bins=""
for t in "$@"; do
  out=$("$t" 2>&1); rc=$?
  printf '%s\n' "$out" | grep -E '^(SKIP|[0-9]+%:|.*:[EF]:)' || true
  line=$(printf '%s\n' "$out" | grep -E '^[0-9]+%: Checks: ' | tail -1)
  if [ -z "$line" ]; then
    echo "$t: no Check summary (exit $rc)"; printf '%s\n' "$out" | tail -20
    failed=$((failed+1)); bad_bins="$bad_bins $t"; continue
  fi
  n=$(echo "$line" | sed -E 's/.*Checks: ([0-9]+).*/\1/')
  f=$(echo "$line" | sed -E 's/.*Failures: ([0-9]+).*/\1/')
  e=$(echo "$line" | sed -E 's/.*Errors: ([0-9]+).*/\1/')
  passed=$((passed + n - f - e)); failed=$((failed + f + e))
  if [ "$rc" -ne 0 ] && [ $((f+e)) -eq 0 ]; then failed=$((failed+1)); bad_bins="$bad_bins $t"; fi
done
echo
[ -n "$bad_bins" ] && echo "failing binaries:$bad_bins"
echo "$passed passed, $failed failed"
[ "$failed" -eq 0 ]
