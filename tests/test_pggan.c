// test_pggan.c - golden tests: the C generator against the project's PyTorch reference
// (convert/ref/pggan_ref.py) at every layer, and the torch-compatible RNG against torch.randn.
// Fixtures: tests/fixtures/pggan_tiny.bin (32x32, channels [32,32,32,16], latent 512) and
// pggan_tiny_ref.bin (z = torch.manual_seed(7); torch.randn(2,512) and every activation),
// written by convert/golden/golden_pggan.py (`make golden`).
#include <math.h>

#include "base/common.h"
#include "nn/ops.h"
#include "models/pggan.h"
#include "base/rng.h"
#include "testutil.h"
#include "base/wfile.h"

// Per-layer tolerance: |C - torch| <= 1e-4 * max(1, max|ref|). Both sides are float32;
// they differ only in summation order (sgemm blocking vs oneDNN), which gives relative
// errors of ~1e-6 per layer; pixel norm re-normalises every layer so errors do not grow
// with depth (measured worst: 9.4e-6). A wrong tap, bias or layout gives O(1) errors.
#define LAYER_RTOL 1e-4

typedef struct {
    const wfile *ref;
    int index, checked;
    double worst;
    char worst_name[64];
} golden_ctx;

static void compare_hook(void *user, const char *name, const float *x, int c, int h, int w) {
    golden_ctx *g = user;
    const wf_tensor *t = hy_wf_find(g->ref, name);
    ck_assert_msg(t != NULL, "reference lacks layer '%s'", name);
    size_t len = (size_t)c * h * w;
    size_t total = 1;
    for (int d = 0; d < t->ndim; d++) total *= (size_t)t->dims[d];
    ck_assert_msg(t->dims[0] == 2 && total == 2 * len, "layer '%s': shape mismatch", name);
    const float *r = (const float *)t->data + (size_t)g->index * len;
    tensor_stats s = hy_stats_f32(r, len);
    double scale = fmax(1.0, fmax(fabs(s.min), fabs(s.max)));
    double d = hy_max_abs_diff(x, r, len);
    ck_assert_msg(d <= LAYER_RTOL * scale, "latent %d layer '%s': max |C - torch| = %g (scale %g)", g->index, name, d,
                  scale);
    if (d / scale > g->worst) {
        g->worst = d / scale;
        snprintf(g->worst_name, sizeof g->worst_name, "%s", name);
    }
    g->checked++;
}

START_TEST(every_layer_matches_torch) {
    pggan g;
    wfile ref;
    ck_assert_msg(hy_pggan_load(&g, "tests/fixtures/pggan_tiny.bin") == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_wf_open(&ref, "tests/fixtures/pggan_tiny_ref.bin"), 0);
    ck_assert_int_eq(hy_wf_expect_kind(&ref, "reference"), 0);
    ck_assert_int_eq(g.resolution, 32);
    const float *z, *want;
    ck_assert_int_eq(hy_wf_get_f32(&ref, "z", 2, (int64_t[]){2, 512}, &z), 0);
    ck_assert_int_eq(hy_wf_get_f32(&ref, "torgb", 4, (int64_t[]){2, 3, 32, 32}, &want), 0);
    float out[3 * 32 * 32];
    golden_ctx ctx = {&ref, 0, 0, 0, ""};
    for (int i = 0; i < 2; i++) {
        ctx.index = i;
        ck_assert_int_eq(hy_pggan_forward(&g, z + i * 512, out, compare_hook, &ctx), 0);
        ck_assert_double_le(hy_max_abs_diff(out, want + i * 3 * 1024, 3 * 1024), LAYER_RTOL * 4);
    }
    // z.pn + hy_dense(3) + conv(3) + 3 stages x 6 + torgb = 26 layers per latent
    ck_assert_int_eq(ctx.checked, 2 * 26);
    printf("pggan golden: %d layers checked, worst relative diff %.2e at %s\n", ctx.checked, ctx.worst,
           ctx.worst_name);
    // the z passed in is not modified
    ck_assert_int_eq(memcmp(z, (const float *)hy_wf_find(&ref, "z")->data, 2 * 512 * sizeof(float)), 0);
    hy_wf_close(&ref);
    hy_pggan_free(&g);
}
END_TEST

// torch.manual_seed(S); torch.randn(N, 512): same uniforms (mt19937, 24-bit) and the same
// Box-Muller pairing. torch evaluates log/sin/cos with SLEEF vector code and we with libm,
// so values differ in the last bits: |diff| <= 1e-5 (values are O(1); measured ~5e-7).
START_TEST(randn_matches_torch) {
    wfile ref;
    ck_assert_int_eq(hy_wf_open(&ref, "tests/fixtures/randn_ref.bin"), 0);
    const float *a, *b;
    ck_assert_int_eq(hy_wf_get_f32(&ref, "seed1_n3", 2, (int64_t[]){3, 512}, &a), 0);
    ck_assert_int_eq(hy_wf_get_f32(&ref, "seed42_n1", 2, (int64_t[]){1, 512}, &b), 0);
    float x[3 * 512];
    mt19937 r;
    hy_mt_seed(&r, 1);
    hy_mt_randn_f32(&r, x, 3 * 512);
    ck_assert_double_le(hy_max_abs_diff(x, a, 3 * 512), 1e-5);
    hy_mt_seed(&r, 42);
    hy_mt_randn_f32(&r, x, 512);
    ck_assert_double_le(hy_max_abs_diff(x, b, 512), 1e-5);
    hy_wf_close(&ref);
}
END_TEST

// `hyper generate --seed 7 -n 2` reproduces the reference latents and output end to end.
START_TEST(cli_seed_matches_reference) {
    char *d = test_tmpdir(), raw[300];
    snprintf(raw, sizeof raw, "%s/raw.npy", d);
    ck_assert_int_eq(run_hyper(NULL, "generate -g tests/fixtures/pggan_tiny.bin --seed 7 -n 2 --npy %s --no-png", raw), 0);
    wfile ref;
    ck_assert_int_eq(hy_wf_open(&ref, "tests/fixtures/pggan_tiny_ref.bin"), 0);
    const float *want;
    ck_assert_int_eq(hy_wf_get_f32(&ref, "torgb", 4, (int64_t[]){2, 3, 32, 32}, &want), 0);
    uint8_t *buf;
    size_t n;
    ck_assert_int_eq(hy_read_file(raw, &buf, &n, 0), 0);
    ck_assert_uint_eq(n, 128 + 2 * 3 * 1024 * 4);  // 128-byte npy header + data
    // 1e-4: the latents themselves carry the RNG's ~1e-6 libm differences (see above)
    ck_assert_double_le(hy_max_abs_diff((const float *)(buf + 128), want, 2 * 3 * 1024), 1e-4);
    free(buf);
    hy_wf_close(&ref);
}
END_TEST

START_TEST(refuses_inconsistent_files) {
    // A reference file is not a generator
    pggan g;
    ck_assert_int_eq(hy_pggan_load(&g, "tests/fixtures/pggan_tiny_ref.bin"), HY_EFORMAT);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "expected 'pggan'"));
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("pggan");
    TCase *tc = tcase_create("golden");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, every_layer_matches_torch);
    tcase_add_test(tc, randn_matches_torch);
    tcase_add_test(tc, cli_seed_matches_reference);
    tcase_add_test(tc, refuses_inconsistent_files);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
