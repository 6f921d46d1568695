// test_mtcnn.c - MTCNN: per-network and per-stage goldens against convert/ref/mtcnn_ref.py
// (fixtures from convert/golden/golden_mtcnn.py: seeded random weights, synthetic image), the
// FaceNet crop against Pillow, bad input, the `hyper detect` CLI, and - when the shared
// data and /usr/bin/python3 with torch are present - the real weights against the oracle
// of shared/spec/mtcnn.md section 4.
#include <math.h>

#include "base/common.h"
#include "base/image_io.h"
#include "models/mtcnn.h"
#include "nn/ops.h"
#include "testutil.h"
#include "base/wfile.h"

#define TINY "tests/fixtures/mtcnn_tiny.bin"
#define GOLD "tests/fixtures/mtcnn_golden.bin"

static mtcnn_model M;
static wfile G;

static void setup(void) {
    // one thread: the tests run beside other jobs on small machines, where BLAS/OpenMP
    // threads spin against each other (results do not depend on the thread count)
    hy_set_threads(1);
    setenv("HY_THREADS", "1", 1);
    ck_assert_msg(hy_mtcnn_load(&M, TINY) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_wf_open(&G, GOLD) == 0, "%s", hy_errmsg());
}
static void teardown(void) {
    hy_mtcnn_free(&M);
    hy_wf_close(&G);
}

static const wf_tensor *ref(const char *name) {
    const wf_tensor *t = hy_wf_find(&G, name);
    ck_assert_msg(t != NULL, "golden tensor %s missing", name);
    return t;
}
static const float *reff(const char *name, size_t *len) {
    const wf_tensor *t = ref(name);
    ck_assert_int_eq(t->dtype, WF_F32);
    if (len) *len = t->nbytes / 4;
    return t->data;
}

// --- networks -----------------------------------------------------------------------
// Tolerance 2e-5: C (im2col+sgemm) and torch (mkldnn) sum the same float32 products in
// different orders; over <= 1152 terms of O(1) values that moves outputs by ~1e-6.
#define NET_TOL 2e-5

START_TEST(test_pnet_golden) {
    const wf_tensor *x = ref("pnet.x");
    int h = (int)x->dims[2], w = (int)x->dims[3];
    int ho = hy_mtcnn_pnet_out_size(h), wo = hy_mtcnn_pnet_out_size(w);
    size_t nr, np;
    const float *er = reff("pnet.reg", &nr), *ep = reff("pnet.prob", &np);
    ck_assert_int_eq(nr, (size_t)4 * ho * wo);  // ceil-mode output size (17x23 -> 4x7)
    ck_assert_int_eq(ho, 4);
    ck_assert_int_eq(wo, 7);
    float reg[4 * 4 * 7], prob[2 * 4 * 7];
    ck_assert_int_eq(hy_mtcnn_pnet(&M, x->data, h, w, reg, prob), 0);
    double dr = hy_max_abs_diff(reg, er, nr), dp = hy_max_abs_diff(prob, ep, np);
    ck_assert_msg(dr < NET_TOL && dp < NET_TOL, "pnet reg %.3g prob %.3g", dr, dp);
    // a 12x12 input gives one cell
    ck_assert_int_eq(hy_mtcnn_pnet_out_size(12), 1);
    ck_assert_int_eq(hy_mtcnn_pnet(&M, x->data, 11, 30, reg, prob), HY_ESHAPE);
}
END_TEST

START_TEST(test_rnet_golden) {
    const wf_tensor *x = ref("rnet.x");
    int n = (int)x->dims[0];
    float reg[5 * 4], prob[5 * 2];
    ck_assert_int_eq(hy_mtcnn_rnet(&M, x->data, n, reg, prob), 0);
    double dr = hy_max_abs_diff(reg, reff("rnet.reg", NULL), (size_t)n * 4);
    double dp = hy_max_abs_diff(prob, reff("rnet.prob", NULL), (size_t)n * 2);
    ck_assert_msg(dr < NET_TOL && dp < NET_TOL, "rnet reg %.3g prob %.3g", dr, dp);
}
END_TEST

