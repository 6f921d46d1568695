// mtcnn.c - MTCNN detector: weights, the three networks, the detection pipeline and the
// FaceNet crop. Follows shared/spec/mtcnn.md section by section; comments cite "spec 2.N".
//
// Float conventions: all box arithmetic is float32 with float constants (0.5f, 1.0f), so
// results match torch's float32 tensor ops bit for bit (no double promotion, no FMA
// contraction: -std=c11 turns contraction off in GCC).
#include "models/mtcnn.h"
#include "base/resize.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"  // hy_err, hy_malloc
#include "nn/ops.h"     // conv2d, prelu, max_pool2d, dense, softmax_channels

// --- scratch ----------------------------------------------------------------------

// Grow-only scratch buffers, reused across pyramid levels so that the big P-Net
// activations are allocated (and page-faulted) once per image, not once per level.
typedef struct { float *p; size_t cap; } fbuf;
struct mtcnn_ws { fbuf A, B, S, D, img, reg, prob; };
typedef struct mtcnn_ws pnet_ws;

static float *fbuf_get(fbuf *b, size_t n) {
    if (n == 0) n = 1;
    if (n > b->cap) {
        free(b->p);
        b->cap = 0;
        if (!(b->p = hy_malloc(n * sizeof(float)))) return NULL;
        b->cap = n;
    }
    return b->p;
}

static void pnet_ws_free(pnet_ws *w) {
    free(w->A.p), free(w->B.p), free(w->S.p), free(w->D.p), free(w->img.p), free(w->reg.p), free(w->prob.p);
    memset(w, 0, sizeof *w);
}

// --- weights ------------------------------------------------------------------------

static int get(const mtcnn_model *m, const char *net, const char *name, int ndim, int64_t d0, int64_t d1,
               int64_t d2, int64_t d3, const float **out) {
    char key[128];
    snprintf(key, sizeof key, "%s.%s", net, name);
    int64_t dims[4] = {d0, d1, d2, d3};
    return hy_wf_get_f32(&m->wf, key, ndim, dims, out);
}

// conv: weight [o,i,k,k] + bias [o]
static int get_conv(const mtcnn_model *m, const char *net, const char *name, int o, int i, int k, mtcnn_lin *l) {
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    int rc = get(m, net, wn, 4, o, i, k, k, &l->w);
    return rc ? rc : get(m, net, bn, 1, o, 0, 0, 0, &l->b);
}

static int get_dense(const mtcnn_model *m, const char *net, const char *name, int o, int i, mtcnn_lin *l) {
    char wn[64], bn[64];
    snprintf(wn, sizeof wn, "%s.weight", name);
    snprintf(bn, sizeof bn, "%s.bias", name);
    int rc = get(m, net, wn, 2, o, i, 0, 0, &l->w);
    return rc ? rc : get(m, net, bn, 1, o, 0, 0, 0, &l->b);
}

static int get_prelu(const mtcnn_model *m, const char *net, const char *name, int c, const float **p) {
    char wn[64];
    snprintf(wn, sizeof wn, "%s.weight", name);
    return get(m, net, wn, 1, c, 0, 0, 0, p);
}

int hy_mtcnn_load(mtcnn_model *m, const char *path) {
    memset(m, 0, sizeof *m);
    int rc = hy_wf_open(&m->wf, path);
    if (rc) return rc;
    if (!(m->ws = hy_calloc(1, sizeof *m->ws))) {
        hy_wf_close(&m->wf);
        return HY_ENOMEM;
    }
    if ((rc = hy_wf_expect_kind(&m->wf, "mtcnn"))) goto fail;
#define T(x) if ((rc = (x))) goto fail
    T(get_conv(m, "pnet", "conv1", 10, 3, 3, &m->pnet.conv1));
    T(get_conv(m, "pnet", "conv2", 16, 10, 3, &m->pnet.conv2));
    T(get_conv(m, "pnet", "conv3", 32, 16, 3, &m->pnet.conv3));
    T(get_conv(m, "pnet", "conv4_1", 2, 32, 1, &m->pnet.conv4_1));
    T(get_conv(m, "pnet", "conv4_2", 4, 32, 1, &m->pnet.conv4_2));
    T(get_prelu(m, "pnet", "prelu1", 10, &m->pnet.prelu1));
    T(get_prelu(m, "pnet", "prelu2", 16, &m->pnet.prelu2));
    T(get_prelu(m, "pnet", "prelu3", 32, &m->pnet.prelu3));

    T(get_conv(m, "rnet", "conv1", 28, 3, 3, &m->rnet.conv1));
    T(get_conv(m, "rnet", "conv2", 48, 28, 3, &m->rnet.conv2));
    T(get_conv(m, "rnet", "conv3", 64, 48, 2, &m->rnet.conv3));
    T(get_dense(m, "rnet", "dense4", 128, 576, &m->rnet.dense4));
    T(get_dense(m, "rnet", "dense5_1", 2, 128, &m->rnet.dense5_1));
    T(get_dense(m, "rnet", "dense5_2", 4, 128, &m->rnet.dense5_2));
    T(get_prelu(m, "rnet", "prelu1", 28, &m->rnet.prelu1));
    T(get_prelu(m, "rnet", "prelu2", 48, &m->rnet.prelu2));
    T(get_prelu(m, "rnet", "prelu3", 64, &m->rnet.prelu3));
    T(get_prelu(m, "rnet", "prelu4", 128, &m->rnet.prelu4));

    T(get_conv(m, "onet", "conv1", 32, 3, 3, &m->onet.conv1));
    T(get_conv(m, "onet", "conv2", 64, 32, 3, &m->onet.conv2));
    T(get_conv(m, "onet", "conv3", 64, 64, 3, &m->onet.conv3));
    T(get_conv(m, "onet", "conv4", 128, 64, 2, &m->onet.conv4));
    T(get_dense(m, "onet", "dense5", 256, 1152, &m->onet.dense5));
    T(get_dense(m, "onet", "dense6_1", 2, 256, &m->onet.dense6_1));
    T(get_dense(m, "onet", "dense6_2", 4, 256, &m->onet.dense6_2));
    T(get_dense(m, "onet", "dense6_3", 10, 256, &m->onet.dense6_3));
    T(get_prelu(m, "onet", "prelu1", 32, &m->onet.prelu1));
    T(get_prelu(m, "onet", "prelu2", 64, &m->onet.prelu2));
    T(get_prelu(m, "onet", "prelu3", 64, &m->onet.prelu3));
    T(get_prelu(m, "onet", "prelu4", 128, &m->onet.prelu4));
    T(get_prelu(m, "onet", "prelu5", 256, &m->onet.prelu5));
    T(hy_wf_check_all_used(&m->wf, "MTCNN's P-, R- or O-Net"));
#undef T
    return HY_OK;
fail:
    hy_mtcnn_free(m);
    return rc;
}

