// ops.c - fast layer implementations (see include/nn/ops.h for shapes and conventions).
// Convolution is im2col + one cblas_sgemm per row tile; elementwise loops use OpenMP when
// built with it (one thread below HY_PAR_MIN_ELEMS elements), BLAS calls one thread below
// HY_PAR_MIN_WORK multiply-adds (threads.h). BLAS is never called from inside an OpenMP region.
#include "nn/ops.h"

#ifndef _OPENMP  // NO_OMP=1 builds: the loops run serially
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include <cblas.h>
#include <math.h>
#include <string.h>

#include "base/threads.h"  // HY_PAR_MIN_ELEMS, hy_blas_threads_begin

// --- dense ------------------------------------------------------------------------
void hy_dense(float *out, const float *in, const float *W, const float *b, int n, int in_dim, int out_dim) {
    // out[n][o] = sum_i in[n][i] * W[o][i]; one row is a matrix-vector product (sgemm would
    // first copy all of W into its packed layout)
    const int bt = hy_blas_threads_begin((double)n * in_dim * out_dim);
    if (n == 1) cblas_sgemv(CblasRowMajor, CblasNoTrans, out_dim, in_dim, 1.0f, W, in_dim, in, 1, 0.0f, out, 1);
    else cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, n, out_dim, in_dim, 1.0f, in, in_dim, W, in_dim, 0.0f,
                out, out_dim);
    hy_blas_threads_end(bt);
    if (b)
        for (int r = 0; r < n; r++)
            for (int o = 0; o < out_dim; o++) out[(size_t)r * out_dim + o] += b[o];
}

// --- conv2d -----------------------------------------------------------------------
int hy_conv2d_out_h(const conv_shape *s) { return (s->h + 2 * s->ph - s->kh) / s->sh + 1; }
int hy_conv2d_out_w(const conv_shape *s) { return (s->w + 2 * s->pw - s->kw) / s->sw + 1; }

static int is_pointwise(const conv_shape *s) {
    return s->kh == 1 && s->kw == 1 && s->sh == 1 && s->sw == 1 && s->ph == 0 && s->pw == 0;
}

// Output rows per im2col tile so that K * rows * wo stays under the scratch cap.
static int tile_rows(const conv_shape *s) {
    size_t K = (size_t)s->cin * s->kh * s->kw, wo = (size_t)hy_conv2d_out_w(s);
    size_t rows = CONV_SCRATCH_MAX_FLOATS / (K * wo);
    int ho = hy_conv2d_out_h(s);
    if (rows < 1) rows = 1;
    if (rows > (size_t)ho) rows = (size_t)ho;
    return (int)rows;
}

size_t hy_conv2d_scratch_floats(const conv_shape *s) {
    if (is_pointwise(s)) return 0;
    return (size_t)s->cin * s->kh * s->kw * (size_t)tile_rows(s) * hy_conv2d_out_w(s);
}

// col (K = cin*kh*kw, rows*wo) for output rows [y0, y0+rows) of one image.
static void im2col(float *col, const float *in, const conv_shape *s, int y0, int rows) {
    const int wo = hy_conv2d_out_w(s), ncol = rows * wo, K = s->cin * s->kh * s->kw;
#pragma omp parallel for schedule(static) if ((size_t)K * ncol >= HY_PAR_MIN_ELEMS)
    for (int k = 0; k < K; k++) {
        int c = k / (s->kh * s->kw), ky = (k / s->kw) % s->kh, kx = k % s->kw;
        const float *src = in + (size_t)c * s->h * s->w;
        float *dst = col + (size_t)k * ncol;
        for (int r = 0; r < rows; r++) {
            int iy = (y0 + r) * s->sh - s->ph + ky;
            float *d = dst + (size_t)r * wo;
            if (iy < 0 || iy >= s->h) {
                memset(d, 0, sizeof(float) * (size_t)wo);
                continue;
            }
            const float *srow = src + (size_t)iy * s->w;
            if (s->sw == 1) {
                // valid x range: 0 <= x - pw + kx < w
                int x_lo = s->pw - kx, x_hi = s->w + s->pw - kx;  // [x_lo, x_hi)
                if (x_lo < 0) x_lo = 0;
                if (x_hi > wo) x_hi = wo;
                if (x_hi < x_lo) x_hi = x_lo;
                for (int x = 0; x < x_lo; x++) d[x] = 0;
                if (x_hi > x_lo) memcpy(d + x_lo, srow + x_lo - s->pw + kx, sizeof(float) * (size_t)(x_hi - x_lo));
                for (int x = x_hi; x < wo; x++) d[x] = 0;
            } else {
                for (int x = 0; x < wo; x++) {
                    int ix = x * s->sw - s->pw + kx;
                    d[x] = (ix >= 0 && ix < s->w) ? srow[ix] : 0.0f;
                }
            }
        }
    }
}

