// adam.c - decoders trained by mini-batch Adam in float32: HYPER's `linear` model (dense
// layer with bias), `linear-nobias`, and `mlp`, under one of two recipes (dec_opts.recipe).
//
// Recipe hyper: HYPER's notebook (neuralcodinglab/HYPER hyper.ipynb, MXNet 1.7 Gluon):
//   batches    NDArrayIter(shuffle=True, last_batch_handle='pad'): every batch has B rows; the
//              last one is completed with rows from the start of the epoch's order
//   loss       gluon.loss.L2Loss: per row 1/2 * mean over the d outputs of (pred - y)^2;
//              loss.backward() sums over the batch: dL/dpred = (pred - y) / d
//   step       trainer.step(B): rescale_grad = 1/B, then MXNet's adam_update (float32):
//                g = grad * rescale + wd * w   (every parameter, biases too)
//                m = b1 m + (1 - b1) g;  v = b2 v + (1 - b2) g^2
//                w -= lr_t * m / (sqrt(v) + eps),  lr_t = lr * sqrt(1 - b2^t) / (1 - b1^t)
//   init       initialize(): weights U(-0.07, 0.07), biases 0
//   losses     train: mean over the epoch's batches of the batch-mean L2Loss (before each step);
//              test: mean L2Loss over the test rows after the epoch (what the notebook prints)
// Recipe torch: nn.Linear init U(-1/sqrt(in), 1/sqrt(in)) for weights and biases; MSELoss
//   (mean over rows and outputs) with dL/dpred = 2 (pred - y) / (bs d); the last batch may be
//   smaller; torch 1.13 single-tensor Adam, bit-for-bit in the order of operations:
//   g += wd * p; m, v as above; p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps).
//   Losses: the row-weighted mean of the batch MSEs; test MSE.
// Both: mt19937 seeded with the options' seed draws the initial weights, then each epoch's
// Fisher-Yates permutation (unless shuffle is off), then dropout masks (inverted dropout on
// hidden activations), in that order; nothing depends on the total number of epochs, so the
// weights after epoch e are the same whether training stops at e or goes on.
// Training runs on one thread: at batch 30 the per-step matrix products are small, and OpenBLAS's
// threads cost more than they save; on a loaded machine they spin (20 linear epochs, 1024 x 512,
// load 15: 15-16 s wall with one thread, 115-130 s with two). The per-epoch hook (which may
// embed faces) runs with the caller's thread count.
#include <cblas.h>  // cblas_sgemm
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/rng.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"

// One BLAS thread while training (on = 1), the caller's count otherwise (see the top).
static void one_blas_thread(int on) { openblas_set_num_threads(on ? 1 : hy_get_threads()); }

// --- training state ------------------------------------------------------------------------
// Per layer l: Adam moments m/v and the gradient g of W[l] (sizes[l+1], sizes[l]) and b[l];
// per layer boundary l: the batch's pre-activations pre[l], activations act[l] and dropout
// masks mask[l], each (B, sizes[l]) (act[0] is the input batch).
typedef struct {
    int L, B;
    float *mW[DEC_MAX_LAYERS], *vW[DEC_MAX_LAYERS], *gW[DEC_MAX_LAYERS];
    float *mb[DEC_MAX_LAYERS], *vb[DEC_MAX_LAYERS], *gb[DEC_MAX_LAYERS];
    float *act[DEC_MAX_LAYERS + 1], *pre[DEC_MAX_LAYERS + 1], *mask[DEC_MAX_LAYERS + 1];
    float *dz, *da;  // (B, widest layer): gradient w.r.t. a layer's output / input
    float *yb;       // (B, d) the batch's targets
    int *perm;       // (n) this epoch's row order
    mt19937 rng;     // initialisation, shuffling, dropout, in that order
    long step;       // Adam steps taken
} adam_state;