void hy_mtcnn_free(mtcnn_model *m) {
    if (m->ws) pnet_ws_free(m->ws);
    free(m->ws);
    hy_wf_close(&m->wf);
    memset(m, 0, sizeof *m);
}

// --- networks (spec 1) ---------------------------------------------------------------

// PReLU (torch: x > 0 ? x : a*x), written as max(x,0) + a*min(x,0), which gives the same
// bits (x + a*0 = x; 0 + a*x = a*x) and vectorises; same contract as ops.h prelu.
static void prelu_simd(float *x, const float *slope, int n, int c, int hw) {
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++) {
            float *p = x + ((size_t)i * c + ch) * hw;
            const float a = slope[ch];
#pragma omp simd
            for (int k = 0; k < hw; k++) {
                float v = p[k];
                p[k] = (v > 0.f ? v : 0.f) + a * (v < 0.f ? v : 0.f);
            }
        }
}

// Activation buffers ping-pong between two allocations sized for the largest layer.
// One conv + bias-less-hy_prelu step: out (n,cout,h-k+1,w-k+1) = hy_prelu(conv(in)).
static void conv_prelu(float *out, const float *in, const mtcnn_lin *l, const float *slope, int n, int cin,
                       int h, int w, int cout, int k, float *scratch) {
    conv_shape s = {cin, h, w, cout, k, k, 1, 1, 0, 0};
    hy_conv2d(out, in, l->w, l->b, n, &s, scratch);
    if (slope) prelu_simd(out, slope, n, cout, (h - k + 1) * (w - k + 1));
}

static size_t conv_scratch(int cin, int h, int w, int cout, int k) {
    conv_shape s = {cin, h, w, cout, k, k, 1, 1, 0, 0};
    return hy_conv2d_scratch_floats(&s);
}

static size_t max3(size_t a, size_t b, size_t c) {
    size_t m = a > b ? a : b;
    return m > c ? m : c;
}

// Max pool with ceil_mode for the two shapes MTCNN uses (k2 s2, k3 s2), over `planes`
// planes of h x w; same result as ops.h hy_max_pool2d(..., ceil_mode=1) for finite inputs
// (tested), without its per-element bounds checks in the interior. Other shapes fall back.
static inline float fmax2(float a, float b) { return a > b ? a : b; }

static void pool_ceil(float *out, const float *in, int planes, int h, int w, int k, int s) {
    if (s != 2 || (k != 2 && k != 3)) {
        hy_max_pool2d(out, in, 1, planes, h, w, k, s, 1);
        return;
    }
    const int ho = hy_pool_out_size(h, k, s, 1), wo = hy_pool_out_size(w, k, s, 1);
    int wfull = w >= k ? (w - k) / s + 1 : 0;  // windows fully inside a row
    for (long p = 0; p < planes; p++) {
        const float *src = in + (size_t)p * h * w;
        float *dst = out + (size_t)p * ho * wo;
        for (int y = 0; y < ho; y++) {
            const float *r0 = src + (size_t)(2 * y) * w;
            int nr = h - 2 * y < k ? h - 2 * y : k;
            const float *r1 = nr > 1 ? r0 + w : r0, *r2 = nr > 2 ? r0 + 2 * (size_t)w : r1;
            float *d = dst + (size_t)y * wo;
            if (k == 2)
#pragma omp simd
                for (int x = 0; x < wfull; x++) {
                    float a = fmax2(r0[2 * x], r0[2 * x + 1]), b = fmax2(r1[2 * x], r1[2 * x + 1]);
                    d[x] = fmax2(a, b);
                }
            else
#pragma omp simd
                for (int x = 0; x < wfull; x++) {
                    const int c = 2 * x;
                    float a = fmax2(fmax2(r0[c], r0[c + 1]), r0[c + 2]);
                    float b = fmax2(fmax2(r1[c], r1[c + 1]), r1[c + 2]);
                    float e = fmax2(fmax2(r2[c], r2[c + 1]), r2[c + 2]);
                    d[x] = fmax2(fmax2(a, b), e);
                }
            for (int x = wfull; x < wo; x++) {  // windows cut by the right edge
                float m = -INFINITY;
                for (int dy = 0; dy < nr; dy++)
                    for (int dx = 0; dx < k && 2 * x + dx < w; dx++) m = fmax2(m, r0[(size_t)dy * w + 2 * x + dx]);
                d[x] = m;
            }
        }
    }
}

// For the tests: pool_ceil against ops.h max_pool2d.
void hy_mtcnn_pool_ceil_for_test(float *out, const float *in, int planes, int h, int w, int k, int s) {
    pool_ceil(out, in, planes, h, w, k, s);
}

// The layers of the three networks are written once (below) over one of two op sets, chosen
// by the caller: FAST (im2col + sgemm convs, the specialised pools, the vectorised PReLU,
// BLAS dense layers) for detection, REF (hy_conv2d_ref and hy_dense_ref with double
// accumulation, ops.h hy_prelu and hy_max_pool2d in ceil mode: the definitions) for the
// hy_mtcnn_*_ref entry points that tests/test_mtcnn_ref.c holds FAST to.
typedef struct {
    // out (n, cout, h-k+1, w-k+1) = conv k x k (stride 1, no padding) + bias, then PReLU (slope (cout) or NULL)
    void (*conv_prelu)(float *out, const float *in, const mtcnn_lin *l, const float *slope, int n, int cin, int h,
                       int w, int cout, int k, float *scratch);
    // ceil-mode max pool k / stride s over `planes` planes of h x w
    void (*pool)(float *out, const float *in, int planes, int h, int w, int k, int s);
    // out (n, out_dim) = in (n, in_dim) W^T + b
    void (*dense)(float *out, const float *in, const float *W, const float *b, int n, int in_dim, int out_dim);
    // PReLU in place on x (n, c, hw)
    void (*prelu)(float *x, const float *slope, int n, int c, int hw);
} mtcnn_ops;

