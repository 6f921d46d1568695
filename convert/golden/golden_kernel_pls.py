"""golden_kernel_pls.py - golden references for kernel ridge and PLS (issue 14).

Writes tests/fixtures/decoders_kernel_pls.bin (kind "reference", convert/wfile.py format),
float64, seeded and deterministic; needs numpy and scikit-learn (Debian python3-sklearn 1.2).
Run from the repository root:

    /usr/bin/python3 convert/golden/golden_kernel_pls.py

For a tall problem (n=40 > p=15, "t_") and a wide one (n=30 < p=60, "w_"), 3 targets:
  X, Y, Xtest                         data (X not centred: kernel ridge has no intercept)
  kr_lin.pred                         KernelRidge(alpha=0.7, kernel='linear').predict(Xtest)
  kr_rbf.pred, kr_rbf.dual            KernelRidge(alpha=0.3, kernel='rbf', gamma=0.05)
  kr_poly2.pred, kr_poly3.pred        KernelRidge(kernel='poly', alpha=0.5, gamma=0.1, degree=2|3, coef0=1.5)
  kr_grid_alpha, kr_grid_gamma        the CV grids (6 alphas from 1e-6 (tall) or 1e-3 (wide), 4 gammas)
  kr_k5.best (alpha, gamma), .pred    GridSearchCV(KernelRidge(kernel='rbf'), cv=KFold(5), neg MSE)
  kr_loo.best, .pred                  the same with cv=LeaveOneOut()
  pls<K>.pred, pls<K>.coef (d, p)     PLSRegression(K, scale=False, tol=1e-12, max_iter=10000), K = 1, 3, 5
  pls3_default.pred                   the same with scikit-learn's default tol=1e-6, max_iter=500
  pls_k5.best, .pred                  GridSearchCV(PLSRegression(scale=False, tol=1e-12,
                                      max_iter=10000), n_components 1..8, cv=KFold(5), neg MSE)
  pls1_y1.pred                        one target (column 0), K = 1
"""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
from wfile import WFile  # noqa: E402

warnings.filterwarnings("ignore")
OUT = os.path.join(_paths.ROOT, "tests", "fixtures")


def problem(w, pre, n, p, seed, alpha_lo):
    from sklearn.cross_decomposition import PLSRegression
    from sklearn.kernel_ridge import KernelRidge
    from sklearn.model_selection import GridSearchCV, KFold, LeaveOneOut

    rng = np.random.RandomState(seed)
    # correlated features (a few latent factors) and targets depending nonlinearly on them
    F = rng.randn(n + 10, 4)
    A = rng.randn(4, p)
    Xall = F @ A + 0.5 * rng.randn(n + 10, p) + 0.2
    X, Xtest = Xall[:n], Xall[n:]
    Y = np.stack([F[:n, 0] + 0.3 * np.tanh(F[:n, 1]), F[:n, 1] * F[:n, 2] * 0.5, F[:n, 3] - 0.2 * F[:n, 0] ** 2], 1)
    Y += 0.1 * rng.randn(n, 3)
    for k, v in (("X", X), ("Y", Y), ("Xtest", Xtest)):
        w.tensor(pre + k, v)
    m = KernelRidge(alpha=0.7, kernel="linear").fit(X, Y)
    w.tensor(pre + "kr_lin.pred", m.predict(Xtest))
    m = KernelRidge(alpha=0.3, kernel="rbf", gamma=0.05).fit(X, Y)
    w.tensor(pre + "kr_rbf.pred", m.predict(Xtest))
    w.tensor(pre + "kr_rbf.dual", m.dual_coef_)
    for deg in (2, 3):
        m = KernelRidge(alpha=0.5, kernel="poly", gamma=0.1, degree=deg, coef0=1.5).fit(X, Y)
        w.tensor(pre + "kr_poly%d.pred" % deg, m.predict(Xtest))
    # grids whose CV optimum is clear of ties (and inside the gamma grid)
    ga, gg = np.logspace(alpha_lo, alpha_lo + 5, 6), np.logspace(-4, -1, 4)
    w.tensor(pre + "kr_grid_alpha", ga)
    w.tensor(pre + "kr_grid_gamma", gg)
    for name, cv in (("kr_k5", KFold(5)), ("kr_loo", LeaveOneOut())):
        s = GridSearchCV(KernelRidge(kernel="rbf"), {"alpha": ga, "gamma": gg}, cv=cv,
                         scoring="neg_mean_squared_error").fit(X, Y)
        w.tensor(pre + name + ".best", np.array([s.best_params_["alpha"], s.best_params_["gamma"]]))
        w.tensor(pre + name + ".pred", s.predict(Xtest))
    tight = dict(scale=False, tol=1e-12, max_iter=10000)
    for K in (1, 3, 5):
        m = PLSRegression(n_components=K, **tight).fit(X, Y)
        w.tensor(pre + "pls%d.pred" % K, m.predict(Xtest))
        w.tensor(pre + "pls%d.coef" % K, np.ascontiguousarray(m.coef_.T))
    m = PLSRegression(n_components=3, scale=False).fit(X, Y)
    w.tensor(pre + "pls3_default.pred", m.predict(Xtest))
    s = GridSearchCV(PLSRegression(**tight), {"n_components": list(range(1, 9))}, cv=KFold(5),
                     scoring="neg_mean_squared_error").fit(X, Y)
    w.tensor(pre + "pls_k5.best", np.array([float(s.best_params_["n_components"])]))
    w.tensor(pre + "pls_k5.pred", s.predict(Xtest))
    m = PLSRegression(n_components=1, **tight).fit(X, Y[:, :1])
    w.tensor(pre + "pls1_y1.pred", m.predict(Xtest).reshape(-1, 1))


def main():
    os.makedirs(OUT, exist_ok=True)
    w = WFile("reference")
    w.config("source", "scikit-learn KernelRidge / PLSRegression, see convert/golden/golden_kernel_pls.py")
    problem(w, "t_", 40, 15, 3, -6)
    problem(w, "w_", 30, 60, 4, -3)
    path = os.path.join(OUT, "decoders_kernel_pls.bin")
    w.save(path)
    print("wrote", path)


if __name__ == "__main__":
    main()
