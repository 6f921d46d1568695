// report.h - the study's ranked table and chart: results.csv, results.md, chart.svg and
// chart.png from one summary row per run (a decoder trained with given settings and
// evaluated with one or more identity models). Rows are ranked by the first model's mean distance
// (lower is better); the others, their same-person rates and the attribute agreement are listed too.
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
    char name[128];      // <model>_<epochs>_<batch>, or the model name for closed-form fits
    char model[32];
    int epochs, batch;   // 0 for closed-form models
    double dist_mean, dist_se;  // FaceNet distance GT vs reconstruction, mean and s.e. over test items
    double baseline;     // shuffled-pair baseline: mean distance of non-matching pairs
    double null_p;       // random-latent null p-value (NaN when not computed)
    double cosine;       // mean latent cosine similarity
    double ident_acc;    // FaceNet-space pairwise identification accuracy
    double collapse;     // prediction spread / true spread (mean pairwise cosine distance ratio)
    double pixel_r;      // mean luminance pixel correlation
    // every identity model (models[0] is the one above, which ranks the runs) and the image-space
    // attribute agreement of truth and reconstruction (NaN without an age/gender model)
    int n_models;
    model_summary models[REPORT_MAX_MODELS];
    double gender_match, age_r;
} run_summary;

// Sorts rows by dist_mean (stable by name) and writes OUT/results.csv, results.md,
// chart.svg and chart.png atomically. `title` heads the markdown and the chart.
int hy_report_write(const char *outdir, run_summary *rows, int n, const char *title);

// CSV line of one run (no newline) and its parser, used to store per-run summaries and
// to merge shards. The header line is REPORT_CSV_HEADER.
// The last field lists the identity models as name:dist_mean:dist_se:threshold:same_rate:shuffled_same:null_p,
// separated by ';'.
#define REPORT_CSV_HEADER \
    "rank,name,model,epochs,batch,dist_mean,dist_se,baseline,null_p,cosine,ident_acc,collapse,pixel_r,gender_match," \
    "age_r,models"
int hy_report_format_csv(char *buf, int len, int rank, const run_summary *r);
int hy_report_parse_csv(const char *line, run_summary *r);  // HY_OK or HY_EFORMAT

#endif
