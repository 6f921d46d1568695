// cmd_generate.c - `hyper generate`: latents -> PGGAN images (PNG), optional raw float
// output (.npy), per-layer trace and activation dumps.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "base/common.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "nn/ops.h"
#include "models/pggan.h"
#include "base/rng.h"

static void help(FILE *f) {
    fprintf(f,
            "usage: hyper generate -w G.bin (-z Z.npy | --seed S -n N) -o DIR [options]\n\n"
            "Runs the PGGAN generator on each latent and writes DIR/000000.png, DIR/000001.png, ...\n"
            "(RGB8; u8 = clamp(round_half_even(127.5 x + 127.5), 0, 255)).\n\n"
            "  -w, --weights G.bin   generator weight file (kind pggan; see convert/pggan.py)\n"
            "  -z, --latents Z.npy   float32/float64 latents of shape (N, L) or (L,), L = latent size\n"
            "  --seed S -n N         N latents drawn as torch.manual_seed(S); torch.randn(N, L)\n"
            "  -o, --out DIR         output directory (created if missing)\n"
            "  --npy OUT.npy         also write the raw float32 output (N, 3, R, R), before clamping\n"
            "  --trace               print one line per layer (name, shape, min, max, mean, std)\n"
            "  --dump DIR            write every layer's activation for the first latent as DIR/<layer>.npy\n"
            "  --threads T           threads for BLAS/OpenMP (default: all cores, or $HY_THREADS)\n"
            "  --no-png              skip the PNGs (with --npy)\n");
}

typedef struct {
    int trace, index;
    const char *dump_dir;
    int err;
} hook_ctx;

static void on_layer(void *user, const char *name, const float *x, int c, int h, int w) {
    hook_ctx *hc = user;
    size_t len = (size_t)c * h * w;
    if (hc->trace) {
        tensor_stats s = hy_stats_f32(x, len);
        printf("[%d] %-18s (%4d,%4d,%4d)  min %+10.5f  max %+10.5f  mean %+10.5f  std %9.5f%s\n", hc->index, name, c,
               h, w, s.min, s.max, s.mean, s.std, s.nonfinite ? "  NONFINITE" : "");
    }
    if (hc->dump_dir && hc->index == 0 && !hc->err) {
        char path[4096];
        snprintf(path, sizeof path, "%s/%s.npy", hc->dump_dir, name);
        int64_t dims[3] = {c, h, w};
        int ndim = (h == 1 && w == 1) ? 1 : 3;
        hc->err = hy_npy_write_f32(path, ndim, dims, x);
    }
}

