// decoder.c - the decoder-kind table, options, the common training frame (layers, z-scoring),
// prediction, weight-file I/O.
//
// The decoder file layout is documented in include/decoders/decoders.h. Prediction is one float32
// sgemm per layer (outside any OpenMP region). Each kind's trainer lives with its solver
// (closed_form.c, lasso.c, adam.c); this file only dispatches through the table.
#include <cblas.h>  // cblas_sgemm
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/wfile.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"

// --- the kinds ---------------------------------------------------------------------------

static void defaults_ridge(dec_opts *o) { o->cv_folds = 0; }
static void defaults_enet(dec_opts *o) { o->l1_ratio = 0.5; }
static void defaults_mlp(dec_opts *o) {
    o->n_hidden = 1;
    o->hidden[0] = 1024;
    o->act = DEC_ACT_RELU;
}
static void defaults_kernel_ridge(dec_opts *o) {
    o->cv_folds = 0;
    o->kernel = KR_RBF;
}
static void defaults_pls(dec_opts *o) { o->cv_folds = 0; }

static const dec_kind_info KINDS[DEC_N_KINDS] = {
    [DEC_LINEAR] = {"linear", "HYPER: dense layer with bias, Adam", 1, 1, NULL, hy_dec_train_adam,
                    hy_dec_net_predict, hy_dec_save_adam, hy_dec_load_adam},
    [DEC_LINEAR_NOBIAS] = {"linear-nobias", "the same without bias", 1, 0, NULL, hy_dec_train_adam,
                           hy_dec_net_predict, hy_dec_save_adam, hy_dec_load_adam},
    [DEC_OLS] = {"ols", "least squares, closed form (minimum norm when voxels > samples)", 0, 1, NULL,
                 hy_dec_train_ols, hy_dec_net_predict, NULL, NULL},
    [DEC_RIDGE] = {"ridge", "closed form over a log alpha grid, LOO or K-fold CV, one SVD", 0, 1, defaults_ridge,
                   hy_dec_train_ridge, hy_dec_net_predict, hy_dec_save_penalty, hy_dec_load_penalty},
    [DEC_LASSO] = {"lasso", "coordinate descent along a penalty path (strong rules), K-fold CV per target", 0, 1, NULL,
                   hy_dec_train_enet, hy_dec_net_predict, hy_dec_save_penalty, hy_dec_load_penalty},
    [DEC_ELASTICNET] = {"elasticnet", "the same with an L2 share (l1 ratio 0.5)", 0, 1, defaults_enet,
                        hy_dec_train_enet, hy_dec_net_predict, hy_dec_save_penalty, hy_dec_load_penalty},
    [DEC_MLP] = {"mlp", "hidden layers + activation + dropout, Adam (--skip ridge: on ridge's residual)", 1, 1,
                 defaults_mlp, hy_dec_train_mlp, hy_dec_net_predict, hy_dec_save_adam, hy_dec_load_adam},
    [DEC_KERNEL_RIDGE] = {"kernel-ridge", "kernel ridge in the dual (rbf, poly, linear), LOO or K-fold CV over alpha/gamma",
                          0, 0, defaults_kernel_ridge, hy_dec_train_kernel_ridge, hy_dec_predict_kernel_ridge,
                          hy_dec_save_kernel_ridge, hy_dec_load_kernel_ridge},
    [DEC_PLS] = {"pls", "partial least squares (NIPALS to convergence), optional K-fold CV over components", 0, 1,
                 defaults_pls, hy_dec_train_pls, hy_dec_net_predict, hy_dec_save_pls, hy_dec_load_pls},
};

const dec_kind_info *hy_dec_kind(dec_kind k) { return k >= 0 && k < DEC_N_KINDS ? &KINDS[k] : NULL; }

const char *hy_dec_kind_names(void) {
    static char list[256];
    if (!list[0]) {
        size_t at = 0;
        for (int k = 0; k < DEC_N_KINDS; k++)
            at += (size_t)snprintf(list + at, sizeof list - at, "%s%s", k ? ", " : "", KINDS[k].name);
    }
    return list;
}