static void state_free(adam_state *s) {
    for (int l = 0; l < DEC_MAX_LAYERS; l++) {
        free(s->mW[l]);
        free(s->vW[l]);
        free(s->gW[l]);
        free(s->mb[l]);
        free(s->vb[l]);
        free(s->gb[l]);
    }
    for (int l = 0; l <= DEC_MAX_LAYERS; l++) {
        free(s->act[l]);
        free(s->pre[l]);
        free(s->mask[l]);
    }
    free(s->dz);
    free(s->da);
    free(s->yb);
    free(s->perm);
}

static int state_alloc(adam_state *s, const decoder *dec, int B, int n) {
    memset(s, 0, sizeof *s);
    s->L = dec->n_layers;
    s->B = B;
    int maxw = 0;
    for (int l = 0; l <= s->L; l++)
        if (dec->sizes[l] > maxw) maxw = dec->sizes[l];
    for (int l = 0; l < s->L; l++) {
        size_t nw = (size_t)dec->sizes[l] * dec->sizes[l + 1], nb = (size_t)dec->sizes[l + 1];
        if (!(s->mW[l] = hy_calloc(nw, 4)) || !(s->vW[l] = hy_calloc(nw, 4)) || !(s->gW[l] = hy_calloc(nw, 4)))
            return HY_ENOMEM;
        if (dec->b[l] && (!(s->mb[l] = hy_calloc(nb, 4)) || !(s->vb[l] = hy_calloc(nb, 4)) ||
                          !(s->gb[l] = hy_calloc(nb, 4))))
            return HY_ENOMEM;
    }
    for (int l = 0; l <= s->L; l++) {
        size_t m = (size_t)B * dec->sizes[l];
        if (!(s->act[l] = hy_malloc(sizeof(float) * m))) return HY_ENOMEM;
        if (l > 0 && (!(s->pre[l] = hy_malloc(sizeof(float) * m)) || !(s->mask[l] = hy_malloc(sizeof(float) * m))))
            return HY_ENOMEM;
    }
    if (!(s->dz = hy_malloc(sizeof(float) * (size_t)B * maxw)) ||
        !(s->da = hy_malloc(sizeof(float) * (size_t)B * maxw)) ||
        !(s->yb = hy_malloc(sizeof(float) * (size_t)B * dec->n_out)) || !(s->perm = hy_malloc(sizeof(int) * n)))
        return HY_ENOMEM;
    for (int i = 0; i < n; i++) s->perm[i] = i;
    return HY_OK;
}

// --- initialisation and batches -------------------------------------------------------------

// Given weights (o->init_W/init_b) or the recipe's random ones, layer by layer, weight before
// bias: hyper U(-0.07, 0.07) and zero biases (MXNet's default Uniform initializer), torch
// U(-1/sqrt(in), 1/sqrt(in)) for both (nn.Linear).
static void init_weights(decoder *dec, const dec_opts *o, mt19937 *rng) {
    const int hyper = o->recipe == DEC_RECIPE_HYPER;
    for (int l = 0; l < dec->n_layers; l++) {
        int in = dec->sizes[l], out = dec->sizes[l + 1];
        size_t nw = (size_t)in * out;
        float bound = hyper ? 0.07f : 1.0f / sqrtf((float)in);
        if (o->init_W[l]) memcpy(dec->W[l], o->init_W[l], nw * sizeof(float));
        else
            for (size_t i = 0; i < nw; i++) dec->W[l][i] = (2 * hy_mt_uniform_f32(rng) - 1) * bound;
        if (!dec->b[l]) continue;
        if (o->init_b[l]) memcpy(dec->b[l], o->init_b[l], out * sizeof(float));
        else if (hyper) memset(dec->b[l], 0, out * sizeof(float));
        else
            for (int i = 0; i < out; i++) dec->b[l][i] = (2 * hy_mt_uniform_f32(rng) - 1) * bound;
    }
}

static void shuffle(int *perm, int n, mt19937 *rng) {
    for (int i = n - 1; i > 0; i--) {
        int j = (int)(hy_mt_uniform_f64(rng) * (i + 1));
        int t = perm[i];
        perm[i] = perm[j];
        perm[j] = t;
    }
}

