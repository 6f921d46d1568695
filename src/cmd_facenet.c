// cmd_facenet.c - `hyper embed` (images or a standardised tensor -> (N,512) FaceNet embeddings)
// and `hyper distance` (L2 distance of two faces' embeddings).
//
// Preprocessing (spec facenet.md section 3): PNG -> RGB8 -> crop (see crop modes below) ->
// Pillow-exact bilinear resize to 160x160 -> (x - 127.5) / 128. Every input is decoded and
// preprocessed before the network runs, so a bad file fails the run before anything is written.
// Crop modes live in one place (crop_spec / face_box): a new mode (e.g. MTCNN) adds an enum
// value, a parse case and a face_box case.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "common.h"
#include "facenet.h"
#include "image_io.h"
#include "npy.h"
#include "ops.h"
#include "resize.h"

// --- crop modes ---------------------------------------------------------------------------

typedef enum { CROP_FULL, CROP_BOX } crop_mode;

typedef struct {
    crop_mode mode;
    crop_box box;  // CROP_BOX
} crop_spec;

static const char *CROP_HELP =
    "  --crop MODE           which part of each image is embedded (default full):\n"
    "                          full             the whole image\n"
    "                          box:x1,y1,x2,y2  a fixed pixel box, x1 <= x < x2, y1 <= y < y2\n";

static int parse_crop(const char *v, crop_spec *cs) {
    if (!v) return hy_err(HY_EARG, "--crop needs a value");
    if (!strcmp(v, "full")) {
        cs->mode = CROP_FULL;
        return HY_OK;
    }
    int n = 0;
    crop_box b;
    if (!strncmp(v, "box:", 4) && sscanf(v + 4, "%d,%d,%d,%d%n", &b.x1, &b.y1, &b.x2, &b.y2, &n) == 4 &&
        v[4 + n] == 0) {
        if (b.x1 < 0 || b.y1 < 0 || b.x2 <= b.x1 || b.y2 <= b.y1)
            return hy_err(HY_EARG, "--crop %s: need 0 <= x1 < x2 and 0 <= y1 < y2", v);
        cs->mode = CROP_BOX;
        cs->box = b;
        return HY_OK;
    }
    return hy_err(HY_EARG, "--crop '%s': expected full or box:x1,y1,x2,y2", v);
}

// The region of image `path` (w x h) to embed.
static int face_box(const crop_spec *cs, const char *path, const uint8_t *rgb, int w, int h, crop_box *out) {
    (void)rgb;
    switch (cs->mode) {
    case CROP_FULL:
        *out = crop_full(w, h);
        return HY_OK;
    case CROP_BOX:
        *out = cs->box;
        return crop_check(out, w, h, path);
    }
    return hy_err(HY_EARG, "%s: unknown crop mode", path);
}

// Reads `path` and writes its S x S RGB8 face crop into `out`.
static int load_face(uint8_t *out, int S, const char *path, const crop_spec *cs) {
    int w, h;
    uint8_t *rgb = NULL;
    int rc = png_read_rgb8(path, &w, &h, &rgb);
    if (rc) return rc;
    crop_box b;
    if (!(rc = face_box(cs, path, rgb, w, h, &b))) {
        uint8_t *crop = hy_malloc((size_t)(b.x2 - b.x1) * (b.y2 - b.y1) * 3);
        if (!crop) rc = HY_ENOMEM;
        else {
            crop_rgb8(crop, rgb, w, &b);
            rc = resize_rgb8(out, S, S, crop, b.x2 - b.x1, b.y2 - b.y1);
            free(crop);
        }
    }
    free(rgb);
    return rc;
}

// --- trace / dump hook ----------------------------------------------------------------------

typedef struct {
    int trace;
    const char *dump_dir;
    int err;
} hook_ctx;

static void on_block(void *user, const char *name, const float *x, int c, int h, int w) {
    hook_ctx *hc = user;
    size_t len = (size_t)c * h * w;
    if (hc->trace) {
        tensor_stats s = stats_f32(x, len);
        printf("%-12s (%4d,%3d,%3d)  min %+11.5f  max %+11.5f  mean %+11.5f  std %10.5f%s\n", name, c, h, w, s.min,
               s.max, s.mean, s.std, s.nonfinite ? "  NONFINITE" : "");
    }
    if (hc->dump_dir && !hc->err) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.npy", hc->dump_dir, name);
        int64_t dims[3] = {c, h, w};
        hc->err = npy_write_f32(path, (h == 1 && w == 1) ? 1 : 3, dims, x);
    }
}

// --- embed ------------------------------------------------------------------------------------

