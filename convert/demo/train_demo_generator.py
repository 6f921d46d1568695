"""train_demo_generator.py - trains the bundled demo generator: a small PGGAN-architecture net (64x64 RGB from a
512-d latent) used as the decoder of a VAE on the 10,000 CelebA faces (convert/demo/demo_data.py), then writes it as a
canonical "pggan" weight file (include/models/pggan.h) through convert/wfile.py.

The generator is exactly the canonical forward pass of spec pggan.md section 1 (no equalized-LR scaling is used
during training, so the trained weights are already canonical):
    PN(z) -> dense 512 -> 16*C4 (+ per-unit bias) -> view (C4,4,4) -> LReLU -> PN -> conv3x3 -> LReLU -> PN
    -> per scale r = 8..64: nearest up 2x, conv3x3, LReLU, PN, conv3x3, LReLU, PN -> 1x1 toRGB (linear)
The output is trained towards images in [-1, 1] (pixel/127.5 - 1), so the Karras uint8 rule
u8 = rint(127.5 x + 127.5) gives the picture back.

Training (default --mode pca, see weights/README.md): a VAE whose encoder is fixed: the first --pca-dims latent
dims of q(z|x) are the image's whitened PCA coefficients (zero mean, identity covariance over the data) with
N(0, s^2) posterior noise, the other dims pure N(0, 1) noise that the generator's zero dense weights ignore.
Loss: squared error to the image in [-1, 1]. Progressive growing (--phases) with box-downsampled targets, then
the full resolution with cosine LR decay. --mode vae trains a conv encoder with a KL term instead (untested at
this budget). Deterministic for a given --seed, schedule and thread count; a killed run resumes from --ckpt.

    /usr/bin/python3 convert/demo/train_demo_generator.py --no-resume --out weights/demo_generator.bin
    /usr/bin/python3 convert/demo/train_demo_generator.py --export-only CKPT --out weights/demo_generator.bin
"""
import argparse
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import wfile  # noqa: E402

LATENT = 512
DEFAULT_CHANNELS = [128, 128, 64, 32, 8]  # C(r) for r = 4, 8, 16, 32, 64


def pn(x):
    return x * torch.rsqrt(torch.mean(x * x, dim=1, keepdim=True) + 1e-8)


