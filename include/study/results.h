// results.h - a sweep's finished runs gathered into configurations, with the statistics of the
// ranked report (issue 13). Reads RESULTS/runs/<name>/ (run.csv, metrics.csv, latent_items.csv
// and, when present, curve.csv) and computes, without writing anything:
//
// Configurations: runs with the same `config` (the run name without its _s<seed> suffix; when a
// run.csv has no config, it is taken from the name that way) are the seeds of one configuration. Per configuration, over its k seeds:
//   dist_mean       mean of the runs' mean distances (the first identity model's, FaceNet by default)
//   dist_se_seeds   sd of those k means / sqrt(k) (NaN when k = 1)
//   dist_se_items   s.e. over test items of the per-item distance averaged over the seeds
//   null_p          the largest of the runs' random-latent null p (every seed beats the null at it)
//   the other run metrics (baseline, latent cosine, latent 2-way identification, spread ratio,
//   effective ranks, FaceNet identification, pixel r, MTCNN share and mean probability): means
//   over the seeds of the runs' values (NaN values left out); the same for every identity model's
//   mean distance, same-person rates and the attribute agreement (gender match, age r)
// Per-item values (distance, baseline, latent identification) are means over the seeds where
// finite (an item MTCNN skipped in every seed stays NaN and is left out of the tests).
// Flags:
//   baseline_p      one-sided paired sign-flip p that the distance is below the shuffled baseline
//                   (per item baseline - distance, mean > 0); beats_baseline = baseline_p < 0.05
//   ident_p         one-sided sign-flip p that the latent 2-way identification is above 0.5 (per
//                   item identification - 0.5, mean > 0)
//   collapsed       spread ratio < 0.5, or not ident_p < 0.05
// Order: configurations that beat the baseline and are not collapsed are ranked 1, 2, ... by mean
// distance (then name); the flagged ones follow, also by mean distance, with rank 0.
// Pairs: for every two configurations a (earlier in that order) and b, over the n items where
// both have a distance: mean_diff = mean(a_i - b_i), the two-sided Wilcoxon signed-rank p and
// sign-flip permutation p (study/stats.h; random flips seeded with HY_RESULTS_FLIP_SEED), and
// holm_p, Holm's adjustment of the Wilcoxon p over all pairs.
#ifndef HY_RESULTS_H
#define HY_RESULTS_H

#include "study/report.h"

#define HY_RESULTS_FLIP_SEED 1  // mt19937 seed of the random sign flips (n > 20 items)
#define HY_RESULTS_ALPHA 0.05   // level of the baseline and identification flags

typedef struct {
    run_summary s;              // its run.csv row
    int n_items;
    double *dist, *base;        // (n_items) first identity model's distance and shuffled baseline (metrics.csv:
                                // <model>_distance, <model>_baseline; facenet_distance, baseline in runs
                                // scored before models were named; NaN: skipped)
    double *ident;              // (n_items) latent 2-way identification (latent_items.csv)
    int n_curve;
    double *epoch, *test_loss;  // (n_curve) curve.csv; NULL when the run has none
} run_data;

typedef struct {
    char config[128], model[128];
    int epochs, batch, n_seeds, n_items;
    int *runs;  // (n_seeds) indices into study_results.runs
    double dist_mean, dist_se_seeds, dist_se_items, baseline, baseline_p, null_p;
    double cosine, ident_latent, ident_p, spread, erank, erank_true, facenet_ident, pixel_r;
    double mtcnn_share, mtcnn_prob;
    // every identity model of the first seed's run (models[0] ranks), each field the mean over the
    // seeds whose run has a model of that name (null_p: the largest); n_models 0 for runs scored
    // before models were named; gender_match, age_r: means over the seeds (NaN without attributes)
    int n_models;
    model_summary models[REPORT_MAX_MODELS];
    double gender_match, age_r;
    double *dist, *base, *ident;  // (n_items) means over the seeds
    int collapsed, beats_baseline, rank;  // rank 0: flagged, not ranked
} config_summary;

typedef struct {
    int a, b;  // indices into study_results.configs
    int n, exact;  // items compared; 1 when the Wilcoxon p is exact
    double mean_diff, wilcoxon_p, perm_p, holm_p;
} pair_result;

typedef struct study_results {
    int n_runs, n_configs, n_pairs;
    run_data *runs;             // sorted by name
    config_summary *configs;    // report order (above)
    pair_result *pairs;         // (a, b) with a < b, in order
} study_results;

// Reads every finished run (a folder with run.csv; *.tmp folders are runs in progress) under
// out_dir/runs and computes the configurations and pairs. Errors name the file at fault.
int hy_results_load(study_results *res, const char *out_dir);
// The same from runs already in memory (res takes them over, and frees them in every case).
int hy_results_compute(study_results *res, run_data *runs, int n_runs);
void hy_results_free(study_results *res);

#endif