// Copies rows perm[r0 .. r0 + bs) of X (n, v) and Y (n, d) into the batch buffers; positions
// past the end wrap to the start of the order (the hyper recipe's padded last batch).
static void load_batch(adam_state *s, const float *X, const float *Y, int n, int v, int d, int r0, int bs) {
    for (int i = 0; i < bs; i++) {
        int row = s->perm[(r0 + i) % n];
        memcpy(s->act[0] + (size_t)i * v, X + (size_t)row * v, sizeof(float) * v);
        memcpy(s->yb + (size_t)i * d, Y + (size_t)row * d, sizeof(float) * d);
    }
}

// --- forward, loss, backward ----------------------------------------------------------------

// act[l+1] = act(pre[l+1]) * mask, pre[l+1] (bs, out) = act[l] (bs, in) @ W[l]^T + b[l];
// the last layer is linear and has no dropout.
static void forward(const decoder *dec, adam_state *s, const dec_opts *o, int bs) {
    const float slope = (float)o->leaky_slope, keep = (float)(1.0 - o->dropout);
    for (int l = 0; l < dec->n_layers; l++) {
        int in = dec->sizes[l], out = dec->sizes[l + 1];
        float *z = s->pre[l + 1];
        for (int i = 0; i < bs; i++)
            for (int k = 0; k < out; k++) z[(size_t)i * out + k] = dec->b[l] ? dec->b[l][k] : 0.0f;
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bs, out, in, 1.0f, s->act[l], in, dec->W[l], in, 1.0f, z,
                    out);
        size_t m = (size_t)bs * out;
        if (l == dec->n_layers - 1) {
            memcpy(s->act[l + 1], z, m * sizeof(float));
            continue;
        }
        for (size_t i = 0; i < m; i++) {
            float mk = 1.0f;
            if (o->dropout > 0) mk = hy_mt_uniform_f32(&s->rng) < keep ? 1.0f / keep : 0.0f;
            s->mask[l + 1][i] = mk;
            s->act[l + 1][i] = hy_dec_act_apply(dec->act, slope, z[i]) * mk;
        }
    }
}

// The batch's loss and dz = dloss/dpred in the recipe's scale (src/decoders/loss.c): hyper:
// mean over rows of L2Loss (1/2 mean squared error), dz = (pred - y) / d per row (backward sums
// the rows' losses; 1/B comes in the step); torch: MSE over rows and dims, dz = 2 (pred - y) /
// (bs d); with o->loss cosine, 1 - cos(pred, y) per row instead.
static double loss_grad(adam_state *s, const dec_opts *o, int bs, int d) {
    return hy_dec_loss_grad(o->loss, o->recipe, s->act[s->L], s->yb, bs, d, s->dz);
}

// Gradients of every layer from dz (the loss gradient w.r.t. the output), last layer first.
static void backward(const decoder *dec, adam_state *s, int bs) {
    const float slope = (float)dec->leaky_slope;
    for (int l = dec->n_layers - 1; l >= 0; l--) {
        int in = dec->sizes[l], out = dec->sizes[l + 1];
        // gW (out, in) = dz^T (out, bs) @ act[l] (bs, in); gb = column sums of dz
        cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, bs, 1.0f, s->dz, out, s->act[l], in, 0.0f,
                    s->gW[l], in);
        if (s->gb[l])
            for (int k = 0; k < out; k++) {
                float sum = 0;
                for (int i = 0; i < bs; i++) sum += s->dz[(size_t)i * out + k];
                s->gb[l][k] = sum;
            }
        if (l == 0) break;
        // da (bs, in) = dz (bs, out) @ W (out, in); then back through dropout and the activation
        cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bs, in, out, 1.0f, s->dz, out, dec->W[l], in, 0.0f,
                    s->da, in);
        size_t m = (size_t)bs * in;
        for (size_t i = 0; i < m; i++) s->dz[i] = s->da[i] * s->mask[l][i] * hy_dec_act_grad(dec->act, slope, s->pre[l][i]);
    }
}

// --- Adam -----------------------------------------------------------------------------------

