// test_sim_bold.c - `hyper simulate --bold` -> `hyper glm --bids` -> `hyper extract --glm`: the BIDS
// layout, the GLM recovering the simulated responses, the dataset rows, and bad input.
#include <math.h>

#include "base/common.h"
#include "base/nifti.h"
#include "base/npy.h"
#include "study/dataset.h"
#include "testutil.h"

// A small study: 64 voxels, 40 training and 4 test stimuli x 3 repeats, 3 runs (1 test run).
#define BASE "--voxels 64 --train 40 --latent-dim 8 --strong 2 --runs 3 --test-runs 1 --seed 3 "
#define SMALL BASE "--test 4 --reps 3"

static int one_line(const char *s) { return s[0] && strchr(s, '\n') == s + strlen(s) - 1; }

// Correlation and least-squares slope of the GLM effects against the true responses of one split,
// over the tuned voxels (true response not all zero).
static void recovery(const char *d, const char *split, int n, const char *fmt, double *r, double *slope) {
    char p[600];
    snprintf(p, sizeof p, "%s/sim/truth/%s_responses.npy", d, split);
    npy_f64 tr;
    ck_assert_msg(hy_npy_read_f64(p, &tr, 0) == 0, "%s", hy_errmsg());
    int V = (int)tr.dims[1];
    snprintf(p, sizeof p, "%s/glm/effect.nii.gz", d);
    nifti_img eff;
    ck_assert_msg(hy_nifti_read(p, &eff) == 0, "%s", hy_errmsg());
    int64_t G = eff.dim[0] * eff.dim[1] * eff.dim[2];
    // conditions.tsv: index of each stimulus
    snprintf(p, sizeof p, "%s/glm/conditions.tsv", d);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    int *vol = malloc(sizeof(int) * n);
    for (int i = 0; i < n; i++) vol[i] = -1;
    while (fgets(line, sizeof line, f)) {
        int idx, k;
        char name[128];
        if (sscanf(line, "%d\t%127s", &idx, name) != 2) continue;
        for (k = 0; k < n; k++) {
            char want[64];
            snprintf(want, sizeof want, fmt, k);
            if (!strcmp(name, want)) vol[k] = idx;
        }
    }
    fclose(f);
    double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0, m = 0;
    for (int v = 0; v < V; v++) {
        int tuned = 0;
        for (int k = 0; k < n; k++) tuned |= tr.data[(size_t)k * V + v] != 0;
        if (!tuned) continue;
        for (int k = 0; k < n; k++) {
            ck_assert_int_ge(vol[k], 0);
            double x = tr.data[(size_t)k * V + v], y = eff.data[(size_t)vol[k] * G + v];
            sx += x, sy += y, sxx += x * x, syy += y * y, sxy += x * y, m++;
        }
    }
    double cxy = sxy - sx * sy / m, cxx = sxx - sx * sx / m, cyy = syy - sy * sy / m;
    *r = cxy / sqrt(cxx * cyy);
    *slope = cxy / cxx;
    free(vol);
    hy_npy_free_f64(&tr);
    hy_nifti_free(&eff);
}

static void sim_and_glm(const char *d, const char *opts) {
    char *out = NULL;
    int rc = run_hyper(&out, "simulate --bold %s -o %s/sim", opts, d);
    ck_assert_msg(rc == 0 && strstr(out, "simulate: wrote") && strstr(out, "BOLD: 3 runs"), "exit %d: %s", rc, out);
    free(out);
    rc = run_hyper(&out, "glm --bids %s/sim --sub 01 --task faces --derivatives %s/sim/derivatives/sim -q -o %s/glm", d, d, d);
    ck_assert_msg(rc == 0, "exit %d: %s", rc, out);
    free(out);
}

