// embedder.h - one interface over the identity models ("embedders"), chosen by the weight file's
// kind: FaceNet (kind facenet: Inception-ResNet-v1, 160x160, 512-d unit vectors) and face-api's
// face descriptor (kind faceapi_recognition: 150x150, 128-d, not normalised). Each brings its
// own crop rule (facecrop.h), preprocessing and same-person threshold; distances between two
// faces are Euclidean in the model's own space, so they are comparable only within one model.
//
// Same-person threshold (verification): the weight file's config float `verify_threshold` when
// present (face-api: 0.6, FaceMatcher's default; the demo FaceNet: the threshold fixed on its
// training people); otherwise NAN (e.g. a converted VGGFace2 FaceNet: facenet-pytorch names none).
#ifndef HY_EMBEDDER_H
#define HY_EMBEDDER_H

#include <stddef.h>
#include <stdint.h>

#include "models/faceapi.h"
#include "models/facecrop.h"
#include "models/facenet.h"

typedef enum { EMBEDDER_FACENET, EMBEDDER_FACEAPI } embedder_type;

typedef struct {
    embedder_type type;
    facenet fn;              // EMBEDDER_FACENET
    faceapi_recog fa;        // EMBEDDER_FACEAPI
    const wfile *wf;         // the loaded file (CRCs for caches)
    int input_size, dim;
    crop_rule rule;          // which box it cuts from an MTCNN face
    double threshold;        // same-person distance, or NAN
    char kind[33];
} embedder;

// Loads `path` as the model its kind names; anything else is HY_EFORMAT naming the kind found.
int hy_embedder_load(embedder *e, const char *path);
void hy_embedder_free(embedder *e);

// Floats of one image's network input: FaceNet (3, 160, 160) standardised; face-api (150, 150, 3)
// RGB 0..255, the layout `hyper embed --input-npy` reads for that model.
size_t hy_embedder_input_floats(const embedder *e);
// The input of the box b of an RGB8 image (w x h): FaceNet: Pillow bilinear to 160 and
// (x - 127.5) / 128; face-api: padToSquare + tfjs bilinear to 150. rgb_out (S, S, 3), optional,
// receives the crop as the network sees it (face-api's float pixels rounded to bytes).
int hy_embedder_prepare(const embedder *e, float *x, uint8_t *rgb_out, const uint8_t *rgb, int w, int h,
                        const crop_box *b);
// x (n, input) -> emb (n, dim). The hook sees the first image's layers (both models' hooks have
// this signature). HY_EVALUE for non-finite input.
int hy_embedder_forward(embedder *e, const float *x, int n, float *emb, facenet_hook hook, void *user);
// Allocates (and touches) the buffers of batches of up to n now, so that the first forward does not.
int hy_embedder_reserve(embedder *e, int n);
// Euclidean distance of two embeddings (double accumulation); NAN if either holds a NaN.
double hy_embedder_distance(const float *a, const float *b, int dim);

#endif
