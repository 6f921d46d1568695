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

// --- training records in the weight file (src/decoders/decoder.c) --------------------------
int hy_dec_save_penalty(const decoder *dec, wf_writer *w);  // alpha (+ l1_ratio for lasso/enet)
int hy_dec_load_penalty(decoder *dec, const wfile *wf, const char *path);
int hy_dec_save_adam(const decoder *dec, wf_writer *w);     // epochs, batch, lr, ... final_loss
int hy_dec_load_adam(decoder *dec, const wfile *wf, const char *path);

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

#endif
