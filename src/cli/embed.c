// embed.c - `hyper embed` (images or a standardised tensor -> (N,512) FaceNet embeddings)
// and `hyper distance` (L2 distance of two faces' embeddings).
//
// Preprocessing (spec facenet.md section 3): PNG -> RGB8 -> crop (see crop modes below) ->
// Pillow-exact bilinear resize to 160x160 -> (x - 127.5) / 128. Every input is decoded and
// preprocessed before the network runs, so a bad file fails the run before anything is written.
// The crop policy (MTCNN by default, full image, fixed box; what to do without a face) is
// src/models/facecrop.c, shared with the study pipeline.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "models/facenet.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "nn/ops.h"
#include "models/facecrop.h"
#include "base/resize.h"

// --- crop ------------------------------------------------------------------------------------

// Reads `path` and writes its S x S RGB8 face crop into `out`; *how is the crop used
// ('m', 'f', 'b', or 's' when skipped: out is left untouched).
static int load_face(uint8_t *out, int S, const char *path, const face_crop_opts *co, char *how) {
    int w, h;
    uint8_t *rgb = NULL;
    int rc = hy_png_read_rgb8(path, &w, &h, &rgb);
    if (rc) return rc;
    crop_box b;
    if (!(rc = hy_face_crop_choose(co, path, rgb, w, h, &b, how)) && *how != 's') {
        uint8_t *crop = hy_malloc((size_t)(b.x2 - b.x1) * (b.y2 - b.y1) * 3);
        if (!crop) rc = HY_ENOMEM;
        else {
            hy_crop_rgb8(crop, rgb, w, &b);
            rc = hy_resize_rgb8(out, S, S, crop, b.x2 - b.x1, b.y2 - b.y1);
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
        tensor_stats s = hy_stats_f32(x, len);
        printf("%-12s (%4d,%3d,%3d)  min %+11.5f  max %+11.5f  mean %+11.5f  std %10.5f%s\n", name, c, h, w, s.min,
               s.max, s.mean, s.std, s.nonfinite ? "  NONFINITE" : "");
    }
    if (hc->dump_dir && !hc->err) {
        char path[4200];
        snprintf(path, sizeof path, "%s/%s.npy", hc->dump_dir, name);
        int64_t dims[3] = {c, h, w};
        hc->err = hy_npy_write_f32(path, (h == 1 && w == 1) ? 1 : 3, dims, x);
    }
}

// --- embed ------------------------------------------------------------------------------------

static const char ABOUT_EMBED[] =
    "FaceNet (Inception-ResNet-v1) embeddings: each face -> a 512-d unit vector, written as a\n"
    "(N, 512) float32 .npy in input order. Images (any PNG) are cropped, resized to 160x160 with\n"
    "Pillow's bilinear filter and standardised as (x - 127.5) / 128.";

int cmd_embed(int argc, char **argv) {
    const char *wpath = NULL, *npy_in = NULL, *out = NULL, *dump = NULL, *crops_dir = NULL, *crop = NULL,
               *noface = NULL, *detect = NULL;
    int batch = 16, trace = 0;
    const opt table[] = {
        OPT_STR("embedder", 'e', &wpath, "F.bin", "FaceNet weight file (kind facenet; see convert/facenet.py)",
                OPT_REQUIRED),
        OPT_STR("input-npy", 0, &npy_in, "X.npy",
                "an already standardised float32 tensor (N, 3, 160, 160) instead of images", 0),
        OPT_STR("out", 'o', &out, "E.npy", "output embeddings (N, 512) float32", 0),
        CLI_OPTS_FACE_CROP(&detect, &crop, &noface),
        CLI_OPT_FACE_BATCH(&batch),
        OPT_FLAG("trace", 0, &trace, "print one line per block for the first image (name, shape, min, max,\n"
                 "mean, std)"),
        OPT_STR("dump", 0, &dump, "DIR", "write every block's activation for the first image as DIR/<block>.npy", 0),
        OPT_STR("save-crops", 0, &crops_dir, "DIR",
                "write the 160x160 RGB crops fed to the network as DIR/000000.png, ...", 0),
        OPT_ALIAS("weights", 'w', "embedder"),
        OPT_ALIAS("batch", 0, "face-batch"),
        OPT_END,
    };
    const cli_command cmd = {"embed", "-e F.bin (IMAGE.png... | --input-npy X.npy) -o E.npy [options]",
                             ABOUT_EMBED, table, NULL, 0, -1, "IMAGE"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    char **images = args.pos;
    const int nimg = args.n_pos;
    if (!npy_in == !nimg) return cli_usage_error(&cmd, "give either images or --input-npy X.npy (not both)");
    if (!out && !trace && !dump) return cli_usage_error(&cmd, "nothing to write: give -o E.npy (or --trace/--dump)");
    if (npy_in && crops_dir) return cli_usage_error(&cmd, "--save-crops needs images, not --input-npy");

    face_crop_opts co;
    mtcnn_model det;
    int has_det = 0;
    // --input-npy tensors are already cropped and standardised: no crop, no detector
    if (npy_in ? hy_face_crop_parse(&co, "full", NULL) : hy_face_crop_setup(&co, crop, noface, detect, &det, &has_det))
        return cli_fail("embed");
    facenet net;
    if (hy_facenet_load(&net, wpath)) {
        if (has_det) hy_mtcnn_free(&det);
        return cli_fail("embed");
    }
    const int S = net.input_size, D = net.emb_dim;
    const size_t img_floats = (size_t)3 * S * S;
    int status = 1;
    float *x = NULL, *emb = NULL, *in = NULL;
    uint8_t *faces = NULL;
    char *how = NULL;
    long N;
    // --- inputs: all decoded and checked before anything is computed or written
    if (npy_in) {
        npy_f32 a;
        if (hy_npy_read_f32(npy_in, &a, 0)) goto out;
        if (a.ndim != 4 || a.dims[0] < 1 || a.dims[1] != 3 || a.dims[2] != S || a.dims[3] != S) {
            char shape[128] = "";
            for (int k = 0; k < a.ndim && k < 8; k++)
                snprintf(shape + strlen(shape), sizeof shape - strlen(shape), "%s%lld", k ? "," : "",
                         (long long)a.dims[k]);
            hy_err(HY_ESHAPE, "%s: tensor has shape (%s), expected (N,3,%d,%d)", npy_in, shape, S, S);
            hy_npy_free_f32(&a);
            goto out;
        }
        N = (long)a.dims[0];
        x = a.data;
    } else {
        N = nimg;
        size_t nb;
        if (hy_mul_size((size_t)N, (size_t)S * S * 3, &nb) || !(faces = hy_calloc(nb, 1)) ||
            !(how = hy_calloc((size_t)N + 1, 1)))
            goto out;
        double t0 = hy_now();
        for (long i = 0; i < N; i++) {
            if (load_face(faces + (size_t)i * S * S * 3, S, images[i], &co, &how[i])) goto out;
            hy_progress("embed: reading", i + 1, N, t0);
        }
    }
    if (dump && hy_mkdir_p(dump)) goto out;
    if (crops_dir) {
        if (hy_mkdir_p(crops_dir)) goto out;
        for (long i = 0; i < N; i++) {
            char path[4200];
            snprintf(path, sizeof path, "%s/%06ld.png", crops_dir, i);
            if (hy_png_write_rgb8(path, S, S, faces + (size_t)i * S * S * 3)) goto out;
        }
    }
    if (batch > N) batch = N;
    if (!(emb = hy_malloc((size_t)N * D * sizeof(float)))) goto out;
    if (faces && !(in = hy_malloc((size_t)batch * img_floats * sizeof(float)))) goto out;
    if (hy_facenet_reserve(&net, (int)batch)) goto out;
    hook_ctx hc = {trace, dump, 0};
    double t0 = hy_now();
    clock_t c0 = clock();  // process CPU time, all threads (for benchmarks on a shared machine)
    for (long i0 = 0; i0 < N; i0 += batch) {
        const int nb = (int)(N - i0 < batch ? N - i0 : batch);
        const float *bx;
        if (faces) {
            for (int k = 0; k < nb; k++)
                hy_standardize_rgb8(in + (size_t)k * img_floats, faces + (size_t)(i0 + k) * S * S * 3, S, S);
            bx = in;
        } else {
            bx = x + (size_t)i0 * img_floats;
        }
        const int first = i0 == 0 && (trace || dump);
        if (hy_facenet_forward(&net, bx, nb, emb + (size_t)i0 * D, first ? on_block : NULL, &hc)) goto out;
        if (hc.err) goto out;
        for (int k = 0; how && k < nb; k++)  // --on-no-face skip: a row of NaN keeps the order
            if (how[i0 + k] == 's')
                for (int j = 0; j < D; j++) emb[(size_t)(i0 + k) * D + j] = NAN;
        hy_progress("embed", i0 + nb, N, t0);
    }
    double dt = hy_now() - t0, cpu = (double)(clock() - c0) / CLOCKS_PER_SEC;
    if (out) {
        int64_t dims[2] = {N, D};
        if (hy_npy_write_f32(out, 2, dims, emb)) goto out;
    }
    if (!hy_quiet())
        fprintf(stderr, "embedded %ld face%s in %.2f s (%.1f faces/s, batch %d, %.2f s CPU)%s%s\n", N, N == 1 ? "" : "s",
            dt, N / (dt > 0 ? dt : 1e-9), batch, cpu, out ? " -> " : "", out ? out : "");
    status = 0;
out:
    if (status) cli_fail("embed");
    free(x);
    free(in);
    free(emb);
    free(faces);
    free(how);
    hy_facenet_free(&net);
    if (has_det) hy_mtcnn_free(&det);
    return status;
}

// --- distance ---------------------------------------------------------------------------------

static const char ABOUT_DISTANCE[] =
    "Prints the Euclidean distance between the FaceNet embeddings of two faces (0 = same\n"
    "embedding, 2 = opposite; cosine similarity = 1 - d^2/2).";

int cmd_distance(int argc, char **argv) {
    const char *wpath = NULL, *crop = NULL, *noface = NULL, *detect = NULL;
    const opt table[] = {
        OPT_STR("embedder", 'e', &wpath, "F.bin", "FaceNet weight file (kind facenet)", OPT_REQUIRED),
        CLI_OPTS_FACE_CROP(&detect, &crop, &noface),
        OPT_ALIAS("weights", 'w', "embedder"),
        OPT_END,
    };
    const cli_command cmd = {"distance", "-e F.bin A.png B.png [--crop MODE] [-m M.bin] [--on-no-face P]",
                             ABOUT_DISTANCE, table, NULL, 2, 2, "image"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    const char *img[2] = {args.pos[0], args.pos[1]};
    face_crop_opts co;
    mtcnn_model det;
    int has_det = 0;
    if (hy_face_crop_setup(&co, crop, noface, detect, &det, &has_det)) return cli_fail("distance");
    if (co.on_no_face == NOFACE_SKIP) co.on_no_face = NOFACE_ERROR;  // a distance needs both faces
    facenet net;
    if (hy_facenet_load(&net, wpath)) {
        if (has_det) hy_mtcnn_free(&det);
        return cli_fail("distance");
    }
    const int S = net.input_size, D = net.emb_dim;
    const size_t img_floats = (size_t)3 * S * S;
    int status = 1;
    uint8_t *faces = hy_malloc(2 * (size_t)S * S * 3);
    float *in = hy_malloc(2 * img_floats * sizeof(float)), *emb = hy_malloc(2 * (size_t)D * sizeof(float));
    if (!faces || !in || !emb) goto out;
    for (int k = 0; k < 2; k++) {
        char how;
        if (load_face(faces + (size_t)k * S * S * 3, S, img[k], &co, &how)) goto out;
        hy_standardize_rgb8(in + k * img_floats, faces + (size_t)k * S * S * 3, S, S);
    }
    if (hy_facenet_forward(&net, in, 2, emb, NULL, NULL)) goto out;
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
    hy_facenet_free(&net);
    if (has_det) hy_mtcnn_free(&det);
    return status;
}
