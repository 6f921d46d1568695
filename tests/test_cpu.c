// test_cpu.c - the kernel ISA choice (src/nn/cpu.c: detection, HY_ISA, hy_isa_set) and the
// thread policy (src/base/threads.c: default count from the affinity mask and OMP_NUM_THREADS,
// the small-work threshold, the environment that makes idle threads sleep), and how the CLI
// reports and refuses them.
#include <sched.h>

#include "base/common.h"
#include "base/threads.h"
#include "nn/cpu.h"
#ifdef _OPENMP
#include <omp.h>
#endif
#include "testutil.h"

START_TEST(isa_names_and_detection) {
    for (int i = 0; i < HY_ISA_COUNT; i++) ck_assert_int_eq(hy_isa_parse(hy_isa_name(i)), i);
    ck_assert_int_eq(hy_isa_parse("avx3"), -1);
    ck_assert_int_eq(hy_isa_parse(NULL), -1);
    ck_assert_ptr_null(hy_isa_name(HY_ISA_COUNT));
    ck_assert_ptr_null(hy_isa_name(-1));
    const int best = hy_isa_detect();
    ck_assert(best >= HY_ISA_GENERIC && best < HY_ISA_COUNT);
    ck_assert(hy_isa_supported(HY_ISA_GENERIC));  // every CPU runs the generic path
    ck_assert(hy_isa_supported(best));
    ck_assert(!hy_isa_supported(best + 1));
#if defined(__x86_64__)
    // the detection agrees with the compiler's own CPUID check (which does not look at XCR0:
    // it can only claim more)
    __builtin_cpu_init();
    if (best == HY_ISA_AVX512) ck_assert(__builtin_cpu_supports("avx512f"));
    if (best >= HY_ISA_AVX2) ck_assert(__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma"));
    if (__builtin_cpu_supports("avx2") && __builtin_cpu_supports("fma")) ck_assert_int_ge(best, HY_ISA_AVX2);
#endif
    printf("detected ISA: %s\n", hy_isa_name(best));
}
END_TEST

START_TEST(isa_env_and_set) {
    setenv("HY_ISA", "generic", 1);
    ck_assert_int_eq(hy_isa_init(), HY_OK);
    ck_assert_int_eq(hy_isa(), HY_ISA_GENERIC);
    setenv("HY_ISA", "avx3", 1);
    ck_assert_int_eq(hy_isa_init(), HY_EARG);
    ck_assert_msg(strstr(hy_errmsg(), "HY_ISA=avx3") && strstr(hy_errmsg(), "unknown"), "%s", hy_errmsg());
    ck_assert_int_eq(hy_isa(), HY_ISA_GENERIC);  // unchanged by the refused value
    if (hy_isa_detect() < HY_ISA_AVX512) {
        setenv("HY_ISA", "avx512", 1);
        ck_assert_int_eq(hy_isa_init(), HY_EARG);
        ck_assert_msg(strstr(hy_errmsg(), "does not support"), "%s", hy_errmsg());
        ck_assert_int_eq(hy_isa_set(HY_ISA_AVX512), HY_EARG);
    }
    ck_assert_int_eq(hy_isa_set(HY_ISA_COUNT), HY_EARG);
    ck_assert_int_eq(hy_isa_set(-1), HY_EARG);
    unsetenv("HY_ISA");
    ck_assert_int_eq(hy_isa_init(), HY_OK);
    ck_assert_int_eq(hy_isa(), hy_isa_detect());
    setenv("HY_ISA", "", 1);  // empty: as unset
    ck_assert_int_eq(hy_isa_init(), HY_OK);
    ck_assert_int_eq(hy_isa(), hy_isa_detect());
    unsetenv("HY_ISA");
}
END_TEST

START_TEST(default_threads_follow_affinity_and_omp) {
    cpu_set_t set;
    ck_assert_int_eq(sched_getaffinity(0, sizeof set, &set), 0);
    const int cpus = CPU_COUNT(&set);
    unsetenv("OMP_NUM_THREADS");
    ck_assert_int_eq(hy_threads_default(), cpus < HY_MAX_THREADS ? cpus : HY_MAX_THREADS);
    setenv("OMP_NUM_THREADS", "1", 1);
    ck_assert_int_eq(hy_threads_default(), 1);
    setenv("OMP_NUM_THREADS", "1,4", 1);  // nested levels: the first one counts
    ck_assert_int_eq(hy_threads_default(), 1);
    setenv("OMP_NUM_THREADS", "1000", 1);  // a cap, never more than the CPUs we may use
    ck_assert_int_eq(hy_threads_default(), cpus);
    setenv("OMP_NUM_THREADS", "two", 1);  // not a number: ignored
    ck_assert_int_eq(hy_threads_default(), cpus);
    unsetenv("OMP_NUM_THREADS");
    // a process restricted to one CPU (taskset) gets one thread
    if (cpus >= 2) {
        cpu_set_t one;
        CPU_ZERO(&one);
        for (int c = 0; c < CPU_SETSIZE; c++)
            if (CPU_ISSET(c, &set)) {
                CPU_SET(c, &one);
                break;
            }
        ck_assert_int_eq(sched_setaffinity(0, sizeof one, &one), 0);
        ck_assert_int_eq(hy_threads_default(), 1);
        ck_assert_int_eq(sched_setaffinity(0, sizeof set, &set), 0);
    }
    hy_set_threads(0);
    ck_assert_int_eq(hy_get_threads(), cpus < HY_MAX_THREADS ? cpus : HY_MAX_THREADS);
    hy_set_threads(100000);
    ck_assert_int_eq(hy_get_threads(), HY_MAX_THREADS);
    hy_set_threads(1);
}
END_TEST

START_TEST(small_work_runs_on_one_thread) {
    hy_set_threads(2);
    ck_assert_int_eq(hy_threads_for(0), 1);
    ck_assert_int_eq(hy_threads_for(HY_PAR_MIN_WORK - 1), 1);
    ck_assert_int_eq(hy_threads_for(HY_PAR_MIN_WORK), 2);
    ck_assert_int_eq(hy_threads_for(1e12), 2);
    // a serial section (nested here) keeps everything on one thread until its end
    hy_threads_serial_begin();
    hy_threads_serial_begin();
    ck_assert_int_eq(hy_threads_for(1e12), 1);
    hy_threads_serial_end();
    ck_assert_int_eq(hy_threads_for(1e12), 1);
    ck_assert_int_eq(hy_blas_threads_begin(1e12), 1);  // the section put OpenBLAS on one thread
    hy_blas_threads_end(1);
#ifdef _OPENMP
    ck_assert_int_eq(omp_get_max_threads(), 1);  // and OpenMP
#endif
    hy_threads_serial_end();
    ck_assert_int_eq(hy_threads_for(1e12), 2);  // the outermost end gives both their count back
    ck_assert_int_eq(hy_blas_threads_begin(1e12), 2);
    hy_blas_threads_end(2);
#ifdef _OPENMP
    ck_assert_int_eq(omp_get_max_threads(), 2);
#endif
    // BLAS: begin returns what was in force and sets the count for the work; end restores it
    int prev = hy_blas_threads_begin(10);
    ck_assert_int_eq(prev, 2);
    ck_assert_int_eq(hy_blas_threads_begin(1e9), 1);
    hy_blas_threads_end(1);
    hy_blas_threads_end(prev);
    ck_assert_int_eq(hy_blas_threads_begin(1e9), 2);
    hy_blas_threads_end(2);
    hy_set_threads(1);
    ck_assert_int_eq(hy_threads_for(1e12), 1);
}
END_TEST

START_TEST(quiet_env_respects_the_user) {
    unsetenv("OMP_WAIT_POLICY");
    unsetenv("OPENBLAS_THREAD_TIMEOUT");
    ck_assert_int_eq(hy_threads_quiet_env(), 1);
    ck_assert_str_eq(getenv("OMP_WAIT_POLICY"), "passive");
    ck_assert_str_eq(getenv("OPENBLAS_THREAD_TIMEOUT"), "4");
    ck_assert_int_eq(hy_threads_quiet_env(), 0);  // nothing left to set: no re-exec
    setenv("OMP_WAIT_POLICY", "active", 1);       // the user's choice stays
    unsetenv("OPENBLAS_THREAD_TIMEOUT");
    ck_assert_int_eq(hy_threads_quiet_env(), 1);
    ck_assert_str_eq(getenv("OMP_WAIT_POLICY"), "active");
}
END_TEST

START_TEST(cli_reports_and_refuses) {
    char *out = NULL;
    ck_assert_int_eq(run_hyper(&out, "--version"), 0);
    char want[64];
    snprintf(want, sizeof want, "this CPU: %s", hy_isa_name(hy_isa_detect()));
    ck_assert_msg(strstr(out, "kernels: ") && strstr(out, want), "%s", out);
    free(out);
    setenv("HY_ISA", "generic", 1);  // the child inherits it
    ck_assert_int_eq(run_hyper(&out, "--version"), 0);
    unsetenv("HY_ISA");
    ck_assert_msg(strstr(out, "kernels: generic, forced by HY_ISA"), "%s", out);
    free(out);
    // HY_ISA is checked before any command runs: exit 2 with the reason, no output file
    char *dir = test_tmpdir(), npy[512], cmd[1024];
    snprintf(npy, sizeof npy, "%s/o.npy", dir);
    snprintf(cmd, sizeof cmd, "HY_ISA=avx3 %s generate -g tests/fixtures/pggan_tiny.bin --seed 1 -n 1 --npy %s --no-png 2>&1",
             hyper_bin(), npy);
    FILE *p = popen(cmd, "r");
    ck_assert_ptr_nonnull(p);
    char line[512] = "";
    ck_assert_ptr_nonnull(fgets(line, sizeof line, p));
    ck_assert_int_eq(WEXITSTATUS(pclose(p)), 2);
    ck_assert_msg(strstr(line, "HY_ISA=avx3") && strstr(line, "unknown instruction set"), "%s", line);
    ck_assert(access(npy, F_OK) != 0);
    // a forced path runs end to end (its numbers are checked against torch by the golden tests,
    // which make test runs once per path)
    snprintf(cmd, sizeof cmd, "HY_ISA=generic %s generate -g tests/fixtures/pggan_tiny.bin --seed 1 -n 1 --npy %s --no-png -q",
             hyper_bin(), npy);
    ck_assert_int_eq(system(cmd), 0);
    ck_assert_int_eq(access(npy, F_OK), 0);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("cpu");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, isa_names_and_detection);
    tcase_add_test(tc, isa_env_and_set);
    tcase_add_test(tc, default_threads_follow_affinity_and_omp);
    tcase_add_test(tc, small_work_runs_on_one_thread);
    tcase_add_test(tc, quiet_env_respects_the_user);
    tcase_add_test(tc, cli_reports_and_refuses);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