int hy_dec_kind_parse(const char *name, dec_kind *out) {
    for (int k = 0; k < DEC_N_KINDS; k++)
        if (!strcmp(name, KINDS[k].name)) {
            *out = (dec_kind)k;
            return HY_OK;
        }
    return hy_err(HY_EARG, "unknown decoder model '%s' (%s)", name, hy_dec_kind_names());
}

void hy_dec_opts_default(dec_opts *o, dec_kind kind) {
    memset(o, 0, sizeof *o);
    o->kind = kind;
    o->n_alphas = 20;
    o->alpha_min = 1e-2;
    o->alpha_max = 1e6;
    o->cv_folds = 5;
    o->per_target = 0;
    o->l1_ratio = 1.0;
    o->path_len = 20;
    o->path_eps = 1e-1;
    o->max_iter = 1000;
    o->tol = 1e-4;
    o->shuffle = 1;
    o->seed = 1;  // the same default seed as every command (README "Command-line conventions")
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->adam_eps = 1e-8;
    o->leaky_slope = 0.01;
    o->gamma_min = 1e-5;
    o->gamma_max = 1e-1;
    o->degree = 3;
    o->coef0 = 1;
    o->components = 16;
    const dec_kind_info *k = hy_dec_kind(kind);
    if (k && k->defaults) k->defaults(o);
    hy_dec_opts_recipe(o, DEC_RECIPE_HYPER);
}

static const char *RECIPES[DEC_N_RECIPES] = {"hyper", "torch"};

const char *hy_dec_recipe_name(dec_recipe r) { return r >= 0 && r < DEC_N_RECIPES ? RECIPES[r] : "?"; }

int hy_dec_recipe_parse(const char *name, dec_recipe *out) {
    for (int r = 0; r < DEC_N_RECIPES; r++)
        if (!strcmp(name, RECIPES[r])) {
            *out = (dec_recipe)r;
            return HY_OK;
        }
    return hy_err(HY_EARG, "unknown training recipe '%s' (hyper, torch)", name);
}

void hy_dec_opts_recipe(dec_opts *o, dec_recipe recipe) {
    o->recipe = recipe;
    int torch_mlp = recipe == DEC_RECIPE_TORCH && o->kind == DEC_MLP;
    o->epochs = torch_mlp ? 200 : 1500;
    o->lr = torch_mlp ? 1e-3 : 1e-5;
    o->weight_decay = torch_mlp ? 0.0 : 0.01;
    o->batch_size = 30;
}

// Column means and standard deviations (ddof 0); constant columns get scale 1.
static void col_stats(const double *X, int n, int v, double *mean, double *sd) {
    for (int j = 0; j < v; j++) mean[j] = sd[j] = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < v; j++) mean[j] += X[(size_t)i * v + j];
    for (int j = 0; j < v; j++) mean[j] /= n;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < v; j++) {
            double t = X[(size_t)i * v + j] - mean[j];
            sd[j] += t * t;
        }
    for (int j = 0; j < v; j++) {
        sd[j] = sqrt(sd[j] / n);
        if (!(sd[j] > 1e-12 * (fabs(mean[j]) + 1))) sd[j] = 1;
    }
}

