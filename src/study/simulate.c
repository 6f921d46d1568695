// simulate.c - the HYPER-design fMRI simulator (model in include/study/simulate.h).
#include "study/simulate.h"

#include <cblas.h>  // cblas_dgemm
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "study/dataset.h"
#include "base/npy.h"
#include "base/rng.h"

static const char *NL[] = {"none", "relu", "tanh", "softplus"};
const char *hy_sim_nonlin_name(int nl) { return nl >= 0 && nl < 4 ? NL[nl] : "?"; }

void hy_sim_default(sim_params *p) {
    p->n_train = 1050;
    p->n_test = 36;
    p->test_reps = 14;
    p->n_voxels = 4096;
    p->latent_dim = 512;
    p->n_strong = 8;
    p->gain_strong = 4.0;
    p->gain_weak = 1.0;
    p->informative = 0.75;
    p->snr = 0.009;  // calibrated: HYPER's linear model, 1500 epochs -> latent similarity ~0.47 (README "Simulator")
    p->noise_smooth = 1.0;
    p->nonlin = SIM_NONE;
    p->seed = 1;
    p->encoding = SIM_ENC_LINEAR;
    p->enc_hidden = 512;
    p->gabor_size = 64;
    p->gen = NULL;  // every command's default seed (README "Command-line conventions")
}

void hy_sim_free(sim_data *s) {
    free(s->xtr);
    free(s->ytr);
    free(s->xte);
    free(s->yte);
    free(s->ctr);
    free(s->cte);
    free(s->A);
    free(s->U);
    hy_sim_encoding_free(&s->enc);
    memset(s, 0, sizeof *s);
}

static double apply_nl(int nl, double s) {
    switch (nl) {
    case SIM_RELU: return s > 0 ? s : 0;
    case SIM_TANH: return tanh(s);
    case SIM_SOFTPLUS: return s > 30 ? s : log1p(exp(s));
    default: return s;
    }
}

// Separable Gaussian blur of a (nx, ny, nz) C-order volume in place; borders renormalise the
// kernel over the voxels that exist.
static void blur3(double *vol, const int *g, double sigma, double *tmp, const double *ker, int rad) {
    int stride[3] = {g[1] * g[2], g[2], 1};
    for (int ax = 0; ax < 3; ax++) {
        size_t tot = (size_t)g[0] * g[1] * g[2];
        for (size_t idx = 0; idx < tot; idx++) {
            int c[3] = {(int)(idx / stride[0]), (int)(idx / stride[1] % g[1]), (int)(idx % g[2])};
            double acc = 0, wsum = 0;
            for (int o = -rad; o <= rad; o++) {
                int q = c[ax] + o;
                if (q < 0 || q >= g[ax]) continue;
                acc += ker[o + rad] * vol[(long)idx + (long)o * stride[ax]];
                wsum += ker[o + rad];
            }
            tmp[idx] = acc / wsum;
        }
        memcpy(vol, tmp, sizeof(double) * tot);
    }
    (void)sigma;
}

static int check_params(const sim_params *p) {
    if (p->n_voxels < 1 || p->latent_dim < 1 || p->n_train < 2 || p->n_test < 2 || p->test_reps < 1)
        return hy_err(HY_EARG, "need voxels >= 1, latent dim >= 1, >= 2 train and test stimuli, reps >= 1");
    if (p->n_strong < 0 || p->n_strong > p->latent_dim)
        return hy_err(HY_EARG, "--strong must be in [0, latent dim %d]", p->latent_dim);
    if (!(p->snr > 0)) return hy_err(HY_EARG, "--snr must be > 0 (got %g)", p->snr);
    if (!(p->informative > 0 && p->informative <= 1))
        return hy_err(HY_EARG, "--informative must be in (0, 1] (got %g)", p->informative);
    if (!(p->noise_smooth >= 0) || p->noise_smooth > 10)
        return hy_err(HY_EARG, "--noise-smooth must be in [0, 10] voxels (got %g)", p->noise_smooth);
    if (!(p->gain_strong >= 0) || !(p->gain_weak >= 0) || p->gain_strong + p->gain_weak <= 0)
        return hy_err(HY_EARG, "--gain-strong and --gain-weak must be >= 0 and not both 0");
    if (p->encoding < 0 || p->encoding >= SIM_N_ENCODINGS) return hy_err(HY_EARG, "unknown encoding %d", p->encoding);
    if (p->encoding != SIM_ENC_LINEAR && p->nonlin != SIM_NONE)
        return hy_err(HY_EARG, "--nonlinearity applies to the linear encoding only (the %s encoding is nonlinear itself)",
                      hy_sim_encoding_name(p->encoding));
    if (p->encoding == SIM_ENC_MLP && p->enc_hidden < 1) return hy_err(HY_EARG, "--enc-hidden must be >= 1");
    if (p->encoding == SIM_ENC_GABOR && !p->gen)
        return hy_err(HY_EARG, "the gabor encoding renders faces: it needs the generator (-g G.bin)");
    return HY_OK;
}

