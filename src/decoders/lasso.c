// lasso.c - lasso and elastic net by cyclic coordinate descent along a regularisation path with
// warm starts, strong rules and working sets (enet_path.c), with K-fold selection of one
// penalty per target.
//
// Objective per target (scikit-learn's ElasticNet / Lasso, which fit each column of a 2-D y
// independently):  1/(2n) ||y - Xw - b||^2 + alpha*rho*|w|_1 + alpha*(1-rho)/2 * ||w||^2.
// The intercept is unpenalised (X, y centred). The coordinate update and the duality-gap
// stopping rule follow sklearn's enet_coordinate_descent_gram: sweeps stop once the largest
// coefficient change relative to the largest coefficient is < tol and the duality gap is
// < tol * ||y_c||^2. Working through G = Xc^T Xc makes a sweep over m features O(m) plus O(m)
// per coefficient that changes; the path solver runs it on working sets of a few hundred
// features instead of all of them.
// Targets are solved in parallel (OpenMP, no BLAS inside the parallel region).
#include <cblas.h>  // cblas_dsyrk, cblas_dgemm
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/threads.h"  // hy_get_threads, hy_thread_id
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

void hy_dec_enet_cfg_default(enet_cfg *c) {
    memset(c, 0, sizeof *c);
    c->l1_ratio = 1.0;
    c->path_len = 20;
    c->path_eps = 0.1;
    c->cv_folds = 5;
    c->max_iter = 1000;
    c->tol = 1e-4;
    c->mode = ENET_AUTO;
}

void hy_enet_alpha_path(double *path, const double *Q, int n, int p, int d, double l1_ratio, int np_, double eps,
                        double fixed_alpha) {
    for (int t = 0; t < d; t++) {
        if (fixed_alpha > 0) {
            path[(size_t)t * np_] = fixed_alpha;
            continue;
        }
        // alpha_max = max_j |Xc^T yc|_j / (n rho): the smallest penalty with the all-zero solution
        double amax = 0;
        for (int j = 0; j < p; j++)
            if (fabs(Q[(size_t)j * d + t]) > amax) amax = fabs(Q[(size_t)j * d + t]);
        amax /= (double)n * l1_ratio;
        if (amax <= 0) amax = 1e-12;
        // np.logspace(log10(amax * eps), log10(amax), n)[::-1], as sklearn's _alpha_grid
        double lo = log10(amax * eps), hi = log10(amax);
        for (int a = 0; a < np_; a++) {
            double e = np_ == 1 ? hi : lo + (hi - lo) * (np_ - 1 - a) / (np_ - 1);
            path[(size_t)t * np_ + a] = pow(10.0, e);
        }
        path[(size_t)t * np_] = amax;
    }
}

static int check_cfg(const enet_cfg *c, int n) {
    if (!(c->l1_ratio > 0 && c->l1_ratio <= 1))
        return hy_err(HY_EARG, "elastic net: l1_ratio %g must be in (0, 1]", c->l1_ratio);
    if (!(c->fixed_alpha >= 0) || !isfinite(c->fixed_alpha))
        return hy_err(HY_EARG, "elastic net: alpha %g must be > 0", c->fixed_alpha);
    if (c->fixed_alpha <= 0 && (c->path_len < 1 || !(c->path_eps > 0 && c->path_eps < 1)))
        return hy_err(HY_EARG, "elastic net: need path length >= 1 and 0 < eps < 1");
    if (c->fixed_alpha <= 0 && c->path_len > 1 && (c->cv_folds < 2 || c->cv_folds > n))
        return hy_err(HY_EARG, "elastic net: %d folds for %d rows", c->cv_folds, n);
    if (c->max_iter < 1 || !(c->tol > 0)) return hy_err(HY_EARG, "elastic net: max_iter >= 1 and tol > 0 needed");
    return HY_OK;
}

// --- the data: centred once, folds by downdating ------------------------------------------------
// Xf = X - mean, Yf = Y - mean over all n rows. A fold's training rows T (all but the held-out
// block V) have mean xm + m with m = -sum_V Xf / nt, and
//   Xc_T^T Xc_T = A - Xf_V^T Xf_V - nt m m^T,   A = Xf^T Xf,
// (the same for Xc_T^T Yc_T and ||yc_T||^2), so one product over all rows plus one over each
// held-out block gives every fold's Gram matrix: "all folds in one pass".
typedef struct {
    int n, p, d;
    double *xm, *ym;  // (p), (d)
    double *Xf, *Yf;  // (n, p), (n, d) centred
    double *A;        // (p, p) Xf^T Xf (Gram mode) or NULL
    double *QA, *yyA; // (p, d) Xf^T Yf, (d)
} enet_data;

