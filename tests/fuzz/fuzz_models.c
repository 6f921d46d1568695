// fuzz_models.c - libFuzzer target: the PGGAN, FaceNet, MTCNN and face-api loaders (on top of the
// weight-file reader) on arbitrary bytes, with the CRCs recomputed so that mutations reach
// each loader's config/tensor-shape validation; generators up to 16x16 also run once.
// Seeds: tests/fixtures/*tiny.bin and tests/fuzz/seeds/models (PGGAN at 4x4 and 8x8, a few KB).
// Invariants (fuzz_util.h): a model that loads has every tensor used and finite weights; the
// loaders never read stdin and refuse a FIFO, a directory or a device without blocking.
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "models/faceapi.h"
#include "models/facenet.h"
#include "fuzz_util.h"
#include "models/mtcnn.h"
#include "models/pggan.h"

// For fz_check_path_reader: what each loader does with a path that is not a regular file.
static int load_any(const char *path) {
    pggan g;
    facenet f;
    mtcnn_model m;
    int ok = 0;
    if (hy_pggan_load(&g, path) == 0) ok = 1, hy_pggan_free(&g);
    if (hy_facenet_load(&f, path) == 0) ok = 1, hy_facenet_free(&f);
    if (hy_mtcnn_load(&m, path) == 0) ok = 1, hy_mtcnn_free(&m);
    faceapi_recog fr;
    faceapi_agegender fa;
    if (hy_faceapi_recog_load(&fr, path) == 0) ok = 1, hy_faceapi_recog_free(&fr);
    if (hy_faceapi_agegender_load(&fa, path) == 0) ok = 1, hy_faceapi_agegender_free(&fa);
    return ok ? 0 : -1;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    fz_guard_stdin();
    fz_check_path_reader(load_any);
    uint8_t *copy = malloc(size ? size : 1);
    if (!copy) return 0;
    memcpy(copy, data, size);
    fz_wf_fix_crc(copy, size);
    const char *p = fz_tmp_write(".bin", copy, size);
    free(copy);
    if (!p) return 0;
    // the kind field decides which loader can succeed; try them all (wrong kinds must fail cleanly)
    pggan g;
    if (hy_pggan_load(&g, p) == 0) {
        fz_wf_assert_loaded(&g.wf);
        // small generators also run once: the loaded shapes must be consistent with the compute
        if (g.resolution <= 16 && g.latent <= 4096) {
            float *z = calloc((size_t)g.latent, sizeof(float));
            float *out = malloc(sizeof(float) * 3 * (size_t)g.resolution * g.resolution);
            if (z && out) hy_pggan_forward(&g, z, out, NULL, NULL);
            free(z);
            free(out);
        }
        hy_pggan_free(&g);
    }
    facenet f;
    if (hy_facenet_load(&f, p) == 0) {
        fz_wf_assert_loaded(&f.wf);
        hy_facenet_free(&f);
    }
    mtcnn_model m;
    if (hy_mtcnn_load(&m, p) == 0) {
        fz_wf_assert_loaded(&m.wf);
        hy_mtcnn_free(&m);
    }
    faceapi_recog fr;
    if (hy_faceapi_recog_load(&fr, p) == 0) {
        fz_wf_assert_loaded(&fr.wf);
        hy_faceapi_recog_free(&fr);
    }
    faceapi_agegender fa;
    if (hy_faceapi_agegender_load(&fa, p) == 0) {
        fz_wf_assert_loaded(&fa.wf);
        hy_faceapi_agegender_free(&fa);
    }
    return 0;
}
