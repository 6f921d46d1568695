"""distill_demo_embedder.py - trains the bundled demo FaceNet (weights/demo_facenet.bin) by distillation from
face-api's face descriptor (weights/faceapi_recognition.bin, `make weights`), instead of from the CelebA identity
labels alone (train_demo_embedder.py, 71.6 % held-out verification: 1.8 images per person are too few).

Student: Inception-ResNet-v1 (convert/demo/demo_facenet_model.py) with every width divided by --div, 512-d unit
embedding, input --size x --size (the C engine reads the size from the file). Its input is what `hyper embed
--crop mtcnn` feeds it in `make demo`: the largest MTCNN face of a 64x64 image, cut as facenet-pytorch's
extract_face does (int-truncated box), resized to size x size, standardised (p - 127.5) / 128. Training images:
  - the 64x64 CelebA crops (convert/demo/demo_data.py) of every person except the --holdout test people (the same
    300 people and pairs convert/demo/demo_quality.py measures), single-image people included (no labels needed);
  - with --mirror 1 (default) the same faces mirrored, with the teacher's descriptors of the mirrored originals;
  - optionally --gen samples of the demo generator (weights/demo_generator.bin, `hyper generate --seed 3`), the
    faces `make demo` scores (not used for the committed weights).
Teacher target: face-api's descriptor t of the same face, run by the C engine (`hyper embed`): for CelebA on the
89x109 original with the tight box (17, 39, 72, 94) (face-api's dlib-chip region on aligned CelebA; 93.2 % on the
test pairs at face-api's 0.6), for generator samples on the 64x64 image with its MTCNN face chip. The descriptors
are centred on the mean over the training images and scaled to unit length (u); the student's 512-d unit embedding
e is pulled towards [u, 0, ..., 0]: loss = |e - [u, 0]|^2 = 2 - 2 cos, so its distances approximate those of the
centred unit descriptors (AUC 0.985 on the test pairs, vs 0.989 for the raw descriptors).
Augmentation: the MTCNN box is jittered (scale +-8 %, shift +-6 % of its size) and the colours (brightness +-15 %,
contrast +-15 %) while the target stays the teacher's descriptor of the plain face.
No dropout (see main). AdamW, linear warm-up then cosine decay; checkpoints after every epoch (a killed run resumes, --no-resume starts
over). Verification: the threshold is fitted on pairs of 1000 training people, then applied to the held-out pairs.

    /usr/bin/python3 convert/demo/distill_demo_embedder.py --no-resume --threads 1 --out weights/demo_facenet.bin

made the committed weights (2026-12-03): held-out verification 86.1 % at the training-people threshold 1.129 (AUC
0.936) after 20 epochs, 20 minutes on one core (weights/README.md has the curve and the variants tried).

Caches (in --work, default /tmp/hy_distill): PNGs of the CelebA originals and 64x64 crops, generator samples,
MTCNN boxes (detect.tsv) and teacher descriptors (.npy), all made with build/hyper.
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

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(HERE, os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import demo_data  # noqa: E402
from demo_facenet_model import InceptionResnetV1  # noqa: E402
from train_demo_embedder import best_threshold, convert_facenet, export_pt, make_pairs, split_people  # noqa: E402

TEACHER_BOX = "box:17,39,72,94"  # on the 89x109 CelebA originals


# --- data made by the C engine -----------------------------------------------------------------------
def run(cmd):
    r = subprocess.run(cmd, capture_output=True, text=True)
    if r.returncode:
        raise SystemExit(f"{' '.join(cmd[:6])} ...: {r.stderr.strip()[-400:]}")
    return r.stdout


def write_pngs(images, folder):
    """uint8 (N,H,W,3) -> folder/000001.png ...; returns the paths (skips files already there)."""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    paths = []
    for i, x in enumerate(images):
        p = os.path.join(folder, "%06d.png" % (i + 1))
        if not os.path.exists(p):
            Image.fromarray(x).save(p)
        paths.append(p)
    return paths


def celeba_originals(folder):
    """PNG copies of the 89x109 CelebA images (the C engine reads PNG only)."""
    from PIL import Image
    d = demo_data.data_dir()
    names, _ = demo_data.load_identities(d)
    os.makedirs(folder, exist_ok=True)
    paths = []
    for n in names:
        p = os.path.join(folder, n.rsplit(".", 1)[0] + ".png")
        if not os.path.exists(p):
            Image.open(os.path.join(d, "images", n)).convert("RGB").save(p)
        paths.append(p)
    return paths


def mirrored(paths, folder):
    """Left-right mirrored PNG copies of the images."""
    from PIL import Image
    os.makedirs(folder, exist_ok=True)
    out = []
    for p in paths:
        q = os.path.join(folder, os.path.basename(p))
        if not os.path.exists(q):
            Image.open(p).transpose(Image.FLIP_LEFT_RIGHT).save(q)
        out.append(q)
    return out


def teacher(hyper, weights, paths, crop, cache):
    """face-api descriptors (N, 128) of the images, by `hyper embed` (batches of 2000 paths per call)."""
    if os.path.exists(cache):
        t = np.load(cache)
        if t.shape[0] == len(paths):
            return t
    parts = []
    for k in range(0, len(paths), 2000):
        out = cache + f".part{k}.npy"
        run([hyper, "embed", "-e", weights, "--crop", crop, "--threads", "1", "--quiet", "--face-batch", "32",
             "-o", out] + paths[k:k + 2000])
        parts.append(np.load(out))
        os.remove(out)
    t = np.concatenate(parts)
    np.save(cache, t)
    return t


def mtcnn_boxes(hyper, mtcnn, paths, cache):
    """facenet-pytorch crop boxes (int-truncated, clipped) of the largest MTCNN face per 64x64 image; the whole
    image when there is none (what `hyper embed --crop mtcnn` does by default)."""
    if os.path.exists(cache):
        b = np.load(cache)
        if len(b) == len(paths):
            return b
    boxes = {}
    for k in range(0, len(paths), 2000):
        out = run([hyper, "detect", "-m", mtcnn, "--tsv", "--threads", "1", "--quiet"] + paths[k:k + 2000])
        for line in out.splitlines()[1:]:
            f = line.split("\t")
            boxes.setdefault(f[0], [float(v) for v in f[2:6]])
    b = np.zeros((len(paths), 4), dtype=np.int32)
    for i, p in enumerate(paths):
        x1, y1, x2, y2 = boxes.get(p, [0, 0, 64, 64])
        b[i] = [max(int(x1), 0), max(int(y1), 0), min(int(x2), 64), min(int(y2), 64)]
    np.save(cache, b)
    return b


# --- student input ---------------------------------------------------------------------------------
def crops(faces, boxes, size, g=None, strength=0.0):
    """Bilinear crop-and-resize of each box of the 64x64 faces (uint8 NHWC tensor) to size x size, standardised.
    Boxes are jittered (scale, shift) and colours changed when a generator g is given."""
    n = len(faces)
    x = faces.permute(0, 3, 1, 2).float()
    b = boxes.float()
    cx, cy = (b[:, 0] + b[:, 2]) / 2, (b[:, 1] + b[:, 3]) / 2
    w, h = b[:, 2] - b[:, 0], b[:, 3] - b[:, 1]
    if g is not None and strength > 0:
        def u(lo, hi):
            return lo + (hi - lo) * torch.rand(n, generator=g)
        s = 1 + strength * u(-0.08, 0.08)
        cx = cx + strength * u(-0.06, 0.06) * w
        cy = cy + strength * u(-0.06, 0.06) * h
        w, h = w * s, h * s
    # affine_grid maps output [-1, 1] to input [-1, 1] (align_corners=False: pixel edges)
    theta = torch.zeros(n, 2, 3)
    theta[:, 0, 0], theta[:, 0, 2] = w / 64, cx / 32 - 1
    theta[:, 1, 1], theta[:, 1, 2] = h / 64, cy / 32 - 1
    grid = torch.nn.functional.affine_grid(theta, (n, 3, size, size), align_corners=False)
    y = torch.nn.functional.grid_sample(x, grid, mode="bilinear", padding_mode="border", align_corners=False)
    if g is not None and strength > 0:
        br = (0.15 * strength) * (2 * torch.rand(n, generator=g) - 1) * 255
        k = 1 + (0.15 * strength) * (2 * torch.rand(n, generator=g) - 1)
        m = y.mean((1, 2, 3), keepdim=True)
        y = (m + k[:, None, None, None] * (y - m) + br[:, None, None, None]).clamp(0, 255)
    return (y.round() - 127.5) / 128.0


def embed(model, faces, boxes, size):
    model.eval()
    with torch.no_grad():
        e = torch.cat([model(crops(faces[k:k + 256], boxes[k:k + 256], size)) for k in range(0, len(faces), 256)])
    model.train()
    return e


def verify(model, faces, boxes, ids, idx_fit, idx_te, size, seed):
    """Threshold fitted on training-people pairs (seed), applied to the held-out pairs (seed + 1)."""
    def dists(idx, s):
        e = embed(model, faces[idx], boxes[idx], size)
        same, diff = make_pairs(ids[idx], s)
        return ((e[same[:, 0]] - e[same[:, 1]]).norm(dim=1).numpy(), (e[diff[:, 0]] - e[diff[:, 1]]).norm(dim=1).numpy())
    t, fit_acc = best_threshold(*dists(idx_fit, seed))
    ds, dd = dists(idx_te, seed + 1)
    acc = ((ds <= t).sum() + (dd > t).sum()) / (len(ds) + len(dd))
    allv = np.concatenate([ds, dd])
    ranks = allv.argsort().argsort() + 1
    auc = 1 - (ranks[:len(ds)].sum() - len(ds) * (len(ds) + 1) / 2) / (len(ds) * len(dd))
    return {"threshold": t, "fit_acc": fit_acc, "acc": float(acc), "best_acc": best_threshold(ds, dd)[1],
            "auc": float(auc), "same_mean": float(ds.mean()), "diff_mean": float(dd.mean())}


def parse_args(argv=None):
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--out", default="weights/demo_facenet.bin")
    ap.add_argument("--out-pt", default="/tmp/demo_facenet_distilled.pt")
    ap.add_argument("--report", default="/tmp/demo_distill_report.json")
    ap.add_argument("--work", default="/tmp/hy_distill", help="cache folder for PNGs, boxes and teacher outputs")
    ap.add_argument("--hyper", default="build/hyper")
    ap.add_argument("--teacher", default="weights/faceapi_recognition.bin")
    ap.add_argument("--mtcnn", default="weights/mtcnn.bin")
    ap.add_argument("--generator", default="weights/demo_generator.bin")
    ap.add_argument("--gen", type=int, default=0, help="generator samples added to the training images")
    ap.add_argument("--mirror", type=int, default=1, help="1: mirrored CelebA faces too (teacher on the mirrored "
                    "originals)")
    ap.add_argument("--div", type=int, default=4)
    ap.add_argument("--size", type=int, default=80, help="input size of the student (the 64x64 crops upsampled)")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--batch", type=int, default=64)
    ap.add_argument("--lr", type=float, default=2e-3)
    ap.add_argument("--warmup", type=float, default=0.5, help="epochs of linear warm-up")
    ap.add_argument("--wd", type=float, default=5e-4)
    ap.add_argument("--aug", type=float, default=1.0)
    ap.add_argument("--holdout", type=int, default=300)
    ap.add_argument("--eval-every", type=int, default=3)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--ckpt", default="/tmp/demo_distill.ckpt")
    ap.add_argument("--no-resume", action="store_true")
    ap.add_argument("--max-minutes", type=float, default=0, help="stop (resumable) after this wall time; 0 = none")
    return ap.parse_args(argv)


def main(argv=None):
    a = parse_args(argv)
    torch.set_num_threads(a.threads)
    torch.manual_seed(a.seed)
    t0 = time.time()
    os.makedirs(a.work, exist_ok=True)
    faces64, ids = demo_data.load_faces(os.path.join(a.work, "celeba64.npy"))
    # CelebA: student crops from the 64x64 images, teacher on the originals
    p64 = write_pngs(faces64, os.path.join(a.work, "celeba64"))
    box = mtcnn_boxes(a.hyper, a.mtcnn, p64, os.path.join(a.work, "celeba64_boxes.npy"))
    tch = teacher(a.hyper, a.teacher, celeba_originals(os.path.join(a.work, "celeba_orig")), TEACHER_BOX,
                  os.path.join(a.work, "teacher_celeba.npy"))
    _, test_people = split_people(ids, a.holdout, a.seed)
    tp = set(test_people)
    idx_te = np.array([i for i, p in enumerate(ids) if int(p) in tp])
    idx_tr = np.array([i for i, p in enumerate(ids) if int(p) not in tp])
    uniq, counts = np.unique(ids[idx_tr], return_counts=True)
    multi = [p for p, c in zip(uniq, counts) if c >= 2]
    fit_people = set(np.random.RandomState(a.seed + 2000).choice(multi, min(1000, len(multi)), replace=False).tolist())
    idx_fit = np.array([i for i in idx_tr if int(ids[i]) in fit_people])
    faces = faces64[idx_tr]
    boxes = box[idx_tr]
    targets = tch[idx_tr]
    if a.mirror:  # mirrored faces, with the teacher's descriptors of the mirrored originals (the box is symmetric)
        tm = teacher(a.hyper, a.teacher, mirrored(celeba_originals(os.path.join(a.work, "celeba_orig")),
                                                  os.path.join(a.work, "celeba_orig_mirror")),
                     TEACHER_BOX, os.path.join(a.work, "teacher_celeba_mirror.npy"))
        mb = box[idx_tr].copy()
        mb[:, 0], mb[:, 2] = 64 - box[idx_tr, 2], 64 - box[idx_tr, 0]
        faces = np.concatenate([faces, faces[:, :, ::-1]])
        boxes = np.concatenate([boxes, mb])
        targets = np.concatenate([targets, tm[idx_tr]])
    n_celeba = len(faces)
    if a.gen:  # generator samples: student crops and teacher from the same 64x64 image
        gdir = os.path.join(a.work, f"gen{a.gen}")
        if not os.path.exists(os.path.join(gdir, "%06d.png" % (a.gen - 1))):
            run([a.hyper, "generate", "-g", a.generator, "--seed", "3", "-n", str(a.gen), "-o", gdir, "--threads", "1",
                 "--quiet"])
        gp = [os.path.join(gdir, "%06d.png" % i) for i in range(a.gen)]
        from PIL import Image
        gfaces = np.stack([np.asarray(Image.open(p).convert("RGB")) for p in gp])
        gbox = mtcnn_boxes(a.hyper, a.mtcnn, gp, os.path.join(a.work, f"gen{a.gen}_boxes.npy"))
        gt = teacher(a.hyper, a.teacher, gp, "mtcnn", os.path.join(a.work, f"teacher_gen{a.gen}.npy"))
        faces, boxes, targets = np.concatenate([faces, gfaces]), np.concatenate([boxes, gbox]), np.concatenate([targets, gt])
    # centred, then unit: face-api's descriptors share a large common part (the mean of their unit vectors has
    # norm 0.92), so plain unit targets let a student that outputs that mean reach cos 0.9 without telling faces
    # apart (measured: held-out AUC 0.58 at training loss 0.19). Centred on the training images' mean they are
    # spread (different people 1.40 apart, the same person 0.86) and verify as well (AUC 0.985 vs 0.987).
    targets = targets - targets[:n_celeba].mean(0)
    tgt = torch.from_numpy(targets / np.linalg.norm(targets, axis=1, keepdims=True)).float()
    tgt = torch.cat([tgt, torch.zeros(len(tgt), 512 - tgt.shape[1])], 1)
    faces_t, boxes_t = torch.from_numpy(np.ascontiguousarray(faces)), torch.from_numpy(boxes)
    all_t, allbox_t = torch.from_numpy(faces64), torch.from_numpy(box)
    print(f"data ready in {time.time() - t0:.0f}s: {len(faces)} training images ({n_celeba} CelebA incl. mirrored, "
          f"{a.gen} generated), {len(idx_te)} held-out images of {len(tp)} people", flush=True)

    model = InceptionResnetV1(div=a.div)
    # no dropout before last_linear: with it (the model's 0.6), last_bn's running variance keeps the dropout
    # noise, and in eval mode its shift then outweighs the shrunk signal: every embedding pointed the same way
    # (measured: held-out AUC 0.51 after 2 epochs while the training loss had fallen to 0.40)
    model.dropout.p = 0.0
    opt = torch.optim.AdamW(model.parameters(), lr=a.lr, weight_decay=a.wd)
    spe = len(faces) // a.batch
    total, warm = a.epochs * spe, int(a.warmup * spe)
    g = torch.Generator().manual_seed(a.seed)
    step, ep0, hist = 0, 0, []
    key = {k: v for k, v in vars(a).items() if k not in ("out", "out_pt", "report", "ckpt", "no_resume", "threads",
                                                          "max_minutes", "eval_every")}
    if a.ckpt and os.path.isfile(a.ckpt) and not a.no_resume:
        ck = torch.load(a.ckpt)
        if ck.get("key") == key:
            model.load_state_dict(ck["model"]), opt.load_state_dict(ck["opt"])
            step, ep0, hist = ck["step"], ck["epoch"], ck["hist"]
            g.set_state(ck["g"]), torch.set_rng_state(ck["rng"])
            print(f"resumed from {a.ckpt} after epoch {ep0}", flush=True)
    model.train()
    for ep in range(ep0, a.epochs):
        perm = torch.randperm(len(faces), generator=g)
        tl, te = 0.0, time.time()
        for b in range(spe):
            sel = perm[b * a.batch:(b + 1) * a.batch]
            lr = a.lr * (step + 1) / max(1, warm) if step < warm else \
                a.lr * 0.5 * (1 + math.cos(math.pi * (step - warm) / max(1, total - warm)))
            for pg in opt.param_groups:
                pg["lr"] = lr
            e = model(crops(faces_t[sel], boxes_t[sel], a.size, g, a.aug))
            loss = ((e - tgt[sel]) ** 2).sum(1).mean()
            opt.zero_grad(set_to_none=True)
            loss.backward()
            opt.step()
            step += 1
            tl += float(loss)
        rec = {"epoch": ep + 1, "seconds": time.time() - t0, "epoch_seconds": time.time() - te, "loss": tl / spe}
        if (ep + 1) % a.eval_every == 0 or ep + 1 == a.epochs:
            rec["test"] = verify(model, all_t, allbox_t, ids, idx_fit, idx_te, a.size, a.seed)
        hist.append(rec)
        print(json.dumps(rec), flush=True)
        if a.ckpt:
            torch.save({"key": key, "model": model.state_dict(), "opt": opt.state_dict(), "step": step,
                        "epoch": ep + 1, "hist": hist, "g": g.get_state(), "rng": torch.get_rng_state()}, a.ckpt + ".tmp")
            os.replace(a.ckpt + ".tmp", a.ckpt)
        if a.max_minutes and time.time() - t0 > 60 * a.max_minutes and ep + 1 < a.epochs:
            print(f"stopping after epoch {ep + 1} (--max-minutes); run again to resume", flush=True)
            return
    last = next(h for h in reversed(hist) if "test" in h)
    export_pt(model, a.out_pt)
    with open(a.report + ".tmp", "w") as f:
        json.dump({"args": vars(a), "train_images": len(faces), "heldout_images": int(len(idx_te)),
                   "final": last["test"], "history": hist}, f, indent=1)
    os.replace(a.report + ".tmp", a.report)
    if a.out:
        convert_facenet(a.out_pt, a.out, input_size=a.size, threshold=last["test"]["threshold"])
    print(f"done in {time.time() - t0:.0f}s: held-out verification {100 * last['test']['acc']:.1f}% at the "
          f"training-people threshold {last['test']['threshold']:.3f} (AUC {last['test']['auc']:.3f})", flush=True)


if __name__ == "__main__":
    main()
