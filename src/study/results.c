// results.c - finished runs -> configurations, flags, order and pairs (definitions in
// include/study/results.h). Reads files; writes nothing (src/study/report.c writes).
#include "study/results.h"

#include <dirent.h>
#include <math.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/csv.h"
#include "study/metrics.h"  // hy_met_mean_se
#include "study/stats.h"

#define MAX_COLS 64

// --- reading one run -------------------------------------------------------------------------

// Reads the numeric columns `names` (k) of the CSV file `path` into cols[j] (n_rows each,
// malloc'd). `optional`: a missing file is not an error (*n_rows = -1, cols NULL).
static int read_columns(const char *path, const char *const *names, int k, double **cols, int *n_rows,
                        int optional) {
    for (int j = 0; j < k; j++) cols[j] = NULL;
    *n_rows = -1;
    FILE *f = hy_fopen_read(path);  // regular files only: a FIFO would block
    if (!f) return optional && !hy_path_exists(path) ? HY_OK : HY_EIO;
    char *line = NULL, *head = NULL, *hf[MAX_COLS], *fl[MAX_COLS];
    size_t cap = 0;
    int r = HY_OK, nh = 0, idx[8], n = 0, cap_rows = 0;
    if (getline(&line, &cap, f) < 0) {
        r = hy_err(HY_EFORMAT, "%s: empty (no header line)", path);
        goto done;
    }
    head = strdup(line);
    if (!head) {
        r = hy_err(HY_ENOMEM, "out of memory");
        goto done;
    }
    nh = hy_csv_split(head, hf, MAX_COLS);
    if (nh > MAX_COLS) {
        r = hy_err(HY_EFORMAT, "%s: more than %d columns", path, MAX_COLS);
        goto done;
    }
    for (int j = 0; j < k; j++)
        if ((idx[j] = hy_csv_col(hf, nh, names[j])) < 0) {
            r = hy_err(HY_EFORMAT, "%s: no column '%s' in the header", path, names[j]);
            goto done;
        }
    for (int ln = 2; getline(&line, &cap, f) >= 0; ln++) {
        if (line[0] == '\n' || line[0] == 0) continue;
        int nf = hy_csv_split(line, fl, MAX_COLS);
        if (nf != nh) {
            r = hy_err(HY_EFORMAT, "%s: line %d has %d fields, the header %d", path, ln, nf > MAX_COLS ? MAX_COLS : nf, nh);
            goto done;
        }
        if (n == cap_rows) {
            cap_rows = cap_rows ? 2 * cap_rows : 64;
            for (int j = 0; j < k; j++) {
                double *q = realloc(cols[j], sizeof(double) * (size_t)cap_rows);
                if (!q) {
                    r = hy_err(HY_ENOMEM, "out of memory");
                    goto done;
                }
                cols[j] = q;
            }
        }
        for (int j = 0; j < k; j++)
            if (hy_csv_double(fl[idx[j]], &cols[j][n])) {
                r = hy_err(HY_EFORMAT, "%s: line %d: '%.40s' is not a number (column %s)", path, ln, fl[idx[j]],
                           names[j]);
                goto done;
            }
        n++;
    }
    *n_rows = n;
done:
    fclose(f);
    free(line);
    free(head);
    if (r)
        for (int j = 0; j < k; j++) free(cols[j]), cols[j] = NULL;
    return r;
}

// Column `item` must count 0, 1, 2, ...: the per-item values of different runs are paired by it.
static int check_items(const char *path, const double *item, int n) {
    for (int i = 0; i < n; i++)
        if (item[i] != i) return hy_err(HY_EFORMAT, "%s: row %d is item %g, expected %d", path, i + 1, item[i], i);
    return n >= 1 ? HY_OK : hy_err(HY_EFORMAT, "%s: no items", path);
}

static void run_free(run_data *d) {
    free(d->dist), free(d->base), free(d->ident), free(d->epoch), free(d->test_loss);
    memset(d, 0, sizeof *d);
}

