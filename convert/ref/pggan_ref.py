"""pggan_ref.py - PyTorch reference forwards for the PGGAN generator (spec pggan.md).

Two kinds of reference live here, on purpose written along different code paths:

1. `PgganRef`: the project's canonical generator (spec section 1), reading the canonical
   weight file written by convert/pggan.py (kind "pggan", layout in include/models/pggan.h).
   `forward(z, record)` records the activation after every op under the names the C
   engine's hook uses:
       z.pn, 4x4.dense, 4x4.dense.lrelu, 4x4.dense.pn, 4x4.conv, 4x4.conv.lrelu, 4x4.conv.pn,
       {r}x{r}.conv0, .conv0.lrelu, .conv0.pn, .conv1, .conv1.lrelu, .conv1.pn  (r = 8..R),
       torgb  (the raw, linear output)
   It uses torch.nn.functional (linear, conv2d, interpolate) in float32.

2. Native-format forwards, one per source format, that use that format's OWN runtime
   semantics on its OWN stored tensors (no canonical weights involved), in float64 and with
   a hand-written convolution (sum of shifted einsums) instead of F.conv2d:
     - `karras_forward(vars, resolution, z)`: TF layout (dense [in,out], conv HWIO), runtime
       multiplier wscale = float32(gain/sqrt(fan_in)) applied to the weight as TF does,
       per-channel bias added after the reshape, ToRGB_lod0 with gain 1.
     - `zoo_forward(state, z, alpha=0)`: GAN zoo GNet: every layer is c*(Wx+b) with
       c = sqrt(2/fan_in), per-unit dense bias, LReLU before the 4x4 view, toRGB scale S.
     - `hyper_forward(params, z)`: the HYPER Gluon HybridSequential (Dense without bias,
       reshape, Bias block, Conv2D, Block = repeat x2 on H and W + 2 convs, final 1x1 conv).
   A converter bug (wrong transpose, wrong constant, wrong bias expansion) therefore shows
   up as a mismatch between PgganRef on the converted file and the native forward.

Needs numpy and torch.
"""
import math
import os
import re
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import wfile  # noqa: E402

PN_EPS = 1e-8
LRELU = 0.2


# --- canonical reference -------------------------------------------------------------

def stage_names(resolution):
    """The hook names, in the order the forward produces them."""
    names = ["z.pn", "4x4.dense", "4x4.dense.lrelu", "4x4.dense.pn", "4x4.conv", "4x4.conv.lrelu", "4x4.conv.pn"]
    r = 8
    while r <= resolution:
        for conv in ("conv0", "conv1"):
            names += [f"{r}x{r}.{conv}", f"{r}x{r}.{conv}.lrelu", f"{r}x{r}.{conv}.pn"]
        r *= 2
    return names + ["torgb"]


def pn(x):
    # PN(x) = x * (mean over channels (dim 1) of x^2 + eps)^-1/2
    return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + PN_EPS)


def lrelu(x):
    return torch.maximum(x, LRELU * x)


class PgganRef:
    """Canonical PGGAN generator. tensors: {name: array} as in include/models/pggan.h."""

    def __init__(self, config, tensors, dtype=torch.float32):
        self.resolution = int(config["resolution"])
        self.latent = int(config["latent_size"])
        self.channels = [int(c) for c in config["channels"]]
        self.dtype = dtype
        self.w = {k: torch.from_numpy(np.array(v, dtype=np.float32)).to(dtype) for k, v in tensors.items()}
        c4 = self.channels[0]
        assert self.w["dense.weight"].shape == (16 * c4, self.latent)
        assert self.w["dense.bias"].shape == (16 * c4,)

    @classmethod
    def from_file(cls, path, dtype=torch.float32):
        kind, cfg, tensors = wfile.read(path)
        if kind != "pggan":
            raise ValueError(f"{path}: kind {kind!r}, expected 'pggan'")
        return cls(cfg, tensors, dtype)

    @torch.no_grad()
    def forward(self, z, record=None):
        """z: (N, latent) -> (N, 3, R, R). record: optional dict filled with name -> tensor (N, ...)."""
        def rec(name, x):
            if record is not None:
                record[name] = x.clone()
            return x

        w = self.w
        x = torch.as_tensor(z).to(self.dtype)
        n = x.shape[0]
        x = rec("z.pn", pn(x))
        x = F.linear(x, w["dense.weight"], w["dense.bias"]).view(n, self.channels[0], 4, 4)
        x = rec("4x4.dense", x)
        x = rec("4x4.dense.lrelu", lrelu(x))
        x = rec("4x4.dense.pn", pn(x))
        x = rec("4x4.conv", F.conv2d(x, w["4x4.conv.weight"], w["4x4.conv.bias"], padding=1))
        x = rec("4x4.conv.lrelu", lrelu(x))
        x = rec("4x4.conv.pn", pn(x))
        r = 8
        while r <= self.resolution:
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            for conv in ("conv0", "conv1"):
                p = f"{r}x{r}.{conv}"
                x = rec(p, F.conv2d(x, w[p + ".weight"], w[p + ".bias"], padding=1))
                x = rec(p + ".lrelu", lrelu(x))
                x = rec(p + ".pn", pn(x))
            r *= 2
        return rec("torgb", F.conv2d(x, w["torgb.weight"], w["torgb.bias"]))


