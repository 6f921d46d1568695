// test_dec_cli.c - `hyper simulate | train | predict | score` end to end, and bad input:
// every failure exits non-zero with a one-line message naming the file, and leaves no output.
#include <math.h>

#include "base/common.h"
#include "study/dataset.h"
#include "base/npy.h"
#include "testutil.h"

static char *g_dir;  // a small simulated dataset shared by the tests

static const char *dset(void) {
    if (g_dir) return g_dir;
    g_dir = test_tmpdir();
    char *out = NULL;
    int rc = run_hyper(&out,
                       "simulate -o %s/sim --voxels 200 --latent-dim 16 --train 150 --test 12 --reps 4 --strong 2 "
                       "--snr 0.5 --seed 1",
                       g_dir);
    ck_assert_msg(rc == 0, "simulate failed: %s", out);
    free(out);
    return g_dir;
}

// Runs `hyper <args>` and requires exit status 0.
static void must_ok(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void must_ok(const char *fmt, ...) {
    char args[4096], *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = run_hyper(&out, "%s", args);
    ck_assert_msg(rc == 0, "'%s' exited %d: %s", args, rc, out ? out : "");
    free(out);
}

// Mean cosine from a summary CSV written by `hyper score --csv`.
static double csv_metric(const char *path, const char *name) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s missing", path);
    char line[512];
    double v = NAN;
    while (fgets(line, sizeof line, f)) {
        size_t l = strlen(name);
        if (!strncmp(line, name, l) && line[l] == ',') v = atof(line + l + 1);
    }
    fclose(f);
    return v;
}

START_TEST(test_cli_all_models) {
    const char *d = dset();
    const char *models[][2] = {
        {"ols", ""},
        {"ridge", "--alphas 9 --alpha-min 1e-1 --alpha-max 1e5"},
        {"ridge", "--cv 5 --per-target --zscore"},
        {"lasso", "--path 8 --cv 3"},
        {"elasticnet", "--path 8 --cv 3 --l1-ratio 0.5"},
        {"linear", "--epochs 200 --lr 1e-3 --seed 2"},
        {"linear-nobias", "--epochs 200 --lr 1e-3"},
        {"mlp", "--hidden 32 --activation tanh --epochs 100 --dropout 0.1 --zscore"},
    };
    for (size_t k = 0; k < sizeof models / sizeof models[0]; k++) {
        char *out = NULL;
        must_ok("train -d %s/sim --model %s %s --quiet -o %s/m%zu.bin", d, models[k][0], models[k][1], d, k);
        must_ok("predict --decoder %s/m%zu.bin -d %s/sim -o %s/p%zu.npy", d, k, d, d, k);
        int rc = run_hyper(&out, "score -d %s/sim --pred %s/p%zu.npy --csv %s/s%zu.csv --items-csv %s/i%zu.csv "
                                 "--boundaries %s/sim/truth/boundaries",
                           d, d, k, d, k, d, k, d);
        ck_assert_msg(rc == 0, "score exited %d: %s", rc, out);
        ck_assert_msg(strstr(out, "cosine similarity") && strstr(out, "effective rank") && strstr(out, "strong_01"),
                      "score table incomplete: %s", out);
        free(out);
        char p[600];
        snprintf(p, sizeof p, "%s/s%zu.csv", d, k);
        double cs = csv_metric(p, "cosine"), id = csv_metric(p, "ident2");
        printf("  %-14s %-48s test cosine %.3f  2-way ident %.3f\n", models[k][0], models[k][1], cs, id);
        // snr 0.5 with 150 training rows for 16 dims is an easy problem: every model must
        // decode well above chance (cosine 0, identification 0.5).
        ck_assert_msg(cs > 0.5 && id > 0.8, "%s: cosine %g ident %g", models[k][0], cs, id);
        snprintf(p, sizeof p, "%s/i%zu.csv", d, k);
        ck_assert(file_exists(p));
    }
}
END_TEST