// A run.csv without a config (written before seeds existed, or by a sweep that does not fill the
// column): the name without a trailing _s<digits> (the seed suffix of <model>_<epochs>_<batch>_s<seed>),
// whose digits give the seed when none is recorded.
static void config_from_name(run_summary *s) {
    snprintf(s->config, sizeof s->config, "%s", s->name);
    char *u = strrchr(s->config, '_');
    if (!u || u[1] != 's' || !u[2] || strspn(u + 2, "0123456789") != strlen(u + 2) || u == s->config) return;
    long long seed;
    if (!s->seed && !hy_csv_ll(u + 2, &seed)) s->seed = seed;  // checked: no overflow
    *u = 0;
}

static int read_run(run_data *d, const char *dir) {
    memset(d, 0, sizeof *d);
    char p[4400];  // dir is under 4200
    // run.csv: header and one row
    snprintf(p, sizeof p, "%s/run.csv", dir);
    FILE *f = hy_fopen_read(p);
    if (!f) return HY_EIO;
    char *head = NULL, *row = NULL;
    size_t c1 = 0, c2 = 0;
    int r = getline(&head, &c1, f) < 0 || getline(&row, &c2, f) < 0
                ? hy_err(HY_EFORMAT, "%s: damaged run summary (expected a header and one row)", p)
                : hy_report_parse_csv(p, head, row, &d->s);
    fclose(f);
    free(head);
    free(row);
    if (r) return r;
    if (!d->s.config[0]) config_from_name(&d->s);
    // metrics.csv: per-item FaceNet distance and baseline
    double *c[3];
    int n, m;
    snprintf(p, sizeof p, "%s/metrics.csv", dir);
    char dcol[64] = "facenet_distance", bcol[64] = "baseline";  // runs scored before models were named
    if (d->s.n_models > 0) {
        snprintf(dcol, sizeof dcol, "%s_distance", d->s.models[0].name);
        snprintf(bcol, sizeof bcol, "%s_baseline", d->s.models[0].name);
    }
    const char *mnames[3] = {"item", dcol, bcol};
    if ((r = read_columns(p, mnames, 3, c, &n, 0))) return r;
    r = check_items(p, c[0], n);
    free(c[0]);
    d->dist = c[1], d->base = c[2], d->n_items = n;
    if (r) goto fail;
    // latent_items.csv: per-item latent 2-way identification
    snprintf(p, sizeof p, "%s/latent_items.csv", dir);
    const char *lnames[2] = {"item", "ident2"};
    if ((r = read_columns(p, lnames, 2, c, &m, 0))) goto fail;
    r = check_items(p, c[0], m);
    free(c[0]);
    d->ident = c[1];
    if (!r && m != n) r = hy_err(HY_EFORMAT, "%s: %d items, metrics.csv has %d", p, m, n);
    if (r) goto fail;
    // curve.csv (iterative runs): epoch and test loss
    snprintf(p, sizeof p, "%s/curve.csv", dir);
    const char *cnames[2] = {"epoch", "test_loss"};
    if ((r = read_columns(p, cnames, 2, c, &m, 1))) goto fail;
    d->epoch = c[0], d->test_loss = c[1], d->n_curve = m > 0 ? m : 0;
    return HY_OK;
fail:
    run_free(d);
    return r;
}

