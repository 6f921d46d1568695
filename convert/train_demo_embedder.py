"""train_demo_embedder.py - trains the bundled demo face embedder: Inception-ResNet-v1 (spec facenet.md section 1)
with every channel width divided by --div (default 8; embedding size 512), on the CelebA-10k identity labels.

Input, as for the real FaceNet: a 160x160 RGB face, standardised (p - 127.5) / 128. Here the face is the
64x64 centred CelebA crop (convert/demo_data.py), resized to 160x160 with PIL bilinear, the same face framing as
the demo generator's 64x64 output. Output: the L2-normalised last_bn output (512-d unit vector).

Training on 2 shared CPU cores has to be cheap, so:
  * the stem (conv2d_1a .. conv2d_4b, everything at 160..17 pixels) is kept at its seeded random initialisation;
    its BatchNorm statistics are measured on the training faces. Its 17x17 outputs are computed once (for each
    face and its mirror image) and cached in memory;
  * everything after the stem (repeat_1 .. last_bn) is trained with a CosFace (additive cosine margin) softmax
    over the identities that have >= 2 images, minus --holdout people kept apart for verification. The
    classifier is dropped afterwards.
Verification: all same-person pairs of the held-out people plus as many random different-person pairs; the
distance threshold is chosen on the same kind of pairs from the training people. Deterministic for --seed
(and a given thread count).

Writes a facenet-pytorch-layout state dict (--out-pt, no logits) and, when convert/facenet.py exists, the
project weight file (--out, kind "facenet") through it.

    /usr/bin/python3 convert/train_demo_embedder.py --no-resume --out weights/demo_facenet.bin
"""
import argparse
import json
import math
import os
import subprocess
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import demo_data  # noqa: E402
from demo_facenet_model import InceptionResnetV1  # noqa: E402

STEM = ["conv2d_1a", "conv2d_2a", "conv2d_2b", "maxpool_3a", "conv2d_3b", "conv2d_4a", "conv2d_4b"]
REST = ["repeat_1", "mixed_6a", "repeat_2", "mixed_7a", "repeat_3", "block8"]


def to160(faces_u8, flip=False):
    """uint8 (N,64,64,3) -> float32 (N,3,160,160) standardised, via PIL bilinear (what the C pipeline does)."""
    from PIL import Image

    out = np.empty((len(faces_u8), 3, 160, 160), dtype=np.float32)
    for i, f in enumerate(faces_u8):
        im = Image.fromarray(f[:, ::-1] if flip else f).resize((160, 160), Image.BILINEAR)
        out[i] = (np.asarray(im, dtype=np.float32).transpose(2, 0, 1) - 127.5) / 128.0
    return torch.from_numpy(out)


def run_stem(model, x):
    for n in STEM:
        x = getattr(model, n)(x)
    return x


def run_rest(model, h):
    for n in REST:
        h = getattr(model, n)(h)
    h = model.dropout(model.avgpool_1a(h).flatten(1))
    return model.last_bn(model.last_linear(h))


def split_people(ids, holdout, seed):
    uniq, counts = np.unique(ids, return_counts=True)
    multi = uniq[counts >= 2]
    rng = np.random.RandomState(seed)
    test_people = set(rng.choice(multi, holdout, replace=False).tolist())
    train_people = [p for p in multi if p not in test_people]
    return train_people, sorted(test_people)


def make_pairs(ids_subset, seed):
    """Indices into ids_subset: all same-person pairs and as many random different-person pairs."""
    rng = np.random.RandomState(seed)
    by = {}
    for i, p in enumerate(ids_subset):
        by.setdefault(int(p), []).append(i)
    same = [(a, b) for v in by.values() for k, a in enumerate(v) for b in v[k + 1:]]
    n = len(ids_subset)
    diff = set()
    while len(diff) < len(same):
        a, b = rng.randint(n), rng.randint(n)
        if ids_subset[a] != ids_subset[b]:
            diff.add((min(a, b), max(a, b)))
    return np.array(same), np.array(sorted(diff))


def pair_dists(emb, pairs):
    return (emb[pairs[:, 0]] - emb[pairs[:, 1]]).norm(dim=1).numpy()


