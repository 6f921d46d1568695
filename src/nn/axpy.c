// axpy.c - y -= a * x on doubles, one loop per kernel ISA (see include/nn/axpy.h). Compiled with
// -ffp-contract=off (Makefile): the compiler must not fuse the multiply and the subtract into an
// FMA on the AVX paths, or their results would differ from the generic loop's in the last bit.
#include "nn/axpy.h"

#include "nn/cpu.h"

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

__attribute__((target("avx512f"))) static void sub_avx512(double *restrict y, const double *restrict x, double a,
                                                          int n) {
    const __m512d va = _mm512_set1_pd(a);
    int i = 0;
    for (; i + 16 <= n; i += 16) {
        __m512d y0 = _mm512_loadu_pd(y + i), y1 = _mm512_loadu_pd(y + i + 8);
        y0 = _mm512_sub_pd(y0, _mm512_mul_pd(va, _mm512_loadu_pd(x + i)));
        y1 = _mm512_sub_pd(y1, _mm512_mul_pd(va, _mm512_loadu_pd(x + i + 8)));
        _mm512_storeu_pd(y + i, y0);
        _mm512_storeu_pd(y + i + 8, y1);
    }
    for (; i < n; i++) y[i] -= a * x[i];
}

__attribute__((target("avx2"))) static void sub_avx2(double *restrict y, const double *restrict x, double a, int n) {
    const __m256d va = _mm256_set1_pd(a);
    int i = 0;
    for (; i + 8 <= n; i += 8) {
        __m256d y0 = _mm256_loadu_pd(y + i), y1 = _mm256_loadu_pd(y + i + 4);
        y0 = _mm256_sub_pd(y0, _mm256_mul_pd(va, _mm256_loadu_pd(x + i)));
        y1 = _mm256_sub_pd(y1, _mm256_mul_pd(va, _mm256_loadu_pd(x + i + 4)));
        _mm256_storeu_pd(y + i, y0);
        _mm256_storeu_pd(y + i + 4, y1);
    }
    for (; i < n; i++) y[i] -= a * x[i];
}
#endif

static void sub_generic(double *restrict y, const double *restrict x, double a, int n) {
    for (int i = 0; i < n; i++) y[i] -= a * x[i];
}

void hy_axpy_sub_f64(double *y, const double *x, double a, int n) {
#if defined(__x86_64__) && defined(__GNUC__)
    switch (hy_isa()) {
    case HY_ISA_AVX512:
        sub_avx512(y, x, a, n);
        return;
    case HY_ISA_AVX2:
        sub_avx2(y, x, a, n);
        return;
    default:
        break;
    }
#endif
    sub_generic(y, x, a, n);
}
