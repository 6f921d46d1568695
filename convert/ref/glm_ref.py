"""glm_ref.py - float64 numpy reference of the first-level GLM that `hyper glm` implements.

Written for the project from the behaviour of nilearn 0.10.4 (FirstLevelModel with
signal_scaling=0, make_first_level_design_matrix, run_glm, compute_contrast and its fixed effects
over runs); it imports nothing from nilearn. convert/checks/check_glm_nilearn.py compares it with
the real nilearn when that source is at hand, and convert/golden/golden_glm.py uses it (with Nipy
where Nipy's conventions agree) to write the fixtures tests/test_glm.c checks the C code against.

What it covers:
  design      frame times, SPM/Glover kernels (+ derivatives) on the oversampled grid, event
              boxcars convolved with np.convolve, interp1d at the frame times, orthogonalised
              derivative columns, confounds, cosine/polynomial/no drift, constant
  scaling     per-voxel mean scaling to percent (mean floored at 1, as nilearn)
  noise       OLS, or AR(1): Yule-Walker lag-1 of the OLS residuals (global mean removed, the
              n/(n-1) factor), truncated to bins of 1/bins, one whitened fit per bin (first row
              left unwhitened)
  contrasts   unit contrast per condition column: effect, variance = c'cov c * dispersion with
              dispersion = SSE/(n - p), dof = n - rank
  fixed fx    mean of effects over the runs that have the condition, variance sum / k^2, dof sum
  t, z        t = effect / sqrt(max(var, 1e-50)); z from the t survival function and cdf with
              p clipped to [1e-300, 1 - 1e-16]
  LSS         per trial: its own regressor and one for all other trials of the run (Mumford
              2012), fitted like a run; trials of one condition combined by the fixed-effects rule
"""
import numpy as np
from scipy import linalg, stats

# --- design ----------------------------------------------------------------------------------


def frame_times(n, tr, slice_time_ref=0.0):
    return np.linspace(slice_time_ref * tr, (n - 1 + slice_time_ref) * tr, n)


FAMILIES = {"spm": (6.0, 16.0, 1.0, 1.0, 0.167), "glover": (6.0, 12.0, 0.9, 0.9, 0.35)}


def gamma_difference(tr, oversampling, onset, delay, under, disp, udisp, ratio):
    dt = tr / oversampling
    t = np.linspace(0, 32.0, int(np.rint(32.0 / dt))) - onset
    h = stats.gamma.pdf(t, delay / disp, loc=dt, scale=disp) - ratio * stats.gamma.pdf(t, under / udisp, loc=dt, scale=udisp)
    return h / h.sum()


def kernels(hrf, tr, oversampling=50):
    """hrf: 'spm', 'spm + derivative', 'spm + derivative + dispersion', same with 'glover'."""
    parts = [p.strip() for p in hrf.split("+")]
    delay, under, disp, udisp, ratio = FAMILIES[parts[0]]
    main = gamma_difference(tr, oversampling, 0.0, delay, under, disp, udisp, ratio)
    out = [main]
    if len(parts) > 1:
        shifted = gamma_difference(tr, oversampling, 0.1, delay, under, disp, udisp, ratio)
        out.append((main - shifted) / 0.1)
    if len(parts) > 2:
        # the dispersion derivative keeps delay 6 and second dispersion 1 for both families
        a = gamma_difference(tr, oversampling, 0.0, 6.0, under, disp, 1.0, ratio)
        b = gamma_difference(tr, oversampling, 0.0, 6.0, under, disp + 0.01, 1.0, ratio)
        out.append((a - b) / 0.01)
    return out


def orthogonalize_columns(X):
    X = X.copy()
    for i in range(1, X.shape[1]):
        prev = X[:, :i]
        X[:, i] -= prev @ (np.linalg.pinv(prev) @ X[:, i])
    return X


