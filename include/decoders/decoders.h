// decoders.h - fMRI -> latent decoders: trainers (closed form, coordinate descent, Adam),
// the weight-file representation, and prediction.
//
// Every trained decoder is a small feed-forward net applied to (optionally z-scored)
// voxel responses: x (V) -> [ (x - mean) / scale ] -> layer 0 -> act -> ... -> layer L-1 -> latent (D).
// Linear models (linear, linear-nobias, ols, ridge, lasso, elasticnet) are one layer.
//
// Weight file (kind "decoder", include/base/wfile.h):
//   config  model        str    the kind's name: linear | linear-nobias | ols | ridge | lasso | elasticnet | mlp
//           n_in, n_out  int    V and D
//           n_layers     int    L (1 for linear models)
//           layer_sizes  ints   L+1 sizes: V, hidden..., D
//           activation   str    none | relu | tanh | leaky | sigmoid | elu | softplus (between layers)
//           leaky_slope  float  negative slope of leaky
//           bias         int    1 if layers.<l>.bias tensors exist
//           zscore       int    1 if zscore.mean / zscore.scale exist
//           n_train      int    training rows
//           + the training options that produced it (alpha: floats, one per target or one;
//             l1_ratio, cv; for the Adam kinds recipe, epochs, lr, weight_decay, batch_size, seed,
//             dropout, final_loss)
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

// Decoder kinds. The name of each (hy_dec_kind(k)->name) is what the weight file's "model"
// field and the command line say.
typedef enum {
    DEC_LINEAR = 0,     // HYPER's model: dense layer with bias, Adam
    DEC_LINEAR_NOBIAS,  // the same without bias
    DEC_OLS,            // least squares, closed form
    DEC_RIDGE,          // closed form with an alpha chosen by CV
    DEC_LASSO,          // coordinate descent along a penalty path, CV per target
    DEC_ELASTICNET,     // the same with an L2 share
    DEC_MLP,            // hidden layers + activation (+ dropout), Adam; optionally on a ridge's residual
    DEC_KERNEL_RIDGE,   // kernel ridge in the dual (linear, rbf, polynomial kernels), CV over alpha/gamma
    DEC_PLS,            // partial least squares regression (NIPALS to convergence), CV over components
    DEC_N_KINDS
} dec_kind;

// How the iterative kinds train (src/decoders/adam.c has the exact rules):
//   DEC_RECIPE_HYPER  HYPER's MXNet/Gluon notebook: NDArrayIter batches (last batch padded from
//                     the start of the epoch's order), L2Loss (1/2 mean squared error per row),
//                     gradient summed over the batch and rescaled by 1/batch, MXNet Adam (wd added
//                     to every parameter's gradient, eps outside the bias correction), weights
//                     from U(-0.07, 0.07), zero biases.
//   DEC_RECIPE_TORCH  PyTorch: nn.Linear init, MSELoss, torch.optim.Adam, last batch smaller.
typedef enum { DEC_RECIPE_HYPER = 0, DEC_RECIPE_TORCH, DEC_N_RECIPES } dec_recipe;

// What an iterative trainer reports after each epoch (dec_opts.on_epoch).
typedef struct {
    int epoch;          // 1-based: epochs done
    double train_loss;  // the recipe's loss, averaged over the epoch's batches (each before its step)
    double test_loss;   // the recipe's loss on dec_opts' test rows after the epoch (NaN without them)
} dec_epoch;

// Losses of the Adam-trained kinds (names: hy_dec_loss_name; src/decoders/loss.c):
//   DEC_LOSS_L2      the recipe's squared error (hyper: L2Loss, torch: MSELoss)
//   DEC_LOSS_COSINE  1 - cos(pred, target) per item, the mean over the batch's items: only the
//                    direction of a latent reaches the PGGAN image (the generator pixel-normalises
//                    z first), so this fits what the image shows and ignores the norm
typedef enum { DEC_LOSS_L2 = 0, DEC_LOSS_COSINE, DEC_N_LOSSES } dec_loss;

