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

const sg_kernel hy_sg_kernel_avx2 = {MR, NR, kernel};

#else
typedef int hy_sg_avx2_unused;  // not x86-64: nothing to compile
#endif
