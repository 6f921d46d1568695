// test_npz.c - the .npz reader (src/base/npz.c) on archives written by np.savez,
// np.savez_compressed and Python's zipfile (tests/fixtures/npz/, convert/golden/golden_npz.py),
// and on damaged copies of them made here: every truncation and every single-byte change
// must either read the same values or fail with a one-line error naming the file.
#include <math.h>

#include "base/common.h"
#include "base/npz.h"
#include "testutil.h"

#define FX "tests/fixtures/npz/"

// weight[i][j] = (4 i + j - 6) / 8, as golden_npz.py writes it (exact in float32)
static void check_weight(const npy_f32 *w) {
    ck_assert_int_eq(w->ndim, 2);
    ck_assert(w->dims[0] == 3 && w->dims[1] == 4 && w->size == 12);
    for (int i = 0; i < 12; i++) ck_assert_float_eq(w->data[i], (i - 6) / 8.0f);
}

static void check_archive(const char *path) {
    npz_file z;
    ck_assert_msg(hy_npz_open(&z, path) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(z.n, 6);
    npy_f32 w;
    ck_assert_msg(hy_npz_read_f32(&z, "weight", &w, 0) == 0, "%s", hy_errmsg());
    check_weight(&w);
    hy_npy_free_f32(&w);
    ck_assert_int_eq(hy_npz_read_f32(&z, "weight.npy", &w, 0), 0);  // the member name works too
    hy_npy_free_f32(&w);
    npy_f64 b;
    ck_assert_int_eq(hy_npz_read_f64(&z, "bias", &b, 0), 0);
    ck_assert(b.ndim == 1 && b.dims[0] == 3 && b.data[0] == 0.5 && b.data[1] == -1.25 && b.data[2] == 1e300);
    hy_npy_free_f64(&b);
    // 1e300 does not fit float32: the float32 read refuses it (as hy_npy_read_f32 does)
    ck_assert_int_eq(hy_npz_read_f32(&z, "bias", &w, 0), HY_EVALUE);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), ":bias: element 2"));
    int nd;
    int64_t dims[8];
    void *iv;
    ck_assert_int_eq(hy_npz_read(&z, "idx", 'i', &nd, dims, &iv), 0);
    int64_t want[5] = {3, -4, 5, 0, 7};
    ck_assert(nd == 1 && dims[0] == 5 && !memcmp(iv, want, sizeof want));
    free(iv);
    ck_assert_int_eq(hy_npz_read_f32(&z, "scalar", &w, 0), 0);
    ck_assert(w.ndim == 0 && w.size == 1 && w.data[0] == 2.5f);
    hy_npy_free_f32(&w);
    // NaN: refused unless allowed; big endian: the .npy rules apply, named file:array
    ck_assert_int_eq(hy_npz_read_f32(&z, "nan", &w, 0), HY_EVALUE);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "nan: element 1 is NaN"));
    ck_assert_int_eq(hy_npz_read_f32(&z, "nan", &w, 1), 0);
    ck_assert(w.data[0] == 1 && isnan(w.data[1]));
    hy_npy_free_f32(&w);
    ck_assert_int_eq(hy_npz_read_f32(&z, "be", &w, 0), HY_EFORMAT);
    ck_assert_msg(strstr(hy_errmsg(), ":be: unsupported dtype '>f4'") && strstr(hy_errmsg(), path), "%s", hy_errmsg());
    // a missing array: the message lists what there is
    ck_assert_int_eq(hy_npz_read_f32(&z, "bias0", &w, 0), HY_EFORMAT);
    ck_assert_msg(strstr(hy_errmsg(), "no array 'bias0' (it has: weight, bias, idx, scalar, nan, be)"), "%s",
                  hy_errmsg());
    ck_assert_ptr_null(w.data);
    ck_assert_ptr_null(hy_npz_find(&z, "weigh"));
    hy_npz_close(&z);
}

START_TEST(reads_savez_and_savez_compressed) {
    check_archive(FX "plain.npz");
    check_archive(FX "compressed.npz");
    // sizes in data descriptors (written to an unseekable stream)
    npz_file z;
    ck_assert_msg(hy_npz_open(&z, FX "streamed.npz") == 0, "%s", hy_errmsg());
    npy_f32 w;
    ck_assert_int_eq(hy_npz_read_f32(&z, "weight", &w, 0), 0);
    check_weight(&w);
    hy_npy_free_f32(&w);
    hy_npz_close(&z);
}
END_TEST

