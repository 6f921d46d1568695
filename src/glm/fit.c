// fit.c - one run's OLS / AR(1) fit and the fixed-effects sums (see include/glm/fit.h).
#include "glm/fit.h"

#include <cblas.h>  // cblas_dgemm
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/threads.h"  // hy_get_threads, hy_thread_id
#include "nn/lapack.h"  // dgesdd_, dpotrf_, dpotrs_
#ifdef _OPENMP
extern void openblas_set_num_threads(int);  // provided by OpenBLAS
#endif

int hy_ffx_init(hy_ffx *f, int n_cond, int64_t n_vox, const int *expected) {
    memset(f, 0, sizeof *f);
    if (n_cond < 1 || n_vox < 1 || n_vox > ((int64_t)1 << 34))
        return hy_err(HY_ENOMEM, "%d conditions x %lld voxels is too large", n_cond, (long long)n_vox);
    f->n_cond = n_cond;
    f->n_vox = n_vox;
    f->row = hy_malloc(sizeof(int) * (size_t)n_cond);
    f->n_parts = hy_calloc((size_t)n_cond, sizeof(int));
    f->dof = hy_calloc((size_t)n_cond, sizeof(double));
    if (!f->row || !f->n_parts || !f->dof) {
        hy_ffx_free(f);
        return HY_ENOMEM;
    }
    size_t n32 = 0, n64 = 0;
    for (int c = 0; c < n_cond; c++) f->row[c] = expected[c] > 1 ? -1 - (int)n64++ : (int)n32++;
    // single rows are stored, not added to (each voxel gets exactly one contrast), so they need no
    // clearing: that spares a pass over memory the kernel has just zeroed on first touch
    f->effect32 = hy_malloc_huge(sizeof(float) * (n32 * (size_t)n_vox + 1), 0);
    f->variance32 = hy_malloc_huge(sizeof(float) * (n32 * (size_t)n_vox + 1), 0);
    f->effect64 = hy_malloc_huge(sizeof(double) * (n64 * (size_t)n_vox + 1), 1);
    f->variance64 = hy_malloc_huge(sizeof(double) * (n64 * (size_t)n_vox + 1), 1);
    if (!f->effect32 || !f->variance32 || !f->effect64 || !f->variance64) {
        hy_ffx_free(f);
        return hy_err(HY_ENOMEM, "out of memory for %d conditions x %lld voxels (%.2f GB)", n_cond, (long long)n_vox,
                      (8.0 * n32 + 16.0 * n64) * n_vox / 1e9);
    }
    return HY_OK;
}

void hy_ffx_free(hy_ffx *f) {
    free(f->row);
    free(f->effect32);
    free(f->variance32);
    free(f->effect64);
    free(f->variance64);
    free(f->n_parts);
    free(f->dof);
    memset(f, 0, sizeof *f);
}

static inline void ffx_add(hy_ffx *f, int c, int64_t v, double effect, double variance) {
    int r = f->row[c];
    if (r >= 0) {
        f->effect32[(size_t)r * f->n_vox + v] = (float)effect;
        f->variance32[(size_t)r * f->n_vox + v] = (float)variance;
    } else {
        f->effect64[(size_t)(-1 - r) * f->n_vox + v] += effect;
        f->variance64[(size_t)(-1 - r) * f->n_vox + v] += variance;
    }
}

void hy_ffx_add(hy_ffx *f, int c, int64_t v, double effect, double variance) { ffx_add(f, c, v, effect, variance); }

void hy_ffx_get(const hy_ffx *f, int c, int64_t v, double *effect, double *variance) {
    int r = f->row[c];
    double k = f->n_parts[c] > 0 ? f->n_parts[c] : 1;
    double e = r >= 0 ? f->effect32[(size_t)r * f->n_vox + v] : f->effect64[(size_t)(-1 - r) * f->n_vox + v];
    double w = r >= 0 ? f->variance32[(size_t)r * f->n_vox + v] : f->variance64[(size_t)(-1 - r) * f->n_vox + v];
    *effect = e / k;
    *variance = w / (k * k);
}

