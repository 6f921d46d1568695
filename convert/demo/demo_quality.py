#!/usr/bin/python3
"""demo_quality.py - quality evidence for the bundled demo models (weights/README.md quotes its output).

Generator (weights/demo_generator.bin, run in PyTorch from the file's tensors):
  * an 8x8 grid of 64 random samples z ~ N(0, I) (torch.manual_seed(--seed)) -> weights/demo_samples.png
  * interpolation: 4 rows of 8 images along straight lines between two random latents -> weights/demo_interp.png
  * smoothness: mean absolute pixel difference (0..255) between G(z) and G(z') for
    z' = sqrt(1 - a^2) z + a n (n ~ N(0, I), so z' ~ N(0, I) too) and a = 0.1, 0.25, 0.5, 1 (1: unrelated latents)
MTCNN face-detection rate (when the MTCNN weights and build/hyper are available): 200 samples written by
`hyper generate --seed 2 -n 200`, and, for reference, 200 real 64x64 CelebA crops, through `hyper detect`
(facenet-pytorch defaults: min face 20 px, thresholds 0.6/0.7/0.7).
Embedder trained from identity labels (the facenet-pytorch-layout state dict written by train_demo_embedder.py, full
forward pass including the 160x160 PIL bilinear resize): verification on the held-out people, at the threshold
chosen on the training people (from the training report), and the same/different distance distributions. The
committed embedder is distilled (distill_demo_embedder.py) and measured on the same pairs by embedder_table.py.

    /usr/bin/python3 convert/demo/demo_quality.py [--weights weights] [--facenet-pt /tmp/demo_facenet.pt]
"""
import argparse
import json
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
from train_demo_generator import generator_from_wfile  # noqa: E402


