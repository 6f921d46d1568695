// decoders.h - fMRI -> latent decoders: trainers (closed form, coordinate descent, Adam),
// the weight-file representation, and prediction.
//
// Every trained decoder is a small feed-forward net applied to (optionally z-scored)
// voxel responses: x (V) -> [ (x - mean) / scale ] -> layer 0 -> act -> ... -> layer L-1 -> latent (D).
// Linear models (linear, linear-nobias, ols, ridge, lasso, elasticnet) are one layer.
//
// Weight file (kind "decoder", include/base/wfile.h):
//   config  model        str    linear | linear-nobias | ols | ridge | lasso | elasticnet | mlp
//           n_in, n_out  int    V and D
//           n_layers     int    L (1 for linear models)
//           layer_sizes  ints   L+1 sizes: V, hidden..., D
//           activation   str    none | relu | tanh | leaky  (between layers only)
//           leaky_slope  float  negative slope of leaky
//           bias         int    1 if layers.<l>.bias tensors exist
//           zscore       int    1 if zscore.mean / zscore.scale exist
//           n_train      int    training rows
//           + the training options that produced it (alpha: floats, one per target or one;
//             l1_ratio, cv, epochs, lr, weight_decay, batch_size, seed, dropout, final_loss)
//   tensors layers.<l>.weight  f32 (out, in)   PyTorch nn.Linear layout
//           layers.<l>.bias    f32 (out)
//           zscore.mean        f32 (V)         training-set voxel means
//           zscore.scale       f32 (V)         training-set voxel standard deviations (ddof 0;
//                                              constant voxels get 1)
#ifndef HY_DECODERS_H
#define HY_DECODERS_H

#include <stdint.h>
#include <stdio.h>

#include "base/wfile.h"

#define DEC_MAX_LAYERS 8

enum { DEC_ACT_NONE = 0, DEC_ACT_RELU, DEC_ACT_TANH, DEC_ACT_LEAKY };

typedef struct {
    char model[32];
    int n_in, n_out, n_layers;
    int sizes[DEC_MAX_LAYERS + 1];  // sizes[0] = n_in ... sizes[n_layers] = n_out
    int act;
    double leaky_slope;
    int has_bias;
    float *W[DEC_MAX_LAYERS];  // (sizes[l+1], sizes[l])
    float *b[DEC_MAX_LAYERS];  // (sizes[l+1]) or NULL
    float *x_mean, *x_scale;   // (n_in) or NULL
    int n_train;
    // training record written to the config (informational)
    double *alpha;  // (n_alpha) chosen penalties, NULL if none
    int n_alpha;
    char cv[32];
    double l1_ratio;
    int epochs, batch_size;
    double lr, weight_decay, dropout, final_loss;
    uint64_t seed;
} decoder;

// Options for every trainer (dec_opts_default fills the documented defaults).
typedef struct {
    char model[32];
    int zscore;
    // ridge
    int n_alphas;          // grid size (default 20)
    double alpha_min, alpha_max;  // log grid ends (default 1e-2 .. 1e6)
    int cv_folds;          // 0 = leave-one-out (efficient, exact); K >= 2 = K-fold (contiguous)
    int per_target;        // ridge: one alpha per target (1) or one for all (0)
    // lasso / elasticnet
    double l1_ratio;       // 1 = lasso
    int path_len;          // number of penalties on the path (default 20)
    double path_eps;       // alpha_min / alpha_max on the path (default 1e-1)
    int max_iter;          // coordinate-descent sweeps per penalty (default 1000)
    double tol;            // duality-gap tolerance relative to ||y||^2 (default 1e-4)
    double fixed_alpha;    // > 0: no CV, fit this penalty (ridge/lasso/elasticnet)
    // Adam (linear, linear-nobias, mlp)
    int epochs;            // default 1500 (linear) / 200 (mlp)
    double lr;             // default 1e-5 (linear) / 1e-3 (mlp)
    double weight_decay;   // L2 added to the gradient (default 0.01 linear, 0 mlp)
    int batch_size;        // default 30
    int shuffle;           // reshuffle each epoch (default 1)
    uint64_t seed;         // init + shuffling + dropout (default 1)
    double beta1, beta2, adam_eps;  // 0.9, 0.999, 1e-8
    int hidden[DEC_MAX_LAYERS];
    int n_hidden;
    int act;
    double leaky_slope;    // 0.01
    double dropout;        // on hidden activations (default 0)
    int quiet;             // no progress line
    // optional initial weights for Adam models (tests): layer l weight/bias, float32
    const float *init_W[DEC_MAX_LAYERS];
    const float *init_b[DEC_MAX_LAYERS];
    float *loss_trace;     // optional: per-step mini-batch loss (before the step), size max_trace
    int max_trace;
} dec_opts;