// --- the run's decomposition ---------------------------------------------------------------

// X = U S V' and what every model of the run shares.
typedef struct {
    int n, p, rank;
    double *U;      // (n, p) row-major, orthonormal columns
    double *K;      // (p, p) V S^-1 (zero where scipy's pinv drops a singular value)
    double *A1;     // (p, p) U'(L + L')U, for the whitened Gram matrices
    double *X;      // (n, p) the design (borrowed)
} run_basis;

static void basis_free(run_basis *b) {
    free(b->U);
    free(b->K);
    free(b->A1);
}

// SVD by LAPACK on the column-major view of X (X' is (p, n) column-major): dgesdd's VT output
// (p x n, ldvt = p) is exactly X's U in row-major layout, and its U output (p x p column-major)
// is X's V transposed.
static int basis_make(run_basis *b, const double *X, int n, int p) {
    memset(b, 0, sizeof *b);
    b->n = n;
    b->p = p;
    b->X = (double *)X;
    double *a = hy_malloc(sizeof(double) * (size_t)n * p), *s = hy_malloc(sizeof(double) * p);
    double *vcol = hy_malloc(sizeof(double) * (size_t)p * p), *w = NULL, q;
    int *iw = hy_malloc(sizeof(int) * 8 * (size_t)p);
    b->U = hy_malloc(sizeof(double) * (size_t)n * p);
    b->K = hy_malloc(sizeof(double) * (size_t)p * p);
    b->A1 = hy_malloc(sizeof(double) * (size_t)p * p);
    int rc = HY_ENOMEM;
    if (!a || !s || !vcol || !iw || !b->U || !b->K || !b->A1) goto done;
    memcpy(a, X, sizeof(double) * (size_t)n * p);
    char job = 'S';
    int m = p, nn = n, lda = p, ldu = p, ldvt = p, lw = -1, info = 0;
    dgesdd_(&job, &m, &nn, a, &lda, s, vcol, &ldu, b->U, &ldvt, &q, &lw, iw, &info);
    lw = (int)q + 1;
    if (!(w = hy_malloc(sizeof(double) * (size_t)lw))) goto done;
    dgesdd_(&job, &m, &nn, a, &lda, s, vcol, &ldu, b->U, &ldvt, w, &lw, iw, &info);
    if (info) {
        rc = hy_err(HY_EVALUE, "SVD of the design did not converge (LAPACK dgesdd info %d)", info);
        goto done;
    }
    // numpy.linalg.matrix_rank(X, tol = sum|X| * eps) and scipy.linalg.pinv's cutoff max(n,p) eps s_max
    double absum = 0;
    for (size_t i = 0; i < (size_t)n * p; i++) absum += fabs(X[i]);
    double tol = absum * DBL_EPSILON, cut = (n > p ? n : p) * DBL_EPSILON * s[0];
    b->rank = 0;
    for (int k = 0; k < p; k++) b->rank += s[k] > tol;
    for (int j = 0; j < p; j++)
        for (int k = 0; k < p; k++) b->K[(size_t)j * p + k] = s[k] > cut ? vcol[j + (size_t)k * p] / s[k] : 0;
    // A1 = C + C' with C = U[1:]' U[:-1]
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, p, n - 1, 1.0, b->U + p, p, b->U, p, 0.0, b->A1, p);
    for (int i = 0; i < p; i++)
        for (int j = 0; j <= i; j++) {
            double v = b->A1[(size_t)i * p + j] + b->A1[(size_t)j * p + i];
            b->A1[(size_t)i * p + j] = b->A1[(size_t)j * p + i] = v;
        }
    rc = HY_OK;
done:
    free(a);
    free(s);
    free(vcol);
    free(w);
    free(iw);
    if (rc) basis_free(b);
    return rc;
}

