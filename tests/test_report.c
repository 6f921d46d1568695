// test_report.c - the ranked report from hand-made run folders (the files a sweep writes per
// run: run.csv, metrics.csv, latent_items.csv, curve.csv): configurations grouped over seeds
// with their means and standard errors, the collapsed / not-better-than-baseline flags and the
// order they give, paired tests and Holm with values known in closed form, the overlay of test
// curves (epoch snapshots drawn once), older run.csv files, and damaged input (one-line errors,
// no report written).
#include <math.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/image_io.h"
#include "base/wfile.h"
#include "study/report.h"
#include "study/results.h"
#include "study/sweep.h"
#include "testutil.h"

#define N_ITEMS 12  // <= 20: the sign-flip tests are exact, so p-values are known in closed form

typedef struct {
    const char *name, *model, *config;
    int epochs, batch;
    long long seed;
    double offset;      // per-item distance = 0.8 + 0.01 i + offset
    double base_gap;    // baseline = distance + base_gap (+-0.01 alternating when base_gap == 0)
    double ident;       // latent 2-way identification of every item
    double spread, mtcnn_share;
    int nan_item;       // item without a face (-1: none)
    int old_format;     // run.csv with the 13 columns written before issue 13
    double tilt;        // + tilt * i: differences between configurations vary by item (no ties)
    int two_models;     // scored by two identity models named fn and fa (metrics.csv <m>_distance
                        // columns, run.csv models/gender_match/age_r), as `-e fn=F.bin -e fa=A.bin -a`
} fake_run;

// The second model's per-run numbers of a two-model fake run (seed s): distance 0.1 above the
// first's, threshold 0.6, same-person rate 0.2 + 0.1 s, shuffled 0.05, null p 0.01 s; gender
// match 0.6 + 0.1 s, age r 0.3 + 0.1 s.
static void two_models(run_summary *s, long long seed) {
    s->n_models = 2;
    s->models[0] = (model_summary){"fn", s->dist_mean, s->dist_se, NAN, NAN, NAN, s->null_p};
    s->models[1] = (model_summary){"fa", s->dist_mean + 0.1, 0.02, 0.6, 0.2 + 0.1 * seed, 0.05, 0.01 * seed};
    s->gender_match = 0.6 + 0.1 * seed, s->age_r = 0.3 + 0.1 * seed;
}

static double item_dist(const fake_run *f, int i) {
    return i == f->nan_item ? NAN : 0.8 + 0.01 * i + f->offset + f->tilt * i;
}

static void write_file(const char *path, const char *text) {
    FILE *f = fopen(path, "w");
    ck_assert_msg(f != NULL, "cannot write %s", path);
    fputs(text, f);
    fclose(f);
}

