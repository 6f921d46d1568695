// design.c - nilearn 0.10.4's first-level design matrix in C (see include/glm/design.h).
#include "glm/design.h"

#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "glm/hrf.h"
#include "nn/lapack.h"  // dgesdd_

void hy_design_defaults(hy_design_opts *o) {
    memset(o, 0, sizeof *o);
    o->hrf_family = HY_HRF_SPM;
    o->hrf_basis = 1;
    o->drift = HY_DRIFT_COSINE;
    o->high_pass = 0.01;
    o->drift_order = 1;
    o->min_onset = -24;
    o->oversampling = 50;
}

void hy_design_free(hy_design *d) {
    if (d->names)
        for (int j = 0; j < d->n_cols; j++) free(d->names[j]);
    free(d->names);
    free(d->x);
    free(d->frame_times);
    free(d->col_type);
    memset(d, 0, sizeof *d);
}

// --- numpy helpers, reproduced operation for operation ----------------------------------

// np.linspace(start, stop, num): arange(num) * step + start, last value exactly stop.
static void linspace(double *y, double start, double stop, long num) {
    if (num == 1) {
        y[0] = start;
        return;
    }
    double step = (stop - start) / (double)(num - 1);
    for (long i = 0; i < num; i++) y[i] = (double)i * step + start;
    y[num - 1] = stop;
}

// np.searchsorted(a, v) (side 'left'): the first index i with a[i] >= v.
static long searchsorted(const double *a, long n, double v) {
    long lo = 0, hi = n;
    while (lo < hi) {
        long mid = lo + (hi - lo) / 2;
        if (a[mid] < v) lo = mid + 1;
        else hi = mid;
    }
    return lo;
}

// nilearn's orthogonalize() on columns c0..c0+k-1 of x (n, p): each column minus its projection
// on the span of the columns before it. Those are already mutually orthogonal, so the projection
// through pinv is the sum of the projections on each (an all-zero column contributes nothing).
static void orthogonalize(double *x, int n, int p, int c0, int k) {
    for (int i = 1; i < k; i++)
        for (int j = 0; j < i; j++) {
            double xy = 0, yy = 0;
            for (int t = 0; t < n; t++) {
                xy += x[(size_t)t * p + c0 + i] * x[(size_t)t * p + c0 + j];
                yy += x[(size_t)t * p + c0 + j] * x[(size_t)t * p + c0 + j];
            }
            if (yy == 0) continue;
            double a = xy / yy;
            for (int t = 0; t < n; t++) x[(size_t)t * p + c0 + i] -= a * x[(size_t)t * p + c0 + j];
        }
}

// --- task regressors ---------------------------------------------------------------------

// The oversampled grid of one run (nilearn's _sample_condition / _compute_n_frames_high_res).
typedef struct {
    long n;
    double *t;     // (n) grid times
    int len;       // kernel length
    double *H;     // (n_basis, len) cumulative sums of the kernels
    int n_basis;
} hr_grid;

static void grid_free(hr_grid *g) {
    free(g->t);
    free(g->H);
}