// One model (OLS: rho 0 and no whitening; AR: one value of rho), in one of two forms:
//   full: P = pinv(WX) (p, n), so that a block's coefficients are one product B' = Yb P';
//   lite: only the Cholesky factor of M and WU, a block's coefficients being K M^-1 (WU)' y, solved
//         per voxel. Building P costs 4 p^2 n, the lite solve 4 p^2 per voxel more than the full
//         product, so lite wins for an AR bin with fewer voxels than volumes (a small study with
//         long runs: 1,024 voxels, 1,300 volumes, ~40 bins).
// Both keep WX (n, p) for the residuals and the diagonal of pinv pinv' (unscaled variances).
typedef struct {
    double rho;
    int lite;
    double *P, *WX, *covdiag;
    double *WU, *M;       // lite: (n, p) whitened U and (p, p) Cholesky factor of M
    const double *K;      // lite: the run's V S^-1 (borrowed)
} model;

static int model_make(model *m, const run_basis *b, double rho, int whiten, int lite) {
    int n = b->n, p = b->p, rc = HY_ENOMEM;
    memset(m, 0, sizeof *m);
    m->rho = rho;
    m->lite = lite = lite && whiten;
    m->K = b->K;
    double *WU = NULL, *M = NULL, *X = NULL;
    m->P = lite ? NULL : hy_malloc(sizeof(double) * (size_t)p * n);
    m->WX = hy_malloc(sizeof(double) * (size_t)n * p);
    m->covdiag = hy_malloc(sizeof(double) * p);
    if ((!lite && !m->P) || !m->WX || !m->covdiag) goto done;
    if (!whiten) {
        // P = K U'
        memcpy(m->WX, b->X, sizeof(double) * (size_t)n * p);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p, n, p, 1.0, b->K, p, b->U, p, 0.0, m->P, n);
    } else {
        WU = hy_malloc(sizeof(double) * (size_t)n * p);
        M = hy_malloc(sizeof(double) * (size_t)p * p);
        if (!WU || !M) goto done;
        memcpy(WU, b->U, sizeof(double) * p);
        memcpy(m->WX, b->X, sizeof(double) * p);
        for (int t = 1; t < n; t++)
            for (int k = 0; k < p; k++) {
                WU[(size_t)t * p + k] = b->U[(size_t)t * p + k] - rho * b->U[(size_t)(t - 1) * p + k];
                m->WX[(size_t)t * p + k] = b->X[(size_t)t * p + k] - rho * b->X[(size_t)(t - 1) * p + k];
            }
        // M = (1 + rho^2) I - rho A1 - rho^2 u u', u = U[n-1]
        const double *u = b->U + (size_t)(n - 1) * p;
        for (int i = 0; i < p; i++)
            for (int j = 0; j < p; j++)
                M[(size_t)i * p + j] = (i == j ? 1 + rho * rho : 0) - rho * b->A1[(size_t)i * p + j] - rho * rho * u[i] * u[j];
        int info = 0, pp = p, nn = n;
        char lo = 'L';
        dpotrf_(&lo, &pp, M, &pp, &info);
        if (info) {
            rc = hy_err(HY_EVALUE, "whitened Gram matrix for AR coefficient %g is not positive definite (dpotrf info %d)", rho,
                        info);
            goto done;
        }
        if (lite) {
            // covdiag_j = k_j' M^-1 k_j: solve M X = K' (K row-major is K' column-major)
            if (!(X = hy_malloc(sizeof(double) * (size_t)p * p))) goto done;
            memcpy(X, b->K, sizeof(double) * (size_t)p * p);
            dpotrs_(&lo, &pp, &pp, M, &pp, X, &pp, &info);
            for (int j = 0; j < p; j++) {
                double d = 0;
                for (int k = 0; k < p; k++) d += b->K[(size_t)j * p + k] * X[(size_t)j * p + k];
                m->covdiag[j] = d;
            }
            m->WU = WU;
            m->M = M;
            WU = M = NULL;
            rc = HY_OK;
            goto done;
        }
        // WU as column-major (p, n) is WU' : solve M Z = WU' in place, then P = K Z
        dpotrs_(&lo, &pp, &nn, M, &pp, WU, &pp, &info);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, p, n, p, 1.0, b->K, p, WU, p, 0.0, m->P, n);
    }
    for (int j = 0; j < p; j++) {
        double ss = 0;
        for (int t = 0; t < n; t++) ss += m->P[(size_t)j * n + t] * m->P[(size_t)j * n + t];
        m->covdiag[j] = ss;
    }
    rc = HY_OK;
