// test_sgemm.c - hy_sgemm (src/nn/sgemm*.c) against a double-precision reference product, on
// shapes (hy_sgemm: N >= 256 for the own kernels, narrower ones exercise the cblas path; packed
// weights: the own kernels at every width, every column tail of 1-15 included) that hit every
// tail of the blocking (rows not a multiple of the panel heights 8 and 6 or of the 96-row block,
// columns not a multiple of 8 / 16 / 32 or of the 2048-column block, reductions not a multiple
// of 256), with leading dimensions larger than the width, and alpha / beta as FaceNet
// uses them (1 / 0 for a conv, block scale / 1 for the residual add) plus a general pair; each
// through hy_sgemm and through weights packed once (hy_sgemm_pack + hy_sgemm_a_mul, as FaceNet
// runs), and each under every ISA this CPU supports (AVX-512 kernel, AVX2 kernel, OpenBLAS); and
// the fused bias + ReLU epilogue against the separate pass.
#ifndef _OPENMP  // NO_OMP=1 builds: the arena test's loop runs on one thread
#pragma GCC diagnostic ignored "-Wunknown-pragmas"
#endif

#include <math.h>
#include <stdint.h>
#include <string.h>

#include "base/common.h"
#include "base/rng.h"
#include "nn/cpu.h"
#include "nn/sgemm.h"
#include "testutil.h"

// Entries are unit normals, so each product term is O(1) and a sum of K terms has size
// ~sqrt(K) <= 26 (K <= 600). float32 accumulation (different order from the reference) errs by
// ~K * 6e-8 * 26 <= 1e-3 in the worst case and far less typically; 2e-3 absolute leaves margin,
// while a wrong index (row, column, tail mask, block offset) gives O(1) errors.
#define SG_TOL 2e-3

static const int ISAS[] = {HY_ISA_AVX512, HY_ISA_AVX2, HY_ISA_GENERIC};

// One shape: the reference once, then hy_sgemm and the packed path under each supported ISA.
static void check(int M, int N, int K, float alpha, float beta) {
    mt19937 r;
    hy_mt_seed(&r, (uint64_t)(M * 7919 + N * 131 + K));
    const int lda = K + 3, ldb = N + 5, ldc = N + 2;
    float *A = malloc(sizeof(float) * M * lda), *B = malloc(sizeof(float) * K * ldb),
          *C = malloc(sizeof(float) * M * ldc), *C0 = malloc(sizeof(float) * M * ldc);
    double *want = malloc(sizeof(double) * M * N);
    for (int i = 0; i < M * lda; i++) A[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < K * ldb; i++) B[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < M * ldc; i++) C0[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < M; i++)
        for (int j = 0; j < N; j++) {
            double s = 0;
            for (int k = 0; k < K; k++) s += (double)A[i * lda + k] * B[k * ldb + j];
            want[i * N + j] = alpha * s + (beta == 0.0f ? 0.0 : beta * (double)C0[i * ldc + j]);
        }
    for (size_t t = 0; t < sizeof ISAS / sizeof *ISAS; t++) {
        if (!hy_isa_supported(ISAS[t])) continue;
        ck_assert_int_eq(hy_isa_set(ISAS[t]), HY_OK);
        for (int packed = 0; packed < 2; packed++) {
            memcpy(C, C0, sizeof(float) * M * ldc);
            if (packed) {
                hy_sgemm_a pa;
                ck_assert_int_eq(hy_sgemm_pack(&pa, M, K, alpha, A, lda), 0);
                ck_assert(hy_sgemm_own() ? pa.packed != NULL : pa.packed == NULL);
                hy_sgemm_a_mul(&pa, N, B, ldb, beta, C, ldc);
                hy_sgemm_free(&pa);
            } else {
                hy_sgemm(M, N, K, alpha, A, lda, B, ldb, beta, C, ldc);
            }
            double worst = 0;
            for (int i = 0; i < M; i++) {
                for (int j = 0; j < N; j++) {
                    const double d = fabs(C[i * ldc + j] - want[i * N + j]);
                    if (!(d <= worst)) worst = d;  // NaN-safe
                }
                for (int j = N; j < ldc; j++)  // padding between rows is never written
                    ck_assert_msg(C[i * ldc + j] == C0[i * ldc + j], "%s M %d N %d K %d: wrote C[%d][%d] beyond N",
                                  hy_isa_name(ISAS[t]), M, N, K, i, j);
            }
            ck_assert_msg(worst < SG_TOL, "%s M %d N %d K %d alpha %g beta %g packed %d: max abs error %g",
                          hy_isa_name(ISAS[t]), M, N, K, alpha, beta, packed, worst);
        }
    }
    hy_isa_init();
    free(A), free(B), free(C), free(C0), free(want);
}

