// closed_form.c - closed-form linear decoders: OLS (minimum norm) and ridge with
// leave-one-out or K-fold cross-validation over an alpha grid, all from one SVD per
// training set (float64, OpenBLAS + LAPACK dgesdd).
//
// Conventions follow scikit-learn: ridge minimises ||y - Xw - b||^2 + alpha ||w||^2 with an
// unpenalised intercept (X and y are centred), LOO errors are the exact closed-form
// leave-one-out residuals e_i / (1 - h_ii) (as RidgeCV(cv=None) computes them), K-fold uses
// contiguous folds (KFold without shuffling) and the mean over folds of each fold's MSE.
#ifndef _OPENMP  // NO_OMP=1 builds: the loops run serially
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include <cblas.h>  // cblas_dgemm
#include <float.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/threads.h"  // hy_blas_threads_begin
#include "decoders/decoders.h"
#include "decoders/trainers.h"
#include "nn/lapack.h"  // dgesdd_

void hy_dec_logspace(double *out, int n, double a, double b) {
    if (n == 1) {
        out[0] = a;
        return;
    }
    double la = log10(a), lb = log10(b);
    for (int i = 0; i < n; i++) out[i] = pow(10.0, la + (lb - la) * i / (n - 1));
    out[n - 1] = b;
}

// Column means of A (n, m) into mu (m).
static void col_mean(const double *A, int n, int m, double *mu) {
    for (int j = 0; j < m; j++) mu[j] = 0;
    for (int i = 0; i < n; i++)
        for (int j = 0; j < m; j++) mu[j] += A[(size_t)i * m + j];
    for (int j = 0; j < m; j++) mu[j] /= n;
}

// Copies rows idx[0..r) of A (., m) minus mu into out (r, m).
static void gather_center(double *out, const double *A, const int *idx, int r, int m, const double *mu) {
    for (int i = 0; i < r; i++) {
        const double *src = A + (size_t)idx[i] * m;
        double *dst = out + (size_t)i * m;
        for (int j = 0; j < m; j++) dst[j] = src[j] - (mu ? mu[j] : 0);
    }
}

// Thin SVD of row-major A (n, p): A = U diag(s) Vt with U (n, k), Vt (k, p), k = min(n, p),
// all row-major. A is destroyed. (Row-major A is column-major A^T, so LAPACK's U and VT
// of A^T are exactly our Vt and U in memory.)
static int svd_thin(double *A, int n, int p, double *U, double *s, double *Vt) {
    int k = n < p ? n : p, info = 0, lwork = -1, m = p, nn = n, ldu = p, ldvt = k;
    double wq;
    int *iwork = hy_malloc(sizeof(int) * 8 * (size_t)k);
    if (!iwork) return HY_ENOMEM;
    dgesdd_("S", &m, &nn, A, &m, s, Vt, &ldu, U, &ldvt, &wq, &lwork, iwork, &info);
    lwork = (int)wq + 64;
    double *work = hy_malloc(sizeof(double) * (size_t)lwork);
    if (!work) {
        free(iwork);
        return HY_ENOMEM;
    }
    dgesdd_("S", &m, &nn, A, &m, s, Vt, &ldu, U, &ldvt, work, &lwork, iwork, &info);
    free(work);
    free(iwork);
    if (info != 0) return hy_err(HY_EVALUE, "SVD failed to converge (dgesdd info %d)", info);
    return HY_OK;
}

// Centred SVD of a training subset: rows idx (r of them), returns means and factors.
typedef struct {
    int r, k;
    double *xm, *ym;   // (p), (d)
    double *U, *s, *Vt, *UtY;  // (r,k), (k), (k,p), (k,d)
} csvd;

static void csvd_free(csvd *c) {
    free(c->xm);
    free(c->ym);
    free(c->U);
    free(c->s);
    free(c->Vt);
    free(c->UtY);
    memset(c, 0, sizeof *c);
}

