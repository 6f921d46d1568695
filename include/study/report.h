// report.h - the study's ranked table and chart: results.csv, results.md, chart.svg and
// chart.png from one summary row per run (a decoder trained with given settings and
// evaluated with FaceNet). Rows are ranked by mean FaceNet distance (lower is better).
#ifndef HY_REPORT_H
#define HY_REPORT_H

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
} run_summary;

// Sorts rows by dist_mean (stable by name) and writes OUT/results.csv, results.md,
// chart.svg and chart.png atomically. `title` heads the markdown and the chart.
int hy_report_write(const char *outdir, run_summary *rows, int n, const char *title);

// CSV line of one run (no newline) and its parser, used to store per-run summaries and
// to merge shards. The header line is REPORT_CSV_HEADER.
#define REPORT_CSV_HEADER "rank,name,model,epochs,batch,dist_mean,dist_se,baseline,null_p,cosine,ident_acc,collapse,pixel_r"
int hy_report_format_csv(char *buf, int len, int rank, const run_summary *r);
int hy_report_parse_csv(const char *line, run_summary *r);  // HY_OK or HY_EFORMAT

#endif
