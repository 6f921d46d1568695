// test_facenet.c - FaceNet Inception-ResNet-v1: the batched channel-major conv against the
// naive conv2d_ref, the tiny golden network (tests/fixtures/facenet_tiny*.bin, from
// convert/golden/golden_facenet.py) block by block, batch independence, the embed / distance CLI,
// bad inputs, and (optional) the real-weights oracle of spec section 4.
#include <math.h>
#include <zlib.h>

#include "base/common.h"
#include "models/facenet.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "nn/ops.h"
#include "base/rng.h"
// testutil.h's test_tmpdir_cleanup_ trips -Wformat-truncation in this file (GCC 12 mis-bounds
// its 32-byte names); the snprintf there is bounded and harmless.
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "testutil.h"
#include "base/wfile.h"

#define TINY "tests/fixtures/facenet_tiny.bin"
#define TINY_REF "tests/fixtures/facenet_tiny_ref.bin"

// --- batched conv vs naive -------------------------------------------------------------------

// float32 sgemm vs the naive conv's own accumulation on unit-normal data with K <= 400 terms:
// rounding is ~sqrt(K) * 6e-8 * |x| << 1e-4; an indexing error is O(1).
#define CONV_TOL 1e-4

static void check_conv(int cin, int h, int w, int cout, int kh, int kw, int s, int ph, int pw, int n, int hy_relu,
                       int tiny_scratch) {
    mt19937 r;
    hy_mt_seed(&r, (uint64_t)(cin * 131 + kh * 7 + kw + s * 3 + ph + n));
    facenet_conv c = {NULL, NULL, cin, cout, kh, kw, s, s, ph, pw, hy_relu, h, w, 0, {0}, {0}, {0}};
    conv_shape cs = {cin, h, w, cout, kh, kw, s, s, ph, pw};
    const int ho = hy_conv2d_out_h(&cs), wo = hy_conv2d_out_w(&cs);
    const size_t nin = (size_t)n * cin * h * w, nout = (size_t)n * cout * ho * wo, hw = (size_t)h * w,
                 hwo = (size_t)ho * wo;
    float *x = malloc(nin * sizeof(float)), *xc = malloc(nin * sizeof(float));
    float *wt = malloc((size_t)cout * cin * kh * kw * sizeof(float)), *b = malloc(cout * sizeof(float));
    float *y = malloc(nout * sizeof(float)), *yr = malloc(nout * sizeof(float));
    for (size_t i = 0; i < nin; i++) x[i] = (float)hy_mt_normal(&r);
    for (size_t i = 0; i < (size_t)cout * cin * kh * kw; i++) wt[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < cout; i++) b[i] = (float)hy_mt_normal(&r);
    c.w = wt;
    c.b = b;
    for (int i = 0; i < n; i++)  // NCHW -> CNHW
        for (int k = 0; k < cin; k++) memcpy(xc + ((size_t)k * n + i) * hw, x + ((size_t)i * cin + k) * hw, hw * 4);
    size_t sc = hy_facenet_conv_scratch_floats(&c, h, w);
    if (!tiny_scratch) sc *= n;  // one tile for the whole batch, else one image per tile
    hy_conv2d_ref(yr, x, wt, b, n, &cs);
    // weights used as they are (hy_sgemm), then packed once as facenet_load does, then (3x3
    // stride-1 convs, and 1x7 / 7x1 "same" convs, with an own GEMM kernel) in Winograd form as
    // facenet_load makes it too
    const int wino = kh == 3 && kw == 3 && hy_sgemm_own() &&
                     ((s == 1 && ph == pw && ph <= 1) || (s == 2 && ph == 0 && pw == 0 && hy_wino_pays(2, h, w)));
    const int wino7 = s == 1 && hy_sgemm_own() &&
                      ((kh == 1 && kw == 7 && ph == 0 && pw == 3) || (kh == 7 && kw == 1 && ph == 3 && pw == 0));
    if (wino) {
        hy_wino probe;  // the scratch must also hold Winograd's blocks
        ck_assert_int_eq(hy_wino_init(&probe, wt, cout, cin, ph, s, NULL), 0);
        size_t ws = hy_wino_scratch_floats(&probe, w);
        sc = sc > ws ? sc : ws;
        hy_wino_free(&probe);
    }
    if (wino7) {
        hy_wino7 probe;
        ck_assert_int_eq(hy_wino7_init(&probe, wt, cout, cin, kh == 7, NULL), 0);
        size_t ws = hy_wino7_scratch_floats(&probe, h, w);
        sc = sc > ws ? sc : ws;
        hy_wino7_free(&probe);
    }
    float *scratch = malloc((sc ? sc : 1) * sizeof(float));
    for (int packed = 0; packed < 2 + (wino || wino7); packed++) {
        if (packed == 1) ck_assert_int_eq(hy_sgemm_pack(&c.ga, cout, cin * kh * kw, 1.0f, wt, cin * kh * kw), 0);
        if (packed == 2 && wino) ck_assert_int_eq(hy_wino_init(&c.wg, wt, cout, cin, ph, s, NULL), 0);
        if (packed == 2 && wino7) ck_assert_int_eq(hy_wino7_init(&c.w7, wt, cout, cin, kh == 7, NULL), 0);
        hy_facenet_conv_cnhw(y, (size_t)n * hwo, xc, &c, n, h, w, scratch, sc ? sc : 1);
        double d = 0;
        for (int i = 0; i < n; i++)
            for (int k = 0; k < cout; k++)
                for (size_t p = 0; p < hwo; p++) {
                    float ref = yr[((size_t)i * cout + k) * hwo + p];
                    if (hy_relu && ref < 0) ref = 0;
                    d = fmax(d, fabs(ref - y[((size_t)k * n + i) * hwo + p]));
                }
        ck_assert_msg(d < CONV_TOL, "conv cin=%d %dx%d k=%dx%d s=%d p=%d,%d n=%d mode %d (1 packed, 2 Winograd): max diff %g", cin, h, w, kh,
                      kw, s, ph, pw, n, packed, d);
    }
    hy_sgemm_free(&c.ga);
    hy_wino_free(&c.wg);
    hy_wino7_free(&c.w7);
    free(x), free(xc), free(wt), free(b), free(y), free(yr), free(scratch);
}

