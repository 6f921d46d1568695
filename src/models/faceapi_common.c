// faceapi_common.c - what face-api's two networks share (include/models/faceapi.h): taking
// (and dequantising) tensors out of the weight file, the config, input normalisation, and
// face-api's preprocessing and crop rectangles.
#include "models/faceapi.h"

#include <cblas.h>  // openblas_set_num_threads
#include <math.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"  // hy_err, hy_malloc, hy_prod_dims
#include "nn/ops_extra.h" // hy_resize_bilinear_tf
#ifdef _OPENMP
#include <omp.h>
#endif

// --- loading ----------------------------------------------------------------------------------

int hy_faceapi_loader_init(faceapi_loader *L, const wfile *wf, float **params) {
    memset(L, 0, sizeof *L);
    *params = NULL;
    L->wf = wf;
    size_t total = 0;
    for (uint32_t i = 0; i < wf->n_tensors; i++)
        if (wf->tensors[i].dtype == WF_U8) total += wf->tensors[i].nbytes;  // one float per byte
    L->arena = hy_malloc(sizeof(float) * (total + 1));
    if (!L->arena) {
        memset(L, 0, sizeof *L);
        return hy_err(HY_ENOMEM, "%s: cannot allocate the dequantised weights", wf->path);
    }
    L->cap = total;
    *params = L->arena;
    return HY_OK;
}

// The weight file's own record of used tensors (hy_wf_check_all_used reads it; hy_wf_get_f32 sets
// it for f32 tensors, this for the u8 ones and their .quant, which it does not return).
static void mark(faceapi_loader *L, const wf_tensor *t) { L->wf->fetched[t - L->wf->tensors] = 1; }

static int check_shape(const faceapi_loader *L, const wf_tensor *t, int ndim, int64_t *dims) {
    int same = t->ndim == ndim;
    for (int d = 0; same && d < ndim; d++) same = dims[d] < 0 || t->dims[d] == dims[d];
    if (same) {
        for (int d = 0; d < ndim; d++) dims[d] = t->dims[d];
        return HY_OK;
    }
    char want[160] = "(", got[160] = "(";
    for (int d = 0; d < ndim; d++) {
        size_t k = strlen(want);
        if (dims[d] < 0) snprintf(want + k, sizeof want - k, "%s*", d ? "," : "");
        else snprintf(want + k, sizeof want - k, "%s%lld", d ? "," : "", (long long)dims[d]);
    }
    for (int d = 0; d < t->ndim; d++) {
        size_t k = strlen(got);
        snprintf(got + k, sizeof got - k, "%s%lld", d ? "," : "", (long long)t->dims[d]);
    }
    strcat(want, ")");
    strcat(got, ")");
    return hy_err(HY_ESHAPE, "%s: tensor '%s' has shape %s, expected %s", L->wf->path, t->name, got, want);
}