static void conv_prelu_ref(float *out, const float *in, const mtcnn_lin *l, const float *slope, int n, int cin, int h,
                           int w, int cout, int k, float *scratch) {
    (void)scratch;
    conv_shape s = {cin, h, w, cout, k, k, 1, 1, 0, 0};
    hy_conv2d_ref(out, in, l->w, l->b, n, &s);
    if (slope) hy_prelu(out, slope, n, cout, (h - k + 1) * (w - k + 1));
}

static void pool_ref(float *out, const float *in, int planes, int h, int w, int k, int s) {
    hy_max_pool2d(out, in, 1, planes, h, w, k, s, 1);
}

static const mtcnn_ops FAST = {conv_prelu, pool_ceil, hy_dense, prelu_simd};
static const mtcnn_ops REF = {conv_prelu_ref, pool_ref, hy_dense_ref, hy_prelu};

int hy_mtcnn_pnet_out_size(int in) {
    // conv 3x3 -> in-2; pool 2/2 ceil -> ceil((in-2)/2); two 3x3 convs -> -4
    return hy_pool_out_size(in - 2, 2, 2, 1) - 4;
}

static int pnet_run(const mtcnn_model *m, const mtcnn_ops *op, pnet_ws *ws, const float *in, int h, int w, float *reg,
                    float *prob) {
    if (h < 12 || w < 12) return hy_err(HY_ESHAPE, "mtcnn: P-Net input %dx%d is smaller than 12x12", w, h);
    int h1 = h - 2, w1 = w - 2;                                              // conv1
    int h2 = hy_pool_out_size(h1, 2, 2, 1), w2 = hy_pool_out_size(w1, 2, 2, 1);  // pool1
    int h3 = h2 - 2, w3 = w2 - 2, h4 = h3 - 2, w4 = w3 - 2;                 // conv2, conv3
    // A holds conv1 and conv2 outputs, B pool1 and conv3 outputs
    size_t a_n = (size_t)10 * h1 * w1, b_n = (size_t)10 * h2 * w2;
    if ((size_t)16 * h3 * w3 > a_n) a_n = (size_t)16 * h3 * w3;
    if ((size_t)32 * h4 * w4 > b_n) b_n = (size_t)32 * h4 * w4;
    size_t sc = max3(conv_scratch(3, h, w, 10, 3), conv_scratch(10, h2, w2, 16, 3), conv_scratch(16, h3, w3, 32, 3));
    float *A = fbuf_get(&ws->A, a_n), *B = fbuf_get(&ws->B, b_n), *S = fbuf_get(&ws->S, sc);
    if (!A || !B || !S) return HY_ENOMEM;
    op->conv_prelu(A, in, &m->pnet.conv1, m->pnet.prelu1, 1, 3, h, w, 10, 3, S);
    op->pool(B, A, 10, h1, w1, 2, 2);
    op->conv_prelu(A, B, &m->pnet.conv2, m->pnet.prelu2, 1, 10, h2, w2, 16, 3, S);
    op->conv_prelu(B, A, &m->pnet.conv3, m->pnet.prelu3, 1, 16, h3, w3, 32, 3, S);
    op->conv_prelu(prob, B, &m->pnet.conv4_1, NULL, 1, 32, h4, w4, 2, 1, S);  // 1x1: no scratch used
    hy_softmax_channels(prob, 1, 2, h4 * w4);
    op->conv_prelu(reg, B, &m->pnet.conv4_2, NULL, 1, 32, h4, w4, 4, 1, S);
    return HY_OK;
}

int hy_mtcnn_pnet(const mtcnn_model *m, const float *in, int h, int w, float *reg, float *prob) {
    return pnet_run(m, &FAST, m->ws, in, h, w, reg, prob);
}
int hy_mtcnn_pnet_ref(const mtcnn_model *m, const float *in, int h, int w, float *reg, float *prob) {
    return pnet_run(m, &REF, m->ws, in, h, w, reg, prob);
}

// [N,C,H,W] -> [N,W,H,C] flatten (upstream permute(0,3,2,1) before view): spec 1 "Flatten".
static void flatten_whc(float *out, const float *in, int n, int c, int h, int w) {
    for (int i = 0; i < n; i++)
        for (int ch = 0; ch < c; ch++)
            for (int y = 0; y < h; y++)
                for (int x = 0; x < w; x++)
                    out[(size_t)i * c * h * w + ((size_t)x * h + y) * c + ch] =
                        in[(size_t)i * c * h * w + ((size_t)ch * h + y) * w + x];
}

// Softmax over 2 logits per row (n,2), in place (same formula as softmax_channels with hw=1).
static void softmax_rows2(float *x, int n) { hy_softmax_channels(x, n, 2, 1); }

// Crops are processed in chunks to bound the activation memory.
#define NET_CHUNK 128