// The closed-form part of an MLP trained on its residual (dec_opts.skip, `--skip ridge`).
typedef enum { DEC_SKIP_NONE = 0, DEC_SKIP_RIDGE, DEC_N_SKIPS } dec_skip;

// Kernels of kernel ridge (names: hy_kr_kernel_name), as scikit-learn's pairwise kernels:
//   linear  x . y        rbf  exp(-gamma ||x - y||^2)        poly  (gamma x . y + coef0)^degree
enum { KR_LINEAR = 0, KR_RBF, KR_POLY, KR_N_KERNELS };

// Activations between the layers of an MLP (names: hy_dec_act_name).
enum { DEC_ACT_NONE = 0, DEC_ACT_RELU, DEC_ACT_TANH, DEC_ACT_LEAKY, DEC_ACT_SIGMOID, DEC_ACT_ELU, DEC_ACT_SOFTPLUS, DEC_N_ACTS };

typedef struct {
    dec_kind kind;
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
    dec_recipe recipe;
    int epochs, batch_size;
    double lr, weight_decay, dropout, final_loss;
    uint64_t seed;
    dec_loss loss;          // Adam kinds: the loss trained on (file config "loss" when not L2)
    // MLP on a ridge's residual: prediction = skip_W x + skip_b + net(x) (file: config "skip",
    // tensors skip.weight (n_out, n_in), skip.bias (n_out)); NULL without
    float *skip_W, *skip_b;
    double skip_alpha;
    // kernel ridge: the kernel (layer 0 holds the training rows, layer 1 the dual coefficients)
    int kernel, degree;
    double gamma, coef0;
    int components;         // pls: latent components
} decoder;

// Options for every trainer (hy_dec_opts_default fills the documented defaults).
typedef struct {
    dec_kind kind;
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
    // Adam (linear, linear-nobias, mlp); defaults from the recipe (hy_dec_opts_recipe):
    //   hyper: epochs 1500, lr 1e-5, weight decay 0.01, batch 30 for every kind (the notebook's);
    //   torch: the same for linear/linear-nobias, epochs 200, lr 1e-3, weight decay 0 for mlp
    dec_recipe recipe;     // default DEC_RECIPE_HYPER
    int epochs;
    double lr;
    double weight_decay;   // L2 added to the gradient
    int batch_size;
    int shuffle;           // reshuffle each epoch (default 1)
    uint64_t seed;         // init + shuffling + dropout (default 1)
    double beta1, beta2, adam_eps;  // 0.9, 0.999, 1e-8
    int hidden[DEC_MAX_LAYERS];
    int n_hidden;
    int act;
    double leaky_slope;    // 0.01
    double dropout;        // on hidden activations (default 0)
    dec_loss loss;         // Adam kinds: DEC_LOSS_L2 (default) or DEC_LOSS_COSINE
    dec_skip skip;         // mlp: DEC_SKIP_RIDGE trains the net on ridge's residual (ridge's CV options)
    // kernel-ridge (alphas, alpha grid and --cv as ridge)
    int kernel;            // KR_LINEAR | KR_RBF (default) | KR_POLY
    double gamma;          // > 0; 0 = 1 / voxels (scikit-learn's default)
    int n_gammas;          // > 1: CV over a log grid gamma_min .. gamma_max (rbf, poly)
    double gamma_min, gamma_max;
    int degree;            // poly (3)
    double coef0;          // poly (1)
    // pls
    int components;        // components (default 16); with cv_folds >= 2 the CV picks 1..components
    int quiet;             // no progress line
    // optional initial weights for Adam models (tests): layer l weight/bias, float32
    const float *init_W[DEC_MAX_LAYERS];
    const float *init_b[DEC_MAX_LAYERS];
    float *loss_trace;     // optional: per-step mini-batch loss (before the step), size max_trace
    int max_trace;
    // optional held-out rows for each epoch's test loss: X_test (n_test, v) raw (not z-scored),
    // Y_test (n_test, d)
    const double *X_test, *Y_test;
    int n_test;
    // optional: called after every epoch with the current weights; dec->epochs and
    // dec->final_loss already say "trained for e->epoch epochs", so saving dec here writes the
    // file a run of that many epochs writes. A non-zero return stops training with that code.
    int (*on_epoch)(void *ctx, const decoder *dec, const dec_epoch *e);
    void *on_epoch_ctx;
} dec_opts;

