// test_wfile.c - the weight-file format: C writer == Python writer byte for byte, reader
// round trip, and every validation error (magic, version, truncation, header and tensor
// CRC, misaligned/out-of-range/overlapping offsets, wrong shape/kind, missing tensor).
#include <stdint.h>
#include <zlib.h>

#include "base/common.h"
#include "testutil.h"
#include "base/wfile.h"

static const float A[24] = {-1.5, -1.375, -1.25, -1.125, -1, -0.875, -0.75, -0.625, -0.5, -0.375, -0.25, -0.125,
                            0,    0.125,  0.25,  0.375,  0.5, 0.625,  0.75,  0.875,  1,    1.125,  1.25,  1.375};
static const float B[3] = {1.5f, -2.0f, 3.0f};
static const int64_t IDX[2] = {7, -1};

static int write_same_as_python(const char *path) {
    wf_writer *w = hy_wf_writer_new("test");
    hy_wf_writer_int(w, "answer", 42);
    hy_wf_writer_float(w, "pi", 3.25);
    hy_wf_writer_str(w, "name", "tiny");
    hy_wf_writer_ints(w, "channels", (int64_t[]){4, 8, 16}, 3);
    hy_wf_writer_floats(w, "scales", (double[]){0.5, 0.25}, 2);
    hy_wf_writer_tensor(w, "a.weight", WF_F32, 3, (int64_t[]){2, 3, 4}, A);
    hy_wf_writer_tensor(w, "b.bias", WF_F32, 1, (int64_t[]){3}, B);
    hy_wf_writer_tensor(w, "idx", WF_I64, 1, (int64_t[]){2}, IDX);
    int r = hy_wf_writer_save(w, path);
    hy_wf_writer_free(w);
    return r;
}

static uint8_t *slurp(const char *path, size_t *n) {
    uint8_t *b;
    ck_assert_int_eq(hy_read_file(path, &b, n, 0), 0);
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert_ptr_nonnull(f);
    ck_assert_uint_eq(fwrite(b, 1, n, f), n);
    fclose(f);
}

static void fix_header_crc(uint8_t *b) {
    uint32_t hb = b[12] | b[13] << 8 | b[14] << 16 | (uint32_t)b[15] << 24;
    uint32_t c = (uint32_t)crc32(0L, b, hb - 4);
    for (int i = 0; i < 4; i++) b[hb - 4 + i] = (uint8_t)(c >> (8 * i));
}

START_TEST(c_writer_matches_python_writer) {
    char *d = test_tmpdir();
    char p[256];
    snprintf(p, sizeof p, "%s/c.bin", d);
    ck_assert_int_eq(write_same_as_python(p), 0);
    size_t n1, n2;
    uint8_t *c = slurp(p, &n1), *py = slurp("tests/fixtures/wf_python.bin", &n2);
    ck_assert_uint_eq(n1, n2);
    ck_assert_int_eq(memcmp(c, py, n1), 0);
    free(c);
    free(py);
}
END_TEST

START_TEST(read_back_values) {
    wfile wf;
    ck_assert_int_eq(hy_wf_open(&wf, "tests/fixtures/wf_python.bin"), 0);
    ck_assert_str_eq(wf.kind, "test");
    int64_t v;
    double f;
    const char *s;
    const int64_t *ch;
    const double *sc;
    uint32_t n;
    ck_assert_int_eq(hy_wf_cfg_int(&wf, "answer", &v), 0);
    ck_assert_int_eq(v, 42);
    ck_assert_int_eq(hy_wf_cfg_float(&wf, "pi", &f), 0);
    ck_assert(f == 3.25);
    ck_assert_int_eq(hy_wf_cfg_str(&wf, "name", &s), 0);
    ck_assert_str_eq(s, "tiny");
    ck_assert_int_eq(hy_wf_cfg_ints(&wf, "channels", &ch, &n), 0);
    ck_assert_int_eq(n, 3);
    ck_assert_int_eq(ch[2], 16);
    ck_assert_int_eq(hy_wf_cfg_floats(&wf, "scales", &sc, &n), 0);
    ck_assert(n == 2 && sc[1] == 0.25);
    // wrong type and missing key
    ck_assert_int_eq(hy_wf_cfg_int(&wf, "pi", &v), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "'pi' is a float"));
    ck_assert_int_eq(hy_wf_cfg_int(&wf, "nope", &v), HY_EFORMAT);
    const float *a;
    ck_assert_int_eq(hy_wf_get_f32(&wf, "a.weight", 3, (int64_t[]){2, 3, 4}, &a), 0);
    for (int i = 0; i < 24; i++) ck_assert(a[i] == A[i]);
    ck_assert_uint_eq(((uintptr_t)a) % 64, 0);
    // wrong shape names file, tensor, expected and found
    ck_assert_int_eq(hy_wf_get_f32(&wf, "a.weight", 3, (int64_t[]){2, 4, 3}, &a), HY_ESHAPE);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "wf_python.bin: tensor 'a.weight' has shape (2,3,4), expected (2,4,3)"));
    ck_assert_int_eq(hy_wf_get_f32(&wf, "idx", -1, NULL, &a), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "is i64, expected f32"));
    ck_assert_int_eq(hy_wf_get_f32(&wf, "missing", -1, NULL, &a), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "'missing' is missing"));
    ck_assert_int_eq(hy_wf_expect_kind(&wf, "pggan"), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "is a 'test' weight file, expected 'pggan'"));
    hy_wf_close(&wf);
}
END_TEST

