// stats.c - Wilcoxon signed-rank, paired sign-flip permutation and Holm (definitions and the
// scipy behaviour they match: include/study/stats.h).
#include "study/stats.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "base/common.h"
#include "base/rng.h"

static int check_finite(const double *d, int n, const char *what) {
    if (n < 0) return hy_err(HY_EARG, "%s: negative sample size %d", what, n);
    for (int i = 0; i < n; i++)
        if (!isfinite(d[i])) return hy_err(HY_EVALUE, "%s: difference %d is not finite (%g)", what, i, d[i]);
    return HY_OK;
}

// --- Wilcoxon signed-rank -----------------------------------------------------------------

typedef struct {
    double a;  // |d|
    int pos;   // d > 0
} absval;

static int cmp_abs(const void *x, const void *y) {
    double a = ((const absval *)x)->a, b = ((const absval *)y)->a;
    return a < b ? -1 : a > b;
}

// P(R+ <= r) and P(R+ >= r) under the null for n untied ranks 1..n, from the number of subsets
// of {1..n} with each sum (exact integers in double: they total 2^n <= 2^50 < 2^53).
static int wilcoxon_exact_tails(double *le, double *ge, int n, int r) {
    int N = n * (n + 1) / 2;
    double *c = hy_calloc((size_t)N + 1, sizeof *c);
    if (!c) return HY_ENOMEM;
    c[0] = 1;
    for (int k = 1; k <= n; k++)
        for (int s = k * (k + 1) / 2; s >= k; s--) c[s] += c[s - k];
    double lo = 0, hi = 0;
    for (int s = 0; s <= N; s++) {
        if (s <= r) lo += c[s];
        if (s >= r) hi += c[s];
    }
    free(c);
    *le = ldexp(lo, -n);
    *ge = ldexp(hi, -n);
    return HY_OK;
}

int hy_stat_wilcoxon(double *p, int *exact, const double *d, int n) {
    *p = NAN;
    if (exact) *exact = 0;
    int r = check_finite(d, n, "wilcoxon");
    if (r) return r;
    if (n == 0) return HY_OK;
    absval *v = hy_malloc(sizeof *v * (size_t)n);
    if (!v) return HY_ENOMEM;
    int m = 0;  // non-zero differences (zero_method 'wilcox' drops the zeros)
    for (int i = 0; i < n; i++)
        if (d[i] != 0) v[m].a = fabs(d[i]), v[m].pos = d[i] > 0, m++;
    if (m == 0) {  // identical on every item: no evidence of a difference
        free(v);
        *p = 1.0;
        return HY_OK;
    }
    qsort(v, (size_t)m, sizeof *v, cmp_abs);
    // average ranks over runs of equal |d|; the tie term sum t (t^2 - 1)
    double rplus = 0, rminus = 0, ties = 0;
    for (int i = 0; i < m;) {
        int j = i;
        while (j + 1 < m && v[j + 1].a == v[i].a) j++;
        double t = j - i + 1, rank = (i + 1 + j + 1) / 2.0;
        for (int k = i; k <= j; k++) *(v[k].pos ? &rplus : &rminus) += rank;
        ties += t * (t * t - 1);
        i = j + 1;
    }
    free(v);
    if (n <= HY_STAT_WILCOXON_EXACT_MAX && m == n && ties == 0) {
        double le, ge;
        if ((r = wilcoxon_exact_tails(&le, &ge, n, (int)rplus))) return r;
        *p = fmin(1.0, 2 * fmin(le, ge));
        if (exact) *exact = 1;
        return HY_OK;
    }
    double mm = m, mean = mm * (mm + 1) / 4;
    double se = sqrt((mm * (mm + 1) * (2 * mm + 1) - 0.5 * ties) / 24);
    double z = (fmin(rplus, rminus) - mean) / se;
    *p = erfc(fabs(z) / sqrt(2.0));  // 2 (1 - Phi(|z|))
    return HY_OK;
}

// --- sign-flip permutation -----------------------------------------------------------------

static int cmp_double(const void *x, const void *y) {
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b;
}

// Sums s_i d_i of d (k <= 30) for every sign vector (bit i set: s_i = -1), sums (2^k).
static void subset_sums(double *sums, const double *d, int k) {
    for (long mask = 0; mask < 1L << k; mask++) {
        double s = 0;
        for (int i = 0; i < k; i++) s += (mask >> i & 1) ? -d[i] : d[i];
        sums[mask] = s;
    }
}

