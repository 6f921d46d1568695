// report.c - the ranked report of a sweep (file list in include/study/report.h): tables (CSV,
// Markdown), the chart of the first identity model's mean distance per configuration and the
// overlay of test-loss curves; the tables also list every identity model and the attribute
// agreement. The numbers come from study/results.h; nothing is computed here but layout.
#include "study/report.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "base/lineplot.h"
#include "study/results.h"
#include "study/stats.h"

// NaN of either sign prints as "nan" (glibc prints a negative NaN as "-nan").
static double pn(double v) { return isnan(v) ? NAN : v; }

// --- a run's row (run.csv) ---------------------------------------------------------------------

int hy_report_format_csv(char *buf, int len, int rank, const run_summary *r) {
    int k = snprintf(buf, (size_t)len,
                     "%d,%s,%s,%d,%d,%.6f,%.6f,%.6f,%.6g,%.6f,%.6f,%.6f,%.6f,%lld,%s,%.4f,%.4f,%.6f,%.6f,%.6f,%.6g,%.6g,",
                     rank, r->name, r->model, r->epochs, r->batch, pn(r->dist_mean), pn(r->dist_se), pn(r->baseline),
                     pn(r->null_p), pn(r->cosine), pn(r->ident_acc), pn(r->collapse), pn(r->pixel_r), r->seed,
                     r->config, pn(r->erank), pn(r->erank_true), pn(r->ident_latent), pn(r->mtcnn_share),
                     pn(r->mtcnn_prob), pn(r->gender_match), pn(r->age_r));
    for (int m = 0; m < r->n_models && k > 0 && k < len; m++) {
        const model_summary *x = &r->models[m];
        k += snprintf(buf + k, (size_t)(len - k), "%s%s:%.6f:%.6f:%.6g:%.6g:%.6g:%.6g", m ? ";" : "", x->name,
                      pn(x->dist_mean), pn(x->dist_se), pn(x->threshold), pn(x->same_rate), pn(x->shuffled_same),
                      pn(x->null_p));
    }
    return k;
}

// The models field, "name:mean:se:thr:same:shuffled:p;..." -> r->models (empty: none).
static int parse_models(const char *where, const char *s, run_summary *r) {
    r->n_models = 0;
    while (*s) {
        if (r->n_models == REPORT_MAX_MODELS)
            return hy_err(HY_EFORMAT, "%s: more than %d identity models in 'models'", where, REPORT_MAX_MODELS);
        model_summary *x = &r->models[r->n_models];
        char num[6][40];
        int used = 0;
        if (sscanf(s, "%31[^:;]:%39[^:;]:%39[^:;]:%39[^:;]:%39[^:;]:%39[^:;]:%39[^:;]%n", x->name, num[0], num[1],
                   num[2], num[3], num[4], num[5], &used) != 7)
            return hy_err(HY_EFORMAT, "%s: models entry '%.60s' is not name:mean:se:threshold:same:shuffled:p", where, s);
        double *dst[6] = {&x->dist_mean, &x->dist_se, &x->threshold, &x->same_rate, &x->shuffled_same, &x->null_p};
        for (int k = 0; k < 6; k++)
            if (hy_csv_double(num[k], dst[k]))
                return hy_err(HY_EFORMAT, "%s: models entry '%s': '%s' is not a number", where, x->name, num[k]);
        r->n_models++;
        s += used;
        if (*s == ';') s++;
        else if (*s) return hy_err(HY_EFORMAT, "%s: models field: expected ';' after '%s'", where, x->name);
    }
    return HY_OK;
}

