"""golden_png.py - every PNG kind decoded by Pillow, for tests/test_png_pillow.c.

Writes tests/fixtures/png_pillow.bin (HYW1, kind "reference"): for each case NAME two u8
tensors, NAME.png (the file's bytes) and NAME.rgb (h, w, 3) = Pillow's
Image.open(f).convert("RGB"), the decoding the study's Python side (facenet-pytorch, MTCNN)
sees. Cases: every colour type x every bit depth it allows x interlace (none, Adam7), with a
tRNS chunk where the type takes one, palettes shorter than the indices used, and 16-bit gray
values on both sides of 255. The PNGs come from the small encoder below (filter type 0,
Adam7 passes written out by hand), so the bytes do not depend on any image library; a few
kinds are also checked here against their numpy meaning, so a wrong encoder cannot pass
unnoticed. Needs numpy and Pillow (Debian's python3-pil 9.4). Run via `make golden`.
"""
import io
import os
import struct
import sys
import warnings
import zlib

import numpy as np
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import wfile  # noqa: E402

W, H = 13, 9  # odd sizes: every Adam7 pass is non-empty and sub-byte rows end mid-byte
ADAM7 = [(0, 0, 8, 8), (4, 0, 8, 8), (0, 4, 4, 8), (2, 0, 4, 4), (0, 2, 2, 4), (1, 0, 2, 2), (0, 1, 1, 2)]
CHANNELS = {0: 1, 2: 3, 3: 1, 4: 2, 6: 4}


def chunk(t, data):
    return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)


def pack_row(samples, depth):
    """One scanline (samples: 1-D uint array, channels interleaved) at `depth` bits per sample."""
    if depth == 16:
        return samples.astype(">u2").tobytes()
    if depth == 8:
        return samples.astype(np.uint8).tobytes()
    per = 8 // depth
    out = bytearray((len(samples) + per - 1) // per)
    for i, v in enumerate(samples):
        out[i // per] |= int(v) << (8 - depth * (i % per + 1))
    return bytes(out)


def encode(img, ctype, depth, interlace, plte=None, trns=None):
    """img: (h, w, channels) unsigned samples."""
    h, w, _ = img.shape
    raw = bytearray()
    passes = ADAM7 if interlace else [(0, 0, 1, 1)]
    for x0, y0, dx, dy in passes:
        sub = img[y0::dy, x0::dx]
        if sub.shape[0] == 0 or sub.shape[1] == 0:
            continue
        for row in sub:
            raw += b"\x00" + pack_row(row.reshape(-1), depth)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, ctype, 0, 0, interlace))
    if plte is not None:
        out += chunk(b"PLTE", np.asarray(plte, dtype=np.uint8).tobytes())
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    return out + chunk(b"IDAT", zlib.compress(bytes(raw))) + chunk(b"IEND", b"")


def cases(rng):
    """Yields (name, png bytes, numpy meaning or None)."""
    for interlace in (0, 1):
        sfx = "_adam7" if interlace else ""
        # gray, 1..16 bits (16-bit: half the values <= 255, where clipping does not apply)
        for depth in (1, 2, 4, 8, 16):
            top = 1 << depth
            img = rng.integers(0, top, (H, W, 1))
            if depth == 16:
                img[::2] = rng.integers(0, 300, img[::2].shape)
            scale = {1: 255, 2: 85, 4: 17, 8: 1}.get(depth)
            meaning = None if depth == 16 else np.repeat(img * scale, 3, 2)
            yield f"gray{depth}{sfx}", encode(img, 0, depth, interlace), meaning
            key = int(img[0, 0, 0])
            yield f"gray{depth}_trns{sfx}", encode(img, 0, depth, interlace, trns=struct.pack(">H", key)), meaning
        # RGB and RGBA, gray+alpha: 8 and 16 bits (16: Pillow keeps the high byte)
        for ctype, tag in ((2, "rgb"), (4, "grayalpha"), (6, "rgba")):
            for depth in (8, 16):
                img = rng.integers(0, 1 << depth, (H, W, CHANNELS[ctype]))
                hi = img >> (depth - 8)
                meaning = hi[:, :, :3] if ctype != 4 else np.repeat(hi[:, :, :1], 3, 2)
                yield f"{tag}{depth}{sfx}", encode(img, ctype, depth, interlace), meaning
                if ctype == 2:
                    key = struct.pack(">HHH", *[int(v) for v in img[0, 0]])
                    yield f"rgb{depth}_trns{sfx}", encode(img, 2, depth, interlace, trns=key), meaning
        # palette, 1..8 bits: full palette, with tRNS, and a palette shorter than the indices
        for depth in (1, 2, 4, 8):
            top = 1 << depth
            pal = rng.integers(0, 256, (top, 3))
            img = rng.integers(0, top, (H, W, 1))
            meaning = pal[img[:, :, 0]]
            yield f"palette{depth}{sfx}", encode(img, 3, depth, interlace, plte=pal.reshape(-1)), meaning
            alpha = rng.integers(0, 256, max(1, top // 2))
            yield (f"palette{depth}_trns{sfx}", encode(img, 3, depth, interlace, plte=pal.reshape(-1),
                                                       trns=alpha.tolist()), meaning)
            short = max(1, top // 2 - 1)
            yield f"palette{depth}_short{sfx}", encode(img, 3, depth, interlace, plte=pal[:short].reshape(-1)), None
        # an 8-bit palette of 3 entries with every index 0..255 used
        img = np.arange(W * H).reshape(H, W, 1) * 2 % 256
        pal = rng.integers(0, 256, (3, 3))
        yield f"palette8_all_indices{sfx}", encode(img, 3, 8, interlace, plte=pal.reshape(-1)), None


def main():
    # Pillow warns that a palette with tRNS "should be converted to RGBA"; RGB is what is wanted
    warnings.filterwarnings("ignore", message="Palette images with Transparency")
    rng = np.random.default_rng(19)
    w = wfile.WFile("reference")
    names = []
    for name, data, meaning in cases(rng):
        rgb = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
        assert rgb.shape == (H, W, 3), (name, rgb.shape)
        if meaning is not None and not np.array_equal(rgb, meaning.astype(np.uint8)):
            raise SystemExit(f"golden_png.py: {name}: Pillow's pixels differ from the encoded ones (encoder bug?)")
        w.tensor(f"{name}.png", np.frombuffer(data, dtype=np.uint8))
        w.tensor(f"{name}.rgb", rgb)
        names.append(name)
    w.config("cases", ",".join(names))
    w.config("pillow", Image.__version__)
    out = os.path.join(_paths.ROOT, "tests", "fixtures", "png_pillow.bin")
    w.save(out)
    print(f"{os.path.relpath(out, _paths.ROOT)}: {len(names)} PNG kinds decoded by Pillow {Image.__version__}")


if __name__ == "__main__":
    main()