static void embed_help(FILE *f) {
    fprintf(f,
            "usage: hyper embed -w F.bin (IMAGE.png... | --input-npy X.npy) -o E.npy [options]\n\n"
            "FaceNet (Inception-ResNet-v1) embeddings: each face -> a 512-d unit vector, written as a\n"
            "(N, 512) float32 .npy in input order. Images (any PNG) are cropped, resized to 160x160 with\n"
            "Pillow's bilinear filter and standardised as (x - 127.5) / 128.\n\n"
            "  -w, --weights F.bin   weight file (kind facenet; see convert/facenet.py)\n"
            "  --input-npy X.npy     an already standardised float32 tensor (N, 3, 160, 160) instead of images\n"
            "  -o, --out E.npy       output embeddings (N, 512) float32\n"
            "%s"
            "  --batch B             images per forward pass (default 16)\n"
            "  --trace               print one line per block for the first image (name, shape, min, max,\n"
            "                        mean, std)\n"
            "  --dump DIR            write every block's activation for the first image as DIR/<block>.npy\n"
            "  --save-crops DIR      write the 160x160 RGB crops fed to the network as DIR/000000.png, ...\n"
            "  --threads T           threads for BLAS/OpenMP (default: all cores, or $HY_THREADS)\n",
            CROP_HELP);
}

int cmd_embed(int argc, char **argv) {
    const char *wpath = NULL, *npy_in = NULL, *out = NULL, *dump = NULL, *crops_dir = NULL;
    long batch = 16, threads = 0;
    int trace = 0;
    crop_spec cs = {CROP_FULL, {0, 0, 0, 0}};
    const char **images = calloc((size_t)argc + 1, sizeof *images);
    int nimg = 0;
    if (!images) return cli_fail("embed");
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0, takes = 1;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            embed_help(stdout);
            free(images);
            return 0;
        } else if (!strcmp(a, "-w") || !strcmp(a, "--weights")) wpath = v;
        else if (!strcmp(a, "--input-npy")) npy_in = v;
        else if (!strcmp(a, "-o") || !strcmp(a, "--out")) out = v;
        else if (!strcmp(a, "--dump")) dump = v;
        else if (!strcmp(a, "--save-crops")) crops_dir = v;
        else if (!strcmp(a, "--crop")) r = parse_crop(v, &cs);
        else if (!strcmp(a, "--batch")) r = cli_int(a, v, 1, 4096, &batch);
        else if (!strcmp(a, "--threads")) r = cli_int(a, v, 1, 1024, &threads);
        else if (!strcmp(a, "--trace")) trace = 1, takes = 0;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "hyper embed: unknown option '%s' (see --help)\n", a);
            free(images);
            return 2;
        } else images[nimg++] = a, takes = 0;
        if (r) {
            free(images);
            return cli_fail("embed");
        }
        if (takes && !v) {
            fprintf(stderr, "hyper embed: %s needs a value\n", a);
            free(images);
            return 2;
        }
        i += takes;
    }
    if (!wpath || (!out && !trace && !dump) || (!npy_in == !nimg) || (npy_in && crops_dir)) {
        fprintf(stderr, "hyper embed: need -w, -o, and either images or --input-npy (not both)\n\n");
        embed_help(stderr);
        free(images);
        return 2;
    }
    if (threads) hy_set_threads((int)threads);

    facenet net;
    if (facenet_load(&net, wpath)) {
        free(images);
        return cli_fail("embed");
    }
    const int S = net.input_size, D = net.emb_dim;
    const size_t img_floats = (size_t)3 * S * S;
    int status = 1;
    float *x = NULL, *emb = NULL, *in = NULL;
    uint8_t *faces = NULL;
    long N;
    // --- inputs: all decoded and checked before anything is computed or written
    if (npy_in) {
        npy_f32 a;
        if (npy_read_f32(npy_in, &a, 0)) goto out;
        if (a.ndim != 4 || a.dims[0] < 1 || a.dims[1] != 3 || a.dims[2] != S || a.dims[3] != S) {
            char shape[128] = "";
            for (int k = 0; k < a.ndim && k < 8; k++)
                snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", k ? "," : "",
                         (long long)a.dims[k]);
            hy_err(HY_ESHAPE, "%s: tensor has shape (%s), expected (N,3,%d,%d)", npy_in, shape, S, S);
            npy_free_f32(&a);
            goto out;
        }
        N = (long)a.dims[0];
        x = a.data;
    } else {
        N = nimg;
        size_t nb;
        if (hy_mul_size((size_t)N, (size_t)S * S * 3, &nb) || !(faces = hy_malloc(nb))) goto out;
        double t0 = hy_now();
        for (long i = 0; i < N; i++) {
            if (load_face(faces + (size_t)i * S * S * 3, S, images[i], &cs)) goto out;
            hy_progress("embed: reading", i + 1, N, t0);
        }
    }
    if (dump && hy_mkdir_p(dump)) goto out;
    if (crops_dir) {
        if (hy_mkdir_p(crops_dir)) goto out;
        for (long i = 0; i < N; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%06ld.png", crops_dir, i);
            if (png_write_rgb8(path, S, S, faces + (size_t)i * S * S * 3)) goto out;
        }
    }
    if (batch > N) batch = N;
    if (!(emb = hy_malloc((size_t)N * D * sizeof(float)))) goto out;
    if (faces && !(in = hy_malloc((size_t)batch * img_floats * sizeof(float)))) goto out;
    if (facenet_reserve(&net, (int)batch)) goto out;
    hook_ctx hc = {trace, dump, 0};
    double t0 = hy_now();
    clock_t c0 = clock();  // process CPU time, all threads (for benchmarks on a shared machine)
    for (long i0 = 0; i0 < N; i0 += batch) {
        const int nb = (int)(N - i0 < batch ? N - i0 : batch);
        const float *bx;
        if (faces) {
            for (int k = 0; k < nb; k++)
                standardize_rgb8(in + (size_t)k * img_floats, faces + (size_t)(i0 + k) * S * S * 3, S, S);
            bx = in;
        } else {
            bx = x + (size_t)i0 * img_floats;
        }
        const int first = i0 == 0 && (trace || dump);
        if (facenet_forward(&net, bx, nb, emb + (size_t)i0 * D, first ? on_block : NULL, &hc)) goto out;
        if (hc.err) goto out;
        hy_progress("embed", i0 + nb, N, t0);
    }
    double dt = hy_now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (out) {
        int64_t dims[2] = {N, D};
        if (npy_write_f32(out, 2, dims, emb)) goto out;
    }
    fprintf(stderr, "embedded %ld face%s in %.2f s (%.1f faces/s, batch %ld, %.2f s CPU)%s%s\n", N, N == 1 ? "" : "s",
            dt, N / (dt > 0 ? dt : 1e-9), batch, cpu, out ? " -> " : "", out ? out : "");
    status = 0;
