// test_conv3x3.c - the direct 3x3 kernels (src/nn/conv3x3.c) against the naive twins in
// src/nn/ops_ref.c: conv2d_ref, on the upsampled input for the folded kernel, then leaky ReLU,
// pixel norm and the 1x1 toRGB as separate steps.
#include <math.h>
#include <string.h>

#include "base/common.h"
#include "nn/conv3x3.h"
#include "nn/ops.h"
#include "base/rng.h"
#include "testutil.h"

// Inputs and weights are unit normals; K = 9 cin <= 288 terms. The kernel sums in float32
// with FMA in a different order than the double-accumulating reference, and the folded
// kernel rounds each summed weight (<= 4 taps) once: the error is ~ sqrt(K) * 6e-8 * |acc|
// with |acc| ~ sqrt(K) ~ 17, i.e. ~1e-5. 1e-4 absolute leaves margin; an indexing error
// (wrong tap, parity, edge or channel) gives O(1) differences.
#define C3_TOL 1e-4

static float *randn(mt19937 *r, size_t n) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)hy_mt_normal(r);
    return x;
}

// up=0: (cin,h,w) -> (cout,h,w); up=1: (cin,h,w) -> (cout,2h,2w). with_ep: lrelu + PN (+ rgb).
static void check(int cin, int cout, int h, int w, int up, int with_ep, int with_rgb) {
    ck_assert(hy_c3_supported(cin, cout, h, w, up));
    mt19937 r;
    hy_mt_seed(&r, (uint64_t)(cin * 1000 + cout * 31 + h * 7 + w + up));
    int H = up ? 2 * h : h, W = up ? 2 * w : w;
    size_t nin = (size_t)cin * h * w, nout = (size_t)cout * H * W;
    float *x = randn(&r, nin), *wt = randn(&r, (size_t)cout * cin * 9), *b = randn(&r, (size_t)cout);
    float *rw = randn(&r, (size_t)3 * cout), *rb = randn(&r, 3);
    float *packed = malloc(hy_c3_packed_floats(cin, cout, up) * sizeof(float));
    float *y = malloc(nout * sizeof(float)), *yr = malloc(nout * sizeof(float));
    float *rgb = malloc((size_t)3 * H * W * sizeof(float)), *rgbr = malloc((size_t)3 * H * W * sizeof(float));
    float *xin = x;
    if (up) {
        xin = malloc((size_t)cin * H * W * sizeof(float));
        hy_upsample2x_nearest(xin, x, 1, cin, h, w);
    }
    conv_shape s = {cin, H, W, cout, 3, 3, 1, 1, 1, 1};
    hy_conv2d_ref(yr, xin, wt, b, 1, &s);
    if (with_ep) {
        hy_leaky_relu(yr, nout, 0.2f);
        hy_pixel_norm(yr, 1, cout, H * W, 1e-8f);
    }
    if (with_rgb) {
        conv_shape s1 = {cout, H, W, 3, 1, 1, 1, 1, 0, 0};
        hy_conv2d_ref(rgbr, yr, rw, rb, 1, &s1);
    }
    hy_c3_pack(packed, wt, cin, cout, up);
    c3_epilogue ep = {1, 0.2f, 1, 1e-8f, rw, rb, with_rgb ? rgb : NULL};
    hy_c3_conv(y, x, packed, b, cin, cout, h, w, up, with_ep ? &ep : NULL);
    double d = hy_max_abs_diff(y, yr, nout);
    ck_assert_msg(d < C3_TOL, "c3 cin=%d cout=%d %dx%d up=%d ep=%d: max diff %g", cin, cout, h, w, up, with_ep, d);
    if (with_rgb) {
        // toRGB sums cout <= 32 products of values of magnitude ~1 (after pixel norm): same bound
        d = hy_max_abs_diff(rgb, rgbr, (size_t)3 * H * W);
        ck_assert_msg(d < C3_TOL, "c3 rgb cin=%d cout=%d %dx%d up=%d: max diff %g", cin, cout, h, w, up, d);
    }
    if (up) free(xin);
    free(x), free(wt), free(b), free(rw), free(rb), free(packed), free(y), free(yr), free(rgb), free(rgbr);
}

