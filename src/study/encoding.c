// encoding.c - the simulator's nonlinear encodings (`hyper simulate --encoding mlp|gabor`; the
// models are documented in include/study/simulate.h): noise-free voxel responses as a random
// two-layer network of the latent, or as Gabor energies of the face the generator renders.
//
// The linear encoding stays in simulate.c. These run in its place (step 5 there) and take their
// random weights from their own generator, so every other draw of a simulation (latents,
// directions, tuned voxels, noise) is the linear one's: the encodings can be compared on the
// same stimuli and the same noise.
#include <cblas.h>  // cblas_dgemm
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/npy.h"
#include "base/rng.h"
#include "models/pggan.h"
#include "study/dataset.h"
#include "study/simulate.h"

#define ENC_SEED_OFFSET 0x9e3779b9ULL  // the encodings' own mt19937: seed + this
#define MLP_REF_N 2000                 // reference latents for the mlp encoding's standardisation
#define MLP_REF_SEED 54321
#define GABOR_GRID 8                   // positions per side
#define GABOR_ORIENT 8
#define GABOR_SCALES 3
#define GABOR_F (GABOR_SCALES * GABOR_ORIENT * GABOR_GRID * GABOR_GRID)

static const char *ENCODINGS[SIM_N_ENCODINGS] = {"linear", "mlp", "gabor"};
const char *hy_sim_encoding_name(int enc) { return enc >= 0 && enc < SIM_N_ENCODINGS ? ENCODINGS[enc] : "?"; }

void hy_sim_encoding_free(sim_encoding *e) {
    free(e->w1), free(e->b1), free(e->readout), free(e->rf), free(e->tuning);
    memset(e, 0, sizeof *e);
}

// Standardises the tuned columns of R (n, V) with mean mu and sd (V); untuned columns become 0.
static void standardise(double *R, int n, int V, const double *mu, const double *sd, const int *tuned) {
    for (int i = 0; i < n; i++)
        for (int v = 0; v < V; v++) {
            double *x = R + (size_t)i * V + v;
            *x = tuned[v] && sd[v] > 0 ? (*x - mu[v]) / sd[v] : 0.0;
        }
}

static void col_mean_sd(const double *R, int n, int V, double *mu, double *sd) {
    for (int v = 0; v < V; v++) mu[v] = sd[v] = 0;
    for (int i = 0; i < n; i++)
        for (int v = 0; v < V; v++) mu[v] += R[(size_t)i * V + v];
    for (int v = 0; v < V; v++) mu[v] /= n;
    for (int i = 0; i < n; i++)
        for (int v = 0; v < V; v++) {
            double t = R[(size_t)i * V + v] - mu[v];
            sd[v] += t * t;
        }
    for (int v = 0; v < V; v++) sd[v] = sqrt(sd[v] / n);
}

static void unit_rows(double *A, int rows, int cols) {
    for (int r = 0; r < rows; r++) {
        double *a = A + (size_t)r * cols, nn = 0;
        for (int c = 0; c < cols; c++) nn += a[c] * a[c];
        nn = sqrt(nn);
        for (int c = 0; c < cols; c++) a[c] = nn > 0 ? a[c] / nn : 0;
    }
}

// --- mlp ------------------------------------------------------------------------------------

// R (n, V) = B relu(W1 Z^T + b1) for latents Z (n, D); scratch U (n, H).
static void mlp_forward(const sim_encoding *e, const double *Z, int n, int D, int V, double *U, double *R) {
    const int H = e->H;
    for (int i = 0; i < n; i++) memcpy(U + (size_t)i * H, e->b1, sizeof(double) * H);
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, H, D, 1.0, Z, D, e->w1, D, 1.0, U, H);
    for (size_t i = 0; i < (size_t)n * H; i++) U[i] = U[i] > 0 ? U[i] : 0;
    cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, V, H, 1.0, U, H, e->readout, H, 0.0, R, V);
}

