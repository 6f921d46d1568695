// facecrop.h - how a face is cut out of an image before FaceNet: MTCNN detection (the
// facenet-pytorch default: largest face, margin 0, Pillow bilinear resize to 160), the whole
// image, or a fixed box; and what happens when MTCNN finds no face.
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

// Chooses the crop box for one RGB8 image. *how is 'm' (MTCNN face), 'f' (whole image, also
// the no-face fallback, with a warning on stderr naming `name`), 'b' (fixed box) or 's' (no face,
// policy skip: no box). Policy error: returns HY_EVALUE "name: no face found".
int hy_face_crop_choose(const face_crop_opts *o, const char *name, const uint8_t *rgb, int w, int h, crop_box *box,
                     char *how);

#endif