static int grid_make(hr_grid *g, const double *ft, int n, const hy_design_opts *o, const char *what) {
    memset(g, 0, sizeof *g);
    double mini = ft[0], maxi = ft[n - 1], min_onset = o->min_onset;
    double nhr = (n - 1) * 1.0 / (maxi - mini);
    nhr *= (maxi * (1 + 1.0 / (n - 1)) - mini - min_onset) * o->oversampling;
    nhr += 1;
    if (!(nhr >= 2) || nhr > 1e9)
        return hy_err(HY_EVALUE, "%s: oversampled time grid of %g points is unusable (check TR and min onset)", what, nhr);
    g->n = (long)rint(nhr);
    // nilearn's kernel tr is the smallest frame interval, not the nominal TR
    double tr = INFINITY;
    for (int i = 1; i < n; i++)
        if (ft[i] - ft[i - 1] < tr) tr = ft[i] - ft[i - 1];
    g->len = hy_hrf_length(tr, o->oversampling);
    if (!g->len) return hy_err(HY_EVALUE, "%s: TR %g s with oversampling %d gives no HRF kernel", what, tr, o->oversampling);
    g->n_basis = o->hrf_basis;
    g->t = hy_malloc(sizeof(double) * (size_t)g->n);
    g->H = hy_malloc(sizeof(double) * (size_t)g->len * g->n_basis);
    if (!g->t || !g->H) {
        grid_free(g);
        return HY_ENOMEM;
    }
    linspace(g->t, mini + min_onset, maxi * (1 + 1.0 / (n - 1)), g->n);
    int rc = hy_hrf_kernels(g->H, g->len, o->hrf_family, o->hrf_basis, tr, o->oversampling);
    if (rc) {
        grid_free(g);
        return rc;
    }
    for (int b = 0; b < g->n_basis; b++)
        for (int k = 1; k < g->len; k++) g->H[(size_t)b * g->len + k] += g->H[(size_t)b * g->len + k - 1];
    return HY_OK;
}

// Value at grid index k of (boxcar of the impulses) convolved with kernel b, truncated to the
// grid: sum over impulses of amp * H[k - idx] (H = cumsum(h), constant past its end).
static double conv_at(const hr_grid *g, int b, long k, const long *idx, const double *amp, int n_imp) {
    const double *H = g->H + (size_t)b * g->len;
    double s = 0;
    for (int i = 0; i < n_imp; i++) {
        long m = k - idx[i];
        if (m < 0) continue;
        s += amp[i] * H[m < g->len ? m : g->len - 1];
    }
    return s;
}

// Writes the n_basis columns of one condition (events sel[0..ne)) into x (n, p) at column c0:
// impulses placed as _sample_condition does, convolution, linear interpolation at the frame
// times (scipy interp1d), orthogonalisation of the derivative columns.
static int condition_columns(double *x, int n, int p, int c0, const double *ft, const hr_grid *g, const hy_events *ev,
                             const int *sel, int ne) {
    long *idx = hy_malloc(sizeof(long) * 2 * (size_t)ne);
    double *amp = hy_malloc(sizeof(double) * 2 * (size_t)ne);
    if (!idx || !amp) {
        free(idx);
        free(amp);
        return HY_ENOMEM;
    }
    long tmax = g->n;
    for (int i = 0; i < ne; i++) {
        int e = sel[i];
        long on = searchsorted(g->t, tmax, ev->onset[e]);
        if (on > tmax - 1) on = tmax - 1;
        long off = searchsorted(g->t, tmax, ev->onset[e] + ev->duration[e]);
        if (off > tmax - 1) off = tmax - 1;
        if (off < tmax - 1 && off == on) off++;  // a zero-length event still lasts one grid step
        idx[2 * i] = on;
        amp[2 * i] = ev->modulation[e];
        idx[2 * i + 1] = off;
        amp[2 * i + 1] = -ev->modulation[e];
    }
    for (int t = 0; t < n; t++) {
        long hi = searchsorted(g->t, tmax, ft[t]);
        if (hi < 1) hi = 1;
        if (hi > tmax - 1) hi = tmax - 1;
        long lo = hi - 1;
        for (int b = 0; b < g->n_basis; b++) {
            double ylo = conv_at(g, b, lo, idx, amp, 2 * ne), yhi = conv_at(g, b, hi, idx, amp, 2 * ne);
            double slope = (yhi - ylo) / (g->t[hi] - g->t[lo]);
            x[(size_t)t * p + c0 + b] = slope * (ft[t] - g->t[lo]) + ylo;
        }
    }
    free(idx);
    free(amp);
    orthogonalize(x, n, p, c0, g->n_basis);
    return HY_OK;
}

// --- drifts -------------------------------------------------------------------------------

// Number of drift columns (constant included) for the options.
static int drift_count(const hy_design_opts *o, const double *ft, int n) {
    if (o->drift == HY_DRIFT_NONE) return 1;
    if (o->drift == HY_DRIFT_POLY) return o->drift_order + 1;
    double dt = (ft[n - 1] - ft[0]) / (n - 1);
    double f = floor(2 * n * o->high_pass * dt);
    int order = f > n - 1 ? n - 1 : (int)f;
    return order + 1;
}

