#!/usr/bin/python3
"""pggan.py - convert a PGGAN generator checkpoint to the project's canonical weight file.

    /usr/bin/python3 convert/pggan.py SRC -o OUT.bin [--format auto|karras|zoo|hyper]

Formats (spec pggan.md sections 3-5), detected by content with --format auto:
  karras  official progressive_growing_of_gans pickle, a tuple (G, D, Gs) of tfutil.Network;
          read WITHOUT TensorFlow (restricted unpickler, tfutil.Network stubbed, the stored
          build_module_src is never executed); Gs is converted.
  zoo     pytorch_GAN_zoo .pth (torch.save dict with config, netG, netD, avgG); avgG if present.
  hyper   HYPER's MXNet Gluon generator.params, parsed WITHOUT MXNet (NDArray-list format).

Output (kind "pggan", include/models/pggan.h): config resolution, latent_size, channels
[C(4), C(8), ..., C(R)], source_format; tensors dense.weight [16*C4, latent], dense.bias [16*C4]
(per unit o = 16c + 4y + x), 4x4.conv.*, {r}x{r}.conv0.*, {r}x{r}.conv1.*, torgb.*, float32, with
the equalized-LR constants folded in (computed in float64, then cast to float32) by
`fold_constants` below, the one place that knows them.

Anything not understood is refused with a one-line message and exit status 1, and no output
file is left behind (the writer is atomic and runs only after every check passed).
Needs numpy; the zoo format also needs torch.
"""
import argparse
import io
import math
import os
import pickle
import re
import struct
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _paths  # noqa: E402,F401  (convert/ role folders on sys.path)
import wfile  # noqa: E402


class ConvertError(Exception):
    pass


# --- the canonical layout -----------------------------------------------------------

def canonical_names(resolution):
    names = ["dense.weight", "dense.bias", "4x4.conv.weight", "4x4.conv.bias"]
    r = 8
    while r <= resolution:
        names += [f"{r}x{r}.conv0.weight", f"{r}x{r}.conv0.bias", f"{r}x{r}.conv1.weight", f"{r}x{r}.conv1.bias"]
        r *= 2
    return names + ["torgb.weight", "torgb.bias"]


def check_canonical(t, resolution, latent, channels):
    """Asserts the full canonical shape set (a converter bug must not produce a bad file)."""
    c = channels
    want = {"dense.weight": (16 * c[0], latent), "dense.bias": (16 * c[0],),
            "4x4.conv.weight": (c[0], c[0], 3, 3), "4x4.conv.bias": (c[0],),
            "torgb.weight": (3, c[-1], 1, 1), "torgb.bias": (3,)}
    for i in range(1, len(c)):
        r = 4 << i
        want[f"{r}x{r}.conv0.weight"] = (c[i], c[i - 1], 3, 3)
        want[f"{r}x{r}.conv0.bias"] = (c[i],)
        want[f"{r}x{r}.conv1.weight"] = (c[i], c[i], 3, 3)
        want[f"{r}x{r}.conv1.bias"] = (c[i],)
    if set(want) != set(t):
        raise ConvertError(f"internal: canonical tensor set mismatch {sorted(set(want) ^ set(t))}")
    for k, s in want.items():
        if tuple(t[k].shape) != s:
            raise ConvertError(f"internal: {k} has shape {t[k].shape}, expected {s}")


def fold_constants(fmt, t):
    """The equalized-LR constants, per source format, in float64 (spec sections 3-5).
    t: {canonical name: float64 array} in canonical layout but unscaled. Returns scaled arrays.
      karras: c = gain/sqrt(fan_in); dense gain sqrt(2)/4, convs sqrt(2), torgb 1; biases unscaled.
      zoo:    c = sqrt(2/fan_in) for every layer (torgb too), and the bias is scaled as well.
      hyper:  nothing (the Gluon net has no runtime scaling)."""
    out = {}
    for name, a in t.items():
        layer, kind = name.rsplit(".", 1)
        if fmt == "hyper":
            out[name] = a
            continue
        w = t[layer + ".weight"]
        fan_in = int(np.prod(w.shape[1:]))
        if fmt == "karras":
            gain = math.sqrt(2) / 4 if layer == "dense" else (1.0 if layer == "torgb" else math.sqrt(2))
            c = gain / math.sqrt(fan_in)
            out[name] = a * c if kind == "weight" else a
        elif fmt == "zoo":
            out[name] = a * math.sqrt(2.0 / fan_in)
        else:
            raise ConvertError(f"internal: unknown format {fmt}")
    return out


def finish(fmt, src, t64, resolution, latent, channels):
    """Checks, folds, casts and returns a wfile.WFile ready to save."""
    for k, a in t64.items():
        if not np.all(np.isfinite(a)):
            raise ConvertError(f"{src}: {k}: weights contain NaN or Inf")
    check_canonical(t64, resolution, latent, channels)
    t = fold_constants(fmt, t64)
    w = wfile.WFile("pggan")
    w.config("resolution", int(resolution))
    w.config("latent_size", int(latent))
    w.config("channels", [int(c) for c in channels])
    w.config("source_format", fmt)
    for name in canonical_names(resolution):
        a = t[name].astype(np.float32)
        if not np.all(np.isfinite(a)):
            raise ConvertError(f"{src}: {name}: overflows float32 after scaling")
        w.tensor(name, a)
    return w


