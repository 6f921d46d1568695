// sgemm_avx2.c - the AVX2+FMA micro-kernel of src/nn/sgemm.c (see sgemm_isa.h): a 6 x 16 tile
// of C in 12 registers (plus 2 B vectors and a broadcast) for the whole kc reduction; per k,
// two loads of the B strip, six broadcasts from the A panel, twelve FMAs. The 6-row A panels
// are this kernel's own layout (the AVX-512 kernel packs 8 rows). Measured in isolation (one
// core, data in cache): 93-95 % of the FMA peak, like two 4 x 24 halves of an 8-row panel; in
// FaceNet 6 x 16 was faster (each C row of a tile is one 64-byte line, and the 16 KB B strip
// leaves L1 room). Column tails use masked loads and stores of C (vmaskmovps).
#include "sgemm_isa.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>
#include <stdint.h>

#define MR 6
#define NR 16

// first n lanes set, 0 <= n <= 8
static const int32_t RAMP[16] = {-1, -1, -1, -1, -1, -1, -1, -1, 0, 0, 0, 0, 0, 0, 0, 0};

__attribute__((target("avx2,fma"))) static void kernel(int kc, const float *pa, const float *pb, float *C, int ldc,
                                                       int mr, int nr, int add, const float *bb, int relu) {
    __m256 c[MR][2];
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c[r][0] = c[r][1] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++, pa += MR, pb += NR) {
        const __m256 b0 = _mm256_load_ps(pb), b1 = _mm256_load_ps(pb + 8);
        #pragma GCC unroll 6
        for (int r = 0; r < MR; r++) {
            const __m256 a = _mm256_broadcast_ss(pa + r);
            c[r][0] = _mm256_fmadd_ps(a, b0, c[r][0]);
            c[r][1] = _mm256_fmadd_ps(a, b1, c[r][1]);
        }
    }
    // (every loop over c[][] is unrolled with constant indices: a runtime index would keep the
    // accumulators in memory, stored at every k)
    const int n0 = nr < 8 ? nr : 8, n1 = nr - 8 < 0 ? 0 : nr - 8;
    const __m256i m0 = _mm256_loadu_si256((const __m256i *)(RAMP + 8 - n0)),
                  m1 = _mm256_loadu_si256((const __m256i *)(RAMP + 8 - n1));
    const __m256 zero = _mm256_setzero_ps();
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (r >= mr) break;
        float *row = C + (size_t)r * ldc;
        const int full = nr == NR;
        __m256 v0 = c[r][0], v1 = c[r][1];
        if (add) {
            v0 = _mm256_add_ps(full ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, m0), v0);
            v1 = _mm256_add_ps(full ? _mm256_loadu_ps(row + 8) : _mm256_maskload_ps(row + 8, m1), v1);
        }
        if (bb) {
            const __m256 b = _mm256_set1_ps(bb[r]);
            v0 = _mm256_add_ps(v0, b), v1 = _mm256_add_ps(v1, b);
            if (relu) v0 = _mm256_max_ps(v0, zero), v1 = _mm256_max_ps(v1, zero);  // max(x, 0): -0 and NaN -> +0
        }
        if (full) {
            _mm256_storeu_ps(row, v0);
            _mm256_storeu_ps(row + 8, v1);
        } else {
            _mm256_maskstore_ps(row, m0, v0);
            if (n1) _mm256_maskstore_ps(row + 8, m1, v1);
        }
    }
}

// --- 8-column strips: 6 x 8 tiles, for column tails of 5-12 (the first 8 or fewer, masked; the
// 1-4 past 8 go to the narrow kernel below). A 9-column product (FaceNet's Block8 at batch 1)
// costs 8 + 1 columns of work instead of 16. One panel at a time: a 12 x 8 tile over two panels
// keeps more FMAs in flight and was faster with the weights in cache, but reading two panels at
// once from memory (FaceNet's late weights at batch 1 do not stay in the caches) halved the
// speed (1792 x 384 x 8, 40 different weight matrices: 148 us with one panel, 309 us with two).
__attribute__((target("avx2,fma"))) static void kernel8(int kc, const float *pa, const float *pb, float *C, int ldc,
                                                        int m, int n, int add, const float *bb, int relu) {
    __m256 c[MR];
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++) c[r] = _mm256_setzero_ps();
    for (int k = 0; k < kc; k++, pa += MR, pb += 8) {
        const __m256 b = _mm256_load_ps(pb);
        #pragma GCC unroll 6
        for (int r = 0; r < MR; r++) c[r] = _mm256_fmadd_ps(_mm256_broadcast_ss(pa + r), b, c[r]);
    }
    const __m256 zero = _mm256_setzero_ps();
    const __m256i mask = _mm256_loadu_si256((const __m256i *)(RAMP + 8 - n));
    #pragma GCC unroll 6
    for (int r = 0; r < MR; r++) {
        if (r >= m) break;
        float *row = C + (size_t)r * ldc;
        __m256 v = c[r];
        if (add) v = _mm256_add_ps(n == 8 ? _mm256_loadu_ps(row) : _mm256_maskload_ps(row, mask), v);
        if (bb) {
            v = _mm256_add_ps(v, _mm256_set1_ps(bb[r]));
            if (relu) v = _mm256_max_ps(v, zero);
        }
        if (n == 8) _mm256_storeu_ps(row, v);
        else _mm256_maskstore_ps(row, mask, v);
    }
}

