// embed.c - `hyper embed` (images or a network input tensor -> (N, D) face embeddings) and
// `hyper distance` (Euclidean distance of two faces' embeddings), for any identity model the
// weight file's kind names (include/models/embedder.h): FaceNet or face-api's descriptor.
//
// Each image (PNG or JPEG) is decoded and its crop found first (MTCNN by default, the whole image, or a fixed
// box; src/models/facecrop.c, shared with the study pipeline), so a bad file fails the run before
// anything is written; then, batch by batch, the model's crop rule picks the box (FaceNet:
// extract_face's box; face-api: the dlib face chip from the landmarks), the model's preprocessing
// makes the network input, and the network runs.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli/cli.h"
#include "cli/opts.h"
#include "base/common.h"
#include "models/embedder.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "nn/ops.h"
#include "models/facecrop.h"
#include "base/resize.h"

// --- inputs ---------------------------------------------------------------------------------

// Pass 1 (before anything is computed): decodes every image and runs the crop mode on it, so a
// bad file or a missing face (policy error) stops the run first. MTCNN runs here, once per image.
static int find_faces(char **images, long n, const face_crop_opts *co, face_found *found) {
    double t0 = hy_now();
    for (long i = 0; i < n; i++) {
        int w, h;
        uint8_t *rgb = NULL;
        int rc = hy_image_read_rgb8(images[i], &w, &h, &rgb);
        if (!rc) rc = hy_face_crop_find(co, images[i], rgb, w, h, &found[i]);
        free(rgb);
        if (rc) return rc;
        hy_progress("embed: reading", i + 1, n, t0);
    }
    return HY_OK;
}

