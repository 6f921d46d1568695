// sgemm.c - AVX-512 single-precision GEMM (see include/nn/sgemm.h).
//
// Classic GotoBLAS blocking: for each block of NC columns of B and KC rows of the reduction,
// B's block is packed into strips of NR = 32 columns (each strip KC x 32, contiguous in the
// order the kernel reads it); for each block of MC rows of A, A's block is packed (times alpha)
// into panels of MR = 8 rows (KC x 8, rows padded with zeros). The micro-kernel keeps an 8 x 32
// tile of C in 16 AVX-512 registers for the whole KC reduction: per k, two vector loads of the
// B strip, eight broadcasts from the A panel, sixteen FMAs (8 x 32 measured ~5 % faster than
// 6 x 32 on FaceNet; most FaceNet channel counts are multiples of 8). The B strip (32 KB at
// KC = 256) stays in
// L1 while every panel of the A block (MC x KC = 96 KB, in L2) passes over it. Column tails
// use masked loads/stores; beta is applied to C once, before the products are added.
#include "nn/sgemm.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"  // hy_malloc_aligned

#define MR 8
#define NR 32
#define KC 256
#define MC 96  // a multiple of MR
#define NC 2048
#define SG_MIN_N 256         // fewer columns: cblas_sgemm (hy_sgemm)
#define SG_MIN_N_PACKED 32   // with A packed once: fewer columns than one strip go to cblas_sgemm

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#define SG_X86 1
#define SG_TARGET __attribute__((target("avx512f")))
#endif

int hy_sgemm_avx512(void) {
#ifdef SG_X86
    static int cpu = -1;  // the CPU check once; the variable at every call (cheap next to a product)
    if (cpu < 0) {
        __builtin_cpu_init();
        cpu = __builtin_cpu_supports("avx512f") ? 1 : 0;
    }
    const char *e = getenv("HY_SGEMM");
    return cpu && !(e && e[0] == '0');
#else
    return 0;
#endif
}

#ifdef SG_X86
static int imin(int a, int b) { return a < b ? a : b; }

// pa: ceil(mc / MR) panels, each kc x MR (k-major), alpha applied, missing rows zero.
static void pack_a(float *pa, const float *A, int lda, int mc, int kc, float alpha) {
    for (int p = 0; p < mc; p += MR) {
        const int mr = imin(MR, mc - p);
        for (int k = 0; k < kc; k++)
            for (int r = 0; r < MR; r++) *pa++ = r < mr ? alpha * A[(size_t)(p + r) * lda + k] : 0.0f;
    }
}

// pb: ceil(nc / NR) strips, each kc x NR (k-major), missing columns zero.
static void pack_b(float *pb, const float *B, int ldb, int kc, int nc) {
    for (int j = 0; j < nc; j += NR) {
        const int nr = imin(NR, nc - j);
        for (int k = 0; k < kc; k++, pb += NR) {
            const float *src = B + (size_t)k * ldb + j;
            memcpy(pb, src, (size_t)nr * sizeof(float));
            if (nr < NR) memset(pb + nr, 0, (size_t)(NR - nr) * sizeof(float));
        }
    }
}

// C[0..mr, 0..nr) += (8 x kc panel) @ (kc x 32 strip)
SG_TARGET static void kernel(int kc, const float *pa, const float *pb, float *C, int ldc, int mr, int nr) {
    __m512 c00 = _mm512_setzero_ps(), c01 = c00, c10 = c00, c11 = c00, c20 = c00, c21 = c00, c30 = c00,
           c31 = c00, c40 = c00, c41 = c00, c50 = c00, c51 = c00, c60 = c00, c61 = c00, c70 = c00, c71 = c00;
    for (int k = 0; k < kc; k++, pa += MR, pb += NR) {
        const __m512 b0 = _mm512_load_ps(pb), b1 = _mm512_load_ps(pb + 16);
        __m512 a;
#define SG_ROW(r)                             \
    a = _mm512_set1_ps(pa[r]);                \
    c##r##0 = _mm512_fmadd_ps(a, b0, c##r##0); \
    c##r##1 = _mm512_fmadd_ps(a, b1, c##r##1);
        SG_ROW(0) SG_ROW(1) SG_ROW(2) SG_ROW(3) SG_ROW(4) SG_ROW(5) SG_ROW(6) SG_ROW(7)
#undef SG_ROW
    }
    const __mmask16 m0 = nr >= 16 ? 0xFFFF : (__mmask16)((1u << nr) - 1);
    const __mmask16 m1 = nr >= 32 ? 0xFFFF : nr > 16 ? (__mmask16)((1u << (nr - 16)) - 1) : 0;
    const __m512 acc[MR][2] = {{c00, c01}, {c10, c11}, {c20, c21}, {c30, c31},
                               {c40, c41}, {c50, c51}, {c60, c61}, {c70, c71}};
    for (int r = 0; r < mr; r++, C += ldc) {
        _mm512_mask_storeu_ps(C, m0, _mm512_add_ps(_mm512_maskz_loadu_ps(m0, C), acc[r][0]));
        if (m1) _mm512_mask_storeu_ps(C + 16, m1, _mm512_add_ps(_mm512_maskz_loadu_ps(m1, C + 16), acc[r][1]));
    }
}

