// fit.c - one run's OLS / AR(1) fit and the fixed-effects sums (see include/glm/fit.h).
#include "glm/fit.h"

#include <cblas.h>  // cblas_dgemm
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "nn/lapack.h"  // dgesdd_, dpotrf_, dpotrs_

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
    f->effect32 = hy_calloc(n32 * (size_t)n_vox + 1, sizeof(float));
    f->variance32 = hy_calloc(n32 * (size_t)n_vox + 1, sizeof(float));
    f->effect64 = hy_calloc(n64 * (size_t)n_vox + 1, sizeof(double));
    f->variance64 = hy_calloc(n64 * (size_t)n_vox + 1, sizeof(double));
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

void hy_ffx_add(hy_ffx *f, int c, int64_t v, double effect, double variance) {
    int r = f->row[c];
    if (r >= 0) {
        f->effect32[(size_t)r * f->n_vox + v] += (float)effect;
        f->variance32[(size_t)r * f->n_vox + v] += (float)variance;
    } else {
        f->effect64[(size_t)(-1 - r) * f->n_vox + v] += effect;
        f->variance64[(size_t)(-1 - r) * f->n_vox + v] += variance;
    }
}

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

// One model (OLS: rho 0 and no whitening; AR: one value of rho): P = pinv(WX) (p, n), WX (n, p)
// and the diagonal of P P' (the unscaled variance of each coefficient).
typedef struct {
    double rho;
    double *P, *WX, *covdiag;
} model;

static int model_make(model *m, const run_basis *b, double rho, int whiten) {
    int n = b->n, p = b->p, rc = HY_ENOMEM;
    m->rho = rho;
    double *WU = NULL, *M = NULL;
    m->P = hy_malloc(sizeof(double) * (size_t)p * n);
    m->WX = hy_malloc(sizeof(double) * (size_t)n * p);
    m->covdiag = hy_malloc(sizeof(double) * p);
    if (!m->P || !m->WX || !m->covdiag) goto done;
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
    return rc;
}

static void model_free(model *m) {
    free(m->P);
    free(m->WX);
    free(m->covdiag);
    memset(m, 0, sizeof *m);
}

// --- blocks of voxels -------------------------------------------------------------------------

// Working memory for a block of up to `cap` voxels.
typedef struct {
    int cap;
    double *Yb;   // (n, cap) data of the block (whitened for AR models)
    double *B;    // (p, cap) coefficients
    int64_t *vox; // (cap) voxel index of each column
} block_buf;

// Fits the model to the block Yb (n, c): B = P Yb, Yb <- Yb - WX B (residuals in place).
static void block_fit(const model *m, int n, int p, block_buf *w, int c) {
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, p, c, n, 1.0, m->P, n, w->Yb, c, 0.0, w->B, c);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, c, p, -1.0, m->WX, p, w->B, c, 1.0, w->Yb, c);
}

// Adds each wanted column's effect and variance (covdiag * SSE / (n - p)) for the block's voxels.
static void block_contrasts(hy_ffx *acc, const model *m, int n, int p, const int *dest, const block_buf *w, int c) {
    double *sse = w->B + (size_t)p * c;  // scratch row after B
    for (int i = 0; i < c; i++) sse[i] = 0;
    for (int t = 0; t < n; t++) {
        const double *r = w->Yb + (size_t)t * c;
        for (int i = 0; i < c; i++) sse[i] += r[i] * r[i];
    }
    for (int j = 0; j < p; j++) {
        if (dest[j] < 0) continue;
        const double *bj = w->B + (size_t)j * c;
        for (int i = 0; i < c; i++) hy_ffx_add(acc, dest[j], w->vox[i], bj[i], m->covdiag[j] * sse[i] / (n - p));
    }
}

// Per-voxel sums of the OLS residuals that the Yule-Walker estimate needs once the mean of all
// residuals is known: sum r, sum r^2, sum r_t r_{t-1}, first and last value.
typedef struct {
    double s1, s2, s11, first, last;
} resid_sums;

static void block_resid_sums(resid_sums *rs, int n, const block_buf *w, int c) {
    for (int i = 0; i < c; i++) rs[i] = (resid_sums){0, 0, 0, w->Yb[i], w->Yb[(size_t)(n - 1) * c + i]};
    for (int t = 0; t < n; t++) {
        const double *r = w->Yb + (size_t)t * c, *rp = t ? r - c : NULL;
        for (int i = 0; i < c; i++) {
            rs[i].s1 += r[i];
            rs[i].s2 += r[i] * r[i];
            if (rp) rs[i].s11 += r[i] * rp[i];
        }
    }
}

// Copies voxels vox[0..c) of Y (n, V) into Yb (n, c), whitened with rho when whiten is set.
static void gather(block_buf *w, const double *Y, int n, int64_t V, int c, double rho, int whiten) {
    for (int t = n - 1; t >= 0; t--) {
        double *dst = w->Yb + (size_t)t * c;
        const double *row = Y + (size_t)t * V, *prev = t ? row - V : NULL;
        for (int i = 0; i < c; i++) {
            int64_t v = w->vox[i];
            dst[i] = whiten && prev ? row[v] - rho * prev[v] : row[v];
        }
    }
}