int cmd_generate(int argc, char **argv) {
    const char *wpath = NULL, *zpath = NULL, *outdir = NULL, *npy_out = NULL, *dump = NULL;
    long seed = -1, n = -1, threads = 0;
    int trace = 0, no_png = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            help(stdout);
            return 0;
        } else if (!strcmp(a, "-w") || !strcmp(a, "--weights")) wpath = v, i++;
        else if (!strcmp(a, "-z") || !strcmp(a, "--latents")) zpath = v, i++;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) outdir = v, i++;
        else if (!strcmp(a, "--npy")) npy_out = v, i++;
        else if (!strcmp(a, "--dump")) dump = v, i++;
        else if (!strcmp(a, "--trace")) trace = 1;
        else if (!strcmp(a, "--no-png")) no_png = 1;
        else if (!strcmp(a, "--seed")) r = cli_int(a, v, 0, 0xffffffffL, &seed), i++;
        else if (!strcmp(a, "-n")) r = cli_int(a, v, 1, 1000000, &n), i++;
        else if (!strcmp(a, "--threads")) r = cli_int(a, v, 1, 1024, &threads), i++;
        else {
            fprintf(stderr, "hyper generate: unknown option '%s' (see --help)\n", a);
            return 2;
        }
        if (r) return cli_fail("generate");
        if (i >= argc) {
            fprintf(stderr, "hyper generate: %s needs a value\n", a);
            return 2;
        }
    }
    if (!wpath || (!outdir && !npy_out && !dump && !trace) || (!zpath == (seed < 0)) || (seed >= 0 && n < 0) ||
        (no_png && !npy_out)) {
        fprintf(stderr, "hyper generate: need -w, one of -z or --seed with -n, and -o (and --npy with --no-png)\n\n");
        help(stderr);
        return 2;
    }
    if (threads) hy_set_threads((int)threads);

    pggan g;
    if (hy_pggan_load(&g, wpath)) return cli_fail("generate");
    int L = g.latent, R = g.resolution, status = 1;
    float *z = NULL, *img = NULL;
    uint8_t *rgb = NULL;
    hy_outfile raw = {0};
    long count;
    // --- latents: validate everything before writing anything
    if (zpath) {
        npy_f32 zn;
        if (hy_npy_read_f32(zpath, &zn, 0)) goto out;
        int ok = (zn.ndim == 2 && zn.dims[1] == L && zn.dims[0] > 0) || (zn.ndim == 1 && zn.dims[0] == L);
        if (!ok) {
            hy_err(HY_ESHAPE, "%s: latents have shape (%lld%s%lld), the generator needs (N, %d) or (%d,)", zpath,
                   (long long)zn.dims[0], zn.ndim > 1 ? ", " : "", zn.ndim > 1 ? (long long)zn.dims[1] : 0LL, L, L);
            if (zn.ndim != 1 && zn.ndim != 2)
                hy_err(HY_ESHAPE, "%s: latents must be 1-D or 2-D, got %d dimensions", zpath, zn.ndim);
            hy_npy_free_f32(&zn);
            goto out;
        }
        count = zn.ndim == 2 ? (long)zn.dims[0] : 1;
        z = zn.data;
    } else {
        count = n;
        size_t nz;
        if (hy_mul_size((size_t)n, (size_t)L, &nz) || !(z = hy_malloc(nz * sizeof(float)))) goto out;
        mt19937 rng;
        hy_mt_seed(&rng, (uint64_t)seed);
        hy_mt_randn_f32(&rng, z, (long)nz);
    }
    if (outdir && !no_png && hy_mkdir_p(outdir)) goto out;
    if (dump && hy_mkdir_p(dump)) goto out;
    img = hy_malloc(sizeof(float) * 3 * (size_t)R * R);
    rgb = hy_malloc((size_t)3 * R * R);
    if (!img || !rgb) goto out;
    if (npy_out) {
        if (hy_out_open(&raw, npy_out)) goto out;
        int64_t dims[4] = {count, 3, R, R};
        if (hy_npy_write_header(raw.fp, "<f4", 4, dims)) {
            hy_err(HY_EIO, "%s: write failed", npy_out);
            goto out;
        }
    }
    hook_ctx hc = {trace, 0, dump, 0};
    double t0 = hy_now();
    for (long i = 0; i < count; i++) {
        hc.index = (int)i;
        if (hy_pggan_forward(&g, z + (size_t)i * L, img, (trace || dump) ? on_layer : NULL, &hc)) goto out;
        if (hc.err) goto out;
        if (raw.fp && fwrite(img, sizeof(float), (size_t)3 * R * R, raw.fp) != (size_t)3 * R * R) {
            hy_err(HY_EIO, "%s: write failed", npy_out);
            goto out;
        }
        if (outdir && !no_png) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%06ld.png", outdir, i);
            hy_img_f32_to_rgb8(rgb, img, R, R);
            if (hy_png_write_rgb8(path, R, R, rgb)) goto out;
        }
        hy_progress("generate", i + 1, count, t0);
    }
    if (raw.fp && hy_out_commit(&raw)) goto out;
    double dt = hy_now() - t0;
    fprintf(stderr, "generated %ld image%s of %dx%d in %.2f s (%.3f s/image)%s%s\n", count, count == 1 ? "" : "s", R,
            R, dt, dt / count, outdir && !no_png ? " -> " : "", outdir && !no_png ? outdir : "");
    status = 0;
out:
    if (status) {
        hy_out_abort(&raw);
        cli_fail("generate");
    }
    free(z);
    free(img);
    free(rgb);
    hy_pggan_free(&g);
    return status;
}
