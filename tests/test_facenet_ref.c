// test_facenet_ref.c - FaceNet's reference forward (hy_facenet_forward_ref: image by image,
// NCHW, naive ops) against PyTorch at every block of the tiny golden network, and the fast
// forward (channel-major batches, packed GEMM with bias and ReLU fused into the stores, the
// residual add as beta = 1, two lanes at 2 threads) against the reference: at every block
// (the hook shows the first image) and at every image's embedding, under every GEMM kernel
// this CPU runs and with HY_SGEMM=0 (OpenBLAS), at 1 and 2 threads, on a batch of several chunks.
// Fixtures: tests/fixtures/facenet_tiny.bin / facenet_tiny_ref.bin (convert/golden/golden_facenet.py).
#include <math.h>
#include <string.h>

#include "base/common.h"
#include "base/wfile.h"
#include "models/facenet.h"
#include "nn/cpu.h"
#include "nn/ops.h"
// testutil.h's test_tmpdir_cleanup_ trips -Wformat-truncation (see test_facenet.c)
#pragma GCC diagnostic ignored "-Wformat-truncation"
#include "testutil.h"
#include "recording.h"  // record, forget, rel_diff

#define TINY "tests/fixtures/facenet_tiny.bin"
#define TINY_REF "tests/fixtures/facenet_tiny_ref.bin"

// Reference vs torch (float64, unfolded BN) per block: the reference accumulates in double
// but stores float32 activations and uses BN-folded float32 weights (one rounding each, ~6e-8
// relative), so only those roundings separate them, through up to 40 layers; 2e-5 * max(1,
// max|ref|) is test_facenet.c's bound for the fast path, kept here (measured: printed).
#define TORCH_RTOL 2e-5
// Fast vs reference per block and per embedding: float32 sums of up to K = 1792 terms in the
// GEMM vs double in the reference: ~sqrt(K) * 6e-8 ~ 3e-6 relative per layer at worst, not
// growing much through the residual blocks (their adds are scaled by 0.1..0.2); the same
// 2e-5 bound (measured: printed). A wrong pad, scale or branch order is O(0.1).
#define FAST_RTOL 2e-5

// (n, 3, 160, 160) standardised float input: the fixture's *nt torch images (uint8 pixels),
// then copies of them at other contrasts up to 2 * HY_FACENET_CHUNK + 1 images, so that the fast forward runs
// several chunks with a short last one: 4 + 4 + 1 at one thread, and lanes of 5 (4 + 1) and
// 4 images at two.
static float *tiny_input(const wfile *ref, int *n, int *nt) {
    const wf_tensor *p = hy_wf_find(ref, "pixels");
    ck_assert_ptr_nonnull(p);
    ck_assert_int_eq(p->dtype, WF_U8);
    size_t len = p->nbytes, img = len / (size_t)p->dims[0];
    *nt = (int)p->dims[0];
    *n = 2 * HY_FACENET_CHUNK + 1;
    ck_assert_int_gt(*n, *nt);
    float *x = malloc((size_t)*n * img * sizeof(float));
    const uint8_t *u = p->data;
    for (size_t i = 0; i < len; i++) x[i] = ((float)u[i] - 127.5f) / 128.0f;
    for (int k = *nt; k < *n; k++) {  // each copy at its own contrast, so that no two images are alike
        const float *src = x + (size_t)(k % *nt) * img;
        for (size_t i = 0; i < img; i++) x[(size_t)k * img + i] = (1.0f - 0.05f * (float)k) * src[i];
    }
    return x;
}

