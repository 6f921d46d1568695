// sweep.h - the study's grid: train decoders over models x epochs x batch sizes (plus the
// closed-form models once each), evaluate each with FaceNet, and rank them.
//
// Layout of RESULTS:
//   gt/                      ground-truth faces and embeddings (cached, see study.h)
//   runs/<name>/             one finished run: decoder.bin, pred.npy, metrics.csv, summary.csv,
//                            summary.txt, comparison.png, latent_*.csv, run.csv (its table row)
//   runs/<name>.tmp/         a run in progress; never counted; removed and redone on resume
//   results.csv, results.md, pairs.csv, runs.csv, chart.svg/png, curves.svg/png
//                            the ranked report (hyper report; see study/report.h, study/results.h)
// Run names: <model>_<epochs>_<batch> for iterative models, <model> for closed-form ones.
#ifndef HY_SWEEP_H
#define HY_SWEEP_H

#include "study/report.h"
#include "study/study.h"

#define SWEEP_MAX_RUNS 1024

typedef struct {
    char name[128], model[32];
    int epochs, batch;
} sweep_run;

typedef struct {
    const char *data_dir, *out_dir;
    char models[16][32];   // iterative models (linear, linear-nobias, mlp)
    int n_models;
    int epochs[32], n_epochs;
    int batches[16], n_batches;
    char closed[16][32];   // closed-form models run once (ols, ridge, lasso, elasticnet)
    int n_closed;
    int shard_i, shard_n;  // 1-based shard i of n (1/1: everything)
    int zscore;
    uint64_t seed;         // decoder initialisation and shuffling
    double lr;             // 0: the model's default
    int mlp_hidden;        // 0: default
} sweep_opts;

void hy_sweep_defaults(sweep_opts *o);
// Parses comma lists into the options ("linear,mlp", "700,900").
int hy_sweep_parse_models(sweep_opts *o, const char *list, int closed);
int hy_sweep_parse_ints(int *out, int *n, int max, const char *opt, const char *list);
// The ordered run list (iterative grid first, then closed-form).
int hy_sweep_runs(const sweep_opts *o, sweep_run *runs, int max);
// Runs this shard's unfinished runs, then (when every run of the grid is finished) writes
// the report. Returns HY_OK when this shard's runs are all finished.
int hy_sweep_execute(const sweep_opts *o, study_ctx *c);
// Collects the finished runs under RESULTS/runs/ (study/results.h) and writes the ranked report
// (study/report.h); *n_runs gets the number of runs.
int hy_sweep_report(const char *out_dir, int *n_runs);

#endif
