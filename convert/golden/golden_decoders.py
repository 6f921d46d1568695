"""golden_decoders.py - golden references for the decoder trainers (issue 5).

Writes tests/fixtures/decoders_sklearn.bin and tests/fixtures/decoders_adam.bin (kind
"reference", convert/wfile.py format). Seeded and deterministic; needs numpy, scikit-learn and
torch (Debian python3-sklearn, python3-torch). Run from the repository root:

    /usr/bin/python3 convert/golden/golden_decoders.py

decoders_sklearn.bin, for a tall problem (n=60 > p=12, "t_") and a wide one (n=30 < p=50, "w_"),
3 targets each, float64:
  X, Y, Xtest                        data
  ols.W, ols.b                       LinearRegression (tall); min-norm lstsq on centred data (wide)
  ridge.W, ridge.b                   Ridge(alpha=1.5)
  ridgeloo.W/.b/.alpha               RidgeCV(alphas=grid, cv=None)           (one alpha)
  ridgelooT.W/.b/.alpha              RidgeCV(..., alpha_per_target=True)     (per target)
  ridgek5.W/.b/.alpha                RidgeCV(..., cv=KFold(5), scoring='neg_mean_squared_error')
  lasso.W/.b                         Lasso(alpha=0.05)
  enet.W/.b                          ElasticNet(alpha=0.05, l1_ratio=0.5)
  lassocv.W/.b/.alpha                LassoCV(n_alphas=10, eps=1e-2, cv=5) per target
  enetcv.W/.b/.alpha                 ElasticNetCV(l1_ratio=0.5, same) per target
  ridge_grid                         the alpha grid
Every coordinate-descent fit uses tol=1e-12, max_iter=100000 so both sides converge fully.

decoders_adam.bin (float32): X (60,20), Y (60,4); torch.optim.Adam(lr=1e-2, weight_decay=0.01),
MSELoss, batches of 30 rows in order (no shuffling), 3 epochs = 6 steps:
  lin.W0, lin.b0, lin.W, lin.b, lin.loss (6)        nn.Linear(20, 4)
  nob.W0, nob.W, nob.loss                           nn.Linear(20, 4, bias=False)
  mlp.W0_0, mlp.b0_0, mlp.W0_1, mlp.b0_1, mlp.W_0, mlp.b_0, mlp.W_1, mlp.b_1, mlp.loss
                                                    Linear(20,16) - ReLU - Linear(16,4), lr 1e-2, wd 0
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


def sk_problem(w, pre, n, p, seed):
    from sklearn.linear_model import ElasticNet, ElasticNetCV, Lasso, LassoCV, LinearRegression, Ridge, RidgeCV
    from sklearn.model_selection import KFold

    rng = np.random.RandomState(seed)
    X = rng.randn(n, p) + 0.3 * rng.randn(1, p)
    Wt = rng.randn(3, p) * (rng.rand(3, p) < 0.4)
    Y = X @ Wt.T + 0.5 * rng.randn(n, 3) + np.array([1.0, -2.0, 0.5])
    Xtest = rng.randn(10, p)
    w.tensor(pre + "X", X)
    w.tensor(pre + "Y", Y)
    w.tensor(pre + "Xtest", Xtest)
    if n > p:
        m = LinearRegression().fit(X, Y)
        W, b = m.coef_, m.intercept_
    else:
        xm, ym = X.mean(0), Y.mean(0)
        W = np.linalg.lstsq(X - xm, Y - ym, rcond=None)[0].T
        b = ym - W @ xm
    w.tensor(pre + "ols.W", W)
    w.tensor(pre + "ols.b", b)
    m = Ridge(alpha=1.5).fit(X, Y)
    w.tensor(pre + "ridge.W", m.coef_)
    w.tensor(pre + "ridge.b", m.intercept_)
    grid = np.logspace(-2, 3, 7)
    w.tensor(pre + "ridge_grid", grid)
    m = RidgeCV(alphas=grid).fit(X, Y)
    w.tensor(pre + "ridgeloo.W", m.coef_)
    w.tensor(pre + "ridgeloo.b", m.intercept_)
    w.tensor(pre + "ridgeloo.alpha", np.array([m.alpha_], dtype=np.float64))
    m = RidgeCV(alphas=grid, alpha_per_target=True).fit(X, Y)
    w.tensor(pre + "ridgelooT.W", m.coef_)
    w.tensor(pre + "ridgelooT.b", m.intercept_)
    w.tensor(pre + "ridgelooT.alpha", np.asarray(m.alpha_, dtype=np.float64))
    m = RidgeCV(alphas=grid, cv=KFold(5), scoring="neg_mean_squared_error").fit(X, Y)
    w.tensor(pre + "ridgek5.W", m.coef_)
    w.tensor(pre + "ridgek5.b", m.intercept_)
    w.tensor(pre + "ridgek5.alpha", np.array([m.alpha_], dtype=np.float64))
    kw = dict(tol=1e-12, max_iter=100000)
    m = Lasso(alpha=0.05, **kw).fit(X, Y)
    w.tensor(pre + "lasso.W", m.coef_)
    w.tensor(pre + "lasso.b", m.intercept_)
    m = ElasticNet(alpha=0.05, l1_ratio=0.5, **kw).fit(X, Y)
    w.tensor(pre + "enet.W", m.coef_)
    w.tensor(pre + "enet.b", m.intercept_)
    for name, cls, extra in (("lassocv", LassoCV, {}), ("enetcv", ElasticNetCV, {"l1_ratio": 0.5})):
        Ws, bs, als = [], [], []
        for t in range(3):
            m = cls(n_alphas=10, eps=1e-2, cv=5, **extra, **kw).fit(X, Y[:, t])
            Ws.append(m.coef_)
            bs.append(m.intercept_)
            als.append(m.alpha_)
        w.tensor(pre + name + ".W", np.array(Ws))
        w.tensor(pre + name + ".b", np.array(bs))
        w.tensor(pre + name + ".alpha", np.array(als))


def adam_fixture(w):
    import torch

    torch.manual_seed(0)
    torch.set_num_threads(1)
    rng = np.random.RandomState(5)
    X = rng.randn(60, 20).astype(np.float32)
    Y = (X @ rng.randn(20, 4) * 0.3 + 0.1 * rng.randn(60, 4)).astype(np.float32)
    w.tensor("X", X)
    w.tensor("Y", Y)
    Xt, Yt = torch.from_numpy(X), torch.from_numpy(Y)

    def run(net, lr, wd):
        opt = torch.optim.Adam(net.parameters(), lr=lr, weight_decay=wd)
        losses = []
        for _ in range(3):
            for s in range(0, 60, 30):
                opt.zero_grad()
                loss = torch.nn.functional.mse_loss(net(Xt[s:s + 30]), Yt[s:s + 30])
                losses.append(loss.item())
                loss.backward()
                opt.step()
        return np.array(losses, dtype=np.float32)

    lin = torch.nn.Linear(20, 4)
    w.tensor("lin.W0", lin.weight.detach().numpy().copy())
    w.tensor("lin.b0", lin.bias.detach().numpy().copy())
    w.tensor("lin.loss", run(lin, 1e-2, 0.01))
    w.tensor("lin.W", lin.weight.detach().numpy())
    w.tensor("lin.b", lin.bias.detach().numpy())
    nob = torch.nn.Linear(20, 4, bias=False)
    w.tensor("nob.W0", nob.weight.detach().numpy().copy())
    w.tensor("nob.loss", run(nob, 1e-2, 0.01))
    w.tensor("nob.W", nob.weight.detach().numpy())
    mlp = torch.nn.Sequential(torch.nn.Linear(20, 16), torch.nn.ReLU(), torch.nn.Linear(16, 4))
    for i, l in ((0, mlp[0]), (1, mlp[2])):
        w.tensor("mlp.W0_%d" % i, l.weight.detach().numpy().copy())
        w.tensor("mlp.b0_%d" % i, l.bias.detach().numpy().copy())
    w.tensor("mlp.loss", run(mlp, 1e-2, 0.0))
    for i, l in ((0, mlp[0]), (1, mlp[2])):
        w.tensor("mlp.W_%d" % i, l.weight.detach().numpy())
        w.tensor("mlp.b_%d" % i, l.bias.detach().numpy())


def main():
    os.makedirs(OUT, exist_ok=True)
    w = WFile("reference")
    w.config("source", "scikit-learn linear models, see convert/golden/golden_decoders.py")
    sk_problem(w, "t_", 60, 12, 1)
    sk_problem(w, "w_", 30, 50, 2)
    w.save(os.path.join(OUT, "decoders_sklearn.bin"))
    w = WFile("reference")
    w.config("source", "torch.optim.Adam on nn.Linear / MLP, see convert/golden/golden_decoders.py")
    adam_fixture(w)
    w.save(os.path.join(OUT, "decoders_adam.bin"))
    print("wrote", OUT + "/decoders_{sklearn,adam}.bin")


if __name__ == "__main__":
    main()
