// generate.c - `hyper generate`: latents -> PGGAN images (PNG), optional raw float
// output (.npy), per-layer trace and activation dumps.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "nn/ops.h"
#include "models/pggan.h"
#include "base/rng.h"

static const char ABOUT[] =
    "Runs the PGGAN generator on each latent and writes DIR/000000.png, DIR/000001.png, ...\n"
    "(RGB8; u8 = clamp(round_half_even(127.5 x + 127.5), 0, 255)).";

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
    long seed = -1, n = -1;
    int trace = 0, no_png = 0, reference = 0;
    const opt table[] = {
        OPT_STR("generator", 'g', &wpath, "G.bin", "generator weight file (kind pggan; see convert/pggan.py)",
                OPT_REQUIRED),
        OPT_STR("latents", 'z', &zpath, "Z.npy", "float32/float64 latents of shape (N, L) or (L,), L = latent size", 0),
        OPT_LONG("seed", 0, &seed, "S", "with -n: N latents drawn as torch.manual_seed(S); torch.randn(N, L)", 0,
                 4294967295.0),
        OPT_LONG("n", 'n', &n, "N", "number of latents drawn with --seed", 1, 1000000),
        OPT_STR("out", 'o', &outdir, "DIR", "output directory (created if missing)", 0),
        OPT_STR("npy", 0, &npy_out, "OUT.npy", "also write the raw float32 output (N, 3, R, R), before clamping", 0),
        OPT_FLAG("no-png", 0, &no_png, "skip the PNGs (with --npy)"),
        OPT_FLAG("trace", 0, &trace, "print one line per layer (name, shape, min, max, mean, std)"),
        OPT_STR("dump", 0, &dump, "DIR", "write every layer's activation for the first latent as DIR/<layer>.npy", 0),
        OPT_FLAG("reference", 0, &reference,
                 "run the reference forward (the spec's ops as plain loops, double sums; slow: for audits)"),
        OPT_ALIAS("weights", 'w', "generator"),
        OPT_END,
    };
    const cli_command cmd = {"generate", "-g G.bin (-z Z.npy | --seed S -n N) -o DIR [options]", ABOUT, table, NULL,
                             0, 0, NULL};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    if (!zpath == (seed < 0)) return cli_usage_error(&cmd, "give the latents with -z or with --seed S -n N");
    if (seed >= 0 && n < 0) return cli_usage_error(&cmd, "--seed needs -n N");
    if (!outdir && !npy_out && !dump && !trace) return cli_usage_error(&cmd, "nothing to write: give -o DIR or --npy");
    if (no_png && !npy_out) return cli_usage_error(&cmd, "--no-png needs --npy");

    pggan g;
    if ((reference ? hy_pggan_load_ref : hy_pggan_load)(&g, wpath)) return cli_fail("generate");
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
    if (!hy_quiet())
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
