"""golden_core.py - fixtures for the core unit tests (weight-file format parity).

Writes tests/fixtures/wf_python.bin: a small weight file written by convert/wfile.py whose
content tests/test_wfile.c rebuilds with the C writer and compares byte for byte.
Run via `make golden` (Debian's /usr/bin/python3 with numpy).
"""
import os
import sys

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import wfile  # noqa: E402

ROOT = _paths.ROOT


def main():
    w = wfile.WFile("test")
    w.config("answer", 42)
    w.config("pi", 3.25)
    w.config("name", "tiny")
    w.config("channels", [4, 8, 16])
    w.config("scales", [0.5, 0.25])
    w.tensor("a.weight", (np.arange(24, dtype=np.float32) - 12).reshape(2, 3, 4) / 8)
    w.tensor("b.bias", np.array([1.5, -2.0, 3.0], dtype=np.float32))
    w.tensor("idx", np.array([7, -1], dtype=np.int64))
    w.save(os.path.join(ROOT, "tests", "fixtures", "wf_python.bin"))


# --- .npy fixtures: written by numpy itself, read by tests/test_npy.c ----------------
def npy_fixtures(d):
    a = (np.arange(6, dtype=np.float32) - 2.5).reshape(2, 3)
    np.save(os.path.join(d, "f32_2x3.npy"), a)
    np.save(os.path.join(d, "f64_4.npy"), np.array([0.5, -1.25, 1e30, 3.0]))
    np.save(os.path.join(d, "i8_3.npy"), np.array([3, -4, 5], dtype=np.int64))
    np.save(os.path.join(d, "u1_2x2.npy"), np.array([[0, 255], [7, 8]], dtype=np.uint8))
    np.save(os.path.join(d, "scalar.npy"), np.float32(2.5))
    np.save(os.path.join(d, "fortran.npy"), np.asfortranarray(a))
    np.save(os.path.join(d, "bigendian.npy"), a.astype(">f4"))
    np.save(os.path.join(d, "f16.npy"), a.astype(np.float16))
    np.save(os.path.join(d, "nan.npy"), np.array([1.0, np.nan], dtype=np.float32))
    np.save(os.path.join(d, "f64_overflow.npy"), np.array([1e300]))
    with open(os.path.join(d, "v2.npy"), "wb") as f:
        np.lib.format.write_array(f, a, version=(2, 0))


# --- PNG fixtures: a minimal encoder, so the expected pixels do not depend on any
# image library; tests/test_png.c decodes them through libpng ----------------------
def _png(path, w, h, color_type, depth, rows, palette=None, trns=None):
    import struct
    import zlib

    def chunk(t, data):
        return struct.pack(">I", len(data)) + t + data + struct.pack(">I", zlib.crc32(t + data) & 0xFFFFFFFF)

    raw = b"".join(b"\x00" + r for r in rows)
    out = b"\x89PNG\r\n\x1a\n" + chunk(b"IHDR", struct.pack(">IIBBBBB", w, h, depth, color_type, 0, 0, 0))
    if palette is not None:
        out += chunk(b"PLTE", bytes(palette))
    if trns is not None:
        out += chunk(b"tRNS", bytes(trns))
    out += chunk(b"IDAT", zlib.compress(raw)) + chunk(b"IEND", b"")
    with open(path, "wb") as f:
        f.write(out)


def png_fixtures(d):
    rng = np.random.default_rng(7)
    w, h = 5, 3
    exp = {}
    rgb8 = rng.integers(0, 256, (h, w, 3), dtype=np.uint8)
    _png(os.path.join(d, "rgb8.png"), w, h, 2, 8, [r.tobytes() for r in rgb8])
    exp["rgb8"] = rgb8
    rgba8 = rng.integers(0, 256, (h, w, 4), dtype=np.uint8)
    _png(os.path.join(d, "rgba8.png"), w, h, 6, 8, [r.tobytes() for r in rgba8])
    exp["rgba8"] = rgba8[:, :, :3]
    g8 = rng.integers(0, 256, (h, w), dtype=np.uint8)
    _png(os.path.join(d, "gray8.png"), w, h, 0, 8, [r.tobytes() for r in g8])
    exp["gray8"] = np.repeat(g8[:, :, None], 3, 2)
    ga8 = rng.integers(0, 256, (h, w, 2), dtype=np.uint8)
    _png(os.path.join(d, "grayalpha8.png"), w, h, 4, 8, [r.tobytes() for r in ga8])
    exp["grayalpha8"] = np.repeat(ga8[:, :, :1], 3, 2)
    g16 = rng.integers(0, 65536, (h, w), dtype=np.uint16)
    _png(os.path.join(d, "gray16.png"), w, h, 0, 16, [r.astype(">u2").tobytes() for r in g16])
    # Pillow 9.4 opens 16-bit gray as mode "I"; convert("RGB") clips it to 255 (golden_png.py has every kind)
    exp["gray16"] = np.repeat(np.minimum(g16, 255).astype(np.uint8)[:, :, None], 3, 2)
    rgb16 = rng.integers(0, 65536, (h, w, 3), dtype=np.uint16)
    _png(os.path.join(d, "rgb16.png"), w, h, 2, 16, [r.astype(">u2").tobytes() for r in rgb16])
    exp["rgb16"] = (rgb16 >> 8).astype(np.uint8)
    pal = rng.integers(0, 256, (4, 3), dtype=np.uint8)
    idx = rng.integers(0, 4, (h, w), dtype=np.uint8)
    _png(os.path.join(d, "palette8.png"), w, h, 3, 8, [r.tobytes() for r in idx], palette=pal.tobytes(), trns=[255, 0])
    exp["palette8"] = pal[idx]
    bits = rng.integers(0, 2, (h, 8), dtype=np.uint8)  # 8 pixels wide, 1 bit each
    _png(os.path.join(d, "gray1.png"), 8, h, 0, 1, [np.packbits(r).tobytes() for r in bits])
    exp["gray1"] = np.repeat((bits * 255).astype(np.uint8)[:, :, None], 3, 2)
    for k, v in exp.items():
        np.save(os.path.join(d, f"{k}.expected.npy"), np.ascontiguousarray(v))
    full = open(os.path.join(d, "rgb8.png"), "rb").read()
    with open(os.path.join(d, "truncated.png"), "wb") as f:
        f.write(full[: len(full) - 30])
    with open(os.path.join(d, "not_png.png"), "wb") as f:
        f.write(b"GIF89a this is not a png")
    _png(os.path.join(d, "zero_width.png"), 0, 3, 2, 8, [b"", b"", b""])


if __name__ == "__main__":
    main()
    fx = os.path.join(ROOT, "tests", "fixtures")
    os.makedirs(os.path.join(fx, "npy"), exist_ok=True)
    os.makedirs(os.path.join(fx, "png"), exist_ok=True)
    npy_fixtures(os.path.join(fx, "npy"))
    png_fixtures(os.path.join(fx, "png"))