static int cmp_str(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

int hy_results_load(study_results *res, const char *out_dir) {
    memset(res, 0, sizeof *res);
    char p[4200];
    snprintf(p, sizeof p, "%s/runs", out_dir);
    DIR *dir = opendir(p);
    if (!dir) return hy_err(HY_EIO, "%s: no runs directory (is this a sweep's output?)", out_dir);
    char **names = NULL;
    int n = 0, cap = 0, r = HY_OK;
    struct dirent *e;
    while ((e = readdir(dir))) {
        size_t len = strlen(e->d_name);
        if (e->d_name[0] == '.' || (len > 4 && !strcmp(e->d_name + len - 4, ".tmp"))) continue;
        snprintf(p, sizeof p, "%s/runs/%s/run.csv", out_dir, e->d_name);
        if (!hy_path_exists(p)) continue;  // unfinished
        if (n == cap) {
            cap = cap ? 2 * cap : 64;
            char **q = realloc(names, sizeof *names * (size_t)cap);
            if (!q) {
                r = hy_err(HY_ENOMEM, "out of memory");
                break;
            }
            names = q;
        }
        if (!(names[n] = strdup(e->d_name))) {
            r = hy_err(HY_ENOMEM, "out of memory");
            break;
        }
        n++;
    }
    closedir(dir);
    run_data *runs = r ? NULL : hy_calloc((size_t)(n ? n : 1), sizeof *runs);
    if (!r && !runs) r = HY_ENOMEM;
    if (!r && n == 0) r = hy_err(HY_EFORMAT, "%s/runs: no finished runs", out_dir);
    if (!r) qsort(names, (size_t)n, sizeof *names, cmp_str);
    int got = 0;
    for (; !r && got < n; got++) {
        snprintf(p, sizeof p, "%s/runs/%s", out_dir, names[got]);
        r = read_run(&runs[got], p);
    }
    for (int i = 0; i < n; i++) free(names[i]);
    free(names);
    if (r) {
        for (int i = 0; i < got; i++) run_free(&runs[i]);
        free(runs);
        return r;
    }
    return hy_results_compute(res, runs, n);
}

void hy_results_free(study_results *res) {
    for (int i = 0; i < res->n_runs; i++) run_free(&res->runs[i]);
    for (int i = 0; i < res->n_configs; i++) {
        config_summary *c = &res->configs[i];
        free(c->runs), free(c->dist), free(c->base), free(c->ident);
    }
    free(res->runs), free(res->configs), free(res->pairs);
    memset(res, 0, sizeof *res);
}

// --- configurations ----------------------------------------------------------------------------

// Mean of the finite values among x[0..n) (NaN when none).
static double finite_mean(const double *x, int n) {
    double s = 0;
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(x[i])) s += x[i], k++;
    return k ? s / k : NAN;
}

// One-sided sign-flip p that mean(a_i - b_i - shift) > 0 over the items where both are finite.
static int one_sided_p(double *p, const double *a, const double *b, double shift, int n, double *tmp) {
    int k = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(a[i]) && (!b || isfinite(b[i]))) tmp[k++] = a[i] - (b ? b[i] : 0) - shift;
    *p = NAN;
    return k ? hy_stat_signflip(p, tmp, k, HY_ALT_GREATER, HY_STAT_DEFAULT_FLIPS, HY_RESULTS_FLIP_SEED) : HY_OK;
}

// The identity model called `name` among a run's, or NULL.
static const model_summary *find_model(const run_summary *r, const char *name) {
    for (int j = 0; j < r->n_models; j++)
        if (!strcmp(r->models[j].name, name)) return &r->models[j];
    return NULL;
}

// Mean over c's seeds of the double at byte offset `off` in model `name`'s summary (seeds
// without that model and NaN values left out; NaN when none).
static double model_seed_mean(const config_summary *c, const run_data *runs, const char *name, size_t off,
                              double *tmp) {
    int q = 0;
    for (int s = 0; s < c->n_seeds; s++) {
        const model_summary *y = find_model(&runs[c->runs[s]].s, name);
        if (y) memcpy(&tmp[q++], (const char *)y + off, sizeof(double));
    }
    return finite_mean(tmp, q);
}

