// pls.c - partial least squares regression (scikit-learn's PLSRegression with scale=False,
// NIPALS deflation in regression mode), each component's weight vector computed to
// convergence, and the decoder kind `pls` (a linear layer; the number of components optionally
// chosen by K-fold CV).
//
// Why "to convergence": sklearn's NIPALS finds each weight vector w by power iteration on
// Xk^T Yk Yk^T Xk and stops when ||w_i - w_{i-1}||^2 < tol (1e-6 by default), which leaves w
// about 1e-3 away from the dominant singular vector it converges to (the coefficients ~6e-4
// relative). Here w is that singular vector, from a symmetric eigensolver (LAPACK dsyevr, the
// largest eigenpair only) on the smaller of (Xk^T Yk)^T (Xk^T Yk) (d, d) and
// (Xk^T Yk)(Xk^T Yk)^T (v, v); PLSRegression(tol=1e-12, max_iter=10000) agrees with it.
// Xk^T Yk is kept up to date by the rank-one deflation identity
// Xk+1^T Yk+1 = Xk^T Yk - (t.t) p q^T (p = Xk^T t / t.t, q = Yk^T t / t.t).
#include <cblas.h>  // cblas_dgemm, cblas_dsyrk, cblas_dgemv
#include <float.h>
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"
#include "nn/lapack.h"  // dsyevr_, dgesdd_

void hy_pls_free(pls_fit *f) {
    free(f->xm), free(f->ym), free(f->R), free(f->Q);
    memset(f, 0, sizeof *f);
}

// The eigenvector of the largest eigenvalue of the symmetric S (m, m) (destroyed) into z (m).
static int top_eigvec(double *S, int m, double *z) {
    int il = m, iu = m, found = 0, info = 0, lwork = -1, liwork = -1, iwq;
    double vl = 0, vu = 0, abstol = 0, wq, ev;
    int *isuppz = hy_malloc(sizeof(int) * 2);
    if (!isuppz) return HY_ENOMEM;
    dsyevr_("V", "I", "U", &m, S, &m, &vl, &vu, &il, &iu, &abstol, &found, &ev, z, &m, isuppz, &wq, &lwork, &iwq,
            &liwork, &info);
    lwork = (int)wq + 1;
    liwork = iwq;
    double *work = hy_malloc(sizeof(double) * (size_t)lwork);
    int *iwork = hy_malloc(sizeof(int) * (size_t)liwork);
    if (!work || !iwork) {
        free(work), free(iwork), free(isuppz);
        return HY_ENOMEM;
    }
    dsyevr_("V", "I", "U", &m, S, &m, &vl, &vu, &il, &iu, &abstol, &found, &ev, z, &m, isuppz, work, &lwork, iwork,
            &liwork, &info);
    free(work), free(iwork), free(isuppz);
    if (info != 0 || found != 1) return hy_err(HY_EVALUE, "pls: eigensolver failed (dsyevr info %d)", info);
    return HY_OK;
}

