// bids.h - finding one subject's runs of one task in a BIDS dataset (and, optionally, in an
// fMRIPrep-style derivatives folder) by the BIDS file-naming rules.
//
// Raw data: DIR/sub-<S>[/ses-<X>]/func/sub-<S>[_ses-<X>]_task-<T>[_<key>-<value>...]_bold.nii[.gz]
// (no space- or desc- entity). Events: the same name with the suffix _events.tsv in the same
// folder; if absent, by the inheritance principle, sub-<S>[_ses-<X>]_task-<T>_events.tsv in the
// subject (or session) folder, or task-<T>_events.tsv at the top of DIR.
// With derivatives (DERIV): the BOLD runs are DERIV/sub-<S>[/ses-<X>]/func/..._desc-preproc_bold.nii[.gz]
// (and _space-<SPACE> when a space is given; if several spaces exist one must be chosen), the
// confounds ..._desc-confounds_timeseries.tsv (or the older _desc-confounds_regressors.tsv) of the
// same run, the mask ..._desc-brain_mask.nii[.gz] of the first run, and the events are still read
// from DIR for the run's entities (sub, ses, task, acq, ce, dir, rec, run, echo).
// Runs are ordered by session label, then run number, then file name. Errors name what was looked
// for and where.
#ifndef HY_BIDS_H
#define HY_BIDS_H

#define HY_BIDS_MAX_RUNS 256

typedef struct {
    int n_runs;
    char bold[HY_BIDS_MAX_RUNS][1024];
    char events[HY_BIDS_MAX_RUNS][1024];
    char confounds[HY_BIDS_MAX_RUNS][1024];  // "" without derivatives
    char mask[1024];                         // "" when none was found
} hy_bids_runs;

// sub and task are labels ("01" or "sub-01"; "faces"); deriv and space may be NULL.
int hy_bids_find(const char *root, const char *sub, const char *task, const char *deriv, const char *space,
                 hy_bids_runs *out);

#endif