START_TEST(conv_cnhw_matches_naive) {
    // every kernel/stride/pad FaceNet uses, batch 1 and > 1, one-image and whole-batch tiles
    for (int tiny = 0; tiny < 2; tiny++) {
        check_conv(3, 21, 21, 4, 3, 3, 2, 0, 0, 3, 1, tiny);    // conv2d_1a
        check_conv(4, 9, 9, 5, 3, 3, 1, 1, 1, 2, 1, tiny);      // 3x3 same
        check_conv(6, 8, 8, 4, 1, 7, 1, 0, 3, 3, 0, tiny);      // block17 1x7
        check_conv(6, 8, 8, 4, 7, 1, 1, 3, 0, 1, 1, tiny);      // block17 7x1
        check_conv(6, 7, 9, 4, 1, 7, 1, 0, 3, 2, 1, tiny);      // 1x7 on an odd width, 7x1 on an odd height
        check_conv(6, 9, 7, 4, 7, 1, 1, 3, 0, 2, 0, tiny);
        check_conv(5, 3, 3, 6, 1, 3, 1, 0, 1, 4, 1, tiny);      // block8 1x3
        check_conv(5, 3, 3, 6, 3, 1, 1, 1, 0, 2, 0, tiny);      // block8 3x1
        check_conv(7, 10, 6, 9, 1, 1, 1, 0, 0, 3, 1, tiny);     // 1x1 (no im2col)
        check_conv(4, 17, 17, 3, 3, 3, 2, 0, 0, 2, 1, tiny);    // reduction 3x3/2 valid
        check_conv(4, 36, 35, 3, 3, 3, 2, 0, 0, 2, 1, tiny);    // conv2d_4b's 3x3/2: its Winograd form too
        check_conv(2, 2, 2, 3, 1, 7, 1, 0, 3, 2, 1, tiny);      // kernel wider than the padded input rows
    }
    // big enough for im2col and bias/ReLU to be split with the helper thread (2 threads)
    hy_set_threads(2);
    check_conv(16, 40, 40, 24, 3, 3, 1, 1, 1, 3, 1, 1);
    check_conv(16, 40, 40, 24, 3, 3, 1, 1, 1, 3, 1, 0);
    check_conv(40, 30, 30, 48, 1, 1, 1, 0, 0, 2, 1, 0);
    hy_set_threads(1);
}
END_TEST