done:
    free(WU);
    free(M);
    free(X);
    return rc;
}

static void model_free(model *m) {
    free(m->P);
    free(m->WX);
    free(m->covdiag);
    free(m->WU);
    free(m->M);
    memset(m, 0, sizeof *m);
}

// --- blocks of voxels -------------------------------------------------------------------------

// Working memory for a block of up to `cap` voxels. Data are voxel-major: a voxel's time series
// is one contiguous row, so blocks are plain row ranges and gathering a voxel is one memcpy.
typedef struct {
    int cap;
    double *Yb;   // (cap, n) data of the block (whitened for AR models), then its residuals
    double *B;    // (cap, p) coefficients, then one dispersion per voxel after them
    double *Z;    // (cap, p) lite models: (WU)' y per voxel, then M^-1 of it
    int64_t *vox; // (cap) voxel index of each row
} block_buf;

// Fits the model to the block Yb (c, n): B' = Yb P' (full) or B' = (M^-1 (WU)' Yb')' K' (lite),
// then Yb <- Yb - B' WX' (residuals in place).
static void block_fit(const model *m, int n, int p, block_buf *w, int c) {
    if (m->lite) {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, c, p, n, 1.0, w->Yb, n, m->WU, p, 0.0, w->Z, p);
        int info = 0, pp = p, cc = c;
        char lo = 'L';
        dpotrs_(&lo, &pp, &cc, m->M, &pp, w->Z, &pp, &info);  // Z rows are the right-hand sides
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c, p, p, 1.0, w->Z, p, m->K, p, 0.0, w->B, p);
    } else {
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c, p, n, 1.0, w->Yb, n, m->P, n, 0.0, w->B, p);
    }
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, c, n, p, -1.0, w->B, p, m->WX, p, 1.0, w->Yb, n);
}

// Adds each wanted column's effect and variance (covdiag * SSE / (n - p)) for the block's voxels,
// column by column, so that the stores run along each condition's row (voxel by voxel) instead
// of jumping between rows. The dispersions go into the scratch row after B.
static void block_contrasts(hy_ffx *acc, const model *m, int n, int p, const int *dest, const block_buf *w, int c) {
    double *disp = w->B + (size_t)p * c;
    for (int i = 0; i < c; i++) {
        const double *r = w->Yb + (size_t)i * n;
        double sse = 0;
        for (int t = 0; t < n; t++) sse += r[t] * r[t];
        disp[i] = sse / (n - p);
    }
    for (int j = 0; j < p; j++) {
        if (dest[j] < 0) continue;
        int row = acc->row[dest[j]];
        double cd = m->covdiag[j];
        const double *b = w->B + j;
        if (row >= 0) {
            float *e = acc->effect32 + (size_t)row * acc->n_vox, *v = acc->variance32 + (size_t)row * acc->n_vox;
            for (int i = 0; i < c; i++) {  // stored: single rows get one contrast per voxel
                e[w->vox[i]] = (float)b[(size_t)i * p];
                v[w->vox[i]] = (float)(cd * disp[i]);
            }
        } else {
            double *e = acc->effect64 + (size_t)(-1 - row) * acc->n_vox, *v = acc->variance64 + (size_t)(-1 - row) * acc->n_vox;
            for (int i = 0; i < c; i++) {
                e[w->vox[i]] += b[(size_t)i * p];
                v[w->vox[i]] += cd * disp[i];
            }
        }
    }
}

