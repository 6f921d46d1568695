// test_jpeg.c - JPEG reading (src/base/jpeg.c) against Pillow, and the format-detecting reader.
//
// Fixtures: tests/fixtures/jpeg/NAME.jpg written by Pillow and NAME.expected.npy, the pixels of
// Image.open(NAME.jpg).convert('RGB') (convert/golden/golden_jpeg.py). Every byte must match:
// both sides run the same libjpeg-turbo with the same settings, so there is no tolerance.
#include "base/common.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "testutil.h"

#define FX "tests/fixtures/jpeg/"

static const char *CASES[] = {"baseline420", "baseline422", "baseline444",      "optimized",
                              "progressive", "grey",        "grey_progressive", "cmyk",
                              "cmyk_progressive", "exif_rotated", "extraneous"};
#define NCASES (int)(sizeof CASES / sizeof CASES[0])

static void check_case(const char *name) {
    char p[256], e[256];
    snprintf(p, sizeof p, FX "%s.jpg", name);
    snprintf(e, sizeof e, FX "%s.expected.npy", name);
    int w, h, nd;
    uint8_t *rgb;
    int64_t dims[8], *want;
    ck_assert_msg(hy_image_read_rgb8(p, &w, &h, &rgb) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_npy_read_i64(e, &nd, dims, &want), 0);
    ck_assert(nd == 3 && dims[0] == h && dims[1] == w && dims[2] == 3);
    ck_assert(w == 37 && h == 29);
    int bad = 0;
    for (int i = 0; i < w * h * 3; i++) bad += rgb[i] != want[i];
    ck_assert_msg(bad == 0, "%s: %d of %d bytes differ from Pillow", name, bad, w * h * 3);
    free(rgb);
    free(want);
}

START_TEST(jpeg_equals_pillow) {
    for (int i = 0; i < NCASES; i++) check_case(CASES[i]);
}
END_TEST

// The CMYK path must not be a no-op: its pixels differ from the RGB file's (same picture,
// another colour model and rounding), and grey files give three equal channels.
START_TEST(jpeg_cmyk_and_grey_are_converted) {
    int w, h;
    uint8_t *c, *g;
    ck_assert_int_eq(hy_image_read_rgb8(FX "cmyk.jpg", &w, &h, &c), 0);
    ck_assert_int_eq(hy_image_read_rgb8(FX "grey.jpg", &w, &h, &g), 0);
    long spread = 0;
    for (int i = 0; i < w * h; i++) {
        ck_assert(g[3 * i] == g[3 * i + 1] && g[3 * i] == g[3 * i + 2]);
        spread += abs(c[3 * i] - c[3 * i + 2]);
    }
    ck_assert_msg(spread > 10 * w * h, "CMYK image looks grey (mean |R-B| %.1f)", (double)spread / (w * h));
    free(c);
    free(g);
}
END_TEST

static void expect_error(const char *name, const uint8_t *buf, size_t n, const char *needle) {
    int w = -1, h = -1;
    uint8_t *rgb = (uint8_t *)1;
    int r = hy_image_decode_rgb8(name, buf, n, &w, &h, &rgb);
    ck_assert_msg(r == HY_EFORMAT, "%s: expected HY_EFORMAT, got %d (%s)", name, r, hy_errmsg());
    ck_assert_ptr_null(rgb);
    ck_assert(w == 0 && h == 0);
    ck_assert_msg(strstr(hy_errmsg(), name) && strstr(hy_errmsg(), needle), "%s: message '%s' lacks '%s'", name,
                  hy_errmsg(), needle);
}

static uint8_t *slurp(const char *path, size_t *n) {
    uint8_t *b;
    ck_assert_int_eq(hy_read_file(path, &b, n, 0), 0);
    return b;
}