// --- golden tiny network ------------------------------------------------------------------------

typedef struct {
    const wfile *ref;
    int nblocks, missing;
    double worst_rel;
    char worst[64];
} golden_ctx;

// Tolerance per block: reference = float64 torch run of the UNFOLDED model, C = float32 with BN
// folded into the conv weights (folding rounds each weight once, ~6e-8 relative). Through up to
// 40 sequential layers with K <= 1000 terms, float32 accumulation gives relative errors ~1e-6
// of the tensor's scale; 2e-5 * max(1, max|ref|) leaves margin, and any wrong pad, scale,
// branch order or BN gives O(0.1) relative errors.
#define BLOCK_RTOL 2e-5

static void golden_hook(void *user, const char *name, const float *x, int c, int h, int w) {
    golden_ctx *g = user;
    char tn[96];
    snprintf(tn, sizeof tn, "act.%s", name);
    const wf_tensor *t = hy_wf_find(g->ref, tn);
    g->nblocks++;
    if (!t) {
        g->missing++;
        return;
    }
    size_t len = (size_t)c * h * w, tl;
    hy_prod_dims(t->dims, t->ndim, &tl);
    ck_assert_msg(tl == len, "%s: C has %zu values, reference %zu", name, len, tl);
    const float *ref = t->data;
    tensor_stats s = hy_stats_f32(ref, len);
    double scale = fmax(1.0, fmax(fabs(s.min), fabs(s.max)));
    double d = hy_max_abs_diff(x, ref, len) / scale;
    if (d > g->worst_rel) {
        g->worst_rel = d;
        snprintf(g->worst, sizeof g->worst, "%s", name);
    }
    ck_assert_msg(d < BLOCK_RTOL, "block %s: max abs diff %g (scale %g) exceeds %g", name, d * scale, scale,
                  BLOCK_RTOL * scale);
}

static float *tiny_input(const wfile *ref, int *n) {
    const wf_tensor *p = hy_wf_find(ref, "pixels");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->dtype, WF_U8);
    size_t len = p->nbytes;
    float *x = malloc(len * sizeof(float));
    const uint8_t *u = p->data;
    for (size_t i = 0; i < len; i++) x[i] = ((float)u[i] - 127.5f) / 128.0f;
    *n = (int)p->dims[0];
    return x;
}

