// test_dec_kernel_pls.c - kernel ridge and PLS against scikit-learn 1.2
// (tests/fixtures/decoders_kernel_pls.bin, written by convert/golden/golden_kernel_pls.py),
// the decoder file round trip of both, and their refusals of bad settings.
#include <math.h>

#include "base/common.h"
#include "base/wfile.h"
#include "decoders/decoders.h"
#include "testutil.h"

static wfile g_fx;
static int g_ok;

static void load(void) {
    if (!g_ok) g_ok = hy_wf_open(&g_fx, "tests/fixtures/decoders_kernel_pls.bin") == 0 ? 1 : -1;
    if (g_ok < 0) ck_abort_msg("cannot read tests/fixtures/decoders_kernel_pls.bin: %s", hy_errmsg());
}

static const double *fx(const char *pre, const char *name, int64_t want) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", pre, name);
    const wf_tensor *t = hy_wf_find(&g_fx, full);
    ck_assert_msg(t != NULL, "fixture tensor %s missing", full);
    ck_assert_msg(t->dtype == WF_F64, "%s: not f64", full);
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    ck_assert_msg(want < 0 || n == want, "%s: %lld elements, want %lld", full, (long long)n, (long long)want);
    return t->data;
}

// max |a - b| / max(1, max |b|)
static double rel_diff(const double *a, const double *b, size_t n) {
    double e = 0, s = 1;
    for (size_t i = 0; i < n; i++) {
        e = fmax(e, fabs(a[i] - b[i]));
        s = fmax(s, fabs(b[i]));
    }
    return e / s;
}

// Predictions of a dual solution: P (m, d) = k(Xtest, X) dual.
static void kr_predict(double *P, const double *Xt, int m, const double *X, int n, int v, const kr_kernel *k,
                       const double *dual, int d) {
    double *K = malloc(sizeof(double) * (size_t)m * n);
    ck_assert_int_eq(hy_kr_gram(K, Xt, m, X, n, v, k), 0);
    for (int i = 0; i < m; i++)
        for (int t = 0; t < d; t++) {
            double acc = 0;
            for (int j = 0; j < n; j++) acc += K[(size_t)i * n + j] * dual[(size_t)j * d + t];
            P[(size_t)i * d + t] = acc;
        }
    free(K);
}

// Both sides solve the same float64 linear systems (Cholesky / LAPACK), K + alpha I with
// alpha >= 1e-3 on kernels of magnitude <= ~1e3: condition numbers below ~1e7, so rounding
// differences stay below 1e-16 * 1e7 = 1e-9; the bound 1e-6 is what is asserted.
#define KR_TOL 1e-6

static void check_pred(const char *what, const double *P, const double *ref, size_t n, double tol) {
    double e = rel_diff(P, ref, n);
    printf("  %-30s max rel diff %.3g (tol %.0e)\n", what, e, tol);
    ck_assert_msg(e <= tol, "%s: predictions differ from scikit-learn by %g (tol %g)", what, e, tol);
}