// Fills columns c0.. (count from drift_count) with the drift block, constant last.
static void drift_columns(double *x, int n, int p, int c0, int count, const hy_design_opts *o, const double *ft) {
    if (o->drift == HY_DRIFT_COSINE) {
        double norm = sqrt(2.0 / n);
        for (int k = 1; k < count; k++)
            for (int t = 0; t < n; t++) x[(size_t)t * p + c0 + k - 1] = norm * cos((M_PI / n) * (t + 0.5) * k);
    } else if (o->drift == HY_DRIFT_POLY) {
        // (ft / tmax)^k for k = 0..order in columns c0.., orthogonalised in that order, then the
        // constant (k = 0) rotated to the end: nilearn's [1..order, 0]
        double tmax = ft[n - 1];
        for (int t = 0; t < n; t++)
            for (int k = 0; k < count; k++) x[(size_t)t * p + c0 + k] = k == 0 ? 1.0 : pow(ft[t] / tmax, k);
        orthogonalize(x, n, p, c0, count);
        for (int t = 0; t < n; t++) {
            double *row = x + (size_t)t * p + c0, first = row[0];
            memmove(row, row + 1, sizeof(double) * (size_t)(count - 1));
            row[count - 1] = first;
        }
        return;
    }
    for (int t = 0; t < n; t++) x[(size_t)t * p + c0 + count - 1] = 1.0;
}

// --- rank ---------------------------------------------------------------------------------

// Singular values (and, when vt != NULL, the right singular vectors of x as the rows of vt,
// (p, p), ordered like s: largest first) of the row-major (n, p) matrix x, n >= p.
static int svd_cols(const double *x, int n, int p, double *s, double *vt) {
    // column-major A = x' is (p, n); x = A', so x's right singular vectors are A's left ones
    double *a = hy_malloc(sizeof(double) * (size_t)n * p), *u = NULL, *va = NULL, q, dummy = 0;
    int *iw = hy_malloc(sizeof(int) * 8 * (size_t)p);
    if (vt) {
        u = hy_malloc(sizeof(double) * (size_t)p * p);
        va = hy_malloc(sizeof(double) * (size_t)p * n);
    }
    if (!a || !iw || (vt && (!u || !va))) {
        free(a);
        free(iw);
        free(u);
        free(va);
        return HY_ENOMEM;
    }
    memcpy(a, x, sizeof(double) * (size_t)n * p);
    char job = vt ? 'S' : 'N';
    int m = p, nn = n, lda = p, ldu = p, ldvt = vt ? p : 1, lw = -1, info = 0;
    dgesdd_(&job, &m, &nn, a, &lda, s, vt ? u : &dummy, &ldu, vt ? va : &dummy, &ldvt, &q, &lw, iw, &info);
    lw = (int)q + 1;
    double *w = hy_malloc(sizeof(double) * (size_t)lw);
    int rc = HY_ENOMEM;
    if (w) {
        dgesdd_(&job, &m, &nn, a, &lda, s, vt ? u : &dummy, &ldu, vt ? va : &dummy, &ldvt, w, &lw, iw, &info);
        rc = info ? hy_err(HY_EVALUE, "SVD did not converge (LAPACK dgesdd info %d)", info) : HY_OK;
        // u is column-major (p, p): column k = singular vector k; store it as row k of vt
        if (!rc && vt) memcpy(vt, u, sizeof(double) * (size_t)p * p);
    }
    free(a);
    free(u);
    free(va);
    free(w);
    free(iw);
    return rc;
}

