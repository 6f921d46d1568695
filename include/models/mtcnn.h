// mtcnn.h - MTCNN face detector (P-Net, R-Net, O-Net) with facenet-pytorch's defaults,
// and the FaceNet crop box (shared/spec/mtcnn.md; facenet.md section 3).
//
// What it does: finds faces in an RGB8 image and returns, per face, a float box
// (x1,y1,x2,y2 in original-image pixels, not clipped, may be non-square), O-Net's face
// probability and 5 landmarks, ordered by box area (largest first), exactly as
// facenet-pytorch's MTCNN() on a PIL image. What it does not: batches of images, other
// resamplers than torch 'area', zero-padded crops (upstream cuts crops at the image edge).
//
// Weight file: kind "mtcnn" (convert/mtcnn.py), one f32 tensor per upstream state-dict
// entry, named "<net>.<key>", in PyTorch order and with the upstream values unchanged:
//   pnet.conv1.weight [10,3,3,3]   pnet.conv1.bias [10]   pnet.prelu1.weight [10]
//   pnet.conv2.weight [16,10,3,3]  pnet.conv2.bias [16]   pnet.prelu2.weight [16]
//   pnet.conv3.weight [32,16,3,3]  pnet.conv3.bias [32]   pnet.prelu3.weight [32]
//   pnet.conv4_1.weight [2,32,1,1] pnet.conv4_1.bias [2]  (face logits)
//   pnet.conv4_2.weight [4,32,1,1] pnet.conv4_2.bias [4]  (box regression)
//   rnet.conv1.* [28,3,3,3] prelu1 [28]; conv2 [48,28,3,3] prelu2 [48]; conv3 [64,48,2,2] prelu3 [64];
//   rnet.dense4.weight [128,576] (columns in upstream's [W,H,C] flatten order) prelu4 [128];
//   rnet.dense5_1 [2,128] (logits), rnet.dense5_2 [4,128] (regression)
//   onet.conv1 [32,3,3,3] prelu1; conv2 [64,32,3,3] prelu2; conv3 [64,64,3,3] prelu3;
//   onet.conv4 [128,64,2,2] prelu4; onet.dense5.weight [256,1152] ([W,H,C] order) prelu5 [256];
//   onet.dense6_1 [2,256] (logits), dense6_2 [4,256] (regression), dense6_3 [10,256] (landmarks)
// Every conv/dense has .weight and .bias; every prelu has only .weight. 495,850 floats in all.
#ifndef HY_MTCNN_H
#define HY_MTCNN_H

#include <stdint.h>

#include "base/wfile.h"

// Largest image detect accepts (width*height); bigger ones are refused with HY_ESHAPE
// rather than allocating gigabytes (P-Net's first pyramid level alone needs ~40 bytes/pixel).
#define MTCNN_MAX_PIXELS ((int64_t)4096 * 4096)
#define MTCNN_MAX_LEVELS 64

typedef struct { const float *w, *b; } mtcnn_lin;  // conv or dense: weight, bias

// A loaded model also owns grow-only scratch buffers (ws) that every call reuses, so a
// model must not be used by two threads at once (load one per thread).
typedef struct {
    wfile wf;
    struct mtcnn_ws *ws;
    struct { mtcnn_lin conv1, conv2, conv3, conv4_1, conv4_2; const float *prelu1, *prelu2, *prelu3; } pnet;
    struct { mtcnn_lin conv1, conv2, conv3, dense4, dense5_1, dense5_2;
             const float *prelu1, *prelu2, *prelu3, *prelu4; } rnet;
    struct { mtcnn_lin conv1, conv2, conv3, conv4, dense5, dense6_1, dense6_2, dense6_3;
             const float *prelu1, *prelu2, *prelu3, *prelu4, *prelu5; } onet;
} mtcnn_model;

int hy_mtcnn_load(mtcnn_model *m, const char *path);
void hy_mtcnn_free(mtcnn_model *m);

// --- networks ------------------------------------------------------------------------
// Inputs are normalised float NCHW ((v - 127.5) * 0.0078125). Each returns HY_OK or
// HY_ENOMEM (they allocate their own activations/scratch).
// P-Net: in (1,3,h,w), h,w >= 12 -> reg (4,ho,wo), prob (2,ho,wo) with ho = ceil((h-2)/2)-4.
int hy_mtcnn_pnet_out_size(int in);
int hy_mtcnn_pnet(const mtcnn_model *m, const float *in, int h, int w, float *reg, float *prob);
// R-Net: in (n,3,24,24) -> reg (n,4), prob (n,2).
int hy_mtcnn_rnet(const mtcnn_model *m, const float *in, int n, float *reg, float *prob);
// O-Net: in (n,3,48,48) -> reg (n,4), landmarks (n,10) (5 x then 5 y, relative), prob (n,2).
int hy_mtcnn_onet(const mtcnn_model *m, const float *in, int n, float *reg, float *lm, float *prob);
// The same three networks (the same layer list in src/models/mtcnn.c) on the reference ops:
// hy_conv2d_ref and hy_dense_ref (double accumulation), ops.h hy_prelu and hy_max_pool2d
// (ceil mode) instead of im2col + sgemm, the specialised pools and the vectorised PReLU.
// For audits and the tests that hold the networks above to them.
int hy_mtcnn_pnet_ref(const mtcnn_model *m, const float *in, int h, int w, float *reg, float *prob);
int hy_mtcnn_rnet_ref(const mtcnn_model *m, const float *in, int n, float *reg, float *prob);
int hy_mtcnn_onet_ref(const mtcnn_model *m, const float *in, int n, float *reg, float *lm, float *prob);