typedef struct {
    int nt, v0, nv;   // training rows; held-out rows v0 .. v0 + nv - 1
    double *m, *my;   // (p), (d): training means minus the full means
    double *G;        // (p, p) Gram mode
    double *Xc;       // (nt, p) residual mode: the training rows centred by their own mean
    double *Q, *yy;   // (p, d), (d)
} enet_fold;

static void data_free(enet_data *e) {
    free(e->xm), free(e->ym), free(e->Xf), free(e->Yf), free(e->A), free(e->QA), free(e->yyA);
    memset(e, 0, sizeof *e);
}

static void fold_free(enet_fold *f) {
    free(f->m), free(f->my), free(f->G), free(f->Xc), free(f->Q), free(f->yy);
    memset(f, 0, sizeof *f);
}

// G's lower triangle from its upper one, in 64 x 64 blocks shared among the threads: a row at a
// time read G column-wise, one cache line per element, on one thread (at HYPER size, p = 4096,
// that was a fifth of each fold's set-up).
static void mirror_upper(double *G, int p) {
    const int B = 64, nb = (p + B - 1) / B;
#pragma omp parallel for schedule(dynamic, 1)
    for (int bi = 0; bi < nb; bi++)
        for (int bj = 0; bj <= bi; bj++)
            for (int i = bi * B; i < (bi + 1) * B && i < p; i++)
                for (int j = bj * B; j < (bj + 1) * B && j < i; j++) G[(size_t)i * p + j] = G[(size_t)j * p + i];
}

static int data_fit(enet_data *e, const double *X, const double *Y, int n, int p, int d, int gram) {
    memset(e, 0, sizeof *e);
    e->n = n, e->p = p, e->d = d;
    e->xm = hy_calloc(p, sizeof(double));
    e->ym = hy_calloc(d, sizeof(double));
    e->Xf = hy_malloc(sizeof(double) * (size_t)n * p);
    e->Yf = hy_malloc(sizeof(double) * (size_t)n * d);
    e->QA = hy_malloc(sizeof(double) * (size_t)p * d);
    e->yyA = hy_calloc(d, sizeof(double));
    if (gram) e->A = hy_malloc_huge(sizeof(double) * (size_t)p * p, 0);  // 134 MB at HYPER size: 2 MB pages
    if (!e->xm || !e->ym || !e->Xf || !e->Yf || !e->QA || !e->yyA || (gram && !e->A)) {
        data_free(e);
        return HY_ENOMEM;
    }
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < p; j++) e->xm[j] += X[(size_t)i * p + j];
        for (int t = 0; t < d; t++) e->ym[t] += Y[(size_t)i * d + t];
    }
    for (int j = 0; j < p; j++) e->xm[j] /= n;
    for (int t = 0; t < d; t++) e->ym[t] /= n;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < p; j++) e->Xf[(size_t)i * p + j] = X[(size_t)i * p + j] - e->xm[j];
        for (int t = 0; t < d; t++) {
            double y = Y[(size_t)i * d + t] - e->ym[t];
            e->Yf[(size_t)i * d + t] = y;
            e->yyA[t] += y * y;
        }
    }
    // QA (p, d) = Xf^T Yf; A (p, p) = Xf^T Xf (upper triangle, mirrored)
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, d, n, 1.0, e->Xf, p, e->Yf, d, 0.0, e->QA, d);
    if (gram) {
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, n, 1.0, e->Xf, p, 0.0, e->A, p);
        mirror_upper(e->A, p);
    }
    return HY_OK;
}

// Buffers of a fold (allocated once, reused by every fold: the Gram matrix is large).
static int fold_alloc(enet_fold *f, const enet_data *e) {
    const int n = e->n, p = e->p, d = e->d;
    memset(f, 0, sizeof *f);
    f->m = hy_malloc(sizeof(double) * p);
    f->my = hy_malloc(sizeof(double) * d);
    f->Q = hy_malloc(sizeof(double) * (size_t)p * d);
    f->yy = hy_malloc(sizeof(double) * d);
    if (e->A) f->G = hy_malloc_huge(sizeof(double) * (size_t)p * p, 0);
    else f->Xc = hy_malloc(sizeof(double) * (size_t)n * p);
    if (!f->m || !f->my || !f->Q || !f->yy || (e->A ? !f->G : !f->Xc)) {
        fold_free(f);
        return HY_ENOMEM;
    }
    return HY_OK;
}