// Writes runs/<f->name>/ with n items; values (n) replaces the per-item distances when not NULL.
static void make_run_n(const char *res, const fake_run *f, int n, const double *values) {
    char dir[512], p[600], buf[8192];
    snprintf(dir, sizeof dir, "%s/runs/%s", res, f->name);
    snprintf(p, sizeof p, "mkdir -p '%s'", dir);
    ck_assert_int_eq(system(p), 0);
    double sd = 0, sb = 0;
    int k = 0;
    int len = snprintf(buf, sizeof buf, "%s",
                       f->two_models ? "item,fn_distance,fn_baseline,fn_ident,fn_same,fa_distance,fa_baseline,fa_ident,"
                                       "fa_same,pixel_r,latent_cosine,crop_gt,crop_recon,mtcnn_prob\n"
                                     : "item,facenet_distance,baseline,ident,pixel_r,latent_cosine,crop_gt,crop_recon,"
                                       "mtcnn_prob\n");
    for (int i = 0; i < n; i++) {
        double d = values ? values[i] : item_dist(f, i), b = d + (f->base_gap != 0 ? f->base_gap : (i % 2 ? 0.01 : -0.01));
        if (isfinite(d)) sd += d, sb += b, k++;
        if (f->two_models)  // the second model's columns hold values the report must not rank by
            len += snprintf(buf + len, sizeof buf - len, "%d,%.6f,%.6f,0.5,nan,%.6f,9,0.5,1,0.1,0.2,m,m,0.99\n", i, d,
                            b, d + 0.1);
        else len += snprintf(buf + len, sizeof buf - len, "%d,%.6f,%.6f,0.5,0.1,0.2,f,f,nan\n", i, d, b);
    }
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    write_file(p, buf);
    len = snprintf(buf, sizeof buf, "item,cosine,sim_code,sim_paper,ident2,null_p\n");
    for (int i = 0; i < n; i++) len += snprintf(buf + len, sizeof buf - len, "%d,0.2,0.5,0.1,%.6f,0.5\n", i, f->ident);
    snprintf(p, sizeof p, "%s/latent_items.csv", dir);
    write_file(p, buf);
    run_summary s = {0};
    snprintf(s.name, sizeof s.name, "%s", f->name);
    snprintf(s.model, sizeof s.model, "%s", f->model);
    snprintf(s.config, sizeof s.config, "%s", f->config ? f->config : "");
    s.epochs = f->epochs, s.batch = f->batch, s.seed = f->seed;
    s.dist_mean = sd / k, s.dist_se = 0.01, s.baseline = sb / k, s.null_p = 0.01 * (1 + f->seed);
    s.cosine = 0.2, s.ident_acc = 0.7, s.collapse = f->spread, s.pixel_r = 0.1;
    s.erank = 5, s.erank_true = 7, s.ident_latent = f->ident, s.mtcnn_share = f->mtcnn_share, s.mtcnn_prob = NAN;
    s.gender_match = s.age_r = NAN;
    if (f->two_models) two_models(&s, f->seed);
    char line[2048];
    hy_report_format_csv(line, sizeof line, 0, &s);
    if (f->old_format) {  // the first 13 columns, under the header of that time
        char *c = line;
        for (int j = 0; j < 13; j++) c = strchr(c, ',') + 1;
        c[-1] = 0;
        snprintf(buf, sizeof buf, "rank,name,model,epochs,batch,dist_mean,dist_se,baseline,null_p,cosine,ident_acc,"
                                  "collapse,pixel_r\n%s\n", line);
    } else {
        snprintf(buf, sizeof buf, "%s\n%s\n", REPORT_CSV_HEADER, line);
    }
    snprintf(p, sizeof p, "%s/run.csv", dir);
    write_file(p, buf);
}
static void make_run(const char *res, const fake_run *f) { make_run_n(res, f, N_ITEMS, NULL); }

// results.csv as rows of fields (columns found by name), read with the project's CSV helpers.
typedef struct {
    char text[16][1024];
    char *f[16][64], *h[64];
    char head[1024], raw_head[1024];
    int n, nh;
} table;

static void read_table(table *t, const char *path) {
    FILE *f = fopen(path, "r");
    ck_assert_msg(f != NULL, "%s missing", path);
    ck_assert_ptr_nonnull(fgets(t->head, sizeof t->head, f));
    t->head[strcspn(t->head, "\n")] = 0;
    memcpy(t->raw_head, t->head, sizeof t->head);
    t->nh = hy_csv_split(t->head, t->h, 64);
    t->n = 0;
    while (t->n < 16 && fgets(t->text[t->n], sizeof t->text[0], f)) {
        ck_assert_int_eq(hy_csv_split(t->text[t->n], t->f[t->n], 64), t->nh);
        t->n++;
    }
    fclose(f);
}
static const char *cell(const table *t, int row, const char *col) {
    int c = hy_csv_col(t->h, t->nh, col);
    ck_assert_msg(c >= 0, "no column %s", col);
    return t->f[row][c];
}
static double num(const table *t, int row, const char *col) { return atof(cell(t, row, col)); }

// The study: linear (3 seeds) ranks first; ols (an older run.csv) second; mlp has the lowest
// distance but is collapsed; ridge is no better than its baseline. Per item the distances are
// ordered mlp < linear < ols < ridge, so every pair's differences have one sign.
static const fake_run STUDY[] = {
    {"linear_700_30_s1", "linear", "linear_700_30", 700, 30, 1, 0.097, 0.3, 0.8, 0.9, 0.5, -1, 0, 0.001, 0},
    {"linear_700_30_s2", "linear", "linear_700_30", 700, 30, 2, 0.100, 0.3, 0.8, 0.9, 0.6, -1, 0, 0.001, 0},
    {"linear_700_30_s3", "linear", "linear_700_30", 700, 30, 3, 0.103, 0.3, 0.8, 0.9, 0.7, -1, 0, 0.001, 0},
    {"mlp_700_30_s1", "mlp", "mlp_700_30", 700, 30, 1, 0.018, 0.3, 0.5, 0.2, 0.1, -1, 0, 0, 0},
    {"mlp_700_30_s2", "mlp", NULL, 700, 30, 2, 0.022, 0.3, 0.5, 0.2, 0.1, -1, 0, 0, 0},  // config from the name
    {"ols", "ols", NULL, 0, 0, 0, 0.2, 0.25, 0.7, 0.95, NAN, -1, 1, 0.003, 0},
    {"ridge", "ridge", NULL, 0, 0, 0, 0.3, 0.0, 0.6, 0.8, NAN, 5, 0, 0.005, 0},
};