static int rnet_run(const mtcnn_model *m, const mtcnn_ops *op, const float *in, int n, float *reg, float *prob) {
    if (n <= 0) return HY_OK;
    int c = n < NET_CHUNK ? n : NET_CHUNK;
    size_t a_n = (size_t)c * 28 * 22 * 22, b_n = (size_t)c * 28 * 11 * 11;
    size_t sc = max3(conv_scratch(3, 24, 24, 28, 3), conv_scratch(28, 11, 11, 48, 3), conv_scratch(48, 4, 4, 64, 2));
    float *A = fbuf_get(&m->ws->A, a_n), *B = fbuf_get(&m->ws->B, b_n);
    float *S = fbuf_get(&m->ws->S, sc), *D = fbuf_get(&m->ws->D, (size_t)c * 128);
    if (!A || !B || !S || !D) return HY_ENOMEM;
    for (int i0 = 0; i0 < n; i0 += NET_CHUNK) {
        int k = n - i0 < NET_CHUNK ? n - i0 : NET_CHUNK;
        op->conv_prelu(A, in + (size_t)i0 * 3 * 24 * 24, &m->rnet.conv1, m->rnet.prelu1, k, 3, 24, 24, 28, 3, S);
        op->pool(B, A, k * 28, 22, 22, 3, 2);                                          // -> 11
        op->conv_prelu(A, B, &m->rnet.conv2, m->rnet.prelu2, k, 28, 11, 11, 48, 3, S);  // -> 9
        op->pool(B, A, k * 48, 9, 9, 3, 2);                                            // -> 4
        op->conv_prelu(A, B, &m->rnet.conv3, m->rnet.prelu3, k, 48, 4, 4, 64, 2, S);    // -> 3
        flatten_whc(B, A, k, 64, 3, 3);
        op->dense(D, B, m->rnet.dense4.w, m->rnet.dense4.b, k, 576, 128);
        op->prelu(D, m->rnet.prelu4, k, 128, 1);
        op->dense(prob + (size_t)i0 * 2, D, m->rnet.dense5_1.w, m->rnet.dense5_1.b, k, 128, 2);
        softmax_rows2(prob + (size_t)i0 * 2, k);
        op->dense(reg + (size_t)i0 * 4, D, m->rnet.dense5_2.w, m->rnet.dense5_2.b, k, 128, 4);
    }
    return HY_OK;
}

static int onet_run(const mtcnn_model *m, const mtcnn_ops *op, const float *in, int n, float *reg, float *lm,
                    float *prob) {
    if (n <= 0) return HY_OK;
    int c = n < NET_CHUNK ? n : NET_CHUNK;
    size_t a_n = (size_t)c * 32 * 46 * 46, b_n = (size_t)c * 64 * 21 * 21;
    size_t sc = max3(conv_scratch(3, 48, 48, 32, 3), conv_scratch(32, 23, 23, 64, 3), conv_scratch(64, 10, 10, 64, 3));
    size_t sc4 = conv_scratch(64, 4, 4, 128, 2);
    if (sc4 > sc) sc = sc4;
    float *A = fbuf_get(&m->ws->A, a_n), *B = fbuf_get(&m->ws->B, b_n);
    float *S = fbuf_get(&m->ws->S, sc), *D = fbuf_get(&m->ws->D, (size_t)c * 256);
    if (!A || !B || !S || !D) return HY_ENOMEM;
    for (int i0 = 0; i0 < n; i0 += NET_CHUNK) {
        int k = n - i0 < NET_CHUNK ? n - i0 : NET_CHUNK;
        op->conv_prelu(A, in + (size_t)i0 * 3 * 48 * 48, &m->onet.conv1, m->onet.prelu1, k, 3, 48, 48, 32, 3, S);
        op->pool(B, A, k * 32, 46, 46, 3, 2);                                          // -> 23
        op->conv_prelu(A, B, &m->onet.conv2, m->onet.prelu2, k, 32, 23, 23, 64, 3, S);  // -> 21
        op->pool(B, A, k * 64, 21, 21, 3, 2);                                          // -> 10
        op->conv_prelu(A, B, &m->onet.conv3, m->onet.prelu3, k, 64, 10, 10, 64, 3, S);  // -> 8
        op->pool(B, A, k * 64, 8, 8, 2, 2);                                            // -> 4
        op->conv_prelu(A, B, &m->onet.conv4, m->onet.prelu4, k, 64, 4, 4, 128, 2, S);   // -> 3
        flatten_whc(B, A, k, 128, 3, 3);
        op->dense(D, B, m->onet.dense5.w, m->onet.dense5.b, k, 1152, 256);
        op->prelu(D, m->onet.prelu5, k, 256, 1);
        op->dense(prob + (size_t)i0 * 2, D, m->onet.dense6_1.w, m->onet.dense6_1.b, k, 256, 2);
        softmax_rows2(prob + (size_t)i0 * 2, k);
        op->dense(reg + (size_t)i0 * 4, D, m->onet.dense6_2.w, m->onet.dense6_2.b, k, 256, 4);
        op->dense(lm + (size_t)i0 * 10, D, m->onet.dense6_3.w, m->onet.dense6_3.b, k, 256, 10);
    }
    return HY_OK;
}

int hy_mtcnn_rnet(const mtcnn_model *m, const float *in, int n, float *reg, float *prob) {
    return rnet_run(m, &FAST, in, n, reg, prob);
}
int hy_mtcnn_rnet_ref(const mtcnn_model *m, const float *in, int n, float *reg, float *prob) {
    return rnet_run(m, &REF, in, n, reg, prob);
}
int hy_mtcnn_onet(const mtcnn_model *m, const float *in, int n, float *reg, float *lm, float *prob) {
    return onet_run(m, &FAST, in, n, reg, lm, prob);
}
int hy_mtcnn_onet_ref(const mtcnn_model *m, const float *in, int n, float *reg, float *lm, float *prob) {
    return onet_run(m, &REF, in, n, reg, lm, prob);
}

// --- pipeline pieces -------------------------------------------------------------------

// spec 2.3: output i averages inputs [floor(i*n/m), ceil((i+1)*n/m)); float32 row-major sum,
// divided by kh, then by kw.
void hy_mtcnn_area_resample(float *out, int ho, int wo, const uint8_t *rgb, int w, int x0, int y0, int cw, int ch) {
    size_t plane = (size_t)ho * wo;
    for (int i = 0; i < ho; i++) {
        int ya = (int)((int64_t)i * ch / ho), yb = (int)(((int64_t)(i + 1) * ch + ho - 1) / ho);
        float kh = (float)(yb - ya);
        for (int j = 0; j < wo; j++) {
            int xa = (int)((int64_t)j * cw / wo), xb = (int)(((int64_t)(j + 1) * cw + wo - 1) / wo);
            float kw = (float)(xb - xa);
            float s0 = 0.f, s1 = 0.f, s2 = 0.f;
            for (int y = ya; y < yb; y++) {
                const uint8_t *p = rgb + ((size_t)(y0 + y) * w + x0 + xa) * 3;
                for (int x = xa; x < xb; x++, p += 3) {
                    s0 += (float)p[0];
                    s1 += (float)p[1];
                    s2 += (float)p[2];
                }
            }
            size_t o = (size_t)i * wo + j;
            out[o] = s0 / kh / kw;
            out[plane + o] = s1 / kh / kw;
            out[2 * plane + o] = s2 / kh / kw;
        }
    }
}

