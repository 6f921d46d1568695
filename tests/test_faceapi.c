// test_faceapi.c - face-api's networks in C (include/models/faceapi.h):
//   - the extra ops (TF padding rule, pad, depthwise conv, pools, affine, tfjs bilinear resize) on
//     hand-made cases and against ops.h's naive conv;
//   - tiny random networks (tests/fixtures/faceapi_tiny_*.bin) layer by layer against the numpy
//     reference convert/ref/faceapi_ref.py, and every job's output, crop rectangle and
//     preprocessing against the upstream package run under Node.js (convert/golden/golden_faceapi.py);
//   - batch independence, bad weight files and bad inputs;
//   - with the real weights (make weights) and the shared faces: every face of
//     tests/fixtures/faceapi_real_ref.bin against face-api under Node, within 1e-4.
#include <math.h>

#include "base/common.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "base/rng.h"
#include "base/wfile.h"
#include "models/embedder.h"
#include "models/faceapi.h"
#include "nn/ops.h"
#include "nn/ops_extra.h"
#pragma GCC diagnostic ignored "-Wformat-truncation"  // testutil.h's bounded tmpdir names (see test_facenet.c)
#include "testutil.h"

#define TINY_RECOG "tests/fixtures/faceapi_tiny_recognition.bin"
#define TINY_AG "tests/fixtures/faceapi_tiny_agegender.bin"
#define TINY_REF "tests/fixtures/faceapi_tiny_ref.bin"
#define REAL_REF "tests/fixtures/faceapi_real_ref.bin"
#define REAL_RECOG "weights/faceapi_recognition.bin"
#define REAL_AG "weights/faceapi_agegender.bin"

// --- extra ops --------------------------------------------------------------------------------

START_TEST(tf_same_padding) {
    int o, b, a;
    hy_tf_same_pad(112, 3, 2, &o, &b, &a);  // the odd padding row goes after
    ck_assert(o == 56 && b == 0 && a == 1);
    hy_tf_same_pad(7, 3, 2, &o, &b, &a);
    ck_assert(o == 4 && b == 1 && a == 1);
    hy_tf_same_pad(56, 1, 2, &o, &b, &a);
    ck_assert(o == 28 && b == 0 && a == 0);
    hy_tf_same_pad(14, 3, 1, &o, &b, &a);
    ck_assert(o == 14 && b == 1 && a == 1);
}
END_TEST

START_TEST(pools_pad_affine_by_hand) {
    // one 4x4 plane 0..15
    float x[16], y[16], p[36];
    for (int i = 0; i < 16; i++) x[i] = (float)i;
    hy_avg_pool2d(y, x, 1, 1, 4, 4, 2, 2);  // means of the four 2x2 quadrants
    ck_assert(y[0] == 2.5f && y[1] == 4.5f && y[2] == 10.5f && y[3] == 12.5f);
    hy_avg_pool2d(y, x, 1, 1, 4, 4, 3, 2);  // floor: one 3x3 window
    ck_assert(y[0] == 5.0f);
    // 3x3/2 'same' on 4x4 pads one after: windows rows {0,1,2},{2,3}; padding never wins
    for (int i = 0; i < 16; i++) x[i] = -(float)i;
    hy_max_pool2d_pad(y, x, 1, 1, 4, 4, 3, 2, 0, 0, 2, 2);
    ck_assert(y[0] == 0.0f && y[1] == -2.0f && y[2] == -8.0f && y[3] == -10.0f);
    hy_max_pool2d_pad(y, x, 1, 1, 4, 4, 3, 2, 1, 1, 2, 2);  // one before: windows {-1,0,1}, {1,2,3}
    ck_assert(y[0] == 0.0f && y[1] == -1.0f && y[2] == -4.0f && y[3] == -5.0f);
    hy_pad2d(p, x, 1, 1, 4, 4, 0, 1, 2, 0);  // (5, 6): two zero columns left, one zero row below
    ck_assert(p[0] == 0 && p[1] == 0 && p[2] == -0.0f && p[3] == -1.0f && p[6 + 2] == -4.0f);
    for (int c = 0; c < 6; c++) ck_assert(p[4 * 6 + c] == 0);
    float sc[2] = {2, -1}, sh[2] = {1, 0.5f}, z[4] = {1, 2, 3, 4};
    hy_channel_affine(z, sc, sh, 1, 2, 2);
    ck_assert(z[0] == 3 && z[1] == 5 && z[2] == -2.5f && z[3] == -3.5f);
}
END_TEST