// Per-voxel sums of the OLS residuals that the Yule-Walker estimate needs once the mean of all
// residuals is known: sum r, sum r^2, sum r_t r_{t-1}, first and last value.
typedef struct {
    double s1, s2, s11, first, last;
} resid_sums;

static void block_resid_sums(resid_sums *rs, int n, const block_buf *w, int c) {
    for (int i = 0; i < c; i++) {
        const double *r = w->Yb + (size_t)i * n;
        resid_sums q = {r[0], r[0] * r[0], 0, r[0], r[n - 1]};
        for (int t = 1; t < n; t++) {
            q.s1 += r[t];
            q.s2 += r[t] * r[t];
            q.s11 += r[t] * r[t - 1];
        }
        rs[i] = q;
    }
}

// Copies voxels vox[0..c) of Y (V, n) into Yb (c, n), whitened with rho.
static void gather(block_buf *w, const double *Y, int n, int c, double rho) {
    for (int i = 0; i < c; i++) {
        const double *y = Y + (size_t)w->vox[i] * n;
        double *dst = w->Yb + (size_t)i * n;
        dst[0] = y[0];
        for (int t = 1; t < n; t++) dst[t] = y[t] - rho * y[t - 1];
    }
}

// --- the run --------------------------------------------------------------------------------

// Per-thread state of the parallel passes; an error inside a thread is kept here (hy_err's
// message is thread-local) and raised again by the caller.
typedef struct {
    block_buf w;
    model m;
    int key;           // AR key of the model held in m (INT_MIN: none)
    int rc;
    char msg[512];
} worker;

static int worker_init(worker *k, int cap, int n, int p) {
    memset(k, 0, sizeof *k);
    k->key = -2147483647 - 1;
    k->w.cap = cap;
    k->w.Yb = hy_malloc(sizeof(double) * (size_t)n * cap);
    k->w.B = hy_malloc(sizeof(double) * (size_t)(p + 1) * cap);
    k->w.Z = hy_malloc(sizeof(double) * (size_t)p * cap);
    k->w.vox = hy_malloc(sizeof(int64_t) * (size_t)cap);
    return k->w.Yb && k->w.B && k->w.Z && k->w.vox ? HY_OK : HY_ENOMEM;
}

static void worker_fail(worker *k, int rc) {
    if (k->rc) return;
    k->rc = rc;
    snprintf(k->msg, sizeof k->msg, "%s", hy_errmsg());
}

static void worker_free(worker *k) {
    free(k->w.Yb);
    free(k->w.B);
    free(k->w.Z);
    free(k->w.vox);
    model_free(&k->m);
}

// One unit of the AR pass: voxels order[a..a+c) all with AR key `key`.
typedef struct {
    int key;
    int c;
    int64_t a;
    int64_t bin_n;  // voxels of the whole bin (decides full or lite model)
} ar_item;

// Pass 1: OLS on every block of voxels (residual sums for AR, contrasts for OLS).
static void pass_ols(worker *k, const model *ols, const double *Y, int n, int p, int64_t V, int ar, resid_sums *rs,
                     hy_ffx *acc, const int *dest) {
    int cap = k->w.cap;
#pragma omp for schedule(dynamic, 1)
    for (int64_t v0 = 0; v0 < V; v0 += cap) {
        int c = (int)(V - v0 < cap ? V - v0 : cap);
        for (int i = 0; i < c; i++) k->w.vox[i] = v0 + i;
        memcpy(k->w.Yb, Y + (size_t)v0 * n, sizeof(double) * (size_t)c * n);
        block_fit(ols, n, p, &k->w, c);
        if (ar) block_resid_sums(rs + v0, n, &k->w, c);
        else block_contrasts(acc, ols, n, p, dest, &k->w, c);
    }
}