START_TEST(reference_matches_torch_every_block) {
    facenet f;
    wfile ref;
    ck_assert_msg(hy_facenet_load(&f, TINY) == 0, "%s", hy_errmsg());
    ck_assert_msg(hy_wf_open(&ref, TINY_REF) == 0, "%s", hy_errmsg());
    int n, nt;
    float *x = tiny_input(&ref, &n, &nt);
    float *emb = malloc((size_t)n * f.emb_dim * sizeof(float));
    recording rec = {0};
    ck_assert_int_eq(hy_facenet_forward_ref(&f, x, nt, emb, record, &rec), 0);
    ck_assert_int_eq(rec.n, 33);  // 30 blocks + avgpool_1a, last_linear, embedding
    double worst = 0;
    for (int k = 0; k < rec.n; k++) {
        char tn[96];
        snprintf(tn, sizeof tn, "act.%s", rec.name[k]);
        const wf_tensor *t = hy_wf_find(&ref, tn);
        ck_assert_msg(t != NULL, "torch reference lacks %s", tn);
        size_t len = (size_t)rec.c[k] * rec.h[k] * rec.w[k], tl;
        hy_prod_dims(t->dims, t->ndim, &tl);
        ck_assert_uint_eq(tl, len);
        double d = rel_diff(rec.x[k], t->data, len);
        ck_assert_msg(d < TORCH_RTOL, "block %s: reference vs torch %g", rec.name[k], d);
        worst = fmax(worst, d);
    }
    const float *e;
    ck_assert_int_eq(hy_wf_get_f32(&ref, "embedding", 2, (int64_t[]){nt, f.emb_dim}, &e), 0);
    ck_assert_double_lt(hy_max_abs_diff(emb, e, (size_t)nt * f.emb_dim), TORCH_RTOL);  // unit vectors
    printf("FaceNet reference vs torch: worst block %.2e\n", worst);
    // a non-finite input is refused
    x[5] = NAN;
    ck_assert_int_eq(hy_facenet_forward_ref(&f, x, 1, emb, NULL, NULL), HY_EVALUE);
    forget(&rec);
    free(x), free(emb);
    hy_wf_close(&ref);
    hy_facenet_free(&f);
}
END_TEST

// The fast forward of the loaded network (packed for the current ISA / HY_SGEMM) against the
// reference: every block of the first image, then every embedding, at 1 and 2 threads. With
// run_isa >= 0 the ISA is switched to it after loading (the packed weights and heads made for
// the load-time kernel are then left aside for the unpacked convs).
static double fast_vs_ref(const float *x, int n, const char *label, int run_isa) {
    facenet f;
    ck_assert_msg(hy_facenet_load(&f, TINY) == 0, "%s", hy_errmsg());
    // the weights were packed for the own GEMM kernels exactly when this mode has them, and the
    // 3x3 stride-1 convs (conv2d_2a is block 1) made Winograd ones then, unless HY_WINOGRAD=0
    ck_assert_int_eq(f.blk[0].br[0].conv[0].ga.packed != NULL, hy_sgemm_own());
    const char *wino_env = getenv("HY_WINOGRAD");
    ck_assert_str_eq(f.blk[1].name, "conv2d_2a");
    ck_assert_int_eq(f.blk[1].br[0].conv[0].wg.u != NULL, hy_sgemm_own() && !(wino_env && wino_env[0] == '0'));
    int block17 = 0;  // Block17's 1x7 and 7x1 convs: F(2, 7) under the same conditions
    for (int i = 0; i < f.nblocks; i++)
        if (!strncmp(f.blk[i].name, "repeat_2.", 9) && ++block17)
            for (int k = 1; k <= 2; k++)
                ck_assert_int_eq(f.blk[i].br[1].conv[k].w7.u != NULL,
                                 hy_sgemm_own() && !(wino_env && wino_env[0] == '0'));
    ck_assert_int_ge(block17, 1);
    int heads = 0;  // the stacked 1x1 convs: Block35, Block17, Mixed_7a, Block8 (with the own kernel)
    for (int i = 0; i < f.nblocks; i++) heads += f.blk[i].head.cout > 0;
    ck_assert_int_eq(heads > 0, hy_sgemm_own());
    for (int i = 0; i < f.nblocks; i++) {  // stride 2: conv2d_4b (36 -> 17), not Mixed_6a's (17 -> 8) or 7a's
        const facenet_block *b = &f.blk[i];
        const int want = hy_sgemm_own() && !(wino_env && wino_env[0] == '0') && !strcmp(b->name, "conv2d_4b");
        for (int j = 0; j < b->nbranch; j++)
            for (int k = 0; k < b->br[j].nconv; k++)
                if (b->br[j].conv[k].sh == 2 && strcmp(b->name, "conv2d_1a") != 0)  // (3 input channels: im2col)
                    ck_assert_msg((b->br[j].conv[k].wg.u != NULL && b->br[j].conv[k].wg.stride == 2) == want,
                                  "%s branch %d conv %d", b->name, j, k);
    }
    if (run_isa >= 0) ck_assert_int_eq(hy_isa_set(run_isa), HY_OK);
    size_t ne = (size_t)n * f.emb_dim;
    float *e_ref = malloc(ne * sizeof(float)), *e_fast = malloc(ne * sizeof(float));
    recording want = {0};
    ck_assert_int_eq(hy_facenet_forward_ref(&f, x, n, e_ref, record, &want), 0);
    double worst = 0;
    for (int threads = 1; threads <= 2; threads++) {
        hy_set_threads(threads);
        recording got = {0};
        ck_assert_int_eq(hy_facenet_forward(&f, x, n, e_fast, record, &got), 0);
        ck_assert_int_eq(got.n, want.n);
        for (int k = 0; k < want.n; k++) {
            ck_assert_str_eq(got.name[k], want.name[k]);
            ck_assert(got.c[k] == want.c[k] && got.h[k] == want.h[k] && got.w[k] == want.w[k]);
            double d = rel_diff(got.x[k], want.x[k], (size_t)want.c[k] * want.h[k] * want.w[k]);
            ck_assert_msg(d < FAST_RTOL, "%s, %d thread(s), block %s: fast vs reference %g", label, threads,
                          want.name[k], d);
            worst = fmax(worst, d);
        }
        double d = hy_max_abs_diff(e_fast, e_ref, ne);  // unit vectors
        ck_assert_msg(d < FAST_RTOL, "%s, %d thread(s): embeddings fast vs reference %g", label, threads, d);
        worst = fmax(worst, d);
        forget(&got);
    }
    hy_set_threads(1);
    forget(&want);
    free(e_ref), free(e_fast);
    hy_facenet_free(&f);
    return worst;
}