// Layer sizes, bias and activation from the options; allocates the (zeroed) layers.
static int alloc_layers(decoder *dec, const dec_opts *o, const dec_kind_info *k, int v, int d) {
    int mlp = o->kind == DEC_MLP;
    dec->n_layers = mlp ? o->n_hidden + 1 : 1;
    if (dec->n_layers > DEC_MAX_LAYERS) return hy_err(HY_EARG, "at most %d hidden layers", DEC_MAX_LAYERS - 1);
    dec->sizes[0] = v;
    for (int l = 0; mlp && l < o->n_hidden; l++) {
        if (o->hidden[l] < 1) return hy_err(HY_EARG, "hidden layer %d has %d units", l + 1, o->hidden[l]);
        dec->sizes[l + 1] = o->hidden[l];
    }
    dec->sizes[dec->n_layers] = d;
    dec->act = mlp ? o->act : DEC_ACT_NONE;
    dec->has_bias = k->bias;
    for (int l = 0; l < dec->n_layers; l++) {
        if (!(dec->W[l] = hy_calloc((size_t)dec->sizes[l + 1] * dec->sizes[l], sizeof(float)))) return HY_ENOMEM;
        if (k->bias && !(dec->b[l] = hy_calloc(dec->sizes[l + 1], sizeof(float)))) return HY_ENOMEM;
    }
    return HY_OK;
}

// z-scores X (n, v) with its own column statistics, rounded to float32 first so training and
// prediction see the same input; keeps the statistics in dec. *Xz is malloc'd (n, v).
static int zscore_input(decoder *dec, const double *X, int n, int v, double **Xz) {
    double *mu = hy_malloc(sizeof(double) * v), *sd = hy_malloc(sizeof(double) * v);
    *Xz = hy_malloc(sizeof(double) * (size_t)n * v);
    dec->x_mean = hy_malloc(sizeof(float) * v);
    dec->x_scale = hy_malloc(sizeof(float) * v);
    int rc = HY_OK;
    if (!mu || !sd || !*Xz || !dec->x_mean || !dec->x_scale) {
        rc = HY_ENOMEM;
    } else {
        col_stats(X, n, v, mu, sd);
        for (int j = 0; j < v; j++) {
            dec->x_mean[j] = (float)mu[j];
            dec->x_scale[j] = (float)sd[j];
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < v; j++)
                (*Xz)[(size_t)i * v + j] = (X[(size_t)i * v + j] - dec->x_mean[j]) / dec->x_scale[j];
    }
    free(mu);
    free(sd);
    return rc;
}

int hy_dec_train(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    memset(dec, 0, sizeof *dec);
    const dec_kind_info *k = hy_dec_kind(o->kind);
    if (!k) return hy_err(HY_EARG, "unknown decoder kind %d", (int)o->kind);
    if (n < 2 || v < 1 || d < 1) return hy_err(HY_ESHAPE, "training set too small (%d rows)", n);
    dec->kind = o->kind;
    dec->n_in = v;
    dec->n_out = d;
    dec->n_train = n;
    dec->leaky_slope = o->leaky_slope;
    snprintf(dec->cv, sizeof dec->cv, "none");
    double *Xz = NULL;
    int rc = alloc_layers(dec, o, k, v, d);
    if (!rc && o->zscore) rc = zscore_input(dec, X, n, v, &Xz);
    if (!rc) rc = k->train(dec, o, Xz ? Xz : X, Y, n, v, d);
    free(Xz);
    if (rc) hy_dec_free(dec);
    return rc;
}

void hy_dec_set_linear(decoder *dec, const double *W, const double *b) {
    for (size_t i = 0; i < (size_t)dec->n_in * dec->n_out; i++) dec->W[0][i] = (float)W[i];
    for (int t = 0; t < dec->n_out; t++) dec->b[0][t] = (float)b[t];
}

void hy_dec_keep_alpha(decoder *dec, double *alpha, int d) {
    int same = 1;
    for (int t = 1; t < d; t++) same &= alpha[t] == alpha[0];
    free(dec->alpha);
    dec->alpha = alpha;
    dec->n_alpha = same ? 1 : d;
}

// --- prediction ---------------------------------------------------------------------

int hy_dec_predict(const decoder *dec, const double *X, int n, float *out) {
    const dec_kind_info *k = hy_dec_kind(dec->kind);
    if (!k) return hy_err(HY_EARG, "decoder of unknown kind %d", (int)dec->kind);
    return k->predict(dec, X, n, out);
}

