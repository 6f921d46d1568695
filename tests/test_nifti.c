// test_nifti.c - NIfTI-1 reading (datatypes, byte orders, gzip, scaling, bad files) and
// `hyper extract` (top-k voxels by training mean; same voxels for test; bad input).
#include <math.h>

#include "base/common.h"
#include "base/nifti.h"
#include "base/npy.h"
#include "testutil.h"

static char *g_tmp;
static const char *tmpd(void) {
    if (!g_tmp) g_tmp = test_tmpdir();
    return g_tmp;
}

static void teardown(void) {
    if (!g_tmp) return;
    char cmd[600];
    snprintf(cmd, sizeof cmd, "rm -rf '%s'", g_tmp);
    if (system(cmd) != 0) fprintf(stderr, "could not remove %s\n", g_tmp);
    free(g_tmp);
    g_tmp = NULL;
}

START_TEST(test_nifti_roundtrip) {
    int dts[5] = {NII_UINT8, NII_INT16, NII_INT32, NII_FLOAT32, NII_FLOAT64};
    int64_t dim[4] = {3, 4, 2, 2};
    double raw[48];
    for (int i = 0; i < 48; i++) raw[i] = i * 5 % 48;
    for (int k = 0; k < 5; k++)
        for (int be = 0; be < 2; be++)
            for (int gz = 0; gz < 2; gz++) {
                char p[700];
                snprintf(p, sizeof p, "%s/v%d_%d.nii%s", tmpd(), dts[k], be, gz ? ".gz" : "");
                double slope = k == 1 ? 0.5 : 0, inter = k == 1 ? -3 : 0;  // int16 with scaling
                double r2[48];
                for (int i = 0; i < 48; i++) r2[i] = k >= 3 ? raw[i] + 0.25 : raw[i];
                ck_assert_msg(hy_nifti_write(p, 4, dim, dts[k], r2, slope, inter, be) == 0, "%s", hy_errmsg());
                nifti_img img;
                ck_assert_msg(hy_nifti_read(p, &img) == 0, "%s", hy_errmsg());
                ck_assert_int_eq(img.ndim, 4);
                ck_assert(img.dim[0] == 3 && img.dim[1] == 4 && img.dim[2] == 2 && img.dim[3] == 2);
                ck_assert_int_eq(img.datatype, dts[k]);
                for (int i = 0; i < 48; i++) {
                    double want = slope != 0 ? slope * r2[i] + inter : r2[i];
                    // exact: every value is representable in each type (0.25 steps, < 48)
                    ck_assert_msg(img.data[i] == want, "%s[%d] = %g, want %g", p, i, img.data[i], want);
                }
                hy_nifti_free(&img);
            }
}
END_TEST

static void expect_read_error(const char *path, const char *needle) {
    nifti_img img;
    int rc = hy_nifti_read(path, &img);
    ck_assert_msg(rc < 0, "%s: read succeeded", path);
    ck_assert_msg(strstr(hy_errmsg(), needle) && strstr(hy_errmsg(), path), "%s: message '%s' lacks '%s'", path,
                  hy_errmsg(), needle);
    ck_assert(img.data == NULL);
    printf("  ok: %s\n", hy_errmsg());
}

START_TEST(test_nifti_bad) {
    int64_t dim[3] = {8, 8, 8};
    double raw[512];
    for (int i = 0; i < 512; i++) raw[i] = i % 13;
    char p[700], cmd[2400];
    snprintf(p, sizeof p, "%s/cplx.nii", tmpd());
    ck_assert_int_eq(hy_nifti_write(p, 3, dim, 32, raw, 0, 0, 0), 0);
    expect_read_error(p, "unsupported NIfTI datatype 32 (complex64)");
    // corrupt gzip: overwrite bytes in the middle of the deflate stream
    snprintf(p, sizeof p, "%s/good.nii.gz", tmpd());
    ck_assert_int_eq(hy_nifti_write(p, 3, dim, NII_FLOAT64, raw, 0, 0, 0), 0);
    char bad[700];
    snprintf(bad, sizeof bad, "%s/corrupt.nii.gz", tmpd());
    snprintf(cmd, sizeof cmd, "cp %s %s && printf 'XXXXXXXXXXXXXXXX' | dd of=%s bs=1 seek=40 conv=notrunc 2>/dev/null", p,
             bad, bad);
    ck_assert_int_eq(system(cmd), 0);
    expect_read_error(bad, "corrupt");
    // gzip cut short
    snprintf(bad, sizeof bad, "%s/short.nii.gz", tmpd());
    snprintf(cmd, sizeof cmd, "head -c 100 %s > %s", p, bad);
    ck_assert_int_eq(system(cmd), 0);
    expect_read_error(bad, bad);
    // plain file cut short
    snprintf(p, sizeof p, "%s/good.nii", tmpd());
    ck_assert_int_eq(hy_nifti_write(p, 3, dim, NII_INT16, raw, 0, 0, 1), 0);
    snprintf(bad, sizeof bad, "%s/short.nii", tmpd());
    snprintf(cmd, sizeof cmd, "head -c 1000 %s > %s", p, bad);
    ck_assert_int_eq(system(cmd), 0);
    expect_read_error(bad, "truncated");
    // not a NIfTI file
    snprintf(bad, sizeof bad, "%s/text.nii", tmpd());
    snprintf(cmd, sizeof cmd, "head -c 400 /dev/zero > %s", bad);
    ck_assert_int_eq(system(cmd), 0);
    expect_read_error(bad, "not a NIfTI-1 file");
    snprintf(bad, sizeof bad, "%s/missing.nii", tmpd());
    expect_read_error(bad, "cannot open");
}
END_TEST