// Loads the fixture, applies `mutate`, writes it to a temp file and expects wf_open to
// fail with `code` and a message containing `needle`.
static void expect_bad(void (*mutate)(uint8_t *, size_t *), int code, const char *needle) {
    size_t n;
    uint8_t *b = slurp("tests/fixtures/wf_python.bin", &n);
    b = realloc(b, n + 128);
    mutate(b, &n);
    char *d = test_tmpdir();
    char p[256];
    snprintf(p, sizeof p, "%s/bad.bin", d);
    spit(p, b, n);
    wfile wf;
    int r = hy_wf_open(&wf, p);
    ck_assert_msg(r == code, "expected %d got %d (%s)", code, r, hy_errmsg());
    ck_assert_msg(strstr(hy_errmsg(), needle) != NULL, "message '%s' lacks '%s'", hy_errmsg(), needle);
    ck_assert_msg(strstr(hy_errmsg(), p) != NULL, "message '%s' does not name the file", hy_errmsg());
    free(b);
}

static void m_magic(uint8_t *b, size_t *n) { (void)n; b[0] = 'X'; }
static void m_version(uint8_t *b, size_t *n) { (void)n; b[8] = 2; fix_header_crc(b); }
static void m_truncate(uint8_t *b, size_t *n) { (void)b; *n -= 5; }
static void m_truncate_header(uint8_t *b, size_t *n) { (void)b; *n = 40; }
static void m_append(uint8_t *b, size_t *n) { b[*n] = 0; *n += 1; }
static void m_data_flip(uint8_t *b, size_t *n) { b[*n - 4] ^= 0x01; }
static void m_gap_flip(uint8_t *b, size_t *n) { b[*n - 20] ^= 0x01; }
static void m_header_flip(uint8_t *b, size_t *n) { (void)n; b[70] ^= 0x20; }
// tensor table: locate "a.weight" entry; its offset field follows dims
static uint8_t *find_entry(uint8_t *b, size_t n, const char *name) {
    size_t l = strlen(name);
    for (size_t i = 64; i + l < n; i++)
        if (!memcmp(b + i, name, l) && b[i - 2] == l) return b + i + l;  // -> dtype byte
    ck_abort_msg("entry not found");
    return NULL;
}
static void set_u64(uint8_t *p, uint64_t v) {
    for (int i = 0; i < 8; i++) p[i] = (uint8_t)(v >> (8 * i));
}
static void m_misaligned(uint8_t *b, size_t *n) {
    uint8_t *e = find_entry(b, *n, "b.bias");  // dtype, ndim, 1 dim, offset
    uint64_t off = e[10] | (uint64_t)e[11] << 8;
    set_u64(e + 10, off + 4);
    fix_header_crc(b);
}
static void m_out_of_range(uint8_t *b, size_t *n) {
    uint8_t *e = find_entry(b, *n, "b.bias");
    set_u64(e + 10, (uint64_t)1 << 40);
    fix_header_crc(b);
}
static void m_overlap(uint8_t *b, size_t *n) {
    uint8_t *a = find_entry(b, *n, "a.weight"), *e = find_entry(b, *n, "b.bias");
    memcpy(e + 10, a + 2 + 3 * 8, 8);  // b.bias offset := a.weight offset
    fix_header_crc(b);
}
static void m_bad_nbytes(uint8_t *b, size_t *n) {
    uint8_t *e = find_entry(b, *n, "b.bias");
    set_u64(e + 18, 16);
    fix_header_crc(b);
}
static void m_huge_dims(uint8_t *b, size_t *n) {
    uint8_t *e = find_entry(b, *n, "a.weight");
    set_u64(e + 2, (uint64_t)1 << 62);
    fix_header_crc(b);
}
static void m_many_tensors(uint8_t *b, size_t *n) {
    (void)n;
    b[52] = 0xff, b[53] = 0xff, b[54] = 0xff, b[55] = 0x0f;
    fix_header_crc(b);
}
static void m_bad_dtype(uint8_t *b, size_t *n) {
    uint8_t *e = find_entry(b, *n, "b.bias");
    e[0] = 9;
    fix_header_crc(b);
}

