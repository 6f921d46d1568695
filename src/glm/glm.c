// glm.c - the first-level GLM driver: inputs checked, runs fitted, maps written
// (see include/glm/glm.h).
#include "glm/glm.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/nifti.h"
#include "glm/hrf.h"
#include "glm/stats.h"
#include "glm_data.h"

void hy_glm_defaults(hy_glm_opts *o) {
    memset(o, 0, sizeof *o);
    hy_design_defaults(&o->design);
    o->noise = HY_NOISE_AR1;
    o->bins = 100;
    o->estimator = HY_EST_LSA;
    o->scaling = HY_SCALE_PSC;
    o->type_column = "trial_type";
    o->gz_level = 1;
}

// Everything known about the study before the data are read.
typedef struct {
    glm_runs *r;
    hy_events ev[HY_GLM_MAX_RUNS];
    hy_confounds conf[HY_GLM_MAX_RUNS];
    hy_design des[HY_GLM_MAX_RUNS];
    int *gidx[HY_GLM_MAX_RUNS];      // (ev[k].n_types) global condition of each run condition
    int n_cond;
    char **cond;                     // (n_cond) global condition names, nilearn's order
    int *cond_runs, *cond_events;    // (n_cond)
    hy_fit_info info[HY_GLM_MAX_RUNS];
} study;

static void study_free(study *s, int n_runs) {
    for (int k = 0; k < n_runs; k++) {
        hy_events_free(&s->ev[k]);
        hy_confounds_free(&s->conf[k]);
        hy_design_free(&s->des[k]);
        free(s->gidx[k]);
    }
    free(s->cond);  // names point into the runs' events
    free(s->cond_runs);
    free(s->cond_events);
    if (s->r) glm_runs_free(s->r);
    free(s->r);
}

// --- conditions over all runs ------------------------------------------------------------

typedef struct {
    const char *name;
    double v;
} cname;

static _Thread_local int numeric_;  // qsort has no context argument

static int cmp_cname(const void *a, const void *b) {
    const cname *x = a, *y = b;
    if (numeric_) return x->v < y->v ? -1 : x->v > y->v;
    return strcmp(x->name, y->name);
}

static int same_cname(const cname *a, const cname *b) { return numeric_ ? a->v == b->v : !strcmp(a->name, b->name); }

// The union of the runs' conditions in np.unique's order (numeric when every name is a number,
// as in each run), with each run's conditions mapped to it.
static int global_conditions(study *s, int n_runs) {
    int total = 0, all_num = 1;
    for (int k = 0; k < n_runs; k++) total += s->ev[k].n_types;
    cname *c = hy_malloc(sizeof(cname) * (size_t)total);
    if (!c) return HY_ENOMEM;
    int m = 0;
    for (int k = 0; k < n_runs; k++)
        for (int i = 0; i < s->ev[k].n_types; i++) {
            c[m].name = s->ev[k].names[i];
            if (!hy_tsv_number(c[m].name, &c[m].v)) all_num = 0;
            m++;
        }
    numeric_ = all_num;
    qsort(c, (size_t)m, sizeof *c, cmp_cname);
    int nc = 0;
    for (int i = 0; i < m; i++)
        if (i == 0 || !same_cname(&c[i], &c[i - 1])) c[nc++] = c[i];
    s->n_cond = nc;
    s->cond = hy_malloc(sizeof(char *) * (size_t)nc);
    s->cond_runs = hy_calloc((size_t)nc, sizeof(int));
    s->cond_events = hy_calloc((size_t)nc, sizeof(int));
    int rc = s->cond && s->cond_runs && s->cond_events ? HY_OK : HY_ENOMEM;
    for (int i = 0; !rc && i < nc; i++) s->cond[i] = (char *)c[i].name;
    for (int k = 0; !rc && k < n_runs; k++) {
        hy_events *ev = &s->ev[k];
        if (!(s->gidx[k] = hy_malloc(sizeof(int) * (size_t)ev->n_types))) {
            rc = HY_ENOMEM;
            break;
        }
        for (int i = 0; i < ev->n_types; i++) {
            cname key = {ev->names[i], 0};
            hy_tsv_number(key.name, &key.v);
            cname *hit = bsearch(&key, c, (size_t)nc, sizeof *c, cmp_cname);
            s->gidx[k][i] = (int)(hit - c);
            s->cond_runs[hit - c]++;
        }
        for (int e = 0; e < ev->n; e++) s->cond_events[s->gidx[k][ev->type[e]]]++;
    }
    free(c);
    return rc;
}

