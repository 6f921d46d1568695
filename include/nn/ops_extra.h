// ops_extra.h - the layers face-api's TensorFlow.js networks need beyond ops.h: depthwise conv,
// explicit (asymmetric) zero padding, max pooling with explicit padding, average pooling, a
// per-channel affine, and tfjs' bilinear resize. Same conventions as ops.h: float32, NCHW, C
// order, output first, then inputs, weights, sizes; nothing allocates. They are plain loops
// (each is its own naive twin); tests/test_faceapi.c checks them on hand-made cases and,
// through the networks, against the numpy reference.
#ifndef HY_OPS_EXTRA_H
#define HY_OPS_EXTRA_H

// TF's "same" padding for one axis: output size ceil(in / s) and the zero padding before and
// after it (the odd one goes after): total = max((out - 1) s + k - in, 0), before = total / 2.
void hy_tf_same_pad(int in, int k, int s, int *out, int *before, int *after);

// out (n, c, h + top + bottom, w + left + right) = in (n, c, h, w) with zeros around it (tf.pad).
void hy_pad2d(float *out, const float *in, int n, int c, int h, int w, int top, int bottom, int left, int right);

// Depthwise conv, one k x k filter per channel, stride 1, zero padding (ph, pw) on both sides:
// out (n, c, h + 2ph - kh + 1, w + 2pw - kw + 1) = in (n, c, h, w) * W (c, 1, kh, kw) + b (c) or NULL.
// Mirrors torch conv2d(groups=c) / the depthwise half of tf.separableConv2d.
void hy_depthwise_conv2d(float *out, const float *in, const float *W, const float *b, int n, int c, int h, int w,
                         int kh, int kw, int ph, int pw);

// Max pool k x k, stride s, over in (n, c, h, w) padded by `top`/`left` (and as much as needed
// after): out (n, c, ho, wo); padded positions never win (tf.maxPool pads with -inf). With
// top = left = 0 and ho = (h - k) / s + 1 this is 'valid' pooling.
void hy_max_pool2d_pad(float *out, const float *in, int n, int c, int h, int w, int k, int s, int top, int left,
                       int ho, int wo);

// Average pool k x k, stride s, no padding ('valid', floor): out (n, c, (h-k)/s+1, (w-k)/s+1).
void hy_avg_pool2d(float *out, const float *in, int n, int c, int h, int w, int k, int s);

// x (n, c, hw) = x * scale[c] + shift[c], in place (face-api's scale layer: tf.add(tf.mul(x, w), b)).
void hy_channel_affine(float *x, const float *scale, const float *shift, int n, int c, int hw);

// out (oh, ow, ch) = tf.image.resizeBilinear(in (h, w, ch), [oh, ow], alignCorners=false,
// halfPixelCenters=false), as tfjs-backend-cpu computes it: source coordinate = (in/out) * dst,
// floor and ceil neighbours clamped to the image, columns interpolated first, in double,
// stored as float32. Interleaved (HWC) like a TF image tensor.
void hy_resize_bilinear_tf(float *out, int oh, int ow, const float *in, int h, int w, int ch);

#endif
