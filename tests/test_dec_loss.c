// test_dec_loss.c - the cosine loss of the Adam kinds (gradient against finite differences,
// at the loss and through a network) and the residual MLP (`mlp --skip ridge`).
#include <math.h>

#include "base/common.h"
#include "base/rng.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"
#include "testutil.h"

// The loss's gradient w.r.t. the prediction against central differences of the batch loss.
// hy_dec_loss_grad returns the batch mean and dz in the recipe's scale: hyper the sum of the
// items' gradients (bs times the mean's), torch the mean's. Step h = 1e-3 on values ~1: the
// central difference's truncation error is ~h^2 |f'''| ~ 1e-6 (zero for L2); the L2 loss forms
// e = p - y in float32, so the loss itself carries ~6e-8 x bs d terms ~ 2e-6 of rounding, which
// over the step 2h gives ~1e-4 absolute on gradients of ~0.3: the tolerance is 5e-4 of the
// largest gradient (the float step actually taken is the denominator).
START_TEST(test_loss_gradients) {
    const int bs = 5, d = 7;
    float pred[35], y[35], dz[35];
    mt19937 r;
    hy_mt_seed(&r, 3);
    for (int i = 0; i < bs * d; i++) pred[i] = (float)hy_mt_normal(&r), y[i] = (float)hy_mt_normal(&r);
    for (int loss = 0; loss < DEC_N_LOSSES; loss++)
        for (int rec = 0; rec < DEC_N_RECIPES; rec++) {
            hy_dec_loss_grad((dec_loss)loss, (dec_recipe)rec, pred, y, bs, d, dz);
            double scale = rec == DEC_RECIPE_HYPER ? bs : 1.0, err = 0, big = 0;
            for (int k = 0; k < bs * d; k++) {
                float keep = pred[k];
                pred[k] = keep + 1e-3f;
                double up = hy_dec_loss_grad((dec_loss)loss, (dec_recipe)rec, pred, y, bs, d, NULL);
                float hi = pred[k];
                pred[k] = keep - 1e-3f;
                double dn = hy_dec_loss_grad((dec_loss)loss, (dec_recipe)rec, pred, y, bs, d, NULL);
                float lo = pred[k];
                pred[k] = keep;
                double fd = scale * (up - dn) / ((double)hi - lo);
                err = fmax(err, fabs(fd - dz[k]));
                big = fmax(big, fabs(dz[k]));
            }
            printf("  %-6s %-5s max |dz - finite difference| %.2e of max |dz| %.3f\n", hy_dec_loss_name(loss),
                   hy_dec_recipe_name(rec), err, big);
            ck_assert_msg(err <= 5e-4 * big, "%s/%s: gradient off by %g", hy_dec_loss_name(loss),
                          hy_dec_recipe_name(rec), err);
        }
    // the cosine loss ignores the norm of the prediction
    float p2[35];
    for (int i = 0; i < bs * d; i++) p2[i] = 3.5f * pred[i];
    double a = hy_dec_loss_grad(DEC_LOSS_COSINE, DEC_RECIPE_TORCH, pred, y, bs, d, NULL);
    double b = hy_dec_loss_grad(DEC_LOSS_COSINE, DEC_RECIPE_TORCH, p2, y, bs, d, NULL);
    ck_assert_msg(fabs(a - b) < 1e-7, "cosine loss %g vs %g after scaling the prediction", a, b);
}
END_TEST

// 1 - cos of a 1-hidden-layer relu net (W1 (h, v), b1, W2 (d, h), b2, float weights) in double,
// the mean over n rows.
static double net_cos_loss(const float *W1, const float *b1, const float *W2, const float *b2, const double *X,
                           const double *Y, int n, int v, int h, int d) {
    double tot = 0, *hid = malloc(sizeof(double) * h), *p = malloc(sizeof(double) * d);
    for (int i = 0; i < n; i++) {
        for (int k = 0; k < h; k++) {
            double z = b1[k];
            for (int j = 0; j < v; j++) z += (double)W1[k * v + j] * X[i * v + j];
            hid[k] = z > 0 ? z : 0;
        }
        double pp = 0, yy = 0, py = 0;
        for (int c = 0; c < d; c++) {
            double z = b2[c];
            for (int k = 0; k < h; k++) z += (double)W2[c * h + k] * hid[k];
            p[c] = z;
            pp += z * z, yy += Y[i * d + c] * Y[i * d + c], py += z * Y[i * d + c];
        }
        tot += 1 - py / (sqrt(pp) * sqrt(yy));
    }
    free(hid), free(p);
    return tot / n;
}

