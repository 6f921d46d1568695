// test_ensemble.c - issue 14 in `hyper sweep`: specs of the new decoders (cosine loss, residual
// MLP, kernel ridge, PLS, fixed penalties) and their run names, and ensembles of finished runs
// (--ensemble): the mean direction, resuming, unknown members, members in other shards.
#include <math.h>

#include "base/common.h"
#include "base/npy.h"
#include "study/sweep.h"
#include "testutil.h"

#define GEN "tests/fixtures/pggan_tiny.bin"
#define NET "tests/fixtures/facenet_tiny.bin"

START_TEST(new_specs) {
    sweep_model m;
    sweep_opts o;
    dec_opts d;
    hy_sweep_defaults(&o);
    ck_assert_msg(hy_sweep_parse_spec("mlp:skip=ridge:hidden=64", 0, &m) == 0, "%s", hy_errmsg());
    ck_assert_str_eq(m.name, "mlp-skip-h64");
    hy_sweep_model_opts(&o, &m, &d);
    ck_assert(d.skip == DEC_SKIP_RIDGE && d.hidden[0] == 64 && d.loss == DEC_LOSS_L2);
    ck_assert_int_eq(hy_sweep_parse_spec("linear:loss=cosine", 0, &m), 0);
    ck_assert_str_eq(m.name, "linear-cos");
    hy_sweep_model_opts(&o, &m, &d);
    ck_assert(d.loss == DEC_LOSS_COSINE && d.kind == DEC_LINEAR);
    ck_assert_int_eq(hy_sweep_parse_spec("kernel-ridge:kernel=poly:gamma=0.01:degree=2:coef0=0.5:cv=5", 1, &m), 0);
    ck_assert_str_eq(m.name, "kernel-ridge-poly-g0.01-deg2-c00.5-cv5");
    hy_sweep_model_opts(&o, &m, &d);
    ck_assert(d.kernel == KR_POLY && d.gamma == 0.01 && d.degree == 2 && d.coef0 == 0.5 && d.cv_folds == 5);
    ck_assert_int_eq(hy_sweep_parse_spec("kernel-ridge", 1, &m), 0);
    hy_sweep_model_opts(&o, &m, &d);
    ck_assert(d.kernel == KR_RBF && d.cv_folds == 0 && d.gamma == 0);  // the kind's defaults: rbf, LOO, 1/voxels
    ck_assert_int_eq(hy_sweep_parse_spec("pls:components=12:cv=5", 1, &m), 0);
    ck_assert_str_eq(m.name, "pls-k12-cv5");
    hy_sweep_model_opts(&o, &m, &d);
    ck_assert(d.components == 12 && d.cv_folds == 5);
    ck_assert_int_eq(hy_sweep_parse_spec("lasso:alpha=0.1", 1, &m), 0);
    ck_assert_str_eq(m.name, "lasso-a0.1");
    hy_sweep_model_opts(&o, &m, &d);
    ck_assert(d.fixed_alpha == 0.1);
    // ensemble names
    char name[256];
    ck_assert_int_eq(hy_ensemble_name("ridge,mlp-skip-h64_200_30", name, sizeof name), 0);
    ck_assert_str_eq(name, "ensemble-ridge+mlp-skip-h64_200_30");
    ck_assert_int_eq(hy_ensemble_name("ridge", name, sizeof name), HY_EARG);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "needs at least 2 runs"));
    ck_assert_int_eq(hy_ensemble_name("ridge,,pls", name, sizeof name), HY_EARG);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "empty run name"));
    ck_assert_int_eq(hy_ensemble_name("ridge,ridge", name, sizeof name), HY_EARG);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "run 'ridge' is listed twice"));
}
END_TEST

static float *read_pred(const char *dir, const char *run, int *n, int *L) {
    char p[600];
    snprintf(p, sizeof p, "%s/runs/%s/pred.npy", dir, run);
    npy_f32 a;
    ck_assert_msg(hy_npy_read_f32(p, &a, 0) == 0, "%s", hy_errmsg());
    *n = (int)a.dims[0], *L = (int)a.dims[1];
    return a.data;
}

