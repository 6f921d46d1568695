// facecrop.h - how a face is cut out of an image before a face model: MTCNN detection (the
// largest face), the whole image, or a fixed box; what happens when MTCNN finds no face; and,
// for a detected face, which box each model cuts from it (its crop rule):
//   facenet    facenet-pytorch's extract_face: the detector box, int-truncated, margin 0
//              (then Pillow bilinear to 160x160)
//   face chip  face-api's descriptor crop: the dlib face chip from the 5 landmarks
//              (hy_faceapi_dlib_box; then padToSquare + bilinear to 150x150)
//   detector   face-api's age/gender crop: the detector box clipped and floored
//              (hy_faceapi_detector_box; then padToSquare + bilinear to 112x112)
// MTCNN runs once per image (hy_face_crop_find); each model then takes its box (hy_face_crop_box).
#ifndef HY_FACECROP_H
#define HY_FACECROP_H

#include <stdint.h>

#include "models/mtcnn.h"
#include "base/resize.h"

typedef enum { FACE_CROP_MTCNN, FACE_CROP_FULL, FACE_CROP_BOX } face_crop_mode;
typedef enum { NOFACE_FALLBACK_FULL, NOFACE_SKIP, NOFACE_ERROR } noface_policy;

typedef struct {
    face_crop_mode mode;
    crop_box box;               // FACE_CROP_BOX
    noface_policy on_no_face;   // FACE_CROP_MTCNN
    const mtcnn_model *det;     // FACE_CROP_MTCNN
    int margin;                 // facenet-pytorch margin (default 0)
} face_crop_opts;

// Parses --crop (mtcnn | full | box:x1,y1,x2,y2) and --on-no-face (fallback-full | skip | error).
int hy_face_crop_parse(face_crop_opts *o, const char *crop, const char *on_no_face);
// Parses the options and, for --crop mtcnn, loads the detector into *det (*has_det = 1):
// `detect`, else weights/mtcnn.bin when present; without either, warns on stderr and falls
// back to the whole image (mode becomes FACE_CROP_FULL). detect == NULL and mode mtcnn
// with no default file is therefore not an error.
int hy_face_crop_setup(face_crop_opts *o, const char *crop, const char *on_no_face, const char *detect,
                    mtcnn_model *det, int *has_det);
#define FACE_CROP_DEFAULT_MTCNN "weights/mtcnn.bin"
// Largest coordinate a fixed crop box may name (images are bounded far below it).
#define FACE_CROP_MAX_COORD 1000000

// A short description for output files, e.g. "mtcnn(fallback-full)", "full", "box:0,0,80,80".
void hy_face_crop_describe(const face_crop_opts *o, char *buf, int len);

typedef enum { CROP_RULE_FACENET, CROP_RULE_FACE_CHIP, CROP_RULE_DETECTOR } crop_rule;

// The crop mode applied to one image. how: 'm' (MTCNN face in `face`), 'f' (whole image, also
// the no-face fallback), 'b' (fixed box) or 's' (no face, policy skip). prob: the O-Net face
// probability of the chosen face (the largest, as facenet-pytorch's MTCNN(return_prob=True)), 0
// when MTCNN finds no face (none passes its thresholds 0.6/0.7/0.7), NaN when the mode is not mtcnn.
typedef struct {
    char how;
    float prob;
    mtcnn_face face;
} face_found;

// Runs the crop mode on one RGB8 image (MTCNN when mode mtcnn). Without a face the policy decides:
// fallback-full and skip note a warning naming `name`; error returns HY_EVALUE "name: no face found".
// A fixed box outside the image is HY_EARG.
int hy_face_crop_find(const face_crop_opts *o, const char *name, const uint8_t *rgb, int w, int h, face_found *f);
// The box a model with `rule` cuts from what find returned ('s': HY_EARG, there is none). A
// detected face whose box has no pixels in the image is HY_EVALUE naming `name`.
int hy_face_crop_box(const face_crop_opts *o, const face_found *f, crop_rule rule, const char *name, int w, int h,
                     crop_box *box);
// find + box for one rule; *how as in face_found (box untouched for 's').
int hy_face_crop_choose(const face_crop_opts *o, crop_rule rule, const char *name, const uint8_t *rgb, int w, int h,
                        crop_box *box, char *how);

#endif
