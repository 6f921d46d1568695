// metrics.c - latent-level scores (see include/study/metrics.h for every definition).
#include "study/metrics.h"

#include <dirent.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "study/dataset.h"  // ds_path
#include "base/npy.h"
#include "nn/lapack.h"  // dgesdd_
#include "base/rng.h"     // mt19937 for the random-latent null

double hy_met_cosine(const double *a, const double *b, int d) {
    double ab = 0, aa = 0, bb = 0;
    for (int k = 0; k < d; k++) {
        ab += a[k] * b[k];
        aa += a[k] * a[k];
        bb += b[k] * b[k];
    }
    return aa > 0 && bb > 0 ? ab / sqrt(aa * bb) : 0.0;
}

double hy_met_mse(const double *a, const double *b, int d) {
    double s = 0;
    for (int k = 0; k < d; k++) s += (a[k] - b[k]) * (a[k] - b[k]);
    return s / d;
}

double hy_met_euclid(const double *a, const double *b, int d) { return sqrt(hy_met_mse(a, b, d) * d); }

double hy_met_pearson(const double *x, int sx, const double *y, int sy, int n) {
    double mx = 0, my = 0;
    for (int i = 0; i < n; i++) {
        mx += x[(size_t)i * sx];
        my += y[(size_t)i * sy];
    }
    mx /= n;
    my /= n;
    double sxy = 0, sxx = 0, syy = 0;
    for (int i = 0; i < n; i++) {
        double a = x[(size_t)i * sx] - mx, b = y[(size_t)i * sy] - my;
        sxy += a * b;
        sxx += a * a;
        syy += b * b;
    }
    return sxx > 0 && syy > 0 ? sxy / sqrt(sxx * syy) : 0.0;
}

void hy_met_mean_se(const double *x, int n, double *mean, double *se) {
    double m = 0, s = 0;
    for (int i = 0; i < n; i++) m += x[i];
    m /= n;
    for (int i = 0; i < n; i++) s += (x[i] - m) * (x[i] - m);
    *mean = m;
    *se = n > 1 ? sqrt(s / (n - 1)) / sqrt((double)n) : 0.0;
}

void hy_met_ident2(const double *P, const double *T, int n, int d, double *ident) {
    for (int i = 0; i < n; i++) {
        double own = hy_met_pearson(P + (size_t)i * d, 1, T + (size_t)i * d, 1, d), s = 0;
        for (int j = 0; j < n; j++) {
            if (j == i) continue;
            double o = hy_met_pearson(P + (size_t)i * d, 1, T + (size_t)j * d, 1, d);
            s += own > o ? 1.0 : own == o ? 0.5 : 0.0;
        }
        ident[i] = n > 1 ? s / (n - 1) : 0.0;
    }
}

double hy_met_spread(const double *Z, int n, int d) {
    double s = 0;
    long cnt = 0;
    for (int i = 0; i < n; i++)
        for (int j = i + 1; j < n; j++) {
            s += 1.0 - hy_met_cosine(Z + (size_t)i * d, Z + (size_t)j * d, d);
            cnt++;
        }
    return cnt ? s / cnt : 0.0;
}

double hy_met_effective_rank(const double *Z, int n, int d) {
    int k = n < d ? n : d, info = 0, lwork = -1, m = d, nn = n, one = 1;
    double *A = hy_malloc(sizeof(double) * (size_t)n * d), *s = hy_malloc(sizeof(double) * k), wq, dummy;
    int *iw = hy_malloc(sizeof(int) * 8 * (size_t)k);
    if (!A || !s || !iw) {
        free(A);
        free(s);
        free(iw);
        return -1;
    }
    for (int c = 0; c < d; c++) {
        double mu = 0;
        for (int i = 0; i < n; i++) mu += Z[(size_t)i * d + c];
        mu /= n;
        for (int i = 0; i < n; i++) A[(size_t)i * d + c] = Z[(size_t)i * d + c] - mu;
    }
    dgesdd_("N", &m, &nn, A, &m, s, &dummy, &one, &dummy, &one, &wq, &lwork, iw, &info);
    lwork = (int)wq + 64;
    double *work = hy_malloc(sizeof(double) * (size_t)lwork);
    double er = -1;
    if (work) {
        dgesdd_("N", &m, &nn, A, &m, s, &dummy, &one, &dummy, &one, work, &lwork, iw, &info);
        if (info == 0) {
            double tot = 0, h = 0;
            for (int i = 0; i < k; i++) tot += s[i];
            for (int i = 0; i < k && tot > 0; i++) {
                double p = s[i] / tot;
                if (p > 0) h -= p * log(p);
            }
            er = tot > 0 ? exp(h) : 0.0;
        } else {
            hy_err(HY_EVALUE, "effective rank: SVD failed (info %d)", info);
        }
    }
    free(work);
    free(A);
    free(s);
    free(iw);
    return er;
}

