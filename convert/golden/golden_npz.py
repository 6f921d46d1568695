"""golden_npz.py - .npz fixtures for tests/test_npz.c, written by numpy itself (np.savez,
np.savez_compressed) and by Python's zipfile for the archives numpy never writes.

tests/fixtures/npz/
  plain.npz       np.savez: weight (3,4) f4 = (arange(12) - 6) / 8, bias (3,) f8 = [0.5, -1.25, 1e300],
                  idx (5,) i8 = [3, -4, 5, 0, 7], scalar () f4 = 2.5, nan (2,) f4 = [1, nan],
                  be (2,) >f4 (big endian: the .npy reader refuses it)
  compressed.npz  np.savez_compressed of the same arrays
  streamed.npz    weight and bias written to an unseekable stream (sizes in data descriptors,
                  general-purpose flag bit 3)
  duplicate.npz   two members named weight.npy
  bzip2.npz       weight.npy compressed with bzip2 (method 12: refused)
Run via `make golden` (Debian's /usr/bin/python3 with numpy).
"""
import io
import os
import sys
import zipfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402  (convert/ and its role folders on sys.path)

OUT = os.path.join(_paths.ROOT, "tests", "fixtures", "npz")


def arrays():
    return {
        "weight": ((np.arange(12, dtype=np.float32) - 6) / 8).reshape(3, 4),
        "bias": np.array([0.5, -1.25, 1e300]),
        "idx": np.array([3, -4, 5, 0, 7], dtype=np.int64),
        "scalar": np.float32(2.5),
        "nan": np.array([1, np.nan], dtype=np.float32),
        "be": np.array([1, 2], dtype=">f4"),
    }


def npy_bytes(a):
    b = io.BytesIO()
    np.save(b, a)
    return b.getvalue()


class Unseekable(io.RawIOBase):
    """A write-only stream without seek/tell, so zipfile writes data descriptors."""

    def __init__(self):
        self.parts = []

    def writable(self):
        return True

    def write(self, b):
        self.parts.append(bytes(b))
        return len(b)


def main():
    os.makedirs(OUT, exist_ok=True)
    a = arrays()
    np.savez(os.path.join(OUT, "plain.npz"), **a)
    np.savez_compressed(os.path.join(OUT, "compressed.npz"), **a)

    s = Unseekable()
    with zipfile.ZipFile(s, "w", compression=zipfile.ZIP_DEFLATED) as z:
        for k in ("weight", "bias"):
            with z.open(k + ".npy", "w") as f:
                f.write(npy_bytes(a[k]))
    data = b"".join(s.parts)
    assert data[6] & 8, "streamed.npz: expected data descriptors"
    with open(os.path.join(OUT, "streamed.npz"), "wb") as f:
        f.write(data)

    with zipfile.ZipFile(os.path.join(OUT, "duplicate.npz"), "w") as z:
        import warnings

        with warnings.catch_warnings():
            warnings.simplefilter("ignore")  # zipfile warns about the duplicate we want
            z.writestr("weight.npy", npy_bytes(a["weight"]))
            z.writestr("weight.npy", npy_bytes(a["weight"] * 2))

    with zipfile.ZipFile(os.path.join(OUT, "bzip2.npz"), "w", compression=zipfile.ZIP_BZIP2) as z:
        z.writestr("weight.npy", npy_bytes(a["weight"]))

    # the fixtures read back with numpy as written
    for name in ("plain", "compressed", "streamed"):
        got = np.load(os.path.join(OUT, name + ".npz"))
        assert np.array_equal(got["weight"], a["weight"]) and np.array_equal(got["bias"], a["bias"]), name
    print("wrote", OUT, sorted(os.listdir(OUT)))


if __name__ == "__main__":
    main()
