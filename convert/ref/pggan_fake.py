"""pggan_fake.py - seeded random PGGAN checkpoints in each REAL source layout, for tests.

  write_karras_pkl(path, resolution, ...)  progressive_growing_of_gans pickle: a tuple (G, D, Gs)
      whose elements pickle as module `tfutil`, class `Network` (a throwaway class registered
      as sys.modules['tfutil'] only while pickling), state {version 2, name, static_kwargs,
      build_module_src, build_func_name 'G_paper', variables [(name, float32 array)...]} with
      `lod`, 4x4/Dense, 4x4/Conv, every ToRGB_lod{k}, {r}x{r}/Conv0|1, in G_paper's order.
      G gets different weights from Gs (a converter that picks G fails the tests); D is small.
  write_zoo_pth(path, channels, ...)  pytorch_GAN_zoo torch.save dict {config: BaseConfig object
      of class models.utils.config.BaseConfig, netG, netD, avgG} with `.module` keys.
  write_hyper_params(path, channels, ...)  MXNet NDArray-list (V2 records) with Gluon names.

`karras_vars`, `zoo_state` and `hyper_params` also return the native tensors so tests can
run pggan_ref's native forwards on exactly what was written. Weights follow each format's
own init (N(0,1) with runtime scaling for Karras and GAN zoo, He-scaled for HYPER), biases
small random so that bias handling is exercised.
"""
import collections
import math
import pickle
import struct
import sys
import types

import numpy as np

OFFICIAL_KWARGS = dict(num_channels=3, resolution=1024, fmap_base=8192, fmap_decay=1.0, fmap_max=512,
                       latent_size=512, normalize_latents=True, use_wscale=True, use_pixelnorm=True,
                       use_leakyrelu=True, fused_scale=False, mbstd_group_size=16)


def karras_nf(stage, fmap_base, fmap_decay, fmap_max):
    return min(int(fmap_base / (2.0 ** (stage * fmap_decay))), fmap_max)


def karras_vars(resolution, fmap_base=8192, fmap_decay=1.0, fmap_max=512, latent=512, seed=0, bias_std=0.1):
    """G_paper variables (TF layout) in the order Network.__getstate__ lists them."""
    g = np.random.default_rng(seed)
    log2 = int(math.log2(resolution))
    nf = lambda s: karras_nf(s, fmap_base, fmap_decay, fmap_max)  # noqa: E731
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    out = [("lod", np.float32(0.0))]
    out += [("4x4/Dense/weight", f32(g.standard_normal((latent, nf(1) * 16)))),
            ("4x4/Dense/bias", f32(g.standard_normal(nf(1)) * bias_std)),
            ("4x4/Conv/weight", f32(g.standard_normal((3, 3, nf(1), nf(1))))),
            ("4x4/Conv/bias", f32(g.standard_normal(nf(1)) * bias_std)),
            (f"ToRGB_lod{log2 - 2}/weight", f32(g.standard_normal((1, 1, nf(1), 3)))),
            (f"ToRGB_lod{log2 - 2}/bias", f32(g.standard_normal(3) * bias_std))]
    for res in range(3, log2 + 1):
        r, c, cp = 2 ** res, nf(res - 1), nf(res - 2)
        out += [(f"{r}x{r}/Conv0/weight", f32(g.standard_normal((3, 3, cp, c)))),
                (f"{r}x{r}/Conv0/bias", f32(g.standard_normal(c) * bias_std)),
                (f"{r}x{r}/Conv1/weight", f32(g.standard_normal((3, 3, c, c)))),
                (f"{r}x{r}/Conv1/bias", f32(g.standard_normal(c) * bias_std)),
                (f"ToRGB_lod{log2 - res}/weight", f32(g.standard_normal((1, 1, c, 3)))),
                (f"ToRGB_lod{log2 - res}/bias", f32(g.standard_normal(3) * bias_std))]
    return out


