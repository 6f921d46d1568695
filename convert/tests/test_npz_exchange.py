#!/usr/bin/python3
"""test_npz_exchange.py - the .npz side of `hyper export` / `hyper import`, checked with numpy and
scikit-learn themselves (CI; tests/test_exchange.c covers the C side without Python).

* scikit-learn fits (Ridge, StandardScaler + Ridge, a single-target Lasso, an MLPRegressor)
  saved with np.savez / np.savez_compressed -> hyper import -> hyper predict equal their
  predict() within 1e-6 (float32 weights and outputs; Y of order 1);
* hyper export writes archives numpy reads: weight/bias/zscore arrays equal the decoder's,
  text scalars come back as str, the formula in `hyper export --help` reproduces hyper predict;
* FILE.npz:NAME works for --fmri.
Needs build/hyper (make). Last line: "N passed, N failed".
"""
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np
from sklearn.linear_model import Lasso, Ridge
from sklearn.neural_network import MLPRegressor
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402

HYPER = os.environ.get("HYPER_BIN", os.path.join(_paths.ROOT, "build", "hyper"))
RESULTS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    RESULTS.append(bool(cond))


def hyper(*args):
    r = subprocess.run([HYPER, *args, "-q"], capture_output=True, text=True)
    if r.returncode:
        print(r.stderr, file=sys.stderr)
    return r.returncode


def main():
    warnings.filterwarnings("ignore")  # MLPRegressor's ConvergenceWarning: any fit will do here
    rng = np.random.default_rng(5)
    X = rng.normal(size=(60, 25))
    Y = X @ rng.normal(0, 0.15, (25, 6)) + rng.normal(0, 0.2, (60, 6))
    Xt = rng.normal(size=(15, 25))
    with tempfile.TemporaryDirectory() as d:
        np.save(f"{d}/Xt.npy", Xt)
        fits = {}
        r = Ridge(alpha=3.0).fit(X, Y)
        fits["ridge"] = (dict(weight=r.coef_, bias=r.intercept_), r.predict(Xt), [])
        p = make_pipeline(StandardScaler(), Ridge(alpha=1.0)).fit(X, Y)
        fits["scaled"] = (dict(weight=p[1].coef_, bias=p[1].intercept_, zscore_mean=p[0].mean_,
                               zscore_scale=p[0].scale_), p.predict(Xt), [])
        la = Lasso(alpha=0.01).fit(X, Y[:, 0])
        fits["lasso1"] = (dict(weight=la.coef_, bias=la.intercept_), la.predict(Xt)[:, None], ["--model", "lasso"])
        m = MLPRegressor(hidden_layer_sizes=(12,), activation="tanh", max_iter=300, random_state=0).fit(X, Y)
        fits["mlp"] = (dict(weight0=m.coefs_[0].T, bias0=m.intercepts_[0], weight1=m.coefs_[1].T,
                            bias1=m.intercepts_[1], activation=np.array("tanh")), m.predict(Xt), [])
        for i, (name, (arrays, want, extra)) in enumerate(fits.items()):
            (np.savez_compressed if i % 2 else np.savez)(f"{d}/{name}.npz", **arrays)
            ok = hyper("import", f"{d}/{name}.npz", "-o", f"{d}/{name}.bin", *extra) == 0
            ok = ok and hyper("predict", "--decoder", f"{d}/{name}.bin", "--fmri", f"{d}/Xt.npy",
                              "-o", f"{d}/{name}_p.npy") == 0
            diff = np.abs(np.load(f"{d}/{name}_p.npy") - want).max() if ok else np.inf
            check(diff <= 1e-6, f"sklearn {name} -> import -> predict: max |diff| {diff:.2e} <= 1e-6")
        # export: numpy reads it back, and the documented formula is what predict computes
        for name in ("scaled", "mlp"):
            for flag in ([], ["--compressed"]):
                ok = hyper("export", f"{d}/{name}.bin", "-o", f"{d}/{name}_e.npz", *flag) == 0
                e = np.load(f"{d}/{name}_e.npz")
                src = fits[name][0]
                same = ok and all(np.array_equal(e[k], np.asarray(src[k], dtype=np.float32))
                                  for k in src if k != "activation")
                check(same, f"export {name} {' '.join(flag)}: arrays equal the imported float32 values")
                check(str(e["model"]) == ("mlp" if name == "mlp" else "linear"), f"export {name}: model is text")
        e = np.load(f"{d}/scaled_e.npz")
        mine = ((Xt.astype(np.float32) - e["zscore_mean"]) / e["zscore_scale"]) @ e["weight"].T + e["bias"]
        got = np.load(f"{d}/scaled_p.npy")
        check(np.abs(mine - got).max() <= 1e-6, "the formula of `hyper export --help` gives hyper predict's output")
        np.savez(f"{d}/two.npz", a=Xt, b=Xt[:3])
        ok = hyper("predict", "--decoder", f"{d}/ridge.bin", "--fmri", f"{d}/two.npz:a", "-o", f"{d}/two_p.npy") == 0
        check(ok and np.array_equal(np.load(f"{d}/two_p.npy"), np.load(f"{d}/ridge_p.npy")), "--fmri FILE.npz:NAME")
    passed = sum(RESULTS)
    print(f"{passed} passed, {len(RESULTS) - passed} failed")
    return 0 if passed == len(RESULTS) else 1


if __name__ == "__main__":
    sys.exit(main())
