// test_resize.c - Pillow-exact bilinear resize (bit-exact against Pillow outputs committed in
// tests/fixtures/resize_pillow.bin by convert/golden/golden_facenet.py), crop, standardisation.
#include "base/common.h"
#include "base/resize.h"
#include "testutil.h"
#include "base/wfile.h"

// Same formula as synth() in convert/golden/golden_facenet.py: gradient + hashed noise + checker flips.
static uint8_t *synth(int w, int h, uint32_t seed) {
    uint8_t *img = malloc((size_t)w * h * 3);
    for (uint32_t y = 0; y < (uint32_t)h; y++)
        for (uint32_t x = 0; x < (uint32_t)w; x++)
            for (uint32_t c = 0; c < 3; c++) {
                uint32_t hs = (x * 73856093u) ^ (y * 19349663u) ^ ((c + seed) * 83492791u);
                hs = (hs ^ (hs >> 13)) * 1274126177u;
                uint32_t noise = (hs >> 24) & 255;
                uint32_t grad = (x * 255 / (uint32_t)(w > 1 ? w - 1 : 1) + y * 255 / (uint32_t)(h > 1 ? h - 1 : 1)) / 2;
                uint32_t v = (3 * grad + noise) / 4;
                if (((x / 37 + y / 23) & 1) == 1) v = 255 - v;
                img[((size_t)y * w + x) * 3 + c] = (uint8_t)v;
            }
    return img;
}

START_TEST(pillow_bit_exact) {
    wfile ref;
    ck_assert_msg(hy_wf_open(&ref, "tests/fixtures/resize_pillow.bin") == 0, "%s", hy_errmsg());
    const int64_t *cs;
    uint32_t nc;
    ck_assert_int_eq(hy_wf_cfg_ints(&ref, "cases", &cs, &nc), 0);
    ck_assert_int_eq(nc % 8, 0);
    ck_assert_int_ge(nc / 8, 8);
    long total = 0;
    for (uint32_t i = 0; i < nc / 8; i++) {
        const int64_t *c = cs + 8 * i;
        int sw = (int)c[0], sh = (int)c[1], ow = (int)c[6], oh = (int)c[7];
        crop_box b = {(int)c[2], (int)c[3], (int)c[4], (int)c[5]};
        uint8_t *src = synth(sw, sh, i);
        ck_assert_int_eq(hy_crop_check(&b, sw, sh, "test"), 0);
        uint8_t *crop = malloc((size_t)(b.x2 - b.x1) * (b.y2 - b.y1) * 3), *out = malloc((size_t)ow * oh * 3);
        hy_crop_rgb8(crop, src, sw, &b);
        ck_assert_int_eq(hy_resize_rgb8(out, ow, oh, crop, b.x2 - b.x1, b.y2 - b.y1), 0);
        char name[32];
        snprintf(name, sizeof name, "case%u", i);
        const wf_tensor *t = hy_wf_find(&ref, name);
        ck_assert_ptr_nonnull(t);
        ck_assert_int_eq(t->nbytes, (uint64_t)ow * oh * 3);
        const uint8_t *want = t->data;
        long bad = 0;
        int maxd = 0;
        for (size_t k = 0; k < t->nbytes; k++) {
            int d = abs((int)out[k] - (int)want[k]);
            bad += d != 0;
            if (d > maxd) maxd = d;
        }
        // Pillow's integer arithmetic is reproduced exactly: no tolerance.
        ck_assert_msg(bad == 0, "case %u (%dx%d crop %d,%d,%d,%d -> %dx%d): %ld of %lu values differ (max %d)", i, sw,
                      sh, b.x1, b.y1, b.x2, b.y2, ow, oh, bad, (unsigned long)t->nbytes, maxd);
        total += (long)t->nbytes;
        free(src), free(crop), free(out);
    }
    printf("resize: %ld values over %u cases bit-identical to Pillow\n", total, nc / 8);
    hy_wf_close(&ref);
}
END_TEST

START_TEST(standardize_values) {
    uint8_t rgb[6] = {0, 128, 255, 10, 20, 30};  // 2 pixels
    float chw[6];
    hy_standardize_rgb8(chw, rgb, 2, 1);
    ck_assert_float_eq(chw[0], -127.5f / 128);  // R of pixel 0
    ck_assert_float_eq(chw[1], (10 - 127.5f) / 128);  // R of pixel 1 (planar)
    ck_assert_float_eq(chw[2], 0.5f / 128);  // G of pixel 0
    ck_assert_float_eq(chw[4], 127.5f / 128);  // B of pixel 0
    ck_assert_float_eq(chw[5], (30 - 127.5f) / 128);
}
END_TEST

START_TEST(identity_and_errors) {
    uint8_t *img = synth(31, 17, 9), out[31 * 17 * 3];
    ck_assert_int_eq(hy_resize_rgb8(out, 31, 17, img, 31, 17), 0);
    ck_assert_int_eq(memcmp(out, img, sizeof out), 0);  // same size: identity, as Pillow
    ck_assert_int_ne(hy_resize_rgb8(out, 0, 17, img, 31, 17), 0);
    crop_box b = {0, 0, 32, 17};
    ck_assert_int_ne(hy_crop_check(&b, 31, 17, "x.png"), 0);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "x.png"));
    crop_box e = {5, 5, 5, 9};
    ck_assert_int_ne(hy_crop_check(&e, 31, 17, "x.png"), 0);
    crop_box f = hy_crop_full(31, 17);
    ck_assert_int_eq(hy_crop_check(&f, 31, 17, "x.png"), 0);
    // face_preprocess = crop + resize + standardise
    float chw[3 * 8 * 8];
    ck_assert_int_eq(hy_face_preprocess(chw, NULL, 8, img, 31, 17, &f), 0);
    uint8_t small[8 * 8 * 3];
    ck_assert_int_eq(hy_resize_rgb8(small, 8, 8, img, 31, 17), 0);
    ck_assert_float_eq(chw[64 + 9], ((float)small[9 * 3 + 1] - 127.5f) / 128);
    free(img);
}
END_TEST

static Suite *resize_suite(void) {
    Suite *s = suite_create("resize");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, pillow_bit_exact);
    tcase_add_test(tc, standardize_values);
    tcase_add_test(tc, identity_and_errors);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(resize_suite)