def condition_regressors(onsets, durations, amps, ft, hrf, oversampling=50, min_onset=-24.0):
    n = len(ft)
    lo, hi = ft.min(), ft.max()
    n_hr = (n - 1) / (hi - lo) * (hi * (1 + 1.0 / (n - 1)) - lo - min_onset) * oversampling + 1
    grid = np.linspace(lo + min_onset, hi * (1 + 1.0 / (n - 1)), int(np.rint(n_hr)))
    box = np.zeros(len(grid))
    last = len(grid) - 1
    on = np.minimum(np.searchsorted(grid, onsets), last)
    off = np.minimum(np.searchsorted(grid, np.asarray(onsets) + np.asarray(durations)), last)
    off = np.where((off < last) & (off == on), off + 1, off)
    np.add.at(box, on, amps)
    np.add.at(box, off, -np.asarray(amps, dtype=float))
    box = np.cumsum(box)
    tr = np.min(np.diff(ft))
    cols = []
    for h in kernels(hrf, tr, oversampling):
        conv = np.convolve(box, h)[: len(box)]
        cols.append(np.interp(ft, grid, conv))
    return orthogonalize_columns(np.array(cols).T)


def drift_block(kind, ft, high_pass=0.01, order=1):
    n = len(ft)
    if kind == "cosine":
        dt = (ft[-1] - ft[0]) / (n - 1)
        k_max = min(n - 1, int(np.floor(2 * n * high_pass * dt)))
        t = np.arange(n)
        cols = [np.sqrt(2.0 / n) * np.cos(np.pi / n * (t + 0.5) * k) for k in range(1, k_max + 1)]
        return np.column_stack(cols + [np.ones(n)]), [f"drift_{k}" for k in range(1, k_max + 1)] + ["constant"]
    if kind == "polynomial":
        P = orthogonalize_columns(np.column_stack([(ft / ft.max()) ** k for k in range(order + 1)]))
        return np.column_stack([P[:, 1:], P[:, :1]]), [f"drift_{k}" for k in range(1, order + 1)] + ["constant"]
    return np.ones((n, 1)), ["constant"]


def condition_order(types):
    """np.unique order: numeric when every value is a number, else by string."""
    try:
        vals = {t: float(t) for t in types}
        return sorted(set(types), key=lambda t: vals[t])
    except ValueError:
        return sorted(set(types))


def merge_duplicates(events):
    """events: list of (onset, duration, type, modulation) -> duplicates (type, onset, duration) summed."""
    out, where = [], {}
    for on, du, ty, mo in events:
        key = (ty, on, du)
        if key in where:
            o = out[where[key]]
            out[where[key]] = (o[0], o[1], o[2], o[3] + mo)
        else:
            where[key] = len(out)
            out.append((on, du, ty, mo))
    return out


def design_matrix(ft, events, hrf="spm", drift="cosine", high_pass=0.01, order=1, confounds=None, conf_names=None,
                  oversampling=50, min_onset=-24.0):
    """events: list of (onset, duration, trial_type, modulation). Returns (X, names)."""
    events = merge_duplicates(events)
    names, blocks = [], []
    suffixes = ["", "_derivative", "_dispersion"][: len(hrf.split("+"))]
    for ty in condition_order([e[2] for e in events]):
        sel = [e for e in events if e[2] == ty]
        blocks.append(condition_regressors([e[0] for e in sel], [e[1] for e in sel], [e[3] for e in sel], ft, hrf,
                                           oversampling, min_onset))
        names += [ty + s for s in suffixes]
    if confounds is not None:
        blocks.append(np.asarray(confounds, dtype=float))
        names += list(conf_names)
    D, dn = drift_block(drift, ft, high_pass, order)
    blocks.append(D)
    names += dn
    return np.column_stack(blocks), names


# --- estimation ------------------------------------------------------------------------------


def psc(Y):
    m = np.maximum(Y.mean(0), 1)
    return 100 * (Y / m - 1)


def ols(X, Y):
    """Returns beta, cov (pinv pinv'), dispersion SSE/(n-p), residuals."""
    P = linalg.pinv(X)
    B = P @ Y
    R = Y - X @ B
    return B, P @ P.T, (R ** 2).sum(0) / (X.shape[0] - X.shape[1]), R


def ar1_coefficients(R):
    """Yule-Walker lag 1 per voxel of residuals R (n, V): global mean removed, n/(n-1) factor."""
    n = R.shape[0]
    y = R - R.mean()
    r0 = (y * y).sum(0) / (n * n)
    r1 = (y[1:] * y[:-1]).sum(0) / ((n - 1) * n)
    return r1 / r0