START_TEST(test_onet_golden) {
    const wf_tensor *x = ref("onet.x");
    int n = (int)x->dims[0];
    float reg[3 * 4], lm[3 * 10], prob[3 * 2];
    ck_assert_int_eq(hy_mtcnn_onet(&M, x->data, n, reg, lm, prob), 0);
    double dr = hy_max_abs_diff(reg, reff("onet.reg", NULL), (size_t)n * 4);
    double dl = hy_max_abs_diff(lm, reff("onet.lm", NULL), (size_t)n * 10);
    double dp = hy_max_abs_diff(prob, reff("onet.prob", NULL), (size_t)n * 2);
    ck_assert_msg(dr < NET_TOL && dl < NET_TOL && dp < NET_TOL, "onet reg %.3g lm %.3g prob %.3g", dr, dl, dp);
}
END_TEST

// --- pipeline pieces ---------------------------------------------------------------------
// Area resampling is bit-exact by construction (integer bins, float32 row-major sums of
// integers, /kh then /kw: spec 2.3), so the tolerance is 0.
START_TEST(test_area_resample_exact) {
    const wf_tensor *im = ref("image");
    int H = (int)im->dims[0], W = (int)im->dims[1];
    const uint8_t *rgb = im->data;
    float down[3 * 24 * 31], up[3 * 24 * 24];
    hy_mtcnn_area_resample(down, 24, 31, rgb, W, 3, 7, 117, 83);  // rows 7..89, cols 3..119
    hy_mtcnn_area_resample(up, 24, 24, rgb, W, 3, 5, 7, 11);      // rows 5..15, cols 3..9 (upsampling)
    ck_assert_double_eq(hy_max_abs_diff(down, reff("area.down", NULL), sizeof down / 4), 0.0);
    ck_assert_double_eq(hy_max_abs_diff(up, reff("area.up", NULL), sizeof up / 4), 0.0);
    for (int l = 0; l < 2; l++) {
        char nm[32];
        snprintf(nm, sizeof nm, "level%d.img", l);
        const wf_tensor *t = ref(nm);
        int hs = (int)t->dims[1], ws = (int)t->dims[2];
        float *o = malloc(sizeof(float) * 3 * hs * ws);
        hy_mtcnn_area_resample(o, hs, ws, rgb, W, 0, 0, W, H);
        ck_assert_double_eq(hy_max_abs_diff(o, t->data, (size_t)3 * hs * ws), 0.0);
        free(o);
    }
}
END_TEST

START_TEST(test_pyramid) {
    double s[MTCNN_MAX_LEVELS];
    const wf_tensor *t = ref("scales");
    int n = hy_mtcnn_pyramid(100, 130, s, MTCNN_MAX_LEVELS);
    ck_assert_int_eq(n, (int)t->dims[0]);
    for (int i = 0; i < n; i++) ck_assert_double_eq(s[i], ((const double *)t->data)[i]);  // same double ops
    // spec 2.2: 800x800 -> first level 481 (truncation of 800*0.6+1); angelina (650x800): 11 levels
    ck_assert_int_eq(hy_mtcnn_pyramid(800, 650, s, MTCNN_MAX_LEVELS), 11);
    ck_assert_int_eq((int)(800 * s[0] + 1), 481);
    ck_assert_int_eq(hy_mtcnn_pyramid(19, 500, s, MTCNN_MAX_LEVELS), 0);  // min side < 20: no level
    ck_assert_int_eq(hy_mtcnn_pyramid(20, 20, s, MTCNN_MAX_LEVELS), 1);
}
END_TEST

// The private ceil-mode pool must equal ops.h max_pool2d exactly (both take maxima).
START_TEST(test_pool_ceil_matches_ops) {
    const int shapes[][4] = {{22, 22, 3, 2}, {9, 9, 3, 2}, {46, 46, 3, 2}, {21, 21, 3, 2}, {8, 8, 2, 2},
                             {17, 23, 2, 2}, {5, 4, 3, 2}, {1, 7, 2, 2}, {2, 2, 3, 2}};
    for (size_t si = 0; si < sizeof shapes / sizeof shapes[0]; si++) {
        int h = shapes[si][0], w = shapes[si][1], k = shapes[si][2], st = shapes[si][3], planes = 3;
        int ho = hy_pool_out_size(h, k, st, 1), wo = hy_pool_out_size(w, k, st, 1);
        float *in = malloc(sizeof(float) * planes * h * w), *a = malloc(sizeof(float) * planes * ho * wo),
              *b = malloc(sizeof(float) * planes * ho * wo);
        for (int i = 0; i < planes * h * w; i++) in[i] = (float)((i * 7919) % 113) - 56.5f;
        hy_mtcnn_pool_ceil_for_test(a, in, planes, h, w, k, st);
        hy_max_pool2d(b, in, 1, planes, h, w, k, st, 1);
        ck_assert_msg(hy_max_abs_diff(a, b, (size_t)planes * ho * wo) == 0.0, "pool %dx%d k%d", h, w, k);
        free(in), free(a), free(b);
    }
}
END_TEST