static void expect_open_error(const char *path, const char *needle) {
    npz_file z;
    int r = hy_npz_open(&z, path);
    ck_assert_msg(r < 0, "%s opened", path);
    ck_assert_msg(strstr(hy_errmsg(), needle) && strstr(hy_errmsg(), path), "%s: message '%s'", path, hy_errmsg());
    ck_assert_ptr_null(z.members);
}

START_TEST(refuses_bad_archives) {
    expect_open_error(FX "duplicate.npz", "member weight.npy appears twice");
    expect_open_error(FX "bzip2.npz", "compression method 12 (only stored or deflate)");
    expect_open_error("tests/fixtures/npy/f32_2x3.npy", "no zip end record");
    expect_open_error("/nonexistent.npz", "cannot open");
}
END_TEST

// Reads every array of an archive image; returns HY_OK when all read as in the fixture.
static int read_all(const uint8_t *buf, size_t len, const char *label) {
    npz_file z;
    int r = hy_npz_open_mem(&z, label, buf, len);
    if (r) return r;
    npy_f32 w;
    npy_f64 b;
    if (!(r = hy_npz_read_f32(&z, "weight", &w, 0))) {
        for (int i = 0; i < 12 && !r; i++)
            if (w.size != 12 || w.data[i] != (i - 6) / 8.0f) r = -100;  // a wrong value read silently
        hy_npy_free_f32(&w);
    }
    if (!r && !(r = hy_npz_read_f64(&z, "bias", &b, 0))) {
        if (b.size != 3 || b.data[1] != -1.25) r = -100;
        hy_npy_free_f64(&b);
    }
    hy_npz_close(&z);
    return r;
}

// Every truncation fails; every single-byte change fails with a message naming the archive
// or leaves the arrays intact (bytes the reader does not use: times, comments, padding).
static void damage_all(const char *path) {
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(hy_read_file(path, &buf, &len, 0), 0);
    ck_assert_int_eq(read_all(buf, len, "mem.npz"), 0);
    for (size_t cut = 0; cut < len; cut++) {
        int r = read_all(buf, cut, "mem.npz");
        ck_assert_msg(r < 0 && r != -100, "%s cut at %zu: %d", path, cut, r);
        ck_assert_msg(strstr(hy_errmsg(), "mem.npz") && !strchr(hy_errmsg(), '\n'), "cut %zu: %s", cut, hy_errmsg());
    }
    int caught = 0;
    for (size_t at = 0; at < len; at++) {
        uint8_t keep = buf[at];
        buf[at] ^= 0x5a;
        int r = read_all(buf, len, "mem.npz");
        ck_assert_msg(r != -100, "%s: byte %zu changed a value without an error", path, at);
        if (r) {
            caught++;
            ck_assert_msg(strstr(hy_errmsg(), "mem.npz") && !strchr(hy_errmsg(), '\n'), "byte %zu: %s", at,
                          hy_errmsg());
        }
        buf[at] = keep;
    }
    printf("  %s: %zu truncations refused, %d of %zu byte changes refused, the rest harmless\n", path, len, caught,
           len);
    free(buf);
}

START_TEST(damaged_copies_fail_cleanly) {
    damage_all(FX "plain.npz");
    damage_all(FX "compressed.npz");
    damage_all(FX "streamed.npz");
}
END_TEST

// A CRC mismatch is named as such (a flipped byte inside a stored member's data).
START_TEST(crc_mismatch_named) {
    uint8_t *buf;
    size_t len;
    ck_assert_int_eq(hy_read_file(FX "plain.npz", &buf, &len, 0), 0);
    npz_file z;
    ck_assert_int_eq(hy_npz_open_mem(&z, "crc.npz", buf, len), 0);
    const npz_member *m = hy_npz_find(&z, "weight");
    ck_assert_ptr_nonnull(m);
    size_t at = m->data_at + m->usize - 1;  // last byte of weight's data
    hy_npz_close(&z);
    buf[at] ^= 1;
    ck_assert_int_eq(hy_npz_open_mem(&z, "crc.npz", buf, len), 0);
    npy_f32 w;
    ck_assert_int_eq(hy_npz_read_f32(&z, "weight", &w, 0), HY_ECRC);
    ck_assert_str_eq(hy_errmsg(), "crc.npz: weight.npy: CRC-32 mismatch (the archive is damaged)");
    hy_npz_close(&z);
    free(buf);
}
END_TEST

static Suite *npz_suite(void) {
    Suite *s = suite_create("npz");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reads_savez_and_savez_compressed);
    tcase_add_test(tc, refuses_bad_archives);
    tcase_add_test(tc, damaged_copies_fail_cleanly);
    tcase_add_test(tc, crc_mismatch_named);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(npz_suite)