def random_canonical(resolution, channels, latent=512, seed=0, bias_std=0.1):
    """Random canonical weights, He-scaled (std sqrt(2/fan_in); toRGB 1/sqrt(C), dense sqrt(2)/4/sqrt(latent)
    as Karras's equalized LR gives), so activations stay well-conditioned. Returns (config, tensors)."""
    g = np.random.default_rng(seed)
    res_list = [4 * 2 ** i for i in range(len(channels))]
    assert res_list[-1] == resolution
    t = {}

    def conv(name, cout, cin, k, gain):
        t[name + ".weight"] = (g.standard_normal((cout, cin, k, k)) * gain / math.sqrt(cin * k * k)).astype(np.float32)
        t[name + ".bias"] = (g.standard_normal(cout) * bias_std).astype(np.float32)

    c4 = channels[0]
    t["dense.weight"] = (g.standard_normal((16 * c4, latent)) * (math.sqrt(2) / 4) / math.sqrt(latent)).astype(np.float32)
    t["dense.bias"] = np.repeat(g.standard_normal(c4) * bias_std, 16).astype(np.float32)
    conv("4x4.conv", c4, c4, 3, math.sqrt(2))
    for i, r in enumerate(res_list[1:], 1):
        conv(f"{r}x{r}.conv0", channels[i], channels[i - 1], 3, math.sqrt(2))
        conv(f"{r}x{r}.conv1", channels[i], channels[i], 3, math.sqrt(2))
    conv("torgb", 3, channels[-1], 1, 1.0)
    cfg = {"resolution": resolution, "latent_size": latent, "channels": list(channels), "source_format": "random"}
    return cfg, t


# --- native-format references (float64, hand-written conv) --------------------------

def _pn64(x):
    return x / torch.sqrt(torch.mean(x * x, dim=1, keepdim=True) + PN_EPS)


def _lrelu64(x):
    return torch.where(x >= 0, x, LRELU * x)


