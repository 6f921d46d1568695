// enet_path.c - one elastic-net penalty of a path, solved on a working set: sequential strong
// rule, coordinate descent on the working set's Gram block (with active-set cycling), KKT
// check of every other feature.
//
// For a centred problem (r rows, p features; q0 = Xc^T yc) and penalty alpha, with
// l1 = alpha * l1_ratio * r and l2 = alpha * (1 - l1_ratio) * r:
//   1. Strong rule (Tibshirani et al. 2012, "Strong rules for discarding predictors in
//      lasso-type problems", sequential rule; the elastic net's l1 part has the same form):
//      from the previous penalty's solution w and its gradient q = q0 - G w (kept for every
//      feature), features with |q_j| >= 2 l1 - l1_prev join the working set. The working set
//      of a target only grows along its path (features that were strong once stay; at zero
//      they cost one check per sweep), so its Gram block is extended, never rebuilt: a new
//      feature's row of the block is gathered from its Gram row, its column is the same
//      numbers (G is symmetric).
//   2. Coordinate descent on the working set, in ascending feature order, with the update and
//      stopping rule of scikit-learn's enet_coordinate_descent_gram (sweeps until the largest
//      coefficient change relative to the largest coefficient is < tol, then the duality gap
//      must be < tol ||yc||^2), with glmnet's active-set cycling in between: after each full
//      sweep the non-zero coefficients alone are swept on their own compact Gram block until
//      their changes are small, then a full sweep again (Friedman, Hastie & Tibshirani 2010,
//      "Regularization paths for generalized linear models via coordinate descent", 2.6).
//   3. KKT check: q is recomputed for every feature; a feature outside the working set with
//      |q_j| > l1 would enter the model, so it joins the set and step 2 runs again. When no
//      feature violates, the working set's duality gap is the full problem's (the left-out
//      features are zero and their |q_j| <= l1 cannot raise the dual norm beyond l1's
//      scaling), so the answer meets the same criterion as coordinate descent over all of
//      them (src/decoders/enet_plain.c, the naive twin).
// Gram rows come from the whole matrix (shared by every target of a fold) or are computed
// from the centred rows Xc when a feature first needs one (kept for the thread's later
// targets of the same system). Nothing here calls BLAS: targets run in parallel OpenMP threads;
// the gradient updates go through hy_axpy_sub_f64 (nn/axpy.h, vectorised per ISA, same bits).
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"
#include "nn/axpy.h"

int hy_enet_ws_init(enet_ws *ws, int p) {
    memset(ws, 0, sizeof *ws);
    ws->p = p;
    ws->w = hy_calloc(p, sizeof(double));
    ws->q = hy_calloc(p, sizeof(double));
    ws->slot = hy_malloc(sizeof(int) * p);
    ws->feat = hy_malloc(sizeof(int) * p);
    ws->order = hy_malloc(sizeof(int) * p);
    ws->tmp = hy_malloc(sizeof(int) * p);
    ws->rows = hy_calloc(p, sizeof(double *));
    if (!ws->w || !ws->q || !ws->slot || !ws->feat || !ws->order || !ws->tmp || !ws->rows) {
        hy_enet_ws_free(ws);
        return HY_ENOMEM;
    }
    for (int j = 0; j < p; j++) ws->slot[j] = -1;
    return HY_OK;
}

void hy_enet_ws_new_system(enet_ws *ws) {
    for (int j = 0; j < ws->p; j++) {
        free(ws->rows[j]);
        ws->rows[j] = NULL;
    }
}

void hy_enet_ws_free(enet_ws *ws) {
    if (ws->rows)
        for (int j = 0; j < ws->p; j++) free(ws->rows[j]);
    free(ws->rows);
    free(ws->w);
    free(ws->q);
    free(ws->slot);
    free(ws->feat);
    free(ws->order);
    free(ws->tmp);
    free(ws->Gss);
    free(ws->q0s);
    free(ws->ws_);
    free(ws->qs);
    free(ws->Gaa);
    free(ws->act);
    free(ws->qa);
    free(ws->wa);
    memset(ws, 0, sizeof *ws);
}

