// test_progress.c - progress that logs: plain lines when stderr is not a terminal (a log file,
// a cluster job), their format and spacing, --quiet, and the sweep's ETA from the work left
// (include/study/sweep_eta.h) on made-up measurements, so no test depends on the clock.
#include <math.h>
#include <regex.h>

#include "base/common.h"
#include "study/sweep_eta.h"
#include "testutil.h"

// Lines of `text` matching the extended regular expression `re`; the k-th match's first
// group as an integer goes to vals[k] (when vals is not NULL).
static int matching_lines(const char *text, const char *re, int *vals, int max) {
    regex_t rx;
    ck_assert_int_eq(regcomp(&rx, re, REG_EXTENDED | REG_NEWLINE), 0);
    int n = 0;
    regmatch_t m[2];
    for (const char *p = text; regexec(&rx, p, 2, m, 0) == 0; p += m[0].rm_eo) {
        if (vals && n < max && m[1].rm_so >= 0) vals[n] = atoi(p + m[1].rm_so);
        n++;
    }
    regfree(&rx);
    return n;
}

// A small simulated dataset (per test: Check runs each test in its own process).
static const char *sim(void) {
    static char *d;
    if (d) return d;
    d = test_tmpdir();
    char *out = NULL;
    int rc = run_hyper(&out, "simulate -q -o %s/sim --voxels 120 --train 90 --test 8 --reps 2 --seed 3", d);
    ck_assert_msg(rc == 0, "simulate: %s", out);
    free(out);
    return d;
}

// With stderr not a terminal (popen captures it) and HY_PROGRESS_EVERY=0 (no 10 s wait), an
// iterative training prints one line per 10 % of its epochs and a last "done" line.
START_TEST(plain_lines_every_ten_percent) {
    const char *d = sim();
    setenv("HY_PROGRESS_EVERY", "0", 1);
    char *out = NULL;
    int rc = run_hyper(&out, "train -d %s/sim --model linear --epochs 300 -o %s/l.bin", d, d);
    unsetenv("HY_PROGRESS_EVERY");
    ck_assert_msg(rc == 0, "%s", out);
    int pct[16];
    int n = matching_lines(out,
                           "^train linear: loss [0-9.e+-]+  epoch [0-9]+/300 \\(([0-9]+)%\\)  [0-9.]+ s elapsed  "
                           "ETA [0-9.]+ s$", pct, 16);
    ck_assert_msg(n == 9, "expected 9 progress lines (10%% .. 90%%), got %d:\n%s", n, out);
    for (int k = 0; k < n; k++) ck_assert_msg(pct[k] == 10 * (k + 1), "line %d at %d%%:\n%s", k, pct[k], out);
    ck_assert_msg(matching_lines(out, "^train linear: loss [0-9.e+-]+  epoch 300/300 \\(100%\\)  [0-9.]+ s elapsed  done$",
                                 NULL, 0) == 1, "no final line:\n%s", out);
    ck_assert_msg(!strchr(out, '\r'), "carriage return in a log:\n%s", out);
    free(out);
}
END_TEST

// The defaults: a task shorter than 10 s prints no progress at all when not on a terminal, and
// --quiet prints none even with HY_PROGRESS_EVERY=0.
START_TEST(short_tasks_and_quiet_print_nothing) {
    const char *d = sim();
    char *out = NULL;
    int rc = run_hyper(&out, "train -d %s/sim --model linear --epochs 50 -o %s/l2.bin", d, d);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_msg(!strstr(out, "elapsed"), "a short task logged progress:\n%s", out);
    free(out);
    setenv("HY_PROGRESS_EVERY", "0", 1);
    rc = run_hyper(&out, "train -q -d %s/sim --model linear --epochs 50 -o %s/l3.bin", d, d);
    ck_assert_msg(rc == 0 && out[0] == 0, "--quiet printed: %s", out);
    free(out);
    setenv("HY_PROGRESS", "0", 1);  // and HY_PROGRESS=0 turns progress off
    rc = run_hyper(&out, "train -d %s/sim --model linear --epochs 50 -o %s/l4.bin", d, d);
    unsetenv("HY_PROGRESS");
    unsetenv("HY_PROGRESS_EVERY");
    ck_assert_msg(rc == 0 && !strstr(out, "elapsed"), "HY_PROGRESS=0 printed: %s", out);
    free(out);
}
END_TEST

// hyper generate (one image per step) and hyper evaluate (every face it renders and embeds:
// ground truth, reconstructions, null) log the same way.
START_TEST(generate_and_evaluate_log) {
    const char *d = sim();
    setenv("HY_PROGRESS_EVERY", "0", 1);
    char *out = NULL;
    int rc = run_hyper(&out, "generate -g tests/fixtures/pggan_tiny.bin --seed 1 -n 20 -o %s/faces", d);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_msg(matching_lines(out, "^generate [0-9]+/20 \\([0-9]+%\\)  [0-9.]+ s elapsed  ETA", NULL, 0) == 9,
                  "generate:\n%s", out);
    free(out);
    rc = run_hyper(&out, "train -q -d %s/sim --model ridge -o %s/r.bin", d, d);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    rc = run_hyper(&out, "predict -q --decoder %s/r.bin -d %s/sim -o %s/pred.npy", d, d, d);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    rc = run_hyper(&out, "evaluate -d %s/sim --pred %s/pred.npy -g tests/fixtures/pggan_tiny.bin -e "
                         "tests/fixtures/facenet_tiny.bin --crop full --null 24 --face-batch 4 -o %s/ev",
                   d, d, d);
    unsetenv("HY_PROGRESS_EVERY");
    ck_assert_msg(rc == 0, "%s", out);
    // 8 ground-truth + 8 reconstructed + 24 null faces = 40, finished 4 at a time
    int n = matching_lines(out, "^evaluate: faces [0-9]+/40 \\([0-9]+%\\)  [0-9.]+ s elapsed  ETA", NULL, 0);
    ck_assert_msg(n == 9, "evaluate: %d lines:\n%s", n, out);
    ck_assert_msg(matching_lines(out, "^evaluate: faces 40/40 \\(100%\\) .* done$", NULL, 0) == 1, "%s", out);
    free(out);
}
END_TEST

