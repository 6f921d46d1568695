// cmd_train.c - `hyper train`: fit a decoder on a dataset's training split.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"
#include "study/dataset.h"
#include "decoders/decoders.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: hyper train -d DIR --model M -o DECODER.bin [options]\n\n"
            "Fits a decoder from DIR/train_fmri.npy to DIR/train_latents.npy and saves it as a weight\n"
            "file (kind \"decoder\"; apply it with `hyper predict`).\n\n"
            "models:\n");
    for (int k = 0; k < DEC_N_KINDS; k++) fprintf(f, "  %-14s %s\n", hy_dec_kind(k)->name, hy_dec_kind(k)->summary);
    fprintf(f,
            "\n"
            "common:     --zscore (standardise voxels with training mean/sd, stored in the file)\n"
            "ridge:      --alphas N (20) --alpha-min A (1e-2) --alpha-max A (1e6) | --alpha A (fixed)\n"
            "            --cv K (0 = exact leave-one-out [default]; K >= 2 = contiguous K-fold)\n"
            "            --per-target (one alpha per latent dim; default one alpha for all)\n"
            "lasso/enet: --path N (20 penalties) --path-eps E (0.1: alpha_min/alpha_max) --cv K (5)\n"
            "            --alpha A (fixed, no CV) --l1-ratio R --max-iter N (1000) --tol T (1e-4)\n"
            "Adam:       --epochs N (linear 1500, mlp 200) --lr LR (linear 1e-5, mlp 1e-3)\n"
            "            --weight-decay WD (linear 0.01, mlp 0) --batch B (30) --seed S (0) --no-shuffle\n"
            "mlp:        --hidden 1024[,512...] --activation relu|tanh|leaky (relu) --leaky-slope S (0.01)\n"
            "            --dropout P (0)\n"
            "output:     --quiet (no progress line; progress shows on a tty or with HY_PROGRESS=1)\n");
}

static int parse_hidden(const char *s, dec_opts *o) {
    o->n_hidden = 0;
    const char *p = s;
    while (*p) {
        char *e;
        long v = strtol(p, &e, 10);
        if (e == p || v < 1 || v > 1000000 || o->n_hidden >= DEC_MAX_LAYERS - 1)
            return hy_err(HY_EARG, "--hidden: '%s' is not a list like 1024,512 (at most %d layers)", s, DEC_MAX_LAYERS - 1);
        o->hidden[o->n_hidden++] = (int)v;
        p = e;
        if (*p == ',') p++;
        else if (*p) return hy_err(HY_EARG, "--hidden: '%s' is not a list like 1024,512", s);
    }
    return o->n_hidden ? HY_OK : hy_err(HY_EARG, "--hidden: empty list");
}

