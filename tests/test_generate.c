// test_generate.c - `hyper generate` end to end on a small random generator written at
// test time with the C writer: outputs, determinism, trace/dump, and every bad input
// (wrong latent width, NaN, non-npy, wrong kind, truncated weights, unwritable output)
// giving a one-line error, a non-zero exit and no image left behind.
#include <math.h>

#include "base/common.h"
#include "base/image_io.h"
#include "base/npy.h"
#include "nn/ops.h"
#include "base/rng.h"
#include "testutil.h"
#include "base/wfile.h"

#define LAT 32
static const int CH[3] = {8, 8, 4};  // resolutions 4, 8, 16

// Writes a random 16x16 PGGAN (latent 32) to path.
static void write_tiny_pggan(const char *path) {
    mt19937 r;
    hy_mt_seed(&r, 11);
    float *buf = malloc(sizeof(float) * 20000);
    size_t used = 0;
    wf_writer *w = hy_wf_writer_new("pggan");
    hy_wf_writer_int(w, "resolution", 16);
    hy_wf_writer_int(w, "latent_size", LAT);
    hy_wf_writer_ints(w, "channels", (int64_t[]){CH[0], CH[1], CH[2]}, 3);
    hy_wf_writer_str(w, "source_format", "test");
#define T(name, nd, ...)                                                     \
    do {                                                                     \
        int64_t d[] = {__VA_ARGS__};                                         \
        size_t n = 1;                                                        \
        for (int k = 0; k < nd; k++) n *= (size_t)d[k];                      \
        for (size_t k = 0; k < n; k++) buf[used + k] = (float)(0.3 * hy_mt_normal(&r)); \
        hy_wf_writer_tensor(w, name, WF_F32, nd, d, buf + used);                \
        used += n;                                                           \
    } while (0)
    T("dense.weight", 2, 16 * CH[0], LAT);
    T("dense.bias", 1, 16 * CH[0]);
    T("4x4.conv.weight", 4, CH[0], CH[0], 3, 3);
    T("4x4.conv.bias", 1, CH[0]);
    T("8x8.conv0.weight", 4, CH[1], CH[0], 3, 3);
    T("8x8.conv0.bias", 1, CH[1]);
    T("8x8.conv1.weight", 4, CH[1], CH[1], 3, 3);
    T("8x8.conv1.bias", 1, CH[1]);
    T("16x16.conv0.weight", 4, CH[2], CH[1], 3, 3);
    T("16x16.conv0.bias", 1, CH[2]);
    T("16x16.conv1.weight", 4, CH[2], CH[2], 3, 3);
    T("16x16.conv1.bias", 1, CH[2]);
    T("torgb.weight", 4, 3, CH[2], 1, 1);
    T("torgb.bias", 1, 3);
#undef T
    ck_assert_int_eq(hy_wf_writer_save(w, path), 0);
    hy_wf_writer_free(w);
    free(buf);
}

static char *setup(char *wpath, size_t n) {
    char *d = test_tmpdir();
    snprintf(wpath, n, "%s/g.bin", d);
    write_tiny_pggan(wpath);
    return d;
}

START_TEST(generates_pngs_and_raw_output) {
    char w[256], out[300], raw[300];
    char *d = setup(w, sizeof w), *msg;
    snprintf(out, sizeof out, "%s/img", d);
    snprintf(raw, sizeof raw, "%s/raw.npy", d);
    ck_assert_int_eq(run_hyper(&msg, "generate -g %s --seed 3 -n 3 -o %s --npy %s", w, out, raw), 0);
    free(msg);
    ck_assert_int_eq(dir_count(out), 3);
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(raw, &a, 0), 0);
    ck_assert(a.ndim == 4 && a.dims[0] == 3 && a.dims[1] == 3 && a.dims[2] == 16 && a.dims[3] == 16);
    // each PNG is exactly the Karras conversion of the raw output
    for (int i = 0; i < 3; i++) {
        char p[400];
        snprintf(p, sizeof p, "%s/%06d.png", out, i);
        int pw, ph;
        uint8_t *rgb, want[16 * 16 * 3];
        ck_assert_int_eq(hy_image_read_rgb8(p, &pw, &ph, &rgb), 0);
        ck_assert(pw == 16 && ph == 16);
        hy_img_f32_to_rgb8(want, a.data + (size_t)i * 3 * 256, 16, 16);
        ck_assert_int_eq(memcmp(rgb, want, sizeof want), 0);
        free(rgb);
    }
    // different latents give different images; the output is not constant
    ck_assert_double_gt(hy_max_abs_diff(a.data, a.data + 768, 768), 1e-3);
    // same seed -> same output, bit for bit
    char raw2[300];
    snprintf(raw2, sizeof raw2, "%s/raw2.npy", d);
    ck_assert_int_eq(run_hyper(NULL, "generate -g %s --seed 3 -n 3 --npy %s --no-png", w, raw2), 0);
    npy_f32 b;
    ck_assert_int_eq(hy_npy_read_f32(raw2, &b, 0), 0);
    ck_assert_int_eq(memcmp(a.data, b.data, sizeof(float) * 3 * 768), 0);
    // -z with the same latents (torch.randn(3, 32) after manual_seed(3)) gives the same output
    float z[3 * LAT];
    mt19937 r;
    hy_mt_seed(&r, 3);
    hy_mt_randn_f32(&r, z, 3 * LAT);
    char zp[300], raw3[300];
    snprintf(zp, sizeof zp, "%s/z.npy", d);
    snprintf(raw3, sizeof raw3, "%s/raw3.npy", d);
    ck_assert_int_eq(hy_npy_write_f32(zp, 2, (int64_t[]){3, LAT}, z), 0);
    ck_assert_int_eq(run_hyper(NULL, "generate -g %s -z %s --npy %s --no-png", w, zp, raw3), 0);
    npy_f32 c;
    ck_assert_int_eq(hy_npy_read_f32(raw3, &c, 0), 0);
    ck_assert_int_eq(memcmp(a.data, c.data, sizeof(float) * 3 * 768), 0);
    hy_npy_free_f32(&a), hy_npy_free_f32(&b), hy_npy_free_f32(&c);
}
END_TEST

