// winograd7.h - 1x7 and 7x1 stride-1 convolutions with "same" padding (FaceNet's Block17: pad 3
// along the kernel's axis, 0 across it) by Winograd's minimal filtering F(2, 7), on channel-major
// batches (C, N, H, W) as FaceNet keeps them.
//
// Each pair of outputs along the kernel's axis ("tile") of a channel pair costs 8 multiplications
// instead of 14: the tile's 8 inputs and the 7-tap kernel are transformed (V = B'd, U = Gg), the
// 8 transformed positions are 8 independent products M = U V (cout x cin times cin x tiles, on
// the packed GEMM of nn/sgemm.h), and each tile's outputs are A'M, plus bias and optional ReLU.
// Interpolation points 0, +-1, +-2, +-1/2 and infinity (the 1-D point set of F(6x6, 3x3)): the
// transforms scale terms by up to 21/4, so the result differs from the direct sum by a few more
// float32 roundings than F(2x2, 3x3) (tests/test_winograd.c: within 1e-5 of the output's largest
// magnitude against hy_conv2d_ref; a numpy check of 128-channel sums gave 7.6e-7 against 1.1e-7
// for the direct float32 sum).
//
// U is computed in float64 and packed once (8 x cout x cin floats: 8/7 of the weights).
#ifndef HY_WINOGRAD7_H
#define HY_WINOGRAD7_H
#include <stddef.h>

#include "nn/sgemm.h"

typedef struct {
    int cin, cout;
    int vertical;       // 1: a 7x1 kernel (along H, pad 3 rows); 0: 1x7 (along W, pad 3 columns)
    float *u;           // (8, cout, cin), the transformed kernels
    int u_in_arena;     // u lives in the arena given to hy_wino7_init (not freed here)
    hy_sgemm_a ga[8];   // u's 8 matrices packed for the kernel
} hy_wino7;

// w (cout, cin, 7) (a [cout, cin, 1, 7] or [cout, cin, 7, 1] tensor) -> wg, its arrays taken from
// arena ar while it has room (ar may be NULL). Returns HY_OK, HY_EARG (sizes < 1) or HY_ENOMEM.
int hy_wino7_init(hy_wino7 *wg, const float *w, int cout, int cin, int vertical, hy_arena *ar);
void hy_wino7_free(hy_wino7 *wg);
// Scratch (floats) for hy_wino7_conv on images of h x w (any count of images).
size_t hy_wino7_scratch_floats(const hy_wino7 *wg, int h, int w);
// out (cout, n, h, w) with row stride ldo (>= n*h*w) = conv(in (cin, n, h, w)) + bias, then
// max(x, 0) with relu (the output has the input's size). bias may be NULL.
void hy_wino7_conv(float *out, size_t ldo, const float *in, const hy_wino7 *wg, int n, int h, int w,
                   const float *bias, int relu, float *scratch);
// 1 when hy_wino7_conv would run on the packed products (an own GEMM kernel packed them at init
// and is still the current ISA's).
int hy_wino7_fast(const hy_wino7 *wg);

#endif
