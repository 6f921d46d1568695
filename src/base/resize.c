// resize.c - Pillow-exact bilinear resize of RGB8, crop and standardisation (see resize.h).
//
// The arithmetic mirrors Pillow's libImaging/Resample.c (precompute_coeffs,
// normalize_coeffs_8bpc, ImagingResampleHorizontal/Vertical_8bpc): coefficients in double,
// 22-bit fixed point with rounding half away from zero, accumulators starting at 2^21,
// results clipped to 0..255, and a uint8 image between the two passes. Any deviation (float
// weights, one fused 2-D pass, no intermediate rounding) changes pixels.
#include "base/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"  // hy_err, hy_malloc

#define PRECISION_BITS 22  // 32 - 8 - 2, as Pillow

// --- coefficients ----------------------------------------------------------------------

static double triangle(double x) {
    if (x < 0.0) x = -x;
    return x < 1.0 ? 1.0 - x : 0.0;
}

// For each output index: bounds[2i] = first input index, bounds[2i+1] = count; kk (out, ksize)
// holds the fixed-point weights. Returns ksize, or -1 on allocation failure.
static int coeffs(int in_size, int out_size, int **bounds_out, int32_t **kk_out) {
    const double scale = (double)in_size / out_size;
    const double filterscale = scale < 1.0 ? 1.0 : scale;
    const double support = 1.0 * filterscale;  // triangle support 1
    const int ksize = (int)ceil(support) * 2 + 1;
    int *bounds = hy_malloc((size_t)out_size * 2 * sizeof(int));
    int32_t *kk = hy_malloc((size_t)out_size * ksize * sizeof(int32_t));
    double *k = hy_malloc((size_t)ksize * sizeof(double));
    if (!bounds || !kk || !k) {
        free(bounds);
        free(kk);
        free(k);
        return -1;
    }
    const double ss = 1.0 / filterscale;
    for (int xx = 0; xx < out_size; xx++) {
        const double center = (xx + 0.5) * scale;
        int xmin = (int)(center - support + 0.5);
        if (xmin < 0) xmin = 0;
        int xmax = (int)(center + support + 0.5);
        if (xmax > in_size) xmax = in_size;
        xmax -= xmin;
        double ww = 0.0;
        for (int x = 0; x < xmax; x++) {
            const double wgt = triangle((x + xmin - center + 0.5) * ss);
            k[x] = wgt;
            ww += wgt;
        }
        for (int x = 0; x < xmax; x++)
            if (ww != 0.0) k[x] /= ww;
        for (int x = 0; x < ksize; x++) {
            const double v = x < xmax ? k[x] : 0.0;
            kk[(size_t)xx * ksize + x] = v < 0 ? (int32_t)(-0.5 + v * (1 << PRECISION_BITS))
                                               : (int32_t)(0.5 + v * (1 << PRECISION_BITS));
        }
        bounds[2 * xx] = xmin;
        bounds[2 * xx + 1] = xmax;
    }
    free(k);
    *bounds_out = bounds;
    *kk_out = kk;
    return ksize;
}

static uint8_t clip8(int32_t v) {
    if (v >= (1 << PRECISION_BITS << 8)) return 255;
    if (v <= 0) return 0;
    return (uint8_t)(v >> PRECISION_BITS);
}

// --- resize ---------------------------------------------------------------------------------