// spec 2.2 (Python doubles): m = 12/min_size, minl = min(h,w)*m, s *= factor while minl >= 12
static int pyramid(int h, int w, int min_size, double factor, double *scales, int max) {
    double m = 12.0 / min_size, minl = (h < w ? h : w) * m, s = m;
    int n = 0;
    if ((h < w ? h : w) < min_size) return 0;  // upstream crashes here; no faces
    while (minl >= 12 && n < max) {
        scales[n++] = s;
        s = s * factor;
        minl = minl * factor;
    }
    return n;
}

int hy_mtcnn_pyramid(int h, int w, double *scales, int max) { return pyramid(h, w, 20, 0.709, scales, max); }

// Stable descending order of key[idx[]] (ties keep input order): merge sort on indices.
static void sort_desc(int *idx, const float *key, int n, int *tmp) {
    for (int width = 1; width < n; width *= 2) {
        for (int lo = 0; lo < n; lo += 2 * width) {
            int mid = lo + width < n ? lo + width : n, hi = lo + 2 * width < n ? lo + 2 * width : n;
            int a = lo, b = mid, o = lo;
            while (a < mid && b < hi) tmp[o++] = key[idx[b]] > key[idx[a]] ? idx[b++] : idx[a++];
            while (a < mid) tmp[o++] = idx[a++];
            while (b < hi) tmp[o++] = idx[b++];
        }
        memcpy(idx, tmp, sizeof(int) * (size_t)n);
    }
}

int hy_mtcnn_nms(const float *bx, int n, int stride, float thr, int mode_min, int *keep) {
    if (n <= 0) return 0;
    int *ord = hy_malloc(sizeof(int) * (size_t)n * 2);
    float *sc = hy_malloc(sizeof(float) * (size_t)n * 2);
    char *sup = hy_calloc((size_t)n, 1);
    if (!ord || !sc || !sup) {
        free(ord), free(sc), free(sup);
        return HY_ENOMEM;
    }
    float *area = sc + n;
    const float one = mode_min ? 1.0f : 0.0f;
    for (int i = 0; i < n; i++) {
        const float *b = bx + (size_t)i * stride;
        ord[i] = i;
        sc[i] = b[4];
        area[i] = (b[2] - b[0] + one) * (b[3] - b[1] + one);
    }
    sort_desc(ord, sc, n, ord + n);
    int nk = 0;
    for (int oi = 0; oi < n; oi++) {
        int i = ord[oi];
        if (sup[i]) continue;
        keep[nk++] = i;
        const float *a = bx + (size_t)i * stride;
        for (int oj = oi + 1; oj < n; oj++) {
            int j = ord[oj];
            if (sup[j]) continue;
            const float *b = bx + (size_t)j * stride;
            float iw = fminf(a[2], b[2]) - fmaxf(a[0], b[0]) + one;
            float ih = fminf(a[3], b[3]) - fmaxf(a[1], b[1]) + one;
            iw = iw > 0.f ? iw : 0.f;
            ih = ih > 0.f ? ih : 0.f;
            float inter = iw * ih, o;
            if (mode_min) o = inter / fminf(area[i], area[j]);
            else o = inter / (area[i] + area[j] - inter);
            if (o > thr) sup[j] = 1;
        }
    }
    free(ord), free(sc), free(sup);
    return nk;
}

void hy_mtcnn_default_options(mtcnn_options *o) {
    o->min_size = 20;
    o->factor = 0.709;
    o->thresholds[0] = 0.6f;
    o->thresholds[1] = 0.7f;
    o->thresholds[2] = 0.7f;
}

void hy_mtcnn_trace_free(mtcnn_trace *t) {
    if (!t) return;
    free(t->cat), free(t->stage1), free(t->stage2);
    t->cat = t->stage1 = t->stage2 = NULL;
}

// rerec (spec 2.6), in place on n rows of `stride` floats.
static void rerec(float *bx, int n, int stride) {
    for (int i = 0; i < n; i++) {
        float *b = bx + (size_t)i * stride;
        float w = b[2] - b[0], h = b[3] - b[1], l = w > h ? w : h;
        b[0] = b[0] + w * 0.5f - l * 0.5f;
        b[1] = b[1] + h * 0.5f - l * 0.5f;
        b[2] = b[0] + l;
        b[3] = b[1] + l;
    }
}

// bbreg (spec 2.8): w = x2-x1+1
static void bbreg(float *b, const float *r) {
    float w = b[2] - b[0] + 1.0f, h = b[3] - b[1] + 1.0f;
    float x1 = b[0] + r[0] * w, y1 = b[1] + r[1] * h, x2 = b[2] + r[2] * w, y2 = b[3] + r[3] * h;
    b[0] = x1, b[1] = y1, b[2] = x2, b[3] = y2;
}

// Truncation toward zero of a float box edge, safe for any value (NaN/huge -> 0/clamped).
static int trunc_edge(float v) {
    if (!(v == v)) return 0;
    if (v > 1e9f) return 1000000000;
    if (v < -1e9f) return -1000000000;
    return (int)v;
}

// spec 2.7: clipped 1-based crop rectangle; returns 0 if empty.
static int pad_box(const float *b, int W, int H, int *x0, int *y0, int *cw, int *ch) {
    int X1 = trunc_edge(b[0]), Y1 = trunc_edge(b[1]), X2 = trunc_edge(b[2]), Y2 = trunc_edge(b[3]);
    if (X1 < 1) X1 = 1;
    if (Y1 < 1) Y1 = 1;
    if (X2 > W) X2 = W;
    if (Y2 > H) Y2 = H;
    if (X2 < X1 || Y2 < Y1) return 0;
    *x0 = X1 - 1, *y0 = Y1 - 1, *cw = X2 - X1 + 1, *ch = Y2 - Y1 + 1;
    return 1;
}

static void normalise(float *x, size_t n) {
    for (size_t i = 0; i < n; i++) x[i] = (x[i] - 127.5f) * 0.0078125f;
}

