// test_conv3x3.c - the direct 3x3 kernels (src/nn/conv3x3*.c) against the naive twins in
// src/nn/ops_ref.c: conv2d_ref, on the upsampled input for the folded kernel, then leaky ReLU,
// pixel norm and the 1x1 toRGB as separate steps. Every test runs once per kernel ISA this CPU
// supports (AVX-512, AVX2; hy_isa_set), and the ISAs must agree bit for bit.
#include <math.h>
#include <string.h>

#include "base/common.h"
#include "nn/conv3x3.h"
#include "nn/cpu.h"
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

// Each test body runs once per kernel ISA (AVX-512, then AVX2) with that ISA current; an ISA
// the CPU lacks prints a SKIP line. The fixture's teardown restores the ISA from HY_ISA.
#define FOR_EACH_ISA(isa) for (int isa = HY_ISA_AVX512; isa >= HY_ISA_AVX2; isa--) if (enter_isa(isa, __func__))
static int enter_isa(int isa, const char *fn) {
    if (!hy_isa_supported(isa)) {
        printf("SKIP %s: no %s on this CPU\n", fn, hy_isa_name(isa));
        return 0;
    }
    ck_assert_int_eq(hy_isa_set(isa), HY_OK);
    if (!hy_c3_available()) {
        printf("SKIP %s: HY_CONV3X3=0 switches the %s kernels off\n", fn, hy_isa_name(isa));
        return 0;
    }
    return 1;
}
static void restore_isa(void) { hy_isa_init(); }

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
    ck_assert_msg(d < C3_TOL, "%s c3 cin=%d cout=%d %dx%d up=%d ep=%d: max diff %g", hy_isa_name(hy_isa()), cin, cout,
                  h, w, up, with_ep, d);
    if (with_rgb) {
        // toRGB sums cout <= 32 products of values of magnitude ~1 (after pixel norm): same bound
        d = hy_max_abs_diff(rgb, rgbr, (size_t)3 * H * W);
        ck_assert_msg(d < C3_TOL, "%s c3 rgb cin=%d cout=%d %dx%d up=%d: max diff %g", hy_isa_name(hy_isa()), cin,
                      cout, h, w, up, d);
    }
    if (up) free(xin);
    free(x), free(wt), free(b), free(rw), free(rb), free(packed), free(y), free(yr), free(rgb), free(rgbr);
}

START_TEST(plain_matches_naive) {
    FOR_EACH_ISA(isa) {
        // AVX-512 blocks 1-3 vectors of 16 columns, AVX2 1-3 of 8: the widths cover both
        check(5, 16, 3, 16, 0, 0, 0);   // one 16-vector per row; rows 0 and 2 at the borders
        check(3, 8, 4, 32, 0, 0, 0);    // two 16-vectors (npv 2); 8-vectors 2 + 2
        check(7, 16, 5, 48, 0, 1, 0);   // three 16-vectors (npv 3); 8-vectors 3 + 3
        check(4, 24, 2, 64, 0, 1, 1);   // 3 + 1, three channel blocks, rgb; 8-vectors 3 + 3 + 2 (inner)
        check(2, 16, 1, 80, 0, 1, 0);   // 3 + 2, single row (both neighbours are zero rows)
        check(32, 32, 6, 16, 0, 1, 1);  // more input channels
        check(16, 8, 4, 4, 0, 1, 1);    // narrower than a vector (PGGAN 4x4)
        check(3, 16, 3, 8, 0, 1, 0);    // exactly one 8-vector
        check(3, 8, 2, 1, 0, 0, 0);     // one column: both neighbours are padding
        check(5, 8, 3, 37, 0, 1, 1);    // 16 + 16 + 5; 8-vectors 3 + 2 (last holds 5)
        check(5, 8, 3, 70, 0, 1, 0);    // 48 + 16 + 6; 8-vectors 3 + 3 + 3 (last holds 6)
        check(4, 16, 2, 25, 0, 1, 0);   // 8-vectors 2 + 2, the last holding one column
        check(3, 24, 3, 56, 0, 1, 1);   // 8-vectors 3 + 2 + 2 (middle block inner)
        check(2, 8, 2, 12, 0, 0, 0);    // 8-vectors 2, the last half full
        (void)isa;
    }
}
END_TEST

START_TEST(folded_matches_upsample_then_conv) {
    FOR_EACH_ISA(isa) {
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
        check(4, 8, 2, 21, 1, 0, 0);    // 16 + 5; 8-vectors 3 (last holds 5)
        check(2, 8, 2, 53, 1, 1, 0);    // 48 + 5; 8-vectors 3 + 2 + 2 (last holds 5)
        check(3, 16, 2, 25, 1, 1, 0);   // 8-vectors 2 + 2, the last holding one column
        check(2, 8, 3, 12, 1, 1, 1);    // 8-vectors 2, the last half full
        (void)isa;
    }
}
END_TEST