// Aggregates the seeds of configuration c (its runs and n_items already set) and sets its flags.
static int summarise(config_summary *c, const run_data *runs, double *tmp) {
    int k = c->n_seeds, n = c->n_items;
    c->dist = hy_malloc(sizeof(double) * (size_t)n);
    c->base = hy_malloc(sizeof(double) * (size_t)n);
    c->ident = hy_malloc(sizeof(double) * (size_t)n);
    if (!c->dist || !c->base || !c->ident) return HY_ENOMEM;
    // per item: means over the seeds
    for (int i = 0; i < n; i++) {
        for (int s = 0; s < k; s++) tmp[s] = runs[c->runs[s]].dist[i];
        c->dist[i] = finite_mean(tmp, k);
        for (int s = 0; s < k; s++) tmp[s] = runs[c->runs[s]].base[i];
        c->base[i] = finite_mean(tmp, k);
        for (int s = 0; s < k; s++) tmp[s] = runs[c->runs[s]].ident[i];
        c->ident[i] = finite_mean(tmp, k);
    }
    // per run values: mean (and s.e.) over the seeds
#define SEED_MEAN(field, dst)                                          \
    do {                                                               \
        for (int s = 0; s < k; s++) tmp[s] = runs[c->runs[s]].s.field; \
        c->dst = finite_mean(tmp, k);                                  \
    } while (0)
    SEED_MEAN(dist_mean, dist_mean);
    SEED_MEAN(baseline, baseline);
    SEED_MEAN(cosine, cosine);
    SEED_MEAN(collapse, spread);
    SEED_MEAN(erank, erank);
    SEED_MEAN(erank_true, erank_true);
    SEED_MEAN(ident_acc, facenet_ident);
    SEED_MEAN(pixel_r, pixel_r);
    SEED_MEAN(mtcnn_share, mtcnn_share);
    SEED_MEAN(mtcnn_prob, mtcnn_prob);
    SEED_MEAN(gender_match, gender_match);
    SEED_MEAN(age_r, age_r);
#undef SEED_MEAN
    // identity models, by name, as the first seed lists them
    const run_summary *first = &runs[c->runs[0]].s;
    c->n_models = first->n_models;
    for (int m = 0; m < c->n_models; m++) {
        model_summary *x = &c->models[m];
        *x = first->models[m];
        x->dist_mean = model_seed_mean(c, runs, x->name, offsetof(model_summary, dist_mean), tmp);
        x->dist_se = model_seed_mean(c, runs, x->name, offsetof(model_summary, dist_se), tmp);
        x->threshold = model_seed_mean(c, runs, x->name, offsetof(model_summary, threshold), tmp);
        x->same_rate = model_seed_mean(c, runs, x->name, offsetof(model_summary, same_rate), tmp);
        x->shuffled_same = model_seed_mean(c, runs, x->name, offsetof(model_summary, shuffled_same), tmp);
        x->null_p = NAN;  // the largest over seeds, as for the ranking model
        for (int s = 0; s < k; s++) {
            const model_summary *y = find_model(&runs[c->runs[s]].s, x->name);
            if (y && isfinite(y->null_p) && !(x->null_p >= y->null_p)) x->null_p = y->null_p;
        }
    }
    c->ident_latent = finite_mean(c->ident, n);  // per item, so older run.csv files (no column) have it too
    c->dist_se_seeds = NAN;
    if (k > 1) {
        double m, se;
        for (int s = 0; s < k; s++) tmp[s] = runs[c->runs[s]].s.dist_mean;
        hy_met_mean_se(tmp, k, &m, &se);
        c->dist_se_seeds = se;
    }
    c->null_p = NAN;
    for (int s = 0; s < k; s++) {
        double v = runs[c->runs[s]].s.null_p;
        if (isfinite(v) && !(c->null_p >= v)) c->null_p = v;
    }
    int m = 0;
    for (int i = 0; i < n; i++)
        if (isfinite(c->dist[i])) tmp[m++] = c->dist[i];
    double mm;
    c->dist_se_items = NAN;
    if (m) hy_met_mean_se(tmp, m, &mm, &c->dist_se_items);
    // flags
    int r = one_sided_p(&c->baseline_p, c->base, c->dist, 0.0, n, tmp);
    if (!r) r = one_sided_p(&c->ident_p, c->ident, NULL, 0.5, n, tmp);
    if (r) return r;
    c->beats_baseline = c->baseline_p < HY_RESULTS_ALPHA;
    c->collapsed = !(c->spread >= 0.5) || !(c->ident_p < HY_RESULTS_ALPHA);
    return HY_OK;
}

// Report order: unflagged first, then by mean distance (NaN last), then by name.
static int cmp_config(const void *x, const void *y) {
    const config_summary *a = x, *b = y;
    int fa = a->collapsed || !a->beats_baseline, fb = b->collapsed || !b->beats_baseline;
    if (fa != fb) return fa - fb;
    int na = isnan(a->dist_mean), nb = isnan(b->dist_mean);
    if (na != nb) return na - nb;
    if (a->dist_mean < b->dist_mean) return -1;
    if (a->dist_mean > b->dist_mean) return 1;
    return strcmp(a->config, b->config);
}