def _f64(src, name, a, want_shape=None):
    a = np.asarray(a)
    if a.dtype.kind != "f":
        raise ConvertError(f"{src}: {name}: dtype {a.dtype}, expected floating point")
    if want_shape is not None and tuple(a.shape) != tuple(want_shape):
        raise ConvertError(f"{src}: {name}: shape {tuple(a.shape)}, expected {tuple(want_shape)}")
    return a.astype(np.float64)


def _is_pow2(n):
    return n >= 4 and n & (n - 1) == 0


# --- format A: Karras pickle ----------------------------------------------------------

class NetworkStub:
    """Stands in for tfutil.Network: keeps the pickled state and does nothing else."""

    def __setstate__(self, state):
        self.state = state


_NUMPY_OK = {"_reconstruct", "scalar", "ndarray", "dtype", "_frombuffer"}
_SAFE_BUILTINS = {"set", "frozenset", "list", "dict", "tuple", "slice", "int", "float", "complex", "bool", "str",
                  "bytes", "bytearray", "object"}


class _NoClassUnpickler(pickle.Unpickler):
    """For sniffing a file's first pickle: plain data only, never imports anything."""

    def find_class(self, module, name):
        raise pickle.UnpicklingError("class reference")


class KarrasUnpickler(pickle.Unpickler):
    """Allows only tfutil.Network (stubbed), numpy array/dtype/scalar reconstruction,
    collections.OrderedDict and _codecs.encode (protocol-2 bytes). Everything else is refused."""

    def find_class(self, module, name):
        if (module, name) == ("tfutil", "Network"):
            return NetworkStub
        if (module, name) == ("network", "Network"):
            raise ConvertError("Theano-era pickle (network.Network); convert it with the release's legacy.py first")
        if module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy", "numpy.core.numeric",
                      "numpy._core.numeric") and name in _NUMPY_OK:
            return super().find_class(module, name)
        if (module, name) in (("collections", "OrderedDict"), ("_codecs", "encode"), ("builtins", "set"),
                              ("builtins", "frozenset"), ("builtins", "bytearray"), ("__builtin__", "set")):
            return super().find_class(module, name)
        raise ConvertError(f"pickle references {module}.{name}, which a PGGAN pickle should not contain; refused")


# G_paper arguments we accept, with the values that give the spec's network.
_KARRAS_REQUIRED = {"num_channels": 3, "use_wscale": True, "normalize_latents": True, "use_pixelnorm": True,
                    "use_leakyrelu": True, "fused_scale": False}
_KARRAS_DEFAULTS = {"num_channels": 1, "use_wscale": True, "normalize_latents": True, "use_pixelnorm": True,
                    "use_leakyrelu": True, "fused_scale": True, "label_size": 0, "fmap_base": 8192,
                    "fmap_decay": 1.0, "fmap_max": 512}
_KARRAS_KNOWN = set(_KARRAS_DEFAULTS) | {"resolution", "latent_size", "mbstd_group_size", "dtype", "structure",
                                          "pixelnorm_epsilon", "use_batchnorm", "tanh_at_end"}


def _karras_kwargs(src, kw):
    if not isinstance(kw, dict):
        raise ConvertError(f"{src}: Gs static_kwargs is {type(kw).__name__}, expected a dict")
    unknown = sorted(set(kw) - _KARRAS_KNOWN)
    if unknown:
        raise ConvertError(f"{src}: Gs static_kwargs has unknown argument(s) {unknown}; refused")
    for k, want in _KARRAS_REQUIRED.items():
        v = kw.get(k, _KARRAS_DEFAULTS[k])
        if v != want or type(v) is not type(want):
            src_of = "" if k in kw else " (absent, G_paper default)"
            extra = " (Conv0_up: fused upscale, not supported)" if k == "fused_scale" else ""
            raise ConvertError(f"{src}: Gs static_kwargs {k}={v!r}{src_of}, expected {want!r}{extra}")
    if kw.get("label_size", 0) != 0:
        raise ConvertError(f"{src}: Gs static_kwargs label_size={kw['label_size']!r}: conditional generators are not supported")
    if "pixelnorm_epsilon" in kw and kw["pixelnorm_epsilon"] != 1e-8:
        raise ConvertError(f"{src}: Gs static_kwargs pixelnorm_epsilon={kw['pixelnorm_epsilon']!r}, expected 1e-8")
    if kw.get("dtype", "float32") != "float32":
        raise ConvertError(f"{src}: Gs static_kwargs dtype={kw['dtype']!r}, expected 'float32'")
    if kw.get("use_batchnorm", False) is not False:
        raise ConvertError(f"{src}: Gs static_kwargs use_batchnorm={kw['use_batchnorm']!r}, expected False")
    if kw.get("tanh_at_end", None) is not None:
        raise ConvertError(f"{src}: Gs static_kwargs tanh_at_end={kw['tanh_at_end']!r}: tanh output not supported")
    if kw.get("structure", None) not in (None, "linear", "recursive"):
        raise ConvertError(f"{src}: Gs static_kwargs structure={kw['structure']!r}, expected linear or recursive")