class _TfutilModule:
    """Context manager that makes a fake `tfutil.Network` picklable by reference."""

    def __enter__(self):
        mod = types.ModuleType("tfutil")

        class Network:
            def __init__(self, state):
                self._state = state

            def __getstate__(self):
                return self._state

        Network.__module__ = "tfutil"
        Network.__qualname__ = "Network"
        mod.Network = Network
        self.saved = sys.modules.get("tfutil")
        sys.modules["tfutil"] = mod
        return Network

    def __exit__(self, *exc):
        if self.saved is None:
            del sys.modules["tfutil"]
        else:
            sys.modules["tfutil"] = self.saved


def _state(name, kwargs, variables, func="G_paper"):
    return {"version": 2, "name": name, "static_kwargs": dict(kwargs),
            "build_module_src": "raise RuntimeError('this source must never be executed')\n",
            "build_func_name": func, "variables": list(variables)}


def write_karras_pkl(path, resolution, fmap_base=8192, fmap_decay=1.0, fmap_max=512, seed=0,
                     kwargs_update=None, kwargs_drop=(), variables_edit=None, g_equals_gs=False,
                     protocol=4):
    """Writes the pickle and returns the Gs variables dict (TF layout) actually written.
    kwargs_update/kwargs_drop edit static_kwargs; variables_edit(list) -> list edits Gs's variables."""
    kw = dict(OFFICIAL_KWARGS, resolution=resolution, fmap_base=fmap_base, fmap_decay=fmap_decay, fmap_max=fmap_max)
    kw.update(kwargs_update or {})
    for k in kwargs_drop:
        kw.pop(k, None)
    gs_vars = karras_vars(resolution, fmap_base, fmap_decay, fmap_max, seed=seed)
    if variables_edit is not None:
        gs_vars = variables_edit(gs_vars)
    g_vars = gs_vars if g_equals_gs else karras_vars(resolution, fmap_base, fmap_decay, fmap_max, seed=seed + 1000)
    d_vars = [("lod", np.float32(0.0)), ("FromRGB_lod0/weight", np.ones((1, 1, 3, 16), np.float32)),
              ("4x4/Dense1/weight", np.ones((16, 1), np.float32))]
    d_kw = {k: v for k, v in kw.items() if k in ("num_channels", "resolution", "fmap_base", "fmap_decay", "fmap_max")}
    with _TfutilModule() as Network:
        obj = (Network(_state("G", kw, g_vars)), Network(_state("D", d_kw, d_vars, "D_paper")),
               Network(_state("Gs", kw, gs_vars)))
        with open(path, "wb") as f:
            pickle.dump(obj, f, protocol=protocol)
    return dict(gs_vars)


# --- GAN zoo ---------------------------------------------------------------------------

class _ZooConfigModule:
    """Registers models, models.utils, models.utils.config with a BaseConfig class while saving."""

    NAMES = ("models", "models.utils", "models.utils.config")

    def __enter__(self):
        self.saved = {n: sys.modules.get(n) for n in self.NAMES}
        mods = {n: types.ModuleType(n) for n in self.NAMES}

        class BaseConfig:
            pass

        BaseConfig.__module__ = "models.utils.config"
        BaseConfig.__qualname__ = "BaseConfig"
        mods["models.utils.config"].BaseConfig = BaseConfig
        mods["models"].utils = mods["models.utils"]
        mods["models.utils"].config = mods["models.utils.config"]
        sys.modules.update(mods)
        return BaseConfig

    def __exit__(self, *exc):
        for n, m in self.saved.items():
            if m is None:
                sys.modules.pop(n, None)
            else:
                sys.modules[n] = m