void hy_conv2d(float *out, const float *in, const float *W, const float *b, int n, const conv_shape *s,
            float *scratch) {
    const int ho = hy_conv2d_out_h(s), wo = hy_conv2d_out_w(s), K = s->cin * s->kh * s->kw;
    const size_t in_img = (size_t)s->cin * s->h * s->w, out_img = (size_t)s->cout * ho * wo;
    for (int i = 0; i < n; i++) {
        const float *x = in + i * in_img;
        float *y = out + i * out_img;
        if (is_pointwise(s)) {
            const int bt = hy_blas_threads_begin((double)s->cout * ho * wo * K);
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, ho * wo, K, 1.0f, W, K, x, ho * wo,
                        0.0f, y, ho * wo);
            hy_blas_threads_end(bt);
        } else {
            int tr = tile_rows(s);
            for (int y0 = 0; y0 < ho; y0 += tr) {
                int rows = y0 + tr <= ho ? tr : ho - y0;
                im2col(scratch, x, s, y0, rows);
                const int bt = hy_blas_threads_begin((double)s->cout * rows * wo * K);
                cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, s->cout, rows * wo, K, 1.0f, W, K, scratch,
                            rows * wo, 0.0f, y + (size_t)y0 * wo, ho * wo);
                hy_blas_threads_end(bt);
            }
        }
        if (b) hy_add_bias(y, b, 1, s->cout, ho * wo);
    }
}

// --- elementwise ------------------------------------------------------------------
void hy_add_bias(float *x, const float *b, int n, int c, int hw) {
#pragma omp parallel for collapse(2) schedule(static) if ((size_t)n * c * hw >= HY_PAR_MIN_ELEMS)
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            float *p = x + ((size_t)i * c + ch) * hw;
            float v = b[ch];
            for (int k = 0; k < hw; k++) p[k] += v;
        }
}

void hy_leaky_relu(float *x, size_t len, float slope) {
#pragma omp parallel for schedule(static) if (len >= HY_PAR_MIN_ELEMS)
    for (size_t i = 0; i < len; i++) x[i] = x[i] > 0 ? x[i] : x[i] * slope;
}

void hy_relu(float *x, size_t len) {
#pragma omp parallel for schedule(static) if (len >= HY_PAR_MIN_ELEMS)
    for (size_t i = 0; i < len; i++) x[i] = x[i] > 0 ? x[i] : 0.0f;
}

void hy_prelu(float *x, const float *slope, int n, int c, int hw) {
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            float *p = x + ((size_t)i * c + ch) * hw, a = slope[ch];
            for (int k = 0; k < hw; k++) p[k] = p[k] > 0 ? p[k] : p[k] * a;
        }
}

// --- normalisation ----------------------------------------------------------------
void hy_pixel_norm(float *x, int n, int c, int hw, float eps) {
    for (int i = 0; i < n; i++) {
        float *img = x + (size_t)i * c * hw;
#pragma omp parallel for schedule(static) if ((size_t)c * hw >= HY_PAR_MIN_ELEMS)
        for (int p0 = 0; p0 < hw; p0 += 256) {
            int len = hw - p0 < 256 ? hw - p0 : 256;
            float acc[256];
            for (int k = 0; k < len; k++) acc[k] = 0;
            for (int ch = 0; ch < c; ch++) {
                const float *src = img + (size_t)ch * hw + p0;
                for (int k = 0; k < len; k++) acc[k] += src[k] * src[k];
            }
            for (int k = 0; k < len; k++) acc[k] = 1.0f / sqrtf(acc[k] / (float)c + eps);
            for (int ch = 0; ch < c; ch++) {
                float *dst = img + (size_t)ch * hw + p0;
                for (int k = 0; k < len; k++) dst[k] *= acc[k];
            }
        }
    }
}

void hy_batch_norm(float *x, const float *gamma, const float *beta, const float *mean, const float *var, int n, int c,
                int hw, float eps) {
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            float *p = x + ((size_t)i * c + ch) * hw;
            float s = (gamma ? gamma[ch] : 1.0f) / sqrtf(var[ch] + eps);
            float t = (beta ? beta[ch] : 0.0f) - mean[ch] * s;
            for (int k = 0; k < hw; k++) p[k] = p[k] * s + t;
        }
}

void hy_l2_normalize(float *x, int n, int d, float eps) {
    for (int i = 0; i < n; i++) {
        float *r = x + (size_t)i * d;
        double ss = 0;
        for (int k = 0; k < d; k++) ss += (double)r[k] * r[k];
        float nrm = (float)sqrt(ss);
        if (nrm < eps) nrm = eps;
        for (int k = 0; k < d; k++) r[k] /= nrm;
    }
}