def read_karras(src):
    """Returns (variables dict of Gs, static_kwargs)."""
    with open(src, "rb") as f:
        data = f.read()
    try:
        obj = KarrasUnpickler(io.BytesIO(data)).load()
    except ConvertError as e:
        raise ConvertError(f"{src}: {e}") from None
    except Exception as e:  # truncated or corrupt pickles raise many types
        raise ConvertError(f"{src}: not a readable pickle (truncated or corrupt): {type(e).__name__}: {e}") from None
    if isinstance(obj, tuple) and len(obj) == 3 and all(isinstance(o, NetworkStub) for o in obj):
        gs = obj[2]
    else:
        raise ConvertError(f"{src}: pickle holds {type(obj).__name__}, expected the tuple (G, D, Gs) of tfutil.Network")
    st = getattr(gs, "state", None)
    if not isinstance(st, dict):
        raise ConvertError(f"{src}: Gs has no pickled state dict")
    if st.get("version") != 2:
        raise ConvertError(f"{src}: Gs state version {st.get('version')!r}, expected 2")
    if st.get("build_func_name") != "G_paper":
        raise ConvertError(f"{src}: Gs build_func_name {st.get('build_func_name')!r}, expected 'G_paper'")
    kw = st.get("static_kwargs")
    _karras_kwargs(src, kw)
    varlist = st.get("variables")
    if not isinstance(varlist, (list, tuple)):
        raise ConvertError(f"{src}: Gs variables is {type(varlist).__name__}, expected a list of (name, array)")
    variables = {}
    for item in varlist:
        if not (isinstance(item, (list, tuple)) and len(item) == 2 and isinstance(item[0], str)):
            raise ConvertError(f"{src}: Gs variables: malformed entry {str(item)[:60]!r}")
        name, val = item
        if name in variables:
            raise ConvertError(f"{src}: Gs variable {name!r} appears twice")
        if not isinstance(val, (np.ndarray, np.generic)):
            raise ConvertError(f"{src}: Gs variable {name!r} is {type(val).__name__}, expected a numpy array")
        variables[name] = np.asarray(val)
    return variables, kw


