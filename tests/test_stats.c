// test_stats.c - the paired statistics of the study report (src/study/stats.c) against scipy
// 1.10.1 and statsmodels 0.13.5 (tests/fixtures/stats_ref.bin from
// convert/golden/golden_stats.py): Wilcoxon signed-rank (exact and normal approximation),
// the sign-flip permutation test (exact and random flips) and Holm; plus bad input.
#include <math.h>

#include "base/common.h"
#include "base/wfile.h"
#include "study/stats.h"
#include "testutil.h"

#define FIX "tests/fixtures/stats_ref.bin"

static wfile g_wf;
static int g_ok;

static void load(void) {
    if (!g_ok) g_ok = hy_wf_open(&g_wf, FIX) == 0 ? 1 : -1;
    ck_assert_msg(g_ok == 1, "%s: %s", FIX, hy_errmsg());
}

static const double *vec(const char *fmt, int k, int *n) {
    char name[64];
    snprintf(name, sizeof name, fmt, k);
    const wf_tensor *t = hy_wf_find(&g_wf, name);
    ck_assert_msg(t != NULL && t->dtype == WF_F64, "fixture tensor %s missing or not f64", name);
    int64_t m = 1;
    for (int i = 0; i < t->ndim; i++) m *= t->dims[i];
    *n = (int)m;
    return t->data;
}

static int count(const char *key) {
    int64_t v = 0;
    ck_assert_int_eq(hy_wf_cfg_int(&g_wf, key, &v), 0);
    ck_assert_int_gt(v, 0);
    return (int)v;
}

START_TEST(wilcoxon_matches_scipy) {
    load();
    int cases = count("n_wil"), n_exact = 0, n_approx = 0;
    for (int k = 0; k < cases; k++) {
        int n, ny, one;
        const double *x = vec("wil.%d.x", k, &n), *y = vec("wil.%d.y", k, &ny);
        double want = vec("wil.%d.p", k, &one)[0];
        int want_exact = vec("wil.%d.exact", k, &one)[0] != 0;
        ck_assert_int_eq(n, ny);
        double d[200], p;
        ck_assert_int_le(n, 200);
        for (int i = 0; i < n; i++) d[i] = x[i] - y[i];  // as scipy: d = x - y in float64
        int exact;
        ck_assert_int_eq(hy_stat_wilcoxon(&p, &exact, d, n), 0);
        ck_assert_int_eq(exact, want_exact);
        n_exact += exact, n_approx += !exact;
        // exact: integer subset counts / 2^n against scipy's float pmf sums (about n^2/2 terms,
        // each rounded once: < 1e-13 relative); approximation: erfc against scipy's ndtr (1e-14)
        // plus rounding of z: 1e-12 relative covers both with margin
        ck_assert_msg(fabs(p - want) <= 1e-12 * want + 1e-300, "case %d (n %d): p %.17g, scipy %.17g", k, n, p,
                      want);
    }
    ck_assert_int_ge(n_exact, 5);
    ck_assert_int_ge(n_approx, 4);
    // Wilcoxon's corn data, as in scipy's docstring: exact p 0.041259765625 = 2 * 338 / 2^15
    double corn[] = {6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75}, p;
    ck_assert_int_eq(hy_stat_wilcoxon(&p, NULL, corn, 15), 0);
    ck_assert_double_eq(p, 0.041259765625);
}
END_TEST

START_TEST(signflip_exact_matches_scipy) {
    load();
    int cases = count("n_flip");
    const hy_alternative alts[3] = {HY_ALT_TWO_SIDED, HY_ALT_GREATER, HY_ALT_LESS};
    for (int k = 0; k < cases; k++) {
        int n, three;
        const double *d = vec("flip.%d.d", k, &n), *want = vec("flip.%d.p", k, &three);
        ck_assert_int_le(n, HY_STAT_EXACT_FLIPS_MAX);
        for (int a = 0; a < 3; a++) {
            double p;
            ck_assert_int_eq(hy_stat_signflip(&p, d, n, alts[a], 0, 1), 0);
            // both sides count whole sign vectors out of 2^n: the p-values are equal exactly
            // unless a null sum lands within rounding of the tolerance edge (not in these data)
            ck_assert_msg(p == want[a], "case %d alt %d: p %.17g, scipy %.17g", k, a, p, want[a]);
        }
    }
}
END_TEST

START_TEST(signflip_random_close_to_exact) {
    load();
    int cases = count("n_flipr");
    const hy_alternative alts[3] = {HY_ALT_TWO_SIDED, HY_ALT_GREATER, HY_ALT_LESS};
    for (int k = 0; k < cases; k++) {
        int n, three;
        const double *d = vec("flipr.%d.d", k, &n), *want = vec("flipr.%d.p", k, &three);
        ck_assert_int_gt(n, HY_STAT_EXACT_FLIPS_MAX);
        for (int a = 0; a < 3; a++) {
            double p, p2;
            ck_assert_int_eq(hy_stat_signflip(&p, d, n, alts[a], HY_STAT_DEFAULT_FLIPS, 7), 0);
            // a Monte-Carlo estimate: one tail is a binomial proportion over 100,000 draws, sd
            // sqrt(q (1 - q) / N); two-sided doubles it. 5 sd (+ 2/N for the +1 adjustment)
            double q = a == 0 ? want[a] / 2 : want[a], sd = (a == 0 ? 2 : 1) * sqrt(q * (1 - q) / HY_STAT_DEFAULT_FLIPS);
            ck_assert_msg(fabs(p - want[a]) <= 5 * sd + 2.0 / HY_STAT_DEFAULT_FLIPS,
                          "case %d alt %d: p %.6f, exact %.6f (sd %.2g)", k, a, p, want[a], sd);
            // seeded: the same call gives the same p
            ck_assert_int_eq(hy_stat_signflip(&p2, d, n, alts[a], HY_STAT_DEFAULT_FLIPS, 7), 0);
            ck_assert_double_eq(p, p2);
        }
    }
}
END_TEST