START_TEST(resize_bilinear_tf_by_hand) {
    // tf.image.resizeBilinear([[0,10],[20,30]] -> 3x3, alignCorners false): source = dst * 2/3,
    // ceil neighbour clamped, so the last row/column copies the edge
    float in[4] = {0, 10, 20, 30}, out[9];
    hy_resize_bilinear_tf(out, 3, 3, in, 2, 2, 1);
    const float want[9] = {0, 10.f * 2 / 3, 10, 20.f * 2 / 3, 20.f * 2 / 3 + 20.f / 3 * 1, 20.f * 2 / 3 + 10,
                           20, 20 + 10.f * 2 / 3, 30};
    for (int i = 0; i < 9; i++) ck_assert_msg(fabsf(out[i] - want[i]) < 1e-5f, "%d: %g vs %g", i, out[i], want[i]);
    // downscale 4 -> 2 picks columns 0 and 2 exactly
    float in4[4] = {1, 2, 3, 4}, o2[2];
    hy_resize_bilinear_tf(o2, 1, 2, in4, 1, 4, 1);
    ck_assert(o2[0] == 1 && o2[1] == 3);
}
END_TEST

START_TEST(depthwise_matches_naive_conv) {
    // the depthwise conv equals ops.h's naive conv run per channel with cin = cout = 1;
    // both accumulate 9 float32 terms in the same order: identical up to ~1e-6
    mt19937 r;
    hy_mt_seed(&r, 3);
    const int n = 2, c = 3, h = 5, w = 6;
    float x[2 * 3 * 5 * 6], W[3 * 9], b[3], y[2 * 3 * 5 * 6], yr[30];
    for (size_t i = 0; i < sizeof x / 4; i++) x[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < 27; i++) W[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < 3; i++) b[i] = (float)hy_mt_normal(&r);
    hy_depthwise_conv2d(y, x, W, b, n, c, h, w, 3, 3, 1, 1);
    conv_shape cs = {1, h, w, 1, 3, 3, 1, 1, 1, 1};
    for (int i = 0; i < n; i++)
        for (int k = 0; k < c; k++) {
            hy_conv2d_ref(yr, x + (size_t)(i * c + k) * h * w, W + k * 9, b + k, 1, &cs);
            for (int p = 0; p < h * w; p++) ck_assert(fabsf(yr[p] - y[(size_t)(i * c + k) * h * w + p]) < 1e-5f);
        }
}
END_TEST

// --- fixtures ---------------------------------------------------------------------------------

typedef struct {
    wfile wf;
    int njobs;
} golden;

static int golden_open(golden *g, const char *path) {
    int64_t n;
    if (hy_wf_open(&g->wf, path) || hy_wf_cfg_int(&g->wf, "njobs", &n)) return -1;
    g->njobs = (int)n;
    return 0;
}

static const wf_tensor *jt(const golden *g, int k, const char *what) {
    char name[64];
    snprintf(name, sizeof name, "job%d.%s", k, what);
    return hy_wf_find(&g->wf, name);
}

static int64_t jint(const golden *g, int k, const char *what) {
    char name[64];
    int64_t v = -1;
    snprintf(name, sizeof name, "job%d.%s", k, what);
    if (hy_wf_cfg_int(&g->wf, name, &v)) return -1;
    return v;
}

// The job's crop box from its landmarks or its box (checked against face-api's rect), or the whole image.
static void job_box(const golden *g, int k, int w, int h, crop_box *b) {
    const wf_tensor *lm = jt(g, k, "landmarks"), *bx = jt(g, k, "box"), *rect = jt(g, k, "rect");
    if (!lm && !bx) {
        *b = hy_crop_full(w, h);
        ck_assert(!rect);
        return;
    }
    int rc = lm ? hy_faceapi_dlib_box(lm->data, w, h, b) : hy_faceapi_detector_box(bx->data, w, h, b);
    ck_assert_msg(rc == 0, "%s", hy_errmsg());
    ck_assert(rect);
    const int64_t *r = rect->data;  // face-api's (x, y, width, height): must agree exactly
    ck_assert_msg(b->x1 == r[0] && b->y1 == r[1] && b->x2 - b->x1 == r[2] && b->y2 - b->y1 == r[3],
                  "job %d: rect (%d,%d,%d,%d), face-api (%lld,%lld,%lld,%lld)", k, b->x1, b->y1, b->x2 - b->x1,
                  b->y2 - b->y1, (long long)r[0], (long long)r[1], (long long)r[2], (long long)r[3]);
}

// Named activations of the first image, kept by the hook.
typedef struct {
    char name[64][32];
    float *x[64];
    int len[64];
    int n;
} layer_dump;

static void dump_hook(void *user, const char *name, const float *x, int c, int h, int w) {
    layer_dump *d = user;
    if (d->n >= 64) return;
    size_t len = (size_t)c * h * w;
    snprintf(d->name[d->n], sizeof d->name[0], "%s", name);
    d->x[d->n] = malloc(len * sizeof(float));
    memcpy(d->x[d->n], x, len * sizeof(float));
    d->len[d->n++] = (int)len;
}