def convert_karras(src):
    v, kw = read_karras(src)
    if any("Conv0_up" in k for k in v):
        raise ConvertError(f"{src}: Gs has Conv0_up variables (fused_scale=True transposed conv); not supported")
    if "lod" not in v:
        raise ConvertError(f"{src}: Gs variable 'lod' is missing")
    lod = v["lod"]
    if lod.shape not in ((), (1,)) or not float(np.asarray(lod, dtype=np.float64).reshape(-1)[0]) == 0.0:
        raise ConvertError(f"{src}: Gs lod is {np.asarray(lod).reshape(-1)[:4].tolist()}, expected 0.0 (a finished network)")
    for k in ("4x4/Dense/weight", "4x4/Dense/bias", "4x4/Conv/weight", "4x4/Conv/bias"):
        if k not in v:
            raise ConvertError(f"{src}: Gs variable {k!r} is missing")
    dw = v["4x4/Dense/weight"]
    if dw.ndim != 2 or dw.shape[1] % 16:
        raise ConvertError(f"{src}: 4x4/Dense/weight: shape {dw.shape}, expected [latent, 16*C]")
    latent, c4 = dw.shape[0], dw.shape[1] // 16
    if latent != kw.get("latent_size", latent) or latent != 512:
        raise ConvertError(f"{src}: latent size {latent} (static_kwargs {kw.get('latent_size')}), expected 512")
    # resolution: the highest {r}x{r}/Conv0 present; every other variable must be one we know
    sizes = [int(m.group(1)) for m in (re.match(r"(\d+)x\1/", k) for k in v) if m]
    res = max(sizes)
    if not _is_pow2(res) or not 8 <= res <= 1024:
        raise ConvertError(f"{src}: variables go up to {res}x{res}; expected a power of two in 8..1024")
    if "resolution" in kw and kw["resolution"] != res:
        raise ConvertError(f"{src}: static_kwargs resolution {kw['resolution']} but variables go up to {res}x{res}")
    known = {"lod", "4x4/Dense/weight", "4x4/Dense/bias", "4x4/Conv/weight", "4x4/Conv/bias"}
    r = 8
    while r <= res:
        known |= {f"{r}x{r}/Conv{j}/{p}" for j in (0, 1) for p in ("weight", "bias")}
        r *= 2
    known |= {f"ToRGB_lod{k}/{p}" for k in range(int(math.log2(res)) - 1) for p in ("weight", "bias")}
    extra = sorted(set(v) - known)
    if extra:
        raise ConvertError(f"{src}: Gs has unexpected variable(s) {extra[:3]} for a {res}x{res} G_paper; refused")
    t = {"dense.weight": _f64(src, "4x4/Dense/weight", dw).T,
         "dense.bias": np.repeat(_f64(src, "4x4/Dense/bias", v["4x4/Dense/bias"], (c4,)), 16),
         "4x4.conv.weight": _f64(src, "4x4/Conv/weight", v["4x4/Conv/weight"], (3, 3, c4, c4)).transpose(3, 2, 0, 1),
         "4x4.conv.bias": _f64(src, "4x4/Conv/bias", v["4x4/Conv/bias"], (c4,))}
    channels = [c4]
    r = 8
    while r <= res:
        p = f"{r}x{r}/"
        for k in ("Conv0/weight", "Conv0/bias", "Conv1/weight", "Conv1/bias"):
            if p + k not in v:
                raise ConvertError(f"{src}: Gs variable {p + k!r} is missing")
        w0 = v[p + "Conv0/weight"]
        if w0.ndim != 4 or w0.shape[:3] != (3, 3, channels[-1]):
            raise ConvertError(f"{src}: {p}Conv0/weight: shape {w0.shape}, expected (3, 3, {channels[-1]}, C)")
        c = w0.shape[3]
        q = f"{r}x{r}."
        t[q + "conv0.weight"] = _f64(src, p + "Conv0/weight", w0).transpose(3, 2, 0, 1)
        t[q + "conv0.bias"] = _f64(src, p + "Conv0/bias", v[p + "Conv0/bias"], (c,))
        t[q + "conv1.weight"] = _f64(src, p + "Conv1/weight", v[p + "Conv1/weight"], (3, 3, c, c)).transpose(3, 2, 0, 1)
        t[q + "conv1.bias"] = _f64(src, p + "Conv1/bias", v[p + "Conv1/bias"], (c,))
        channels.append(c)
        r *= 2
    for k in ("ToRGB_lod0/weight", "ToRGB_lod0/bias"):
        if k not in v:
            raise ConvertError(f"{src}: Gs variable {k!r} is missing")
    t["torgb.weight"] = _f64(src, "ToRGB_lod0/weight", v["ToRGB_lod0/weight"], (1, 1, channels[-1], 3)).transpose(3, 2, 0, 1)
    t["torgb.bias"] = _f64(src, "ToRGB_lod0/bias", v["ToRGB_lod0/bias"], (3,))
    # the channel schedule must agree with G_paper's nf() for the stored fmap arguments
    base, decay, fmax = (kw.get(k, _KARRAS_DEFAULTS[k]) for k in ("fmap_base", "fmap_decay", "fmap_max"))
    nf = [min(int(base / (2.0 ** (s * decay))), fmax) for s in range(1, len(channels) + 1)]
    if nf != channels:
        raise ConvertError(f"{src}: channels from the variable shapes {channels} disagree with fmap_base/decay/max {nf}")
    return finish("karras", src, t, res, latent, channels)


# --- format B: pytorch_GAN_zoo .pth ---------------------------------------------------

class BaseConfigStub:
    """Stands in for models.utils.config.BaseConfig (a plain attribute bag)."""


def _zoo_pickle_module():
    import types

    class ZooUnpickler(pickle.Unpickler):
        """Allows the stubbed BaseConfig, torch's tensor/storage rebuilders, OrderedDict, plain
        builtin containers and numpy array reconstruction; refuses everything else."""

        def find_class(self, module, name):
            if (module, name) == ("models.utils.config", "BaseConfig"):
                return BaseConfigStub
            ok = ((module == "torch._utils" and name.startswith("_rebuild"))
                  or (module == "torch" and (name.endswith("Storage") or name in ("Size", "device", "dtype")))
                  or (module == "collections" and name == "OrderedDict")
                  or (module == "builtins" and name in _SAFE_BUILTINS)
                  or (module == "_codecs" and name == "encode")
                  or (module in ("numpy.core.multiarray", "numpy._core.multiarray", "numpy") and name in _NUMPY_OK))
            if ok:
                return super().find_class(module, name)
            raise pickle.UnpicklingError(f"pickle references {module}.{name}, not expected in a GAN-zoo checkpoint; refused")

    mod = types.ModuleType("hy_zoo_pickle")
    mod.Unpickler = ZooUnpickler
    mod.load = lambda f, **kw: ZooUnpickler(f, **kw).load()
    mod.__name__ = "hy_zoo_pickle"
    return mod


def _torch_load(torch, src, mod):
    """torch.load with our restricted unpickler. torch 1.13's torch.load ignores pickle_module
    unless weights_only, so call its zip / legacy loaders directly when they exist."""
    ser = torch.serialization
    if all(hasattr(ser, n) for n in ("_is_zipfile", "_open_zipfile_reader", "_load", "_legacy_load")):
        with open(src, "rb") as f:
            if ser._is_zipfile(f):
                with ser._open_zipfile_reader(f) as zf:
                    return ser._load(zf, "cpu", mod, encoding="utf-8")
            return ser._legacy_load(f, "cpu", mod, encoding="utf-8")
    return torch.load(src, map_location="cpu", pickle_module=mod, weights_only=False)