def _conv_hwio(x, w):
    """TF conv2d, NCHW data, w [kh,kw,in,out], stride 1, 'SAME' padding, cross-correlation,
    as a sum over kernel taps of einsum (no F.conv2d, no transpose)."""
    kh, kw = w.shape[0], w.shape[1]
    n, c, h, wd = x.shape
    xp = F.pad(x, ((kw - 1) // 2, kw // 2, (kh - 1) // 2, kh // 2))
    out = x.new_zeros((n, w.shape[3], h, wd))
    for dy in range(kh):
        for dx in range(kw):
            out += torch.einsum("nchw,co->nohw", xp[:, :, dy:dy + h, dx:dx + wd], w[dy, dx])
    return out


def _conv_oihw(x, w):
    """Same, for PyTorch/MXNet layout w [out,in,kh,kw]."""
    return _conv_hwio(x, w.permute(2, 3, 1, 0))


def _up_tile(x):
    # nearest 2x by explicit indexing (TF upscale2d tiles; Gluon repeats)
    n, c, h, w = x.shape
    return x[:, :, :, None, :, None].expand(n, c, h, 2, w, 2).reshape(n, c, 2 * h, 2 * w)


def karras_forward(variables, resolution, z):
    """G_paper (fused_scale False, lod 0) on TF-layout variables {name: float32 array}."""
    def wsc(name, gain):
        wt = np.asarray(variables[name], dtype=np.float32)
        fan_in = int(np.prod(wt.shape[:-1]))
        wscale = np.float32(gain / np.sqrt(fan_in))  # TF: tf.constant(np.float32(std)), weight * wscale
        return torch.from_numpy(wt * wscale).double()

    def bias(name):
        return torch.from_numpy(np.asarray(variables[name], dtype=np.float32)).double()

    x = _pn64(torch.as_tensor(np.asarray(z, dtype=np.float64)))
    n = x.shape[0]
    x = x @ wsc("4x4/Dense/weight", math.sqrt(2) / 4)
    c4 = x.shape[1] // 16
    x = x.reshape(n, c4, 4, 4) + bias("4x4/Dense/bias").reshape(1, -1, 1, 1)
    x = _pn64(_lrelu64(x))
    x = _conv_hwio(x, wsc("4x4/Conv/weight", math.sqrt(2))) + bias("4x4/Conv/bias").reshape(1, -1, 1, 1)
    x = _pn64(_lrelu64(x))
    r = 8
    while r <= resolution:
        x = _up_tile(x)
        for conv in ("Conv0", "Conv1"):
            p = f"{r}x{r}/{conv}/"
            x = _conv_hwio(x, wsc(p + "weight", math.sqrt(2))) + bias(p + "bias").reshape(1, -1, 1, 1)
            x = _pn64(_lrelu64(x))
        r *= 2
    return _conv_hwio(x, wsc("ToRGB_lod0/weight", 1.0)) + bias("ToRGB_lod0/bias").reshape(1, -1, 1, 1)


def zoo_forward(state, z, alpha=0.0):
    """pytorch_GAN_zoo GNet.forward on a state dict (keys with '.module.'), float64.
    Each EqualizedLinear/Conv2d computes c * (W x + b), c = sqrt(2 / prod(W.shape[1:]))."""
    # older files lack the `.module` level; normalise keys to prefix.module.{weight,bias}
    s = {re.sub(r"(\.module)?\.(weight|bias)$", r".module.\2", k): torch.as_tensor(np.asarray(v, dtype=np.float32)).double()
         for k, v in state.items()}

    def layer(prefix, x, conv=True):
        wt, b = s[prefix + ".module.weight"], s[prefix + ".module.bias"]
        c = math.sqrt(2.0 / int(np.prod(wt.shape[1:])))
        if conv:
            y = _conv_oihw(x, wt) + b.reshape(1, -1, 1, 1)
        else:
            y = x @ wt.t() + b
        return c * y

    nscales = len({k.split(".")[1] for k in s if k.startswith("scaleLayers.")})
    x = _pn64(torch.as_tensor(np.asarray(z, dtype=np.float64)))
    n = x.shape[0]
    x = _lrelu64(layer("formatLayer", x, conv=False))
    x = _pn64(x.reshape(n, -1, 4, 4))
    x = _pn64(_lrelu64(layer("groupScale0.0", x)))
    y = None
    if alpha > 0 and nscales == 1:
        y = _up_tile(layer(f"toRGBLayers.{nscales - 1}", x))
    for sc in range(nscales):
        x = _up_tile(x)
        for j in (0, 1):
            x = _pn64(_lrelu64(layer(f"scaleLayers.{sc}.{j}", x)))
        if alpha > 0 and sc == nscales - 2:
            y = _up_tile(layer(f"toRGBLayers.{nscales - 1}", x))
    x = layer(f"toRGBLayers.{nscales}", x)
    if alpha > 0:
        x = alpha * y + (1.0 - alpha) * x
    return x


def hyper_forward(params, z):
    """HYPER's Gluon Generator on its parameters, given in layer order as a dict with keys
    dense.weight, bias.b, conv.weight, conv.bias, block{i}.conv{0,1}.{weight,bias}, out.weight, out.bias."""
    p = {k: torch.as_tensor(np.asarray(v, dtype=np.float32)).double() for k, v in params.items()}
    x = _pn64(torch.as_tensor(np.asarray(z, dtype=np.float64)))          # 0 Pixelnorm
    n = x.shape[0]
    x = (x @ p["dense.weight"].t()).reshape(n, -1, 4, 4)                  # 1 Dense(no bias) + reshape
    x = x + p["bias.b"].reshape(1, -1, 1, 1)                               # 2 Bias
    x = _pn64(_lrelu64(x))                                                 # 3, 4
    x = _pn64(_lrelu64(_conv_oihw(x, p["conv.weight"]) + p["conv.bias"].reshape(1, -1, 1, 1)))  # 5-7
    i = 0
    while f"block{i}.conv0.weight" in p:                                   # 8.. Blocks
        x = x.repeat_interleave(2, dim=2).repeat_interleave(2, dim=3)
        for j in (0, 1):
            q = f"block{i}.conv{j}."
            x = _pn64(_lrelu64(_conv_oihw(x, p[q + "weight"]) + p[q + "bias"].reshape(1, -1, 1, 1)))
        i += 1
    return _conv_oihw(x, p["out.weight"]) + p["out.bias"].reshape(1, -1, 1, 1)
