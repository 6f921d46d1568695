// fma_peak.c - measures one core's FP32 FMA peak (GFLOP/s) with independent AVX-512 and AVX2
// FMA chains (CPU time, so other load on the machine does not lower it much). The machine
// peak for T threads is T times this. Prints "avx512 GF/s avx2 GF/s".
#include <stdio.h>
#include <time.h>

#if defined(__x86_64__) && defined(__GNUC__)
#include <immintrin.h>

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

#define CHAINS 16
static volatile float sink;
__attribute__((target("avx512f"))) static double peak512(long iters) {
    __m512 acc[CHAINS], a = _mm512_set1_ps(0.999999f), b = _mm512_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_set1_ps((float)i);
    double t0 = cpu_now();
    for (long k = 0; k < iters; k++) {
#pragma GCC unroll 16
        for (int i = 0; i < CHAINS; i++) acc[i] = _mm512_fmadd_ps(acc[i], a, b);
    }
    double dt = cpu_now() - t0;
    for (int i = 1; i < CHAINS; i++) acc[0] = _mm512_add_ps(acc[0], acc[i]);
    sink = _mm512_reduce_add_ps(acc[0]);
    return 2.0 * 16 * CHAINS * iters / dt * 1e-9;
}

#define CHAINS256 12  // 16 ymm registers: 12 chains + the two operands
__attribute__((target("avx2,fma"))) static double peak256(long iters) {
    __m256 acc[CHAINS256], a = _mm256_set1_ps(0.999999f), b = _mm256_set1_ps(1e-7f);
    for (int i = 0; i < CHAINS256; i++) acc[i] = _mm256_set1_ps((float)i);
    double t0 = cpu_now();
    for (long k = 0; k < iters; k++) {
#pragma GCC unroll 12
        for (int i = 0; i < CHAINS256; i++) acc[i] = _mm256_fmadd_ps(acc[i], a, b);
    }
    double dt = cpu_now() - t0;
    for (int i = 1; i < CHAINS256; i++) acc[0] = _mm256_add_ps(acc[0], acc[i]);
    float t[8];
    _mm256_storeu_ps(t, acc[0]);
    sink = t[0];
    return 2.0 * 8 * CHAINS256 * iters / dt * 1e-9;
}

int main(void) {
    __builtin_cpu_init();
    double p512 = 0, p256 = 0;
    for (int rep = 0; rep < 3; rep++) {  // best of 3
        double x = __builtin_cpu_supports("avx512f") ? peak512(40000000) : 0;
        double y = __builtin_cpu_supports("avx2") ? peak256(40000000) : 0;
        if (x > p512) p512 = x;
        if (y > p256) p256 = y;
    }
    printf("%.1f %.1f\n", p512, p256);
    return 0;
}
#else
int main(void) {
    printf("0 0\n");
    return 0;
}
#endif