int hy_design_check_rank(const double *x, int n, int p, char *const *names, const char *what, double *cond) {
    *cond = INFINITY;
    if (p > n)
        return hy_err(HY_EVALUE, "%s: design has %d columns but only %d volumes (rank deficient)", what, p, n);
    double *s = hy_malloc(sizeof(double) * (size_t)p);
    if (!s) return HY_ENOMEM;
    int rc = svd_cols(x, n, p, s, NULL);
    if (rc) {
        free(s);
        return rc;
    }
    double smax = s[0], smin = s[p - 1];
    *cond = smin > 0 ? smax / smin : INFINITY;
    if (smin > smax * (n > p ? n : p) * DBL_EPSILON) {
        free(s);
        return HY_OK;
    }
    // rank deficient: the null vector's large entries are the columns that collide
    double *vt = hy_malloc(sizeof(double) * (size_t)p * p);
    char list[600];
    int o = 0, shown = 0, more = 0;
    list[0] = 0;
    if (vt && !svd_cols(x, n, p, s, vt)) {
        const double *v = vt + (size_t)(p - 1) * p;
        double vmax = 0;
        for (int j = 0; j < p; j++) vmax = fabs(v[j]) > vmax ? fabs(v[j]) : vmax;
        for (int j = 0; j < p; j++) {
            if (fabs(v[j]) < 0.1 * vmax) continue;
            if (shown < 6 && o < (int)sizeof list - 80) {
                o += snprintf(list + o, sizeof list - o, "%s'%.60s'", shown ? ", " : "", names[j]);
                shown++;
            } else {
                more++;
            }
        }
    }
    if (more) snprintf(list + o, sizeof list - o, " and %d more", more);
    free(vt);
    free(s);
    if (shown == 1 && !more)
        return hy_err(HY_EVALUE, "%s: design is rank deficient: column %s is all zero (condition number %.3g)", what, list,
                      *cond);
    return hy_err(HY_EVALUE, "%s: design is rank deficient (condition number %.3g): columns %s are linearly dependent",
                  what, *cond, list);
}

// --- build --------------------------------------------------------------------------------

static int set_name(char **slot, const char *a, const char *b) {
    size_t l = strlen(a) + (b ? strlen(b) : 0) + 1;
    *slot = malloc(l);
    if (!*slot) return hy_err(HY_ENOMEM, "out of memory");
    snprintf(*slot, l, "%s%s", a, b ? b : "");
    return HY_OK;
}