// --- pipeline pieces (exposed for the golden tests) -------------------------------------
// torch interpolate(mode='area') of the rectangle (x0,y0,cw,ch) of an interleaved RGB8
// image (row stride w*3) -> raw planar float out (3,ho,wo), bit-exact (spec 2.3).
void hy_mtcnn_area_resample(float *out, int ho, int wo, const uint8_t *rgb, int w, int x0, int y0, int cw, int ch);
// Pyramid scales for an h x w image (spec 2.2); returns the count (0 if min(h,w) < 20).
int hy_mtcnn_pyramid(int h, int w, double *scales, int max);
// NMS over boxes (n rows of `stride` floats: x1,y1,x2,y2,score,...). mode 0: IoU (no +1),
// mode 1: Min (+1). Writes kept row indices in descending score (stable) to keep; returns
// the count, or HY_ENOMEM.
int hy_mtcnn_nms(const float *boxes, int n, int stride, float thr, int mode_min, int *keep);

// MTCNN's ceil-mode max pools (k2 s2, k3 s2) over `planes` planes; exposed for the test that
// compares it with ops.h max_pool2d.
void hy_mtcnn_pool_ceil_for_test(float *out, const float *in, int planes, int h, int w, int k, int s);

// Detection settings; mtcnn_default_options gives facenet-pytorch's defaults (used when NULL).
typedef struct {
    int min_size;         // 20: smallest face searched, in pixels (>= 12)
    double factor;        // 0.709: pyramid scale step, in (0.1, 1)
    float thresholds[3];  // 0.6 (>=), 0.7 (>), 0.7 (>)
} mtcnn_options;
void hy_mtcnn_default_options(mtcnn_options *o);

typedef struct {
    float box[4];    // x1, y1, x2, y2
    float prob;      // O-Net face probability
    float lm[10];    // landmark x0..x4, then y0..y4: left eye, right eye, nose, mouth left, mouth right
} mtcnn_face;

// Optional view of the intermediate stages (tests). Arrays are malloc'd by mtcnn_detect
// when a trace is passed; free with mtcnn_trace_free.
typedef struct {
    int n_levels;
    double scales[MTCNN_MAX_LEVELS];
    int level_h[MTCNN_MAX_LEVELS], level_w[MTCNN_MAX_LEVELS];
    int n_cand[MTCNN_MAX_LEVELS];  // P-Net cells with p >= threshold per level
    int n_cat;  float *cat;        // (n_cat, 9) per-level NMS survivors, concatenated
    int n1;     float *stage1;     // (n1, 5) after NMS 0.7, regression, rerec
    int n_rnet_pass;               // R-Net scores > threshold (before NMS)
    int n2;     float *stage2;     // (n2, 5) after R-Net, NMS, bbreg, rerec
    int n_onet_in;                 // crops given to O-Net
    int n_onet_pass;               // O-Net scores > threshold (before NMS Min)
} mtcnn_trace;
void hy_mtcnn_trace_free(mtcnn_trace *t);

// Detects every face in an interleaved RGB8 image (w x h). *faces is malloc'd (NULL when
// none) and sorted by area, largest first (select_largest); keep_all=False means faces[0].
// Images with min(w,h) < 20 yield no faces (HY_OK); images over MTCNN_MAX_PIXELS give HY_ESHAPE.
int hy_mtcnn_detect(const mtcnn_model *m, const mtcnn_options *opt, const uint8_t *rgb, int w, int h,
                 mtcnn_face **faces, int *n_faces, mtcnn_trace *trace);

// --- FaceNet crop (facenet-pytorch extract_face, PIL path) -----------------------------------
// Integer crop box (X1,Y1,X2,Y2): columns X1..X2-1, rows Y1..Y2-1, from a detected box with
// margin (default 0) for a size x size crop; returns 0 when the box is non-empty, else HY_EVALUE.
int hy_mtcnn_facenet_box(const float box[4], int w, int h, int margin, int size, int out[4]);
// Pillow-exact BILINEAR (antialiased triangle) resize of the rectangle (x0,y0,cw,ch) of an RGB8
// image (row stride w*3) to ow x oh RGB8, through the shared hy_resize_rgb8 (src/base/resize.c).
// Returns HY_OK or HY_ENOMEM.
int hy_mtcnn_resize_pil_bilinear(uint8_t *out, int ow, int oh, const uint8_t *rgb, int w, int x0, int y0, int cw,
                              int ch);
// A resize of the rectangle (x0,y0,cw,ch) of an RGB8 image (row stride w*3) to ow x oh RGB8.
typedef int (*mtcnn_resize_fn)(uint8_t *out, int ow, int oh, const uint8_t *rgb, int w, int x0, int y0, int cw,
                               int ch);
// Crop for FaceNet: facenet box + resize to size x size RGB8 (out: size*size*3) with `resize`
// (NULL: mtcnn_resize_pil_bilinear). Returns HY_EVALUE for a box with no pixels in the image.
int hy_mtcnn_crop_face(uint8_t *out, int size, const uint8_t *rgb, int w, int h, const float box[4], int margin,
                    mtcnn_resize_fn resize);

#endif