int hy_dec_net_predict(const decoder *dec, const double *X, int n, float *out) {
    int maxw = 0;
    for (int l = 0; l <= dec->n_layers; l++)
        if (dec->sizes[l] > maxw) maxw = dec->sizes[l];
    float *a = hy_malloc(sizeof(float) * (size_t)n * maxw), *h = hy_malloc(sizeof(float) * (size_t)n * maxw);
    if (!a || !h) {
        free(a);
        free(h);
        return HY_ENOMEM;
    }
    int v = dec->n_in, d = dec->n_out;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < v; j++) {
            float x = (float)X[(size_t)i * v + j];
            if (dec->x_mean) x = (x - dec->x_mean[j]) / dec->x_scale[j];
            a[(size_t)i * v + j] = x;
        }
    float *skip = NULL;
    if (dec->skip_W) {
        // the closed-form part of a residual net: skip (n, d) = a (n, v) @ skip_W^T (v, d) + skip_b
        if (!(skip = hy_malloc(sizeof(float) * (size_t)n * d))) {
            free(a), free(h);
            return HY_ENOMEM;
        }
        for (int i = 0; i < n; i++)
            for (int k = 0; k < d; k++) skip[(size_t)i * d + k] = dec->skip_b[k];
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, d, v, 1.0f, a, v, dec->skip_W, v, 1.0f, skip, d);
    }
    const float slope = (float)dec->leaky_slope;
    for (int l = 0; l < dec->n_layers; l++) {
        int in = dec->sizes[l], o = dec->sizes[l + 1];
        float *dst = l == dec->n_layers - 1 ? out : h;
        // dst (n, o) = a (n, in) @ W^T (in, o) + b
        for (int i = 0; i < n; i++)
            for (int k = 0; k < o; k++) dst[(size_t)i * o + k] = dec->b[l] ? dec->b[l][k] : 0.0f;
        const int bt = hy_blas_threads_begin((double)n * o * in);
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, o, in, 1.0f, a, in, dec->W[l], in, 1.0f,
                    dst, o);
        hy_blas_threads_end(bt);
        if (l < dec->n_layers - 1) {
            size_t m = (size_t)n * o;
            for (size_t i = 0; i < m; i++) a[i] = hy_dec_act_apply(dec->act, slope, dst[i]);
        }
    }
    if (skip)
        for (size_t i = 0; i < (size_t)n * d; i++) out[i] += skip[i];
    free(skip);
    free(a);
    free(h);
    return HY_OK;
}

// --- file I/O -------------------------------------------------------------------------

int hy_dec_save_penalty(const decoder *dec, wf_writer *w) {
    int rc = 0;
    if (dec->alpha) rc |= hy_wf_writer_floats(w, "alpha", dec->alpha, dec->n_alpha);
    if (dec->kind == DEC_LASSO || dec->kind == DEC_ELASTICNET) rc |= hy_wf_writer_float(w, "l1_ratio", dec->l1_ratio);
    return rc;
}

// The record is informational: absent or mistyped fields leave the defaults.
int hy_dec_load_penalty(decoder *dec, const wfile *wf, const char *path) {
    (void)path;
    const double *al;
    uint32_t na;
    if (hy_wf_cfg(wf, "alpha") && !hy_wf_cfg_floats(wf, "alpha", &al, &na) && na > 0) {
        if (!(dec->alpha = hy_malloc(sizeof(double) * na))) return HY_ENOMEM;
        memcpy(dec->alpha, al, sizeof(double) * na);
        dec->n_alpha = (int)na;
    }
    if (hy_wf_cfg(wf, "l1_ratio")) hy_wf_cfg_float(wf, "l1_ratio", &dec->l1_ratio);
    return HY_OK;
}