START_TEST(test_nms) {
    // IoU (no +1): A=[0,0,10,10], B=[0,0,10,8] -> IoU 0.8; C=[5,0,15,10] -> IoU with A 1/3
    float b[4][5] = {{0, 0, 10, 10, 0.9f}, {0, 0, 10, 8, 0.95f}, {5, 0, 15, 10, 0.5f}, {100, 100, 101, 101, 0.7f}};
    int keep[4];
    int n = hy_mtcnn_nms(&b[0][0], 4, 5, 0.7f, 0, keep);
    ck_assert_int_eq(n, 3);  // A suppressed by B (0.8 > 0.7); kept in descending score
    ck_assert_int_eq(keep[0], 1);
    ck_assert_int_eq(keep[1], 3);
    ck_assert_int_eq(keep[2], 2);
    n = hy_mtcnn_nms(&b[0][0], 4, 5, 0.3f, 0, keep);  // C: IoU(B,C)=40/(80+100-40)=0.286 -> kept
    ck_assert_int_eq(n, 3);
    // Min (+1): inside box D=[2,2,5,5] of E=[0,0,20,20]: inter/min = 1 > 0.7 -> suppressed
    float m[2][5] = {{0, 0, 20, 20, 0.8f}, {2, 2, 5, 5, 0.99f}};
    n = hy_mtcnn_nms(&m[0][0], 2, 5, 0.7f, 1, keep);
    ck_assert_int_eq(n, 1);
    ck_assert_int_eq(keep[0], 1);
    n = hy_mtcnn_nms(&m[0][0], 2, 5, 0.7f, 0, keep);  // IoU = 9/400: both kept
    ck_assert_int_eq(n, 2);
    ck_assert_int_eq(hy_mtcnn_nms(&m[0][0], 0, 5, 0.7f, 0, keep), 0);
}
END_TEST

static double rows_diff(const float *a, const float *b, int n, int cols, int bcols) {
    double d = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < cols; k++) d = fmax(d, fabs((double)a[i * cols + k] - b[i * bcols + k]));
    return d;
}

// Stage boxes: the counts must be equal (every decision has a margin >= 1e-4 in the fixture,
// checked by the generator). Box tolerance 2e-3 px: the regressions differ by <= NET_TOL
// and are multiplied by box sizes up to ~100 px; probabilities by NET_TOL.
START_TEST(test_pipeline_stages) {
    const wf_tensor *im = ref("image");
    int H = (int)im->dims[0], W = (int)im->dims[1];
    mtcnn_face *f;
    int nf;
    mtcnn_trace t;
    ck_assert_msg(hy_mtcnn_detect(&M, NULL, im->data, W, H, &f, &nf, &t) == 0, "%s", hy_errmsg());
    const wf_tensor *nc = ref("n_cand");
    ck_assert_int_eq(t.n_levels, (int)nc->dims[0]);
    for (int l = 0; l < t.n_levels; l++) ck_assert_int_eq(t.n_cand[l], (int)((const int64_t *)nc->data)[l]);
    const wf_tensor *cat = ref("cat"), *s1 = ref("stage1"), *s2 = ref("stage2"), *fb = ref("faces.box");
    ck_assert_int_eq(t.n_cat, (int)cat->dims[0]);
    ck_assert_int_eq(t.n1, (int)s1->dims[0]);
    ck_assert_int_eq(t.n2, (int)s2->dims[0]);
    ck_assert_int_eq(t.n_onet_in, (int)((const int64_t *)ref("n_onet_in")->data)[0]);
    ck_assert_int_eq(nf, (int)fb->dims[0]);
    ck_assert(nf >= 2);
    double dcat = rows_diff(t.cat, cat->data, t.n_cat, 9, 9);
    double d1 = rows_diff(t.stage1, s1->data, t.n1, 5, 5);
    double d2 = rows_diff(t.stage2, s2->data, t.n2, 5, 5);
    ck_assert_msg(dcat < 1e-4, "P-Net candidates differ by %.3g", dcat);  // integer edges, p, reg: NET_TOL-ish
    ck_assert_msg(d1 < 2e-3 && d2 < 2e-3, "stage1 %.3g stage2 %.3g", d1, d2);
    const float *eb = fb->data, *ep = reff("faces.prob", NULL), *el = reff("faces.lm", NULL);
    double db = 0, dp = 0, dl = 0;
    for (int i = 0; i < nf; i++) {
        for (int k = 0; k < 4; k++) db = fmax(db, fabs(f[i].box[k] - eb[i * 4 + k]));
        dp = fmax(dp, fabs(f[i].prob - ep[i]));
        for (int k = 0; k < 10; k++) dl = fmax(dl, fabs(f[i].lm[k] - el[i * 10 + k]));
        if (i) ck_assert((f[i].box[2] - f[i].box[0]) * (f[i].box[3] - f[i].box[1]) <=
                         (f[i - 1].box[2] - f[i - 1].box[0]) * (f[i - 1].box[3] - f[i - 1].box[1]));
    }
    ck_assert_msg(db < 2e-3 && dl < 2e-3 && dp < NET_TOL, "faces box %.3g lm %.3g prob %.3g", db, dl, dp);
    hy_mtcnn_trace_free(&t);
    free(f);
}
END_TEST

