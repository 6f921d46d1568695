// sgemm.c - single-precision GEMM on the project's own micro-kernels (see include/nn/sgemm.h).
//
// Classic GotoBLAS blocking: for each block of NC columns of B and KC rows of the reduction,
// B's block is packed into strips of nr columns (each strip KC x nr, contiguous in the order
// the kernel reads it); for each block of MC rows of A, A's block is packed (times alpha) into
// panels of mr rows (KC x mr, rows padded with zeros). The micro-kernel (sgemm_avx512.c: 8 x
// 32, sgemm_avx2.c: 6 x 16; chosen by hy_isa()) keeps an mr x nr tile of C in registers for the
// whole KC reduction. The B strip (16-32 KB at KC = 256) stays in L1 while every panel of the
// A block (MC x KC = 96 KB, in L2) passes over it. beta is applied to C once, before the
// products are added (beta = 0: the first reduction block stores instead of adding).
#include "nn/sgemm.h"

#include <cblas.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"  // hy_malloc_aligned
#include "nn/cpu.h"
#include "sgemm_isa.h"

#define KC 256
#define MC 96  // a multiple of every kernel's mr
#define NC 2048
#define SG_MIN_N 256         // fewer columns: cblas_sgemm (hy_sgemm)

// The micro-kernel of the current ISA, or NULL (generic ISA, or HY_SGEMM=0: OpenBLAS). The
// variable is read at every call (cheap next to a product) so that tests can switch it.
static const sg_kernel *kernel(void) {
    const char *e = getenv("HY_SGEMM");
    if (e && e[0] == '0') return NULL;
#if defined(__x86_64__) && defined(__GNUC__)
    switch (hy_isa()) {
    case HY_ISA_AVX512: return &hy_sg_kernel_avx512;
    case HY_ISA_AVX2: return &hy_sg_kernel_avx2;
    }
#endif
    return NULL;
}

int hy_sgemm_own(void) { return kernel() != NULL; }

int hy_sgemm_a_packed_now(const hy_sgemm_a *a) {
    const sg_kernel *g = kernel();
    return g && a->packed && g->mr == a->mr;
}

static int imin(int a, int b) { return a < b ? a : b; }

// pa: ceil(mc / MR) panels, each kc x MR (k-major), alpha applied, missing rows zero.
static void pack_a(float *pa, const float *A, int lda, int mc, int kc, float alpha, int MR) {
    for (int p = 0; p < mc; p += MR) {
        const int mr = imin(MR, mc - p);
        for (int k = 0; k < kc; k++)
            for (int r = 0; r < MR; r++) *pa++ = r < mr ? alpha * A[(size_t)(p + r) * lda + k] : 0.0f;
    }
}

// pb: ceil(nc / nr) strips, each kc x nr (k-major), missing columns zero. Instantiated per
// strip width so that each row of a full strip is a fixed-size copy the compiler inlines: as a
// memcpy call per 16-32 floats it cost ~7 % of FaceNet's forward pass.
static inline __attribute__((always_inline)) void pack_b_n(float *restrict pb, const float *restrict B, int ldb,
                                                           int kc, int nc, const int NR) {
    int j = 0;
    for (; j + NR <= nc; j += NR)
        for (int k = 0; k < kc; k++, pb += NR) memcpy(pb, B + (size_t)k * ldb + j, (size_t)NR * sizeof(float));
    if (j < nc) {
        const int n = nc - j;
        for (int k = 0; k < kc; k++, pb += NR) {
            const float *src = B + (size_t)k * ldb + j;
            for (int c = 0; c < NR; c++) pb[c] = c < n ? src[c] : 0.0f;
        }
    }
}

static void pack_b(float *pb, const float *B, int ldb, int kc, int nc, int NR) {
    if (NR == 8) pack_b_n(pb, B, ldb, kc, nc, 8);
    else if (NR == 16) pack_b_n(pb, B, ldb, kc, nc, 16);
    else pack_b_n(pb, B, ldb, kc, nc, 32);
}

// Floats between expanded columns for kc steps: the kc * MR used, rounded up to the kernel's
// group, plus 64 bytes so that the columns' loads do not all fall at one offset modulo 4 KB
// (they compete for the same L1 sets and banks: without it 1.3x slower at 4 columns).
static size_t eb_stride(const sg_kernel *g, int kc) {
    return ((size_t)kc * g->mr + g->group - 1) / g->group * g->group + 16;
}

// eb: nb expanded columns ebs floats apart (sgemm_isa.h: b[k] at positions k*MR .. k*MR+MR-1,
// zero from kc*MR to ebs), for the narrow kernel. Each k stores 8 copies (MR <= 8): a fixed-size
// copy the compiler makes two vector stores; the copies past MR are overwritten by the next k or
// land in the padding, zeroed last.
static void pack_eb(float *eb, size_t ebs, const float *B, int ldb, int kc, int nb, int MR) {
    for (int n = 0; n < nb; n++) {
        float *dst = eb + (size_t)n * ebs;
        for (int k = 0; k < kc; k++) {
            const float v = B[(size_t)k * ldb + n];
            const float v8[8] = {v, v, v, v, v, v, v, v};
            memcpy(dst + (size_t)k * MR, v8, sizeof v8);
        }
        memset(dst + (size_t)kc * MR, 0, (ebs - (size_t)kc * MR) * sizeof(float));
    }
}

