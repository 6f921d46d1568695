// dec_common.c - decoder options, dispatch to the trainers, weight-file I/O, prediction.
//
// The decoder file layout is documented in include/decoders/decoders.h. Prediction is one float32
// sgemm per layer (outside any OpenMP region).
#include <cblas.h>  // cblas_sgemm
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "base/wfile.h"

// Adam trainer (src/decoders/adam.c)
int hy_dec_adam_train(decoder *dec, const dec_opts *o, const float *X, const float *Y, int n, int v, int d);

static const char *MODELS[] = {"linear", "linear-nobias", "ols", "ridge", "lasso", "elasticnet", "mlp", NULL};
static const char *ACTS[] = {"none", "relu", "tanh", "leaky", NULL};

int hy_dec_model_known(const char *m) {
    for (int i = 0; MODELS[i]; i++)
        if (!strcmp(m, MODELS[i])) return 1;
    return 0;
}

int hy_dec_is_iterative(const char *m) {
    return !strcmp(m, "linear") || !strcmp(m, "linear-nobias") || !strcmp(m, "mlp");
}

void hy_dec_opts_default(dec_opts *o, const char *model) {
    memset(o, 0, sizeof *o);
    snprintf(o->model, sizeof o->model, "%s", model);
    o->n_alphas = 20;
    o->alpha_min = 1e-2;
    o->alpha_max = 1e6;
    o->cv_folds = !strcmp(model, "ridge") ? 0 : 5;
    o->per_target = 0;
    o->l1_ratio = !strcmp(model, "elasticnet") ? 0.5 : 1.0;
    o->path_len = 20;
    o->path_eps = 1e-1;
    o->max_iter = 1000;
    o->tol = 1e-4;
    int mlp = !strcmp(model, "mlp");
    o->epochs = mlp ? 200 : 1500;
    o->lr = mlp ? 1e-3 : 1e-5;
    o->weight_decay = mlp ? 0.0 : 0.01;
    o->batch_size = 30;
    o->shuffle = 1;
    o->seed = 1;  // the same default seed as every command (README "Command-line conventions")
    o->beta1 = 0.9;
    o->beta2 = 0.999;
    o->adam_eps = 1e-8;
    if (mlp) {
        o->n_hidden = 1;
        o->hidden[0] = 1024;
        o->act = DEC_ACT_RELU;
    }
    o->leaky_slope = 0.01;
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

static int alloc_layers(decoder *dec, int bias) {
    dec->has_bias = bias;
    for (int l = 0; l < dec->n_layers; l++) {
        size_t nw = (size_t)dec->sizes[l + 1] * dec->sizes[l];
        dec->W[l] = hy_calloc(nw, sizeof(float));
        if (!dec->W[l]) return HY_ENOMEM;
        if (bias) {
            dec->b[l] = hy_calloc(dec->sizes[l + 1], sizeof(float));
            if (!dec->b[l]) return HY_ENOMEM;
        }
    }
    return HY_OK;
}

static void set_linear(decoder *dec, const double *W, const double *b, int v, int d) {
    for (size_t i = 0; i < (size_t)v * d; i++) dec->W[0][i] = (float)W[i];
    for (int k = 0; k < d; k++) dec->b[0][k] = (float)b[k];
}

int hy_dec_train(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    memset(dec, 0, sizeof *dec);
    if (!hy_dec_model_known(o->model)) return hy_err(HY_EARG, "unknown decoder model '%s'", o->model);
    if (n < 2 || v < 1 || d < 1) return hy_err(HY_ESHAPE, "training set too small (%d rows)", n);
    snprintf(dec->model, sizeof dec->model, "%s", o->model);
    dec->n_in = v;
    dec->n_out = d;
    dec->n_train = n;
    dec->leaky_slope = o->leaky_slope;
    int mlp = !strcmp(o->model, "mlp");
    dec->n_layers = mlp ? o->n_hidden + 1 : 1;
    if (dec->n_layers > DEC_MAX_LAYERS) return hy_err(HY_EARG, "at most %d hidden layers", DEC_MAX_LAYERS - 1);
    dec->sizes[0] = v;
    for (int l = 0; mlp && l < o->n_hidden; l++) dec->sizes[l + 1] = o->hidden[l];
    dec->sizes[dec->n_layers] = d;
    dec->act = mlp ? o->act : DEC_ACT_NONE;
    snprintf(dec->cv, sizeof dec->cv, "none");
    int rc = alloc_layers(dec, strcmp(o->model, "linear-nobias") != 0);
    if (rc) goto fail;

    // optional z-scoring with training statistics
    const double *Xu = X;
    double *Xz = NULL;
    if (o->zscore) {
        double *mu = hy_malloc(sizeof(double) * v), *sd = hy_malloc(sizeof(double) * v);
        Xz = hy_malloc(sizeof(double) * (size_t)n * v);
        dec->x_mean = hy_malloc(sizeof(float) * v);
        dec->x_scale = hy_malloc(sizeof(float) * v);
        if (!mu || !sd || !Xz || !dec->x_mean || !dec->x_scale) {
            free(mu);
            free(sd);
            free(Xz);
            rc = HY_ENOMEM;
            goto fail;
        }
        col_stats(X, n, v, mu, sd);
        for (int j = 0; j < v; j++) {
            // round the stats to float32 first so training and prediction see the same input
            dec->x_mean[j] = (float)mu[j];
            dec->x_scale[j] = (float)sd[j];
        }
        for (int i = 0; i < n; i++)
            for (int j = 0; j < v; j++)
                Xz[(size_t)i * v + j] = (X[(size_t)i * v + j] - dec->x_mean[j]) / dec->x_scale[j];
        free(mu);
        free(sd);
        Xu = Xz;
    }

    if (hy_dec_is_iterative(o->model)) {
        size_t nx = (size_t)n * v, ny = (size_t)n * d;
        float *Xf = hy_malloc(sizeof(float) * nx), *Yf = hy_malloc(sizeof(float) * ny);
        if (!Xf || !Yf) {
            free(Xf);
            free(Yf);
            rc = HY_ENOMEM;
        } else {
            for (size_t i = 0; i < nx; i++) Xf[i] = (float)Xu[i];
            for (size_t i = 0; i < ny; i++) Yf[i] = (float)Y[i];
            rc = hy_dec_adam_train(dec, o, Xf, Yf, n, v, d);
            free(Xf);
            free(Yf);
        }
    } else {
        double *W = hy_malloc(sizeof(double) * (size_t)v * d), *b = hy_malloc(sizeof(double) * d);
        double *alpha = hy_malloc(sizeof(double) * d);
        if (!W || !b || !alpha) {
            rc = HY_ENOMEM;
        } else if (!strcmp(o->model, "ols")) {
            rc = hy_dec_ols(Xu, Y, n, v, d, 1, 0, W, b);
        } else if (!strcmp(o->model, "ridge")) {
            int na = o->fixed_alpha > 0 ? 1 : o->n_alphas;
            double *grid = hy_malloc(sizeof(double) * na);
            if (!grid) {
                rc = HY_ENOMEM;
            } else {
                if (o->fixed_alpha > 0) grid[0] = o->fixed_alpha;
                else hy_dec_logspace(grid, na, o->alpha_min, o->alpha_max);
                rc = hy_dec_ridge(Xu, Y, n, v, d, grid, na, o->cv_folds, o->per_target, W, b, alpha, NULL);
                free(grid);
                if (o->fixed_alpha > 0) snprintf(dec->cv, sizeof dec->cv, "none");
                else if (o->cv_folds) snprintf(dec->cv, sizeof dec->cv, "kfold%d", o->cv_folds);
                else snprintf(dec->cv, sizeof dec->cv, "loo");
            }
        } else {  // lasso / elasticnet
            rc = hy_dec_enet(Xu, Y, n, v, d, o->l1_ratio, o->path_len, o->path_eps, o->cv_folds,
                          o->fixed_alpha, o->max_iter, o->tol, W, b, alpha);
            if (o->fixed_alpha > 0) snprintf(dec->cv, sizeof dec->cv, "none");
            else snprintf(dec->cv, sizeof dec->cv, "kfold%d", o->cv_folds);
            dec->l1_ratio = o->l1_ratio;
        }
        if (!rc) {
            set_linear(dec, W, b, v, d);
            if (strcmp(o->model, "ols")) {
                // store one alpha when all targets share it
                int same = 1;
                for (int k = 1; k < d; k++) same &= alpha[k] == alpha[0];
                dec->n_alpha = same ? 1 : d;
                dec->alpha = alpha;
                alpha = NULL;
            }
        }
        free(W);
        free(b);
        free(alpha);
    }
    free(Xz);
    if (rc) goto fail;
    return HY_OK;
fail:
    hy_dec_free(dec);
    return rc;
}

// --- prediction ---------------------------------------------------------------------

int hy_dec_predict(const decoder *dec, const double *X, int n, float *out) {
    int maxw = 0;
    for (int l = 0; l <= dec->n_layers; l++)
        if (dec->sizes[l] > maxw) maxw = dec->sizes[l];
    float *a = hy_malloc(sizeof(float) * (size_t)n * maxw), *h = hy_malloc(sizeof(float) * (size_t)n * maxw);
    if (!a || !h) {
        free(a);
        free(h);
        return HY_ENOMEM;
    }
    int v = dec->n_in;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < v; j++) {
            float x = (float)X[(size_t)i * v + j];
            if (dec->x_mean) x = (x - dec->x_mean[j]) / dec->x_scale[j];
            a[(size_t)i * v + j] = x;
        }
    for (int l = 0; l < dec->n_layers; l++) {
        int in = dec->sizes[l], o = dec->sizes[l + 1];
        float *dst = l == dec->n_layers - 1 ? out : h;
        // dst (n, o) = a (n, in) @ W^T (in, o) + b
        for (int i = 0; i < n; i++)
            for (int k = 0; k < o; k++) dst[(size_t)i * o + k] = dec->b[l] ? dec->b[l][k] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, o, in, 1.0f, a, in, dec->W[l], in, 1.0f,
                    dst, o);
        if (l < dec->n_layers - 1) {
            size_t m = (size_t)n * o;
            for (size_t i = 0; i < m; i++) {
                float t = dst[i];
                if (dec->act == DEC_ACT_RELU) t = t > 0 ? t : 0;
                else if (dec->act == DEC_ACT_TANH) t = tanhf(t);
                else if (dec->act == DEC_ACT_LEAKY) t = t > 0 ? t : (float)dec->leaky_slope * t;
                a[i] = t;
            }
        }
    }
    free(a);
    free(h);
    return HY_OK;
}

