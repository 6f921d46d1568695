// design.h - first-level design matrices exactly as nilearn 0.10.4 builds them
// (make_first_level_design_matrix with FirstLevelModel's frame times).
//
//   frame times   linspace(str * tr, (n - 1 + str) * tr, n)      str = slice_time_ref in [0, 1]
//   task columns  one block per condition (events' order): the condition, then "_derivative" and
//                 "_dispersion" for the derivative HRF models. Each is nilearn's compute_regressor:
//                 a boxcar of the events (amplitude = modulation) on the oversampled grid
//                 linspace(ft[0] + min_onset, ft[-1] * (1 + 1/(n-1)), rint(n_hr)), onsets and
//                 offsets placed with searchsorted, convolved with the kernel (hrf.h, nilearn's tr =
//                 min(diff(ft))), truncated, linearly interpolated at the frame times, and the
//                 derivative columns orthogonalised against the ones before them.
//   confounds     appended as given, then the drift block:
//   drift         cosine: floor(2 n high_pass dt) DCT-II columns sqrt(2/n) cos(pi/n (i + 1/2) k)
//                 (at most n - 1), "drift_k"; polynomial: (ft/max ft)^k, k = 0..order,
//                 orthogonalised, constant moved last; none: nothing but the constant.
//   constant      "constant", last.
//
// The convolution is done exactly but cheaply: the boxcar is a cumulative sum of +/- impulses, so
// its convolution with h equals the impulses convolved with cumsum(h), which is evaluated only at
// the two grid points each frame time is interpolated from.
//
// Refused (one-line messages naming the run): an event starting before ft[0] + min_onset (nilearn
// would silently move it to the start) or at/after the end of the run (n * tr), confounds whose row
// count differs from the volumes, duplicate column names, fewer than 3 volumes, and a rank-deficient
// design: smallest singular value <= largest * max(n, p) * eps (numpy's matrix_rank rule; nilearn
// would regularise only from condition number 1e15 and its pinv drops such directions), with the
// columns that collide named from the null-space vector.
#ifndef HY_DESIGN_H
#define HY_DESIGN_H

#include "glm/events.h"

enum { HY_DRIFT_COSINE = 0, HY_DRIFT_POLY = 1, HY_DRIFT_NONE = 2 };

typedef struct {
    double tr;              // seconds, > 0
    double slice_time_ref;  // fraction of tr, [0, 1]
    int hrf_family;         // HY_HRF_SPM / HY_HRF_GLOVER
    int hrf_basis;          // 1 (hrf), 2 (+ derivative), 3 (+ dispersion)
    int drift;              // HY_DRIFT_*
    double high_pass;       // Hz, cosine drift
    int drift_order;        // polynomial drift
    double min_onset;       // seconds relative to ft[0]; nilearn's -24
    int oversampling;       // 50
} hy_design_opts;

// SPM HRF, cosine drift at 0.01 Hz, polynomial order 1, min_onset -24, oversampling 50, tr 0.
void hy_design_defaults(hy_design_opts *o);

typedef struct {
    int n_scans, n_cols;
    int n_task;            // task columns (n_types * hrf_basis), first
    int n_confounds;       // then confound columns, then drift columns ending with the constant
    double *frame_times;   // (n_scans)
    double *x;             // (n_scans, n_cols) row-major
    char **names;          // (n_cols)
    int *col_type;         // (n_cols) events type of the main column of a condition, else -1
    double cond;           // condition number (largest / smallest singular value)
} hy_design;

// Builds the design of one run. conf may be NULL. what names the run in messages (a file name).
int hy_design_build(hy_design *d, const hy_design_opts *o, int n_scans, const hy_events *ev,
                    const hy_confounds *conf, const char *what);
void hy_design_free(hy_design *d);

// Condition number and numeric rank check of an (n, p) row-major matrix with column names:
// HY_OK, or HY_EVALUE naming the colliding columns. cond gets largest / smallest singular value.
int hy_design_check_rank(const double *x, int n, int p, char *const *names, const char *what, double *cond);

// design_run-K.tsv: a header with the column names, one row per volume (%.17g), frame time first.
int hy_design_write_tsv(const hy_design *d, const char *path);
// A picture of the matrix like nilearn's plot_design_matrix: each column divided by its L2 norm,
// grey levels from the smallest value (black) to the largest (white) as imshow's autoscaling,
// one row of pixels per volume block downwards, column names written upwards above the matrix.
int hy_design_write_png(const hy_design *d, const char *path);

#endif