def zoo_state(channels, latent=512, seed=0, bias_std=0.1, module=True):
    """GNet state dict (numpy) for depthScale0 = channels[0], depthOtherScales = channels[1:]."""
    g = np.random.default_rng(seed)
    m = ".module" if module else ""
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    s = {f"formatLayer{m}.weight": f32(g.standard_normal((16 * channels[0], latent))),
         f"formatLayer{m}.bias": f32(g.standard_normal(16 * channels[0]) * bias_std),
         f"groupScale0.0{m}.weight": f32(g.standard_normal((channels[0], channels[0], 3, 3))),
         f"groupScale0.0{m}.bias": f32(g.standard_normal(channels[0]) * bias_std)}
    # GNet registers toRGBLayers[0] at init, then each addScale appends a scale and a toRGB
    s[f"toRGBLayers.0{m}.weight"] = f32(g.standard_normal((3, channels[0], 1, 1)))
    s[f"toRGBLayers.0{m}.bias"] = f32(g.standard_normal(3) * bias_std)
    for i in range(1, len(channels)):
        c, cp = channels[i], channels[i - 1]
        s[f"scaleLayers.{i - 1}.0{m}.weight"] = f32(g.standard_normal((c, cp, 3, 3)))
        s[f"scaleLayers.{i - 1}.0{m}.bias"] = f32(g.standard_normal(c) * bias_std)
        s[f"scaleLayers.{i - 1}.1{m}.weight"] = f32(g.standard_normal((c, c, 3, 3)))
        s[f"scaleLayers.{i - 1}.1{m}.bias"] = f32(g.standard_normal(c) * bias_std)
        s[f"toRGBLayers.{i}{m}.weight"] = f32(g.standard_normal((3, c, 1, 1)))
        s[f"toRGBLayers.{i}{m}.bias"] = f32(g.standard_normal(3) * bias_std)
    # natural key order (as nn.Module.state_dict lists them)
    order = lambda k: (["formatLayer", "groupScale0", "scaleLayers", "toRGBLayers"].index(k.split(".")[0]), k)  # noqa: E731
    return dict(sorted(s.items(), key=lambda kv: order(kv[0])))


def write_zoo_pth(path, channels, seed=0, alpha=0.0, loss="WGANGP", with_avg=True, module=True,
                  state_edit=None, config_update=None):
    """Writes a GAN-zoo checkpoint; returns the generator state (numpy) the converter should use."""
    import torch
    avg = zoo_state(channels, seed=seed, module=module)
    net = zoo_state(channels, seed=seed + 1000, module=module)
    used = avg if with_avg else net
    if state_edit is not None:
        used = state_edit(dict(used))
        if with_avg:
            avg = used
        else:
            net = used
    def t(sd):  # like nn.Module.state_dict(): an OrderedDict carrying _metadata
        od = collections.OrderedDict((k, torch.from_numpy(np.array(v))) for k, v in sd.items())
        od._metadata = collections.OrderedDict([("", {"version": 1}), ("formatLayer", {"version": 1})])
        return od
    with _ZooConfigModule() as BaseConfig:
        cfg = BaseConfig()
        cfg.__dict__.update(dict(depthScale0=channels[0], depthOtherScales=list(channels[1:]), alpha=alpha,
                                 leakyReluLeak=0.2, perChannelNormalization=True, equalizedlR=True,
                                 initBiasToZero=True, miniBatchStdDev=True, latentVectorDim=512, dimOutput=3,
                                 lossCriterion=loss, lambdaGP=10.0, epsilonD=0.001, weightConditionG=0.0,
                                 weightConditionD=0.0, attribKeysOrder=None, GDPP=False,
                                 maxIterAtScale=[48000] * len(channels), learningRate=0.001))
        cfg.__dict__.update(config_update or {})
        ck = {"config": cfg, "netG": t(net), "netD": {"decisionLayer.module.weight": torch.ones(1, 16)}}
        if with_avg:
            ck["avgG"] = t(avg)
        torch.save(ck, path)
    return used


# --- HYPER MXNet ---------------------------------------------------------------------------

