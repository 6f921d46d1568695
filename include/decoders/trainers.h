// trainers.h - the functions behind the decoder-kind table (src/decoders/decoder.c).
//
// Callers use hy_dec_train / hy_dec_predict / hy_dec_save / hy_dec_load (decoders.h); these
// are the per-kind pieces the table points at, and the helpers they share. Each trainer gets
// a decoder whose layers are allocated (sizes, bias and activation set from the options) and
// the input already z-scored when asked; it fills the weights and its training record.
#ifndef HY_DEC_TRAINERS_H
#define HY_DEC_TRAINERS_H

#include "decoders/decoders.h"

// --- trainers (one per family) ------------------------------------------------------------
// src/decoders/closed_form.c
int hy_dec_train_ols(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);
int hy_dec_train_ridge(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);
// src/decoders/lasso.c (lasso and elastic net)
int hy_dec_train_enet(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);
// src/decoders/adam.c (linear, linear-nobias, mlp)
int hy_dec_train_adam(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);
// src/decoders/residual.c (mlp: plain, or on a ridge's residual with --skip ridge)
int hy_dec_train_mlp(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);
// src/decoders/kernel_ridge.c
int hy_dec_train_kernel_ridge(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);
int hy_dec_predict_kernel_ridge(const decoder *dec, const double *X, int n, float *out);
int hy_dec_save_kernel_ridge(const decoder *dec, wf_writer *w);
int hy_dec_load_kernel_ridge(decoder *dec, const wfile *wf, const char *path);
// src/decoders/pls.c
int hy_dec_train_pls(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d);
int hy_dec_save_pls(const decoder *dec, wf_writer *w);
int hy_dec_load_pls(decoder *dec, const wfile *wf, const char *path);

// --- training records in the weight file (src/decoders/decoder.c) --------------------------
int hy_dec_save_penalty(const decoder *dec, wf_writer *w);  // alpha (+ l1_ratio for lasso/enet)
int hy_dec_load_penalty(decoder *dec, const wfile *wf, const char *path);
int hy_dec_save_adam(const decoder *dec, wf_writer *w);     // epochs, batch, lr, ... final_loss
int hy_dec_load_adam(decoder *dec, const wfile *wf, const char *path);

// --- losses (src/decoders/loss.c) ----------------------------------------------------------
// The batch's loss (mean over its bs rows) and, when dz is not NULL, dz (bs, d) = its gradient
// w.r.t. pred in the recipe's scale (hyper: the sum of the rows' gradients; torch: of the mean).
double hy_dec_loss_grad(dec_loss loss, dec_recipe recipe, const float *pred, const float *y, int bs, int d, float *dz);
// The loss of predictions pred (n, d) against y (n, d) float64 (the test loss of the curves).
double hy_dec_loss_value(dec_loss loss, dec_recipe recipe, const float *pred, const double *y, int n, int d);

// --- shared helpers ----------------------------------------------------------------------
// The feed-forward prediction every kind uses today (src/decoders/decoder.c).
int hy_dec_net_predict(const decoder *dec, const double *X, int n, float *out);
// Activation of a hidden unit and its derivative from the pre-activation z
// (src/decoders/activation.c).
float hy_dec_act_apply(int act, float slope, float z);
float hy_dec_act_grad(int act, float slope, float z);
// Copies a float64 solution W (d, v), b (d) into the decoder's single layer.
void hy_dec_set_linear(decoder *dec, const double *W, const double *b);
// Keeps the chosen penalties (d of them; one when all targets share it); takes ownership.
void hy_dec_keep_alpha(decoder *dec, double *alpha, int d);

// --- elastic net (src/decoders/lasso.c, enet_plain.c) ------------------------------------------
// The penalties of each target's path (d, np_) from Q = Xc^T Yc (p, d), as scikit-learn's
// _alpha_grid: alpha_max = max_j |Q_jt| / (n l1_ratio) down to eps alpha_max, log spaced;
// fixed_alpha > 0: that one penalty.
void hy_enet_alpha_path(double *path, const double *Q, int n, int p, int d, double l1_ratio, int np_, double eps,
                        double fixed_alpha);
// The naive twin: every fold's Gram matrix from its rows, coordinate descent over all features.
int hy_dec_enet_plain(const enet_cfg *c, const double *X, const double *Y, int n, int p, int d, double *W, double *b,
                      double *chosen);

// --- elastic-net path on a working set (src/decoders/enet_path.c) ----------------------------
// A centred problem of r rows and p features: the Gram matrix G (p, p), or NULL and the centred
// rows Xc (r, p) from which Gram rows are computed on demand.
typedef struct {
    int r, p;
    const double *G;
    const double *Xc;
} enet_sys;

// One target's state along its path (one per thread; reused across targets and folds).
typedef struct {
    int p;
    double *w;        // (p) coefficients: the warm start, then the solution
    double *q;        // (p) q0 - G w at w, for every feature
    int *slot;        // (p) feature -> working-set slot, -1 outside
    int *feat;        // (m) slot -> feature
    int *order;       // (m) slots by ascending feature (the sweep order)
    int *tmp;         // (p) scratch
    int m, cap;       // working-set size, block capacity
    double **rows;    // (p) cached Gram rows (systems without G), NULL until needed
    double *Gss, *q0s, *ws_, *qs;  // (cap, cap), (cap) x 3: the working-set problem by slot
    double *Gaa, *qa, *wa;         // active-set cycling: compact block of the non-zero slots
    int *act;
    long sweeps, kkt_added;  // statistics: coordinate-descent sweeps, features added by KKT checks
} enet_ws;

int hy_enet_ws_init(enet_ws *ws, int p);
void hy_enet_ws_free(enet_ws *ws);
// Before a workspace serves another system (another fold): drops the Gram rows it cached from
// the last one (its blocks are kept, and refilled by each path).
void hy_enet_ws_new_system(enet_ws *ws);
// Starts a path: w = 0, q = q0.
void hy_enet_ws_start(enet_ws *ws, const double *q0);
// Solves penalty alpha from the state left by prev_alpha (alpha_max for the first); see the file.
int hy_enet_path_step(const enet_sys *s, enet_ws *ws, const double *q0, double yy, double alpha, double prev_alpha,
                      double l1_ratio, int max_iter, double tol);

#endif
