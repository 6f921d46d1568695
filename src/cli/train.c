// train.c - `hyper train`: fit a decoder on a dataset's training split.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "decoders/decoders.h"
#include "study/curve.h"
#include "study/dataset.h"

// The about text: the models from the decoder-kind table, then the recipes.
static const char *about(void) {
    static char buf[2048];
    size_t at = (size_t)snprintf(buf, sizeof buf,
                                 "Fits a decoder from DIR/train_fmri.npy to DIR/train_latents.npy and saves it as a "
                                 "weight\nfile (kind \"decoder\"; apply it with `hyper predict`).\n\nmodels:\n");
    for (int k = 0; k < DEC_N_KINDS && at < sizeof buf; k++)
        at += (size_t)snprintf(buf + at, sizeof buf - at, "  %-14s %s\n", hy_dec_kind(k)->name,
                               hy_dec_kind(k)->summary);
    if (at < sizeof buf)
        snprintf(buf + at, sizeof buf - at,
                 "\nThe Adam models (linear, linear-nobias, mlp) train with --recipe hyper by default: HYPER's\n"
                 "MXNet/Gluon notebook (batches of 30 with the last one padded, L2Loss, MXNet's Adam with\n"
                 "lr 1e-5 and weight decay 0.01 on every parameter, weights U(-0.07, 0.07), zero biases,\n"
                 "1500 epochs). --recipe torch trains the PyTorch way (nn.Linear init, MSELoss,\n"
                 "torch.optim.Adam; mlp defaults 200 epochs, lr 1e-3, no weight decay).");
    return buf;
}

static int parse_hidden(void *dest, const char *s) {
    dec_opts *o = dest;
    return cli_parse_int_list("--hidden", s, 1, 1000000, o->hidden, DEC_MAX_LAYERS - 1, &o->n_hidden);
}

// Prints the training-set fit and, for ridge and kernel ridge, a note when CV chose an end of the
// alpha grid.
static void report_fit(const decoder *dec, const dec_opts *o, const hy_dataset *ds, double seconds) {
    float *pred = hy_malloc(sizeof(float) * (size_t)ds->train.n * ds->train.d);
    if (pred && !hy_dec_predict(dec, ds->train.fmri, ds->train.n, pred)) {
        double se = 0, tot = 0;
        size_t m = (size_t)ds->train.n * ds->train.d;
        for (size_t i = 0; i < m; i++) {
            se += (pred[i] - ds->train.lat[i]) * (pred[i] - ds->train.lat[i]);
            tot += ds->train.lat[i] * ds->train.lat[i];
        }
        if (!hy_quiet())
            fprintf(stderr, "train: training MSE %.5g (latent mean square %.5g), %.2f s\n", se / m, tot / m, seconds);
    }
    free(pred);
    if ((o->kind != DEC_RIDGE && o->kind != DEC_KERNEL_RIDGE) || !dec->alpha || o->fixed_alpha > 0 || o->n_alphas <= 1 || hy_quiet()) return;
    int lo = 0, hi = 0;
    for (int k = 0; k < dec->n_alpha; k++) {
        lo += dec->alpha[k] <= o->alpha_min * (1 + 1e-12);
        hi += dec->alpha[k] >= o->alpha_max * (1 - 1e-12);
    }
    if (lo || hi)
        fprintf(stderr, "train: note: %d target(s) chose the grid's %s alpha; the optimum may lie beyond --alpha-%s\n",
                lo ? lo : hi, lo ? "smallest" : "largest", lo ? "min" : "max");
}

static int keep_epoch(void *ctx, const decoder *dec, const dec_epoch *e) {
    (void)dec;
    return hy_curve_add(ctx, e->epoch, e->train_loss, e->test_loss);
}

// Trains o on ds; with `curve`, records each epoch's losses (test loss on ds's test split).
static int train(decoder *dec, dec_opts *o, const hy_dataset *ds, const char *init_path, loss_curve *curve) {
    dec_init init = {0};
    int rc = HY_OK;
    if (init_path && (rc = hy_dec_init_read(&init, init_path, o, ds->train.v, ds->train.d))) return rc;
    hy_dec_init_apply(&init, o);
    if (curve) {
        o->X_test = ds->test.fmri;
        o->Y_test = ds->test.lat;
        o->n_test = ds->test.n;
        o->on_epoch = keep_epoch;
        o->on_epoch_ctx = curve;
    }
    rc = hy_dec_train(dec, o, ds->train.fmri, ds->train.lat, ds->train.n, ds->train.v, ds->train.d);
    hy_dec_init_free(&init);
    return rc;
}

