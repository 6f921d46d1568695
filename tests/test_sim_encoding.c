// test_sim_encoding.c - the simulator's nonlinear encodings (--encoding mlp|gabor,
// src/study/encoding.c): they share every other draw with the linear encoding, the mlp
// responses are the documented network of the latent, the gabor responses come from the
// rendered faces, tuned voxels have unit signal variance, and bad settings are refused.
#include <math.h>

#include "base/common.h"
#include "base/rng.h"
#include "models/pggan.h"
#include "study/simulate.h"
#include "testutil.h"

#define GEN "tests/fixtures/pggan_tiny.bin"  // 32x32, latent 512

static void small(sim_params *p, int encoding) {
    hy_sim_default(p);
    p->n_train = 150;
    p->n_test = 10;
    p->test_reps = 3;
    p->n_voxels = 96;
    p->latent_dim = 512;
    p->informative = 0.75;
    p->seed = 4;
    p->encoding = encoding;
    p->enc_hidden = 40;
    p->gabor_size = 32;
}

// The same latents and the same noise as the linear encoding, draw for draw: x - clean agrees
// exactly, and so do the latents.
static void same_noise(const sim_data *a, const sim_data *b) {
    const size_t m = (size_t)a->n_train * a->v;
    ck_assert(memcmp(a->ytr, b->ytr, sizeof(double) * a->n_train * a->d) == 0);
    ck_assert(memcmp(a->yte, b->yte, sizeof(double) * a->n_test * a->d) == 0);
    double e = 0;
    for (size_t i = 0; i < m; i++) e = fmax(e, fabs((a->xtr[i] - a->ctr[i]) - (b->xtr[i] - b->ctr[i])));
    ck_assert_msg(e < 1e-12, "noise differs between encodings by %g", e);
}

// Mean over tuned voxels of the response's sd across stimuli; untuned voxels must be all zero.
static double tuned_sd(const sim_data *s, int *n_tuned) {
    double acc = 0;
    *n_tuned = 0;
    for (int v = 0; v < s->v; v++) {
        double m = 0, q = 0;
        for (int i = 0; i < s->n_train; i++) m += s->ctr[(size_t)i * s->v + v];
        m /= s->n_train;
        for (int i = 0; i < s->n_train; i++) q += pow(s->ctr[(size_t)i * s->v + v] - m, 2);
        double sd = sqrt(q / s->n_train);
        if (sd == 0) continue;
        acc += sd;
        (*n_tuned)++;
    }
    return *n_tuned ? acc / *n_tuned : 0;
}

START_TEST(test_mlp_encoding) {
    sim_params p;
    sim_data lin, mlp, again;
    small(&p, SIM_ENC_LINEAR);
    ck_assert_int_eq(hy_sim_run(&p, &lin), 0);
    small(&p, SIM_ENC_MLP);
    ck_assert_msg(hy_sim_run(&p, &mlp) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_sim_run(&p, &again), 0);
    ck_assert(memcmp(mlp.xtr, again.xtr, sizeof(double) * 150 * 96) == 0);  // deterministic
    same_noise(&lin, &mlp);
    // the responses are B relu(W1 z + b1), standardised: the correlation over stimuli between
    // the recomputed network and the clean response is 1 for every tuned voxel
    const int H = mlp.enc.H, D = 512, V = 96, n = 150;
    ck_assert_int_eq(H, 40);
    double worst = 1;
    int tuned = 0;
    for (int v = 0; v < V; v++) {
        double sx = 0, sy = 0, sxx = 0, syy = 0, sxy = 0;
        for (int i = 0; i < n; i++) {
            double r = 0;
            for (int h = 0; h < H; h++) {
                double u = mlp.enc.b1[h];
                for (int c = 0; c < D; c++) u += mlp.enc.w1[(size_t)h * D + c] * mlp.ytr[(size_t)i * D + c];
                r += mlp.enc.readout[(size_t)v * H + h] * (u > 0 ? u : 0);
            }
            double y = mlp.ctr[(size_t)i * V + v];
            sx += r, sy += y, sxx += r * r, syy += y * y, sxy += r * y;
        }
        double cov = sxy / n - sx * sy / n / n, vy = syy / n - sy * sy / n / n, vx = sxx / n - sx * sx / n / n;
        if (vy == 0) continue;  // untuned
        tuned++;
        worst = fmin(worst, cov / sqrt(vx * vy));
    }
    int nt;
    double sd = tuned_sd(&mlp, &nt);
    printf("  mlp: %d tuned voxels, min corr with B relu(W1 z + b1) %.12f, mean signal sd %.3f\n", tuned, worst, sd);
    ck_assert_msg(worst > 1 - 1e-9, "mlp responses are not the network's (corr %g)", worst);
    // standardised over 2000 reference latents: the sd over these 150 stimuli is 1 within
    // sampling error (sd of a sample sd ~ 1/sqrt(2 * 150) = 0.06 per voxel, averaged over ~70)
    ck_assert_msg(fabs(sd - 1) < 0.05, "mean signal sd %g", sd);
    ck_assert_int_eq(nt, tuned);
    hy_sim_free(&lin), hy_sim_free(&mlp), hy_sim_free(&again);
}
END_TEST