int hy_met_null(const double *P, const double *T, int n, int d, int n_null, uint64_t seed, double *p_item,
             double *p_mean) {
    double *r = hy_malloc(sizeof(double) * d), *obs = hy_malloc(sizeof(double) * n);
    int *cnt = hy_calloc(n, sizeof(int));
    if (!r || !obs || !cnt) {
        free(r);
        free(obs);
        free(cnt);
        return HY_ENOMEM;
    }
    mt19937 g;
    hy_mt_seed(&g, seed);
    double obs_mean = 0;
    for (int i = 0; i < n; i++) {
        obs[i] = hy_met_euclid(P + (size_t)i * d, T + (size_t)i * d, d);
        obs_mean += 1.0 / (1.0 + obs[i]) / n;
    }
    int cmean = 0;
    for (int k = 0; k < n_null; k++) {
        for (int c = 0; c < d; c++) r[c] = hy_mt_normal(&g);
        double m = 0;
        for (int i = 0; i < n; i++) {
            double e = hy_met_euclid(r, T + (size_t)i * d, d);
            if (e <= obs[i]) cnt[i]++;
            m += 1.0 / (1.0 + e) / n;
        }
        if (m >= obs_mean) cmean++;
    }
    for (int i = 0; i < n; i++) p_item[i] = (1.0 + cnt[i]) / (1.0 + n_null);
    *p_mean = (1.0 + cmean) / (1.0 + n_null);
    free(r);
    free(obs);
    free(cnt);
    return HY_OK;
}

void hy_met_report_free(met_report *r) {
    free(r->cosine);
    free(r->sim_code);
    free(r->sim_paper);
    free(r->ident);
    free(r->null_p);
    free(r->dim_r);
    free(r->bound_name);
    free(r->bound_r);
    memset(r, 0, sizeof *r);
}