// --- the kinds ---------------------------------------------------------------------------
// One entry per kind (the table is in src/decoders/decoder.c). hy_dec_train allocates the
// layers and z-scores the input, then calls `train`; hy_dec_save writes the common fields and
// the layers, then `save_record`; hy_dec_from_wfile reads them back, then `load_record`.
// A new decoder kind is a new enum value, one table row and its functions.
typedef struct {
    const char *name;     // "linear", "ridge", ... (weight file "model", command line)
    const char *summary;  // one line for help texts
    int iterative;        // trained by epochs of Adam (epochs, batch, lr, seed apply)
    int bias;             // the layers have biases
    void (*defaults)(dec_opts *o);  // the kind's defaults on top of the common ones (may be NULL)
    // Fits the allocated layers of dec to X (n, v) -> Y (n, d), X already z-scored when asked.
    int (*train)(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);
    // Prediction X (n, v) float64 -> out (n, d) float32.
    int (*predict)(const decoder *dec, const double *X, int n, float *out);
    // The kind's training record in the weight file's config (may be NULL).
    int (*save_record)(const decoder *dec, wf_writer *w);
    int (*load_record)(decoder *dec, const wfile *wf, const char *path);
} dec_kind_info;

const dec_kind_info *hy_dec_kind(dec_kind k);
// Looks a kind up by name; HY_EARG with the list of known names when there is none.
int hy_dec_kind_parse(const char *name, dec_kind *out);
// "linear, linear-nobias, ols, ..." for messages and help.
const char *hy_dec_kind_names(void);
const char *hy_dec_loss_name(dec_loss loss);               // "l2", "cosine"
int hy_dec_loss_parse(const char *name, dec_loss *out);     // HY_EARG naming the losses
const char *hy_dec_skip_name(dec_skip skip);               // "none", "ridge"
int hy_dec_skip_parse(const char *name, dec_skip *out);
const char *hy_dec_act_name(int act);
const char *hy_dec_act_names(void);  // "none|relu|tanh|..." in enum order
int hy_dec_act_parse(const char *name, int *act);  // HY_EARG naming the known activations

// Defaults for a kind (recipe hyper); hy_dec_opts_recipe switches the recipe and resets the
// recipe's defaults (epochs, lr, weight decay, batch size).
void hy_dec_opts_default(dec_opts *o, dec_kind kind);
void hy_dec_opts_recipe(dec_opts *o, dec_recipe recipe);
const char *hy_dec_recipe_name(dec_recipe r);           // "hyper", "torch"
int hy_dec_recipe_parse(const char *name, dec_recipe *out);  // HY_EARG naming the recipes

// Trains `o->kind` on X (n, v) -> Y (n, d), both row-major float64.
int hy_dec_train(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);

// Prediction: X (n, v) float64 -> out (n, d) float32 (the kind's predict).
int hy_dec_predict(const decoder *dec, const double *X, int n, float *out);

int hy_dec_save(const decoder *dec, const char *path);
int hy_dec_load(decoder *dec, const char *path);
// The same from an open weight file (its tensors are copied; path names it in errors).
int hy_dec_from_wfile(decoder *dec, wfile *wf, const char *path);
void hy_dec_free(decoder *dec);
void hy_dec_describe(const decoder *dec, FILE *f);

// --- initial weights from an .npz file (`--init INIT.npz`) ---------------------------------
// Arrays: a one-layer kind (linear, linear-nobias) has `weight` (d, v) and, with a bias,
// `bias` (d); an MLP has weight0, bias0, weight1, ... with layer l's shapes (sizes[l+1],
// sizes[l]) and (sizes[l+1]) (nn.Linear / Gluon Dense layout). Every array must be there with
// exactly that shape, finite, float32 or float64, and no other array may be: errors name the
// file, the array, and the expected and found shapes.
typedef struct {
    int n_layers;
    float *W[DEC_MAX_LAYERS], *b[DEC_MAX_LAYERS];
} dec_init;