// Moore-Penrose inverse of the (K, K) matrix A (destroyed) into Ai, as scipy.linalg.pinv 1.10
// (singular values below max(K, K) * eps * s_max are dropped).
static int pinv(double *A, int K, double *Ai) {
    double *s = hy_malloc(sizeof(double) * K), *U = hy_malloc(sizeof(double) * (size_t)K * K);
    double *Vt = hy_malloc(sizeof(double) * (size_t)K * K);
    int *iw = hy_malloc(sizeof(int) * 8 * (size_t)K), info = 0, lwork = -1;
    double wq;
    int rc = s && U && Vt && iw ? HY_OK : HY_ENOMEM;
    if (!rc) {
        // row-major A is column-major A^T = V S U^T: LAPACK's U and VT of A^T are our V^T... as
        // matrices in memory: "u" receives Vt (row-major), "vt" receives U (row-major)
        dgesdd_("S", &K, &K, A, &K, s, Vt, &K, U, &K, &wq, &lwork, iw, &info);
        lwork = (int)wq + 1;
        double *work = hy_malloc(sizeof(double) * (size_t)lwork);
        if (!work) rc = HY_ENOMEM;
        else dgesdd_("S", &K, &K, A, &K, s, Vt, &K, U, &K, work, &lwork, iw, &info);
        free(work);
        if (!rc && info != 0) rc = hy_err(HY_EVALUE, "pls: SVD failed (dgesdd info %d)", info);
    }
    if (!rc) {
        // A = U diag(s) Vt (row-major) -> pinv = Vt^T diag(1/s) U^T
        double cut = K * DBL_EPSILON * s[0];
        for (int i = 0; i < K; i++)
            for (int j = 0; j < K; j++) {
                double acc = 0;
                for (int r = 0; r < K; r++)
                    if (s[r] > cut) acc += Vt[(size_t)r * K + i] * U[(size_t)j * K + r] / s[r];
                Ai[(size_t)i * K + j] = acc;
            }
    }
    free(s), free(U), free(Vt), free(iw);
    return rc;
}

// Xk (n, v) = X - xm, Yk (n, d) = Y - ym with the column means stored in f; returns ||Xk||^2.
static double centre(pls_fit *f, const double *X, const double *Y, int n, double *Xk, double *Yk) {
    const int v = f->v, d = f->d;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < v; j++) f->xm[j] += X[(size_t)i * v + j];
        for (int c = 0; c < d; c++) f->ym[c] += Y[(size_t)i * d + c];
    }
    for (int j = 0; j < v; j++) f->xm[j] /= n;
    for (int c = 0; c < d; c++) f->ym[c] /= n;
    double x_norm2 = 0;
    for (int i = 0; i < n; i++) {
        for (int j = 0; j < v; j++) {
            double x = X[(size_t)i * v + j] - f->xm[j];
            Xk[(size_t)i * v + j] = x;
            x_norm2 += x * x;
        }
        for (int c = 0; c < d; c++) Yk[(size_t)i * d + c] = Y[(size_t)i * d + c] - f->ym[c];
    }
    return x_norm2;
}

// sklearn zeroes the columns of Yk (n, d) that are all below 10 eps (and M's matching columns,
// M (v, d)); returns whether anything is left to explain.
static int drop_explained(double *Yk, double *M, int n, int v, int d) {
    int any = 0;
    for (int c = 0; c < d; c++) {
        int small = 1;
        for (int i = 0; i < n && small; i++) small = fabs(Yk[(size_t)i * d + c]) < 10 * DBL_EPSILON;
        if (small) {
            for (int i = 0; i < n; i++) Yk[(size_t)i * d + c] = 0;
            for (int j = 0; j < v; j++) M[(size_t)j * d + c] = 0;
        }
        for (int i = 0; i < n && !any; i++) any = fabs(Yk[(size_t)i * d + c]) > DBL_EPSILON;
    }
    return any;
}

