"""embedder_table.py - every identity model on the same held-out CelebA pairs, through the C pipeline.

The pairs are those of convert/demo/demo_quality.py: the 300 held-out people of the demo embedder (split_people,
seed 1), all their same-person pairs and as many random different-person pairs (seed 2). A model's threshold is
its file's verify_threshold when it has one (face-api: 0.6; a distilled demo FaceNet: fixed on its training
people), else the best threshold on pairs of 1000 training people (seed 2001). Each model runs in C:
`hyper embed -e FILE --crop CROP --threads 1` on PNG copies of the images.

    /usr/bin/python3 convert/demo/embedder_table.py \\
        --model "face-api, box=weights/faceapi_recognition.bin@orig:box:17,39,72,94" \\
        --model "demo FaceNet=weights/demo_facenet.bin@c64:full"

A model is NAME=FILE@IMAGES:CROP with IMAGES orig (the 89x109 aligned originals) or c64 (the 64x64 crops of
convert/demo/demo_data.py, what the demo models see). Prints a Markdown table (accuracy at the threshold,
best-threshold accuracy, ROC AUC, the threshold) and writes it as JSON to --json.
"""
import argparse
import json
import os
import subprocess
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import demo_data  # noqa: E402
from train_demo_embedder import best_threshold, make_pairs, split_people  # noqa: E402
from distill_demo_embedder import celeba_originals, write_pngs  # noqa: E402


def embed(hyper, weights, paths, crop):
    out = f"/tmp/embedder_table.{os.getpid()}.npy"
    r = subprocess.run([hyper, "embed", "-e", weights, "--crop", crop, "--threads", "1", "--quiet", "-o", out] + paths,
                       capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"hyper embed {weights}: {r.stderr.strip()}")
    e = np.load(out)
    os.remove(out)
    return e


def file_threshold(path):
    import wfile
    _, cfg, _ = wfile.read(path)
    return cfg.get("verify_threshold")


def pair_d(e, pairs):
    return np.linalg.norm(e[pairs[:, 0]].astype(np.float64) - e[pairs[:, 1]], axis=1)


def auc(ds, dd):
    allv = np.concatenate([ds, dd])
    r = allv.argsort().argsort() + 1
    return float(1 - (r[:len(ds)].sum() - len(ds) * (len(ds) + 1) / 2) / (len(ds) * len(dd)))


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--model", action="append", required=True, help="NAME=FILE@IMAGES:CROP")
    ap.add_argument("--hyper", default="build/hyper")
    ap.add_argument("--work", default="/tmp/hy_distill", help="PNG copies of the images (shared with distill)")
    ap.add_argument("--json", default="/tmp/embedder_table.json")
    ap.add_argument("--seed", type=int, default=1)
    a = ap.parse_args()
    faces64, ids = demo_data.load_faces(os.path.join(a.work, "celeba64.npy"))
    images = {"c64": write_pngs(faces64, os.path.join(a.work, "celeba64")),
              "orig": celeba_originals(os.path.join(a.work, "celeba_orig"))}
    _, test_people = split_people(ids, 300, a.seed)
    tp = set(test_people)
    idx_te = np.array([i for i, p in enumerate(ids) if int(p) in tp])
    uniq, counts = np.unique(ids, return_counts=True)
    multi = [p for p, c in zip(uniq, counts) if c >= 2 and int(p) not in tp]
    fit = set(np.random.RandomState(a.seed + 2000).choice(multi, 1000, replace=False).tolist())
    idx_fit = np.array([i for i, p in enumerate(ids) if int(p) in fit])
    s_te, d_te = make_pairs(ids[idx_te], a.seed + 1)
    s_fit, d_fit = make_pairs(ids[idx_fit], a.seed)
    rows = []
    for spec in a.model:
        name, rest = spec.split("=", 1)
        path, rest = rest.rsplit("@", 1)
        which, crop = rest.split(":", 1)
        paths = images[which]
        thr = file_threshold(path)
        src = "its file"
        if thr is None:
            e_fit = embed(a.hyper, path, [paths[i] for i in idx_fit], crop)
            thr, _ = best_threshold(pair_d(e_fit, s_fit), pair_d(e_fit, d_fit))
            src = "training people"
        e = embed(a.hyper, path, [paths[i] for i in idx_te], crop)
        ds, dd = pair_d(e, s_te), pair_d(e, d_te)
        acc = float(((ds <= thr).sum() + (dd > thr).sum()) / (len(ds) + len(dd)))
        rows.append({"model": name, "file": path, "images": which, "crop": crop, "threshold": float(thr),
                     "threshold_from": src, "acc": acc, "best_acc": best_threshold(ds, dd)[1], "auc": auc(ds, dd),
                     "pairs": [int(len(ds)), int(len(dd))]})
        print(json.dumps(rows[-1]), flush=True)
    print(f"\n{len(idx_te)} held-out images, {len(s_te)} same + {len(d_te)} different pairs\n")
    print("| model | images, crop | threshold | accuracy at it | best-threshold accuracy | ROC AUC |")
    print("|---|---|---:|---:|---:|---:|")
    for r in rows:
        print(f"| {r['model']} | {r['images']}, {r['crop']} | {r['threshold']:.3f} ({r['threshold_from']}) | "
              f"{100 * r['acc']:.1f} % | {100 * r['best_acc']:.1f} % | {r['auc']:.3f} |")
    with open(a.json, "w") as f:
        json.dump(rows, f, indent=1)


if __name__ == "__main__":
    main()
