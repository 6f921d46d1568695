// threads.c - thread counts and idle-thread behaviour (see include/base/threads.h).
#include "base/threads.h"

#include <errno.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "base/common.h"

#ifdef _OPENMP
#include <omp.h>
#endif

// provided by OpenBLAS
extern void openblas_set_num_threads(int);

int hy_threads_default(void) {
    int n = 0;
    cpu_set_t set;
    if (sched_getaffinity(0, sizeof set, &set) == 0) n = CPU_COUNT(&set);
    if (n < 1) {  // no affinity information (or more CPUs than cpu_set_t holds)
        long c = sysconf(_SC_NPROCESSORS_ONLN);
        n = c > 0 ? (int)(c < HY_MAX_THREADS ? c : HY_MAX_THREADS) : 1;
    }
    const char *e = getenv("OMP_NUM_THREADS");
    if (e && *e) {
        char *end;
        errno = 0;
        long v = strtol(e, &end, 10);  // "4" or "4,2" (nested levels): the first level counts
        if (!errno && end != e && (*end == 0 || *end == ',') && v >= 1 && v < n) n = (int)v;
    }
    return n < HY_MAX_THREADS ? n : HY_MAX_THREADS;
}

static int g_threads = 1;       // hy_set_threads
static int g_blas_threads = 1;  // what OpenBLAS was last told

static void blas_threads(int n) {
    if (n == g_blas_threads) return;
    g_blas_threads = n;
    openblas_set_num_threads(n);
}

void hy_set_threads(int n) {
    if (n <= 0) n = hy_threads_default();
    if (n > HY_MAX_THREADS) n = HY_MAX_THREADS;
    g_threads = n;
    g_blas_threads = n;
    openblas_set_num_threads(n);
#ifdef _OPENMP
    omp_set_num_threads(n);
#endif
}

int hy_get_threads(void) { return g_threads; }

int hy_thread_id(void) {
#ifdef _OPENMP
    return omp_get_thread_num();
#else
    return 0;
#endif
}

static int g_serial = 0;  // depth of hy_threads_serial_begin sections

int hy_threads_for(double work) { return g_serial > 0 || work < HY_PAR_MIN_WORK ? 1 : g_threads; }

static int g_serial_blas = 1;  // OpenBLAS's count when the outermost section began

void hy_threads_serial_begin(void) {
    if (g_serial++ > 0) return;
    g_serial_blas = g_blas_threads;
    blas_threads(1);
#ifdef _OPENMP
    omp_set_num_threads(1);
#endif
}

void hy_threads_serial_end(void) {
    if (g_serial == 0 || --g_serial > 0) return;
    blas_threads(g_serial_blas);
#ifdef _OPENMP
    omp_set_num_threads(g_threads);
#endif
}

int hy_blas_threads_begin(double work) {
    const int prev = g_blas_threads;
    blas_threads(hy_threads_for(work));
    return prev;
}

void hy_blas_threads_end(int previous) { blas_threads(previous); }

int hy_threads_quiet_env(void) {
    int set = 0;
    if (!getenv("OMP_WAIT_POLICY")) set |= setenv("OMP_WAIT_POLICY", "passive", 1) == 0;
    if (!getenv("OPENBLAS_THREAD_TIMEOUT")) set |= setenv("OPENBLAS_THREAD_TIMEOUT", "4", 1) == 0;
    return set;
}
