// faceapi.h - face-api's trained face networks (npm @vladmandic/face-api 1.7.15, MIT; the models
// of face-api.js), run in C exactly as face-api runs them on a tensor input:
//   - the face descriptor, FaceRecognitionNet: a ResNet-34-like net, 150x150 RGB -> 128-d
//     (not normalised; face-api compares descriptors by Euclidean distance, same person < 0.6);
//   - AgeGenderNet: TinyXception (2 main blocks) + two dense heads, 112x112 RGB -> age (years)
//     and p_male (softmax of the gender logits, index 0 = male).
// Sources read: src/faceRecognitionNet/{FaceRecognitionNet,convLayer,residualLayer,scaleLayer}.ts,
// src/xception/TinyXception.ts, src/ageGenderNet/AgeGenderNet.ts, src/common/*.ts,
// src/dom/{NetInput,extractFaceTensors}.ts, src/ops/{normalize,padToSquare}.ts,
// src/classes/{FaceLandmarks,FaceLandmarks5,Box}.ts.
//
// Input and preprocessing (NetInput.toBatchTensor(size, true) on a tensor, then normalize):
//   an RGB crop (h, w, 3), values 0..255 -> padToSquare: zeros on the short axis, round(d/2)
//   after the image and the rest before it -> if the square is not size x size,
//   tf.image.resizeBilinear (alignCorners false, halfPixelCenters false) -> (x - mean_rgb) / 255
//   with mean_rgb = (122.782, 117.001, 104.298). hy_faceapi_prepare does the first two steps; the
//   forward functions take the (n, size, size, 3) float tensor (what `--input-npy` reads) and
//   normalise it themselves.
//
// Crops (face-api's pipeline, from a detector's output):
//   descriptor: the dlib "face chip" rectangle from 5 landmarks (FaceLandmarks5.align with
//     useDlibAlignment: left eye, right eye and the mean of the two mouth corners; size =
//     floor(mean eye-mouth distance / 0.45); x = floor(max(0, cx - 0.5 size)), y = floor(max(0,
//     cy - 0.43 size)) from the centroid c of the three points), clipped at the image borders
//     (Box.clipAtImageBorders, which floors) -> hy_faceapi_dlib_box. MTCNN's 5 landmarks are in
//     FaceLandmarks5's order, so this is what face-api computes for an MTCNN detection.
//   age/gender: the detector's box itself (what withAgeAndGender() uses without 68-point
//     landmarks), clipped at the borders and floored -> hy_faceapi_detector_box.
//
// Weight files (convert/faceapi.py), kinds "faceapi_recognition" and "faceapi_agegender":
//   config: input_size (150 | 112), mean_rgb (3 floats), input_divisor (255), source, layout,
//           quantization (text), main_blocks (agegender: 2)
//   tensors: face-api's TF.js names with '/' -> '.', permuted to PyTorch order: conv filters
//     [cout, cin, kh, kw], depthwise filters [c, 1, kh, kw], dense weights [out, in]. A tensor that
//     was uint8-quantised in the package stays u8 (the same bytes, permuted) with a companion f64
//     tensor NAME.quant = [scale, min]; it is dequantised at load exactly as tfjs-core does,
//     float32((double)q * scale + min). The other tensors are f32.
//   recognition: conv32_down.{conv.filters [w0,3,7,7], conv.bias, scale.weights, scale.biases},
//     then residual layers R.conv1.*, R.conv2.* (same four each, 3x3) for R = conv32_{1,2,3},
//     conv64_down, conv64_{1,2,3}, conv128_down, conv128_{1,2}, conv256_down, conv256_{1,2},
//     conv256_down_out; fc [dim, w3] (no bias). Widths w0..w3 (32, 64, 128, 256 upstream) are
//     read from the shapes: each *_down layer keeps or doubles its input width (the shortcut is
//     zero-padded on channels, as residualDown does); dim is 128 upstream.
//   agegender: entry_flow.conv_in.{filters [c0,3,3,3], bias}; reduction blocks
//     entry_flow.reduction_block_{0,1} and exit_flow.reduction_block, each with
//     separable_conv{0,1}.{depthwise_filter, pointwise_filter [cout,cin,1,1], bias} and
//     expansion_conv.{filters [cout,cin,1,1], bias}; middle_flow.main_block_{0,1}.separable_conv{0,1,2}.*;
//     exit_flow.separable_conv.*; fc.age.{weights [1,F], bias [1]}, fc.gender.{weights [2,F], bias [2]}.
//     Widths are read from the shapes (32, 64, 128, 256, 512 upstream).
// The loaders check the kind, the config, every shape and refuse extra tensors.
//
// Layer order (each named point is reported to the hook for the first image; the names match
// convert/ref/faceapi_ref.py):
//   recognition: input (normalised) -> conv32_down (7x7/2 valid, +bias, *scale+shift, relu) ->
//     max_pool (3x3/2 valid) -> 14 residual layers (conv 3x3 same +bias, scale, relu; conv, scale;
//     + shortcut; relu; a *_down layer's first conv is 3x3/2 valid and its shortcut is a 2x2/2
//     average pool, padded with zero channels when the width doubles, while a 3x3 result is padded
//     with a zero row and column to the pool's 4x4) -> avg_pool (mean over H, W) -> descriptor (fc)
//   agegender: input -> conv_in (3x3/2 same, relu) -> reduction_block_0 (no input relu),
//     reduction_block_1 -> main_block_0, main_block_1 -> exit_reduction_block -> exit_separable_conv
//     (relu) -> avg_pool (7x7/2 valid) -> age, gender_logits, gender (softmax).
//   reduction block: relu(x)? -> sepconv -> relu -> sepconv -> max pool 3x3/2 same, + the 1x1/2
//     expansion conv of x. main block: 3 x (relu -> sepconv) + x. sepconv = depthwise 3x3 same ->
//     pointwise 1x1 -> + bias.
#ifndef HY_FACEAPI_H
#define HY_FACEAPI_H