def read_zoo(src):
    try:
        import torch
    except ImportError:
        raise ConvertError(f"{src}: reading a GAN-zoo .pth needs PyTorch (python3-torch)") from None
    try:
        ck = _torch_load(torch, src, _zoo_pickle_module())
    except pickle.UnpicklingError as e:
        if "refused" in str(e):
            raise ConvertError(f"{src}: {e}") from None
        raise ConvertError(f"{src}: not a readable torch checkpoint (truncated or corrupt?): {e}") from None
    except Exception as e:
        raise ConvertError(f"{src}: not a readable torch checkpoint (truncated or corrupt?): {type(e).__name__}: {str(e).splitlines()[0][:160] if str(e) else ''}") from None
    if not isinstance(ck, dict) or not ("avgG" in ck or "netG" in ck):
        what = sorted(ck)[:8] if isinstance(ck, dict) else type(ck).__name__
        raise ConvertError(f"{src}: torch file holds {what}, expected a GAN-zoo dict with avgG/netG")
    which = "avgG" if "avgG" in ck else "netG"
    sd = ck[which]
    if not isinstance(sd, dict):
        raise ConvertError(f"{src}: {which} is {type(sd).__name__}, expected a state dict")
    state = {}
    for k, val in sd.items():
        if not hasattr(val, "detach"):
            raise ConvertError(f"{src}: {which}[{k!r}] is not a tensor")
        k2 = k[len("module."):] if k.startswith("module.") else k
        m = re.fullmatch(r"(formatLayer|groupScale0\.\d+|scaleLayers\.\d+\.\d+|toRGBLayers\.\d+)(\.module)?\.(weight|bias)", k2)
        if not m:
            raise ConvertError(f"{src}: {which} has unexpected key {k!r}; refused")
        state[f"{m.group(1)}.module.{m.group(3)}"] = val.detach().cpu().numpy()
    return ck.get("config"), state, which


def convert_zoo(src):
    cfg, s, which = read_zoo(src)
    if cfg is not None:
        def get(k, default=None):
            return getattr(cfg, k, default) if not isinstance(cfg, dict) else cfg.get(k, default)
        alpha = get("alpha", 0.0)
        if alpha is None or float(alpha) != 0.0:
            raise ConvertError(f"{src}: config alpha={alpha!r}: the network is mid-transition; only alpha 0 (finished) is supported")
        loss = get("lossCriterion", "WGANGP")
        if loss in ("MSE", "DCGAN"):
            raise ConvertError(f"{src}: config lossCriterion={loss!r} means a tanh output layer; not supported")
        if loss not in ("WGANGP", "Logistic"):
            raise ConvertError(f"{src}: config lossCriterion={loss!r} is unknown")
        for k, want in (("equalizedlR", True), ("perChannelNormalization", True), ("leakyReluLeak", 0.2),
                        ("dimOutput", 3), ("latentVectorDim", 512)):
            val = get(k, want)
            if val != want:
                raise ConvertError(f"{src}: config {k}={val!r}, expected {want!r}")
    else:
        raise ConvertError(f"{src}: checkpoint has no 'config'; cannot check alpha and the output activation")
    for k in ("formatLayer.module.weight", "formatLayer.module.bias", "groupScale0.0.module.weight",
              "groupScale0.0.module.bias"):
        if k not in s:
            raise ConvertError(f"{src}: {which} key {k!r} is missing")
    if any(re.match(r"groupScale0\.[1-9]", k) for k in s):
        raise ConvertError(f"{src}: {which} has more than one conv at 4x4; not the PGGAN layout")
    dw = s["formatLayer.module.weight"]
    if dw.ndim != 2 or dw.shape[0] % 16:
        raise ConvertError(f"{src}: formatLayer.module.weight: shape {dw.shape}, expected [16*C, latent]")
    c4, latent = dw.shape[0] // 16, dw.shape[1]
    if latent != 512:
        raise ConvertError(f"{src}: latent size {latent}, expected 512")
    nsc = len({k.split(".")[1] for k in s if k.startswith("scaleLayers.")})
    if nsc < 1 or nsc > 8:
        raise ConvertError(f"{src}: {nsc} upper scales; expected 1..8 (resolution 8..1024)")
    res = 4 << nsc
    t = {"dense.weight": _f64(src, "formatLayer.module.weight", dw),
         "dense.bias": _f64(src, "formatLayer.module.bias", s["formatLayer.module.bias"], (16 * c4,)),
         "4x4.conv.weight": _f64(src, "groupScale0.0.module.weight", s["groupScale0.0.module.weight"], (c4, c4, 3, 3)),
         "4x4.conv.bias": _f64(src, "groupScale0.0.module.bias", s["groupScale0.0.module.bias"], (c4,))}
    channels = [c4]
    used = {"formatLayer.module.weight", "formatLayer.module.bias", "groupScale0.0.module.weight",
            "groupScale0.0.module.bias"}
    for sc in range(nsc):
        r = 8 << sc
        keys = [f"scaleLayers.{sc}.{j}.module.{p}" for j in (0, 1) for p in ("weight", "bias")]
        for k in keys:
            if k not in s:
                raise ConvertError(f"{src}: {which} key {k!r} is missing")
        w0 = s[keys[0]]
        if w0.ndim != 4 or w0.shape[1:] != (channels[-1], 3, 3):
            raise ConvertError(f"{src}: {keys[0]}: shape {w0.shape}, expected (C, {channels[-1]}, 3, 3)")
        c = w0.shape[0]
        q = f"{r}x{r}."
        t[q + "conv0.weight"] = _f64(src, keys[0], w0)
        t[q + "conv0.bias"] = _f64(src, keys[1], s[keys[1]], (c,))
        t[q + "conv1.weight"] = _f64(src, keys[2], s[keys[2]], (c, c, 3, 3))
        t[q + "conv1.bias"] = _f64(src, keys[3], s[keys[3]], (c,))
        channels.append(c)
        used.update(keys)
    kw, kb = f"toRGBLayers.{nsc}.module.weight", f"toRGBLayers.{nsc}.module.bias"
    for k in (kw, kb):
        if k not in s:
            raise ConvertError(f"{src}: {which} key {k!r} is missing")
    t["torgb.weight"] = _f64(src, kw, s[kw], (3, channels[-1], 1, 1))
    t["torgb.bias"] = _f64(src, kb, s[kb], (3,))
    for k in s:
        m = re.fullmatch(r"toRGBLayers\.(\d+)\.module\.(weight|bias)", k)
        if (m and int(m.group(1)) > nsc) or (not m and k not in used):
            raise ConvertError(f"{src}: {which} has unexpected key {k!r}; inconsistent with {nsc} scales")
    return finish("zoo", src, t, res, latent, channels)


