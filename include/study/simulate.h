// simulate.h - synthetic fMRI with a known encoding model, in the HYPER design.
//
// Model (every parameter has a --flag in `hyper simulate --help`):
//   latents      z ~ N(0, I_D) per stimulus (D = latent_dim, 512)
//   directions   U (n_strong, D): random orthonormal "attribute" directions
//   encoding     A (V, D) = row-normalised( M (g_weak I + (g_strong - g_weak) U^T U) ),
//                M ~ N(0, 1) i.i.d.; rows of non-informative voxels are zero
//                (a fraction `informative` of voxels, chosen at random, is tuned)
//   response     s = A z (unit variance for tuned voxels), r = f(s) with f = nonlinearity
//                (none | relu | tanh | softplus), then standardised over a large reference
//                draw so tuned voxels keep unit signal variance
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

enum { SIM_NONE = 0, SIM_RELU, SIM_TANH, SIM_SOFTPLUS };

typedef struct {
    int n_train, n_test, test_reps, n_voxels, latent_dim;
    int n_strong;
    double gain_strong, gain_weak, informative, snr, noise_smooth;
    int nonlin;
    uint64_t seed;
} sim_params;

typedef struct {
    int n_train, n_test, v, d, k;
    double *xtr, *ytr, *xte, *yte;   // noisy data and latents (dataset layout)
    double *ctr, *cte;               // noise-free responses (n, V)
    double *A;                       // encoding (V, D)
    double *U;                       // strong directions (k, D)
    int grid[3];
} sim_data;

void hy_sim_default(sim_params *p);
int hy_sim_run(const sim_params *p, sim_data *out);
void hy_sim_free(sim_data *s);
// Writes the dataset layout plus DIR/truth/{encoding,strong_dirs,train_clean,test_clean}.npy,
// DIR/truth/boundaries/strong_XX.npy (1 x D float64 unit vectors) and DIR/truth/params.txt.
int hy_sim_save(const sim_params *p, const sim_data *s, const char *dir);
const char *hy_sim_nonlin_name(int nl);

#endif
