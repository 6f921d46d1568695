"""train_demo_embedder.py - trains the bundled demo face embedder: Inception-ResNet-v1 (spec facenet.md section 1)
with every channel width divided by --div (default 4; embedding size 512), on the CelebA-10k identity labels.

Input, as for the real FaceNet: a 160x160 RGB face, standardised (p - 127.5) / 128. Here the face is the
64x64 centred CelebA crop (convert/demo/demo_data.py), resized to 160x160 (bilinear), the same face framing as the
demo generator's 64x64 output. Output: the L2-normalised last_bn output (512-d unit vector).

Recipe: the whole network is trained end to end with a CosFace (additive cosine margin) softmax over the
training identities: every person with >= 2 images except the --holdout people kept apart for verification
(and the --val people, when asked for, kept apart for choosing hyper-parameters), plus, with --singletons, every
person with a single image as a class of its own. Each batch is augmented on the fly: one random affine warp per
face (mirror, scale, rotation, shift) that resamples the 64x64 face bilinearly, then brightness / contrast /
saturation jitter, then the same 64 -> 160 bilinear upscale as the plain input. The classifier is dropped
afterwards. AdamW, linear warm-up then cosine decay.

Verification: all same-person pairs of the held-out people plus as many random different-person pairs; the
distance threshold is chosen on the same kind of pairs from the training people. Runs on CUDA when available
(--device), else on CPU; deterministic for --seed on a given device and thread count.

Writes a facenet-pytorch-layout state dict (--out-pt, no logits), a JSON report (--report) and the project
weight file (--out, kind "facenet") through convert/facenet.py's BN folding.

    /usr/bin/python3 convert/demo/train_demo_embedder.py --out weights/demo_facenet.bin
"""
import argparse
import json
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn as nn
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import demo_data  # noqa: E402
from demo_facenet_model import InceptionResnetV1  # noqa: E402


def to160(faces_u8, flip=False, size=160):
    """uint8 (N,64,64,3) -> float32 (N,3,size,size) standardised, via PIL bilinear (what the C pipeline does
    with --crop full); size is the network's input size (160; a distilled student may use less)."""
    from PIL import Image

    out = np.empty((len(faces_u8), 3, size, size), dtype=np.float32)
    for i, f in enumerate(faces_u8):
        im = Image.fromarray(f[:, ::-1] if flip else f).resize((size, size), Image.BILINEAR)
        out[i] = (np.asarray(im, dtype=np.float32).transpose(2, 0, 1) - 127.5) / 128.0
    return torch.from_numpy(out)


def up160(x):
    """float (N,3,64,64) -> (N,3,160,160), bilinear with half-pixel centres and edge pixels repeated: PIL's
    bilinear upscale (up to its 8-bit rounding)."""
    return F.interpolate(x, size=(160, 160), mode="bilinear", align_corners=False)


def standardise(x):
    return (x - 127.5) / 128.0


def plain160(faces_t, idx):
    """Un-augmented network input for the faces faces_t[idx] (uint8 NHWC tensor on the device)."""
    return standardise(up160(faces_t[idx].permute(0, 3, 1, 2).float()).round())  # PIL rounds to uint8


def augment160(faces_t, idx, g, strength):
    """Randomly warped and colour-jittered network input; strength 0 = mirror only, 1 = the default ranges.
    The warp (mirror, zoom, rotation, shift) resamples the 64x64 face bilinearly (edge pixels repeated), then
    the face is upscaled to 160x160 like the plain input (warping at 64x64 costs 6x less than at 160x160)."""
    n, dev = len(idx), faces_t.device
    x = faces_t[idx].permute(0, 3, 1, 2).float()

    def u(lo, hi):
        return lo + (hi - lo) * torch.rand(n, generator=g, device=dev)

    flip = torch.where(torch.rand(n, generator=g, device=dev) < 0.5, -1.0, 1.0)
    s = 1.0 + strength * u(-0.10, 0.10)           # zoom: +-10 %
    r = strength * u(-10, 10) * math.pi / 180     # rotation: +-10 degrees
    tx, ty = strength * u(-0.08, 0.08), strength * u(-0.08, 0.08)  # shift: +-2.5 px of 64
    c, sn = torch.cos(r) / s, torch.sin(r) / s
    theta = torch.stack([torch.stack([c * flip, -sn, tx], 1), torch.stack([sn * flip, c, ty], 1)], 1)
    grid = F.affine_grid(theta, (n, 3, 64, 64), align_corners=False)
    x = F.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if strength > 0:
        b = u(-0.2, 0.2) * strength * 255         # brightness
        k = 1.0 + u(-0.25, 0.25) * strength       # contrast about the image mean
        sat = 1.0 + u(-0.3, 0.3) * strength       # saturation about the grey value
        gray = x.mean(1, keepdim=True)
        x = gray + sat[:, None, None, None] * (x - gray)
        m = x.mean((1, 2, 3), keepdim=True)
        x = m + k[:, None, None, None] * (x - m) + b[:, None, None, None]
        x = x.clamp(0, 255)
    return standardise(up160(x))