# --- format C: HYPER MXNet .params ----------------------------------------------------

MX_LIST_MAGIC = 0x112
MX_V1, MX_V2, MX_V3 = 0xF993FAC8, 0xF993FAC9, 0xF993FACA
MX_DTYPES = {0: "<f4", 1: "<f8", 2: "<f2", 3: "u1", 4: "<i4", 5: "i1", 6: "<i8"}


def read_mxnet_params(src):
    """Parses an MXNet NDArray-list file. Returns a list of (name or None, float32 array)."""
    with open(src, "rb") as f:
        buf = f.read()
    pos = 0

    def take(fmt):
        nonlocal pos
        n = struct.calcsize(fmt)
        if pos + n > len(buf):
            raise ConvertError(f"{src}: truncated MXNet params file (at byte {pos}, need {n} more)")
        v = struct.unpack_from(fmt, buf, pos)
        pos += n
        return v if len(v) > 1 else v[0]

    magic, _reserved = take("<QQ")
    if magic != MX_LIST_MAGIC:
        raise ConvertError(f"{src}: not an MXNet NDArray list (magic {magic:#x}, expected 0x112)")
    n = take("<Q")
    if n > 100000:
        raise ConvertError(f"{src}: MXNet params file claims {n} arrays; corrupt")
    arrays = []
    for i in range(n):
        word = take("<I")
        if word in (MX_V2, MX_V3):
            stype = take("<i")
            if stype != 0:
                raise ConvertError(f"{src}: array {i}: sparse storage type {stype} is not supported")
        elif word != MX_V1:
            stype = None  # legacy record: `word` is ndim, dims are u32
        if word in (MX_V1, MX_V2, MX_V3):
            ndim = take("<i")
            if ndim > 32 or ndim < -1:
                raise ConvertError(f"{src}: array {i}: bad ndim {ndim}; corrupt")
            if (word == MX_V3 and ndim == -1) or (word != MX_V3 and ndim == 0):
                arrays.append(None)
                continue
            shape = take("<%dq" % ndim) if ndim > 0 else ()
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
        else:
            ndim = word
            if ndim > 32:
                raise ConvertError(f"{src}: array {i}: unknown record magic {word:#x}; corrupt or unsupported")
            if ndim == 0:
                arrays.append(None)
                continue
            shape = take("<%dI" % ndim)
            shape = (shape,) if isinstance(shape, int) else tuple(shape)
        if any(d < 0 for d in shape):
            raise ConvertError(f"{src}: array {i}: negative dimension in {shape}")
        _dev_type, _dev_id = take("<ii")
        dtype = take("<i")
        if dtype != 0:
            raise ConvertError(f"{src}: array {i}: dtype code {dtype} ({MX_DTYPES.get(dtype, '?')}), expected 0 (float32)")
        count = int(np.prod(shape, dtype=np.int64))
        nbytes = 4 * count
        if pos + nbytes > len(buf):
            raise ConvertError(f"{src}: truncated MXNet params file (array {i} data)")
        arrays.append(np.frombuffer(buf, dtype="<f4", count=count, offset=pos).reshape(shape).copy())
        pos += nbytes
    k = take("<Q")
    if k not in (0, n):
        raise ConvertError(f"{src}: MXNet params file has {k} names for {n} arrays")
    names = []
    for _ in range(k):
        ln = take("<Q")
        if ln > 4096 or pos + ln > len(buf):
            raise ConvertError(f"{src}: truncated or corrupt MXNet name table")
        names.append(buf[pos:pos + ln].decode("utf-8", "replace"))
        pos += ln
    if pos != len(buf):
        raise ConvertError(f"{src}: {len(buf) - pos} trailing bytes after the MXNet name table; corrupt")
    if not names:
        names = [None] * n
    return list(zip(names, arrays))


