// threads_small.c - where a second thread starts to pay off: the measurement behind
// HY_PAR_MIN_WORK / HY_PAR_MIN_ELEMS (include/base/threads.h).
//
//   cc -O2 -fopenmp -Iinclude tests/bench/threads_small.c build/libhyper.a -lopenblas -lpng -lz -lm \
//      -o /tmp/threads_small && /tmp/threads_small
//
// Runs with idle threads sleeping (it re-executes itself with hy_threads_quiet_env(), as the CLI
// does) and prints, per size, the median wall time of one call at 1 and at 2 threads and their
// ratio (< 1: the second thread helps) for
//   - an element-wise pass (the Adam update: 6 flops and 4 streams per element) in an OpenMP loop,
//   - cblas_sgemm (OpenBLAS's threads) on the shapes of a decoder's Adam step.
// Needs 2 free CPUs to mean anything: run it on an otherwise idle machine.
#include <cblas.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"
#include "nn/cpu.h"

extern void openblas_set_num_threads(int);

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

// median seconds of `reps` calls of fn(arg) after 3 warm-up calls
static double time_it(void (*fn)(void *), void *arg, int reps) {
    double t[201];
    if (reps > 201) reps = 201;
    for (int i = 0; i < 3; i++) fn(arg);
    for (int i = 0; i < reps; i++) {
        double t0 = hy_now();
        fn(arg);
        t[i] = hy_now() - t0;
    }
    qsort(t, reps, sizeof *t, cmp);
    return t[reps / 2];
}

typedef struct {
    float *p, *m, *v, *g;
    size_t n;
    int threads;
} ew_arg;

static void ew(void *a_) {
    ew_arg *a = a_;
#pragma omp parallel for schedule(static) num_threads(a->threads)
    for (size_t i = 0; i < a->n; i++) {
        float gi = a->g[i] + 0.01f * a->p[i];
        a->m[i] = a->m[i] * 0.9f + 0.1f * gi;
        a->v[i] = a->v[i] * 0.999f + 0.001f * gi * gi;
        a->p[i] -= 1e-5f * a->m[i] / (sqrtf(a->v[i]) + 1e-8f);
    }
}

typedef struct {
    int m, n, k;
    float *A, *B, *C;
} gemm_arg;

static void gemm(void *a_) {
    gemm_arg *a = a_;
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, a->m, a->n, a->k, 1.0f, a->A, a->k, a->B, a->k, 0.0f, a->C,
                a->n);
}

int main(int argc, char **argv) {
    (void)argc;
    if (hy_threads_quiet_env() && !getenv("HY_REEXEC")) {  // idle threads sleep, as in the CLI
        setenv("HY_REEXEC", "1", 1);
        execv("/proc/self/exe", argv);
    }
    printf("threads_small: ISA %s, OMP_WAIT_POLICY=%s, OPENBLAS_THREAD_TIMEOUT=%s, %d CPUs for this process\n",
           hy_isa_name(hy_isa()), getenv("OMP_WAIT_POLICY"), getenv("OPENBLAS_THREAD_TIMEOUT"), hy_threads_default());
    const size_t NMAX = (size_t)1 << 22;
    float *buf = calloc(4 * NMAX, sizeof(float));
    for (size_t i = 0; i < 4 * NMAX; i++) buf[i] = 0.001f * (float)(i % 1000);
    printf("\nelement-wise (Adam update), OpenMP:\n%10s %10s %10s %7s\n", "elements", "1 thr us", "2 thr us", "ratio");
    for (size_t n = (size_t)1 << 10; n <= NMAX; n <<= 1) {
        ew_arg a = {buf, buf + NMAX, buf + 2 * NMAX, buf + 3 * NMAX, n, 1};
        double t1 = time_it(ew, &a, 101);
        a.threads = 2;
        double t2 = time_it(ew, &a, 101);
        printf("%10zu %10.1f %10.1f %7.2f\n", n, t1 * 1e6, t2 * 1e6, t2 / t1);
    }
    printf("\ncblas_sgemm (batch x in -> out), OpenBLAS threads:\n%6s %6s %6s %10s %10s %10s %7s\n", "batch", "in",
           "out", "MACs", "1 thr us", "2 thr us", "ratio");
    static const int shapes[][3] = {{8, 64, 64},    {30, 64, 128},   {30, 128, 256},  {30, 256, 512},
                                    {30, 512, 512}, {30, 1024, 512}, {30, 4096, 512}, {200, 4096, 512}};
    for (size_t s = 0; s < sizeof shapes / sizeof *shapes; s++) {
        gemm_arg a = {shapes[s][0], shapes[s][2], shapes[s][1], buf, buf + NMAX, buf + 2 * NMAX};
        openblas_set_num_threads(1);
        double t1 = time_it(gemm, &a, 51);
        openblas_set_num_threads(2);
        double t2 = time_it(gemm, &a, 51);
        printf("%6d %6d %6d %10.3g %10.1f %10.1f %7.2f\n", a.m, a.k, a.n, (double)a.m * a.n * a.k, t1 * 1e6, t2 * 1e6,
               t2 / t1);
    }
    free(buf);
    return 0;
}