// Same seed -> byte-identical linear training (shuffling and init come from --seed).
START_TEST(test_cli_linear_deterministic) {
    const char *d = dset();
    for (int k = 0; k < 2; k++) must_ok("train -d %s/sim --model linear --epochs 5 --seed 9 --quiet -o %s/det%d.bin", d, d, k);
    char cmd[1200];
    snprintf(cmd, sizeof cmd, "cmp -s %s/det0.bin %s/det1.bin", d, d);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

// Copies the four dataset files into a fresh directory name under the shared tmp dir.
static void copy_ds(const char *dst) {
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "rm -rf %s && mkdir -p %s && cp %s/sim/*.npy %s/", dst, dst, dset(), dst);
    ck_assert_int_eq(system(cmd), 0);
}

static void write_mat(const char *path, int r, int c, float fill, int nan_at) {
    float *m = malloc(sizeof(float) * r * c);
    for (int i = 0; i < r * c; i++) m[i] = fill + 0.01f * (i % 7);
    if (nan_at >= 0) m[nan_at] = NAN;
    int64_t dims[2] = {r, c};
    ck_assert_int_eq(hy_npy_write_f32(path, 2, dims, m), 0);
    free(m);
}

// Runs a command expected to fail: exit 1 or 2, the message contains `needle`, `outfile`
// does not exist afterwards (and no *.tmp.* leftovers in its directory).
static void expect_fail(const char *needle, const char *outfile, const char *fmt, const char *a1, const char *a2,
                        const char *a3) {
    char args[2000], *out = NULL;
    snprintf(args, sizeof args, fmt, a1, a2, a3);
    int rc = run_hyper(&out, "%s", args);
    ck_assert_msg(rc == 1 || rc == 2, "'%s' exited %d: %s", args, rc, out);
    ck_assert_msg(strstr(out, needle) != NULL, "'%s': message lacks '%s': %s", args, needle, out);
    ck_assert_msg(strchr(out, '\n') == out + strlen(out) - 1, "'%s': not one line: %s", args, out);
    if (outfile) ck_assert_msg(!file_exists(outfile), "%s was left behind", outfile);
    printf("  ok: %s", out);
    free(out);
}

START_TEST(test_cli_bad_input) {
    const char *d = dset();
    char bad[600], f[700], o[700], dec[700];
    snprintf(dec, sizeof dec, "%s/good.bin", d);
    must_ok("train -d %s/sim --model ols -o %s", d, dec);

    // mismatched row counts
    snprintf(bad, sizeof bad, "%s/rows", d);
    copy_ds(bad);
    snprintf(f, sizeof f, "%s/train_latents.npy", bad);
    write_mat(f, 149, 16, 0, -1);
    snprintf(o, sizeof o, "%s/out.bin", bad);
    expect_fail("train_latents.npy: 149 rows but train_fmri.npy has 150", o, "train -d %s --model ridge -o %s%s", bad, o, "");
    // wrong latent width between splits
    snprintf(bad, sizeof bad, "%s/width", d);
    copy_ds(bad);
    snprintf(f, sizeof f, "%s/test_latents.npy", bad);
    write_mat(f, 12, 15, 0, -1);
    snprintf(o, sizeof o, "%s/pred.npy", bad);
    expect_fail("test_latents.npy: latent width 15 but train_latents.npy has 16", NULL,
                "score -d %s --pred %s/sim/test_latents.npy%s", bad, d, "");
    snprintf(o, sizeof o, "%s/out.bin", bad);
    expect_fail("test_latents.npy: latent width 15", o, "train -d %s --model ols -o %s%s", bad, o, "");
    // predictions of the wrong width
    snprintf(f, sizeof f, "%s/p15.npy", d);
    write_mat(f, 12, 15, 0, -1);
    expect_fail("p15.npy: shape (12, 15)", NULL, "score -d %s/sim --pred %s%s", d, f, "");
    // NaN in the fMRI data
    snprintf(bad, sizeof bad, "%s/nan", d);
    copy_ds(bad);
    snprintf(f, sizeof f, "%s/train_fmri.npy", bad);
    write_mat(f, 150, 200, 1, 777);
    snprintf(o, sizeof o, "%s/out.bin", bad);
    expect_fail("train_fmri.npy: non-finite", o, "train -d %s --model lasso -o %s%s", bad, o, "");
    // voxel count differs from the decoder's
    snprintf(bad, sizeof bad, "%s/vox", d);
    copy_ds(bad);
    snprintf(f, sizeof f, "%s/test_fmri.npy", bad);
    write_mat(f, 12, 199, 0, -1);
    snprintf(o, sizeof o, "%s/pred.npy", bad);
    expect_fail("199 voxels but decoder", o, "predict --decoder %s -d %s -o %s", dec, bad, o);
    // truncated decoder file
    snprintf(f, sizeof f, "%s/trunc.bin", d);
    char cmd[2000];
    snprintf(cmd, sizeof cmd, "head -c 300 %s > %s", dec, f);
    ck_assert_int_eq(system(cmd), 0);
    expect_fail("trunc.bin", o, "predict --decoder %s -d %s -o %s", f, bad, o);
    // missing dataset
    snprintf(o, sizeof o, "%s/never.bin", d);
    expect_fail("nonexistent/train_fmri.npy", o, "train -d %s/nonexistent --model ols -o %s%s", d, o, "");
    // bad options
    expect_fail("unknown model 'foo'", NULL, "train -d %s/sim --model foo -o %s%s", d, o, "");
    expect_fail("--dropout", o, "train -d %s/sim --model mlp --dropout 1.5 --epochs 1 -o %s%s", d, o, "");
    snprintf(o, sizeof o, "%s/simbad", d);
    expect_fail("--snr: '0' must be > 0", o, "simulate -o %s --snr 0%s%s", o, "", "");
    snprintf(cmd, sizeof cmd, "ls %s/*/*.tmp.* %s/*.tmp.* 2>/dev/null | wc -l | grep -qx 0", d, d);
    ck_assert_msg(system(cmd) == 0, "temporary files left behind");
}
END_TEST