out:
    if (status) cli_fail("embed");
    free(images);
    free(x);
    free(in);
    free(emb);
    free(faces);
    facenet_free(&net);
    return status;
}

// --- distance ---------------------------------------------------------------------------------

static void distance_help(FILE *f) {
    fprintf(f,
            "usage: hyper distance -w F.bin A.png B.png [--crop MODE]\n\n"
            "Prints the Euclidean distance between the FaceNet embeddings of two faces (0 = same\n"
            "embedding, 2 = opposite; cosine similarity = 1 - d^2/2).\n\n"
            "  -w, --weights F.bin   weight file (kind facenet)\n"
            "%s"
            "  --threads T           threads for BLAS/OpenMP\n",
            CROP_HELP);
}

int cmd_distance(int argc, char **argv) {
    const char *wpath = NULL, *img[2] = {NULL, NULL};
    long threads = 0;
    int nimg = 0;
    crop_spec cs = {CROP_FULL, {0, 0, 0, 0}};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i], *v = i + 1 < argc ? argv[i + 1] : NULL;
        int r = 0;
        if (!strcmp(a, "-h") || !strcmp(a, "--help")) {
            distance_help(stdout);
            return 0;
        } else if (!strcmp(a, "-w") || !strcmp(a, "--weights")) {
            if (!v) r = hy_err(HY_EARG, "%s needs a value", a);
            wpath = v, i++;
        } else if (!strcmp(a, "--crop")) r = parse_crop(v, &cs), i++;
        else if (!strcmp(a, "--threads")) r = cli_int(a, v, 1, 1024, &threads), i++;
        else if (a[0] == '-' && a[1]) {
            fprintf(stderr, "hyper distance: unknown option '%s' (see --help)\n", a);
            return 2;
        } else if (nimg < 2) img[nimg++] = a;
        else {
            fprintf(stderr, "hyper distance: takes exactly two images\n");
            return 2;
        }
        if (r) return cli_fail("distance");
    }
    if (!wpath || nimg != 2) {
        fprintf(stderr, "hyper distance: need -w and two images\n\n");
        distance_help(stderr);
        return 2;
    }
    if (threads) hy_set_threads((int)threads);
    facenet net;
    if (facenet_load(&net, wpath)) return cli_fail("distance");
    const int S = net.input_size, D = net.emb_dim;
    const size_t img_floats = (size_t)3 * S * S;
    int status = 1;
    uint8_t *faces = hy_malloc(2 * (size_t)S * S * 3);
    float *in = hy_malloc(2 * img_floats * sizeof(float)), *emb = hy_malloc(2 * (size_t)D * sizeof(float));
    if (!faces || !in || !emb) goto out;
    for (int k = 0; k < 2; k++) {
        if (load_face(faces + (size_t)k * S * S * 3, S, img[k], &cs)) goto out;
        standardize_rgb8(in + k * img_floats, faces + (size_t)k * S * S * 3, S, S);
    }
    if (facenet_forward(&net, in, 2, emb, NULL, NULL)) goto out;
    double d2 = 0;
    for (int j = 0; j < D; j++) {
        const double d = (double)emb[j] - emb[D + j];
        d2 += d * d;
    }
    printf("%.6f\n", sqrt(d2));
    status = 0;
out:
    if (status) cli_fail("distance");
    free(faces);
    free(in);
    free(emb);
    facenet_free(&net);
    return status;
}
