// enet_plain.c - the naive twin of the elastic-net path (src/decoders/lasso.c): for every
// penalty, cyclic coordinate descent over all features with the whole Gram matrix of each fold
// (computed from the fold's rows), keeping q = Xc^T r up to date for every feature after each
// coefficient change. This is the solver hyper used before strong rules and working sets
// (enet_path.c); tests/test_dec_parity.c checks that both give the same penalties and
// coefficients, and tests/bench/lasso.sh times both (mode "plain").
#include <cblas.h>  // cblas_dsyrk, cblas_dgemm
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"

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

// Long (about 130 lines) and kept whole on purpose: this is the naive twin that the fast path
// (lasso.c, enet_path.c) is tested against, kept as the single loop nest hyper used before
// those optimisations (path, K-fold CV over every target, choice, refit), so that it reads top
// to bottom next to scikit-learn's ElasticNetCV without following helpers; splitting it would
// also make it drift from the form test_dec_parity.c and tests/bench/lasso.sh describe.
int hy_dec_enet_plain(const enet_cfg *c, const double *X, const double *Y, int n, int p, int d, double *W, double *b,
                      double *chosen) {
    const double l1_ratio = c->l1_ratio, path_eps = c->path_eps, fixed_alpha = c->fixed_alpha, tol = c->tol;
    const int path_len = c->path_len, cv_folds = c->cv_folds, max_iter = c->max_iter;
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
    hy_enet_alpha_path(path, full.Q, n, p, d, l1_ratio, np_, path_eps, fixed_alpha);

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