void hy_enet_ws_start(enet_ws *ws, const double *q0) {
    for (int a = 0; a < ws->m; a++) ws->slot[ws->feat[a]] = -1;
    ws->m = 0;
    memset(ws->w, 0, sizeof(double) * ws->p);
    memcpy(ws->q, q0, sizeof(double) * ws->p);
}

// Gram row j (p): from the system's matrix, or computed from Xc (r, p) and cached.
static const double *gram_row(const enet_sys *s, enet_ws *ws, int j) {
    if (s->G) return s->G + (size_t)j * s->p;
    if (ws->rows[j]) return ws->rows[j];
    const int p = s->p;
    double *row = calloc((size_t)p, sizeof(double));
    if (!row) return NULL;
    for (int i = 0; i < s->r; i++) {
        const double *x = s->Xc + (size_t)i * p;
        const double xj = x[j];
        if (xj == 0) continue;
#pragma omp simd
        for (int k = 0; k < p; k++) row[k] += xj * x[k];
    }
    ws->rows[j] = row;
    return row;
}

// Room for m working-set features: the block (cap, cap) keeps its entries when it grows.
static int ensure_cap(enet_ws *ws, int m) {
    if (m <= ws->cap) return HY_OK;
    int cap = ws->cap ? ws->cap : 64;
    while (cap < m) cap *= 2;
    if (cap > ws->p) cap = ws->p;
    double *G = malloc(sizeof(double) * (size_t)cap * cap);
    double *q0s = malloc(sizeof(double) * cap), *w = malloc(sizeof(double) * cap), *q = malloc(sizeof(double) * cap);
    double *Gaa = malloc(sizeof(double) * (size_t)cap * cap), *qa = malloc(sizeof(double) * cap);
    double *wa = malloc(sizeof(double) * cap);
    int *act = malloc(sizeof(int) * cap);
    if (!G || !q0s || !w || !q || !Gaa || !qa || !wa || !act) {
        free(G), free(q0s), free(w), free(q), free(Gaa), free(qa), free(wa), free(act);
        return HY_ENOMEM;
    }
    for (int a = 0; a < ws->m; a++) memcpy(G + (size_t)a * cap, ws->Gss + (size_t)a * ws->cap, sizeof(double) * ws->m);
    if (ws->m) {
        memcpy(q0s, ws->q0s, sizeof(double) * ws->m);
        memcpy(w, ws->ws_, sizeof(double) * ws->m);
    }
    free(ws->Gss), free(ws->q0s), free(ws->ws_), free(ws->qs), free(ws->Gaa), free(ws->qa), free(ws->wa), free(ws->act);
    ws->Gss = G, ws->q0s = q0s, ws->ws_ = w, ws->qs = q, ws->Gaa = Gaa, ws->qa = qa, ws->wa = wa, ws->act = act;
    ws->cap = cap;
    return HY_OK;
}

// Adds features add[0 .. k) to the working set: their rows and columns of the block, their
// q0, and the sweep order (working-set slots by ascending feature index).
static int add_features(const enet_sys *s, enet_ws *ws, const double *q0, const int *add, int k) {
    if (!k) return HY_OK;
    int m0 = ws->m, m = m0 + k;
    if (ensure_cap(ws, m)) return HY_ENOMEM;
    const size_t cap = (size_t)ws->cap;
    for (int i = 0; i < k; i++) {
        ws->feat[m0 + i] = add[i];
        ws->slot[add[i]] = m0 + i;
    }
    for (int i = 0; i < k; i++) {
        int a = m0 + i;
        const double *g = gram_row(s, ws, add[i]);
        if (!g) return HY_ENOMEM;
        double *row = ws->Gss + (size_t)a * cap;
        for (int b = 0; b < m; b++) row[b] = g[ws->feat[b]];
        for (int b = 0; b < m0; b++) ws->Gss[(size_t)b * cap + a] = row[b];
        ws->q0s[a] = q0[add[i]];
        ws->ws_[a] = ws->w[add[i]];
    }
    ws->m = m;
    // sweep order: merge the new slots into the ascending order of the old ones
    int n_old = m0, at = m;
    for (int i = k - 1; i >= 0; i--) {  // add[] is ascending
        while (n_old > 0 && ws->feat[ws->order[n_old - 1]] > add[i]) ws->order[--at] = ws->order[--n_old];
        ws->order[--at] = m0 + i;
    }
    return HY_OK;
}