START_TEST(rejects_corruption) {
    expect_bad(m_magic, HY_EFORMAT, "bad magic");
    expect_bad(m_version, HY_EFORMAT, "unsupported format version 2");
    expect_bad(m_truncate, HY_EFORMAT, "truncated");
    expect_bad(m_truncate_header, HY_EFORMAT, "bad magic");
    expect_bad(m_append, HY_EFORMAT, "truncated or padded");
    expect_bad(m_data_flip, HY_ECRC, "tensor 'idx': checksum mismatch");
    expect_bad(m_gap_flip, HY_ECRC, "padding byte");
    expect_bad(m_header_flip, HY_ECRC, "header checksum mismatch");
    expect_bad(m_misaligned, HY_EFORMAT, "not 64-byte aligned");
    expect_bad(m_out_of_range, HY_EFORMAT, "outside the data region");
    expect_bad(m_overlap, HY_EFORMAT, "overlap");
    expect_bad(m_bad_nbytes, HY_EFORMAT, "does not match its shape");
    expect_bad(m_huge_dims, HY_EFORMAT, "'a.weight'");
    expect_bad(m_many_tensors, HY_EFORMAT, "too many");
    expect_bad(m_bad_dtype, HY_EFORMAT, "unknown dtype");
}
END_TEST

// Flipping any single byte after the header (tensor data: CRC; alignment padding: must be
// zero) is reported, never silently loaded.
START_TEST(every_data_byte_is_checked) {
    size_t n;
    uint8_t *b = slurp("tests/fixtures/wf_python.bin", &n);
    char *d = test_tmpdir();
    char p[256];
    snprintf(p, sizeof p, "%s/flip.bin", d);
    uint32_t hb = b[12] | b[13] << 8;
    size_t data0 = (hb + 63) / 64 * 64;
    int tested = 0;
    for (size_t pos = data0; pos < n; pos++) {
        wfile wf;
        b[pos] ^= 0x80;
        spit(p, b, n);
        ck_assert_int_eq(hy_wf_open(&wf, p), HY_ECRC);
        b[pos] ^= 0x80;
        tested++;
    }
    ck_assert_int_eq(tested, (int)(n - data0));
    free(b);
}
END_TEST

// A file of 8 MB or more has its tensors checked by all threads: with two corrupt tensors the
// first in file order is still the one named, at 1 and 2 threads.
START_TEST(big_file_names_the_first_bad_tensor) {
    enum { T = 6, N = 400000 };  // 6 tensors of 1.6 MB: 9.6 MB
    float *a = malloc(sizeof(float) * N);
    for (int i = 0; i < N; i++) a[i] = (float)(i % 1000) * 0.5f;
    char *d = test_tmpdir();
    char p[256], names[T][16];
    snprintf(p, sizeof p, "%s/big.bin", d);
    wf_writer *w = hy_wf_writer_new("test");
    for (int t = 0; t < T; t++) {
        snprintf(names[t], sizeof names[t], "t%d", t);
        hy_wf_writer_tensor(w, names[t], WF_F32, 1, (int64_t[]){N}, a);
    }
    ck_assert_int_eq(hy_wf_writer_save(w, p), 0);
    hy_wf_writer_free(w);
    size_t n;
    uint8_t *b = slurp(p, &n);
    ck_assert(n >= ((size_t)8 << 20));
    wfile wf;
    ck_assert_int_eq(hy_wf_open(&wf, p), 0);
    const size_t off2 = (size_t)((const uint8_t *)hy_wf_find(&wf, "t2")->data - wf.buf);
    const size_t off4 = (size_t)((const uint8_t *)hy_wf_find(&wf, "t4")->data - wf.buf);
    hy_wf_close(&wf);
    b[off4 + 123] ^= 1, b[off2 + N] ^= 1;  // corrupt t4 and t2
    spit(p, b, n);
    for (int threads = 1; threads <= 2; threads++) {
        hy_set_threads(threads);
        ck_assert_int_eq(hy_wf_open(&wf, p), HY_ECRC);
        ck_assert_msg(strstr(hy_errmsg(), "tensor 't2': checksum mismatch"), "%s", hy_errmsg());
    }
    hy_set_threads(1);
    free(a), free(b);
}
END_TEST

START_TEST(info_cli) {
    char *out;
    ck_assert_int_eq(run_hyper(&out, "info tests/fixtures/wf_python.bin"), 0);
    ck_assert_ptr_nonnull(strstr(out, "kind:     test"));
    ck_assert_ptr_nonnull(strstr(out, "a.weight"));
    ck_assert_ptr_nonnull(strstr(out, "(2,3,4)"));
    ck_assert_ptr_nonnull(strstr(out, "verified OK"));
    free(out);
    ck_assert_int_eq(run_hyper(&out, "info /nonexistent/file.bin"), 1);
    ck_assert_ptr_nonnull(strstr(out, "/nonexistent/file.bin: cannot open"));
    free(out);
    ck_assert_int_eq(run_hyper(&out, "info tests/testutil.h"), 1);
    ck_assert_ptr_nonnull(strstr(out, "bad magic"));
    free(out);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("wfile");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, c_writer_matches_python_writer);
    tcase_add_test(tc, read_back_values);
    tcase_add_test(tc, rejects_corruption);
    tcase_add_test(tc, every_data_byte_is_checked);
    tcase_add_test(tc, big_file_names_the_first_bad_tensor);
    tcase_add_test(tc, info_cli);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