static int csvd_fit(csvd *c, const double *X, const double *Y, const int *idx, int r, int p, int d,
                    int center) {
    memset(c, 0, sizeof *c);
    c->r = r;
    c->k = r < p ? r : p;
    int k = c->k;
    double *Xc = hy_malloc(sizeof(double) * (size_t)r * p), *Yc = hy_malloc(sizeof(double) * (size_t)r * d);
    c->xm = hy_calloc(p, sizeof(double));
    c->ym = hy_calloc(d, sizeof(double));
    c->U = hy_malloc(sizeof(double) * (size_t)r * k);
    c->s = hy_malloc(sizeof(double) * k);
    c->Vt = hy_malloc(sizeof(double) * (size_t)k * p);
    c->UtY = hy_malloc(sizeof(double) * (size_t)k * d);
    int rc = HY_ENOMEM;
    if (!Xc || !Yc || !c->xm || !c->ym || !c->U || !c->s || !c->Vt || !c->UtY) goto done;
    gather_center(Xc, X, idx, r, p, NULL);
    gather_center(Yc, Y, idx, r, d, NULL);
    if (center) {
        col_mean(Xc, r, p, c->xm);
        col_mean(Yc, r, d, c->ym);
        for (int i = 0; i < r; i++) {
            for (int j = 0; j < p; j++) Xc[(size_t)i * p + j] -= c->xm[j];
            for (int j = 0; j < d; j++) Yc[(size_t)i * d + j] -= c->ym[j];
        }
    }
    if ((rc = svd_thin(Xc, r, p, c->U, c->s, c->Vt))) goto done;
    // UtY (k, d) = U^T (k, r) @ Yc (r, d)
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, k, d, r, 1.0, c->U, k, Yc, d, 0.0, c->UtY, d);
    rc = HY_OK;
done:
    free(Xc);
    free(Yc);
    if (rc) csvd_free(c);
    return rc;
}

// W (d, p) = M^T (d, k) @ Vt (k, p); b = ym - W xm.
static void coef_from(const csvd *c, const double *M, int p, int d, double *W, double *b) {
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, d, p, c->k, 1.0, M, d, c->Vt, p, 0.0, W, p);
    for (int t = 0; t < d; t++) {
        double acc = c->ym[t];
        for (int j = 0; j < p; j++) acc -= W[(size_t)t * p + j] * c->xm[j];
        b[t] = acc;
    }
}

static int *iota(int n) {
    int *ix = hy_malloc(sizeof(int) * (size_t)n);
    if (ix)
        for (int i = 0; i < n; i++) ix[i] = i;
    return ix;
}

int hy_dec_ols(const double *X, const double *Y, int n, int p, int d, int fit_intercept, double rcond,
            double *W, double *b) {
    int *ix = iota(n);
    if (!ix) return HY_ENOMEM;
    csvd c;
    int rc = csvd_fit(&c, X, Y, ix, n, p, d, fit_intercept);
    free(ix);
    if (rc) return rc;
    if (rcond <= 0) rcond = DBL_EPSILON * (n > p ? n : p);
    double cut = rcond * c.s[0];
    double *M = hy_malloc(sizeof(double) * (size_t)c.k * d);
    if (!M) {
        csvd_free(&c);
        return HY_ENOMEM;
    }
    for (int r = 0; r < c.k; r++) {
        double f = c.s[r] > cut ? 1.0 / c.s[r] : 0.0;
        for (int t = 0; t < d; t++) M[(size_t)r * d + t] = f * c.UtY[(size_t)r * d + t];
    }
    coef_from(&c, M, p, d, W, b);
    free(M);
    csvd_free(&c);
    return HY_OK;
}