// Through the network: Adam's first step moves each weight by -lr g / (|g| + eps) (bias
// corrections cancel), i.e. by -lr sign(g) where |g| >> eps. One full-batch step of a relu MLP
// with the cosine loss must move every weight whose finite-difference gradient is clearly
// non-zero (|g| > 1e-4, against float32 rounding of the forward pass ~1e-7 / h = 1e-5) in the
// direction of -g.
START_TEST(test_cosine_through_net) {
    const int n = 12, v = 6, h = 5, d = 4;
    double X[72], Y[48];
    mt19937 r;
    hy_mt_seed(&r, 11);
    for (int i = 0; i < n * v; i++) X[i] = hy_mt_normal(&r);
    for (int i = 0; i < n * d; i++) Y[i] = hy_mt_normal(&r);
    float W1[30], b1[5], W2[20], b2[4];
    for (int i = 0; i < h * v; i++) W1[i] = (float)(0.5 * hy_mt_normal(&r));
    for (int i = 0; i < h; i++) b1[i] = 0.3f;  // most units active
    for (int i = 0; i < d * h; i++) W2[i] = (float)(0.5 * hy_mt_normal(&r));
    for (int i = 0; i < d; i++) b2[i] = (float)(0.1 * hy_mt_normal(&r));
    dec_opts o;
    hy_dec_opts_default(&o, DEC_MLP);
    for (int rec = 0; rec < DEC_N_RECIPES; rec++) {
        hy_dec_opts_recipe(&o, (dec_recipe)rec);
        o.loss = DEC_LOSS_COSINE;
        o.n_hidden = 1, o.hidden[0] = h, o.act = DEC_ACT_RELU;
        o.epochs = 1, o.batch_size = n, o.shuffle = 0, o.lr = 1e-4, o.weight_decay = 0, o.quiet = 1;
        o.init_W[0] = W1, o.init_b[0] = b1, o.init_W[1] = W2, o.init_b[1] = b2;
        decoder dec;
        ck_assert_msg(hy_dec_train(&dec, &o, X, Y, n, v, d) == 0, "%s", hy_errmsg());
        ck_assert_int_eq(dec.loss, DEC_LOSS_COSINE);
        int checked = 0;
        float *layers[4] = {W1, b1, W2, b2};
        int sizes[4] = {h * v, h, d * h, d};
        float *after[4] = {dec.W[0], dec.b[0], dec.W[1], dec.b[1]};
        for (int l = 0; l < 4; l++)
            for (int k = 0; k < sizes[l]; k++) {
                float keep = layers[l][k];
                layers[l][k] = keep + 1e-2f;
                double up = net_cos_loss(W1, b1, W2, b2, X, Y, n, v, h, d);
                layers[l][k] = keep - 1e-2f;
                double dn = net_cos_loss(W1, b1, W2, b2, X, Y, n, v, h, d);
                layers[l][k] = keep;
                double g = (up - dn) / 2e-2, step = (double)after[l][k] - keep;
                if (fabs(g) < 1e-4) continue;
                checked++;
                ck_assert_msg(step * g < 0 && fabs(fabs(step) - 1e-4) < 1e-6,
                              "%s: layer part %d[%d]: gradient %g but the step was %g", hy_dec_recipe_name(rec), l, k, g,
                              step);
            }
        printf("  %-5s one Adam step against finite differences: %d weights moved by -lr sign(g)\n",
               hy_dec_recipe_name(rec), checked);
        ck_assert_int_ge(checked, 40);
        hy_dec_free(&dec);
    }
}
END_TEST

// A small problem whose test responses a linear map decodes well.
static void problem(double *X, double *Y, int n, int v, int d, uint64_t seed) {
    mt19937 r;
    hy_mt_seed(&r, seed);
    double *A = malloc(sizeof(double) * v * d);
    for (int i = 0; i < v * d; i++) A[i] = hy_mt_normal(&r);
    for (int i = 0; i < n; i++) {
        for (int t = 0; t < d; t++) Y[i * d + t] = hy_mt_normal(&r);
        for (int j = 0; j < v; j++) {
            double s = 0;
            for (int t = 0; t < d; t++) s += A[j * d + t] * Y[i * d + t];
            X[i * v + j] = tanh(0.5 * s) + 0.3 * hy_mt_normal(&r);  // nonlinear, noisy encoding
        }
    }
    free(A);
}