// Options that only some models read. Giving one to another model changes nothing, which a user
// would not guess (--epochs 50 with --model ridge): a note says so.
static const struct {
    const char *opt, *models;
} ONLY_FOR[] = {
    {"alphas", "ridge"},          {"alpha-min", "ridge"},         {"alpha-max", "ridge"},
    {"per-target", "ridge"},      {"alpha", "ridge,lasso,elasticnet"}, {"cv", "ridge,lasso,elasticnet"},
    {"path", "lasso,elasticnet"}, {"path-eps", "lasso,elasticnet"}, {"l1-ratio", "lasso,elasticnet"},
    {"max-iter", "lasso,elasticnet"}, {"tol", "lasso,elasticnet"},
    {"epochs", "linear,linear-nobias,mlp"}, {"lr", "linear,linear-nobias,mlp"},
    {"weight-decay", "linear,linear-nobias,mlp"}, {"batch", "linear,linear-nobias,mlp"},
    {"seed", "linear,linear-nobias,mlp"}, {"no-shuffle", "linear,linear-nobias,mlp"},
    {"recipe", "linear,linear-nobias,mlp"}, {"init", "linear,linear-nobias,mlp"},
    {"curve", "linear,linear-nobias,mlp"},
    {"hidden", "mlp"}, {"activation", "mlp"}, {"leaky-slope", "mlp"}, {"dropout", "mlp"},
};

// 1 if `name` is a comma-separated item of `list`.
static int in_list(const char *list, const char *name) {
    size_t n = strlen(name);
    for (const char *p = list; *p;) {
        size_t k = strcspn(p, ",");
        if (k == n && !strncmp(p, name, n)) return 1;
        p += k + (p[k] == ',');
    }
    return 0;
}

static void note_ignored_options(int argc, char **argv, const char *model) {
    for (size_t k = 0; k < sizeof ONLY_FOR / sizeof ONLY_FOR[0]; k++)
        if (cli_given(argc, argv, ONLY_FOR[k].opt) && !in_list(ONLY_FOR[k].models, model))
            hy_note("train: note: --%s is ignored by --model %s (it is read by %s)", ONLY_FOR[k].opt, model,
                    ONLY_FOR[k].models);
}

