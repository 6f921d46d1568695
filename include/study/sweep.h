// sweep.h - the study's grid: train decoders over models x epochs x batch sizes x seeds (plus
// the closed-form models once each), evaluate each with FaceNet, and rank them.
//
// Layout of RESULTS:
//   gt/                      ground-truth faces and embeddings (cached, see study.h)
//   runs/<name>/             one finished run: decoder.bin, pred.npy, metrics.csv, summary.csv,
//                            summary.txt, comparison.png, latent_*.csv, run.csv (its table row);
//                            iterative runs also curve.csv, curve.png, curve.svg (include/study/curve.h)
//   runs/<name>.tmp/         a run in progress; never counted; removed and redone on resume
//   setup.txt                what every run's numbers depend on besides its name (resuming with
//                            another setup is refused)
//   results.csv, results.md, pairs.csv, runs.csv, chart.svg/png, curves.svg/png
//                            the ranked report (hyper report; see study/report.h, study/results.h)
//
// Models are given as specs: a kind name, optionally followed by ":key=value" settings
// (mlp:hidden=1024:act=tanh:dropout=0.2). Adam models:
//   hidden=H[xH...]  hidden layer widths (mlp)      act=A      activation (mlp; decoders.h)
//   dropout=P        dropout on hidden units (mlp)  slope=S    leaky slope (mlp)
//   wd=W             weight decay                   lr=X       learning rate
//   loss=cosine      the cosine loss                skip=ridge residual net (mlp)
// Closed-form models:
//   kernel=K         kernel-ridge: linear|rbf|poly  gamma=G    kernel width (kernel-ridge)
//   gammas=N         CV over N gammas (kernel-ridge) degree=D  coef0=C   (kernel-ridge poly)
//   components=K     pls components                 cv=F       CV folds (0 = LOO for ridge and
//   alpha=A          fixed penalty (ridge, lasso,              kernel-ridge; pls: 0 = no CV)
//                    elasticnet, kernel-ridge)
// The spec's name for runs is the kind followed by "-<short key><value>" for each setting, in the
// order given: mlp:hidden=1024:act=tanh:dropout=0.2 -> mlp-h1024-tanh-do0.2 (h hidden, the
// activation's name, do dropout, ls slope, wd, lr, cos for loss=cosine, skip for skip=ridge, the
// kernel's name, g gamma, gs gammas, deg degree, c0 coef0, k components, cv, a alpha).
//
// Ensembles (--ensemble A,B,...; sweep_opts.ensembles): the run ensemble-A+B+... averages the
// unit-length predicted latents of finished runs A, B, ... (only the direction reaches the
// generator), rescaled to their mean length, and is evaluated and ranked like any run
// (src/study/ensemble.c). Members must be runs of the grid or runs already in RESULTS; they
// must be finished when the ensemble is made (with --shard: by the last shard, or a later sweep).
//
// Run names: <model>_<epochs>_<batch> for iterative models, with _s<seed> appended when the
// sweep repeats them over seeds (--seeds); <model> for closed-form ones. The runs of one
// configuration differ only by that suffix (run.csv's config column holds the name without it).
//
// Snapshots: one training per (model, batch, seed) runs to the largest epoch count of the grid
// and writes the run of every smaller epoch count on the way (the weights after e epochs do not
// depend on how many follow, so each run is byte for byte the run a sweep of e epochs alone writes).
#ifndef HY_SWEEP_H
#define HY_SWEEP_H

#include <stdint.h>

#include "decoders/decoders.h"
#include "study/dataset.h"
#include "study/report.h"
#include "study/study.h"

#define SWEEP_MAX_RUNS 1024
#define SWEEP_MAX_MODELS 16
#define SWEEP_MAX_ENSEMBLES 16

// A model of the grid: its kind and the settings of its spec (unset ones keep the defaults).
typedef struct {
    char spec[128];    // as given
    char name[64];     // run-name prefix made from the spec (see above)
    dec_kind kind;
    int n_hidden, hidden[DEC_MAX_LAYERS];  // n_hidden 0: the kind's default
    int act;                               // -1: the kind's default
    double dropout, slope, wd, lr;         // NaN: the default
    int loss, skip, kernel, cv;            // -1: the default
    int n_gammas, degree, components;      // 0: the default
    double gamma, coef0, alpha;            // NaN: the default
} sweep_model;