int hy_met_report_compute(met_report *r, const double *P, const double *T, int n, int d, int n_null,
                       uint64_t seed, const double *bdirs, char (*bnames)[128], int n_bound) {
    memset(r, 0, sizeof *r);
    if (n < 2 || d < 1) return hy_err(HY_ESHAPE, "scoring needs at least 2 items (got %d)", n);
    r->n = n;
    r->d = d;
    r->cosine = hy_malloc(sizeof(double) * n);
    r->sim_code = hy_malloc(sizeof(double) * n);
    r->sim_paper = hy_malloc(sizeof(double) * n);
    r->ident = hy_malloc(sizeof(double) * n);
    r->null_p = hy_malloc(sizeof(double) * n);
    r->dim_r = hy_malloc(sizeof(double) * d);
    if (n_bound > 0) {
        r->bound_name = hy_malloc(sizeof(*r->bound_name) * n_bound);
        r->bound_r = hy_malloc(sizeof(double) * n_bound);
    }
    if (!r->cosine || !r->sim_code || !r->sim_paper || !r->ident || !r->null_p || !r->dim_r ||
        (n_bound > 0 && (!r->bound_name || !r->bound_r))) {
        hy_met_report_free(r);
        return HY_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        const double *p = P + (size_t)i * d, *t = T + (size_t)i * d;
        r->cosine[i] = hy_met_cosine(p, t, d);
        r->sim_code[i] = 1.0 / (1.0 + hy_met_mse(p, t, d));
        r->sim_paper[i] = 1.0 / (1.0 + hy_met_euclid(p, t, d));
    }
    for (int k = 0; k < d; k++) r->dim_r[k] = hy_met_pearson(P + k, d, T + k, d, n);
    hy_met_ident2(P, T, n, d, r->ident);
    int rc = hy_met_null(P, T, n, d, n_null, seed, r->null_p, &r->null_p_mean);
    if (rc) {
        hy_met_report_free(r);
        return rc;
    }
    r->spread_pred = hy_met_spread(P, n, d);
    r->spread_true = hy_met_spread(T, n, d);
    r->erank_pred = hy_met_effective_rank(P, n, d);
    r->erank_true = hy_met_effective_rank(T, n, d);
    if (r->erank_pred < 0 || r->erank_true < 0) {
        hy_met_report_free(r);
        return HY_EVALUE;
    }
    r->n_bound = n_bound;
    double *pp = hy_malloc(sizeof(double) * n), *tp = hy_malloc(sizeof(double) * n);
    if (!pp || !tp) {
        free(pp);
        free(tp);
        hy_met_report_free(r);
        return HY_ENOMEM;
    }
    for (int b = 0; b < n_bound; b++) {
        const double *u = bdirs + (size_t)b * d;
        for (int i = 0; i < n; i++) {
            double a = 0, c = 0;
            for (int k = 0; k < d; k++) {
                a += P[(size_t)i * d + k] * u[k];
                c += T[(size_t)i * d + k] * u[k];
            }
            pp[i] = a;
            tp[i] = c;
        }
        r->bound_r[b] = hy_met_pearson(pp, 1, tp, 1, n);
        memcpy(r->bound_name[b], bnames[b], sizeof r->bound_name[b]);
    }
    free(pp);
    free(tp);
    return HY_OK;
}

static void row(FILE *f, const char *name, const double *x, int n) {
    double m, se;
    hy_met_mean_se(x, n, &m, &se);
    fprintf(f, "  %-28s %9.4f +/- %.4f\n", name, m, se);
}

void hy_met_report_print(const met_report *r, FILE *f) {
    fprintf(f, "latent scores over %d items (%d dims): mean +/- s.e.\n", r->n, r->d);
    row(f, "cosine similarity", r->cosine, r->n);
    row(f, "latent sim 1/(1+MSE) (code)", r->sim_code, r->n);
    row(f, "latent sim 1/(1+dist) (paper)", r->sim_paper, r->n);
    row(f, "2-way identification", r->ident, r->n);
    row(f, "per-dim Pearson r (over dims)", r->dim_r, r->d);
    int sig = 0;
    for (int i = 0; i < r->n; i++) sig += r->null_p[i] < 0.05;
    fprintf(f, "  %-28s %9.4f  (%d/%d items p < 0.05)\n", "random-latent null p (mean)", r->null_p_mean, sig, r->n);
    fprintf(f, "collapse diagnostics (predicted vs true)\n");
    fprintf(f, "  %-28s %9.4f vs %.4f  (ratio %.3f)\n", "mean pairwise cos distance", r->spread_pred,
            r->spread_true, r->spread_true > 0 ? r->spread_pred / r->spread_true : 0.0);
    fprintf(f, "  %-28s %9.2f vs %.2f  (ratio %.3f)\n", "effective rank", r->erank_pred, r->erank_true,
            r->erank_true > 0 ? r->erank_pred / r->erank_true : 0.0);
    if (r->n_bound) fprintf(f, "attribute projections: Pearson r (true vs predicted) across items\n");
    for (int b = 0; b < r->n_bound; b++) fprintf(f, "  %-28s %9.4f\n", r->bound_name[b], r->bound_r[b]);
}

static void csv_row(FILE *f, const char *name, const double *x, int n) {
    double m, se;
    hy_met_mean_se(x, n, &m, &se);
    fprintf(f, "%s,%.9g,%.9g,%d\n", name, m, se, n);
}

