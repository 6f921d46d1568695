// fit.h - one run's GLM fit and the fixed-effects combination over runs, as nilearn 0.10.4
// (run_glm, OLSModel / ARModel, compute_contrast, compute_fixed_effect_contrast).
//
// Per run, with the design X (n, p) and the data Y (n, V):
//   OLS      B = pinv(X) Y, residuals R = Y - X B, dispersion SSE / (n - p), cov = pinv pinv'
//   AR(1)    rho_v = Yule-Walker lag-1 coefficient of R[:, v] after removing the mean of all of R
//            (r0 = sum y^2 / n^2, r1 = sum y_t y_{t-1} / ((n-1) n), rho = r1 / r0), truncated
//            toward zero to a multiple of 1/bins; for each distinct value one whitened model:
//            WX, WY with row t >= 1 replaced by row t - rho * row t-1 and row 0 left as it is,
//            refitted by OLS. A voxel whose residuals are all zero gets rho = 0 (nilearn: NaN).
//   contrast for each design column j that is wanted (a condition's main regressor):
//            effect = B[j], variance = cov[j, j] * dispersion, dof = n - rank(X)
//            (rank with tolerance sum|X| * eps, numpy's matrix_rank as nilearn calls it)
// Fixed effects (a condition in k runs, or k trials for LSS): effect = mean of the k effects,
// variance = sum / k^2, dof = sum of the dofs; t = effect / sqrt(max(variance, 1e-50)); z from t
// and the dof (stats.h).
//
// How it is computed: one SVD of X per run, X = U S V'. pinv(X) = V S^-1 U'. For a whitened model
// WX = (WU) S V', so pinv(WX) = V S^-1 M^-1 (WU)' with M = (WU)'(WU) = (1 + rho^2) I
// - rho U'(L + L')U - rho^2 u u' (L the one-step shift, u the last row of U): a p x p Cholesky per
// AR value instead of an SVD of the whitened design, well conditioned whatever X's condition
// number. Voxels go through in blocks (BLAS dgemm for B and R); AR voxels are gathered per value
// (voxel-major data make that a copy of contiguous rows).
#ifndef HY_FIT_H
#define HY_FIT_H

#include <stdint.h>

enum { HY_NOISE_OLS = 0, HY_NOISE_AR1 = 1 };

// Sums over runs (or trials) per condition and voxel. A condition that gets one contrast (most
// of them: a training face in one run) is stored in float32, halving the memory of large studies
// (1,000+ conditions x 100,000 voxels; relative rounding 6e-8); one that is summed over several
// runs or trials is accumulated in float64, so that sums of effects with opposite signs keep
// their relative accuracy.
typedef struct {
    int n_cond;
    int64_t n_vox;
    int *row;            // (n_cond) r >= 0: row r of the float32 arrays; r < 0: row -1-r of the float64 ones
    float *effect32, *variance32;    // (single conditions, n_vox)
    double *effect64, *variance64;   // (summed conditions, n_vox)
    int *n_parts;        // (n_cond) contrasts added
    double *dof;         // (n_cond) summed residual degrees of freedom
} hy_ffx;

// expected[c]: how many contrasts condition c will receive (1 -> float32 row, more -> float64).
// A float32 row is stored, not summed, so a condition announced with 1 must get exactly one
// contrast at every voxel (its values are undefined until then).
int hy_ffx_init(hy_ffx *f, int n_cond, int64_t n_vox, const int *expected);
void hy_ffx_free(hy_ffx *f);
// Adds one contrast's effect and variance at voxel v of condition c.
void hy_ffx_add(hy_ffx *f, int c, int64_t v, double effect, double variance);
// The fixed-effects estimate at voxel v of condition c: effect / k and variance / k^2.
void hy_ffx_get(const hy_ffx *f, int c, int64_t v, double *effect, double *variance);

typedef struct {
    int noise;   // HY_NOISE_OLS / HY_NOISE_AR1
    int bins;    // AR(1) quantisation (nilearn's 100)
    int block;   // voxels per block (0: 256)
    int lite;    // AR models: 0 = per bin, the cheaper form (lite when the bin has fewer voxels than
                 // volumes), 1 = always lite, -1 = always full (the tests run both forms)
} hy_fit_opts;

// AR(1) values k / bins are counted per k in -HY_AR_HALF..HY_AR_HALF (outside values clamped).
#define HY_AR_HALF 200
typedef struct {
    int64_t ar_count[2 * HY_AR_HALF + 1];
    int n_models;      // distinct AR values (whitened fits); 1 for OLS
    double dof;        // n - rank(X)
    double rho_mean;   // mean binned AR(1) coefficient over the voxels
} hy_fit_info;

// Fits one run. Y: (V, n) row-major, i.e. voxel-major (each voxel's n volumes contiguous),
// unchanged. X: (n, p) row-major. dest: (p) index of the condition in acc that column j's unit
// contrast is added to, or -1. info may be NULL.
int hy_fit_run(hy_ffx *acc, const double *Y, int n, int64_t V, const double *X, int p, const int *dest,
               const hy_fit_opts *o, hy_fit_info *info);

#endif