START_TEST(holm_matches_statsmodels) {
    load();
    int cases = count("n_holm");
    for (int k = 0; k < cases; k++) {
        int m, m2;
        const double *p = vec("holm.%d.p", k, &m), *want = vec("holm.%d.adj", k, &m2);
        double in[64], adj[64];
        ck_assert_int_le(m, 64);
        for (int i = 0; i < m; i++) in[i] = p[i] < 0 ? NAN : p[i];  // -1 marks NaN in the fixture
        ck_assert_int_eq(hy_stat_holm(adj, in, m), 0);
        for (int i = 0; i < m; i++) {
            if (want[i] < 0) {
                ck_assert(isnan(adj[i]));
                continue;
            }
            // (k - i + 1) p and a running max: one rounding each side
            ck_assert_msg(fabs(adj[i] - want[i]) <= 1e-15, "case %d item %d: %.17g vs %.17g", k, i, adj[i], want[i]);
        }
        // in place
        ck_assert_int_eq(hy_stat_holm(in, in, m), 0);
        for (int i = 0; i < m; i++) ck_assert(want[i] < 0 ? isnan(in[i]) : in[i] == adj[i]);
    }
}
END_TEST

START_TEST(edge_cases_and_bad_input) {
    double p;
    int exact = -1;
    // no items: no test; all differences zero: no evidence of a difference
    ck_assert_int_eq(hy_stat_wilcoxon(&p, &exact, NULL, 0), 0);
    ck_assert(isnan(p));
    double z[4] = {0, 0, 0, 0};
    ck_assert_int_eq(hy_stat_wilcoxon(&p, &exact, z, 4), 0);
    ck_assert_double_eq(p, 1.0);
    ck_assert_int_eq(hy_stat_signflip(&p, z, 4, HY_ALT_TWO_SIDED, 0, 1), 0);
    ck_assert_double_eq(p, 1.0);
    // one item, positive: 2 sign vectors, the observed is the larger: greater p 1/2, two-sided 1
    double one = 0.3;
    ck_assert_int_eq(hy_stat_signflip(&p, &one, 1, HY_ALT_GREATER, 0, 1), 0);
    ck_assert_double_eq(p, 0.5);
    ck_assert_int_eq(hy_stat_wilcoxon(&p, &exact, &one, 1), 0);
    ck_assert(exact && p == 1.0);
    // all 8 differences positive: the exact two-sided p is 2 / 2^8 for both tests
    double pos[8] = {0.1, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8};
    ck_assert_int_eq(hy_stat_wilcoxon(&p, &exact, pos, 8), 0);
    ck_assert(exact && p == 2.0 / 256);
    ck_assert_int_eq(hy_stat_signflip(&p, pos, 8, HY_ALT_TWO_SIDED, 0, 1), 0);
    ck_assert_double_eq(p, 2.0 / 256);
    // NaN / Inf differences and out-of-range p are refused with a message
    double bad[3] = {0.1, NAN, 0.2};
    ck_assert_int_eq(hy_stat_wilcoxon(&p, NULL, bad, 3), HY_EVALUE);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "difference 1 is not finite"));
    bad[1] = INFINITY;
    ck_assert_int_eq(hy_stat_signflip(&p, bad, 3, HY_ALT_LESS, 0, 1), HY_EVALUE);
    double d30[30] = {0};
    ck_assert_int_eq(hy_stat_signflip(&p, d30, 30, HY_ALT_LESS, 0, 1), HY_EARG);  // needs random flips
    double pp[2] = {0.5, 1.5}, adj[2];
    ck_assert_int_eq(hy_stat_holm(adj, pp, 2), HY_EVALUE);
    ck_assert_ptr_nonnull(strstr(hy_errmsg(), "outside [0, 1]"));
    ck_assert_int_eq(hy_stat_holm(adj, pp, 0), 0);
}
END_TEST

static Suite *suite(void) {
    Suite *s = suite_create("stats");
    TCase *tc = tcase_create("core");
    tcase_set_timeout(tc, 60);
    tcase_add_test(tc, wilcoxon_matches_scipy);
    tcase_add_test(tc, signflip_exact_matches_scipy);
    tcase_add_test(tc, signflip_random_close_to_exact);
    tcase_add_test(tc, holm_matches_statsmodels);
    tcase_add_test(tc, edge_cases_and_bad_input);
    suite_add_tcase(s, tc);
    return s;
}
TEST_MAIN(suite)
