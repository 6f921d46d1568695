// test_dec_sim.c - the simulator (determinism, noise level, ground-truth recovery by OLS as
// SNR grows) and the latent metrics on hand-checkable inputs.
#include <math.h>

#include "base/common.h"
#include "decoders/decoders.h"
#include "study/metrics.h"
#include "study/simulate.h"
#include "testutil.h"

static void small(sim_params *p, double snr, uint64_t seed) {
    hy_sim_default(p);
    p->n_train = 300;
    p->n_test = 20;
    p->test_reps = 4;
    p->n_voxels = 64;
    p->latent_dim = 8;
    p->n_strong = 2;
    p->informative = 1.0;
    p->snr = snr;
    p->seed = seed;
}

START_TEST(test_sim_deterministic) {
    sim_params p;
    sim_data a, b, c;
    small(&p, 0.5, 7);
    ck_assert_int_eq(hy_sim_run(&p, &a), 0);
    ck_assert_int_eq(hy_sim_run(&p, &b), 0);
    p.seed = 8;
    ck_assert_int_eq(hy_sim_run(&p, &c), 0);
    ck_assert(memcmp(a.xtr, b.xtr, sizeof(double) * 300 * 64) == 0);
    ck_assert(memcmp(a.yte, b.yte, sizeof(double) * 20 * 8) == 0);
    ck_assert(memcmp(a.xtr, c.xtr, sizeof(double) * 300 * 64) != 0);
    // strong directions are orthonormal
    for (int i = 0; i < 2; i++)
        for (int j = 0; j < 2; j++) {
            double dot = 0;
            for (int k = 0; k < 8; k++) dot += a.U[i * 8 + k] * a.U[j * 8 + k];
            ck_assert_msg(fabs(dot - (i == j)) < 1e-12, "U U^T [%d,%d] = %g", i, j, dot);
        }
    hy_sim_free(&a);
    hy_sim_free(&b);
    hy_sim_free(&c);
}
END_TEST

// Tuned voxels have unit signal variance and noise variance 1/snr per trial (train) and
// 1/(snr reps) after averaging (test). 300*64 samples: the sample variance is within ~3% (4 se).
START_TEST(test_sim_noise_level) {
    sim_params p;
    sim_data s;
    small(&p, 0.25, 3);
    p.n_test = 200;
    ck_assert_int_eq(hy_sim_run(&p, &s), 0);
    double sv = 0, nv = 0, tv = 0;
    for (int i = 0; i < 300 * 64; i++) {
        sv += s.ctr[i] * s.ctr[i];
        nv += (s.xtr[i] - s.ctr[i]) * (s.xtr[i] - s.ctr[i]);
    }
    for (int i = 0; i < 200 * 64; i++) tv += (s.xte[i] - s.cte[i]) * (s.xte[i] - s.cte[i]);
    sv /= 300 * 64;
    nv /= 300 * 64;
    tv /= 200 * 64;
    printf("  signal var %.3f (1), train noise var %.3f (4), test noise var %.3f (1)\n", sv, nv, tv);
    ck_assert_msg(fabs(sv - 1) < 0.1, "signal variance %g", sv);
    ck_assert_msg(fabs(nv / 4 - 1) < 0.1, "train noise variance %g, want 4", nv);
    ck_assert_msg(fabs(tv - 1) < 0.1, "test noise variance %g, want 1", tv);
    hy_sim_free(&s);
}
END_TEST

// With a nonlinearity the responses stay standardised (mean 0, variance 1 over stimuli, within
// sampling error of 300 x 64 correlated draws) and relu really rectifies: the noise-free
// response takes its minimum value (f(s) = 0 standardised) on about half the trials.
START_TEST(test_sim_nonlinear) {
    sim_params p;
    sim_data s;
    small(&p, 1.0, 4);
    p.nonlin = SIM_RELU;
    ck_assert_int_eq(hy_sim_run(&p, &s), 0);
    double m = 0, v = 0, mn = 1e9;
    int at_min = 0;
    for (int i = 0; i < 300 * 64; i++) {
        m += s.ctr[i];
        mn = fmin(mn, s.ctr[i]);
    }
    m /= 300 * 64;
    for (int i = 0; i < 300 * 64; i++) {
        v += (s.ctr[i] - m) * (s.ctr[i] - m);
        at_min += s.ctr[i] < mn + 1e-9;
    }
    v /= 300 * 64;
    printf("  relu: mean %.3f var %.3f, %.1f%% at the floor\n", m, v, 100.0 * at_min / (300 * 64));
    ck_assert_msg(fabs(m) < 0.1 && fabs(v - 1) < 0.15, "mean %g var %g", m, v);
    ck_assert_msg(at_min > 0.4 * 300 * 64 && at_min < 0.6 * 300 * 64, "%d at the floor", at_min);
    hy_sim_free(&s);
}
END_TEST