// The ensemble run holds the members' mean direction at their mean length, and is ranked.
START_TEST(ensemble_end_to_end) {
    char *d = test_tmpdir(), *msg, data[300], res[300], p[1400];
    snprintf(data, sizeof data, "%s/data", d);
    snprintf(res, sizeof res, "%s/res", d);
    int rc = run_hyper(&msg, "simulate -o %s --train 70 --test 6 --voxels 64 --seed 3", data);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    const char *base = "sweep -d %s -g " GEN " -e " NET " -o %s --null 0 --crop full --threads 1 --models '' "
                       "--closed ridge,pls:components=3,kernel-ridge:gamma=0.01 %s";
    rc = run_hyper(&msg, base, data, res, "--ensemble ridge,pls-k3,kernel-ridge-g0.01");
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    int n, L, n2, L2;
    const char *mem[3] = {"ridge", "pls-k3", "kernel-ridge-g0.01"};
    float *P[3], *E = read_pred(res, "ensemble-ridge+pls-k3+kernel-ridge-g0.01", &n, &L);
    for (int k = 0; k < 3; k++) {
        P[k] = read_pred(res, mem[k], &n2, &L2);
        ck_assert(n2 == n && L2 == L);
    }
    // float32 predictions normalised and averaged in float64, stored as float32: 1e-6 relative
    double err = 0;
    for (int i = 0; i < n; i++) {
        double acc[512] = {0}, len = 0, an = 0;
        ck_assert_int_le(L, 512);
        for (int k = 0; k < 3; k++) {
            double nn = 0;
            for (int c = 0; c < L; c++) nn += (double)P[k][i * L + c] * P[k][i * L + c];
            nn = sqrt(nn);
            len += nn / 3;
            for (int c = 0; c < L; c++) acc[c] += P[k][i * L + c] / nn;
        }
        for (int c = 0; c < L; c++) an += acc[c] * acc[c];
        an = sqrt(an);
        for (int c = 0; c < L; c++) err = fmax(err, fabs(E[i * L + c] - acc[c] / an * len) / len);
    }
    printf("  ensemble prediction vs mean direction x mean length: max rel diff %.2g\n", err);
    ck_assert_msg(err < 1e-6, "ensemble predictions differ by %g", err);
    snprintf(p, sizeof p, "grep -q ',ensemble-ridge+pls-k3+kernel-ridge-g0.01,ensemble,' %s/runs/ensemble-ridge+pls-k3+kernel-ridge-g0.01/run.csv && grep -q "
             "'ensemble-ridge+pls-k3+kernel-ridge-g0.01' %s/results.md && grep -qx pls-k3 "
             "%s/runs/ensemble-ridge+pls-k3+kernel-ridge-g0.01/members.txt", res, res, res);
    ck_assert_msg(system(p) == 0, "ensemble missing from the run rows, report or members.txt");
    // resuming: nothing to do, the same files
    snprintf(p, sizeof p, "%s/runs/ensemble-ridge+pls-k3+kernel-ridge-g0.01/pred.npy", res);
    struct stat st0, st1;
    ck_assert_int_eq(stat(p, &st0), 0);
    rc = run_hyper(&msg, base, data, res, "--ensemble ridge,pls-k3,kernel-ridge-g0.01");
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    ck_assert_int_eq(stat(p, &st1), 0);
    ck_assert(st0.st_mtime == st1.st_mtime && st0.st_ino == st1.st_ino);
    // an ensemble of finished runs not in this sweep's grid, with an ensemble as a member
    rc = run_hyper(&msg, base, data, res,
                   "--ensemble ridge,pls-k3 --ensemble ensemble-ridge+pls-k3,kernel-ridge-g0.01");
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    snprintf(p, sizeof p, "%s/runs/ensemble-ensemble-ridge+pls-k3+kernel-ridge-g0.01/run.csv", res);
    ck_assert_msg(file_exists(p), "%s missing", p);
    // unknown run: one line, exit 1, nothing trained
    rc = run_hyper(&msg, base, data, res, "--ensemble ridge,nosuch");
    ck_assert_msg(rc == 1 && strstr(msg, "unknown run 'nosuch'") && strchr(msg, '\n') == msg + strlen(msg) - 1, "%d: %s",
                  rc, msg);
    printf("  ok: %s", msg);
    free(msg);
    // a run that was started but not finished (another sweep's interrupted run): refused too
    snprintf(p, sizeof p, "mkdir -p %s/runs/linear_9_30.tmp", res);
    ck_assert_int_eq(system(p), 0);
    rc = run_hyper(&msg, base, data, res, "--ensemble ridge,linear_9_30");
    ck_assert_msg(rc == 1 && strstr(msg, "run 'linear_9_30' is not finished") && strchr(msg, '\n') == msg + strlen(msg) - 1,
                  "%d: %s", rc, msg);
    printf("  ok: %s", msg);
    free(msg);
    rc = run_hyper(&msg, base, data, res, "--ensemble ridge");
    ck_assert_msg(rc == 2 && strstr(msg, "--ensemble ridge: an ensemble needs at least 2 runs"), "%d: %s",
                  rc, msg);
    free(msg);
    for (int k = 0; k < 3; k++) free(P[k]);
    free(E);
}
END_TEST

// With shards, an ensemble whose members are in another shard waits (a note, exit 0) and is
// made by the sweep that finds them all finished.
START_TEST(ensemble_waits_for_shards) {
    char *d = test_tmpdir(), *msg, data[300], res[300], p[1400];
    snprintf(data, sizeof data, "%s/data", d);
    snprintf(res, sizeof res, "%s/res", d);
    int rc = run_hyper(&msg, "simulate -o %s --train 70 --test 6 --voxels 64 --seed 3", data);
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    const char *base = "sweep -d %s -g " GEN " -e " NET " -o %s --null 0 --crop full --threads 1 --models '' "
                       "--closed ridge,pls:components=2 --ensemble ridge,pls-k2 --shard %s";
    rc = run_hyper(&msg, base, data, res, "1/2");
    ck_assert_msg(rc == 0 && strstr(msg, "ensemble-ridge+pls-k2 waits for runs of other shards"), "%d: %s", rc, msg);
    free(msg);
    snprintf(p, sizeof p, "%s/runs/ensemble-ridge+pls-k2/run.csv", res);
    ck_assert(!file_exists(p));
    rc = run_hyper(&msg, base, data, res, "2/2");
    ck_assert_msg(rc == 0, "%s", msg);
    free(msg);
    ck_assert_msg(file_exists(p), "the last shard did not make the ensemble");
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("ensemble");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, new_specs);
    tcase_add_test(tc, ensemble_end_to_end);
    tcase_add_test(tc, ensemble_waits_for_shards);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