static void kernel_problem(const char *pre, int n, int p) {
    load();
    const int d = 3, m = 10;
    const double *X = fx(pre, "X", (int64_t)n * p), *Y = fx(pre, "Y", (int64_t)n * d), *Xt = fx(pre, "Xtest", m * p);
    double *dual = malloc(sizeof(double) * n * d), P[30], al;
    struct {
        const char *name;
        kr_kernel k;
        double alpha;
    } fixed[4] = {{"kr_lin.pred", {KR_LINEAR, 0, 3, 1}, 0.7},
                  {"kr_rbf.pred", {KR_RBF, 0.05, 3, 1}, 0.3},
                  {"kr_poly2.pred", {KR_POLY, 0.1, 2, 1.5}, 0.5},
                  {"kr_poly3.pred", {KR_POLY, 0.1, 3, 1.5}, 0.5}};
    for (int c = 0; c < 4; c++) {
        kr_kernel k = fixed[c].k;
        ck_assert_msg(hy_dec_kernel_ridge(X, Y, n, p, d, &k, &fixed[c].alpha, 1, NULL, 0, 0, dual, &al, NULL) == 0, "%s",
                      hy_errmsg());
        kr_predict(P, Xt, m, X, n, p, &k, dual, d);
        check_pred(fixed[c].name, P, fx(pre, fixed[c].name, m * d), (size_t)m * d, KR_TOL);
        if (c == 1) check_pred("kr_rbf.dual", dual, fx(pre, "kr_rbf.dual", n * d), (size_t)n * d, KR_TOL);
    }
    // CV over alpha x gamma: the same grid point (exactly) and the refit's predictions
    const double *ga = fx(pre, "kr_grid_alpha", 6), *gg = fx(pre, "kr_grid_gamma", 4);
    const char *cvs[2] = {"kr_k5", "kr_loo"};
    for (int c = 0; c < 2; c++) {
        kr_kernel k = {KR_RBF, 1.0, 3, 1};
        char nm[64];
        ck_assert_msg(hy_dec_kernel_ridge(X, Y, n, p, d, &k, ga, 6, gg, 4, c == 0 ? 5 : 0, dual, &al, NULL) == 0, "%s",
                      hy_errmsg());
        snprintf(nm, sizeof nm, "%s.best", cvs[c]);
        const double *best = fx(pre, nm, 2);
        printf("  %-30s alpha %g gamma %g (sklearn %g %g)\n", cvs[c], al, k.gamma, best[0], best[1]);
        ck_assert_msg(al == best[0] && k.gamma == best[1], "%s: chose alpha %g gamma %g, sklearn %g %g", cvs[c], al,
                      k.gamma, best[0], best[1]);
        kr_predict(P, Xt, m, X, n, p, &k, dual, d);
        snprintf(nm, sizeof nm, "%s.pred", cvs[c]);
        check_pred(nm, P, fx(pre, nm, m * d), (size_t)m * d, KR_TOL);
    }
    free(dual);
}

START_TEST(test_kernel_ridge_tall) { kernel_problem("t_", 40, 15); }
END_TEST

START_TEST(test_kernel_ridge_wide) { kernel_problem("w_", 30, 60); }
END_TEST

// PLS: every component's weight vector is the exact singular vector here and the converged
// power iteration (tol 1e-12 on ||w_i - w_{i-1}||^2, i.e. ~1e-6 on w) in scikit-learn; the
// components of these problems have singular-value gaps > 10%, so sklearn's w is within
// ~1e-7 of the exact one and the predictions within the 1e-6.
#define PLS_TOL 1e-6

static void pls_problem(const char *pre, int n, int p) {
    load();
    const int d = 3, m = 10;
    const double *X = fx(pre, "X", (int64_t)n * p), *Y = fx(pre, "Y", (int64_t)n * d), *Xt = fx(pre, "Xtest", m * p);
    double *W = malloc(sizeof(double) * p * d), b[3], P[30];
    int Ks[3] = {1, 3, 5};
    for (int c = 0; c < 3; c++) {
        char nm[64];
        int k = 0;
        ck_assert_msg(hy_dec_pls(X, Y, n, p, d, Ks[c], 0, W, b, &k, NULL) == 0, "%s", hy_errmsg());
        ck_assert_int_eq(k, Ks[c]);
        for (int i = 0; i < m; i++)
            for (int t = 0; t < d; t++) {
                double acc = b[t];
                for (int j = 0; j < p; j++) acc += W[t * p + j] * Xt[i * p + j];
                P[i * d + t] = acc;
            }
        snprintf(nm, sizeof nm, "pls%d.pred", Ks[c]);
        check_pred(nm, P, fx(pre, nm, m * d), (size_t)m * d, PLS_TOL);
        snprintf(nm, sizeof nm, "pls%d.coef", Ks[c]);
        check_pred(nm, W, fx(pre, nm, p * d), (size_t)p * d, PLS_TOL);
        if (Ks[c] == 3) {
            // sklearn's default tolerance stops early: further from the converged answer
            double e = rel_diff(P, fx(pre, "pls3_default.pred", m * d), (size_t)m * d);
            printf("  %-30s max rel diff %.3g (stops early; not a bound)\n", "pls3 vs sklearn default tol", e);
        }
    }
    // K-fold CV over 1..8 components: the same K, the same predictions
    int k = 0;
    ck_assert_msg(hy_dec_pls(X, Y, n, p, d, 8, 5, W, b, &k, NULL) == 0, "%s", hy_errmsg());
    double best = fx(pre, "pls_k5.best", 1)[0];
    printf("  %-30s K %d (sklearn %g)\n", "pls 5-fold CV", k, best);
    ck_assert_msg(k == (int)best, "CV chose %d components, sklearn %g", k, best);
    for (int i = 0; i < m; i++)
        for (int t = 0; t < d; t++) {
            double acc = b[t];
            for (int j = 0; j < p; j++) acc += W[t * p + j] * Xt[i * p + j];
            P[i * d + t] = acc;
        }
    check_pred("pls_k5.pred", P, fx(pre, "pls_k5.pred", m * d), (size_t)m * d, PLS_TOL);
    // one target (the power iteration stops after one step there: exact on both sides)
    double *y1 = malloc(sizeof(double) * n);
    for (int i = 0; i < n; i++) y1[i] = Y[i * d];
    ck_assert_int_eq(hy_dec_pls(X, y1, n, p, 1, 1, 0, W, b, &k, NULL), 0);
    for (int i = 0; i < m; i++) {
        P[i] = b[0];
        for (int j = 0; j < p; j++) P[i] += W[j] * Xt[i * p + j];
    }
    check_pred("pls1_y1.pred", P, fx(pre, "pls1_y1.pred", m), m, PLS_TOL);
    free(y1);
    free(W);
}