def whiten(A, rho):
    W = A.copy()
    W[1:] = A[1:] - rho * A[:-1]
    return W


def fit_run(X, Y, noise="ar1", bins=100):
    """Per voxel effect and variance of every column, and the run's dof.
    Returns (effect (p, V), variance (p, V), dof, rho (V,))."""
    n, p = X.shape
    B, cov, disp, R = ols(X, Y)
    dof = n - np.linalg.matrix_rank(X, np.abs(X).sum() * np.finfo(np.float64).eps)
    if noise == "ols":
        return B, np.diag(cov)[:, None] * disp[None, :], dof, np.zeros(Y.shape[1])
    rho = ar1_coefficients(R)
    rho = np.trunc(rho * bins) / bins  # (rho * bins).astype(int) / bins
    eff = np.empty_like(B)
    var = np.empty_like(B)
    for r in np.unique(rho):
        m = rho == r
        Bw, covw, dispw, _ = ols(whiten(X, r), whiten(Y[:, m], r))
        eff[:, m] = Bw
        var[:, m] = np.diag(covw)[:, None] * dispw[None, :]
    return eff, var, dof, rho


def t_to_z(t, dof):
    p = np.clip(stats.t.sf(t, dof), 1e-300, 1 - 1e-16)
    q = np.clip(stats.t.cdf(t, dof), 1e-300, 1 - 1e-16)
    z = stats.norm.isf(p)
    zc = stats.norm.ppf(q)
    return np.where(z < 0, zc, z)


def stats_from(effect, variance, dof):
    t = effect / np.sqrt(np.maximum(variance, 1e-50))
    return t, t_to_z(t, min(dof, 1e10))


def fixed_effects(parts):
    """parts: list of (effect (V,), variance (V,), dof) -> (effect, variance, dof): nilearn's
    sum of contrasts times 1/k."""
    k = len(parts)
    e = sum(p[0] for p in parts) / k
    v = sum(p[1] for p in parts) / k ** 2
    return e, v, sum(p[2] for p in parts)


def glm(runs, tr, hrf="spm", drift="cosine", high_pass=0.01, order=1, noise="ar1", scaling="psc", estimator="lsa",
        slice_time_ref=0.0, bins=100):
    """runs: list of dicts {Y: (n, V), events: [(onset, duration, type, modulation)], confounds: (n, c) or None,
    conf_names}. Returns {condition: (effect, variance, t, z, dof, n_runs, n_events)}, designs."""
    per_cond, counts, designs = {}, {}, []
    for run in runs:
        Y = run["Y"]
        n = Y.shape[0]
        if scaling == "psc":
            Y = psc(Y)
        ft = frame_times(n, tr, slice_time_ref)
        evs = merge_duplicates(run["events"])
        X, names = design_matrix(ft, evs, hrf, drift, high_pass, order, run.get("confounds"), run.get("conf_names"))
        designs.append((X, names))
        for ty in set(e[2] for e in evs):
            c = counts.setdefault(ty, [0, 0])
            c[0] += 1
            c[1] += sum(1 for e in evs if e[2] == ty)
        if estimator == "lsa":
            eff, var, dof, _ = fit_run(X, Y, noise, bins)
            for ty in set(e[2] for e in evs):
                j = names.index(ty)
                per_cond.setdefault(ty, []).append((eff[j], var[j], dof))
        else:
            for i, ev in enumerate(evs):
                others = [(e[0], e[1], "other", e[3]) for k, e in enumerate(evs) if k != i]
                trial = [(ev[0], ev[1], "trial", ev[3])]
                Xi, ni = design_matrix(ft, trial + others, hrf, drift, high_pass, order, run.get("confounds"),
                                       run.get("conf_names"))
                eff, var, dof, _ = fit_run(Xi, Y, noise, bins)
                j = ni.index("trial")
                per_cond.setdefault(ev[2], []).append((eff[j], var[j], dof))
    out = {}
    for ty, parts in per_cond.items():
        e, v, dof = fixed_effects(parts)
        t, z = stats_from(e, v, dof)
        out[ty] = (e, v, t, z, dof, counts[ty][0], counts[ty][1])
    return out, designs
