// adam.c - decoders trained by mini-batch Adam in float32: HYPER's `linear` model (dense
// layer with bias, MSE, Adam lr 1e-5 with weight decay 0.01 added to the gradient as an L2
// term, as MXNet and torch.optim.Adam(weight_decay=...) do), `linear-nobias`, and `mlp`.
//
// Loss: mean over batch rows and latent dims of (pred - y)^2 (torch.nn.MSELoss()).
// Adam step (torch 1.13 single-tensor Adam, bit-for-bit in the order of operations):
//   g += wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Initialisation without given weights: U(-1/sqrt(in), 1/sqrt(in)) for weights and biases
// (nn.Linear's default), drawn from mt19937 seeded with the options' seed. Each epoch visits
// the rows in a fresh Fisher-Yates permutation from the same generator (unless shuffle is
// off); the last batch may be smaller. Dropout is inverted dropout on hidden activations.
// All sgemm calls are outside OpenMP regions; the element-wise Adam update is an omp loop.
#include <cblas.h>  // cblas_sgemm
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/rng.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"

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

// Given weights (o->init_W/init_b) or nn.Linear's U(-1/sqrt(in), 1/sqrt(in)), layer by layer,
// weight before bias.
static void init_weights(decoder *dec, const dec_opts *o, mt19937 *rng) {
    for (int l = 0; l < dec->n_layers; l++) {
        int in = dec->sizes[l], out = dec->sizes[l + 1];
        size_t nw = (size_t)in * out;
        float bound = 1.0f / sqrtf((float)in);
        if (o->init_W[l]) memcpy(dec->W[l], o->init_W[l], nw * sizeof(float));
        else
            for (size_t i = 0; i < nw; i++) dec->W[l][i] = (2 * hy_mt_uniform_f32(rng) - 1) * bound;
        if (!dec->b[l]) continue;
        if (o->init_b[l]) memcpy(dec->b[l], o->init_b[l], out * sizeof(float));
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

// Copies rows perm[r0 .. r0 + bs) of X (n, v) and Y (n, d) into the batch buffers.
static void load_batch(adam_state *s, const float *X, const float *Y, int v, int d, int r0, int bs) {
    for (int i = 0; i < bs; i++) {
        memcpy(s->act[0] + (size_t)i * v, X + (size_t)s->perm[r0 + i] * v, sizeof(float) * v);
        memcpy(s->yb + (size_t)i * d, Y + (size_t)s->perm[r0 + i] * d, sizeof(float) * d);
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

// MSE of the batch (mean over rows and dims); dz = dMSE/dpred = 2 (pred - y) / (bs d).
static double loss_grad(adam_state *s, int bs, int d) {
    const float *pred = s->act[s->L];
    double loss = 0;
    float sc = 2.0f / ((float)bs * (float)d);
    for (size_t i = 0; i < (size_t)bs * d; i++) {
        float e = pred[i] - s->yb[i];
        loss += (double)e * e;
        s->dz[i] = sc * e;
    }
    return loss / ((double)bs * d);
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

static void adam_update(float *p, float *m, float *v, const float *g, size_t n, float wd, float b1, float b2,
                        float step_size, float bc2_sqrt, float eps) {
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + (1 - b1) * gi;
        v[i] = v[i] * b2 + (1 - b2) * gi * gi;
        float den = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] - step_size * (m[i] / den);
    }
}

static void adam_step(decoder *dec, adam_state *s, const dec_opts *o) {
    s->step++;
    double bc1 = 1.0 - pow(o->beta1, (double)s->step), bc2 = 1.0 - pow(o->beta2, (double)s->step);
    const float step_size = (float)(o->lr / bc1), bc2s = (float)sqrt(bc2);
    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->adam_eps, wd = (float)o->weight_decay;
    for (int l = 0; l < dec->n_layers; l++) {
        adam_update(dec->W[l], s->mW[l], s->vW[l], s->gW[l], (size_t)dec->sizes[l] * dec->sizes[l + 1], wd, b1, b2,
                    step_size, bc2s, eps);
        if (s->gb[l])
            adam_update(dec->b[l], s->mb[l], s->vb[l], s->gb[l], dec->sizes[l + 1], wd, b1, b2, step_size, bc2s, eps);
    }
}

// --- epochs ---------------------------------------------------------------------------------

// One pass over X (n, v) -> Y (n, d) in batches of s->B; *loss gets the row-weighted mean
// of the batch losses (each taken before its step).
static void train_epoch(decoder *dec, adam_state *s, const dec_opts *o, const float *X, const float *Y, int n,
                        double *loss) {
    int v = dec->n_in, d = dec->n_out, B = s->B, nb = (n + B - 1) / B;
    if (o->shuffle) shuffle(s->perm, n, &s->rng);
    *loss = 0;
    for (int bi = 0; bi < nb; bi++) {
        int r0 = bi * B, bs = n - r0 < B ? n - r0 : B;
        load_batch(s, X, Y, v, d, r0, bs);
        forward(dec, s, o, bs);
        double bl = loss_grad(s, bs, d);
        if (o->loss_trace && s->step < o->max_trace) o->loss_trace[s->step] = (float)bl;
        *loss += bl * bs / n;
        backward(dec, s, bs);
        adam_step(dec, s, o);
    }
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

int hy_dec_train_adam(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    int rc = check_opts(o);
    if (rc) return rc;
    int B = o->batch_size > n ? n : o->batch_size;
    dec->epochs = o->epochs;
    dec->batch_size = B;
    dec->lr = o->lr;
    dec->weight_decay = o->weight_decay;
    dec->dropout = o->dropout;
    dec->seed = o->seed;
    float *Xf = NULL, *Yf = NULL;
    adam_state s;
    if ((rc = state_alloc(&s, dec, B, n)) || (rc = to_f32(X, Y, n, v, d, &Xf, &Yf))) goto done;
    hy_mt_seed(&s.rng, o->seed);
    init_weights(dec, o, &s.rng);
    double t0 = hy_now(), loss = 0;
    for (int ep = 0; ep < o->epochs; ep++) {
        train_epoch(dec, &s, o, Xf, Yf, n, &loss);
        if (!isfinite(loss)) {
            rc = hy_err(HY_EVALUE, "training diverged at epoch %d (loss is not finite); the learning rate %g may be "
                        "too high", ep + 1, o->lr);
            goto done;
        }
        if (!o->quiet) {
            char label[128];
            snprintf(label, sizeof label, "train %s: loss %.5g  epoch", hy_dec_kind(dec->kind)->name, loss);
            hy_progress(label, ep + 1, o->epochs, t0);
        }
    }
    dec->final_loss = loss;
done:
    free(Xf);
    free(Yf);
    state_free(&s);
    return rc;
}