START_TEST(plain_matches_naive) {
    if (!hy_c3_available()) TEST_SKIP("no AVX-512F on this CPU (or HY_CONV3X3=0): pggan uses im2col+sgemm");
    check(5, 16, 3, 16, 0, 0, 0);   // one vector per row; rows 0 and 2 at the borders
    check(3, 8, 4, 32, 0, 0, 0);    // two vectors (npv 2)
    check(7, 16, 5, 48, 0, 1, 0);   // three vectors (npv 3)
    check(4, 24, 2, 64, 0, 1, 1);   // 3 + 1, three channel blocks, rgb
    check(2, 16, 1, 80, 0, 1, 0);   // 3 + 2, single row (both neighbours are zero rows)
    check(32, 32, 6, 16, 0, 1, 1);  // more input channels
    check(16, 8, 4, 4, 0, 1, 1);    // narrower than a vector (PGGAN 4x4)
    check(3, 16, 3, 8, 0, 1, 0);
    check(3, 8, 2, 1, 0, 0, 0);     // one column: both neighbours are padding
    check(5, 8, 3, 37, 0, 1, 1);    // 16 + 16 + 5
    check(5, 8, 3, 70, 0, 1, 0);    // 48 + 16 + 6
}
END_TEST

START_TEST(folded_matches_upsample_then_conv) {
    if (!hy_c3_available()) TEST_SKIP("no AVX-512F on this CPU (or HY_CONV3X3=0): pggan uses im2col+sgemm");
    check(5, 8, 3, 16, 1, 0, 0);
    check(3, 16, 4, 32, 1, 0, 0);
    check(6, 16, 2, 48, 1, 1, 0);
    check(4, 24, 3, 64, 1, 1, 1);
    check(2, 8, 1, 80, 1, 1, 1);
    check(32, 16, 5, 16, 1, 1, 0);
    check(16, 8, 4, 4, 1, 1, 1);    // PGGAN 8x8 conv0: source narrower than a vector
    check(3, 16, 2, 8, 1, 1, 0);
    check(3, 8, 1, 1, 1, 0, 0);     // 1x1 source -> 2x2
    check(4, 8, 3, 9, 1, 1, 1);     // 9 source columns: output lanes split 16 + 2
    check(4, 8, 2, 21, 1, 0, 0);    // 16 + 5
    check(2, 8, 2, 53, 1, 1, 0);    // 48 + 5
}
END_TEST

// The fused last stage must give exactly the same numbers as conv0 and conv1 run separately
// through hy_c3_conv (same kernels, same order of operations), for images taller than one band
// of 64 rows (band edges recompute conv0 rows) and tiny ones.
static void check_stage(int cin, int cmid, int h, int w) {
    mt19937 r;
    hy_mt_seed(&r, (uint64_t)(cin * 7 + cmid * 3 + h * 11 + w));
    int H = 2 * h, W = 2 * w;
    size_t nmid = (size_t)cmid * H * W, nrgb = (size_t)3 * H * W;
    float *x = randn(&r, (size_t)cin * h * w), *w0 = randn(&r, (size_t)cmid * cin * 9), *b0 = randn(&r, cmid);
    float *w1 = randn(&r, (size_t)cmid * cmid * 9), *b1 = randn(&r, cmid), *rw = randn(&r, (size_t)3 * cmid);
    float *rb = randn(&r, 3);
    float *pk0 = malloc(hy_c3_packed_floats(cin, cmid, 1) * sizeof(float));
    float *pk1 = malloc(hy_c3_packed_floats(cmid, cmid, 0) * sizeof(float));
    float *t = malloc(nmid * sizeof(float)), *u = malloc(nmid * sizeof(float));
    float *rgb = malloc(nrgb * sizeof(float)), *rgb2 = malloc(nrgb * sizeof(float));
    hy_c3_pack(pk0, w0, cin, cmid, 1);
    hy_c3_pack(pk1, w1, cmid, cmid, 0);
    c3_epilogue ep0 = {1, 0.2f, 1, 1e-8f, NULL, NULL, NULL}, ep1 = {1, 0.2f, 1, 1e-8f, rw, rb, rgb};
    hy_c3_conv(t, x, pk0, b0, cin, cmid, h, w, 1, &ep0);
    hy_c3_conv(u, t, pk1, b1, cmid, cmid, H, W, 0, &ep1);
    ep1.rgb_out = rgb2;
    ck_assert_int_eq(hy_c3_stage_rgb(x, (size_t)h * w, cin, cmid, h, w, pk0, b0, pk1, b1, &ep1), 0);
    ck_assert_msg(hy_max_abs_diff(rgb, rgb2, nrgb) == 0.0, "fused stage %dx%d differs by %g", h, w,
                  hy_max_abs_diff(rgb, rgb2, nrgb));
    free(x), free(w0), free(b0), free(w1), free(b1), free(rw), free(rb), free(pk0), free(pk1);
    free(t), free(u), free(rgb), free(rgb2);
}