// --- reading and checking everything before the data ----------------------------------------

static int prepare(const hy_glm_opts *o, study *s) {
    if (o->n_runs < 1 || o->n_runs > HY_GLM_MAX_RUNS)
        return hy_err(HY_EARG, "need 1..%d runs (got %d)", HY_GLM_MAX_RUNS, o->n_runs);
    if (!(s->r = hy_calloc(1, sizeof(glm_runs)))) return HY_ENOMEM;
    int rc;
    for (int k = 0; k < o->n_runs; k++) {
        if ((rc = hy_events_read(o->events[k], o->type_column, &s->ev[k]))) return rc;
        if (o->confounds[k] && (rc = hy_confounds_read(o->confounds[k], o->confound_columns, o->fill_mean, &s->conf[k])))
            return rc;
    }
    if ((rc = glm_read_headers(o, s->r))) return rc;
    hy_design_opts d = o->design;
    d.tr = s->r->tr;
    for (int k = 0; k < o->n_runs; k++) {
        char what[600];
        snprintf(what, sizeof what, "run %d (%s)", k + 1, o->bold[k]);
        if ((rc = hy_design_build(&s->des[k], &d, s->r->n[k], &s->ev[k], o->confounds[k] ? &s->conf[k] : NULL, what)))
            return rc;
    }
    return global_conditions(s, o->n_runs);
}

// --- fitting ---------------------------------------------------------------------------------

// LSA: the run's design, every condition's main column wanted.
static int fit_lsa(const hy_glm_opts *o, study *s, int k, const double *Y, hy_ffx *acc) {
    const hy_design *d = &s->des[k];
    int *dest = hy_malloc(sizeof(int) * (size_t)d->n_cols);
    if (!dest) return HY_ENOMEM;
    for (int j = 0; j < d->n_cols; j++) dest[j] = d->col_type[j] >= 0 ? s->gidx[k][d->col_type[j]] : -1;
    hy_fit_opts fo = {o->noise, o->bins, 0, 0};
    int rc = hy_fit_run(acc, Y, s->r->n[k], s->r->n_vox, d->x, d->n_cols, dest, &fo, &s->info[k]);
    free(dest);
    return rc;
}

// LSS (Mumford 2012): per event a design with the event as "trial" and every other event of the
// run as "other", fitted like a run; the trial's estimate goes to the event's condition.
static int fit_lss(const hy_glm_opts *o, study *s, int k, const double *Y, hy_ffx *acc) {
    const hy_events *ev = &s->ev[k];
    static char other[] = "other", trial[] = "trial";
    char *names2[2] = {other, trial}, *names1[1] = {trial};
    int *type = hy_malloc(sizeof(int) * (size_t)ev->n);
    if (!type) return HY_ENOMEM;
    hy_design_opts dopt = o->design;
    dopt.tr = s->r->tr;
    hy_fit_opts fo = {o->noise, o->bins, 0, 0};
    int rc = HY_OK;
    for (int i = 0; i < ev->n && !rc; i++) {
        for (int e = 0; e < ev->n; e++) type[e] = ev->n == 1 ? 0 : e == i ? 1 : 0;
        hy_events e2 = {.n = ev->n, .n_rows = ev->n, .onset = ev->onset, .duration = ev->duration,
                        .modulation = ev->modulation, .type = type, .n_types = ev->n == 1 ? 1 : 2,
                        .names = ev->n == 1 ? names1 : names2, .has_modulation = ev->has_modulation};
        char what[700];
        snprintf(what, sizeof what, "run %d (%s), trial %d ('%s' at %g s)", k + 1, o->bold[k], i + 1,
                 ev->names[ev->type[i]], ev->onset[i]);
        hy_design d;
        if ((rc = hy_design_build(&d, &dopt, s->r->n[k], &e2, o->confounds[k] ? &s->conf[k] : NULL, what))) break;
        int *dest = hy_malloc(sizeof(int) * (size_t)d.n_cols);
        if (!dest) {
            hy_design_free(&d);
            rc = HY_ENOMEM;
            break;
        }
        for (int j = 0; j < d.n_cols; j++) dest[j] = d.col_type[j] == e2.n_types - 1 ? s->gidx[k][ev->type[i]] : -1;
        hy_fit_info info;
        rc = hy_fit_run(acc, Y, s->r->n[k], s->r->n_vox, d.x, d.n_cols, dest, &fo, &info);
        if (!rc && i == 0) s->info[k] = info;
        else if (!rc)
            for (int h = 0; h < 2 * HY_AR_HALF + 1; h++) s->info[k].ar_count[h] += info.ar_count[h];
        free(dest);
        hy_design_free(&d);
    }
    free(type);
    return rc;
}

