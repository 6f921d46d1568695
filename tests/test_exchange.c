// test_exchange.c - .npz everywhere .npy is read, the .npz writer, and decoders to and from
// .npz (`hyper export`, `hyper import`): scikit-learn fits (convert/golden/golden_sklearn.py)
// become decoders whose `hyper predict` output equals sklearn's predict; every decoder kind
// survives export -> import unchanged; bad archives fail with one line and no output.
#include <math.h>

#include "base/common.h"
#include "base/npy.h"
#include "base/npz.h"
#include "study/dataset.h"
#include "testutil.h"

#define FX "tests/fixtures/exchange/"

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

// Runs hyper, requires exit status `want` and `needle` in its output (one line).
static void must_fail(int want, const char *needle, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void must_fail(int want, const char *needle, const char *fmt, ...) {
    char args[4096], *out = NULL;
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(args, sizeof args, fmt, ap);
    va_end(ap);
    int rc = run_hyper(&out, "%s", args);
    ck_assert_msg(rc == want, "'%s' exited %d (want %d): %s", args, rc, want, out);
    ck_assert_msg(strstr(out, needle), "'%s': output lacks '%s': %s", args, needle, out);
    char *nl = strchr(out, '\n');
    ck_assert_msg(nl && nl[1] == 0, "'%s': not one line: %s", args, out);
    free(out);
}

static double max_abs_diff_f64(const char *a, const char *b) {
    npy_f64 x, y;
    ck_assert_msg(hy_npy_read_f64(a, &x, 0) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_npy_read_f64(b, &y, 0) == 0, "%s", hy_errmsg());
    ck_assert_msg(x.size == y.size && x.ndim == y.ndim && x.dims[0] == y.dims[0], "%s vs %s: shapes differ", a, b);
    double m = 0;
    for (int64_t i = 0; i < x.size; i++) m = fmax(m, fabs(x.data[i] - y.data[i]));
    hy_npy_free_f64(&x);
    hy_npy_free_f64(&y);
    return m;
}

static int files_equal(const char *a, const char *b) {
    uint8_t *x, *y;
    size_t nx, ny;
    ck_assert_int_eq(hy_read_file(a, &x, &nx, 0), 0);
    ck_assert_int_eq(hy_read_file(b, &y, &ny, 0), 0);
    int eq = nx == ny && !memcmp(x, y, nx);
    free(x);
    free(y);
    return eq;
}

// scikit-learn Ridge (plain, behind a StandardScaler, single target) -> npz -> hyper import ->
// hyper predict equals sklearn's predict(X_test).
START_TEST(sklearn_ridge_through_import) {
    char *d = test_tmpdir();
    const char *cases[] = {"ridge", "scaled", "single"};
    for (int i = 0; i < 3; i++) {
        must_ok("import -q " FX "%s.npz -o %s/%s.bin --model ridge", cases[i], d, cases[i]);
        must_ok("predict -q --decoder %s/%s.bin --fmri " FX "X_test.npy -o %s/%s_pred.npy", d, cases[i], d, cases[i]);
        char got[300], want[300];
        snprintf(got, sizeof got, "%s/%s_pred.npy", d, cases[i]);
        snprintf(want, sizeof want, FX "%s_pred.npy", cases[i]);
        double m = max_abs_diff_f64(got, want);
        printf("  sklearn %-7s -> import -> predict: max |diff| %.2e\n", cases[i], m);
        // The decoder stores float32 weights and computes and writes float32 latents: rounding of
        // ~6e-8 relative on 30-term sums of order-1 terms and on outputs below ~3, so a few 1e-7
        // (observed 2-4e-7); the issue asks <= 1e-6.
        ck_assert_msg(m <= 1e-6, "%s: predictions differ from sklearn by %g", cases[i], m);
    }
    // the z-scoring is used: the same weights without the scaler statistics predict otherwise
    npz_file z;
    ck_assert_int_eq(hy_npz_open(&z, FX "scaled.npz"), 0);
    npy_f64 w, b;
    ck_assert_int_eq(hy_npz_read_f64(&z, "weight", &w, 0), 0);
    ck_assert_int_eq(hy_npz_read_f64(&z, "bias", &b, 0), 0);
    hy_npz_close(&z);
    char p[300];
    snprintf(p, sizeof p, "%s/noscale.npz", d);
    npz_array a[2] = {{"weight", NPZ_F64, 2, w.dims, w.data, NULL}, {"bias", NPZ_F64, 1, b.dims, b.data, NULL}};
    ck_assert_int_eq(hy_npz_write(p, a, 2, 0), 0);
    hy_npy_free_f64(&w);
    hy_npy_free_f64(&b);
    must_ok("import -q %s -o %s/noscale.bin", p, d);
    must_ok("predict -q --decoder %s/noscale.bin --fmri " FX "X_test.npy -o %s/noscale_pred.npy", d, d);
    snprintf(p, sizeof p, "%s/noscale_pred.npy", d);
    ck_assert_msg(max_abs_diff_f64(p, FX "scaled_pred.npy") > 0.1, "z-scoring made no difference");
}
END_TEST

// A dataset directory made from the fixture arrays; returns its path.
static const char *fixture_dataset(const char *root) {
    static char dir[300];
    snprintf(dir, sizeof dir, "%s/ds", root);
    double *m[4];
    int r[4], c[4];
    const char *src[4] = {FX "X_train.npy", FX "Y_train.npy", FX "X_test.npy", FX "ridge_pred.npy"};
    for (int i = 0; i < 4; i++) ck_assert_msg(hy_ds_read_matrix(src[i], &m[i], &r[i], &c[i]) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_ds_save(dir, m[0], m[1], r[0], m[2], m[3], r[2], c[0], c[1]), 0);
    for (int i = 0; i < 4; i++) free(m[i]);
    return dir;
}

// Every kind: export -> import gives the same predictions bit for bit, and exporting the
// imported decoder gives the same archive byte for byte.
START_TEST(export_import_round_trip) {
    char *d = test_tmpdir();
    const char *ds = fixture_dataset(d);
    const char *models[][2] = {
        {"ridge", "--zscore"},
        {"ols", ""},
        {"linear-nobias", "--epochs 3"},
        {"mlp", "--hidden 6,5 --activation leaky --epochs 3 --zscore"},
    };
    for (int k = 0; k < 4; k++) {
        must_ok("train -q -d %s --model %s %s -o %s/m%d.bin", ds, models[k][0], models[k][1], d, k);
        must_ok("export -q %s/m%d.bin -o %s/m%d.npz%s", d, k, d, k, k % 2 ? " --compressed" : "");
        must_ok("import -q %s/m%d.npz -o %s/i%d.bin", d, k, d, k);
        must_ok("export -q %s/i%d.bin -o %s/i%d.npz%s", d, k, d, k, k % 2 ? " --compressed" : "");
        must_ok("predict -q --decoder %s/m%d.bin -d %s -o %s/pm%d.npy", d, k, ds, d, k);
        must_ok("predict -q --decoder %s/i%d.bin -d %s -o %s/pi%d.npy", d, k, ds, d, k);
        char a[300], b[300];
        snprintf(a, sizeof a, "%s/pm%d.npy", d, k);
        snprintf(b, sizeof b, "%s/pi%d.npy", d, k);
        ck_assert_msg(files_equal(a, b), "%s: predictions changed through export/import", models[k][0]);
        snprintf(a, sizeof a, "%s/m%d.npz", d, k);
        snprintf(b, sizeof b, "%s/i%d.npz", d, k);
        ck_assert_msg(files_equal(a, b), "%s: re-export differs", models[k][0]);
    }
    // what the archive holds, read back by the npz reader
    char p[300], s[64];
    snprintf(p, sizeof p, "%s/m3.npz", d);
    npz_file z;
    ck_assert_int_eq(hy_npz_open(&z, p), 0);
    ck_assert_int_eq(z.n, 11);  // weight0..2, bias0..2, zscore_mean/scale, model, activation, leaky_slope
    ck_assert_int_eq(hy_npz_read_str(&z, "model", s, sizeof s), 0);
    ck_assert_str_eq(s, "mlp");
    ck_assert_int_eq(hy_npz_read_str(&z, "activation", s, sizeof s), 0);
    ck_assert_str_eq(s, "leaky");
    npy_f32 w;
    ck_assert_int_eq(hy_npz_read_f32(&z, "weight1", &w, 0), 0);
    ck_assert(w.ndim == 2 && w.dims[0] == 5 && w.dims[1] == 6);
    hy_npy_free_f32(&w);
    hy_npz_close(&z);
}
END_TEST

// FILE.npz:NAME wherever a .npy is read; a dataset as one .npz.
START_TEST(npz_paths) {
    char *d = test_tmpdir();
    const char *ds = fixture_dataset(d);
    double *X, *Y, *Xt, *Yt;
    int n, v, dd, nt;
    char p[300];
    const char *parts[4] = {"train_fmri", "train_latents", "test_fmri", "test_latents"};
    double **dst[4] = {&X, &Y, &Xt, &Yt};
    int rows[4], cols[4];
    for (int i = 0; i < 4; i++) {
        snprintf(p, sizeof p, "%s/%s.npy", ds, parts[i]);
        ck_assert_int_eq(hy_ds_read_matrix(p, dst[i], &rows[i], &cols[i]), 0);
    }
    n = rows[0], v = cols[0], dd = cols[1], nt = rows[2];
    int64_t shp[4][2] = {{n, v}, {n, dd}, {nt, v}, {nt, dd}};
    npz_array a[4];
    for (int i = 0; i < 4; i++) a[i] = (npz_array){parts[i], NPZ_F64, 2, shp[i], *dst[i], NULL};
    char npz[300];
    snprintf(npz, sizeof npz, "%s/data.npz", d);
    ck_assert_int_eq(hy_npz_write(npz, a, 4, 1), 0);
    // the same decoder from the directory and from the archive
    must_ok("train -q -d %s --model ridge -o %s/dir.bin", ds, d);
    must_ok("train -q -d %s --model ridge -o %s/npz.bin", npz, d);
    char a1[300], a2[300];
    snprintf(a1, sizeof a1, "%s/dir.bin", d);
    snprintf(a2, sizeof a2, "%s/npz.bin", d);
    ck_assert_msg(files_equal(a1, a2), "training from data.npz differs from the directory");
    // predict from an array of the archive, from the dataset archive, and from the directory
    must_ok("predict -q --decoder %s/dir.bin --fmri %s:test_fmri -o %s/p1.npy", d, npz, d);
    must_ok("predict -q --decoder %s/dir.bin -d %s -o %s/p2.npy", d, npz, d);
    must_ok("predict -q --decoder %s/dir.bin -d %s -o %s/p3.npy", d, ds, d);
    snprintf(a1, sizeof a1, "%s/p1.npy", d);
    snprintf(a2, sizeof a2, "%s/p3.npy", d);
    ck_assert(files_equal(a1, a2));
    snprintf(a1, sizeof a1, "%s/p2.npy", d);
    ck_assert(files_equal(a1, a2));
    // a one-array archive needs no name
    snprintf(p, sizeof p, "%s/one.npz", d);
    ck_assert_int_eq(hy_npz_write(p, &a[2], 1, 0), 0);
    must_ok("predict -q --decoder %s/dir.bin --fmri %s -o %s/p4.npy", d, p, d);
    snprintf(a1, sizeof a1, "%s/p4.npy", d);
    ck_assert(files_equal(a1, a2));
    // errors name the archive and what is wrong
    must_fail(1, "data.npz: holds 4 arrays (train_fmri, train_latents, test_fmri, test_latents); pick one as",
              "predict -q --decoder %s/dir.bin --fmri %s -o %s/bad.npy", d, npz, d);
    must_fail(1, "data.npz: no array 'fmri' (it has: train_fmri,", "predict -q --decoder %s/dir.bin --fmri %s:fmri -o %s/bad.npy",
              d, npz, d);
    must_fail(1, "X_test.npy: not an .npz archive", "predict -q --decoder %s/dir.bin --fmri " FX "X_test.npy:x -o %s/bad.npy",
              d, d);
    must_fail(1, "one.npz: no array 'train_fmri' (it has: test_fmri)", "train -q -d %s --model ridge -o %s/bad.bin", p, d);
    snprintf(a1, sizeof a1, "%s/bad.npy", d);
    ck_assert(!file_exists(a1));
    snprintf(a1, sizeof a1, "%s/bad.bin", d);
    ck_assert(!file_exists(a1));
    for (int i = 0; i < 4; i++) free(*dst[i]);
}
END_TEST

// The writer: every dtype and both member methods read back; bad requests leave no file.
START_TEST(npz_writer) {
    char *d = test_tmpdir(), p[300];
    float f[6] = {1, -2, 3.5f, 4, 5, 6};
    double g[2] = {1e300, -0.25};
    int64_t iv[3] = {-1, 1LL << 40, 7}, d23[2] = {2, 3}, d2[1] = {2}, d3[1] = {3};
    npz_array a[4] = {{"f", NPZ_F32, 2, d23, f, NULL},
                      {"g", NPZ_F64, 1, d2, g, NULL},
                      {"i", NPZ_I64, 1, d3, iv, NULL},
                      {"name", NPZ_STR, 0, NULL, NULL, "ridge-x"}};
    for (int c = 0; c < 2; c++) {
        snprintf(p, sizeof p, "%s/w%d.npz", d, c);
        ck_assert_int_eq(hy_npz_write(p, a, 4, c), 0);
        npz_file z;
        ck_assert_msg(hy_npz_open(&z, p) == 0, "%s", hy_errmsg());
        ck_assert_int_eq(z.n, 4);
        ck_assert_int_eq(z.members[0].method, c ? 8 : 0);
        npy_f32 x;
        ck_assert_int_eq(hy_npz_read_f32(&z, "f", &x, 0), 0);
        ck_assert(x.ndim == 2 && x.dims[1] == 3 && !memcmp(x.data, f, sizeof f));
        hy_npy_free_f32(&x);
        npy_f64 y;
        ck_assert_int_eq(hy_npz_read_f64(&z, "g", &y, 0), 0);
        ck_assert(y.data[0] == 1e300 && y.data[1] == -0.25);
        hy_npy_free_f64(&y);
        int nd;
        int64_t dims[8], *ii;
        ck_assert_int_eq(hy_npz_read(&z, "i", 'i', &nd, dims, (void **)&ii), 0);
        ck_assert(nd == 1 && ii[1] == 1LL << 40);
        free(ii);
        char s[32];
        ck_assert_int_eq(hy_npz_read_str(&z, "name", s, sizeof s), 0);
        ck_assert_str_eq(s, "ridge-x");
        ck_assert_int_eq(hy_npz_read_str(&z, "f", s, sizeof s), HY_EFORMAT);  // not text
        ck_assert_int_eq(hy_npz_read_str(&z, "name", s, 4), HY_EFORMAT);      // too long for the buffer
        hy_npz_close(&z);
    }
    // duplicate names: refused, no file (and no temp file) left
    npz_array dup[2] = {a[0], a[0]};
    snprintf(p, sizeof p, "%s/dup.npz", d);
    ck_assert_int_eq(hy_npz_write(p, dup, 2, 0), HY_EARG);
    ck_assert_int_eq(dir_count(d), 2);
    ck_assert_int_ne(hy_npz_write("/nonexistent-dir/x.npz", a, 1, 0), 0);
}
END_TEST

// Writes an archive of the given arrays into d/name.npz.
static void write_npz(const char *d, const char *name, const npz_array *a, int n) {
    char p[300];
    snprintf(p, sizeof p, "%s/%s.npz", d, name);
    ck_assert_msg(hy_npz_write(p, a, n, 0) == 0, "%s", hy_errmsg());
}

START_TEST(import_refusals) {
    char *d = test_tmpdir();
    float w[6] = {1, 2, 3, 4, 5, 6}, b[3] = {0, 1, 2}, wn[6] = {1, NAN, 3, 4, 5, 6}, z0[2] = {1, 0};
    int64_t d32[2] = {3, 2}, d23[2] = {2, 3}, d3[1] = {3}, d2[1] = {2};
    npz_array W = {"weight", NPZ_F32, 2, d32, w, NULL}, B = {"bias", NPZ_F32, 1, d3, b, NULL};
    write_npz(d, "noweight", (npz_array[]){{"coef", NPZ_F32, 2, d32, w, NULL}}, 1);
    write_npz(d, "both", (npz_array[]){W, {"weight0", NPZ_F32, 2, d32, w, NULL}}, 2);
    write_npz(d, "shortbias", (npz_array[]){W, {"bias", NPZ_F32, 1, d2, b, NULL}}, 2);
    write_npz(d, "nan", (npz_array[]){{"weight", NPZ_F32, 2, d32, wn, NULL}, B}, 2);
    write_npz(d, "halfz", (npz_array[]){W, B, {"zscore_mean", NPZ_F32, 1, d2, b, NULL}}, 3);
    write_npz(d, "zeroscale", (npz_array[]){W, B, {"zscore_mean", NPZ_F32, 1, d2, b, NULL},
                                            {"zscore_scale", NPZ_F32, 1, d2, z0, NULL}}, 4);
    write_npz(d, "stray", (npz_array[]){W, B, {"intercept", NPZ_F32, 1, d3, b, NULL}}, 3);
    write_npz(d, "noact", (npz_array[]){{"weight0", NPZ_F32, 2, d32, w, NULL}, {"weight1", NPZ_F32, 2, d23, w, NULL}}, 2);
    write_npz(d, "chain", (npz_array[]){{"weight0", NPZ_F32, 2, d32, w, NULL}, {"weight1", NPZ_F32, 2, d32, w, NULL},
                                        {"activation", NPZ_STR, 0, NULL, NULL, "relu"}}, 3);
    write_npz(d, "badmodel", (npz_array[]){W, B, {"model", NPZ_STR, 0, NULL, NULL, "svm"}}, 3);
    write_npz(d, "textweight", (npz_array[]){{"weight", NPZ_STR, 0, NULL, NULL, "x"}, B}, 2);
    const char *cases[][2] = {
        {"noweight", "noweight.npz: no array 'weight'"},
        {"both", "has both 'weight' and 'weight0'"},
        {"shortbias", "array 'bias' has 2 elements, expected 3"},
        {"nan", "nan.npz:weight: element 1 is NaN or Inf"},
        {"halfz", "has 'zscore_mean' but not 'zscore_scale'"},
        {"zeroscale", "zscore_scale element 1 is 0 (must be > 0)"},
        {"stray", "unexpected array 'intercept'"},
        {"noact", "an MLP needs its activation"},
        {"chain", "array 'weight1' takes 2 inputs but the layer before gives 3"},
        {"badmodel", "badmodel.npz: unknown decoder model 'svm'"},
        {"textweight", "textweight.npz:weight: unsupported dtype '<U1'"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++)
        must_fail(1, cases[i][1], "import %s/%s.npz -o %s/out.bin", d, cases[i][0], d);
    must_fail(1, "not an .npz file", "import " FX "X_test.npy -o %s/out.bin", d);
    must_fail(1, "cannot open", "import %s/missing.npz -o %s/out.bin", d, d);
    must_fail(2, "--model: unknown decoder model 'svm'", "import %s/stray.npz --model svm -o %s/out.bin", d, d);
    must_fail(2, "--activation: unknown activation", "import %s/noact.npz --activation swish -o %s/out.bin", d, d);
    must_fail(2, "-o/--out is required", "import %s/noact.npz", d);
    // an MLP given its activation by option works
    must_ok("import -q %s/noact.npz --activation tanh -o %s/mlp.bin", d, d);
    char p[300];
    snprintf(p, sizeof p, "%s/out.bin", d);
    ck_assert(!file_exists(p));
    must_fail(1, "cannot open", "export %s/missing.bin -o %s/x.npz", d, d);
    must_fail(1, "is a 'pggan' weight file", "export tests/fixtures/pggan_tiny.bin -o %s/x.npz", d);
    snprintf(p, sizeof p, "%s/x.npz", d);
    ck_assert(!file_exists(p));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("exchange");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sklearn_ridge_through_import);
    tcase_add_test(tc, export_import_round_trip);
    tcase_add_test(tc, npz_paths);
    tcase_add_test(tc, npz_writer);
    tcase_add_test(tc, import_refusals);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