// w (v) = the dominant left singular vector of M (v, d), unit norm, its largest |w_j| positive
// (sklearn's _svd_flip_1d), from the top eigenvector of the smaller of M^T M and M M^T (S,
// sm x sm; z, sm). Returns HY_OK, the eigen solver's error, or HY_EARG when M is zero (K
// components exceed the rank; k found so far).
static int x_weights(double *w, const double *M, int v, int d, double *S, double *z, int K, int k) {
    int rc;
    if (d <= v) {
        // S (d, d) = M^T M; w = M z / ||M z||
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasTrans, d, v, 1.0, M, d, 0.0, S, d);
        for (int i = 0; i < d; i++)
            for (int j = 0; j < i; j++) S[(size_t)i * d + j] = S[(size_t)j * d + i];
        if ((rc = top_eigvec(S, d, z))) return rc;
        cblas_dgemv(CblasRowMajor, CblasNoTrans, v, d, 1.0, M, d, z, 1, 0.0, w, 1);
    } else {
        // S (v, v) = M M^T; w = its top eigenvector
        cblas_dsyrk(CblasRowMajor, CblasUpper, CblasNoTrans, v, d, 1.0, M, d, 0.0, S, v);
        for (int i = 0; i < v; i++)
            for (int j = 0; j < i; j++) S[(size_t)i * v + j] = S[(size_t)j * v + i];
        if ((rc = top_eigvec(S, v, z))) return rc;
        memcpy(w, z, sizeof(double) * v);
    }
    double wn = 0, big = 0;
    int at = 0;
    for (int j = 0; j < v; j++) {
        wn += w[j] * w[j];
        if (fabs(w[j]) > big) big = fabs(w[j]), at = j;  // first largest |w_j| (np.argmax)
    }
    wn = sqrt(wn);
    if (!(wn > 0))
        return hy_err(HY_EARG, "pls: %d components exceed the rank of the centred data (X^T Y is zero after %d)", K, k);
    double sg = w[at] < 0 ? -1.0 : 1.0;
    for (int j = 0; j < v; j++) w[j] *= sg / wn;
    return HY_OK;
}

// R (v, K) = Wx pinv(P^T Wx), with P stored (K, v) and Wx (v, K); U, Ui (K, K) scratch.
static int rotations(pls_fit *f, const double *P, const double *Wx, double *U, double *Ui) {
    const int v = f->v, K = f->K;
    for (int a = 0; a < K; a++)
        for (int b = 0; b < K; b++) {
            double acc = 0;
            for (int j = 0; j < v; j++) acc += P[(size_t)a * v + j] * Wx[(size_t)j * K + b];
            U[(size_t)a * K + b] = acc;
        }
    int rc = pinv(U, K, Ui);
    if (!rc) cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, v, K, K, 1.0, Wx, K, Ui, K, 0.0, f->R, K);
    return rc;
}

