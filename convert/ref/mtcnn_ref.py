"""mtcnn_ref.py - the project's PyTorch reference of the MTCNN detector, written from
shared/spec/mtcnn.md (facenet-pytorch defaults, single PIL image path). It is the oracle
for the C golden tests (convert/golden/golden_mtcnn.py) and the PyTorch side of
tests/bench/mtcnn.sh. It is not facenet-pytorch: it re-states the spec in torch ops.

    /usr/bin/python3 convert/ref/mtcnn_ref.py WEIGHTS_DIR_OR_BIN IMAGE.png... [--all] [--bench N [--times]]

WEIGHTS_DIR holds pnet.pt, rnet.pt, onet.pt (torch.load) or is a converted mtcnn .bin.
Prints per face: image, x1 y1 x2 y2, prob, 10 landmark numbers (x,y pairs).
"""
import math
import os
import sys
import time

import numpy as np
import torch
import torch.nn.functional as F

NETS = ("pnet", "rnet", "onet")


# --- weights ------------------------------------------------------------------------
def load_weights(src):
    """{net: {name: float32 tensor}} from a directory of .pt files or a converted .bin."""
    if os.path.isdir(src):
        return {n: {k: v.float().contiguous() for k, v in torch.load(os.path.join(src, n + ".pt")).items()}
                for n in NETS}
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
    import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
    import wfile
    kind, _, ts = wfile.read(src)
    assert kind == "mtcnn", kind
    out = {n: {} for n in NETS}
    for k, v in ts.items():
        net, name = k.split(".", 1)
        out[net][name] = torch.from_numpy(np.array(v))
    return out


# --- networks (spec section 1) ---------------------------------------------------------
def _cp(x, sd, conv, prelu):
    x = F.conv2d(x, sd[conv + ".weight"], sd[conv + ".bias"])
    return F.prelu(x, sd[prelu + ".weight"])


def _flatten_whc(x):
    # upstream permutes [N,C,H,W] -> [N,W,H,C] before flattening: feature (w*H + h)*C + c
    return x.permute(0, 3, 2, 1).contiguous().view(x.shape[0], -1)


def _dense(x, sd, name):
    return F.linear(x, sd[name + ".weight"], sd[name + ".bias"])


def pnet(sd, x):
    """x [N,3,H,W] normalised -> reg [N,4,Ho,Wo], prob [N,2,Ho,Wo]."""
    x = _cp(x, sd, "conv1", "prelu1")
    x = F.max_pool2d(x, 2, 2, ceil_mode=True)
    x = _cp(x, sd, "conv2", "prelu2")
    x = _cp(x, sd, "conv3", "prelu3")
    prob = torch.softmax(F.conv2d(x, sd["conv4_1.weight"], sd["conv4_1.bias"]), dim=1)
    reg = F.conv2d(x, sd["conv4_2.weight"], sd["conv4_2.bias"])
    return reg, prob


def rnet(sd, x):
    """x [N,3,24,24] -> reg [N,4], prob [N,2]."""
    x = _cp(x, sd, "conv1", "prelu1")
    x = F.max_pool2d(x, 3, 2, ceil_mode=True)
    x = _cp(x, sd, "conv2", "prelu2")
    x = F.max_pool2d(x, 3, 2, ceil_mode=True)
    x = _cp(x, sd, "conv3", "prelu3")
    x = F.prelu(_dense(_flatten_whc(x), sd, "dense4"), sd["prelu4.weight"])
    return _dense(x, sd, "dense5_2"), torch.softmax(_dense(x, sd, "dense5_1"), dim=1)


def onet(sd, x):
    """x [N,3,48,48] -> reg [N,4], landmarks [N,10], prob [N,2]."""
    x = _cp(x, sd, "conv1", "prelu1")
    x = F.max_pool2d(x, 3, 2, ceil_mode=True)
    x = _cp(x, sd, "conv2", "prelu2")
    x = F.max_pool2d(x, 3, 2, ceil_mode=True)
    x = _cp(x, sd, "conv3", "prelu3")
    x = F.max_pool2d(x, 2, 2, ceil_mode=True)
    x = _cp(x, sd, "conv4", "prelu4")
    x = F.prelu(_dense(_flatten_whc(x), sd, "dense5"), sd["prelu5.weight"])
    return (_dense(x, sd, "dense6_2"), _dense(x, sd, "dense6_3"),
            torch.softmax(_dense(x, sd, "dense6_1"), dim=1))


# --- pipeline helpers (spec section 2) -------------------------------------------------
def area_resample(x, hw):
    """x [N,3,H,W] float (raw 0..255) -> [N,3,h,w]; torch area = adaptive average pooling."""
    return F.interpolate(x, size=hw, mode="area")


def normalise(x):
    return (x - 127.5) * 0.0078125


def pyramid_scales(h, w, minsize=20, factor=0.709):
    m = 12.0 / minsize
    minl = min(h, w) * m
    s, out = m, []
    while minl >= 12:
        out.append(s)
        s = s * factor
        minl = minl * factor
    return out