START_TEST(jpeg_bad_input) {
    int w, h;
    uint8_t *rgb;
    ck_assert_int_eq(hy_image_read_rgb8(FX "truncated.jpg", &w, &h, &rgb), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "truncated.jpg: corrupt JPEG: file is truncated"));
    ck_assert_int_eq(hy_image_read_rgb8(FX "bad_huffman.jpg", &w, &h, &rgb), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "bad_huffman.jpg: corrupt JPEG: "));
    ck_assert_ptr_null(rgb);
    size_t n;
    uint8_t *b = slurp(FX "baseline420.jpg", &n);
    // a PNG decoder given a JPEG and the other way round
    ck_assert_int_eq(hy_png_decode_rgb8("x.jpg", b, n, &w, &h, &rgb), HY_EFORMAT);
    ck_assert_int_eq(hy_jpeg_decode_rgb8("x.png", (const uint8_t *)"\x89PNG\r\n\x1a\n", 8, &w, &h, &rgb), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "x.png: not a JPEG file"));
    // the header claims 40000 x 40000 (1.6e9 pixels): refused before anything is allocated
    uint8_t *sof = memmem(b, n, "\xff\xc0", 2);
    ck_assert_ptr_nonnull(sof);
    uint8_t saved[4];
    memcpy(saved, sof + 5, 4);
    memcpy(sof + 5, "\x9c\x40\x9c\x40", 4);
    expect_error("huge.jpg", b, n, "image is 40000x40000, over the limit of 268435456 pixels");
    // 16000 x 16000 is under the limit but cannot fit in 1250 bytes (at most 512 pixels a byte)
    memcpy(sof + 5, "\x3e\x80\x3e\x80", 4);
    expect_error("lie.jpg", b, n, "truncated: a 16000x16000 image cannot fit in");
    memcpy(sof + 5, "\x00\x00\x00\x25", 4);  // height 0
    expect_error("empty.jpg", b, n, "corrupt JPEG");
    memcpy(sof + 5, saved, 4);
    // every prefix of the file fails cleanly (the test runs under ASan in `make test SANITIZE=1`)
    for (size_t k = 0; k < n - 2; k++) expect_error("cut.jpg", b, k, k < 3 ? "not a PNG or JPEG file" : "corrupt JPEG");
    free(b);
    b = slurp(FX "progressive.jpg", &n);
    for (size_t k = 3; k < n - 2; k += 7) expect_error("cut.jpg", b, k, "corrupt JPEG");
    free(b);
    // other formats are named
    expect_error("a.gif", (const uint8_t *)"GIF89a\x01\x00\x01\x00", 10, "is a GIF image; only PNG and JPEG are read");
    expect_error("a.webp", (const uint8_t *)"RIFF\x10\0\0\0WEBPVP8 ", 16, "is a WebP image");
    expect_error("a.txt", (const uint8_t *)"hello", 5, "not a PNG or JPEG file");
}
END_TEST

// The commands read JPEG wherever they read PNG: `hyper embed` gives the same embedding for a
// JPEG and for a PNG holding the pixels Pillow decodes from it.
START_TEST(cli_embed_reads_jpeg) {
    char *d = test_tmpdir(), png[300], e1[300], e2[300], *log = NULL;
    int w, h;
    uint8_t *rgb;
    ck_assert_int_eq(hy_image_read_rgb8(FX "progressive.jpg", &w, &h, &rgb), 0);
    snprintf(png, sizeof png, "%s/same.png", d);
    ck_assert_int_eq(hy_png_write_rgb8(png, w, h, rgb), 0);
    free(rgb);
    snprintf(e1, sizeof e1, "%s/jpg.npy", d);
    snprintf(e2, sizeof e2, "%s/png.npy", d);
    const char *tiny = "tests/fixtures/facenet_tiny.bin";
    int rc = run_hyper(&log, "embed -q -e %s --crop full " FX "progressive.jpg -o %s", tiny, e1);
    ck_assert_msg(rc == 0, "embed jpg: %s", log);
    free(log);
    rc = run_hyper(&log, "embed -q -e %s --crop full %s -o %s", tiny, png, e2);
    ck_assert_msg(rc == 0, "embed png: %s", log);
    free(log);
    npy_f32 a, b;
    ck_assert_int_eq(hy_npy_read_f32(e1, &a, 0), 0);
    ck_assert_int_eq(hy_npy_read_f32(e2, &b, 0), 0);
    ck_assert(a.size == b.size && a.size > 0);
    ck_assert_int_eq(memcmp(a.data, b.data, a.size * sizeof(float)), 0);  // same pixels, same bytes
    hy_npy_free_f32(&a);
    hy_npy_free_f32(&b);
    // a broken JPEG: one line naming the file, exit 1, no output
    rc = run_hyper(&log, "embed -q -e %s --crop full " FX "truncated.jpg -o %s/bad.npy", tiny, d);
    ck_assert_int_eq(rc, 1);
    ck_assert_msg(strstr(log, "truncated.jpg: corrupt JPEG: file is truncated"), "%s", log);
    free(log);
    ck_assert_int_eq(dir_count(d), 3);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("jpeg");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, jpeg_equals_pillow);
    tcase_add_test(tc, jpeg_cmyk_and_grey_are_converted);
    tcase_add_test(tc, jpeg_bad_input);
    tcase_add_test(tc, cli_embed_reads_jpeg);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