START_TEST(seeds_flags_pairs) {
    char *res = test_tmpdir();
    for (size_t i = 0; i < sizeof STUDY / sizeof STUDY[0]; i++) make_run(res, &STUDY[i]);
    int n_runs = 0;
    ck_assert_msg(hy_sweep_report(res, &n_runs) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(n_runs, 7);
    char p[600];
    table t;
    snprintf(p, sizeof p, "%s/results.csv", res);
    read_table(&t, p);
    ck_assert_int_eq(t.n, 4);
    const char *order[4] = {"linear_700_30", "ols", "mlp_700_30", "ridge"}, *rank[4] = {"1", "2", "", ""};
    for (int i = 0; i < 4; i++) {
        ck_assert_str_eq(cell(&t, i, "config"), order[i]);
        ck_assert_str_eq(cell(&t, i, "rank"), rank[i]);
    }
    // linear: 3 seeds; per-seed means 0.8605 + 0.097/0.100/0.103 (the mean of 0.8 + 0.011 i over
    // 12 items is 0.8605); s.e. over seeds: sd 0.003 / sqrt 3; s.e. over items of 0.9 + 0.011 i:
    // 0.011 sqrt(13) / sqrt(12) (the sd of 0..11 is sqrt 13). Files hold 6 decimals: tol 2e-6.
    ck_assert_int_eq((int)num(&t, 0, "n_seeds"), 3);
    ck_assert_double_eq_tol(num(&t, 0, "dist_mean"), 0.9605, 2e-6);
    ck_assert_double_eq_tol(num(&t, 0, "dist_se_seeds"), 0.003 / sqrt(3), 2e-6);
    ck_assert_double_eq_tol(num(&t, 0, "dist_se_items"), 0.011 * sqrt(13.0 / 12), 2e-6);
    ck_assert_double_eq_tol(num(&t, 0, "mtcnn_share"), 0.6, 1e-6);
    ck_assert_double_eq_tol(num(&t, 0, "null_p"), 0.04, 1e-9);  // the largest over seeds 1..3
    // baseline above the distance on all 12 items: one-sided exact p 1/2^12; identification
    // 0.8 > 0.5 on all items: the same
    ck_assert_double_eq_tol(num(&t, 0, "baseline_p"), 1.0 / 4096, 1e-9);
    ck_assert_double_eq_tol(num(&t, 0, "latent_ident_p"), 1.0 / 4096, 1e-9);
    ck_assert(!strcmp(cell(&t, 0, "collapsed"), "0") && !strcmp(cell(&t, 0, "beats_baseline"), "1"));
    // ols: an older run.csv (no seed, config or MTCNN columns): one seed, NaN where unknown
    ck_assert_str_eq(cell(&t, 1, "dist_se_seeds"), "nan");
    ck_assert_str_eq(cell(&t, 1, "mtcnn_share"), "nan");
    ck_assert_double_eq_tol(num(&t, 1, "dist_mean"), 1.0715, 2e-6);
    // mlp: lower distance than linear, but spread 0.2 and identification 0.5 (p = 1): collapsed
    ck_assert_str_eq(cell(&t, 2, "collapsed"), "1");
    ck_assert_str_eq(cell(&t, 2, "beats_baseline"), "1");
    ck_assert_double_eq_tol(num(&t, 2, "latent_ident_p"), 1.0, 1e-12);
    ck_assert_double_eq_tol(num(&t, 2, "dist_mean"), 0.875, 2e-6);
    // ridge: baseline -+0.01 around the distance on 11 items (item 5 has no face): not better
    ck_assert_str_eq(cell(&t, 3, "collapsed"), "0");
    ck_assert_str_eq(cell(&t, 3, "beats_baseline"), "0");
    ck_assert_double_gt(num(&t, 3, "baseline_p"), 0.3);

    // pairs in table order; every pair's per-item differences share one sign and differ in size,
    // so the exact two-sided Wilcoxon and sign-flip p are 2 / 2^n: n = 12, or 11 with ridge (item
    // 5). Holm over 6 pairs: 6 * 2/4096 for the smallest three, max(that, 3 * 2/2048) after: all
    // 12/4096. Mean differences: offsets + tilt difference * mean item (5.5, or 61/11 without 5).
    snprintf(p, sizeof p, "%s/pairs.csv", res);
    read_table(&t, p);
    ck_assert_str_eq(t.raw_head, "a,b,n,mean_diff,wilcoxon_p,perm_p,holm_p");
    ck_assert_int_eq(t.n, 6);
    const char *pa[6] = {"linear_700_30", "linear_700_30", "linear_700_30", "ols", "ols", "mlp_700_30"};
    const char *pb[6] = {"ols", "mlp_700_30", "ridge", "mlp_700_30", "ridge", "ridge"};
    const double m11 = 61.0 / 11;
    const double diff[6] = {-0.1 - 0.002 * 5.5, 0.08 + 0.001 * 5.5, -0.2 - 0.004 * m11, 0.18 + 0.003 * 5.5,
                            -0.1 - 0.002 * m11, -0.28 - 0.005 * m11};
    for (int i = 0; i < 6; i++) {
        int n = !strcmp(pb[i], "ridge") ? 11 : 12;
        ck_assert_str_eq(cell(&t, i, "a"), pa[i]);
        ck_assert_str_eq(cell(&t, i, "b"), pb[i]);
        ck_assert_int_eq((int)num(&t, i, "n"), n);
        ck_assert_double_eq_tol(num(&t, i, "mean_diff"), diff[i], 2e-6);
        ck_assert_double_eq_tol(num(&t, i, "wilcoxon_p"), 2.0 / (1 << n), 1e-9);  // %.6g: 6 digits
        ck_assert_double_eq_tol(num(&t, i, "perm_p"), 2.0 / (1 << n), 1e-9);
        ck_assert_double_eq_tol(num(&t, i, "holm_p"), 12.0 / 4096, 1e-8);
    }
    // runs.csv: every run; results.md: the table marks the flagged configurations, the MTCNN
    // columns are there (linear measured them), and the pairs section counts the significant ones
    snprintf(p, sizeof p, "%s/runs.csv", res);
    read_table(&t, p);
    ck_assert_int_eq(t.n, 7);
    snprintf(p, sizeof p, "%s/results.md", res);
    FILE *f = fopen(p, "r");
    char mdt[32768] = {0};
    ck_assert_uint_gt(fread(mdt, 1, sizeof mdt - 1, f), 1000);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(mdt, "| 1 | linear_700_30 | 3 | 0.9605 | 0.0017 |"));
    ck_assert_ptr_nonnull(strstr(mdt, "| - | mlp_700_30 | 2 | 0.8750 |"));
    ck_assert_ptr_nonnull(strstr(mdt, "| collapsed |\n"));
    ck_assert_ptr_nonnull(strstr(mdt, "| not better than baseline |\n"));
    ck_assert_ptr_nonnull(strstr(mdt, "MTCNN p >= 0.9"));
    ck_assert_ptr_nonnull(strstr(mdt, "**6 of 6 pairs differ at Holm p < 0.05.**"));
    ck_assert_ptr_nonnull(strstr(mdt, "| linear_700_30 | ols | 12 | -0.1110 | 0.000488 | 0.000488 | 0.00293 * |"));
    // the chart: ranked configurations in blue, flagged ones in grey; no curves in these runs
    snprintf(p, sizeof p, "%s/chart.png", res);
    int w, h, blue = 0, grey = 0;
    uint8_t *rgb;
    ck_assert_int_eq(hy_image_read_rgb8(p, &w, &h, &rgb), 0);
    for (int i = 0; i < w * h; i++) {
        blue += rgb[3 * i] == 0 && rgb[3 * i + 1] == 114 && rgb[3 * i + 2] == 178;     // Okabe-Ito blue
        grey += rgb[3 * i] == 128 && rgb[3 * i + 1] == 128 && rgb[3 * i + 2] == 128;
    }
    free(rgb);
    ck_assert_int_gt(blue, 50);
    ck_assert_int_gt(grey, 50);
    snprintf(p, sizeof p, "%s/curves.svg", res);
    ck_assert(!file_exists(p));
    ck_assert(strstr(mdt, "curves.svg") == NULL);
}
END_TEST

