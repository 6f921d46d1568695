// hrf.h - haemodynamic response kernels sampled as nilearn 0.10.4 samples them.
//
// A kernel is a difference of two gamma densities on the oversampled grid of step dt = tr / os:
//   t_k = linspace(0, 32, N)[k] - onset,  N = rint(32 / dt)     (so the step is 32/(N-1), not dt)
//   h_k = gamma.pdf(t_k, delay/disp, loc=dt, scale=disp) - ratio * gamma.pdf(t_k, under/udisp, loc=dt, scale=udisp)
//   h  /= sum(h)
// with SPM parameters (delay 6, undershoot 16, dispersions 1, ratio 0.167) or Glover's (6, 12,
// 0.9, 0.9, 0.35). The time derivative is (h(onset 0) - h(onset 0.1)) / 0.1; the dispersion
// derivative is (h(disp) - h(disp + 0.01)) / 0.01 evaluated, as nilearn does, with delay 6,
// the family's undershoot, ratio and first dispersion, and the second dispersion left at 1
// (also for Glover). nilearn's `tr` here is min(diff(frame_times)), which the caller passes.
#ifndef HY_HRF_H
#define HY_HRF_H

enum { HY_HRF_SPM = 0, HY_HRF_GLOVER = 1 };

// Parses "spm", "spm + derivative", "spm + derivative + dispersion", the same with "glover"
// (spaces around '+' optional, case-insensitive). Sets family and n_basis (1..3).
int hy_hrf_parse(const char *s, int *family, int *n_basis);
// Writes the canonical name ("spm + derivative") into buf.
void hy_hrf_name(char *buf, int cap, int family, int n_basis);

// Number of samples N of every kernel for this (tr, oversampling); 0 if unusable.
int hy_hrf_length(double tr, int oversampling);
// Fills k (n_basis, len) with the kernels; len must be hy_hrf_length(tr, oversampling).
// Returns HY_OK or HY_ENOMEM.
int hy_hrf_kernels(double *k, int len, int family, int n_basis, double tr, int oversampling);

// The underlying difference of gammas (h, n samples), normalised to sum 1; exposed for the
// BOLD simulator's per-voxel response shapes.
void hy_hrf_gamma_difference(double *h, int n, double tr, int oversampling, double onset, double delay,
                             double undershoot, double disp, double udisp, double ratio);

#endif