def nms_iou(boxes, scores, thr):
    """torchvision-style NMS (no +1); returns kept indices in descending score (stable)."""
    b = boxes.numpy().astype(np.float32)
    order = np.argsort(-scores.numpy(), kind="stable")
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    area = (x2 - x1) * (y2 - y1)
    keep = []
    sup = np.zeros(len(b), bool)
    for oi, i in enumerate(order):
        if sup[i]:
            continue
        keep.append(i)
        rest = order[oi + 1:]
        w = np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]))
        h = np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]))
        inter = w * h
        iou = inter / (area[i] + area[rest] - inter)
        sup[rest[iou > np.float32(thr)]] = True
    return torch.as_tensor(np.array(keep, dtype=np.int64))


def nms_min(boxes, scores, thr):
    """numpy-style 'Min' NMS with +1 areas; kept indices in descending score (stable)."""
    b = boxes.numpy().astype(np.float32)
    order = np.argsort(-scores.numpy(), kind="stable")
    x1, y1, x2, y2 = b[:, 0], b[:, 1], b[:, 2], b[:, 3]
    one = np.float32(1)
    area = (x2 - x1 + one) * (y2 - y1 + one)
    keep = []
    sup = np.zeros(len(b), bool)
    for oi, i in enumerate(order):
        if sup[i]:
            continue
        keep.append(i)
        rest = order[oi + 1:]
        w = np.maximum(np.float32(0), np.minimum(x2[i], x2[rest]) - np.maximum(x1[i], x1[rest]) + one)
        h = np.maximum(np.float32(0), np.minimum(y2[i], y2[rest]) - np.maximum(y1[i], y1[rest]) + one)
        o = (w * h) / np.minimum(area[i], area[rest])
        sup[rest[o > np.float32(thr)]] = True
    return torch.as_tensor(np.array(keep, dtype=np.int64))


def rerec(b):
    b = b.clone()
    w = b[:, 2] - b[:, 0]
    h = b[:, 3] - b[:, 1]
    l = torch.max(w, h)
    b[:, 0] = b[:, 0] + w * 0.5 - l * 0.5
    b[:, 1] = b[:, 1] + h * 0.5 - l * 0.5
    b[:, 2] = b[:, 0] + l
    b[:, 3] = b[:, 1] + l
    return b


def bbreg(b, reg):
    b = b.clone()
    w = b[:, 2] - b[:, 0] + 1
    h = b[:, 3] - b[:, 1] + 1
    x1 = b[:, 0] + reg[:, 0] * w
    y1 = b[:, 1] + reg[:, 1] * h
    x2 = b[:, 2] + reg[:, 2] * w
    y2 = b[:, 3] + reg[:, 3] * h
    b[:, 0], b[:, 1], b[:, 2], b[:, 3] = x1, y1, x2, y2
    return b


def crops(img, boxes, size):
    """img [1,3,H,W] raw; boxes [n,>=4] float -> (crops [m,3,size,size] raw, kept row indices)."""
    H, W = img.shape[2], img.shape[3]
    bi = boxes[:, :4].trunc().int().numpy()
    out, keep = [], []
    for k in range(len(bi)):
        x1, y1, x2, y2 = (int(v) for v in bi[k])
        x1, y1, x2, y2 = max(x1, 1), max(y1, 1), min(x2, W), min(y2, H)
        if x2 < x1 or y2 < y1:
            continue  # empty crop: dropped (upstream keeps the box and misaligns)
        out.append(area_resample(img[:, :, y1 - 1:y2, x1 - 1:x2], (size, size)))
        keep.append(k)
    if not out:
        return torch.zeros(0, 3, size, size), keep
    return torch.cat(out, 0), keep


