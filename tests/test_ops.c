// test_ops.c - fast layers against their naive twins and against hand-computed values.
#include <math.h>

#include "base/common.h"
#include "nn/ops.h"
#include "base/rng.h"
#include "testutil.h"

static float *randn(mt19937 *r, size_t n) {
    float *x = malloc(n * sizeof(float));
    for (size_t i = 0; i < n; i++) x[i] = (float)hy_mt_normal(r);
    return x;
}

// Fast conv (float32 sgemm, blocked summation) vs naive (double accumulation): with unit
// normal inputs and K <= 600 terms the float32 rounding error is ~ sqrt(K) * 6e-8 * |x|,
// far below 1e-4; a wrong index gives O(1) errors.
#define CONV_TOL 1e-4

static void check_conv(conv_shape s, int n, int with_bias) {
    mt19937 r;
    hy_mt_seed(&r, (uint64_t)(s.cin * 131 + s.kh * 7 + s.kw + s.sh * 3 + s.ph));
    int ho = hy_conv2d_out_h(&s), wo = hy_conv2d_out_w(&s);
    size_t nin = (size_t)n * s.cin * s.h * s.w, nout = (size_t)n * s.cout * ho * wo;
    float *x = randn(&r, nin), *w = randn(&r, (size_t)s.cout * s.cin * s.kh * s.kw), *b = randn(&r, (size_t)s.cout);
    float *y = malloc(nout * sizeof(float)), *yr = malloc(nout * sizeof(float));
    size_t sc = hy_conv2d_scratch_floats(&s);
    float *scratch = malloc((sc ? sc : 1) * sizeof(float));
    hy_conv2d(y, x, w, with_bias ? b : NULL, n, &s, scratch);
    hy_conv2d_ref(yr, x, w, with_bias ? b : NULL, n, &s);
    double d = hy_max_abs_diff(y, yr, nout);
    ck_assert_msg(d < CONV_TOL, "conv cin=%d %dx%d k=%dx%d s=%d,%d p=%d,%d: max diff %g", s.cin, s.h, s.w, s.kh, s.kw,
                  s.sh, s.sw, s.ph, s.pw, d);
    free(x), free(w), free(b), free(y), free(yr), free(scratch);
}

START_TEST(conv_matches_naive) {
    // PGGAN 3x3 same, FaceNet stride-2 valid, asymmetric kernels, 1x1, odd sizes, batch > 1
    check_conv((conv_shape){8, 9, 9, 5, 3, 3, 1, 1, 1, 1}, 1, 1);
    check_conv((conv_shape){3, 17, 16, 4, 3, 3, 2, 2, 0, 0}, 2, 0);
    check_conv((conv_shape){6, 8, 8, 4, 1, 7, 1, 1, 0, 3}, 2, 1);
    check_conv((conv_shape){6, 8, 8, 4, 7, 1, 1, 1, 3, 0}, 1, 1);
    check_conv((conv_shape){5, 3, 3, 6, 1, 3, 1, 1, 0, 1}, 3, 1);
    check_conv((conv_shape){5, 3, 3, 6, 3, 1, 1, 1, 1, 0}, 1, 0);
    check_conv((conv_shape){7, 10, 6, 9, 1, 1, 1, 1, 0, 0}, 2, 1);
    check_conv((conv_shape){4, 12, 12, 3, 5, 5, 1, 1, 2, 2}, 1, 1);
    check_conv((conv_shape){4, 11, 13, 3, 2, 2, 2, 2, 0, 0}, 1, 1);
    check_conv((conv_shape){2, 5, 5, 2, 3, 3, 1, 2, 1, 0}, 1, 1);  // different strides per axis
}
END_TEST