// Counts sign vectors with sum <= hi_sum (c_le) and >= lo_sum (c_ge) exactly, by meeting in
// the middle: every full sum is one addition of a first-half sum and a second-half sum (so no
// rounding builds up), and the second halves are sorted so each first half needs two binary
// searches: 2^(n/2) log work instead of 2^n n.
static int exact_counts(double *c_le, double *c_ge, const double *d, int n, double hi_sum, double lo_sum) {
    int h = n / 2, k = n - h;
    long na = 1L << h, nb = 1L << k;
    double *A = hy_malloc(sizeof(double) * (size_t)na), *B = hy_malloc(sizeof(double) * (size_t)nb);
    if (!A || !B) {
        free(A);
        free(B);
        return HY_ENOMEM;
    }
    subset_sums(A, d, h);
    subset_sums(B, d + h, k);
    qsort(B, (size_t)nb, sizeof *B, cmp_double);
    double le = 0, ge = 0;
    for (long i = 0; i < na; i++) {
        // first index with A[i] + B[j] > hi_sum, and first with A[i] + B[j] >= lo_sum
        long lo = 0, hi = nb;
        while (lo < hi) {
            long mid = (lo + hi) / 2;
            if (A[i] + B[mid] <= hi_sum) lo = mid + 1;
            else hi = mid;
        }
        le += (double)lo;
        lo = 0, hi = nb;
        while (lo < hi) {
            long mid = (lo + hi) / 2;
            if (A[i] + B[mid] < lo_sum) lo = mid + 1;
            else hi = mid;
        }
        ge += (double)(nb - lo);
    }
    free(A);
    free(B);
    *c_le = le;
    *c_ge = ge;
    return HY_OK;
}

int hy_stat_signflip(double *p, const double *d, int n, hy_alternative alt, long n_random, uint64_t seed) {
    *p = NAN;
    int r = check_finite(d, n, "sign-flip test");
    if (r) return r;
    if (n == 0) return HY_OK;
    if (n > HY_STAT_EXACT_FLIPS_MAX && n_random < 1)
        return hy_err(HY_EARG, "sign-flip test: n = %d needs random flips (got %ld)", n, n_random);
    double sum = 0;
    for (int i = 0; i < n; i++) sum += d[i];
    double obs = sum / n, g = fmax(1e-14, fabs(1e-14 * obs));
    // thresholds on the sum scale: mean <= obs + g  <=>  sum <= n (obs + g)
    double hi_sum = n * (obs + g), lo_sum = n * (obs - g), p_le, p_ge;
    if (n <= HY_STAT_EXACT_FLIPS_MAX) {
        double c_le, c_ge;
        if ((r = exact_counts(&c_le, &c_ge, d, n, hi_sum, lo_sum))) return r;
        p_le = ldexp(c_le, -n);
        p_ge = ldexp(c_ge, -n);
    } else {
        // random sign vectors: bit i of a vector is bit i % 32 of its (i / 32)-th mt19937 word. The
        // sum of each block of 8 items is looked up from the 256 sums of that block's sign patterns
        // (n/8 additions per vector instead of n branches).
        int nb = (n + 7) / 8, nw = (n + 31) / 32;
        double *tab = hy_malloc(sizeof(double) * 256 * (size_t)nb);
        uint32_t *w = hy_malloc(sizeof(uint32_t) * (size_t)nw);
        if (!tab || !w) {
            free(tab);
            free(w);
            return HY_ENOMEM;
        }
        for (int b = 0; b < nb; b++) {
            int k = n - 8 * b < 8 ? n - 8 * b : 8;
            for (int m = 0; m < 256; m++) {
                double t = 0;
                for (int i = 0; i < k; i++) t += (m >> i & 1) ? -d[8 * b + i] : d[8 * b + i];
                tab[256 * b + m] = t;
            }
        }
        mt19937 rng;
        hy_mt_seed(&rng, seed);
        long c_le = 0, c_ge = 0;
        for (long k = 0; k < n_random; k++) {
            for (int j = 0; j < nw; j++) w[j] = hy_mt_u32(&rng);
            double t = 0;
            for (int b = 0; b < nb; b++) t += tab[256 * b + (w[b / 4] >> (8 * (b % 4)) & 255)];
            c_le += t <= hi_sum;
            c_ge += t >= lo_sum;
        }
        free(tab);
        free(w);
        p_le = (1.0 + c_le) / (1.0 + n_random);
        p_ge = (1.0 + c_ge) / (1.0 + n_random);
    }
    *p = alt == HY_ALT_GREATER ? p_ge : alt == HY_ALT_LESS ? p_le : 2 * fmin(p_le, p_ge);
    *p = fmin(1.0, *p);
    return HY_OK;
}

// --- Holm ------------------------------------------------------------------------------------

typedef struct {
    double p;
    int i;
} pidx;

static int cmp_pidx(const void *x, const void *y) {
    const pidx *a = x, *b = y;
    return a->p < b->p ? -1 : a->p > b->p ? 1 : a->i - b->i;
}

int hy_stat_holm(double *adj, const double *p, int m) {
    pidx *v = hy_malloc(sizeof *v * (size_t)(m > 0 ? m : 1));
    if (!v) return HY_ENOMEM;
    int k = 0;
    for (int i = 0; i < m; i++) {
        if (isnan(p[i])) continue;
        if (p[i] < 0 || p[i] > 1) {
            free(v);
            return hy_err(HY_EVALUE, "holm: p-value %d is %g, outside [0, 1]", i, p[i]);
        }
        v[k].p = p[i], v[k].i = i, k++;
    }
    for (int i = 0; i < m; i++)
        if (isnan(p[i])) adj[i] = NAN;  // p may alias adj: the finite ones are kept in v
    qsort(v, (size_t)k, sizeof *v, cmp_pidx);
    double run = 0;
    for (int j = 0; j < k; j++) {
        run = fmax(run, fmin(1.0, (k - j) * v[j].p));
        adj[v[j].i] = run;
    }
    free(v);
    return HY_OK;
}