typedef struct {
    char name[128];     // runs/<name>
    char config[128];   // name without the _s<seed> suffix
    const sweep_model *model;
    int epochs, batch;  // 0 for closed-form models
    uint64_t seed;      // decoder initialisation and shuffling (0 for closed-form models)
    int group;          // runs of one training (model, batch, seed) share it, epochs ascending
} sweep_run;

typedef struct {
    const char *data_dir, *out_dir;
    sweep_model models[SWEEP_MAX_MODELS];  // iterative models
    int n_models;
    int epochs[32], n_epochs;              // ascending, distinct
    int batches[16], n_batches;
    sweep_model closed[SWEEP_MAX_MODELS];  // closed-form models run once (ols, ridge, lasso, elasticnet)
    int n_closed;
    uint64_t seeds[32];                    // with n_seeds > 0 every iterative run is repeated per seed
    int n_seeds;
    int shard_i, shard_n;  // 1-based shard i of n (1/1: everything); shards split the trainings
    int zscore;
    dec_recipe recipe;     // of the iterative models (default hyper)
    uint64_t seed;         // decoder initialisation and shuffling when n_seeds == 0
    double lr;             // 0: the model's default (a spec's lr= wins)
    int mlp_hidden;        // 0: default (a spec's hidden= wins)
    char ensembles[SWEEP_MAX_ENSEMBLES][512];  // comma lists of member runs (--ensemble)
    int n_ensembles;
} sweep_opts;

// The default grid: linear, linear-nobias and three MLPs (docs/study.md, "The grid") x epochs
// 700, 900, 1200, 1500 x batch 30, recipe hyper; ols, ridge, lasso.
void hy_sweep_defaults(sweep_opts *o);
// Parses one spec ("mlp:hidden=1024:act=tanh"); closed: a closed-form kind (no settings) is
// expected, else an iterative one. Errors name the spec and the problem.
int hy_sweep_parse_spec(const char *spec, int closed, sweep_model *m);
// Parses a comma list of specs into o->models (closed 0) or o->closed (closed 1).
int hy_sweep_parse_models(sweep_opts *o, const char *list, int closed);
// Sorts and de-duplicates o->epochs (the grid's epoch counts).
void hy_sweep_sort_epochs(sweep_opts *o);
// Applies a model's spec settings (and the sweep's lr/hidden) to training options.
void hy_sweep_model_opts(const sweep_opts *o, const sweep_model *m, dec_opts *opts);
// The ordered run list: each training's runs (epochs ascending), then the closed-form runs; its
// length, or HY_EARG when the grid has more than `max` runs (nothing is cut silently).
// runs == NULL: only count and check.
int hy_sweep_runs(const sweep_opts *o, sweep_run *runs, int max);
// Runs this shard's unfinished runs, then (when every run of the grid is finished) writes
// the report. Returns HY_OK when this shard's runs are all finished.
int hy_sweep_execute(const sweep_opts *o, study_ctx *c);
// --- ensembles (src/study/ensemble.c) ---------------------------------------------------------
// The run name of ensemble `list` ("a,b,c" -> "ensemble-a+b+c"); HY_EARG when it is too long or
// a member is empty or repeated.
int hy_ensemble_name(const char *list, char *name, size_t cap);
// Before any work: every member of every ensemble must be a run of the grid (runs, total) or a
// finished run in RESULTS; HY_EARG naming the first unknown one.
int hy_sweep_check_ensembles(const sweep_opts *o, const sweep_run *runs, int total);
// Makes each ensemble not finished yet (its members must be finished: HY_EARG naming the first
// that is not). Resumable: finished ensembles are skipped.
int hy_sweep_run_ensembles(const sweep_opts *o, study_ctx *c, const hy_dataset *ds);
// Collects the finished runs under RESULTS/runs/ (study/results.h) and writes the ranked report
// (study/report.h); *n_runs gets the number of runs.
int hy_sweep_report(const char *out_dir, int *n_runs);

#endif