int cmd_train(int argc, char **argv) {
    const char *dir = NULL, *out = NULL, *model = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            help(stdout);
            return 0;
        }
        if (!strcmp(argv[i], "--model") && i + 1 < argc) model = argv[i + 1];
    }
    if (!model) {
        fprintf(stderr, "hyper train: --model is required (see --help)\n");
        return 2;
    }
    dec_kind kind;
    if (hy_dec_kind_parse(model, &kind)) {
        fprintf(stderr, "hyper train: %s\n", hy_errmsg());
        return 2;
    }
    dec_opts o;
    hy_dec_opts_default(&o, kind);
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        long l;
        int rc = 0;
        if (!strcmp(a, "--zscore")) { o.zscore = 1; continue; }
        if (!strcmp(a, "--per-target")) { o.per_target = 1; continue; }
        if (!strcmp(a, "--no-shuffle")) { o.shuffle = 0; continue; }
        if (!strcmp(a, "--quiet")) { o.quiet = 1; continue; }
        if (!v) {
            fprintf(stderr, "hyper train: %s needs a value or is unknown (see --help)\n", a);
            return 2;
        }
        if (!strcmp(a, "-d") || !strcmp(a, "--data")) dir = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--model")) ;
        else if (!strcmp(a, "--alphas")) { rc = hy_cli_int(a, v, 1, 10000, &l); o.n_alphas = (int)l; }
        else if (!strcmp(a, "--alpha-min")) rc = hy_cli_double(a, v, &o.alpha_min);
        else if (!strcmp(a, "--alpha-max")) rc = hy_cli_double(a, v, &o.alpha_max);
        else if (!strcmp(a, "--alpha")) {
            rc = hy_cli_double(a, v, &o.fixed_alpha);
            if (!rc && !(o.fixed_alpha > 0)) rc = hy_err(HY_EARG, "--alpha must be > 0");
        } else if (!strcmp(a, "--cv")) { rc = hy_cli_int(a, v, 0, 1000000, &l); o.cv_folds = (int)l; }
        else if (!strcmp(a, "--l1-ratio")) rc = hy_cli_double(a, v, &o.l1_ratio);
        else if (!strcmp(a, "--path")) { rc = hy_cli_int(a, v, 1, 10000, &l); o.path_len = (int)l; }
        else if (!strcmp(a, "--path-eps")) rc = hy_cli_double(a, v, &o.path_eps);
        else if (!strcmp(a, "--max-iter")) { rc = hy_cli_int(a, v, 1, 100000000, &l); o.max_iter = (int)l; }
        else if (!strcmp(a, "--tol")) rc = hy_cli_double(a, v, &o.tol);
        else if (!strcmp(a, "--epochs")) { rc = hy_cli_int(a, v, 1, 100000000, &l); o.epochs = (int)l; }
        else if (!strcmp(a, "--lr")) {
            rc = hy_cli_double(a, v, &o.lr);
            if (!rc && !(o.lr > 0)) rc = hy_err(HY_EARG, "--lr must be > 0");
        }
        else if (!strcmp(a, "--weight-decay")) rc = hy_cli_double(a, v, &o.weight_decay);
        else if (!strcmp(a, "--batch")) { rc = hy_cli_int(a, v, 1, 100000000, &l); o.batch_size = (int)l; }
        else if (!strcmp(a, "--seed")) { rc = hy_cli_int(a, v, 0, 2147483647L, &l); o.seed = (uint64_t)l; }
        else if (!strcmp(a, "--hidden")) rc = parse_hidden(v, &o);
        else if (!strcmp(a, "--activation")) rc = hy_dec_act_parse(v, &o.act);
        else if (!strcmp(a, "--leaky-slope")) rc = hy_cli_double(a, v, &o.leaky_slope);
        else if (!strcmp(a, "--dropout")) {
            rc = hy_cli_double(a, v, &o.dropout);
            if (!rc && !(o.dropout >= 0 && o.dropout < 1)) rc = hy_err(HY_EARG, "--dropout must be in [0, 1)");
        }
        else {
            fprintf(stderr, "hyper train: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (rc) {
            fprintf(stderr, "hyper train: %s\n", hy_errmsg());
            return 2;
        }
        i++;
    }
    if (!dir || !out) {
        fprintf(stderr, "hyper train: -d DIR and -o DECODER.bin are required (see --help)\n");
        return 2;
    }
    hy_dataset ds;
    if (hy_ds_load(&ds, dir, DS_TRAIN | DS_TEST | DS_FMRI | DS_LATENTS, 0, 0)) return hy_cli_fail("train");
    decoder dec;
    double t0 = hy_now();
    int rc = hy_dec_train(&dec, &o, ds.train.fmri, ds.train.lat, ds.train.n, ds.train.v, ds.train.d);
    if (rc) {
        hy_ds_free(&ds);
        return hy_cli_fail("train");
    }
    double dt = hy_now() - t0;
    // training-set fit
    float *pred = hy_malloc(sizeof(float) * (size_t)ds.train.n * ds.train.d);
    if (pred && !hy_dec_predict(&dec, ds.train.fmri, ds.train.n, pred)) {
        double se = 0, tot = 0;
        size_t m = (size_t)ds.train.n * ds.train.d;
        for (size_t i = 0; i < m; i++) {
            se += (pred[i] - ds.train.lat[i]) * (pred[i] - ds.train.lat[i]);
            tot += ds.train.lat[i] * ds.train.lat[i];
        }
        fprintf(stderr, "train: training MSE %.5g (latent mean square %.5g), %.2f s\n", se / m, tot / m, dt);
    }
    free(pred);
    if (o.kind == DEC_RIDGE && dec.alpha && o.fixed_alpha <= 0 && o.n_alphas > 1) {
        int lo = 0, hi = 0;
        for (int k = 0; k < dec.n_alpha; k++) {
            lo += dec.alpha[k] <= o.alpha_min * (1 + 1e-12);
            hi += dec.alpha[k] >= o.alpha_max * (1 - 1e-12);
        }
        if (lo || hi)
            fprintf(stderr, "train: note: %d target(s) chose the grid's %s alpha; the optimum may lie beyond "
                            "--alpha-%s\n", lo ? lo : hi, lo ? "smallest" : "largest", lo ? "min" : "max");
    }
    rc = hy_dec_save(&dec, out);
    if (!rc) {
        fprintf(stderr, "train: wrote %s: ", out);
        hy_dec_describe(&dec, stderr);
    }
    hy_dec_free(&dec);
    hy_ds_free(&ds);
    return rc ? hy_cli_fail("train") : 0;
}