static uint8_t *slurp(const char *path, size_t *len) {
    FILE *f = fopen(path, "rb");
    ck_assert_msg(f != NULL, "%s", path);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    fseek(f, 0, SEEK_SET);
    uint8_t *b = malloc(n > 0 ? (size_t)n : 1);
    ck_assert(b && fread(b, 1, (size_t)n, f) == (size_t)n);
    fclose(f);
    *len = (size_t)n;
    return b;
}

static void spit(const char *path, const uint8_t *b, size_t n) {
    FILE *f = fopen(path, "wb");
    ck_assert(f && fwrite(b, 1, n, f) == n && fclose(f) == 0);
}

// hy_nifti_read_mem (the in-memory twin used by the fuzz target) agrees with nifti_read: same values on
// good files, plain and gzip, one or two gzip members; an error on every cut-short gzip image, on a
// broken CRC, and on each prefix of a plain file.
START_TEST(test_nifti_mem) {
    int64_t dim[3] = {5, 4, 3};
    double raw[60];
    for (int i = 0; i < 60; i++) raw[i] = (i * 7) % 60 - 20;
    char p[700], cmd[2400];
    for (int gz = 0; gz < 2; gz++) {
        snprintf(p, sizeof p, "%s/m.nii%s", tmpd(), gz ? ".gz" : "");
        ck_assert_int_eq(hy_nifti_write(p, 3, dim, NII_INT16, raw, 0.5, 1, gz), 0);
        size_t n;
        uint8_t *b = slurp(p, &n);
        nifti_img a, m;
        ck_assert_msg(hy_nifti_read(p, &a) == 0, "%s", hy_errmsg());
        ck_assert_msg(hy_nifti_read_mem("buf", b, n, &m) == 0, "%s", hy_errmsg());
        ck_assert(m.nvox == 60 && m.ndim == 3 && m.dim[2] == 3);
        for (int i = 0; i < 60; i++) ck_assert(m.data[i] == a.data[i] && a.data[i] == 0.5 * raw[i] + 1);
        hy_nifti_free(&m);
        // every strict prefix fails in memory, as from a file, with the buffer's name in the message
        for (size_t cut = 0; cut < n; cut += gz ? 1 : 7) {
            ck_assert_msg(hy_nifti_read_mem("cutbuf", b, cut, &m) < 0, "prefix %zu of %zu read", cut, n);
            ck_assert(m.data == NULL && strstr(hy_errmsg(), "cutbuf"));
        }
        if (gz) {
            b[n - 6] ^= 0x55;  // inside the CRC32 trailer
            ck_assert(hy_nifti_read_mem("crcbuf", b, n, &m) < 0);
            printf("  ok: %s\n", hy_errmsg());
            ck_assert(strstr(hy_errmsg(), "crcbuf: corrupt"));
        }
        hy_nifti_free(&a);
        free(b);
    }
    // two gzip members (the header, then the data) read like one stream, by both readers
    snprintf(p, sizeof p, "%s/two.nii", tmpd());
    ck_assert_int_eq(hy_nifti_write(p, 3, dim, NII_FLOAT32, raw, 0, 0, 0), 0);
    snprintf(cmd, sizeof cmd, "cd %s && head -c 352 two.nii | gzip -n > two.nii.gz && tail -c +353 two.nii | gzip -n >> two.nii.gz",
             tmpd());
    ck_assert_int_eq(system(cmd), 0);
    snprintf(p, sizeof p, "%s/two.nii.gz", tmpd());
    size_t n;
    uint8_t *b = slurp(p, &n);
    nifti_img a, m;
    ck_assert_msg(hy_nifti_read(p, &a) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_nifti_read_mem("two", b, n, &m) == 0, "%s", hy_errmsg());
    for (int i = 0; i < 60; i++) ck_assert(m.data[i] == raw[i] && a.data[i] == raw[i]);
    hy_nifti_free(&a);
    hy_nifti_free(&m);
    // the same bytes written to a file give the same verdict as in memory (a cut inside member 2)
    snprintf(p, sizeof p, "%s/two_cut.nii.gz", tmpd());
    spit(p, b, n - 10);
    ck_assert(hy_nifti_read(p, &a) < 0 && hy_nifti_read_mem("two_cut", b, n - 10, &m) < 0);
    free(b);
}
END_TEST

