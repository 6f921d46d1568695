// test_dec_parity.c - decoder trainers against scikit-learn and PyTorch references
// (tests/fixtures/decoders_{sklearn,adam}.bin, written by convert/golden/golden_decoders.py).
#include <math.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "testutil.h"
#include "base/wfile.h"

static wfile g_sk, g_adam;
static int g_sk_ok, g_adam_ok;

static void load(void) {
    if (!g_sk_ok) g_sk_ok = hy_wf_open(&g_sk, "tests/fixtures/decoders_sklearn.bin") == 0 ? 1 : -1;
    if (!g_adam_ok) g_adam_ok = hy_wf_open(&g_adam, "tests/fixtures/decoders_adam.bin") == 0 ? 1 : -1;
}

static const double *t64(const wfile *wf, const char *pre, const char *name, int64_t want) {
    char full[256];
    snprintf(full, sizeof full, "%s%s", pre, name);
    const wf_tensor *t = hy_wf_find(wf, full);
    ck_assert_msg(t != NULL, "fixture tensor %s missing", full);
    ck_assert_msg(t->dtype == WF_F64, "%s: not f64", full);
    int64_t n = 1;
    for (int i = 0; i < t->ndim; i++) n *= t->dims[i];
    ck_assert_msg(want < 0 || n == want, "%s: %lld elements, want %lld", full, (long long)n, (long long)want);
    return t->data;
}

static const float *t32(const char *name) {
    const float *p;
    ck_assert_msg(hy_wf_get_f32(&g_adam, name, -1, NULL, &p) == 0, "%s", hy_errmsg());
    return p;
}

static double maxdiff(const double *a, const double *b, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i] - b[i]));
    return m;
}

static double maxabs(const double *a, size_t n) {
    double m = 0;
    for (size_t i = 0; i < n; i++) m = fmax(m, fabs(a[i]));
    return m;
}

// relative-to-scale max difference of W and b
static void check_coef(const char *what, const double *W, const double *b, const double *Wr, const double *br, int p,
                       int d, double tol) {
    double s = fmax(1.0, fmax(maxabs(Wr, (size_t)p * d), maxabs(br, d)));
    double e = fmax(maxdiff(W, Wr, (size_t)p * d), maxdiff(b, br, d)) / s;
    printf("  %-22s max rel diff %.3g (tol %.0e)\n", what, e, tol);
    ck_assert_msg(e < tol, "%s: coefficients differ from sklearn by %g (tol %g)", what, e, tol);
}

// hy_dec_enet_fit with the given settings.
static int enet(const double *X, const double *Y, int n, int p, int d, double l1_ratio, int path_len, double eps,
                int folds, double fixed_alpha, int max_iter, double tol, enet_mode mode, double *W, double *b,
                double *al) {
    enet_cfg c;
    hy_dec_enet_cfg_default(&c);
    c.l1_ratio = l1_ratio;
    c.path_len = path_len;
    c.path_eps = eps;
    c.cv_folds = folds;
    c.fixed_alpha = fixed_alpha;
    c.max_iter = max_iter;
    c.tol = tol;
    c.mode = mode;
    return hy_dec_enet_fit(&c, X, Y, n, p, d, W, b, al);
}

static const char *MODE_NAMES[] = {"auto", "gram", "residual", "plain"};