// Without noise, drift, motion or HRF variation, and with the canonical SPM response, the GLM's
// effects are the simulated amplitudes up to the simulator's finer sampling of the response (0.01 s
// vs nilearn's TR/50) and percent scaling by the run mean instead of the baseline (measured r > 0.999,
// slope 0.99).
START_TEST(test_sim_bold_exact) {
    char *d = test_tmpdir();
    sim_and_glm(d, SMALL " --noise 0 --drift 0 --motion 0 --hrf-jitter 0 --hrf-shapes 1");
    double r, slope;
    recovery(d, "train", 40, "train_%04d.png", &r, &slope);
    printf("  noiseless: train r %.5f slope %.4f\n", r, slope);
    ck_assert_msg(r > 0.995 && fabs(slope - 1) < 0.03, "train r %g slope %g", r, slope);
    recovery(d, "test", 4, "test_%03d.png", &r, &slope);
    printf("  noiseless: test r %.5f slope %.4f\n", r, slope);
    ck_assert_msg(r > 0.995 && fabs(slope - 1) < 0.03, "test r %g slope %g", r, slope);
}
END_TEST

// With the default noise, the estimates stay unbiased (slope near 1) and the test stimuli,
// averaged over 12 repeats by the fixed effects, are recovered better than the single training
// trials (measured: train r 0.19, test r 0.58).
START_TEST(test_sim_bold_noisy) {
    char *d = test_tmpdir();
    sim_and_glm(d, BASE "--test 6 --reps 12");
    double rtr, str, rte, ste;
    recovery(d, "train", 40, "train_%04d.png", &rtr, &str);
    recovery(d, "test", 6, "test_%03d.png", &rte, &ste);
    printf("  default noise: train r %.3f slope %.3f, test r %.3f slope %.3f\n", rtr, str, rte, ste);
    ck_assert_msg(rtr > 0.1 && rte > rtr && fabs(str - 1) < 0.3 && fabs(ste - 1) < 0.3, "train %g/%g test %g/%g", rtr, str,
                  rte, ste);
}
END_TEST

START_TEST(test_sim_bold_layout_and_extract) {
    char *d = test_tmpdir(), *out = NULL, p[700];
    sim_and_glm(d, SMALL);
    static const char *files[] = {"dataset_description.json", "participants.tsv", "split.tsv", "truth/params.txt",
                                  "truth/train_latents.npy", "truth/test_responses.npy",
                                  "sub-01/func/sub-01_task-faces_run-3_bold.nii.gz",
                                  "sub-01/func/sub-01_task-faces_run-1_events.tsv",
                                  "derivatives/sim/sub-01/func/sub-01_task-faces_run-2_desc-preproc_bold.nii.gz",
                                  "derivatives/sim/sub-01/func/sub-01_task-faces_run-2_desc-confounds_timeseries.tsv",
                                  "derivatives/sim/sub-01/func/sub-01_task-faces_run-1_desc-brain_mask.nii.gz"};
    for (size_t i = 0; i < sizeof files / sizeof *files; i++) {
        snprintf(p, sizeof p, "%s/sim/%s", d, files[i]);
        ck_assert_msg(file_exists(p), "missing %s", p);
    }
    // run 1 holds the 4 test faces x 3 repeats, TR 1.5 in the header
    snprintf(p, sizeof p, "%s/sim/sub-01/func/sub-01_task-faces_run-1_bold.nii.gz", d);
    nifti_img h;
    ck_assert_int_eq(hy_nifti_read(p, &h), 0);
    ck_assert(h.ndim == 4 && h.dim[0] * h.dim[1] * h.dim[2] == 64 && fabs(h.geom.pixdim[4] - 1.5) < 1e-6);
    hy_nifti_free(&h);
    snprintf(p, sizeof p, "%s/glm/conditions.tsv", d);
    FILE *f = fopen(p, "r");
    char line[256];
    ck_assert(fgets(line, sizeof line, f) && fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "0\ttest_000.png\t1\t3\n");
    fclose(f);
    // extract: z-maps of the GLM in latent order
    int rc = run_hyper(&out, "extract --glm %s/glm --split %s/sim/split.tsv --train-latents %s/sim/truth/train_latents.npy "
                             "--test-latents %s/sim/truth/test_latents.npy --select-top 10 -o %s/data", d, d, d, d, d);
    ck_assert_msg(rc == 0 && strstr(out, "10 voxels of 64 in the GLM mask (z maps); train 40 x 10, test 4 x 10"), "%s", out);
    free(out);
    hy_dataset ds;
    snprintf(p, sizeof p, "%s/data", d);
    ck_assert_msg(hy_ds_load(&ds, p, DS_TRAIN | DS_TEST | DS_FMRI | DS_LATENTS, 0, 8) == 0, "%s", hy_errmsg());
    ck_assert(ds.train.n == 40 && ds.test.n == 4 && ds.train.v == 10);
    int nd;
    int64_t dims[8], *sel;
    char ip[700];
    snprintf(ip, sizeof ip, "%s/data/voxel_indices.npy", d);
    ck_assert_int_eq(hy_npy_read_i64(ip, &nd, dims, &sel), 0);
    // test row 2 = condition test_002.png = volume 2 of z.nii.gz
    snprintf(ip, sizeof ip, "%s/glm/z.nii.gz", d);
    nifti_img z;
    ck_assert_int_eq(hy_nifti_read(ip, &z), 0);
    for (int j = 0; j < 10; j++)
        ck_assert(fabs(ds.test.fmri[2 * 10 + j] - z.data[2 * 64 + sel[j]]) < 1e-6 * (1 + fabs(z.data[2 * 64 + sel[j]])));
    hy_nifti_free(&z);
    free(sel);
    hy_ds_free(&ds);
}
END_TEST