START_TEST(fused_stage_matches_two_convs) {
    if (!hy_c3_available()) TEST_SKIP("no AVX-512F on this CPU (or HY_CONV3X3=0)");
    check_stage(8, 16, 40, 9);   // H = 80: two bands
    check_stage(4, 8, 65, 24);   // H = 130: three bands, the last one 2 rows
    check_stage(3, 8, 1, 1);     // 2x2 output
    check_stage(16, 16, 32, 40); // H = 64: exactly one band
}
END_TEST

// Padded channel planes (as the generator uses them) give exactly the dense results.
START_TEST(strided_planes_match_dense) {
    if (!hy_c3_available()) TEST_SKIP("no AVX-512F on this CPU (or HY_CONV3X3=0)");
    mt19937 r;
    hy_mt_seed(&r, 99);
    for (int up = 0; up < 2; up++) {
        int cin = 5, cout = 16, h = 6, w = 20, H = up ? 2 * h : h, W = up ? 2 * w : w;
        size_t is = (size_t)h * w + 32, os = (size_t)H * W + 48;
        float *x = randn(&r, (size_t)cin * h * w), *xs = calloc((size_t)cin * is, sizeof(float));
        float *wt = randn(&r, (size_t)cout * cin * 9), *b = randn(&r, cout);
        float *pk = malloc(hy_c3_packed_floats(cin, cout, up) * sizeof(float));
        float *y = malloc((size_t)cout * H * W * sizeof(float)), *ys = malloc((size_t)cout * os * sizeof(float));
        for (int c = 0; c < cin; c++) memcpy(xs + c * is, x + (size_t)c * h * w, sizeof(float) * h * w);
        hy_c3_pack(pk, wt, cin, cout, up);
        c3_epilogue ep = {1, 0.2f, 1, 1e-8f, NULL, NULL, NULL};
        hy_c3_conv(y, x, pk, b, cin, cout, h, w, up, &ep);
        hy_c3_conv_strided(ys, os, xs, is, pk, b, cin, cout, h, w, up, &ep);
        for (int c = 0; c < cout; c++)
            ck_assert_double_eq(hy_max_abs_diff(y + (size_t)c * H * W, ys + c * os, (size_t)H * W), 0.0);
        free(x), free(xs), free(wt), free(b), free(pk), free(y), free(ys);
    }
}
END_TEST

// The packing itself, checked by hand: one input channel, one output channel block of 8,
// taps numbered 1..9; the folded weight of parity (py,px)=(0,0) at (a,b)=(1,1) sums the 3x3
// taps (1..2, 1..2) = 5 + 6 + 8 + 9 = 28, at (0,0) it is tap (0,0) = 1.
START_TEST(packing_by_hand) {
    float w[8 * 9], p0[8 * 9], p1[8 * 16];
    for (int co = 0; co < 8; co++)
        for (int t = 0; t < 9; t++) w[co * 9 + t] = (float)(t + 1) + 100.0f * co;
    hy_c3_pack(p0, w, 1, 8, 0);
    ck_assert_float_eq(p0[4 * 8 + 3], 305.0f);  // tap 4 (centre) of channel 3
    hy_c3_pack(p1, w, 1, 8, 1);
    // layout [cob][ci][py][a][px][b][4]: channel 0 is in block 0 lane 0
    ck_assert_float_eq(p1[(((0 * 2 + 1) * 2 + 0) * 2 + 1) * 4 + 0], 28.0f);
    ck_assert_float_eq(p1[0], 1.0f);
    // (py,px)=(1,1), (a,b)=(0,0): taps rows 0..1, cols 0..1 = 1+2+4+5 = 12; channel 5 -> block 1 lane 1
    ck_assert_float_eq(p1[16 * 4 + (((1 * 2 + 0) * 2 + 1) * 2 + 0) * 4 + 1], 12.0f + 4 * 500.0f);
}
END_TEST

START_TEST(support_rules) {
    if (!hy_c3_available()) TEST_SKIP("no AVX-512F on this CPU (or HY_CONV3X3=0)");
    ck_assert(hy_c3_supported(512, 512, 16, 16, 0));
    ck_assert(hy_c3_supported(512, 512, 4, 4, 1));
    ck_assert(!hy_c3_supported(16, 12, 16, 16, 0));  // cout not a multiple of 8
    ck_assert(!hy_c3_supported(16, 16, 16, 8192, 0));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("conv3x3");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, plain_matches_naive);
    tcase_add_test(tc, folded_matches_upsample_then_conv);
    tcase_add_test(tc, fused_stage_matches_two_convs);
    tcase_add_test(tc, strided_planes_match_dense);
    tcase_add_test(tc, packing_by_hand);
    tcase_add_test(tc, support_rules);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