// --- outputs ---------------------------------------------------------------------------------

// Paths written so far, removed again if a later output fails.
typedef struct {
    int n;
    char path[64 + 4 * HY_GLM_MAX_RUNS][1200];
} written;

static int out_path(char *buf, size_t cap, const char *dir, const char *name) {
    if ((size_t)snprintf(buf, cap, "%s/%s", dir, name) >= cap) return hy_err(HY_EARG, "%s: output path too long", dir);
    return HY_OK;
}

static int write_conditions(const study *s, const char *path) {
    hy_outfile f;
    int rc = hy_out_open(&f, path);
    if (rc) return rc;
    fprintf(f.fp, "index\ttrial_type\tn_runs\tn_events\n");
    for (int c = 0; c < s->n_cond; c++) fprintf(f.fp, "%d\t%s\t%d\t%d\n", c, s->cond[c], s->cond_runs[c], s->cond_events[c]);
    return hy_out_commit(&f);
}

enum { MAP_EFFECT, MAP_VARIANCE, MAP_T, MAP_Z, N_MAPS };
static const char *MAP_NAME[N_MAPS] = {"effect", "variance", "t", "z"};

// One condition's volume of one map (nilearn's fixed effects: effect / k, variance / k^2, t, z
// through the condition's summed dof); voxels outside the mask stay 0.
static void map_volume(const study *s, const hy_ffx *acc, const hy_tz_table *tb, int which, int c, float *vol) {
    const int64_t *idx = s->r->mask_idx;
    // the condition's row of sums: float32 (fitted once) or float64 (summed)
    int row = acc->row[c];
    double k = acc->n_parts[c] > 0 ? acc->n_parts[c] : 1;
    const float *e32 = row >= 0 ? acc->effect32 + (size_t)row * acc->n_vox : NULL;
    const float *v32 = row >= 0 ? acc->variance32 + (size_t)row * acc->n_vox : NULL;
    const double *e64 = row < 0 ? acc->effect64 + (size_t)(-1 - row) * acc->n_vox : NULL;
    const double *v64 = row < 0 ? acc->variance64 + (size_t)(-1 - row) * acc->n_vox : NULL;
    for (int64_t i = 0; i < acc->n_vox; i++) {
        double eff = (e32 ? e32[i] : e64[i]) / k, var = (v32 ? v32[i] : v64[i]) / (k * k), out;
        if (which == MAP_EFFECT) out = eff;
        else if (which == MAP_VARIANCE) out = var;
        else {
            double t = eff / sqrt(fmax(var, 1e-50));
            out = which == MAP_T ? t : hy_tz_table_eval(tb, t);
        }
        vol[idx[i]] = (float)out;
    }
}

// The z tables, one per distinct dof (conditions share a few: per-run dofs and their sums), and
// each condition's table in tbc.
typedef struct {
    int n;
    hy_tz_table *t;
    const hy_tz_table **tbc;
} tz_cache;

static void tz_cache_free(tz_cache *c) {
    for (int i = 0; i < c->n; i++) hy_tz_table_free(&c->t[i]);
    free(c->t);
    free(c->tbc);
}

