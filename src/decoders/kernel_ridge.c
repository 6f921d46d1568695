// kernel_ridge.c - kernel ridge regression in the dual (scikit-learn's KernelRidge), with
// leave-one-out or K-fold selection of alpha (and gamma) over grids, and the decoder kind
// `kernel-ridge` that stores the training rows and dual coefficients.
//
// Model (KernelRidge, no intercept): dual = (K + alpha I)^-1 Y with K_ij = k(x_i, x_j), and a
// prediction for x is sum_i k(x, x_i) dual_i. Kernels as sklearn.metrics.pairwise:
//   linear  x . y;   rbf  exp(-gamma ||x - y||^2) with ||x - y||^2 = |x|^2 + |y|^2 - 2 x.y
//   clipped at 0 (0 on the diagonal of K(X, X)), as euclidean_distances;
//   poly    (gamma x . y + coef0)^degree.
// CV: exact leave-one-out from one eigendecomposition K = V diag(l) V^T per gamma: the hat
// matrix is H = V diag(l / (l + alpha)) V^T, the LOO residual (y_i - (H y)_i) / (1 - H_ii);
// K-fold: per fold the eigendecomposition of the training block, predictions
// K_vt V diag(1 / (l + alpha)) V^T Y_t for every alpha. The refit solves (K + alpha I) by
// Cholesky, as sklearn's _solve_cholesky_kernel.
//
// Decoder file (kind `kernel-ridge`): 2 layers without biases, layer_sizes (V, n_train, D):
// layers.0.weight (n_train, V) the (z-scored) training rows, layers.1.weight (D, n_train) the
// dual coefficients transposed, float32; config kernel, gamma, degree, coef0, alpha.
#include <cblas.h>  // cblas_dgemm, cblas_dsyrk
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/wfile.h"
#include "decoders/decoders.h"
#include "decoders/trainers.h"
#include "nn/lapack.h"  // dsyevd_, dpotrf_, dpotrs_

static const char *KERNELS[KR_N_KERNELS] = {"linear", "rbf", "poly"};

const char *hy_kr_kernel_name(int kernel) { return kernel >= 0 && kernel < KR_N_KERNELS ? KERNELS[kernel] : "?"; }

int hy_kr_kernel_parse(const char *name, int *kernel) {
    for (int k = 0; k < KR_N_KERNELS; k++)
        if (!strcmp(name, KERNELS[k])) {
            *kernel = k;
            return HY_OK;
        }
    return hy_err(HY_EARG, "unknown kernel '%s' (linear, rbf, poly)", name);
}

static int check_kernel(const kr_kernel *k) {
    if (k->kernel < 0 || k->kernel >= KR_N_KERNELS) return hy_err(HY_EARG, "kernel ridge: unknown kernel %d", k->kernel);
    if (k->kernel != KR_LINEAR && !(k->gamma > 0 && isfinite(k->gamma)))
        return hy_err(HY_EARG, "kernel ridge: gamma %g must be > 0", k->gamma);
    if (k->kernel == KR_POLY && k->degree < 1) return hy_err(HY_EARG, "kernel ridge: degree %d must be >= 1", k->degree);
    if (k->kernel == KR_POLY && !isfinite(k->coef0)) return hy_err(HY_EARG, "kernel ridge: coef0 must be finite");
    return HY_OK;
}

// Applies the kernel to the inner products K = A B^T in place; sa/sb are the rows' squared
// norms (rbf); same: K is K(X, X) (zero distance on the diagonal).
static void apply_kernel(double *K, int na, int nb, const double *sa, const double *sb, const kr_kernel *k, int same) {
    const size_t m = (size_t)na * nb;
    if (k->kernel == KR_RBF) {
        for (int i = 0; i < na; i++)
            for (int j = 0; j < nb; j++) {
                double d2 = sa[i] + sb[j] - 2 * K[(size_t)i * nb + j];
                if (d2 < 0 || (same && i == j)) d2 = 0;
                K[(size_t)i * nb + j] = exp(-k->gamma * d2);
            }
    } else if (k->kernel == KR_POLY) {
        for (size_t i = 0; i < m; i++) K[i] = pow(k->gamma * K[i] + k->coef0, k->degree);
    }
}

static void row_sq(double *s, const double *A, int n, int v) {
    for (int i = 0; i < n; i++) {
        double acc = 0;
        for (int j = 0; j < v; j++) acc += A[(size_t)i * v + j] * A[(size_t)i * v + j];
        s[i] = acc;
    }
}