// grid: the smallest near-cube holding V voxels (voxel v is the v-th of the C-order grid)
static void voxel_grid(int *grid, int V) {
    int gx = (int)ceil(cbrt((double)V) - 1e-9);
    while ((long)gx * gx * gx < V) gx++;
    grid[0] = grid[1] = grid[2] = gx;
    while ((long)grid[0] * grid[1] * grid[2] >= V && grid[0] > 1) grid[0]--;
    grid[0]++;
}

// 2. K strong directions U (K, D): Gram-Schmidt on Gaussian vectors
static void strong_directions(double *U, int K, int D, mt19937 *rng) {
    for (int a = 0; a < K; a++) {
        double *u = U + (size_t)a * D;
        for (int c = 0; c < D; c++) u[c] = hy_mt_normal(rng);
        for (int b = 0; b < a; b++) {
            const double *w = U + (size_t)b * D;
            double dot = 0;
            for (int c = 0; c < D; c++) dot += u[c] * w[c];
            for (int c = 0; c < D; c++) u[c] -= dot * w[c];
        }
        double nn = 0;
        for (int c = 0; c < D; c++) nn += u[c] * u[c];
        nn = sqrt(nn);
        for (int c = 0; c < D; c++) u[c] /= nn;
    }
}

// 3. tuned voxels and the encoding matrix A = rownorm(M S), S = g_w I + (g_s - g_w) U^T U, with M
// (V, D) Gaussian (scratch); untuned voxels keep a zero row
static void encoding_matrix(const sim_params *p, sim_data *s, int *tuned, double *M, mt19937 *rng) {
    int V = s->v, D = s->d, K = s->k;
    for (int v = 0; v < V; v++) tuned[v] = hy_mt_uniform_f64(rng) < p->informative;
    for (size_t i = 0; i < (size_t)V * D; i++) M[i] = hy_mt_normal(rng);
    for (int v = 0; v < V; v++) {
        double *a = s->A + (size_t)v * D, *m = M + (size_t)v * D;
        if (!tuned[v]) continue;
        for (int c = 0; c < D; c++) a[c] = p->gain_weak * m[c];
        for (int k = 0; k < K; k++) {
            const double *u = s->U + (size_t)k * D;
            double dot = 0;
            for (int c = 0; c < D; c++) dot += m[c] * u[c];
            for (int c = 0; c < D; c++) a[c] += (p->gain_strong - p->gain_weak) * dot * u[c];
        }
        double nn = 0;
        for (int c = 0; c < D; c++) nn += a[c] * a[c];
        nn = sqrt(nn);
        for (int c = 0; c < D; c++) a[c] = nn > 0 ? a[c] / nn : 0;
    }
}

// 5. noise-free responses C = f(Z A^T) (ctr, cte), f standardised by its mean and sd over a
// fixed reference draw of N(0,1) (step 4); the nonlinear encodings come from src/study/encoding.c
static int clean_responses(const sim_params *p, sim_data *s, const int *tuned) {
    int V = s->v, D = s->d, ntr = s->n_train, nte = s->n_test;
    if (p->encoding != SIM_ENC_LINEAR) return hy_sim_encode(p, s, tuned);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, ntr, V, D, 1.0, s->ytr, D, s->A, D, 0.0, s->ctr, V);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, nte, V, D, 1.0, s->yte, D, s->A, D, 0.0, s->cte, V);
    if (p->nonlin == SIM_NONE) return HY_OK;
    mt19937 r2;
    hy_mt_seed(&r2, 12345);
    double s1 = 0, s2 = 0;
    int nr = 200000;
    for (int i = 0; i < nr; i++) {
        double y = apply_nl(p->nonlin, hy_mt_normal(&r2));
        s1 += y;
        s2 += y * y;
    }
    double fm = s1 / nr, fs = sqrt(s2 / nr - fm * fm);
    for (size_t i = 0; i < (size_t)ntr * V; i++)
        if (tuned[i % V]) s->ctr[i] = (apply_nl(p->nonlin, s->ctr[i]) - fm) / fs;
    for (size_t i = 0; i < (size_t)nte * V; i++)
        if (tuned[i % V]) s->cte[i] = (apply_nl(p->nonlin, s->cte[i]) - fm) / fs;
    return HY_OK;
}