// 4x3x2 volume; voxel v has base response b[v] plus a stimulus term; the mask excludes the
// voxel with the highest base. Test maps have a *different* ranking, which must not matter.
static void make_extract_inputs(const char *d, int mask_empty, int mask_nz) {
    int64_t dtr[4] = {4, 3, 2, 6}, dte[4] = {4, 3, 2, 3}, dm[3] = {4, 3, mask_nz};
    double tr[144], te[72], mk[24], base[24];
    for (int v = 0; v < 24; v++) base[v] = (v * 7) % 24;  // a permutation of 0..23
    for (int t = 0; t < 6; t++)
        for (int v = 0; v < 24; v++) tr[t * 24 + v] = base[v] + 0.1 * (t - 2.5);  // mean = base
    for (int t = 0; t < 3; t++)
        for (int v = 0; v < 24; v++) te[t * 24 + v] = 100 - base[v] + t;
    for (int v = 0; v < 24; v++) mk[v] = mask_empty ? 0 : base[v] != 23;
    char p[700];
    snprintf(p, sizeof p, "%s/tr.nii.gz", d);
    ck_assert_int_eq(hy_nifti_write(p, 4, dtr, NII_FLOAT32, tr, 0, 0, 0), 0);
    snprintf(p, sizeof p, "%s/te.nii", d);
    ck_assert_int_eq(hy_nifti_write(p, 4, dte, NII_FLOAT64, te, 0, 0, 1), 0);
    snprintf(p, sizeof p, "%s/mask.nii.gz", d);
    ck_assert_int_eq(hy_nifti_write(p, 3, dm, NII_UINT8, mk, 0, 0, 0), 0);
    float lt[6 * 5], ls[3 * 5];
    for (int i = 0; i < 30; i++) lt[i] = i;
    for (int i = 0; i < 15; i++) ls[i] = -i;
    int64_t a[2] = {6, 5}, b[2] = {3, 5};
    snprintf(p, sizeof p, "%s/lt.npy", d);
    ck_assert_int_eq(hy_npy_write_f32(p, 2, a, lt), 0);
    snprintf(p, sizeof p, "%s/ls.npy", d);
    ck_assert_int_eq(hy_npy_write_f32(p, 2, b, ls), 0);
}

#define EXTRACT_ARGS "extract --train-maps %s/tr.nii.gz --test-maps %s/te.nii --mask %s/mask.nii.gz " \
                     "--train-latents %s/lt.npy --test-latents %s/ls.npy"

START_TEST(test_extract_topk) {
    const char *d = tmpd();
    make_extract_inputs(d, 0, 2);
    char *out = NULL;
    int rc = run_hyper(&out, EXTRACT_ARGS " --select-top 3 -o %s/ds", d, d, d, d, d, d);
    ck_assert_msg(rc == 0, "extract: %s", out);
    free(out);
    // top 3 in-mask training means are base 22, 21, 20 (23 is masked out): v*7 % 24 = 22 ->
    // v = 10; 21 -> v = 3; 20 -> v = 20; ascending: 3, 10, 20
    char p[700];
    snprintf(p, sizeof p, "%s/ds/voxel_indices.npy", d);
    int nd;
    int64_t dims[8], *idx;
    ck_assert_int_eq(hy_npy_read_i64(p, &nd, dims, &idx), 0);
    ck_assert(nd == 1 && dims[0] == 3);
    ck_assert_msg(idx[0] == 3 && idx[1] == 10 && idx[2] == 20, "indices %lld %lld %lld", (long long)idx[0],
                  (long long)idx[1], (long long)idx[2]);
    free(idx);
    npy_f32 m;
    snprintf(p, sizeof p, "%s/ds/test_fmri.npy", d);
    ck_assert_int_eq(hy_npy_read_f32(p, &m, 0), 0);
    ck_assert(m.ndim == 2 && m.dims[0] == 3 && m.dims[1] == 3);
    // test map value 100 - base + t at voxels 3, 10, 20 (base 21, 22, 20)
    ck_assert(m.data[0] == 79 && m.data[1] == 78 && m.data[2] == 80 && m.data[3] == 80);
    hy_npy_free_f32(&m);
    snprintf(p, sizeof p, "%s/ds/train_fmri.npy", d);
    ck_assert_int_eq(hy_npy_read_f32(p, &m, 0), 0);
    ck_assert(m.dims[0] == 6 && fabsf(m.data[0] - (21 - 0.25f)) < 1e-5f);
    hy_npy_free_f32(&m);
    // reusing the selection gives identical files
    rc = run_hyper(&out, EXTRACT_ARGS " --voxels %s/ds/voxel_indices.npy -o %s/ds2", d, d, d, d, d, d, d);
    ck_assert_msg(rc == 0, "extract --voxels: %s", out);
    free(out);
    char cmd[1600];
    snprintf(cmd, sizeof cmd, "cmp -s %s/ds/test_fmri.npy %s/ds2/test_fmri.npy && cmp -s %s/ds/train_latents.npy %s/ds2/train_latents.npy", d, d, d, d);
    ck_assert_int_eq(system(cmd), 0);
}
END_TEST

