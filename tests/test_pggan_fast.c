// test_pggan_fast.c - the generator's fast path without a hook: the last stage runs fused
// (c3_stage_rgb: conv0 + conv1 + toRGB over row bands, no full-size activations) and every
// other conv with its LReLU/PN fused, which the per-layer golden test (it uses a hook) does
// not reach. Fixture: tests/fixtures/pggan_tiny.bin / pggan_tiny_ref.bin (see test_pggan.c).
#include <math.h>

#include "common.h"
#include "conv3x3.h"
#include "ops.h"
#include "pggan.h"
#include "testutil.h"
#include "wfile.h"

// Same bound and reason as test_pggan.c's final-output check: float32 on both sides, only
// the summation order differs (~1e-6 relative); |torgb| <= ~4 here, so 4e-4 absolute.
#define OUT_TOL 4e-4

static void no_hook(void *user, const char *name, const float *x, int c, int h, int w) {
    (void)user, (void)name, (void)x, (void)c, (void)h, (void)w;
}

START_TEST(fused_forward_matches_torch_and_hook_path) {
    pggan g;
    wfile ref;
    ck_assert_msg(pggan_load(&g, "tests/fixtures/pggan_tiny.bin") == 0, "%s", hy_errmsg());
    ck_assert_int_eq(wf_open(&ref, "tests/fixtures/pggan_tiny_ref.bin"), 0);
    const float *z, *want;
    ck_assert_int_eq(wf_get_f32(&ref, "z", 2, (int64_t[]){2, 512}, &z), 0);
    ck_assert_int_eq(wf_get_f32(&ref, "torgb", 4, (int64_t[]){2, 3, 32, 32}, &want), 0);
    if (c3_available()) {
        // every conv packed, the weight file released, buffers sized for the fused last stage
        for (int s = 1; s < g.nstages; s++) ck_assert(g.pk0[s] && g.pk1[s]);
        ck_assert_ptr_null(g.wf.buf);
        ck_assert_uint_lt(g.act_floats, g.act_full);
    } else {
        printf("SKIP part of %s: no AVX-512F, the generic path is tested instead\n", __func__);
    }
    float out[3 * 32 * 32], out_hook[3 * 32 * 32];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(pggan_forward(&g, z + i * 512, out, NULL, NULL), 0);
        double d = max_abs_diff(out, want + i * 3 * 1024, 3 * 1024);
        ck_assert_msg(d <= OUT_TOL, "latent %d: fused forward vs torch: %g", i, d);
        // the hook path (unfused; grows the activation buffers) gives the same image: the
        // convs, LReLU and PN are the same operations; toRGB differs only in summation order
        // (16 terms), so the two agree to float rounding (1e-5 >> 16 * 6e-8 * |x| ~ 4e-6)
        ck_assert_int_eq(pggan_forward(&g, z + i * 512, out_hook, no_hook, NULL), 0);
        d = max_abs_diff(out, out_hook, 3 * 1024);
        ck_assert_msg(d <= 1e-5, "latent %d: fused vs hook path: %g", i, d);
        // and after the buffers grew, the fused path still gives the same bytes
        float again[3 * 32 * 32];
        ck_assert_int_eq(pggan_forward(&g, z + i * 512, again, NULL, NULL), 0);
        ck_assert_double_eq(max_abs_diff(out, again, 3 * 1024), 0.0);
    }
    wf_close(&ref);
    pggan_free(&g);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("pggan_fast");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fused_forward_matches_torch_and_hook_path);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