def split_people(ids, holdout, seed):
    """(people with >= 2 images not held out, held-out people); the held-out draw depends on seed only."""
    uniq, counts = np.unique(ids, return_counts=True)
    multi = uniq[counts >= 2]
    rng = np.random.RandomState(seed)
    test_people = set(rng.choice(multi, holdout, replace=False).tolist())
    train_people = [p for p in multi if p not in test_people]
    return train_people, sorted(test_people)


def split_val(multi_people, n, seed):
    """n validation people drawn from the non-held-out people with >= 2 images (sorted; [] for n = 0)."""
    if not n:
        return []
    return sorted(np.random.RandomState(seed + 1000).choice(multi_people, n, replace=False).tolist())


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


def embed(model, faces_t, idx):
    model.eval()
    out = []
    with torch.no_grad():
        for k in range(0, len(idx), 256):
            sl = torch.as_tensor(idx[k:k + 256], device=faces_t.device)
            out.append(model(plain160(faces_t, sl)).cpu())
    model.train()
    return torch.cat(out)


def verification(model, faces_t, ids, idx_fit, sets, seed):
    """For each name -> indices in sets: verification on that set's pairs (pair seed seed + 1, as
    convert/demo/demo_quality.py draws them) at the distance threshold chosen on pairs of idx_fit (the training
    people; pair seed `seed`)."""
    efit = embed(model, faces_t, idx_fit)
    s_f, d_f = make_pairs(ids[idx_fit], seed)
    t, acc_fit = best_threshold(pair_dists(efit, s_f), pair_dists(efit, d_f))
    out = {}
    for name, idx in sets.items():
        e = embed(model, faces_t, idx)
        s_e, d_e = make_pairs(ids[idx], seed + 1)
        ds, dd = pair_dists(e, s_e), pair_dists(e, d_e)
        acc = float(((ds <= t).sum() + (dd > t).sum()) / (len(ds) + len(dd)))
        _, acc_oracle = best_threshold(ds, dd)
        allv = np.concatenate([ds, dd])  # ROC AUC = P(d_same < d_diff)
        ranks = allv.argsort().argsort() + 1
        auc = float(1 - (ranks[: len(ds)].sum() - len(ds) * (len(ds) + 1) / 2) / (len(ds) * len(dd)))
        out[name] = {"threshold": t, "train_pairs_acc": acc_fit, "acc": acc, "best_acc": acc_oracle, "auc": auc,
                     "same_pairs": int(len(ds)), "diff_pairs": int(len(dd)), "same_mean": float(ds.mean()),
                     "same_std": float(ds.std()), "diff_mean": float(dd.mean()), "diff_std": float(dd.std())}
    return out


def export_pt(model, path):
    sd = {k: v.detach().cpu().clone() for k, v in model.state_dict().items() if not k.endswith("num_batches_tracked")}
    torch.save(sd, path + ".tmp")
    os.replace(path + ".tmp", path)


def convert_facenet(pt, out, input_size=None, threshold=None):
    """Writes the project weight file (kind "facenet") from the state dict with convert/facenet.py's BN folding.
    facenet.py's own shape table (facenet_ref.FaceNetRef(div)) also divides the 512-d embedding, which this
    model keeps, so the expected shapes are taken from this script's model after checking that every other
    key and shape agrees with FaceNetRef(div). input_size replaces the config's 160 (a student trained on
    smaller inputs); threshold is recorded as verify_threshold (the same-person distance, include/models/embedder.h)."""
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
    if input_size is not None:
        w.cfg = [(k, t, int(input_size) if k == "input_size" else v) for k, t, v in w.cfg]
    if threshold is not None:
        w.config("verify_threshold", float(threshold))
    w.save(out)
    print(f"wrote {out} (kind facenet, div {div}, {len(w.tensors)} tensors, BN folded)", flush=True)


