// ops.h - neural-network layers as plain functions.
//
// Conventions: tensors are float32, NCHW, C order. Arguments are ordered output, inputs,
// weights, sizes. Inputs are const; no function allocates except where it says so
// (scratch is passed in). Each op names the PyTorch op it mirrors. src/nn/ops.c holds the
// fast versions, src/nn/ops_ref.c the naive reference twins used by the unit tests.
#ifndef HY_OPS_H
#define HY_OPS_H

#include <stddef.h>

// --- dense ------------------------------------------------------------------------
// out (n, out_dim) = in (n, in_dim) @ W^T (W: out_dim x in_dim) + b (out_dim, may be NULL)
// mirrors torch.nn.functional.linear
void hy_dense(float *out, const float *in, const float *W, const float *b, int n, int in_dim, int out_dim);
void hy_dense_ref(float *out, const float *in, const float *W, const float *b, int n, int in_dim, int out_dim);

// --- conv2d -----------------------------------------------------------------------
// out (n, cout, ho, wo) = hy_conv2d(in (n, cin, h, w), W (cout, cin, kh, kw), b (cout) or NULL,
//                                stride (sh, sw), zero padding (ph, pw))
// ho = (h + 2 ph - kh) / sh + 1 (floor), wo likewise. mirrors torch.nn.functional.conv2d
typedef struct {
    int cin, h, w;     // input
    int cout, kh, kw;  // weights
    int sh, sw, ph, pw;
} conv_shape;

int hy_conv2d_out_h(const conv_shape *s);
int hy_conv2d_out_w(const conv_shape *s);
// Scratch floats conv2d needs (bounded: the im2col buffer is tiled over output rows so
// it never exceeds CONV_SCRATCH_MAX_FLOATS, except for one row when a single row is larger).
#define CONV_SCRATCH_MAX_FLOATS ((size_t)4 << 20)
size_t hy_conv2d_scratch_floats(const conv_shape *s);
// Fast path: im2col + cblas_sgemm (1x1 stride-1 unpadded convs skip im2col).
void hy_conv2d(float *out, const float *in, const float *W, const float *b, int n, const conv_shape *s,
            float *scratch);
void hy_conv2d_ref(float *out, const float *in, const float *W, const float *b, int n, const conv_shape *s);

// --- elementwise ------------------------------------------------------------------
// x (n, c, hw) += b[c]
void hy_add_bias(float *x, const float *b, int n, int c, int hw);
// x = max(x, slope*x) in place  (torch leaky_relu, slope < 1)
void hy_leaky_relu(float *x, size_t len, float slope);
void hy_relu(float *x, size_t len);
// PReLU with one slope per channel: x (n, c, hw)
void hy_prelu(float *x, const float *slope, int n, int c, int hw);

// --- normalisation ----------------------------------------------------------------
// PGGAN pixel norm over channels, in place: x (n, c, hw);
// x = x / sqrt(mean_c(x^2) + eps)
void hy_pixel_norm(float *x, int n, int c, int hw, float eps);
// Inference batch norm, in place: x (n, c, hw); x = (x - mean) / sqrt(var + eps) * gamma + beta
void hy_batch_norm(float *x, const float *gamma, const float *beta, const float *mean, const float *var,
                int n, int c, int hw, float eps);
// Rows of x (n, d) divided by max(||row||_2, eps)   (torch F.normalize)
void hy_l2_normalize(float *x, int n, int d, float eps);
// Softmax over channels for every pixel: x (n, c, hw), in place.
void hy_softmax_channels(float *x, int n, int c, int hw);

// --- resampling / pooling ---------------------------------------------------------
// out (n, c, 2h, 2w) = nearest 2x upsample of in (n, c, h, w)
void hy_upsample2x_nearest(float *out, const float *in, int n, int c, int h, int w);
// Max pool k x k, stride s, no padding; ceil_mode selects ceil for the output size (windows
// that start inside the input are clipped), as torch hy_max_pool2d(ceil_mode=...).
int hy_pool_out_size(int in, int k, int s, int ceil_mode);
void hy_max_pool2d(float *out, const float *in, int n, int c, int h, int w, int k, int s, int ceil_mode);
// out (n, c) = mean over h*w of in (n, c, h, w)
void hy_global_avg_pool(float *out, const float *in, int n, int c, int hw);

// --- structure --------------------------------------------------------------------
// out (n, sum(c_i), hw) = concat over channels of parts[i] (n, c_i, hw)
void hy_concat_channels(float *out, const float *const *parts, const int *cs, int nparts, int n, int hw);
// x = x + scale * r  (residual add), elementwise over len
void hy_residual_add(float *x, const float *r, float scale, size_t len);

// --- statistics (for --trace and tests) --------------------------------------------
typedef struct {
    double min, max, mean, std;
    long nonfinite;
} tensor_stats;
tensor_stats hy_stats_f32(const float *x, size_t len);
// max |a-b| and normalised MSE sum((a-b)^2)/sum(b^2)
double hy_max_abs_diff(const float *a, const float *b, size_t len);
double hy_nmse(const float *a, const float *b, size_t len);

#endif