// Runs every closed-form / CD decoder on problem `pre` (n x p, 3 targets).
static void run_problem(const char *pre, int n, int p) {
    load();
    if (g_sk_ok < 0) ck_abort_msg("cannot read tests/fixtures/decoders_sklearn.bin: %s", hy_errmsg());
    const int d = 3;
    const double *X = t64(&g_sk, pre, "X", (int64_t)n * p), *Y = t64(&g_sk, pre, "Y", (int64_t)n * d);
    const double *grid = t64(&g_sk, pre, "ridge_grid", 7);
    double W[3 * 64], b[3], al[3];
    ck_assert_int_le(p, 64);

    // OLS: both sides solve the same centred least-squares problem by SVD in float64; the
    // problems are well conditioned (cond < 1e3), so 1e-9 leaves room only for rounding.
    ck_assert_int_eq(hy_dec_ols(X, Y, n, p, d, 1, 0, W, b), 0);
    check_coef("ols", W, b, t64(&g_sk, pre, "ols.W", p * d), t64(&g_sk, pre, "ols.b", d), p, d, 1e-9);

    // Ridge: closed form through one SVD vs sklearn's solvers (cholesky / eigen); rounding only.
    double a15 = 1.5;
    ck_assert_int_eq(hy_dec_ridge(X, Y, n, p, d, &a15, 1, 0, 0, W, b, al, NULL), 0);
    check_coef("ridge alpha=1.5", W, b, t64(&g_sk, pre, "ridge.W", p * d), t64(&g_sk, pre, "ridge.b", d), p, d, 1e-9);

    // RidgeCV: the chosen alpha must be the same grid point (exact) and the refit equal.
    ck_assert_int_eq(hy_dec_ridge(X, Y, n, p, d, grid, 7, 0, 0, W, b, al, NULL), 0);
    ck_assert_msg(al[0] == t64(&g_sk, pre, "ridgeloo.alpha", 1)[0], "LOO alpha %g vs sklearn %g", al[0],
                  t64(&g_sk, pre, "ridgeloo.alpha", 1)[0]);
    check_coef("ridge LOO", W, b, t64(&g_sk, pre, "ridgeloo.W", p * d), t64(&g_sk, pre, "ridgeloo.b", d), p, d, 1e-9);
    ck_assert_int_eq(hy_dec_ridge(X, Y, n, p, d, grid, 7, 0, 1, W, b, al, NULL), 0);
    for (int t = 0; t < d; t++)
        ck_assert_msg(al[t] == t64(&g_sk, pre, "ridgelooT.alpha", d)[t], "per-target LOO alpha[%d] %g vs %g", t, al[t],
                      t64(&g_sk, pre, "ridgelooT.alpha", d)[t]);
    check_coef("ridge LOO per target", W, b, t64(&g_sk, pre, "ridgelooT.W", p * d), t64(&g_sk, pre, "ridgelooT.b", d), p,
               d, 1e-9);
    ck_assert_int_eq(hy_dec_ridge(X, Y, n, p, d, grid, 7, 5, 0, W, b, al, NULL), 0);
    ck_assert_msg(al[0] == t64(&g_sk, pre, "ridgek5.alpha", 1)[0], "5-fold alpha %g vs sklearn %g", al[0],
                  t64(&g_sk, pre, "ridgek5.alpha", 1)[0]);
    check_coef("ridge 5-fold", W, b, t64(&g_sk, pre, "ridgek5.W", p * d), t64(&g_sk, pre, "ridgek5.b", d), p, d, 1e-9);
    // the folds run as tasks on the threads, each summing into its own array: the same bits for
    // one thread and two (CV errors and the refit)
    double W2[3 * 64], b2[3], al2[3], e1[7 * 3], e2[7 * 3];
    hy_set_threads(1);
    ck_assert_int_eq(hy_dec_ridge(X, Y, n, p, d, grid, 7, 5, 1, W, b, al, e1), 0);
    hy_set_threads(2);
    ck_assert_int_eq(hy_dec_ridge(X, Y, n, p, d, grid, 7, 5, 1, W2, b2, al2, e2), 0);
    hy_set_threads(1);
    ck_assert(!memcmp(e1, e2, sizeof e1) && !memcmp(W, W2, sizeof(double) * p * d) && !memcmp(b, b2, sizeof b));

    // Lasso / elastic net: both run cyclic CD to a duality gap < 1e-12 ||y||^2, so each
    // solution is within ~sqrt(2 gap / n / lambda_min(G)) of the optimum: 1e-6 covers it.
    // every way of solving the path (working sets on the shared Gram matrix or on rows computed
    // on demand, and the naive twin) must reach sklearn's answer
    for (int mode = ENET_GRAM; mode <= ENET_PLAIN; mode++) {
        char what[64];
        printf("  elastic net, mode %s:\n", MODE_NAMES[mode]);
        ck_assert_int_eq(enet(X, Y, n, p, d, 1.0, 1, 0.5, 5, 0.05, 100000, 1e-12, mode, W, b, al), 0);
        check_coef("lasso alpha=0.05", W, b, t64(&g_sk, pre, "lasso.W", p * d), t64(&g_sk, pre, "lasso.b", d), p, d,
                   1e-6);
        ck_assert_int_eq(enet(X, Y, n, p, d, 0.5, 1, 0.5, 5, 0.05, 100000, 1e-12, mode, W, b, al), 0);
        check_coef("enet alpha=0.05", W, b, t64(&g_sk, pre, "enet.W", p * d), t64(&g_sk, pre, "enet.b", d), p, d, 1e-6);
        // CV along the path: the same grid (alpha_max * logspace) and folds -> same choice
        // (relative 1e-12: the grid is computed by pow(10, .) on both sides), then the refit as above.
        const char *names[2] = {"lassocv", "enetcv"};
        double l1r[2] = {1.0, 0.5};
        for (int k = 0; k < 2; k++) {
            char nm[64];
            ck_assert_int_eq(enet(X, Y, n, p, d, l1r[k], 10, 1e-2, 5, 0, 100000, 1e-12, mode, W, b, al), 0);
            snprintf(nm, sizeof nm, "%s.alpha", names[k]);
            const double *ra = t64(&g_sk, pre, nm, d);
            for (int t = 0; t < d; t++)
                ck_assert_msg(fabs(al[t] - ra[t]) <= 1e-12 * ra[t], "%s (%s) alpha[%d] %.17g vs sklearn %.17g",
                              names[k], MODE_NAMES[mode], t, al[t], ra[t]);
            char wn[64], bn[64];
            snprintf(wn, sizeof wn, "%s.W", names[k]);
            snprintf(bn, sizeof bn, "%s.b", names[k]);
            snprintf(what, sizeof what, "%s", names[k]);
            check_coef(what, W, b, t64(&g_sk, pre, wn, p * d), t64(&g_sk, pre, bn, d), p, d, 1e-6);
        }
    }
}