// pairs.csv end to end against scipy: 4 configurations x 16 items from the golden fixture
// (convert/golden/golden_stats.py: scipy.stats.wilcoxon, scipy.stats.permutation_test exact,
// statsmodels Holm).
START_TEST(pairs_match_scipy) {
    wfile wf;
    ck_assert_msg(hy_wf_open(&wf, "tests/fixtures/stats_ref.bin") == 0, "%s", hy_errmsg());
    const wf_tensor *td = hy_wf_find(&wf, "study.dist"), *tw = hy_wf_find(&wf, "study.wil"),
                    *tp = hy_wf_find(&wf, "study.perm"), *th = hy_wf_find(&wf, "study.holm");
    ck_assert(td && tw && tp && th && td->dtype == WF_F64 && td->dims[0] == 4 && td->dims[1] == 16);
    const double *dist = td->data, *wil = tw->data, *perm = tp->data, *holm = th->data;
    char *res = test_tmpdir(), name[4][8];
    for (int c = 0; c < 4; c++) {
        snprintf(name[c], sizeof name[c], "c%d", c);
        fake_run f = {name[c], "ols", NULL, 0, 0, 0, 0, 0.3, 0.8, 0.9, NAN, -1, 0, 0, 0};
        make_run_n(res, &f, 16, dist + 16 * c);
    }
    ck_assert_msg(hy_sweep_report(res, NULL) == 0, "%s", hy_errmsg());
    char p[600];
    table t;
    snprintf(p, sizeof p, "%s/pairs.csv", res);
    read_table(&t, p);
    ck_assert_int_eq(t.n, 6);
    for (int r = 0; r < 6; r++) {
        // the fixture's pair (i, j), i < j, in the report's order (a, b) either way round
        int a = cell(&t, r, "a")[1] - '0', b = cell(&t, r, "b")[1] - '0', i = a < b ? a : b, j = a < b ? b : a;
        int k = i == 0 ? j - 1 : i == 1 ? j + 1 : 5;  // (0,1) (0,2) (0,3) (1,2) (1,3) (2,3)
        double md = 0;
        for (int q = 0; q < 16; q++) md += (dist[16 * a + q] - dist[16 * b + q]) / 16;
        ck_assert_int_eq((int)num(&t, r, "n"), 16);
        ck_assert_double_eq_tol(num(&t, r, "mean_diff"), md, 1e-6);  // %.6f
        // p printed with 6 significant digits: 1e-5 relative
        ck_assert_msg(fabs(num(&t, r, "wilcoxon_p") - wil[k]) <= 1e-5 * wil[k], "pair %d: %s vs scipy %.9g", r,
                      cell(&t, r, "wilcoxon_p"), wil[k]);
        ck_assert_msg(fabs(num(&t, r, "perm_p") - perm[k]) <= 1e-5 * perm[k], "pair %d: %s vs scipy %.9g", r,
                      cell(&t, r, "perm_p"), perm[k]);
        ck_assert_msg(fabs(num(&t, r, "holm_p") - holm[k]) <= 1e-5 * holm[k], "pair %d: %s vs statsmodels %.9g", r,
                      cell(&t, r, "holm_p"), holm[k]);
    }
    hy_wf_close(&wf);
}
END_TEST

