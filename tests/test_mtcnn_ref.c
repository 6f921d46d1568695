// test_mtcnn_ref.c - MTCNN's networks on the reference ops (hy_mtcnn_{pnet,rnet,onet}_ref:
// naive conv and dense with double accumulation, ops.h PReLU and ceil-mode max pool) against
// PyTorch (the golden fixture), and the fast networks (im2col + sgemm, specialised pools,
// vectorised PReLU) against them on the golden inputs and on random ones: a P-Net input with
// odd sizes (ceil-mode pools cut at the edges) and R-Net / O-Net batches of more than one
// 128-crop chunk. (The fast networks use OpenBLAS only, not the project's ISA-dispatched
// kernels, so there is no per-ISA loop here.)
// Fixtures: tests/fixtures/mtcnn_tiny.bin, mtcnn_golden.bin (convert/golden/golden_mtcnn.py).
#include <math.h>

#include "base/common.h"
#include "base/rng.h"
#include "base/wfile.h"
#include "models/mtcnn.h"
#include "nn/ops.h"
#include "testutil.h"

#define TINY "tests/fixtures/mtcnn_tiny.bin"
#define GOLD "tests/fixtures/mtcnn_golden.bin"

// Reference vs torch and fast vs reference, absolute (outputs are probabilities and O(1)
// regressions): float32 sums of <= 1152 products of O(1) values in another order (torch, the
// sgemm) or in double (the reference) differ by ~1e-6; test_mtcnn.c's bound for the fast
// networks against torch. A wrong tap, flatten order or pool edge is O(0.1).
#define NET_TOL 2e-5

static const float *golden(const wfile *g, const char *name, int64_t *dims) {
    const wf_tensor *t = hy_wf_find(g, name);
    ck_assert_msg(t != NULL, "golden tensor %s missing", name);
    ck_assert_int_eq(t->dtype, WF_F32);
    if (dims)
        for (int i = 0; i < t->ndim; i++) dims[i] = t->dims[i];
    return t->data;
}

static void check(const char *what, const float *a, const float *b, size_t n, double *worst) {
    double d = hy_max_abs_diff(a, b, n);
    ck_assert_msg(d < NET_TOL, "%s: max |diff| %g", what, d);
    if (d > *worst) *worst = d;
}

START_TEST(reference_matches_torch) {
    mtcnn_model m;
    wfile g;
    ck_assert_msg(hy_mtcnn_load(&m, TINY) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_wf_open(&g, GOLD) == 0, "%s", hy_errmsg());
    double worst = 0;
    int64_t d[4];
    const float *x = golden(&g, "pnet.x", d);
    int h = (int)d[2], w = (int)d[3], ho = hy_mtcnn_pnet_out_size(h), wo = hy_mtcnn_pnet_out_size(w);
    float reg[4 * 64], prob[2 * 64], lm[10 * 8];
    ck_assert_int_le(ho * wo, 64);
    ck_assert_int_eq(hy_mtcnn_pnet_ref(&m, x, h, w, reg, prob), 0);
    check("pnet reg", reg, golden(&g, "pnet.reg", NULL), (size_t)4 * ho * wo, &worst);
    check("pnet prob", prob, golden(&g, "pnet.prob", NULL), (size_t)2 * ho * wo, &worst);
    x = golden(&g, "rnet.x", d);
    int n = (int)d[0];
    ck_assert_int_le(n, 8);
    ck_assert_int_eq(hy_mtcnn_rnet_ref(&m, x, n, reg, prob), 0);
    check("rnet reg", reg, golden(&g, "rnet.reg", NULL), (size_t)n * 4, &worst);
    check("rnet prob", prob, golden(&g, "rnet.prob", NULL), (size_t)n * 2, &worst);
    x = golden(&g, "onet.x", d);
    n = (int)d[0];
    ck_assert_int_le(n, 8);
    ck_assert_int_eq(hy_mtcnn_onet_ref(&m, x, n, reg, lm, prob), 0);
    check("onet reg", reg, golden(&g, "onet.reg", NULL), (size_t)n * 4, &worst);
    check("onet lm", lm, golden(&g, "onet.lm", NULL), (size_t)n * 10, &worst);
    check("onet prob", prob, golden(&g, "onet.prob", NULL), (size_t)n * 2, &worst);
    printf("MTCNN reference vs torch: worst %.2e\n", worst);
    hy_wf_close(&g);
    hy_mtcnn_free(&m);
}
END_TEST

static float *randn(mt19937 *r, size_t n) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)hy_mt_normal(r);
    return x;
}

// Fast vs reference for the three networks of model m on random inputs; returns the worst.
static double fast_vs_ref(const mtcnn_model *m) {
    mt19937 r;
    hy_mt_seed(&r, 5);
    double worst = 0;
    // P-Net on 41 x 58: odd sizes, so both ceil-mode pools have cut windows
    int h = 41, w = 58, ho = hy_mtcnn_pnet_out_size(h), wo = hy_mtcnn_pnet_out_size(w);
    float *x = randn(&r, (size_t)3 * h * w), *reg = malloc(sizeof(float) * 4 * ho * wo),
          *prob = malloc(sizeof(float) * 2 * ho * wo), *reg_r = malloc(sizeof(float) * 4 * ho * wo),
          *prob_r = malloc(sizeof(float) * 2 * ho * wo);
    ck_assert_int_eq(hy_mtcnn_pnet(m, x, h, w, reg, prob), 0);
    ck_assert_int_eq(hy_mtcnn_pnet_ref(m, x, h, w, reg_r, prob_r), 0);
    check("pnet reg", reg, reg_r, (size_t)4 * ho * wo, &worst);
    check("pnet prob", prob, prob_r, (size_t)2 * ho * wo, &worst);
    free(x), free(reg), free(prob), free(reg_r), free(prob_r);
    // R-Net and O-Net on 130 crops: two chunks (128 + 2)
    int n = 130;
    float *o[8];
    for (int i = 0; i < 8; i++) o[i] = malloc(sizeof(float) * 10 * n);
    x = randn(&r, (size_t)n * 3 * 24 * 24);
    ck_assert_int_eq(hy_mtcnn_rnet(m, x, n, o[0], o[1]), 0);
    ck_assert_int_eq(hy_mtcnn_rnet_ref(m, x, n, o[2], o[3]), 0);
    check("rnet reg", o[0], o[2], (size_t)n * 4, &worst);
    check("rnet prob", o[1], o[3], (size_t)n * 2, &worst);
    free(x);
    x = randn(&r, (size_t)n * 3 * 48 * 48);
    ck_assert_int_eq(hy_mtcnn_onet(m, x, n, o[0], o[1], o[2]), 0);
    ck_assert_int_eq(hy_mtcnn_onet_ref(m, x, n, o[3], o[4], o[5]), 0);
    check("onet reg", o[0], o[3], (size_t)n * 4, &worst);
    check("onet lm", o[1], o[4], (size_t)n * 10, &worst);
    check("onet prob", o[2], o[5], (size_t)n * 2, &worst);
    free(x);
    for (int i = 0; i < 8; i++) free(o[i]);
    return worst;
}

START_TEST(fast_equals_reference) {
    hy_set_threads(1);  // results do not depend on it; one thread beside other jobs (see test_mtcnn.c)
    mtcnn_model m;
    ck_assert_msg(hy_mtcnn_load(&m, TINY) == 0, "%s", hy_errmsg());
    printf("MTCNN fast vs reference: worst %.2e\n", fast_vs_ref(&m));
    hy_mtcnn_free(&m);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("mtcnn_ref");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reference_matches_torch);
    tcase_add_test(tc, fast_equals_reference);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