// --- the run --------------------------------------------------------------------------------

// OLS pass over all voxels, then (AR) one whitened model per distinct binned coefficient, its
// voxels gathered block by block. Long because the two passes share the buffers set up here.
int hy_fit_run(hy_ffx *acc, const double *Y, int n, int64_t V, const double *X, int p, const int *dest,
               const hy_fit_opts *o, hy_fit_info *info) {
    if (n <= p) return hy_err(HY_ESHAPE, "design has %d columns for %d volumes: no residual degrees of freedom", p, n);
    if (V < 1) return hy_err(HY_ESHAPE, "no voxels to fit");
    int bins = o->bins > 0 ? o->bins : 100, cap = o->block > 0 ? o->block : 2048;
    if (cap > V) cap = (int)V;
    run_basis b;
    int rc = basis_make(&b, X, n, p);
    if (rc) return rc;
    model m;
    memset(&m, 0, sizeof m);
    block_buf w = {cap, hy_malloc(sizeof(double) * (size_t)n * cap), hy_malloc(sizeof(double) * (size_t)(p + 1) * cap),
                   hy_malloc(sizeof(int64_t) * (size_t)cap)};
    resid_sums *rs = NULL;
    int *key = NULL;
    int64_t *order = NULL, *start = NULL;
    if (!w.Yb || !w.B || !w.vox) {
        rc = HY_ENOMEM;
        goto done;
    }
    int ar = o->noise == HY_NOISE_AR1;
    if (ar && (!(rs = hy_malloc(sizeof(resid_sums) * (size_t)V)) || !(key = hy_malloc(sizeof(int) * (size_t)V)))) {
        rc = HY_ENOMEM;
        goto done;
    }
    if ((rc = model_make(&m, &b, 0, 0))) goto done;
    // 1. OLS over all voxels: contrasts (OLS) or residual sums (AR)
    for (int64_t v0 = 0; v0 < V; v0 += cap) {
        int c = (int)(V - v0 < cap ? V - v0 : cap);
        for (int i = 0; i < c; i++) w.vox[i] = v0 + i;
        for (int t = 0; t < n; t++) memcpy(w.Yb + (size_t)t * c, Y + (size_t)t * V + v0, sizeof(double) * c);
        block_fit(&m, n, p, &w, c);
        if (ar) block_resid_sums(rs + v0, n, &w, c);
        else block_contrasts(acc, &m, n, p, dest, &w, c);
    }
    if (info) {
        memset(info, 0, sizeof *info);
        info->dof = n - b.rank;
        info->n_models = 1;
        if (!ar) info->ar_count[HY_AR_HALF] = V;
    }
    if (ar) {
        // 2. Yule-Walker lag 1 with the mean of all residuals removed, truncated to k / bins
        double total = 0;
        for (int64_t v = 0; v < V; v++) total += rs[v].s1;
        double mu = total / ((double)n * (double)V), rho_sum = 0;
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
        // 3. voxels ordered by key (counting sort), one whitened model per key
        int nk = kmax - kmin + 1;
        order = hy_malloc(sizeof(int64_t) * (size_t)V);
        start = hy_calloc((size_t)nk + 1, sizeof(int64_t));
        if (!order || !start) {
            rc = HY_ENOMEM;
            goto done;
        }
        for (int64_t v = 0; v < V; v++) start[key[v] - kmin + 1]++;
        for (int k = 0; k < nk; k++) start[k + 1] += start[k];
        for (int64_t v = 0; v < V; v++) order[start[key[v] - kmin]++] = v;
        for (int k = nk; k > 0; k--) start[k] = start[k - 1];
        start[0] = 0;
        if (info) info->n_models = 0;
        for (int k = 0; k < nk; k++) {
            int64_t a = start[k], e = start[k + 1];
            if (a == e) continue;
            model_free(&m);
            if ((rc = model_make(&m, &b, (k + kmin) * 1.0 / bins, 1))) goto done;
            if (info) info->n_models++;
            for (int64_t i0 = a; i0 < e; i0 += cap) {
                int c = (int)(e - i0 < cap ? e - i0 : cap);
                memcpy(w.vox, order + i0, sizeof(int64_t) * c);
                gather(&w, Y, n, V, c, m.rho, 1);
                block_fit(&m, n, p, &w, c);
                block_contrasts(acc, &m, n, p, dest, &w, c);
            }
        }
    }
    for (int j = 0; j < p; j++)
        if (dest[j] >= 0) {
            acc->n_parts[dest[j]]++;
            acc->dof[dest[j]] += n - b.rank;
        }
    rc = HY_OK;
done:
    model_free(&m);
    basis_free(&b);
    free(w.Yb);
    free(w.B);
    free(w.vox);
    free(rs);
    free(key);
    free(order);
    free(start);
    return rc;
}