START_TEST(test_sklearn_tall) { run_problem("t_", 60, 12); }
END_TEST

START_TEST(test_sklearn_wide) { run_problem("w_", 30, 50); }
END_TEST

// The trained-decoder path (dec_train -> file -> dec_load -> dec_predict, float32) reproduces
// sklearn's Ridge predictions on held-out rows. Tolerance 1e-4 relative: weights and the
// product are float32 (eps 6e-8) summed over 12 inputs of magnitude ~3.
START_TEST(test_predict_roundtrip) {
    load();
    ck_assert_int_eq(g_sk_ok, 1);
    const int n = 60, p = 12, d = 3;
    const double *X = t64(&g_sk, "t_", "X", n * p), *Y = t64(&g_sk, "t_", "Y", n * d);
    const double *Xt = t64(&g_sk, "t_", "Xtest", 10 * p), *Wr = t64(&g_sk, "t_", "ridge.W", p * d),
                 *br = t64(&g_sk, "t_", "ridge.b", d);
    dec_opts o;
    hy_dec_opts_default(&o, DEC_RIDGE);
    o.fixed_alpha = 1.5;
    decoder dec, back;
    ck_assert_int_eq(hy_dec_train(&dec, &o, X, Y, n, p, d), 0);
    char *tmp = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/r.bin", tmp);
    ck_assert_msg(hy_dec_save(&dec, path) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_dec_load(&back, path) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(back.kind, DEC_RIDGE);
    ck_assert_int_eq(back.n_alpha, 1);
    ck_assert(back.alpha[0] == 1.5);
    float P[30];
    ck_assert_int_eq(hy_dec_predict(&back, Xt, 10, P), 0);
    double e = 0, s = 0;
    for (int i = 0; i < 10; i++)
        for (int t = 0; t < d; t++) {
            double ref = br[t];
            for (int j = 0; j < p; j++) ref += Xt[i * p + j] * Wr[t * p + j];
            e = fmax(e, fabs(P[i * d + t] - ref));
            s = fmax(s, fabs(ref));
        }
    ck_assert_msg(e / s < 1e-4, "prediction differs from sklearn by %g (scale %g)", e, s);
    hy_dec_free(&dec);
    hy_dec_free(&back);
    remove(path);
    rmdir(tmp);
    free(tmp);
}
END_TEST

// Adam against torch.optim.Adam: 6 steps (3 epochs, batches of 30 in order).
// Tolerances: the loss trajectory 1e-5 relative and weights 2e-6 absolute (weights ~0.3,
// steps of 1e-2): float32 sgemm vs torch's kernels sum in different orders (~1e-7 relative
// per gradient element); Adam divides m by sqrt(v) so the step error stays at that relative
// level of lr, far below 2e-6 after 6 steps.
static void adam_case(const char *model, const char *pre, int mlp) {
    load();
    if (g_adam_ok < 0) ck_abort_msg("cannot read tests/fixtures/decoders_adam.bin: %s", hy_errmsg());
    const int n = 60, v = 20, d = 4;
    const float *Xf = t32("X"), *Yf = t32("Y");
    double X[60 * 20], Y[60 * 4];
    for (int i = 0; i < n * v; i++) X[i] = Xf[i];
    for (int i = 0; i < n * d; i++) Y[i] = Yf[i];
    dec_opts o;
    dec_kind kind;
    ck_assert_int_eq(hy_dec_kind_parse(model, &kind), 0);
    hy_dec_opts_default(&o, kind);
    hy_dec_opts_recipe(&o, DEC_RECIPE_TORCH);
    o.epochs = 3;
    o.batch_size = 30;
    o.shuffle = 0;
    o.lr = 1e-2;
    o.weight_decay = mlp ? 0.0 : 0.01;
    o.quiet = 1;
    float trace[6];
    o.loss_trace = trace;
    o.max_trace = 6;
    char nm[64];
    if (mlp) {
        o.n_hidden = 1;
        o.hidden[0] = 16;
        o.act = DEC_ACT_RELU;
        for (int l = 0; l < 2; l++) {
            snprintf(nm, sizeof nm, "mlp.W0_%d", l);
            o.init_W[l] = t32(nm);
            snprintf(nm, sizeof nm, "mlp.b0_%d", l);
            o.init_b[l] = t32(nm);
        }
    } else {
        snprintf(nm, sizeof nm, "%s.W0", pre);
        o.init_W[0] = t32(nm);
        if (strcmp(model, "linear-nobias")) {
            snprintf(nm, sizeof nm, "%s.b0", pre);
            o.init_b[0] = t32(nm);
        }
    }
    decoder dec;
    ck_assert_msg(hy_dec_train(&dec, &o, X, Y, n, v, d) == 0, "%s", hy_errmsg());
    snprintf(nm, sizeof nm, "%s.loss", pre);
    const float *loss = t32(nm);
    for (int s = 0; s < 6; s++)
        ck_assert_msg(fabsf(trace[s] - loss[s]) <= 1e-5f * loss[s], "%s step %d loss %.8g vs torch %.8g", model, s,
                      trace[s], loss[s]);
    double e = 0;
    for (int l = 0; l < dec.n_layers; l++) {
        const float *Wr, *br = NULL;
        if (mlp) {
            snprintf(nm, sizeof nm, "mlp.W_%d", l);
            Wr = t32(nm);
            snprintf(nm, sizeof nm, "mlp.b_%d", l);
            br = t32(nm);
        } else {
            snprintf(nm, sizeof nm, "%s.W", pre);
            Wr = t32(nm);
            if (dec.b[0]) {
                snprintf(nm, sizeof nm, "%s.b", pre);
                br = t32(nm);
            }
        }
        for (int i = 0; i < dec.sizes[l] * dec.sizes[l + 1]; i++) e = fmax(e, fabs(dec.W[l][i] - Wr[i]));
        for (int i = 0; br && i < dec.sizes[l + 1]; i++) e = fmax(e, fabs(dec.b[l][i] - br[i]));
    }
    printf("  adam %-14s max |W - W_torch| after 6 steps %.3g\n", model, e);
    ck_assert_msg(e < 2e-6, "%s: weights differ from torch by %g", model, e);
    hy_dec_free(&dec);
}

START_TEST(test_adam_linear) { adam_case("linear", "lin", 0); }
END_TEST
START_TEST(test_adam_nobias) { adam_case("linear-nobias", "nob", 0); }
END_TEST
START_TEST(test_adam_mlp) { adam_case("mlp", "mlp", 1); }
END_TEST

static Suite *dec_parity_suite(void) {
    Suite *s = suite_create("dec_parity");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_sklearn_tall);
    tcase_add_test(tc, test_sklearn_wide);
    tcase_add_test(tc, test_predict_roundtrip);
    tcase_add_test(tc, test_adam_linear);
    tcase_add_test(tc, test_adam_nobias);
    tcase_add_test(tc, test_adam_mlp);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(dec_parity_suite)