int hy_report_parse_csv(const char *where, const char *header, const char *line, run_summary *r) {
    memset(r, 0, sizeof *r);
    char hb[2048], lb[2048], *h[64], *f[64];
    snprintf(hb, sizeof hb, "%s", header);
    snprintf(lb, sizeof lb, "%s", line);
    int nh = hy_csv_split(hb, h, 64), nf = hy_csv_split(lb, f, 64);
    if (nh > 64 || nf != nh)
        return hy_err(HY_EFORMAT, "%s: the row has %d fields, the header %d", where, nf > 64 ? 64 : nf, nh > 64 ? 64 : nh);
    // text columns; required numeric columns (every run.csv ever written has them); optional ones
    struct {
        const char *name;
        double *dst;
        int required;
    } num[] = {{"dist_mean", &r->dist_mean, 1},   {"dist_se", &r->dist_se, 1},       {"baseline", &r->baseline, 1},
               {"null_p", &r->null_p, 1},         {"cosine", &r->cosine, 1},         {"ident_acc", &r->ident_acc, 1},
               {"collapse", &r->collapse, 1},     {"pixel_r", &r->pixel_r, 1},       {"erank", &r->erank, 0},
               {"erank_true", &r->erank_true, 0}, {"ident_latent", &r->ident_latent, 0},
               {"mtcnn_share", &r->mtcnn_share, 0}, {"mtcnn_prob", &r->mtcnn_prob, 0},
               {"gender_match", &r->gender_match, 0}, {"age_r", &r->age_r, 0}};
    int ci;
    const char *text[3] = {"name", "model", "config"};
    char *dst[3] = {r->name, r->model, r->config};
    for (int k = 0; k < 3; k++) {
        if ((ci = hy_csv_col(h, nh, text[k])) < 0) {
            if (k < 2) return hy_err(HY_EFORMAT, "%s: no column '%s'", where, text[k]);
            continue;
        }
        if (strlen(f[ci]) >= 128) return hy_err(HY_EFORMAT, "%s: %s is longer than 127 characters", where, text[k]);
        snprintf(dst[k], 128, "%s", f[ci]);
    }
    if (!r->name[0]) return hy_err(HY_EFORMAT, "%s: empty run name", where);
    long long v;
    const char *ints[3] = {"epochs", "batch", "seed"};
    for (int k = 0; k < 3; k++) {
        if ((ci = hy_csv_col(h, nh, ints[k])) < 0) {
            if (k < 2) return hy_err(HY_EFORMAT, "%s: no column '%s'", where, ints[k]);
            continue;
        }
        if (hy_csv_ll(f[ci], &v) || v < 0 || (k < 2 && v > 100000000))
            return hy_err(HY_EFORMAT, "%s: %s '%.40s' is not a valid count", where, ints[k], f[ci]);
        if (k == 0) r->epochs = (int)v;
        else if (k == 1) r->batch = (int)v;
        else r->seed = v;
    }
    for (size_t k = 0; k < sizeof num / sizeof num[0]; k++) {
        *num[k].dst = NAN;
        if ((ci = hy_csv_col(h, nh, num[k].name)) < 0) {
            if (num[k].required) return hy_err(HY_EFORMAT, "%s: no column '%s'", where, num[k].name);
            continue;
        }
        if (hy_csv_double(f[ci], num[k].dst))
            return hy_err(HY_EFORMAT, "%s: %s '%.40s' is not a number", where, num[k].name, f[ci]);
    }
    if (!isfinite(r->dist_mean)) return hy_err(HY_EVALUE, "%s: dist_mean is %g", where, r->dist_mean);
    // identity models (added with issue 15; absent: n_models 0, the run was scored by FaceNet alone)
    if ((ci = hy_csv_col(h, nh, "models")) >= 0) return parse_models(where, f[ci], r);
    return HY_OK;
}

const char *hy_report_model_label(const char *name) {
    return !strcmp(name, "facenet") ? "FaceNet" : !strcmp(name, "faceapi") ? "face-api" : name;
}

const char *hy_report_rank_model(const study_results *res) {
    for (int i = 0; i < res->n_configs; i++)
        if (res->configs[i].n_models > 0) {
            const char *m = res->configs[i].models[0].name;
            return hy_report_model_label(m);
        }
    return "FaceNet";
}

