// embedder.c - the identity-model interface of include/models/embedder.h: dispatch on the weight
// file's kind to FaceNet (facenet.c) or face-api's descriptor (faceapi_recog.c).
#include "models/embedder.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"  // hy_err, hy_malloc
#include "base/resize.h"  // hy_face_preprocess

// The kind in a file's header, without validating the rest (hy_wf_open reads the whole file;
// the model loader reads it again and checks everything).
static int peek_kind(const char *path, char kind[33]) {
    FILE *f = hy_fopen_read(path);  // regular files only, never blocks (message set)
    if (!f) return HY_EIO;
    unsigned char h[48];
    size_t n = fread(h, 1, sizeof h, f);
    fclose(f);
    if (n < sizeof h || memcmp(h, "HYPERWF", 8)) return hy_err(HY_EFORMAT, "%s: not a hyper weight file", path);
    memcpy(kind, h + 16, 32);
    kind[32] = 0;
    return HY_OK;
}

static double file_threshold(const wfile *wf) {
    double t;
    if (!hy_wf_cfg(wf, "verify_threshold") || hy_wf_cfg_float(wf, "verify_threshold", &t) || !(t > 0) || !isfinite(t))
        return NAN;
    return t;
}

int hy_embedder_load(embedder *e, const char *path) {
    memset(e, 0, sizeof *e);
    int rc = peek_kind(path, e->kind);
    if (rc) return rc;
    if (!strcmp(e->kind, "facenet")) {
        if ((rc = hy_facenet_load(&e->fn, path))) return rc;
        e->type = EMBEDDER_FACENET;
        e->wf = &e->fn.wf;
        e->input_size = e->fn.input_size;
        e->dim = e->fn.emb_dim;
        e->rule = CROP_RULE_FACENET;
    } else if (!strcmp(e->kind, FACEAPI_RECOG_KIND)) {
        if ((rc = hy_faceapi_recog_load(&e->fa, path))) return rc;
        e->type = EMBEDDER_FACEAPI;
        e->wf = &e->fa.wf;
        e->input_size = e->fa.input_size;
        e->dim = e->fa.dim;
        e->rule = CROP_RULE_FACE_CHIP;
    } else {
        return hy_err(HY_EFORMAT, "%s: is a '%s' weight file, expected an identity model ('facenet' or '%s')", path,
                      e->kind, FACEAPI_RECOG_KIND);
    }
    e->threshold = file_threshold(e->wf);
    return HY_OK;
}

void hy_embedder_free(embedder *e) {
    if (e->wf) {
        if (e->type == EMBEDDER_FACENET) hy_facenet_free(&e->fn);
        else hy_faceapi_recog_free(&e->fa);
    }
    memset(e, 0, sizeof *e);
}

size_t hy_embedder_input_floats(const embedder *e) { return (size_t)3 * e->input_size * e->input_size; }

int hy_embedder_prepare(const embedder *e, float *x, uint8_t *rgb_out, const uint8_t *rgb, int w, int h,
                        const crop_box *b) {
    const int S = e->input_size;
    if (e->type == EMBEDDER_FACENET) return hy_face_preprocess(x, rgb_out, S, rgb, w, h, b);
    int rc = hy_faceapi_prepare(x, S, rgb, w, h, b);
    if (!rc && rgb_out)
        for (size_t i = 0; i < (size_t)S * S * 3; i++) {
            float v = roundf(x[i]);
            rgb_out[i] = (uint8_t)(v < 0 ? 0 : v > 255 ? 255 : v);
        }
    return rc;
}

int hy_embedder_forward(embedder *e, const float *x, int n, float *emb, facenet_hook hook, void *user) {
    if (e->type == EMBEDDER_FACENET) return hy_facenet_forward(&e->fn, x, n, emb, hook, user);
    return hy_faceapi_recog_forward(&e->fa, x, n, emb, hook, user);
}

int hy_embedder_reserve(embedder *e, int n) {
    if (e->type == EMBEDDER_FACENET) return hy_facenet_reserve(&e->fn, n);
    return hy_faceapi_recog_reserve(&e->fa, n);
}

double hy_embedder_distance(const float *a, const float *b, int dim) {
    double d2 = 0;
    for (int j = 0; j < dim; j++) {
        const double d = (double)a[j] - b[j];
        d2 += d * d;
    }
    return sqrt(d2);
}