START_TEST(golden_tiny_every_block) {
    facenet f;
    wfile ref;
    ck_assert_msg(hy_facenet_load(&f, TINY) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_wf_open(&ref, TINY_REF) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(f.nblocks, 7 + 5 + 1 + 10 + 1 + 5 + 1);
    ck_assert_int_eq(f.input_size, 160);
    ck_assert_int_eq(f.feat_dim, 1792 / 8);
    ck_assert_int_eq(f.emb_dim, 512 / 8);
    int n;
    float *x = tiny_input(&ref, &n);
    ck_assert_int_eq(n, 2);
    float *emb = malloc((size_t)n * f.emb_dim * sizeof(float));
    golden_ctx g = {&ref, 0, 0, 0, ""};
    ck_assert_int_eq(hy_facenet_forward(&f, x, n, emb, golden_hook, &g), 0);
    ck_assert_int_eq(g.nblocks, 33);  // 30 blocks + avgpool_1a, last_linear, embedding
    ck_assert_int_eq(g.missing, 0);
    printf("golden tiny FaceNet: worst block %s, max abs diff / scale = %.2e\n", g.worst, g.worst_rel);
    // both embeddings of the batch; unit vectors, so an absolute tolerance (same reasoning)
    const float *e;
    int64_t ed[2] = {n, f.emb_dim};
    ck_assert_int_eq(hy_wf_get_f32(&ref, "embedding", 2, ed, &e), 0);
    ck_assert_double_lt(hy_max_abs_diff(emb, e, (size_t)n * f.emb_dim), 2e-5);
    for (int i = 0; i < n; i++) {
        double s = 0;
        for (int j = 0; j < f.emb_dim; j++) s += (double)emb[i * f.emb_dim + j] * emb[i * f.emb_dim + j];
        ck_assert_double_eq_tol(s, 1.0, 1e-5);
    }
    // Batch independence: image 1 alone equals image 1 of the batch (only the sgemm blocking
    // differs, so a float32 rounding-level tolerance).
    float e1[512];
    ck_assert_int_eq(hy_facenet_forward(&f, x + (size_t)3 * 160 * 160, 1, e1, NULL, NULL), 0);
    ck_assert_double_lt(hy_max_abs_diff(e1, emb + f.emb_dim, f.emb_dim), 1e-6);
    // Re-running with a larger batch after a smaller one (buffers re-reserved) gives the same.
    float *x3 = malloc((size_t)3 * 3 * 160 * 160 * sizeof(float)), *e3 = malloc((size_t)3 * f.emb_dim * 4);
    memcpy(x3, x, (size_t)2 * 3 * 160 * 160 * 4);
    memcpy(x3 + (size_t)2 * 3 * 160 * 160, x, (size_t)3 * 160 * 160 * 4);
    ck_assert_int_eq(hy_facenet_forward(&f, x3, 3, e3, NULL, NULL), 0);
    ck_assert_double_lt(hy_max_abs_diff(e3, emb, (size_t)2 * f.emb_dim), 1e-6);
    ck_assert_double_lt(hy_max_abs_diff(e3 + 2 * f.emb_dim, emb, f.emb_dim), 1e-6);
    // Two threads (OpenBLAS threads + the helper for im2col/bias): same result up to sgemm
    // blocking, i.e. float32 rounding.
    hy_set_threads(2);
    float *e2t = malloc((size_t)n * f.emb_dim * sizeof(float));
    ck_assert_int_eq(hy_facenet_forward(&f, x, n, e2t, NULL, NULL), 0);
    ck_assert_double_lt(hy_max_abs_diff(e2t, emb, (size_t)n * f.emb_dim), 1e-6);
    // An odd batch at two threads runs as two lanes (2 + 1 images, one thread each): same rows.
    float *e3t = malloc((size_t)3 * f.emb_dim * 4);
    ck_assert_int_eq(hy_facenet_forward(&f, x3, 3, e3t, NULL, NULL), 0);
    ck_assert_double_lt(hy_max_abs_diff(e3t, e3, (size_t)3 * f.emb_dim), 1e-6);
    // a NaN in the second lane's half is refused before either lane runs
    x3[(size_t)2 * 3 * 160 * 160 + 7] = NAN;
    ck_assert_int_eq(hy_facenet_forward(&f, x3, 3, e3t, NULL, NULL), HY_EVALUE);
    hy_set_threads(1);
    free(e2t), free(e3t);
    // NaN input is refused
    x[5] = NAN;
    ck_assert_int_eq(hy_facenet_forward(&f, x, 1, e1, NULL, NULL), HY_EVALUE);
    free(x), free(x3), free(e3), free(emb);
    hy_wf_close(&ref);
    hy_facenet_free(&f);
}
END_TEST

// Copies the tiny weight file to `path`, making tensor `narrow` one input channel narrower
// (its data a prefix) and adding tensor `extra` when not NULL.
static void rewrite_tiny(const char *path, const char *narrow, const char *extra) {
    wfile src;
    ck_assert_int_eq(hy_wf_open(&src, TINY), 0);
    wf_writer *w = hy_wf_writer_new("facenet");
    for (uint32_t i = 0; i < src.n_config; i++) {
        const wf_kv *kv = &src.config[i];
        if (kv->type == WF_CFG_INT) hy_wf_writer_int(w, kv->key, kv->i);
        else if (kv->type == WF_CFG_FLOAT) hy_wf_writer_float(w, kv->key, kv->f);
        else if (kv->type == WF_CFG_STR) hy_wf_writer_str(w, kv->key, kv->s);
        else if (kv->type == WF_CFG_INTS) hy_wf_writer_ints(w, kv->key, kv->ints, kv->count);
        else hy_wf_writer_floats(w, kv->key, kv->floats, kv->count);
    }
    for (uint32_t i = 0; i < src.n_tensors; i++) {
        const wf_tensor *t = &src.tensors[i];
        int64_t dims[WF_MAX_NDIM];
        memcpy(dims, t->dims, sizeof dims);
        if (narrow && !strcmp(t->name, narrow)) dims[1] -= 1;
        hy_wf_writer_tensor(w, t->name, t->dtype, t->ndim, dims, t->data);
    }
    if (extra) hy_wf_writer_tensor(w, extra, src.tensors[0].dtype, 1, src.tensors[0].dims, src.tensors[0].data);
    ck_assert_int_eq(hy_wf_writer_save(w, path), 0);
    hy_wf_writer_free(w);
    hy_wf_close(&src);
}

START_TEST(load_rejects_wrong_kind_and_shapes) {
    facenet f;
    ck_assert_int_ne(hy_facenet_load(&f, TINY_REF), 0);
    ck_assert_msg(strstr(hy_errmsg(), "expected 'facenet'") != NULL, "message: %s", hy_errmsg());
    char *d = test_tmpdir(), path[256];
    snprintf(path, sizeof path, "%s/bad.bin", d);
    rewrite_tiny(path, "repeat_2.3.conv2d.weight", NULL);  // wrong shape: named
    ck_assert_int_ne(hy_facenet_load(&f, path), 0);
    ck_assert_msg(strstr(hy_errmsg(), "repeat_2.3.conv2d.weight") != NULL, "message: %s", hy_errmsg());
    rewrite_tiny(path, NULL, "logits.weight");  // a tensor the network does not use: refused
    ck_assert_int_ne(hy_facenet_load(&f, path), 0);
    ck_assert_msg(strstr(hy_errmsg(), "unexpected tensor 'logits.weight'") != NULL, "message: %s", hy_errmsg());
    rewrite_tiny(path, NULL, NULL);  // the unchanged copy loads
    ck_assert_msg(hy_facenet_load(&f, path) == 0, "%s", hy_errmsg());
    hy_facenet_free(&f);
}
END_TEST

// --- CLI ---------------------------------------------------------------------------------------

// Writes the two fixture images as 160x160 PNGs (160 -> 160 resize is the identity).
static void write_tiny_pngs(const char *dir, char paths[2][256]) {
    wfile ref;
    ck_assert_int_eq(hy_wf_open(&ref, TINY_REF), 0);
    const uint8_t *p = hy_wf_find(&ref, "pixels")->data;
    uint8_t *rgb = malloc(160 * 160 * 3);
    for (int i = 0; i < 2; i++) {
        for (int c = 0; c < 3; c++)
            for (int k = 0; k < 160 * 160; k++) rgb[3 * k + c] = p[((size_t)i * 3 + c) * 160 * 160 + k];
        snprintf(paths[i], 256, "%s/face%d.png", dir, i);
        ck_assert_int_eq(hy_png_write_rgb8(paths[i], 160, 160, rgb), 0);
    }
    free(rgb);
    hy_wf_close(&ref);
}

static const float *ref_embedding(wfile *ref) {
    ck_assert_int_eq(hy_wf_open(ref, TINY_REF), 0);
    return hy_wf_find(ref, "embedding")->data;
}

START_TEST(cli_embed_images_and_npy) {
    char *d = test_tmpdir(), png[2][256], out[300], xin[300], cmd_out[300];
    write_tiny_pngs(d, png);
    snprintf(out, sizeof out, "%s/e.npy", d);
    char *log = NULL;
    int rc = run_hyper(&log, "embed -e %s --crop full %s %s -o %s --face-batch 1", TINY, png[0], png[1], out);
    ck_assert_msg(rc == 0, "embed failed: %s", log);
    free(log);
    wfile ref;
    const float *e = ref_embedding(&ref);
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(out, &a, 0), 0);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert_int_eq(a.dims[0], 2);
    ck_assert_int_eq(a.dims[1], 64);
    ck_assert_double_lt(hy_max_abs_diff(a.data, e, 128), 2e-5);  // as in golden_tiny_every_block
    hy_npy_free_f32(&a);
    // --input-npy with the same standardised tensor, batch 2, plus --trace and --dump
    int n;
    float *x = tiny_input(&ref, &n);
    int64_t dims[4] = {2, 3, 160, 160};
    snprintf(xin, sizeof xin, "%s/x.npy", d);
    ck_assert_int_eq(hy_npy_write_f32(xin, 4, dims, x), 0);
    free(x);
    snprintf(cmd_out, sizeof cmd_out, "%s/e2.npy", d);
    rc = run_hyper(&log, "embed -e %s --input-npy %s -o %s --trace --dump %s/dump", TINY, xin, cmd_out, d);
    ck_assert_msg(rc == 0, "embed --input-npy failed: %s", log);
    int lines = 0;
    for (char *s = log; (s = strstr(s, "  min ")); s++) lines++;
    ck_assert_int_eq(lines, 33);
    ck_assert_ptr_nonnull(strstr(log, "repeat_2.9   ( 112,  8,  8)"));
    free(log);
    ck_assert_int_eq(hy_npy_read_f32(cmd_out, &a, 0), 0);
    ck_assert_double_lt(hy_max_abs_diff(a.data, e, 128), 2e-5);
    hy_npy_free_f32(&a);
    char dd[300];
    snprintf(dd, sizeof dd, "%s/dump", d);
    ck_assert_int_eq(dir_count(dd), 33);
    snprintf(dd, sizeof dd, "%s/dump/mixed_7a.npy", d);
    ck_assert_int_eq(hy_npy_read_f32(dd, &a, 0), 0);
    ck_assert_int_eq(a.ndim, 3);
    ck_assert_int_eq(a.dims[0], 224);
    const float *r7 = hy_wf_find(&ref, "act.mixed_7a")->data;
    ck_assert_double_lt(hy_max_abs_diff(a.data, r7, (size_t)a.size), BLOCK_RTOL * 100);  // values ~O(10)
    hy_npy_free_f32(&a);
    // distance = ||e0 - e1||
    rc = run_hyper(&log, "distance -e %s --crop full %s %s", TINY, png[0], png[1]);
    ck_assert_msg(rc == 0, "distance failed: %s", log);
    double want = 0;
    for (int j = 0; j < 64; j++) want += (e[j] - e[64 + j]) * (e[j] - e[64 + j]);
    ck_assert_double_eq_tol(atof(log), sqrt(want), 1e-5);
    free(log);
    hy_wf_close(&ref);
}
END_TEST