// Exact per-voxel standard deviation of blurred unit noise (sdmap, G floats): the blur is
// separable, so the variance at (x,y,z) is the product over axes of sum_o (k_o / sum_valid k)^2.
static int noise_sd_map(double *sdmap, const int *grid, const double *ker, int rad) {
    double *axf[3] = {NULL, NULL, NULL};
    int rc = HY_OK;
    for (int ax = 0; ax < 3 && !rc; ax++) {
        if (!(axf[ax] = hy_malloc(sizeof(double) * grid[ax]))) {
            rc = HY_ENOMEM;
            break;
        }
        for (int c = 0; c < grid[ax]; c++) {
            double ws = 0, w2 = 0;
            for (int o = -rad; o <= rad; o++) {
                if (c + o < 0 || c + o >= grid[ax]) continue;
                ws += ker[o + rad];
                w2 += ker[o + rad] * ker[o + rad];
            }
            axf[ax][c] = rad > 0 ? sqrt(w2) / ws : 1.0;
        }
    }
    size_t G = (size_t)grid[0] * grid[1] * grid[2];
    for (size_t i = 0; i < G && !rc; i++) {
        int x = (int)(i / ((size_t)grid[1] * grid[2])), y = (int)(i / grid[2] % grid[1]), z = (int)(i % grid[2]);
        sdmap[i] = axf[0][x] * axf[1][y] * axf[2][z];
    }
    for (int q = 0; q < 3; q++) free(axf[q]);
    return rc;
}

// 6. the measured responses: clean + spatially smoothed noise of variance 1/snr per trial
// (a blurred Gaussian volume per trial, divided by its exact sd); the test stimuli average
// test_reps trials each. vol and tmp hold G doubles.
static int add_noise(const sim_params *p, sim_data *s, double *vol, double *tmp, mt19937 *rng) {
    int V = s->v, ntr = s->n_train, nte = s->n_test;
    size_t G = (size_t)s->grid[0] * s->grid[1] * s->grid[2];
    int rad = (int)ceil(3 * p->noise_smooth);
    double ker[64], nsd = 1.0 / sqrt(p->snr);
    if (rad > 31) rad = 31;
    for (int o = -rad; o <= rad; o++)
        ker[o + rad] = p->noise_smooth > 0 ? exp(-0.5 * o * o / (p->noise_smooth * p->noise_smooth)) : 1.0;
    double *sdmap = hy_malloc(sizeof(double) * G);
    int rc = sdmap ? noise_sd_map(sdmap, s->grid, ker, rad) : HY_ENOMEM;
    if (rc) {
        free(sdmap);
        return rc;
    }
    memset(tmp, 0, sizeof(double) * G);
    int total_trials = ntr + nte * p->test_reps;
    for (int tr = 0; tr < total_trials; tr++) {
        for (size_t i = 0; i < G; i++) vol[i] = hy_mt_normal(rng);
        if (rad > 0) blur3(vol, s->grid, p->noise_smooth, tmp, ker, rad);
        if (tr < ntr) {
            for (int v = 0; v < V; v++) s->xtr[(size_t)tr * V + v] = s->ctr[(size_t)tr * V + v] + nsd * vol[v] / sdmap[v];
        } else {
            int i = (tr - ntr) / p->test_reps;
            for (int v = 0; v < V; v++)
                s->xte[(size_t)i * V + v] += (s->cte[(size_t)i * V + v] + nsd * vol[v] / sdmap[v]) / p->test_reps;
        }
    }
    free(sdmap);
    return HY_OK;
}

