#!/usr/bin/python3
"""check_resize_photos.py - the C preprocessing (crop + Pillow-exact bilinear resize to 160x160)
against Pillow on the real photos in the shared data folder (not committed; skipped when
absent). Uses `hyper embed --save-crops` with the tiny test network, full frame and a central
box per photo. Prints the number of differing values (expected 0).

    /usr/bin/python3 convert/checks/check_resize_photos.py [--hyper build/hyper]
"""
import argparse
import glob
import os
import subprocess
import sys
import tempfile

import numpy as np
from PIL import Image


def shared_data():
    for d in (os.environ.get("HY_SHARED_DATA"), "../shared/data", "/work/shared/data"):
        if d and os.path.isdir(d):
            return d
    return None


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--hyper", default="build/hyper")
    a = ap.parse_args()
    d = shared_data()
    photos = sorted(glob.glob(os.path.join(d, "faces", "photos", "*.png"))) if d else []
    if not photos:
        print("SKIP: no shared photos (set HY_SHARED_DATA)")
        return 0
    bad = total = 0
    with tempfile.TemporaryDirectory(prefix="hy_resize_photos.") as t:
        for p in photos:
            img = Image.open(p).convert("RGB")
            w, h = img.size
            box = (w // 5, h // 7, w - w // 4, h - h // 6)
            for mode, pil_box in (("full", (0, 0, w, h)), ("box:%d,%d,%d,%d" % box, box)):
                out = os.path.join(t, "c")
                subprocess.run([a.hyper, "embed", "-w", "tests/fixtures/facenet_tiny.bin", p, "--crop", mode,
                                "--save-crops", out, "-o", os.path.join(t, "e.npy")], check=True,
                               stderr=subprocess.DEVNULL)
                got = np.asarray(Image.open(os.path.join(out, "000000.png")).convert("RGB"))
                want = np.asarray(img.crop(pil_box).resize((160, 160), Image.BILINEAR))
                n = int((got != want).sum())
                print(f"{os.path.basename(p)} {w}x{h} --crop {mode}: {n} of {want.size} values differ")
                bad += n
                total += want.size
    print(f"{'OK' if bad == 0 else 'MISMATCH'}: {bad} of {total} values differ from Pillow {Image.__version__}")
    return 0 if bad == 0 else 1


if __name__ == "__main__":
    sys.exit(main())
