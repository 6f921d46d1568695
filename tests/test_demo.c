// test_demo.c - the committed demo models (weights/demo_generator.bin, weights/demo_facenet.bin) run by
// the C engines against PyTorch references written by convert/golden/golden_demo.py
// (tests/fixtures/demo_ref.bin), plus `hyper info` on both files.
#include <math.h>
#include <stdlib.h>

#include "base/common.h"
#include "models/facenet.h"
#include "nn/ops.h"
#include "models/pggan.h"
#include "base/resize.h"
#include "testutil.h"
#include "base/wfile.h"

#define GEN "weights/demo_generator.bin"
#define EMB "weights/demo_facenet.bin"
#define REF "tests/fixtures/demo_ref.bin"

// Both sides are float32 and differ only in summation order; pixel norm re-normalises every
// layer, so errors stay at ~1e-5 for O(1) outputs (measured 1.4e-5 over 16 latents with
// convert/checks/check_demo_models.py). A wrong weight or layout gives O(1) errors.
#define GEN_TOL 1e-4
// Unit embeddings through ~130 float32 convolutions with BN folded in float64 at conversion;
// PyTorch runs the same folded tensors. Measured differences are ~1e-7; 1e-4 leaves room for
// other BLAS builds while a wrong layer still gives errors of order 0.1.
#define EMB_TOL 1e-4

START_TEST(demo_generator_matches_torch) {
    if (!file_exists(GEN) || !file_exists(REF)) TEST_SKIP("%s or %s missing", GEN, REF);
    pggan g;
    wfile ref;
    ck_assert_msg(hy_pggan_load(&g, GEN) == 0, "%s", hy_errmsg());
    ck_assert_int_eq(g.resolution, 64);
    ck_assert_int_eq(g.latent, 512);
    ck_assert_int_eq(hy_wf_open(&ref, REF), 0);
    const float *z, *want;
    ck_assert_int_eq(hy_wf_get_f32(&ref, "z", 2, (int64_t[]){4, 512}, &z), 0);
    ck_assert_int_eq(hy_wf_get_f32(&ref, "image", 4, (int64_t[]){4, 3, 64, 64}, &want), 0);
    float *out = malloc(3 * 64 * 64 * sizeof(float));
    double worst = 0;
    for (int i = 0; i < 4; i++) {
        ck_assert_int_eq(hy_pggan_forward(&g, z + i * 512, out, NULL, NULL), 0);
        double d = hy_max_abs_diff(out, want + (size_t)i * 3 * 64 * 64, 3 * 64 * 64);
        ck_assert_msg(d <= GEN_TOL, "latent %d: max |C - torch| = %g", i, d);
        if (d > worst) worst = d;
    }
    printf("demo generator golden: 4 latents, max |C - torch| %.2e\n", worst);
    free(out);
    hy_wf_close(&ref);
    hy_pggan_free(&g);
}
END_TEST

START_TEST(demo_facenet_matches_torch) {
    if (!file_exists(EMB) || !file_exists(REF)) TEST_SKIP("%s or %s missing", EMB, REF);
    wfile ref;
    ck_assert_int_eq(hy_wf_open(&ref, REF), 0);
    const wf_tensor *tf = hy_wf_find(&ref, "faces");
    const float *want;
    ck_assert_ptr_nonnull(tf);
    ck_assert_int_eq(hy_wf_get_f32(&ref, "embedding", 2, (int64_t[]){4, 512}, &want), 0);
    facenet f;
    ck_assert_msg(hy_facenet_load(&f, EMB) == 0, "%s", hy_errmsg());
    const int S = f.input_size;  // 160, or a distilled student's smaller input (golden_demo.py resizes to it too)
    ck_assert(S >= 64 && S <= 160);
    ck_assert_int_eq(f.emb_dim, 512);
    float *in = malloc((size_t)4 * 3 * S * S * sizeof(float));
    float emb[4 * 512];
    const uint8_t *faces = tf->data;
    crop_box b = hy_crop_full(64, 64);
    for (int i = 0; i < 4; i++)
        ck_assert_int_eq(hy_face_preprocess(in + (size_t)i * 3 * S * S, NULL, S, faces + i * 64 * 64 * 3, 64, 64, &b), 0);
    ck_assert_int_eq(hy_facenet_forward(&f, in, 4, emb, NULL, NULL), 0);
    double d = hy_max_abs_diff(emb, want, 4 * 512);
    ck_assert_msg(d <= EMB_TOL, "max |C - torch| = %g", d);
    for (int i = 0; i < 4; i++) {
        double n = 0;
        for (int k = 0; k < 512; k++) n += (double)emb[i * 512 + k] * emb[i * 512 + k];
        ck_assert_double_eq_tol(sqrt(n), 1.0, 1e-5);
    }
    printf("demo facenet golden: 4 generated faces, max |C - torch| %.2e\n", d);
    free(in);
    hy_facenet_free(&f);
    hy_wf_close(&ref);
}
END_TEST

START_TEST(demo_files_pass_info) {
    const char *files[] = {GEN, EMB};
    const char *kinds[] = {"kind:     pggan", "kind:     facenet"};
    for (int i = 0; i < 2; i++) {
        if (!file_exists(files[i])) {
            printf("SKIP demo_files_pass_info: %s missing\n", files[i]);
            continue;
        }
        char *out = NULL;
        ck_assert_int_eq(run_hyper(&out, "info %s", files[i]), 0);
        ck_assert_msg(strstr(out, kinds[i]) != NULL, "%s: hyper info output lacks '%s'", files[i], kinds[i]);
        free(out);
    }
}
END_TEST

static Suite *demo_suite(void) {
    Suite *s = suite_create("demo");
    TCase *tc = tcase_create("demo");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, demo_generator_matches_torch);
    tcase_add_test(tc, demo_facenet_matches_torch);
    tcase_add_test(tc, demo_files_pass_info);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(demo_suite)