// Crops every box (rows of `stride` floats) to size x size normalised input; boxes whose
// crop is empty are dropped (compacted in place). Returns the kept count via *nk.
static int make_crops(float *bx, int n, int stride, const uint8_t *rgb, int W, int H, int size, float **out,
                      int *nk) {
    *out = NULL;
    *nk = 0;
    size_t per = (size_t)3 * size * size;
    float *c = hy_malloc(per * (size_t)(n > 0 ? n : 1) * sizeof(float));
    if (!c) return HY_ENOMEM;
    int k = 0;
    for (int i = 0; i < n; i++) {
        int x0, y0, cw, ch;
        if (!pad_box(bx + (size_t)i * stride, W, H, &x0, &y0, &cw, &ch)) continue;
        hy_mtcnn_area_resample(c + per * k, size, size, rgb, W, x0, y0, cw, ch);
        if (k != i) memmove(bx + (size_t)k * stride, bx + (size_t)i * stride, sizeof(float) * stride);
        k++;
    }
    normalise(c, per * k);
    *out = c;
    *nk = k;
    return HY_OK;
}

// Appends rows to a growable (n, 9) array.
typedef struct { float *v; int n, cap; } boxvec;
static int bv_push(boxvec *bv, const float *row) {
    if (bv->n == bv->cap) {
        int cap = bv->cap ? bv->cap * 2 : 256;
        float *v = realloc(bv->v, sizeof(float) * 9 * (size_t)cap);
        if (!v) return hy_err(HY_ENOMEM, "mtcnn: out of memory (%d boxes)", cap);
        bv->v = v, bv->cap = cap;
    }
    memcpy(bv->v + (size_t)9 * bv->n++, row, sizeof(float) * 9);
    return HY_OK;
}

static float *dup_rows(const float *src, int n, int stride, int cols) {
    float *d = malloc(sizeof(float) * (size_t)(n > 0 ? n : 1) * cols);
    if (!d) return NULL;
    for (int i = 0; i < n; i++) memcpy(d + (size_t)i * cols, src + (size_t)i * stride, sizeof(float) * cols);
    return d;
}

// P-Net over the pyramid (spec 2.2-2.4) -> concatenated per-level NMS survivors (rows of 9).
static int stage1(const mtcnn_model *m, const mtcnn_options *opt, const uint8_t *rgb, int W, int H, boxvec *all,
                  mtcnn_trace *t) {
    double scales[MTCNN_MAX_LEVELS];
    int nl = pyramid(H, W, opt->min_size, opt->factor, scales, MTCNN_MAX_LEVELS);
    if (t) t->n_levels = nl;
    int rc = HY_OK;
    pnet_ws *wk = m->ws;
    int *keep = NULL;
    boxvec lv = {0};
    for (int l = 0; l < nl && rc == HY_OK; l++) {
        double s = scales[l];
        int hs = (int)(H * s + 1), ws = (int)(W * s + 1);  // truncation (spec 2.2)
        int ho = hy_mtcnn_pnet_out_size(hs), wo = hy_mtcnn_pnet_out_size(ws);
        if (t) t->scales[l] = s, t->level_h[l] = hs, t->level_w[l] = ws, t->n_cand[l] = 0;
        float *img = fbuf_get(&wk->img, (size_t)3 * hs * ws);
        float *reg = fbuf_get(&wk->reg, (size_t)4 * ho * wo);
        float *prob = fbuf_get(&wk->prob, (size_t)2 * ho * wo);
        if (!img || !reg || !prob) { rc = HY_ENOMEM; break; }
        hy_mtcnn_area_resample(img, hs, ws, rgb, W, 0, 0, W, H);
        normalise(img, (size_t)3 * hs * ws);
        if ((rc = pnet_run(m, &FAST, wk, img, hs, ws, reg, prob))) break;
        // spec 2.4: candidates in row-major order, box edges by float32 division
        lv.n = 0;
        const float sf = (float)s;
        const float *p = prob + (size_t)ho * wo;  // channel 1
        size_t plane = (size_t)ho * wo;
        for (int r = 0; r < ho && rc == HY_OK; r++)
            for (int c = 0; c < wo; c++) {
                size_t o = (size_t)r * wo + c;
                if (!(p[o] >= opt->thresholds[0])) continue;
                float row[9] = {floorf((float)(2 * c + 1) / sf),  floorf((float)(2 * r + 1) / sf),
                                floorf((float)(2 * c + 12) / sf), floorf((float)(2 * r + 12) / sf),
                                p[o], reg[o], reg[plane + o], reg[2 * plane + o], reg[3 * plane + o]};
                if ((rc = bv_push(&lv, row))) break;
            }
        if (rc) break;
        if (t) t->n_cand[l] = lv.n;
        free(keep);
        keep = hy_malloc(sizeof(int) * (size_t)(lv.n > 0 ? lv.n : 1));
        if (!keep) { rc = HY_ENOMEM; break; }
        int nk = hy_mtcnn_nms(lv.v, lv.n, 9, 0.5f, 0, keep);
        if (nk < 0) { rc = nk; break; }
        for (int i = 0; i < nk && rc == HY_OK; i++) rc = bv_push(all, lv.v + (size_t)9 * keep[i]);
    }
    free(keep), free(lv.v);
    return rc;
}

// Detection state handed from stage to stage (spec section 2); hy_mtcnn_detect frees it.
typedef struct {
    boxvec all;                 // P-Net candidates of every pyramid level (n, 9)
    float *b1, *b2;             // boxes (n, 5): x1 y1 x2 y2 score, after stage 1 / stage 2
    float *crops, *reg, *prob;  // the current net's input crops and outputs
    float *lm, *lmk;            // O-Net landmarks (n, 10): relative, and in image pixels
    int *keep;                  // NMS survivors (indices)
    int n1, n2, n_pass, n3;     // boxes after stage 1, stage 2, O-Net threshold, final NMS
} mt_state;

static int trace_rows(float **dst, const float *v, int n, int cols) {
    return (*dst = dup_rows(v, n, cols, cols)) ? HY_OK : hy_err(HY_ENOMEM, "mtcnn: out of memory");
}