int hy_dec_save_adam(const decoder *dec, wf_writer *w) {
    int rc = 0;
    rc |= hy_wf_writer_str(w, "recipe", hy_dec_recipe_name(dec->recipe));
    rc |= hy_wf_writer_int(w, "epochs", dec->epochs);
    rc |= hy_wf_writer_int(w, "batch_size", dec->batch_size);
    rc |= hy_wf_writer_float(w, "lr", dec->lr);
    rc |= hy_wf_writer_float(w, "weight_decay", dec->weight_decay);
    rc |= hy_wf_writer_float(w, "dropout", dec->dropout);
    rc |= hy_wf_writer_int(w, "seed", (int64_t)dec->seed);
    rc |= hy_wf_writer_float(w, "final_loss", dec->final_loss);
    if (dec->loss != DEC_LOSS_L2) rc |= hy_wf_writer_str(w, "loss", hy_dec_loss_name(dec->loss));  // L2 files as before
    return rc;
}

int hy_dec_load_adam(decoder *dec, const wfile *wf, const char *path) {
    int64_t i;
    const char *r;
    dec->recipe = DEC_RECIPE_TORCH;  // files from before the recipes were trained the torch way
    if (hy_wf_cfg(wf, "recipe") && !hy_wf_cfg_str(wf, "recipe", &r)) hy_dec_recipe_parse(r, &dec->recipe);
    if (hy_wf_cfg(wf, "epochs") && !hy_wf_cfg_int(wf, "epochs", &i) && i >= 0 && i <= INT32_MAX) dec->epochs = (int)i;
    if (hy_wf_cfg(wf, "batch_size") && !hy_wf_cfg_int(wf, "batch_size", &i) && i >= 0 && i <= INT32_MAX)
        dec->batch_size = (int)i;
    if (hy_wf_cfg(wf, "seed") && !hy_wf_cfg_int(wf, "seed", &i)) dec->seed = (uint64_t)i;
    if (hy_wf_cfg(wf, "lr")) hy_wf_cfg_float(wf, "lr", &dec->lr);
    if (hy_wf_cfg(wf, "weight_decay")) hy_wf_cfg_float(wf, "weight_decay", &dec->weight_decay);
    if (hy_wf_cfg(wf, "dropout")) hy_wf_cfg_float(wf, "dropout", &dec->dropout);
    if (hy_wf_cfg(wf, "final_loss")) hy_wf_cfg_float(wf, "final_loss", &dec->final_loss);
    if (hy_wf_cfg(wf, "loss") && !hy_wf_cfg_str(wf, "loss", &r) && hy_dec_loss_parse(r, &dec->loss))
        return hy_err(HY_EFORMAT, "%s: unknown loss '%s'", path, r);
    return HY_OK;
}

