// sgemm_isa.h - the per-ISA micro-kernels behind include/nn/sgemm.h (internal to src/nn).
//
// src/nn/sgemm.c does the GotoBLAS blocking and packing for every ISA; a micro-kernel adds the
// product of one packed A panel (kc x mr rows, k-major: mr floats per k, rows beyond the matrix
// zero) and one packed B strip (kc x nr columns, k-major, columns beyond zero) into the corner
// of C (row-major, ldc) it covers, or stores it there. The panel height is the kernel's, so
// weights packed once (hy_sgemm_pack) record it and serve only a kernel of the same height.
#ifndef HY_SGEMM_ISA_H
#define HY_SGEMM_ISA_H

#include <stddef.h>

typedef struct {
    int mr;  // rows per packed A panel (a divisor of sgemm.c's 96-row blocks)
    int nr;  // columns per packed B strip: 16 or 32 (sgemm.c instantiates its B packing for these)
    // C[0..m, 0..n) += panel (kc x mr) @ strip (kc x nr) when add, = when !add (C is not read:
    // the first reduction block of a beta = 0 product); m <= mr, n <= nr. Then, when bb is set
    // (the last reduction block of a product with an epilogue): C[r][.] += bb[r], and with relu
    // C = max(C, 0), in the order and rounding of the separate pass it replaces.
    void (*kernel)(int kc, const float *pa, const float *pb, float *C, int ldc, int m, int n, int add,
                   const float *bb, int relu);
    // The last 1-nb_max columns of a product (or the last 1 after kernel8's 8): C[0..m, 0..nb)
    // as kernel() does for one panel, nb <= nb_max, each column from an expanded column (eb +
    // j * ebs, 32/64-byte aligned): the panel's layout with b[k] at every position k*mr + r of
    // its kc * mr floats, zero from there up to ebs (a multiple of group, the floats the kernel
    // reads per step). Every lane of the FMAs is used, where an nr-wide tile computes nr columns
    // for 1-4 real ones; but every FMA reads a vector of the expanded column, which holds it to
    // about half of the FMA peak, so it serves short tails only.
    void (*narrow)(int kc, const float *pa, const float *eb, size_t ebs, int nb, float *C, int ldc, int m, int add,
                   const float *bb, int relu);
    int nb_max, group;
    // Optional (NULL: none): C[0..m, 0..n) for one panel and a B strip 8 columns wide (kc x 8,
    // k-major; n <= 8), as kernel() otherwise: the first 8 (or fewer) columns of a tail of 5-9.
    void (*kernel8)(int kc, const float *pa, const float *pb, float *C, int ldc, int m, int n, int add,
                    const float *bb, int relu);
} sg_kernel;

#if defined(__x86_64__) && defined(__GNUC__)
extern const sg_kernel hy_sg_kernel_avx512, hy_sg_kernel_avx2;
#endif

#endif
