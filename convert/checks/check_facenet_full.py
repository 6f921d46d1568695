#!/usr/bin/python3
"""check_facenet_full.py - end-to-end check of the full-size FaceNet against PyTorch (CI runs it).

Builds the full Inception-ResNet-v1 with seeded random weights and non-trivial BN statistics,
saves its state dict in the facenet-pytorch layout (plus a random `logits` head and
`num_batches_tracked`, 716 entries like the VGGFace2 file), converts it with convert/facenet.py,
embeds a random standardised batch with `hyper embed --input-npy`, and compares with torch
(float64 reference). Prints the max abs difference of the embeddings; exits 1 above 1e-4.

    /usr/bin/python3 convert/checks/check_facenet_full.py [--hyper build/hyper] [--n 3] [--keep DIR]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
from facenet_ref import FaceNetRef, randomize  # noqa: E402

# Tolerance: unit-norm embeddings; float32 C (sgemm with its own summation order, BN folded in
# float64 then rounded to f32) vs a float64 torch reference through 132 convs. Observed
# differences are ~1e-6; 1e-4 flags any real error (a wrong pad/scale/BN gives > 1e-2).
TOL = 1e-4


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyper", default="build/hyper")
    ap.add_argument("--n", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1234)
    ap.add_argument("--keep", help="keep the files in this directory")
    a = ap.parse_args()
    torch.set_num_threads(1)
    net = randomize(FaceNetRef(1), a.seed)
    sd = net.state_dict()
    g = torch.Generator().manual_seed(a.seed + 1)
    sd["logits.weight"] = torch.randn(8631, 512, generator=g) * 0.01
    sd["logits.bias"] = torch.zeros(8631)
    assert len(sd) == 716, len(sd)
    x = (torch.randint(0, 256, (a.n, 3, 160, 160), generator=g).float() - 127.5) / 128.0

    d = a.keep or tempfile.mkdtemp(prefix="hy_facenet_full.")
    os.makedirs(d, exist_ok=True)
    pt, wbin, xin, eout = (os.path.join(d, f) for f in ("random.pt", "random.bin", "x.npy", "e.npy"))
    torch.save(sd, pt)
    np.save(xin, x.numpy().astype(np.float32))
    here = os.path.dirname(os.path.abspath(__file__))
    subprocess.run([sys.executable, os.path.join(_paths.CONVERT, "facenet.py"), pt, "-o", wbin], check=True)
    subprocess.run([a.hyper, "embed", "-w", wbin, "--input-npy", xin, "-o", eout], check=True)
    e_c = np.load(eout)
    with torch.no_grad():
        e_t32 = net(x).numpy()  # what facenet-pytorch computes (float32, unfolded BN)
        e_t = net.double()(x.double()).numpy()
    diff = float(np.abs(e_c - e_t).max())
    d32 = float(np.abs(e_c - e_t32).max())
    print(f"full-size FaceNet, {a.n} random inputs: max abs diff of embeddings C vs torch float64 = {diff:.3e} "
          f"(tolerance {TOL:g}), vs torch float32 = {d32:.3e} (torch f32 vs f64: "
          f"{float(np.abs(e_t32 - e_t).max()):.3e}); |e| = {np.linalg.norm(e_c, axis=1).round(6).tolist()}")
    if not a.keep:
        for f in (pt, wbin, xin, eout):
            os.remove(f)
        os.rmdir(d)
    return 0 if diff <= TOL else 1


if __name__ == "__main__":
    sys.exit(main())
