// stats.h - paired tests for comparing two decoder configurations on the same test items,
// and a correction for testing many pairs. Pure functions on double arrays: nothing prints,
// nothing is kept between calls. Matched against scipy 1.10.1 / statsmodels 0.13.5 by
// tests/test_stats.c (fixture from convert/golden/golden_stats.py).
//
// hy_stat_wilcoxon: two-sided Wilcoxon signed-rank p of paired differences d, as
//   scipy.stats.wilcoxon(d) with its defaults (zero_method 'wilcox', correction False,
//   method 'auto'):
//   - n <= 50, no zero and no tied |d|: the exact null distribution of the positive rank
//     sum R+ (all 2^n sign patterns of the ranks 1..n, counted by dynamic programming);
//     p = min(1, 2 min(P(R+ <= r), P(R+ >= r))).
//   - otherwise: zeros are dropped (m non-zero differences left), ranks of |d| averaged over
//     ties, T = min(R+, R-), z = (T - m(m+1)/4) / se with
//     se^2 = (m(m+1)(2m+1) - 1/2 sum_t t(t^2 - 1)) / 24 over tie groups of size t,
//     p = 2 (1 - Phi(|z|)).
//   scipy 1.10.1's 'auto' with ties but no zeros (n <= 50) runs its 'exact' branch on the
//   truncated rank sum, which is not exact; newer scipy (1.13+) uses the normal approximation
//   there when n > 13, as here (and a permutation test when n <= 13). All differences zero:
//   p = 1 (scipy raises or returns NaN; the two sides agree on every item). n == 0: NaN.
// hy_stat_signflip: paired sign-flip permutation p of the mean difference, as
//   scipy.stats.permutation_test((d,), np.mean, permutation_type='samples'): the null
//   statistics are mean(s_i d_i) over sign vectors s; with g = max(1e-14, 1e-14 |observed|),
//   c_le = #{null <= observed + g}, c_ge = #{null >= observed - g}.
//   - n <= HY_STAT_EXACT_FLIPS_MAX: all 2^n sign vectors (the observed one included),
//     p_le = c_le / 2^n, p_ge = c_ge / 2^n.
//   - else n_random sign vectors from mt19937(seed), p_le = (1 + c_le) / (1 + n_random), same
//     for p_ge (the observed statistic counts as one of the draws).
//   two-sided: min(1, 2 min(p_le, p_ge)); greater: p_ge; less: p_le.
// hy_stat_holm: Holm's step-down adjusted p over m tests (statsmodels multipletests 'holm'):
//   with the finite p sorted ascending p_(1) <= ... <= p_(k), adj_(j) = min(1, max_{i <= j}
//   (k - i + 1) p_(i)); NaN entries stay NaN and do not count in k.
#ifndef HY_STATS_H
#define HY_STATS_H

#include <stdint.h>

#define HY_STAT_EXACT_FLIPS_MAX 20      // sign-flip test: exact enumeration up to this n
#define HY_STAT_WILCOXON_EXACT_MAX 50   // scipy's 'auto' limit for the exact distribution
#define HY_STAT_DEFAULT_FLIPS 100000    // random sign vectors when n is larger

typedef enum { HY_ALT_TWO_SIDED, HY_ALT_GREATER, HY_ALT_LESS } hy_alternative;

// *p: the p-value; *exact (may be NULL): 1 when the exact distribution was used. HY_EVALUE for
// a non-finite difference, HY_ENOMEM.
int hy_stat_wilcoxon(double *p, int *exact, const double *d, int n);
// *p for the alternative `alt` (greater: the mean of d is above 0). n_random >= 1 when
// n > HY_STAT_EXACT_FLIPS_MAX.
int hy_stat_signflip(double *p, const double *d, int n, hy_alternative alt, long n_random, uint64_t seed);
// adj (m) from p (m); adj may alias p.
int hy_stat_holm(double *adj, const double *p, int m);

#endif