// C += alpha * A @ B with the packed kernel. pre: A already packed by hy_sgemm_pack (then A,
// lda and alpha are unused), or NULL. Returns 0, or -1 when the buffers cannot be allocated.
static int gemm_avx512(int M, int N, int K, float alpha, const float *A, int lda, const float *pre, const float *B,
                       int ldb, float *C, int ldc) {
    float *pa = pre ? NULL : hy_malloc_aligned(sizeof(float) * MC * KC), *pb = hy_malloc_aligned(sizeof(float) * KC * NC);
    if ((!pre && !pa) || !pb) {
        free(pa);
        free(pb);
        return -1;
    }
    const size_t mpad = (size_t)(M + MR - 1) / MR * MR;
    for (int jc = 0; jc < N; jc += NC) {
        const int nc = imin(NC, N - jc);
        for (int pc = 0; pc < K; pc += KC) {
            const int kc = imin(KC, K - pc);
            pack_b(pb, B + (size_t)pc * ldb + jc, ldb, kc, nc);
            for (int ic = 0; ic < M; ic += MC) {
                const int mc = imin(MC, M - ic);
                const float *blk = pre ? pre + (size_t)pc * mpad + (size_t)ic * kc : pa;
                if (!pre) pack_a(pa, A + (size_t)ic * lda + pc, lda, mc, kc, alpha);
                for (int j = 0; j < nc; j += NR) {
                    const float *strip = pb + (size_t)(j / NR) * kc * NR;
                    for (int p = 0; p < mc; p += MR)
                        kernel(kc, blk + (size_t)(p / MR) * kc * MR, strip, C + (size_t)(ic + p) * ldc + jc + j, ldc,
                               imin(MR, mc - p), imin(NR, nc - j));
                }
            }
        }
    }
    free(pa);
    free(pb);
    return 0;
}
#endif

// C = beta * C (before the products are added)
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    if (beta == 1.0f) return;
    for (int i = 0; i < M; i++) {
        float *row = C + (size_t)i * ldc;
        if (beta == 0.0f) memset(row, 0, (size_t)N * sizeof(float));
        else
            for (int j = 0; j < N; j++) row[j] *= beta;
    }
}

void hy_sgemm(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc) {
#ifdef SG_X86
    // Narrow products (FaceNet's late blocks at batch 1: N = 64 or 9 pixels) go to OpenBLAS: here
    // A would be repacked for a few columns of work (A is the weights, up to 1792 x 3456).
    if (N >= SG_MIN_N && hy_sgemm_avx512() && M > 0) {
        scale_c(M, N, beta, C, ldc);
        if (K < 1 || alpha == 0.0f || gemm_avx512(M, N, K, alpha, A, lda, NULL, B, ldb, C, ldc) == 0) return;
        beta = 1.0f;  // already applied; fall through to OpenBLAS
    }
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

int hy_sgemm_pack(hy_sgemm_a *a, int M, int K, float alpha, const float *A, int lda) {
    *a = (hy_sgemm_a){M, K, alpha, A, lda, NULL};
#ifdef SG_X86
    if (!hy_sgemm_avx512() || M < 1 || K < 1) return 0;
    const size_t mpad = (size_t)(M + MR - 1) / MR * MR;
    if (!(a->packed = hy_malloc_aligned(sizeof(float) * mpad * (size_t)K))) return HY_ENOMEM;
    // blocks in the order gemm_avx512 reads them: (pc, ic) at pc * mpad + ic * kc
    for (int pc = 0; pc < K; pc += KC) {
        const int kc = imin(KC, K - pc);
        for (int ic = 0; ic < M; ic += MC)
            pack_a(a->packed + (size_t)pc * mpad + (size_t)ic * kc, A + (size_t)ic * lda + pc, lda, imin(MC, M - ic),
                   kc, alpha);
    }
#endif
    return 0;
}

void hy_sgemm_free(hy_sgemm_a *a) {
    free(a->packed);
    a->packed = NULL;
}

void hy_sgemm_a_mul(const hy_sgemm_a *a, int N, const float *B, int ldb, float beta, float *C, int ldc) {
#ifdef SG_X86
    if (a->packed && N >= SG_MIN_N_PACKED && hy_sgemm_avx512()) {
        scale_c(a->M, N, beta, C, ldc);
        if (gemm_avx512(a->M, N, a->K, a->alpha, NULL, 0, a->packed, B, ldb, C, ldc) == 0) return;
        beta = 1.0f;
    }
#endif
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->M, N, a->K, a->alpha, a->A, a->lda, B, ldb, beta, C,
                ldc);
}
