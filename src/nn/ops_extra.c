// ops_extra.c - plain-loop layers for face-api's networks (see include/nn/ops_extra.h).
// They run on small activations (at most 72x72 per channel in these networks), so clarity wins
// over speed here; the convolutions that dominate the cost go through ops.c's hy_conv2d.
#include "nn/ops_extra.h"

#include <math.h>
#include <string.h>

void hy_tf_same_pad(int in, int k, int s, int *out, int *before, int *after) {
    int o = (in + s - 1) / s;
    int total = (o - 1) * s + k - in;
    if (total < 0) total = 0;
    *out = o;
    *before = total / 2;
    *after = total - total / 2;
}

void hy_pad2d(float *out, const float *in, int n, int c, int h, int w, int top, int bottom, int left, int right) {
    const int ho = h + top + bottom, wo = w + left + right;
    memset(out, 0, sizeof(float) * (size_t)n * c * ho * wo);
    for (size_t p = 0; p < (size_t)n * c; p++)
        for (int y = 0; y < h; y++)
            memcpy(out + (p * ho + y + top) * wo + left, in + (p * h + y) * w, sizeof(float) * (size_t)w);
}

void hy_depthwise_conv2d(float *out, const float *in, const float *W, const float *b, int n, int c, int h, int w,
                         int kh, int kw, int ph, int pw) {
    const int ho = h + 2 * ph - kh + 1, wo = w + 2 * pw - kw + 1;
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            const float *x = in + ((size_t)i * c + ch) * h * w;
            const float *k = W + (size_t)ch * kh * kw;
            float *y = out + ((size_t)i * c + ch) * ho * wo;
            for (int oy = 0; oy < ho; oy++)
                for (int ox = 0; ox < wo; ox++) {
                    float acc = 0.0f;
                    for (int ky = 0; ky < kh; ky++) {
                        int iy = oy - ph + ky;
                        if (iy < 0 || iy >= h) continue;
                        for (int kx = 0; kx < kw; kx++) {
                            int ix = ox - pw + kx;
                            if (ix >= 0 && ix < w) acc += x[iy * w + ix] * k[ky * kw + kx];
                        }
                    }
                    y[oy * wo + ox] = acc + (b ? b[ch] : 0.0f);
                }
        }
}

void hy_max_pool2d_pad(float *out, const float *in, int n, int c, int h, int w, int k, int s, int top, int left,
                       int ho, int wo) {
    for (size_t p = 0; p < (size_t)n * c; p++) {
        const float *x = in + p * h * w;
        float *y = out + p * ho * wo;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float m = -INFINITY;
                for (int ky = 0; ky < k; ky++) {
                    int iy = oy * s - top + ky;
                    if (iy < 0 || iy >= h) continue;
                    for (int kx = 0; kx < k; kx++) {
                        int ix = ox * s - left + kx;
                        if (ix >= 0 && ix < w && x[iy * w + ix] > m) m = x[iy * w + ix];
                    }
                }
                y[oy * wo + ox] = m;
            }
    }
}

void hy_avg_pool2d(float *out, const float *in, int n, int c, int h, int w, int k, int s) {
    const int ho = (h - k) / s + 1, wo = (w - k) / s + 1;
    const float inv = 1.0f / (float)(k * k);
    for (size_t p = 0; p < (size_t)n * c; p++) {
        const float *x = in + p * h * w;
        float *y = out + p * ho * wo;
        for (int oy = 0; oy < ho; oy++)
            for (int ox = 0; ox < wo; ox++) {
                float acc = 0.0f;
                for (int ky = 0; ky < k; ky++)
                    for (int kx = 0; kx < k; kx++) acc += x[(oy * s + ky) * w + ox * s + kx];
                y[oy * wo + ox] = acc * inv;
            }
    }
}

void hy_channel_affine(float *x, const float *scale, const float *shift, int n, int c, int hw) {
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            float *p = x + ((size_t)i * c + ch) * hw;
            for (int k = 0; k < hw; k++) p[k] = p[k] * scale[ch] + shift[ch];
        }
}

void hy_resize_bilinear_tf(float *out, int oh, int ow, const float *in, int h, int w, int ch) {
    const double rr = (double)h / oh, cr = (double)w / ow;
    for (int r = 0; r < oh; r++) {
        double fr = rr * r;
        int r0 = (int)floor(fr), r1 = (int)ceil(fr);
        if (r0 < 0) r0 = 0;
        if (r1 > h - 1) r1 = h - 1;
        double dr = fr - r0;
        for (int c = 0; c < ow; c++) {
            double fc = cr * c;
            int c0 = (int)floor(fc), c1 = (int)ceil(fc);
            if (c0 < 0) c0 = 0;
            if (c1 > w - 1) c1 = w - 1;
            double dc = fc - c0;
            const float *tl = in + ((size_t)r0 * w + c0) * ch, *tr = in + ((size_t)r0 * w + c1) * ch;
            const float *bl = in + ((size_t)r1 * w + c0) * ch, *br = in + ((size_t)r1 * w + c1) * ch;
            float *o = out + ((size_t)r * ow + c) * ch;
            for (int d = 0; d < ch; d++) {
                double top = tl[d] + (tr[d] - (double)tl[d]) * dc;
                double bot = bl[d] + (br[d] - (double)bl[d]) * dc;
                o[d] = (float)(top + (bot - top) * dr);
            }
        }
    }
}
