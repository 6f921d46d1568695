// conv3x3.h - direct 3x3 convolutions for the PGGAN generator (CHW float32, stride 1, zero
// padding 1, one image), with an optional fused epilogue (bias, leaky ReLU, pixel norm,
// 1x1 toRGB). Used by src/models/pggan.c for every 3x3 conv: im2col + sgemm is slow on the large
// scales (skinny GEMMs, Cout 16..128), and the separate elementwise passes cost memory
// traffic. tests/test_conv3x3.c checks it against hy_conv2d_ref (src/nn/ops_ref.c).
//
// Two kinds of layer:
//   up = 0: out (cout, h, w)   = conv3x3(in (cin, h, w))
//   up = 1: out (cout, 2h, 2w) = conv3x3(hy_upsample2x_nearest(in (cin, h, w)))
//           computed without the upsampled tensor: each output parity (py, px) is a 2x2
//           conv on the small input whose weights are sums of the 3x3 taps that read the
//           same source pixel ("folded" weights, 4 x 4 taps instead of 9; exact up to the
//           rounding of the summed weights).
// Weights are repacked once (c3_pack) into the kernels' layout, the same for every ISA. The
// kernels need AVX-512F (src/nn/conv3x3_avx512.c) or AVX2+FMA (conv3x3_avx2.c) and are picked
// at run time by hy_isa() (include/nn/cpu.h; the functions carry target attributes, the build
// needs no -march flag); the two give bit-identical results. Where hy_c3_supported() says no
// (generic ISA, HY_CONV3X3=0, unsupported shape), callers use hy_conv2d (im2col + sgemm).
// Threads: OpenMP over output rows; no BLAS call is made.
#ifndef HY_CONV3X3_H
#define HY_CONV3X3_H

#include <stddef.h>

// 1 when the current ISA has direct-conv kernels (AVX-512 or AVX2) and HY_CONV3X3 is not "0" in
// the environment (a switch to compare against the generic path).
int hy_c3_available(void);
// Whether c3_conv handles this layer: hy_c3_available(), 1 <= w <= 4096 (source width for
// up = 1), cout a multiple of 8, cin >= 1.
int hy_c3_supported(int cin, int cout, int h, int w, int up);

// Floats of the packed weights, and the packing of W (cout, cin, 3, 3) (torch layout).
size_t hy_c3_packed_floats(int cin, int cout, int up);
void hy_c3_pack(float *dst, const float *W, int cin, int cout, int up);

typedef struct {
    int lrelu;            // apply x > 0 ? x : slope * x after the bias
    float slope;
    int pn;               // then pixel norm over channels: x / sqrt(mean_c x^2 + eps)
    float eps;
    // then, when rgb_out is set, a 1x1 conv to 3 channels: rgb_out (3, H, W) = rgb_w (3, cout) x + rgb_b
    const float *rgb_w, *rgb_b;
    float *rgb_out;
} c3_epilogue;

// out = conv + bias (b may be NULL), then the epilogue (ep may be NULL: bias only).
// out must not overlap in. Precondition: hy_c3_supported(cin, cout, h, w, up) (with the ISA
// current now: these functions have no generic fallback).
void hy_c3_conv(float *out, const float *in, const float *packed, const float *b, int cin, int cout, int h, int w,
             int up, const c3_epilogue *ep);
// The same with explicit channel strides (floats from one channel plane to the next; rows
// are dense): in is (cin planes istride apart, h, w), out (cout planes ostride apart, H, W).
// Power-of-two plane sizes put the same pixel of every channel in the same cache set, so
// the generator pads its planes (C3_PLANE_PAD) when nothing outside reads them.
#define C3_PLANE_PAD 32
void hy_c3_conv_strided(float *out, size_t ostride, const float *in, size_t istride, const float *packed,
                     const float *b, int cin, int cout, int h, int w, int up, const c3_epilogue *ep);

// The last generator stage fused, without storing its activations: for bands of output rows,
// conv0 (upsample folded, cin -> cmid) + bias -> epilogue (LReLU, PN) into a per-thread
// ring of 3 rows, then conv1 (cmid -> cmid) + bias -> epilogue (LReLU, PN, toRGB into
// ep->rgb_out (3, 2h, 2w), which must be set). Memory: 4 rows of cmid x 2w floats per
// thread instead of two (cmid, 2h, 2w) tensors. Same results as the two c3_conv calls
// (identical arithmetic). in: cin planes istride floats apart. Returns 0, or -1 when a
// thread's row buffer cannot be allocated.
int hy_c3_stage_rgb(const float *in, size_t istride, int cin, int cmid, int h, int w, const float *pk0, const float *b0,
                 const float *pk1, const float *b1, const c3_epilogue *ep);

#endif
