// test_pggan_fast.c - the generator's fast path without a hook: the last stage runs fused
// (c3_stage_rgb: conv0 + conv1 + toRGB over row bands, no full-size activations) and every
// other conv with its LReLU/PN fused, which the per-layer golden test (it uses a hook) does
// not reach. Fixture: tests/fixtures/pggan_tiny.bin / pggan_tiny_ref.bin (see test_pggan.c).
#include <math.h>

#include "base/common.h"
#include "nn/conv3x3.h"
#include "nn/cpu.h"
#include "nn/ops.h"
#include "models/pggan.h"
#include "base/rng.h"
#include "testutil.h"
#include "pggan_random.h"  // write_random
#include "base/wfile.h"

// Same bound and reason as test_pggan.c's final-output check: float32 on both sides, only
// the summation order differs (~1e-6 relative); |torgb| <= ~4 here, so 4e-4 absolute.
#define OUT_TOL 4e-4

static void no_hook(void *user, const char *name, const float *x, int c, int h, int w) {
    (void)user, (void)name, (void)x, (void)c, (void)h, (void)w;
}

START_TEST(fused_forward_matches_torch_and_hook_path) {
    pggan g;
    wfile ref;
    ck_assert_msg(hy_pggan_load(&g, "tests/fixtures/pggan_tiny.bin") == 0, "%s", hy_errmsg());
    ck_assert_int_eq(hy_wf_open(&ref, "tests/fixtures/pggan_tiny_ref.bin"), 0);
    const float *z, *want;
    ck_assert_int_eq(hy_wf_get_f32(&ref, "z", 2, (int64_t[]){2, 512}, &z), 0);
    ck_assert_int_eq(hy_wf_get_f32(&ref, "torgb", 4, (int64_t[]){2, 3, 32, 32}, &want), 0);
    if (hy_c3_available()) {
        // every conv packed, the weight file released; the fused path touches less than the
        // full-size buffers allocated at load
        for (int s = 1; s < g.nstages; s++) ck_assert(g.pk0[s] && g.pk1[s]);
        ck_assert_ptr_null(g.wf.buf);
        ck_assert_uint_lt(g.act_floats, g.act_full);
        ck_assert_int_eq(g.path, PGGAN_FAST);
    } else {
        printf("SKIP part of %s: no direct-conv kernels (ISA %s), the generic path is tested instead\n", __func__,
               hy_isa_name(hy_isa()));
    }
    float out[3 * 32 * 32], out_hook[3 * 32 * 32];
    for (int i = 0; i < 2; i++) {
        ck_assert_int_eq(hy_pggan_forward(&g, z + i * 512, out, NULL, NULL), 0);
        double d = hy_max_abs_diff(out, want + i * 3 * 1024, 3 * 1024);
        ck_assert_msg(d <= OUT_TOL, "latent %d: fused forward vs torch: %g", i, d);
        // the hook path (unfused, dense planes, same buffers) gives the same image: the
        // convs, LReLU and PN are the same operations; toRGB differs only in summation order
        // (16 terms), so the two agree to float rounding (1e-5 >> 16 * 6e-8 * |x| ~ 4e-6)
        ck_assert_int_eq(hy_pggan_forward(&g, z + i * 512, out_hook, no_hook, NULL), 0);
        d = hy_max_abs_diff(out, out_hook, 3 * 1024);
        ck_assert_msg(d <= 1e-5, "latent %d: fused vs hook path: %g", i, d);
        // and after the hooked pass wrote the whole buffers, the fused path gives the same bytes
        float again[3 * 32 * 32];
        ck_assert_int_eq(hy_pggan_forward(&g, z + i * 512, again, NULL, NULL), 0);
        ck_assert_double_eq(hy_max_abs_diff(out, again, 3 * 1024), 0.0);
    }
    hy_wf_close(&ref);
    hy_pggan_free(&g);
}
END_TEST

// Odd schedules: resolution 4 (the 4x4 conv is also the last layer), C(4) * 16 smaller than
// the latent, channel counts the direct kernels do not take (cout % 8 != 0: those layers
// use im2col + sgemm and the activations stay dense). For each, the no-hook path must
// agree with the hook path (same tolerance and reason as above) and run clean under ASan.
START_TEST(odd_schedules_fused_equals_hook) {
    static const struct {
        int R, L, ch[4];
    } cases[] = {
        {4, 512, {8}}, {8, 64, {8, 16}}, {16, 40, {12, 8, 8}}, {16, 32, {8, 12, 16}}, {32, 16, {16, 8, 8, 8}},
    };
    char *dir = test_tmpdir();
    char path[256];
    snprintf(path, sizeof path, "%s/g.bin", dir);
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        write_random(path, cases[k].R, cases[k].ch, cases[k].L);
        pggan g;
        ck_assert_msg(hy_pggan_load(&g, path) == 0, "%s", hy_errmsg());
        int R = cases[k].R;
        float *z = malloc(sizeof(float) * cases[k].L), *o1 = malloc(sizeof(float) * 3 * R * R),
              *o2 = malloc(sizeof(float) * 3 * R * R);
        mt19937 r;
        hy_mt_seed(&r, k);
        for (int i = 0; i < cases[k].L; i++) z[i] = (float)hy_mt_normal(&r);
        ck_assert_int_eq(hy_pggan_forward(&g, z, o1, NULL, NULL), 0);
        ck_assert_int_eq(hy_pggan_forward(&g, z, o2, no_hook, NULL), 0);
        tensor_stats st = hy_stats_f32(o2, (size_t)3 * R * R);
        double d = hy_max_abs_diff(o1, o2, (size_t)3 * R * R);
        ck_assert_msg(st.nonfinite == 0 && st.std > 0, "case %zu: degenerate output", k);
        ck_assert_msg(d <= 1e-5 * fmax(1.0, fmax(fabs(st.min), fabs(st.max))), "case %zu (R %d): fused vs hook %g", k,
                      R, d);
        free(z), free(o1), free(o2);
        hy_pggan_free(&g);
    }
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("pggan_fast");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, fused_forward_matches_torch_and_hook_path);
    tcase_add_test(tc, odd_schedules_fused_equals_hook);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
