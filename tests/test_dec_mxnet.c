// test_dec_mxnet.c - `--recipe hyper` (HYPER's MXNet/Gluon rules, src/decoders/adam.c) against
// the numpy re-implementation of those rules (convert/ref/mxnet_adam_ref.py, fixtures from
// convert/golden/golden_mxnet.py in tests/fixtures/mxnet/): 5 epochs of linear, linear-nobias
// and an MLP from the same initial weights (read with the --init .npz reader) and the same
// batches; the weights and the printed train/test losses per epoch must agree. The reference
// also trains with one rule switched off at a time; the C weights must be far from each of
// those, so the comparison notices a wrong rule. Also: bad init files, and the per-epoch hook
// (a snapshot after e epochs equals a run of e epochs).
#include <math.h>

#include "base/common.h"
#include "base/wfile.h"
#include "decoders/decoders.h"
#include "study/dataset.h"
#include "testutil.h"

#define FX "tests/fixtures/mxnet/"
// Weights after 15 float32 Adam steps, relative to the largest reference weight: both sides
// apply the same float32 operations in the same order; only the sums inside the matrix
// products differ in order (~1e-7 relative per gradient element), which moves an update of
// size lr_t by ~1e-7 of itself and now and then flips a weight's last bit (6e-8 relative).
#define W_TOL 1e-6
// Losses: float32 predictions summed in double on both sides; same argument, per epoch.
#define LOSS_TOL 1e-6

static wfile g_ref;
static hy_dataset g_ds;

static void setup(void) {
    ck_assert_msg(hy_wf_open(&g_ref, FX "ref.bin") == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_ds_load(&g_ds, FX "data", DS_TRAIN | DS_TEST | DS_FMRI | DS_LATENTS, 0, 0) == 0, "%s",
                  hy_errmsg());
}
static void teardown(void) {
    hy_wf_close(&g_ref);
    hy_ds_free(&g_ds);
}

static const float *ref32(const char *name) {
    const float *p;
    ck_assert_msg(hy_wf_get_f32(&g_ref, name, -1, NULL, &p) == 0, "%s", hy_errmsg());
    return p;
}
static const double *ref64(const char *name) {
    const wf_tensor *t = hy_wf_find(&g_ref, name);
    ck_assert_msg(t && t->dtype == WF_F64, "%s missing", name);
    return t->data;
}

typedef struct {
    double train[16], test[16];
    int n;
    float *W_at;      // weights of layer 0 copied at epoch `snap_at`
    int snap_at;
} curve_rec;

static int on_epoch(void *ctx, const decoder *dec, const dec_epoch *e) {
    curve_rec *c = ctx;
    ck_assert_int_eq(e->epoch, c->n + 1);
    ck_assert_int_eq(dec->epochs, e->epoch);
    ck_assert(dec->final_loss == e->train_loss);
    c->train[c->n] = e->train_loss;
    c->test[c->n++] = e->test_loss;
    if (c->W_at && e->epoch == c->snap_at)
        memcpy(c->W_at, dec->W[0], sizeof(float) * (size_t)dec->sizes[0] * dec->sizes[1]);
    return 0;
}

static void hyper_opts(dec_opts *o, dec_kind kind) {
    hy_dec_opts_default(o, kind);  // recipe hyper: batch 30, wd 0.01 already
    ck_assert_int_eq(o->recipe, DEC_RECIPE_HYPER);
    ck_assert_int_eq(o->batch_size, 30);
    ck_assert(o->weight_decay == 0.01 && o->lr == 1e-5 && o->epochs == 1500);
    o->epochs = 5;
    o->lr = 1e-3;
    o->seed = 7;
    o->quiet = 1;
    o->X_test = g_ds.test.fmri;
    o->Y_test = g_ds.test.lat;
    o->n_test = g_ds.test.n;
}

// max |a - b| over n values divided by max |b|
static double rel_diff(const float *a, const float *b, size_t n) {
    double e = 0, s = 0;
    for (size_t i = 0; i < n; i++) e = fmax(e, fabs((double)a[i] - b[i])), s = fmax(s, fabs(b[i]));
    return e / s;
}