int hy_met_report_write_csv(const met_report *r, const char *summary_path, const char *items_path) {
    int rc;
    if (summary_path) {
        hy_outfile o;
        if ((rc = hy_out_open(&o, summary_path))) return rc;
        FILE *f = o.fp;
        fprintf(f, "metric,mean,se,n\n");
        csv_row(f, "cosine", r->cosine, r->n);
        csv_row(f, "sim_code", r->sim_code, r->n);
        csv_row(f, "sim_paper", r->sim_paper, r->n);
        csv_row(f, "ident2", r->ident, r->n);
        csv_row(f, "dim_r", r->dim_r, r->d);
        fprintf(f, "null_p_mean,%.9g,,%d\n", r->null_p_mean, r->n);
        fprintf(f, "spread_pred,%.9g,,%d\nspread_true,%.9g,,%d\n", r->spread_pred, r->n, r->spread_true, r->n);
        fprintf(f, "erank_pred,%.9g,,%d\nerank_true,%.9g,,%d\n", r->erank_pred, r->n, r->erank_true, r->n);
        for (int b = 0; b < r->n_bound; b++) fprintf(f, "boundary_r:%s,%.9g,,%d\n", r->bound_name[b], r->bound_r[b], r->n);
        if ((rc = hy_out_commit(&o))) return rc;
    }
    if (items_path) {
        hy_outfile o;
        if ((rc = hy_out_open(&o, items_path))) return rc;
        fprintf(o.fp, "item,cosine,sim_code,sim_paper,ident2,null_p\n");
        for (int i = 0; i < r->n; i++)
            fprintf(o.fp, "%d,%.9g,%.9g,%.9g,%.9g,%.9g\n", i, r->cosine[i], r->sim_code[i], r->sim_paper[i],
                    r->ident[i], r->null_p[i]);
        if ((rc = hy_out_commit(&o))) return rc;
    }
    return HY_OK;
}

// --- boundaries ----------------------------------------------------------------------

static int cmp_name(const void *a, const void *b) { return strcmp(*(char *const *)a, *(char *const *)b); }

// Loads every *.npy in bdir as a D-vector (normalised to unit length).
int hy_met_load_boundaries(const char *bdir, int d, double **dirs, char (**names)[128], int *nb) {
    *dirs = NULL;
    *names = NULL;
    *nb = 0;
    DIR *dp = opendir(bdir);
    if (!dp) return hy_err(HY_EIO, "%s: cannot open boundary directory", bdir);
    char *list[1024];
    int cnt = 0;
    struct dirent *e;
    while ((e = readdir(dp)) && cnt < 1024) {
        size_t l = strlen(e->d_name);
        if (l > 4 && !strcmp(e->d_name + l - 4, ".npy") && l < 120) list[cnt++] = strdup(e->d_name);
    }
    closedir(dp);
    if (!cnt) return hy_err(HY_EFORMAT, "%s: no .npy boundary files", bdir);
    qsort(list, cnt, sizeof *list, cmp_name);
    int rc = HY_OK;
    *dirs = hy_malloc(sizeof(double) * (size_t)cnt * d);
    *names = hy_malloc(sizeof(**names) * cnt);
    if (!*dirs || !*names) rc = HY_ENOMEM;
    for (int i = 0; i < cnt && !rc; i++) {
        char path[1400];
        npy_f64 a;
        if ((rc = hy_ds_path(path, sizeof path, bdir, list[i]))) break;
        if ((rc = hy_npy_read_f64(path, &a, 0))) break;
        if (a.size != d) {
            rc = hy_err(HY_ESHAPE, "%s: %lld values, expected a 1 x %d direction", path, (long long)a.size, d);
            hy_npy_free_f64(&a);
            break;
        }
        double nn = 0;
        for (int k = 0; k < d; k++) nn += a.data[k] * a.data[k];
        nn = sqrt(nn);
        if (!(nn > 0)) {
            rc = hy_err(HY_EVALUE, "%s: zero direction", path);
            hy_npy_free_f64(&a);
            break;
        }
        for (int k = 0; k < d; k++) (*dirs)[(size_t)i * d + k] = a.data[k] / nn;
        hy_npy_free_f64(&a);
        snprintf((*names)[i], 128, "%.*s", (int)(strlen(list[i]) - 4), list[i]);
    }
    for (int i = 0; i < cnt; i++) free(list[i]);
    if (rc) {
        free(*dirs);
        free(*names);
        *dirs = NULL;
        *names = NULL;
        return rc;
    }
    *nb = cnt;
    return HY_OK;
}
