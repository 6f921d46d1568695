// test_axpy.c - hy_axpy_sub_f64 (src/nn/axpy.c): every ISA path the CPU runs gives the same
// bits as the plain loop y[i] -= a * x[i] (two roundings, no FMA), for every length around the
// vector widths (tails of 0..15 elements), at unaligned offsets. The lasso's fits (the only user,
// src/decoders/enet_path.c) are then the same on every machine; tests/test_dec_parity.c checks
// them against scikit-learn on the detected path.
#include <stdlib.h>
#include <string.h>

#include "nn/axpy.h"
#include "nn/cpu.h"
#include "testutil.h"

START_TEST(every_isa_equals_the_plain_loop_bit_for_bit) {
    enum { N = 300 };
    double x[N + 1], y0[N + 1], want[N + 1], got[N + 1];
    srand(7);
    for (int i = 0; i <= N; i++) {
        x[i] = (rand() / (double)RAND_MAX - 0.5) * 1e3;
        y0[i] = (rand() / (double)RAND_MAX - 0.5) * 1e-2;
    }
    const double a = 0.123456789012345;  // products with many significant bits: an FMA would show
    int tried = 0;
    for (int isa = 0; isa < HY_ISA_COUNT; isa++) {
        if (!hy_isa_supported(isa)) {
            printf("SKIP axpy %s: this CPU lacks it\n", hy_isa_name(isa));
            continue;
        }
        ck_assert_int_eq(hy_isa_set(isa), HY_OK);
        tried++;
        for (int off = 0; off <= 1; off++)
            for (int n = 0; n + off <= N; n += n < 40 ? 1 : 37) {
                for (int i = 0; i < n; i++) {
                    volatile double p = a * x[off + i];  // one rounding for the product, one for the difference
                    want[i] = y0[off + i] - p;
                }
                memcpy(got, y0 + off, sizeof(double) * n);
                got[n] = 42;  // past the end: untouched
                hy_axpy_sub_f64(got, x + off, a, n);
                ck_assert_msg(memcmp(got, want, sizeof(double) * n) == 0, "%s, n %d, offset %d", hy_isa_name(isa), n, off);
                ck_assert(got[n] == 42);
            }
    }
    ck_assert_int_ge(tried, 1);
    ck_assert_int_eq(hy_isa_set(hy_isa_detect()), HY_OK);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("axpy");
    TCase *t = tcase_create("core");
    tcase_add_test(t, every_isa_equals_the_plain_loop_bit_for_bit);
    suite_add_tcase(s, t);
    return s;
}

TEST_MAIN(suite)