// Pass 2: the network input of image `path` (decoded again) from what pass 1 found; rgb_out as
// in hy_embedder_prepare.
static int prepare_face(const embedder *e, float *x, uint8_t *rgb_out, const char *path, const face_crop_opts *co,
                        const face_found *f) {
    int w, h;
    uint8_t *rgb = NULL;
    crop_box b;
    int rc = hy_image_read_rgb8(path, &w, &h, &rgb);
    if (!rc && !(rc = hy_face_crop_box(co, f, e->rule, path, w, h, &b))) rc = hy_embedder_prepare(e, x, rgb_out, rgb, w, h, &b);
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
    "Face embeddings of images (PNG or JPEG), written as an (N, D) float32 .npy in input order. The\n"
    "weight file's kind picks the model:\n"
    "  facenet              FaceNet (Inception-ResNet-v1): 512-d unit vectors. An image is cropped\n"
    "                       (MTCNN: facenet-pytorch's extract_face), resized to the file's input size\n"
    "                       S (160 for the real FaceNet, 80 for the demo one) with Pillow's bilinear\n"
    "                       filter and standardised as (x - 127.5) / 128; --input-npy takes\n"
    "                       (N, 3, S, S) standardised float32.\n"
    "  faceapi_recognition  face-api's face descriptor (make weights): 128-d; same person below a\n"
    "                       distance of 0.6. An image is cropped (MTCNN: face-api's dlib face chip from\n"
    "                       the 5 landmarks), padded to a square and resized to 150x150 as face-api\n"
    "                       does; --input-npy takes (N, 150, 150, 3) RGB 0..255 float32, face-api's\n"
    "                       input tensor.";

// "(a,b,c)" of an array's shape, for messages.
static void shape_str(char *buf, size_t len, int ndim, const int64_t *dims) {
    buf[0] = 0;
    for (int k = 0; k < ndim && k < 8; k++)
        snprintf(buf + strlen(buf), len - strlen(buf), "%s%lld", k ? "," : "", (long long)dims[k]);
}

int cmd_embed(int argc, char **argv) {
    const char *wpath = NULL, *npy_in = NULL, *out = NULL, *dump = NULL, *crops_dir = NULL, *crop = NULL,
               *noface = NULL, *detect = NULL;
    int batch = 16, trace = 0;
    const opt table[] = {
        OPT_STR("embedder", 'e', &wpath, "F.bin",
                "identity model: a FaceNet file (kind facenet; convert/facenet.py) or face-api's\n"
                "descriptor (kind faceapi_recognition; make weights)", OPT_REQUIRED),
        OPT_STR("input-npy", 0, &npy_in, "X.npy",
                "the network's input tensor instead of images: (N, 3, 160, 160) standardised\n"
                "for FaceNet, (N, 150, 150, 3) RGB 0..255 for face-api", 0),
        OPT_STR("out", 'o', &out, "E.npy", "output embeddings (N, D) float32", 0),
        CLI_OPTS_FACE_CROP(&detect, &crop, &noface),
        CLI_OPT_FACE_BATCH(&batch),
        OPT_FLAG("trace", 0, &trace, "print one line per block for the first image (name, shape, min, max,\n"
                 "mean, std)"),
        OPT_STR("dump", 0, &dump, "DIR", "write every block's activation for the first image as DIR/<block>.npy", 0),
        OPT_STR("save-crops", 0, &crops_dir, "DIR",
                "write the crops fed to the network as DIR/000000.png, ... (160x160 or 150x150)", 0),
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
    // --input-npy tensors are already cropped and prepared: no crop, no detector
    if (npy_in ? hy_face_crop_parse(&co, "full", NULL) : hy_face_crop_setup(&co, crop, noface, detect, &det, &has_det))
        return cli_fail("embed");
    embedder net;
    if (hy_embedder_load(&net, wpath)) {
        if (has_det) hy_mtcnn_free(&det);
        return cli_fail("embed");
    }
    const int S = net.input_size, D = net.dim;
    const size_t img_floats = hy_embedder_input_floats(&net);
    int status = 1;
    float *x = NULL, *emb = NULL, *in = NULL, *eb = NULL;
    uint8_t *crop_rgb = NULL;
    face_found *found = NULL;
    long N;
    // --- inputs: all decoded and checked before anything is computed or written
    if (npy_in) {
        npy_f32 a;
        if (hy_npy_read_f32(npy_in, &a, 0)) goto out;
        const int64_t want[4] = {-1, net.type == EMBEDDER_FACENET ? 3 : S, S, net.type == EMBEDDER_FACENET ? S : 3};
        int ok = a.ndim == 4 && a.dims[0] >= 1;
        for (int k = 1; ok && k < 4; k++) ok = a.dims[k] == want[k];
        if (!ok) {
            char shape[128];
            shape_str(shape, sizeof shape, a.ndim, a.dims);
            hy_err(HY_ESHAPE, "%s: tensor has shape (%s), %s needs (N,%lld,%lld,%lld)", npy_in, shape, net.kind,
                   (long long)want[1], (long long)want[2], (long long)want[3]);
            hy_npy_free_f32(&a);
            goto out;
        }
        N = (long)a.dims[0];
        x = a.data;
    } else {
        N = nimg;
        if (!(found = hy_calloc((size_t)N, sizeof *found))) goto out;
        if (find_faces(images, N, &co, found)) goto out;
    }
    if (dump && hy_mkdir_p(dump)) goto out;
    if (crops_dir && (hy_mkdir_p(crops_dir) || !(crop_rgb = hy_malloc((size_t)S * S * 3)))) goto out;
    if (batch > N) batch = N;
    if (!(emb = hy_malloc((size_t)N * D * sizeof(float))) || !(eb = hy_malloc((size_t)batch * D * sizeof(float))))
        goto out;
    if (found && !(in = hy_malloc((size_t)batch * img_floats * sizeof(float)))) goto out;
    if (hy_embedder_reserve(&net, batch)) goto out;  // setup, before the timed loop
    hook_ctx hc = {trace, dump, 0};
    double t0 = hy_now();
    clock_t c0 = clock();  // process CPU time, all threads (for benchmarks on a shared machine)
    for (long i0 = 0; i0 < N; i0 += batch) {
        const int nb = (int)(N - i0 < batch ? N - i0 : batch);
        int slot[1024], nrun = 0;  // images of this batch that have a face (--on-no-face skip leaves some out)
        const float *bx = x ? x + (size_t)i0 * img_floats : in;
        if (found) {
            for (int k = 0; k < nb; k++) {
                const long i = i0 + k;
                if (found[i].how == 's') {  // a row of NaN keeps the order
                    for (int j = 0; j < D; j++) emb[(size_t)i * D + j] = NAN;
                    continue;
                }
                if (prepare_face(&net, in + (size_t)nrun * img_floats, crop_rgb, images[i], &co, &found[i])) goto out;
                if (crops_dir) {
                    char path[4200];
                    snprintf(path, sizeof path, "%s/%06ld.png", crops_dir, i);
                    if (hy_png_write_rgb8(path, S, S, crop_rgb)) goto out;
                }
                slot[nrun++] = k;
            }
        } else {
            for (int k = 0; k < nb; k++) slot[nrun++] = k;
        }
        if (nrun) {
            const int first = i0 == 0 && (trace || dump);
            if (hy_embedder_forward(&net, bx, nrun, eb, first ? on_block : NULL, &hc)) goto out;
            if (hc.err) goto out;
            for (int r = 0; r < nrun; r++)  // packed rows to their images' rows
                memcpy(emb + (size_t)(i0 + slot[r]) * D, eb + (size_t)r * D, sizeof(float) * D);
        }
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
    free(eb);
    free(crop_rgb);
    free(found);
    hy_embedder_free(&net);
    if (has_det) hy_mtcnn_free(&det);
    return status;
}

// --- distance ---------------------------------------------------------------------------------

static const char ABOUT_DISTANCE[] =
    "Prints the Euclidean distance between two faces' embeddings in the model's own space, and\n"
    "(on stderr, unless --quiet) the model's same-person verdict when it has a threshold:\n"
    "  FaceNet (unit vectors): 0 = same embedding, 2 = opposite; cosine similarity = 1 - d^2/2\n"
    "  face-api descriptor:    same person below 0.6 (face-api's FaceMatcher default)";

int cmd_distance(int argc, char **argv) {
    const char *wpath = NULL, *crop = NULL, *noface = NULL, *detect = NULL;
    const opt table[] = {
        OPT_STR("embedder", 'e', &wpath, "F.bin", "identity model (kind facenet or faceapi_recognition)",
                OPT_REQUIRED),
        CLI_OPTS_FACE_CROP(&detect, &crop, &noface),
        OPT_ALIAS("weights", 'w', "embedder"),
        OPT_END,
    };
    const cli_command cmd = {"distance", "-e F.bin A.png B.png [--crop MODE] [-m M.bin] [--on-no-face P]",
                             ABOUT_DISTANCE, table, NULL, 2, 2, "image"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    face_crop_opts co;
    mtcnn_model det;
    int has_det = 0;
    if (hy_face_crop_setup(&co, crop, noface, detect, &det, &has_det)) return cli_fail("distance");
    if (co.on_no_face == NOFACE_SKIP) co.on_no_face = NOFACE_ERROR;  // a distance needs both faces
    embedder net;
    if (hy_embedder_load(&net, wpath)) {
        if (has_det) hy_mtcnn_free(&det);
        return cli_fail("distance");
    }
    const int D = net.dim;
    const size_t img_floats = hy_embedder_input_floats(&net);
    int status = 1;
    face_found f[2];
    float *in = hy_malloc(2 * img_floats * sizeof(float)), *emb = hy_malloc(2 * (size_t)D * sizeof(float));
    if (!in || !emb || find_faces(args.pos, 2, &co, f)) goto out;
    for (int k = 0; k < 2; k++)
        if (prepare_face(&net, in + k * img_floats, NULL, args.pos[k], &co, &f[k])) goto out;
    if (hy_embedder_forward(&net, in, 2, emb, NULL, NULL)) goto out;
    double d = hy_embedder_distance(emb, emb + D, D);
    printf("%.6f\n", d);
    if (!hy_quiet() && isfinite(net.threshold))
        fprintf(stderr, "%s (%s threshold %g)\n", d < net.threshold ? "same person" : "different people", net.kind,
                net.threshold);
    status = 0;
out:
    if (status) cli_fail("distance");
    free(in);
    free(emb);
    hy_embedder_free(&net);
    if (has_det) hy_mtcnn_free(&det);
    return status;
}
