"""golden_jpeg.py - JPEG fixtures for tests/test_jpeg.c: small files written by Pillow and the
pixels Pillow reads from them.

For each case NAME it writes tests/fixtures/jpeg/NAME.jpg and NAME.expected.npy, the uint8
array (h, w, 3) of `PIL.Image.open(NAME.jpg).convert('RGB')`, which the C reader
(src/base/jpeg.c) must reproduce byte for byte. Cases: baseline with 4:2:0, 4:2:2 and 4:4:4
chroma, optimised Huffman tables, progressive (colour, grey, CMYK), greyscale, CMYK (Pillow
writes Adobe-inverted CMYK with an APP14 marker), an EXIF orientation tag (neither reader
rotates), and extraneous bytes before a marker (a libjpeg warning both ignore). Error cases:
truncated.jpg (Pillow: "image file is truncated") and bad_huffman.jpg (a corrupt DHT
segment). The image is 37x29 so that every MCU edge case (partial blocks) occurs.
Run via `make golden` (Debian's /usr/bin/python3 with numpy and python3-pil).
"""
import io
import os
import sys

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402  (convert/ and its role folders on sys.path)

OUT = os.path.join(_paths.ROOT, "tests", "fixtures", "jpeg")


def test_image():
    """37x29 RGB: smooth gradients, a hard edge and seeded noise, so the DCT has work to do."""
    rng = np.random.default_rng(20)
    y, x = np.mgrid[0:29, 0:37]
    r = 255 * x / 36
    g = 255 * y / 28
    b = np.where((x - 18) ** 2 + (y - 14) ** 2 < 80, 230, 30)
    img = np.stack([r, g, b], axis=-1) + rng.normal(0, 12, (29, 37, 3))
    return Image.fromarray(np.clip(img, 0, 255).astype(np.uint8), "RGB")


def encode(im, **kw):
    buf = io.BytesIO()
    im.save(buf, "JPEG", **kw)
    return buf.getvalue()


def cases():
    rgb = test_image()
    grey = rgb.convert("L")
    cmyk = rgb.convert("CMYK")
    exif = Image.Exif()
    exif[0x0112] = 6  # orientation: rotate 90 CW to display
    base = encode(rgb, quality=90)
    sos = base.index(b"\xff\xda")
    yield "baseline420", base
    yield "baseline422", encode(rgb, quality=85, subsampling=1)
    yield "baseline444", encode(rgb, quality=95, subsampling=0)
    yield "optimized", encode(rgb, quality=75, optimize=True)
    yield "progressive", encode(rgb, quality=90, progressive=True)
    yield "grey", encode(grey, quality=90)
    yield "grey_progressive", encode(grey, quality=80, progressive=True)
    yield "cmyk", encode(cmyk, quality=90)
    yield "cmyk_progressive", encode(cmyk, quality=90, progressive=True)
    yield "exif_rotated", encode(rgb, quality=90, exif=exif.tobytes())
    yield "extraneous", base[:sos] + b"\x00\x11\x22" + base[sos:]


def main():
    os.makedirs(OUT, exist_ok=True)
    for name, data in cases():
        path = os.path.join(OUT, name + ".jpg")
        with open(path, "wb") as f:
            f.write(data)
        px = np.asarray(Image.open(path).convert("RGB"), dtype=np.uint8)
        np.save(os.path.join(OUT, name + ".expected.npy"), px)
        print(f"{name}.jpg: {len(data)} bytes, {Image.open(path).mode}, {px.shape}")
    # error cases: Pillow must refuse them too
    base = dict(cases())["baseline420"]
    bad = {"truncated": base[: len(base) // 2]}
    dht = base.index(b"\xff\xc4")
    bad["bad_huffman"] = base[: dht + 4] + b"\xff" * 17 + base[dht + 21 :]  # 17 code counts of 255
    for name, data in bad.items():
        path = os.path.join(OUT, name + ".jpg")
        with open(path, "wb") as f:
            f.write(data)
        try:
            Image.open(path).convert("RGB")
        except Exception as e:  # noqa: BLE001 (any error from Pillow is what we want)
            print(f"{name}.jpg: {len(data)} bytes, Pillow refuses it: {e}")
        else:
            sys.exit(f"golden_jpeg: Pillow reads {name}.jpg, which should be broken")


if __name__ == "__main__":
    main()