// The AVX2 kernels sum every output in the same order as the AVX-512 ones (see
// conv3x3_avx2.c), so the two must agree exactly, epilogue included, on every tail.
static void conv_with(int isa, float *y, float *rgb, const float *x, const float *wt, const float *b, const float *rw,
                      const float *rb, int cin, int cout, int h, int w, int up) {
    ck_assert_int_eq(hy_isa_set(isa), HY_OK);
    float *pk = malloc(hy_c3_packed_floats(cin, cout, up) * sizeof(float));
    hy_c3_pack(pk, wt, cin, cout, up);
    c3_epilogue ep = {1, 0.2f, 1, 1e-8f, rw, rb, rgb};
    hy_c3_conv(y, x, pk, b, cin, cout, h, w, up, &ep);
    free(pk);
}

START_TEST(isas_agree_bitwise) {
    if (!hy_isa_supported(HY_ISA_AVX512)) TEST_SKIP("needs AVX-512 and AVX2 to compare them");
    const int shapes[][5] = {{5, 16, 3, 37, 0}, {4, 24, 2, 64, 0}, {16, 8, 4, 4, 0}, {3, 24, 3, 56, 0},
                             {4, 8, 3, 9, 1},   {2, 8, 2, 53, 1},  {16, 8, 4, 4, 1}, {6, 16, 2, 48, 1}};
    mt19937 r;
    hy_mt_seed(&r, 5);
    for (size_t i = 0; i < sizeof shapes / sizeof *shapes; i++) {
        const int cin = shapes[i][0], cout = shapes[i][1], h = shapes[i][2], w = shapes[i][3], up = shapes[i][4];
        const size_t H = up ? 2 * h : h, W = up ? 2 * w : w, n = (size_t)cout * H * W, nr = 3 * H * W;
        float *x = randn(&r, (size_t)cin * h * w), *wt = randn(&r, (size_t)cout * cin * 9), *b = randn(&r, cout);
        float *rw = randn(&r, (size_t)3 * cout), *rb = randn(&r, 3);
        float *y1 = malloc(n * sizeof(float)), *y2 = malloc(n * sizeof(float));
        float *g1 = malloc(nr * sizeof(float)), *g2 = malloc(nr * sizeof(float));
        conv_with(HY_ISA_AVX512, y1, g1, x, wt, b, rw, rb, cin, cout, h, w, up);
        conv_with(HY_ISA_AVX2, y2, g2, x, wt, b, rw, rb, cin, cout, h, w, up);
        ck_assert_msg(!memcmp(y1, y2, n * sizeof(float)), "shape %zu: AVX2 differs from AVX-512 by %g", i,
                      hy_max_abs_diff(y1, y2, n));
        ck_assert_msg(!memcmp(g1, g2, nr * sizeof(float)), "shape %zu: AVX2 toRGB differs from AVX-512", i);
        free(x), free(wt), free(b), free(rw), free(rb), free(y1), free(y2), free(g1), free(g2);
    }
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
    FOR_EACH_ISA(isa) {
        check_stage(8, 16, 40, 9);   // H = 80: two bands
        check_stage(4, 8, 65, 24);   // H = 130: three bands, the last one 2 rows
        check_stage(3, 8, 1, 1);     // 2x2 output
        check_stage(16, 16, 32, 40); // H = 64: exactly one band
        (void)isa;
    }
}
END_TEST

// Padded channel planes (as the generator uses them) give exactly the dense results.
START_TEST(strided_planes_match_dense) {
    FOR_EACH_ISA(isa) {
    (void)isa;
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
    FOR_EACH_ISA(isa) {
        (void)isa;
        ck_assert(hy_c3_supported(512, 512, 16, 16, 0));
        ck_assert(hy_c3_supported(512, 512, 4, 4, 1));
        ck_assert(!hy_c3_supported(16, 12, 16, 16, 0));  // cout not a multiple of 8
        ck_assert(!hy_c3_supported(16, 16, 16, 8192, 0));
    }
    // the generic ISA has no direct kernel: callers take im2col + sgemm
    ck_assert_int_eq(hy_isa_set(HY_ISA_GENERIC), HY_OK);
    ck_assert(!hy_c3_available());
    ck_assert(!hy_c3_supported(512, 512, 16, 16, 0));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("conv3x3");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_checked_fixture(tc, NULL, restore_isa);
    tcase_add_test(tc, plain_matches_naive);
    tcase_add_test(tc, folded_matches_upsample_then_conv);
    tcase_add_test(tc, isas_agree_bitwise);
    tcase_add_test(tc, fused_stage_matches_two_convs);
    tcase_add_test(tc, strided_planes_match_dense);
    tcase_add_test(tc, packing_by_hand);
    tcase_add_test(tc, support_rules);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