START_TEST(cli_crop_box) {
    // A 200x180 image whose box 20,10,180,170 is the fixture face: same embedding as the face.
    char *d = test_tmpdir(), png[2][256], big[300], out[300];
    write_tiny_pngs(d, png);
    int w, h;
    uint8_t *face;
    ck_assert_int_eq(hy_image_read_rgb8(png[0], &w, &h, &face), 0);
    uint8_t *rgb = calloc(200 * 180 * 3, 1);
    for (int y = 0; y < 160; y++) memcpy(rgb + ((size_t)(y + 10) * 200 + 20) * 3, face + (size_t)y * 160 * 3, 480);
    snprintf(big, sizeof big, "%s/big.png", d);
    ck_assert_int_eq(hy_png_write_rgb8(big, 200, 180, rgb), 0);
    free(rgb), free(face);
    snprintf(out, sizeof out, "%s/e.npy", d);
    char *log;
    int rc = run_hyper(&log, "embed -e %s %s --crop box:20,10,180,170 -o %s", TINY, big, out);
    ck_assert_msg(rc == 0, "%s", log);
    free(log);
    wfile ref;
    const float *e = ref_embedding(&ref);
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(out, &a, 0), 0);
    ck_assert_double_lt(hy_max_abs_diff(a.data, e, 64), 2e-5);
    hy_npy_free_f32(&a);
    hy_wf_close(&ref);
    // box outside the image: error naming the file, nothing written
    snprintf(out, sizeof out, "%s/e_bad.npy", d);
    rc = run_hyper(&log, "embed -e %s %s --crop box:20,10,201,170 -o %s", TINY, big, out);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(log, "big.png") && strstr(log, "outside"), "%s", log);
    ck_assert(!file_exists(out));
    free(log);
    rc = run_hyper(&log, "embed -e %s %s --crop box:1,2,3 -o %s", TINY, big, out);
    ck_assert_int_ne(rc, 0);
    ck_assert_msg(strstr(log, "--crop"), "%s", log);
    free(log);
}
END_TEST

