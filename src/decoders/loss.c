// loss.c - the losses of the Adam-trained decoders (dec_opts.loss) and their gradients with
// respect to the prediction, in the scale each recipe's backward pass expects.
//
// Per item i (a row of pred and y, d outputs):
//   L2      hyper: 1/2 mean_c (p_ic - y_ic)^2 (gluon.loss.L2Loss); torch: mean_c (p_ic - y_ic)^2
//           (MSELoss)
//   cosine  1 - p.y / (max(|p|, EPS) max(|y|, EPS)), EPS = 1e-8: only the direction of a latent
//           reaches the PGGAN image, so the loss ignores the norm; its gradient is
//           -(y / (|p| |y|) - cos p / |p|^2) (for |p| < EPS the second term is dropped, as the
//           clamped norm is constant there)
// The batch's loss is the mean over its items. dz is the gradient the recipe's backward pass
// takes: hyper sums the items' gradients (the step rescales by 1/batch), torch differentiates
// the batch mean (each item's gradient / bs).
#include <math.h>
#include <string.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"

#define COS_EPS 1e-8

static const char *NAMES[DEC_N_LOSSES] = {"l2", "cosine"};

const char *hy_dec_loss_name(dec_loss l) { return l >= 0 && l < DEC_N_LOSSES ? NAMES[l] : "?"; }

int hy_dec_loss_parse(const char *name, dec_loss *out) {
    for (int l = 0; l < DEC_N_LOSSES; l++)
        if (!strcmp(name, NAMES[l])) {
            *out = (dec_loss)l;
            return HY_OK;
        }
    return hy_err(HY_EARG, "unknown loss '%s' (l2, cosine)", name);
}

// 1 - cos of one item and, when dz is not NULL, scale times its gradient.
static double cosine_item(const float *p, const float *y, int d, float scale, float *dz) {
    double pp = 0, yy = 0, py = 0;
    for (int c = 0; c < d; c++) {
        pp += (double)p[c] * p[c];
        yy += (double)y[c] * y[c];
        py += (double)p[c] * y[c];
    }
    double np_ = sqrt(pp), ny = sqrt(yy), rp = np_ > COS_EPS ? np_ : COS_EPS, ry = ny > COS_EPS ? ny : COS_EPS;
    double cs = py / (rp * ry);
    if (dz) {
        double a = 1.0 / (rp * ry), b = np_ > COS_EPS ? cs / pp : 0.0;
        for (int c = 0; c < d; c++) dz[c] = (float)(scale * -(a * y[c] - b * p[c]));
    }
    return 1.0 - cs;
}

double hy_dec_loss_grad(dec_loss loss, dec_recipe recipe, const float *pred, const float *y, int bs, int d, float *dz) {
    const int hyper = recipe == DEC_RECIPE_HYPER;
    double total = 0;
    if (loss == DEC_LOSS_COSINE) {
        const float scale = hyper ? 1.0f : 1.0f / (float)bs;
        for (int i = 0; i < bs; i++)
            total += cosine_item(pred + (size_t)i * d, y + (size_t)i * d, d, scale, dz ? dz + (size_t)i * d : NULL);
        return total / bs;
    }
    // L2: hyper dz = (p - y) / d per row; torch dz = 2 (p - y) / (bs d)
    float sc = hyper ? 1.0f / (float)d : 2.0f / ((float)bs * (float)d);
    for (size_t i = 0; i < (size_t)bs * d; i++) {
        float e = pred[i] - y[i];
        total += (double)e * e;
        if (dz) dz[i] = sc * e;
    }
    return (hyper ? 0.5 : 1.0) * total / ((double)bs * d);
}

double hy_dec_loss_value(dec_loss loss, dec_recipe recipe, const float *pred, const double *y, int n, int d) {
    double total = 0;
    if (loss == DEC_LOSS_COSINE) {
        for (int i = 0; i < n; i++) {
            double pp = 0, yy = 0, py = 0;
            for (int c = 0; c < d; c++) {
                double p = pred[(size_t)i * d + c], t = y[(size_t)i * d + c];
                pp += p * p, yy += t * t, py += p * t;
            }
            total += 1.0 - py / (fmax(sqrt(pp), COS_EPS) * fmax(sqrt(yy), COS_EPS));
        }
        return total / n;
    }
    for (size_t i = 0; i < (size_t)n * d; i++) {
        double e = (double)pred[i] - y[i];
        total += e * e;
    }
    return (recipe == DEC_RECIPE_HYPER ? 0.5 : 1.0) * total / ((double)n * d);
}