int cmd_train(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *model = cli_peek(argc, argv, "model", 0), *init = NULL, *curve_path = NULL;
    const char *recipe = cli_peek(argc, argv, "recipe", 0);
    dec_kind kind = DEC_LINEAR;
    dec_recipe rec = DEC_RECIPE_HYPER;
    if (model) hy_dec_kind_parse(model, &kind);  // a bad name is reported after parsing
    if (recipe) hy_dec_recipe_parse(recipe, &rec);
    dec_opts o;
    hy_dec_opts_default(&o, kind);
    hy_dec_opts_recipe(&o, rec);
    int rec_i = rec, loss_i = DEC_LOSS_L2, skip_i = DEC_SKIP_NONE;
    // --activation's choices are in the order of DEC_ACT_NONE, DEC_ACT_RELU, ...
    const opt table[] = {
        OPT_STR("data", 'd', &dir, "DIR", "dataset directory (train_fmri.npy, train_latents.npy, ...) or one .npz with those arrays",
                OPT_REQUIRED),
        OPT_STR("model", 0, &model, "M", "linear | linear-nobias | ols | ridge | lasso | elasticnet | mlp |\n"
                "kernel-ridge | pls (see above)", OPT_REQUIRED),
        OPT_STR("out", 'o', &out, "DECODER.bin", "output decoder file", OPT_REQUIRED),
        OPT_FLAG("zscore", 0, &o.zscore, "standardise voxels with training mean/sd (stored in the file)"),
        OPT_SECTION("ridge, kernel-ridge (and the ridge part of mlp --skip ridge)"),
        OPT_INT("alphas", 0, &o.n_alphas, "N", "alpha grid size (20)", 1, 10000),
        OPT_DOUBLE("alpha-min", 0, &o.alpha_min, "A", "smallest alpha of the grid (1e-2)", 0, HUGE_VAL, OPT_GT),
        OPT_DOUBLE("alpha-max", 0, &o.alpha_max, "A", "largest alpha of the grid (1e6)", 0, HUGE_VAL, OPT_GT),
        OPT_DOUBLE("alpha", 0, &o.fixed_alpha, "A", "fixed penalty, no CV (ridge, lasso, elasticnet)", 0, HUGE_VAL,
                   OPT_GT),
        OPT_INT("cv", 0, &o.cv_folds, "K", "ridge, kernel-ridge: 0 = exact leave-one-out (default), K >= 2 =\n"
                "contiguous K-fold; lasso/elasticnet: K-fold (5); pls: 0 = no CV (default),\n"
                "K >= 2 = K-fold choice of 1..--components", 0, 1000000),
        OPT_FLAG("per-target", 0, &o.per_target, "one alpha per latent dimension (default one for all)"),
        OPT_SECTION("lasso / elasticnet"),
        OPT_INT("path", 0, &o.path_len, "N", "penalties on the path (20)", 1, 10000),
        OPT_DOUBLE("path-eps", 0, &o.path_eps, "E", "alpha_min / alpha_max of the path (0.1)", 0, 1, OPT_GT | OPT_LT),
        OPT_DOUBLE("l1-ratio", 0, &o.l1_ratio, "R", "L1 share of the penalty (lasso 1, elasticnet 0.5)", 0, 1, OPT_GT),
        OPT_INT("max-iter", 0, &o.max_iter, "N", "coordinate-descent sweeps per penalty (1000)", 1, 100000000),
        OPT_DOUBLE("tol", 0, &o.tol, "T", "duality-gap tolerance relative to ||y||^2 (1e-4)", 0, HUGE_VAL, OPT_GT),
        OPT_SECTION("kernel-ridge"),
        OPT_CHOICE("kernel", 0, &o.kernel, "K", "linear|rbf|poly",
                   "rbf (default): exp(-gamma |x-y|^2) | poly: (gamma x.y + coef0)^degree |\nlinear: x.y"),
        OPT_DOUBLE("gamma", 0, &o.gamma, "G", "kernel width (default 1/voxels, scikit-learn's)", 0, HUGE_VAL, OPT_GT),
        OPT_INT("gammas", 0, &o.n_gammas, "N", "CV over N log-spaced gammas from --gamma-min to --gamma-max\n"
                "(default 1: --gamma only)", 1, 1000),
        OPT_DOUBLE("gamma-min", 0, &o.gamma_min, "G", "smallest gamma of the grid (1e-5)", 0, HUGE_VAL, OPT_GT),
        OPT_DOUBLE("gamma-max", 0, &o.gamma_max, "G", "largest gamma of the grid (1e-1)", 0, HUGE_VAL, OPT_GT),
        OPT_INT("degree", 0, &o.degree, "D", "poly degree (3)", 1, 1000),
        OPT_DOUBLE("coef0", 0, &o.coef0, "C", "poly offset (1)", -HUGE_VAL, HUGE_VAL, 0),
        OPT_SECTION("pls"),
        OPT_INT("components", 0, &o.components, "K", "latent components (16); with --cv F the CV picks 1..K", 1,
                1000000),
        OPT_SECTION("Adam (linear, linear-nobias, mlp)"),
        OPT_CHOICE("loss", 0, &loss_i, "L", "l2|cosine",
                   "l2 (default): the recipe's squared error | cosine: 1 - cos(pred, target)\nper item (only the "
                   "direction of a latent reaches the generator)"),
        OPT_CHOICE("recipe", 0, &rec_i, "R", "hyper|torch",
                   "hyper (default): HYPER's MXNet notebook | torch: PyTorch's rules\n(see above; sets the defaults "
                   "below)"),
        OPT_INT("epochs", 0, &o.epochs, "N", "epochs (1500; torch mlp 200)", 1, 100000000),
        OPT_DOUBLE("lr", 0, &o.lr, "LR", "learning rate (1e-5; torch mlp 1e-3)", 0, HUGE_VAL, OPT_GT),
        OPT_DOUBLE("weight-decay", 0, &o.weight_decay, "WD", "L2 added to the gradient (0.01; torch mlp 0)", 0,
                   HUGE_VAL, 0),
        OPT_INT("batch", 0, &o.batch_size, "B", "training batch size (30)", 1, 100000000),
        OPT_U64("seed", 0, &o.seed, "S", "initialisation, shuffling and dropout seed (1)", 0, OPT_MAXINT),
        OPT_CLEAR("no-shuffle", 0, &o.shuffle, "keep the batches in file order"),
        OPT_STR("init", 0, &init, "INIT.npz",
                "initial weights instead of random ones: arrays weight (latents, voxels)\n"
                "and bias (latents); for mlp weight0, bias0, weight1, ...", 0),
        OPT_STR("curve", 0, &curve_path, "CURVE.csv",
                "write each epoch's train and test loss (epoch,train_loss,test_loss;\n"
                "the test loss on DIR's test split)", 0),
        OPT_SECTION("mlp"),
        OPT_FN("hidden", 0, parse_hidden, &o, "H[,H...]", "hidden layer widths (1024)"),
        OPT_CHOICE("activation", 0, &o.act, "A", hy_dec_act_names(),
                   "relu (default) | leaky | tanh | sigmoid | elu | softplus | none"),
        OPT_DOUBLE("leaky-slope", 0, &o.leaky_slope, "S", "negative slope of leaky (0.01)", 0, HUGE_VAL, 0),
        OPT_DOUBLE("dropout", 0, &o.dropout, "P", "dropout on hidden activations (0)", 0, 1, OPT_LT),
        OPT_CHOICE("skip", 0, &skip_i, "S", "none|ridge",
                   "ridge: a residual net, ridge (LOO over the alpha grid, or --alpha)\n"
                   "plus an MLP trained on its residual, starting at zero (L2 loss)"),
        OPT_END,
    };
    const cli_command cmd = {"train", "-d DIR --model M -o DECODER.bin [options]", about(), table, NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    if (hy_dec_kind_parse(model, &kind)) return cli_usage_error(&cmd, "%s", hy_errmsg());
    if (o.alpha_min >= o.alpha_max)
        return cli_usage_error(&cmd, "--alpha-min %g must be below --alpha-max %g", o.alpha_min, o.alpha_max);
    if ((init || curve_path) && !hy_dec_kind(kind)->iterative)
        return cli_usage_error(&cmd, "--%s is for the Adam models (linear, linear-nobias, mlp), not %s",
                               init ? "init" : "curve", model);
    o.recipe = (dec_recipe)rec_i;  // (the same as peeked: its defaults are in place)
    o.loss = (dec_loss)loss_i;
    o.skip = (dec_skip)skip_i;
    if (o.loss != DEC_LOSS_L2 && !hy_dec_kind(kind)->iterative)
        return cli_usage_error(&cmd, "--loss is for the Adam models (linear, linear-nobias, mlp), not %s", model);
    if (o.skip != DEC_SKIP_NONE && kind != DEC_MLP) return cli_usage_error(&cmd, "--skip is for mlp, not %s", model);
    if (o.skip != DEC_SKIP_NONE && o.loss != DEC_LOSS_L2)
        return cli_usage_error(&cmd, "--skip ridge trains on ridge's residual with the L2 loss; drop --loss cosine");
    if (o.gamma_min >= o.gamma_max)
        return cli_usage_error(&cmd, "--gamma-min %g must be below --gamma-max %g", o.gamma_min, o.gamma_max);
    o.quiet = hy_quiet();
    note_ignored_options(argc, argv, model);

    hy_dataset ds;
    if (hy_ds_load(&ds, dir, DS_TRAIN | DS_TEST | DS_FMRI | DS_LATENTS, 0, 0)) return cli_fail("train");
    decoder dec;
    loss_curve curve;
    hy_curve_init(&curve);
    double t0 = hy_now();
    int rc = train(&dec, &o, &ds, init, curve_path ? &curve : NULL);
    if (!rc) {
        report_fit(&dec, &o, &ds, hy_now() - t0);
        rc = hy_dec_save(&dec, out);
        if (!rc && curve_path) rc = hy_curve_write_csv(curve_path, &curve, 0);
        if (!rc && !hy_quiet()) {
            fprintf(stderr, "train: wrote %s: ", out);
            hy_dec_describe(&dec, stderr);
        }
        hy_dec_free(&dec);
    }
    hy_curve_free(&curve);
    hy_ds_free(&ds);
    return rc ? cli_fail("train") : 0;
}