#include <stdint.h>

#include "base/resize.h"  // crop_box
#include "base/wfile.h"

#define FACEAPI_RECOG_KIND "faceapi_recognition"
#define FACEAPI_AGEGENDER_KIND "faceapi_agegender"
#define FACEAPI_RECOG_THRESHOLD 0.6  // face-api's usual same-person distance (FaceMatcher default)

// Activation buffers for one lane (a thread running part of a batch), sized once per batch size.
typedef struct {
    int cap_n;
    float *a, *b, *t, *u, *scratch;
} faceapi_buffers;

// Called for every named layer with the FIRST image's activation, (c, h, w) contiguous
// (h = w = 1 for vectors).
typedef void (*faceapi_hook)(void *user, const char *name, const float *x, int c, int h, int w);

// conv (or pointwise / dense) with face-api's optional scale layer; weights dequantised
typedef struct {
    const float *w, *b;            // w (cout, cin, kh, kw), b (cout)
    const float *scale, *shift;    // recognition conv layers: the scale layer; NULL otherwise
    int cin, cout, kh, kw;
} faceapi_conv;

typedef struct {
    faceapi_conv dw, pw;  // depthwise (dw.cin = dw.cout = c, dw.w (c, 1, 3, 3)), pointwise (+ bias)
} faceapi_sepconv;

// --- the face descriptor --------------------------------------------------------------------
#define FACEAPI_RECOG_RESIDUALS 14
typedef struct {
    wfile wf;
    float *params;           // every tensor dequantised to float32 (one allocation)
    int input_size, dim;
    double mean[3], divisor;
    faceapi_conv stem;                                   // conv32_down
    struct { char name[24]; int down; faceapi_conv c1, c2; } res[FACEAPI_RECOG_RESIDUALS];
    const float *fc;         // (dim, w3)
    faceapi_buffers lane[2]; // lane 0 runs a batch, or its first half while lane 1 runs the second
} faceapi_recog;

int hy_faceapi_recog_load(faceapi_recog *m, const char *path);
void hy_faceapi_recog_free(faceapi_recog *m);
// in (n, S, S, 3) RGB 0..255 (S = input_size) -> desc (n, dim). HY_EVALUE for non-finite input.
// Sizes the lanes' buffers for batches of up to n (no-op if big enough; the forward calls it too).
int hy_faceapi_recog_reserve(faceapi_recog *m, int n);
int hy_faceapi_recog_forward(faceapi_recog *m, const float *in, int n, float *desc, faceapi_hook hook, void *user);

// --- age and gender -------------------------------------------------------------------------
typedef struct {
    faceapi_sepconv s0, s1;
    faceapi_conv expand;
} faceapi_reduction;

typedef struct {
    wfile wf;
    float *params;
    int input_size, feat;    // feat: exit separable conv width (512 upstream)
    double mean[3], divisor;
    faceapi_conv conv_in;
    faceapi_reduction rb[3];             // entry 0, entry 1, exit
    faceapi_sepconv main[2][3];
    faceapi_sepconv exit_sep;
    faceapi_conv fc_age, fc_gender;      // dense: w (out, feat)
    faceapi_buffers lane[2];
} faceapi_agegender;