int hy_kr_gram(double *K, const double *A, int na, const double *B, int nb, int v, const kr_kernel *k) {
    int rc = check_kernel(k);
    if (rc) return rc;
    double *sa = NULL, *sb = NULL;
    if (k->kernel == KR_RBF) {
        sa = hy_malloc(sizeof(double) * na);
        sb = hy_malloc(sizeof(double) * nb);
        if (!sa || !sb) {
            free(sa), free(sb);
            return HY_ENOMEM;
        }
        row_sq(sa, A, na, v);
        row_sq(sb, B, nb, v);
    }
    // K (na, nb) = A (na, v) @ B^T (v, nb)
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, na, nb, v, 1.0, A, v, B, v, 0.0, K, nb);
    apply_kernel(K, na, nb, sa, sb, k, A == B && na == nb);
    free(sa), free(sb);
    return HY_OK;
}

// Symmetric eigendecomposition of S (n, n) in place: S becomes V^T row-major (row r = the
// r-th eigenvector, i.e. column-major V), l (n) the eigenvalues ascending.
static int eigh(double *S, int n, double *l) {
    int info = 0, lwork = -1, liwork = -1, iwq;
    double wq;
    dsyevd_("V", "U", &n, S, &n, l, &wq, &lwork, &iwq, &liwork, &info);
    lwork = (int)wq + 1;
    liwork = iwq;
    double *work = hy_malloc(sizeof(double) * (size_t)lwork);
    int *iwork = hy_malloc(sizeof(int) * (size_t)liwork);
    if (!work || !iwork) {
        free(work), free(iwork);
        return HY_ENOMEM;
    }
    dsyevd_("V", "U", &n, S, &n, l, work, &lwork, iwork, &liwork, &info);
    free(work), free(iwork);
    if (info != 0) return hy_err(HY_EVALUE, "kernel ridge: eigendecomposition failed (dsyevd info %d)", info);
    return HY_OK;
}

// Leave-one-out errors of every alpha on kernel matrix K (n, n) (destroyed), added to
// err[a * stride] as the mean over items and targets of the squared LOO residual.
static int loo_errors(double *K, const double *Y, int n, int d, const double *alphas, int na, double *err, int stride) {
    double *l = hy_malloc(sizeof(double) * n), *VtY = hy_malloc(sizeof(double) * (size_t)n * d);
    double *M = hy_malloc(sizeof(double) * (size_t)n * d), *P = hy_malloc(sizeof(double) * (size_t)n * d);
    double *h = hy_malloc(sizeof(double) * n);
    int rc = l && VtY && M && P && h ? eigh(K, n, l) : HY_ENOMEM;
    if (!rc) {
        // K holds V^T (row r = eigenvector r): VtY (n, d) = V^T Y
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, n, 1.0, K, n, Y, d, 0.0, VtY, d);
        for (int a = 0; a < na; a++) {
            for (int r = 0; r < n; r++) {
                double f = l[r] / (l[r] + alphas[a]);
                for (int t = 0; t < d; t++) M[(size_t)r * d + t] = f * VtY[(size_t)r * d + t];
            }
            // P (n, d) = V M: P = (V^T)^T M
            cblas_dgemm(CblasRowMajor, CblasTrans, CblasNoTrans, n, d, n, 1.0, K, n, M, d, 0.0, P, d);
            for (int i = 0; i < n; i++) h[i] = 0;
            for (int r = 0; r < n; r++) {
                double f = l[r] / (l[r] + alphas[a]);
                const double *vr = K + (size_t)r * n;
                for (int i = 0; i < n; i++) h[i] += f * vr[i] * vr[i];
            }
            double s = 0;
            for (int i = 0; i < n; i++) {
                double den = 1.0 - h[i];
                if (fabs(den) < 1e-300) den = 1e-300;
                for (int t = 0; t < d; t++) {
                    double e = (Y[(size_t)i * d + t] - P[(size_t)i * d + t]) / den;
                    s += e * e;
                }
            }
            err[(size_t)a * stride] += s / ((double)n * d);
        }
    }
    free(l), free(VtY), free(M), free(P), free(h);
    return rc;
}