// --- file I/O -------------------------------------------------------------------------

int hy_dec_save(const decoder *dec, const char *path) {
    wf_writer *w = hy_wf_writer_new("decoder");
    if (!w) return HY_ENOMEM;
    int64_t sizes[DEC_MAX_LAYERS + 1];
    for (int l = 0; l <= dec->n_layers; l++) sizes[l] = dec->sizes[l];
    int rc = 0;
    rc |= hy_wf_writer_str(w, "model", dec->model);
    rc |= hy_wf_writer_int(w, "n_in", dec->n_in);
    rc |= hy_wf_writer_int(w, "n_out", dec->n_out);
    rc |= hy_wf_writer_int(w, "n_layers", dec->n_layers);
    rc |= hy_wf_writer_ints(w, "layer_sizes", sizes, dec->n_layers + 1);
    rc |= hy_wf_writer_str(w, "activation", ACTS[dec->act]);
    rc |= hy_wf_writer_float(w, "leaky_slope", dec->leaky_slope);
    rc |= hy_wf_writer_int(w, "bias", dec->has_bias);
    rc |= hy_wf_writer_int(w, "zscore", dec->x_mean != NULL);
    rc |= hy_wf_writer_int(w, "n_train", dec->n_train);
    rc |= hy_wf_writer_str(w, "cv", dec->cv);
    if (dec->alpha) rc |= hy_wf_writer_floats(w, "alpha", dec->alpha, dec->n_alpha);
    if (!strcmp(dec->model, "lasso") || !strcmp(dec->model, "elasticnet"))
        rc |= hy_wf_writer_float(w, "l1_ratio", dec->l1_ratio);
    if (hy_dec_is_iterative(dec->model)) {
        rc |= hy_wf_writer_int(w, "epochs", dec->epochs);
        rc |= hy_wf_writer_int(w, "batch_size", dec->batch_size);
        rc |= hy_wf_writer_float(w, "lr", dec->lr);
        rc |= hy_wf_writer_float(w, "weight_decay", dec->weight_decay);
        rc |= hy_wf_writer_float(w, "dropout", dec->dropout);
        rc |= hy_wf_writer_int(w, "seed", (int64_t)dec->seed);
        rc |= hy_wf_writer_float(w, "final_loss", dec->final_loss);
    }
    char names[DEC_MAX_LAYERS][2][64];
    for (int l = 0; l < dec->n_layers; l++) {
        int64_t wd[2] = {dec->sizes[l + 1], dec->sizes[l]}, bd[1] = {dec->sizes[l + 1]};
        snprintf(names[l][0], 64, "layers.%d.weight", l);
        snprintf(names[l][1], 64, "layers.%d.bias", l);
        rc |= hy_wf_writer_tensor(w, names[l][0], WF_F32, 2, wd, dec->W[l]);
        if (dec->b[l]) rc |= hy_wf_writer_tensor(w, names[l][1], WF_F32, 1, bd, dec->b[l]);
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

int hy_dec_from_wfile(decoder *dec, wfile *wf, const char *path) {
    memset(dec, 0, sizeof *dec);
    int rc;
    const char *model, *act;
    int64_t n_in, n_out, n_layers, bias, zs, ntr = 0;
    const int64_t *sizes;
    uint32_t ns;
    if ((rc = hy_wf_expect_kind(wf, "decoder")) || (rc = hy_wf_cfg_str(wf, "model", &model)) ||
        (rc = hy_wf_cfg_int(wf, "n_in", &n_in)) || (rc = hy_wf_cfg_int(wf, "n_out", &n_out)) ||
        (rc = hy_wf_cfg_int(wf, "n_layers", &n_layers)) || (rc = hy_wf_cfg_ints(wf, "layer_sizes", &sizes, &ns)) ||
        (rc = hy_wf_cfg_str(wf, "activation", &act)) || (rc = hy_wf_cfg_int(wf, "bias", &bias)) ||
        (rc = hy_wf_cfg_int(wf, "zscore", &zs)))
        goto done;
    if (!hy_dec_model_known(model)) {
        rc = hy_err(HY_EFORMAT, "%s: unknown decoder model '%s'", path, model);
        goto done;
    }
    if (n_layers < 1 || n_layers > DEC_MAX_LAYERS || ns != (uint32_t)n_layers + 1 || sizes[0] != n_in ||
        sizes[n_layers] != n_out) {
        rc = hy_err(HY_EFORMAT, "%s: inconsistent layer_sizes / n_in / n_out / n_layers", path);
        goto done;
    }
    snprintf(dec->model, sizeof dec->model, "%s", model);
    dec->act = -1;
    for (int i = 0; ACTS[i]; i++)
        if (!strcmp(act, ACTS[i])) dec->act = i;
    if (dec->act < 0) {
        rc = hy_err(HY_EFORMAT, "%s: unknown activation '%s'", path, act);
        goto done;
    }
    if (hy_wf_cfg(wf, "leaky_slope")) hy_wf_cfg_float(wf, "leaky_slope", &dec->leaky_slope);
    if (hy_wf_cfg(wf, "n_train")) hy_wf_cfg_int(wf, "n_train", &ntr);
    dec->n_train = (int)ntr;
    dec->n_in = (int)n_in;
    dec->n_out = (int)n_out;
    dec->n_layers = (int)n_layers;
    for (int l = 0; l <= n_layers; l++) {
        if (sizes[l] < 1 || sizes[l] > 10000000) {
            rc = hy_err(HY_EFORMAT, "%s: bad layer size %lld", path, (long long)sizes[l]);
            goto done;
        }
        dec->sizes[l] = (int)sizes[l];
    }
    dec->has_bias = bias != 0;
    for (int l = 0; l < n_layers; l++) {
        char name[64];
        const float *p;
        int64_t wd[2] = {sizes[l + 1], sizes[l]}, bd[1] = {sizes[l + 1]};
        snprintf(name, sizeof name, "layers.%d.weight", l);
        if ((rc = hy_wf_get_f32(wf, name, 2, wd, &p))) goto done;
        if (!(dec->W[l] = dup_f32(p, (size_t)wd[0] * wd[1]))) { rc = HY_ENOMEM; goto done; }
        if (bias) {
            snprintf(name, sizeof name, "layers.%d.bias", l);
            if ((rc = hy_wf_get_f32(wf, name, 1, bd, &p))) goto done;
            if (!(dec->b[l] = dup_f32(p, (size_t)bd[0]))) { rc = HY_ENOMEM; goto done; }
        }
    }
    if (zs) {
        const float *m, *s;
        int64_t vd[1] = {n_in};
        if ((rc = hy_wf_get_f32(wf, "zscore.mean", 1, vd, &m)) || (rc = hy_wf_get_f32(wf, "zscore.scale", 1, vd, &s)))
            goto done;
        for (int64_t j = 0; j < n_in; j++)
            if (!(s[j] > 0) || !isfinite(m[j])) {
                rc = hy_err(HY_EFORMAT, "%s: zscore.scale/mean element %lld is not usable", path, (long long)j);
                goto done;
            }
        dec->x_mean = dup_f32(m, n_in);
        dec->x_scale = dup_f32(s, n_in);
        if (!dec->x_mean || !dec->x_scale) { rc = HY_ENOMEM; goto done; }
    }
    const double *al;
    uint32_t na;
    if (hy_wf_cfg(wf, "alpha") && !hy_wf_cfg_floats(wf, "alpha", &al, &na) && na > 0) {
        dec->alpha = hy_malloc(sizeof(double) * na);
        if (dec->alpha) {
            memcpy(dec->alpha, al, sizeof(double) * na);
            dec->n_alpha = (int)na;
        }
    }
    const char *cv;
    if (hy_wf_cfg(wf, "cv") && !hy_wf_cfg_str(wf, "cv", &cv)) snprintf(dec->cv, sizeof dec->cv, "%s", cv);
    rc = HY_OK;
done:
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
    memset(dec, 0, sizeof *dec);
}

void hy_dec_describe(const decoder *dec, FILE *f) {
    fprintf(f, "decoder %s: %d -> %d", dec->model, dec->n_in, dec->n_out);
    if (dec->n_layers > 1) {
        fprintf(f, " (layers");
        for (int l = 0; l <= dec->n_layers; l++) fprintf(f, " %d", dec->sizes[l]);
        fprintf(f, ", %s)", ACTS[dec->act]);
    }
    if (dec->x_mean) fprintf(f, ", z-scored input");
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
