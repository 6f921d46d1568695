// dec_sgd.c - decoders trained by mini-batch Adam in float32: HYPER's `linear` model (dense
// layer with bias, MSE, Adam lr 1e-5 with weight decay 0.01 added to the gradient as an L2
// term, as MXNet and torch.optim.Adam(weight_decay=...) do), `linear-nobias`, and `mlp`.
//
// Loss: mean over batch rows and latent dims of (pred - y)^2 (torch.nn.MSELoss()).
// Adam step (torch 1.13 single-tensor Adam, bit-for-bit in the order of operations):
//   g += wd * p; m = b1 m + (1-b1) g; v = b2 v + (1-b2) g^2;
//   p -= lr / (1 - b1^t) * m / (sqrt(v) / sqrt(1 - b2^t) + eps)
// Initialisation without given weights: U(-1/sqrt(in), 1/sqrt(in)) for weights and biases
// (nn.Linear's default), drawn from mt19937 seeded with --seed. Each epoch visits the rows
// in a fresh Fisher-Yates permutation from the same generator (unless shuffle is off);
// the last batch may be smaller. Dropout is inverted dropout on hidden activations.
// All sgemm calls are outside OpenMP regions; the element-wise Adam update is an omp loop.
// Both run on one thread when small (threads.h): a HYPER-sized step is a few products of
// 30 x 4096 x 512, but a small dataset's are tiny and a second thread only costs.
#include <cblas.h>  // cblas_sgemm
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "base/rng.h"

static void adam_update(float *p, float *m, float *v, const float *g, size_t n, float wd, float b1, float b2,
                        float step_size, float bc2_sqrt, float eps) {
#pragma omp parallel for schedule(static) if (n >= HY_PAR_MIN_ELEMS)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i] + wd * p[i];
        m[i] = m[i] * b1 + (1 - b1) * gi;
        v[i] = v[i] * b2 + (1 - b2) * gi * gi;
        float den = sqrtf(v[i]) / bc2_sqrt + eps;
        p[i] = p[i] - step_size * (m[i] / den);
    }
}

static const char *act_name(int a) {
    return a == DEC_ACT_RELU ? "relu" : a == DEC_ACT_TANH ? "tanh" : a == DEC_ACT_LEAKY ? "leaky" : "none";
}