void hy_dec_opts_default(dec_opts *o, const char *model);
int hy_dec_model_known(const char *model);
int hy_dec_is_iterative(const char *model);

// Trains `o->model` on X (n, v) -> Y (n, d), both row-major float64.
int hy_dec_train(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);

// Prediction: X (n, v) float64 -> out (n, d) float32.
int hy_dec_predict(const decoder *dec, const double *X, int n, float *out);

int hy_dec_save(const decoder *dec, const char *path);
int hy_dec_load(decoder *dec, const char *path);
// The same from an open weight file (its tensors are copied; path names it in errors).
int hy_dec_from_wfile(decoder *dec, wfile *wf, const char *path);
void hy_dec_free(decoder *dec);
void hy_dec_describe(const decoder *dec, FILE *f);

// --- solver-level API (float64, used by dec_train and by the parity tests) ---------------
// All coefficient outputs are W (d, p) row-major (nn.Linear layout) and b (d).

// Least squares with intercept (fit_intercept) via SVD; minimum-norm when p > n - 1.
// Singular values below rcond * s_max are treated as zero (rcond <= 0: eps * max(n, p)).
int hy_dec_ols(const double *X, const double *Y, int n, int p, int d, int fit_intercept, double rcond,
            double *W, double *b);

// Ridge: minimise ||y - Xw - b||^2 + alpha ||w||^2 per target (sklearn Ridge convention).
// alphas: grid (n_alphas). cv_folds 0 = exact leave-one-out; K >= 2 = contiguous K-fold.
// per_target: choose a separate alpha for each target. Outputs chosen alpha per target
// (chosen, d) and optionally the CV error table (cv_err, n_alphas x d: mean squared error).
int hy_dec_ridge(const double *X, const double *Y, int n, int p, int d, const double *alphas,
              int n_alphas, int cv_folds, int per_target, double *W, double *b, double *chosen,
              double *cv_err);

// Elastic net (sklearn ElasticNet convention, per target):
//   1/(2n) ||y - Xw - b||^2 + alpha * l1_ratio * |w|_1 + alpha * (1 - l1_ratio) / 2 * ||w||^2
// Path of path_len alphas from alpha_max (all-zero solution) down to path_eps * alpha_max
// (log spaced, warm starts), K-fold CV (contiguous folds, MSE) choosing one alpha per target,
// then a refit on all rows. fixed_alpha > 0 skips the path and CV.
int hy_dec_enet(const double *X, const double *Y, int n, int p, int d, double l1_ratio, int path_len,
             double path_eps, int cv_folds, double fixed_alpha, int max_iter, double tol, double *W,
             double *b, double *chosen);

// One elastic-net coordinate-descent solve on centered data through the Gram matrix
// G = Xc^T Xc (p, p) and q0 = Xc^T yc (p); w (p) holds the warm start and the result.
// Returns the number of sweeps; *gap_out the final duality gap.
int hy_dec_enet_cd_gram(const double *G, const double *q0, double yy, int n, int p, double alpha,
                     double l1_ratio, int max_iter, double tol, double *w, double *work,
                     double *gap_out);

// Log-spaced grid from hi to lo (n points, descending when hi > lo).
void hy_dec_logspace(double *out, int n, double lo, double hi);

#endif