// Cosine training lowers the cosine loss, the file says so, and reads back.
START_TEST(test_cosine_training) {
    const int n = 80, v = 30, d = 6;
    double X[2400], Y[480];
    problem(X, Y, n, v, d, 5);
    dec_opts o;
    hy_dec_opts_default(&o, DEC_LINEAR);
    hy_dec_opts_recipe(&o, DEC_RECIPE_TORCH);
    o.loss = DEC_LOSS_COSINE, o.epochs = 60, o.lr = 1e-2, o.quiet = 1;
    float trace[200];
    o.loss_trace = trace, o.max_trace = 200;
    decoder dec, back;
    ck_assert_int_eq(hy_dec_train(&dec, &o, X, Y, n, v, d), 0);
    printf("  cosine loss: first batch %.4f, last epoch %.4f\n", trace[0], dec.final_loss);
    ck_assert_msg(dec.final_loss < 0.5 * trace[0], "cosine loss went from %g to %g", trace[0], dec.final_loss);
    char *tmp = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/c.bin", tmp);
    ck_assert_int_eq(hy_dec_save(&dec, path), 0);
    ck_assert_msg(hy_dec_load(&back, path) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(back.loss, DEC_LOSS_COSINE);
    hy_dec_free(&dec);
    hy_dec_free(&back);
}
END_TEST

// The residual MLP starts as the ridge fit (last layer zero; with a negligible learning rate it
// stays there: predictions equal ridge's to float32 rounding, 1e-5 relative), only lowers the
// training error from there, and its file keeps the ridge part.
START_TEST(test_skip_ridge) {
    const int n = 80, v = 30, d = 6;
    double X[2400], Y[480];
    problem(X, Y, n, v, d, 7);
    dec_opts o;
    hy_dec_opts_default(&o, DEC_RIDGE);
    decoder ridge;
    ck_assert_int_eq(hy_dec_train(&ridge, &o, X, Y, n, v, d), 0);
    float Pr[480], Pm[480];
    ck_assert_int_eq(hy_dec_predict(&ridge, X, n, Pr), 0);
    double mse_r = 0, scale = 0;
    for (int i = 0; i < n * d; i++) mse_r += (Pr[i] - Y[i]) * (Pr[i] - Y[i]) / (n * d), scale = fmax(scale, fabs(Pr[i]));

    hy_dec_opts_default(&o, DEC_MLP);
    hy_dec_opts_recipe(&o, DEC_RECIPE_TORCH);
    o.skip = DEC_SKIP_RIDGE, o.hidden[0] = 16, o.epochs = 1, o.lr = 1e-12, o.quiet = 1;
    decoder m0;
    ck_assert_msg(hy_dec_train(&m0, &o, X, Y, n, v, d) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_dec_predict(&m0, X, n, Pm), 0);
    double e = 0;
    for (int i = 0; i < n * d; i++) e = fmax(e, fabs(Pm[i] - Pr[i]));
    printf("  skip ridge at the start: max |mlp+ridge - ridge| %.2g (scale %.2f); ridge alpha %g vs %g\n", e, scale,
           m0.skip_alpha, ridge.alpha[0]);
    ck_assert_msg(e <= 1e-5 * scale, "the residual net does not start at the ridge fit (%g)", e);
    ck_assert(m0.skip_alpha == ridge.alpha[0]);

    o.epochs = 100, o.lr = 1e-3;
    decoder m, back;
    ck_assert_int_eq(hy_dec_train(&m, &o, X, Y, n, v, d), 0);
    ck_assert_int_eq(hy_dec_predict(&m, X, n, Pm), 0);
    double mse_m = 0;
    for (int i = 0; i < n * d; i++) mse_m += (Pm[i] - Y[i]) * (Pm[i] - Y[i]) / (n * d);
    printf("  training MSE: ridge %.4f, ridge + mlp after 100 epochs %.4f\n", mse_r, mse_m);
    ck_assert_msg(mse_m < mse_r, "the residual net did not lower the training error (%g vs ridge %g)", mse_m, mse_r);
    char *tmp = test_tmpdir(), path[512];
    snprintf(path, sizeof path, "%s/s.bin", tmp);
    ck_assert_int_eq(hy_dec_save(&m, path), 0);
    ck_assert_msg(hy_dec_load(&back, path) == 0, "%s", hy_errmsg());
    ck_assert(back.skip_W && back.skip_b && back.skip_alpha == m.skip_alpha);
    float Pb[480];
    ck_assert_int_eq(hy_dec_predict(&back, X, n, Pb), 0);
    ck_assert(memcmp(Pb, Pm, sizeof Pm) == 0);
    // cosine loss on a residual is refused
    o.loss = DEC_LOSS_COSINE;
    decoder bad;
    ck_assert_int_eq(hy_dec_train(&bad, &o, X, Y, n, v, d), HY_EARG);
    printf("  ok: %s\n", hy_errmsg());
    hy_dec_free(&ridge), hy_dec_free(&m0), hy_dec_free(&m), hy_dec_free(&back);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("dec_loss");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_loss_gradients);
    tcase_add_test(tc, test_cosine_through_net);
    tcase_add_test(tc, test_cosine_training);
    tcase_add_test(tc, test_skip_ridge);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