int hy_dec_adam_train(decoder *dec, const dec_opts *o, const float *X, const float *Y, int n, int v, int d) {
    int L = dec->n_layers, B = o->batch_size;
    if (o->epochs < 1) return hy_err(HY_EARG, "--epochs must be >= 1");
    if (B < 1) return hy_err(HY_EARG, "--batch must be >= 1");
    if (B > n) B = n;
    if (!(o->lr > 0)) return hy_err(HY_EARG, "--lr must be > 0");
    if (!(o->dropout >= 0 && o->dropout < 1)) return hy_err(HY_EARG, "--dropout must be in [0, 1)");
    (void)act_name;
    const int blas_threads0 = hy_blas_threads_begin(HY_PAR_MIN_WORK);  // unchanged; restored at the end
    dec->epochs = o->epochs;
    dec->batch_size = B;
    dec->lr = o->lr;
    dec->weight_decay = o->weight_decay;
    dec->dropout = o->dropout;
    dec->seed = o->seed;

    mt19937 rng;
    hy_mt_seed(&rng, o->seed);
    // init
    for (int l = 0; l < L; l++) {
        int in = dec->sizes[l], out = dec->sizes[l + 1];
        size_t nw = (size_t)in * out;
        float bound = 1.0f / sqrtf((float)in);
        if (o->init_W[l]) memcpy(dec->W[l], o->init_W[l], nw * sizeof(float));
        else
            for (size_t i = 0; i < nw; i++) dec->W[l][i] = (2 * hy_mt_uniform_f32(&rng) - 1) * bound;
        if (dec->b[l]) {
            if (o->init_b[l]) memcpy(dec->b[l], o->init_b[l], out * sizeof(float));
            else
                for (int i = 0; i < out; i++) dec->b[l][i] = (2 * hy_mt_uniform_f32(&rng) - 1) * bound;
        }
    }
    // buffers: Adam moments and grads per layer; activations per layer (B, size)
    int rc = HY_ENOMEM;
    float *mW[DEC_MAX_LAYERS] = {0}, *vW[DEC_MAX_LAYERS] = {0}, *gW[DEC_MAX_LAYERS] = {0};
    float *mb[DEC_MAX_LAYERS] = {0}, *vb[DEC_MAX_LAYERS] = {0}, *gb[DEC_MAX_LAYERS] = {0};
    float *act[DEC_MAX_LAYERS + 1] = {0}, *pre[DEC_MAX_LAYERS + 1] = {0}, *mask[DEC_MAX_LAYERS + 1] = {0};
    float *dz = NULL, *da = NULL, *yb = NULL;
    int *perm = hy_malloc(sizeof(int) * n);
    int maxw = 0;
    for (int l = 0; l <= L; l++)
        if (dec->sizes[l] > maxw) maxw = dec->sizes[l];
    if (!perm) goto done;
    for (int l = 0; l < L; l++) {
        size_t nw = (size_t)dec->sizes[l] * dec->sizes[l + 1];
        if (!(mW[l] = hy_calloc(nw, 4)) || !(vW[l] = hy_calloc(nw, 4)) || !(gW[l] = hy_calloc(nw, 4))) goto done;
        if (dec->b[l] && (!(mb[l] = hy_calloc(dec->sizes[l + 1], 4)) || !(vb[l] = hy_calloc(dec->sizes[l + 1], 4)) ||
                          !(gb[l] = hy_calloc(dec->sizes[l + 1], 4))))
            goto done;
    }
    for (int l = 0; l <= L; l++) {
        if (!(act[l] = hy_malloc(sizeof(float) * (size_t)B * dec->sizes[l]))) goto done;
        if (l > 0 && (!(pre[l] = hy_malloc(sizeof(float) * (size_t)B * dec->sizes[l])) ||
                      !(mask[l] = hy_malloc(sizeof(float) * (size_t)B * dec->sizes[l]))))
            goto done;
    }
    if (!(dz = hy_malloc(sizeof(float) * (size_t)B * maxw)) || !(da = hy_malloc(sizeof(float) * (size_t)B * maxw)) ||
        !(yb = hy_malloc(sizeof(float) * (size_t)B * d)))
        goto done;
    for (int i = 0; i < n; i++) perm[i] = i;

    const float b1 = (float)o->beta1, b2 = (float)o->beta2, eps = (float)o->adam_eps, wd = (float)o->weight_decay;
    const float slope = (float)o->leaky_slope, keep = (float)(1.0 - o->dropout);
    long step = 0;
    int nb = (n + B - 1) / B;
    double t0 = hy_now(), epoch_loss = 0;
    for (int ep = 0; ep < o->epochs; ep++) {
        if (o->shuffle)
            for (int i = n - 1; i > 0; i--) {
                int j = (int)(hy_mt_uniform_f64(&rng) * (i + 1));
                int t = perm[i];
                perm[i] = perm[j];
                perm[j] = t;
            }
        epoch_loss = 0;
        for (int bi = 0; bi < nb; bi++) {
            int r0 = bi * B, bs = n - r0 < B ? n - r0 : B;
            for (int i = 0; i < bs; i++) {
                memcpy(act[0] + (size_t)i * v, X + (size_t)perm[r0 + i] * v, sizeof(float) * v);
                memcpy(yb + (size_t)i * d, Y + (size_t)perm[r0 + i] * d, sizeof(float) * d);
            }
            // forward
            for (int l = 0; l < L; l++) {
                int in = dec->sizes[l], out = dec->sizes[l + 1];
                float *z = pre[l + 1];
                for (int i = 0; i < bs; i++)
                    for (int k = 0; k < out; k++) z[(size_t)i * out + k] = dec->b[l] ? dec->b[l][k] : 0.0f;
                hy_blas_threads_begin((double)bs * out * in);  // restored after training
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, bs, out, in, 1.0f, act[l], in, dec->W[l], in,
                            1.0f, z, out);
                size_t m = (size_t)bs * out;
                if (l == L - 1) {
                    memcpy(act[l + 1], z, m * sizeof(float));
                    continue;
                }
                for (size_t i = 0; i < m; i++) {
                    float t = z[i];
                    if (dec->act == DEC_ACT_RELU) t = t > 0 ? t : 0;
                    else if (dec->act == DEC_ACT_TANH) t = tanhf(t);
                    else if (dec->act == DEC_ACT_LEAKY) t = t > 0 ? t : slope * t;
                    float mk = 1.0f;
                    if (o->dropout > 0) mk = hy_mt_uniform_f32(&rng) < keep ? 1.0f / keep : 0.0f;
                    mask[l + 1][i] = mk;
                    act[l + 1][i] = t * mk;
                }
            }
            // loss and dL/dout = 2 (pred - y) / (bs d)
            double loss = 0;
            float sc = 2.0f / ((float)bs * (float)d);
            for (size_t i = 0; i < (size_t)bs * d; i++) {
                float e = act[L][i] - yb[i];
                loss += (double)e * e;
                dz[i] = sc * e;
            }
            loss /= (double)bs * d;
            if (o->loss_trace && step < o->max_trace) o->loss_trace[step] = (float)loss;
            epoch_loss += loss * bs / n;
            // backward
            for (int l = L - 1; l >= 0; l--) {
                int in = dec->sizes[l], out = dec->sizes[l + 1];
                // gW (out, in) = dz^T (out, bs) @ act[l] (bs, in)
                hy_blas_threads_begin((double)bs * out * in);
                cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, out, in, bs, 1.0f, dz, out, act[l], in, 0.0f,
                            gW[l], in);
                if (gb[l])
                    for (int k = 0; k < out; k++) {
                        float s = 0;
                        for (int i = 0; i < bs; i++) s += dz[(size_t)i * out + k];
                        gb[l][k] = s;
                    }
                if (l > 0) {
                    // da (bs, in) = dz (bs, out) @ W (out, in); then through dropout and activation
                    hy_blas_threads_begin((double)bs * out * in);
                    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, bs, in, out, 1.0f, dz, out, dec->W[l], in,
                                0.0f, da, in);
                    size_t m = (size_t)bs * in;
                    for (size_t i = 0; i < m; i++) {
                        float z = pre[l][i], gd = da[i] * mask[l][i];
                        if (dec->act == DEC_ACT_RELU) gd = z > 0 ? gd : 0;
                        else if (dec->act == DEC_ACT_TANH) {
                            float t = tanhf(z);
                            gd *= 1 - t * t;
                        } else if (dec->act == DEC_ACT_LEAKY) gd = z > 0 ? gd : slope * gd;
                        dz[i] = gd;
                    }
                }
            }
            // Adam
            step++;
            double bc1 = 1.0 - pow(o->beta1, (double)step), bc2 = 1.0 - pow(o->beta2, (double)step);
            float step_size = (float)(o->lr / bc1), bc2s = (float)sqrt(bc2);
            for (int l = 0; l < L; l++) {
                adam_update(dec->W[l], mW[l], vW[l], gW[l], (size_t)dec->sizes[l] * dec->sizes[l + 1], wd, b1, b2,
                            step_size, bc2s, eps);
                if (gb[l]) adam_update(dec->b[l], mb[l], vb[l], gb[l], dec->sizes[l + 1], wd, b1, b2, step_size, bc2s, eps);
            }
        }
        if (!isfinite(epoch_loss)) {
            rc = hy_err(HY_EVALUE, "training diverged at epoch %d (loss is not finite); lower --lr", ep + 1);
            goto done;
        }
        if (!o->quiet) {
            char label[128];
            snprintf(label, sizeof label, "train %s: loss %.5g  epoch", dec->model, epoch_loss);
            hy_progress(label, ep + 1, o->epochs, t0);
        }
    }
    dec->final_loss = epoch_loss;
    rc = HY_OK;
done:
    hy_blas_threads_end(blas_threads0);
    for (int l = 0; l < DEC_MAX_LAYERS; l++) {
        free(mW[l]);
        free(vW[l]);
        free(gW[l]);
        free(mb[l]);
        free(vb[l]);
        free(gb[l]);
    }
    for (int l = 0; l <= DEC_MAX_LAYERS; l++) {
        free(act[l]);
        free(pre[l]);
        free(mask[l]);
    }
    free(dz);
    free(da);
    free(yb);
    free(perm);
    return rc;
}