// One fold of K-fold ridge: fit on the rows outside [start, start + sz), add each alpha's
// validation MSE / K to err (n_alphas, d). HY_OK or an error code (message in this thread).
static int ridge_fold(const double *X, const double *Y, int n, int p, int d, const double *alphas, int n_alphas,
                      int cv_folds, int start, int sz, double *err) {
    int *tr = hy_malloc(sizeof(int) * n), *va = hy_malloc(sizeof(int) * n), nt = 0, nv = 0;
    if (!tr || !va) {
        free(tr);
        free(va);
        return HY_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        if (i >= start && i < start + sz) va[nv++] = i;
        else tr[nt++] = i;
    }
    csvd c;
    int rc = csvd_fit(&c, X, Y, tr, nt, p, d, 1);
    if (rc) {
        free(tr);
        free(va);
        return rc;
    }
    const int kk = c.k;
    double *Xv = hy_malloc(sizeof(double) * (size_t)nv * p), *XvV = hy_malloc(sizeof(double) * (size_t)nv * kk);
    double *Mf = hy_malloc(sizeof(double) * (size_t)kk * d), *Pf = hy_malloc(sizeof(double) * (size_t)nv * d);
    if (!Xv || !XvV || !Mf || !Pf) rc = HY_ENOMEM;
    if (!rc) {
        gather_center(Xv, X, va, nv, p, c.xm);
        // XvV (nv, k) = Xv (nv, p) @ Vt^T (p, k)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nv, kk, p, 1.0, Xv, p, c.Vt, p, 0.0, XvV, kk);
        for (int a = 0; a < n_alphas; a++) {
            for (int r = 0; r < kk; r++) {
                double f = c.s[r] / (c.s[r] * c.s[r] + alphas[a]);
                for (int t = 0; t < d; t++) Mf[(size_t)r * d + t] = f * c.UtY[(size_t)r * d + t];
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nv, d, kk, 1.0, XvV, kk, Mf, d, 0.0, Pf, d);
            for (int i = 0; i < nv; i++)
                for (int t = 0; t < d; t++) {
                    double e = Y[(size_t)va[i] * d + t] - c.ym[t] - Pf[(size_t)i * d + t];
                    err[(size_t)a * d + t] += e * e / nv / cv_folds;
                }
        }
    }
    free(Xv);
    free(XvV);
    free(Mf);
    free(Pf);
    free(tr);
    free(va);
    csvd_free(&c);
    return rc;
}

// K-fold ridge (contiguous folds; the first n % K folds get one extra row, as sklearn's KFold)
// and the full fit, as K + 1 independent tasks on the OpenMP threads, each with single-threaded
// BLAS: an SVD of a 840 x 4096 matrix gains little from OpenBLAS's threads (LAPACK's
// bidiagonalisation is matrix-vector work), while the folds split evenly. Each fold sums into its
// own error array; the arrays are added in fold order, so the result does not depend on the
// thread count. err (n_alphas, d) receives the mean validation MSE over folds.
static int ridge_kfold(csvd *full, const double *X, const double *Y, int n, int p, int d, const double *alphas,
                       int n_alphas, int cv_folds, double *err) {
    double *ferr = hy_calloc((size_t)cv_folds * n_alphas * d, sizeof(double));
    int *ix = hy_malloc(sizeof(int) * n), *start = hy_malloc(sizeof(int) * (cv_folds + 1));
    if (!ferr || !ix || !start) {
        free(ferr), free(ix), free(start);
        return HY_ENOMEM;
    }
    for (int i = 0; i < n; i++) ix[i] = i;
    start[0] = 0;
    for (int f = 0; f < cv_folds; f++) start[f + 1] = start[f] + n / cv_folds + (f < n % cv_folds ? 1 : 0);
    memset(full, 0, sizeof *full);
    int rc = HY_OK, failed = 0;
    char msg[1024] = "";
    const int blas_threads = hy_blas_threads_begin(0);  // no work: one thread per task
#pragma omp parallel for schedule(dynamic, 1)
    for (int task = 0; task <= cv_folds; task++) {  // task 0: the full fit (the largest), then the folds
        int stop;
#pragma omp atomic read
        stop = failed;
        if (stop) continue;
        const int r = task == 0 ? csvd_fit(full, X, Y, ix, n, p, d, 1)
                                : ridge_fold(X, Y, n, p, d, alphas, n_alphas, cv_folds, start[task - 1],
                                             start[task] - start[task - 1], ferr + (size_t)(task - 1) * n_alphas * d);
        if (r) {
#pragma omp critical(ridge_kfold_error)
            if (!rc) {
                rc = r;
                snprintf(msg, sizeof msg, "%s", hy_errmsg());  // the message lives in this thread
            }
#pragma omp atomic write
            failed = 1;
        }
    }
    hy_blas_threads_end(blas_threads);
    if (!rc)
        for (int f = 0; f < cv_folds; f++)
            for (size_t i = 0; i < (size_t)n_alphas * d; i++) err[i] += ferr[(size_t)f * n_alphas * d + i];
    else csvd_free(full);
    free(ferr), free(ix), free(start);
    return rc ? hy_err(rc, "%s", msg) : HY_OK;
}