START_TEST(sgemm_matches_reference) {
    for (size_t t = 0; t < sizeof ISAS / sizeof *ISAS; t++)
        if (!hy_isa_supported(ISAS[t])) printf("SKIP %s: no %s on this CPU\n", __func__, hy_isa_name(ISAS[t]));
    const int Ms[] = {1, 5, 7, 8, 9, 32, 97, 100};
    const int Ns[] = {1, 17, 255, 256, 257, 263, 271, 272, 273, 281, 2049, 2100};  // < 256: hy_sgemm's cblas path
    const int Ks[] = {1, 27, 256, 257, 600};
    for (size_t a = 0; a < sizeof Ms / sizeof *Ms; a++)
        for (size_t b = 0; b < sizeof Ns / sizeof *Ns; b++)
            for (size_t c = 0; c < sizeof Ks / sizeof *Ks; c++) {
                if ((long)Ms[a] * Ns[b] * Ks[c] > 30000000L) continue;  // keeps the double reference fast
                check(Ms[a], Ns[b], Ks[c], 1.0f, 0.0f);
            }
    check(97, 2049, 257, 0.17f, 1.0f);  // a residual block's up-conv
    check(7, 33, 27, -0.5f, 2.0f);
    check(6, 40, 30, 1.0f, 0.0f);       // packed path: two 16-column strips + 8 (AVX2)
    check(100, 2100, 300, 1.0f, 0.0f);
    check(200, 289, 600, 0.1f, 1.0f);  // 3 reduction blocks x 3 row blocks of the packed layout
    // Every column tail (the narrow kernel for 1-4 columns, AVX2's 8-wide strip for 5-9, the
    // masked tile beyond), with reductions of 1-3 k steps past a multiple of 4 (the narrow
    // kernel's masked panel loads) and a partial 6- or 8-row panel last.
    for (int n = 2; n <= 45; n++) check(13, n, n % 2 ? 31 : 258, 1.0f, 0.0f);
    check(385, 9, 1795, 0.17f, 1.0f);   // Block8's up-conv at batch 1: 9 columns, several blocks
    check(97, 2048 + 9, 30, 1.0f, 0.0f);  // the tail in the second 2048-column block
}
END_TEST

// The fused epilogue (hy_sgemm_a_mul_ep: + bscale * bias per row, then ReLU) gives exactly the
// numbers of the product followed by the separate pass (the same operations in the same order),
// under every ISA, for beta 0 and 1, several reduction and row blocks and column tails.
static void check_epilogue(int M, int N, int K, float beta, float bscale, int relu) {
    mt19937 r;
    hy_mt_seed(&r, (uint64_t)(M * 31 + N * 7 + K + relu));
    float *A = malloc(sizeof(float) * M * K), *B = malloc(sizeof(float) * K * N), *b = malloc(sizeof(float) * M);
    float *C0 = malloc(sizeof(float) * M * N), *C1 = malloc(sizeof(float) * M * N), *C2 = malloc(sizeof(float) * M * N);
    for (int i = 0; i < M * K; i++) A[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < K * N; i++) B[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < M; i++) b[i] = (float)hy_mt_normal(&r);
    for (int i = 0; i < M * N; i++) C0[i] = (float)hy_mt_normal(&r);
    for (size_t t = 0; t < sizeof ISAS / sizeof *ISAS; t++) {
        if (!hy_isa_supported(ISAS[t])) continue;
        ck_assert_int_eq(hy_isa_set(ISAS[t]), HY_OK);
        hy_sgemm_a pa;
        ck_assert_int_eq(hy_sgemm_pack(&pa, M, K, 1.0f, A, K), 0);
        memcpy(C1, C0, sizeof(float) * M * N);
        memcpy(C2, C0, sizeof(float) * M * N);
        hy_sgemm_a_mul_ep(&pa, N, B, N, beta, C1, N, b, bscale, relu);
        hy_sgemm_a_mul(&pa, N, B, N, beta, C2, N);
        int negatives = 0;
        for (int i = 0; i < M; i++)
            for (int j = 0; j < N; j++) {
                const float v = C2[i * N + j] + bscale * b[i];
                C2[i * N + j] = relu ? (v > 0.0f ? v : 0.0f) : v;
                negatives += C1[i * N + j] < 0.0f;
            }
        ck_assert_msg(!memcmp(C1, C2, sizeof(float) * M * N), "%s M %d N %d K %d beta %g relu %d: fused epilogue differs",
                      hy_isa_name(ISAS[t]), M, N, K, beta, relu);
        ck_assert(relu ? negatives == 0 : negatives > 0);  // the ReLU did (not) act
        hy_sgemm_free(&pa);
    }
    hy_isa_init();
    free(A), free(B), free(b), free(C0), free(C1), free(C2);
}

START_TEST(sgemm_epilogue_matches_separate_pass) {
    check_epilogue(100, 300, 600, 0.0f, 1.0f, 1);  // 2 row blocks, 3 reduction blocks, column tails
    check_epilogue(97, 257, 27, 1.0f, 0.17f, 1);   // residual: beta 1, scaled bias
    check_epilogue(13, 40, 300, 0.0f, 1.0f, 0);    // no ReLU; N >= 32
    check_epilogue(9, 17, 30, 0.0f, 1.0f, 1);      // N < 32: cblas and the separate pass
}
END_TEST