def to_u8(x):
    """Karras rule: rint(127.5 x + 127.5), clamped; NCHW -> NHWC uint8."""
    return np.clip(np.rint(127.5 * x + 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1)


def grid(imgs, rows, cols):
    n, h, w, c = imgs.shape
    return imgs.reshape(rows, cols, h, w, c).transpose(0, 2, 1, 3, 4).reshape(rows * h, cols * w, c)


def generator_quality(gpath, out_dir, seed):
    from PIL import Image

    gen = generator_from_wfile(gpath)
    torch.manual_seed(seed)
    with torch.no_grad():
        z = torch.randn(64, gen.latent)
        x = gen(z).numpy()
        Image.fromarray(grid(to_u8(x), 8, 8)).save(os.path.join(out_dir, "demo_samples.png"))
        print(f"wrote {out_dir}/demo_samples.png (64 samples, seed {seed}); raw output range "
              f"[{x.min():.3f}, {x.max():.3f}], {100 * np.mean(np.abs(x) > 1):.2f}% of values outside [-1, 1]")
        za, zb = torch.randn(4, gen.latent), torch.randn(4, gen.latent)
        t = torch.linspace(0, 1, 8)
        zs = (za[:, None] * (1 - t[None, :, None]) + zb[:, None] * t[None, :, None])
        # a straight line shrinks the norm mid-way; PN(z) in the generator normalises it anyway
        xi = gen(zs.reshape(-1, gen.latent)).numpy()
        Image.fromarray(grid(to_u8(xi), 4, 8)).save(os.path.join(out_dir, "demo_interp.png"))
        steps = np.abs(np.diff(to_u8(xi).reshape(4, 8, -1).astype(np.float64), axis=1)).mean(axis=2)
        print(f"wrote {out_dir}/demo_interp.png; mean |pixel step| between neighbours on the lines: "
              f"{steps.mean():.2f} (max {steps.max():.2f}) of 255")
        base = torch.randn(32, gen.latent)
        g0 = to_u8(gen(base).numpy()).astype(np.float64)
        res = {}
        for a in (0.1, 0.25, 0.5, 1.0):
            zz = (1 - a * a) ** 0.5 * base + a * torch.randn(32, gen.latent)
            res[a] = float(np.abs(to_u8(gen(zz).numpy()).astype(np.float64) - g0).mean())
        print("smoothness: mean |G(z) - G(z')| (0..255) for z' = sqrt(1-a^2) z + a n: " +
              ", ".join(f"a={a}: {v:.2f}" for a, v in res.items()))
        # sample diversity: mean pairwise difference of the 64 samples
        u = to_u8(x).reshape(64, -1).astype(np.float64)
        div = np.abs(u[:, None] - u[None]).mean(axis=2)
        print(f"diversity: mean |pixel difference| between two random samples {div[np.triu_indices(64, 1)].mean():.2f}")
    return res


def detection_rate(hyper, gpath, mtcnn_dir, n=200):
    import subprocess
    import tempfile

    from PIL import Image

    import demo_data

    with tempfile.TemporaryDirectory() as td:
        mbin = os.path.join(td, "mtcnn.bin")
        r = subprocess.run([sys.executable, os.path.join(_paths.CONVERT, "mtcnn.py"), mtcnn_dir, "-o", mbin],
                           capture_output=True, text=True)
        if r.returncode:
            print(f"MTCNN: conversion failed: {r.stderr.strip()}")
            return None
        sdir = os.path.join(td, "samples")
        subprocess.run([hyper, "generate", "-g", gpath, "--seed", "2", "-n", str(n), "-o", sdir, "--threads", "1"],
                       check=True, capture_output=True)
        rdir = os.path.join(td, "real")
        os.makedirs(rdir)
        faces, _ = demo_data.load_faces()
        for i, k in enumerate(np.random.RandomState(2).choice(len(faces), n, replace=False)):
            Image.fromarray(faces[k]).save(os.path.join(rdir, f"{i:06d}.png"))
        rates = {}
        for tag, d in (("generated", sdir), ("real CelebA", rdir)):
            files = sorted(os.path.join(d, f) for f in os.listdir(d) if f.endswith(".png"))
            r = subprocess.run([hyper, "detect", "-w", mbin, "--tsv", "--threads", "1"] + files,
                               capture_output=True, text=True)
            if r.returncode:
                print(f"MTCNN: hyper detect failed: {r.stderr.strip()[:300]}")
                return None
            rows = [ln.split("\t") for ln in r.stdout.strip().splitlines()[1:] if ln.strip()]
            found = {row[0] for row in rows}
            probs = [float(row[6]) for row in rows]
            rates[tag] = len(found) / len(files)
            print(f"MTCNN (hyper detect): a face found in {len(found)} of {len(files)} {tag} 64x64 images "
                  f"({100 * rates[tag]:.1f}%)" + (f", mean probability {np.mean(probs):.3f}" if probs else ""))
        return rates


def embedder_quality(pt, report, seed):
    import demo_data
    from demo_facenet_model import InceptionResnetV1
    from train_demo_embedder import best_threshold, make_pairs, pair_dists, split_people, to160

    sd = torch.load(pt, map_location="cpu")
    div = 1792 // sd["last_linear.weight"].shape[1]
    model = InceptionResnetV1(div=div)
    missing, unexpected = model.load_state_dict(sd, strict=False)
    missing = [k for k in missing if not k.endswith("num_batches_tracked")]
    if missing or unexpected:
        raise SystemExit(f"{pt}: keys differ from the facenet-pytorch layout: {missing[:4]} {unexpected[:4]}")
    model.eval()
    faces, ids = demo_data.load_faces()
    with open(report) as f:
        rep = json.load(f)
    thr = rep["final"]["threshold"]
    _, test_people = split_people(ids, rep["heldout_people"], seed)
    tp = set(test_people)
    idx = np.array([i for i, p in enumerate(ids) if int(p) in tp])
    with torch.no_grad():
        emb = torch.cat([model(to160(faces[idx[k:k + 64]])) for k in range(0, len(idx), 64)])
    s, d = make_pairs(ids[idx], seed + 1)
    ds, dd = pair_dists(emb, s), pair_dists(emb, d)
    acc = ((ds <= thr).sum() + (dd > thr).sum()) / (len(ds) + len(dd))
    _, best = best_threshold(ds, dd)
    print(f"embedder (div {div}, {sum(v.numel() for k, v in sd.items() if 'running' not in k):,} parameters): "
          f"{len(tp)} held-out people, {len(idx)} images, {len(ds)} same + {len(dd)} different pairs")
    print(f"  verification accuracy at the training-people threshold {thr:.3f}: {100 * acc:.1f}% "
          f"(best possible threshold on these pairs: {100 * best:.1f}%)")
    print(f"  distance same person {ds.mean():.3f} +- {ds.std():.3f}, different people {dd.mean():.3f} +- "
          f"{dd.std():.3f} (unit vectors: 0 identical, sqrt(2) = 1.414 orthogonal)")
    print(f"  embedding norms: {emb.norm(dim=1).min():.4f}..{emb.norm(dim=1).max():.4f}")
    return acc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="weights")
    ap.add_argument("--generator", help="default WEIGHTS/demo_generator.bin")
    ap.add_argument("--facenet-pt", default="/tmp/demo_facenet.pt")
    ap.add_argument("--report", default="/tmp/demo_embedder_report.json")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hyper", default="build/hyper")
    ap.add_argument("--mtcnn-dir", default=None, help="folder with pnet.pt, rnet.pt, onet.pt "
                    "(default: $HY_SHARED_DATA/mtcnn, ../shared/data/mtcnn or /work/shared/data/mtcnn)")
    a = ap.parse_args()
    torch.set_num_threads(2)
    generator_quality(a.generator or os.path.join(a.weights, "demo_generator.bin"), a.weights, a.seed)
    import demo_data

    mdir = a.mtcnn_dir or os.path.join(os.path.dirname(demo_data.data_dir()), "mtcnn")
    if os.path.isfile(os.path.join(mdir, "pnet.pt")) and os.path.isfile(a.hyper):
        detection_rate(a.hyper, a.generator or os.path.join(a.weights, "demo_generator.bin"), mdir)
    else:
        print(f"MTCNN: {mdir}/pnet.pt or {a.hyper} missing; detection rate skipped")
    if os.path.isfile(a.facenet_pt) and os.path.isfile(a.report):
        embedder_quality(a.facenet_pt, a.report, a.seed)
    else:
        print(f"embedder: no {a.facenet_pt} + {a.report} of a train_demo_embedder.py run; the committed (distilled) "
              "embedder is measured through the C pipeline by convert/demo/embedder_table.py (make demo-models runs it)")


if __name__ == "__main__":
    main()
