// sgemm_avx2.c - the AVX2+FMA micro-kernel of src/nn/sgemm.c (see sgemm_isa.h). The 8-row A
// panel is taken as two halves of 4 rows, each a 4 x 24 tile of C in 12 registers (plus 3 B
// vectors and a broadcast: all 16) over the whole kc reduction, the B strip (kc x 24, 24 KB at
// kc = 256) staying in L1 for the second half. Measured in isolation (one core, data in cache):
// 93 % of the FMA peak, the same as the classic 6 x 16 tile, which would need a 6-row A layout
// of its own; 4 x 16 halves reached 80-86 %, 8 x 8 72 %. Column tails use masked loads and
// stores of C (vmaskmovps).
#include "sgemm_isa.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>

#define NR 24
#define SG_TARGET __attribute__((target("avx2,fma")))

// first n lanes set, 0 <= n <= 8
static const int32_t RAMP[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

// C[0..mr, 0..nr) += A rows (4 of the panel, SG_MR floats apart per k) @ strip, mr <= 4
static inline __attribute__((always_inline, target("avx2,fma"))) void half(int kc, const float *pa,
                                                                            const float *pb, float *C, int ldc,
                                                                            int mr, int nr) {
    __m256 c[4][3];
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++)
        #pragma GCC unroll 3
        for (int v = 0; v < 3; v++) c[r][v] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++, pa += SG_MR, pb += NR) {
        const __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8), b2 = _mm256_load_ps(pb + 16);
        #pragma GCC unroll 4
        for (int r = 0; r < 4; r++) {
            const __m256 a = _mm256_broadcast_ss(pa + r);
            c[r][0] = _mm256_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(a, b1, c[r][1]);
            c[r][2] = _mm256_fmadd_ps(a, b2, c[r][2]);
        }
    }
    // (every loop over c[][] is unrolled with constant indices: a runtime index would keep the
    // accumulators in memory, stored at every k)
    __m256i m[3];
    #pragma GCC unroll 3
    for (int v = 0; v < 3; v++) {
        const int n = nr - 8 * v < 0 ? 0 : nr - 8 * v > 8 ? 8 : nr - 8 * v;
        m[v] = _mm256_loadu_si256((const __m256i *)(RAMP + 8 - n));
    }
    #pragma GCC unroll 4
    for (int r = 0; r < 4; r++) {
        if (r >= mr) break;
        float *row = C + (size_t)r * ldc;
        #pragma GCC unroll 3
        for (int v = 0; v < 3; v++) {
            if (nr == NR) _mm256_storeu_ps(row + 8 * v, _mm256_add_ps(_mm256_loadu_ps(row + 8 * v), c[r][v]));
            else if (8 * v < nr)
                _mm256_maskstore_ps(row + 8 * v, m[v], _mm256_add_ps(_mm256_maskload_ps(row + 8 * v, m[v]), c[r][v]));
        }
    }
}

SG_TARGET static void kernel(int kc, const float *pa, const float *pb, float *C, int ldc, int mr, int nr) {
    half(kc, pa, pb, C, ldc, mr < 4 ? mr : 4, nr);
    if (mr > 4) half(kc, pa + 4, pb, C + (size_t)4 * ldc, ldc, mr - 4, nr);
}

const sg_kernel hy_sg_kernel_avx2 = {NR, kernel};

#else
typedef int hy_sg_avx2_unused;  // not x86-64: nothing to compile
#endif