// Groups the runs by config (in name order) and checks that a configuration's seeds agree on
// the model, epochs and batch, and that every run was evaluated on the same number of items.
static int group_runs(study_results *res) {
    run_data *runs = res->runs;
    int n = res->n_runs;
    res->configs = hy_calloc((size_t)n, sizeof *res->configs);
    if (!res->configs) return HY_ENOMEM;
    for (int i = 0; i < n; i++) {
        const run_summary *s = &runs[i].s;
        if (runs[i].n_items != runs[0].n_items)
            return hy_err(HY_ESHAPE, "runs %s and %s were evaluated on different test sets (%d and %d items)",
                          runs[0].s.name, s->name, runs[0].n_items, runs[i].n_items);
        config_summary *c = NULL;
        for (int j = 0; j < res->n_configs && !c; j++)
            if (!strcmp(res->configs[j].config, s->config)) c = &res->configs[j];
        if (!c) {
            c = &res->configs[res->n_configs++];
            snprintf(c->config, sizeof c->config, "%s", s->config);
            snprintf(c->model, sizeof c->model, "%s", s->model);
            c->epochs = s->epochs, c->batch = s->batch, c->n_items = runs[i].n_items;
            if (!(c->runs = hy_malloc(sizeof(int) * (size_t)n))) return HY_ENOMEM;
        } else {
            const run_summary *f = &runs[c->runs[0]].s;
            if (strcmp(f->model, s->model) || f->epochs != s->epochs || f->batch != s->batch)
                return hy_err(HY_EFORMAT, "runs %s and %s share the configuration %s but differ in model, epochs or "
                              "batch", f->name, s->name, c->config);
        }
        c->runs[c->n_seeds++] = i;
    }
    return HY_OK;
}

static int compute_pairs(study_results *res, double *tmp) {
    int k = res->n_configs, np = k * (k - 1) / 2, r = HY_OK;
    res->pairs = hy_calloc((size_t)(np ? np : 1), sizeof *res->pairs);
    double *wp = hy_malloc(sizeof(double) * (size_t)(np ? np : 1));
    if (!res->pairs || !wp) {
        free(wp);
        return HY_ENOMEM;
    }
    double t0 = hy_now();
    int q = 0;
    for (int a = 0; a < k && !r; a++)
        for (int b = a + 1; b < k && !r; b++, q++) {
            const config_summary *A = &res->configs[a], *B = &res->configs[b];
            pair_result *pr = &res->pairs[q];
            pr->a = a, pr->b = b, pr->n = 0;
            for (int i = 0; i < A->n_items; i++)
                if (isfinite(A->dist[i]) && isfinite(B->dist[i])) tmp[pr->n++] = A->dist[i] - B->dist[i];
            double s = 0;
            for (int i = 0; i < pr->n; i++) s += tmp[i];
            pr->mean_diff = pr->n ? s / pr->n : NAN;
            if (!(r = hy_stat_wilcoxon(&pr->wilcoxon_p, &pr->exact, tmp, pr->n)))
                r = hy_stat_signflip(&pr->perm_p, tmp, pr->n, HY_ALT_TWO_SIDED, HY_STAT_DEFAULT_FLIPS,
                                     HY_RESULTS_FLIP_SEED);
            wp[q] = pr->wilcoxon_p;
            hy_progress("paired tests", q + 1, np, t0);
        }
    res->n_pairs = np;
    if (!r) r = hy_stat_holm(wp, wp, np);
    for (int i = 0; i < np && !r; i++) res->pairs[i].holm_p = wp[i];
    free(wp);
    return r;
}

int hy_results_compute(study_results *res, run_data *runs, int n_runs) {
    memset(res, 0, sizeof *res);
    res->runs = runs;
    res->n_runs = n_runs;
    if (n_runs < 1) {
        hy_results_free(res);
        return hy_err(HY_EARG, "no finished runs");
    }
    int r = group_runs(res);
    int n_items = runs[0].n_items, big = n_items > n_runs ? n_items : n_runs;
    double *tmp = r ? NULL : hy_malloc(sizeof(double) * (size_t)big);
    if (!r && !tmp) r = HY_ENOMEM;
    for (int i = 0; i < res->n_configs && !r; i++) r = summarise(&res->configs[i], runs, tmp);
    if (!r) {
        qsort(res->configs, (size_t)res->n_configs, sizeof *res->configs, cmp_config);
        int rank = 0;
        for (int i = 0; i < res->n_configs; i++) {
            config_summary *c = &res->configs[i];
            c->rank = c->collapsed || !c->beats_baseline ? 0 : ++rank;
        }
        r = compute_pairs(res, tmp);
    }
    free(tmp);
    if (r) hy_results_free(res);
    return r;
}
