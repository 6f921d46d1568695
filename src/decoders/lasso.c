// lasso.c - lasso and elastic net by cyclic coordinate descent on the Gram matrix, along a
// regularisation path with warm starts, with K-fold selection of one penalty per target.
//
// Objective per target (scikit-learn's ElasticNet / Lasso, which fit each column of a 2-D y
// independently):  1/(2n) ||y - Xw - b||^2 + alpha*rho*|w|_1 + alpha*(1-rho)/2 * ||w||^2.
// The intercept is unpenalised (X, y centred). The coordinate update and the duality-gap
// stopping rule follow sklearn's enet_coordinate_descent_gram: sweeps stop once the largest
// coefficient change relative to the largest coefficient is < tol and the duality gap is
// < tol * ||y_c||^2. Working through G = Xc^T Xc (p, p) makes a sweep O(p) plus O(p) per
// coefficient that changes, so sparse solutions are cheap even for p >> n.
// Targets are solved in parallel (OpenMP, no BLAS inside the parallel region).
#include <cblas.h>  // cblas_dsyrk, cblas_dgemm
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"

int hy_dec_enet_cd_gram(const double *G, const double *q0, double yy, int n, int p, double alpha,
                     double l1_ratio, int max_iter, double tol, double *w, double *q, double *gap_out) {
    double l1 = alpha * l1_ratio * n, l2 = alpha * (1.0 - l1_ratio) * n;
    double tol_abs = tol * yy, gap = INFINITY;
    // q = q0 - G w  (= Xc^T residual)
    for (int j = 0; j < p; j++) q[j] = q0[j];
    for (int j = 0; j < p; j++)
        if (w[j] != 0) {
            const double *g = G + (size_t)j * p;
            for (int i = 0; i < p; i++) q[i] -= w[j] * g[i];
        }
    int it;
    for (it = 0; it < max_iter; it++) {
        double w_max = 0, dw_max = 0;
        for (int j = 0; j < p; j++) {
            double gjj = G[(size_t)j * p + j];
            if (gjj == 0) continue;
            double wold = w[j], tmp = q[j] + gjj * wold;
            double wnew = fabs(tmp) > l1 ? copysign(fabs(tmp) - l1, tmp) / (gjj + l2) : 0.0;
            if (wnew != wold) {
                double dl = wnew - wold;
                const double *g = G + (size_t)j * p;
#pragma omp simd
                for (int i = 0; i < p; i++) q[i] -= dl * g[i];
                w[j] = wnew;
                if (fabs(dl) > dw_max) dw_max = fabs(dl);
            }
            if (fabs(wnew) > w_max) w_max = fabs(wnew);
        }
        if (w_max == 0 || dw_max / w_max < tol || it == max_iter - 1) {
            double dual = 0, wq0 = 0, wq = 0, w2 = 0, l1n = 0;
            for (int j = 0; j < p; j++) {
                double xa = fabs(q[j] - l2 * w[j]);
                if (xa > dual) dual = xa;
                wq0 += w[j] * q0[j];
                wq += w[j] * q[j];
                w2 += w[j] * w[j];
                l1n += fabs(w[j]);
            }
            double rn2 = yy - wq0 - wq, cst;
            if (dual > l1) {
                cst = l1 / dual;
                gap = 0.5 * (rn2 + rn2 * cst * cst);
            } else {
                cst = 1.0;
                gap = rn2;
            }
            gap += l1 * l1n - cst * (yy - wq0) + 0.5 * l2 * (1 + cst * cst) * w2;
            if (gap < tol_abs) {
                it++;
                break;
            }
        }
    }
    if (gap_out) *gap_out = gap;
    return it;
}

// Centred Gram matrix and cross products of a row subset.
typedef struct {
    int r;
    double *xm, *ym, *G, *Q, *yy;  // (p), (d), (p,p), (p,d) row-major: Q[j*d+t], (d)
} gram;

static void gram_free(gram *g) {
    free(g->xm);
    free(g->ym);
    free(g->G);
    free(g->Q);
    free(g->yy);
    memset(g, 0, sizeof *g);
}