class Generator(nn.Module):
    """Canonical PGGAN generator (plain parameters: what is stored is what runs)."""

    def __init__(self, channels=DEFAULT_CHANNELS, latent=LATENT):
        super().__init__()
        self.channels = list(channels)
        self.latent = latent
        c4 = channels[0]
        self.dense = nn.Linear(latent, 16 * c4)
        self.conv4 = nn.Conv2d(c4, c4, 3, padding=1)
        self.conv0 = nn.ModuleList()
        self.conv1 = nn.ModuleList()
        for cin, cout in zip(channels[:-1], channels[1:]):
            self.conv0.append(nn.Conv2d(cin, cout, 3, padding=1))
            self.conv1.append(nn.Conv2d(cout, cout, 3, padding=1))
        self.torgb = nn.Conv2d(channels[-1], 3, 1)
        # training only (progressive growing): toRGB heads for the lower resolutions; never exported
        self.aux_torgb = nn.ModuleList([nn.Conv2d(c, 3, 1) for c in channels[:-1]])

    @property
    def resolution(self):
        return 4 << (len(self.channels) - 1)

    def forward(self, z, res=None):
        """res < self.resolution (training only) stops early and uses that resolution's auxiliary toRGB."""
        res = res or self.resolution
        x = pn(z)
        x = self.dense(x).view(-1, self.channels[0], 4, 4)
        x = pn(F.leaky_relu(x, 0.2))
        x = pn(F.leaky_relu(self.conv4(x), 0.2))
        r = 4
        for c0, c1 in zip(self.conv0, self.conv1):
            if r == res:
                break
            x = F.interpolate(x, scale_factor=2, mode="nearest")
            x = pn(F.leaky_relu(c0(x), 0.2))
            x = pn(F.leaky_relu(c1(x), 0.2))
            r *= 2
        if res == self.resolution:
            return self.torgb(x)
        return self.aux_torgb[(res // 4).bit_length() - 1](x)

    def canonical_tensors(self):
        """(name, float32 numpy) in the include/models/pggan.h layout."""
        g = lambda t: t.detach().cpu().numpy().astype(np.float32)  # noqa: E731
        out = [("dense.weight", g(self.dense.weight)), ("dense.bias", g(self.dense.bias)),
               ("4x4.conv.weight", g(self.conv4.weight)), ("4x4.conv.bias", g(self.conv4.bias))]
        r = 8
        for c0, c1 in zip(self.conv0, self.conv1):
            out += [(f"{r}x{r}.conv0.weight", g(c0.weight)), (f"{r}x{r}.conv0.bias", g(c0.bias)),
                    (f"{r}x{r}.conv1.weight", g(c1.weight)), (f"{r}x{r}.conv1.bias", g(c1.bias))]
            r *= 2
        out += [("torgb.weight", g(self.torgb.weight)), ("torgb.bias", g(self.torgb.bias))]
        return out


class Encoder(nn.Module):
    def __init__(self, width=32, latent=LATENT):
        super().__init__()
        w = width
        self.net = nn.Sequential(
            nn.Conv2d(3, w, 4, 2, 1), nn.LeakyReLU(0.2),  # 32
            nn.Conv2d(w, 2 * w, 4, 2, 1), nn.LeakyReLU(0.2),  # 16
            nn.Conv2d(2 * w, 4 * w, 4, 2, 1), nn.LeakyReLU(0.2),  # 8
            nn.Conv2d(4 * w, 8 * w, 4, 2, 1), nn.LeakyReLU(0.2),  # 4
            nn.Flatten(), nn.Linear(8 * w * 16, 2 * latent))

    def forward(self, x):
        mu, logvar = self.net(x).chunk(2, dim=1)
        return mu, logvar.clamp(-12, 6)


class PCAEncoder(nn.Module):
    """A fixed linear Gaussian encoder: the first k latent dims are the whitened PCA coefficients of the image
    (zero mean, identity covariance over the training set), shrunk by sqrt(1 - s^2) and with N(0, s^2) noise
    added; the other 512 - k dims are pure N(0, 1) noise, which the generator learns to ignore. So q(z) over
    the data has mean 0 and covariance I, matching the N(0, I) prior the demo samples from."""

    def __init__(self, data_u8, k, noise, seed, latent=LATENT):
        super().__init__()
        g = torch.Generator().manual_seed(seed)
        x = data_u8.reshape(data_u8.shape[0], -1).float().div_(127.5).sub_(1.0)
        mean = x.mean(0)
        x -= mean
        torch.manual_seed(seed)
        _, s, v = torch.svd_lowrank(x, q=k + 16, niter=3)
        std = s[:k] / (x.shape[0] - 1) ** 0.5
        self.register_buffer("mean", mean)
        self.register_buffer("proj", (v[:, :k] / std).contiguous())  # (3*64*64, k)
        self.k, self.noise, self.latent, self.g = k, noise, latent, g
        tot = x.pow(2).sum() / (x.shape[0] - 1)
        print(f"PCA: {k} dims explain {100 * float(std.pow(2).sum() / tot):.1f}% of the pixel variance", flush=True)

    def coeffs(self, x):
        """x: NCHW in [-1, 1] -> whitened coefficients (N, k); the layout is NHWC-flattened like the data."""
        flat = x.permute(0, 2, 3, 1).reshape(x.shape[0], -1)
        return (flat - self.mean) @ self.proj

    def forward(self, x):
        c = self.coeffs(x)
        mu = torch.zeros(x.shape[0], self.latent)
        mu[:, :self.k] = c
        return mu, torch.zeros_like(mu)

    def sample(self, x):
        c = self.coeffs(x)
        z = torch.randn(x.shape[0], self.latent)
        z[:, :self.k] = c * (1 - self.noise ** 2) ** 0.5 + self.noise * z[:, :self.k]
        return z


def export(gen, path, source_format="demo-vae"):
    w = wfile.WFile("pggan")
    w.config("resolution", gen.resolution)
    w.config("latent_size", gen.latent)
    w.config("channels", gen.channels)
    w.config("source_format", source_format)
    for name, a in gen.canonical_tensors():
        w.tensor(name, a)
    os.makedirs(os.path.dirname(os.path.abspath(path)), exist_ok=True)
    w.save(path)


def export_zoo(gen, path):
    """Writes the generator as a pytorch_GAN_zoo-layout checkpoint (spec pggan.md section 4): every layer stores
    W/c and b/c with c = sqrt(2/fan_in), which the zoo's equalized-LR layers multiply back at run time. Tensors are
    float64 so that convert/pggan.py's c*(W/c), rounded to float32, gives back exactly the trained float32 weights.
    The config is a stand-in models.utils.config.BaseConfig (alpha 0, WGANGP: linear output)."""
    import types

    mod = sys.modules.get("models.utils.config")
    if mod is None:
        for name in ("models", "models.utils", "models.utils.config"):
            sys.modules.setdefault(name, types.ModuleType(name))
        mod = sys.modules["models.utils.config"]

        class BaseConfig:
            pass

        BaseConfig.__module__ = "models.utils.config"
        BaseConfig.__qualname__ = "BaseConfig"
        mod.BaseConfig = BaseConfig
    cfg = mod.BaseConfig()
    for k, v in dict(alpha=0.0, lossCriterion="WGANGP", equalizedlR=True, perChannelNormalization=True,
                     leakyReluLeak=0.2, dimOutput=3, latentVectorDim=gen.latent, depthScale0=gen.channels[0],
                     depthOtherScales=gen.channels[1:]).items():
        setattr(cfg, k, v)

    def put(sd, key, layer):
        w = layer.weight.detach().double()
        c = math.sqrt(2.0 / np.prod(w.shape[1:]))
        sd[key + ".module.weight"] = w / c
        sd[key + ".module.bias"] = layer.bias.detach().double() / c

    sd = {}
    put(sd, "formatLayer", gen.dense)
    put(sd, "groupScale0.0", gen.conv4)
    for s, (c0, c1) in enumerate(zip(gen.conv0, gen.conv1)):
        put(sd, f"scaleLayers.{s}.0", c0)
        put(sd, f"scaleLayers.{s}.1", c1)
    for k, t in enumerate(list(gen.aux_torgb) + [gen.torgb]):
        put(sd, f"toRGBLayers.{k}", t)
    torch.save({"config": cfg, "avgG": sd}, path)


def generator_from_wfile(path):
    """A torch Generator holding the tensors of a canonical pggan weight file."""
    kind, cfg, t = wfile.read(path)
    if kind != "pggan":
        raise SystemExit(f"{path}: kind {kind!r}, expected pggan")
    gen = Generator(cfg["channels"], cfg["latent_size"])
    names = dict(gen.canonical_tensors())
    if set(names) != set(t):
        raise SystemExit(f"{path}: tensor set differs from the canonical layout")
    r, mods = 8, {"dense": gen.dense, "4x4.conv": gen.conv4, "torgb": gen.torgb}
    for c0, c1 in zip(gen.conv0, gen.conv1):
        mods[f"{r}x{r}.conv0"], mods[f"{r}x{r}.conv1"] = c0, c1
        r *= 2
    with torch.no_grad():
        for name, a in t.items():
            layer, what = name.rsplit(".", 1)
            getattr(mods[layer], what).copy_(torch.from_numpy(np.array(a)))
    return gen.eval()


def load_generator(ckpt_path):
    ck = torch.load(ckpt_path, map_location="cpu")
    gen = Generator(ck["channels"])
    gen.load_state_dict(ck["gen"])  # includes the (unused) auxiliary toRGBs
    gen.eval()
    return gen


def to_net(xb_u8):
    """uint8 NHWC -> float NCHW in [-1, 1]."""
    return xb_u8.permute(0, 3, 1, 2).float().div_(127.5).sub_(1.0)


def _shared_prefix(p1, p2):
    """Number of leading steps on which two --phases strings agree (whole identical phases only; a
    low-resolution phase's LR does not depend on the total step count)."""
    n = 0
    for x, y in zip(p1.split(","), p2.split(",")):
        if x != y:
            r1, s1 = x.split(":"); r2, s2 = y.split(":")
            return n + (min(int(s1), int(s2)) if r1 == r2 else 0)
        n += int(x.split(":")[1])
    return n


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="weights/demo_generator.bin", help="canonical weight file to write")
    ap.add_argument("--ckpt", default="/tmp/demo_generator.ckpt", help="checkpoint (resumed if present)")
    ap.add_argument("--export-only", metavar="CKPT", help="only export CKPT's generator to --out")
    ap.add_argument("--channels", default=",".join(map(str, DEFAULT_CHANNELS)))
    ap.add_argument("--log-every", type=int, default=25)
    ap.add_argument("--enc-width", type=int, default=16)
    ap.add_argument("--steps", type=int, default=1100, help="total steps (all phases)")
    ap.add_argument("--phases", default="8:150,16:250,32:200",
                    help="progressive growing: RES:STEPS,... trained at lower resolutions before the full one "
                         "(targets are box-downsampled; the remaining steps run at full resolution)")
    ap.add_argument("--batch", type=int, default=32)
    ap.add_argument("--lr", type=float, default=1e-3)
    ap.add_argument("--sigma", type=float, default=0.1, help="decoder std s in [-1,1] units (smaller = sharper)")
    ap.add_argument("--kl-warmup", type=int, default=500, help="steps of linear KL warm-up")
    ap.add_argument("--mode", choices=["pca", "vae"], default="pca",
                    help="pca: fixed whitened-PCA Gaussian encoder (default); vae: learned conv encoder")
    ap.add_argument("--pca-dims", type=int, default=64, help="active latent dimensions in pca mode")
    ap.add_argument("--pca-noise", type=float, default=0.2, help="posterior std of the active dims in pca mode")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--ckpt-every", type=int, default=250)
    ap.add_argument("--cache", default="/tmp/celeba64.npy")
    ap.add_argument("--no-resume", action="store_true")
    ap.add_argument("--resume-prefix", action="store_true",
                    help="resume a checkpoint whose --phases/--steps differ, when its step lies inside the phases "
                         "both runs share (the runs are then identical up to that step)")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)

    if a.export_only:
        export(load_generator(a.export_only), a.out)
        print(f"wrote {a.out}")
        return

    import demo_data

    torch.manual_seed(a.seed)
    np.random.seed(a.seed)
    faces, _ = demo_data.load_faces(a.cache)
    data = torch.from_numpy(faces)  # uint8 N,64,64,3
    n = data.shape[0]
    channels = [int(c) for c in a.channels.split(",")]
    phases = [tuple(int(v) for v in p.split(":")) for p in a.phases.split(",") if p]
    gen, enc = Generator(channels), Encoder(a.enc_width)
    if a.mode == "pca":
        enc = PCAEncoder(data, a.pca_dims, a.pca_noise, a.seed)
        # The generator reads only the k active latent dims: the dense weights of the other 512 - k dims are
        # zero and stay zero (they still enter through PN(z), whose norm they dominate, as for any N(0, I) z).
        # Learning to ignore 448 pure-noise inputs is what stalls training on this CPU budget otherwise.
        with torch.no_grad():
            gen.dense.weight[:, a.pca_dims:] = 0
        mask = torch.ones_like(gen.dense.weight)
        mask[:, a.pca_dims:] = 0
        gen.dense.weight.register_hook(lambda g_: g_ * mask)
    opt = torch.optim.Adam(list(gen.parameters()) + list(enc.parameters()), lr=a.lr, betas=(0.9, 0.99))
    step, elapsed = 0, 0.0
    gperm = torch.Generator().manual_seed(a.seed)
    perm, pos = torch.randperm(n, generator=gperm), 0
    same_run = ["channels", "steps", "phases", "batch", "lr", "seed", "mode", "pca_dims", "pca_noise", "sigma"]
    if not a.no_resume and os.path.isfile(a.ckpt):
        ck = torch.load(a.ckpt, map_location="cpu")
        ign = {"phases", "steps"} if a.resume_prefix and ck["step"] <= _shared_prefix(ck["args"]["phases"], a.phases) \
            else set()
        if any(ck["args"].get(k) != getattr(a, k) for k in same_run if k not in ign):
            print(f"{a.ckpt} is from a run with other settings; starting afresh", flush=True)
            ck = None
    else:
        ck = None
    if ck is not None:
        gen.load_state_dict(ck["gen"]); enc.load_state_dict(ck["enc"]); opt.load_state_dict(ck["opt"])
        step, elapsed, perm, pos = ck["step"], ck["elapsed"], ck["perm"], ck["pos"]
        gperm.set_state(ck["gperm"]); torch.set_rng_state(ck["rng"])
        print(f"resumed at step {step} ({elapsed:.0f} s)", flush=True)
    print(f"generator params {sum(p.numel() for p in gen.parameters()):,}, encoder "
          f"{sum(p.numel() for p in enc.parameters()):,}, channels {channels}", flush=True)

    def save_ckpt():
        tmp = a.ckpt + ".tmp"
        torch.save({"gen": gen.state_dict(), "enc": enc.state_dict(), "mode": a.mode, "opt": opt.state_dict(), "step": step,
                    "elapsed": elapsed, "perm": perm, "pos": pos, "gperm": gperm.get_state(),
                    "rng": torch.get_rng_state(), "channels": channels, "args": vars(a)}, tmp)
        os.replace(tmp, a.ckpt)
        export(gen, a.out)

    t0 = time.time() - elapsed
    run_rec = run_kl = 0.0
    gen.train(); enc.train()
    while step < a.steps:
        if pos + a.batch > n:
            perm, pos = torch.randperm(n, generator=gperm), 0
        idx = perm[pos:pos + a.batch]
        pos += a.batch
        x = to_net(data[idx])
        flip = torch.rand(x.shape[0]) < 0.5
        x[flip] = x[flip].flip(3)
        res, start = gen.resolution, 0
        for ph in phases:
            if step < start + ph[1]:
                res = ph[0]
                break
            start += ph[1]
        # constant LR in the low-resolution phases, cosine decay over the full-resolution phase; each phase
        # starts with a 20-step linear warm-up (its new layers are random)
        lr = a.lr if res < gen.resolution else \
            a.lr * 0.5 * (1 + math.cos(math.pi * (step - start) / max(1, a.steps - start)))
        lr *= min(1.0, (step - start + 1) / 20)
        for pg in opt.param_groups:
            pg["lr"] = lr
        if a.mode == "pca":
            z = enc.sample(x)
            mu = z
        else:
            mu, logvar = enc(x)
            z = mu + torch.randn_like(mu) * torch.exp(0.5 * logvar)
        xr = gen(z, res)
        if res < gen.resolution:
            x = F.avg_pool2d(x, gen.resolution // res)
        rec = ((xr - x) ** 2).sum(dim=(1, 2, 3)).mean() / (2 * a.sigma ** 2)
        kl = 0.5 * (mu * mu + logvar.exp() - 1 - logvar).sum(dim=1).mean() if a.mode == "vae" else torch.zeros(())
        beta = min(1.0, (step + 1) / max(1, a.kl_warmup))
        loss = rec + beta * kl
        opt.zero_grad(set_to_none=True)
        loss.backward()
        opt.step()
        step += 1
        run_rec += rec.item(); run_kl += kl.item()
        if step % a.log_every == 0:
            le = a.log_every
            mse = run_rec / le * 2 * a.sigma ** 2 / x[0].numel()
            elapsed = time.time() - t0
            print(f"step {step} res {res} t {elapsed:.0f}s lr {lr:.2e} rec {run_rec / le:.1f} (mse {mse:.4f}) "
                  f"kl {run_kl / le:.1f} active {(mu.var(0) > 0.01).sum().item()}", flush=True)
            run_rec = run_kl = 0.0
        if step % a.ckpt_every == 0 or step == a.steps:
            elapsed = time.time() - t0
            save_ckpt()
    print(f"done: {step} steps in {time.time() - t0:.0f} s; wrote {a.out} and {a.ckpt}", flush=True)


if __name__ == "__main__":
    main()