int hy_faceapi_get(faceapi_loader *L, const char *name, int ndim, int64_t *dims, const float **out) {
    const wfile *wf = L->wf;
    *out = NULL;
    const wf_tensor *t = hy_wf_find(wf, name);
    if (!t) return hy_err(HY_EFORMAT, "%s: tensor '%s' is missing", wf->path, name);
    int rc = check_shape(L, t, ndim, dims);
    if (rc) return rc;
    if (t->dtype == WF_F32) return hy_wf_get_f32(wf, name, ndim, dims, out);  // finite, marked used
    mark(L, t);
    if (t->dtype != WF_U8)
        return hy_err(HY_EFORMAT, "%s: tensor '%s' is %s, expected f32 or u8 (quantised)", wf->path, name,
                      hy_wf_dtype_name(t->dtype));
    char qname[300];
    snprintf(qname, sizeof qname, "%s.quant", name);
    const wf_tensor *q = hy_wf_find(wf, qname);
    if (!q) return hy_err(HY_EFORMAT, "%s: tensor '%s' is quantised (u8) but '%s' is missing", wf->path, name, qname);
    if (q->dtype != WF_F64 || q->ndim != 1 || q->dims[0] != 2)
        return hy_err(HY_EFORMAT, "%s: tensor '%s' must be f64 (2): [scale, min]", wf->path, qname);
    mark(L, q);
    double sm[2];
    memcpy(sm, q->data, sizeof sm);
    // the values are linear in the byte: finite at 0 and 255 in float means finite everywhere
    if (!isfinite(sm[0]) || !isfinite(sm[1]) || !isfinite((float)sm[1]) || !isfinite((float)(255.0 * sm[0] + sm[1])))
        return hy_err(HY_EVALUE, "%s: tensor '%s' holds a scale or min that is non-finite or overflows float", wf->path, qname);
    size_t n = t->nbytes;
    if (L->used + n > L->cap) return hy_err(HY_EFORMAT, "%s: tensor '%s' taken twice", wf->path, name);
    float *dst = L->arena + L->used;
    const uint8_t *src = t->data;
    for (size_t i = 0; i < n; i++) dst[i] = (float)((double)src[i] * sm[0] + sm[1]);  // tfjs decodeWeight
    L->used += n;
    *out = dst;
    return HY_OK;
}

int hy_faceapi_loader_finish(faceapi_loader *L, int rc) {
    return rc ? rc : hy_wf_check_all_used(L->wf, "the network");
}

int hy_faceapi_read_config(const wfile *wf, int size, double mean[3], double *divisor) {
    int64_t s;
    const double *m;
    uint32_t nm;
    int rc;
    if ((rc = hy_wf_cfg_int(wf, "input_size", &s))) return rc;
    if (s != size) return hy_err(HY_EFORMAT, "%s: config input_size %lld, expected %d", wf->path, (long long)s, size);
    if ((rc = hy_wf_cfg_floats(wf, "mean_rgb", &m, &nm))) return rc;
    if (nm != 3 || !isfinite(m[0]) || !isfinite(m[1]) || !isfinite(m[2]))
        return hy_err(HY_EFORMAT, "%s: config mean_rgb needs 3 finite values", wf->path);
    if ((rc = hy_wf_cfg_float(wf, "input_divisor", divisor))) return rc;
    if (!(*divisor > 0) || !isfinite(*divisor))
        return hy_err(HY_EFORMAT, "%s: config input_divisor must be a positive number", wf->path);
    memcpy(mean, m, 3 * sizeof(double));
    return HY_OK;
}

int hy_faceapi_open(wfile *wf, const char *path, const char *kind, int size, double mean[3], double *divisor) {
    int rc = hy_wf_open(wf, path);
    if (!rc) rc = hy_wf_expect_kind(wf, kind);
    if (!rc) rc = hy_faceapi_read_config(wf, size, mean, divisor);
    return rc;
}

void hy_faceapi_close(wfile *wf, float **params, faceapi_buffers lane[2]) {
    hy_faceapi_free_lanes(lane);
    free(*params);
    *params = NULL;
    hy_wf_close(wf);
}

int hy_faceapi_normalize(float *out, const float *in, int n, int S, const double mean[3], double divisor,
                         const char *what) {
    const size_t plane = (size_t)S * S;
    const float mf[3] = {(float)mean[0], (float)mean[1], (float)mean[2]}, d = (float)divisor;
    long bad = 0;
    for (int i = 0; i < n; i++)
        for (size_t p = 0; p < plane; p++)
            for (int c = 0; c < 3; c++) {
                float v = in[((size_t)i * plane + p) * 3 + c];
                if (!isfinite(v)) bad++;
                out[((size_t)i * 3 + c) * plane + p] = (v - mf[c]) / d;
            }
    if (bad) return hy_err(HY_EVALUE, "%s: input has %ld non-finite values", what, bad);
    return HY_OK;
}

// --- lanes ---------------------------------------------------------------------------------------

typedef struct {
    void (*fn)(void *, int, int, int);
    void *ctx;
    int i0, n;
} lane_job;