static int gram_fit(gram *g, const double *X, const double *Y, const int *idx, int r, int p, int d) {
    memset(g, 0, sizeof *g);
    g->r = r;
    double *Xc = hy_malloc(sizeof(double) * (size_t)r * p), *Yc = hy_malloc(sizeof(double) * (size_t)r * d);
    g->xm = hy_calloc(p, sizeof(double));
    g->ym = hy_calloc(d, sizeof(double));
    g->G = hy_malloc(sizeof(double) * (size_t)p * p);
    g->Q = hy_malloc(sizeof(double) * (size_t)p * d);
    g->yy = hy_calloc(d, sizeof(double));
    if (!Xc || !Yc || !g->xm || !g->ym || !g->G || !g->Q || !g->yy) {
        free(Xc);
        free(Yc);
        gram_free(g);
        return HY_ENOMEM;
    }
    for (int i = 0; i < r; i++) {
        for (int j = 0; j < p; j++) g->xm[j] += X[(size_t)idx[i] * p + j];
        for (int t = 0; t < d; t++) g->ym[t] += Y[(size_t)idx[i] * d + t];
    }
    for (int j = 0; j < p; j++) g->xm[j] /= r;
    for (int t = 0; t < d; t++) g->ym[t] /= r;
    for (int i = 0; i < r; i++) {
        for (int j = 0; j < p; j++) Xc[(size_t)i * p + j] = X[(size_t)idx[i] * p + j] - g->xm[j];
        for (int t = 0; t < d; t++) {
            double y = Y[(size_t)idx[i] * d + t] - g->ym[t];
            Yc[(size_t)i * d + t] = y;
            g->yy[t] += y * y;
        }
    }
    // G (p, p) = Xc^T Xc (upper triangle, then mirrored); Q (p, d) = Xc^T Yc
    cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, r, 1.0, Xc, p, 0.0, g->G, p);
    for (int i = 0; i < p; i++)
        for (int j = 0; j < i; j++) g->G[(size_t)i * p + j] = g->G[(size_t)j * p + i];
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, d, r, 1.0, Xc, p, Yc, d, 0.0, g->Q, d);
    free(Xc);
    free(Yc);
    return HY_OK;
}