// The update loops vectorise only when sqrtf need not set errno: the Makefile builds this file
// with -fno-math-errno and the dynamic vector cost model (v >= 0, so sqrtf never would set it, and the vector instructions do the
// same IEEE operations: results are unchanged; measured 2.3x faster updates).
// One Adam step on n parameters p with gradient g and moments m, v (recipe torch).
static void update_torch(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                                     size_t n, float wd, float b1, float b2, float step_size, float bc2_sqrt, float eps) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + (1 - b1) * gi;
        v[i] = v[i] * b2 + (1 - b2) * gi * gi;
        float den = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] - step_size * (m[i] / den);
    }
}

// The same in MXNet's order of operations (adam_update, src/operator/optimizer_op-inl.h).
static void update_mxnet(float *restrict p, float *restrict m, float *restrict v, const float *restrict g,
                                     size_t n, float rescale, float wd, float b1, float b2, float lr_t, float eps) {
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] * rescale + p[i] * wd;
        m[i] = b1 * m[i] + (1.0f - b1) * gi;
        v[i] = b2 * v[i] + (1.0f - b2) * gi * gi;
        p[i] = p[i] - lr_t * m[i] / (sqrtf(v[i]) + eps);
    }
}

// The step's scalars, shared by both rules.
typedef struct {
    int hyper;
    float rescale, wd, b1, b2, step_size, bc2s, eps;
} step_consts;

// Updates n parameters by the recipe's rule.
static void update(float *p, float *m, float *v, const float *g, size_t n, const step_consts *k) {
    if (k->hyper) update_mxnet(p, m, v, g, n, k->rescale, k->wd, k->b1, k->b2, k->step_size, k->eps);
    else update_torch(p, m, v, g, n, k->wd, k->b1, k->b2, k->step_size, k->bc2s, k->eps);
}

// Updates every layer's weight and bias. The step's scalars are computed in double and
// rounded to float32 as the reference implementations do (MXNet: Python computes lr_t, the
// kernel takes float32 parameters).
static void adam_step(decoder *dec, adam_state *s, const dec_opts *o) {
    s->step++;
    double bc1 = 1.0 - pow(o->beta1, (double)s->step), bc2 = 1.0 - pow(o->beta2, (double)s->step);
    step_consts k = {o->recipe == DEC_RECIPE_HYPER, (float)(1.0 / s->B), (float)o->weight_decay, (float)o->beta1,
                     (float)o->beta2, 0, (float)sqrt(bc2), (float)o->adam_eps};
    k.step_size = (float)(k.hyper ? o->lr * sqrt(bc2) / bc1 : o->lr / bc1);
    for (int l = 0; l < dec->n_layers; l++) {
        update(dec->W[l], s->mW[l], s->vW[l], s->gW[l], (size_t)dec->sizes[l] * dec->sizes[l + 1], &k);
        if (s->gb[l]) update(dec->b[l], s->mb[l], s->vb[l], s->gb[l], (size_t)dec->sizes[l + 1], &k);
    }
}

// --- epochs ---------------------------------------------------------------------------------

// One pass over X (n, v) -> Y (n, d) in batches of s->B; *loss gets the epoch's training
// loss (hyper: mean over batches; torch: row-weighted mean; each batch's taken before its step).
static void train_epoch(decoder *dec, adam_state *s, const dec_opts *o, const float *X, const float *Y, int n,
                        double *loss) {
    int v = dec->n_in, d = dec->n_out, B = s->B, nb = (n + B - 1) / B;
    const int pad = o->recipe == DEC_RECIPE_HYPER;
    if (o->shuffle) shuffle(s->perm, n, &s->rng);
    *loss = 0;
    for (int bi = 0; bi < nb; bi++) {
        int r0 = bi * B, bs = pad || n - r0 >= B ? B : n - r0;
        load_batch(s, X, Y, n, v, d, r0, bs);
        forward(dec, s, o, bs);
        double bl = loss_grad(s, o, bs, d);
        if (o->loss_trace && s->step < o->max_trace) o->loss_trace[s->step] = (float)bl;
        *loss += pad ? bl / nb : bl * bs / n;
        backward(dec, s, bs);
        adam_step(dec, s, o);
    }
}