// Trains case `name` and compares with the reference; returns the decoder (caller frees).
static void run_case(const char *name, dec_opts *o, const char *init, decoder *dec) {
    dec_init in;
    ck_assert_msg(hy_dec_init_read(&in, init, o, g_ds.train.v, g_ds.train.d) == 0, "%s", hy_errmsg());
    hy_dec_init_apply(&in, o);
    curve_rec c = {0};
    o->on_epoch = on_epoch;
    o->on_epoch_ctx = &c;
    ck_assert_msg(hy_dec_train(dec, o, g_ds.train.fmri, g_ds.train.lat, g_ds.train.n, g_ds.train.v, g_ds.train.d) == 0,
                  "%s", hy_errmsg());
    hy_dec_init_free(&in);
    ck_assert_int_eq(c.n, 5);
    char nm[64];
    double worst = 0;
    for (int l = 0; l < dec->n_layers; l++) {
        snprintf(nm, sizeof nm, "%s.W_%d", name, l);
        worst = fmax(worst, rel_diff(dec->W[l], ref32(nm), (size_t)dec->sizes[l] * dec->sizes[l + 1]));
        if (dec->b[l]) {
            snprintf(nm, sizeof nm, "%s.b_%d", name, l);
            worst = fmax(worst, rel_diff(dec->b[l], ref32(nm), dec->sizes[l + 1]));
        }
    }
    snprintf(nm, sizeof nm, "%s.train", name);
    const double *tr = ref64(nm);
    snprintf(nm, sizeof nm, "%s.test", name);
    const double *te = ref64(nm);
    double lworst = 0;
    for (int e = 0; e < 5; e++)
        lworst = fmax(lworst, fmax(fabs(c.train[e] - tr[e]) / tr[e], fabs(c.test[e] - te[e]) / te[e]));
    printf("  %-7s weights max rel diff %.2g, losses %.2g (epoch 5: train %.6f test %.6f)\n", name, worst, lworst,
           c.train[4], c.test[4]);
    ck_assert_msg(worst <= W_TOL, "%s: weights differ from the MXNet-rule reference by %g", name, worst);
    ck_assert_msg(lworst <= LOSS_TOL, "%s: losses differ from the reference by %g", name, lworst);
}

// The weights (or the bias) must be far from the reference trained with `variant` (one rule off).
static void far_from(const decoder *dec, const char *variant) {
    char nm[64];
    snprintf(nm, sizeof nm, "%s.W_0", variant);
    double d = rel_diff(dec->W[0], ref32(nm), (size_t)dec->sizes[0] * dec->sizes[1]);
    if (dec->b[0]) {
        snprintf(nm, sizeof nm, "%s.b_0", variant);
        d = fmax(d, rel_diff(dec->b[0], ref32(nm), dec->sizes[1]));
    }
    printf("    vs %-16s %.2g\n", variant, d);
    ck_assert_msg(d > 100 * W_TOL, "%s: only %g away; the test would not notice that rule", variant, d);
}

START_TEST(linear_matches_mxnet_rules) {
    dec_opts o;
    decoder dec;
    hyper_opts(&o, DEC_LINEAR);
    run_case("lin", &o, FX "init_lin.npz", &dec);
    far_from(&dec, "lin.nopad");
    far_from(&dec, "lin.nowd_bias");
    far_from(&dec, "lin.mse");
    hy_dec_free(&dec);
    hyper_opts(&o, DEC_LINEAR);
    o.adam_eps = 1e-3;
    run_case("lineps", &o, FX "init_lin.npz", &dec);
    far_from(&dec, "lineps.eps_torch");
    hy_dec_free(&dec);
    hyper_opts(&o, DEC_LINEAR);
    o.shuffle = 0;
    run_case("noshuf", &o, FX "init_lin.npz", &dec);
    far_from(&dec, "lin");  // shuffling matters too
    hy_dec_free(&dec);
}
END_TEST

START_TEST(nobias_and_mlp_match_mxnet_rules) {
    dec_opts o;
    decoder dec;
    hyper_opts(&o, DEC_LINEAR_NOBIAS);
    run_case("nob", &o, FX "init_nob.npz", &dec);
    ck_assert_ptr_null(dec.b[0]);
    hy_dec_free(&dec);
    hyper_opts(&o, DEC_MLP);
    o.n_hidden = 1;
    o.hidden[0] = 16;
    o.act = DEC_ACT_RELU;
    run_case("mlp", &o, FX "init_mlp.npz", &dec);
    hy_dec_free(&dec);
    // every other activation, forward and backward, against the reference's formulas
    for (int a = DEC_ACT_TANH; a < DEC_N_ACTS; a++) {
        hyper_opts(&o, DEC_MLP);
        o.n_hidden = 1;
        o.hidden[0] = 16;
        o.act = a;
        char name[32];
        snprintf(name, sizeof name, "mlp_%s", hy_dec_act_name(a));
        run_case(name, &o, FX "init_mlp.npz", &dec);
        hy_dec_free(&dec);
    }
}
END_TEST