START_TEST(test_pls_tall) { pls_problem("t_", 40, 15); }
END_TEST

START_TEST(test_pls_wide) { pls_problem("w_", 30, 60); }
END_TEST

// The decoder files: train -> save -> load -> predict equals the float64 solver's predictions.
// Tolerance 1e-5 relative: the files hold the training rows, dual coefficients or weights in
// float32 (relative rounding 6e-8), and the prediction sums 40 such products.
START_TEST(test_decoder_files) {
    load();
    const int n = 40, p = 15, d = 3, m = 10;
    const double *X = fx("t_", "X", n * p), *Y = fx("t_", "Y", n * d), *Xt = fx("t_", "Xtest", m * p);
    char *tmp = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/d.bin", tmp);
    for (int kind = 0; kind < 2; kind++) {
        dec_opts o;
        hy_dec_opts_default(&o, kind ? DEC_PLS : DEC_KERNEL_RIDGE);
        o.fixed_alpha = 0.3;
        o.gamma = 0.05;
        o.components = 3;
        decoder dec, back;
        ck_assert_msg(hy_dec_train(&dec, &o, X, Y, n, p, d) == 0, "%s", hy_errmsg());
        ck_assert_msg(hy_dec_save(&dec, path) == 0, "%s", hy_errmsg());
        ck_assert_msg(hy_dec_load(&back, path) == 0, "%s", hy_errmsg());
        ck_assert_int_eq(back.kind, dec.kind);
        float P[30];
        double Pd[30];
        ck_assert_int_eq(hy_dec_predict(&back, Xt, m, P), 0);
        for (int i = 0; i < m * d; i++) Pd[i] = P[i];
        const char *ref = kind ? "pls3.pred" : "kr_rbf.pred";
        check_pred(kind ? "pls file round trip" : "kernel-ridge file round trip", Pd, fx("t_", ref, m * d), (size_t)m * d,
                   1e-5);
        if (!kind) ck_assert(back.kernel == KR_RBF && back.gamma == 0.05 && back.n_alpha == 1 && back.alpha[0] == 0.3);
        else ck_assert_int_eq(back.components, 3);
        hy_dec_free(&dec);
        hy_dec_free(&back);
    }
}
END_TEST

