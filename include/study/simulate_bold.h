// simulate_bold.h - a BIDS-like raw dataset in the HYPER design, simulated at the level of the BOLD
// signal, so that the first-level GLM (`hyper glm`) can be checked against known responses.
//
// Stimuli and responses come from the encoding model of simulate.h (hy_sim_run with the same
// parameters: latents z, tuned voxels, f(A z)); the per-trial noise of that model is not used:
//   design     n_runs runs of TR seconds; the test stimuli are shown in runs 1..test_runs, each
//              test_reps times spread over those runs; every training stimulus once in the other
//              runs; events last event_s seconds, onsets isi_min..isi_max s apart (uniform), the
//              first after lead_s, the run ending tail_s after the last onset; order shuffled
//   response   amplitude a[s, v] = amp * (noise-free encoding response) in percent signal change,
//              convolved with the voxel's haemodynamic response: one of n_hrf difference-of-gamma
//              shapes with peak delay 6 + N(0, hrf_jitter) s (in [4, 8]), dispersion 1 +- 10 %,
//              undershoot 16 s, ratio 0.167, normalised to sum 1 like nilearn's kernels (so the
//              SPM-HRF GLM estimates a[s, v] exactly when the shape is the canonical one)
//   noise      AR(1) per voxel (coefficient uniform in [ar_min, ar_max]) with marginal sd noise
//              percent, a slow drift (linear + a 200-400 s cosine, drift percent), and six
//              motion-like random walks (the confounds written for each run) entering each voxel
//              with random weights (sd: motion percent per unit of the walk, whose steps have sd 0.05)
//   BOLD       baseline_v (1000 +- 10 %) * (1 + (signal + noise + drift + motion) / 100), float32
// Written (nothing if any step fails; every file atomic):
//   DIR/dataset_description.json, DIR/participants.tsv
//   DIR/sub-01/func/sub-01_task-faces_run-K_bold.nii.gz, _events.tsv (onset, duration,
//       trial_type = stimulus file name test_NNN.png / train_NNNN.png)
//   DIR/derivatives/sim/sub-01/func/ ..._desc-preproc_bold.nii.gz (a relative symlink to the raw
//       run: the simulation needs no preprocessing), ..._desc-confounds_timeseries.tsv (the six
//       motion columns), ..._run-1_desc-brain_mask.nii.gz (every voxel)
//   DIR/split.tsv                 trial_type, split (train | test), row (in the latents below)
//   DIR/truth/train_latents.npy, test_latents.npy       (N, D) the stimuli's latents
//   DIR/truth/train_responses.npy, test_responses.npy   (N, V) a[s, v], voxels in NIfTI order
//   DIR/truth/params.txt
#ifndef HY_SIMULATE_BOLD_H
#define HY_SIMULATE_BOLD_H

#include "study/simulate.h"

typedef struct {
    sim_params enc;          // encoding model and sizes (n_train, n_test, test_reps, voxels, ...)
    int n_runs, test_runs;   // 9, 3
    double tr, event_s;      // 1.5, 1.5
    double isi_min, isi_max; // 9, 13.5
    double lead_s, tail_s;   // 6, 24
    double amp;              // 1.0 percent per unit of encoding response
    double noise;            // 1.5 percent (marginal sd of the AR(1) noise: single-trial SNR ~0.05, as simulate.h)
    double ar_min, ar_max;   // 0.1, 0.4
    double drift, motion;    // 1.0, 0.5 percent
    double hrf_jitter;       // 0.5 s
    int n_hrf;               // 16 response shapes
} simb_params;

void hy_simb_default(simb_params *p);
// Simulates and writes everything under dir; reports in *n_volumes the total volume count.
int hy_simb_run(const simb_params *p, const char *dir, int *n_volumes);

#endif