static int encode_mlp(const sim_params *p, sim_data *s, const int *tuned, mt19937 *rng) {
    const int D = s->d, V = s->v, H = p->enc_hidden, K = s->k;
    sim_encoding *e = &s->enc;
    e->H = H;
    e->w1 = hy_malloc(sizeof(double) * (size_t)H * D);
    e->b1 = hy_malloc(sizeof(double) * H);
    e->readout = hy_malloc(sizeof(double) * (size_t)V * H);
    int nmax = MLP_REF_N > s->n_train ? MLP_REF_N : s->n_train;
    double *M = hy_malloc(sizeof(double) * D), *Z = hy_malloc(sizeof(double) * (size_t)MLP_REF_N * D);
    double *U = hy_malloc(sizeof(double) * (size_t)nmax * H), *R = hy_malloc(sizeof(double) * (size_t)MLP_REF_N * V);
    double *mu = hy_malloc(sizeof(double) * V), *sd = hy_malloc(sizeof(double) * V);
    int rc = e->w1 && e->b1 && e->readout && M && Z && U && R && mu && sd ? HY_OK : HY_ENOMEM;
    if (!rc) {
        // W1: unit-norm rows of M1 (g_w I + (g_s - g_w) U^T U), as the linear encoding's A
        for (int h = 0; h < H; h++) {
            double *w = e->w1 + (size_t)h * D;
            for (int c = 0; c < D; c++) M[c] = hy_mt_normal(rng);
            for (int c = 0; c < D; c++) w[c] = p->gain_weak * M[c];
            for (int k = 0; k < K; k++) {
                const double *u = s->U + (size_t)k * D;
                double dot = 0;
                for (int c = 0; c < D; c++) dot += M[c] * u[c];
                for (int c = 0; c < D; c++) w[c] += (p->gain_strong - p->gain_weak) * dot * u[c];
            }
        }
        unit_rows(e->w1, H, D);
        for (int h = 0; h < H; h++) e->b1[h] = hy_mt_normal(rng);
        for (size_t i = 0; i < (size_t)V * H; i++) e->readout[i] = hy_mt_normal(rng);
        unit_rows(e->readout, V, H);
        // per-voxel mean and sd over a fixed reference draw of latents
        mt19937 r2;
        hy_mt_seed(&r2, MLP_REF_SEED);
        for (size_t i = 0; i < (size_t)MLP_REF_N * D; i++) Z[i] = hy_mt_normal(&r2);
        mlp_forward(e, Z, MLP_REF_N, D, V, U, R);
        col_mean_sd(R, MLP_REF_N, V, mu, sd);
        mlp_forward(e, s->ytr, s->n_train, D, V, U, s->ctr);
        mlp_forward(e, s->yte, s->n_test, D, V, U, s->cte);
        standardise(s->ctr, s->n_train, V, mu, sd, tuned);
        standardise(s->cte, s->n_test, V, mu, sd, tuned);
    }
    free(M), free(Z), free(U), free(R), free(mu), free(sd);
    return rc;
}

// --- gabor ----------------------------------------------------------------------------------

typedef struct {
    int rad;
    double *even, *odd;  // (2 rad + 1)^2 each
} gabor_filter;

// The bank: scale s has wavelength S / (16 >> s) pixels, i.e. S/16, S/8, S/4.
static int make_bank(gabor_filter *bank, int S) {
    for (int sc = 0; sc < GABOR_SCALES; sc++) {
        double lambda = (double)S / (16 >> sc), sigma = 0.56 * lambda;
        int rad = (int)ceil(2.5 * sigma);
        if (rad > S / 2) rad = S / 2;
        int w = 2 * rad + 1;
        for (int o = 0; o < GABOR_ORIENT; o++) {
            gabor_filter *f = &bank[sc * GABOR_ORIENT + o];
            f->rad = rad;
            f->even = hy_malloc(sizeof(double) * w * w);
            f->odd = hy_malloc(sizeof(double) * w * w);
            if (!f->even || !f->odd) return HY_ENOMEM;
            double th = M_PI * o / GABOR_ORIENT, ct = cos(th), st = sin(th), me = 0, ne = 0, no = 0;
            for (int y = -rad; y <= rad; y++)
                for (int x = -rad; x <= rad; x++) {
                    double xr = x * ct + y * st, g = exp(-(x * x + y * y) / (2 * sigma * sigma));
                    f->even[(y + rad) * w + x + rad] = g * cos(2 * M_PI * xr / lambda);
                    f->odd[(y + rad) * w + x + rad] = g * sin(2 * M_PI * xr / lambda);
                    me += f->even[(y + rad) * w + x + rad];
                }
            me /= (double)w * w;
            for (int i = 0; i < w * w; i++) {
                f->even[i] -= me;  // no response to uniform luminance
                ne += f->even[i] * f->even[i];
                no += f->odd[i] * f->odd[i];
            }
            for (int i = 0; i < w * w; i++) f->even[i] /= sqrt(ne), f->odd[i] /= sqrt(no);
        }
    }
    return HY_OK;
}