// Pass 2: each item's whitened fit; a thread builds the model of a key when it meets a new one.
static void pass_ar(worker *k, const run_basis *b, const ar_item *items, int n_items, const int64_t *order,
                    const double *Y, int bins, int lite, hy_ffx *acc, const int *dest) {
    int n = b->n, p = b->p;
#pragma omp for schedule(dynamic, 1)
    for (int it = 0; it < n_items; it++) {
        if (k->rc) continue;
        const ar_item *q = &items[it];
        if (q->key != k->key) {
            model_free(&k->m);
            int rc = model_make(&k->m, b, q->key * 1.0 / bins, 1, lite ? lite > 0 : q->bin_n < b->n);
            if (rc) {
                worker_fail(k, rc);
                continue;
            }
            k->key = q->key;
        }
        memcpy(k->w.vox, order + q->a, sizeof(int64_t) * q->c);
        gather(&k->w, Y, n, q->c, k->m.rho);
        block_fit(&k->m, n, p, &k->w, q->c);
        block_contrasts(acc, &k->m, n, p, dest, &k->w, q->c);
    }
}

// Binned Yule-Walker keys from the residual sums (mean of all residuals removed), the AR
// histogram, and the voxels ordered by key (counting sort) cut into items of at most cap voxels.
static int ar_plan(const resid_sums *rs, int64_t V, int n, int bins, int cap, hy_fit_info *info, int64_t **order_out,
                   ar_item **items_out, int *n_items_out) {
    int *key = hy_malloc(sizeof(int) * (size_t)V);
    if (!key) return HY_ENOMEM;
    double total = 0, rho_sum = 0;
    for (int64_t v = 0; v < V; v++) total += rs[v].s1;
    double mu = total / ((double)n * (double)V);
    int kmin = 0, kmax = 0;
    for (int64_t v = 0; v < V; v++) {
        double y2 = rs[v].s2 - 2 * mu * rs[v].s1 + n * mu * mu;
        double y11 = rs[v].s11 - mu * (2 * rs[v].s1 - rs[v].first - rs[v].last) + (n - 1) * mu * mu;
        double r0 = y2 / ((double)n * n), r1 = y11 / ((double)(n - 1) * n);
        double rho = r0 > 0 ? r1 / r0 : 0;
        key[v] = (int)(rho * bins);  // (rho * bins).astype(int): truncation toward zero
        kmin = v == 0 || key[v] < kmin ? key[v] : kmin;
        kmax = v == 0 || key[v] > kmax ? key[v] : kmax;
        rho_sum += key[v] * 1.0 / bins;
        if (info) {
            int h = key[v] * 100 / bins;
            h = h < -HY_AR_HALF ? -HY_AR_HALF : h > HY_AR_HALF ? HY_AR_HALF : h;
            info->ar_count[h + HY_AR_HALF]++;
        }
    }
    if (info) info->rho_mean = rho_sum / V;
    int nk = kmax - kmin + 1, n_items = 0, n_models = 0;
    int64_t *order = hy_malloc(sizeof(int64_t) * (size_t)V), *start = hy_calloc((size_t)nk + 1, sizeof(int64_t));
    ar_item *items = NULL;
    if (order && start) {
        for (int64_t v = 0; v < V; v++) start[key[v] - kmin + 1]++;
        for (int q = 0; q < nk; q++) start[q + 1] += start[q];
        for (int64_t v = 0; v < V; v++) order[start[key[v] - kmin]++] = v;
        for (int q = nk; q > 0; q--) start[q] = start[q - 1];
        start[0] = 0;
        for (int q = 0; q < nk; q++) n_items += (int)((start[q + 1] - start[q] + cap - 1) / cap);
        items = hy_malloc(sizeof(ar_item) * (size_t)(n_items + 1));
    }
    if (!order || !start || !items) {
        free(key);
        free(order);
        free(start);
        free(items);
        return HY_ENOMEM;
    }
    n_items = 0;
    for (int q = 0; q < nk; q++) {
        n_models += start[q + 1] > start[q];
        for (int64_t a = start[q]; a < start[q + 1]; a += cap)
            items[n_items++] = (ar_item){q + kmin, (int)(start[q + 1] - a < cap ? start[q + 1] - a : cap), a,
                                         start[q + 1] - start[q]};
    }
    if (info) info->n_models = n_models;
    free(key);
    free(start);
    *order_out = order;
    *items_out = items;
    *n_items_out = n_items;
    return HY_OK;
}