static void write_curve(const char *res, const char *run, int epochs, double scale) {
    char p[600], buf[4096];
    int len = snprintf(buf, sizeof buf, "epoch,train_loss,test_loss\n");
    for (int e = 1; e <= epochs; e++) len += snprintf(buf + len, sizeof buf - len, "%d,%.6f,%.6f\n", e, scale / e, 2 * scale / e);
    snprintf(p, sizeof p, "%s/runs/%s/curve.csv", res, run);
    write_file(p, buf);
}

static int count_str(const char *hay, const char *needle) {
    int n = 0;
    for (const char *s = hay; (s = strstr(s, needle)); s++) n++;
    return n;
}

// Curves: linear_2_30 is the first part of linear_4_30 (snapshots of one training run) and is
// not drawn again; two seeds of mlp share a colour and one legend entry.
START_TEST(curves_overlay) {
    char *res = test_tmpdir();
    const fake_run runs[] = {
        {"linear_2_30", "linear", NULL, 2, 30, 1, 0.1, 0.3, 0.8, 0.9, NAN, -1, 0, 0, 0},
        {"linear_4_30", "linear", NULL, 4, 30, 1, 0.1, 0.3, 0.8, 0.9, NAN, -1, 0, 0, 0},
        {"mlp_4_30_s1", "mlp", "mlp_4_30", 4, 30, 1, 0.2, 0.3, 0.8, 0.9, NAN, -1, 0, 0, 0},
        {"mlp_4_30_s2", "mlp", "mlp_4_30", 4, 30, 2, 0.2, 0.3, 0.8, 0.9, NAN, -1, 0, 0, 0},
        {"ridge", "ridge", NULL, 0, 0, 0, 0.3, 0.3, 0.8, 0.9, NAN, -1, 0, 0, 0},
    };
    for (int i = 0; i < 5; i++) make_run(res, &runs[i]);
    write_curve(res, "linear_2_30", 2, 1.0);
    write_curve(res, "linear_4_30", 4, 1.0);
    write_curve(res, "mlp_4_30_s1", 4, 3.0);
    write_curve(res, "mlp_4_30_s2", 4, 3.5);
    ck_assert_msg(hy_sweep_report(res, NULL) == 0, "%s", hy_errmsg());
    char p[600], svg[65536] = {0};
    snprintf(p, sizeof p, "%s/curves.svg", res);
    FILE *f = fopen(p, "r");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_gt(fread(svg, 1, sizeof svg - 1, f), 500);
    fclose(f);
    ck_assert_int_eq(count_str(svg, "<polyline"), 3);  // linear_4_30, mlp s1, mlp s2
    ck_assert_int_eq(count_str(svg, ">linear</text>"), 1);
    ck_assert_int_eq(count_str(svg, ">mlp</text>"), 1);
    ck_assert_int_eq(count_str(svg, "stroke=\"#e69f00\""), 3);  // mlp's colour (orange): 2 lines + legend
    // the PNG shows both palette colours
    snprintf(p, sizeof p, "%s/curves.png", res);
    int w, h, c0 = 0, c1 = 0;
    uint8_t *rgb;
    ck_assert_int_eq(hy_image_read_rgb8(p, &w, &h, &rgb), 0);
    for (int i = 0; i < w * h; i++) {
        c0 += rgb[3 * i] == 0 && rgb[3 * i + 1] == 114 && rgb[3 * i + 2] == 178;   // Okabe-Ito blue
        c1 += rgb[3 * i] == 230 && rgb[3 * i + 1] == 159 && rgb[3 * i + 2] == 0;   // and orange
    }
    free(rgb);
    ck_assert_int_gt(c0, 100);
    ck_assert_int_gt(c1, 100);
    snprintf(p, sizeof p, "%s/results.md", res);
    f = fopen(p, "r");
    char mdt[16384] = {0};
    ck_assert_uint_gt(fread(mdt, 1, sizeof mdt - 1, f), 100);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(mdt, "`curves.svg` / `curves.png`"));
}
END_TEST

