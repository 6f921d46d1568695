// test_io.c - .npy reading/writing and PNG decoding/encoding against fixtures written by
// numpy and by an independent minimal PNG encoder (convert/golden/golden_core.py).
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/threads.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "testutil.h"

#define FX "tests/fixtures/"

START_TEST(npy_reads_numpy_files) {
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(FX "npy/f32_2x3.npy", &a, 0), 0);
    ck_assert_int_eq(a.ndim, 2);
    ck_assert(a.dims[0] == 2 && a.dims[1] == 3 && a.size == 6);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(a.data[i], i - 2.5f);
    hy_npy_free_f32(&a);
    ck_assert_int_eq(hy_npy_read_f32(FX "npy/v2.npy", &a, 0), 0);  // format version 2.0
    ck_assert_float_eq(a.data[5], 2.5f);
    hy_npy_free_f32(&a);
    // Fortran order (np.asfortranarray of the same (2, 3) array): the same values in C order
    ck_assert_int_eq(hy_npy_read_f32(FX "npy/fortran.npy", &a, 0), 0);
    ck_assert(a.ndim == 2 && a.dims[0] == 2 && a.dims[1] == 3);
    for (int i = 0; i < 6; i++) ck_assert_float_eq(a.data[i], i - 2.5f);
    hy_npy_free_f32(&a);
    {  // a 3-D Fortran-order array (2, 3, 4) built here: element (i,j,k) = 100i + 10j + k
        _Alignas(8) uint8_t img[128 + 24 * 8];  // aligned: the data part is written as doubles
        size_t h = hy_npy_format_header(img, sizeof img, "<f8", 3, (int64_t[]){2, 3, 4});
        ck_assert(h > 0 && h <= 128);
        char *fo = memmem(img, h, "False", 5);
        memcpy(fo, "True ", 5);  // same header length, fortran_order True
        double *x = (double *)(img + h);
        for (int k = 0, n = 0; k < 4; k++)
            for (int j = 0; j < 3; j++)
                for (int i = 0; i < 2; i++) x[n++] = 100 * i + 10 * j + k;
        int nd;
        int64_t dims[8];
        void *o;
        ck_assert_int_eq(hy_npy_parse("f3.npy", img, h + 24 * 8, 'd', &nd, dims, &o), 0);
        for (int i = 0, n = 0; i < 2; i++)
            for (int j = 0; j < 3; j++)
                for (int k = 0; k < 4; k++) ck_assert(((double *)o)[n++] == 100 * i + 10 * j + k);
        free(o);
    }
    npy_f64 d;
    ck_assert_int_eq(hy_npy_read_f64(FX "npy/f64_4.npy", &d, 0), 0);
    ck_assert(d.ndim == 1 && d.dims[0] == 4 && d.data[1] == -1.25 && d.data[2] == 1e30);
    hy_npy_free_f64(&d);
    ck_assert_int_eq(hy_npy_read_f32(FX "npy/scalar.npy", &a, 0), 0);
    ck_assert(a.ndim == 0 && a.size == 1 && a.data[0] == 2.5f);
    hy_npy_free_f32(&a);
    int nd;
    int64_t dims[8], *iv;
    ck_assert_int_eq(hy_npy_read_i64(FX "npy/i8_3.npy", &nd, dims, &iv), 0);
    ck_assert(nd == 1 && iv[1] == -4 && iv[2] == 5);
    free(iv);
    ck_assert_int_eq(hy_npy_read_i64(FX "npy/u1_2x2.npy", &nd, dims, &iv), 0);
    ck_assert(iv[1] == 255 && iv[3] == 8);
    free(iv);
}
END_TEST

static void expect_npy_error(const char *path, int code, const char *needle) {
    npy_f32 a;
    int r = hy_npy_read_f32(path, &a, 0);
    ck_assert_msg(r == code, "%s: expected %d got %d (%s)", path, code, r, hy_errmsg());
    ck_assert_msg(strstr(hy_errmsg(), needle) && strstr(hy_errmsg(), path), "%s: message '%s'", path, hy_errmsg());
    ck_assert_ptr_null(a.data);
}