// A big layer exercises the row tiling of im2col (scratch capped at CONV_SCRATCH_MAX_FLOATS).
START_TEST(conv_tiling_bounded) {
    conv_shape s = {64, 128, 128, 4, 3, 3, 1, 1, 1, 1};
    ck_assert_uint_le(hy_conv2d_scratch_floats(&s), CONV_SCRATCH_MAX_FLOATS);
    ck_assert_uint_lt(hy_conv2d_scratch_floats(&s), (size_t)64 * 9 * 128 * 128);  // really tiled
    check_conv(s, 1, 1);
}
END_TEST

START_TEST(dense_matches_naive) {
    mt19937 r;
    hy_mt_seed(&r, 3);
    float *x = randn(&r, 3 * 70), *w = randn(&r, 50 * 70), *b = randn(&r, 50), y[150], yr[150];
    hy_dense(y, x, w, b, 3, 70, 50);
    hy_dense_ref(yr, x, w, b, 3, 70, 50);
    ck_assert_double_lt(hy_max_abs_diff(y, yr, 150), 1e-4);  // same reasoning as CONV_TOL
    free(x), free(w), free(b);
}
END_TEST

START_TEST(pixel_norm_values) {
    // two channels, pixel values (3,4) -> mean square 12.5 -> divide by sqrt(12.5 + eps)
    float x[4] = {3, 0, 4, 0};  // (c=2, hw=2): pixel0 = (3,4), pixel1 = (0,0)
    hy_pixel_norm(x, 1, 2, 2, 1e-8f);
    ck_assert_float_eq_tol(x[0], 3 / sqrtf(12.5f), 1e-6);
    ck_assert_float_eq_tol(x[2], 4 / sqrtf(12.5f), 1e-6);
    ck_assert_float_eq(x[1], 0.0f);  // 0 / sqrt(eps) stays 0, no NaN
    // many pixels (crosses the 256-pixel block) -> each has mean square 1 afterwards
    mt19937 r;
    hy_mt_seed(&r, 5);
    float *y = randn(&r, 7 * 300);
    hy_pixel_norm(y, 1, 7, 300, 1e-8f);
    for (int p = 0; p < 300; p++) {
        double ms = 0;
        for (int c = 0; c < 7; c++) ms += y[c * 300 + p] * y[c * 300 + p];
        ck_assert_double_eq_tol(ms / 7, 1.0, 1e-5);
    }
    free(y);
}
END_TEST

START_TEST(activations_and_upsample) {
    float x[4] = {-2, -0.5f, 0, 3};
    hy_leaky_relu(x, 4, 0.2f);
    ck_assert_float_eq(x[0], -0.4f);
    ck_assert_float_eq(x[1], -0.1f);
    ck_assert_float_eq(x[3], 3.0f);
    float y[4] = {-2, 1, -1, 2};
    hy_relu(y, 4);
    ck_assert(y[0] == 0 && y[1] == 1 && y[2] == 0 && y[3] == 2);
    float p[4] = {-1, 2, -4, 8}, sl[2] = {0.5f, 0.25f};
    hy_prelu(p, sl, 1, 2, 2);
    ck_assert(p[0] == -0.5f && p[1] == 2 && p[2] == -1 && p[3] == 8);
    float in[6] = {1, 2, 3, 4, 5, 6}, up[24];  // (1, 1, 2, 3)
    hy_upsample2x_nearest(up, in, 1, 1, 2, 3);
    const float want[24] = {1, 1, 2, 2, 3, 3, 1, 1, 2, 2, 3, 3, 4, 4, 5, 5, 6, 6, 4, 4, 5, 5, 6, 6};
    for (int i = 0; i < 24; i++) ck_assert_float_eq(up[i], want[i]);
}
END_TEST