START_TEST(test_gabor_encoding) {
    pggan gen;
    ck_assert_msg(hy_pggan_load(&gen, GEN) == 0, "%s", hy_errmsg());
    sim_params p;
    sim_data lin, gab, again;
    small(&p, SIM_ENC_LINEAR);
    ck_assert_int_eq(hy_sim_run(&p, &lin), 0);
    small(&p, SIM_ENC_GABOR);
    p.gen = &gen;
    ck_assert_msg(hy_sim_run(&p, &gab) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_sim_run(&p, &again), 0);
    ck_assert(memcmp(gab.ctr, again.ctr, sizeof(double) * 150 * 96) == 0);
    same_noise(&lin, &gab);
    // standardised over the stimuli themselves (train and test): sd exactly 1 over all 160
    int nt;
    double sd = tuned_sd(&gab, &nt);
    printf("  gabor: %d tuned voxels, mean signal sd over the training stimuli %.3f\n", nt, sd);
    ck_assert_int_gt(nt, 50);
    for (int v = 0; v < 96; v++) {
        double q = 0, m = 0;
        for (int i = 0; i < 160; i++) {
            double x = i < 150 ? gab.ctr[(size_t)i * 96 + v] : gab.cte[(size_t)(i - 150) * 96 + v];
            m += x, q += x * x;
        }
        m /= 160;
        double s2 = q / 160 - m * m;
        ck_assert_msg(s2 == 0 || (fabs(s2 - 1) < 1e-9 && fabs(m) < 1e-9), "voxel %d: mean %g var %g", v, m, s2);
        // receptive fields inside the 8 x 8 grid, sigma in [0.5, 2]
        const double *rf = gab.enc.rf + v * 3;
        ck_assert(rf[0] >= 0 && rf[0] < 8 && rf[1] >= 0 && rf[1] < 8 && rf[2] >= 0.5 && rf[2] <= 2);
    }
    hy_sim_free(&lin), hy_sim_free(&gab), hy_sim_free(&again);
    hy_pggan_free(&gen);
}
END_TEST