// OLS recovers the ground truth as SNR grows: test cosine rises monotonically and, at
// SNR 1e4, the decoder inverts the encoding (W A = I within 1e-2, cosine > 0.999).
START_TEST(test_sim_ols_recovery) {
    double snrs[4] = {0.001, 0.01, 0.1, 1e4}, prev = -1;
    for (int k = 0; k < 4; k++) {
        sim_params p;
        sim_data s;
        small(&p, snrs[k], 11);
        ck_assert_int_eq(hy_sim_run(&p, &s), 0);
        double W[8 * 64], b[8];
        ck_assert_int_eq(hy_dec_ols(s.xtr, s.ytr, 300, 64, 8, 1, 0, W, b), 0);
        double cs = 0;
        for (int i = 0; i < 20; i++) {
            double pr[8];
            for (int t = 0; t < 8; t++) {
                pr[t] = b[t];
                for (int j = 0; j < 64; j++) pr[t] += W[t * 64 + j] * s.xte[i * 64 + j];
            }
            cs += hy_met_cosine(pr, s.yte + i * 8, 8) / 20;
        }
        double wa = 0;
        for (int r = 0; r < 8; r++)
            for (int c = 0; c < 8; c++) {
                double acc = 0;
                for (int j = 0; j < 64; j++) acc += W[r * 64 + j] * s.A[j * 8 + c];
                wa = fmax(wa, fabs(acc - (r == c)));
            }
        printf("  snr %-8g OLS test cosine %.4f  max|WA - I| %.4f\n", snrs[k], cs, wa);
        ck_assert_msg(cs > prev, "cosine did not increase with SNR (%g after %g)", cs, prev);
        prev = cs;
        if (k == 3) {
            ck_assert_msg(cs > 0.999, "high-SNR cosine %g", cs);
            ck_assert_msg(wa < 1e-2, "W A differs from I by %g", wa);
        }
        hy_sim_free(&s);
    }
}
END_TEST

START_TEST(test_metrics_values) {
    double a[3] = {1, 2, 2}, b[3] = {2, 0, 1};
    ck_assert(fabs(hy_met_cosine(a, b, 3) - 4.0 / 3 / sqrt(5)) < 1e-15);
    ck_assert(fabs(hy_met_mse(a, b, 3) - 2.0) < 1e-15);  // (1 + 4 + 1) / 3
    ck_assert(fabs(hy_met_euclid(a, b, 3) - sqrt(6)) < 1e-15);
    double x[4] = {1, 2, 3, 4}, y[4] = {2, 4, 6, 8.5};
    // r by hand: x centred (-1.5,-.5,.5,1.5), y centred (-3.125,-1.125,.875,3.375)
    double r = (1.5 * 3.125 + .5 * 1.125 + .5 * .875 + 1.5 * 3.375) / sqrt(5.0 * (3.125 * 3.125 + 1.125 * 1.125 + .875 * .875 + 3.375 * 3.375));
    ck_assert(fabs(hy_met_pearson(x, 1, y, 1, 4) - r) < 1e-15);
    double m, se;
    hy_met_mean_se(x, 4, &m, &se);
    ck_assert(fabs(m - 2.5) < 1e-15 && fabs(se - sqrt(5.0 / 3) / 2) < 1e-15);
    // identity rows: perfect identification, pairwise cosine distance 1, effective rank of
    // the centred 4x4 identity (singular values 1,1,1,0) = 3
    double I[16] = {1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1, 0, 0, 0, 0, 1}, id[4];
    hy_met_ident2(I, I, 4, 4, id);
    for (int i = 0; i < 4; i++) ck_assert(id[i] == 1.0);
    ck_assert(fabs(hy_met_spread(I, 4, 4) - 1.0) < 1e-15);
    ck_assert_msg(fabs(hy_met_effective_rank(I, 4, 4) - 3.0) < 1e-9, "erank %g", hy_met_effective_rank(I, 4, 4));
    // collapsed predictions (all rows equal): spread 0, identification at chance (ties = 1/2)
    double C[16] = {1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0, 1, 1, 0, 0};
    hy_met_ident2(C, I, 4, 4, id);
    ck_assert(fabs(hy_met_spread(C, 4, 4)) < 1e-15);
    double pm, pi[4];
    // perfect predictions beat every random latent: p = 1/(1+N)
    ck_assert_int_eq(hy_met_null(I, I, 4, 4, 99, 1, pi, &pm), 0);
    ck_assert(fabs(pi[0] - 0.01) < 1e-15 && fabs(pm - 0.01) < 1e-15);
}
END_TEST

static Suite *dec_sim_suite(void) {
    Suite *s = suite_create("dec_sim");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, test_sim_deterministic);
    tcase_add_test(tc, test_sim_noise_level);
    tcase_add_test(tc, test_sim_ols_recovery);
    tcase_add_test(tc, test_sim_nonlinear);
    tcase_add_test(tc, test_metrics_values);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(dec_sim_suite)