static void serial_here(void) {
    openblas_set_num_threads(1);
#ifdef _OPENMP
    omp_set_num_threads(1);  // this thread's OpenMP regions (hy_conv2d's im2col, bias) run serially
#endif
}

static void *lane_main(void *arg) {
    lane_job *j = arg;
    serial_here();
    j->fn(j->ctx, 1, j->i0, j->n);
    return NULL;
}

// Images on lane 0 for a batch of n: all of them, or the first half with 2+ threads and 2+ images.
static int lane0_images(int n) { return hy_get_threads() >= 2 && n >= 2 ? (n + 1) / 2 : n; }

void hy_faceapi_run_lanes(void (*fn)(void *ctx, int lane, int i0, int n), void *ctx, int n) {
    const int threads = hy_get_threads(), n0 = lane0_images(n);
    serial_here();
    if (n0 < n) {
        lane_job j = {fn, ctx, n0, n - n0};
        pthread_t t;
        const int started = pthread_create(&t, NULL, lane_main, &j) == 0;
        fn(ctx, 0, 0, n0);
        if (started) pthread_join(t, NULL);
        else fn(ctx, 1, n0, n - n0);
    } else {
        fn(ctx, 0, 0, n);
    }
    hy_set_threads(threads);  // restores OpenBLAS's and OpenMP's counts
}

static void free_lane(faceapi_buffers *B) {
    free(B->a);
    free(B->b);
    free(B->t);
    free(B->u);
    free(B->scratch);
    memset(B, 0, sizeof *B);
}

void hy_faceapi_free_lanes(faceapi_buffers lane[2]) {
    free_lane(&lane[0]);
    free_lane(&lane[1]);
}

static int reserve_lane(faceapi_buffers *B, int n, size_t act, size_t scratch, const char *what) {
    if (n <= B->cap_n) return HY_OK;
    size_t bytes;
    if (hy_mul_size(act, (size_t)n * sizeof(float), &bytes))
        return hy_err(HY_ENOMEM, "%s: batch of %d images is too large", what, n);
    free_lane(B);
    B->a = hy_malloc(bytes), B->b = hy_malloc(bytes), B->t = hy_malloc(bytes), B->u = hy_malloc(bytes);
    B->scratch = hy_malloc(sizeof(float) * (scratch + 1));
    if (!B->a || !B->b || !B->t || !B->u || !B->scratch) {
        free_lane(B);
        return hy_err(HY_ENOMEM, "%s: cannot allocate buffers for a batch of %d", what, n);
    }
    B->cap_n = n;
    return HY_OK;
}

int hy_faceapi_reserve_lanes(faceapi_buffers lane[2], int n, size_t act, size_t scratch, const char *what) {
    const int n0 = lane0_images(n);
    int rc = reserve_lane(&lane[0], n0, act, scratch, what);
    if (!rc && n0 < n) rc = reserve_lane(&lane[1], n - n0, act, scratch, what);
    return rc;
}

// --- preprocessing ----------------------------------------------------------------------------

// padToSquare(x, isCenterImage=true) then, unless the square is size x size, resizeBilinear.
int hy_faceapi_prepare_f32(float *out, int size, const float *img, int w, int h) {
    const int m = w > h ? w : h, diff = abs(w - h);
    const int after = (int)floor(diff * 0.5 + 0.5), before = diff - after;  // JS Math.round(diff * 0.5)
    float *sq = NULL;
    const float *src = img;
    if (diff) {
        sq = hy_calloc((size_t)m * m * 3, sizeof(float));
        if (!sq) return hy_err(HY_ENOMEM, "face-api preprocessing: cannot allocate a %dx%d square", m, m);
        for (int y = 0; y < h; y++) {
            int oy = h < w ? y + before : y, ox = w < h ? before : 0;
            memcpy(sq + ((size_t)oy * m + ox) * 3, img + (size_t)y * w * 3, sizeof(float) * 3 * (size_t)w);
        }
        src = sq;
    }
    if (m == size) memcpy(out, src, sizeof(float) * 3 * (size_t)size * size);
    else hy_resize_bilinear_tf(out, size, size, src, m, m, 3);
    free(sq);
    return HY_OK;
}