// --- FaceNet crop: Pillow-exact (0 differing bytes) ------------------------------------------
START_TEST(test_facenet_crop_pillow) {
    const wf_tensor *src = ref("pil.src");
    int H = (int)src->dims[0], W = (int)src->dims[1];
    const char *names[] = {"down", "up", "edge"};
    for (int k = 0; k < 3; k++) {
        char nb[64], ni[64], no[64];
        snprintf(nb, sizeof nb, "pil.%s.box", names[k]);
        snprintf(ni, sizeof ni, "pil.%s.ibox", names[k]);
        snprintf(no, sizeof no, "pil.%s.out", names[k]);
        const float *box = reff(nb, NULL);
        const int64_t *eib = ref(ni)->data;
        int ib[4];
        ck_assert_int_eq(hy_mtcnn_facenet_box(box, W, H, 0, 160, ib), 0);
        for (int i = 0; i < 4; i++) ck_assert_int_eq(ib[i], (int)eib[i]);
        uint8_t *out = malloc(160 * 160 * 3);
        ck_assert_int_eq(hy_mtcnn_crop_face(out, 160, src->data, W, H, box, 0, NULL), 0);
        const uint8_t *e = ref(no)->data;
        int ndiff = 0;
        for (int i = 0; i < 160 * 160 * 3; i++) ndiff += out[i] != e[i];
        ck_assert_msg(ndiff == 0, "%s: %d bytes differ from Pillow", names[k], ndiff);
        free(out);
    }
    // Kate's oracle box (spec 4): y2 = 206.0036 -> crop rows up to 205 (Y2 = 206)
    float kate[4] = {267.1248f, 53.3072f, 379.2916f, 206.0036f};
    int ib[4];
    ck_assert_int_eq(hy_mtcnn_facenet_box(kate, 558, 800, 0, 160, ib), 0);
    ck_assert_int_eq(ib[0], 267);
    ck_assert_int_eq(ib[1], 53);
    ck_assert_int_eq(ib[2], 379);
    ck_assert_int_eq(ib[3], 206);
    // a box entirely outside the image is an error, not a crash
    float out_box[4] = {900, 900, 950, 950};
    ck_assert_int_eq(hy_mtcnn_facenet_box(out_box, 558, 800, 0, 160, ib), HY_EVALUE);
}
END_TEST