// The fold with held-out rows v0 .. v0 + nv - 1 (buffers from fold_alloc).
static void fold_fit(enet_fold *f, const enet_data *e, int v0, int nv) {
    const int n = e->n, p = e->p, d = e->d, nt = n - nv;
    f->nt = nt, f->v0 = v0, f->nv = nv;
    memset(f->m, 0, sizeof(double) * p);
    memset(f->my, 0, sizeof(double) * d);
    const double *XV = e->Xf + (size_t)v0 * p, *YV = e->Yf + (size_t)v0 * d;
    for (int i = 0; i < nv; i++) {
        for (int j = 0; j < p; j++) f->m[j] -= XV[(size_t)i * p + j];
        for (int t = 0; t < d; t++) f->my[t] -= YV[(size_t)i * d + t];
    }
    for (int j = 0; j < p; j++) f->m[j] /= nt;
    for (int t = 0; t < d; t++) f->my[t] /= nt;
    // yy_T = sum_all yf^2 - sum_V yf^2 - nt my^2
    for (int t = 0; t < d; t++) {
        double s = e->yyA[t];
        for (int i = 0; i < nv; i++) s -= YV[(size_t)i * d + t] * YV[(size_t)i * d + t];
        f->yy[t] = s - nt * f->my[t] * f->my[t];
    }
    // Q_T = QA - Xf_V^T Yf_V - nt m my^T
    memcpy(f->Q, e->QA, sizeof(double) * (size_t)p * d);
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, p, d, nv, -1.0, XV, p, YV, d, 1.0, f->Q, d);
    cblas_dger(CblasRowMajor, p, d, -(double)nt, f->m, 1, f->my, 1, f->Q, d);
    if (f->G) {
        // G_T = A - Xf_V^T Xf_V - nt m m^T
        memcpy(f->G, e->A, sizeof(double) * (size_t)p * p);
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, p, nv, -1.0, XV, p, 1.0, f->G, p);
        cblas_dsyr(CblasRowMajor, CblasUpper, p, -(double)nt, f->m, 1, f->G, p);
        mirror_upper(f->G, p);
    } else {
        // the training rows centred by their own mean: Xf_i - m
        int k = 0;
        for (int i = 0; i < n; i++) {
            if (i >= v0 && i < v0 + nv) continue;
            const double *src = e->Xf + (size_t)i * p;
            double *dst = f->Xc + (size_t)k++ * p;
            for (int j = 0; j < p; j++) dst[j] = src[j] - f->m[j];
        }
    }
}

// --- the path for every target of one system -------------------------------------------------
// Runs each target's path (its penalties path[t * np_ ..], first `upto[t]` + 1 of them, or all
// when upto is NULL) on system s with cross products Q (p, d) and ||yc||^2 yy (d), targets in
// parallel. With a fold (held-out rows of e), adds each penalty's held-out MSE / K to err
// (d, np_); without one, writes the last penalty's coefficients into W (d, p).
// The targets are taken longest first (order: the previous system's time per target, see
// order_targets): dynamic scheduling then leaves a thread idle only for the last, shortest ones
// (8 targets on 2 threads: one path took 0.10 s, the others 0.06-0.08 s).
typedef struct {
    const enet_cfg *c;
    const enet_data *e;
    const enet_sys *s;
    const double *Q, *yy, *path;
    int np_;
    const int *order;  // the targets in the order they are handed out (d)
    double *secs;      // each target's time on this system (d), written
    enet_ws *wss;      // one workspace per thread (nws), kept from one system to the next: its
    int nws;           // working-set blocks (up to 2 x 32 MB at HYPER size) are then faulted in
                       // once per thread, not once per fold (page faults were 16 % of lasso's time)
} path_job;