// The recipe's loss of the current weights on the test rows (NaN without them).
static int test_loss(const decoder *dec, const dec_opts *o, float *P, double *out) {
    *out = NAN;
    if (!o->X_test || o->n_test < 1) return HY_OK;
    int rc = hy_dec_predict(dec, o->X_test, o->n_test, P);
    if (rc) return rc;
    *out = hy_dec_loss_value(o->loss, o->recipe, P, o->Y_test, o->n_test, dec->n_out);
    return HY_OK;
}

static int check_opts(const dec_opts *o) {
    if (o->epochs < 1) return hy_err(HY_EARG, "Adam: epochs must be >= 1 (got %d)", o->epochs);
    if (o->batch_size < 1) return hy_err(HY_EARG, "Adam: batch size must be >= 1 (got %d)", o->batch_size);
    if (!(o->lr > 0)) return hy_err(HY_EARG, "Adam: learning rate must be > 0 (got %g)", o->lr);
    if (!(o->dropout >= 0 && o->dropout < 1)) return hy_err(HY_EARG, "Adam: dropout must be in [0, 1) (got %g)", o->dropout);
    return HY_OK;
}

// Copies X (n, v) and Y (n, d) to float32, the precision the net trains in.
static int to_f32(const double *X, const double *Y, int n, int v, int d, float **Xf, float **Yf) {
    size_t nx = (size_t)n * v, ny = (size_t)n * d;
    *Xf = hy_malloc(sizeof(float) * nx);
    *Yf = hy_malloc(sizeof(float) * ny);
    if (!*Xf || !*Yf) return HY_ENOMEM;
    for (size_t i = 0; i < nx; i++) (*Xf)[i] = (float)X[i];
    for (size_t i = 0; i < ny; i++) (*Yf)[i] = (float)Y[i];
    return HY_OK;
}

// Trains for o->epochs epochs; after each, the decoder records that many epochs and the
// epoch's loss (so on_epoch sees what a run stopping there would save).
int hy_dec_train_adam(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    int rc = check_opts(o);
    if (rc) return rc;
    int B = o->batch_size > n ? n : o->batch_size;
    dec->recipe = o->recipe;
    dec->batch_size = B;
    dec->lr = o->lr;
    dec->weight_decay = o->weight_decay;
    dec->dropout = o->dropout;
    dec->seed = o->seed;
    dec->loss = o->loss;
    float *Xf = NULL, *Yf = NULL, *P = NULL;
    adam_state s;
    if ((rc = state_alloc(&s, dec, B, n)) || (rc = to_f32(X, Y, n, v, d, &Xf, &Yf))) goto done;
    if (o->n_test > 0 && !(P = hy_malloc(sizeof(float) * (size_t)o->n_test * d))) {
        rc = HY_ENOMEM;
        goto done;
    }
    hy_mt_seed(&s.rng, o->seed);
    init_weights(dec, o, &s.rng);
    double t0 = hy_now();
    one_blas_thread(1);
    for (int ep = 1; ep <= o->epochs && !rc; ep++) {
        dec_epoch e = {ep, 0, NAN};
        train_epoch(dec, &s, o, Xf, Yf, n, &e.train_loss);
        if (!isfinite(e.train_loss)) {
            rc = hy_err(HY_EVALUE, "training diverged at epoch %d (loss is not finite); the learning rate %g may be "
                        "too high", ep, o->lr);
            break;
        }
        dec->epochs = ep;
        dec->final_loss = e.train_loss;
        if ((rc = test_loss(dec, o, P, &e.test_loss))) break;
        if (o->on_epoch) {
            one_blas_thread(0);
            rc = o->on_epoch(o->on_epoch_ctx, dec, &e);
            one_blas_thread(1);
        }
        if (!o->quiet) {
            char label[128];
            snprintf(label, sizeof label, "train %s: loss %.5g  epoch", hy_dec_kind(dec->kind)->name, e.train_loss);
            hy_progress(label, ep, o->epochs, t0);
        }
    }
    one_blas_thread(0);
done:
    free(Xf);
    free(Yf);
    free(P);
    state_free(&s);
    return rc;
}