// --- bad inputs ----------------------------------------------------------------------------------

static void expect_fail(const char *dir, const char *args, const char *needle) {
    char *log = NULL;
    int before = dir_count(dir);
    int rc = run_hyper(&log, "%s", args);
    ck_assert_msg(rc != 0, "expected failure for '%s'", args);
    ck_assert_msg(strstr(log, needle) != NULL, "'%s': message lacks '%s': %s", args, needle, log);
    ck_assert_msg(strchr(log, '\n') == strrchr(log, '\n'), "'%s': more than one line: %s", args, log);
    ck_assert_int_eq(dir_count(dir), before);  // no output, no temp file left
    free(log);
}

static void put_u32be(uint8_t *p, uint32_t v) {
    p[0] = v >> 24, p[1] = v >> 16, p[2] = v >> 8, p[3] = v;
}

START_TEST(bad_inputs_fail_cleanly) {
    char *d = test_tmpdir(), png[2][256], p[300], args[2048];
    write_tiny_pngs(d, png);
    // non-PNG
    snprintf(p, sizeof p, "%s/notpng.png", d);
    FILE *f = fopen(p, "wb");
    fputs("this is not a png\n", f);
    fclose(f);
    snprintf(args, sizeof args, "embed -e %s --crop full %s %s -o %s/e.npy", TINY, png[0], p, d);
    expect_fail(d, args, "notpng.png");
    // truncated PNG (first half of a valid one)
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(hy_read_file(png[1], &buf, &len, 0), 0);
    snprintf(p, sizeof p, "%s/trunc.png", d);
    f = fopen(p, "wb");
    fwrite(buf, 1, len / 2, f);
    fclose(f);
    free(buf);
    snprintf(args, sizeof args, "embed -e %s --crop full %s -o %s/e.npy", TINY, p, d);
    expect_fail(d, args, "trunc.png");
    // zero-size image: a PNG whose IHDR says 0 x 16
    uint8_t z[33] = {0x89, 'P', 'N', 'G', '\r', '\n', 0x1a, '\n', 0, 0, 0, 13, 'I', 'H', 'D', 'R'};
    put_u32be(z + 16, 0);
    put_u32be(z + 20, 16);
    z[24] = 8, z[25] = 2;  // 8-bit RGB
    put_u32be(z + 29, (uint32_t)crc32(0, z + 12, 17));
    snprintf(p, sizeof p, "%s/zero.png", d);
    f = fopen(p, "wb");
    fwrite(z, 1, sizeof z, f);
    fclose(f);
    snprintf(args, sizeof args, "distance -e %s --crop full %s %s", TINY, png[0], p);
    expect_fail(d, args, "zero.png");
    // wrong tensor shape for --input-npy
    float *x = calloc((size_t)2 * 3 * 159 * 160, sizeof(float));
    int64_t dims[4] = {2, 3, 159, 160};
    snprintf(p, sizeof p, "%s/x159.npy", d);
    ck_assert_int_eq(hy_npy_write_f32(p, 4, dims, x), 0);
    free(x);
    snprintf(args, sizeof args, "embed -e %s --input-npy %s -o %s/e.npy", TINY, p, d);
    expect_fail(d, args, "(2,3,159,160)");
    // wrong weight-file kind
    snprintf(args, sizeof args, "embed -e %s --crop full %s -o %s/e.npy", TINY_REF, png[0], d);
    expect_fail(d, args, "expected an identity model ('facenet' or 'faceapi_recognition')");
    // missing image file
    snprintf(args, sizeof args, "embed -e %s --crop full %s/nope.png -o %s/e.npy", TINY, d, d);
    expect_fail(d, args, "nope.png");
}
END_TEST