START_TEST(npy_rejects_bad_files) {
    expect_npy_error(FX "npy/bigendian.npy", HY_EFORMAT, "unsupported dtype '>f4'");
    expect_npy_error(FX "npy/f16.npy", HY_EFORMAT, "unsupported dtype '<f2'");
    expect_npy_error(FX "npy/nan.npy", HY_EVALUE, "element 1 is NaN");
    expect_npy_error(FX "npy/f64_overflow.npy", HY_EVALUE, "NaN or Inf");
    expect_npy_error(FX "npy/i8_3.npy", HY_EFORMAT, "float32/float64 array");
    expect_npy_error(FX "png/rgb8.png", HY_EFORMAT, "not a .npy file");
    expect_npy_error("/nonexistent.npy", HY_EIO, "cannot open");
    // truncated data and a header claiming a huge shape
    char *d = test_tmpdir(), p[256];
    uint8_t *buf;
    size_t n;
    ck_assert_int_eq(hy_read_file(FX "npy/f32_2x3.npy", &buf, &n, 0), 0);
    snprintf(p, sizeof p, "%s/trunc.npy", d);
    FILE *f = fopen(p, "wb");
    fwrite(buf, 1, n - 3, f);
    fclose(f);
    expect_npy_error(p, HY_EFORMAT, "truncated");
    char *shape = memmem(buf, n, "(2, 3)", 6);
    ck_assert_ptr_nonnull(shape);
    memcpy(shape, "(9, 33)", 7);  // header now claims 297 elements; the file holds 6
    snprintf(p, sizeof p, "%s/lie.npy", d);
    f = fopen(p, "wb");
    fwrite(buf, 1, n, f);
    fclose(f);
    expect_npy_error(p, HY_EFORMAT, "truncated");
    free(buf);
    // NaN allowed when asked
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(FX "npy/nan.npy", &a, 1), 0);
    ck_assert(isnan(a.data[1]));
    hy_npy_free_f32(&a);
}
END_TEST

START_TEST(npy_write_round_trip) {
    char *d = test_tmpdir(), p[256];
    snprintf(p, sizeof p, "%s/x.npy", d);
    float x[6] = {1, 2, 3, 4, 5, 6.5f};
    ck_assert_int_eq(hy_npy_write_f32(p, 3, (int64_t[]){1, 2, 3}, x), 0);
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(p, &a, 0), 0);
    ck_assert(a.ndim == 3 && a.dims[2] == 3 && a.data[5] == 6.5f);
    hy_npy_free_f32(&a);
    snprintf(p, sizeof p, "%s/i.npy", d);
    ck_assert_int_eq(hy_npy_write_i64(p, 1, (int64_t[]){2}, (int64_t[]){-9, 1LL << 40}), 0);
    int nd;
    int64_t dims[8], *iv;
    ck_assert_int_eq(hy_npy_read_i64(p, &nd, dims, &iv), 0);
    ck_assert(nd == 1 && iv[0] == -9 && iv[1] == 1LL << 40);
    free(iv);
    // no temp file left behind
    ck_assert_int_eq(dir_count(d), 2);
    // unwritable location: error, nothing created
    ck_assert_int_ne(hy_npy_write_f32("/nonexistent-dir/x.npy", 1, (int64_t[]){6}, x), 0);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "/nonexistent-dir/x.npy"));
}
END_TEST

static void check_png(const char *name) {
    char p[256], e[256];
    snprintf(p, sizeof p, FX "png/%s.png", name);
    snprintf(e, sizeof e, FX "png/%s.expected.npy", name);
    int w, h, nd;
    uint8_t *rgb;
    int64_t dims[8], *want;
    ck_assert_msg(hy_image_read_rgb8(p, &w, &h, &rgb) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_npy_read_i64(e, &nd, dims, &want), 0);
    ck_assert(nd == 3 && dims[0] == h && dims[1] == w && dims[2] == 3);
    for (int i = 0; i < w * h * 3; i++) ck_assert_msg(rgb[i] == want[i], "%s: byte %d: %d != %lld", name, i, rgb[i], (long long)want[i]);
    free(rgb);
    free(want);
}

START_TEST(png_all_formats_to_rgb8) {
    const char *names[] = {"rgb8", "rgba8", "gray8", "grayalpha8", "gray16", "rgb16", "palette8", "gray1"};
    for (int i = 0; i < 8; i++) check_png(names[i]);
}
END_TEST

START_TEST(png_bad_input) {
    int w, h;
    uint8_t *rgb;
    ck_assert_int_eq(hy_image_read_rgb8(FX "png/not_png.png", &w, &h, &rgb), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "not_png.png: is a GIF image; only PNG and JPEG are read"));
    ck_assert_int_eq(hy_image_read_rgb8(FX "png/truncated.png", &w, &h, &rgb), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "truncated.png: corrupt PNG"));
    ck_assert_int_eq(hy_image_read_rgb8(FX "png/zero_width.png", &w, &h, &rgb), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "zero_width.png"));
    ck_assert_ptr_null(rgb);
    ck_assert_int_eq(hy_image_read_rgb8("/nonexistent.png", &w, &h, &rgb), HY_EIO);
}
END_TEST