// Spec 2.5: NMS 0.7 over all levels, regression with w = x2-x1 (no +1), rerec -> b1.
static int stage1_merge(mt_state *st, mtcnn_trace *t) {
    int n = st->all.n;
    st->keep = hy_malloc(sizeof(int) * (size_t)(n > 0 ? n : 1));
    st->b1 = hy_malloc(sizeof(float) * 5 * (size_t)(n > 0 ? n : 1));
    if (!st->keep || !st->b1) return HY_ENOMEM;
    int n1 = hy_mtcnn_nms(st->all.v, n, 9, 0.7f, 0, st->keep);
    if (n1 < 0) return n1;
    for (int i = 0; i < n1; i++) {
        const float *s = st->all.v + (size_t)9 * st->keep[i];
        float w = s[2] - s[0], h = s[3] - s[1];
        float *d = st->b1 + (size_t)5 * i;
        d[0] = s[0] + s[5] * w, d[1] = s[1] + s[6] * h, d[2] = s[2] + s[7] * w, d[3] = s[3] + s[8] * h;
        d[4] = s[4];
    }
    rerec(st->b1, n1, 5);
    st->n1 = n1;
    if (t) t->n1 = n1;
    return t ? trace_rows(&t->stage1, st->b1, n1, 5) : HY_OK;
}

// Allocates the outputs of a net run on nc crops (reg (nc,4), prob (nc,2), landmarks (nc,10)).
static int alloc_outputs(mt_state *st, int nc, int landmarks) {
    size_t k = (size_t)(nc > 0 ? nc : 1);
    st->reg = hy_malloc(sizeof(float) * 4 * k);
    st->prob = hy_malloc(sizeof(float) * 2 * k);
    if (landmarks) {
        st->lm = hy_malloc(sizeof(float) * 10 * k);
        st->lmk = hy_malloc(sizeof(float) * 10 * k);
    }
    return (!st->reg || !st->prob || (landmarks && (!st->lm || !st->lmk))) ? HY_ENOMEM : HY_OK;
}

// Spec 2.7-2.8: R-Net on 24x24 crops of b1, score > threshold, NMS 0.7, bbreg, rerec -> b2.
static int stage2_rnet(const mtcnn_model *m, const mtcnn_options *opt, const uint8_t *rgb, int W, int H,
                       mt_state *st, mtcnn_trace *t) {
    int nc, rc;
    if ((rc = make_crops(st->b1, st->n1, 5, rgb, W, H, 24, &st->crops, &nc)) || (rc = alloc_outputs(st, nc, 0)) ||
        (rc = hy_mtcnn_rnet(m, st->crops, nc, st->reg, st->prob)))
        return rc;
    int np = 0;
    for (int i = 0; i < nc; i++) {
        if (!(st->prob[2 * i + 1] > opt->thresholds[1])) continue;
        float *d = st->b1 + (size_t)5 * np;
        memmove(d, st->b1 + (size_t)5 * i, sizeof(float) * 4);
        d[4] = st->prob[2 * i + 1];
        memmove(st->reg + (size_t)4 * np, st->reg + (size_t)4 * i, sizeof(float) * 4);
        np++;
    }
    if (t) t->n_rnet_pass = np;
    int n2 = hy_mtcnn_nms(st->b1, np, 5, 0.7f, 0, st->keep);
    if (n2 < 0) return n2;
    if (!(st->b2 = hy_malloc(sizeof(float) * 5 * (size_t)(n2 > 0 ? n2 : 1)))) return HY_ENOMEM;
    for (int i = 0; i < n2; i++) {
        memcpy(st->b2 + (size_t)5 * i, st->b1 + (size_t)5 * st->keep[i], sizeof(float) * 5);
        bbreg(st->b2 + (size_t)5 * i, st->reg + (size_t)4 * st->keep[i]);
    }
    rerec(st->b2, n2, 5);
    st->n2 = n2;
    if (t) t->n2 = n2;
    return t ? trace_rows(&t->stage2, st->b2, n2, 5) : HY_OK;
}

// Spec 2.9: O-Net on 48x48 crops of b2, score > threshold, landmarks from the pre-regression
// box, bbreg, NMS "Min" 0.7 -> the n3 survivors in keep (indices into the compacted b2/lmk).
static int stage3_onet(const mtcnn_model *m, const mtcnn_options *opt, const uint8_t *rgb, int W, int H,
                       mt_state *st, mtcnn_trace *t) {
    free(st->crops), free(st->reg), free(st->prob);
    st->crops = st->reg = st->prob = NULL;
    int nc, rc;
    if ((rc = make_crops(st->b2, st->n2, 5, rgb, W, H, 48, &st->crops, &nc))) return rc;
    if (t) t->n_onet_in = nc;
    if ((rc = alloc_outputs(st, nc, 1)) || (rc = hy_mtcnn_onet(m, st->crops, nc, st->reg, st->lm, st->prob)))
        return rc;
    int np = 0;
    for (int i = 0; i < nc; i++) {
        if (!(st->prob[2 * i + 1] > opt->thresholds[2])) continue;
        float *d = st->b2 + (size_t)5 * np;
        memmove(d, st->b2 + (size_t)5 * i, sizeof(float) * 4);
        d[4] = st->prob[2 * i + 1];
        float w = d[2] - d[0] + 1.0f, h = d[3] - d[1] + 1.0f;
        const float *L = st->lm + (size_t)10 * i;
        float *P = st->lmk + (size_t)10 * np;
        for (int k = 0; k < 5; k++) {
            P[k] = w * L[k] + d[0] - 1.0f;
            P[k + 5] = h * L[k + 5] + d[1] - 1.0f;
        }
        bbreg(d, st->reg + (size_t)4 * i);
        np++;
    }
    if (t) t->n_onet_pass = np;
    st->n_pass = np;
    st->n3 = hy_mtcnn_nms(st->b2, np, 5, 0.7f, 1, st->keep);
    return st->n3 < 0 ? st->n3 : HY_OK;
}