// Reads the initial weights for options o (kind, hidden sizes) on v voxels and d outputs.
int hy_dec_init_read(dec_init *init, const char *path, const dec_opts *o, int v, int d);
// Points o->init_W / init_b at them (init must outlive the training).
void hy_dec_init_apply(const dec_init *init, dec_opts *o);
void hy_dec_init_free(dec_init *init);

// --- .npz exchange (`hyper export` / `hyper import`, src/decoders/exchange.c) ---------------
// Arrays (float32 unless said): a one-layer decoder has `weight` (D, V) and, with a bias,
// `bias` (D,) -- scikit-learn's coef_ and intercept_, nn.Linear's weight and bias; an MLP has
// weight0, bias0, weight1, ... with layer l's shapes (sizes[l+1], sizes[l]) and (sizes[l+1]).
// A z-scored decoder adds `zscore_mean` and `zscore_scale` (V,) (StandardScaler's mean_ and
// scale_): the input is (x - mean) / scale before the first layer. Text scalars `model` (the
// kind's name) and, for an MLP, `activation`, plus `leaky_slope` (float64 scalar), say how to
// run it. Export writes all of these; import reads float32 or float64 arrays, also accepts a
// 1-D weight (one output: coef_ of a single-target fit) with a 0-d or 1-element bias, and
// refuses any other array name, a shape that does not chain, NaN/Inf, zscore_scale <= 0, an
// MLP without an activation. The kind is `model` (the model argument overrides it), else mlp
// for numbered layers, linear (with bias) or linear-nobias; act (may be NULL) overrides
// `activation`.
int hy_dec_export_npz(const decoder *dec, const char *path, int compress);
int hy_dec_import_npz(decoder *dec, const char *path, const char *model, const char *act);

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
//
// How (src/decoders/lasso.c, enet_path.c): each penalty is solved on a working set of features
// chosen by the sequential strong rule (Tibshirani et al. 2012: |x_j^T r| >= l1 (2 alpha_k -
// alpha_{k-1})), then every feature left out is checked against the KKT condition |x_j^T r| <=
// l1 and the violators are added until none is left, so the solution is the full problem's.
// The coordinate descent inside runs on the working set's Gram block. Gram rows come from
//   ENET_GRAM      the whole Gram matrix per fold, shared by all targets; the folds' matrices
//                  are the full one minus their held-out rows (one pass over the data)
//   ENET_RESIDUAL  rows computed from the centred data when a feature first enters a working
//                  set (kept for the thread's later targets of the fold): for feature counts whose
//                  Gram matrix does not fit in memory
//   ENET_AUTO      GRAM when the matrix fits in 2 GiB (p <= 16384), else RESIDUAL
//   ENET_PLAIN     the naive twin: cyclic coordinate descent over every feature with the whole
//                  Gram matrix (the solver before strong rules; the tests compare against it)
typedef enum { ENET_AUTO = 0, ENET_GRAM, ENET_RESIDUAL, ENET_PLAIN } enet_mode;

typedef struct {
    double l1_ratio;     // in (0, 1]; 1 = lasso
    int path_len;        // penalties on the path (>= 1)
    double path_eps;     // alpha_min / alpha_max, in (0, 1)
    int cv_folds;        // >= 2 when path_len > 1
    double fixed_alpha;  // > 0: no path, no CV
    int max_iter;        // sweeps per penalty
    double tol;          // duality gap tolerance relative to ||y_c||^2
    enet_mode mode;
} enet_cfg;

// Defaults: lasso, path 20, eps 0.1, 5 folds, max_iter 1000, tol 1e-4, ENET_AUTO.
void hy_dec_enet_cfg_default(enet_cfg *c);
// Fits X (n, p) -> Y (n, d); W (d, p), b (d), chosen (d) the penalty of each target.
int hy_dec_enet_fit(const enet_cfg *c, const double *X, const double *Y, int n, int p, int d, double *W, double *b,
                    double *chosen);