START_TEST(test_sim_bold_bad) {
    char *d = test_tmpdir(), *out = NULL, p[700];
    // an existing non-empty folder is not overwritten
    snprintf(p, sizeof p, "%s/full/x", d);
    ck_assert_int_eq(hy_mkdir_p(p), 0);
    int rc = run_hyper(&out, "simulate --bold " SMALL " -o %s/full", d);
    ck_assert_msg(rc == 1 && strstr(out, "exists and is not an empty folder") && one_line(out), "%s", out);
    free(out);
    rc = run_hyper(&out, "simulate --bold " SMALL " --isi-min 5 --isi-max 4 -o %s/s2", d);
    ck_assert_msg(rc == 1 && strstr(out, "isi-max >= isi-min") && one_line(out), "%s", out);
    free(out);
    snprintf(p, sizeof p, "%s/s2", d);
    ck_assert(!file_exists(p));
    // extract --glm: usage and split errors
    sim_and_glm(d, SMALL " --noise 1");
    rc = run_hyper(&out, "extract --glm %s/glm --train-latents a --test-latents b --select-top 3 -o %s/x", d, d);
    ck_assert_msg(rc == 2 && strstr(out, "--glm needs --split") && one_line(out), "%s", out);
    free(out);
    snprintf(p, sizeof p, "%s/bad_split.tsv", d);
    FILE *f = fopen(p, "w");
    fputs("trial_type\tsplit\trow\ntest_000.png\ttest\t0\nnope.png\ttrain\t0\n", f);
    fclose(f);
    rc = run_hyper(&out, "extract --glm %s/glm --split %s --train-latents %s/sim/truth/train_latents.npy --test-latents "
                         "%s/sim/truth/test_latents.npy --select-top 3 -o %s/x", d, p, d, d, d);
    ck_assert_msg(rc == 1 && strstr(out, "line 3: 'nope.png' is not a condition of the GLM") && one_line(out), "%s", out);
    free(out);
    f = fopen(p, "w");
    fputs("trial_type\tsplit\trow\ntest_000.png\ttest\t0\ntrain_0000.png\ttrain\t1\n", f);
    fclose(f);
    rc = run_hyper(&out, "extract --glm %s/glm --split %s --train-latents %s/sim/truth/train_latents.npy --test-latents "
                         "%s/sim/truth/test_latents.npy --select-top 3 -o %s/x", d, p, d, d, d);
    ck_assert_msg(rc == 1 && strstr(out, "train rows must be 0..0, each once") && one_line(out), "%s", out);
    free(out);
    snprintf(p, sizeof p, "%s/x", d);
    ck_assert(!file_exists(p));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("sim_bold");
    TCase *tc = tcase_create("sim_bold");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_sim_bold_exact);
    tcase_add_test(tc, test_sim_bold_noisy);
    tcase_add_test(tc, test_sim_bold_layout_and_extract);
    tcase_add_test(tc, test_sim_bold_bad);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