// Exact leave-one-out errors of ridge on the full fit: e_i / (1 - h_ii), with the hat matrix
// h = 1/n + U diag(s^2/(s^2+a)) U^T; err (n_alphas, d) += the mean squared LOO error.
static int ridge_loo(const csvd *full, const double *Y, int n, int d, const double *alphas, int n_alphas,
                     double *err) {
    const int k = full->k;
    double *M = hy_malloc(sizeof(double) * (size_t)k * d), *P = hy_malloc(sizeof(double) * (size_t)n * d);
    double *h = hy_malloc(sizeof(double) * n), *Yc = hy_malloc(sizeof(double) * (size_t)n * d);
    int rc = M && P && h && Yc ? HY_OK : HY_ENOMEM;
    for (int i = 0; i < n && !rc; i++)
        for (int t = 0; t < d; t++) Yc[(size_t)i * d + t] = Y[(size_t)i * d + t] - full->ym[t];
    for (int a = 0; a < n_alphas && !rc; a++) {
        for (int r = 0; r < k; r++) {
            double s2 = full->s[r] * full->s[r], f = s2 / (s2 + alphas[a]);
            for (int t = 0; t < d; t++) M[(size_t)r * d + t] = f * full->UtY[(size_t)r * d + t];
        }
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, k, 1.0, full->U, k, M, d, 0.0, P, d);
        for (int i = 0; i < n; i++) {
            double acc = 1.0 / n;
            for (int r = 0; r < k; r++) {
                double u = full->U[(size_t)i * k + r], s2 = full->s[r] * full->s[r];
                acc += u * u * s2 / (s2 + alphas[a]);
            }
            h[i] = acc;
        }
        for (int i = 0; i < n; i++) {
            double den = 1.0 - h[i];
            if (fabs(den) < 1e-300) den = 1e-300;
            for (int t = 0; t < d; t++) {
                double e = (Yc[(size_t)i * d + t] - P[(size_t)i * d + t]) / den;
                err[(size_t)a * d + t] += e * e / n;
            }
        }
    }
    free(M), free(P), free(h), free(Yc);
    return rc;
}

// chosen (d): per target its lowest-error alpha, or for all targets the alpha of the lowest
// summed error (the first on ties); err (n_alphas, d).
static void choose_alphas(double *chosen, const double *err, const double *alphas, int n_alphas, int d,
                          int per_target) {
    if (per_target) {
        for (int t = 0; t < d; t++) {
            int best = 0;
            for (int a = 1; a < n_alphas; a++)
                if (err[(size_t)a * d + t] < err[(size_t)best * d + t]) best = a;
            chosen[t] = alphas[best];
        }
        return;
    }
    int best = 0;
    double bv = INFINITY;
    for (int a = 0; a < n_alphas; a++) {
        double m = 0;
        for (int t = 0; t < d; t++) m += err[(size_t)a * d + t];
        if (m < bv) {
            bv = m;
            best = a;
        }
    }
    for (int t = 0; t < d; t++) chosen[t] = alphas[best];
}

