// sgemm.h - single-precision matrix product for the FaceNet convolutions.
//
// hy_sgemm computes C (M, N) = alpha * A (M, K) @ B (K, N) + beta * C, all row-major with leading
// dimensions lda, ldb, ldc (cblas_sgemm's RowMajor / NoTrans / NoTrans case). When the current
// ISA (hy_isa()) is AVX-512 or AVX2 and N >= 256 it runs this project's own single-threaded
// kernels (src/nn/sgemm.c, sgemm_avx512.c, sgemm_avx2.c); otherwise (generic ISA, HY_SGEMM=0 in
// the environment, packing buffers that cannot be allocated) it calls cblas_sgemm (OpenBLAS,
// with its thread count). Why: the environment of this project's machines pins OpenBLAS to its
// AVX2 (Haswell) kernels (OPENBLAS_CORETYPE, because this OpenBLAS build's AVX-512 kernels
// misbehave on their processors), which caps its sgemm at about half of what AVX-512 FMAs
// deliver; on AVX2 the own kernel matches OpenBLAS's and saves repacking the weights (below).
// Results equal cblas_sgemm's up to float32 rounding (another summation order).
#ifndef HY_SGEMM_H
#define HY_SGEMM_H

#include "base/common.h"  // hy_arena

void hy_sgemm(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc);

// A left operand (weights) packed once for the kernel, reused by every product: saves repacking
// A per call, which dominates when N is small (FaceNet at batch 1). alpha is folded in.
typedef struct {
    int M, K;
    float alpha;
    const float *A;  // the original (row-major, lda), for the cblas path; must stay valid
    int lda;
    float *packed;   // NULL without an own kernel at packing time (generic ISA, HY_SGEMM=0)
    int mr;          // panel height of that kernel (8 AVX-512, 6 AVX2): a kernel of another
                     // height (the ISA switched since packing) leaves the product to cblas_sgemm
    int in_arena;    // packed lives in an arena (hy_sgemm_pack_in): hy_sgemm_free leaves it
} hy_sgemm_a;

// Returns 0 or HY_ENOMEM. hy_sgemm_free releases the packed copy.
int hy_sgemm_pack(hy_sgemm_a *a, int M, int K, float alpha, const float *A, int lda);
// The same with the packed copy taken from arena ar when it has room (ar may be NULL).
int hy_sgemm_pack_in(hy_sgemm_a *a, hy_arena *ar, int M, int K, float alpha, const float *A, int lda);
void hy_sgemm_free(hy_sgemm_a *a);
// C (M, N) = alpha * A @ B (K, N) + beta * C; the kernel when packed (any N), else cblas_sgemm.
void hy_sgemm_a_mul(const hy_sgemm_a *a, int N, const float *B, int ldb, float beta, float *C, int ldc);
// The same, then row i of C += bscale * bias[i] and, with relu, C = max(C, 0) (+0 for -0 and NaN,
// as x > 0 ? x : 0): a conv's bias and ReLU (FaceNet) applied while the kernel still holds the
// tile instead of in another pass over C; without the kernel, a separate pass after cblas_sgemm
// with the same operations. bias NULL: no epilogue (relu ignored).
void hy_sgemm_a_mul_ep(const hy_sgemm_a *a, int N, const float *B, int ldb, float beta, float *C, int ldc,
                       const float *bias, float bscale, int relu);

// 1 when hy_sgemm uses an own kernel now (ISA AVX-512 or AVX2, HY_SGEMM not "0").
int hy_sgemm_own(void);
// 1 when products with a run on its packed copy now (the kernel that packed it is the current one).
int hy_sgemm_a_packed_now(const hy_sgemm_a *a);

#endif