def hyper_params(channels, latent=512, seed=0, bias_std=0.1):
    """HYPER Gluon generator parameters in layer order, keyed as pggan_ref.hyper_forward wants."""
    g = np.random.default_rng(seed)
    f32 = lambda a: np.asarray(a, dtype=np.float32)  # noqa: E731
    he = lambda shape: f32(g.standard_normal(shape) * math.sqrt(2.0 / np.prod(shape[1:])))  # noqa: E731
    p = {"dense.weight": f32(g.standard_normal((16 * channels[0], latent)) * (math.sqrt(2) / 4 / math.sqrt(latent))),
         "bias.b": f32(g.standard_normal(channels[0]) * bias_std),
         "conv.weight": he((channels[0], channels[0], 3, 3)),
         "conv.bias": f32(g.standard_normal(channels[0]) * bias_std)}
    for i in range(1, len(channels)):
        c, cp = channels[i], channels[i - 1]
        p[f"block{i - 1}.conv0.weight"] = he((c, cp, 3, 3))
        p[f"block{i - 1}.conv0.bias"] = f32(g.standard_normal(c) * bias_std)
        p[f"block{i - 1}.conv1.weight"] = he((c, c, 3, 3))
        p[f"block{i - 1}.conv1.bias"] = f32(g.standard_normal(c) * bias_std)
    p["out.weight"] = f32(g.standard_normal((3, channels[-1], 1, 1)) / math.sqrt(channels[-1]))
    p["out.bias"] = f32(g.standard_normal(3) * bias_std)
    return p


def hyper_names(params, style="structural", root="generator0"):
    """Gluon names for hyper_params keys: 'structural' (save_parameters: 1.weight, 8.0.weight),
    'prefixed' (collect_params().save: generator0_block0_conv0_weight) or 'arg' (prefixed + 'arg:')."""
    out = {}
    for k in params:
        layer, param = k.rsplit(".", 1)
        if style == "structural":
            if layer.startswith("block"):
                b, conv = layer.split(".")
                n = f"{8 + int(b[5:])}.{0 if conv == 'conv0' else 3}"
            else:
                nb = sum(1 for q in params if q.endswith(".conv0.weight"))
                n = {"dense": "1", "bias": "2", "conv": "5", "out": str(8 + nb)}[layer]
            out[k] = f"{n}.{param}"
        else:
            if layer.startswith("block"):
                b, conv = layer.split(".")
                n = f"{root}_{b}_{conv}"
            else:
                n = {"dense": f"{root}_dense0", "bias": f"{root}_bias0", "conv": f"{root}_conv0",
                     "out": f"{root}_conv1"}[layer]
            out[k] = ("arg:" if style == "arg" else "") + f"{n}_{param}"
    return out


def write_mx_ndarray_list(path, named, version=2):
    """named: list of (name or None, float32 array). version 2 or 3 records (dense, cpu)."""
    magic = {1: 0xF993FAC8, 2: 0xF993FAC9, 3: 0xF993FACA}[version]
    out = bytearray(struct.pack("<QQ", 0x112, 0))
    out += struct.pack("<Q", len(named))
    for _, a in named:
        a = np.ascontiguousarray(a, dtype="<f4")
        out += struct.pack("<I", magic)
        if version >= 2:
            out += struct.pack("<i", 0)  # stype dense
        out += struct.pack("<i", a.ndim) + struct.pack("<%dq" % a.ndim, *a.shape)
        out += struct.pack("<ii", 1, 0)  # context cpu(0)
        out += struct.pack("<i", 0)  # float32
        out += a.tobytes()
    names = [n for n, _ in named]
    if all(n is not None for n in names):
        out += struct.pack("<Q", len(names))
        for n in names:
            nb = n.encode()
            out += struct.pack("<Q", len(nb)) + nb
    else:
        out += struct.pack("<Q", 0)
    with open(path, "wb") as f:
        f.write(out)


def write_hyper_params(path, channels, seed=0, style="structural", version=2, order=None):
    """Writes HYPER generator.params; returns the parameters dict (hyper_forward keys)."""
    p = hyper_params(channels, seed=seed)
    names = hyper_names(p, style)
    keys = list(p) if order is None else order(list(p))
    write_mx_ndarray_list(path, [(names[k], p[k]) for k in keys], version)
    return p