static int run_paths(const path_job *j, const enet_fold *f, const int *upto, double *err, double *W) {
    const int p = j->e->p, d = j->e->d, np_ = j->np_;
    int fail = 0;
#pragma omp parallel num_threads(j->nws)
    {
        enet_ws *wsp = &j->wss[hy_thread_id()];
        double *q0 = malloc(sizeof(double) * p), *pred = f ? malloc(sizeof(double) * f->nv) : NULL;
        int ok = (wsp->p || !hy_enet_ws_init(wsp, p)) && q0 && (!f || pred);
        if (wsp->p) hy_enet_ws_new_system(wsp);
        if (!ok) {
#pragma omp atomic write
            fail = 1;
        }
#pragma omp for schedule(dynamic, 1)
        for (int i = 0; i < d; i++) {
            const int t = j->order[i];
            const double t0 = hy_now();
            if (fail) continue;
            for (int k = 0; k < p; k++) q0[k] = j->Q[(size_t)k * d + t];
            hy_enet_ws_start(wsp, q0);
            const double *al = j->path + (size_t)t * np_;
            int last = upto ? upto[t] : np_ - 1;
            for (int a = 0; a <= last && !fail; a++) {
                if (hy_enet_path_step(j->s, wsp, q0, j->yy[t], al[a], al[a > 0 ? a - 1 : 0], j->c->l1_ratio,
                                      j->c->max_iter, j->c->tol)) {
#pragma omp atomic write
                    fail = 1;
                    break;
                }
                if (!f) continue;
                // held-out rows: y_i - (ym_T + sum_j w_j (X_ij - xm_T,j)), with X - xm_T = Xf - m
                const double ymt = j->e->ym[t] + f->my[t];
                for (int i = 0; i < f->nv; i++) pred[i] = ymt;
                for (int k = 0; k < wsp->m; k++) {
                    int jj = wsp->feat[k];
                    double wj = wsp->ws_[k];
                    if (wj == 0) continue;
                    const double *xf = j->e->Xf + (size_t)f->v0 * p + jj;
                    for (int i = 0; i < f->nv; i++) pred[i] += wj * (xf[(size_t)i * p] - f->m[jj]);
                }
                double se = 0;
                for (int i = 0; i < f->nv; i++) {
                    double r = j->e->Yf[(size_t)(f->v0 + i) * d + t] + j->e->ym[t] - pred[i];
                    se += r * r;
                }
                err[(size_t)t * np_ + a] += se / f->nv / j->c->cv_folds;
            }
            if (W) memcpy(W + (size_t)t * p, wsp->w, sizeof(double) * p);
            j->secs[t] = hy_now() - t0;
        }
        free(q0);
        free(pred);
    }
    return fail ? hy_err(HY_ENOMEM, "elastic net: out of memory") : HY_OK;
}

// order (d): the targets by expected time, longest first: secs[t] times the share of the path
// still to run (all of it, or upto[t] + 1 of np_ penalties); ties in target order (an insertion
// sort, stable; d is at most a few hundred).
static void order_targets(int *order, double *key, const double *secs, const int *upto, int np_, int d) {
    for (int t = 0; t < d; t++) {
        key[t] = secs[t] * (upto ? (upto[t] + 1.0) / np_ : 1.0);
        int i = t;
        for (; i > 0 && key[order[i - 1]] < key[t]; i--) order[i] = order[i - 1];
        order[i] = t;
    }
}

static enet_mode pick_mode(const enet_cfg *c, int p) {
    if (c->mode != ENET_AUTO) return c->mode;
    // The whole Gram matrix costs n p^2 per fold in one BLAS-3 product (dsyrk, fast); rows on
    // demand cost n p per row in plain loops, and a working set reaches a few hundred to a few
    // thousand features along a path (at HYPER size 1000-2000 of 4096, so 4 targets already took
    // 28 CPU-s that way against 6 with the matrix). So the matrix, whenever it fits in 2 GiB.
    return 8.0 * p * p <= 2.0 * 1024 * 1024 * 1024 ? ENET_GRAM : ENET_RESIDUAL;
}

