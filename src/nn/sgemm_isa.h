// sgemm_isa.h - the per-ISA micro-kernels behind include/nn/sgemm.h (internal to src/nn).
//
// src/nn/sgemm.c does the GotoBLAS blocking and packing for every ISA; a micro-kernel adds the
// product of one packed A panel (kc x SG_MR, k-major: SG_MR floats per k, rows beyond the
// matrix zero) and one packed B strip (kc x nr columns, k-major, columns beyond zero) into the
// mr x nc corner of C (row-major, ldc). The A layout is the same for every ISA, so weights
// packed once (hy_sgemm_pack) serve whichever kernel runs.
#ifndef HY_SGEMM_ISA_H
#define HY_SGEMM_ISA_H

#define SG_MR 8  // rows per packed A panel

typedef struct {
    int nr;  // columns per packed B strip
    // C[0..mr, 0..nc) += panel (kc x SG_MR) @ strip (kc x nr); mr <= SG_MR, nc <= nr
    void (*kernel)(int kc, const float *pa, const float *pb, float *C, int ldc, int mr, int nc);
} sg_kernel;

#if defined(__x86_64__) && defined(__GNUC__)
extern const sg_kernel hy_sg_kernel_avx512, hy_sg_kernel_avx2;
#endif

#endif
