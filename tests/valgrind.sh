#!/usr/bin/env bash
# Runs the golden tests under valgrind memcheck (CI): any invalid access or definite leak
# fails. The normal (portable) build in build/ serves: valgrind 3.19 cannot execute AVX-512
# instructions and hides them from CPUID, so the tests whose code differs by ISA (the direct
# convolutions, the GEMM kernels: test_pggan, test_facenet, test_conv3x3) run with HY_ISA=avx2
# and, but for test_conv3x3 (all skipped there), again with HY_ISA=generic (OpenBLAS paths); the
# others once, generic. The AVX-512 kernels are covered by the ASan/UBSan run instead. The real-weight tests (shared data) are skipped here
# (HY_SHARED_DATA=/nonexistent): under valgrind they take many minutes, and ASan/UBSan runs
# them. OMP_WAIT_POLICY / OPENBLAS_THREAD_TIMEOUT are set so that the CLI the tests start does
# not re-execute itself (src/cli/main.c).
# Arguments: TEST:ISA pairs (default below).
set -u
cd "$(dirname "$0")/.."
RUNS=${*:-test_pggan:avx2 test_pggan:generic test_facenet:avx2 test_facenet:generic test_conv3x3:avx2 \
  test_mtcnn:generic test_wfile:generic test_io:generic}
make --no-print-directory -j2 build/hyper $(for r in $RUNS; do echo "build/tests/${r%%:*}"; done | sort -u) || exit 1
status=0
for r in $RUNS; do
  t=${r%%:*} isa=${r#*:}
  log=build/$t.$isa.valgrind.log
  if CK_FORK=no HY_ISA=$isa OMP_WAIT_POLICY=passive OPENBLAS_THREAD_TIMEOUT=4 HY_SHARED_DATA=/nonexistent \
       HYPER_BIN=build/hyper valgrind -q --error-exitcode=9 --leak-check=full --errors-for-leak-kinds=definite \
       --show-leak-kinds=definite "build/tests/$t" >"$log" 2>&1; then
    echo "valgrind $t ($isa): clean ($(grep -E '^[0-9]+%: Checks' "$log"))"
  else
    echo "valgrind $t ($isa): FAILED (see $log)"; grep -E '^==[0-9]+== [A-Z]|definitely lost|Invalid' "$log" | head -5
    status=1
  fi
done
exit $status
