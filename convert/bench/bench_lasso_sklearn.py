"""bench_lasso_sklearn.py - the scikit-learn side of tests/bench/lasso.sh.

Fits LassoCV (or ElasticNetCV with --l1-ratio < 1) on the first --targets latent columns of a
dataset, one target at a time (scikit-learn's LassoCV takes one), with the same path and folds
as the C run (n_alphas, eps, cv=5 contiguous folds, max_iter 1000, tol 1e-4), times it, and
compares the chosen penalties and the coefficients with the C run's OUT.alpha.npy / OUT.coef.npy.

    /usr/bin/python3 convert/bench/bench_lasso_sklearn.py DIR C_PREFIX --targets 2 --path 20 --eps 0.1

Prints one line: sk_seconds_per_target=S sk_cpu_per_target=C alpha_same=K/N max_coef_diff=D coef_scale=M
(the coefficient difference is measured on the targets both sides fitted).
"""
import argparse
import os
import sys
import time
import warnings

import numpy as np


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("data")
    ap.add_argument("c_prefix")
    ap.add_argument("--targets", type=int, default=2)
    ap.add_argument("--path", type=int, default=20)
    ap.add_argument("--eps", type=float, default=0.1)
    ap.add_argument("--l1-ratio", type=float, default=1.0)
    ap.add_argument("--jobs", type=int, default=1)
    a = ap.parse_args()
    warnings.filterwarnings("ignore")
    from sklearn.linear_model import ElasticNetCV, LassoCV

    X = np.load(os.path.join(a.data, "train_fmri.npy")).astype(np.float64)
    Y = np.load(os.path.join(a.data, "train_latents.npy")).astype(np.float64)
    ca = np.load(a.c_prefix + ".alpha.npy")
    cw = np.load(a.c_prefix + ".coef.npy")
    k = min(a.targets, Y.shape[1], len(ca))
    alphas, coefs = [], []
    t0, c0 = time.time(), time.process_time()  # process time counts joblib's worker threads
    for t in range(k):
        if a.l1_ratio >= 1:
            m = LassoCV(n_alphas=a.path, eps=a.eps, cv=5, n_jobs=a.jobs)
        else:
            m = ElasticNetCV(l1_ratio=a.l1_ratio, n_alphas=a.path, eps=a.eps, cv=5, n_jobs=a.jobs)
        m.fit(X, Y[:, t])
        alphas.append(m.alpha_)
        coefs.append(m.coef_)
    per = (time.time() - t0) / max(k, 1)
    cpu = (time.process_time() - c0) / max(k, 1)
    same = sum(abs(alphas[t] - ca[t]) <= 1e-12 * alphas[t] for t in range(k))
    diff = max(float(np.abs(np.array(coefs[t]) - cw[t]).max()) for t in range(k)) if k else float("nan")
    scale = max(float(np.abs(np.array(coefs[t])).max()) for t in range(k)) if k else float("nan")
    print(f"sk_seconds_per_target={per:.3f} sk_cpu_per_target={cpu:.3f} alpha_same={same}/{k} max_coef_diff={diff:.3g} coef_scale={scale:.3g}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
