// attributes.c - `hyper attributes`: age and gender of faces with face-api's AgeGenderNet
// (include/models/faceapi.h; weights from `make weights`), as a CSV.
//
// Each image is decoded and its crop found first (MTCNN by default: face-api's crop of a detector
// box; the whole image; or a fixed box), so a bad file fails before anything is written; then the
// crops are padded to a square, resized to 112x112 as face-api does and run in batches.
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "cli/cli.h"
#include "cli/opts.h"
#include "models/faceapi.h"
#include "models/facecrop.h"

static const char ABOUT[] =
    "Age (years) and the probability that the face is male, from face-api's age/gender network\n"
    "(kind faceapi_agegender; make weights). Writes CSV rows index,image,age,p_male,crop (crop: m\n"
    "MTCNN, f full, b box, s skipped with NaN values) to OUT.csv, or to stdout without -o.\n"
    "Images are cropped (MTCNN: the detector's box, clipped as face-api's extractFaces does),\n"
    "padded to a square and resized to 112x112; --input-npy takes (N, 112, 112, 3) RGB 0..255\n"
    "float32, face-api's input tensor.";

// One image: decode, crop (detector rule), prepare into x (112, 112, 3).
static int prepare(float *x, const char *path, const face_crop_opts *co, const face_found *f, int S) {
    int w, h;
    uint8_t *rgb = NULL;
    crop_box b;
    int rc = hy_image_read_rgb8(path, &w, &h, &rgb);
    if (!rc && !(rc = hy_face_crop_box(co, f, CROP_RULE_DETECTOR, path, w, h, &b))) rc = hy_faceapi_prepare(x, S, rgb, w, h, &b);
    free(rgb);
    return rc;
}

int cmd_attributes(int argc, char **argv) {
    const char *wpath = NULL, *npy_in = NULL, *out = NULL, *crop = NULL, *noface = NULL, *detect = NULL;
    int batch = 16;
    const opt table[] = {
        OPT_STR("attributes", 'a', &wpath, "A.bin", "face-api age/gender weights (kind faceapi_agegender)",
                OPT_REQUIRED),
        OPT_STR("input-npy", 0, &npy_in, "X.npy", "(N, 112, 112, 3) RGB 0..255 float32 instead of images", 0),
        OPT_STR("out", 'o', &out, "A.csv", "output CSV (default: stdout)", 0),
        CLI_OPTS_FACE_CROP(&detect, &crop, &noface),
        CLI_OPT_FACE_BATCH(&batch),
        OPT_ALIAS("weights", 'w', "attributes"),
        OPT_END,
    };
    const cli_command cmd = {"attributes", "-a A.bin (IMAGE.png... | --input-npy X.npy) [-o A.csv] [options]", ABOUT,
                             table, NULL, 0, -1, "IMAGE"};
    CLI_PARSE_OR_RETURN(&cmd, argc, argv, args);
    if (!npy_in == !args.n_pos) return cli_usage_error(&cmd, "give either images or --input-npy X.npy (not both)");
    face_crop_opts co;
    mtcnn_model det;
    int has_det = 0;
    if (npy_in ? hy_face_crop_parse(&co, "full", NULL) : hy_face_crop_setup(&co, crop, noface, detect, &det, &has_det))
        return cli_fail("attributes");
    faceapi_agegender net;
    if (hy_faceapi_agegender_load(&net, wpath)) {
        if (has_det) hy_mtcnn_free(&det);
        return cli_fail("attributes");
    }
    const int S = net.input_size;
    const size_t img = (size_t)S * S * 3;
    int status = 1;
    float *x = NULL, *in = NULL, *age = NULL, *pm = NULL;
    face_found *found = NULL;
    long N;
    if (npy_in) {
        npy_f32 a;
        if (hy_npy_read_f32(npy_in, &a, 0)) goto done;
        if (a.ndim != 4 || a.dims[0] < 1 || a.dims[1] != S || a.dims[2] != S || a.dims[3] != 3) {
            hy_err(HY_ESHAPE, "%s: expected a (N, %d, %d, 3) RGB tensor, found %d dimensions%s", npy_in, S, S, a.ndim,
                   a.ndim == 4 ? " of another shape" : "");
            hy_npy_free_f32(&a);
            goto done;
        }
        N = (long)a.dims[0];
        x = a.data;
    } else {
        N = args.n_pos;
        if (!(found = hy_calloc((size_t)N, sizeof *found))) goto done;
        double t0 = hy_now();
        for (long i = 0; i < N; i++) {  // pass 1: every image decoded, every face found
            int w, h;
            uint8_t *rgb = NULL;
            int rc = hy_image_read_rgb8(args.pos[i], &w, &h, &rgb);
            if (!rc) rc = hy_face_crop_find(&co, args.pos[i], rgb, w, h, &found[i]);
            free(rgb);
            if (rc) goto done;
            hy_progress("attributes: reading", i + 1, N, t0);
        }
    }
    if (batch > N) batch = (int)N;
    age = hy_malloc(sizeof(float) * (size_t)N);
    pm = hy_malloc(sizeof(float) * (size_t)N);
    if (!age || !pm || (found && !(in = hy_malloc(sizeof(float) * img * (size_t)batch)))) goto done;
    for (long i0 = 0; i0 < N; i0 += batch) {
        const int nb = (int)(N - i0 < batch ? N - i0 : batch);
        int slot[1024], nrun = 0;
        if (found) {
            for (int k = 0; k < nb; k++) {
                if (found[i0 + k].how == 's') {
                    age[i0 + k] = pm[i0 + k] = NAN;
                    continue;
                }
                if (prepare(in + (size_t)nrun * img, args.pos[i0 + k], &co, &found[i0 + k], S)) goto done;
                slot[nrun++] = k;
            }
        } else {
            for (int k = 0; k < nb; k++) slot[nrun++] = k;
        }
        float ab[1024], pb[1024];
        if (nrun && hy_faceapi_agegender_forward(&net, found ? in : x + (size_t)i0 * img, nrun, ab, pb, NULL, NULL))
            goto done;
        for (int r = 0; r < nrun; r++) age[i0 + slot[r]] = ab[r], pm[i0 + slot[r]] = pb[r];
    }
    hy_outfile of = {0};
    FILE *fp = stdout;
    if (out) {
        if (hy_out_open(&of, out)) goto done;
        fp = of.fp;
    }
    fprintf(fp, "index,image,age,p_male,crop\n");
    for (long i = 0; i < N; i++) {
        const char *name = found ? args.pos[i] : "";
        fprintf(fp, "%ld,", i);
        if (strpbrk(name, ",\"\n")) {  // a CSV field in quotes, inner quotes doubled
            fputc('"', fp);
            for (const char *c = name; *c; c++) fputs(*c == '"' ? "\"\"" : (char[2]){*c, 0}, fp);
            fputc('"', fp);
        } else {
            fputs(name, fp);
        }
        fprintf(fp, ",%.4f,%.6f,%c\n", age[i], pm[i], found ? found[i].how : 'f');
    }
    if (out && hy_out_commit(&of)) goto done;
    if (out && !hy_quiet()) fprintf(stderr, "attributes of %ld face%s -> %s\n", N, N == 1 ? "" : "s", out);
    status = 0;
done:
    if (status) cli_fail("attributes");
    free(x), free(in), free(age), free(pm), free(found);
    hy_faceapi_agegender_free(&net);
    if (has_det) hy_mtcnn_free(&det);
    return status;
}