// --- tables ------------------------------------------------------------------------------------

// The identity models named by any configuration (first-seen order, at most max), for the columns
// of every model; returns their count.
static int model_names(const study_results *res, const char **names, int max) {
    int n = 0;
    for (int i = 0; i < res->n_configs; i++)
        for (int m = 0; m < res->configs[i].n_models; m++) {
            const char *x = res->configs[i].models[m].name;
            int seen = 0;
            for (int j = 0; j < n && !seen; j++) seen = !strcmp(names[j], x);
            if (!seen && n < max) names[n++] = x;
        }
    return n;
}

static const model_summary *config_model(const config_summary *c, const char *name) {
    for (int m = 0; m < c->n_models; m++)
        if (!strcmp(c->models[m].name, name)) return &c->models[m];
    return NULL;
}

static int any_attributes(const study_results *res) {
    int a = 0;
    for (int i = 0; i < res->n_configs; i++) a |= isfinite(res->configs[i].gender_match) || isfinite(res->configs[i].age_r);
    return a;
}

#define RESULTS_CSV_HEADER                                                                                     \
    "rank,config,model,epochs,batch,n_seeds,dist_mean,dist_se_seeds,dist_se_items,baseline,baseline_p,null_p," \
    "latent_cosine,latent_ident,latent_ident_p,spread_ratio,erank,erank_true,facenet_ident,pixel_r,"          \
    "mtcnn_share,mtcnn_prob,collapsed,beats_baseline"

static int write_results_csv(const char *path, const study_results *res) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    // then per identity model <m>_distance, <m>_same_rate, <m>_shuffled_same, <m>_threshold,
    // <m>_null_p, and gender_match, age_r with attributes
    const char *names[2 * REPORT_MAX_MODELS];
    int nm = model_names(res, names, 2 * REPORT_MAX_MODELS), attr = any_attributes(res);
    fprintf(o.fp, "%s", RESULTS_CSV_HEADER);
    for (int m = 0; m < nm; m++)
        fprintf(o.fp, ",%s_distance,%s_same_rate,%s_shuffled_same,%s_threshold,%s_null_p", names[m], names[m], names[m],
                names[m], names[m]);
    fprintf(o.fp, "%s\n", attr ? ",gender_match,age_r" : "");
    for (int i = 0; i < res->n_configs; i++) {
        const config_summary *c = &res->configs[i];
        char rank[16] = "";
        if (c->rank) snprintf(rank, sizeof rank, "%d", c->rank);
        fprintf(o.fp, "%s,%s,%s,%d,%d,%d,%.6f,%.6f,%.6f,%.6f,%.6g,%.6g,%.6f,%.6f,%.6g,%.6f,%.4f,%.4f,%.6f,%.6f,%.6f,%.6f,%d,%d",
                rank, c->config, c->model, c->epochs, c->batch, c->n_seeds, pn(c->dist_mean), pn(c->dist_se_seeds),
                pn(c->dist_se_items), pn(c->baseline), pn(c->baseline_p), pn(c->null_p), pn(c->cosine),
                pn(c->ident_latent), pn(c->ident_p), pn(c->spread), pn(c->erank), pn(c->erank_true),
                pn(c->facenet_ident), pn(c->pixel_r), pn(c->mtcnn_share), pn(c->mtcnn_prob), c->collapsed,
                c->beats_baseline);
        for (int m = 0; m < nm; m++) {
            const model_summary *x = config_model(c, names[m]);
            if (x)
                fprintf(o.fp, ",%.6f,%.6g,%.6g,%.6g,%.6g", pn(x->dist_mean), pn(x->same_rate), pn(x->shuffled_same),
                        pn(x->threshold), pn(x->null_p));
            else fprintf(o.fp, ",nan,nan,nan,nan,nan");
        }
        if (attr) fprintf(o.fp, ",%.6g,%.6g", pn(c->gender_match), pn(c->age_r));
        fprintf(o.fp, "\n");
    }
    return hy_out_commit(&o);
}