// K-fold errors of every alpha for kernel k on X (n, v), Y (n, d), added to err[a * stride].
static int kfold_errors(const double *X, const double *Y, int n, int v, int d, const kr_kernel *k, const double *alphas,
                        int na, int folds, double *err, int stride) {
    int rc = HY_OK, start = 0;
    int nt_max = n - n / folds, nv_max = n / folds + 1;
    double *Xt = hy_malloc(sizeof(double) * (size_t)nt_max * v), *Yt = hy_malloc(sizeof(double) * (size_t)nt_max * d);
    double *Ktt = hy_malloc(sizeof(double) * (size_t)nt_max * nt_max), *Kvt = hy_malloc(sizeof(double) * (size_t)nv_max * nt_max);
    double *l = hy_malloc(sizeof(double) * nt_max), *B = hy_malloc(sizeof(double) * (size_t)nv_max * nt_max);
    double *C = hy_malloc(sizeof(double) * (size_t)nt_max * d), *M = hy_malloc(sizeof(double) * (size_t)nt_max * d);
    double *P = hy_malloc(sizeof(double) * (size_t)nv_max * d);
    if (!Xt || !Yt || !Ktt || !Kvt || !l || !B || !C || !M || !P) rc = HY_ENOMEM;
    for (int f = 0; f < folds && !rc; f++) {
        // contiguous folds, the first n % K one row larger (sklearn's KFold without shuffling)
        int nv = n / folds + (f < n % folds ? 1 : 0), nt = n - nv, r = 0;
        for (int i = 0; i < n; i++) {
            if (i >= start && i < start + nv) continue;
            memcpy(Xt + (size_t)r * v, X + (size_t)i * v, sizeof(double) * v);
            memcpy(Yt + (size_t)r * d, Y + (size_t)i * d, sizeof(double) * d);
            r++;
        }
        const double *Xv = X + (size_t)start * v, *Yv = Y + (size_t)start * d;
        if ((rc = hy_kr_gram(Ktt, Xt, nt, Xt, nt, v, k)) || (rc = hy_kr_gram(Kvt, Xv, nv, Xt, nt, v, k)) ||
            (rc = eigh(Ktt, nt, l)))
            break;
        // B (nv, nt) = Kvt V; C (nt, d) = V^T Yt (Ktt holds V^T)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nv, nt, nt, 1.0, Kvt, nt, Ktt, nt, 0.0, B, nt);
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nt, d, nt, 1.0, Ktt, nt, Yt, d, 0.0, C, d);
        for (int a = 0; a < na; a++) {
            for (int q = 0; q < nt; q++) {
                double g = 1.0 / (l[q] + alphas[a]);
                for (int t = 0; t < d; t++) M[(size_t)q * d + t] = g * C[(size_t)q * d + t];
            }
            cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, nv, d, nt, 1.0, B, nt, M, d, 0.0, P, d);
            double s = 0;
            for (size_t i = 0; i < (size_t)nv * d; i++) s += (Yv[i] - P[i]) * (Yv[i] - P[i]);
            err[(size_t)a * stride] += s / ((double)nv * d) / folds;
        }
        start += nv;
    }
    free(Xt), free(Yt), free(Ktt), free(Kvt), free(l), free(B), free(C), free(M), free(P);
    return rc;
}

// dual (n, d) = (K + alpha I)^-1 Y by Cholesky; K (n, n) is destroyed.
static int solve_dual(double *K, const double *Y, int n, int d, double alpha, double *dual) {
    for (int i = 0; i < n; i++) K[(size_t)i * n + i] += alpha;
    // K is symmetric, so row-major is column-major; the right-hand sides are Y^T column-major
    double *B = hy_malloc(sizeof(double) * (size_t)n * d);
    if (!B) return HY_ENOMEM;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < d; t++) B[(size_t)t * n + i] = Y[(size_t)i * d + t];
    int info = 0;
    dpotrf_("L", &n, K, &n, &info);
    if (info == 0) dpotrs_("L", &n, &d, K, &n, B, &n, &info);
    int rc = HY_OK;
    if (info != 0)
        rc = hy_err(HY_EVALUE, "kernel ridge: K + alpha I is not positive definite (alpha %g too small for this "
                    "kernel matrix)", alpha);
    else
        for (int i = 0; i < n; i++)
            for (int t = 0; t < d; t++) dual[(size_t)i * d + t] = B[(size_t)t * n + i];
    free(B);
    return rc;
}

