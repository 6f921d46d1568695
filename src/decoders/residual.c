// residual.c - the `mlp` kind's trainer: a plain MLP (adam.c), or with `--skip ridge` a
// residual net: prediction = ridge(x) + mlp(x), where ridge is fitted first in closed form
// (exact leave-one-out over the ridge alpha grid, or the fixed --alpha, as `--model ridge`)
// and the MLP is trained by Adam on ridge's residual Y - ridge(X) with the L2 loss. The MLP's
// last layer starts at zero, so training starts from the ridge fit, and with the squared error
// of the sum being the squared error of the residual, every step the net takes from there
// lowers the training error of the sum: the nonlinear part can only add to the best linear one.
//
// The ridge part is stored with the decoder (tensors skip.weight, skip.bias; config skip =
// "ridge", skip_alpha) and added by the prediction (hy_dec_net_predict). Cosine loss is refused
// with a skip: 1 - cos(ridge + net, y) is not a loss on the residual.
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"

static const char *SKIPS[DEC_N_SKIPS] = {"none", "ridge"};

const char *hy_dec_skip_name(dec_skip s) { return s >= 0 && s < DEC_N_SKIPS ? SKIPS[s] : "?"; }

int hy_dec_skip_parse(const char *name, dec_skip *out) {
    for (int k = 0; k < DEC_N_SKIPS; k++)
        if (!strcmp(name, SKIPS[k])) {
            *out = (dec_skip)k;
            return HY_OK;
        }
    return hy_err(HY_EARG, "unknown skip '%s' (none, ridge)", name);
}

// Fits the ridge part: W (d, v), b (d), and its alpha.
static int fit_ridge(const dec_opts *o, const double *X, const double *Y, int n, int v, int d, double *W, double *b,
                     double *alpha) {
    int na = o->fixed_alpha > 0 ? 1 : o->n_alphas;
    if (na < 1) return hy_err(HY_EARG, "ridge: empty alpha grid");
    double *grid = hy_malloc(sizeof(double) * na), *chosen = hy_malloc(sizeof(double) * d);
    int rc = grid && chosen ? HY_OK : HY_ENOMEM;
    if (!rc) {
        if (o->fixed_alpha > 0) grid[0] = o->fixed_alpha;
        else hy_dec_logspace(grid, na, o->alpha_min, o->alpha_max);
        rc = hy_dec_ridge(X, Y, n, v, d, grid, na, 0, 0, W, b, chosen, NULL);
    }
    if (!rc) *alpha = chosen[0];
    free(grid), free(chosen);
    return rc;
}

int hy_dec_train_mlp(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    if (o->skip == DEC_SKIP_NONE) return hy_dec_train_adam(dec, o, X, Y, n, v, d);
    if (o->skip != DEC_SKIP_RIDGE) return hy_err(HY_EARG, "mlp: unknown skip %d", (int)o->skip);
    if (o->loss != DEC_LOSS_L2)
        return hy_err(HY_EARG, "mlp with a ridge skip trains on ridge's residual with the L2 loss; the %s loss is not "
                      "available with it", hy_dec_loss_name(o->loss));
    const int L = o->n_hidden + 1;
    double *W = hy_malloc(sizeof(double) * (size_t)v * d), *b = hy_malloc(sizeof(double) * d);
    double *R = hy_malloc(sizeof(double) * (size_t)n * d);
    float *zW = hy_calloc((size_t)d * (L > 1 ? o->hidden[L - 2] : v), sizeof(float)), *zb = hy_calloc(d, sizeof(float));
    dec->skip_W = hy_malloc(sizeof(float) * (size_t)v * d);
    dec->skip_b = hy_malloc(sizeof(float) * d);
    int rc = W && b && R && zW && zb && dec->skip_W && dec->skip_b ? HY_OK : HY_ENOMEM;
    double alpha = 0;
    if (!rc) rc = fit_ridge(o, X, Y, n, v, d, W, b, &alpha);
    if (!rc) {
        // the residual, with the float32 weights the prediction will use
        for (size_t i = 0; i < (size_t)v * d; i++) dec->skip_W[i] = (float)W[i];
        for (int t = 0; t < d; t++) dec->skip_b[t] = (float)b[t];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < d; t++) {
                double acc = dec->skip_b[t];
                const float *w = dec->skip_W + (size_t)t * v;
                for (int j = 0; j < v; j++) acc += (double)w[j] * X[(size_t)i * v + j];
                R[(size_t)i * d + t] = Y[(size_t)i * d + t] - acc;
            }
        dec->skip_alpha = alpha;
        dec_opts o2 = *o;
        if (!o2.init_W[L - 1]) {  // the correction starts at zero: the model starts as the ridge fit
            o2.init_W[L - 1] = zW;
            o2.init_b[L - 1] = zb;
        }
        rc = hy_dec_train_adam(dec, &o2, X, R, n, v, d);
    }
    free(W), free(b), free(R), free(zW), free(zb);
    return rc;
}