// C = beta * C before the products are added (beta = 0: nothing, the products overwrite C)
static void scale_c(int M, int N, float beta, float *C, int ldc) {
    if (beta == 1.0f || beta == 0.0f) return;
    for (int i = 0; i < M; i++) {
        float *row = C + (size_t)i * ldc;
        for (int j = 0; j < N; j++) row[j] *= beta;
    }
}

// How the last r = N % nr columns of a product are computed: the first w8 by kernel8 (a strip
// 8 wide), the nn after them by the narrow kernel; w8 = nn = 0: the masked nr-wide tile of the
// main kernel. Measured on AVX2 (one core; 1792 x 384 weights, 40 different matrices so that
// they come from memory as FaceNet's late blocks do at batch 1; microseconds, tail path vs the
// masked 16-wide tile): 1 column 71-134 vs 219, 4: 152 vs 218, 5: 159 vs 226, 8: 146 vs 214,
// 9: 187-218 vs 220; 12 as 8 + 4: 315-352 vs 218, so tails of 10-15 keep the 16-wide tile. On
// AVX-512 (8 x 32 tiles) 4 columns: 162 vs 274, but 9 as three narrow calls: 343 vs 292.
typedef struct {
    int w8, nn;
} tail_plan;

static tail_plan plan_tail(const sg_kernel *g, int r) {
    if (g->kernel8 && r > g->nb_max && r <= 9) return (tail_plan){r < 8 ? r : 8, r < 8 ? 0 : r - 8};
    if (g->narrow && r <= g->nb_max) return (tail_plan){0, r};
    return (tail_plan){0, 0};
}

// C = alpha * A @ B + beta * C with kernel g (beta applied before: see scale_c; with beta = 0 the
// first reduction block stores instead of adding, so C is neither cleared nor read), then the
// epilogue when bias is set (hy_sgemm_a_mul_ep), fused into the last reduction block. pre: A
// already packed by hy_sgemm_pack (then A, lda and alpha are unused), or NULL. Returns 0, or -1
// when the buffers cannot be allocated (C untouched).
static int gemm(const sg_kernel *g, int M, int N, int K, float alpha, const float *A, int lda, const float *pre,
                const float *B, int ldb, float beta, float *C, int ldc, const float *bias, float bscale, int relu) {
    const int MR = g->mr, NR = g->nr;
    const int ncmax = (NC + NR - 1) / NR * NR;
    const tail_plan tp = plan_tail(g, N % NR);  // (the last column block holds the tail: NC % NR == 0)
    const size_t ebs_max = eb_stride(g, KC);
    float *pa = pre ? NULL : hy_malloc_aligned(sizeof(float) * MC * KC),
          *pb = hy_malloc_aligned(sizeof(float) * KC * (size_t)ncmax),
          *eb = tp.nn ? hy_malloc_aligned(sizeof(float) * ebs_max * tp.nn) : NULL;
    if ((!pre && !pa) || !pb || (tp.nn && !eb)) {
        free(pa);
        free(pb);
        free(eb);
        return -1;
    }
    scale_c(M, N, beta, C, ldc);
    const size_t mpad = (size_t)(M + MR - 1) / MR * MR;
    float bb[MC];  // the epilogue's bias of the current row block, bscale applied
    for (int jc = 0; jc < N; jc += NC) {
        const int nc = imin(NC, N - jc), last = jc + nc == N;
        const int nf = last ? nc - tp.w8 - tp.nn : nc;  // columns in nr-wide strips, then w8, then nn
        for (int pc = 0; pc < K; pc += KC) {
            const int kc = imin(KC, K - pc), add = pc > 0 || beta != 0.0f, ep = bias && pc + kc >= K;
            const size_t ebs = eb_stride(g, kc);
            const float *Bp = B + (size_t)pc * ldb + jc;
            float *pb8 = pb + (size_t)(nf / NR) * kc * NR;  // (nf is a multiple of NR when there is a tail)
            pack_b(pb, Bp, ldb, kc, nf, NR);
            if (last && tp.w8) pack_b(pb8, Bp + nf, ldb, kc, tp.w8, 8);
            if (last && tp.nn) pack_eb(eb, ebs, Bp + nf + tp.w8, ldb, kc, tp.nn, MR);
            for (int ic = 0; ic < M; ic += MC) {
                const int mc = imin(MC, M - ic);
                const float *blk = pre ? pre + (size_t)pc * mpad + (size_t)ic * kc : pa;
                float *Cb = C + (size_t)ic * ldc + jc;
                if (!pre) pack_a(pa, A + (size_t)ic * lda + pc, lda, mc, kc, alpha, MR);
                if (ep)
                    for (int r = 0; r < mc; r++) bb[r] = bscale * bias[ic + r];
                for (int j = 0; j < nf; j += NR) {
                    const float *strip = pb + (size_t)(j / NR) * kc * NR;
                    for (int p = 0; p < mc; p += MR)
                        g->kernel(kc, blk + (size_t)(p / MR) * kc * MR, strip, Cb + (size_t)p * ldc + j, ldc,
                                  imin(MR, mc - p), imin(NR, nf - j), add, ep ? bb + p : NULL, relu);
                }
                if (!last || !(tp.w8 || tp.nn)) continue;
                // the tail panel by panel: a panel read from memory serves both kernels from L1
                for (int p = 0; p < mc; p += MR) {
                    const float *panel = blk + (size_t)(p / MR) * kc * MR;
                    float *Cp = Cb + (size_t)p * ldc + nf;
                    const int m = imin(MR, mc - p);
                    if (tp.w8) g->kernel8(kc, panel, pb8, Cp, ldc, m, tp.w8, add, ep ? bb + p : NULL, relu);
                    if (tp.nn) g->narrow(kc, panel, eb, ebs, tp.nn, Cp + tp.w8, ldc, m, add, ep ? bb + p : NULL, relu);
                }
            }
        }
    }
    free(pa);
    free(pb);
    free(eb);
    return 0;
}