int hy_dec_kernel_ridge(const double *X, const double *Y, int n, int v, int d, kr_kernel *k, const double *alphas,
                        int n_alphas, const double *gammas, int n_gammas, int cv_folds, double *dual, double *alpha,
                        double *cv_err) {
    if (n_alphas < 1) return hy_err(HY_EARG, "kernel ridge: empty alpha grid");
    for (int a = 0; a < n_alphas; a++)
        if (!(alphas[a] > 0) || !isfinite(alphas[a])) return hy_err(HY_EARG, "kernel ridge: alpha %g must be > 0", alphas[a]);
    if (k->kernel == KR_LINEAR || !gammas) n_gammas = 0;
    for (int g = 0; g < n_gammas; g++)
        if (!(gammas[g] > 0) || !isfinite(gammas[g])) return hy_err(HY_EARG, "kernel ridge: gamma %g must be > 0", gammas[g]);
    int ng = n_gammas ? n_gammas : 1, search = n_alphas * ng > 1;
    if (search && (cv_folds == 1 || cv_folds < 0 || cv_folds > n))
        return hy_err(HY_EARG, "kernel ridge: %d folds for %d rows", cv_folds, n);
    if (n_gammas) k->gamma = gammas[0];
    int rc = check_kernel(k);
    if (rc) return rc;
    double *K = hy_malloc(sizeof(double) * (size_t)n * n), *err = hy_calloc((size_t)n_alphas * ng, sizeof(double));
    if (!K || !err) {
        free(K), free(err);
        return HY_ENOMEM;
    }
    int best_a = 0, best_g = 0;
    if (search) {
        for (int g = 0; g < ng && !rc; g++) {
            kr_kernel kg = *k;
            if (n_gammas) kg.gamma = gammas[g];
            if (cv_folds == 0) {
                if (!(rc = hy_kr_gram(K, X, n, X, n, v, &kg))) rc = loo_errors(K, Y, n, d, alphas, n_alphas, err + g, ng);
            } else {
                rc = kfold_errors(X, Y, n, v, d, &kg, alphas, n_alphas, cv_folds, err + g, ng);
            }
        }
        // first minimum in alpha-major order (GridSearchCV over {'alpha', 'gamma'})
        for (int a = 0; a < n_alphas; a++)
            for (int g = 0; g < ng; g++)
                if (err[(size_t)a * ng + g] < err[(size_t)best_a * ng + best_g]) best_a = a, best_g = g;
    }
    if (!rc) {
        if (n_gammas) k->gamma = gammas[best_g];
        *alpha = alphas[best_a];
        if (cv_err) memcpy(cv_err, err, sizeof(double) * (size_t)n_alphas * ng);
        rc = hy_kr_gram(K, X, n, X, n, v, k);
        if (!rc) rc = solve_dual(K, Y, n, d, *alpha, dual);
    }
    free(K), free(err);
    return rc;
}

// --- the decoder kind -----------------------------------------------------------------------

// Replaces the frame's one-layer allocation by the two layers of the dual form.
static int kr_layers(decoder *dec, int n, int v, int d) {
    for (int l = 0; l < DEC_MAX_LAYERS; l++) {
        free(dec->W[l]), free(dec->b[l]);
        dec->W[l] = dec->b[l] = NULL;
    }
    dec->n_layers = 2;
    dec->sizes[0] = v, dec->sizes[1] = n, dec->sizes[2] = d;
    dec->has_bias = 0;
    dec->act = DEC_ACT_NONE;
    dec->W[0] = hy_malloc(sizeof(float) * (size_t)n * v);
    dec->W[1] = hy_malloc(sizeof(float) * (size_t)d * n);
    return dec->W[0] && dec->W[1] ? HY_OK : HY_ENOMEM;
}

int hy_dec_train_kernel_ridge(decoder *dec, const dec_opts *o, const double *X, const double *Y, int n, int v, int d) {
    kr_kernel k = {o->kernel, o->gamma > 0 ? o->gamma : 1.0 / v, o->degree, o->coef0};
    int na = o->fixed_alpha > 0 ? 1 : o->n_alphas, ng = k.kernel != KR_LINEAR && o->n_gammas > 1 ? o->n_gammas : 0;
    if (na < 1) return hy_err(HY_EARG, "kernel ridge: empty alpha grid");
    if (ng && !(o->gamma_min > 0 && o->gamma_max > o->gamma_min))
        return hy_err(HY_EARG, "kernel ridge: the gamma grid needs 0 < gamma min < gamma max");
    double *alphas = hy_malloc(sizeof(double) * na), *gammas = ng ? hy_malloc(sizeof(double) * ng) : NULL;
    double *dual = hy_malloc(sizeof(double) * (size_t)n * d), *al = hy_malloc(sizeof(double));
    int rc = alphas && (!ng || gammas) && dual && al ? kr_layers(dec, n, v, d) : HY_ENOMEM;
    if (!rc) {
        if (o->fixed_alpha > 0) alphas[0] = o->fixed_alpha;
        else hy_dec_logspace(alphas, na, o->alpha_min, o->alpha_max);
        if (ng) hy_dec_logspace(gammas, ng, o->gamma_min, o->gamma_max);
        rc = hy_dec_kernel_ridge(X, Y, n, v, d, &k, alphas, na, gammas, ng, o->cv_folds, dual, al, NULL);
    }
    if (!rc) {
        for (size_t i = 0; i < (size_t)n * v; i++) dec->W[0][i] = (float)X[i];
        for (int i = 0; i < n; i++)
            for (int t = 0; t < d; t++) dec->W[1][(size_t)t * n + i] = (float)dual[(size_t)i * d + t];
        dec->kernel = k.kernel, dec->gamma = k.gamma, dec->degree = k.degree, dec->coef0 = k.coef0;
        if (na * (ng ? ng : 1) == 1) snprintf(dec->cv, sizeof dec->cv, "none");
        else if (o->cv_folds) snprintf(dec->cv, sizeof dec->cv, "kfold%d", o->cv_folds);
        else snprintf(dec->cv, sizeof dec->cv, "loo");
        hy_dec_keep_alpha(dec, al, 1);
        al = NULL;
    }
    free(alphas), free(gammas), free(dual), free(al);
    return rc;
}