def _hyper_layers(src, items):
    """Maps the named arrays onto the Gluon structure by name structure (not by prefix) and
    returns the layers in forward order: ('dense', w), ('bias', b), ('conv', w, b) at 4x4,
    ('block', w0, b0, w1, b1) per resolution, ('conv', w, b) for the output (toRGB).
    Names: structural `1.weight`, `8.0.bias` (save_parameters) or prefixed
    `generator0_block3_conv1_weight` (collect_params().save), optionally with `arg:`/`aux:`."""
    if any(nm is None for nm, _ in items):
        raise ConvertError(f"{src}: MXNet params file has no names; cannot map it onto the HYPER generator")
    parsed = []  # (path tuple, param, array, name)
    for name, arr in items:
        if arr is None:
            raise ConvertError(f"{src}: parameter {name!r} is an empty array")
        nm = re.sub(r"^(arg|aux):", "", name)
        if re.fullmatch(r"\d+(\.\d+)*\.(weight|bias|b)", nm):
            parts = nm.split(".")
            parsed.append((tuple(int(x) for x in parts[:-1]), parts[-1], arr, name))
        elif re.fullmatch(r"[A-Za-z0-9]+(_[A-Za-z0-9]+)*_(weight|bias|b)", nm):
            toks = nm.split("_")
            parsed.append((tuple(toks[:-1]), toks[-1], arr, name))
        else:
            raise ConvertError(f"{src}: parameter name {name!r} does not match the HYPER generator layout")
    depth = min(len(p) for p, _, _, _ in parsed)
    structural = isinstance(parsed[0][0][0], int)
    if any(isinstance(p[0], int) != structural for p, _, _, _ in parsed):
        raise ConvertError(f"{src}: parameter names mix structural and prefixed forms")
    roots = {p[:depth - 1] for p, _, _, _ in parsed}
    if len(roots) != 1:
        raise ConvertError(f"{src}: parameters belong to several networks {sorted(roots)[:3]}; expected one generator")

    def counter(tok, kind):
        m = re.fullmatch(kind + r"(\d+)", tok)
        return int(m.group(1)) if m else None

    convs = sorted(counter(p[-1], "conv") for p, _, _, _ in parsed
                   if len(p) == depth and counter(p[-1], "conv") is not None) if not structural else []
    groups = {}  # (top key, child key or -1) -> {param: array}
    for p, param, arr, name in parsed:
        if len(p) not in (depth, depth + 1):
            raise ConvertError(f"{src}: parameter {name!r} is nested deeper than the HYPER layout")
        if structural:
            key = (p[depth - 1], p[depth]) if len(p) == depth + 1 else (p[depth - 1], -1)
        else:
            tok = p[depth - 1]
            if len(p) == depth + 1:
                n = counter(tok, "[a-z]+")
                c = counter(p[depth], "conv")
                if n is None or c is None:
                    raise ConvertError(f"{src}: parameter {name!r}: expected <block>N_convM inside a block")
                key = ((3, n), c)
            elif counter(tok, "dense") is not None:
                key = ((0, counter(tok, "dense")), -1)
            elif counter(tok, "bias") is not None:
                key = ((1, counter(tok, "bias")), -1)
            elif counter(tok, "conv") is not None:
                c = counter(tok, "conv")
                key = ((2 if c == convs[0] else 4, c), -1)
            else:
                raise ConvertError(f"{src}: parameter {name!r}: unknown layer {tok!r}")
        d = groups.setdefault(key, {})
        if param in d:
            raise ConvertError(f"{src}: parameter {name!r} duplicates another for the same layer")
        d[param] = arr
    tops = {}
    for top, child in groups:
        tops.setdefault(top, []).append(child)
    layers = []
    for top in sorted(tops):
        children = sorted(tops[top])
        if children == [-1]:
            d = groups[(top, -1)]
            if set(d) == {"weight"}:
                layers.append(("dense", d["weight"]))
            elif set(d) == {"b"}:
                layers.append(("bias", d["b"]))
            elif set(d) == {"weight", "bias"}:
                layers.append(("conv", d["weight"], d["bias"]))
            else:
                raise ConvertError(f"{src}: layer {top} has parameters {sorted(d)}; not in the HYPER layout")
        else:
            if len(children) != 2 or -1 in children:
                raise ConvertError(f"{src}: block {top} has {len(children)} parametrised layers, expected 2 convs")
            ws = []
            for ch in children:
                d = groups[(top, ch)]
                if set(d) != {"weight", "bias"}:
                    raise ConvertError(f"{src}: block {top} layer {ch} has parameters {sorted(d)}, expected weight and bias")
                ws += [d["weight"], d["bias"]]
            layers.append(("block", *ws))
    kinds = [lay[0] for lay in layers]
    nb = kinds.count("block")
    if kinds != ["dense", "bias", "conv"] + ["block"] * nb + ["conv"] or nb < 1:
        raise ConvertError(f"{src}: layer sequence {kinds} is not the HYPER generator's "
                           "(dense, bias, conv, block..., conv)")
    return layers


