// simulate.h - synthetic fMRI with a known encoding model, in the HYPER design.
//
// Model (every parameter has a --flag in `hyper simulate --help`):
//   latents      z ~ N(0, I_D) per stimulus (D = latent_dim, 512)
//   directions   U (n_strong, D): random orthonormal "attribute" directions
//   encoding     A (V, D) = row-normalised( M (g_weak I + (g_strong - g_weak) U^T U) ),
//                M ~ N(0, 1) i.i.d.; rows of non-informative voxels are zero
//                (a fraction `informative` of voxels, chosen at random, is tuned)
//   response     by the encoding (src/study/encoding.c for the nonlinear ones):
//                linear: s = A z (unit variance for tuned voxels), r = f(s) with
//                  f = nonlinearity (none | relu | tanh | softplus), then standardised over a
//                  large reference draw so tuned voxels keep unit signal variance
//                mlp: a random two-layer network of the latent, r = B relu(W1 z + b1)
//                gabor: Gabor energies of the rendered face (needs the generator), pooled
//                  by each voxel's receptive field and tuning
//                every tuned voxel's r is standardised to unit signal variance
//   noise        e ~ N(0, 1/snr) per trial and voxel, spatially correlated by a Gaussian
//                blur (sigma = noise_smooth voxels) on the 3-D grid the voxels are laid out
//                on (nx x ny x nz, C order, smallest near-cube holding V), rescaled back to
//                variance 1/snr
//   design       train: n_train stimuli seen once; test: n_test stimuli seen test_reps
//                times, the responses averaged (noise variance / test_reps)
// Deterministic for a seed (mt19937).
#ifndef HY_SIMULATE_H
#define HY_SIMULATE_H

#include <stdint.h>

#include "models/pggan.h"

enum { SIM_NONE = 0, SIM_RELU, SIM_TANH, SIM_SOFTPLUS };
enum { SIM_ENC_LINEAR = 0, SIM_ENC_MLP, SIM_ENC_GABOR, SIM_N_ENCODINGS };

typedef struct {
    int n_train, n_test, test_reps, n_voxels, latent_dim;
    int n_strong;
    double gain_strong, gain_weak, informative, snr, noise_smooth;
    int nonlin;
    uint64_t seed;
    int encoding;        // SIM_ENC_* (default linear)
    int enc_hidden;      // mlp: hidden units (512)
    int gabor_size;      // gabor: analysis resolution in pixels (64; at most the generator's)
    pggan *gen;          // gabor: the generator that renders each latent's face
} sim_params;

// The nonlinear encodings' ground truth (src/study/encoding.c).
//   mlp:   u = W1 z + b1 (H hidden units; W1's rows unit-norm rows of M1 S, the same gains S as
//          the linear encoding, so the strong directions drive the hidden units more; b1 ~ N(0, 1)
//          random thresholds), h = relu(u), r_v = B_v . h with B (V, H) Gaussian, unit-norm rows
//   gabor: every face rendered by the generator, luminance (0.299 R + 0.587 G + 0.114 B), box-
//          averaged to gabor_size^2 pixels; quadrature Gabor pairs at 8 orientations and 3
//          wavelengths (gabor_size/16, /8, /4 pixels; envelope sigma 0.56 wavelength, the even
//          filter zero-mean), energy sqrt(even^2 + odd^2) on an 8 x 8 grid of positions (cell
//          centres): F = 3 x 8 x 64 = 1536 features per face. Voxel v pools them with a Gaussian
//          receptive field (centre uniform over the grid, sigma uniform in [0.5, 2] cells) and a
//          positive tuning |N(0, 1)| per (wavelength, orientation): r_v = sum rf x tuning x F
//          (the population receptive-field model of Kay et al. 2008)
// Responses are standardised per voxel: mlp over a reference draw of 2000 latents (seed 54321),
// gabor over the simulated stimuli themselves. The weights come from their own mt19937
// (seed + 0x9e3779b9), so the latents, directions, tuned voxels and noise are the linear
// encoding's, draw for draw.
typedef struct {
    int kind, H, F;
    double *w1, *b1, *readout;  // mlp: (H, D), (H), (V, H)
    double *rf, *tuning;        // gabor: (V, 3) centre x, y and sigma in grid cells; (V, 24)
} sim_encoding;

typedef struct {
    int n_train, n_test, v, d, k;
    double *xtr, *ytr, *xte, *yte;   // noisy data and latents (dataset layout)
    double *ctr, *cte;               // noise-free responses (n, V)
    double *A;                       // encoding (V, D)
    double *U;                       // strong directions (k, D)
    int grid[3];
    sim_encoding enc;                // the nonlinear encodings' weights (kind SIM_ENC_LINEAR: none)
} sim_data;

void hy_sim_default(sim_params *p);
int hy_sim_run(const sim_params *p, sim_data *out);
void hy_sim_free(sim_data *s);
// Writes the dataset layout plus DIR/truth/{encoding,strong_dirs,train_clean,test_clean}.npy,
// DIR/truth/boundaries/strong_XX.npy (1 x D float64 unit vectors) and DIR/truth/params.txt.
int hy_sim_save(const sim_params *p, const sim_data *s, const char *dir);
const char *hy_sim_nonlin_name(int nl);
const char *hy_sim_encoding_name(int enc);  // "linear", "mlp", "gabor"

// src/study/encoding.c: the noise-free responses ctr (n_train, V), cte (n_test, V) of the
// nonlinear encodings for the latents in s (tuned: which voxels respond); fills s->enc.
int hy_sim_encode(const sim_params *p, sim_data *s, const int *tuned);
void hy_sim_encoding_free(sim_encoding *e);
// Writes s->enc's arrays into truth_dir (mlp_w1.npy, mlp_b1.npy, mlp_readout.npy, or
// gabor_rf.npy, gabor_tuning.npy).
int hy_sim_encoding_save(const sim_data *s, const char *truth_dir);

#endif