// Prediction: the (z-scored) rows against the stored training rows, in float64.
int hy_dec_predict_kernel_ridge(const decoder *dec, const double *X, int n, float *out) {
    const int v = dec->n_in, m = dec->sizes[1], d = dec->n_out;
    double *A = hy_malloc(sizeof(double) * (size_t)n * v), *T = hy_malloc(sizeof(double) * (size_t)m * v);
    double *K = hy_malloc(sizeof(double) * (size_t)n * m), *D = hy_malloc(sizeof(double) * (size_t)m * d);
    double *P = hy_malloc(sizeof(double) * (size_t)n * d);
    int rc = A && T && K && D && P ? HY_OK : HY_ENOMEM;
    if (!rc) {
        for (int i = 0; i < n; i++)
            for (int j = 0; j < v; j++) {
                double x = X[(size_t)i * v + j];
                if (dec->x_mean) x = (x - dec->x_mean[j]) / dec->x_scale[j];
                A[(size_t)i * v + j] = x;
            }
        for (size_t i = 0; i < (size_t)m * v; i++) T[i] = dec->W[0][i];
        for (int i = 0; i < m; i++)
            for (int t = 0; t < d; t++) D[(size_t)i * d + t] = dec->W[1][(size_t)t * m + i];
        kr_kernel k = {dec->kernel, dec->gamma, dec->degree, dec->coef0};
        rc = hy_kr_gram(K, A, n, T, m, v, &k);
    }
    if (!rc) {
        // P (n, d) = K (n, m) @ dual (m, d)
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, n, d, m, 1.0, K, m, D, d, 0.0, P, d);
        for (size_t i = 0; i < (size_t)n * d; i++) out[i] = (float)P[i];
    }
    free(A), free(T), free(K), free(D), free(P);
    return rc;
}

int hy_dec_save_kernel_ridge(const decoder *dec, wf_writer *w) {
    int rc = hy_dec_save_penalty(dec, w);
    rc |= hy_wf_writer_str(w, "kernel", hy_kr_kernel_name(dec->kernel));
    rc |= hy_wf_writer_float(w, "gamma", dec->gamma);
    rc |= hy_wf_writer_int(w, "degree", dec->degree);
    rc |= hy_wf_writer_float(w, "coef0", dec->coef0);
    return rc;
}

// The kernel decides every prediction, so unlike the informational records it must be there
// and make sense; the layer shapes must be the dual form's.
int hy_dec_load_kernel_ridge(decoder *dec, const wfile *wf, const char *path) {
    const char *kn;
    int64_t deg;
    int rc;
    if ((rc = hy_dec_load_penalty(dec, wf, path))) return rc;
    if ((rc = hy_wf_cfg_str(wf, "kernel", &kn)) || (rc = hy_wf_cfg_float(wf, "gamma", &dec->gamma)) ||
        (rc = hy_wf_cfg_int(wf, "degree", &deg)) || (rc = hy_wf_cfg_float(wf, "coef0", &dec->coef0)))
        return rc;
    if (hy_kr_kernel_parse(kn, &dec->kernel)) return hy_err(HY_EFORMAT, "%s: unknown kernel '%s'", path, kn);
    if (deg < 1 || deg > 1000) return hy_err(HY_EFORMAT, "%s: kernel degree %lld is not in 1..1000", path, (long long)deg);
    dec->degree = (int)deg;
    kr_kernel k = {dec->kernel, dec->gamma, dec->degree, dec->coef0};
    if (check_kernel(&k)) return hy_err(HY_EFORMAT, "%s: %s", path, hy_errmsg());
    if (dec->n_layers != 2 || dec->has_bias || dec->act != DEC_ACT_NONE)
        return hy_err(HY_EFORMAT, "%s: a kernel-ridge decoder has 2 layers without bias or activation", path);
    return HY_OK;
}