def convert_hyper(src):
    items = read_mxnet_params(src)
    layers = _hyper_layers(src, items)
    dw = layers[0][1]
    if dw.ndim != 2 or dw.shape[0] % 16:
        raise ConvertError(f"{src}: dense weight shape {dw.shape}, expected (16*C, latent)")
    c4, latent = dw.shape[0] // 16, dw.shape[1]
    if latent != 512:
        raise ConvertError(f"{src}: latent size {latent}, expected 512")
    t = {"dense.weight": _f64(src, "dense weight", dw),
         "dense.bias": np.repeat(_f64(src, "bias b", layers[1][1], (c4,)), 16),
         "4x4.conv.weight": _f64(src, "4x4 conv weight", layers[2][1], (c4, c4, 3, 3)),
         "4x4.conv.bias": _f64(src, "4x4 conv bias", layers[2][2], (c4,))}
    channels = [c4]
    blocks = [lay for lay in layers if lay[0] == "block"]
    if len(blocks) > 8:
        raise ConvertError(f"{src}: {len(blocks)} blocks; more than 1024x1024")
    for i, (_, w0, b0, w1, b1) in enumerate(blocks):
        r = 8 << i
        if w0.ndim != 4 or w0.shape[1:] != (channels[-1], 3, 3):
            raise ConvertError(f"{src}: block {i} conv0 weight shape {w0.shape}, expected (C, {channels[-1]}, 3, 3)")
        c = w0.shape[0]
        q = f"{r}x{r}."
        t[q + "conv0.weight"] = _f64(src, f"block {i} conv0 weight", w0)
        t[q + "conv0.bias"] = _f64(src, f"block {i} conv0 bias", b0, (c,))
        t[q + "conv1.weight"] = _f64(src, f"block {i} conv1 weight", w1, (c, c, 3, 3))
        t[q + "conv1.bias"] = _f64(src, f"block {i} conv1 bias", b1, (c,))
        channels.append(c)
    t["torgb.weight"] = _f64(src, "output conv weight", layers[-1][1], (3, channels[-1], 1, 1))
    t["torgb.bias"] = _f64(src, "output conv bias", layers[-1][2], (3,))
    res = 4 << len(blocks)
    return finish("hyper", src, t, res, latent, channels)


# --- detection and CLI ----------------------------------------------------------------

TORCH_LEGACY_MAGIC = 0x1950A86A20F9469CFC6C


def detect_format(src):
    with open(src, "rb") as f:
        head = f.read(4096)
    if len(head) >= 8 and struct.unpack_from("<Q", head, 0)[0] == MX_LIST_MAGIC:
        return "hyper"
    if head[:4] == b"PK\x03\x04":
        return "zoo"
    if head[:1] == b"\x80":
        if b"tfutil" in head[:1024]:
            return "karras"
        if b"network" in head[:1024] and b"Network" in head[:1024]:
            raise ConvertError(f"{src}: Theano-era pickle (network.Network); convert it with the release's legacy.py first")
        try:
            first = _NoClassUnpickler(io.BytesIO(head)).load() if len(head) > 2 else None
        except Exception:
            first = None
        if first == TORCH_LEGACY_MAGIC:
            return "zoo"
    raise ConvertError(f"{src}: unrecognised content; expected a Karras .pkl, a GAN-zoo .pth or an MXNet .params file")


CONVERTERS = {"karras": convert_karras, "zoo": convert_zoo, "hyper": convert_hyper}


def convert(src, fmt="auto"):
    if not os.path.isfile(src):
        raise ConvertError(f"{src}: no such file")
    if fmt == "auto":
        fmt = detect_format(src)
    return CONVERTERS[fmt](src)


def main(argv=None):
    ap = argparse.ArgumentParser(description="Convert a PGGAN generator checkpoint to the canonical weight file.")
    ap.add_argument("src", help="Karras .pkl, GAN-zoo .pth or HYPER generator.params")
    ap.add_argument("-o", "--out", required=True, help="output .bin (kind pggan)")
    ap.add_argument("--format", default="auto", choices=["auto", "karras", "zoo", "hyper"])
    a = ap.parse_args(argv)
    try:
        w = convert(a.src, a.format)
        w.save(a.out)
    except (ConvertError, wfile.WFileError, OSError) as e:
        msg = str(e).replace("\n", " ")
        print(f"pggan.py: error: {msg}", file=sys.stderr)
        return 1
    cfg = {k: v for k, _, v in w.cfg}
    print(f"{a.out}: pggan {cfg['resolution']}x{cfg['resolution']} from {cfg['source_format']}, "
          f"latent {cfg['latent_size']}, channels {cfg['channels']}, "
          f"{sum(t.size for _, t in w.tensors):,} parameters")
    return 0


if __name__ == "__main__":
    sys.exit(main())