START_TEST(fast_equals_reference_every_block) {
    wfile ref;
    ck_assert_msg(hy_wf_open(&ref, TINY_REF) == 0, "%s", hy_errmsg());
    int n, nt;
    float *x = tiny_input(&ref, &n, &nt);
    static const struct {
        const char *label;
        int isa;
        const char *off;  // an environment variable set to "0" for this mode
        int run_isa;      // >= 0: switched to after loading
    } modes[] = {{"avx512", HY_ISA_AVX512, NULL, -1},
                 {"avx2", HY_ISA_AVX2, NULL, -1},
                 {"avx2, HY_WINOGRAD=0 (3x3, 1x7 and 7x1 convs by im2col)", HY_ISA_AVX2, "HY_WINOGRAD", -1},
                 {"generic", HY_ISA_GENERIC, NULL, -1},
                 {"HY_SGEMM=0", -1, "HY_SGEMM", -1},
                 {"loaded on avx2, run on generic", HY_ISA_AVX2, NULL, HY_ISA_GENERIC}};
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        if (modes[m].isa >= 0 && !hy_isa_supported(modes[m].isa)) {
            printf("SKIP %s: this CPU lacks %s\n", __func__, modes[m].label);
            continue;
        }
        ck_assert_int_eq(hy_isa_init(), HY_OK);
        if (modes[m].isa >= 0) ck_assert_int_eq(hy_isa_set(modes[m].isa), HY_OK);
        if (modes[m].off) setenv(modes[m].off, "0", 1);
        printf("FaceNet fast vs reference (%s): worst %.2e\n", modes[m].label,
               fast_vs_ref(x, n, modes[m].label, modes[m].run_isa));
        if (modes[m].off) unsetenv(modes[m].off);
    }
    ck_assert_int_eq(hy_isa_init(), HY_OK);
    free(x);
    hy_wf_close(&ref);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("facenet_ref");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 300);
    tcase_add_test(tc, reference_matches_torch_every_block);
    tcase_add_test(tc, fast_equals_reference_every_block);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(suite)
