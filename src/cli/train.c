// train.c - `hyper train`: fit a decoder on a dataset's training split.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "decoders/decoders.h"
#include "study/dataset.h"

static const char ABOUT[] =
    "Fits a decoder from DIR/train_fmri.npy to DIR/train_latents.npy and saves it as a weight\n"
    "file (kind \"decoder\"; apply it with `hyper predict`).\n\n"
    "models:\n"
    "  linear         HYPER: dense layer with bias, MSE, Adam, weight decay as L2 on the gradient\n"
    "  linear-nobias  the same without bias\n"
    "  ols            least squares, closed form (minimum norm when voxels > samples)\n"
    "  ridge          closed form over a log alpha grid, LOO or K-fold CV, one SVD\n"
    "  lasso          coordinate descent along a penalty path, K-fold CV per target\n"
    "  elasticnet     the same with --l1-ratio (default 0.5)\n"
    "  mlp            hidden layers + activation + dropout, Adam";

static int parse_hidden(void *dest, const char *s) {
    dec_opts *o = dest;
    return cli_parse_int_list("--hidden", s, 1, 1000000, o->hidden, DEC_MAX_LAYERS - 1, &o->n_hidden);
}

// Prints the training-set fit and, for ridge, a note when CV chose an end of the alpha grid.
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
    if (strcmp(o->model, "ridge") || !dec->alpha || o->fixed_alpha > 0 || o->n_alphas <= 1 || hy_quiet()) return;
    int lo = 0, hi = 0;
    for (int k = 0; k < dec->n_alpha; k++) {
        lo += dec->alpha[k] <= o->alpha_min * (1 + 1e-12);
        hi += dec->alpha[k] >= o->alpha_max * (1 - 1e-12);
    }
    if (lo || hi)
        fprintf(stderr, "train: note: %d target(s) chose the grid's %s alpha; the optimum may lie beyond --alpha-%s\n",
                lo ? lo : hi, lo ? "smallest" : "largest", lo ? "min" : "max");
}

