// test_pggan_ref.c - the generator's reference forward (hy_pggan_forward_ref: the spec's ops as
// naive loops) against PyTorch at every layer, and the fast forward against the reference:
//   - with a hook, at every layer name, in the same order (the direct kernels with the upsample
//     folded into conv0, or im2col + sgemm, with LReLU and PN as separate passes);
//   - without a hook, at the output (LReLU, PN and toRGB fused into the convs, padded planes,
//     the last stage in row bands: hy_c3_stage_rgb), which no hook can see;
// for random generators of several schedules (odd channel counts, resolution 4, a last stage of
// several 64-row bands), under every kernel ISA this CPU runs and with HY_CONV3X3=0.
// Fixtures: tests/fixtures/pggan_tiny.bin / pggan_tiny_ref.bin (see test_pggan.c).
#include <math.h>

#include "base/common.h"
#include "base/rng.h"
#include "base/wfile.h"
#include "models/pggan.h"
#include "nn/conv3x3.h"
#include "nn/cpu.h"
#include "nn/ops.h"
#include "testutil.h"
#include "pggan_random.h"  // write_random
#include "recording.h"     // record, forget, rel_diff

// Reference vs torch, per layer: |C - torch| <= 1e-4 * max(1, max|ref|). Both are float32 at
// the outputs; the reference accumulates in double, torch in float (oneDNN blocking), so they
// differ by torch's rounding, ~1e-6 relative per layer, and pixel norm re-normalises every
// layer so that errors do not grow with depth. A wrong tap, bias or layout gives O(1) errors.
#define TORCH_RTOL 1e-4
// Fast vs reference, per layer and at the output: the same bound. The fast path accumulates in
// float (and rounds the folded conv0 weights, sums of up to 4 taps), the reference in double:
// ~1e-6 relative per layer. Each layer passes on the error of its input, so the difference
// grows with depth: measured worst 2.5e-5 (AVX-512 and AVX2) and 2.0e-5 (im2col + sgemm) at
// 128x128.conv1.pn of the 6-stage, 8-channel case (PN over 8 channels only), 4x below this.
#define FAST_RTOL 1e-4

// --- reference vs torch -----------------------------------------------------------------------

START_TEST(reference_matches_torch_every_layer) {
    pggan g;
    wfile ref;
    ck_assert_msg(hy_pggan_load_ref(&g, "tests/fixtures/pggan_tiny.bin") == 0, "%s", hy_errmsg());
    ck_assert_int_eq(g.path, PGGAN_REF);
    ck_assert_ptr_null(g.pk_arena);
    ck_assert_int_eq(hy_wf_open(&ref, "tests/fixtures/pggan_tiny_ref.bin"), 0);
    const float *z;
    ck_assert_int_eq(hy_wf_get_f32(&ref, "z", 2, (int64_t[]){2, 512}, &z), 0);
    float out[3 * 32 * 32];
    double worst = 0;
    for (int i = 0; i < 2; i++) {
        recording rec = {0};
        ck_assert_int_eq(hy_pggan_forward(&g, z + i * 512, out, record, &rec), 0);
        ck_assert_int_eq(rec.n, 26);  // z.pn, dense (3), 4x4 conv (3), 3 stages x 6, torgb
        for (int k = 0; k < rec.n; k++) {
            const wf_tensor *t = hy_wf_find(&ref, rec.name[k]);
            ck_assert_msg(t != NULL, "torch reference lacks layer '%s'", rec.name[k]);
            size_t len = (size_t)rec.c[k] * rec.h[k] * rec.w[k];
            size_t total = 1;
            for (int d = 0; d < t->ndim; d++) total *= (size_t)t->dims[d];
            ck_assert_msg(t->dims[0] == 2 && total == 2 * len, "layer '%s': shape mismatch", rec.name[k]);
            double d = rel_diff(rec.x[k], (const float *)t->data + i * len, len);
            ck_assert_msg(d <= TORCH_RTOL, "latent %d layer '%s': reference vs torch %g", i, rec.name[k], d);
            worst = fmax(worst, d);
        }
        ck_assert_double_eq(hy_max_abs_diff(out, rec.x[rec.n - 1], 3 * 32 * 32), 0.0);  // torgb is the output
        forget(&rec);
    }
    printf("pggan reference vs torch: worst relative diff %.2e\n", worst);
    // the latent is not modified
    ck_assert_int_eq(memcmp(z, (const float *)hy_wf_find(&ref, "z")->data, 2 * 512 * sizeof(float)), 0);
    hy_wf_close(&ref);
    hy_pggan_free(&g);
}
END_TEST

// --- fast vs reference ----------------------------------------------------------------------

static const struct {
    int R, L, ch[6];
} CASES[] = {
    {4, 512, {8}},                      // the 4x4 conv is the last layer (toRGB fused into it)
    {8, 64, {8, 16}},                   // 16 C(4) < latent
    {16, 40, {12, 8, 8}},               // C(4) = 12: the 4x4 conv on im2col + sgemm
    {16, 32, {8, 12, 16}},              // 8x8 on im2col + sgemm, 16x16 direct
    {32, 16, {16, 8, 8, 8}},            // all direct: padded planes, fused last stage
    {128, 24, {16, 8, 8, 8, 8, 8}},     // last stage of 128 rows: two 64-row bands
};

typedef struct {
    const char *label;
    int isa, conv3x3_off;
} mode;