def best_threshold(ds, dd):
    cands = np.unique(np.concatenate([ds, dd]))
    best_t, best_acc = 0.0, 0.0
    for t in cands[:: max(1, len(cands) // 2000)]:
        acc = ((ds <= t).sum() + (dd > t).sum()) / (len(ds) + len(dd))
        if acc > best_acc:
            best_t, best_acc = float(t), float(acc)
    return best_t, best_acc


def verification(model, feats, idx_tr, idx_te, ids, seed):
    """Returns a dict of verification numbers; feats are cached stem outputs (float16)."""
    model.eval()

    def emb(idx):
        out = []
        with torch.no_grad():
            for k in range(0, len(idx), 256):
                out.append(F.normalize(run_rest(model, feats[idx[k:k + 256]].float()), dim=1))
        return torch.cat(out)

    etr, ete = emb(idx_tr), emb(idx_te)
    s_tr, d_tr = make_pairs(ids[idx_tr], seed)
    s_te, d_te = make_pairs(ids[idx_te], seed + 1)
    ds_tr, dd_tr = pair_dists(etr, s_tr), pair_dists(etr, d_tr)
    ds, dd = pair_dists(ete, s_te), pair_dists(ete, d_te)
    t, acc_tr = best_threshold(ds_tr, dd_tr)
    acc = float(((ds <= t).sum() + (dd > t).sum()) / (len(ds) + len(dd)))
    _, acc_oracle = best_threshold(ds, dd)
    # ROC AUC = P(d_same < d_diff)
    allv = np.concatenate([ds, dd])
    ranks = allv.argsort().argsort() + 1
    auc = float(1 - (ranks[: len(ds)].sum() - len(ds) * (len(ds) + 1) / 2) / (len(ds) * len(dd)))
    model.train()
    return {"threshold": t, "train_pairs_acc": acc_tr, "heldout_acc": acc, "heldout_best_acc": acc_oracle,
            "heldout_auc": auc, "heldout_same_pairs": int(len(ds)), "heldout_diff_pairs": int(len(dd)),
            "same_mean": float(ds.mean()), "same_std": float(ds.std()), "diff_mean": float(dd.mean()),
            "diff_std": float(dd.std())}


def export_pt(model, path):
    sd = {k: v.clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, path + ".tmp")
    os.replace(path + ".tmp", path)


def convert_facenet(pt, out):
    """Writes the project weight file (kind "facenet") from the state dict with convert/facenet.py's BN folding.
    facenet.py's own shape table (facenet_ref.FaceNetRef(div)) also divides the 512-d embedding, which this
    model keeps, so the expected shapes are taken from this script's model after checking that every other
    key and shape agrees with FaceNetRef(div)."""
    import facenet
    from facenet_ref import FaceNetRef

    sd = torch.load(pt, map_location="cpu")
    div = 1792 // sd["last_linear.weight"].shape[1]
    mine = {k: tuple(v.shape) for k, v in InceptionResnetV1(div=div).state_dict().items()
            if not k.endswith("num_batches_tracked")}
    ref = {k: tuple(v.shape) for k, v in FaceNetRef(div).state_dict().items() if not k.endswith("num_batches_tracked")}
    head = {"last_linear.weight", "last_bn.weight", "last_bn.bias", "last_bn.running_mean", "last_bn.running_var"}
    if set(mine) != set(ref) or any(mine[k] != ref[k] for k in mine if k not in head):
        raise SystemExit("internal: the demo model's layout differs from facenet_ref.FaceNetRef")
    facenet.expected_shapes = lambda d: mine
    w = facenet.build_wfile(sd, div, pt)
    w.save(out)
    print(f"wrote {out} (kind facenet, div {div}, {len(w.tensors)} tensors, BN folded)", flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="weights/demo_facenet.bin")
    ap.add_argument("--out-pt", default="/tmp/demo_facenet.pt", help="facenet-pytorch-layout state dict")
    ap.add_argument("--ckpt", default="/tmp/demo_embedder.ckpt")
    ap.add_argument("--div", type=int, default=8)
    ap.add_argument("--epochs", type=int, default=6)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--scale", type=float, default=30.0, help="CosFace scale s")
    ap.add_argument("--margin", type=float, default=0.2, help="CosFace margin m")
    ap.add_argument("--holdout", type=int, default=300, help="people kept apart for verification")
    ap.add_argument("--proto", type=float, default=0.0,
                    help="if > 0: the class weights are prototypes, imprinted from the initial embeddings and then "
                         "moved towards each new embedding of the class by this fraction (no gradient); with ~2.6 "
                         "images per person a learned classifier otherwise barely moves in a few epochs")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--cache", default="/tmp/celeba64.npy")
    ap.add_argument("--feat-cache", default="/tmp/demo_stem_feats.pt")
    ap.add_argument("--report", default="/tmp/demo_embedder_report.json")
    ap.add_argument("--export-only", action="store_true", help="only convert --out-pt to --out")
    ap.add_argument("--no-resume", action="store_true", help="ignore an existing --ckpt")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.export_only:
        convert_facenet(a.out_pt, a.out)
        return
    torch.manual_seed(a.seed)
    t0 = time.time()

    faces, ids = demo_data.load_faces(a.cache)
    train_people, test_people = split_people(ids, a.holdout, a.seed)
    cls_of = {p: k for k, p in enumerate(train_people)}
    idx_tr = np.array([i for i, p in enumerate(ids) if int(p) in cls_of])
    tp = set(test_people)
    idx_te = np.array([i for i, p in enumerate(ids) if int(p) in tp])
    print(f"{len(train_people)} training people ({len(idx_tr)} images), {len(test_people)} held-out people "
          f"({len(idx_te)} images)", flush=True)

    model = InceptionResnetV1(div=a.div)
    model.dropout.p = 0.2  # not stored in the weights; identity at inference
    # --- stem: seeded random weights, BN statistics from the training faces, outputs cached
    key = (a.seed, a.div, a.holdout)
    if os.path.isfile(a.feat_cache) and torch.load(a.feat_cache)["key"] == key:
        c = torch.load(a.feat_cache)
        model.load_state_dict(c["stem"], strict=False)
        feats, feats_flip = c["feats"], c["feats_flip"]
        print("stem features from cache", flush=True)
    else:
        # BN statistics, one stem module after another: module k is run in training mode (cumulative average,
        # momentum None) on the outputs of the already calibrated modules 0..k-1, then in eval mode
        rng = np.random.RandomState(a.seed)
        calib = rng.choice(idx_tr, 512, replace=False)
        with torch.no_grad():
            h = to160(faces[calib])
            for n in STEM:
                mod = getattr(model, n)
                for m in mod.modules():
                    if isinstance(m, nn.BatchNorm2d):
                        m.reset_running_stats()
                        m.momentum = None
                mod.train()
                for j in range(0, len(h), 128):
                    mod(h[j:j + 128])
                mod.eval()
                h = torch.cat([mod(h[j:j + 128]) for j in range(0, len(h), 128)])
            del h
        model.eval()
        feats = torch.empty((len(ids), model.widths["block35"], 17, 17), dtype=torch.float16)
        feats_flip = torch.empty_like(feats)
        need = np.concatenate([idx_tr, idx_te])
        with torch.no_grad():
            for j in range(0, len(need), 128):
                sl = need[j:j + 128]
                feats[sl] = run_stem(model, to160(faces[sl])).half()
                feats_flip[sl] = run_stem(model, to160(faces[sl], flip=True)).half()
                if j % 1280 == 0:
                    print(f"stem {j}/{len(need)} t {time.time() - t0:.0f}s", flush=True)
        stem_sd = {k: v for k, v in model.state_dict().items() if k.split(".")[0] in STEM}
        torch.save({"key": key, "stem": stem_sd, "feats": feats, "feats_flip": feats_flip}, a.feat_cache)
    for n in STEM:
        for p in getattr(model, n).parameters():
            p.requires_grad_(False)
    print(f"stem ready t {time.time() - t0:.0f}s", flush=True)

    # --- the rest: CosFace training
    labels = torch.tensor([cls_of[int(p)] for p in ids[idx_tr]])
    W = nn.Parameter(torch.randn(len(train_people), 512) * 0.01)
    params = [p for p in model.parameters() if p.requires_grad] + [W]
    opt = torch.optim.AdamW(params, lr=a.lr, weight_decay=a.wd)
    steps_per_epoch = len(idx_tr) // a.batch
    total = a.epochs * steps_per_epoch
    step, ep0 = 0, 0
    g = torch.Generator().manual_seed(a.seed)
    if os.path.isfile(a.ckpt) and not a.no_resume:
        ck = torch.load(a.ckpt)
        if ck.get("args_key") == [a.seed, a.div, a.holdout, a.epochs, a.batch, a.proto]:
            model.load_state_dict(ck["model"]); W.data.copy_(ck["W"]); opt.load_state_dict(ck["opt"])
            step, ep0 = ck["step"], ck["epoch"]; g.set_state(ck["g"]); torch.set_rng_state(ck["rng"])
            print(f"resumed at epoch {ep0}", flush=True)
    if a.proto > 0:
        W.requires_grad_(False)
        if step == 0:  # imprint: the mean initial embedding (eval mode, unflipped) of each class
            model.eval()
            with torch.no_grad():
                e0 = torch.cat([F.normalize(run_rest(model, feats[idx_tr[k:k + 256]].float()), dim=1)
                                for k in range(0, len(idx_tr), 256)])
            W.data.zero_().index_add_(0, labels, e0)
            print(f"imprinted {len(train_people)} prototypes t {time.time() - t0:.0f}s", flush=True)
    model.train()
    for n in STEM:
        getattr(model, n).eval()
    hist = []
    for ep in range(ep0, a.epochs):
        perm = torch.randperm(len(idx_tr), generator=g)
        tl = tc = tn = 0.0
        for b in range(steps_per_epoch):
            sel = perm[b * a.batch:(b + 1) * a.batch]
            rows = torch.from_numpy(idx_tr[sel.numpy()])
            flip = torch.rand(len(sel), generator=g) < 0.5
            h = torch.where(flip[:, None, None, None], feats_flip[rows], feats[rows]).float()
            # random +-1 cell translation of the 17x17 map (about +-4 px of the 64x64 face)
            dy, dx = torch.randint(-1, 2, (2,), generator=g).tolist()
            if dy or dx:
                h = torch.roll(F.pad(h, (1, 1, 1, 1), mode="replicate"), (dy, dx), (2, 3))[:, :, 1:-1, 1:-1]
            y = labels[sel]
            lr = a.lr * 0.5 * (1 + math.cos(math.pi * step / total))
            for pg in opt.param_groups:
                pg["lr"] = lr
            e = F.normalize(run_rest(model, h), dim=1)
            cos = e @ F.normalize(W, dim=1).t()
            logits = a.scale * (cos - a.margin * F.one_hot(y, cos.shape[1]))
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            if a.proto > 0:
                with torch.no_grad():
                    Wn = F.normalize(W, dim=1)
                    W.data.copy_(Wn.index_add(0, y, a.proto * (e.detach() - Wn[y])))
            step += 1
            tl += loss.item() * len(sel); tc += (cos.argmax(1) == y).sum().item(); tn += len(sel)
        v = verification(model, feats, idx_tr, idx_te, ids, a.seed)
        hist.append({"epoch": ep + 1, "loss": tl / tn, "train_top1": tc / tn, **v})
        print(f"epoch {ep + 1} t {time.time() - t0:.0f}s loss {tl / tn:.3f} top1 {tc / tn:.3f} | held-out acc "
              f"{v['heldout_acc']:.3f} (thr {v['threshold']:.3f}, best {v['heldout_best_acc']:.3f}, auc "
              f"{v['heldout_auc']:.3f}) same {v['same_mean']:.3f}+-{v['same_std']:.3f} diff {v['diff_mean']:.3f}"
              f"+-{v['diff_std']:.3f}", flush=True)
        torch.save({"model": model.state_dict(), "W": W.data, "opt": opt.state_dict(), "step": step,
                    "epoch": ep + 1, "g": g.get_state(), "rng": torch.get_rng_state(),
                    "args_key": [a.seed, a.div, a.holdout, a.epochs, a.batch, a.proto]}, a.ckpt + ".tmp")
        os.replace(a.ckpt + ".tmp", a.ckpt)
        export_pt(model, a.out_pt)

    model.eval()
    export_pt(model, a.out_pt)
    final = verification(model, feats, idx_tr, idx_te, ids, a.seed)
    rep = {"div": a.div, "train_people": len(train_people), "train_images": int(len(idx_tr)),
           "heldout_people": len(test_people), "heldout_images": int(len(idx_te)), "epochs": a.epochs,
           "seconds": time.time() - t0, "final": final, "history": hist}
    with open(a.report, "w") as f:
        json.dump(rep, f, indent=1)
    print(json.dumps(final, indent=1), flush=True)
    convert_facenet(a.out_pt, a.out)
    print(f"done in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