START_TEST(pooling) {
    // floor mode: FaceNet 77 -> 38, 17 -> 8, 8 -> 3; ceil mode: MTCNN
    ck_assert_int_eq(hy_pool_out_size(77, 3, 2, 0), 38);
    ck_assert_int_eq(hy_pool_out_size(17, 3, 2, 0), 8);
    ck_assert_int_eq(hy_pool_out_size(8, 3, 2, 0), 3);
    ck_assert_int_eq(hy_pool_out_size(77, 3, 2, 1), 38);  // 74/2 is exact: ceil changes nothing
    ck_assert_int_eq(hy_pool_out_size(8, 3, 2, 1), 4);
    ck_assert_int_eq(hy_pool_out_size(10, 2, 2, 1), 5);
    ck_assert_int_eq(hy_pool_out_size(11, 2, 2, 1), 6);
    ck_assert_int_eq(hy_pool_out_size(5, 3, 2, 1), 2);
    float x[16];
    for (int i = 0; i < 16; i++) x[i] = (float)((i * 7) % 16);  // 4x4
    float o[4];
    hy_max_pool2d(o, x, 1, 1, 4, 4, 3, 2, 0);  // 1x1 output: max of top-left 3x3
    float m = -1;
    for (int yy = 0; yy < 3; yy++)
        for (int xx = 0; xx < 3; xx++) m = fmaxf(m, x[yy * 4 + xx]);
    ck_assert_float_eq(o[0], m);
    hy_max_pool2d(o, x, 1, 1, 4, 4, 3, 2, 1);  // ceil: 2x2, last windows clipped
    ck_assert_float_eq(o[3], fmaxf(x[10], fmaxf(x[11], fmaxf(x[14], x[15]))));
    float g[6] = {1, 2, 3, 4, 5, 6}, avg[2];
    hy_global_avg_pool(avg, g, 1, 2, 3);
    ck_assert_float_eq(avg[0], 2.0f);
    ck_assert_float_eq(avg[1], 5.0f);
}
END_TEST

START_TEST(structure_and_norms) {
    float a[4] = {1, 2, 3, 4}, b[2] = {5, 6}, out[6];  // n=1, hw=2: a has 2 channels, b 1
    const float *parts[2] = {a, b};
    int cs[2] = {2, 1};
    hy_concat_channels(out, parts, cs, 2, 1, 2);
    const float want[6] = {1, 2, 3, 4, 5, 6};
    for (int i = 0; i < 6; i++) ck_assert_float_eq(out[i], want[i]);
    float x[3] = {1, 1, 1}, r[3] = {1, 2, 3};
    hy_residual_add(x, r, 0.5f, 3);
    ck_assert(x[0] == 1.5f && x[2] == 2.5f);
    float v[4] = {3, 4, 0, 0};  // rows (3,4) and (0,0)
    hy_l2_normalize(v, 2, 2, 1e-12f);
    ck_assert_float_eq_tol(v[0], 0.6f, 1e-7);
    ck_assert_float_eq_tol(v[1], 0.8f, 1e-7);
    ck_assert_float_eq(v[2], 0.0f);
    float s[4] = {0, 0, 1, 3};  // (c=2, hw=2): pixel0 (0,1), pixel1 (0,3)
    hy_softmax_channels(s, 1, 2, 2);
    ck_assert_float_eq_tol(s[2], 1 / (1 + expf(-1)), 1e-6);
    ck_assert_float_eq_tol(s[0] + s[2], 1.0f, 1e-6);
    float bn[2] = {2, 4}, ga = 2, be = 1, mu = 1, var = 3;
    hy_batch_norm(bn, &ga, &be, &mu, &var, 1, 1, 2, 1.0f);  // (x-1)/2*2+1 = x
    ck_assert_float_eq_tol(bn[0], 2.0f, 1e-6);
    ck_assert_float_eq_tol(bn[1], 4.0f, 1e-6);
    tensor_stats st = hy_stats_f32((float[]){1, 2, 3, NAN}, 4);
    ck_assert(st.min == 1 && st.max == 3 && st.mean == 2 && st.nonfinite == 1);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("ops");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, conv_matches_naive);
    tcase_add_test(tc, conv_tiling_bounded);
    tcase_add_test(tc, dense_matches_naive);
    tcase_add_test(tc, pixel_norm_values);
    tcase_add_test(tc, activations_and_upsample);
    tcase_add_test(tc, pooling);
    tcase_add_test(tc, structure_and_norms);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