def save(a, model, dev, hist, train_people, test_people, val_people, idx_tr, idx_te, t0):
    """Writes --out-pt and --report (the last measurement is the 'final' one; 'complete' once all epochs ran)."""
    if a.out_pt:
        export_pt(model, a.out_pt)
    last = hist[-1]
    rep = {"args": vars(a), "device": str(dev), "div": a.div, "train_classes": len(train_people),
           "train_images": int(len(idx_tr)), "heldout_people": len(test_people), "heldout_images": int(len(idx_te)),
           "val_people": len(val_people), "epochs": a.epochs, "epochs_done": last["epoch"],
           "complete": last["epoch"] == a.epochs, "seconds": time.time() - t0,
           "final": {"heldout_acc": last["test"]["acc"], **last["test"]}, "val_final": last.get("val"),
           "history": hist}
    tmp = a.report + ".tmp"
    with open(tmp, "w") as f:
        json.dump(rep, f, indent=1)
    os.replace(tmp, a.report)


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="weights/demo_facenet.bin", help="project weight file ('' = none)")
    ap.add_argument("--out-pt", default="/tmp/demo_facenet.pt", help="facenet-pytorch-layout state dict")
    ap.add_argument("--report", default="/tmp/demo_embedder_report.json")
    ap.add_argument("--div", type=int, default=4, help="divide every channel width by this")
    ap.add_argument("--epochs", type=int, default=30)
    ap.add_argument("--batch", type=int, default=128)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=int, default=2, help="epochs of linear learning-rate warm-up")
    ap.add_argument("--wd", type=float, default=5e-4, help="AdamW weight decay")
    ap.add_argument("--dropout", type=float, default=0.2, help="before last_linear (identity at inference)")
    ap.add_argument("--scale", type=float, default=30.0, help="CosFace scale s")
    ap.add_argument("--margin", type=float, default=0.35, help="CosFace margin m")
    ap.add_argument("--aug", type=float, default=1.0, help="augmentation strength (0 = mirror only)")
    ap.add_argument("--singletons", type=int, default=1, help="1: people with one image are classes too")
    ap.add_argument("--holdout", type=int, default=300, help="people kept apart for the verification test")
    ap.add_argument("--val", type=int, default=300, help="more people kept apart to choose hyper-parameters on")
    ap.add_argument("--eval-every", type=int, default=5, help="epochs between verification measurements")
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2, help="CPU threads")
    ap.add_argument("--device", default="auto", help="auto (CUDA when available), cpu or cuda")
    ap.add_argument("--cache", default="/tmp/celeba64.npy", help="decoded 64x64 faces (convert/demo/demo_data.py)")
    ap.add_argument("--ckpt", default="/tmp/demo_embedder.ckpt", help="checkpoint after each epoch ('' = none)")
    ap.add_argument("--no-resume", action="store_true", help="ignore an existing --ckpt")
    ap.add_argument("--subset", type=int, default=0, help="train on this many training images only (smoke tests)")
    ap.add_argument("--export-only", action="store_true", help="only convert --out-pt to --out")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    if a.export_only:
        convert_facenet(a.out_pt, a.out)
        return
    dev = torch.device("cuda" if a.device == "auto" and torch.cuda.is_available() else
                       ("cpu" if a.device == "auto" else a.device))
    torch.manual_seed(a.seed)
    if dev.type == "cuda":
        torch.backends.cudnn.benchmark = True
    t0 = time.time()

    faces, ids = demo_data.load_faces(a.cache)
    multi_people, test_people = split_people(ids, a.holdout, a.seed)
    val_people = split_val(multi_people, a.val, a.seed)
    held = set(test_people) | set(val_people)
    uniq, counts = np.unique(ids, return_counts=True)
    train_people = [p for p in multi_people if p not in held]
    if a.singletons:
        train_people += [p for p, c in zip(uniq, counts) if c == 1]
    cls_of = {int(p): k for k, p in enumerate(train_people)}
    idx_tr = np.array([i for i, p in enumerate(ids) if int(p) in cls_of])
    if a.subset:
        idx_tr = idx_tr[np.random.RandomState(a.seed).permutation(len(idx_tr))[:a.subset]]
    # the threshold is fitted on the pairs of 1000 random training people with >= 2 images (all would cost more
    # embedding time at each measurement and hardly move it)
    fit_pool = [p for p in multi_people if p not in held]
    fit_people = set(np.random.RandomState(a.seed + 2000).choice(fit_pool, min(1000, len(fit_pool)),
                                                                 replace=False).tolist())
    idx_fit = np.array([i for i, p in enumerate(ids) if int(p) in fit_people])
    tp, vp = set(test_people), set(val_people)
    idx_te = np.array([i for i, p in enumerate(ids) if int(p) in tp])
    idx_va = np.array([i for i, p in enumerate(ids) if int(p) in vp])
    print(f"device {dev}; {len(train_people)} training classes ({len(idx_tr)} images), {len(val_people)} "
          f"validation people ({len(idx_va)} images), {len(test_people)} held-out people ({len(idx_te)} images)",
          flush=True)

    faces_t = torch.from_numpy(faces).to(dev)
    labels = torch.tensor([cls_of[int(p)] for p in ids[idx_tr]], device=dev)
    idx_tr_t = torch.as_tensor(idx_tr, device=dev)
    model = InceptionResnetV1(div=a.div).to(dev)
    model.dropout.p = a.dropout  # not stored in the weights; identity at inference
    W = nn.Parameter(torch.randn(len(train_people), 512, device=dev) * 0.01)
    opt = torch.optim.AdamW(list(model.parameters()) + [W], lr=a.lr, weight_decay=a.wd)
    steps_per_epoch = len(idx_tr) // a.batch
    total, warm = a.epochs * steps_per_epoch, a.warmup * steps_per_epoch
    g = torch.Generator(device=dev).manual_seed(a.seed)
    hist, step, ep0 = [], 0, 0
    key = {k: v for k, v in vars(a).items() if k not in ("out", "out_pt", "report", "ckpt", "no_resume", "threads")}
    if a.ckpt and os.path.isfile(a.ckpt) and not a.no_resume:
        ck = torch.load(a.ckpt, map_location=dev)
        if ck.get("key") == key:
            model.load_state_dict(ck["model"]); W.data.copy_(ck["W"]); opt.load_state_dict(ck["opt"])
            step, ep0, hist = ck["step"], ck["epoch"], ck["hist"]; g.set_state(ck["g"].cpu())
            torch.set_rng_state(ck["rng"].cpu())  # dropout draws from the global generators
            if ck["cuda_rng"] is not None:
                torch.cuda.set_rng_state(ck["cuda_rng"].cpu())
            print(f"resumed from {a.ckpt} after epoch {ep0}", flush=True)
        else:
            print(f"{a.ckpt} is from other settings; starting afresh", flush=True)
    model.train()
    for ep in range(ep0, a.epochs):
        perm = torch.randperm(len(idx_tr), generator=g, device=dev)
        tl = tc = tn = 0.0
        for b in range(steps_per_epoch):
            sel = perm[b * a.batch:(b + 1) * a.batch]
            y = labels[sel]
            lr = a.lr * (step + 1) / warm if step < warm else \
                a.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            for pg in opt.param_groups:
                pg["lr"] = lr
            e = model(augment160(faces_t, idx_tr_t[sel], g, a.aug))
            cos = e @ F.normalize(W, dim=1).t()
            logits = a.scale * (cos - a.margin * F.one_hot(y, cos.shape[1]))
            loss = F.cross_entropy(logits, y)
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            tl += loss.detach() * len(sel); tc += (cos.argmax(1) == y).sum(); tn += len(sel)  # no GPU sync per step
        rec = {"epoch": ep + 1, "seconds": time.time() - t0, "loss": float(tl) / tn, "train_top1": float(tc) / tn}
        if (ep + 1) % a.eval_every == 0 or ep + 1 == a.epochs:
            rec.update(verification(model, faces_t, ids, idx_fit, {"val": idx_va, "test": idx_te} if a.val
                                    else {"test": idx_te}, a.seed))
        hist.append(rec)
        msg = f"epoch {ep + 1} t {rec['seconds']:.0f}s loss {rec['loss']:.3f} top1 {rec['train_top1']:.3f}"
        for k in ("val", "test"):
            if k in rec:
                v = rec[k]
                msg += (f" | {k} acc {v['acc']:.3f} (best {v['best_acc']:.3f}, auc {v['auc']:.3f}) same "
                        f"{v['same_mean']:.3f} diff {v['diff_mean']:.3f}")
        print(msg, flush=True)

        if "test" in rec:  # a complete state dict and report at every measurement, so a stopped run tells
            save(a, model, dev, hist, train_people, test_people, val_people, idx_tr, idx_te, t0)
        if a.ckpt:  # everything needed to resume after this epoch
            torch.save({"key": key, "model": model.state_dict(), "W": W.data, "opt": opt.state_dict(), "step": step,
                        "epoch": ep + 1, "hist": hist, "g": g.get_state(), "rng": torch.get_rng_state(),
                        "cuda_rng": torch.cuda.get_rng_state() if dev.type == "cuda" else None}, a.ckpt + ".tmp")
            os.replace(a.ckpt + ".tmp", a.ckpt)

    model.eval()
    print(json.dumps(hist[-1]["test"], indent=1), flush=True)
    if a.out:
        convert_facenet(a.out_pt, a.out)
    print(f"done in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