// OLS pass over all voxels, then (AR) one whitened model per distinct binned coefficient. With
// OpenMP the voxel blocks and AR items are shared among hy_get_threads() threads, each calling a
// single-threaded BLAS (one product split over OpenBLAS's threads scaled worse, as for FaceNet).
int hy_fit_run(hy_ffx *acc, const double *Y, int n, int64_t V, const double *X, int p, const int *dest,
               const hy_fit_opts *o, hy_fit_info *info) {
    if (n <= p) return hy_err(HY_ESHAPE, "design has %d columns for %d volumes: no residual degrees of freedom", p, n);
    if (V < 1) return hy_err(HY_ESHAPE, "no voxels to fit");
    int bins = o->bins > 0 ? o->bins : 100, cap = o->block > 0 ? o->block : 256, ar = o->noise == HY_NOISE_AR1;
    if (cap > V) cap = (int)V;
    int T = 1;
#ifdef _OPENMP
    T = hy_get_threads() > 1 ? hy_get_threads() : 1;
    if (T > 64) T = 64;
#endif
    if (info) memset(info, 0, sizeof *info);
    run_basis b;
    int rc = basis_make(&b, X, n, p);
    if (rc) return rc;
    model ols;
    memset(&ols, 0, sizeof ols);
    worker wk[64];
    memset(wk, 0, sizeof wk);
    resid_sums *rs = NULL;
    int64_t *order = NULL;
    ar_item *items = NULL;
    int n_items = 0;
    for (int t = 0; t < T && !rc; t++) rc = worker_init(&wk[t], cap, n, p);
    if (!rc) rc = model_make(&ols, &b, 0, 0, 0);
    if (!rc && ar && !(rs = hy_malloc(sizeof(resid_sums) * (size_t)V))) rc = HY_ENOMEM;
    if (rc) goto done;
#ifdef _OPENMP
    if (T > 1) openblas_set_num_threads(1);
#endif
#pragma omp parallel num_threads(T) if (T > 1)
    pass_ols(&wk[T > 1 ? hy_thread_id() : 0], &ols, Y, n, p, V, ar, rs, acc, dest);
    if (ar && !(rc = ar_plan(rs, V, n, bins, cap, info, &order, &items, &n_items))) {
#pragma omp parallel num_threads(T) if (T > 1)
        pass_ar(&wk[T > 1 ? hy_thread_id() : 0], &b, items, n_items, order, Y, bins, o->lite, acc, dest);
    }
#ifdef _OPENMP
    if (T > 1) openblas_set_num_threads(hy_get_threads());
#endif
    for (int t = 0; t < T && !rc; t++)
        if (wk[t].rc) rc = hy_err(wk[t].rc, "%s", wk[t].msg);
    if (rc) goto done;
    if (info) {
        info->dof = n - b.rank;
        if (!ar) {
            info->n_models = 1;
            info->ar_count[HY_AR_HALF] = V;
        }
    }
    for (int j = 0; j < p; j++)
        if (dest[j] >= 0) {
            acc->n_parts[dest[j]]++;
            acc->dof[dest[j]] += n - b.rank;
        }
done:
    for (int t = 0; t < T; t++) worker_free(&wk[t]);
    model_free(&ols);
    basis_free(&b);
    free(rs);
    free(order);
    free(items);
    return rc;
}