// --- bad input ---------------------------------------------------------------------------
START_TEST(test_bad_input) {
    mtcnn_face *f = (mtcnn_face *)1;
    int nf = -1;
    uint8_t small[19 * 40 * 3] = {0};
    // smaller than 20 px on a side (12 px is P-Net's window; the pyramid starts at 20): no faces
    ck_assert_int_eq(hy_mtcnn_detect(&M, NULL, small, 40, 19, &f, &nf, NULL), 0);
    ck_assert_int_eq(nf, 0);
    ck_assert_ptr_null(f);
    ck_assert_int_eq(hy_mtcnn_detect(&M, NULL, small, 11, 11, &f, &nf, NULL), 0);
    ck_assert_int_eq(nf, 0);
    // 0-size and huge images are refused before anything is read or allocated
    ck_assert_int_eq(hy_mtcnn_detect(&M, NULL, small, 0, 10, &f, &nf, NULL), HY_ESHAPE);
    ck_assert_int_eq(hy_mtcnn_detect(&M, NULL, small, 5000, 5000, &f, &nf, NULL), HY_ESHAPE);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "5000x5000"));
    // invalid options are refused
    mtcnn_options o;
    hy_mtcnn_default_options(&o);
    o.min_size = 5;
    ck_assert_int_eq(hy_mtcnn_detect(&M, &o, small, 40, 19, &f, &nf, NULL), HY_EARG);
    hy_mtcnn_default_options(&o);
    o.factor = 1.0;
    ck_assert_int_eq(hy_mtcnn_detect(&M, &o, small, 40, 19, &f, &nf, NULL), HY_EARG);
    // all-black image runs through every stage without error (count depends on the weights)
    uint8_t *black = calloc(64 * 64 * 3, 1);
    ck_assert_int_eq(hy_mtcnn_detect(&M, NULL, black, 64, 64, &f, &nf, NULL), 0);
    ck_assert(nf >= 0);
    free(f);
    free(black);
}
END_TEST

START_TEST(test_load_errors) {
    mtcnn_model m;
    ck_assert_int_ne(hy_mtcnn_load(&m, GOLD), 0);  // kind "reference"
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), GOLD));
    ck_assert_int_ne(hy_mtcnn_load(&m, "tests/fixtures/does_not_exist.bin"), 0);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "does_not_exist"));
}
END_TEST

// --- CLI -------------------------------------------------------------------------------
START_TEST(test_cli_detect) {
    char *dir = test_tmpdir(), p[512], out_dir[512], *out;
    const wf_tensor *im = ref("image");
    snprintf(p, sizeof p, "%s/synth.png", dir);
    ck_assert_int_eq(hy_png_write_rgb8(p, (int)im->dims[1], (int)im->dims[0], im->data), 0);
    int nf = (int)ref("faces.box")->dims[0];
    // default: the largest face only
    ck_assert_int_eq(run_hyper(&out, "detect -m %s %s", TINY, p), 0);
    ck_assert_msg(strstr(out, "synth.png") && strstr(out, "face 1/"), "%s", out);
    free(out);
    // --all --tsv: a header and one row per face; the first row is the largest box
    ck_assert_int_eq(run_hyper(&out, "detect -m %s %s --all --tsv", TINY, p), 0);
    int lines = 0;
    for (char *c = out; *c; c++) lines += *c == '\n';
    ck_assert_int_eq(lines, 1 + nf);
    ck_assert_ptr_nonnull(strstr(out, "image\tface\tx1\ty1\tx2\ty2\tprob"));
    char *row = strchr(out, '\n') + 1;
    double x1, y1;
    ck_assert_int_eq(sscanf(strchr(strchr(row, '\t') + 1, '\t') + 1, "%lf\t%lf", &x1, &y1), 2);
    ck_assert(fabs(x1 - ((const float *)ref("faces.box")->data)[0]) < 2e-3);
    free(out);
    // --crops writes one 160x160 PNG per printed face
    snprintf(out_dir, sizeof out_dir, "%s/crops", dir);
    ck_assert_int_eq(run_hyper(&out, "detect -m %s %s --all --save-crops %s", TINY, p, out_dir), 0);
    free(out);
    ck_assert_int_eq(dir_count(out_dir), nf);
    char c1[600];
    snprintf(c1, sizeof c1, "%s/synth_1.png", out_dir);
    int w, h;
    uint8_t *rgb;
    ck_assert_msg(hy_png_read_rgb8(c1, &w, &h, &rgb) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(w, 160);
    ck_assert_int_eq(h, 160);
    free(rgb);
    // corrupt PNG: one-line error naming the file, exit 1
    char bad[512];
    snprintf(bad, sizeof bad, "%s/bad.png", dir);
    FILE *fp = fopen(bad, "wb");
    fwrite("\x89PNG\r\n\x1a\nxxxxgarbage", 1, 19, fp);
    fclose(fp);
    ck_assert_int_eq(run_hyper(&out, "detect -m %s %s", TINY, bad), 1);
    ck_assert_msg(strstr(out, "bad.png") != NULL, "%s", out);
    free(out);
    // tiny image: a warning, exit 0
    uint8_t tiny[10 * 10 * 3] = {0};
    char tp[512];
    snprintf(tp, sizeof tp, "%s/tiny.png", dir);
    ck_assert_int_eq(hy_png_write_rgb8(tp, 10, 10, tiny), 0);
    ck_assert_int_eq(run_hyper(&out, "detect -m %s %s", TINY, tp), 0);
    ck_assert_msg(strstr(out, "no face") != NULL, "%s", out);
    free(out);
    // huge image (4100x4100 > MTCNN_MAX_PIXELS): refused with a message naming the file, exit 1
    char hp[512];
    snprintf(hp, sizeof hp, "%s/huge.png", dir);
    uint8_t *huge = calloc((size_t)4100 * 4100 * 3, 1);
    ck_assert_int_eq(hy_png_write_rgb8(hp, 4100, 4100, huge), 0);
    free(huge);
    ck_assert_int_eq(run_hyper(&out, "detect -m %s %s", TINY, hp), 1);
    ck_assert_msg(strstr(out, "huge.png") && strstr(out, "4100x4100"), "%s", out);
    free(out);
    // usage errors
    ck_assert_int_eq(run_hyper(&out, "detect %s", p), 2);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "detect -m %s", TINY), 2);
    free(out);
    ck_assert_int_eq(run_hyper(&out, "detect -m %s %s", GOLD, p), 1);  // wrong kind
    free(out);
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
}
END_TEST

