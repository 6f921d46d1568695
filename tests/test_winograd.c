// test_winograd.c - F(2x2, 3x3) and stride-2 3x3 convolutions (src/nn/winograd.c) and F(2, 7) 1x7 / 7x1 ones
// (src/nn/winograd7.c) against the naive conv (hy_conv2d_ref, double accumulation) on every ISA
// this CPU runs: pad 0 and 1 (3x3), odd and even sizes (partial last tiles), 1-3 images (tile
// blocks spanning images), blocks of one tile row (wide images), bias and ReLU, and a
// destination with a row stride larger than the output.
#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/rng.h"
#include "nn/cpu.h"
#include "nn/ops.h"
#include "nn/winograd.h"
#include "nn/winograd7.h"
#include "testutil.h"

// The transforms add up to 9 inputs (and 16 products per output) in float32 before and after
// the K-term products, so the result differs from the double-accumulated reference by a few
// float32 roundings of terms of size sqrt(9 K) |x||w| (unit-normal data): relative to the
// output's largest magnitude, ~1e-6; an indexing or transform error is O(1). F(2, 7) scales
// terms by up to 21/4 in its transforms: a few times more rounding, still well under 1e-5.
#define WINO_RTOL 1e-5

// kind 0: F(2x2, 3x3) with padding pad; kind 1: F(2, 7) 1x7 (pad 3 columns); kind 2: 7x1;
// kind 3: 3x3 stride 2, pad 0 (the polyphase form).
static void check_kind(int kind, int cin, int cout, int h, int w, int pad, int n, int relu) {
    mt19937 r;
    hy_mt_seed(&r, (uint64_t)(cin * 1009 + cout * 17 + h * 3 + w + pad * 7 + n + kind * 5));
    const int kh = kind == 2 ? 7 : kind == 1 ? 1 : 3, kw = kind == 1 ? 7 : kind == 2 ? 1 : 3;
    const int stride = kind == 3 ? 2 : 1;
    conv_shape cs = kind == 1 || kind == 2
                        ? (conv_shape){cin, h, w, cout, kh, kw, 1, 1, kind == 2 ? 3 : 0, kind == 1 ? 3 : 0}
                        : (conv_shape){cin, h, w, cout, 3, 3, stride, stride, pad, pad};
    const int ho = hy_conv2d_out_h(&cs), wo = hy_conv2d_out_w(&cs);
    const size_t hw = (size_t)h * w, hwo = (size_t)ho * wo, nin = (size_t)n * cin * hw, nout = (size_t)n * cout * hwo;
    const size_t ldo = (size_t)n * hwo + 5;  // a row stride past the output: the gap stays untouched
    float *x = malloc(sizeof(float) * nin), *xc = malloc(sizeof(float) * nin);
    const int taps = kh * kw;
    float *wt = malloc(sizeof(float) * cout * cin * taps), *b = malloc(sizeof(float) * cout);
    float *yr = malloc(sizeof(float) * nout), *y = malloc(sizeof(float) * cout * ldo);
    for (size_t i = 0; i < nin; i++) x[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < cout * cin * taps; i++) wt[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < cout; i++) b[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < n; i++)  // NCHW -> CNHW
        for (int k = 0; k < cin; k++) memcpy(xc + ((size_t)k * n + i) * hw, x + ((size_t)i * cin + k) * hw, hw * 4);
    hy_conv2d_ref(yr, x, wt, b, n, &cs);
    double scale = 0;
    for (size_t i = 0; i < nout; i++) {
        if (relu) yr[i] = yr[i] > 0 ? yr[i] : 0;
        scale = fmax(scale, fabs(yr[i]));
    }
    hy_wino wg;
    hy_wino7 w7;
    float *scratch;
    for (size_t i = 0; i < (size_t)cout * ldo; i++) y[i] = 42.0f;
    if (kind == 0 || kind == 3) {
        ck_assert_int_eq(hy_wino_init(&wg, wt, cout, cin, pad, stride, NULL), HY_OK);
        scratch = malloc(sizeof(float) * hy_wino_scratch_floats(&wg, w));
        hy_wino_conv(y, ldo, xc, &wg, n, h, w, b, relu, scratch);
        hy_wino_free(&wg);
    } else {
        ck_assert_int_eq(hy_wino7_init(&w7, wt, cout, cin, kind == 2, NULL), HY_OK);
        scratch = malloc(sizeof(float) * hy_wino7_scratch_floats(&w7, h, w));
        hy_wino7_conv(y, ldo, xc, &w7, n, h, w, b, relu, scratch);
        hy_wino7_free(&w7);
    }
    double d = 0;
    for (int i = 0; i < n; i++)
        for (int k = 0; k < cout; k++) {
            for (size_t p = 0; p < hwo; p++)
                d = fmax(d, fabs(y[(size_t)k * ldo + (size_t)i * hwo + p] - yr[((size_t)i * cout + k) * hwo + p]));
            if (i == n - 1)
                for (size_t p = (size_t)n * hwo; p < ldo; p++) ck_assert(y[(size_t)k * ldo + p] == 42.0f);
        }
    ck_assert_msg(d <= WINO_RTOL * scale, "%s: kernel %dx%d cin %d cout %d %dx%d pad %d n %d relu %d: max diff %g (scale %g)",
                  hy_isa_name(hy_isa()), kh, kw, cin, cout, h, w, pad, n, relu, d, scale);
    free(scratch), free(x), free(xc), free(wt), free(b), free(yr), free(y);
}