// Builds frame times, task block, confounds, drifts; checks events, names and rank. Long
// because it is the one place the column layout is decided; each step is marked.
int hy_design_build(hy_design *d, const hy_design_opts *o, int n, const hy_events *ev, const hy_confounds *conf,
                    const char *what) {
    memset(d, 0, sizeof *d);
    // 1. options and frame times
    if (n < 3) return hy_err(HY_ESHAPE, "%s: %d volumes; a first-level model needs at least 3", what, n);
    if (!(o->tr > 0) || !isfinite(o->tr)) return hy_err(HY_EVALUE, "%s: TR %g s is not positive", what, o->tr);
    if (!(o->slice_time_ref >= 0 && o->slice_time_ref <= 1))
        return hy_err(HY_EARG, "slice_time_ref %g must be in [0, 1]", o->slice_time_ref);
    if (o->hrf_basis < 1 || o->hrf_basis > 3 || o->oversampling < 1 || o->oversampling > 1000)
        return hy_err(HY_EARG, "bad HRF basis %d or oversampling %d", o->hrf_basis, o->oversampling);
    if (!(o->high_pass >= 0) || !isfinite(o->high_pass)) return hy_err(HY_EARG, "high-pass %g Hz must be >= 0", o->high_pass);
    if (o->drift_order < 0 || o->drift_order > 20) return hy_err(HY_EARG, "drift order %d must be in 0..20", o->drift_order);
    if (!(o->min_onset <= 0)) return hy_err(HY_EARG, "min onset %g s must be <= 0", o->min_onset);
    d->n_scans = n;
    d->frame_times = hy_malloc(sizeof(double) * n);
    if (!d->frame_times) return HY_ENOMEM;
    linspace(d->frame_times, o->slice_time_ref * o->tr, (n - 1 + o->slice_time_ref) * o->tr, n);
    const double *ft = d->frame_times;
    // 2. events inside the run
    double first = ft[0] + o->min_onset, end = n * o->tr;
    for (int e = 0; e < ev->n; e++)
        if (ev->onset[e] < first || ev->onset[e] >= end) {
            hy_design_free(d);
            return hy_err(HY_EVALUE, "%s: event '%s' at onset %g s is outside the run (onsets must be in [%g, %g) s for "
                                     "%d volumes of %g s)", what, ev->names[ev->type[e]], ev->onset[e], first, end, n, o->tr);
        }
    if (conf && conf->n_rows != n) {
        hy_design_free(d);
        return hy_err(HY_ESHAPE, "%s: confounds have %d rows but the run has %d volumes", what, conf->n_rows, n);
    }
    // 3. layout: task | confounds | drift (constant last)
    int nb = o->hrf_basis, ndrift = drift_count(o, ft, n);
    d->n_task = ev->n_types * nb;
    d->n_confounds = conf ? conf->n_cols : 0;
    int p = d->n_cols = d->n_task + d->n_confounds + ndrift;
    d->x = hy_calloc((size_t)n * p, sizeof(double));
    d->names = hy_calloc((size_t)p, sizeof(char *));
    d->col_type = hy_malloc(sizeof(int) * (size_t)p);
    int *sel = hy_malloc(sizeof(int) * (size_t)(ev->n + 1));
    hr_grid g;
    memset(&g, 0, sizeof g);
    int rc = HY_ENOMEM;
    if (!d->x || !d->names || !d->col_type || !sel) goto fail;
    for (int j = 0; j < p; j++) d->col_type[j] = -1;
    // 4. task columns, condition by condition
    if ((rc = grid_make(&g, ft, n, o, what))) goto fail;
    static const char *suffix[3] = {NULL, "_derivative", "_dispersion"};
    for (int k = 0; k < ev->n_types; k++) {
        int ne = 0;
        for (int e = 0; e < ev->n; e++)
            if (ev->type[e] == k) sel[ne++] = e;
        if ((rc = condition_columns(d->x, n, p, k * nb, ft, &g, ev, sel, ne))) goto fail;
        d->col_type[k * nb] = k;
        for (int b = 0; b < nb; b++)
            if ((rc = set_name(&d->names[k * nb + b], ev->names[k], suffix[b]))) goto fail;
    }
    // 5. confounds
    for (int c = 0; c < d->n_confounds; c++) {
        for (int t = 0; t < n; t++) d->x[(size_t)t * p + d->n_task + c] = conf->x[(size_t)t * conf->n_cols + c];
        if ((rc = set_name(&d->names[d->n_task + c], conf->names[c], NULL))) goto fail;
    }
    // 6. drifts and constant
    int c0 = d->n_task + d->n_confounds;
    drift_columns(d->x, n, p, c0, ndrift, o, ft);
    for (int k = 1; k < ndrift; k++) {
        char nm[32];
        snprintf(nm, sizeof nm, "drift_%d", k);
        if ((rc = set_name(&d->names[c0 + k - 1], nm, NULL))) goto fail;
    }
    if ((rc = set_name(&d->names[p - 1], "constant", NULL))) goto fail;
    // 7. unique names, finite values, rank
    for (int a = 0; a < p; a++)
        for (int b = 0; b < a; b++)
            if (!strcmp(d->names[a], d->names[b])) {
                rc = hy_err(HY_EVALUE, "%s: two design columns are named '%s' (a confound or condition repeats a name)", what,
                            d->names[a]);
                goto fail;
            }
    for (size_t i = 0; i < (size_t)n * p; i++)
        if (!isfinite(d->x[i])) {
            rc = hy_err(HY_EVALUE, "%s: design column '%s' has a non-finite value at volume %zu", what, d->names[i % p], i / p);
            goto fail;
        }
    if ((rc = hy_design_check_rank(d->x, n, p, d->names, what, &d->cond))) goto fail;
    grid_free(&g);
    free(sel);
    return HY_OK;
fail:
    grid_free(&g);
    free(sel);
    hy_design_free(d);
    return rc;
}