// The sweep's ETA counts work: made-up timings for ols, linear (100 epochs), an MLP with three
// times linear's multiply-adds per epoch, ridge; one run each.
START_TEST(sweep_eta_weighs_work) {
    sweep_model ols = {.name = "ols", .kind = DEC_OLS}, lin = {.name = "linear", .kind = DEC_LINEAR},
                mlp = {.name = "mlp", .kind = DEC_MLP}, ridge = {.name = "ridge", .kind = DEC_RIDGE};
    sweep_eta t;
    memset(&t, 0, sizeof t);
    hy_sweep_eta_add(&t, &ols, 0, 0, 1, 1e6);
    hy_sweep_eta_add(&t, &lin, 30, 100, 1, 1e6);
    hy_sweep_eta_add(&t, &mlp, 30, 100, 1, 3e6);
    hy_sweep_eta_add(&t, &ridge, 0, 0, 1, 1e6);
    hy_sweep_eta_start(&t, 100.0);
    ck_assert(hy_sweep_eta_left(&t, 100.0) < 0);  // nothing measured yet
    ck_assert(fabs(hy_sweep_eta_fraction(&t, 100.0)) < 1e-12);
    hy_sweep_eta_eval(&t, 1.0);  // ols: fitted in 0.5 s, evaluated in 1 s
    hy_sweep_eta_done(&t, 101.5);
    ck_assert(hy_sweep_eta_left(&t, 101.5) < 0);  // no epoch timed yet
    ck_assert(fabs(hy_sweep_eta_fraction(&t, 101.5) - 0.25) < 1e-12);  // 1 of 4 trainings
    hy_sweep_eta_epoch(&t, 50);  // linear: 50 epochs in 5 s -> 0.1 s an epoch, 1e-7 s a multiply-add
    // left: linear 50 x 0.1 = 5, mlp 100 x 3e6 x 1e-7 = 30, ridge as ols's fit 0.5, 3 evaluations x 1 s
    // (tolerances: the sums are of a few double operations, exact to ~1e-14 relative)
    double left = hy_sweep_eta_left(&t, 106.5);
    ck_assert_msg(fabs(left - 38.5) < 1e-9, "left %g, expected 38.5", left);
    ck_assert(fabs(hy_sweep_eta_fraction(&t, 106.5) - 6.5 / 45.0) < 1e-12);
    hy_sweep_eta_eval(&t, 1.0);  // linear evaluated, then done after 100 epochs in 10 s of training
    hy_sweep_eta_done(&t, 112.5);
    // a run-count ETA would say 2 of 4 trainings left ~ the time so far (12.5 s); the work left is
    // mlp 30 + ridge 0.5 + 2 evaluations = 32.5 s
    left = hy_sweep_eta_left(&t, 112.5);
    ck_assert_msg(fabs(left - 32.5) < 1e-9, "left %g, expected 32.5", left);
    hy_sweep_eta_epoch(&t, 10);  // the MLP runs slower than predicted (0.5 s an epoch): its own rate counts
    left = hy_sweep_eta_left(&t, 117.5);
    ck_assert_msg(fabs(left - (90 * 0.5 + 0.5 + 2.0)) < 1e-9, "left %g", left);
}
END_TEST

// A real sweep logs its trainings with the ETA and ends with a "done" line.
START_TEST(sweep_logs_progress) {
    const char *d = sim();
    char *out = NULL;
    int rc = run_hyper(&out, "simulate -q -o %s/sim512 --voxels 100 --train 60 --test 6 --reps 2 --seed 4", d);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    setenv("HY_PROGRESS_EVERY", "0", 1);
    rc = run_hyper(&out, "sweep -d %s/sim512 -g tests/fixtures/pggan_tiny.bin -e tests/fixtures/facenet_tiny.bin "
                         "--crop full --null 2 -o %s/res --models linear --epochs 20,40 --closed ols",
                   d, d);
    unsetenv("HY_PROGRESS_EVERY");
    ck_assert_msg(rc == 0, "%s", out);
    // the closed-form fit runs first; once it and an epoch are timed, the linear training's lines
    // carry a number as their ETA
    ck_assert_msg(matching_lines(out, "^sweep: training 2/2 \\(linear, epoch [0-9]+/40\\) \\([0-9]+%\\)  [0-9.]+ s elapsed  "
                                      "ETA [0-9.]+ s$", NULL, 0) >= 1, "%s", out);
    ck_assert_msg(matching_lines(out, "^sweep: 2 training\\(s\\) \\(100%\\)  .* done$", NULL, 0) == 1, "%s", out);
    free(out);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("progress");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 240);
    tcase_add_test(tc, plain_lines_every_ten_percent);
    tcase_add_test(tc, short_tasks_and_quiet_print_nothing);
    tcase_add_test(tc, generate_and_evaluate_log);
    tcase_add_test(tc, sweep_eta_weighs_work);
    tcase_add_test(tc, sweep_logs_progress);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