static void check(int cin, int cout, int h, int w, int pad, int n, int relu) {
    check_kind(0, cin, cout, h, w, pad, n, relu);
}

START_TEST(matches_the_naive_conv_on_every_isa) {
    int tried = 0;
    for (int isa = 0; isa < HY_ISA_COUNT; isa++) {
        if (!hy_isa_supported(isa)) {
            printf("SKIP winograd %s: this CPU lacks it\n", hy_isa_name(isa));
            continue;
        }
        ck_assert_int_eq(hy_isa_set(isa), HY_OK);
        tried++;
        check(3, 8, 7, 9, 1, 1, 0);     // odd sizes: partial tiles on both axes
        check(5, 7, 8, 8, 0, 2, 1);     // pad 0, even input -> even output; two images
        check(32, 32, 19, 17, 0, 3, 1); // FaceNet-like widths, 3 images
        check(16, 13, 9, 10, 1, 2, 0);  // cout not a multiple of the kernel's rows
        check(4, 6, 3, 3, 1, 1, 1);     // one tile row, output 3x3
        check(2, 3, 3, 3, 0, 2, 0);     // output 1x1
        check(8, 8, 4, 700, 1, 1, 1);   // a tile row of 350 tiles: blocks of one row
        check(200, 200, 6, 6, 1, 2, 0); // K = 200: blocks of 64+ tiles over both images
        for (int kind = 1; kind <= 2; kind++) {  // F(2, 7): 1x7, then 7x1
            check_kind(kind, 128, 128, 8, 8, 0, 1, 1);   // Block17 at batch 1
            check_kind(kind, 6, 9, 7, 9, 0, 3, 0);       // odd sizes: partial tiles; 3 images
            check_kind(kind, 5, 4, 2, 3, 0, 2, 1);       // images smaller than the kernel
            check_kind(kind, 40, 30, 5, 300, 0, 2, 1);   // wide rows: blocks of one tile row
            check_kind(kind, 300, 200, 17, 17, 0, 1, 0); // K = 300, several blocks
        }
        // stride 2 (polyphase form): odd and even sizes, partial last tiles on either axis,
        // several images and blocks, and conv2d_4b's shape at batch 1
        check_kind(3, 3, 8, 7, 9, 0, 1, 0);      // outputs 3x4
        check_kind(3, 5, 7, 8, 8, 0, 2, 1);      // even input: outputs 3x3, one column unread
        check_kind(3, 16, 13, 17, 17, 0, 3, 1);  // Mixed_6a-like 17 -> 8, 3 images
        check_kind(3, 4, 6, 3, 3, 0, 1, 1);      // output 1x1
        check_kind(3, 8, 8, 5, 701, 0, 1, 0);    // a tile row of 88 tiles: blocks of one row
        check_kind(3, 192, 256, 35, 35, 0, 1, 1); // conv2d_4b: 35 -> 17, K = 192, several blocks
    }
    ck_assert_int_ge(tried, 1);
    ck_assert_int_eq(hy_isa_set(hy_isa_detect()), HY_OK);
}
END_TEST

START_TEST(refuses_bad_shapes) {
    float w[9] = {0};
    hy_wino wg;
    ck_assert_int_eq(hy_wino_init(&wg, w, 1, 1, 2, 1, NULL), HY_EARG);
    ck_assert_ptr_null(wg.u);
    ck_assert_int_eq(hy_wino_init(&wg, w, 0, 1, 1, 1, NULL), HY_EARG);
    ck_assert_int_eq(hy_wino_init(&wg, w, 1, 1, 1, 2, NULL), HY_EARG);  // stride 2 takes pad 0 only
    ck_assert_int_eq(hy_wino_init(&wg, w, 1, 1, 0, 3, NULL), HY_EARG);
    ck_assert(hy_wino_pays(2, 35, 35) && !hy_wino_pays(2, 17, 17) && !hy_wino_pays(2, 8, 8) && hy_wino_pays(1, 3, 3));
    hy_wino7 w7;
    ck_assert_int_eq(hy_wino7_init(&w7, w, 0, 1, 0, NULL), HY_EARG);
    ck_assert_ptr_null(w7.u);
    ck_assert_int_eq(hy_wino7_init(&w7, w, 1, -1, 1, NULL), HY_EARG);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("winograd");
    TCase *t = tcase_create("core");
    tcase_set_timeout(t, 120);
    tcase_add_test(t, matches_the_naive_conv_on_every_isa);
    tcase_add_test(t, refuses_bad_shapes);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