// Several identity models and face-api's attributes (issue 15) next to the configuration report:
// the ranking model's per-item columns are found by its name (fn_distance), every model's numbers
// are means over the seeds in results.csv and results.md, and run.csv keeps them through a round trip.
START_TEST(models_and_attributes) {
    char *res = test_tmpdir();
    const fake_run runs[] = {
        {"lin_5_30_s1", "linear", "lin_5_30", 5, 30, 1, 0.0, 0.3, 0.8, 0.9, 0.5, -1, 0, 0.001, 1},
        {"lin_5_30_s2", "linear", "lin_5_30", 5, 30, 2, 0.01, 0.3, 0.8, 0.9, 0.5, -1, 0, 0.001, 1},
        {"ridge", "ridge", NULL, 0, 0, 0, 0.2, 0.3, 0.8, 0.9, 0.5, -1, 0, 0.001, 1},
    };
    for (int i = 0; i < 3; i++) make_run(res, &runs[i]);
    ck_assert_msg(hy_sweep_report(res, NULL) == 0, "%s", hy_errmsg());
    char p[600];
    table t;
    snprintf(p, sizeof p, "%s/results.csv", res);
    read_table(&t, p);
    ck_assert_int_eq(t.n, 2);
    ck_assert_str_eq(cell(&t, 0, "config"), "lin_5_30");
    ck_assert_str_eq(cell(&t, 0, "rank"), "1");
    // ranked by fn_distance (mean over items 0.8 + 0.011 * 5.5 = 0.8605, + offsets 0 and 0.01), and
    // its baseline is fn_baseline (0.3 above; fa_baseline 9 would not beat it): 6 decimals, tol 2e-6
    ck_assert_double_eq_tol(num(&t, 0, "dist_mean"), 0.8655, 2e-6);
    ck_assert_double_eq_tol(num(&t, 0, "baseline"), 1.1655, 2e-6);
    ck_assert_str_eq(cell(&t, 0, "beats_baseline"), "1");
    // the second model: means over the two seeds (%.6g), the null p the larger; attributes the same
    ck_assert_double_eq_tol(num(&t, 0, "fa_distance"), 0.9655, 2e-6);
    ck_assert_double_eq_tol(num(&t, 0, "fa_same_rate"), 0.35, 1e-9);
    ck_assert_double_eq_tol(num(&t, 0, "fa_shuffled_same"), 0.05, 1e-9);
    ck_assert_double_eq_tol(num(&t, 0, "fa_threshold"), 0.6, 1e-9);
    ck_assert_double_eq_tol(num(&t, 0, "fa_null_p"), 0.02, 1e-9);
    ck_assert_str_eq(cell(&t, 0, "fn_threshold"), "nan");
    ck_assert_double_eq_tol(num(&t, 0, "gender_match"), 0.75, 1e-9);
    ck_assert_double_eq_tol(num(&t, 0, "age_r"), 0.45, 1e-9);
    ck_assert_double_eq_tol(num(&t, 1, "fa_same_rate"), 0.2, 1e-9);  // ridge: seed 0
    ck_assert_double_eq_tol(num(&t, 1, "gender_match"), 0.6, 1e-9);
    // results.md: the identity-model table, ranked rows first; titled by the ranking model
    snprintf(p, sizeof p, "%s/results.md", res);
    FILE *f = fopen(p, "r");
    char mdt[32768] = {0};
    ck_assert_uint_gt(fread(mdt, 1, sizeof mdt - 1, f), 1000);
    fclose(f);
    ck_assert_ptr_nonnull(strstr(mdt, "# Decoders ranked by fn distance"));
    ck_assert_ptr_nonnull(strstr(mdt, "## Identity models and attributes"));
    ck_assert_ptr_nonnull(strstr(mdt, "| rank | configuration | fn distance | fn same (thr) | fn shuffled | fa distance |"));
    ck_assert_ptr_nonnull(strstr(mdt, "| 1 | lin_5_30 | 0.8655 | - | - | 0.9655 | 0.350 (0.6) | 0.050 | 0.750 | 0.450 |\n"));
    // run.csv round trip: every model and the attributes come back
    run_summary s = {0}, back;
    snprintf(s.name, sizeof s.name, "x_1_2");
    snprintf(s.model, sizeof s.model, "linear");
    s.dist_mean = 0.5, s.null_p = 0.03;
    two_models(&s, 3);
    char line[2048];
    hy_report_format_csv(line, sizeof line, 0, &s);
    ck_assert_msg(hy_report_parse_csv("run.csv", REPORT_CSV_HEADER, line, &back) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(back.n_models, 2);
    ck_assert_str_eq(back.models[1].name, "fa");
    ck_assert_double_eq_tol(back.models[1].dist_mean, 0.6, 1e-9);
    ck_assert_double_eq_tol(back.models[1].same_rate, 0.5, 1e-9);
    ck_assert_double_eq_tol(back.models[1].null_p, 0.03, 1e-9);
    ck_assert(isnan(back.models[0].threshold));
    ck_assert_double_eq_tol(back.gender_match, 0.9, 1e-9);
    ck_assert_double_eq_tol(back.age_r, 0.6, 1e-9);
    // a run.csv of main before issue 15 (no gender_match, age_r, models): NaN and no models
    char old_head[1024];
    snprintf(old_head, sizeof old_head, "%s", REPORT_CSV_HEADER);
    *strstr(old_head, ",gender_match") = 0;
    *strstr(line, ",0.9,") = 0;  // the fields from gender_match on
    ck_assert_msg(hy_report_parse_csv("old.csv", old_head, line, &back) == 0, "%s", hy_errmsg());
    ck_assert(back.n_models == 0 && isnan(back.gender_match) && isnan(back.age_r));
    // a damaged models field: one line naming the file
    hy_report_format_csv(line, sizeof line, 0, &s);
    *strrchr(line, ':') = 0;  // fa's entry loses its null p
    ck_assert_int_eq(hy_report_parse_csv("bad/run.csv", REPORT_CSV_HEADER, line, &back), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "bad/run.csv: models entry 'fa:"));
}
END_TEST

