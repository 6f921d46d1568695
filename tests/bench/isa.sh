# tests/bench/isa.sh - sourced by the benchmark scripts: which kernel ISAs to time, and how to
# hold PyTorch to the same instruction set, so that a machine with AVX-512 also measures the
# AVX2 class (on AMD Zen 3/4/5 an AVX2 core has the same FP32 peak per cycle as a Zen 3).
#   bench_isas HYPER     prints the ISAs to time: $BENCH_ISAS if set, else those of
#                        "avx512 avx2" this CPU runs (from `hyper --version`)
#   torch_isa ISA        prints the environment assignments for PyTorch: oneDNN's
#                        ONEDNN_MAX_CPU_ISA (AVX2 for avx2; nothing for avx512). ATen's own
#                        kernels use AVX2 on these machines either way (torch.__config__.show()).
#   c_env                the environment of every C run: idle threads sleep (as the CLI sets
#                        for itself, include/base/threads.h), also for the bench programs.
bench_isas() {
  if [ -n "${BENCH_ISAS:-}" ]; then echo "$BENCH_ISAS"; return; fi
  local best
  best=$("$1" --version | sed -n 's/.*this CPU: \([a-z0-9]*\).*/\1/p')
  case $best in
    avx512) echo "avx512 avx2";;
    avx2) echo "avx2";;
    *) echo "generic";;
  esac
}
torch_isa() {
  case $1 in
    avx2) echo "ONEDNN_MAX_CPU_ISA=AVX2";;
    generic) echo "ONEDNN_MAX_CPU_ISA=SSE41";;
    *) echo "";;
  esac
}
c_env() { echo "OMP_WAIT_POLICY=${OMP_WAIT_POLICY:-passive} OPENBLAS_THREAD_TIMEOUT=${OPENBLAS_THREAD_TIMEOUT:-4}"; }
