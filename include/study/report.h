// report.h - the study's ranked report. One summary row per run (a decoder trained with given
// settings and seed, evaluated with one or more identity models; the first, FaceNet by default,
// ranks) is stored as RESULTS/runs/<name>/run.csv; the report (hy_report_write, from the
// configurations and pairs of study/results.h) writes
//   results.csv, results.md  one row per configuration (the runs that differ only by seed),
//                            ranked by the first model's mean distance, flagged runs marked and
//                            not ranked; every further identity model's mean distance and
//                            same-person rate and the attribute agreement (gender match, age r)
//                            are listed too, as means over the configuration's seeds
//   pairs.csv                paired tests between every two configurations
//   runs.csv                 every run's row
//   chart.svg, chart.png     mean distance per configuration with s.e. bars and the baseline
//   curves.svg, curves.png   every iterative run's test loss per epoch (when runs have curve.csv)
//   report.html              all of the above in one self-contained page (charts as inline SVG,
//                            each run's comparison strip as an embedded PNG and its loss curve, the
//                            setup from setup.txt, the command from command.txt; no network, no
//                            JavaScript), written last (report_html.c)
#ifndef HY_REPORT_H
#define HY_REPORT_H

#define REPORT_MAX_MODELS 4  // identity models per run

// One identity model's numbers for a run.
typedef struct {
    char name[32];          // facenet, faceapi, ...
    double dist_mean, dist_se;
    double threshold;       // same-person distance (NaN: the model has none)
    double same_rate;       // fraction of items with distance < threshold
    double shuffled_same;   // the same for non-matching (shuffled) pairs: the false-accept level
    double null_p;
} model_summary;

typedef struct {
    char name[128];      // run name: <model>_<epochs>_<batch>[_s<seed>], or the model for closed-form fits
    char model[128];
    int epochs, batch;   // 0 for closed-form models
    double dist_mean, dist_se;  // first identity model's distance GT vs reconstruction, mean and s.e. over items
    double baseline;     // shuffled-pair baseline: mean distance of non-matching pairs
    double null_p;       // random-latent null p-value (NaN when not computed)
    double cosine;       // mean latent cosine similarity
    double ident_acc;    // pairwise identification accuracy in the first model's space
    double collapse;     // spread ratio: prediction spread / true spread (mean pairwise cosine distance)
    double pixel_r;      // mean luminance pixel correlation
    long long seed;      // decoder seed (0: not recorded)
    char config[128];    // the name without the _s<seed> suffix ("" when read: the name)
    double erank, erank_true;        // effective rank of the predicted and of the true latents
    double ident_latent;             // mean latent 2-way identification (Pearson; chance 0.5)
    double mtcnn_share, mtcnn_prob;  // reconstructions where MTCNN finds a face at p >= 0.9, and the
                                     // mean probability (0 where none); NaN without MTCNN
    // every identity model (models[0] is the one above, which ranks the runs) and the image-space
    // attribute agreement of truth and reconstruction (NaN without an age/gender model)
    int n_models;
    model_summary models[REPORT_MAX_MODELS];
    double gender_match, age_r;
} run_summary;

// run.csv: REPORT_CSV_HEADER, then the run's line (no newline from format; rank is 0 there).
// The last field lists the identity models as name:dist_mean:dist_se:threshold:same_rate:shuffled_same:null_p,
// separated by ';'.
#define REPORT_CSV_HEADER                                                                                   \
    "rank,name,model,epochs,batch,dist_mean,dist_se,baseline,null_p,cosine,ident_acc,collapse,pixel_r,seed," \
    "config,erank,erank_true,ident_latent,mtcnn_share,mtcnn_prob,gender_match,age_r,models"
int hy_report_format_csv(char *buf, int len, int rank, const run_summary *r);
// Parses a line under `header` (a run.csv header line of this or an older version: columns are
// found by name; those added later default to NaN, seed 0, config = name, and without `models`
// one model, "facenet", from dist_mean/dist_se/null_p). HY_EFORMAT with a
// message naming `where` (the file) and the problem.
int hy_report_parse_csv(const char *where, const char *header, const char *line, run_summary *r);

struct study_results;
// Writes the files listed above into outdir (each atomically); `title` heads results.md and
// the charts.
int hy_report_write(const char *outdir, const struct study_results *res, const char *title);
// The name of the identity model that ranks, spelled for text: the first model of the first
// configuration that names one (facenet: "FaceNet", faceapi: "face-api"; runs scored before
// models were named: "FaceNet").
const char *hy_report_rank_model(const struct study_results *res);
// An identity model's name as text: facenet -> "FaceNet", faceapi -> "face-api", others as given.
const char *hy_report_model_label(const char *name);
// Only report.html (hy_report_write calls it after the charts it inlines).
int hy_report_write_html(const char *outdir, const struct study_results *res, const char *title);

#endif