// One elastic-net coordinate-descent solve on centered data through the Gram matrix
// G = Xc^T Xc (p, p) and q0 = Xc^T yc (p); w (p) holds the warm start and the result.
// Returns the number of sweeps; *gap_out the final duality gap.
int hy_dec_enet_cd_gram(const double *G, const double *q0, double yy, int n, int p, double alpha,
                     double l1_ratio, int max_iter, double tol, double *w, double *work,
                     double *gap_out);

// --- kernel ridge (src/decoders/kernel_ridge.c) ---------------------------------------------
typedef struct {
    int kernel;     // KR_*
    double gamma;   // rbf, poly (> 0)
    int degree;     // poly (>= 1)
    double coef0;   // poly
} kr_kernel;
const char *hy_kr_kernel_name(int kernel);
int hy_kr_kernel_parse(const char *name, int *kernel);  // HY_EARG naming the kernels
// K (na, nb) = k(A_i, B_j) for rows A (na, v), B (nb, v), as sklearn.metrics.pairwise.
int hy_kr_gram(double *K, const double *A, int na, const double *B, int nb, int v, const kr_kernel *k);
// scikit-learn's KernelRidge (no intercept): dual (n, d) = (K + alpha I)^-1 Y. With several
// alphas and/or gammas (gammas: rbf and poly; NULL or n_gammas 0 keeps k->gamma), one pair for
// all targets is chosen by exact leave-one-out (cv_folds 0: e_i / (1 - H_ii) with
// H = K (K + alpha I)^-1 from one eigendecomposition per gamma) or contiguous K-fold, the
// mean over folds of the fold's MSE over items and targets (GridSearchCV's
// neg_mean_squared_error; ties keep the first pair, alpha-major); *alpha and k->gamma get the
// choice, cv_err (n_alphas, n_gammas) the CV errors when not NULL. The refit solves by Cholesky.
int hy_dec_kernel_ridge(const double *X, const double *Y, int n, int v, int d, kr_kernel *k, const double *alphas,
                        int n_alphas, const double *gammas, int n_gammas, int cv_folds, double *dual, double *alpha,
                        double *cv_err);

// --- partial least squares (src/decoders/pls.c) -----------------------------------------------
// scikit-learn's PLSRegression(n_components=K, scale=False) computed to convergence: X and Y
// centred; per component k the first left singular vector w of Xk^T Yk exactly (what NIPALS's
// power iteration converges to; the dominant eigenvector of (Xk^T Yk)^T (Xk^T Yk) or of
// (Xk^T Yk)(Xk^T Yk)^T, whichever is smaller), its sign as sklearn's _svd_flip_1d, scores
// t = Xk w, loadings p = Xk^T t / t.t and q = Yk^T t / t.t, deflation Xk -= t p^T, Yk -= t q^T;
// rotations R = W pinv(P^T W). P^T W is upper triangular with a unit diagonal (Xj w_i = 0 for
// j > i), so the model of the first k components uses R's first k columns.
typedef struct {
    int v, d, K;
    double *xm, *ym;  // (v), (d) training means
    double *R, *Q;    // (v, K) rotations, (d, K) y loadings
} pls_fit;
// Fits K components; K above the rank of centred X (a component with t = 0) is refused.
int hy_pls_fit(pls_fit *f, const double *X, const double *Y, int n, int v, int d, int K);
void hy_pls_free(pls_fit *f);
// The model of the first k <= K components: W (d, v) = Q_k R_k^T, b = ym - W xm.
void hy_pls_coef(const pls_fit *f, int k, double *W, double *b);
// K components (cv_folds 0), or the k in 1..K with the least contiguous K-fold CV error (mean
// over folds of the fold's MSE over items and targets; ties keep the smaller k): W (d, v),
// b (d), *k_out the components used, cv_err (K) when not NULL.
int hy_dec_pls(const double *X, const double *Y, int n, int v, int d, int K, int cv_folds, double *W, double *b,
               int *k_out, double *cv_err);

// Log-spaced grid from hi to lo (n points, descending when hi > lo).
void hy_dec_logspace(double *out, int n, double lo, double hi);

#endif