int hy_dec_ridge(const double *X, const double *Y, int n, int p, int d, const double *alphas,
              int n_alphas, int cv_folds, int per_target, double *W, double *b, double *chosen,
              double *cv_err) {
    if (n_alphas < 1) return hy_err(HY_EARG, "ridge: empty alpha grid");
    for (int a = 0; a < n_alphas; a++)
        if (!(alphas[a] > 0) || !isfinite(alphas[a])) return hy_err(HY_EARG, "ridge: alpha %g must be > 0", alphas[a]);
    if (cv_folds == 1 || cv_folds < 0 || cv_folds > n) return hy_err(HY_EARG, "ridge: %d folds for %d rows", cv_folds, n);
    double *err = hy_calloc((size_t)n_alphas * d, sizeof(double)), *M = NULL;
    int *ix = iota(n);
    csvd full;
    memset(&full, 0, sizeof full);
    int rc = HY_ENOMEM;
    if (!err || !ix) goto done;
    // the SVD of the centred rows, and the validation errors: K-fold (the full fit runs with the
    // folds) or exact leave-one-out (cv_folds 0); none for a single alpha
    if (n_alphas > 1 && cv_folds > 0) rc = ridge_kfold(&full, X, Y, n, p, d, alphas, n_alphas, cv_folds, err);
    else if (!(rc = csvd_fit(&full, X, Y, ix, n, p, d, 1)) && n_alphas > 1) rc = ridge_loo(&full, Y, n, d, alphas,
                                                                                          n_alphas, err);
    if (rc) goto done;
    choose_alphas(chosen, err, alphas, n_alphas, d, per_target);
    if (cv_err) memcpy(cv_err, err, sizeof(double) * (size_t)n_alphas * d);
    // refit on all rows: M[r,t] = s_r / (s_r^2 + alpha_t) * UtY[r,t]
    const int k = full.k;
    if (!(M = hy_malloc(sizeof(double) * (size_t)k * d))) {
        rc = HY_ENOMEM;
        goto done;
    }
    for (int r = 0; r < k; r++)
        for (int t = 0; t < d; t++)
            M[(size_t)r * d + t] = full.s[r] / (full.s[r] * full.s[r] + chosen[t]) * full.UtY[(size_t)r * d + t];
    coef_from(&full, M, p, d, W, b);
    rc = HY_OK;
done:
    free(err);
    free(ix);
    free(M);
    csvd_free(&full);
    return rc;
}

// --- trainers (the kind table's entries for ols and ridge) -----------------------------------

int hy_dec_train_ols(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    (void)o;
    double *W = hy_malloc(sizeof(double) * (size_t)v * d), *b = hy_malloc(sizeof(double) * d);
    int rc = W && b ? hy_dec_ols(X, Y, n, v, d, 1, 0, W, b) : HY_ENOMEM;
    if (!rc) hy_dec_set_linear(dec, W, b);
    free(W);
    free(b);
    return rc;
}

// Ridge over the options' log grid (or one fixed alpha), choosing by LOO or K-fold CV.
int hy_dec_train_ridge(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    int na = o->fixed_alpha > 0 ? 1 : o->n_alphas;
    double *W = hy_malloc(sizeof(double) * (size_t)v * d), *b = hy_malloc(sizeof(double) * d);
    double *alpha = hy_malloc(sizeof(double) * d), *grid = na > 0 ? hy_malloc(sizeof(double) * na) : NULL;
    int rc = HY_ENOMEM;
    if (W && b && alpha && grid) {
        if (o->fixed_alpha > 0) grid[0] = o->fixed_alpha;
        else hy_dec_logspace(grid, na, o->alpha_min, o->alpha_max);
        rc = hy_dec_ridge(X, Y, n, v, d, grid, na, o->cv_folds, o->per_target, W, b, alpha, NULL);
    } else if (na < 1) {
        rc = hy_err(HY_EARG, "ridge: empty alpha grid");
    }
    if (!rc) {
        if (o->fixed_alpha > 0) snprintf(dec->cv, sizeof dec->cv, "none");
        else if (o->cv_folds) snprintf(dec->cv, sizeof dec->cv, "kfold%d", o->cv_folds);
        else snprintf(dec->cv, sizeof dec->cv, "loo");
        hy_dec_set_linear(dec, W, b);
        hy_dec_keep_alpha(dec, alpha, d);
        alpha = NULL;
    }
    free(W);
    free(b);
    free(alpha);
    free(grid);
    return rc;
}