static int tz_cache_init(tz_cache *c, const hy_ffx *acc, int n_cond) {
    memset(c, 0, sizeof *c);
    if (!(c->t = hy_calloc((size_t)n_cond, sizeof(hy_tz_table))) || !(c->tbc = hy_calloc((size_t)n_cond, sizeof *c->tbc)))
        return HY_ENOMEM;
    double *dof = hy_calloc((size_t)n_cond, sizeof(double));  // the dof each table was made for
    if (!dof) return HY_ENOMEM;
    int rc = HY_OK;
    for (int cond = 0; cond < n_cond && !rc; cond++) {
        int i = 0;
        while (i < c->n && dof[i] != acc->dof[cond]) i++;
        if (i == c->n && !(rc = hy_tz_table_init(&c->t[i], acc->dof[cond]))) dof[c->n++] = acc->dof[cond];
        c->tbc[cond] = &c->t[i];  // t never moves: it has room for a table per condition
    }
    free(dof);
    return rc;
}

// The four 4-D maps, one volume per condition, written MAP_BLOCK conditions at a time: all threads
// compute the block's volumes of the four maps (z costs the most, so a map per thread would leave
// the other threads waiting), then the four writers take them in parallel (gzip dominates the
// writing when it is on). Errors are copied into msgs because the writers run on other threads.
#define MAP_BLOCK 8

static int write_maps(const hy_glm_opts *o, const study *s, const hy_ffx *acc, written *wr) {
    const glm_runs *r = s->r;
    int64_t dim3[3] = {r->hdr[0].dim[0], r->hdr[0].dim[1], r->hdr[0].dim[2]};
    char paths[N_MAPS][1200], msgs[N_MAPS][1024];
    int rcs[N_MAPS] = {0};
    nifti_writer *w[N_MAPS] = {NULL};
    tz_cache tzc;
    int rc = tz_cache_init(&tzc, acc, s->n_cond);
    float *vols = rc ? NULL : hy_calloc((size_t)N_MAPS * MAP_BLOCK * (size_t)r->grid_vox, sizeof(float));
    if (!rc && !vols) rc = HY_ENOMEM;
    for (int m = 0; m < N_MAPS && !rc; m++) {
        char name[64], desc[80];
        snprintf(name, sizeof name, "%s.nii%s", MAP_NAME[m], o->gz_level > 0 ? ".gz" : "");
        snprintf(desc, sizeof desc, "hyper glm %s, one volume per condition", MAP_NAME[m]);
        if (!(rc = out_path(paths[m], sizeof paths[m], o->out_dir, name)))
            rc = hy_nifti_writer_open(&w[m], paths[m], dim3, s->n_cond, &r->hdr[0].geom, 0, desc, o->gz_level);
    }
    for (int c0 = 0; c0 < s->n_cond && !rc; c0 += MAP_BLOCK) {
        int nb = s->n_cond - c0 < MAP_BLOCK ? s->n_cond - c0 : MAP_BLOCK;
#pragma omp parallel for schedule(dynamic, 1)
        for (int j = 0; j < N_MAPS * nb; j++) {  // (map, condition) pairs of the block
            int m = j / nb, c = c0 + j % nb;
            map_volume(s, acc, tzc.tbc[c], m, c, vols + ((size_t)m * MAP_BLOCK + (size_t)(c - c0)) * (size_t)r->grid_vox);
        }
#pragma omp parallel for schedule(dynamic, 1)
        for (int m = 0; m < N_MAPS; m++)
            for (int b = 0; b < nb && !rcs[m]; b++)
                if ((rcs[m] = hy_nifti_writer_put(w[m], vols + ((size_t)m * MAP_BLOCK + (size_t)b) * (size_t)r->grid_vox)))
                    snprintf(msgs[m], sizeof msgs[m], "%s", hy_errmsg());
        for (int m = 0; m < N_MAPS && !rc; m++)
            if (rcs[m]) rc = hy_err(rcs[m], "%s", msgs[m]);
    }
    for (int m = 0; m < N_MAPS; m++) {
        if (!w[m]) continue;
        if (!rc && !(rc = hy_nifti_writer_commit(w[m]))) memcpy(wr->path[wr->n++], paths[m], sizeof paths[m]);
        else if (rc) hy_nifti_writer_abort(w[m]);
    }
    tz_cache_free(&tzc);
    free(vols);
    return rc;
}