int hy_dec_save(const decoder *dec, const char *path) {
    const dec_kind_info *k = hy_dec_kind(dec->kind);
    if (!k) return hy_err(HY_EARG, "%s: decoder of unknown kind %d", path, (int)dec->kind);
    wf_writer *w = hy_wf_writer_new("decoder");
    if (!w) return HY_ENOMEM;
    int64_t sizes[DEC_MAX_LAYERS + 1];
    for (int l = 0; l <= dec->n_layers; l++) sizes[l] = dec->sizes[l];
    int rc = 0;
    rc |= hy_wf_writer_str(w, "model", k->name);
    rc |= hy_wf_writer_int(w, "n_in", dec->n_in);
    rc |= hy_wf_writer_int(w, "n_out", dec->n_out);
    rc |= hy_wf_writer_int(w, "n_layers", dec->n_layers);
    rc |= hy_wf_writer_ints(w, "layer_sizes", sizes, dec->n_layers + 1);
    rc |= hy_wf_writer_str(w, "activation", hy_dec_act_name(dec->act));
    rc |= hy_wf_writer_float(w, "leaky_slope", dec->leaky_slope);
    rc |= hy_wf_writer_int(w, "bias", dec->has_bias);
    rc |= hy_wf_writer_int(w, "zscore", dec->x_mean != NULL);
    rc |= hy_wf_writer_int(w, "n_train", dec->n_train);
    rc |= hy_wf_writer_str(w, "cv", dec->cv);
    if (k->save_record) rc |= k->save_record(dec, w);
    char names[DEC_MAX_LAYERS][2][64];
    for (int l = 0; l < dec->n_layers; l++) {
        int64_t wd[2] = {dec->sizes[l + 1], dec->sizes[l]}, bd[1] = {dec->sizes[l + 1]};
        snprintf(names[l][0], 64, "layers.%d.weight", l);
        snprintf(names[l][1], 64, "layers.%d.bias", l);
        rc |= hy_wf_writer_tensor(w, names[l][0], WF_F32, 2, wd, dec->W[l]);
        if (dec->b[l]) rc |= hy_wf_writer_tensor(w, names[l][1], WF_F32, 1, bd, dec->b[l]);
    }
    if (dec->skip_W) {
        int64_t sd[2] = {dec->n_out, dec->n_in}, bd[1] = {dec->n_out};
        rc |= hy_wf_writer_str(w, "skip", "ridge");
        rc |= hy_wf_writer_float(w, "skip_alpha", dec->skip_alpha);
        rc |= hy_wf_writer_tensor(w, "skip.weight", WF_F32, 2, sd, dec->skip_W);
        rc |= hy_wf_writer_tensor(w, "skip.bias", WF_F32, 1, bd, dec->skip_b);
    }
    if (dec->x_mean) {
        int64_t vd[1] = {dec->n_in};
        rc |= hy_wf_writer_tensor(w, "zscore.mean", WF_F32, 1, vd, dec->x_mean);
        rc |= hy_wf_writer_tensor(w, "zscore.scale", WF_F32, 1, vd, dec->x_scale);
    }
    if (rc) {
        hy_wf_writer_free(w);
        return rc < 0 ? rc : HY_EARG;
    }
    rc = hy_wf_writer_save(w, path);
    hy_wf_writer_free(w);
    return rc;
}

static float *dup_f32(const float *src, size_t n) {
    float *p = hy_malloc(n * sizeof(float));
    if (p) memcpy(p, src, n * sizeof(float));
    return p;
}

// The common header fields: kind, sizes, activation, bias, z-scoring.
static int load_header(decoder *dec, wfile *wf, const char *path, int64_t *zs) {
    int rc;
    const char *model, *act;
    int64_t n_in, n_out, n_layers, bias, ntr = 0;
    const int64_t *sizes;
    uint32_t ns;
    if ((rc = hy_wf_expect_kind(wf, "decoder")) || (rc = hy_wf_cfg_str(wf, "model", &model)) ||
        (rc = hy_wf_cfg_int(wf, "n_in", &n_in)) || (rc = hy_wf_cfg_int(wf, "n_out", &n_out)) ||
        (rc = hy_wf_cfg_int(wf, "n_layers", &n_layers)) || (rc = hy_wf_cfg_ints(wf, "layer_sizes", &sizes, &ns)) ||
        (rc = hy_wf_cfg_str(wf, "activation", &act)) || (rc = hy_wf_cfg_int(wf, "bias", &bias)) ||
        (rc = hy_wf_cfg_int(wf, "zscore", zs)))
        return rc;
    if (hy_dec_kind_parse(model, &dec->kind)) return hy_err(HY_EFORMAT, "%s: unknown decoder model '%s'", path, model);
    if (n_layers < 1 || n_layers > DEC_MAX_LAYERS || ns != (uint32_t)n_layers + 1 || sizes[0] != n_in ||
        sizes[n_layers] != n_out)
        return hy_err(HY_EFORMAT, "%s: inconsistent layer_sizes / n_in / n_out / n_layers", path);
    if (hy_dec_act_parse(act, &dec->act)) return hy_err(HY_EFORMAT, "%s: unknown activation '%s'", path, act);
    if (hy_wf_cfg(wf, "leaky_slope")) hy_wf_cfg_float(wf, "leaky_slope", &dec->leaky_slope);
    if (hy_wf_cfg(wf, "n_train")) hy_wf_cfg_int(wf, "n_train", &ntr);
    dec->n_train = (int)ntr;
    dec->n_in = (int)n_in;
    dec->n_out = (int)n_out;
    dec->n_layers = (int)n_layers;
    for (int l = 0; l <= n_layers; l++) {
        if (sizes[l] < 1 || sizes[l] > 10000000) return hy_err(HY_EFORMAT, "%s: bad layer size %lld", path, (long long)sizes[l]);
        dec->sizes[l] = (int)sizes[l];
    }
    dec->has_bias = bias != 0;
    const char *cv;
    if (hy_wf_cfg(wf, "cv") && !hy_wf_cfg_str(wf, "cv", &cv)) snprintf(dec->cv, sizeof dec->cv, "%s", cv);
    return HY_OK;
}