void hy_softmax_channels(float *x, int n, int c, int hw) {
    for (int i = 0; i < n; i++) {
        float *img = x + (size_t)i * c * hw;
        for (int p = 0; p < hw; p++) {
            float mx = img[p];
            for (int ch = 1; ch < c; ch++) mx = fmaxf(mx, img[(size_t)ch * hw + p]);
            float sum = 0;
            for (int ch = 0; ch < c; ch++) sum += img[(size_t)ch * hw + p] = expf(img[(size_t)ch * hw + p] - mx);
            for (int ch = 0; ch < c; ch++) img[(size_t)ch * hw + p] /= sum;
        }
    }
}

// --- resampling / pooling ---------------------------------------------------------
void hy_upsample2x_nearest(float *out, const float *in, int n, int c, int h, int w) {
#pragma omp parallel for schedule(static) if ((size_t)n * c * h * w >= HY_PAR_MIN_ELEMS)
    for (long p = 0; p < (long)n * c; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * 4 * h * w;
        for (int y = 0; y < h; y++) {
            float *d0 = dst + (size_t)(2 * y) * 2 * w, *d1 = d0 + 2 * w;
            for (int x = 0; x < w; x++) d0[2 * x] = d0[2 * x + 1] = src[(size_t)y * w + x];
            memcpy(d1, d0, sizeof(float) * 2 * (size_t)w);
        }
    }
}

int hy_pool_out_size(int in, int k, int s, int ceil_mode) {
    if (in < k) return ceil_mode ? 1 : 0;
    int o = ceil_mode ? (in - k + s - 1) / s + 1 : (in - k) / s + 1;
    // torch: the last window must start inside the input
    if (ceil_mode && (o - 1) * s >= in) o--;
    return o;
}

void hy_max_pool2d(float *out, const float *in, int n, int c, int h, int w, int k, int s, int ceil_mode) {
    int ho = hy_pool_out_size(h, k, s, ceil_mode), wo = hy_pool_out_size(w, k, s, ceil_mode);
#pragma omp parallel for schedule(static) if ((size_t)n * c * h * w >= HY_PAR_MIN_ELEMS)
    for (long p = 0; p < (long)n * c; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * ho * wo;
        for (int y = 0; y < ho; y++)
            for (int x = 0; x < wo; x++) {
                float m = -INFINITY;
                for (int dy = 0; dy < k && y * s + dy < h; dy++)
                    for (int dx = 0; dx < k && x * s + dx < w; dx++) {
                        float v = src[(size_t)(y * s + dy) * w + x * s + dx];
                        if (v > m || isnan(v)) m = v;
                    }
                dst[(size_t)y * wo + x] = m;
            }
    }
}

void hy_global_avg_pool(float *out, const float *in, int n, int c, int hw) {
    for (long p = 0; p < (long)n * c; p++) {
        double s = 0;
        for (int k = 0; k < hw; k++) s += in[(size_t)p * hw + k];
        out[p] = (float)(s / hw);
    }
}

// --- structure --------------------------------------------------------------------
void hy_concat_channels(float *out, const float *const *parts, const int *cs, int nparts, int n, int hw) {
    int ctot = 0;
    for (int j = 0; j < nparts; j++) ctot += cs[j];
    for (int i = 0; i < n; i++) {
        float *dst = out + (size_t)i * ctot * hw;
        for (int j = 0; j < nparts; j++) {
            size_t len = (size_t)cs[j] * hw;
            memcpy(dst, parts[j] + (size_t)i * len, sizeof(float) * len);
            dst += len;
        }
    }
}

void hy_residual_add(float *x, const float *r, float scale, size_t len) {
#pragma omp parallel for schedule(static) if (len >= HY_PAR_MIN_ELEMS)
    for (size_t i = 0; i < len; i++) x[i] += scale * r[i];
}

// --- statistics -------------------------------------------------------------------
tensor_stats hy_stats_f32(const float *x, size_t len) {
    tensor_stats s = {INFINITY, -INFINITY, 0, 0, 0};
    double sum = 0, sq = 0;
    size_t cnt = 0;
    for (size_t i = 0; i < len; i++) {
        float v = x[i];
        if (!isfinite(v)) {
            s.nonfinite++;
            continue;
        }
        if (v < s.min) s.min = v;
        if (v > s.max) s.max = v;
        sum += v;
        sq += (double)v * v;
        cnt++;
    }
    if (cnt) {
        s.mean = sum / cnt;
        double var = sq / cnt - s.mean * s.mean;
        s.std = var > 0 ? sqrt(var) : 0;
    } else {
        s.min = s.max = NAN;
    }
    return s;
}

double hy_max_abs_diff(const float *a, const float *b, size_t len) {
    double m = 0;
    for (size_t i = 0; i < len; i++) {
        double d = fabs((double)a[i] - b[i]);
        if (d > m || isnan(d)) m = isnan(d) ? INFINITY : d;
    }
    return m;
}

double hy_nmse(const float *a, const float *b, size_t len) {
    double num = 0, den = 0;
    for (size_t i = 0; i < len; i++) {
        double d = (double)a[i] - b[i];
        num += d * d;
        den += (double)b[i] * b[i];
    }
    return den > 0 ? num / den : num;
}
