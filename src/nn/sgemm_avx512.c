// sgemm_avx512.c - the AVX-512F micro-kernel of src/nn/sgemm.c (see sgemm_isa.h): an 8 x 32
// tile of C in 16 registers for the whole kc reduction; per k, two vector loads of the B strip,
// eight broadcasts from the A panel, sixteen FMAs (8 x 32 measured ~5 % faster than 6 x 32 on
// FaceNet; most FaceNet channel counts are multiples of 8). Column tails use masked loads and
// stores of C.
#include "sgemm_isa.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

#define MR 8
#define NR 32

__attribute__((target("avx512f"))) static void kernel(int kc, const float *pa, const float *pb, float *C, int ldc,
                                                      int mr, int nr, int add, const float *bb, int relu) {
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
    const __m512 zero = _mm512_setzero_ps();
    for (int r = 0; r < mr; r++, C += ldc) {
        __m512 v0 = add ? _mm512_add_ps(_mm512_maskz_loadu_ps(m0, C), acc[r][0]) : acc[r][0];
        __m512 v1 = add && m1 ? _mm512_add_ps(_mm512_maskz_loadu_ps(m1, C + 16), acc[r][1]) : acc[r][1];
        if (bb) {
            const __m512 b = _mm512_set1_ps(bb[r]);
            v0 = _mm512_add_ps(v0, b), v1 = _mm512_add_ps(v1, b);
            if (relu) v0 = _mm512_max_ps(v0, zero), v1 = _mm512_max_ps(v1, zero);  // max(x, 0): -0 and NaN -> +0
        }
        _mm512_mask_storeu_ps(C, m0, v0);
        if (m1) _mm512_mask_storeu_ps(C + 16, m1, v1);
    }
}

// --- narrow products (see sgemm_avx2.c): 4 k steps of the 8-row panel are two vectors whose
// lanes hold rows 0-7, 0-7 | 0-7, 0-7; row r is the sum of the lanes at positions r, r+8, r+16
// and r+24 of the column's two accumulators. ---------------------------------------------------
#define NB_MAX 4  // columns per call: 8 accumulators and 2 panel vectors

static inline __attribute__((always_inline, target("avx512f"))) void narrow_n(int kc, const float *pa,
                                                                               const float *eb, size_t ebs, int nb,
                                                                               float *C, int ldc, int m, int add,
                                                                               const float *bb, int relu,
                                                                               const int NB) {
    __m512 acc[NB_MAX][2];
    #pragma GCC unroll 4
    for (int n = 0; n < NB; n++) acc[n][0] = acc[n][1] = _mm512_setzero_ps();
    const int len = kc * MR, full = len / 32 * 32;
    int i = 0;
    for (; i < full; i += 32) {
        const __m512 a0 = _mm512_loadu_ps(pa + i), a1 = _mm512_loadu_ps(pa + i + 16);
        #pragma GCC unroll 4
        for (int n = 0; n < NB; n++) {
            const float *e = eb + n * ebs + i;
            acc[n][0] = _mm512_fmadd_ps(a0, _mm512_load_ps(e), acc[n][0]);
            acc[n][1] = _mm512_fmadd_ps(a1, _mm512_load_ps(e + 16), acc[n][1]);
        }
    }
    if (i < len) {  // 1-3 k steps left: the panel ends here, so its vectors are loaded masked
        const int t = len - i;
        const __mmask16 m0 = t >= 16 ? 0xFFFF : (__mmask16)((1u << t) - 1),
                        m1 = t > 16 ? (__mmask16)((1u << (t - 16)) - 1) : 0;
        const __m512 a0 = _mm512_maskz_loadu_ps(m0, pa + i), a1 = _mm512_maskz_loadu_ps(m1, pa + i + 16);
        #pragma GCC unroll 4
        for (int n = 0; n < NB; n++) {  // (the expanded column is zero past len)
            const float *e = eb + n * ebs + i;
            acc[n][0] = _mm512_fmadd_ps(a0, _mm512_load_ps(e), acc[n][0]);
            acc[n][1] = _mm512_fmadd_ps(a1, _mm512_load_ps(e + 16), acc[n][1]);
        }
    }
    __attribute__((aligned(64))) float lanes[32];
    #pragma GCC unroll 4
    for (int n = 0; n < NB; n++) {
        if (n >= nb) break;
        _mm512_store_ps(lanes, acc[n][0]);
        _mm512_store_ps(lanes + 16, acc[n][1]);
        for (int r = 0; r < m; r++) {
            float v = (lanes[r] + lanes[r + 8]) + (lanes[r + 16] + lanes[r + 24]);
            float *c = C + (size_t)r * ldc + n;
            if (add) v = *c + v;
            if (bb) {
                v = v + bb[r];
                if (relu) v = v > 0.0f ? v : 0.0f;
            }
            *c = v;
        }
    }
}

__attribute__((target("avx512f"))) static void narrow(int kc, const float *pa, const float *eb, size_t ebs, int nb,
                                                      float *C, int ldc, int m, int add, const float *bb, int relu) {
    switch (nb) {
    case 1: narrow_n(kc, pa, eb, ebs, nb, C, ldc, m, add, bb, relu, 1); break;
    case 2: narrow_n(kc, pa, eb, ebs, nb, C, ldc, m, add, bb, relu, 2); break;
    case 3: narrow_n(kc, pa, eb, ebs, nb, C, ldc, m, add, bb, relu, 3); break;
    default: narrow_n(kc, pa, eb, ebs, nb, C, ldc, m, add, bb, relu, 4); break;
    }
}

const sg_kernel hy_sg_kernel_avx512 = {MR, NR, kernel, narrow, NB_MAX, 32, NULL};

#else
typedef int hy_sg_avx512_unused;  // not x86-64: nothing to compile
#endif
