"""golden_mxnet.py - golden references for `--recipe hyper` (HYPER's MXNet/Gluon training rules),
from the numpy re-implementation in convert/ref/mxnet_adam_ref.py. Seeded and deterministic;
needs numpy only. Run via `make golden`.

tests/fixtures/mxnet/
  data/{train,test}_{fmri,latents}.npy   float32: 70 training rows, 12 test rows, 20 voxels, 4 dims
  init_lin.npz      weight (4,20) U(-0.07,0.07), bias (4) zeros          (as MXNet's initialize())
  init_nob.npz      weight (4,20)
  init_mlp.npz      weight0 (16,20), bias0 (16), weight1 (4,16), bias1 (4)  (small random biases)
  ref.bin           kind "reference" (convert/wfile.py), float32 unless noted:
    <case>.W_<l>, <case>.b_<l>    weights after 5 epochs (layer l)
    <case>.train, <case>.test     float64 (5): the losses the notebook prints per epoch
    lin.<variant>.W_0, .b_0       linear with one rule switched off (nopad, nowd_bias, mse)
    lineps.eps_torch.W_0, .b_0    lineps with torch's eps placement
  cases (batch 30, so the last of 3 batches is padded with 20 rows; 5 epochs = 15 steps;
  lr 1e-3 instead of the notebook's 1e-5 so 15 steps move the weights; wd 0.01; seed 7):
    lin      linear, init_lin.npz, shuffled
    lineps   the same with adam eps 1e-3 (makes eps placement visible: sqrt(v) ~ 1e-3..1e-2)
    noshuf   the same as lin without shuffling (batches in file order)
    nob      linear-nobias, init_nob.npz
    mlp      mlp hidden 16 relu, init_mlp.npz
    mlp_<a>  the same with activation a: leaky, tanh, sigmoid, elu, softplus
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402  (convert/ and its role folders on sys.path)
import mxnet_adam_ref as ref  # noqa: E402
from wfile import WFile  # noqa: E402

OUT = os.path.join(_paths.ROOT, "tests", "fixtures", "mxnet")
F = np.float32
EPOCHS, B, LR, WD, SEED = 5, 30, 1e-3, 0.01, 7


def check_mt():
    """The Python MT19937 equals numpy's legacy-seeded one (and so hy_mt / torch)."""
    bg = np.random.MT19937()
    bg._legacy_seeding(SEED)
    mt = ref.MT19937(SEED)
    assert [mt.u32() for _ in range(1000)] == list(bg.random_raw(1000)), "MT19937 mismatch"


def main():
    check_mt()
    os.makedirs(os.path.join(OUT, "data"), exist_ok=True)
    rng = np.random.RandomState(11)
    A = rng.randn(20, 4) * 0.4
    X = rng.randn(82, 20).astype(F)
    Y = (X @ A + 0.3 * rng.randn(82, 4)).astype(F)
    Xtr, Ytr, Xte, Yte = X[:70], Y[:70], X[70:], Y[70:]
    for name, a in (("train_fmri", Xtr), ("train_latents", Ytr), ("test_fmri", Xte), ("test_latents", Yte)):
        np.save(os.path.join(OUT, "data", name + ".npy"), a)

    W_lin = rng.uniform(-0.07, 0.07, (4, 20)).astype(F)
    W_nob = rng.uniform(-0.07, 0.07, (4, 20)).astype(F)
    mlp0 = [rng.uniform(-0.07, 0.07, (16, 20)).astype(F), rng.uniform(-0.05, 0.05, 16).astype(F),
            rng.uniform(-0.07, 0.07, (4, 16)).astype(F), rng.uniform(-0.05, 0.05, 4).astype(F)]
    np.savez(os.path.join(OUT, "init_lin.npz"), weight=W_lin, bias=np.zeros(4, F))
    np.savez(os.path.join(OUT, "init_nob.npz"), weight=W_nob)
    np.savez_compressed(os.path.join(OUT, "init_mlp.npz"), weight0=mlp0[0], bias0=mlp0[1], weight1=mlp0[2],
                        bias1=mlp0[3])

    w = WFile("reference")
    w.config("source", "numpy MXNet-rule reference, see convert/golden/golden_mxnet.py")

    def case(name, layers, variant=None, **kw):
        layers = [[W.copy(), None if b is None else b.copy()] for W, b in layers]
        tr, te = ref.train(Xtr, Ytr, layers, EPOCHS, B, LR, WD, SEED, Xt=Xte, Yt=Yte, variant=variant, **kw)
        pre = name if variant is None else name + "." + variant
        for li, (W, b) in enumerate(layers):
            w.tensor("%s.W_%d" % (pre, li), W)
            if b is not None:
                w.tensor("%s.b_%d" % (pre, li), b)
        if variant is None:
            w.tensor(name + ".train", np.array(tr))
            w.tensor(name + ".test", np.array(te))
            print("%-7s train %s\n        test  %s" % (name, np.round(tr, 6), np.round(te, 6)))
        return layers

    lin = [(W_lin, np.zeros(4, F))]
    case("lin", lin)
    for v in ("nopad", "nowd_bias", "mse"):
        case("lin", lin, variant=v)
    case("lineps", lin, eps=1e-3)
    case("lineps", lin, variant="eps_torch", eps=1e-3)
    case("noshuf", lin, shuffle=False)
    case("nob", [(W_nob, None)])
    case("mlp", [(mlp0[0], mlp0[1]), (mlp0[2], mlp0[3])], act="relu")
    for act in ("leaky", "tanh", "sigmoid", "elu", "softplus"):
        case("mlp_" + act, [(mlp0[0], mlp0[1]), (mlp0[2], mlp0[3])], act=act)
    w.save(os.path.join(OUT, "ref.bin"))
    print("wrote", OUT)


if __name__ == "__main__":
    main()