void hy_sgemm(int M, int N, int K, float alpha, const float *A, int lda, const float *B, int ldb, float beta,
              float *C, int ldc) {
    // Narrow products (FaceNet's late blocks at batch 1: N = 64 or 9 pixels) go to OpenBLAS: here
    // A would be repacked for a few columns of work (A is the weights, up to 1792 x 3456).
    const sg_kernel *g = kernel();
    if (g && N >= SG_MIN_N && M > 0 && K > 0 && alpha != 0.0f &&
        gemm(g, M, N, K, alpha, A, lda, NULL, B, ldb, beta, C, ldc, NULL, 0.0f, 0) == 0)
        return;
    // (K = 0 or alpha = 0: C = beta C, which cblas_sgemm does; a failed allocation left C as it was)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
}

int hy_sgemm_pack(hy_sgemm_a *a, int M, int K, float alpha, const float *A, int lda) {
    return hy_sgemm_pack_in(a, NULL, M, K, alpha, A, lda);
}

int hy_sgemm_pack_in(hy_sgemm_a *a, hy_arena *ar, int M, int K, float alpha, const float *A, int lda) {
    *a = (hy_sgemm_a){M, K, alpha, A, lda, NULL, 0, 0};
    const sg_kernel *g = kernel();
    if (!g || M < 1 || K < 1) return 0;
    const int MR = a->mr = g->mr;
    const size_t mpad = (size_t)(M + MR - 1) / MR * MR, bytes = sizeof(float) * mpad * (size_t)K;
    a->in_arena = (a->packed = hy_arena_alloc(ar, bytes)) != NULL;
    if (!a->packed && !(a->packed = hy_malloc_aligned(bytes))) return HY_ENOMEM;
    // blocks in the order gemm reads them: (pc, ic) at pc * mpad + ic * kc
    for (int pc = 0; pc < K; pc += KC) {
        const int kc = imin(KC, K - pc);
        for (int ic = 0; ic < M; ic += MC)
            pack_a(a->packed + (size_t)pc * mpad + (size_t)ic * kc, A + (size_t)ic * lda + pc, lda, imin(MC, M - ic),
                   kc, alpha, MR);
    }
    return 0;
}

void hy_sgemm_free(hy_sgemm_a *a) {
    if (!a->in_arena) free(a->packed);
    a->packed = NULL;
    a->in_arena = 0;
}

void hy_sgemm_a_mul_ep(const hy_sgemm_a *a, int N, const float *B, int ldb, float beta, float *C, int ldc,
                       const float *bias, float bscale, int relu) {
    const sg_kernel *g = kernel();
    // Any width runs on the own kernel here: A is packed already, and cblas_sgemm would repack it
    // at every call (FaceNet at batch 1: block8's products are 9 columns wide; sending N < 32 to
    // OpenBLAS cost 4 % of the AVX2 forward, 26.2 vs 27.3 images/s, and 1 % on AVX-512).
    if (g && a->packed && g->mr == a->mr && N >= 1 &&
        gemm(g, a->M, N, a->K, a->alpha, NULL, 0, a->packed, B, ldb, beta, C, ldc, bias, bscale, relu) == 0)
        return;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, a->M, N, a->K, a->alpha, a->A, a->lda, B, ldb, beta, C,
                ldc);
    if (!bias) return;
    for (int i = 0; i < a->M; i++) {  // the epilogue as a separate pass, same operations
        float *row = C + (size_t)i * ldc;
        const float b = bscale * bias[i];
        for (int j = 0; j < N; j++) {
            const float v = row[j] + b;
            row[j] = relu ? (v > 0.0f ? v : 0.0f) : v;
        }
    }
}

void hy_sgemm_a_mul(const hy_sgemm_a *a, int N, const float *B, int ldb, float beta, float *C, int ldc) {
    hy_sgemm_a_mul_ep(a, N, B, ldb, beta, C, ldc, NULL, 0.0f, 0);
}