// Spec 2.10: the survivors sorted by area (x2-x1)(y2-y1), descending, stable.
static int collect_faces(const mt_state *st, mtcnn_face **faces, int *n_faces) {
    const int n3 = st->n3, np = st->n_pass;
    int *ord = hy_malloc(sizeof(int) * 2 * (size_t)n3);
    float *area = hy_malloc(sizeof(float) * (size_t)(np > 0 ? np : 1));
    *faces = hy_calloc((size_t)n3, sizeof(mtcnn_face));
    if (!ord || !area || !*faces) {
        free(ord), free(area), free(*faces);
        *faces = NULL;
        return HY_ENOMEM;
    }
    for (int i = 0; i < np; i++) {
        const float *d = st->b2 + (size_t)5 * i;
        area[i] = (d[2] - d[0]) * (d[3] - d[1]);
    }
    memcpy(ord, st->keep, sizeof(int) * (size_t)n3);
    sort_desc(ord, area, n3, ord + n3);
    for (int i = 0; i < n3; i++) {
        const float *d = st->b2 + (size_t)5 * ord[i];
        mtcnn_face *f = &(*faces)[i];
        memcpy(f->box, d, sizeof(float) * 4);
        f->prob = d[4];
        memcpy(f->lm, st->lmk + (size_t)10 * ord[i], sizeof(float) * 10);
    }
    free(area), free(ord);
    *n_faces = n3;
    return HY_OK;
}

int hy_mtcnn_detect(const mtcnn_model *m, const mtcnn_options *opt_in, const uint8_t *rgb, int W, int H,
                 mtcnn_face **faces, int *n_faces, mtcnn_trace *t) {
    *faces = NULL;
    *n_faces = 0;
    if (t) memset(t, 0, sizeof *t);
    mtcnn_options dflt;
    if (!opt_in) hy_mtcnn_default_options(&dflt);
    const mtcnn_options *opt = opt_in ? opt_in : &dflt;
    if (W <= 0 || H <= 0) return hy_err(HY_ESHAPE, "mtcnn: empty image (%dx%d)", W, H);
    if (opt->min_size < 12 || !(opt->factor > 0.1 && opt->factor < 1.0))
        return hy_err(HY_EARG, "mtcnn: min face size %d (must be >= 12) or factor %g (must be in (0.1, 1))",
                      opt->min_size, opt->factor);
    if ((int64_t)W * H > MTCNN_MAX_PIXELS)
        return hy_err(HY_ESHAPE, "mtcnn: image %dx%d is larger than %lld pixels; downscale it first", W, H,
                      (long long)MTCNN_MAX_PIXELS);
    mt_state st = {0};
    // One thread throughout (a serial section, base/threads.h): the many short products and passes
    // gain nothing from a second thread (an 800x778 photo, 4 times: 0.46 s at 1 thread, 0.43-0.49 s
    // at 2 on an idle machine) and lost up to 1.4x with a busy process beside them; while the study's
    // crops were taken on a busy machine, threads waiting for each other once made a 64x64 face
    // take ~4 s instead of ~40 ms.
    hy_threads_serial_begin();
    int rc = stage1(m, opt, rgb, W, H, &st.all, t);
    if (!rc && t) {
        t->n_cat = st.all.n;
        rc = trace_rows(&t->cat, st.all.v, st.all.n, 9);
    }
    if (!rc) rc = stage1_merge(&st, t);
    if (!rc && st.n1 > 0) rc = stage2_rnet(m, opt, rgb, W, H, &st, t);
    if (!rc && st.n2 > 0) rc = stage3_onet(m, opt, rgb, W, H, &st, t);
    if (!rc && st.n3 > 0) rc = collect_faces(&st, faces, n_faces);
    free(st.all.v), free(st.b1), free(st.b2), free(st.crops), free(st.reg), free(st.prob), free(st.lm), free(st.lmk);
    free(st.keep);
    hy_threads_serial_end();
    if (rc && t) hy_mtcnn_trace_free(t);
    return rc;
}

// --- FaceNet crop (spec 3) ------------------------------------------------------------------

int hy_mtcnn_facenet_box(const float box[4], int w, int h, int margin, int size, int out[4]) {
    // facenet-pytorch extract_face: python floats (double) from the float32 box
    double x1 = box[0], y1 = box[1], x2 = box[2], y2 = box[3];
    double mx = margin * (x2 - x1) / (size - margin), my = margin * (y2 - y1) / (size - margin);
    double v[4] = {fmax(x1 - mx / 2, 0), fmax(y1 - my / 2, 0), fmin(x2 + mx / 2, w), fmin(y2 + my / 2, h)};
    for (int k = 0; k < 4; k++) {
        double c = v[k] != v[k] ? 0 : v[k];  // NaN -> 0
        if (c > 2e9) c = 2e9;
        out[k] = (int)c;  // int() truncation; values are >= 0 here
    }
    if (out[2] <= out[0] || out[3] <= out[1])
        return hy_err(HY_EVALUE, "mtcnn: face box %.2f %.2f %.2f %.2f is empty inside the %dx%d image", box[0],
                      box[1], box[2], box[3], w, h);
    return HY_OK;
}

// The rectangle is cut out and resized by the project's one Pillow-exact bilinear resize
// (src/base/resize.c, tested bit for bit against Pillow).
int hy_mtcnn_resize_pil_bilinear(uint8_t *out, int ow, int oh, const uint8_t *rgb, int w, int x0, int y0, int cw,
                              int ch) {
    crop_box b = {x0, y0, x0 + cw, y0 + ch};
    uint8_t *crop = malloc((size_t)cw * ch * 3);
    if (!crop) return hy_err(HY_ENOMEM, "mtcnn: out of memory (resize)");
    hy_crop_rgb8(crop, rgb, w, &b);
    int rc = hy_resize_rgb8(out, ow, oh, crop, cw, ch);
    free(crop);
    return rc;
}

int hy_mtcnn_crop_face(uint8_t *out, int size, const uint8_t *rgb, int w, int h, const float box[4], int margin,
                    mtcnn_resize_fn resize) {
    int b[4];
    int rc = hy_mtcnn_facenet_box(box, w, h, margin, size, b);
    if (rc) return rc;
    if (!resize) resize = hy_mtcnn_resize_pil_bilinear;
    return resize(out, size, size, rgb, w, b[0], b[1], b[2] - b[0], b[3] - b[1]);
}