static void free_bank(gabor_filter *bank) {
    for (int i = 0; i < GABOR_SCALES * GABOR_ORIENT; i++) free(bank[i].even), free(bank[i].odd);
}

// The 1536 energies of one face: img (3, R, R) -> lum (S, S) -> F (scales, orientations, grid).
static void gabor_features(const gabor_filter *bank, const float *img, int R, int S, double *lum, double *F) {
    const int f = R / S;
    for (int y = 0; y < S; y++)
        for (int x = 0; x < S; x++) {
            double acc = 0;
            for (int dy = 0; dy < f; dy++)
                for (int dx = 0; dx < f; dx++) {
                    size_t q = (size_t)(y * f + dy) * R + x * f + dx;
                    double l = 0.299 * img[q] + 0.587 * img[(size_t)R * R + q] + 0.114 * img[(size_t)2 * R * R + q];
                    acc += l < -1 ? -1 : l > 1 ? 1 : l;  // what the image shows
                }
            lum[y * S + x] = acc / (f * f);
        }
    const int cell = S / GABOR_GRID;
    for (int b = 0; b < GABOR_SCALES * GABOR_ORIENT; b++) {
        const gabor_filter *g = &bank[b];
        const int rad = g->rad, w = 2 * rad + 1;
        for (int gy = 0; gy < GABOR_GRID; gy++)
            for (int gx = 0; gx < GABOR_GRID; gx++) {
                int cy = gy * cell + cell / 2, cx = gx * cell + cell / 2;
                double e = 0, o = 0;
                for (int y = -rad; y <= rad; y++) {
                    int yy = cy + y;
                    if (yy < 0 || yy >= S) continue;  // zero (grey) outside the image
                    for (int x = -rad; x <= rad; x++) {
                        int xx = cx + x;
                        if (xx < 0 || xx >= S) continue;
                        double l = lum[yy * S + xx];
                        e += g->even[(y + rad) * w + x + rad] * l;
                        o += g->odd[(y + rad) * w + x + rad] * l;
                    }
                }
                F[(size_t)b * GABOR_GRID * GABOR_GRID + gy * GABOR_GRID + gx] = sqrt(e * e + o * o);
            }
    }
}