int hy_resize_rgb8(uint8_t *out, int ow, int oh, const uint8_t *in, int w, int h) {
    if (w < 1 || h < 1 || ow < 1 || oh < 1 || w > 65536 || h > 65536 || ow > 65536 || oh > 65536)
        return hy_err(HY_EARG, "resize: bad size %dx%d -> %dx%d", w, h, ow, oh);
    int *bh = NULL, *bv = NULL;
    int32_t *kh = NULL, *kv = NULL;
    uint8_t *tmp = NULL;
    int rc = HY_OK;
    const int ksh = coeffs(w, ow, &bh, &kh);
    const int ksv = ksh < 0 ? -1 : coeffs(h, oh, &bv, &kv);
    if (ksh < 0 || ksv < 0 || !(tmp = hy_malloc((size_t)h * ow * 3))) {
        rc = hy_err(HY_ENOMEM, "resize: out of memory for %dx%d -> %dx%d", w, h, ow, oh);
        goto done;
    }
    // Horizontal pass: tmp (h, ow, 3). Pillow skips a pass whose size does not change; with
    // the triangle filter at scale 1 the pass is the identity, so running it is equivalent.
    for (int y = 0; y < h; y++) {
        const uint8_t *row = in + (size_t)y * w * 3;
        for (int xx = 0; xx < ow; xx++) {
            const int xmin = bh[2 * xx], xmax = bh[2 * xx + 1];
            const int32_t *k = kh + (size_t)xx * ksh;
            int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int x = 0; x < xmax; x++) {
                const uint8_t *p = row + (size_t)(x + xmin) * 3;
                s0 += p[0] * k[x];
                s1 += p[1] * k[x];
                s2 += p[2] * k[x];
            }
            uint8_t *o = tmp + ((size_t)y * ow + xx) * 3;
            o[0] = clip8(s0);
            o[1] = clip8(s1);
            o[2] = clip8(s2);
        }
    }
    // Vertical pass: out (oh, ow, 3).
    for (int yy = 0; yy < oh; yy++) {
        const int ymin = bv[2 * yy], ymax = bv[2 * yy + 1];
        const int32_t *k = kv + (size_t)yy * ksv;
        for (int xx = 0; xx < ow; xx++) {
            int32_t s0 = 1 << (PRECISION_BITS - 1), s1 = s0, s2 = s0;
            for (int y = 0; y < ymax; y++) {
                const uint8_t *p = tmp + ((size_t)(y + ymin) * ow + xx) * 3;
                s0 += p[0] * k[y];
                s1 += p[1] * k[y];
                s2 += p[2] * k[y];
            }
            uint8_t *o = out + ((size_t)yy * ow + xx) * 3;
            o[0] = clip8(s0);
            o[1] = clip8(s1);
            o[2] = clip8(s2);
        }
    }
done:
    free(bh);
    free(bv);
    free(kh);
    free(kv);
    free(tmp);
    return rc;
}

// --- crop and standardise -------------------------------------------------------------------

crop_box hy_crop_full(int w, int h) {
    crop_box b = {0, 0, w, h};
    return b;
}

int hy_crop_check(const crop_box *b, int w, int h, const char *what) {
    if (b->x1 < 0 || b->y1 < 0 || b->x2 > w || b->y2 > h || b->x1 >= b->x2 || b->y1 >= b->y2)
        return hy_err(HY_EARG, "%s: crop box %d,%d,%d,%d is empty or outside the %dx%d image", what, b->x1, b->y1,
                      b->x2, b->y2, w, h);
    return HY_OK;
}

void hy_crop_rgb8(uint8_t *out, const uint8_t *in, int w, const crop_box *b) {
    const size_t cw = (size_t)(b->x2 - b->x1) * 3;
    for (int y = b->y1; y < b->y2; y++, out += cw) memcpy(out, in + ((size_t)y * w + b->x1) * 3, cw);
}

void hy_standardize_rgb8(float *chw, const uint8_t *rgb, int w, int h) {
    const size_t hw = (size_t)w * h;
    for (size_t i = 0; i < hw; i++)
        for (int c = 0; c < 3; c++) chw[c * hw + i] = ((float)rgb[3 * i + c] - 127.5f) / 128.0f;  // exact in f32
}

int hy_face_preprocess(float *chw, uint8_t *rgb_out, int size, const uint8_t *rgb, int w, int h, const crop_box *b) {
    int rc = hy_crop_check(b, w, h, "face_preprocess");
    if (rc) return rc;
    const int cw = b->x2 - b->x1, ch = b->y2 - b->y1;
    uint8_t *crop = hy_malloc((size_t)cw * ch * 3);
    uint8_t *res = rgb_out ? rgb_out : hy_malloc((size_t)size * size * 3);
    if (!crop || !res) {
        free(crop);
        if (!rgb_out) free(res);
        return hy_err(HY_ENOMEM, "face_preprocess: out of memory for a %dx%d crop", cw, ch);
    }
    hy_crop_rgb8(crop, rgb, w, b);
    rc = hy_resize_rgb8(res, size, size, crop, cw, ch);
    if (!rc) hy_standardize_rgb8(chw, res, size, size);
    free(crop);
    if (!rgb_out) free(res);
    return rc;
}
