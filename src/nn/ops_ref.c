// ops_ref.c - naive reference twins of the fast ops, written as plain loops straight from
// the definitions; the unit tests check the fast versions against these.
#include "nn/ops.h"

void hy_dense_ref(float *out, const float *in, const float *W, const float *b, int n, int in_dim, int out_dim) {
    for (int r = 0; r < n; r++)
        for (int o = 0; o < out_dim; o++) {
            double acc = b ? b[o] : 0.0;
            for (int i = 0; i < in_dim; i++) acc += (double)in[(size_t)r * in_dim + i] * W[(size_t)o * in_dim + i];
            out[(size_t)r * out_dim + o] = (float)acc;
        }
}

void hy_conv2d_ref(float *out, const float *in, const float *W, const float *b, int n, const conv_shape *s) {
    int ho = hy_conv2d_out_h(s), wo = hy_conv2d_out_w(s);
    for (int i = 0; i < n; i++)
        for (int co = 0; co < s->cout; co++)
            for (int y = 0; y < ho; y++)
                for (int x = 0; x < wo; x++) {
                    double acc = b ? b[co] : 0.0;
                    for (int ci = 0; ci < s->cin; ci++)
                        for (int ky = 0; ky < s->kh; ky++)
                            for (int kx = 0; kx < s->kw; kx++) {
                                int iy = y * s->sh - s->ph + ky, ix = x * s->sw - s->pw + kx;
                                if (iy < 0 || iy >= s->h || ix < 0 || ix >= s->w) continue;
                                acc += (double)in[(((size_t)i * s->cin + ci) * s->h + iy) * s->w + ix] *
                                       W[(((size_t)co * s->cin + ci) * s->kh + ky) * s->kw + kx];
                            }
                    out[(((size_t)i * s->cout + co) * ho + y) * wo + x] = (float)acc;
                }
}
