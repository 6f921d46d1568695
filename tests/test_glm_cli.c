// test_glm_cli.c - `hyper glm` on the command line: explicit runs, BIDS and fMRIPrep-style
// layouts (the same maps as explicit runs), usage errors (exit 2) and bad input (exit 1, one line,
// nothing written). The numbers themselves are checked in tests/test_glm.c.
#include <math.h>

#include "base/common.h"
#include "base/nifti.h"
#include "testutil.h"

#define FIX "tests/fixtures/glm"
#define RUNS                                                                                                     \
    "--bold " FIX "/run-1_bold.nii.gz --events " FIX "/run-1_events.tsv --confounds " FIX "/run-1_confounds.tsv " \
    "--bold " FIX "/run-2_bold.nii.gz --events " FIX "/run-2_events.tsv --confounds " FIX "/run-2_confounds.tsv " \
    "--bold " FIX "/run-3_bold.nii.gz --events " FIX "/run-3_events.tsv --confounds " FIX "/run-3_confounds.tsv "

static int one_line(const char *s) { return s[0] && strchr(s, '\n') == s + strlen(s) - 1; }

static void sh(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void sh(const char *fmt, ...) {
    char cmd[4096];
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(cmd, sizeof cmd, fmt, ap);
    va_end(ap);
    ck_assert_msg(system(cmd) == 0, "failed: %s", cmd);
}

// Largest |a - b| between two maps of the same shape.
static double map_diff(const char *a, const char *b) {
    nifti_img x, y;
    ck_assert_msg(hy_nifti_read(a, &x) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_nifti_read(b, &y) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(x.nvox, y.nvox);
    double d = 0;
    for (int64_t i = 0; i < x.nvox; i++) d = fmax(d, fabs(x.data[i] - y.data[i]));
    hy_nifti_free(&x);
    hy_nifti_free(&y);
    return d;
}

static int file_has(const char *path, const char *needle) {
    FILE *f = fopen(path, "r");
    if (!f) return 0;
    char buf[65536];
    size_t n = fread(buf, 1, sizeof buf - 1, f);
    buf[n] = 0;
    fclose(f);
    return strstr(buf, needle) != NULL;
}

START_TEST(test_cli_runs) {
    char *d = test_tmpdir(), *out = NULL;
    int rc = run_hyper(&out, "glm " RUNS "--confounds-fill mean --mask " FIX "/mask.nii.gz --noise=ols -o %s/o", d);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    ck_assert_msg(strstr(out, "glm: 3 runs, 180 volumes, 59 voxels, 12 conditions"), "%s", out);
    free(out);
    char p[600];
    snprintf(p, sizeof p, "%s/o/summary.txt", d);
    ck_assert(file_has(p, "noise ols (bins 100)"));
    // --quiet prints nothing; the same options give the same maps
    rc = run_hyper(&out, "glm " RUNS "--confounds-fill mean --mask " FIX "/mask.nii.gz --noise ols -q -o %s/q", d);
    ck_assert_msg(rc == 0 && out[0] == 0, "exit %d: %s", rc, out);
    free(out);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/o/z.nii.gz", d);
    snprintf(b, sizeof b, "%s/q/z.nii.gz", d);
    ck_assert(map_diff(a, b) == 0);
}
END_TEST

// A BIDS tree holding the fixtures: raw runs with events (run 3's inherited from the top level),
// and an fMRIPrep-style derivatives folder with preprocessed runs, confounds and a brain mask.
static void make_bids(const char *d) {
    char cwd[1024];
    ck_assert_ptr_nonnull(getcwd(cwd, sizeof cwd));
    sh("mkdir -p %s/bids/sub-01/func %s/deriv/sub-01/func", d, d);
    for (int k = 1; k <= 3; k++) {
        sh("ln -s %s/" FIX "/run-%d_bold.nii.gz %s/bids/sub-01/func/sub-01_task-faces_run-%d_bold.nii.gz", cwd, k, d, k);
        if (k < 3)
            sh("cp " FIX "/run-%d_events.tsv %s/bids/sub-01/func/sub-01_task-faces_run-%d_events.tsv", k, d, k);
        sh("ln -s %s/" FIX "/run-%d_bold.nii.gz %s/deriv/sub-01/func/sub-01_task-faces_run-%d_space-MNI_desc-preproc_bold.nii.gz",
           cwd, k, d, k);
        sh("ln -s %s/" FIX "/run-%d_bold.nii.gz %s/deriv/sub-01/func/sub-01_task-faces_run-%d_space-T1w_desc-preproc_bold.nii.gz",
           cwd, k, d, k);
        sh("cp " FIX "/run-%d_confounds.tsv %s/deriv/sub-01/func/sub-01_task-faces_run-%d_desc-confounds_timeseries.tsv", k,
           d, k);
    }
    sh("cp " FIX "/run-3_events.tsv %s/bids/task-faces_events.tsv", d);
    sh("cp " FIX "/mask.nii.gz %s/deriv/sub-01/func/sub-01_task-faces_run-1_space-MNI_desc-brain_mask.nii.gz", d);
    // another task and a run 10 that must sort after run 2 (numeric run order)
    sh("ln -s %s/" FIX "/run-1_bold.nii.gz %s/bids/sub-01/func/sub-01_task-rest_run-1_bold.nii.gz", cwd, d);
}

START_TEST(test_cli_bids) {
    char *d = test_tmpdir(), *out = NULL;
    make_bids(d);
    // raw: the same as explicit runs without confounds and mask
    int rc = run_hyper(&out, "glm --bids %s/bids --sub sub-01 --task faces -o %s/raw", d, d);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    free(out);
    rc = run_hyper(&out,
                   "glm --bold " FIX "/run-1_bold.nii.gz --events " FIX "/run-1_events.tsv --bold " FIX
                   "/run-2_bold.nii.gz --events " FIX "/run-2_events.tsv --bold " FIX "/run-3_bold.nii.gz --events " FIX
                   "/run-3_events.tsv -o %s/expl",
                   d);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    free(out);
    char a[600], b[600];
    snprintf(a, sizeof a, "%s/raw/effect.nii.gz", d);
    snprintf(b, sizeof b, "%s/expl/effect.nii.gz", d);
    ck_assert(map_diff(a, b) == 0);
    snprintf(a, sizeof a, "%s/raw/summary.txt", d);
    ck_assert(file_has(a, "sub-01_task-faces_run-3_bold.nii.gz"));
    // derivatives: two spaces need --space; with it, confounds and the brain mask are used
    rc = run_hyper(&out, "glm --bids %s/bids --sub 01 --task faces --derivatives %s/deriv -o %s/der", d, d, d);
    ck_assert_msg(rc == 1 && strstr(out, "runs in several spaces") && strstr(out, "choose one with --space") && one_line(out),
                  "exit %d: %s", rc, out);
    free(out);
    rc = run_hyper(&out,
                   "glm --bids %s/bids --sub 01 --task faces --derivatives %s/deriv --space MNI --confounds-fill mean "
                   "-o %s/der",
                   d, d, d);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    ck_assert_msg(strstr(out, "59 voxels"), "%s", out);  // the derivatives' brain mask
    free(out);
    rc = run_hyper(&out, "glm " RUNS "--confounds-fill mean --mask " FIX "/mask.nii.gz -o %s/expl2", d);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    free(out);
    snprintf(a, sizeof a, "%s/der/t.nii.gz", d);
    snprintf(b, sizeof b, "%s/expl2/t.nii.gz", d);
    ck_assert(map_diff(a, b) == 0);
    // nothing for an unknown task or subject: one line naming what was looked for
    rc = run_hyper(&out, "glm --bids %s/bids --sub 01 --task nope -o %s/x", d, d);
    ck_assert_msg(rc == 1 && strstr(out, "no BOLD runs for sub-01 task-nope") && one_line(out), "%s", out);
    free(out);
    rc = run_hyper(&out, "glm --bids %s/bids --sub 02 --task faces -o %s/x", d, d);
    ck_assert_msg(rc == 1 && strstr(out, "sub-02: no such subject folder") && one_line(out), "%s", out);
    free(out);
    sh("rm %s/bids/task-faces_events.tsv", d);
    rc = run_hyper(&out, "glm --bids %s/bids --sub 01 --task faces -o %s/x", d, d);
    ck_assert_msg(rc == 1 && strstr(out, "run-3_bold.nii.gz: no events for this run") && one_line(out), "%s", out);
    free(out);
    snprintf(a, sizeof a, "%s/x", d);
    ck_assert(!file_exists(a));
}
END_TEST

START_TEST(test_cli_usage) {
    static const struct {
        const char *args, *needle;
    } bad[] = {
        {"-o x", "give the runs with --bold/--events"},
        {"--bold a.nii --events a.tsv --bold b.nii -o x", "2 --bold but 1 --events"},
        {"--bold a.nii --events a.tsv --bold b.nii --events b.tsv --confounds c.tsv -o x", "2 --bold but 1 --confounds"},
        {"--bids d --sub 01 -o x", "--bids needs --sub and --task"},
        {"--bids d --sub 01 --task t --bold a.nii -o x", "--bids excludes --bold"},
        {"--bold a.nii --events a.tsv --task t -o x", "need --bids"},
        {"--bold a.nii --events a.tsv --hrf canonical -o x", "unknown HRF model 'canonical'"},
        {"--bold a.nii --events a.tsv --noise ar2 -o x", "--noise"},
        {"--bold a.nii --events a.tsv --tr 0 -o x", "--tr"},
        {"--bold a.nii --events a.tsv --slice-time-ref 1.5 -o x", "--slice-time-ref"},
        {"--bold a.nii --events a.tsv", "-o"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char *out = NULL;
        int rc = run_hyper(&out, "glm %s", bad[i].args);
        ck_assert_msg(rc == 2, "'%s' exited %d: %s", bad[i].args, rc, out);
        ck_assert_msg(strstr(out, bad[i].needle) && one_line(out), "'%s': %s", bad[i].args, out);
        free(out);
    }
}
END_TEST

START_TEST(test_cli_bad_input) {
    char *d = test_tmpdir(), *out = NULL;
    FILE *f;
    char p[600];
    snprintf(p, sizeof p, "%s/late.tsv", d);
    ck_assert_ptr_nonnull(f = fopen(p, "w"));
    fputs("onset\tduration\ttrial_type\n300\t1\tlate.png\n", f);
    fclose(f);
    int rc = run_hyper(&out, "glm --bold " FIX "/run-1_bold.nii.gz --events %s -o %s/o", p, d);
    ck_assert_msg(rc == 1 && strstr(out, "event 'late.png' at onset 300 s is outside the run") && one_line(out), "%s", out);
    free(out);
    rc = run_hyper(&out, "glm --bold %s/missing.nii.gz --events " FIX "/run-1_events.tsv -o %s/o", d, d);
    ck_assert_msg(rc == 1 && strstr(out, "missing.nii.gz: cannot open") && one_line(out), "%s", out);
    free(out);
    rc = run_hyper(&out, "glm " RUNS "-o %s/o", d);  // run 3's confounds have n/a
    ck_assert_msg(rc == 1 && strstr(out, "confound 'rot_z' is n/a (use --confounds-fill mean") && one_line(out), "%s", out);
    free(out);
    snprintf(p, sizeof p, "%s/o", d);
    ck_assert(!file_exists(p));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("glm_cli");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_cli_runs);
    tcase_add_test(tc, test_cli_bids);
    tcase_add_test(tc, test_cli_usage);
    tcase_add_test(tc, test_cli_bad_input);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