// One coordinate update of slot a on a block with row stride `ld`: returns the change of w[a]
// and updates q (len entries) by it. As sklearn's enet_coordinate_descent_gram:
// tmp = q_a + G_aa w_a, w_a = soft(tmp, l1) / (G_aa + l2).
static inline double cd_update(const double *G, size_t ld, double *q, double *w, int a, int len, double l1, double l2) {
    const double *g = G + (size_t)a * ld;
    double gaa = g[a];
    if (gaa == 0) return 0;
    double wold = w[a], tmp = q[a] + gaa * wold;
    double wnew = fabs(tmp) > l1 ? copysign(fabs(tmp) - l1, tmp) / (gaa + l2) : 0.0;
    if (wnew == wold) return 0;
    double dl = wnew - wold;
    hy_axpy_sub_f64(q, g, dl, len);
    w[a] = wnew;
    return dl;
}

// Duality gap (sklearn's formula) of a problem in m coefficients w with q = q0 - G w.
static double gap_of(const double *w_, const double *q_, const double *q0_, int m, double yy, double l1, double l2) {
    double dual = 0, wq0 = 0, wq = 0, w2 = 0, l1n = 0;
    for (int a = 0; a < m; a++) {
        double w = w_[a], xa = fabs(q_[a] - l2 * w);
        if (xa > dual) dual = xa;
        wq0 += w * q0_[a];
        wq += w * q_[a];
        w2 += w * w;
        l1n += fabs(w);
    }
    double rn2 = yy - wq0 - wq, cst = 1.0, gap;
    if (dual > l1) {
        cst = l1 / dual;
        gap = 0.5 * (rn2 + rn2 * cst * cst);
    } else {
        gap = rn2;
    }
    return gap + l1 * l1n - cst * (yy - wq0) + 0.5 * l2 * (1 + cst * cst) * w2;
}

// Active-set cycling: sweeps the non-zero coefficients on their compact block until their
// largest change relative to the largest coefficient is < tol (or `budget` sweeps), then brings
// q of the whole working set up to date. Returns the sweeps made.
static int cycle_active(enet_ws *ws, double l1, double l2, double tol, int budget) {
    const size_t cap = (size_t)ws->cap;
    int na = 0;
    for (int k = 0; k < ws->m; k++) {
        int a = ws->order[k];
        if (ws->ws_[a] != 0) ws->act[na++] = a;
    }
    if (na == 0 || budget < 1) return 0;
    for (int i = 0; i < na; i++) {
        const double *g = ws->Gss + (size_t)ws->act[i] * cap;
        double *dst = ws->Gaa + (size_t)i * na;
        for (int k = 0; k < na; k++) dst[k] = g[ws->act[k]];
        ws->qa[i] = ws->qs[ws->act[i]];
        ws->wa[i] = ws->ws_[ws->act[i]];
    }
    int it = 0;
    while (it < budget) {
        it++;
        double w_max = 0, dw_max = 0;
        for (int i = 0; i < na; i++) {
            double dl = cd_update(ws->Gaa, (size_t)na, ws->qa, ws->wa, i, na, l1, l2);
            if (fabs(dl) > dw_max) dw_max = fabs(dl);
            if (fabs(ws->wa[i]) > w_max) w_max = fabs(ws->wa[i]);
        }
        if (w_max == 0 || dw_max / w_max < tol) break;
    }
    // q over the working set: subtract the changes' columns (rows, by symmetry)
    for (int i = 0; i < na; i++) {
        int a = ws->act[i];
        double dl = ws->wa[i] - ws->ws_[a];
        if (dl == 0) continue;
        const double *g = ws->Gss + (size_t)a * cap;
        double *q = ws->qs;
        hy_axpy_sub_f64(q, g, dl, ws->m);
        ws->ws_[a] = ws->wa[i];
    }
    return it;
}