// --- narrow products: the last 1-4 columns of a product (a 17 x 17 map at batch 1 is 289
// columns: 18 strips of 16 and one more, which a 6 x 16 tile would compute as 16) ------------
//
// The panel is read as it lies: 4 k steps are 24 floats, three vectors whose lanes hold rows
// 0-5, 0-1 | 2-5, 0-3 | 4-5, 0-5. The expanded column (sgemm_isa.h) holds b[k] at the same
// positions, so one FMA per vector multiplies every lane by its own b[k]; row r of the column
// is then the sum of the lanes at positions r, r+6, r+12 and r+18 of the three accumulators.
#define NB_MAX 4  // columns per call: 12 accumulators and 3 panel vectors

static inline __attribute__((always_inline, target("avx2,fma"))) void narrow_n(int kc, const float *pa,
                                                                                const float *eb, size_t ebs, int nb,
                                                                                float *C, int ldc, int m, int add,
                                                                                const float *bb, int relu,
                                                                                const int NB) {
    __m256 acc[NB_MAX][3];
    #pragma GCC unroll 4
    for (int n = 0; n < NB; n++) acc[n][0] = acc[n][1] = acc[n][2] = _mm256_setzero_ps();
    const int len = kc * MR, full = len / 24 * 24;
    int i = 0;
    for (; i < full; i += 24) {
        const __m256 a0 = _mm256_loadu_ps(pa + i), a1 = _mm256_loadu_ps(pa + i + 8), a2 = _mm256_loadu_ps(pa + i + 16);
        #pragma GCC unroll 4
        for (int n = 0; n < NB; n++) {
            const float *e = eb + n * ebs + i;
            acc[n][0] = _mm256_fmadd_ps(a0, _mm256_load_ps(e), acc[n][0]);
            acc[n][1] = _mm256_fmadd_ps(a1, _mm256_load_ps(e + 8), acc[n][1]);
            acc[n][2] = _mm256_fmadd_ps(a2, _mm256_load_ps(e + 16), acc[n][2]);
        }
    }
    if (i < len) {  // 1-3 k steps left: the panel ends here, so its vectors are loaded masked
        const int t = len - i;
        const int t0 = t < 8 ? t : 8, t1 = t - 8 < 0 ? 0 : t - 8 > 8 ? 8 : t - 8, t2 = t - 16 < 0 ? 0 : t - 16;
        const __m256 a0 = _mm256_maskload_ps(pa + i, _mm256_loadu_si256((const __m256i *)(RAMP + 8 - t0))),
                     a1 = _mm256_maskload_ps(pa + i + 8, _mm256_loadu_si256((const __m256i *)(RAMP + 8 - t1))),
                     a2 = _mm256_maskload_ps(pa + i + 16, _mm256_loadu_si256((const __m256i *)(RAMP + 8 - t2)));
        #pragma GCC unroll 4
        for (int n = 0; n < NB; n++) {  // (the expanded column is zero past len)
            const float *e = eb + n * ebs + i;
            acc[n][0] = _mm256_fmadd_ps(a0, _mm256_load_ps(e), acc[n][0]);
            acc[n][1] = _mm256_fmadd_ps(a1, _mm256_load_ps(e + 8), acc[n][1]);
            acc[n][2] = _mm256_fmadd_ps(a2, _mm256_load_ps(e + 16), acc[n][2]);
        }
    }
    __attribute__((aligned(32))) float lanes[24];
    #pragma GCC unroll 4
    for (int n = 0; n < NB; n++) {
        if (n >= nb) break;
        _mm256_store_ps(lanes, acc[n][0]);
        _mm256_store_ps(lanes + 8, acc[n][1]);
        _mm256_store_ps(lanes + 16, acc[n][2]);
        for (int r = 0; r < m; r++) {
            float v = (lanes[r] + lanes[r + 6]) + (lanes[r + 12] + lanes[r + 18]);
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

__attribute__((target("avx2,fma"))) static void narrow(int kc, const float *pa, const float *eb, size_t ebs, int nb,
                                                       float *C, int ldc, int m, int add, const float *bb,
                                                       int relu) {
    switch (nb) {
    case 1: narrow_n(kc, pa, eb, ebs, nb, C, ldc, m, add, bb, relu, 1); break;
    case 2: narrow_n(kc, pa, eb, ebs, nb, C, ldc, m, add, bb, relu, 2); break;
    case 3: narrow_n(kc, pa, eb, ebs, nb, C, ldc, m, add, bb, relu, 3); break;
    default: narrow_n(kc, pa, eb, ebs, nb, C, ldc, m, add, bb, relu, 4); break;
    }
}

const sg_kernel hy_sg_kernel_avx2 = {MR, NR, kernel, narrow, NB_MAX, 24, kernel8};

#else
typedef int hy_sg_avx2_unused;  // not x86-64: nothing to compile
#endif
