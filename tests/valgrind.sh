#!/usr/bin/env bash
# Runs the golden tests under valgrind memcheck (CI): any invalid access or definite leak
# fails. Built without -march=native (ARCH=) into build-vg/, because valgrind 3.19 cannot
# execute AVX-512 instructions, and with HY_CONV3X3=0 so the generator takes its generic
# (non-AVX-512) path; the AVX-512 kernels are covered by the ASan/UBSan run instead.
# The real-weight tests (shared data) are skipped here (HY_SHARED_DATA=/nonexistent): under
# valgrind they take many minutes, and ASan/UBSan runs them.
set -u
cd "$(dirname "$0")/.."
TESTS=${*:-test_pggan test_facenet test_mtcnn test_wfile test_io}
make --no-print-directory BUILD=build-vg ARCH= -j2 build-vg/hyper $(for t in $TESTS; do echo build-vg/tests/$t; done) || exit 1
status=0
for t in $TESTS; do
  log=build-vg/$t.valgrind.log
  if CK_FORK=no HY_CONV3X3=0 HY_SHARED_DATA=/nonexistent HYPER_BIN=build-vg/hyper valgrind -q --error-exitcode=9 --leak-check=full \
       --errors-for-leak-kinds=definite --show-leak-kinds=definite "build-vg/tests/$t" >"$log" 2>&1; then
    echo "valgrind $t: clean ($(grep -E '^[0-9]+%: Checks' "$log"))"
  else
    echo "valgrind $t: FAILED (see $log)"; grep -E '^==[0-9]+== [A-Z]|definitely lost|Invalid' "$log" | head -5
    status=1
  fi
done
exit $status