static int write_runs_csv(const char *path, const study_results *res) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    fprintf(o.fp, "%s\n", REPORT_CSV_HEADER);
    for (int i = 0; i < res->n_runs; i++) {
        char line[2048];
        hy_report_format_csv(line, sizeof line, 0, &res->runs[i].s);
        fprintf(o.fp, "%s\n", line);
    }
    return hy_out_commit(&o);
}

static int write_pairs_csv(const char *path, const study_results *res) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    fprintf(o.fp, "a,b,n,mean_diff,wilcoxon_p,perm_p,holm_p\n");
    for (int i = 0; i < res->n_pairs; i++) {
        const pair_result *q = &res->pairs[i];
        fprintf(o.fp, "%s,%s,%d,%.6f,%.6g,%.6g,%.6g\n", res->configs[q->a].config, res->configs[q->b].config, q->n,
                pn(q->mean_diff), pn(q->wilcoxon_p), pn(q->perm_p), pn(q->holm_p));
    }
    return hy_out_commit(&o);
}

// A number for the Markdown table ("-" for NaN).
static const char *md(char *buf, size_t len, const char *fmt, double v) {
    if (isnan(v)) snprintf(buf, len, "-");
    else snprintf(buf, len, fmt, v);
    return buf;
}

static void md_table(FILE *f, const study_results *res, int with_mtcnn) {
    fprintf(f, "| rank | configuration | seeds | mean distance | s.e. seeds | s.e. items | baseline | baseline p | null p "
               "| latent cosine | latent ident. | ident. p | spread ratio | eff. rank pred/true | face ident. "
               "| pixel r |%s flags |\n",
            with_mtcnn ? " MTCNN p >= 0.9 | MTCNN mean p |" : "");
    fprintf(f, "|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|%s---|\n",
            with_mtcnn ? "---:|---:|" : "");
    for (int i = 0; i < res->n_configs; i++) {
        const config_summary *c = &res->configs[i];
        char b[16][32], rank[16] = "-", flags[64] = "";
        if (c->rank) snprintf(rank, sizeof rank, "%d", c->rank);
        if (c->collapsed) snprintf(flags, sizeof flags, "collapsed");
        if (!c->beats_baseline)
            snprintf(flags + strlen(flags), sizeof flags - strlen(flags), "%snot better than baseline",
                     c->collapsed ? "; " : "");
        fprintf(f, "| %s | %s | %d | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s | %s / %s | %s | %s |", rank,
                c->config, c->n_seeds, md(b[0], 32, "%.4f", c->dist_mean), md(b[1], 32, "%.4f", c->dist_se_seeds),
                md(b[2], 32, "%.4f", c->dist_se_items), md(b[3], 32, "%.4f", c->baseline),
                md(b[4], 32, "%.3g", c->baseline_p), md(b[5], 32, "%.3g", c->null_p), md(b[6], 32, "%.4f", c->cosine),
                md(b[7], 32, "%.3f", c->ident_latent), md(b[8], 32, "%.3g", c->ident_p),
                md(b[9], 32, "%.3f", c->spread), md(b[10], 32, "%.1f", c->erank), md(b[11], 32, "%.1f", c->erank_true),
                md(b[12], 32, "%.3f", c->facenet_ident), md(b[13], 32, "%.3f", c->pixel_r));
        if (with_mtcnn)
            fprintf(f, " %s | %s |", md(b[14], 32, "%.3f", c->mtcnn_share), md(b[15], 32, "%.3f", c->mtcnn_prob));
        fprintf(f, " %s |\n", flags);
    }
}