int hy_dec_enet(const double *X, const double *Y, int n, int p, int d, double l1_ratio, int path_len,
             double path_eps, int cv_folds, double fixed_alpha, int max_iter, double tol, double *W,
             double *b, double *chosen) {
    if (!(l1_ratio > 0 && l1_ratio <= 1)) return hy_err(HY_EARG, "elastic net: l1_ratio %g must be in (0, 1]", l1_ratio);
    if (fixed_alpha <= 0 && (path_len < 1 || !(path_eps > 0 && path_eps < 1)))
        return hy_err(HY_EARG, "elastic net: need path length >= 1 and 0 < eps < 1");
    if (fixed_alpha <= 0 && path_len > 1 && (cv_folds < 2 || cv_folds > n))
        return hy_err(HY_EARG, "elastic net: %d folds for %d rows", cv_folds, n);
    if (max_iter < 1 || !(tol > 0)) return hy_err(HY_EARG, "elastic net: max_iter >= 1 and tol > 0 needed");
    int np_ = fixed_alpha > 0 ? 1 : path_len;
    int rc = HY_ENOMEM;
    double t0 = hy_now();
    int *ix = hy_malloc(sizeof(int) * n);
    double *path = hy_malloc(sizeof(double) * (size_t)np_ * d);  // (d, np_) per-target alpha path
    double *err = hy_calloc((size_t)np_ * d, sizeof(double));
    gram full;
    memset(&full, 0, sizeof full);
    if (!ix || !path || !err) goto done;
    for (int i = 0; i < n; i++) ix[i] = i;
    if ((rc = gram_fit(&full, X, Y, ix, n, p, d))) goto done;
    // per-target path from alpha_max = max_j |Xc^T yc|_j / (n rho) (all-zero solution)
    for (int t = 0; t < d; t++) {
        if (fixed_alpha > 0) {
            path[t] = fixed_alpha;
            continue;
        }
        double amax = 0;
        for (int j = 0; j < p; j++)
            if (fabs(full.Q[(size_t)j * d + t]) > amax) amax = fabs(full.Q[(size_t)j * d + t]);
        amax /= (double)n * l1_ratio;
        if (amax <= 0) amax = 1e-12;
        // np.logspace(log10(amax*eps), log10(amax), n)[::-1]
        double lo = log10(amax * path_eps), hi = log10(amax);
        for (int a = 0; a < np_; a++) {
            double e = np_ == 1 ? hi : lo + (hi - lo) * (np_ - 1 - a) / (np_ - 1);
            path[(size_t)t * np_ + a] = pow(10.0, e);
        }
        path[(size_t)t * np_] = amax;
    }

    if (np_ > 1) {
        int *tr = hy_malloc(sizeof(int) * n), *va = hy_malloc(sizeof(int) * n);
        if (!tr || !va) {
            free(tr);
            free(va);
            rc = HY_ENOMEM;
            goto done;
        }
        int start = 0;
        for (int f = 0; f < cv_folds; f++) {
            int sz = n / cv_folds + (f < n % cv_folds ? 1 : 0), nt = 0, nv = 0;
            for (int i = 0; i < n; i++) {
                if (i >= start && i < start + sz) va[nv++] = i;
                else tr[nt++] = i;
            }
            start += sz;
            hy_progress("elastic net path: CV fold", f, cv_folds + 1, t0);
            gram g;
            if ((rc = gram_fit(&g, X, Y, tr, nt, p, d))) break;
            int fail = 0;
#pragma omp parallel
            {
                double *w = malloc(sizeof(double) * p), *q = malloc(sizeof(double) * p);
                double *q0 = malloc(sizeof(double) * p), *pred = malloc(sizeof(double) * nv);
                if (!w || !q || !q0 || !pred) {
#pragma omp atomic write
                    fail = 1;
                }
#pragma omp for schedule(dynamic, 1)
                for (int t = 0; t < d; t++) {
                    if (fail) continue;
                    for (int j = 0; j < p; j++) {
                        w[j] = 0;
                        q0[j] = g.Q[(size_t)j * d + t];
                    }
                    for (int a = 0; a < np_; a++) {
                        hy_dec_enet_cd_gram(g.G, q0, g.yy[t], nt, p, path[(size_t)t * np_ + a], l1_ratio,
                                         max_iter, tol, w, q, NULL);
                        for (int i = 0; i < nv; i++) pred[i] = g.ym[t];
                        for (int j = 0; j < p; j++) {
                            if (w[j] == 0) continue;
                            for (int i = 0; i < nv; i++) pred[i] += w[j] * (X[(size_t)va[i] * p + j] - g.xm[j]);
                        }
                        double s = 0;
                        for (int i = 0; i < nv; i++) {
                            double e = Y[(size_t)va[i] * d + t] - pred[i];
                            s += e * e;
                        }
                        err[(size_t)t * np_ + a] += s / nv / cv_folds;
                    }
                }
                free(w);
                free(q);
                free(q0);
                free(pred);
            }
            gram_free(&g);
            if (fail) {
                rc = hy_err(HY_ENOMEM, "elastic net: out of memory");
                break;
            }
        }
        free(tr);
        free(va);
        if (rc) goto done;
    }

    // choose per target, refit on all rows along the path down to the chosen alpha
    if (np_ > 1) hy_progress("elastic net path: CV fold", cv_folds, cv_folds + 1, t0);
    int fail = 0;
#pragma omp parallel
    {
        double *w = malloc(sizeof(double) * p), *q = malloc(sizeof(double) * p), *q0 = malloc(sizeof(double) * p);
        if (!w || !q || !q0) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int t = 0; t < d; t++) {
            if (fail) continue;
            int best = 0;
            for (int a = 1; a < np_; a++)
                if (err[(size_t)t * np_ + a] < err[(size_t)t * np_ + best]) best = a;
            for (int j = 0; j < p; j++) {
                w[j] = 0;
                q0[j] = full.Q[(size_t)j * d + t];
            }
            for (int a = 0; a <= best; a++)
                hy_dec_enet_cd_gram(full.G, q0, full.yy[t], n, p, path[(size_t)t * np_ + a], l1_ratio, max_iter,
                                 tol, w, q, NULL);
            chosen[t] = path[(size_t)t * np_ + best];
            double bb = full.ym[t];
            for (int j = 0; j < p; j++) {
                W[(size_t)t * p + j] = w[j];
                bb -= w[j] * full.xm[j];
            }
            b[t] = bb;
        }
        free(w);
        free(q);
        free(q0);
    }
    if (np_ > 1) hy_progress("elastic net path: CV fold", cv_folds + 1, cv_folds + 1, t0);
    rc = fail ? hy_err(HY_ENOMEM, "elastic net: out of memory") : HY_OK;
done:
    free(ix);
    free(path);
    free(err);
    gram_free(&full);
    return rc;
}

// --- trainer (the kind table's entry for lasso and elasticnet) --------------------------------

int hy_dec_train_enet(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    double *W = hy_malloc(sizeof(double) * (size_t)v * d), *b = hy_malloc(sizeof(double) * d);
    double *alpha = hy_malloc(sizeof(double) * d);
    int rc = W && b && alpha ? hy_dec_enet(X, Y, n, v, d, o->l1_ratio, o->path_len, o->path_eps, o->cv_folds,
                                           o->fixed_alpha, o->max_iter, o->tol, W, b, alpha)
                             : HY_ENOMEM;
    if (!rc) {
        if (o->fixed_alpha > 0) snprintf(dec->cv, sizeof dec->cv, "none");
        else snprintf(dec->cv, sizeof dec->cv, "kfold%d", o->cv_folds);
        dec->l1_ratio = o->l1_ratio;
        hy_dec_set_linear(dec, W, b);
        hy_dec_keep_alpha(dec, alpha, d);
        alpha = NULL;
    }
    free(W);
    free(b);
    free(alpha);
    return rc;
}