static void dump_free(layer_dump *d) {
    for (int i = 0; i < d->n; i++) free(d->x[i]);
    d->n = 0;
}

// --- tiny networks ------------------------------------------------------------------------------

// float32 in C vs float64 in numpy through ~35 layers of <= 32*9 = 288-term sums: relative
// rounding ~1e-6 per layer, a few 1e-6 at the end; 1e-4 of the layer's largest value leaves a
// wide margin and still catches any indexing, padding or layer-order error (those are O(1)).
#define LAYER_RTOL 1e-4

static void compare_layers(const golden *g, const char *prefix, layer_dump *d, const float *prepared, int S,
                           const double mean[3], double divisor) {
    int checked = 0;
    for (int i = 0; i < d->n; i++) {
        char name[96];
        snprintf(name, sizeof name, "%s.%s", prefix, d->name[i]);
        if (!strcmp(d->name[i], "input")) {  // (prepared - mean) / 255 in float32, planar
            for (int p = 0; p < S * S; p++)
                for (int c = 0; c < 3; c++) {
                    float want = (prepared[p * 3 + c] - (float)mean[c]) / (float)divisor;
                    ck_assert_msg(d->x[i][c * S * S + p] == want, "%s: input differs at %d", prefix, p);
                }
            checked++;
            continue;
        }
        const wf_tensor *t = hy_wf_find(&g->wf, name);
        ck_assert_msg(t, "%s: the reference has no layer '%s'", TINY_REF, name);
        ck_assert_int_eq((int)(t->nbytes / 4), d->len[i]);
        tensor_stats st = hy_stats_f32(t->data, (size_t)d->len[i]);
        double scale = fmax(1.0, fmax(fabs(st.min), fabs(st.max)));
        double diff = hy_max_abs_diff(d->x[i], t->data, (size_t)d->len[i]);
        ck_assert_msg(diff <= LAYER_RTOL * scale, "%s: max |C - numpy| %g (scale %g)", name, diff, scale);
        checked++;
    }
    ck_assert_int_ge(checked, 10);
}

static const uint8_t *job_image(const golden *g, int k, int *w, int *h) {
    int64_t of = jint(g, k, "image_of");
    const wf_tensor *t = jt(g, of >= 0 ? (int)of : k, "image");
    ck_assert(t && t->ndim == 3 && t->dims[2] == 3);
    *h = (int)t->dims[0], *w = (int)t->dims[1];
    return t->data;
}

// Node's outputs for the tiny nets: the networks are 1e-5..1e-4 relative apart in float32 (C's
// sgemm vs tfjs' own loops); descriptors are O(1), age O(10), probabilities in [0, 1].
#define TINY_DESC_TOL 1e-4
#define TINY_AGE_TOL 1e-3
#define TINY_P_TOL 1e-5

