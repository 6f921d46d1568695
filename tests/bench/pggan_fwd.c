// pggan_fwd.c - times pggan_forward alone (no PNG encoding, no file output): the number to
// compare with a PyTorch forward pass. Prints one line per run and the median:
//   pggan_fwd WEIGHTS THREADS REPS
// "threads wall cpu best load": median wall seconds/image, median process CPU seconds/image
// (CPU time is what a loaded machine cannot steal), best wall, and pggan_load's wall time. Built by tests/bench/pggan.sh against build/libhyper.a.
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/common.h"
#include "models/pggan.h"
#include "base/rng.h"

static double now(clockid_t c) {
    struct timespec t;
    clock_gettime(c, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

static int cmp(const void *a, const void *b) {
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(int argc, char **argv) {
    if (argc != 4) {
        fprintf(stderr, "usage: pggan_fwd WEIGHTS THREADS REPS\n");
        return 2;
    }
    int threads = atoi(argv[2]), reps = atoi(argv[3]);
    if (reps < 1 || reps > 100) reps = 3;
    hy_set_threads(threads);
    pggan g;
    double l0 = now(CLOCK_MONOTONIC);
    if (hy_pggan_load(&g, argv[1])) return 1;
    double load = now(CLOCK_MONOTONIC) - l0;
    int R = g.resolution;
    float *z = malloc(sizeof(float) * g.latent), *img = malloc(sizeof(float) * 3 * (size_t)R * R);
    mt19937 rng;
    hy_mt_seed(&rng, 1);
    hy_mt_randn_f32(&rng, z, g.latent);
    double wall[100], cpu[100];
    if (hy_pggan_forward(&g, z, img, NULL, NULL)) return 1;  // warm-up (first touch of weights)
    for (int i = 0; i < reps; i++) {
        double w0 = now(CLOCK_MONOTONIC), c0 = now(CLOCK_PROCESS_CPUTIME_ID);
        if (hy_pggan_forward(&g, z, img, NULL, NULL)) return 1;
        wall[i] = now(CLOCK_MONOTONIC) - w0;
        cpu[i] = now(CLOCK_PROCESS_CPUTIME_ID) - c0;
    }
    qsort(wall, reps, sizeof(double), cmp);
    qsort(cpu, reps, sizeof(double), cmp);
    printf("%d %.4f %.4f %.4f %.4f\n", threads, wall[reps / 2], cpu[reps / 2], wall[0], load);
    free(z), free(img);
    hy_pggan_free(&g);
    return 0;
}
