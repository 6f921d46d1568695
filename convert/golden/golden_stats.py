"""golden_stats.py - golden references for the paired statistics of the study report
(src/study/stats.c, issue 13): Wilcoxon signed-rank and sign-flip permutation p-values from
scipy, Holm-adjusted p-values from statsmodels.

Writes tests/fixtures/stats_ref.bin (kind "reference", convert/wfile.py format, float64).
Seeded and deterministic; needs numpy, scipy and statsmodels (Debian python3-numpy,
python3-scipy, python3-statsmodels). Run from the repository root:

    /usr/bin/python3 convert/golden/golden_stats.py

Tensors (config n_wil, n_flip, n_flipr, n_holm count the cases; scipy/statsmodels versions):
  wil.K.x, wil.K.y    paired samples (n)
  wil.K.p             scipy.stats.wilcoxon(x, y).pvalue with the defaults (zero_method 'wilcox',
                      correction False, method 'auto'), except for cases with tied non-zero |x-y|
                      and no zeros, which use method='approx': scipy 1.10.1's 'auto' runs its
                      'exact' branch there on a truncated rank sum (not exact), newer scipy and
                      src/study/stats.c use the normal approximation for n > 13
  wil.K.exact         1 when the exact distribution applies (n <= 50, no ties, no zeros)
  flip.K.d            differences, n <= 20
  flip.K.p            (3) scipy.stats.permutation_test((d,), mean, permutation_type='samples',
                      n_resamples=inf) p for two-sided, greater, less
  flipr.K.d           differences, 20 < n <= 24 (the C side draws 100,000 random sign vectors)
  flipr.K.p           (3) exact p by enumerating all 2^n sign vectors here (scipy's exact rule),
                      to which the random p must be close
  holm.K.p, holm.K.adj  statsmodels multipletests(p, method='holm'); NaN entries (stored as -1, as wfile
                      holds no NaN) are left out of the correction and stay NaN
  study.dist          (4, 16) per-item FaceNet distances of 4 configurations, 6 decimals (as metrics.csv
                      holds them); tests/test_report.c writes them into run folders and runs the report
  study.wil, study.perm, study.holm   (6) for the pairs (0,1), (0,2), (0,3), (1,2), (1,3), (2,3) of rows:
                      scipy.stats.wilcoxon(a, b), the exact sign-flip p (n = 16) and statsmodels Holm over
                      the 6 Wilcoxon p
"""
import os
import sys
import warnings

import numpy as np
import scipy
import statsmodels
from scipy import stats
from statsmodels.stats.multitest import multipletests

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
from wfile import WFile  # noqa: E402

OUT = os.path.join(_paths.ROOT, "tests", "fixtures", "stats_ref.bin")


def our_rule_exact(d):
    """The C side's choice: the exact distribution when n <= 50 with no zeros and no ties."""
    nz = d[d != 0]
    return len(d) <= 50 and len(nz) == len(d) and len(np.unique(np.abs(nz))) == len(nz)


def wilcoxon_cases(rng):
    cases = []
    # FaceNet-like distances written with 6 decimals (as metrics.csv), 36 test items
    a = np.round(0.9 + 0.1 * rng.randn(36), 6)
    b = np.round(a + 0.03 + 0.05 * rng.randn(36), 6)
    cases.append((a, b))
    for n, shift in ((5, 0.0), (12, 0.4), (20, 3.0), (36, 0.3), (36, 0.0), (50, 0.25), (51, 0.25), (120, 0.1)):
        x = rng.randn(n)
        cases.append((x + shift + 0.5 * rng.randn(n), x))
    # Wilcoxon's corn data (scipy's docstring: p 0.041259765625)
    corn = np.array([6, 8, 14, 16, 23, 24, 28, 29, 41, -48, 49, 56, 60, -67, 75], dtype=np.float64)
    cases.append((corn, np.zeros_like(corn)))
    # ties without zeros (n 36), zeros (n 36 and 10), ties and zeros (n 80)
    t = np.round(rng.randn(36) * 3 + 1) / 2
    t[t == 0] = 0.5
    cases.append((t, np.zeros(36)))
    z = np.round(rng.randn(36), 1)
    cases.append((z + 0.2, np.full(36, 0.2)))
    z10 = np.array([0.0, 1.5, -0.25, 2.0, 0.0, 3.25, 1.0, -0.5, 2.5, 4.0])
    cases.append((z10, np.zeros(10)))
    tz = np.round(rng.randn(80) + 0.3)
    cases.append((tz, np.zeros(80)))
    out = []
    for x, y in cases:
        d = x - y
        exact = our_rule_exact(d)
        nz = d[d != 0]
        ties_no_zeros = len(nz) == len(d) and len(np.unique(np.abs(nz))) < len(nz)
        with warnings.catch_warnings():
            warnings.simplefilter("ignore")
            if ties_no_zeros and len(d) <= 50:
                p = stats.wilcoxon(x, y, method="approx").pvalue
            else:
                p = stats.wilcoxon(x, y).pvalue
        out.append((x, y, float(p), exact))
    return out