// Every identity model's mean distance and same-person rates, and the attribute agreement, per
// configuration (means over its seeds); only when there is more than the ranking model's distance.
static void md_models(FILE *f, const study_results *res) {
    const char *names[2 * REPORT_MAX_MODELS];
    int nm = model_names(res, names, 2 * REPORT_MAX_MODELS), attr = any_attributes(res), thr = 0;
    for (int i = 0; i < res->n_configs; i++)
        for (int m = 0; m < res->configs[i].n_models; m++) thr |= isfinite(res->configs[i].models[m].threshold);
    if (nm < 2 && !thr && !attr) return;
    fprintf(f, "\n## Identity models%s\n\n", attr ? " and attributes" : "");
    fprintf(f, "Each identity model in its own space (distance: mean over the items, then over seeds; same: share of\n"
               "items whose distance is below the model's same-person threshold; shuffled: that share for non-matching\n"
               "pairs, the false-accept level).%s\n\n| rank | configuration |",
            attr ? " Gender match: share of items whose truth and reconstruction face-api puts on the same\n"
                   "side of p(male) = 0.5; age r: Pearson r of their estimated ages across items." : "");
    for (int m = 0; m < nm; m++) fprintf(f, " %s distance | %s same (thr) | %s shuffled |", names[m], names[m], names[m]);
    fprintf(f, "%s\n|---:|---|", attr ? " gender match | age r |" : "");
    for (int m = 0; m < nm; m++) fprintf(f, "---:|---:|---:|");
    fprintf(f, "%s\n", attr ? "---:|---:|" : "");
    for (int i = 0; i < res->n_configs; i++) {
        const config_summary *c = &res->configs[i];
        char b[6][32], rank[16] = "-";
        if (c->rank) snprintf(rank, sizeof rank, "%d", c->rank);
        fprintf(f, "| %s | %s |", rank, c->config);
        for (int m = 0; m < nm; m++) {
            const model_summary *x = config_model(c, names[m]);
            if (!x) fprintf(f, " - | - | - |");
            else if (!isfinite(x->threshold)) fprintf(f, " %s | - | - |", md(b[0], 32, "%.4f", x->dist_mean));
            else
                fprintf(f, " %s | %s (%s) | %s |", md(b[0], 32, "%.4f", x->dist_mean), md(b[1], 32, "%.3f", x->same_rate),
                        md(b[2], 32, "%.3g", x->threshold), md(b[3], 32, "%.3f", x->shuffled_same));
        }
        if (attr) fprintf(f, " %s | %s |", md(b[4], 32, "%.3f", c->gender_match), md(b[5], 32, "%.3f", c->age_r));
        fprintf(f, "\n");
    }
}

static void md_pairs(FILE *f, const study_results *res) {
    int sig = 0, exact = 0, n_items = res->n_configs ? res->configs[0].n_items : 0;
    for (int i = 0; i < res->n_pairs; i++) sig += res->pairs[i].holm_p < HY_RESULTS_ALPHA, exact += res->pairs[i].exact;
    fprintf(f, "\n## Paired comparisons\n\n");
    fprintf(f, "For every two configurations a (higher in the table) and b: the per-item %s distances of a minus b\n"
               "on the same test items (%d; means over seeds where there are several; items without a face in either\n"
               "are left out, n says how many remain). Wilcoxon: two-sided signed-rank p, exact for n <= %d without\n"
               "ties or zeros (%d of %d pairs), else the normal approximation with tie correction (scipy.stats.wilcoxon's\n"
               "default). Permutation: two-sided paired sign-flip p of the mean difference over all 2^n sign vectors\n"
               "for n <= %d, else %d random ones (mt19937 seed %d; p = (1 + count) / (1 + draws) per tail, doubled).\n"
               "Holm: the Wilcoxon p adjusted over all %d pairs. **%d of %d pairs differ at Holm p < %.2g.**\n\n",
            hy_report_rank_model(res), n_items, HY_STAT_WILCOXON_EXACT_MAX, exact, res->n_pairs, HY_STAT_EXACT_FLIPS_MAX, HY_STAT_DEFAULT_FLIPS,
            HY_RESULTS_FLIP_SEED, res->n_pairs, sig, res->n_pairs, HY_RESULTS_ALPHA);
    if (!res->n_pairs) return;
    fprintf(f, "| a | b | n | mean diff (a - b) | Wilcoxon p | permutation p | Holm p |\n");
    fprintf(f, "|---|---|---:|---:|---:|---:|---:|\n");
    for (int i = 0; i < res->n_pairs; i++) {
        const pair_result *q = &res->pairs[i];
        char b[4][32];
        fprintf(f, "| %s | %s | %d | %s | %s | %s | %s%s |\n", res->configs[q->a].config, res->configs[q->b].config,
                q->n, md(b[0], 32, "%+.4f", q->mean_diff), md(b[1], 32, "%.3g", q->wilcoxon_p),
                md(b[2], 32, "%.3g", q->perm_p), md(b[3], 32, "%.3g", q->holm_p),
                q->holm_p < HY_RESULTS_ALPHA ? " *" : "");
    }
}