// Bad settings: each refused with one line naming the problem.
START_TEST(test_refusals) {
    load();
    const int n = 40, p = 15, d = 3;
    const double *X = fx("t_", "X", n * p), *Y = fx("t_", "Y", n * d);
    double dual[120], al, W[45], b[3];
    kr_kernel rbf = {KR_RBF, 0.05, 3, 1}, bad_g = {KR_RBF, -1, 3, 1}, bad_deg = {KR_POLY, 0.1, 0, 1};
    double neg = -1, pos = 1;
    ck_assert_int_eq(hy_dec_kernel_ridge(X, Y, n, p, d, &rbf, &neg, 1, NULL, 0, 0, dual, &al, NULL), HY_EARG);
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "alpha -1 must be > 0"));
    ck_assert_int_eq(hy_dec_kernel_ridge(X, Y, n, p, d, &bad_g, &pos, 1, NULL, 0, 0, dual, &al, NULL), HY_EARG);
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "gamma -1 must be > 0"));
    ck_assert_int_eq(hy_dec_kernel_ridge(X, Y, n, p, d, &bad_deg, &pos, 1, NULL, 0, 0, dual, &al, NULL), HY_EARG);
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "degree 0 must be >= 1"));
    // PLS: more components than the rank of the centred data. X2 has rank 3 (three distinct
    // columns repeated), so a 4th component finds nothing left of X.
    double *X2 = malloc(sizeof(double) * n * p);
    for (int i = 0; i < n; i++)
        for (int j = 0; j < p; j++) X2[i * p + j] = X[i * p + j % 3];
    int k;
    ck_assert_int_eq(hy_dec_pls(X2, Y, n, p, d, 3, 0, W, b, &k, NULL), 0);
    ck_assert_int_eq(hy_dec_pls(X2, Y, n, p, d, 5, 0, W, b, &k, NULL), HY_EARG);
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "exceed the rank"));
    ck_assert_int_eq(hy_dec_pls(X, Y, n, p, d, 16, 0, W, b, &k, NULL), HY_EARG);  // > min(n - 1, p) = 15
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "at most min(rows - 1, voxels) = 15"));
    free(X2);
}
END_TEST

// The same through `hyper train`: range errors are usage errors (exit 2), a K above the rank is
// found by the solver (exit 1); one line each, and no decoder file left behind.
START_TEST(test_cli_refusals) {
    char *d = test_tmpdir(), *out, data[300], dec[400];
    snprintf(data, sizeof data, "%s/data", d);
    snprintf(dec, sizeof dec, "%s/m.bin", d);
    int rc = run_hyper(&out, "simulate -o %s --train 40 --test 5 --voxels 12 --latent-dim 4 --strong 1", data);
    ck_assert_msg(rc == 0, "%s", out);
    free(out);
    const struct {
        const char *args, *needle;
        int rc;
    } bad[] = {
        {"--model kernel-ridge --gamma -1", "--gamma", 2},
        {"--model kernel-ridge --alpha -0.5", "--alpha", 2},
        {"--model kernel-ridge --kernel poly --degree 0", "--degree", 2},
        {"--model kernel-ridge --kernel sigmoid", "--kernel", 2},
        {"--model kernel-ridge --gammas 4 --gamma-min 1 --gamma-max 0.1", "--gamma-min 1 must be below --gamma-max", 2},
        {"--model pls --components 0", "--components", 2},
        {"--model pls --components 20", "20 components exceed the rank of the centred data (at most min(rows - 1, voxels) = 12)", 1},
        {"--model ridge --loss cosine", "--loss is for the Adam models", 2},
        {"--model linear --skip ridge", "--skip is for mlp", 2},
        {"--model mlp --skip ridge --loss cosine", "drop --loss cosine", 2},
    };
    for (size_t k = 0; k < sizeof bad / sizeof bad[0]; k++) {
        rc = run_hyper(&out, "train -d %s -o %s %s", data, dec, bad[k].args);
        ck_assert_msg(rc == bad[k].rc && strstr(out, bad[k].needle) && strchr(out, '\n') == out + strlen(out) - 1,
                      "%s: exit %d: %s", bad[k].args, rc, out);
        ck_assert_msg(!file_exists(dec), "%s left %s", bad[k].args, dec);
        printf("  ok (%d): %s", rc, out);
        free(out);
    }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("dec_kernel_pls");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_kernel_ridge_tall);
    tcase_add_test(tc, test_kernel_ridge_wide);
    tcase_add_test(tc, test_pls_tall);
    tcase_add_test(tc, test_pls_wide);
    tcase_add_test(tc, test_decoder_files);
    tcase_add_test(tc, test_refusals);
    tcase_add_test(tc, test_cli_refusals);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
