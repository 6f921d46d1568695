#!/usr/bin/python3
"""test_distill.py - tests of the student input of convert/demo/distill_demo_embedder.py, run by CI.

* crops() with the whole 64x64 box at size 64 returns the image itself (standardised);
* crops() of the top-left 32x32 box at size 64 equals a 2x bilinear upscale of that quarter but for the last
  row and column (the crop is the box, not a shifted or scaled region);
* the jitter keeps the crop near its box: with strength 1, the mean of a crop of a constant image is the
  image's (colour jitter aside, within its +-15 % range) and different seeds give different crops.
"""
import os
import sys

import numpy as np
import torch
import torch.nn.functional as F

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
from distill_demo_embedder import crops  # noqa: E402

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def main():
    rng = np.random.default_rng(0)
    img = torch.from_numpy(rng.integers(0, 256, size=(2, 64, 64, 3), dtype=np.uint8))
    full = torch.tensor([[0, 0, 64, 64]] * 2)
    x = crops(img, full, 64)
    want = (img.permute(0, 3, 1, 2).float() - 127.5) / 128
    check(float((x - want).abs().max()) == 0, "whole box at 64x64 is the image")
    quarter = torch.tensor([[0, 0, 32, 32]] * 2)
    y = crops(img, quarter, 64)
    up = F.interpolate(img[:, :32, :32].permute(0, 3, 1, 2).float(), size=(64, 64), mode="bilinear",
                       align_corners=False).round()
    # both sample the same points; grid_sample's coordinates carry ~1e-6 of rounding, which can move a
    # value across a .5 before rounding: at most one grey level (1/128 after standardisation). The last
    # row and column differ by design: they blend in the image's pixels just outside the box (the
    # upscale of the cut-out quarter repeats its edge, as Pillow's crop + resize does)
    d = float((y - (up - 127.5) / 128)[:, :, :63, :63].abs().max())
    check(d <= 1 / 128 + 1e-6, f"top-left quarter at 64x64 is its 2x bilinear upscale (max diff {d:.4f})")
    const = torch.full((4, 64, 64, 3), 100, dtype=torch.uint8)
    box = torch.tensor([[14, 12, 51, 61]] * 4)
    g = torch.Generator().manual_seed(1)
    z = crops(const, box, 96, g, 1.0) * 128 + 127.5
    m = z.mean((1, 2, 3))
    check(bool(((m > 100 * 0.85 - 0.15 * 255 - 1) & (m < 100 * 1.15 + 0.15 * 255 + 1)).all()),
          f"jittered constant face keeps its level within the colour jitter ({m.tolist()})")
    img4 = img.repeat(2, 1, 1, 1)
    a = crops(img4, box, 96, torch.Generator().manual_seed(1), 1.0)
    b = crops(img4, box, 96, torch.Generator().manual_seed(2), 1.0)
    check(float((a - b).abs().max()) > 0.1, "different seeds jitter differently")
    print(f"{len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