def flip_scipy(d):
    ps = []
    for alt in ("two-sided", "greater", "less"):
        r = stats.permutation_test((d,), lambda v, axis: np.mean(v, axis=axis), vectorized=True,
                                   permutation_type="samples", n_resamples=np.inf, alternative=alt)
        ps.append(r.pvalue)
    return np.array(ps)


def flip_enumerate(d):
    """All 2^n sign vectors by brute force (independent of the C meet-in-the-middle), scipy's
    comparison rule (tolerance 1e-14 relative, doubling for two-sided)."""
    n = len(d)
    obs = np.mean(d)
    g = max(1e-14, abs(1e-14 * obs))
    le = ge = 0
    chunk = 1 << 16
    bits = np.arange(n)
    for start in range(0, 1 << n, chunk):
        masks = np.arange(start, min(start + chunk, 1 << n))
        signs = 1 - 2 * ((masks[:, None] >> bits[None, :]) & 1)
        null = (signs * d[None, :]).mean(axis=1)
        le += int(np.sum(null <= obs + g))
        ge += int(np.sum(null >= obs - g))
    pl, pg = le / 2.0**n, ge / 2.0**n
    return np.array([min(1.0, 2 * min(pl, pg)), pg, pl])


def main():
    rng = np.random.RandomState(13)
    w = WFile("reference")
    w.config("scipy_version", scipy.__version__)
    w.config("statsmodels_version", statsmodels.__version__)
    wil = wilcoxon_cases(rng)
    for k, (x, y, p, exact) in enumerate(wil):
        w.tensor(f"wil.{k}.x", np.asarray(x, np.float64))
        w.tensor(f"wil.{k}.y", np.asarray(y, np.float64))
        w.tensor(f"wil.{k}.p", np.array([p]))
        w.tensor(f"wil.{k}.exact", np.array([1.0 if exact else 0.0]))
    w.config("n_wil", len(wil))

    flips = [rng.randn(6) + 0.5, rng.randn(10) + 0.4, rng.randn(15) * 0.1 - 0.02, rng.randn(20) + 0.3,
             np.array([1.0, 1.0, 2.0, 2.0, -1.0, -2.0, 0.0, 3.0, -3.0, 0.5, 0.5, -0.5]),  # symmetric null sums
             np.round(rng.randn(18), 2)]
    for k, d in enumerate(flips):
        ps = flip_scipy(d)
        if len(d) <= 16:
            assert np.allclose(ps, flip_enumerate(d), rtol=1e-12, atol=0), (ps, flip_enumerate(d))
        w.tensor(f"flip.{k}.d", d)
        w.tensor(f"flip.{k}.p", ps)
    w.config("n_flip", len(flips))

    flipr = [rng.randn(22) * 0.1 + 0.03, rng.randn(24) + 0.2]
    for k, d in enumerate(flipr):
        w.tensor(f"flipr.{k}.d", d)
        w.tensor(f"flipr.{k}.p", flip_enumerate(d))
    w.config("n_flipr", len(flipr))

    holms = [rng.rand(10) * 0.1, np.array([0.01, 0.04, 0.04, 0.03, 0.2, 0.01]), rng.rand(25),
             np.array([0.001, np.nan, 0.02, 0.5, np.nan, 0.0])]
    for k, p in enumerate(holms):
        ok = ~np.isnan(p)
        adj = np.full_like(p, np.nan)
        adj[ok] = multipletests(p[ok], method="holm")[1]
        w.tensor(f"holm.{k}.p", np.where(ok, p, -1.0))  # wfile holds no NaN: -1 marks one
        w.tensor(f"holm.{k}.adj", np.where(ok, adj, -1.0))
    w.config("n_holm", len(holms))

    # a small study for pairs.csv end to end: 4 configurations x 16 items, distances with 6 decimals
    base = 0.8 + 0.1 * rng.randn(16)
    dist = np.round(np.stack([base + shift + 0.04 * rng.randn(16) for shift in (0.0, 0.01, 0.03, 0.08)]), 6)
    s_wil, s_perm = [], []
    for i in range(4):
        for j in range(i + 1, 4):
            assert our_rule_exact(dist[i] - dist[j])  # no ties or zeros: scipy's exact branch is exact
            s_wil.append(stats.wilcoxon(dist[i], dist[j]).pvalue)
            s_perm.append(flip_scipy(dist[i] - dist[j])[0])
    w.tensor("study.dist", dist)
    w.tensor("study.wil", np.array(s_wil))
    w.tensor("study.perm", np.array(s_perm))
    w.tensor("study.holm", multipletests(np.array(s_wil), method="holm")[1])
    w.save(OUT)
    print(f"wrote {os.path.relpath(OUT, _paths.ROOT)}: {len(wil)} Wilcoxon, {len(flips)} + {len(flipr)} sign-flip, "
          f"{len(holms)} Holm cases (scipy {scipy.__version__}, statsmodels {statsmodels.__version__})")


if __name__ == "__main__":
    main()