// Elastic net with CV over a path for every target (see decoders.h): the data centred once,
// per fold a system (Gram matrix or centred rows) and every target's path on it, then the
// refit of each target along its path down to its chosen penalty.
int hy_dec_enet_fit(const enet_cfg *c, const double *X, const double *Y, int n, int p, int d, double *W, double *b,
                    double *chosen) {
    int rc = check_cfg(c, n);
    if (rc) return rc;
    enet_mode mode = pick_mode(c, p);
    if (mode == ENET_PLAIN) return hy_dec_enet_plain(c, X, Y, n, p, d, W, b, chosen);
    const int np_ = c->fixed_alpha > 0 ? 1 : c->path_len, K = c->cv_folds;
    double t0 = hy_now();
    double *path = hy_malloc(sizeof(double) * (size_t)np_ * d), *err = hy_calloc((size_t)np_ * d, sizeof(double));
    int *best = hy_calloc(d, sizeof(int)), *order = hy_malloc(sizeof(int) * d);
    double *secs = hy_calloc((size_t)2 * d, sizeof(double)), *key = secs ? secs + d : NULL;
    const int nws = hy_get_threads();
    enet_ws *wss = hy_calloc(nws, sizeof *wss);  // made by the threads at first use
    enet_data e;
    memset(&e, 0, sizeof e);
    if (!path || !err || !best || !order || !secs || !wss ||
        (rc = data_fit(&e, X, Y, n, p, d, mode == ENET_GRAM))) {
        rc = rc ? rc : HY_ENOMEM;
        goto done;
    }
    hy_enet_alpha_path(path, e.QA, n, p, d, c->l1_ratio, np_, c->path_eps, c->fixed_alpha);
    if (np_ > 1) {
        enet_fold fd;
        if ((rc = fold_alloc(&fd, &e))) goto done;
        int v0 = 0;
        for (int f = 0; f < K && !rc; f++) {
            // contiguous folds, the first n % K one row larger (sklearn's KFold without shuffling)
            int nv = n / K + (f < n % K ? 1 : 0);
            hy_progress("elastic net path: CV fold", f, K + 1, t0);
            fold_fit(&fd, &e, v0, nv);
            enet_sys s = {fd.nt, p, fd.G, fd.Xc};
            order_targets(order, key, secs, NULL, np_, d);  // (the first fold: all zero, target order)
            path_job j = {c, &e, &s, fd.Q, fd.yy, path, np_, order, secs, wss, nws};
            rc = run_paths(&j, &fd, NULL, err, NULL);
            v0 += nv;
        }
        fold_free(&fd);
        if (rc) goto done;
        hy_progress("elastic net path: CV fold", K, K + 1, t0);
        for (int t = 0; t < d; t++)
            for (int a = 1; a < np_; a++)
                if (err[(size_t)t * np_ + a] < err[(size_t)t * np_ + best[t]]) best[t] = a;
    }
    // refit on all rows along each target's path down to its chosen penalty
    enet_sys s = {n, p, e.A, e.A ? NULL : e.Xf};
    order_targets(order, key, secs, best, np_, d);
    path_job j = {c, &e, &s, e.QA, e.yyA, path, np_, order, secs, wss, nws};
    if ((rc = run_paths(&j, NULL, best, NULL, W))) goto done;
    for (int t = 0; t < d; t++) {
        chosen[t] = path[(size_t)t * np_ + best[t]];
        double bb = e.ym[t];
        for (int k = 0; k < p; k++) bb -= W[(size_t)t * p + k] * e.xm[k];
        b[t] = bb;
    }
    if (np_ > 1) hy_progress("elastic net path: CV fold", K + 1, K + 1, t0);
done:
    free(path);
    free(err);
    free(best);
    free(order);
    free(secs);
    for (int i = 0; wss && i < nws; i++)
        if (wss[i].p) hy_enet_ws_free(&wss[i]);
    free(wss);
    data_free(&e);
    return rc;
}

// --- trainer (the kind table's entry for lasso and elasticnet) --------------------------------

int hy_dec_train_enet(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    double *W = hy_malloc(sizeof(double) * (size_t)v * d), *b = hy_malloc(sizeof(double) * d);
    double *alpha = hy_malloc(sizeof(double) * d);
    enet_cfg c;
    hy_dec_enet_cfg_default(&c);
    c.l1_ratio = o->l1_ratio;
    c.path_len = o->path_len;
    c.path_eps = o->path_eps;
    c.cv_folds = o->cv_folds;
    c.fixed_alpha = o->fixed_alpha;
    c.max_iter = o->max_iter;
    c.tol = o->tol;
    int rc = W && b && alpha ? hy_dec_enet_fit(&c, X, Y, n, v, d, W, b, alpha) : HY_ENOMEM;
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