// One schedule under the current ISA / HY_CONV3X3: every hooked layer, then the output of the
// forward without a hook, against the reference. Returns the worst relative difference.
static double fast_vs_ref(const char *path, size_t k, const char *label) {
    pggan fast, ref;
    ck_assert_msg(hy_pggan_load(&fast, path) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_pggan_load_ref(&ref, path) == 0, "%s", hy_errmsg());
    int R = CASES[k].R, L = CASES[k].L;
    size_t img = (size_t)3 * R * R;
    float *z = malloc(sizeof(float) * L), *o_ref = malloc(sizeof(float) * img), *o_fast = malloc(sizeof(float) * img);
    mt19937 rng;
    hy_mt_seed(&rng, 100 + k);
    for (int i = 0; i < L; i++) z[i] = (float)hy_mt_normal(&rng);
    recording want = {0}, got = {0};
    ck_assert_int_eq(hy_pggan_forward(&ref, z, o_ref, record, &want), 0);
    ck_assert_int_eq(hy_pggan_forward(&fast, z, o_fast, record, &got), 0);
    ck_assert_int_eq(got.n, want.n);
    ck_assert_int_eq(want.n, 8 + 6 * (fast.nstages - 1));
    double worst = 0;
    for (int i = 0; i < want.n; i++) {
        ck_assert_str_eq(got.name[i], want.name[i]);
        ck_assert(got.c[i] == want.c[i] && got.h[i] == want.h[i] && got.w[i] == want.w[i]);
        size_t len = (size_t)want.c[i] * want.h[i] * want.w[i];
        tensor_stats st = hy_stats_f32(got.x[i], len);
        ck_assert_msg(st.nonfinite == 0 && st.std > 0, "%s case %zu layer %s: degenerate", label, k, want.name[i]);
        double d = rel_diff(got.x[i], want.x[i], len);
        ck_assert_msg(d <= FAST_RTOL, "%s case %zu (R %d) layer %s: fast vs reference %g", label, k, R, want.name[i],
                      d);
        worst = fmax(worst, d);
    }
    // without a hook: the fused path
    ck_assert_int_eq(hy_pggan_forward(&fast, z, o_fast, NULL, NULL), 0);
    double d = rel_diff(o_fast, o_ref, img);
    ck_assert_msg(d <= FAST_RTOL, "%s case %zu (R %d): fused output vs reference %g", label, k, R, d);
    worst = fmax(worst, d);
    forget(&want), forget(&got);
    free(z), free(o_ref), free(o_fast);
    hy_pggan_free(&fast);
    hy_pggan_free(&ref);
    return worst;
}

START_TEST(fast_equals_reference_every_layer) {
    char path[256];
    snprintf(path, sizeof path, "%s/g.bin", test_tmpdir());
    const mode modes[] = {{"avx512", HY_ISA_AVX512, 0}, {"avx2", HY_ISA_AVX2, 0}, {"generic", HY_ISA_GENERIC, 0},
                          {"HY_CONV3X3=0", -1, 1}};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        if (modes[m].isa >= 0 && !hy_isa_supported(modes[m].isa)) {
            printf("SKIP %s: this CPU lacks %s\n", __func__, modes[m].label);
            continue;
        }
        ck_assert_int_eq(hy_isa_init(), HY_OK);  // the ISA from HY_ISA (or detected)
        if (modes[m].isa >= 0) ck_assert_int_eq(hy_isa_set(modes[m].isa), HY_OK);
        if (modes[m].conv3x3_off) setenv("HY_CONV3X3", "0", 1);
        double worst = 0;
        for (size_t k = 0; k < sizeof CASES / sizeof CASES[0]; k++) {
            write_random(path, CASES[k].R, CASES[k].ch, CASES[k].L);
            worst = fmax(worst, fast_vs_ref(path, k, modes[m].label));
        }
        unsetenv("HY_CONV3X3");
        printf("pggan fast vs reference (%s): worst relative diff %.2e\n", modes[m].label, worst);
    }
    ck_assert_int_eq(hy_isa_init(), HY_OK);
}
END_TEST

// The paths chosen at load: the fast loader packs every conv the kernels take (and releases
// the raw weights when all are packed), after which the reference forward is refused with a
// message; the reference loader packs nothing.
START_TEST(path_is_chosen_at_load) {
    pggan g;
    ck_assert_int_eq(hy_pggan_load(&g, "tests/fixtures/pggan_tiny.bin"), 0);
    ck_assert_int_eq(g.path, PGGAN_FAST);
    float z[512] = {1}, out[3 * 32 * 32];
    if (hy_c3_available()) {
        ck_assert_ptr_nonnull(g.own);
        ck_assert_int_eq(hy_pggan_forward_ref(&g, z, out, NULL, NULL), HY_EARG);
        ck_assert_msg(strstr(hy_errmsg(), "pggan_tiny.bin") && strstr(hy_errmsg(), "hy_pggan_load_ref"), "%s",
                      hy_errmsg());
    } else {  // nothing packed: the raw weights stay, and the reference runs on them too
        ck_assert_ptr_null(g.pk_arena);
        ck_assert_int_eq(hy_pggan_forward_ref(&g, z, out, NULL, NULL), HY_OK);
    }
    hy_pggan_free(&g);
    ck_assert_int_eq(hy_pggan_load_ref(&g, "tests/fixtures/pggan_tiny.bin"), 0);
    ck_assert_int_eq(g.path, PGGAN_REF);
    for (int s = 0; s < g.nstages; s++) ck_assert(!g.pk0[s] && !g.pk1[s]);
    ck_assert_ptr_null(g.own);
    ck_assert_uint_eq(g.act_floats, g.act_full);
    // a non-finite latent is refused by the reference too
    z[3] = NAN;
    ck_assert_int_eq(hy_pggan_forward(&g, z, out, NULL, NULL), HY_EVALUE);
    hy_pggan_free(&g);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("pggan_ref");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, reference_matches_torch_every_layer);
    tcase_add_test(tc, fast_equals_reference_every_layer);
    tcase_add_test(tc, path_is_chosen_at_load);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