int hy_faceapi_prepare(float *out, int size, const uint8_t *rgb, int w, int h, const crop_box *b) {
    int rc = hy_crop_check(b, w, h, "face-api crop");
    if (rc) return rc;
    const int cw = b->x2 - b->x1, ch = b->y2 - b->y1;
    float *crop = hy_malloc(sizeof(float) * 3 * (size_t)cw * ch);
    if (!crop) return HY_ENOMEM;
    for (int y = 0; y < ch; y++) {
        const uint8_t *s = rgb + ((size_t)(b->y1 + y) * w + b->x1) * 3;
        float *d = crop + (size_t)y * cw * 3;
        for (int k = 0; k < cw * 3; k++) d[k] = s[k];
    }
    rc = hy_faceapi_prepare_f32(out, size, crop, cw, ch);
    free(crop);
    return rc;
}

// --- crops ---------------------------------------------------------------------------------------

// Box.clipAtImageBorders: clip (x, y, bw, bh) to the image, then floor each of the four numbers.
static int clip_floor(double x, double y, double bw, double bh, int w, int h, crop_box *out, const char *what) {
    double right = x + bw, bottom = y + bh;
    double cx = x > 0 ? x : 0, cy = y > 0 ? y : 0;
    double nw = right - cx, nh = bottom - cy;
    if (nw > w - cx) nw = w - cx;
    if (nh > h - cy) nh = h - cy;
    double fx = floor(cx), fy = floor(cy), fw = floor(nw), fh = floor(nh);
    if (!(fw > 0 && fh > 0) || !isfinite(fx) || !isfinite(fy) || fx >= w || fy >= h)
        return hy_err(HY_EVALUE, "%s: the face rectangle has no pixels inside the %dx%d image", what, w, h);
    out->x1 = (int)fx;
    out->y1 = (int)fy;
    out->x2 = (int)(fx + fw);
    out->y2 = (int)(fy + fh);  // <= h: floor(cy) + floor(nh) <= floor(cy + nh) <= h
    return HY_OK;
}

int hy_faceapi_dlib_box(const float lm[10], int w, int h, crop_box *out) {
    double ex[2] = {lm[0], lm[1]}, ey[2] = {lm[5], lm[6]};
    double mx = ((double)lm[3] + lm[4]) / 2, my = ((double)lm[8] + lm[9]) / 2;  // mouth centre
    double d = (sqrt((mx - ex[0]) * (mx - ex[0]) + (my - ey[0]) * (my - ey[0])) +
                sqrt((mx - ex[1]) * (mx - ex[1]) + (my - ey[1]) * (my - ey[1]))) / 2;
    if (!isfinite(d)) return hy_err(HY_EVALUE, "face-api crop: non-finite landmarks");
    double size = floor(d / 0.45);
    double cx = (ex[0] + ex[1] + mx) / 3, cy = (ey[0] + ey[1] + my) / 3;
    double x = floor(fmax(0.0, cx - 0.5 * size)), y = floor(fmax(0.0, cy - 0.43 * size));
    double bw = fmin(size, w + x), bh = fmin(size, h + y);  // as upstream writes it (imageWidth + x)
    return clip_floor(x, y, bw, bh, w, h, out, "face-api crop");
}

int hy_faceapi_detector_box(const float box[4], int w, int h, crop_box *out) {
    double x = box[0], y = box[1], bw = (double)box[2] - box[0], bh = (double)box[3] - box[1];
    if (!isfinite(x) || !isfinite(y) || !isfinite(bw) || !isfinite(bh))
        return hy_err(HY_EVALUE, "face-api crop: non-finite box");
    return clip_floor(x, y, bw, bh, w, h, out, "face-api crop");
}