// Without --init the recipe draws U(-0.07, 0.07) weights and zero biases.
START_TEST(hyper_init) {
    dec_opts o;
    decoder dec;
    hyper_opts(&o, DEC_MLP);
    o.n_hidden = 1;
    o.hidden[0] = 300;
    o.epochs = 1;
    o.lr = 1e-30;  // the step leaves the initial weights (within float32 rounding of 1e-30)
    o.weight_decay = 0;
    ck_assert_int_eq(hy_dec_train(&dec, &o, g_ds.train.fmri, g_ds.train.lat, g_ds.train.n, g_ds.train.v, 4), 0);
    double lo = 1, hi = -1, s2 = 0;
    for (int i = 0; i < 300 * 20; i++) {
        lo = fmin(lo, dec.W[0][i]), hi = fmax(hi, dec.W[0][i]);
        s2 += (double)dec.W[0][i] * dec.W[0][i];
    }
    // 6000 uniform draws on (-0.07, 0.07): the extremes come within 0.07 * 2/6000 of the ends
    // except with probability ~e^-4; the variance 0.07^2/3 = 1.63e-3 within 4 %
    ck_assert_msg(lo >= -0.07 && lo < -0.069 && hi <= 0.07 && hi > 0.069, "range %g..%g", lo, hi);
    ck_assert_double_eq_tol(s2 / 6000, 0.07 * 0.07 / 3, 0.04 * 0.07 * 0.07 / 3);
    for (int i = 0; i < 300; i++) ck_assert(fabsf(dec.b[0][i]) < 1e-20f);
    hy_dec_free(&dec);
}
END_TEST

// A snapshot taken by the per-epoch hook after 3 of 5 epochs is bit-identical to a 3-epoch run.
START_TEST(snapshot_equals_shorter_run) {
    dec_opts o;
    decoder a, b;
    hyper_opts(&o, DEC_MLP);
    o.n_hidden = 1;
    o.hidden[0] = 8;
    o.dropout = 0.2;  // dropout draws come from the same stream as the shuffles
    float W3[8 * 20];
    curve_rec c = {.W_at = W3, .snap_at = 3};
    o.on_epoch = on_epoch;
    o.on_epoch_ctx = &c;
    ck_assert_int_eq(hy_dec_train(&a, &o, g_ds.train.fmri, g_ds.train.lat, 70, 20, 4), 0);
    curve_rec c3 = {0};
    o.on_epoch_ctx = &c3;
    o.epochs = 3;
    ck_assert_int_eq(hy_dec_train(&b, &o, g_ds.train.fmri, g_ds.train.lat, 70, 20, 4), 0);
    ck_assert(memcmp(W3, b.W[0], sizeof W3) == 0);
    ck_assert(memcmp(c.train, c3.train, 3 * sizeof(double)) == 0 && memcmp(c.test, c3.test, 3 * sizeof(double)) == 0);
    ck_assert(memcmp(W3, a.W[0], sizeof W3) != 0);  // and training went on after the snapshot
    hy_dec_free(&a);
    hy_dec_free(&b);
}
END_TEST

static void expect_init_error(const char *path, dec_kind kind, int hidden, const char *needle) {
    dec_opts o;
    hy_dec_opts_default(&o, kind);
    if (hidden) o.n_hidden = 1, o.hidden[0] = hidden;
    dec_init in;
    int r = hy_dec_init_read(&in, path, &o, 20, 4);
    ck_assert_msg(r < 0, "%s accepted", path);
    ck_assert_msg(strstr(hy_errmsg(), needle) && strstr(hy_errmsg(), path) && !strchr(hy_errmsg(), '\n'),
                  "message '%s' lacks '%s'", hy_errmsg(), needle);
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_null(in.W[0]);
}