# --- detection ------------------------------------------------------------------------
def detect(w, rgb, trace=None):
    """rgb uint8 [H,W,3] -> (boxes [n,4], probs [n], landmarks [n,10] as x0..x4,y0..y4),
    sorted by area descending. trace (dict) receives the stage intermediates."""
    H, Wd = rgb.shape[0], rgb.shape[1]
    img = torch.from_numpy(np.array(rgb, dtype=np.uint8)).permute(2, 0, 1).unsqueeze(0).float()
    empty = (torch.zeros(0, 4), torch.zeros(0), torch.zeros(0, 10))
    t = trace if trace is not None else {}
    scales = pyramid_scales(H, Wd) if min(H, Wd) >= 20 else []
    t["scales"] = scales
    t["levels"] = []
    allb = []
    for s in scales:
        hs, ws = int(H * s + 1), int(Wd * s + 1)
        lvl = area_resample(img, (hs, ws))
        reg, prob = pnet(w["pnet"], normalise(lvl))
        p = prob[0, 1]
        rc = (p >= 0.6).nonzero()
        r, c = rc[:, 0], rc[:, 1]
        sf = torch.tensor(s, dtype=torch.float32)
        x1 = torch.floor((2 * c + 1).float() / sf)
        y1 = torch.floor((2 * r + 1).float() / sf)
        x2 = torch.floor((2 * c + 12).float() / sf)
        y2 = torch.floor((2 * r + 12).float() / sf)
        b = torch.stack([x1, y1, x2, y2, p[r, c], reg[0, 0, r, c], reg[0, 1, r, c], reg[0, 2, r, c],
                         reg[0, 3, r, c]], 1)
        t["levels"].append({"size": (hs, ws), "level": lvl, "reg": reg, "prob": prob, "cand": b})
        if len(b):
            b = b[nms_iou(b[:, :4], b[:, 4], 0.5)]
        allb.append(b)
    b = torch.cat(allb, 0) if allb else torch.zeros(0, 9)
    t["stage1_cat"] = b
    if len(b) == 0:
        return empty
    b = b[nms_iou(b[:, :4], b[:, 4], 0.7)]
    rw = b[:, 2] - b[:, 0]
    rh = b[:, 3] - b[:, 1]
    b = torch.stack([b[:, 0] + b[:, 5] * rw, b[:, 1] + b[:, 6] * rh, b[:, 2] + b[:, 7] * rw,
                     b[:, 3] + b[:, 8] * rh, b[:, 4]], 1)
    b = rerec(b)
    t["stage1"] = b

    # R-Net
    cr, keep = crops(img, b, 24)
    b = b[keep]
    t["rnet_in"] = cr
    if len(b) == 0:
        return empty
    reg, prob = rnet(w["rnet"], normalise(cr))
    t["rnet_reg"], t["rnet_prob"] = reg, prob
    ok = prob[:, 1] > 0.7
    b = torch.cat([b[ok, :4], prob[ok, 1:2]], 1)
    reg = reg[ok]
    if len(b) == 0:
        return empty
    pick = nms_iou(b[:, :4], b[:, 4], 0.7)
    b = rerec(bbreg(b[pick], reg[pick]))
    t["stage2"] = b

    # O-Net
    cr, keep = crops(img, b, 48)
    b = b[keep]
    t["onet_in"] = cr
    if len(b) == 0:
        return empty
    reg, lm, prob = onet(w["onet"], normalise(cr))
    t["onet_reg"], t["onet_lm"], t["onet_prob"] = reg, lm, prob
    ok = prob[:, 1] > 0.7
    b = torch.cat([b[ok, :4], prob[ok, 1:2]], 1)
    reg, lm = reg[ok], lm[ok]
    if len(b) == 0:
        return empty
    bw = b[:, 2] - b[:, 0] + 1
    bh = b[:, 3] - b[:, 1] + 1
    px = bw.unsqueeze(1) * lm[:, :5] + b[:, 0:1] - 1
    py = bh.unsqueeze(1) * lm[:, 5:] + b[:, 1:2] - 1
    b = bbreg(b, reg)
    pick = nms_min(b[:, :4], b[:, 4], 0.7)
    b, px, py = b[pick], px[pick], py[pick]
    area = (b[:, 2] - b[:, 0]) * (b[:, 3] - b[:, 1])
    order = torch.as_tensor(np.argsort(-area.numpy(), kind="stable"))
    b, px, py = b[order], px[order], py[order]
    t["final"] = b
    return b[:, :4], b[:, 4], torch.cat([px, py], 1)


def facenet_box(box, W, H, margin=0, size=160):
    """spec section 3: integer crop box for extract_face."""
    x1, y1, x2, y2 = (float(v) for v in box)
    mx = margin * (x2 - x1) / (size - margin)
    my = margin * (y2 - y1) / (size - margin)
    return (int(max(x1 - mx / 2, 0)), int(max(y1 - my / 2, 0)), int(min(x2 + mx / 2, W)), int(min(y2 + my / 2, H)))


def load_rgb(path):
    from PIL import Image
    return np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)


def main(argv):
    torch.set_num_threads(int(os.environ.get("HY_TORCH_THREADS", "1")))
    args = [a for a in argv if not a.startswith("--")]
    keep_all = "--all" in argv
    bench = 0
    if "--bench" in argv:
        bench = int(argv[argv.index("--bench") + 1])
        args.remove(str(bench))
    w = load_weights(args[0])
    with torch.no_grad():
        for p in args[1:]:
            rgb = load_rgb(p)
            if bench:
                detect(w, rgb)  # warm-up
                times = []
                for _ in range(bench):
                    t0 = time.perf_counter()
                    detect(w, rgb)
                    times.append((time.perf_counter() - t0) * 1e3)
                print("%s\t%.2f ms/image (median of %d)" % (os.path.basename(p), sorted(times)[len(times) // 2], bench))
                if "--times" in argv:
                    print("\n".join("%.2f" % t for t in times))
                continue
            boxes, probs, lm = detect(w, rgb)
            n = len(boxes) if keep_all else min(1, len(boxes))
            if n == 0:
                print("%s\tno face" % p)
            for i in range(n):
                pts = " ".join("%.3f,%.3f" % (lm[i, k], lm[i, k + 5]) for k in range(5))
                print("%s\t%.4f %.4f %.4f %.4f\t%.8f\t%s" % (p, *boxes[i].tolist(), probs[i], pts))


if __name__ == "__main__":
    main(sys.argv[1:])