int hy_faceapi_agegender_load(faceapi_agegender *m, const char *path);
void hy_faceapi_agegender_free(faceapi_agegender *m);
// in (n, S, S, 3) RGB 0..255 -> age (n) in years, p_male (n). HY_EVALUE for non-finite input.
int hy_faceapi_agegender_forward(faceapi_agegender *m, const float *in, int n, float *age, float *p_male,
                                 faceapi_hook hook, void *user);

// --- preprocessing and crops ------------------------------------------------------------------
// out (size, size, 3) float = padToSquare + resizeBilinear of the box b of an RGB8 image
// (w x h, interleaved); the box must be inside the image (hy_crop_check). HY_ENOMEM on failure.
int hy_faceapi_prepare(float *out, int size, const uint8_t *rgb, int w, int h, const crop_box *b);
// The same from a float (h, w, 3) image tensor (tests; --input-npy images of another size).
int hy_faceapi_prepare_f32(float *out, int size, const float *img, int w, int h);
// face-api's descriptor crop from MTCNN's 5 landmarks (x0..x4, y0..y4; see the top of this file).
// HY_EVALUE when the clipped box has no pixels.
int hy_faceapi_dlib_box(const float lm[10], int w, int h, crop_box *out);
// face-api's crop for a detector box (x1, y1, x2, y2): Rect(x1, y1, x2-x1, y2-y1) clipped at the
// borders and floored. HY_EVALUE when it has no pixels.
int hy_faceapi_detector_box(const float box[4], int w, int h, crop_box *out);

// --- loading (shared by the two loaders) ----------------------------------------------------
// Takes tensors out of an open weight file: f32 tensors are used in place, u8 ones (with their
// NAME.quant) are dequantised into one float arena allocated by init (sized for every u8 tensor).
typedef struct {
    const wfile *wf;
    float *arena;
    size_t used, cap;
} faceapi_loader;
// *params receives the arena (the caller frees it).
int hy_faceapi_loader_init(faceapi_loader *L, const wfile *wf, float **params);
// Gets tensor `name` as float32 with shape dims[0..ndim); a negative dims[i] accepts any size and
// is replaced by the file's. Errors name the file, the tensor, the expected and found shape.
int hy_faceapi_get(faceapi_loader *L, const char *name, int ndim, int64_t *dims, const float **out);
// With rc == HY_OK, errors on the first tensor no get() asked for (hy_wf_check_all_used, as every
// loader); otherwise returns rc unchanged (its message stays). The arena stays with the caller.
int hy_faceapi_loader_finish(faceapi_loader *L, int rc);
// Threads: a forward pass never runs OpenMP regions or multi-threaded BLAS (on a shared machine
// their spinning threads slowed a batch ~20x); with 2+ threads (hy_set_threads) and 2+ images the
// batch is split in two halves run at once, each single-threaded (as FaceNet's lanes).
// hy_faceapi_run_lanes calls fn(ctx, lane, i0, n) for the halves (or once, on lane 0).
void hy_faceapi_run_lanes(void (*fn)(void *ctx, int lane, int i0, int n), void *ctx, int n);
// (Re)allocates the lanes' four activation buffers (act floats per image each) and scratch for a
// batch of n, split between the lanes as hy_faceapi_run_lanes will split it; what names the model.
int hy_faceapi_reserve_lanes(faceapi_buffers lane[2], int n, size_t act, size_t scratch, const char *what);
void hy_faceapi_free_lanes(faceapi_buffers lane[2]);

// Opens a network's weight file, checks its kind and reads its config (hy_faceapi_read_config); on
// failure the caller closes it (hy_faceapi_close is safe on what was not opened or allocated).
int hy_faceapi_open(wfile *wf, const char *path, const char *kind, int size, double mean[3], double *divisor);
void hy_faceapi_close(wfile *wf, float **params, faceapi_buffers lane[2]);
// Reads input_size (must equal `size`), mean_rgb and input_divisor.
int hy_faceapi_read_config(const wfile *wf, int size, double mean[3], double *divisor);
// out (n, 3, S, S) = ((float)in (n, S, S, 3) - (float)mean[c]) / (float)divisor, in float32 as
// face-api's normalize(x, meanRgb).div(255) does; HY_EVALUE naming `what` for a non-finite value.
int hy_faceapi_normalize(float *out, const float *in, int n, int S, const double mean[3], double divisor,
                         const char *what);

#endif
