// pggan_layers.c - per-layer timing of the PGGAN 1024 conv layers on the direct-conv path
// (src/nn/conv3x3.c), one thread, in CPU time (robust to other load on a shared machine), with
// the padded planes and the fused last stage that pggan_forward uses. GFLOP/s: actual
// (folded conv0 does 16/36 of the nominal MACs) and nominal (the 3x3-on-upsampled count).
// Build: cc -O2 -fopenmp -Iinclude tests/bench/pggan_layers.c build/libhyper.a -lopenblas -lpng -lz -lm -o /tmp/pl
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#include "base/common.h"
#include "nn/conv3x3.h"
#include "nn/ops.h"

static double cpu_now(void) {
    struct timespec t;
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return t.tv_sec + 1e-9 * t.tv_nsec;
}

int main(int argc, char **argv) {
    int reps = argc > 1 ? atoi(argv[1]) : 2;
    hy_set_threads(1);
    static const int ch[] = {512, 512, 512, 512, 256, 128, 64, 32, 16};
    float *in = malloc(sizeof(float) * 32 << 20), *out = malloc(sizeof(float) * 32 << 20);
    float *w = malloc(sizeof(float) * 512 * 512 * 9), *pk = malloc(sizeof(float) * 512 * 512 * 16);
    float *b = calloc(512, sizeof(float)), *rgb = malloc(sizeof(float) * 3 << 20), rw[48] = {0};
    for (int i = 0; i < 512; i++) b[i] = 0.01f * (i % 7);
    for (size_t i = 0; i < (size_t)32 << 20; i++) in[i] = (float)((i * 2654435761u) % 1000) / 1000.0f - 0.5f;
    for (size_t i = 0; i < (size_t)512 * 512 * 9; i++) w[i] = (float)((i * 40503u) % 1000) / 1000.0f - 0.5f;
    if (!hy_c3_available()) {
        printf("no AVX-512F: the direct-conv path is not used here\n");
        return 0;
    }
    double tot_t = 0, tot_f = 0;
    printf("%-17s %6s %6s %9s %9s %12s\n", "layer", "cin", "cout", "ms", "GFLOP/s", "nominal GF/s");
    for (int s = 0; s < 9; s++) {
        int r = 4 << s;
        for (int k = 0; k < 2; k++) {
            int up = k == 0, cin = up ? ch[s > 0 ? s - 1 : 0] : ch[s], cout = ch[s], h = up ? r / 2 : r;
            if (s == 0 && up) continue;
            if (!hy_c3_supported(cin, cout, h, h, up)) continue;
            // padded planes as in pggan_forward; the last stage runs fused (both convs + toRGB)
            size_t is = (size_t)h * h + C3_PLANE_PAD, os = (size_t)r * r + C3_PLANE_PAD;
            double best = 1e9, nominal = 2.0 * r * r * cout * cin * 9, actual = up ? nominal * 16 / 36 : nominal;
            if (s == 8 && !up) continue;  // counted with conv0 below
            float *pk2 = NULL;
            if (s == 8) {
                pk2 = malloc(sizeof(float) * hy_c3_packed_floats(cout, cout, 0));
                hy_c3_pack(pk2, w, cout, cout, 0);
                nominal += 2.0 * r * r * cout * cout * 9, actual += 2.0 * r * r * cout * cout * 9;
            }
            hy_c3_pack(pk, w, cin, cout, up);
            c3_epilogue ep = {1, 0.2f, 1, 1e-8f, rw, b, s == 8 ? rgb : NULL};
            for (int i = 0; i < reps; i++) {
                double t0 = cpu_now();
                if (s == 8) hy_c3_stage_rgb(in, is, cin, cout, h, h, pk, b, pk2, b, &ep);
                else hy_c3_conv_strided(out, os, in, is, pk, b, cin, cout, h, h, up, &ep);
                double dt = cpu_now() - t0;
                if (dt < best) best = dt;
            }
            free(pk2);
            tot_t += best, tot_f += nominal;
            printf("%4dx%-4d %-7s %6d %6d %9.2f %9.1f %12.1f\n", r, r, s == 8 ? "fused" : up ? "conv0" : "conv1", cin,
                   cout, best * 1e3, actual / best * 1e-9, nominal / best * 1e-9);
        }
    }
    printf("total %.1f ms for %.2f nominal GFLOP\n", tot_t * 1e3, tot_f * 1e-9);
    return 0;
}