// AR(1) histogram over all runs in steps of 0.1, for the summary.
static void summary_ar(FILE *f, const study *s, int n_runs) {
    int64_t total[2 * HY_AR_HALF + 1] = {0};
    for (int k = 0; k < n_runs; k++)
        for (int h = 0; h < 2 * HY_AR_HALF + 1; h++) total[h] += s->info[k].ar_count[h];
    fprintf(f, "ar1_histogram (binned coefficient: voxels, over runs%s)\n", "");
    for (int lo = -HY_AR_HALF; lo <= HY_AR_HALF; lo += 10) {
        int64_t c = 0;
        for (int h = lo; h < lo + 10 && h <= HY_AR_HALF; h++) c += total[h + HY_AR_HALF];
        if (c) fprintf(f, "  [%+.2f, %+.2f)\t%lld\n", lo / 100.0, (lo + 10) / 100.0, (long long)c);
    }
}

static int write_summary(const hy_glm_opts *o, const study *s, const hy_glm_result *res, const char *path) {
    hy_outfile f;
    int rc = hy_out_open(&f, path);
    if (rc) return rc;
    char hrf[64];
    hy_hrf_name(hrf, sizeof hrf, o->design.hrf_family, o->design.hrf_basis);
    static const char *drift[3] = {"cosine", "polynomial", "none"};
    fprintf(f.fp, "# hyper glm summary\n");
    fprintf(f.fp, "runs\t%d\nvolumes\t%d\ntr\t%g\n", o->n_runs, res->total_volumes, res->tr);
    fprintf(f.fp, "voxels\t%lld in mask of %lld\nconditions\t%d\n", (long long)res->n_vox, (long long)res->grid_vox,
            res->n_cond);
    fprintf(f.fp, "model\thrf %s, drift %s (high-pass %g Hz, order %d), slice_time_ref %g, noise %s (bins %d), "
                  "estimator %s, scaling %s\n", hrf, drift[o->design.drift], o->design.high_pass, o->design.drift_order,
            o->design.slice_time_ref, o->noise == HY_NOISE_AR1 ? "ar1" : "ols", o->bins,
            o->estimator == HY_EST_LSS ? "lss" : "lsa", o->scaling == HY_SCALE_PSC ? "psc" : "none");
    fprintf(f.fp, "run\tvolumes\tevents\tconditions\tregressors\tcondition_number\tdof\tar_models\tar_mean\tbold\n");
    for (int k = 0; k < o->n_runs; k++) {
        const hy_design *d = &s->des[k];
        fprintf(f.fp, "%d\t%d\t%d\t%d\t%d\t%.4g\t%g\t%d\t%.4f\t%s\n", k + 1, d->n_scans, s->ev[k].n, s->ev[k].n_types,
                d->n_cols, d->cond, s->info[k].dof, s->info[k].n_models, s->info[k].rho_mean, o->bold[k]);
    }
    summary_ar(f.fp, s, o->n_runs);
    fprintf(f.fp, "seconds\tread %.2f, fit %.2f, write %.2f, total %.2f\n", res->seconds_read, res->seconds_fit,
            res->seconds_write, res->seconds_read + res->seconds_fit + res->seconds_write);
    return hy_out_commit(&f);
}

// The in-mask voxels as a 3-D float32 map (1 inside), for `hyper extract --glm`.
static int write_mask(const study *s, const char *path) {
    const glm_runs *r = s->r;
    int64_t dim3[3] = {r->hdr[0].dim[0], r->hdr[0].dim[1], r->hdr[0].dim[2]};
    float *vol = hy_calloc((size_t)r->grid_vox, sizeof(float));
    if (!vol) return HY_ENOMEM;
    for (int64_t i = 0; i < r->n_vox; i++) vol[r->mask_idx[i]] = 1;
    nifti_writer *w;
    int rc = hy_nifti_writer_open(&w, path, dim3, 1, &r->hdr[0].geom, 0, "hyper glm mask", 1);
    if (!rc && (rc = hy_nifti_writer_put(w, vol))) hy_nifti_writer_abort(w);
    else if (!rc) rc = hy_nifti_writer_commit(w);
    free(vol);
    return rc;
}