START_TEST(png_write_round_trip) {
    char *d = test_tmpdir(), p[256];
    snprintf(p, sizeof p, "%s/o.png", d);
    uint8_t img[2 * 3 * 3];
    for (int i = 0; i < 18; i++) img[i] = (uint8_t)(i * 14);
    ck_assert_int_eq(hy_png_write_rgb8(p, 3, 2, img), 0);
    int w, h;
    uint8_t *rgb;
    ck_assert_int_eq(hy_image_read_rgb8(p, &w, &h, &rgb), 0);
    ck_assert(w == 3 && h == 2 && !memcmp(rgb, img, 18));
    free(rgb);
    ck_assert_int_eq(dir_count(d), 1);
}
END_TEST

START_TEST(karras_u8_rounding) {
    // 127.5 x + 127.5 with half-to-even rounding and clamping (spec pggan.md section 2)
    ck_assert_int_eq(hy_img_to_u8(-1.0f), 0);
    ck_assert_int_eq(hy_img_to_u8(1.0f), 255);
    ck_assert_int_eq(hy_img_to_u8(5.0f), 255);
    ck_assert_int_eq(hy_img_to_u8(-3.0f), 0);
    ck_assert_int_eq(hy_img_to_u8(NAN), 0);
    ck_assert_int_eq(hy_img_to_u8(0.0f), 128);                   // 127.5 -> 128 (even)
    // 127.5 * 0.4f rounds to exactly 51 in float32, so these land exactly on .5
    ck_assert_int_eq(hy_img_to_u8(0.4f), 178);   // 178.5 -> 178 (even)
    ck_assert_int_eq(hy_img_to_u8(0.8f), 230);   // 229.5 -> 230 (even)
    ck_assert_int_eq(hy_img_to_u8(-0.4f), 76);   // 76.5 -> 76
    ck_assert_int_eq(hy_img_to_u8(-0.8f), 26);   // 25.5 -> 26
    ck_assert_int_eq(hy_img_to_u8(0.41f), 180);  // 179.775 -> 180
    float chw[3 * 2] = {-1, 1, 0, 0, 1, -1};  // (3,1,2) -> pixels (0,0,255) and (255,0,0)
    uint8_t rgb[6];
    hy_img_f32_to_rgb8(rgb, chw, 2, 1);
    ck_assert(rgb[0] == 0 && rgb[1] == 128 && rgb[2] == 255 && rgb[3] == 255 && rgb[4] == 128 && rgb[5] == 0);
}
END_TEST

// hy_read_file on a 20 MB + 3 byte file (read in 8 MB chunks by all threads from 16 MB; by one
// thread below): the same bytes at 1 and 2 threads, the last partial chunk included, and NUL after.
START_TEST(read_file_big_in_chunks) {
    char path[] = "/tmp/hy_readbig_XXXXXX";
    const int fd = mkstemp(path);
    ck_assert_int_ge(fd, 0);
    FILE *f = fdopen(fd, "wb");
    const size_t n = ((size_t)20 << 20) + 3;
    uint8_t *want = malloc(n);
    for (size_t i = 0; i < n; i++) want[i] = (uint8_t)((i * 2654435761u) >> 13);
    ck_assert_uint_eq(fwrite(want, 1, n, f), n);
    fclose(f);
    for (int threads = 1; threads <= 2; threads++) {
        hy_set_threads(threads);
        uint8_t *got = NULL;
        size_t size = 0;
        ck_assert_int_eq(hy_read_file(path, &got, &size, 0), HY_OK);
        ck_assert_uint_eq(size, n);
        ck_assert_msg(!memcmp(got, want, n), "%d thread(s): the bytes differ", threads);
        ck_assert_int_eq(got[n], 0);
        free(got);
    }
    hy_set_threads(1);
    remove(path);
    free(want);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("io");
    TCase *tc = tcase_create("core");
    tcase_add_test(tc, npy_reads_numpy_files);
    tcase_add_test(tc, npy_rejects_bad_files);
    tcase_add_test(tc, npy_write_round_trip);
    tcase_add_test(tc, png_all_formats_to_rgb8);
    tcase_add_test(tc, png_bad_input);
    tcase_add_test(tc, png_write_round_trip);
    tcase_add_test(tc, karras_u8_rounding);
    tcase_add_test(tc, read_file_big_in_chunks);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