START_TEST(trace_and_dump) {
    char w[256], dump[300];
    char *d = setup(w, sizeof w), *msg;
    snprintf(dump, sizeof dump, "%s/dump", d);
    ck_assert_int_eq(run_hyper(&msg, "generate -g %s --seed 1 -n 1 --trace --dump %s", w, dump), 0);
    const char *names[] = {"z.pn", "4x4.dense", "4x4.dense.lrelu", "4x4.dense.pn", "4x4.conv.pn", "8x8.conv0",
                           "8x8.conv0.lrelu", "8x8.conv1.pn", "16x16.conv0.pn", "16x16.conv1.pn", "torgb"};
    for (int i = 0; i < 11; i++) {
        ck_assert_msg(strstr(msg, names[i]) != NULL, "trace lacks %s", names[i]);
        char p[400];
        snprintf(p, sizeof p, "%s/%s.npy", dump, names[i]);
        ck_assert_msg(file_exists(p), "dump lacks %s", p);
    }
    ck_assert_int_eq(dir_count(dump), 1 + 3 + 3 + 6 + 6 + 1);
    // a pixel-normed activation has mean square 1 per pixel
    char p[400];
    snprintf(p, sizeof p, "%s/8x8.conv1.pn.npy", dump);
    npy_f32 a;
    ck_assert_int_eq(hy_npy_read_f32(p, &a, 0), 0);
    ck_assert(a.ndim == 3 && a.dims[0] == CH[1] && a.dims[1] == 8);
    double ms = 0;
    for (int c = 0; c < CH[1]; c++) ms += a.data[c * 64] * a.data[c * 64];
    ck_assert_double_eq_tol(ms / CH[1], 1.0, 1e-5);
    hy_npy_free_f32(&a);
    free(msg);
}
END_TEST

// --reference runs the reference forward (hy_pggan_forward_ref): the same layers dumped, and an
// image equal to the fast forward's up to float32 rounding (tests/test_pggan_ref.c: 1e-4 of
// the tensor's scale; these images are O(1)).
START_TEST(reference_forward) {
    char w[256], fast[300], ref[300], dump[300];
    char *d = setup(w, sizeof w), *msg;
    snprintf(fast, sizeof fast, "%s/fast.npy", d);
    snprintf(ref, sizeof ref, "%s/ref.npy", d);
    snprintf(dump, sizeof dump, "%s/dump", d);
    ck_assert_int_eq(run_hyper(NULL, "generate -g %s --seed 2 -n 2 --npy %s --no-png", w, fast), 0);
    ck_assert_int_eq(run_hyper(&msg, "generate -g %s --seed 2 -n 2 --npy %s --no-png --reference --dump %s", w, ref,
                               dump), 0);
    free(msg);
    ck_assert_int_eq(dir_count(dump), 1 + 3 + 3 + 6 + 6 + 1);
    npy_f32 a, b;
    ck_assert_int_eq(hy_npy_read_f32(fast, &a, 0), 0);
    ck_assert_int_eq(hy_npy_read_f32(ref, &b, 0), 0);
    ck_assert(a.ndim == 4 && b.ndim == 4 && a.dims[0] == 2 && b.dims[0] == 2 && b.dims[3] == 16);
    tensor_stats s = hy_stats_f32(b.data, 2 * 3 * 16 * 16);
    ck_assert(s.std > 0 && s.nonfinite == 0);
    ck_assert_double_le(hy_max_abs_diff(a.data, b.data, 2 * 3 * 16 * 16), 1e-4 * fmax(1.0, fmax(-s.min, s.max)));
    hy_npy_free_f32(&a);
    hy_npy_free_f32(&b);
}
END_TEST