// --- real weights (spec section 4 oracle) -------------------------------------------------
static const char *shared_data(void) {
    static char buf[1024];
    // $HY_SHARED_DATA when set (only it), else ../shared/data, then /work/shared/data
    const char *e = getenv("HY_SHARED_DATA");
    const char *cands[] = {e ? e : "../shared/data", e ? NULL : "/work/shared/data", NULL};
    for (int i = 0; i < 3; i++) {
        if (!cands[i]) continue;
        snprintf(buf, sizeof buf, "%s/mtcnn/pnet.pt", cands[i]);
        if (file_exists(buf)) {
            snprintf(buf, sizeof buf, "%s", cands[i]);
            return buf;
        }
    }
    return NULL;
}

typedef struct {
    const char *image;
    float box[4], prob, lm[10];  // lm as (x,y) pairs, as printed in the spec table
} oracle_face;

// spec section 4, rounded to 4 (box), 8 (prob) and 3 (landmark) decimals.
static const oracle_face ORACLE[] = {
    {"angelina_jolie", {224.7242f, 99.4037f, 468.4054f, 438.0898f}, 0.99991786f,
     {307.945f, 241.202f, 422.899f, 239.526f, 388.576f, 310.395f, 321.373f, 361.240f, 416.264f, 359.299f}},
    {"kate_siegel", {267.1248f, 53.3072f, 379.2916f, 206.0036f}, 0.99991703f,
     {297.435f, 114.926f, 352.566f, 115.979f, 321.731f, 142.401f, 297.897f, 169.820f, 346.683f, 170.918f}},
    {"paul_rudd", {108.2510f, 99.6130f, 523.8406f, 707.1756f}, 0.99991989f,
     {206.824f, 349.704f, 404.739f, 349.191f, 307.518f, 477.935f, 233.264f, 573.426f, 396.769f, 566.826f}},
    {"shea_whigham", {328.2000f, 137.2611f, 489.6841f, 359.3165f}, 0.99981076f,
     {370.771f, 228.537f, 448.157f, 231.777f, 408.176f, 275.820f, 371.593f, 305.486f, 440.296f, 308.515f}},
    {"multiface", {572.9929f, 293.7186f, 632.8959f, 372.3433f}, 0.99999642f,
     {586.045f, 324.202f, 612.452f, 323.598f, 597.771f, 343.529f, 590.435f, 354.267f, 612.526f, 353.083f}},
    {"multiface", {276.8636f, 89.9622f, 335.8948f, 163.6734f}, 0.99998820f,
     {300.990f, 116.419f, 326.612f, 119.379f, 316.740f, 134.782f, 301.766f, 144.867f, 322.718f, 146.800f}},
    {"multiface", {368.6651f, 32.4595f, 421.2101f, 103.8616f}, 0.99999833f,
     {387.819f, 59.387f, 411.279f, 61.758f, 399.963f, 80.648f, 384.661f, 84.782f, 407.629f, 87.017f}},
    {"multiface", {484.3562f, 311.5276f, 533.5205f, 382.9066f}, 0.99999416f,
     {495.430f, 339.858f, 519.057f, 338.520f, 508.288f, 358.205f, 498.228f, 363.442f, 520.810f, 362.080f}},
    {"multiface", {151.0023f, 168.3689f, 201.8990f, 237.2130f}, 0.99987078f,
     {163.909f, 196.534f, 187.359f, 191.300f, 179.517f, 210.301f, 168.921f, 219.273f, 193.816f, 213.821f}},
    {"multiface", {414.9846f, 131.4399f, 464.7252f, 198.6777f}, 0.99947554f,
     {427.206f, 158.113f, 451.310f, 158.660f, 437.807f, 175.193f, 426.574f, 179.753f, 451.536f, 180.338f}},
};

