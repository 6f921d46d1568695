#!/usr/bin/python3
"""golden_facenet.py - regenerates the committed FaceNet golden fixtures (seeded, deterministic).

  tests/fixtures/facenet_tiny.bin      kind "facenet": the spec's topology (5/10/5 blocks, input
                                       160) with every channel width divided by 8, seeded random
                                       weights and non-trivial BN statistics, converted exactly
                                       like a real checkpoint (convert/facenet.py, BN folded).
  tests/fixtures/facenet_tiny_ref.bin  kind "reference": `pixels` u8 (2,3,160,160) (the input
                                       is (p - 127.5) / 128), every traced block's activation
                                       of image 0 (`act.<block>`, float32 of a float64 torch run
                                       of the UNFOLDED model) and `embedding` (2, 64).
  tests/fixtures/resize_pillow.bin     kind "reference": Pillow BILINEAR resizes of synthetic
                                       images (synth() below, recomputed in C), config `cases`
                                       = 8 ints per case (src w, h, crop x1, y1, x2, y2, out w,
                                       h), tensor `case<i>` u8 (out h, out w, 3).

Needs torch, numpy and PIL (Debian python3-pil).
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import facenet as conv  # noqa: E402
import wfile  # noqa: E402
from facenet_ref import FaceNetRef, randomize  # noqa: E402

FIX = os.path.join(_paths.ROOT, "tests", "fixtures")
DIV = 8
SEED = 20240601


def synth(w, h, seed):
    """Deterministic RGB8 test image (h, w, 3): gradient + hashed noise + hard checker edges.
    tests/test_resize.c has the same formula in C (uint32 arithmetic)."""
    y, x, c = np.meshgrid(np.arange(h, dtype=np.uint64), np.arange(w, dtype=np.uint64), np.arange(3, dtype=np.uint64),
                          indexing="ij")
    m = np.uint64(0xFFFFFFFF)
    hs = ((x * np.uint64(73856093)) ^ (y * np.uint64(19349663)) ^ ((c + np.uint64(seed)) * np.uint64(83492791))) & m
    hs = ((hs ^ (hs >> np.uint64(13))) * np.uint64(1274126177)) & m
    noise = (hs >> np.uint64(24)) & np.uint64(255)
    grad = (x * np.uint64(255) // np.uint64(max(w - 1, 1)) + y * np.uint64(255) // np.uint64(max(h - 1, 1))) // np.uint64(2)
    v = (np.uint64(3) * grad + noise) // np.uint64(4)
    flip = ((x // np.uint64(37) + y // np.uint64(23)) & np.uint64(1)) == np.uint64(1)
    v = np.where(flip, np.uint64(255) - v, v)
    return v.astype(np.uint8)


RESIZE_CASES = [  # src w, h, crop box x1, y1, x2, y2, out w, h
    (320, 200, 0, 0, 320, 200, 160, 160),
    (320, 200, 0, 0, 320, 200, 77, 50),
    (320, 200, 40, 20, 250, 190, 160, 160),
    (100, 60, 0, 0, 100, 60, 160, 160),
    (1024, 1024, 0, 0, 1024, 1024, 160, 160),
    (1024, 1024, 200, 180, 824, 880, 160, 160),
    (160, 160, 0, 0, 160, 160, 160, 160),
    (7, 5, 1, 0, 7, 5, 3, 2),
]


def resize_fixture(path):
    from PIL import Image

    w = wfile.WFile("reference")
    flat = []
    for i, (sw, sh, x1, y1, x2, y2, ow, oh) in enumerate(RESIZE_CASES):
        img = Image.fromarray(synth(sw, sh, i), "RGB")
        out = np.asarray(img.crop((x1, y1, x2, y2)).resize((ow, oh), Image.BILINEAR))
        assert out.shape == (oh, ow, 3)
        w.tensor(f"case{i}", out.astype(np.uint8))
        flat += [sw, sh, x1, y1, x2, y2, ow, oh]
    w.config("cases", flat)
    import PIL

    w.config("pillow_version", PIL.__version__)
    w.save(path)


def facenet_fixtures(wpath, rpath):
    torch.manual_seed(SEED)
    net = randomize(FaceNetRef(DIV), SEED)
    wf = conv.build_wfile(net.state_dict(), DIV, f"facenet_ref div {DIV} seed {SEED}")
    wf.save(wpath)

    g = torch.Generator().manual_seed(SEED + 1)
    pixels = torch.randint(0, 256, (2, 3, 160, 160), generator=g, dtype=torch.uint8)
    x = (pixels.double() - 127.5) / 128.0
    with torch.no_grad():
        emb, acts = net.double().forward_trace(x)
    r = wfile.WFile("reference")
    r.config("width_div", DIV)
    r.config("seed", SEED)
    r.config("blocks", ",".join(n for n, _ in acts))
    r.tensor("pixels", pixels.numpy())
    for name, a in acts:
        r.tensor("act." + name, a[0].numpy().astype(np.float32))
    r.tensor("embedding", emb.numpy().astype(np.float32))
    r.save(rpath)


def main():
    torch.set_num_threads(1)
    os.makedirs(FIX, exist_ok=True)
    outs = [os.path.join(FIX, f) for f in ("facenet_tiny.bin", "facenet_tiny_ref.bin", "resize_pillow.bin")]
    facenet_fixtures(outs[0], outs[1])
    resize_fixture(outs[2])
    for p in outs:
        print(f"wrote {os.path.relpath(p)} ({os.path.getsize(p) / 1e6:.2f} MB)")


if __name__ == "__main__":
    main()