// One damaged or inconsistent run folder: a one-line error naming the file, and no report.
static void expect_report_error(const char *res, const char *needle) {
    ck_assert_int_ne(hy_sweep_report(res, NULL), 0);
    ck_assert_msg(strstr(hy_errmsg(), needle) != NULL, "'%s' lacks '%s'", hy_errmsg(), needle);
    ck_assert(strchr(hy_errmsg(), '\n') == NULL);
    char p[600];
    snprintf(p, sizeof p, "%s/results.csv", res);
    ck_assert(!file_exists(p));
    snprintf(p, sizeof p, "%s/pairs.csv", res);
    ck_assert(!file_exists(p));
}

static char *study_copy(void) {
    char *res = test_tmpdir();
    make_run(res, &STUDY[0]);
    make_run(res, &STUDY[5]);
    return res;
}

static void sh(const char *fmt, const char *res) {
    char cmd[2048];
    snprintf(cmd, sizeof cmd, fmt, res, res);
    ck_assert_int_eq(system(cmd), 0);
}

START_TEST(damaged_runs) {
    char *res = test_tmpdir();
    expect_report_error(res, "no runs directory");
    sh("mkdir -p %s/runs/x.tmp && touch %s/runs/x.tmp/run.csv", res);  // a run in progress is not a run
    expect_report_error(res, "no finished runs");
    res = study_copy();
    sh("sed -i 's/,ols,ols,0,0,[0-9.]*,/,ols,ols,0,0,abc,/' %s/runs/ols/run.csv; true %s", res);
    expect_report_error(res, "runs/ols/run.csv: dist_mean 'abc' is not a number");
    res = study_copy();
    sh("rm %s/runs/ols/metrics.csv; true %s", res);
    expect_report_error(res, "runs/ols/metrics.csv: cannot open");
    res = study_copy();
    sh("sed -i '3s/,f,f,nan$//' %s/runs/ols/metrics.csv; true %s", res);
    expect_report_error(res, "runs/ols/metrics.csv: line 3 has 6 fields, the header 9");
    res = study_copy();
    sh("sed -i '3s/^1,/7,/' %s/runs/ols/metrics.csv; true %s", res);
    expect_report_error(res, "runs/ols/metrics.csv: row 2 is item 7, expected 1");
    res = study_copy();
    sh("sed -i '$d' %s/runs/ols/latent_items.csv; true %s", res);
    expect_report_error(res, "latent_items.csv: 11 items, metrics.csv has 12");
    res = study_copy();
    sh("printf 'epoch,train_loss\\n1,0.5\\n' > %s/runs/ols/curve.csv; true %s", res);
    expect_report_error(res, "runs/ols/curve.csv: no column 'test_loss' in the header");
    res = study_copy();
    sh("printf 'epoch,train_loss,test_loss\\n1,0.5,x\\n' > %s/runs/ols/curve.csv; true %s", res);
    expect_report_error(res, "curve.csv: line 2: 'x' is not a number (column test_loss)");
    res = study_copy();
    sh("sed -i '$d' %s/runs/ols/metrics.csv %s/runs/ols/latent_items.csv", res);
    expect_report_error(res, "evaluated on different test sets (12 and 11 items)");
    // two runs of one configuration with different epochs
    res = study_copy();
    fake_run other = STUDY[1];
    other.epochs = 900;
    make_run(res, &other);
    expect_report_error(res, "share the configuration linear_700_30 but differ in model, epochs or batch");
    // through the CLI: exit 1, the message on one line
    res = study_copy();
    sh("rm %s/runs/ols/latent_items.csv; true %s", res);
    char *msg;
    ck_assert_int_eq(run_hyper(&msg, "report %s", res), 1);
    ck_assert_ptr_nonnull(strstr(msg, "latent_items.csv: cannot open"));
    ck_assert_int_eq(count_str(msg, "\n"), 1);
    free(msg);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("report");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, seeds_flags_pairs);
    tcase_add_test(tc, pairs_match_scipy);
    tcase_add_test(tc, curves_overlay);
    tcase_add_test(tc, models_and_attributes);
    tcase_add_test(tc, damaged_runs);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