static int write_md(const char *path, const study_results *res, const char *title, int n_curves) {
    hy_outfile o;
    int r = hy_out_open(&o, path);
    if (r) return r;
    FILE *f = o.fp;
    int with_mtcnn = 0, ranked = 0, seeds = 0;
    for (int i = 0; i < res->n_configs; i++) {
        with_mtcnn |= !isnan(res->configs[i].mtcnn_share);
        ranked += res->configs[i].rank > 0;
        seeds |= res->configs[i].n_seeds > 1;
    }
    fprintf(f, "# %s\n\n", title);
    fprintf(f, "%d runs in %d configurations (a configuration: one decoder setting; its runs differ only by seed).\n"
               "Ranked by mean %s distance between the ground-truth face and its reconstruction (lower is better).\n"
               "%d of them are ranked; those listed below the ranked ones are flagged instead: **collapsed** (spread ratio < 0.5,\n"
               "i.e. the predicted latents are less than half as varied as the true ones, or latent 2-way identification\n"
               "not above 0.5 at p < %.2g) or **not better than baseline** (the distance is not below the shuffled-pair\n"
               "baseline at p < %.2g). Both p are one-sided paired sign-flip tests over the test items.\n\n",
            res->n_runs, res->n_configs, hy_report_rank_model(res), ranked, HY_RESULTS_ALPHA, HY_RESULTS_ALPHA);
    md_table(f, res, with_mtcnn);
    md_models(f, res);
    fprintf(f, "\nColumns: mean distance: %s;\n"
               "s.e. items: standard error over test items of the per-item distance%s;\n"
               "baseline: mean distance of non-matching (shuffled) pairs; null p: random-latent null (largest over seeds);\n"
               "latent cosine, latent ident. (2-way identification by Pearson r, chance 0.5) and ident. p: latent-level;\n"
               "spread ratio: mean pairwise cosine distance of the predicted latents over that of the true ones (1 = as\n"
               "varied as the truth, near 0 = every prediction is the same face); eff. rank: effective rank of the\n"
               "predicted and of the true latents; face ident.: identification among the test faces in the\n"
               "ranking model's space.\n",
            seeds ? "mean over seeds of the runs' means; s.e. seeds: standard error of those means" : "over test items",
            seeds ? " averaged over seeds" : "");
    if (with_mtcnn)
        fprintf(f, "MTCNN p >= 0.9: share of reconstructions in which MTCNN finds a face with probability >= 0.9; MTCNN\n"
                   "mean p: the mean probability of the cropped face (0 where none is found) - low values flag abnormal faces.\n");
    else
        fprintf(f, "No MTCNN weights were used (--crop full or box), so the share of reconstructions with a detected face\n"
                   "was not measured.\n");
    md_pairs(f, res);
    fprintf(f, "\nFiles: `results.csv` (this table), `pairs.csv`, `runs.csv` (every run), `chart.svg` / `chart.png`%s.\n"
               "Per-run details: `runs/<name>/`.\n",
            n_curves ? ", `curves.svg` / `curves.png` (test loss per epoch of every iterative run)" : "");
    return hy_out_commit(&o);
}

