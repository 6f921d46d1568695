// sweep_eta.h - the sweep's progress: an ETA from the work left, not from the number of runs.
//
// Trainings differ in cost by orders of magnitude (a ridge fit against 1500 epochs of an MLP),
// so the ETA adds up work. Each training still to do costs its epochs times the seconds an epoch
// of that model and batch size took on this machine (measured on its earlier trainings; else the
// seconds per multiply-add of every iterative training measured so far, times this training's
// multiply-adds per epoch: n_train x the weights of its layers), or a closed-form fit's measured
// seconds (else the mean of the fits measured so far). Every run still to write adds one
// evaluation (rendering and embedding its faces: the measured mean). The running training's
// epochs are timed as they pass (and give the first seconds per multiply-add). Until a needed cost has been measured the ETA is unknown (< 0)
// and the fraction done counts trainings instead.
// Times are passed in (seconds from any fixed origin, e.g. hy_now()), so the model is testable.
#ifndef HY_SWEEP_ETA_H
#define HY_SWEEP_ETA_H

#include "study/sweep.h"

#define SWEEP_ETA_MAX_SEEN 256

typedef struct {
    const sweep_model *model;  // measured: model and batch size
    int batch;
    double seconds, units;     // training seconds and epochs (a closed-form fit: 1)
} sweep_cost_seen;

typedef struct {
    int n_groups, g;                    // trainings with work, in order; the running one (0-based)
    const sweep_model *model[SWEEP_MAX_RUNS];
    int batch[SWEEP_MAX_RUNS];
    int epochs[SWEEP_MAX_RUNS];         // epochs each training runs to (0: closed form)
    double macs[SWEEP_MAX_RUNS];        // multiply-adds of one epoch
    int n_eval[SWEEP_MAX_RUNS];         // runs each training writes
    sweep_cost_seen seen[SWEEP_ETA_MAX_SEEN];
    int n_seen;
    double s_per_mac, macs_seen;        // iterative trainings measured: seconds per multiply-add-epoch
    double fit_seconds;                 // closed-form fits measured
    int n_fits;
    double eval_seconds;                // evaluations measured
    int n_evals, evals_left;
    double t0, g_t0, g_eval_seconds;    // sweep start; the running training's start and evaluations
    int g_epoch;                        // the running training's epochs done
} sweep_eta;

// Adds a training still to do (in the order they will run): its model, batch size, the epoch
// count it trains to (0: closed form), the runs it writes and its multiply-adds per epoch.
void hy_sweep_eta_add(sweep_eta *t, const sweep_model *m, int batch, int epochs, int n_eval, double macs_per_epoch);
// Multiply-adds of one epoch of model m on n_train rows of v voxels -> d latents.
double hy_sweep_eta_macs(const sweep_opts *o, const sweep_model *m, int n_train, int v, int d);
void hy_sweep_eta_start(sweep_eta *t, double now);          // the first training starts
void hy_sweep_eta_epoch(sweep_eta *t, int epoch);           // the running training finished an epoch
void hy_sweep_eta_eval(sweep_eta *t, double seconds);       // a run was evaluated and written
void hy_sweep_eta_done(sweep_eta *t, double now);           // the running training finished
void hy_sweep_eta_skip(sweep_eta *t, double now);           // the next training is left to another process
// Seconds left (< 0: not known yet) and the fraction done.
double hy_sweep_eta_left(const sweep_eta *t, double now);
double hy_sweep_eta_fraction(const sweep_eta *t, double now);
// The progress line (hy_progress_eta) for the state at `now`; last: the sweep has finished.
void hy_sweep_eta_report(const sweep_eta *t, double now, int last);

#endif
