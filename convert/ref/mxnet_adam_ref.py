"""mxnet_adam_ref.py - a numpy (float32) re-implementation of HYPER's training recipe, as the
notebook (neuralcodinglab/HYPER hyper.ipynb, MXNet 1.7 Gluon) runs it, written from MXNet's
documented rules rather than by calling MXNet (not packaged for Debian):

  batches   mx.io.NDArrayIter(x, t, B, shuffle=True), last_batch_handle='pad' (default): each
            reset() reshuffles; every batch has B rows, the last one completed with rows from
            the start of the epoch's order (io.py _batchify, 'pad' branch)
  loss      gluon.loss.L2Loss(): per row 0.5 * mean over outputs of (label - pred)^2;
            loss.backward() sums the rows' losses, so dL/dpred = (pred - label) / d
  step      trainer.step(B): rescale_grad = 1 / B; optimizer Adam (optimizer.py Adam.update +
            optimizer_op-inl.h AdamUpdateKernel), per parameter, in float32:
              g = grad * rescale_grad + wd * w        (Gluon: wd_mult 1 for every parameter)
              m = beta1 * m + (1 - beta1) * g
              v = beta2 * v + (1 - beta2) * g * g
              w = w - lr_t * m / (sqrt(v) + eps)
            lr_t = lr * sqrt(1 - beta2^t) / (1 - beta1^t) computed in double by Python, passed to
            the kernel as a float32 parameter (as are rescale_grad, wd, beta1, beta2, eps)
  init      initialize(): Uniform(0.07) for weights; Dense biases 'zeros'
  printed   train loss: mean over the epoch's batches of loss.mean(); test loss: loss.mean()
            of the test set (one batch of all test rows)

Random streams are this project's, not MXNet's (np.random.shuffle inside NDArrayIter cannot be
reproduced in C): MT19937 seeded like hy_mt_seed (init_genrand), Fisher-Yates over the previous
epoch's order with j = floor(u * (i + 1)), u a 53-bit double from two 32-bit draws (hy_mt_uniform_f64).
`variant` switches off one rule at a time, to show which test would notice:
  "nopad"      last batch smaller instead of padded
  "nowd_bias"  no weight decay on biases
  "eps_torch"  eps inside the bias correction, as torch: w -= lr/bc1 * m / (sqrt(v)/sqrt(bc2) + eps)
  "mse"        torch's MSELoss gradient 2 (pred - y) / (B d), no rescale
"""
import numpy as np

F = np.float32


class MT19937:
    """Matsumoto-Nishimura mt19937 with init_genrand seeding (as hy_mt_seed / torch.manual_seed)."""

    def __init__(self, seed):
        self.mt = [0] * 624
        self.mt[0] = seed & 0xFFFFFFFF
        for i in range(1, 624):
            self.mt[i] = (1812433253 * (self.mt[i - 1] ^ (self.mt[i - 1] >> 30)) + i) & 0xFFFFFFFF
        self.idx = 624

    def u32(self):
        if self.idx >= 624:
            for i in range(624):
                y = (self.mt[i] & 0x80000000) | (self.mt[(i + 1) % 624] & 0x7FFFFFFF)
                self.mt[i] = self.mt[(i + 397) % 624] ^ (y >> 1) ^ (0x9908B0DF if y & 1 else 0)
            self.idx = 0
        y = self.mt[self.idx]
        self.idx += 1
        y ^= y >> 11
        y ^= (y << 7) & 0x9D2C5680
        y ^= (y << 15) & 0xEFC60000
        y ^= y >> 18
        return y

    def uniform_f64(self):
        hi, lo = self.u32(), self.u32()
        return ((hi << 32 | lo) & ((1 << 53) - 1)) / float(1 << 53)

    def shuffle(self, perm):
        for i in range(len(perm) - 1, 0, -1):
            j = int(self.uniform_f64() * (i + 1))
            perm[i], perm[j] = perm[j], perm[i]


def _sigmoid(z):
    return F(1) / (F(1) + np.exp(-z))