// Designs, conditions, mask, maps, then the summary (so a summary means the folder is complete).
static int write_outputs(const hy_glm_opts *o, const study *s, const hy_ffx *acc, hy_glm_result *res) {
    written *wr = hy_calloc(1, sizeof(written));
    if (!wr) return HY_ENOMEM;
    char p[1200];
    int rc = hy_mkdir_p(o->out_dir);
    for (int k = 0; k < o->n_runs && !rc; k++) {
        char name[64];
        snprintf(name, sizeof name, "design_run-%d.tsv", k + 1);
        if (!(rc = out_path(p, sizeof p, o->out_dir, name)) && !(rc = hy_design_write_tsv(&s->des[k], p)))
            snprintf(wr->path[wr->n++], sizeof wr->path[0], "%s", p);
        snprintf(name, sizeof name, "design_run-%d.png", k + 1);
        if (!rc && !(rc = out_path(p, sizeof p, o->out_dir, name)) && !(rc = hy_design_write_png(&s->des[k], p)))
            snprintf(wr->path[wr->n++], sizeof wr->path[0], "%s", p);
    }
    if (!rc && !(rc = out_path(p, sizeof p, o->out_dir, "conditions.tsv")) && !(rc = write_conditions(s, p)))
        snprintf(wr->path[wr->n++], sizeof wr->path[0], "%s", p);
    if (!rc && !(rc = out_path(p, sizeof p, o->out_dir, "mask.nii.gz")) && !(rc = write_mask(s, p)))
        snprintf(wr->path[wr->n++], sizeof wr->path[0], "%s", p);
    if (!rc) rc = write_maps(o, s, acc, wr);
    res->seconds_write = hy_now() - res->seconds_write;
    if (!rc && !(rc = out_path(p, sizeof p, o->out_dir, "summary.txt"))) rc = write_summary(o, s, res, p);
    if (rc)
        for (int i = 0; i < wr->n; i++) remove(wr->path[i]);
    free(wr);
    return rc;
}

// --- the whole model -------------------------------------------------------------------------

int hy_glm_run(const hy_glm_opts *o, hy_glm_result *res) {
    memset(res, 0, sizeof *res);
    double t0 = hy_now();
    study *s = hy_calloc(1, sizeof(study));
    if (!s) return HY_ENOMEM;
    hy_ffx acc;
    memset(&acc, 0, sizeof acc);
    double *Y = NULL;
    int rc = prepare(o, s);
    if (!rc) rc = glm_make_mask(o, s->r);
    if (!rc) rc = hy_ffx_init(&acc, s->n_cond, s->r->n_vox, o->estimator == HY_EST_LSS ? s->cond_events : s->cond_runs);
    int nmax = 0;
    for (int k = 0; !rc && k < o->n_runs; k++) nmax = s->r->n[k] > nmax ? s->r->n[k] : nmax;
    if (!rc && !(Y = hy_malloc_huge(sizeof(double) * (size_t)nmax * (size_t)s->r->n_vox, 0))) rc = HY_ENOMEM;
    res->seconds_read = hy_now() - t0;
    for (int k = 0; k < o->n_runs && !rc; k++) {
        double t1 = hy_now();
        if ((rc = glm_read_run(o, s->r, k, Y))) break;
        double t2 = hy_now();
        res->seconds_read += t2 - t1;
        rc = o->estimator == HY_EST_LSS ? fit_lss(o, s, k, Y, &acc) : fit_lsa(o, s, k, Y, &acc);
        res->seconds_fit += hy_now() - t2;
        res->total_volumes += s->r->n[k];
        hy_progress("glm: runs", k + 1, o->n_runs, t0);
    }
    free(Y);
    if (!rc) {
        res->n_runs = o->n_runs;
        res->n_cond = s->n_cond;
        res->n_vox = s->r->n_vox;
        res->grid_vox = s->r->grid_vox;
        res->tr = s->r->tr;
        res->seconds_write = hy_now();  // write_outputs turns this into a duration
        rc = write_outputs(o, s, &acc, res);
    }
    hy_ffx_free(&acc);
    study_free(s, o->n_runs);
    free(s);
    return rc;
}
