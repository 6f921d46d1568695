// glm.h - `hyper glm` as a library call: BOLD runs + events (+ confounds, mask) -> per-condition
// effect, variance, t and z maps, combined over runs by fixed effects (nilearn 0.10.4's
// FirstLevelModel.fit + compute_contrast per condition; design.h and fit.h say exactly how).
//
// Inputs are checked before any output exists: every events/confounds file is parsed, every run's
// header read (4-D, the same x/y/z grid and affine, the same TR unless --tr is given), every design
// built and its rank checked; while the data are read, a non-finite value or an in-mask voxel that
// is zero in every volume of a run stops the run with a message naming the file, the volume and
// the voxel. Outputs (all atomic, written only after every run is fitted; on a failure while
// writing, the ones already written are removed):
//   OUT/conditions.tsv              index, trial_type, n_runs, n_events (index = volume in the maps)
//   OUT/{effect,variance,t,z}.nii.gz  4-D float32, one volume per condition, grid/affine of the BOLD
//                                   (.nii with gz_level 0: large studies write GBs of maps)
//   OUT/mask.nii.gz                 the voxels fitted (float32, 1 inside)
//   OUT/design_run-K.tsv, .png      each run's design matrix (LSA design; LSS fits per trial)
//   OUT/summary.txt                 runs, volumes, TR, voxels, regressors, condition numbers,
//                                   AR(1) histogram, seconds (written last)
#ifndef HY_GLM_H
#define HY_GLM_H

#include "glm/design.h"
#include "glm/fit.h"

enum { HY_EST_LSA = 0, HY_EST_LSS = 1 };
enum { HY_SCALE_PSC = 0, HY_SCALE_NONE = 1 };

#define HY_GLM_MAX_RUNS 256

typedef struct {
    int n_runs;
    const char *bold[HY_GLM_MAX_RUNS];       // 4-D NIfTI per run
    const char *events[HY_GLM_MAX_RUNS];     // events.tsv per run
    const char *confounds[HY_GLM_MAX_RUNS];  // confounds.tsv per run, or NULL
    const char *mask;                        // 3-D NIfTI (non-zero = in), or NULL: voxels whose mean over
                                             // the first run is non-zero
    double tr;                               // seconds; 0 = from the headers (pixdim[4], time unit)
    hy_design_opts design;                   // tr is filled in from the above
    int noise, bins, estimator, scaling;     // HY_NOISE_*, AR bins (100), HY_EST_*, HY_SCALE_*
    const char *type_column;                 // "trial_type"
    const char *confound_columns;            // comma list or NULL (all)
    int fill_mean;                           // confounds: n/a -> column mean
    const char *out_dir;
    int gz_level;                            // gzip level of the maps (1: fast, as nibabel's default);
                                             // 0 writes uncompressed .nii maps
} hy_glm_opts;

// Defaults: SPM HRF, cosine 0.01 Hz, AR(1) with 100 bins, LSA, psc scaling, trial_type, gzip 1.
void hy_glm_defaults(hy_glm_opts *o);

typedef struct {
    int n_runs, n_cond;
    int64_t n_vox, grid_vox;   // in-mask voxels, voxels of the grid
    double tr;
    int total_volumes;
    double seconds_read, seconds_fit, seconds_write;
} hy_glm_result;

int hy_glm_run(const hy_glm_opts *o, hy_glm_result *res);

#endif