# hidden activations and their derivatives from the pre-activation (float32), as
# src/decoders/activation.c: leaky slope 0.01, elu alpha 1, softplus threshold 20
ACTS = {
    "relu": (lambda z: np.maximum(z, F(0)), lambda z: (z > 0).astype(F)),
    "leaky": (lambda z: np.where(z > 0, z, F(0.01) * z), lambda z: np.where(z > 0, F(1), F(0.01))),
    "tanh": (np.tanh, lambda z: F(1) - np.tanh(z) * np.tanh(z)),
    "sigmoid": (_sigmoid, lambda z: _sigmoid(z) * (F(1) - _sigmoid(z))),
    "elu": (lambda z: np.where(z > 0, z, np.expm1(np.minimum(z, F(0)))),
            lambda z: np.where(z > 0, F(1), np.exp(np.minimum(z, F(0))))),
    "softplus": (lambda z: np.where(z > 20, z, np.log1p(np.exp(np.minimum(z, F(20))))),
                 lambda z: np.where(z > 20, F(1), _sigmoid(z))),
}


def forward(layers, x, act):
    """layers: [(W (out,in), b (out) or None)]; returns the pre-activations and activations."""
    pres, acts = [], [x]
    for i, (W, b) in enumerate(layers):
        z = acts[-1] @ W.T
        if b is not None:
            z = z + b
        z = z.astype(F)
        pres.append(z)
        acts.append(z if i == len(layers) - 1 else ACTS[act][0](z).astype(F))
    return pres, acts


def l2loss(pred, y):
    """gluon L2Loss per row: 0.5 * mean over outputs of (y - pred)^2 (float64 for the record)."""
    e = y.astype(np.float64) - pred.astype(np.float64)
    return 0.5 * np.mean(e * e, axis=1)


def train(X, Y, layers, epochs, B, lr, wd, seed, shuffle=True, act="relu", beta1=0.9, beta2=0.999, eps=1e-8,
          Xt=None, Yt=None, variant=None):
    """Trains `layers` (list of [W, b or None], float32, modified in place) on X (n, v) -> Y (n, d).
    Returns (train_losses, test_losses) per epoch, as the notebook prints them."""
    n, d = Y.shape
    mt = MT19937(seed)
    perm = list(range(n))
    m = [[np.zeros_like(p) if p is not None else None for p in l] for l in layers]
    v = [[np.zeros_like(p) if p is not None else None for p in l] for l in layers]
    fb1, fb2, feps, fwd, resc = F(beta1), F(beta2), F(eps), F(wd), F(1.0 / B)
    t = 0
    tr_curve, te_curve = [], []
    nb = (n + B - 1) // B
    for _ in range(epochs):
        if shuffle:
            mt.shuffle(perm)
        losses = []
        for bi in range(nb):
            rows = [perm[(bi * B + i) % n] for i in range(B)]
            if variant == "nopad":
                rows = perm[bi * B:min(n, bi * B + B)]
            x, y = X[rows], Y[rows]
            pres, acts = forward(layers, x, act)
            losses.append(l2loss(acts[-1], y).mean())
            if variant == "mse":
                dz = (F(2.0 / (len(rows) * d)) * (acts[-1] - y)).astype(F)
            else:
                dz = ((acts[-1] - y) * F(1.0 / d)).astype(F)
            grads = [None] * len(layers)
            for li in range(len(layers) - 1, -1, -1):
                W, b = layers[li]
                gW = (dz.T @ acts[li]).astype(F)
                gb = dz.sum(axis=0, dtype=F) if b is not None else None
                grads[li] = (gW, gb)
                if li > 0:
                    dz = ((dz @ W) * ACTS[act][1](pres[li - 1])).astype(F)
            t += 1
            bc1, bc2 = 1.0 - beta1 ** t, 1.0 - beta2 ** t
            lr_t = F(lr * np.sqrt(bc2) / bc1)
            for li, (gW, gb) in enumerate(grads):
                for k, g in ((0, gW), (1, gb)):
                    if g is None:
                        continue
                    p = layers[li][k]
                    w_k = F(0) if (variant == "nowd_bias" and k == 1) else fwd
                    r_k = F(1) if variant == "mse" else resc
                    g = (g * r_k + p * w_k).astype(F)
                    mm = (fb1 * m[li][k] + (F(1) - fb1) * g).astype(F)
                    vv = (fb2 * v[li][k] + (F(1) - fb2) * g * g).astype(F)
                    m[li][k], v[li][k] = mm, vv
                    if variant == "eps_torch":
                        upd = F(lr / bc1) * (mm / (np.sqrt(vv) / F(np.sqrt(bc2)) + feps))
                    else:
                        upd = lr_t * mm / (np.sqrt(vv) + feps)
                    layers[li][k] = (p - upd).astype(F)
        tr_curve.append(float(np.mean(losses)))
        if Xt is not None:
            _, acts = forward(layers, Xt, act)
            te_curve.append(float(l2loss(acts[-1], Yt).mean()))
    return tr_curve, te_curve