static int encode_gabor(const sim_params *p, sim_data *s, const int *tuned, mt19937 *rng) {
    pggan *gen = p->gen;
    if (!gen) return hy_err(HY_EARG, "the gabor encoding renders faces: it needs the generator (-g G.bin)");
    if (gen->latent != s->d)
        return hy_err(HY_EARG, "the gabor encoding: the generator takes %d-d latents, the simulation has %d",
                      gen->latent, s->d);
    const int R = gen->resolution, S = p->gabor_size < R ? p->gabor_size : R, V = s->v;
    if (S < 16 || (S & (S - 1))) return hy_err(HY_EARG, "--gabor-size %d must be a power of two >= 16", p->gabor_size);
    const int n = s->n_train + s->n_test;
    sim_encoding *e = &s->enc;
    e->F = GABOR_F;
    e->rf = hy_malloc(sizeof(double) * (size_t)V * 3);
    e->tuning = hy_malloc(sizeof(double) * (size_t)V * GABOR_SCALES * GABOR_ORIENT);
    gabor_filter bank[GABOR_SCALES * GABOR_ORIENT];
    memset(bank, 0, sizeof bank);
    float *img = hy_malloc(sizeof(float) * 3 * (size_t)R * R), *z = hy_malloc(sizeof(float) * s->d);
    double *lum = hy_malloc(sizeof(double) * S * S), *F = hy_malloc(sizeof(double) * (size_t)n * GABOR_F);
    double *Wv = hy_calloc((size_t)V * GABOR_F, sizeof(double)), *Rall = hy_malloc(sizeof(double) * (size_t)n * V);
    double *mu = hy_malloc(sizeof(double) * V), *sd = hy_malloc(sizeof(double) * V);
    int rc = e->rf && e->tuning && img && z && lum && F && Wv && Rall && mu && sd ? make_bank(bank, S) : HY_ENOMEM;
    double t0 = hy_now();
    for (int i = 0; i < n && !rc; i++) {
        const double *zi = i < s->n_train ? s->ytr + (size_t)i * s->d : s->yte + (size_t)(i - s->n_train) * s->d;
        for (int c = 0; c < s->d; c++) z[c] = (float)zi[c];
        if (!(rc = hy_pggan_forward(gen, z, img, NULL, NULL)))
            gabor_features(bank, img, R, S, lum, F + (size_t)i * GABOR_F);
        hy_progress("simulate: rendering faces for the gabor encoding", i + 1, n, t0);
    }
    if (!rc) {
        // each voxel: a Gaussian receptive field on the grid and a positive tuning per band
        for (int v = 0; v < V; v++) {
            double cx = hy_mt_uniform_f64(rng) * GABOR_GRID, cy = hy_mt_uniform_f64(rng) * GABOR_GRID;
            double sg = 0.5 + 1.5 * hy_mt_uniform_f64(rng), *t = e->tuning + (size_t)v * GABOR_SCALES * GABOR_ORIENT;
            e->rf[v * 3] = cx, e->rf[v * 3 + 1] = cy, e->rf[v * 3 + 2] = sg;
            for (int b = 0; b < GABOR_SCALES * GABOR_ORIENT; b++) t[b] = fabs(hy_mt_normal(rng));
            for (int b = 0; b < GABOR_SCALES * GABOR_ORIENT; b++)
                for (int gy = 0; gy < GABOR_GRID; gy++)
                    for (int gx = 0; gx < GABOR_GRID; gx++) {
                        double dx = gx + 0.5 - cx, dy = gy + 0.5 - cy;
                        Wv[(size_t)v * GABOR_F + (size_t)b * GABOR_GRID * GABOR_GRID + gy * GABOR_GRID + gx] =
                            t[b] * exp(-(dx * dx + dy * dy) / (2 * sg * sg));
                    }
        }
        // Rall (n, V) = F (n, F) @ Wv^T (F, V), standardised over the stimuli
        cblas_dgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, V, GABOR_F, 1.0, F, GABOR_F, Wv, GABOR_F, 0.0, Rall, V);
        col_mean_sd(Rall, n, V, mu, sd);
        standardise(Rall, n, V, mu, sd, tuned);
        memcpy(s->ctr, Rall, sizeof(double) * (size_t)s->n_train * V);
        memcpy(s->cte, Rall + (size_t)s->n_train * V, sizeof(double) * (size_t)s->n_test * V);
    }
    free_bank(bank);
    free(img), free(z), free(lum), free(F), free(Wv), free(Rall), free(mu), free(sd);
    return rc;
}

int hy_sim_encode(const sim_params *p, sim_data *s, const int *tuned) {
    mt19937 rng;
    hy_mt_seed(&rng, p->seed + ENC_SEED_OFFSET);
    s->enc.kind = p->encoding;
    if (p->encoding == SIM_ENC_MLP) return encode_mlp(p, s, tuned, &rng);
    if (p->encoding == SIM_ENC_GABOR) return encode_gabor(p, s, tuned, &rng);
    return hy_err(HY_EARG, "unknown encoding %d", p->encoding);
}

int hy_sim_encoding_save(const sim_data *s, const char *truth_dir) {
    const sim_encoding *e = &s->enc;
    char path[1400];
    int rc = HY_OK;
    if (e->kind == SIM_ENC_MLP) {
        if ((rc = hy_ds_path(path, sizeof path, truth_dir, "mlp_w1.npy")) || (rc = hy_ds_write_f32(path, e->w1, e->H, s->d)))
            return rc;
        if ((rc = hy_ds_path(path, sizeof path, truth_dir, "mlp_b1.npy")) || (rc = hy_ds_write_f32(path, e->b1, 1, e->H)))
            return rc;
        if ((rc = hy_ds_path(path, sizeof path, truth_dir, "mlp_readout.npy")) ||
            (rc = hy_ds_write_f32(path, e->readout, s->v, e->H)))
            return rc;
    } else if (e->kind == SIM_ENC_GABOR) {
        if ((rc = hy_ds_path(path, sizeof path, truth_dir, "gabor_rf.npy")) || (rc = hy_ds_write_f32(path, e->rf, s->v, 3)))
            return rc;
        if ((rc = hy_ds_path(path, sizeof path, truth_dir, "gabor_tuning.npy")) ||
            (rc = hy_ds_write_f32(path, e->tuning, s->v, GABOR_SCALES * GABOR_ORIENT)))
            return rc;
    }
    return rc;
}
