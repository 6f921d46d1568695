// winograd.h - 3x3 convolutions by Winograd's minimal filtering, on channel-major batches
// (C, N, H, W) as FaceNet keeps them: stride 1 by F(2x2, 3x3) (Lavin & Gray 2016), stride 2
// (pad 0) by its polyphase form: along each axis the even inputs meet the taps g0, g2 through
// F(2, 2) and the odd ones meet g1 directly, 25 multiplications per 2x2 outputs instead of 36
// (src/nn/winograd.c has the matrices). What follows describes stride 1; stride 2 works alike
// with 5x5 transformed tiles and only additions in its transforms.
//
// Each 2x2 block of outputs ("tile") of a channel pair costs 16 multiplications instead of 36:
// the input's 4x4 tiles and the 3x3 kernels are transformed (V = B'dB, U = GgG'), the 16
// transformed positions are 16 independent products M = U V (cout x cin times cin x tiles, on
// the packed GEMM of nn/sgemm.h), and each output tile is A'MA, plus bias and optional ReLU.
// Only additions and halvings are in the transforms, so the result differs from the direct
// sum by float32 rounding of a few more terms (tests/test_winograd.c: within 1e-5 of the
// output's largest magnitude against hy_conv2d_ref; measured <= 6e-7).
//
// U is computed in float64 and packed once (16 x cout x cin floats: 16/9 of the 3x3 weights).
#ifndef HY_WINOGRAD_H
#define HY_WINOGRAD_H
#include <stddef.h>

#include "nn/sgemm.h"

#define HY_WINO_MAX_PRODUCTS 25

typedef struct {
    int cin, cout, pad;  // pad 0 or 1 (both axes; stride 2: 0)
    int stride;          // 1: F(2x2, 3x3); 2: the polyphase form (25 products per 2x2 outputs)
    int np;              // products per tile: 16 or 25
    float *u;            // (np, cout, cin), the transformed kernels
    int u_in_arena;      // u lives in the arena given to hy_wino_init (not freed here)
    hy_sgemm_a ga[HY_WINO_MAX_PRODUCTS];  // u's np matrices packed for the kernel
} hy_wino;

// w (cout, cin, 3, 3) -> wg, its arrays taken from arena ar while it has room (ar may be NULL).
// Returns HY_OK, HY_EARG (stride not 1/2, pad not 0/1 at stride 1 or not 0 at stride 2, sizes < 1)
// or HY_ENOMEM.
int hy_wino_init(hy_wino *wg, const float *w, int cout, int cin, int pad, int stride, hy_arena *ar);
// 1 when the Winograd form is worth its transforms on an h x w input: always at stride 1; at
// stride 2 (pad 0) from 64 tiles (2x2 outputs) per image (see winograd.c).
int hy_wino_pays(int stride, int h, int w);
void hy_wino_free(hy_wino *wg);
// Scratch (floats) for hy_wino_conv on images of width w (any count of images and rows).
size_t hy_wino_scratch_floats(const hy_wino *wg, int w);
// out (cout, n, ho, wo) with row stride ldo (>= n*ho*wo) = conv(in (cin, n, h, w)) + bias, then
// max(x, 0) with relu; ho = h + 2 pad - 2 (stride 1) or (h - 3) / 2 + 1 (stride 2), wo likewise
// (both >= 1). bias may be NULL.
void hy_wino_conv(float *out, size_t ldo, const float *in, const hy_wino *wg, int n, int h, int w, const float *bias,
                  int relu, float *scratch);
// 1 when hy_wino_conv would run on the packed products (an own GEMM kernel packed them at init
// and is still the current ISA's): without them Winograd is slower than im2col + BLAS.
int hy_wino_fast(const hy_wino *wg);

#endif
