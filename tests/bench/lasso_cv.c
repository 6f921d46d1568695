// lasso_cv.c - times the C LassoCV / ElasticNetCV (hy_dec_enet) on the first TARGETS latent
// columns of a dataset and writes what it chose, for convert/bench/bench_lasso_sklearn.py to
// compare with scikit-learn. Built and run by tests/bench/lasso.sh.
//
//   lasso_cv DIR TARGETS PATH EPS L1_RATIO OUT_PREFIX [MODE]
//     DIR         dataset (train_fmri.npy, train_latents.npy)
//     TARGETS     first latent columns fitted (one LassoCV each, as scikit-learn does)
//     PATH, EPS   penalties on the path and alpha_min / alpha_max; 5 contiguous folds
//     L1_RATIO    1 = lasso
//     OUT_PREFIX  writes OUT_PREFIX.alpha.npy (TARGETS) and OUT_PREFIX.coef.npy (TARGETS, V)
//     MODE        auto (default) | gram | residual | plain (the solver before strong rules)
// Prints "seconds=S cpu_seconds=C" (training only; loading excluded). Threads: HY_THREADS.
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/common.h"
#include "base/npy.h"
#include "decoders/decoders.h"
#include "study/dataset.h"

int main(int argc, char **argv) {
    if (argc < 7) {
        fprintf(stderr, "usage: lasso_cv DIR TARGETS PATH EPS L1_RATIO OUT_PREFIX [auto|gram|residual|plain]\n");
        return 2;
    }
    hy_dataset ds;
    if (hy_ds_load(&ds, argv[1], DS_TRAIN | DS_FMRI | DS_LATENTS, 0, 0)) {
        fprintf(stderr, "lasso_cv: %s\n", hy_errmsg());
        return 1;
    }
    int n = ds.train.n, v = ds.train.v, D = ds.train.d, T = atoi(argv[2]), path = atoi(argv[3]);
    double eps = atof(argv[4]), l1 = atof(argv[5]);
    enet_mode mode = ENET_AUTO;
    if (argc > 7) {
        if (!strcmp(argv[7], "gram")) mode = ENET_GRAM;
        else if (!strcmp(argv[7], "residual")) mode = ENET_RESIDUAL;
        else if (!strcmp(argv[7], "plain")) mode = ENET_PLAIN;
    }
    if (T < 1 || T > D) T = D;
    double *Y = malloc(sizeof(double) * (size_t)n * T), *W = malloc(sizeof(double) * (size_t)T * v);
    double *b = malloc(sizeof(double) * T), *al = malloc(sizeof(double) * T);
    if (!Y || !W || !b || !al) return 1;
    for (int i = 0; i < n; i++)
        for (int t = 0; t < T; t++) Y[(size_t)i * T + t] = ds.train.lat[(size_t)i * D + t];
    const char *th = getenv("HY_THREADS");
    hy_set_threads(th ? atoi(th) : 0);
    enet_cfg cfg;
    hy_dec_enet_cfg_default(&cfg);
    cfg.l1_ratio = l1;
    cfg.path_len = path;
    cfg.path_eps = eps;
    cfg.cv_folds = 5;
    cfg.mode = mode;
    clock_t c0 = clock();
    double t0 = hy_now();
    int rc = hy_dec_enet_fit(&cfg, ds.train.fmri, Y, n, v, T, W, b, al);
    double wall = hy_now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (rc) {
        fprintf(stderr, "lasso_cv: %s\n", hy_errmsg());
        return 1;
    }
    char p[1024];
    snprintf(p, sizeof p, "%s.alpha.npy", argv[6]);
    rc = hy_npy_write_f64(p, 1, (int64_t[]){T}, al);
    snprintf(p, sizeof p, "%s.coef.npy", argv[6]);
    if (!rc) rc = hy_npy_write_f64(p, 2, (int64_t[]){T, v}, W);
    if (rc) {
        fprintf(stderr, "lasso_cv: %s\n", hy_errmsg());
        return 1;
    }
    printf("seconds=%.3f cpu_seconds=%.3f targets=%d n=%d v=%d threads=%d\n", wall, cpu, T, n, v, hy_get_threads());
    free(Y), free(W), free(b), free(al);
    hy_ds_free(&ds);
    return 0;
}