// Layer tensors (copied) and the z-score statistics.
static int load_tensors(decoder *dec, wfile *wf, const char *path, int zs) {
    int rc;
    for (int l = 0; l < dec->n_layers; l++) {
        char name[64];
        const float *p;
        int64_t wd[2] = {dec->sizes[l + 1], dec->sizes[l]}, bd[1] = {dec->sizes[l + 1]};
        snprintf(name, sizeof name, "layers.%d.weight", l);
        if ((rc = hy_wf_get_f32(wf, name, 2, wd, &p))) return rc;
        if (!(dec->W[l] = dup_f32(p, (size_t)wd[0] * wd[1]))) return HY_ENOMEM;
        if (dec->has_bias) {
            snprintf(name, sizeof name, "layers.%d.bias", l);
            if ((rc = hy_wf_get_f32(wf, name, 1, bd, &p))) return rc;
            if (!(dec->b[l] = dup_f32(p, (size_t)bd[0]))) return HY_ENOMEM;
        }
    }
    const char *skip;
    if (hy_wf_cfg(wf, "skip")) {
        if ((rc = hy_wf_cfg_str(wf, "skip", &skip))) return rc;
        if (strcmp(skip, "ridge")) return hy_err(HY_EFORMAT, "%s: unknown skip '%s'", path, skip);
        const float *p;
        int64_t sd[2] = {dec->n_out, dec->n_in}, bd[1] = {dec->n_out};
        if ((rc = hy_wf_get_f32(wf, "skip.weight", 2, sd, &p))) return rc;
        if (!(dec->skip_W = dup_f32(p, (size_t)sd[0] * sd[1]))) return HY_ENOMEM;
        if ((rc = hy_wf_get_f32(wf, "skip.bias", 1, bd, &p))) return rc;
        if (!(dec->skip_b = dup_f32(p, (size_t)bd[0]))) return HY_ENOMEM;
        if (hy_wf_cfg(wf, "skip_alpha")) hy_wf_cfg_float(wf, "skip_alpha", &dec->skip_alpha);
    }
    if (!zs) return HY_OK;
    const float *m, *s;
    int64_t vd[1] = {dec->n_in};
    if ((rc = hy_wf_get_f32(wf, "zscore.mean", 1, vd, &m)) || (rc = hy_wf_get_f32(wf, "zscore.scale", 1, vd, &s)))
        return rc;
    for (int64_t j = 0; j < dec->n_in; j++)
        if (!(s[j] > 0) || !isfinite(m[j]))
            return hy_err(HY_EFORMAT, "%s: zscore.scale/mean element %lld is not usable", path, (long long)j);
    dec->x_mean = dup_f32(m, dec->n_in);
    dec->x_scale = dup_f32(s, dec->n_in);
    return dec->x_mean && dec->x_scale ? HY_OK : HY_ENOMEM;
}