// Fits K components (see decoders.h and the top of this file). Work arrays: Xk (n, v), Yk
// (n, d) deflated per component, M = Xk^T Yk (v, d) deflated along with them.
int hy_pls_fit(pls_fit *f, const double *X, const double *Y, int n, int v, int d, int K) {
    memset(f, 0, sizeof *f);
    if (K < 1) return hy_err(HY_EARG, "pls: components must be >= 1 (got %d)", K);
    if (K > v || K > n - 1)
        return hy_err(HY_EARG, "pls: %d components exceed the rank of the centred data (at most min(rows - 1, voxels) = "
                      "%d)", K, v < n - 1 ? v : n - 1);
    f->v = v, f->d = d, f->K = K;
    const int sm = d <= v ? d : v;  // size of the symmetric matrix whose top eigenvector gives w
    double *Xk = hy_malloc(sizeof(double) * (size_t)n * v), *Yk = hy_malloc(sizeof(double) * (size_t)n * d);
    double *M = hy_malloc(sizeof(double) * (size_t)v * d), *S = hy_malloc(sizeof(double) * (size_t)sm * sm);
    double *z = hy_malloc(sizeof(double) * sm), *w = hy_malloc(sizeof(double) * v), *t = hy_malloc(sizeof(double) * n);
    double *qd = hy_malloc(sizeof(double) * d);
    double *Wx = hy_malloc(sizeof(double) * (size_t)v * K), *P = hy_malloc(sizeof(double) * (size_t)v * K);
    double *U = hy_malloc(sizeof(double) * (size_t)K * K), *Ui = hy_malloc(sizeof(double) * (size_t)K * K);
    f->xm = hy_calloc(v, sizeof(double));
    f->ym = hy_calloc(d, sizeof(double));
    f->R = hy_malloc(sizeof(double) * (size_t)v * K);
    f->Q = hy_malloc(sizeof(double) * (size_t)d * K);
    int rc = HY_OK;
    if (!Xk || !Yk || !M || !S || !z || !w || !t || !qd || !Wx || !P || !U || !Ui || !f->xm || !f->ym || !f->R || !f->Q) {
        rc = HY_ENOMEM;
        goto done;
    }
    double x_norm2 = centre(f, X, Y, n, Xk, Yk);
    // M (v, d) = Xk^T Yk
    cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, v, d, n, 1.0, Xk, v, Yk, d, 0.0, M, d);
    for (int k = 0; k < K; k++) {
        if (!drop_explained(Yk, M, n, v, d)) {
            rc = hy_err(HY_EARG, "pls: the targets are fully explained by %d component(s); use at most %d", k, k);
            goto done;
        }
        if ((rc = x_weights(w, M, v, d, S, z, K, k))) goto done;
        // t = Xk w; p = Xk^T t / t.t; q = Yk^T t / t.t
        cblas_dgemv(CblasRowMajor, CblasNoTrans, n, v, 1.0, Xk, v, w, 1, 0.0, t, 1);
        double tt = 0;
        for (int i = 0; i < n; i++) tt += t[i] * t[i];
        if (!(tt > 1e-24 * x_norm2)) {
            rc = hy_err(HY_EARG, "pls: %d components exceed the rank of the centred data (%d)", K, k);
            goto done;
        }
        double *p = P + (size_t)k * v, *q = f->Q + (size_t)k;  // P stored (K, v); Q (d, K)
        cblas_dgemv(CblasRowMajor, CblasTrans, n, v, 1.0 / tt, Xk, v, t, 1, 0.0, p, 1);
        cblas_dgemv(CblasRowMajor, CblasTrans, n, d, 1.0 / tt, Yk, d, t, 1, 0.0, qd, 1);
        for (int c = 0; c < d; c++) q[(size_t)c * K] = qd[c];
        // deflation: Xk -= t p^T, Yk -= t q^T, M -= tt p q^T
        cblas_dger(CblasRowMajor, n, v, -1.0, t, 1, p, 1, Xk, v);
        cblas_dger(CblasRowMajor, n, d, -1.0, t, 1, qd, 1, Yk, d);
        cblas_dger(CblasRowMajor, v, d, -tt, p, 1, qd, 1, M, d);
        for (int j = 0; j < v; j++) Wx[(size_t)j * K + k] = w[j];
    }
    rc = rotations(f, P, Wx, U, Ui);
done:
    free(Xk), free(Yk), free(M), free(S), free(z), free(w), free(t), free(qd), free(Wx), free(P), free(U), free(Ui);
    if (rc) hy_pls_free(f);
    return rc;
}

void hy_pls_coef(const pls_fit *f, int k, double *W, double *b) {
    const int v = f->v, d = f->d, K = f->K;
    // W (d, v) = Q[:, :k] R[:, :k]^T
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, d, v, k, 1.0, f->Q, K, f->R, K, 0.0, W, v);
    for (int c = 0; c < d; c++) {
        double acc = f->ym[c];
        for (int j = 0; j < v; j++) acc -= W[(size_t)c * v + j] * f->xm[j];
        b[c] = acc;
    }
}