// Steps 1-6 of the model (include/study/simulate.h) in the order they draw from the seeded
// generator: latents, strong directions, tuned voxels and M, then the noise.
int hy_sim_run(const sim_params *p, sim_data *s) {
    memset(s, 0, sizeof *s);
    int rc = check_params(p);
    if (rc) return rc;
    int V = p->n_voxels, D = p->latent_dim, K = p->n_strong, ntr = p->n_train, nte = p->n_test;
    s->n_train = ntr;
    s->n_test = nte;
    s->v = V;
    s->d = D;
    s->k = K;
    voxel_grid(s->grid, V);
    size_t G = (size_t)s->grid[0] * s->grid[1] * s->grid[2];

    mt19937 rng;
    hy_mt_seed(&rng, p->seed);
    rc = HY_ENOMEM;
    s->A = hy_calloc((size_t)V * D, sizeof(double));
    s->U = hy_calloc((size_t)(K ? K : 1) * D, sizeof(double));
    s->xtr = hy_malloc(sizeof(double) * (size_t)ntr * V);
    s->ytr = hy_malloc(sizeof(double) * (size_t)ntr * D);
    s->xte = hy_calloc((size_t)nte * V, sizeof(double));
    s->yte = hy_malloc(sizeof(double) * (size_t)nte * D);
    s->ctr = hy_malloc(sizeof(double) * (size_t)ntr * V);
    s->cte = hy_malloc(sizeof(double) * (size_t)nte * V);
    double *M = hy_malloc(sizeof(double) * (size_t)V * D), *vol = hy_malloc(sizeof(double) * G);
    double *tmp = hy_malloc(sizeof(double) * G);
    int *tuned = hy_calloc(V, sizeof(int));
    if (!s->A || !s->U || !s->xtr || !s->ytr || !s->xte || !s->yte || !s->ctr || !s->cte || !M || !vol || !tmp ||
        !tuned)
        goto done;
    // 1. latents (train then test), drawn first so they do not depend on the other settings
    for (size_t i = 0; i < (size_t)ntr * D; i++) s->ytr[i] = hy_mt_normal(&rng);
    for (size_t i = 0; i < (size_t)nte * D; i++) s->yte[i] = hy_mt_normal(&rng);
    strong_directions(s->U, K, D, &rng);
    encoding_matrix(p, s, tuned, M, &rng);
    if (!(rc = clean_responses(p, s, tuned))) rc = add_noise(p, s, vol, tmp, &rng);
done:
    free(M);
    free(vol);
    free(tmp);
    free(tuned);
    if (rc) hy_sim_free(s);
    return rc;
}

int hy_sim_save(const sim_params *p, const sim_data *s, const char *dir) {
    char truth[1200], bdir[1300], path[1400];
    int rc;
    if ((rc = hy_ds_path(truth, sizeof truth, dir, "truth")) || (rc = hy_ds_path(bdir, sizeof bdir, truth, "boundaries")))
        return rc;
    if ((rc = hy_mkdir_p(bdir))) return rc;
    // ground truth first, the dataset last: a dataset that exists is complete
    if ((rc = hy_ds_path(path, sizeof path, truth, "encoding.npy")) || (rc = hy_ds_write_f32(path, s->A, s->v, s->d))) return rc;
    if ((rc = hy_ds_path(path, sizeof path, truth, "train_clean.npy")) || (rc = hy_ds_write_f32(path, s->ctr, s->n_train, s->v)))
        return rc;
    if ((rc = hy_ds_path(path, sizeof path, truth, "test_clean.npy")) || (rc = hy_ds_write_f32(path, s->cte, s->n_test, s->v)))
        return rc;
    if (s->k > 0) {
        if ((rc = hy_ds_path(path, sizeof path, truth, "strong_dirs.npy")) || (rc = hy_ds_write_f32(path, s->U, s->k, s->d)))
            return rc;
        for (int k = 0; k < s->k; k++) {
            char name[64];
            snprintf(name, sizeof name, "strong_%02d.npy", k);
            int64_t dims[2] = {1, s->d};
            if ((rc = hy_ds_path(path, sizeof path, bdir, name)) || (rc = hy_npy_write_f64(path, 2, dims, s->U + (size_t)k * s->d)))
                return rc;
        }
    }
    if ((rc = hy_sim_encoding_save(s, truth))) return rc;
    if ((rc = hy_ds_path(path, sizeof path, truth, "params.txt"))) return rc;
    hy_outfile o;
    if ((rc = hy_out_open(&o, path))) return rc;
    fprintf(o.fp,
            "# hyper simulate ground-truth parameters\nseed=%llu\nn_train=%d\nn_test=%d\ntest_reps=%d\nvoxels=%d\n"
            "latent_dim=%d\nstrong=%d\ngain_strong=%g\ngain_weak=%g\ninformative=%g\nsnr=%g\nnoise_smooth=%g\n"
            "nonlinearity=%s\ngrid=%dx%dx%d\n",
            (unsigned long long)p->seed, p->n_train, p->n_test, p->test_reps, p->n_voxels, p->latent_dim, p->n_strong,
            p->gain_strong, p->gain_weak, p->informative, p->snr, p->noise_smooth, hy_sim_nonlin_name(p->nonlin),
            s->grid[0], s->grid[1], s->grid[2]);
    if (p->encoding == SIM_ENC_MLP) fprintf(o.fp, "encoding=mlp\nenc_hidden=%d\n", p->enc_hidden);
    if (p->encoding == SIM_ENC_GABOR) fprintf(o.fp, "encoding=gabor\ngabor_size=%d\n", p->gabor_size);
    if ((rc = hy_out_commit(&o))) return rc;
    return hy_ds_save(dir, s->xtr, s->ytr, s->n_train, s->xte, s->yte, s->n_test, s->v, s->d);
}