int hy_dec_from_wfile(decoder *dec, wfile *wf, const char *path) {
    memset(dec, 0, sizeof *dec);
    int64_t zs = 0;
    int rc = load_header(dec, wf, path, &zs);
    if (!rc) rc = load_tensors(dec, wf, path, zs != 0);
    const dec_kind_info *k = hy_dec_kind(dec->kind);
    if (!rc && k->load_record) rc = k->load_record(dec, wf, path);
    // tensors the config does not ask for (biases with bias=0, z-scoring with zscore=0, others)
    // would be ignored and the decoder would predict differently from the one that was saved
    if (!rc) {
        char what[96];
        snprintf(what, sizeof what, "a %d-layer decoder with bias=%d, zscore=%lld", dec->n_layers, dec->has_bias,
                 (long long)zs);
        rc = hy_wf_check_all_used(wf, what);
    }
    if (!rc && !isfinite(dec->leaky_slope)) rc = hy_err(HY_EVALUE, "%s: config leaky_slope is not finite", path);
    if (rc) hy_dec_free(dec);
    return rc;
}

int hy_dec_load(decoder *dec, const char *path) {
    memset(dec, 0, sizeof *dec);
    wfile wf;
    int rc = hy_wf_open(&wf, path);
    if (rc) return rc;
    rc = hy_dec_from_wfile(dec, &wf, path);
    hy_wf_close(&wf);
    return rc;
}

void hy_dec_free(decoder *dec) {
    for (int l = 0; l < DEC_MAX_LAYERS; l++) {
        free(dec->W[l]);
        free(dec->b[l]);
    }
    free(dec->x_mean);
    free(dec->x_scale);
    free(dec->alpha);
    free(dec->skip_W);
    free(dec->skip_b);
    memset(dec, 0, sizeof *dec);
}

void hy_dec_describe(const decoder *dec, FILE *f) {
    const dec_kind_info *k = hy_dec_kind(dec->kind);
    fprintf(f, "decoder %s: %d -> %d", k ? k->name : "?", dec->n_in, dec->n_out);
    if (dec->kind == DEC_KERNEL_RIDGE) {
        fprintf(f, " (kernel %s", hy_kr_kernel_name(dec->kernel));
        if (dec->kernel != KR_LINEAR) fprintf(f, ", gamma %.4g", dec->gamma);
        if (dec->kernel == KR_POLY) fprintf(f, ", degree %d, coef0 %g", dec->degree, dec->coef0);
        fprintf(f, ", %d training rows)", dec->sizes[1]);
    } else if (dec->n_layers > 1) {
        fprintf(f, " (layers");
        for (int l = 0; l <= dec->n_layers; l++) fprintf(f, " %d", dec->sizes[l]);
        fprintf(f, ", %s)", hy_dec_act_name(dec->act));
    }
    if (dec->x_mean) fprintf(f, ", z-scored input");
    if (dec->kind == DEC_PLS) fprintf(f, ", %d components (cv %s)", dec->components, dec->cv);
    if (dec->skip_W) fprintf(f, ", on a ridge skip (alpha %.4g)", dec->skip_alpha);
    if (dec->loss != DEC_LOSS_L2) fprintf(f, ", %s loss", hy_dec_loss_name(dec->loss));
    if (k && k->iterative)
        fprintf(f, ", recipe %s, %d epochs, batch %d, lr %g", hy_dec_recipe_name(dec->recipe), dec->epochs,
                dec->batch_size, dec->lr);
    if (dec->alpha) {
        if (dec->n_alpha == 1) fprintf(f, ", alpha %.4g (cv %s)", dec->alpha[0], dec->cv);
        else {
            double lo = dec->alpha[0], hi = dec->alpha[0];
            for (int k = 1; k < dec->n_alpha; k++) {
                if (dec->alpha[k] < lo) lo = dec->alpha[k];
                if (dec->alpha[k] > hi) hi = dec->alpha[k];
            }
            fprintf(f, ", per-target alpha %.4g..%.4g (cv %s)", lo, hi, dec->cv);
        }
    }
    fprintf(f, "\n");
}