// --- chart: mean distance per configuration -----------------------------------------------------

static double mean_baseline(const study_results *res) {
    double s = 0;
    int k = 0;
    for (int i = 0; i < res->n_configs; i++)
        if (isfinite(res->configs[i].baseline)) s += res->configs[i].baseline, k++;
    return k ? s / k : NAN;
}

// chart.svg and chart.png: one marker per configuration (report order) with its s.e. over items,
// ranked ones in blue, flagged ones in grey, and the shuffled-pair baseline as a dashed line.
static int write_chart(const char *outdir, const study_results *res, const char *title) {
    int n = res->n_configs;
    size_t m = (size_t)(n > 0 ? n : 1);
    double *x = hy_calloc(m, sizeof *x), *yr = hy_calloc(m, sizeof *yr), *yf = hy_calloc(m, sizeof *yf);
    double *er = hy_calloc(m, sizeof *er);
    const char **names = hy_calloc(m, sizeof *names);
    int r = x && yr && yf && er && names ? HY_OK : HY_ENOMEM;
    for (int i = 0; !r && i < n; i++) {
        const config_summary *c = &res->configs[i];
        x[i] = i;
        yr[i] = c->rank ? c->dist_mean : NAN;
        yf[i] = c->rank ? NAN : c->dist_mean;
        er[i] = isfinite(c->dist_se_items) ? c->dist_se_items : 0;
        names[i] = c->config;
    }
    if (!r) {
        double b = mean_baseline(res), bx[2] = {-0.5, n - 0.5}, by[2] = {b, b};
        char blab[96];
        snprintf(blab, sizeof blab, "shuffled-pair baseline (%.3f)", b);
        plot_series s[3] = {
            {"ranked: mean +- s.e. over items", x, yr, er, n, FIG_BLUE, PLOT_POINTS},
            {"flagged: collapsed or not below baseline", x, yf, er, n, FIG_GREY, PLOT_POINTS},
            {blab, bx, by, NULL, 2, FIG_VERMILLION, PLOT_DASHED},
        };
        int ns = isfinite(b) ? 3 : 2;
        char ylab[96];
        snprintf(ylab, sizeof ylab, "%s distance to the truth (lower is better)", hy_report_rank_model(res));
        plot_opts o = {.title = title, .xlabel = "decoder configuration (report order)", .ylabel = ylab, .height = 300,
                       .categories = names, .n_categories = n, .y_nonneg = 1};
        char svg[4200], png[4200];
        snprintf(svg, sizeof svg, "%s/chart.svg", outdir);
        snprintf(png, sizeof png, "%s/chart.png", outdir);
        r = hy_plot_write(svg, png, &o, s, ns);
    }
    free(x), free(yr), free(yf), free(er), free(names);
    return r;
}

// --- curves: every iterative run's test loss ------------------------------------------------------

// 1 when run a's curve is the first part of run b's (the same training seen at fewer epochs:
// epoch snapshots of one run), so only b needs drawing.
static int curve_prefix(const run_data *a, const run_data *b) {
    if (a == b || a->n_curve > b->n_curve || (a->n_curve == b->n_curve && a > b)) return 0;
    if (strcmp(a->s.model, b->s.model) || a->s.batch != b->s.batch || a->s.seed != b->s.seed) return 0;
    for (int k = 0; k < a->n_curve; k++)
        if (a->epoch[k] != b->epoch[k] || !(a->test_loss[k] == b->test_loss[k] ||
                                            (isnan(a->test_loss[k]) && isnan(b->test_loss[k]))))
            return 0;
    return 1;
}