START_TEST(bad_init_files) {
    expect_init_error(FX "init_nob.npz", DEC_LINEAR, 0, "no array 'bias' (it has: weight)");
    expect_init_error(FX "init_lin.npz", DEC_LINEAR_NOBIAS, 0, "unexpected array 'bias' for linear-nobias");
    expect_init_error(FX "init_mlp.npz", DEC_LINEAR, 0, "no array 'weight' (it has: weight0, bias0, weight1, bias1)");
    expect_init_error(FX "init_mlp.npz", DEC_MLP, 8, "array 'weight0' is (16, 20), expected (8, 20)");
    expect_init_error(FX "init_lin.npz", DEC_RIDGE, 0, "initial weights are for the Adam-trained models, not ridge");
    expect_init_error(FX "data/train_fmri.npy", DEC_LINEAR, 0, "no zip end record");
    expect_init_error(FX "missing.npz", DEC_LINEAR, 0, "cannot open");
    dec_opts o;
    hy_dec_opts_default(&o, DEC_LINEAR);
    dec_init in;
    ck_assert_int_eq(hy_dec_init_read(&in, FX "init_lin.npz", &o, 21, 4), HY_ESHAPE);  // 21 voxels
    ck_assert_str_eq(hy_errmsg(), FX "init_lin.npz: array 'weight' is (4, 20), expected (4, 21)");
}
END_TEST

// The same through the command line: `hyper train --recipe hyper --init ... --curve ...` writes
// the reference weights and the notebook's printed losses; bad --init files fail in one line.
START_TEST(cli_train_hyper) {
    char *d = test_tmpdir(), *out;
    int rc = run_hyper(&out, "train -d " FX "data --model linear --recipe hyper --init " FX "init_lin.npz --epochs 5 "
                             "--lr 1e-3 --seed 7 -o %s/lin.bin --curve %s/curve.csv --threads 1", d, d);
    ck_assert_msg(rc == 0, "%s", out);
    ck_assert_msg(strstr(out, "recipe hyper, 5 epochs, batch 30"), "%s", out);
    free(out);
    char p[512];
    snprintf(p, sizeof p, "%s/lin.bin", d);
    decoder dec;
    ck_assert_msg(hy_dec_load(&dec, p) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(dec.recipe, DEC_RECIPE_HYPER);
    ck_assert_double_le(rel_diff(dec.W[0], ref32("lin.W_0"), 80), W_TOL);
    ck_assert_double_le(rel_diff(dec.b[0], ref32("lin.b_0"), 4), W_TOL);
    hy_dec_free(&dec);
    snprintf(p, sizeof p, "%s/curve.csv", d);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    char line[256];
    ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
    ck_assert_str_eq(line, "epoch,train_loss,test_loss\n");
    const double *tr = ref64("lin.train"), *te = ref64("lin.test");
    for (int e = 0; e < 5; e++) {
        int ep;
        double a, b;
        ck_assert_ptr_nonnull(fgets(line, sizeof line, f));
        ck_assert_int_eq(sscanf(line, "%d,%lf,%lf", &ep, &a, &b), 3);
        ck_assert_int_eq(ep, e + 1);
        ck_assert_msg(fabs(a - tr[e]) <= LOSS_TOL * tr[e] && fabs(b - te[e]) <= LOSS_TOL * te[e], "epoch %d: %s", ep,
                      line);
    }
    ck_assert_ptr_null(fgets(line, sizeof line, f));
    fclose(f);
    // bad --init: wrong shape (exit 1, file and array named, no output), not an Adam model (exit 2)
    rc = run_hyper(&out, "train -d " FX "data --model mlp --hidden 8 --init " FX "init_mlp.npz -o %s/bad.bin", d);
    ck_assert_msg(rc == 1 && strstr(out, "init_mlp.npz: array 'weight0' is (16, 20), expected (8, 20)") &&
                      strchr(out, '\n') == out + strlen(out) - 1, "%d: %s", rc, out);
    free(out);
    snprintf(p, sizeof p, "%s/bad.bin", d);
    ck_assert(!file_exists(p));
    rc = run_hyper(&out, "train -d " FX "data --model ridge --init " FX "init_lin.npz -o %s/bad.bin", d);
    ck_assert_msg(rc == 2 && strstr(out, "--init is for the Adam models"), "%d: %s", rc, out);
    free(out);
    rc = run_hyper(&out, "train -d " FX "data --model linear --recipe mxnet -o %s/bad.bin", d);
    ck_assert_msg(rc == 2 && strstr(out, "--recipe: 'mxnet' is not one of hyper|torch"), "%d: %s", rc, out);
    free(out);
    ck_assert(!file_exists(p));
}
END_TEST

static Suite *mxnet_suite(void) {
    Suite *s = suite_create("dec_mxnet");
    TCase *tc = tcase_create("core");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, linear_matches_mxnet_rules);
    tcase_add_test(tc, nobias_and_mlp_match_mxnet_rules);
    tcase_add_test(tc, hyper_init);
    tcase_add_test(tc, snapshot_equals_shorter_run);
    tcase_add_test(tc, bad_init_files);
    tcase_add_test(tc, cli_train_hyper);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(mxnet_suite)
