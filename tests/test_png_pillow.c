// test_png_pillow.c - the PNG reader against Pillow 9.4's Image.convert("RGB") for every colour
// type x bit depth x interlace (fixture: convert/golden/golden_png.py), and the decoded-size
// bound that refuses decompression bombs before allocating.
#include <check.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/image_io.h"
#include "base/wfile.h"
#include "testutil.h"

#define FIXTURE "tests/fixtures/png_pillow.bin"

static const wf_tensor *u8_tensor(const wfile *wf, const char *name) {
    const wf_tensor *t = hy_wf_find(wf, name);
    ck_assert_msg(t && t->dtype == WF_U8, "%s: tensor %s missing or not u8", FIXTURE, name);
    return t;
}

// Exact equality: decoding is integer arithmetic, there is nothing to round.
START_TEST(every_png_kind_matches_pillow) {
    wfile wf;
    ck_assert_msg(hy_wf_open(&wf, FIXTURE) == 0, "%s", hy_errmsg());
    const char *list;
    ck_assert_int_eq(hy_wf_cfg_str(&wf, "cases", &list), 0);
    char *names = strdup(list), *save = NULL;
    int n = 0, kinds_16gray = 0, kinds_short_palette = 0, kinds_adam7 = 0;
    for (char *name = strtok_r(names, ",", &save); name; name = strtok_r(NULL, ",", &save), n++) {
        char key[300];
        snprintf(key, sizeof key, "%s.png", name);
        const wf_tensor *png = u8_tensor(&wf, key);
        snprintf(key, sizeof key, "%s.rgb", name);
        const wf_tensor *want = u8_tensor(&wf, key);
        int w, h;
        uint8_t *rgb;
        ck_assert_msg(hy_png_decode_rgb8(name, png->data, (size_t)png->nbytes, &w, &h, &rgb) == 0, "%s: %s", name,
                      hy_errmsg());
        ck_assert_int_eq(h, want->dims[0]);
        ck_assert_int_eq(w, want->dims[1]);
        const uint8_t *e = want->data;
        for (size_t i = 0; i < (size_t)w * h * 3; i++)
            ck_assert_msg(rgb[i] == e[i], "%s: pixel %zu channel %zu: hyper %d, Pillow %d", name, i / 3, i % 3, rgb[i],
                          e[i]);
        free(rgb);
        kinds_16gray += !strncmp(name, "gray16", 6);
        kinds_short_palette += strstr(name, "_short") != NULL;
        kinds_adam7 += strstr(name, "_adam7") != NULL;
    }
    free(names);
    // the fixture holds every kind (5 gray depths, RGB/GA/RGBA 8+16, 4 palette depths, tRNS
    // variants), each plain and interlaced
    ck_assert_int_eq(n, 62);
    ck_assert_int_eq(kinds_16gray, 4);
    ck_assert_int_eq(kinds_short_palette, 8);
    ck_assert_int_eq(kinds_adam7, 31);
    hy_wf_close(&wf);
}
END_TEST

// issue 19 #13: a 32 KB 1-bit 16384x16384 PNG decoded to 805 MB of RGB (embed peaked at 1.59 GB);
// now refused from its header, before any pixel memory is allocated.
START_TEST(decoded_size_is_bounded_by_the_file_size) {
    size_t len;
    uint8_t *png = test_bilevel_png(16384, 16384, &len);
    ck_assert_msg(len < 40000, "the bomb is %zu bytes", len);
    int w, h;
    uint8_t *rgb = NULL;
    ck_assert_int_eq(hy_png_decode_rgb8("bomb.png", png, len, &w, &h, &rgb), HY_EFORMAT);
    ck_assert_ptr_null(rgb);
    ck_assert_msg(strstr(hy_errmsg(), "bomb.png: corrupt PNG: a 16384x16384 image (768 MB as RGB)") &&
                      strstr(hy_errmsg(), "over the limit of 1032 x the file size + 16 MB"),
                  "%s", hy_errmsg());
    free(png);
    // the same kind of file within the bound decodes: 2048x2048 = 12 MB of RGB from ~600 bytes
    png = test_bilevel_png(2048, 2048, &len);
    ck_assert_int_eq(hy_png_decode_rgb8("small.png", png, len, &w, &h, &rgb), 0);
    ck_assert_int_eq(w, 2048);
    ck_assert_int_eq(rgb[3 * 2048 * 2048 - 1], 0);
    free(rgb);
    free(png);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("png_pillow");
    TCase *t = tcase_create("png");
    tcase_set_timeout(t, 60);
    tcase_add_test(t, every_png_kind_matches_pillow);
    tcase_add_test(t, decoded_size_is_bounded_by_the_file_size);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