START_TEST(test_real_weights_oracle) {
    hy_set_threads(1);
    const char *sd = shared_data();
    if (!sd) TEST_SKIP("real MTCNN weights not found ($HY_SHARED_DATA, else ../shared/data or /work/shared/data, has no mtcnn/pnet.pt)");
    if (system("/usr/bin/python3 -c 'import torch' >/dev/null 2>&1") != 0)
        TEST_SKIP("/usr/bin/python3 with torch is missing: cannot convert the real MTCNN weights");
    char *dir = test_tmpdir(), cmd[4096], wpath[600];
    snprintf(wpath, sizeof wpath, "%s/mtcnn.bin", dir);
    snprintf(cmd, sizeof cmd, "/usr/bin/python3 convert/mtcnn.py %s/mtcnn -o %s >/dev/null", sd, wpath);
    ck_assert_int_eq(system(cmd), 0);
    mtcnn_model m;
    ck_assert_msg(hy_mtcnn_load(&m, wpath) == 0, "%s", hy_errmsg());
    const char *imgs[] = {"angelina_jolie", "kate_siegel", "paul_rudd", "shea_whigham", "multiface"};
    const int expect_n[] = {1, 1, 1, 1, 6};
    int oi = 0;
    for (int k = 0; k < 5; k++) {
        char p[1200];
        snprintf(p, sizeof p, "%s/faces/photos/%s.png", sd, imgs[k]);
        int w, h;
        uint8_t *rgb;
        ck_assert_msg(hy_png_read_rgb8(p, &w, &h, &rgb) == 0, "%s", hy_errmsg());
        mtcnn_face *f;
        int nf;
        mtcnn_trace t;
        ck_assert_msg(hy_mtcnn_detect(&m, NULL, rgb, w, h, &f, &nf, &t) == 0, "%s", hy_errmsg());
        ck_assert_msg(nf == expect_n[k], "%s: %d faces, expected %d", imgs[k], nf, expect_n[k]);
        if (k == 0) {  // spec 4: angelina 11 levels, 338 candidates at s=0.6, 325 after stage 1,
            // 30 -> 24 at R-Net, 7 -> 1 at O-Net
            ck_assert_int_eq(t.n_levels, 11);
            ck_assert_int_eq(t.n_cand[0], 338);
            ck_assert_int_eq(t.n1, 325);
            ck_assert_int_eq(t.n_rnet_pass, 30);
            ck_assert_int_eq(t.n2, 24);
            ck_assert_int_eq(t.n_onet_in, 24);
            ck_assert_int_eq(t.n_onet_pass, 7);
        }
        // Tolerance (spec 4): box and landmark |d| <= 0.01 px, prob <= 1e-5. The oracle table is
        // rounded to 5e-5 (box) and 5e-4 px (landmarks), well inside that; float32 noise moves
        // outputs by < 5e-4 px while any discrete error moves them by >= 0.1 px.
        for (int i = 0; i < nf; i++, oi++) {
            const oracle_face *o = &ORACLE[oi];
            ck_assert_str_eq(o->image, imgs[k]);
            for (int c = 0; c < 4; c++)
                ck_assert_msg(fabsf(f[i].box[c] - o->box[c]) <= 0.01f, "%s face %d box[%d] %.4f vs %.4f", imgs[k],
                              i, c, f[i].box[c], o->box[c]);
            ck_assert_msg(fabsf(f[i].prob - o->prob) <= 1e-5f, "%s prob %.8f vs %.8f", imgs[k], f[i].prob, o->prob);
            for (int c = 0; c < 5; c++) {
                ck_assert_msg(fabsf(f[i].lm[c] - o->lm[2 * c]) <= 0.01f, "%s lm x%d", imgs[k], c);
                ck_assert_msg(fabsf(f[i].lm[c + 5] - o->lm[2 * c + 1]) <= 0.01f, "%s lm y%d", imgs[k], c);
            }
        }
        if (k == 1) {  // Kate: the FaceNet crop of the detected box equals Pillow's, byte for byte
            int ib[4];
            ck_assert_int_eq(hy_mtcnn_facenet_box(f[0].box, w, h, 0, 160, ib), 0);
            ck_assert_int_eq(ib[3], 206);  // y2 = 206.0036 (spec 4)
            char raw[700];
            snprintf(raw, sizeof raw, "%s/kate_pil.raw", dir);
            snprintf(cmd, sizeof cmd,
                     "/usr/bin/python3 -c \"from PIL import Image; im = Image.open('%s').convert('RGB'); "
                     "open('%s', 'wb').write(im.crop((%d, %d, %d, %d)).resize((160, 160), Image.BILINEAR).tobytes())\"",
                     p, raw, ib[0], ib[1], ib[2], ib[3]);
            if (system(cmd) == 0) {
                uint8_t crop[160 * 160 * 3], pil[160 * 160 * 3];
                FILE *fp = fopen(raw, "rb");
                ck_assert_ptr_nonnull(fp);
                ck_assert_int_eq(fread(pil, 1, sizeof pil, fp), sizeof pil);
                fclose(fp);
                ck_assert_int_eq(hy_mtcnn_crop_face(crop, 160, rgb, w, h, f[0].box, 0, NULL), 0);
                ck_assert_int_eq(memcmp(crop, pil, sizeof crop), 0);
            } else {
                printf("SKIP %s: Pillow missing, Kate crop not compared\n", __func__);
            }
        }
        hy_mtcnn_trace_free(&t);
        free(f);
        free(rgb);
    }
    // all-black and tiny images: no face with the real weights
    uint8_t *black = calloc(200 * 160 * 3, 1);
    mtcnn_face *f;
    int nf;
    ck_assert_int_eq(hy_mtcnn_detect(&m, NULL, black, 160, 200, &f, &nf, NULL), 0);
    ck_assert_int_eq(nf, 0);
    free(black);
    hy_mtcnn_free(&m);
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", dir);
    ck_assert_int_eq(system(cmd), 0);
    free(dir);
}
END_TEST

static Suite *mtcnn_suite(void) {
    Suite *s = suite_create("mtcnn");
    TCase *tc = tcase_create("golden");
    tcase_add_checked_fixture(tc, setup, teardown);
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, test_pnet_golden);
    tcase_add_test(tc, test_rnet_golden);
    tcase_add_test(tc, test_onet_golden);
    tcase_add_test(tc, test_area_resample_exact);
    tcase_add_test(tc, test_pyramid);
    tcase_add_test(tc, test_nms);
    tcase_add_test(tc, test_pool_ceil_matches_ops);
    tcase_add_test(tc, test_pipeline_stages);
    tcase_add_test(tc, test_facenet_crop_pillow);
    tcase_add_test(tc, test_bad_input);
    tcase_add_test(tc, test_load_errors);
    tcase_add_test(tc, test_cli_detect);
    suite_add_tcase(s, tc);
    TCase *real = tcase_create("real");
    tcase_set_timeout(real, 600);
    tcase_add_test(real, test_real_weights_oracle);
    suite_add_tcase(s, real);
    return s;
}

TEST_MAIN(mtcnn_suite)