int hy_dec_pls(const double *X, const double *Y, int n, int v, int d, int K, int cv_folds, double *W, double *b,
               int *k_out, double *cv_err) {
    if (cv_folds == 1 || cv_folds < 0 || cv_folds > n) return hy_err(HY_EARG, "pls: %d folds for %d rows", cv_folds, n);
    int best = K, rc = HY_OK;
    if (cv_folds >= 2) {
        double *err = hy_calloc(K, sizeof(double));
        int nv_max = n / cv_folds + 1, start = 0;
        double *Xt = hy_malloc(sizeof(double) * (size_t)n * v), *Yt = hy_malloc(sizeof(double) * (size_t)n * d);
        double *Tv = hy_malloc(sizeof(double) * (size_t)nv_max * K), *Xv = hy_malloc(sizeof(double) * (size_t)nv_max * v);
        double *P = hy_malloc(sizeof(double) * (size_t)nv_max * d);
        if (!err || !Xt || !Yt || !Tv || !Xv || !P) rc = HY_ENOMEM;
        for (int f = 0; f < cv_folds && !rc; f++) {
            // contiguous folds, the first n % K one row larger (sklearn's KFold without shuffling)
            int nv = n / cv_folds + (f < n % cv_folds ? 1 : 0), nt = 0;
            for (int i = 0; i < n; i++) {
                if (i >= start && i < start + nv) continue;
                memcpy(Xt + (size_t)nt * v, X + (size_t)i * v, sizeof(double) * v);
                memcpy(Yt + (size_t)nt * d, Y + (size_t)i * d, sizeof(double) * d);
                nt++;
            }
            pls_fit fit;
            if ((rc = hy_pls_fit(&fit, Xt, Yt, nt, v, d, K))) {
                char msg[512];
                snprintf(msg, sizeof msg, "%s", hy_errmsg());
                rc = hy_err(rc, "%s (in CV fold %d of %d)", msg, f + 1, cv_folds);
                break;
            }
            // Tv (nv, K) = (Xv - xm) R; the k-component prediction adds columns 0..k-1 of Tv Q^T
            for (int i = 0; i < nv; i++)
                for (int j = 0; j < v; j++) Xv[(size_t)i * v + j] = X[(size_t)(start + i) * v + j] - fit.xm[j];
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nv, K, v, 1.0, Xv, v, fit.R, K, 0.0, Tv, K);
            for (int i = 0; i < nv; i++)
                for (int c = 0; c < d; c++) P[(size_t)i * d + c] = fit.ym[c];
            for (int k = 0; k < K; k++) {
                double se = 0;
                for (int i = 0; i < nv; i++)
                    for (int c = 0; c < d; c++) {
                        P[(size_t)i * d + c] += Tv[(size_t)i * K + k] * fit.Q[(size_t)c * K + k];
                        double e = Y[(size_t)(start + i) * d + c] - P[(size_t)i * d + c];
                        se += e * e;
                    }
                err[k] += se / ((double)nv * d) / cv_folds;
            }
            hy_pls_free(&fit);
            start += nv;
        }
        if (!rc) {
            best = 1;
            for (int k = 2; k <= K; k++)
                if (err[k - 1] < err[best - 1]) best = k;
            if (cv_err) memcpy(cv_err, err, sizeof(double) * K);
        }
        free(err), free(Xt), free(Yt), free(Tv), free(Xv), free(P);
        if (rc) return rc;
    }
    pls_fit fit;
    if ((rc = hy_pls_fit(&fit, X, Y, n, v, d, best))) return rc;
    hy_pls_coef(&fit, best, W, b);
    hy_pls_free(&fit);
    if (k_out) *k_out = best;
    return HY_OK;
}

// --- the decoder kind -----------------------------------------------------------------------

int hy_dec_train_pls(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    double *W = hy_malloc(sizeof(double) * (size_t)v * d), *b = hy_malloc(sizeof(double) * d);
    int k = 0, rc = W && b ? hy_dec_pls(X, Y, n, v, d, o->components, o->cv_folds, W, b, &k, NULL) : HY_ENOMEM;
    if (!rc) {
        hy_dec_set_linear(dec, W, b);
        dec->components = k;
        if (o->cv_folds >= 2) snprintf(dec->cv, sizeof dec->cv, "kfold%d", o->cv_folds);
        else snprintf(dec->cv, sizeof dec->cv, "none");
    }
    free(W), free(b);
    return rc;
}

int hy_dec_save_pls(const decoder *dec, wf_writer *w) { return hy_wf_writer_int(w, "components", dec->components); }

int hy_dec_load_pls(decoder *dec, const wfile *wf, const char *path) {
    (void)path;
    int64_t k;
    if (hy_wf_cfg(wf, "components") && !hy_wf_cfg_int(wf, "components", &k) && k >= 1 && k <= INT32_MAX)
        dec->components = (int)k;
    return HY_OK;
}