// The gabor voxels code the image: PGGAN pixel-normalises z, so z and 2z give the same face and
// the same responses (to the generator's eps in the normalisation: 1e-6 in standardised
// units), while the mlp voxels code the latent and respond differently.
START_TEST(test_gabor_codes_the_image) {
    pggan gen;
    ck_assert_int_eq(hy_pggan_load(&gen, GEN), 0);
    const int D = 512, V = 20, ntr = 4, nte = 2;
    double *ytr = malloc(sizeof(double) * ntr * D), *yte = malloc(sizeof(double) * nte * D);
    mt19937 r;
    hy_mt_seed(&r, 9);
    for (int i = 0; i < ntr * D; i++) ytr[i] = hy_mt_normal(&r);
    for (int i = 0; i < nte * D; i++) yte[i] = hy_mt_normal(&r);
    for (int c = 0; c < D; c++) ytr[D + c] = 2 * ytr[c];  // row 1 = 2 x row 0
    int tuned[20];
    for (int v = 0; v < V; v++) tuned[v] = 1;
    for (int enc = SIM_ENC_MLP; enc <= SIM_ENC_GABOR; enc++) {
        sim_params p;
        small(&p, enc);
        p.n_train = ntr, p.n_test = nte, p.n_voxels = V, p.n_strong = 0, p.gen = &gen;
        sim_data s;
        memset(&s, 0, sizeof s);
        s.n_train = ntr, s.n_test = nte, s.v = V, s.d = D, s.k = 0;
        s.ytr = ytr, s.yte = yte;
        s.U = calloc(D, sizeof(double));
        s.ctr = malloc(sizeof(double) * ntr * V), s.cte = malloc(sizeof(double) * nte * V);
        ck_assert_msg(hy_sim_encode(&p, &s, tuned) == 0, "%s", hy_errmsg());
        double same = 0, other = 0;
        for (int v = 0; v < V; v++) {
            same = fmax(same, fabs(s.ctr[v] - s.ctr[V + v]));
            other = fmax(other, fabs(s.ctr[v] - s.ctr[2 * V + v]));
        }
        printf("  %-5s max |r(z) - r(2z)| %.2g, |r(z) - r(z')| %.2g\n", hy_sim_encoding_name(enc), same, other);
        if (enc == SIM_ENC_GABOR) ck_assert_msg(same < 1e-6 && other > 0.1, "gabor: %g %g", same, other);
        else ck_assert_msg(same > 0.1, "mlp: z and 2z responded alike (%g)", same);
        hy_sim_encoding_free(&s.enc);
        free(s.U), free(s.ctr), free(s.cte);
    }
    free(ytr), free(yte);
    hy_pggan_free(&gen);
}
END_TEST

START_TEST(test_refusals) {
    sim_params p;
    sim_data s;
    small(&p, SIM_ENC_GABOR);
    ck_assert_int_eq(hy_sim_run(&p, &s), HY_EARG);
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "needs the generator"));
    small(&p, SIM_ENC_MLP);
    p.nonlin = SIM_RELU;
    ck_assert_int_eq(hy_sim_run(&p, &s), HY_EARG);
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "--nonlinearity applies to the linear encoding only"));
    // the generator's latent width must be the simulation's
    pggan gen;
    ck_assert_int_eq(hy_pggan_load(&gen, GEN), 0);
    small(&p, SIM_ENC_GABOR);
    p.latent_dim = 64;
    p.gen = &gen;
    ck_assert_int_eq(hy_sim_run(&p, &s), HY_EARG);
    printf("  ok: %s\n", hy_errmsg());
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "the generator takes 512-d latents, the simulation has 64"));
    hy_pggan_free(&gen);
    // the command line: exit 2 with one line
    char *out;
    const char *bad[4][2] = {{"simulate -o /tmp/x --encoding gabor", "give the generator (-g G.bin)"},
                             {"simulate -o /tmp/x --encoding mlp --nonlinearity tanh", "applies to --encoding linear only"},
                             {"simulate -o /tmp/x -g " GEN, "-g/--generator is for --encoding gabor"},
                             {"simulate -o /tmp/x --encoding gabor -g " GEN " --gabor-size 48", "not a power of two"}};
    for (int k = 0; k < 4; k++) {
        int rc = run_hyper(&out, "%s", bad[k][0]);
        ck_assert_msg(rc == 2 && strstr(out, bad[k][1]) && strchr(out, '\n') == out + strlen(out) - 1, "%s: %d %s",
                      bad[k][0], rc, out);
        printf("  ok: %s", out);
        free(out);
    }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("sim_encoding");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, test_mlp_encoding);
    tcase_add_test(tc, test_gabor_encoding);
    tcase_add_test(tc, test_gabor_codes_the_image);
    tcase_add_test(tc, test_refusals);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