static void extract_fail(const char *sub, const char *extra, const char *needle) {
    char d[700], *out = NULL;
    snprintf(d, sizeof d, "%s/%s", tmpd(), sub);
    int rc = run_hyper(&out, EXTRACT_ARGS " %s -o %s/out", d, d, d, d, d, extra, d);
    ck_assert_msg(rc == 1 || rc == 2, "extract %s: exit %d: %s", sub, rc, out);
    ck_assert_msg(strstr(out, needle), "extract %s: message lacks '%s': %s", sub, needle, out);
    char o[800];
    snprintf(o, sizeof o, "%s/out", d);
    ck_assert_msg(!file_exists(o) || dir_count(o) == 0, "%s: partial output left", o);
    printf("  ok: %s", out);
    free(out);
}

START_TEST(test_extract_bad) {
    char d[700];
    snprintf(d, sizeof d, "%s/empty", tmpd());
    mkdir(d, 0777);
    make_extract_inputs(d, 1, 2);
    extract_fail("empty", "--select-top 3", "mask is empty");
    snprintf(d, sizeof d, "%s/shape", tmpd());
    mkdir(d, 0777);
    make_extract_inputs(d, 0, 1);
    extract_fail("shape", "--select-top 3", "does not match mask");
    snprintf(d, sizeof d, "%s/rows", tmpd());
    mkdir(d, 0777);
    make_extract_inputs(d, 0, 2);
    char p[800];
    float z[35] = {0};
    int64_t a[2] = {7, 5};
    snprintf(p, sizeof p, "%s/lt.npy", d);
    ck_assert_int_eq(hy_npy_write_f32(p, 2, a, z), 0);
    extract_fail("rows", "--select-top 3", "lt.npy: 7 rows but");
    extract_fail("rows", "--select-top 30", "only 23 voxels");
    // corrupt gzip in the training maps, unsupported datatype in the mask
    snprintf(d, sizeof d, "%s/gz", tmpd());
    mkdir(d, 0777);
    make_extract_inputs(d, 0, 2);
    char cmd[1800];
    snprintf(cmd, sizeof cmd, "printf 'ZZZZZZZZZZZZZZZZZZZZ' | dd of=%s/tr.nii.gz bs=1 seek=30 conv=notrunc 2>/dev/null", d);
    ck_assert_int_eq(system(cmd), 0);
    extract_fail("gz", "--select-top 3", "tr.nii.gz: corrupt compressed data");
    snprintf(d, sizeof d, "%s/dt", tmpd());
    mkdir(d, 0777);
    make_extract_inputs(d, 0, 2);
    int64_t dm[3] = {4, 3, 2};
    double ones[24];
    for (int i = 0; i < 24; i++) ones[i] = 1;
    snprintf(p, sizeof p, "%s/mask.nii.gz", d);
    ck_assert_int_eq(hy_nifti_write(p, 3, dm, 32, ones, 0, 0, 0), 0);
    extract_fail("dt", "--select-top 3", "unsupported NIfTI datatype 32");
}
END_TEST

static Suite *nifti_suite(void) {
    Suite *s = suite_create("nifti");
    TCase *tc = tcase_create("core");
    tcase_add_unchecked_fixture(tc, NULL, teardown);
    tcase_add_test(tc, test_nifti_roundtrip);
    tcase_add_test(tc, test_nifti_bad);
    tcase_add_test(tc, test_nifti_mem);
    tcase_add_test(tc, test_extract_topk);
    tcase_add_test(tc, test_extract_bad);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(nifti_suite)