// Writes curves.svg/png when any run has a curve; *n_drawn gets the number of curves drawn.
static int write_curves(const char *outdir, const study_results *res, int *n_drawn) {
    *n_drawn = 0;
    plot_series *s = hy_calloc((size_t)(res->n_runs ? res->n_runs : 1), sizeof *s);
    char (*labels)[160] = hy_calloc((size_t)(res->n_runs ? res->n_runs : 1), sizeof *labels);
    int *colour_of = hy_calloc((size_t)(res->n_runs ? res->n_runs : 1), sizeof *colour_of);
    if (!s || !labels || !colour_of) {
        free(s), free(labels), free(colour_of);
        return HY_ENOMEM;
    }
    int n = 0, n_colours = 0, batches = 0, first_batch = -1, pos = 1;
    double lo = INFINITY, hi = -INFINITY;
    for (int i = 0; i < res->n_runs; i++)
        if (res->runs[i].n_curve) {
            if (first_batch < 0) first_batch = res->runs[i].s.batch;
            batches |= res->runs[i].s.batch != first_batch;
        }
    for (int i = 0; i < res->n_runs; i++) {
        const run_data *d = &res->runs[i];
        int hidden = !d->n_curve;
        for (int j = 0; j < res->n_runs && !hidden; j++) hidden = res->runs[j].n_curve && curve_prefix(d, &res->runs[j]);
        if (hidden) continue;
        // the seeds of a model share a colour and a legend entry
        if (batches) snprintf(labels[n], sizeof labels[n], "%s b%d", d->s.model, d->s.batch);
        else snprintf(labels[n], sizeof labels[n], "%s", d->s.model);
        int colour = n_colours;  // the index of the label's first appearance among distinct labels
        for (int j = 0; j < n; j++)
            if (!strcmp(labels[j], labels[n])) colour = colour_of[j];
        if (colour == n_colours) n_colours++;
        colour_of[n] = colour;
        s[n] = (plot_series){labels[n], d->epoch, d->test_loss, NULL, d->n_curve, hy_fig_color(colour), PLOT_LINE};
        for (int k = 0; k < d->n_curve; k++)
            if (isfinite(d->test_loss[k])) {
                lo = fmin(lo, d->test_loss[k]), hi = fmax(hi, d->test_loss[k]);
                pos &= d->test_loss[k] > 0;
            }
        n++;
    }
    int r = HY_OK;
    if (n) {
        plot_opts o = {.title = "Test loss per epoch (every iterative run; the seeds of a model share its colour)",
                       .xlabel = "epoch", .ylabel = "test loss", .log_y = pos && lo > 0 && hi / lo > 10,
                       .y_nonneg = 1};
        char svg[4200], png[4200];
        snprintf(svg, sizeof svg, "%s/curves.svg", outdir);
        snprintf(png, sizeof png, "%s/curves.png", outdir);
        r = hy_plot_write(svg, png, &o, s, n);
    }
    *n_drawn = n;
    free(s), free(labels), free(colour_of);
    return r;
}

int hy_report_write(const char *outdir, const study_results *res, const char *title) {
    char p[4200];
    int r, n_curves = 0;
    if ((r = hy_mkdir_p(outdir))) return r;
    snprintf(p, sizeof p, "%s/results.csv", outdir);
    if ((r = write_results_csv(p, res))) return r;
    snprintf(p, sizeof p, "%s/runs.csv", outdir);
    if ((r = write_runs_csv(p, res))) return r;
    snprintf(p, sizeof p, "%s/pairs.csv", outdir);
    if ((r = write_pairs_csv(p, res))) return r;
    if ((r = write_curves(outdir, res, &n_curves))) return r;
    snprintf(p, sizeof p, "%s/results.md", outdir);
    if ((r = write_md(p, res, title, n_curves))) return r;
    if ((r = write_chart(outdir, res, title))) return r;
    return hy_report_write_html(outdir, res, title);
}
