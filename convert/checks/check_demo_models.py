#!/usr/bin/python3
"""check_demo_models.py - checks the committed demo models against their PyTorch definitions.

1. weights/demo_generator.bin through `build/hyper generate --seed 1 -n 16 --npy` versus the PyTorch generator
   holding the same tensors, for torch.manual_seed(1); torch.randn(16, 512). The C engine and PyTorch both
   compute in float32 with different summation orders; the outputs are O(1), so a max abs diff around 1e-5 is
   float32 rounding and anything above 1e-4 is a real disagreement (the exit status is then 1).
2. If convert/pggan.py is present: the generator exported in pytorch_GAN_zoo layout and converted by it gives
   tensors identical to the directly written file.
3. weights/demo_facenet.bin through `hyper embed` (16 CelebA face crops as 64x64 PNGs, which it resizes to
   160x160 Pillow-exactly) versus the PyTorch model holding the file's (BN-folded) tensors, fed by PIL's resize;
   and, when the training state dict (--facenet-pt) is present, versus the unfolded PyTorch model too.
   Embeddings are unit vectors; the C engine and PyTorch differ in summation order through ~130 float32
   convolutions (and BN folding), so the tolerance on any component is 1e-4.

    /usr/bin/python3 convert/checks/check_demo_models.py [--hyper build/hyper] [--weights weights]
"""
import argparse
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import wfile  # noqa: E402
from train_demo_generator import export_zoo, generator_from_wfile  # noqa: E402

TOL = 1e-4


def model_from_facenet_bin(path):
    """The demo InceptionResnetV1 holding a kind "facenet" file's BN-folded tensors: every BN becomes
    y = x + b' (gamma 1, mean 0, var 1 - eps)."""
    from demo_facenet_model import InceptionResnetV1

    kind, cfg, t = wfile.read(path)
    if kind != "facenet":
        raise SystemExit(f"{path}: kind {kind!r}, expected facenet")
    div = 1792 // t["last_linear.weight"].shape[1]
    model = InceptionResnetV1(div=div)
    sd = model.state_dict()
    new = {}
    for k, v in sd.items():
        if k.endswith("num_batches_tracked"):
            new[k] = v
            continue
        parent, what = k.rsplit(".", 1)
        if parent.endswith(".bn") or parent == "last_bn":
            conv = parent[:-3] + ".conv" if parent != "last_bn" else "last_linear"
            new[k] = {"weight": torch.ones_like(v), "bias": torch.from_numpy(np.array(t[conv + ".bias"])),
                      "running_mean": torch.zeros_like(v), "running_var": torch.full_like(v, 1 - 0.001)}[what]
        else:
            new[k] = torch.from_numpy(np.array(t[k]))
    model.load_state_dict(new)
    return model.eval()


def check_embedder(a, td):
    fpath = os.path.join(a.weights, "demo_facenet.bin")
    if not os.path.isfile(fpath):
        print(f"embedder: {fpath} not present; skipped")
        return True
    from PIL import Image

    import demo_data
    from train_demo_embedder import to160

    faces, _ = demo_data.load_faces()
    pick = faces[np.linspace(0, len(faces) - 1, a.n).astype(int)]
    paths = []
    for i, f in enumerate(pick):
        paths.append(os.path.join(td, f"face{i:02d}.png"))
        Image.fromarray(f).save(paths[-1])
    out = os.path.join(td, "e.npy")
    # the whole 64x64 face, as the torch side below (weights/mtcnn.bin would otherwise crop it)
    r = subprocess.run([a.hyper, "embed", "-e", fpath, "--crop", "full", "-o", out] + paths, capture_output=True,
                       text=True)
    if r.returncode:
        print(f"hyper embed failed: {r.stderr.strip()}")
        return False
    ec = np.load(out)
    x = to160(pick, size=int(wfile.read(fpath)[1]["input_size"]))
    with torch.no_grad():
        ef = model_from_facenet_bin(fpath)(x).numpy()
    d = float(np.abs(ec - ef).max())
    ok = d <= TOL
    print(f"embedder: hyper embed vs PyTorch (same folded tensors), {a.n} faces: max abs diff {d:.3g} "
          f"(tolerance {TOL}); norms {np.linalg.norm(ec, axis=1).min():.6f}..{np.linalg.norm(ec, axis=1).max():.6f}")
    if os.path.isfile(a.facenet_pt):
        from demo_facenet_model import InceptionResnetV1

        sd = torch.load(a.facenet_pt, map_location="cpu")
        m = InceptionResnetV1(div=1792 // sd["last_linear.weight"].shape[1])
        m.load_state_dict(sd, strict=False)
        with torch.no_grad():
            eu = m.eval()(x).numpy()
        d2 = float(np.abs(ec - eu).max())
        print(f"embedder: hyper embed vs the unfolded training model ({a.facenet_pt}): max abs diff {d2:.3g}")
        ok &= d2 <= TOL
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--hyper", default="build/hyper")
    ap.add_argument("--weights", default="weights")
    ap.add_argument("-n", type=int, default=16)
    ap.add_argument("--facenet-pt", default="/tmp/demo_facenet_distilled.pt",
                    help="training state dict, if present (distill_demo_embedder.py --out-pt)")
    a = ap.parse_args()
    torch.set_num_threads(1)
    ok = True
    gpath = os.path.join(a.weights, "demo_generator.bin")
    with tempfile.TemporaryDirectory() as td:
        # 1. C engine vs PyTorch
        npy = os.path.join(td, "x.npy")
        r = subprocess.run([a.hyper, "generate", "-g", gpath, "--seed", "1", "-n", str(a.n), "-o",
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
        conv = os.path.join(_paths.CONVERT, "pggan.py")
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
        ok &= check_embedder(a, td)
    print("OK" if ok else "FAILED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