static void teardown(void) {
    if (!g_dir) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_dir);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_dir);
    free(g_dir);
    g_dir = NULL;
}

// Real InterFaceGAN directions (1 x 512 float64, shared data) as --boundaries.
START_TEST(test_cli_real_boundaries) {
    const char *env = getenv("HY_SHARED_DATA"), *cands[3] = {env, "../shared/data", "/work/shared/data"};
    char bdir[700] = "";
    for (int i = 0; i < (env ? 1 : 3) && !bdir[0]; i++) {  // HY_SHARED_DATA, when set, is the only place
        if (!cands[i]) continue;
        char p[700];
        snprintf(p, sizeof p, "%s/interfacegan/pggan_celebahq_smile_boundary.npy", cands[i]);
        if (file_exists(p)) snprintf(bdir, sizeof bdir, "%s/interfacegan", cands[i]);
    }
    if (!bdir[0]) TEST_SKIP("InterFaceGAN boundaries not found (set HY_SHARED_DATA)");
    char *t = test_tmpdir(), *out = NULL;
    must_ok("simulate -o %s/s --voxels 800 --latent-dim 512 --train 700 --test 30 --snr 10 --seed 3", t);
    must_ok("train -d %s/s --model ridge --alpha 1 -o %s/r.bin", t, t);
    must_ok("predict --decoder %s/r.bin -d %s/s -o %s/p.npy", t, t, t);
    int rc = run_hyper(&out, "score -d %s/s --pred %s/p.npy --boundaries %s --csv %s/c.csv", t, t, bdir, t);
    ck_assert_msg(rc == 0, "score: %s", out);
    ck_assert_msg(strstr(out, "pggan_celebahq_smile_boundary") && strstr(out, "pggan_celebahq_age_boundary"), "%s", out);
    free(out);
    char p[800];
    snprintf(p, sizeof p, "%s/c.csv", t);
    double r = csv_metric(p, "boundary_r:pggan_celebahq_gender_boundary");
    printf("  gender-projection r on simulated data: %.3f\n", r);
    // 700 samples, 800 voxels, SNR 10: projections on a fixed direction are clearly decoded (r 0.80
    // for seed 3; 0.6 leaves room for the sampling error of r over 30 items, about 0.07)
    ck_assert_msg(r > 0.6 && r <= 1.0, "gender projection r %g", r);  // observed 0.80 (seed 3)
    char cmd[800];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", t);
    ck_assert_int_eq(system(cmd), 0);
    free(t);
}
END_TEST

static Suite *dec_cli_suite(void) {
    Suite *s = suite_create("dec_cli");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_unchecked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_cli_all_models);
    tcase_add_test(tc, test_cli_linear_deterministic);
    tcase_add_test(tc, test_cli_bad_input);
    tcase_add_test(tc, test_cli_real_boundaries);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(dec_cli_suite)