// --- real weights (optional) ---------------------------------------------------------------------

static const char *shared_data(void) {
    const char *e = getenv("HY_SHARED_DATA");
    if (e && *e) return e;
    return hy_path_exists("../shared/data") ? "../shared/data" : "/work/shared/data";
}

START_TEST(real_weights_oracle) {
    const char *wpath = "weights/facenet-vggface2.bin";
    if (!file_exists(wpath))
        TEST_SKIP("%s not found (convert 20180402-114759-vggface2.pt with convert/facenet.py to run the "
                  "spec section 4 oracle)", wpath);
    static const char *names[5] = {"angelina_jolie", "bradley_cooper", "kate_siegel", "paul_rudd", "shea_whigham"};
    char args[4096] = "", path[1024];
    int off = 0;
    for (int i = 0; i < 5; i++) {
        snprintf(path, sizeof path, "%s/faces/aligned/%s.png", shared_data(), names[i]);
        if (!file_exists(path)) TEST_SKIP("shared face crops not found (%s)", path);
        off += snprintf(args + off, sizeof args - off, " %s", path);
    }
    char *d = test_tmpdir(), out[300], *log;
    snprintf(out, sizeof out, "%s/e.npy", d);
    int rc = run_hyper(&log, "embed -e %s --crop full%s -o %s", wpath, args, out);  // aligned crops: no detection
    ck_assert_msg(rc == 0, "%s", log);
    free(log);
    npy_f32 e;
    ck_assert_int_eq(hy_npy_read_f32(out, &e, 0), 0);
    ck_assert_int_eq(e.dims[1], 512);
    // facenet-pytorch tests/actions_test.py, vggface2: upper triangle, row-major
    static const double expect[10] = {1.482895, 0.886342, 1.438450, 1.437583, 1.345686,
                                      1.029880, 1.061939, 1.363125, 1.338803, 1.066040};
    double fro = 0;
    int k = 0;
    for (int i = 0; i < 5; i++)
        for (int j = i + 1; j < 5; j++, k++) {
            double s = 0;
            for (int c = 0; c < 512; c++) s += pow(e.data[i * 512 + c] - e.data[j * 512 + c], 2);
            printf("  %s-%s %.6f (expected %.6f)\n", names[i], names[j], sqrt(s), expect[k]);
            fro += 2 * pow(sqrt(s) - expect[k], 2);  // the full symmetric matrix counts each pair twice
        }
    hy_npy_free_f32(&e);
    ck_assert_msg(sqrt(fro) < 1e-2, "Frobenius norm of distance error %g >= 1e-2", sqrt(fro));
}
END_TEST

static Suite *facenet_suite(void) {
    Suite *s = suite_create("facenet");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, conv_cnhw_matches_naive);
    tcase_add_test(tc, golden_tiny_every_block);
    tcase_add_test(tc, load_rejects_wrong_kind_and_shapes);
    tcase_add_test(tc, cli_embed_images_and_npy);
    tcase_add_test(tc, cli_crop_box);
    tcase_add_test(tc, bad_inputs_fail_cleanly);
    tcase_add_test(tc, real_weights_oracle);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(facenet_suite)