// Coordinate descent on the working set until sklearn's criterion holds (or max_iter sweeps).
static void solve_working_set(enet_ws *ws, double yy, double l1, double l2, int max_iter, double tol) {
    const size_t cap = (size_t)ws->cap;
    const int m = ws->m;
    // qs = q0s - Gss ws
    memcpy(ws->qs, ws->q0s, sizeof(double) * m);
    for (int a = 0; a < m; a++) {
        double w = ws->ws_[a];
        if (w == 0) continue;
        const double *g = ws->Gss + (size_t)a * cap;
        hy_axpy_sub_f64(ws->qs, g, w, m);
    }
    const double tol_abs = tol * yy;
    for (int it = 0; it < max_iter;) {
        // a full sweep in feature order
        double w_max = 0, dw_max = 0;
        int entered = 0;
        for (int k = 0; k < m; k++) {
            int a = ws->order[k];
            double before = ws->ws_[a], dl = cd_update(ws->Gss, cap, ws->qs, ws->ws_, a, m, l1, l2);
            entered |= before == 0 && dl != 0;
            if (fabs(dl) > dw_max) dw_max = fabs(dl);
            if (fabs(ws->ws_[a]) > w_max) w_max = fabs(ws->ws_[a]);
        }
        it++;
        ws->sweeps++;
        if (w_max == 0 || (dw_max / w_max < tol && !entered) || it == max_iter) {
            if (gap_of(ws->ws_, ws->qs, ws->q0s, m, yy, l1, l2) < tol_abs || it == max_iter) return;
        }
        int c = cycle_active(ws, l1, l2, tol, max_iter - it);
        it += c;
        ws->sweeps += c;
    }
}

// q = q0 - G w over every feature, from the rows of the non-zero coefficients.
static int full_gradient(const enet_sys *s, enet_ws *ws, const double *q0) {
    const int p = s->p;
    double *q = ws->q;
    memcpy(q, q0, sizeof(double) * p);
    for (int a = 0; a < ws->m; a++) {
        double wj = ws->ws_[a];
        if (wj == 0) continue;
        const double *g = gram_row(s, ws, ws->feat[a]);
        if (!g) return HY_ENOMEM;
        hy_axpy_sub_f64(q, g, wj, p);
    }
    return HY_OK;
}

int hy_enet_path_step(const enet_sys *s, enet_ws *ws, const double *q0, double yy, double alpha, double prev_alpha,
                      double l1_ratio, int max_iter, double tol) {
    const int p = s->p;
    const double l1 = alpha * l1_ratio * s->r, l2 = alpha * (1.0 - l1_ratio) * s->r;
    const double thresh = (2 * alpha - prev_alpha) * l1_ratio * s->r;
    int *tmp = ws->tmp, k = 0;
    // 1. strong features not yet in the working set (non-zero ones always are)
    for (int j = 0; j < p; j++)
        if (ws->slot[j] < 0 && fabs(ws->q[j]) >= thresh) tmp[k++] = j;
    int rc = add_features(s, ws, q0, tmp, k);
    while (!rc) {
        // 2. coordinate descent on the working set
        if (ws->m > 0) solve_working_set(ws, yy, l1, l2, max_iter, tol);
        for (int a = 0; a < ws->m; a++) ws->w[ws->feat[a]] = ws->ws_[a];
        // 3. KKT for the features left out: zero is optimal for j iff |q_j| <= l1
        if ((rc = full_gradient(s, ws, q0))) break;
        k = 0;
        for (int j = 0; j < p; j++)
            if (ws->slot[j] < 0 && fabs(ws->q[j]) > l1) tmp[k++] = j;
        ws->kkt_added += k;
        if (!k) break;
        rc = add_features(s, ws, q0, tmp, k);
    }
    return rc;
}