int cmd_train(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *model = cli_peek(argc, argv, "model", 0);
    dec_opts o;
    hy_dec_opts_default(&o, model && hy_dec_model_known(model) ? model : "linear");
    // --activation's choices are in the order of DEC_ACT_NONE, DEC_ACT_RELU, ...
    const opt table[] = {
        OPT_STR("data", 'd', &dir, "DIR", "dataset directory (train_fmri.npy, train_latents.npy, ...)", OPT_REQUIRED),
        OPT_STR("model", 0, &model, "M", "linear | linear-nobias | ols | ridge | lasso | elasticnet | mlp",
                OPT_REQUIRED),
        OPT_STR("out", 'o', &out, "DECODER.bin", "output decoder file", OPT_REQUIRED),
        OPT_FLAG("zscore", 0, &o.zscore, "standardise voxels with training mean/sd (stored in the file)"),
        OPT_SECTION("ridge"),
        OPT_INT("alphas", 0, &o.n_alphas, "N", "alpha grid size (20)", 1, 10000),
        OPT_DOUBLE("alpha-min", 0, &o.alpha_min, "A", "smallest alpha of the grid (1e-2)", 0, HUGE_VAL, OPT_GT),
        OPT_DOUBLE("alpha-max", 0, &o.alpha_max, "A", "largest alpha of the grid (1e6)", 0, HUGE_VAL, OPT_GT),
        OPT_DOUBLE("alpha", 0, &o.fixed_alpha, "A", "fixed penalty, no CV (ridge, lasso, elasticnet)", 0, HUGE_VAL,
                   OPT_GT),
        OPT_INT("cv", 0, &o.cv_folds, "K", "ridge: 0 = exact leave-one-out (default), K >= 2 = contiguous K-fold;\n"
                "lasso/elasticnet: K-fold (5)", 0, 1000000),
        OPT_FLAG("per-target", 0, &o.per_target, "one alpha per latent dimension (default one for all)"),
        OPT_SECTION("lasso / elasticnet"),
        OPT_INT("path", 0, &o.path_len, "N", "penalties on the path (20)", 1, 10000),
        OPT_DOUBLE("path-eps", 0, &o.path_eps, "E", "alpha_min / alpha_max of the path (0.1)", 0, 1, OPT_GT | OPT_LT),
        OPT_DOUBLE("l1-ratio", 0, &o.l1_ratio, "R", "L1 share of the penalty (lasso 1, elasticnet 0.5)", 0, 1, OPT_GT),
        OPT_INT("max-iter", 0, &o.max_iter, "N", "coordinate-descent sweeps per penalty (1000)", 1, 100000000),
        OPT_DOUBLE("tol", 0, &o.tol, "T", "duality-gap tolerance relative to ||y||^2 (1e-4)", 0, HUGE_VAL, OPT_GT),
        OPT_SECTION("Adam (linear, linear-nobias, mlp)"),
        OPT_INT("epochs", 0, &o.epochs, "N", "epochs (linear 1500, mlp 200)", 1, 100000000),
        OPT_DOUBLE("lr", 0, &o.lr, "LR", "learning rate (linear 1e-5, mlp 1e-3)", 0, HUGE_VAL, OPT_GT),
        OPT_DOUBLE("weight-decay", 0, &o.weight_decay, "WD", "L2 added to the gradient (linear 0.01, mlp 0)", 0,
                   HUGE_VAL, 0),
        OPT_INT("batch", 0, &o.batch_size, "B", "training batch size (30)", 1, 100000000),
        OPT_U64("seed", 0, &o.seed, "S", "initialisation, shuffling and dropout seed (1)", 0, OPT_MAXINT),
        OPT_CLEAR("no-shuffle", 0, &o.shuffle, "keep the batches in file order"),
        OPT_SECTION("mlp"),
        OPT_FN("hidden", 0, parse_hidden, &o, "H[,H...]", "hidden layer widths (1024)"),
        OPT_CHOICE("activation", 0, &o.act, "A", "none|relu|tanh|leaky", "none | relu (default) | tanh | leaky"),
        OPT_DOUBLE("leaky-slope", 0, &o.leaky_slope, "S", "negative slope of leaky (0.01)", 0, HUGE_VAL, 0),
        OPT_DOUBLE("dropout", 0, &o.dropout, "P", "dropout on hidden activations (0)", 0, 1, OPT_LT),
        OPT_END,
    };
    const cli_command cmd = {"train", "-d DIR --model M -o DECODER.bin [options]", ABOUT, table, NULL, 0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    if (!hy_dec_model_known(model))
        return cli_usage_error(&cmd, "unknown model '%s' (linear, linear-nobias, ols, ridge, lasso, elasticnet, mlp)",
                               model);
    if (o.alpha_min >= o.alpha_max)
        return cli_usage_error(&cmd, "--alpha-min %g must be below --alpha-max %g", o.alpha_min, o.alpha_max);
    o.quiet = hy_quiet();

    hy_dataset ds;
    if (hy_ds_load(&ds, dir, DS_TRAIN | DS_TEST | DS_FMRI | DS_LATENTS, 0, 0)) return cli_fail("train");
    decoder dec;
    double t0 = hy_now();
    if (hy_dec_train(&dec, &o, ds.train.fmri, ds.train.lat, ds.train.n, ds.train.v, ds.train.d)) {
        hy_ds_free(&ds);
        return cli_fail("train");
    }
    report_fit(&dec, &o, &ds, hy_now() - t0);
    int rc = hy_dec_save(&dec, out);
    if (!rc && !hy_quiet()) {
        fprintf(stderr, "train: wrote %s: ", out);
        hy_dec_describe(&dec, stderr);
    }
    hy_dec_free(&dec);
    hy_ds_free(&ds);
    return rc ? cli_fail("train") : 0;
}