// With the kernels switched off (HY_SGEMM=0) the same calls go to OpenBLAS.
START_TEST(sgemm_fallback_env) {
    setenv("HY_SGEMM", "0", 1);
    ck_assert_int_eq(hy_sgemm_own(), 0);
    check(7, 33, 27, 1.0f, 0.0f);
    check(97, 2049, 257, 0.17f, 1.0f);
    unsetenv("HY_SGEMM");
}
END_TEST

// Packed weights taken from an arena (hy_sgemm_pack_in): the first pack fits, the second does
// not and is allocated apart; both give the bits of an ordinary pack; freeing leaves the arena's
// memory alone (freeing a pointer inside it would abort); allocations are 64-byte aligned, never
// overlap, also from two threads at once, and a full arena answers NULL.
START_TEST(sgemm_arena) {
    hy_arena ar;
    ck_assert_int_eq(hy_arena_init(&ar, 4096), HY_OK);
    char *a1 = hy_arena_alloc(&ar, 100), *a2 = hy_arena_alloc(&ar, 1);
    ck_assert(a1 && a2 && (uintptr_t)a1 % 64 == 0 && a2 - a1 == 128 && hy_arena_owns(&ar, a2));
    ck_assert_ptr_null(hy_arena_alloc(&ar, 4096));  // 192 used: no room
    ck_assert_ptr_null(hy_arena_alloc(NULL, 8));
    hy_arena_free(&ar);

    const int M = 13, K = 40, N = 21;
    float A[13 * 40], B[40 * 21], C0[13 * 21], C1[13 * 21], C2[13 * 21];
    for (int i = 0; i < M * K; i++) A[i] = (float)((i * 7) % 11) - 5.0f;
    for (int i = 0; i < K * N; i++) B[i] = (float)((i * 5) % 9) - 4.0f;
    for (size_t t = 0; t < sizeof ISAS / sizeof *ISAS; t++) {
        if (!hy_isa_supported(ISAS[t])) continue;
        ck_assert_int_eq(hy_isa_set(ISAS[t]), HY_OK);
        ck_assert_int_eq(hy_arena_init(&ar, sizeof(float) * 18 * K + 64), HY_OK);  // room for one 13-row pack (16 or 18 rows)
        hy_sgemm_a p0, p1, p2;
        ck_assert_int_eq(hy_sgemm_pack(&p0, M, K, 1.0f, A, K), 0);
        ck_assert_int_eq(hy_sgemm_pack_in(&p1, &ar, M, K, 1.0f, A, K), 0);
        ck_assert_int_eq(hy_sgemm_pack_in(&p2, &ar, M, K, 1.0f, A, K), 0);
        ck_assert_int_eq(p1.in_arena, hy_sgemm_own());
        ck_assert(!p2.in_arena && (p2.packed != NULL) == hy_sgemm_own());
        hy_sgemm_a_mul(&p0, N, B, N, 0.0f, C0, N);
        hy_sgemm_a_mul(&p1, N, B, N, 0.0f, C1, N);
        hy_sgemm_a_mul(&p2, N, B, N, 0.0f, C2, N);
        ck_assert(!memcmp(C0, C1, sizeof C0) && !memcmp(C0, C2, sizeof C0));
        hy_sgemm_free(&p0), hy_sgemm_free(&p1), hy_sgemm_free(&p2);
        hy_arena_free(&ar);
    }
    hy_isa_init();

    enum { PER = 2000 };
    static char *got[2 * PER];
    ck_assert_int_eq(hy_arena_init(&ar, 64 * 2 * PER), HY_OK);
#pragma omp parallel for num_threads(2) schedule(static, 1)
    for (int i = 0; i < 2 * PER; i++) got[i] = hy_arena_alloc(&ar, 64);
    for (int i = 0; i < 2 * PER; i++) {
        ck_assert(got[i] && (got[i] - ar.base) % 64 == 0 && got[i] - ar.base < 64 * 2 * PER);
        got[i][0] = 1;
    }
    int distinct = 0;  // every slot handed out once: each of the 2 PER slots is marked once
    for (int i = 0; i < 2 * PER; i++) distinct += ar.base[64 * i] == 1;
    ck_assert_int_eq(distinct, 2 * PER);
    ck_assert_ptr_null(hy_arena_alloc(&ar, 1));
    hy_arena_free(&ar);
}
END_TEST

static Suite *sgemm_suite(void) {
    Suite *s = suite_create("sgemm");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 120);
    tcase_add_test(tc, sgemm_matches_reference);
    tcase_add_test(tc, sgemm_epilogue_matches_separate_pass);
    tcase_add_test(tc, sgemm_fallback_env);
    tcase_add_test(tc, sgemm_arena);
    suite_add_tcase(s, tc);
    return s;
}

TEST_MAIN(sgemm_suite)
