// report.h - the study's ranked report. One summary row per run (a decoder trained with given
// settings and seed, evaluated with FaceNet) is stored as RESULTS/runs/<name>/run.csv; the
// report (hy_report_write, from the configurations and pairs of study/results.h) writes
//   results.csv, results.md  one row per configuration (the runs that differ only by seed),
//                            ranked by mean FaceNet distance, flagged runs marked and not ranked
//   pairs.csv                paired tests between every two configurations
//   runs.csv                 every run's row
//   chart.svg, chart.png     mean distance per configuration with s.e. bars and the baseline
//   curves.svg, curves.png   every iterative run's test loss per epoch (when runs have curve.csv)
#ifndef HY_REPORT_H
#define HY_REPORT_H

typedef struct {
    char name[128];      // run name: <model>_<epochs>_<batch>[_s<seed>], or the model for closed-form fits
    char model[128];
    int epochs, batch;   // 0 for closed-form models
    double dist_mean, dist_se;  // FaceNet distance GT vs reconstruction, mean and s.e. over test items
    double baseline;     // shuffled-pair baseline: mean distance of non-matching pairs
    double null_p;       // random-latent null p-value (NaN when not computed)
    double cosine;       // mean latent cosine similarity
    double ident_acc;    // FaceNet-space pairwise identification accuracy
    double collapse;     // spread ratio: prediction spread / true spread (mean pairwise cosine distance)
    double pixel_r;      // mean luminance pixel correlation
    long long seed;      // decoder seed (0: not recorded)
    char config[128];    // the name without the _s<seed> suffix ("" when read: the name)
    double erank, erank_true;        // effective rank of the predicted and of the true latents
    double ident_latent;             // mean latent 2-way identification (Pearson; chance 0.5)
    double mtcnn_share, mtcnn_prob;  // reconstructions where MTCNN finds a face at p >= 0.9, and the
                                     // mean probability (0 where none); NaN without MTCNN
} run_summary;

// run.csv: REPORT_CSV_HEADER, then the run's line (no newline from format; rank is 0 there).
#define REPORT_CSV_HEADER                                                                                   \
    "rank,name,model,epochs,batch,dist_mean,dist_se,baseline,null_p,cosine,ident_acc,collapse,pixel_r,seed," \
    "config,erank,erank_true,ident_latent,mtcnn_share,mtcnn_prob"
int hy_report_format_csv(char *buf, int len, int rank, const run_summary *r);
// Parses a line under `header` (a run.csv header line of this or an older version: columns are
// found by name; those added later default to NaN, seed 0 and config = name). HY_EFORMAT with a
// message naming `where` (the file) and the problem.
int hy_report_parse_csv(const char *where, const char *header, const char *line, run_summary *r);

struct study_results;
// Writes the files listed above into outdir (each atomically); `title` heads results.md and
// the charts.
int hy_report_write(const char *outdir, const struct study_results *res, const char *title);

#endif