// Runs a failing command and checks: exit status 1 or 2, the message contains needle, and
// the output directory holds no file.
static void expect_fail(const char *outdir, const char *needle, const char *fmt, const char *a1, const char *a2) {
    char args[2048], *msg;
    snprintf(args, sizeof args, fmt, a1, a2);
    int rc = run_hyper(&msg, "%s", args);
    ck_assert_msg(rc == 1 || rc == 2, "'%s' exited %d: %s", args, rc, msg);
    ck_assert_msg(strstr(msg, needle) != NULL, "'%s': message '%s' lacks '%s'", args, msg, needle);
    ck_assert_msg(dir_count(outdir) <= 0, "'%s' left files in %s", args, outdir);
    free(msg);
}

START_TEST(bad_input) {
    char w[256], out[300], p[300];
    char *d = setup(w, sizeof w);
    snprintf(out, sizeof out, "%s/out", d);
    char cmd[600];
    // wrong latent width
    snprintf(p, sizeof p, "%s/z_wide.npy", d);
    float z[2 * 64] = {0};
    for (int i = 0; i < 128; i++) z[i] = 0.1f * i;
    hy_npy_write_f32(p, 2, (int64_t[]){2, 64}, z);
    snprintf(cmd, sizeof cmd, "generate -g %%s -z %s -o %%s", p);
    expect_fail(out, "shape (2, 64), the generator needs (N, 32)", cmd, w, out);
    // NaN latent
    snprintf(p, sizeof p, "%s/z_nan.npy", d);
    z[40] = NAN;
    hy_npy_write_f32(p, 2, (int64_t[]){4, LAT}, z);
    snprintf(cmd, sizeof cmd, "generate -g %%s -z %s -o %%s", p);
    expect_fail(out, "NaN or Inf", cmd, w, out);
    // not an npy file
    snprintf(cmd, sizeof cmd, "generate -g %%s -z %s -o %%s", w);
    expect_fail(out, "not a .npy file", cmd, w, out);
    // 3-D latents
    z[40] = 0;
    snprintf(p, sizeof p, "%s/z3.npy", d);
    hy_npy_write_f32(p, 3, (int64_t[]){1, 2, LAT}, z);
    snprintf(cmd, sizeof cmd, "generate -g %%s -z %s -o %%s", p);
    expect_fail(out, "must be 1-D or 2-D", cmd, w, out);
    // weight file of another kind
    expect_fail(out, "expected 'pggan'", "generate -g %s --seed 1 -n 1 -o %s", "tests/fixtures/wf_python.bin", out);
    // truncated weight file
    uint8_t *buf;
    size_t n;
    ck_assert_int_eq(hy_read_file(w, &buf, &n, 0), 0);
    snprintf(p, sizeof p, "%s/trunc.bin", d);
    FILE *f = fopen(p, "wb");
    fwrite(buf, 1, n / 2, f);
    fclose(f);
    free(buf);
    expect_fail(out, "truncated", "generate -g %s --seed 1 -n 1 -o %s", p, out);
    expect_fail(out, "cannot open", "generate -g %s --seed 1 -n 1 -o %s", "/nonexistent/g.bin", out);
    // unwritable output: a path below a regular file
    snprintf(p, sizeof p, "%s/sub", w);
    expect_fail(out, "cannot create directory", "generate -g %s --seed 1 -n 1 -o %s", w, p);
    char raw[300];
    snprintf(raw, sizeof raw, "/nonexistent-dir/raw.npy");
    expect_fail(out, "raw.npy: cannot write", "generate -g %s --seed 1 -n 1 --npy %s --no-png", w, raw);
    // usage errors
    expect_fail(out, "give the latents with -z or with --seed S -n N", "generate -g %s -o %s", w, out);
    expect_fail(out, "is not an integer", "generate -g %s --seed x -n 1 -o %s", w, out);
    expect_fail(out, "unknown option", "generate -g %s --bogus -o %s", w, out);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("generate");
    TCase *tc = tcase_create("cli");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, generates_pngs_and_raw_output);
    tcase_add_test(tc, trace_and_dump);
    tcase_add_test(tc, reference_forward);
    tcase_add_test(tc, bad_input);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
