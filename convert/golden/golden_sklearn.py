"""golden_sklearn.py - scikit-learn decoders saved as .npz, for tests/test_exchange.c
(`hyper import` then `hyper predict` must give scikit-learn's predictions).

tests/fixtures/exchange/
  X_train.npy, Y_train.npy  (40, 30) and (40, 8) float64: a seeded linear problem with noise
  X_test.npy                (12, 30) float64, inputs the tests predict from
  ridge.npz                 Ridge(alpha=2): weight = coef_ (8, 30), bias = intercept_ (8,)
  ridge_pred.npy            its predict(X_test) (12, 8) float64
  scaled.npz                make_pipeline(StandardScaler(), Ridge(alpha=5)): weight, bias and
                            zscore_mean = mean_, zscore_scale = scale_ of the scaler
  scaled_pred.npy           the pipeline's predict(X_test)
  single.npz                Ridge(alpha=1) on the first target alone: coef_ (30,), intercept_ () --
                            the 1-D / 0-d shapes scikit-learn gives for one target
  single_pred.npy           (12, 1): its predict(X_test) as a column
Run via `make golden` (Debian's /usr/bin/python3 with numpy and python3-sklearn).
"""
import os
import sys

import numpy as np
from sklearn.linear_model import Ridge
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402  (convert/ and its role folders on sys.path)

OUT = os.path.join(_paths.ROOT, "tests", "fixtures", "exchange")


def main():
    os.makedirs(OUT, exist_ok=True)
    rng = np.random.default_rng(2022)
    # voxels on different scales and offsets, so that z-scoring matters; values and targets of
    # order 1 (as z-scored responses and latents are): the decoder file stores float32 weights,
    # so predictions agree to ~1e-7 relative, not absolute, and large offsets would dominate
    scale, offset = rng.uniform(0.5, 2, 30), rng.normal(0, 0.5, 30)
    X = rng.normal(size=(40, 30)) * scale + offset
    Xt = rng.normal(size=(12, 30)) * scale + offset
    Y = (X - offset) @ rng.normal(0, 0.1, (30, 8)) + rng.normal(0, 0.3, (40, 8))
    for name, a in {"X_train": X, "Y_train": Y, "X_test": Xt}.items():
        np.save(os.path.join(OUT, name + ".npy"), a)

    r = Ridge(alpha=2.0).fit(X, Y)
    np.savez(os.path.join(OUT, "ridge.npz"), weight=r.coef_, bias=r.intercept_)
    np.save(os.path.join(OUT, "ridge_pred.npy"), r.predict(Xt))

    p = make_pipeline(StandardScaler(), Ridge(alpha=5.0)).fit(X, Y)
    sc, rr = p[0], p[1]
    np.savez(os.path.join(OUT, "scaled.npz"), weight=rr.coef_, bias=rr.intercept_, zscore_mean=sc.mean_,
             zscore_scale=sc.scale_)
    np.save(os.path.join(OUT, "scaled_pred.npy"), p.predict(Xt))

    s = Ridge(alpha=1.0).fit(X, Y[:, 0])
    assert s.coef_.shape == (30,) and np.ndim(s.intercept_) == 0
    np.savez(os.path.join(OUT, "single.npz"), weight=s.coef_, bias=np.float64(s.intercept_))
    np.save(os.path.join(OUT, "single_pred.npy"), s.predict(Xt)[:, None])
    for f in sorted(os.listdir(OUT)):
        print(f"{f}: {os.path.getsize(os.path.join(OUT, f))} bytes")


if __name__ == "__main__":
    main()