START_TEST(tiny_networks_match_numpy_per_layer_and_faceapi) {
    golden g;
    ck_assert_msg(golden_open(&g, TINY_REF) == 0, "%s", hy_errmsg());
    faceapi_recog rn;
    faceapi_agegender an;
    ck_assert_msg(hy_faceapi_recog_load(&rn, TINY_RECOG) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_faceapi_agegender_load(&an, TINY_AG) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(rn.dim, 16);
    ck_assert_int_eq(an.feat, 64);
    int64_t rjob, ajob;
    ck_assert(!hy_wf_cfg_int(&g.wf, "recog.job", &rjob) && !hy_wf_cfg_int(&g.wf, "agegender.job", &ajob));
    double worst_desc = 0, worst_age = 0, worst_p = 0;
    int crops = 0;
    for (int k = 0; k < g.njobs; k++) {
        int w, h, net = (int)jint(&g, k, "net");
        const uint8_t *img = job_image(&g, k, &w, &h);
        crop_box b;
        job_box(&g, k, w, h, &b);
        crops += b.x2 - b.x1 != w || b.y2 - b.y1 != h;
        const int S = net ? 112 : 150;
        float *x = malloc(sizeof(float) * 3 * S * S);
        ck_assert_int_eq(hy_faceapi_prepare(x, S, img, w, h, &b), 0);
        layer_dump d = {0};
        if (k == rjob || k == ajob) {  // preprocessing is exact: the same double arithmetic as tfjs
            const wf_tensor *p = hy_wf_find(&g.wf, net ? "agegender.prepared" : "recog.prepared");
            ck_assert(p && p->nbytes == sizeof(float) * 3 * S * S);
            ck_assert_msg(hy_max_abs_diff(x, p->data, (size_t)3 * S * S) == 0, "job %d: prepared input differs", k);
        }
        if (net == 0) {
            float desc[16];
            ck_assert_int_eq(hy_faceapi_recog_forward(&rn, x, 1, desc, k == rjob ? dump_hook : NULL, &d), 0);
            const wf_tensor *want = jt(&g, k, "descriptor");
            ck_assert(want && want->nbytes == sizeof desc);
            worst_desc = fmax(worst_desc, hy_max_abs_diff(desc, want->data, 16));
            if (k == rjob) compare_layers(&g, "recog", &d, hy_wf_find(&g.wf, "recog.prepared")->data, 150, rn.mean,
                                          rn.divisor);
        } else {
            float age, pm;
            ck_assert_int_eq(hy_faceapi_agegender_forward(&an, x, 1, &age, &pm, k == ajob ? dump_hook : NULL, &d), 0);
            worst_age = fmax(worst_age, fabs(age - *(const float *)jt(&g, k, "age")->data));
            worst_p = fmax(worst_p, fabs(pm - *(const float *)jt(&g, k, "p_male")->data));
            if (k == ajob) compare_layers(&g, "agegender", &d, hy_wf_find(&g.wf, "agegender.prepared")->data, 112,
                                          an.mean, an.divisor);
        }
        dump_free(&d);
        free(x);
    }
    printf("tiny vs face-api (Node): descriptor %.2e, age %.2e, p_male %.2e; %d cropped jobs\n", worst_desc, worst_age,
           worst_p, crops);
    ck_assert_msg(worst_desc < TINY_DESC_TOL, "descriptor max diff %g", worst_desc);
    ck_assert_msg(worst_age < TINY_AGE_TOL, "age max diff %g", worst_age);
    ck_assert_msg(worst_p < TINY_P_TOL, "p_male max diff %g", worst_p);
    ck_assert_int_eq(crops, 4);
    hy_faceapi_recog_free(&rn);
    hy_faceapi_agegender_free(&an);
    hy_wf_close(&g.wf);
}
END_TEST

// A batch runs the same per-image convs (hy_conv2d loops over images); only the final dense layer
// differs (sgemm for a batch, sgemv for one row: another summation order), ~1e-7 relative.
#define BATCH_TOL 1e-5

START_TEST(batch_equals_single_images) {
    faceapi_recog rn;
    faceapi_agegender an;
    ck_assert_int_eq(hy_faceapi_recog_load(&rn, TINY_RECOG), 0);
    ck_assert_int_eq(hy_faceapi_agegender_load(&an, TINY_AG), 0);
    mt19937 r;
    hy_mt_seed(&r, 9);
    const int n = 3;
    float *x = malloc(sizeof(float) * n * 150 * 150 * 3), *y = malloc(sizeof(float) * n * 112 * 112 * 3);
    for (int i = 0; i < n * 150 * 150 * 3; i++) x[i] = (float)(hy_mt_uniform_f64(&r) * 255);
    for (int i = 0; i < n * 112 * 112 * 3; i++) y[i] = (float)(hy_mt_uniform_f64(&r) * 255);
    float db[3 * 16], ds[16], ab[3], pb[3], as, ps;
    ck_assert_int_eq(hy_faceapi_recog_forward(&rn, x, n, db, NULL, NULL), 0);
    ck_assert_int_eq(hy_faceapi_agegender_forward(&an, y, n, ab, pb, NULL, NULL), 0);
    for (int i = n - 1; i >= 0; i--) {
        ck_assert_int_eq(hy_faceapi_recog_forward(&rn, x + (size_t)i * 150 * 150 * 3, 1, ds, NULL, NULL), 0);
        ck_assert_msg(hy_max_abs_diff(ds, db + i * 16, 16) < BATCH_TOL, "image %d", i);
        ck_assert_int_eq(hy_faceapi_agegender_forward(&an, y + (size_t)i * 112 * 112 * 3, 1, &as, &ps, NULL, NULL), 0);
        ck_assert(as == ab[i] && ps == pb[i]);  // per-image heads in both cases: identical
    }
    x[7] = NAN;  // a non-finite input is refused
    ck_assert_int_eq(hy_faceapi_recog_forward(&rn, x, 1, ds, NULL, NULL), HY_EVALUE);
    ck_assert(strstr(hy_errmsg(), "non-finite"));
    free(x), free(y);
    hy_faceapi_recog_free(&rn);
    hy_faceapi_agegender_free(&an);
}
END_TEST

// --- bad weight files and crops -------------------------------------------------------------------

// Copies `src` to dir/name, editing it with `edit` (which may rewrite config values or tensors
// through the Python-free C writer: the file is re-read and re-written tensor by tensor).
typedef int (*wf_edit)(const char *name, int *dtype, int *ndim, int64_t *dims, const void **data, void *user);

// extra (may be NULL): the name of one more f32 tensor (1) appended, which no loader asks for.
static void rewrite_ex(const char *src, const char *dst, wf_edit edit, void *user, const char *extra) {
    wfile wf;
    ck_assert_int_eq(hy_wf_open(&wf, src), 0);
    wf_writer *w = hy_wf_writer_new(wf.kind);
    for (uint32_t i = 0; i < wf.n_config; i++) {
        const wf_kv *kv = &wf.config[i];
        if (kv->type == WF_CFG_INT) hy_wf_writer_int(w, kv->key, kv->i);
        else if (kv->type == WF_CFG_FLOAT) hy_wf_writer_float(w, kv->key, kv->f);
        else if (kv->type == WF_CFG_STR) hy_wf_writer_str(w, kv->key, kv->s);
        else if (kv->type == WF_CFG_INTS) hy_wf_writer_ints(w, kv->key, kv->ints, kv->count);
        else hy_wf_writer_floats(w, kv->key, kv->floats, kv->count);
    }
    for (uint32_t i = 0; i < wf.n_tensors; i++) {
        const wf_tensor *t = &wf.tensors[i];
        int dtype = t->dtype, ndim = t->ndim;
        int64_t dims[8];
        memcpy(dims, t->dims, sizeof dims);
        const void *data = t->data;
        if (edit && !edit(t->name, &dtype, &ndim, dims, &data, user)) continue;  // 0: drop it
        ck_assert_int_eq(hy_wf_writer_tensor(w, t->name, dtype, ndim, dims, data), 0);
    }
    static const float one = 1;
    if (extra) ck_assert_int_eq(hy_wf_writer_tensor(w, extra, WF_F32, 1, (int64_t[]){1}, &one), 0);
    ck_assert_int_eq(hy_wf_writer_save(w, dst), 0);
    hy_wf_writer_free(w);
    hy_wf_close(&wf);
}

static void rewrite(const char *src, const char *dst, wf_edit edit, void *user) {
    rewrite_ex(src, dst, edit, user, NULL);
}

static int drop_named(const char *name, int *dtype, int *ndim, int64_t *dims, const void **data, void *user) {
    (void)dtype, (void)ndim, (void)dims, (void)data;
    return strcmp(name, (const char *)user) != 0;
}

// A scale whose dequantised values overflow float32 (255 * 1e300): finite in the file, so the
// writer (which refuses NaN/Inf) saves it, and the loader must refuse it.
static int huge_quant(const char *name, int *dtype, int *ndim, int64_t *dims, const void **data, void *user) {
    (void)dtype, (void)ndim, (void)dims;
    static const double bad[2] = {1e300, 0};
    if (!strcmp(name, (const char *)user)) *data = bad;
    return 1;
}

START_TEST(bad_weight_files) {
    char *dir = test_tmpdir();
    char p[512];
    faceapi_recog rn;
    faceapi_agegender an;
    // another kind
    ck_assert_int_eq(hy_faceapi_recog_load(&rn, TINY_AG), HY_EFORMAT);
    ck_assert(strstr(hy_errmsg(), "faceapi_agegender") && strstr(hy_errmsg(), "faceapi_recognition"));
    ck_assert_int_eq(hy_faceapi_agegender_load(&an, "tests/fixtures/facenet_tiny.bin"), HY_EFORMAT);
    // a missing tensor, a missing .quant companion, a scale that overflows float (a NaN scale
    // cannot be written: the writer refuses it; the fuzz target feeds such bytes)
    snprintf(p, sizeof p, "%s/a.bin", dir);
    rewrite(TINY_RECOG, p, drop_named, (void *)"conv128_1.conv2.scale.biases");
    ck_assert(hy_faceapi_recog_load(&rn, p) < 0);
    ck_assert_msg(strstr(hy_errmsg(), "conv128_1.conv2.scale.biases") && strstr(hy_errmsg(), "missing"), "%s",
                  hy_errmsg());
    rewrite(TINY_RECOG, p, drop_named, (void *)"conv32_down.conv.filters.quant");
    ck_assert(hy_faceapi_recog_load(&rn, p) < 0);
    ck_assert_msg(strstr(hy_errmsg(), "quantised") && strstr(hy_errmsg(), ".quant"), "%s", hy_errmsg());
    rewrite(TINY_AG, p, huge_quant, (void *)"fc.age.weights.quant");
    ck_assert_int_eq(hy_faceapi_agegender_load(&an, p), HY_EVALUE);
    ck_assert_msg(strstr(hy_errmsg(), "fc.age.weights.quant") && strstr(hy_errmsg(), "overflows float"), "%s",
                  hy_errmsg());
    // an unused tensor is refused by the loader's hy_wf_check_all_used, as for every model
    rewrite_ex(TINY_RECOG, p, NULL, NULL, "extra.unused");
    ck_assert(hy_faceapi_recog_load(&rn, p) < 0);
    ck_assert_msg(strstr(hy_errmsg(), "unexpected tensor") && strstr(hy_errmsg(), "not part of"), "%s", hy_errmsg());
    // truncated
    snprintf(p, sizeof p, "head -c 5000 %s > %s/t.bin", TINY_RECOG, dir);
    ck_assert_int_eq(system(p), 0);
    snprintf(p, sizeof p, "%s/t.bin", dir);
    ck_assert(hy_faceapi_recog_load(&rn, p) < 0);
    ck_assert(strstr(hy_errmsg(), "t.bin"));
}
END_TEST

START_TEST(crop_rectangles) {
    crop_box b;
    // a detector box half outside the image is clipped, then floored (Box.clipAtImageBorders)
    float box[4] = {-10.5f, 20.25f, 30.75f, 500.0f};
    ck_assert_int_eq(hy_faceapi_detector_box(box, 100, 80, &b), 0);
    ck_assert(b.x1 == 0 && b.y1 == 20 && b.x2 == 30 && b.y2 == 79);  // width 30.75, height 59.75 -> 30, 59
    float away[4] = {200, 10, 260, 70};
    ck_assert_int_eq(hy_faceapi_detector_box(away, 100, 80, &b), HY_EVALUE);
    // landmarks: eyes (40,40) (60,40), mouth corners (44,64) (56,64): mouth centre (50,64),
    // eye-mouth distance sqrt(10^2+24^2) = 26, size floor(26/0.45) = 57, centroid (50, 48):
    // x = floor(50 - 28.5) = 21, y = floor(48 - 0.43*57) = floor(23.49) = 23
    float lm[10] = {40, 60, 50, 44, 56, 40, 40, 52, 64, 64};
    ck_assert_int_eq(hy_faceapi_dlib_box(lm, 200, 200, &b), 0);
    ck_assert(b.x1 == 21 && b.y1 == 23 && b.x2 == 21 + 57 && b.y2 == 23 + 57);
    ck_assert_int_eq(hy_faceapi_dlib_box(lm, 50, 40, &b), 0);  // clipped at the right and bottom
    ck_assert(b.x2 == 50 && b.y2 == 40);
    float bad[10] = {NAN, 60, 50, 44, 56, 40, 40, 52, 64, 64};
    ck_assert_int_eq(hy_faceapi_dlib_box(bad, 200, 200, &b), HY_EVALUE);
}
END_TEST

// --- the commands ---------------------------------------------------------------------------------

// Writes job k's image of the tiny fixture as dir/<k>.png.
static void job_png(const golden *g, int k, const char *dir, char *path, size_t len) {
    int w, h;
    const uint8_t *img = job_image(g, k, &w, &h);
    snprintf(path, len, "%s/%d.png", dir, k);
    ck_assert_int_eq(hy_png_write_rgb8(path, w, h, img), 0);
}

static float *read_npy(const char *path, int64_t d0, int64_t d1) {
    npy_f32 a;
    ck_assert_msg(hy_npy_read_f32(path, &a, 1) == 0, "%s", hy_errmsg());
    ck_assert(a.ndim == 2 && a.dims[0] == d0 && a.dims[1] == d1);
    return a.data;
}

START_TEST(embed_distance_attributes_commands) {
    golden g;
    ck_assert_int_eq(golden_open(&g, TINY_REF), 0);
    char *d = test_tmpdir(), p0[512], p1[512], p4[512], p5[512], out[600], *log = NULL;
    job_png(&g, 0, d, p0, sizeof p0);  // 150x150 (descriptor as is)
    job_png(&g, 1, d, p1, sizeof p1);  // 97x131 (padded and resized)
    job_png(&g, 4, d, p4, sizeof p4);  // 112x112 (age/gender as is)
    job_png(&g, 5, d, p5, sizeof p5);  // 120x90
    // embed: the kind picks face-api's network and preprocessing; 16-d descriptors equal face-api's
    snprintf(out, sizeof out, "%s/e.npy", d);
    int rc = run_hyper(&log, "embed -e %s --crop full %s %s -o %s --save-crops %s/crops", TINY_RECOG, p0, p1, out, d);
    ck_assert_msg(rc == 0, "%s", log);
    free(log);
    float *e = read_npy(out, 2, 16);
    ck_assert(hy_max_abs_diff(e, jt(&g, 0, "descriptor")->data, 16) < TINY_DESC_TOL);
    ck_assert(hy_max_abs_diff(e + 16, jt(&g, 1, "descriptor")->data, 16) < TINY_DESC_TOL);
    char cp[600];
    snprintf(cp, sizeof cp, "%s/crops/000001.png", d);
    int cw, ch;
    uint8_t *crgb;
    ck_assert_int_eq(hy_png_read_rgb8(cp, &cw, &ch, &crgb), 0);  // what the network saw, 150x150
    ck_assert(cw == 150 && ch == 150);
    free(crgb);
    // --input-npy: face-api's (N, 150, 150, 3) input tensor gives the same row
    char xin[600];
    snprintf(xin, sizeof xin, "%s/x.npy", d);
    int64_t xd[4] = {1, 150, 150, 3};
    ck_assert_int_eq(hy_npy_write_f32(xin, 4, xd, hy_wf_find(&g.wf, "recog.prepared")->data), 0);
    ck_assert_int_eq(run_hyper(NULL, "embed -e %s --input-npy %s -o %s", TINY_RECOG, xin, out), 0);
    float *e1 = read_npy(out, 1, 16);
    ck_assert(hy_max_abs_diff(e1, e + 16, 16) < BATCH_TOL);
    free(e1);
    // FaceNet's layout is refused for face-api, with the shape it needs
    int64_t fd[4] = {1, 3, 150, 150};
    ck_assert_int_eq(hy_npy_write_f32(xin, 4, fd, hy_wf_find(&g.wf, "recog.prepared")->data), 0);
    snprintf(out, sizeof out, "%s/bad.npy", d);
    rc = run_hyper(&log, "embed -e %s --input-npy %s -o %s", TINY_RECOG, xin, out);
    ck_assert_msg(rc == 1 && strstr(log, "(N,150,150,3)") && !file_exists(out), "%s", log);
    free(log);
    // distance: the Euclidean distance of the two descriptors, and the verdict at the file's
    // threshold (face-api's 0.6, which the converter writes)
    rc = run_hyper(&log, "distance -e %s --crop full %s %s", TINY_RECOG, p0, p1);
    ck_assert_msg(rc == 0, "%s", log);
    double want = hy_embedder_distance(e, e + 16, 16), got = NAN;
    for (char *l = log; l && *l; l = strchr(l, '\n') ? strchr(l, '\n') + 1 : NULL)  // the number's line (stdout)
        if (*l >= '0' && *l <= '9') got = atof(l);
    ck_assert_msg(fabs(got - want) < 1e-5, "%s vs %g", log, want);  // printed with 6 decimals
    ck_assert(strstr(log, "threshold 0.6"));
    free(log);
    free(e);
    // attributes: CSV rows with face-api's age and p_male
    snprintf(out, sizeof out, "%s/a.csv", d);
    rc = run_hyper(&log, "attributes -a %s --crop full %s %s -o %s", TINY_AG, p4, p5, out);
    ck_assert_msg(rc == 0, "%s", log);
    free(log);
    FILE *f = fopen(out, "r");
    char line[1024];
    ck_assert(fgets(line, sizeof line, f) && !strcmp(line, "index,image,age,p_male,crop\n"));
    for (int k = 0; k < 2; k++) {
        ck_assert(fgets(line, sizeof line, f));
        char *c1 = strchr(line, ','), *c2 = strchr(c1 + 1, ',');
        double age = atof(c2 + 1), pm = atof(strchr(c2 + 1, ',') + 1);
        ck_assert_msg(fabs(age - *(const float *)jt(&g, 4 + k, "age")->data) < TINY_AGE_TOL + 1e-4, "%s", line);
        ck_assert_msg(fabs(pm - *(const float *)jt(&g, 4 + k, "p_male")->data) < 1e-5, "%s", line);  // 6 decimals
        ck_assert(line[strlen(line) - 2] == 'f');
    }
    fclose(f);
    // bad input: a corrupt image stops before anything is written; wrong tensor shape; no -a
    char bad[600];
    snprintf(bad, sizeof bad, "%s/bad.png", d);
    f = fopen(bad, "w");
    fputs("not a png", f);
    fclose(f);
    snprintf(out, sizeof out, "%s/b.csv", d);
    rc = run_hyper(&log, "attributes -a %s --crop full %s %s -o %s", TINY_AG, p4, bad, out);
    ck_assert_msg(rc == 1 && strstr(log, "bad.png") && !file_exists(out), "%s", log);
    free(log);
    rc = run_hyper(&log, "attributes -a %s --input-npy %s -o %s", TINY_AG, xin, out);
    ck_assert_msg(rc == 1 && strstr(log, "(N, 112, 112, 3)") && !file_exists(out), "%s", log);
    free(log);
    rc = run_hyper(&log, "attributes %s", p4);
    ck_assert_msg(rc == 2 && strstr(log, "--attributes"), "%s", log);
    free(log);
    rc = run_hyper(&log, "attributes -a %s %s", TINY_RECOG, p4);  // a descriptor file is not an age/gender model
    ck_assert_msg(rc == 1 && strstr(log, "faceapi_agegender"), "%s", log);
    free(log);
    hy_wf_close(&g.wf);
}
END_TEST

// --- the real networks against face-api under Node ------------------------------------------------

// The bar: C within 1e-4 of face-api on descriptors (components ~0.1; float32 in both,
// different summation orders). Age is in years (~30): the same relative agreement is 1e-3 years.
#define REAL_DESC_TOL 1e-4
#define REAL_AGE_TOL 1e-3
#define REAL_P_TOL 1e-4

START_TEST(real_weights_match_faceapi) {
    const char *sd = getenv("HY_SHARED_DATA") ? getenv("HY_SHARED_DATA") : "../shared/data";
    char probe[1024];
    snprintf(probe, sizeof probe, "%s/faces/aligned", sd);
    if (!file_exists(REAL_RECOG) || !file_exists(REAL_AG))
        TEST_SKIP("no %s / %s (make weights)", REAL_RECOG, REAL_AG);
    if (!file_exists(probe)) TEST_SKIP("no shared faces in %s", probe);
    golden g;
    ck_assert_msg(golden_open(&g, REAL_REF) == 0, "%s", hy_errmsg());
    faceapi_recog rn;
    faceapi_agegender an;
    ck_assert_msg(hy_faceapi_recog_load(&rn, REAL_RECOG) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_faceapi_agegender_load(&an, REAL_AG) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(rn.dim, 128);
    double wd = 0, wa = 0, wp = 0;
    int nd = 0, na = 0;
    for (int k = 0; k < g.njobs; k++) {
        char key[64], path[1200];
        const char *rel;
        snprintf(key, sizeof key, "job%d.path", k);
        ck_assert_int_eq(hy_wf_cfg_str(&g.wf, key, &rel), 0);
        snprintf(path, sizeof path, "%s/%s", sd, rel);
        int w, h;
        uint8_t *rgb;
        ck_assert_msg(hy_png_read_rgb8(path, &w, &h, &rgb) == 0, "%s", hy_errmsg());
        crop_box b;
        job_box(&g, k, w, h, &b);
        int net = (int)jint(&g, k, "net"), S = net ? 112 : 150;
        float *x = malloc(sizeof(float) * 3 * S * S);
        ck_assert_int_eq(hy_faceapi_prepare(x, S, rgb, w, h, &b), 0);
        if (net == 0) {
            float d[128];
            ck_assert_int_eq(hy_faceapi_recog_forward(&rn, x, 1, d, NULL, NULL), 0);
            wd = fmax(wd, hy_max_abs_diff(d, jt(&g, k, "descriptor")->data, 128));
            nd++;
        } else {
            float age, pm;
            ck_assert_int_eq(hy_faceapi_agegender_forward(&an, x, 1, &age, &pm, NULL, NULL), 0);
            wa = fmax(wa, fabs(age - *(const float *)jt(&g, k, "age")->data));
            wp = fmax(wp, fabs(pm - *(const float *)jt(&g, k, "p_male")->data));
            na++;
        }
        free(x);
        free(rgb);
    }
    printf("real weights vs face-api (Node) on %d descriptors / %d age-gender crops: descriptor %.2e, age %.2e, "
           "p_male %.2e\n", nd, na, wd, wa, wp);
    ck_assert_msg(wd < REAL_DESC_TOL, "descriptor max diff %g", wd);
    ck_assert_msg(wa < REAL_AGE_TOL, "age max diff %g", wa);
    ck_assert_msg(wp < REAL_P_TOL, "p_male max diff %g", wp);
    ck_assert_int_eq(nd, 15);
    hy_faceapi_recog_free(&rn);
    hy_faceapi_agegender_free(&an);
    hy_wf_close(&g.wf);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("faceapi");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, tf_same_padding);
    tcase_add_test(t, pools_pad_affine_by_hand);
    tcase_add_test(t, resize_bilinear_tf_by_hand);
    tcase_add_test(t, depthwise_matches_naive_conv);
    tcase_add_test(t, tiny_networks_match_numpy_per_layer_and_faceapi);
    tcase_add_test(t, batch_equals_single_images);
    tcase_add_test(t, bad_weight_files);
    tcase_add_test(t, crop_rectangles);
    tcase_add_test(t, embed_distance_attributes_commands);
    tcase_add_test(t, real_weights_match_faceapi);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
