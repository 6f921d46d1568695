// cpu.h - which instruction set the hand-written kernels use (run-time dispatch).
//
// The binary is built for the baseline of its architecture (x86-64 without AVX, or aarch64);
// the kernels that need more (src/nn/conv3x3_avx512.c / _avx2.c, src/nn/sgemm_avx512.c /
// _avx2.c) carry their own target attributes and are picked here, once, from what CPUID and
// the OS (XGETBV: the register state is saved on context switches) report:
//   HY_ISA_AVX512   AVX-512F (+ AVX2, FMA)      16-wide kernels
//   HY_ISA_AVX2     AVX2 + FMA                  8-wide kernels
//   HY_ISA_GENERIC  anything else               portable C + OpenBLAS (im2col + sgemm)
// HY_ISA=avx512|avx2|generic in the environment forces one (to compare paths, or to run the
// tests on each); a value the CPU cannot run, or an unknown one, is refused with an error by
// hy_isa_init() (the CLI and the test binaries call it first and stop on it).
#ifndef HY_CPU_H
#define HY_CPU_H

enum { HY_ISA_GENERIC = 0, HY_ISA_AVX2 = 1, HY_ISA_AVX512 = 2, HY_ISA_COUNT = 3 };

// The best ISA this CPU and OS support (computed once).
int hy_isa_detect(void);
// 1 when this CPU can run `isa` (isa <= hy_isa_detect()).
int hy_isa_supported(int isa);
// Reads HY_ISA (unset or empty: the detected ISA) and makes it current. HY_OK, or HY_EARG with a
// message naming the value and the CPU's best ISA; on error the current ISA is left unchanged.
int hy_isa_init(void);
// The ISA the kernels use now. First use without hy_isa_init(): HY_ISA if valid, else detected.
int hy_isa(void);
// Switches the kernels (tests, benchmarks). HY_EARG if the CPU lacks it. Weights packed for
// the direct convolutions are valid for every ISA that has such a kernel (same layout), but a
// model loaded under HY_ISA_GENERIC has no packed weights; see pggan.h.
int hy_isa_set(int isa);
// "avx512", "avx2", "generic" (NULL for an invalid value) and the reverse (-1 if unknown).
const char *hy_isa_name(int isa);
int hy_isa_parse(const char *name);

#endif
