"""wfile.py - the project's only Python writer (and a reader, for tests) of the HYW1
weight-file format. The byte layout is documented in include/base/wfile.h; keep both in sync.

    w = WFile("pggan")
    w.config("resolution", 1024)           # int -> type 1, float -> 2, str -> 3,
    w.config("channels", [512, 512, 256])  # list of ints -> 4, list of floats -> 5
    w.tensor("dense.weight", array)        # numpy array: float32/float64/int32/int64/uint8
    w.save("out.bin")                      # atomic: writes out.bin.tmp.<pid>, then renames

Needs numpy only.
"""
import os
import struct
import zlib

import numpy as np

MAGIC = b"HYPERWF\x00"
VERSION = 1
ALIGN = 64
DTYPES = {np.dtype("<f4"): 0, np.dtype("<f8"): 1, np.dtype("<i4"): 2, np.dtype("<i8"): 3, np.dtype("u1"): 4}
DTYPE_OF_CODE = {v: k for k, v in DTYPES.items()}


class WFileError(Exception):
    pass


def _align(n):
    return (n + ALIGN - 1) // ALIGN * ALIGN


class WFile:
    def __init__(self, kind):
        kb = kind.encode("ascii")
        if not 0 < len(kb) <= 32:
            raise WFileError(f"model kind {kind!r} must be 1..32 ASCII characters")
        self.kind = kb
        self.cfg = []  # (key, type, value)
        self.tensors = []  # (name, array)
        self._names = set()

    def config(self, key, value):
        if any(k == key for k, _, _ in self.cfg):
            raise WFileError(f"duplicate config key {key!r}")
        if isinstance(value, bool):
            value = int(value)
        if isinstance(value, (int, np.integer)):
            self.cfg.append((key, 1, int(value)))
        elif isinstance(value, (float, np.floating)):
            self.cfg.append((key, 2, float(value)))
        elif isinstance(value, str):
            self.cfg.append((key, 3, value))
        elif isinstance(value, (list, tuple)) and all(isinstance(v, (int, np.integer)) for v in value):
            self.cfg.append((key, 4, [int(v) for v in value]))
        elif isinstance(value, (list, tuple)):
            self.cfg.append((key, 5, [float(v) for v in value]))
        else:
            raise WFileError(f"config {key!r}: unsupported value type {type(value).__name__}")

    def tensor(self, name, array):
        if name in self._names:
            raise WFileError(f"duplicate tensor name {name!r}")
        a = np.ascontiguousarray(array)
        dt = a.dtype.newbyteorder("<") if a.dtype.byteorder == ">" else a.dtype
        a = a.astype(dt, copy=False)
        if np.dtype(dt).str not in {d.str for d in DTYPES}:
            raise WFileError(f"tensor {name!r}: unsupported dtype {a.dtype}")
        if a.ndim > 8:
            raise WFileError(f"tensor {name!r}: ndim {a.ndim} > 8")
        if a.dtype.kind == "f" and not np.all(np.isfinite(a)):
            raise WFileError(f"tensor {name!r}: contains NaN or Inf")
        self._names.add(name)
        self.tensors.append((name, a))

    def to_bytes(self):
        body = bytearray()
        for key, typ, val in self.cfg:
            kb = key.encode("ascii")
            if not 0 < len(kb) <= 255:
                raise WFileError(f"config key {key!r} must be 1..255 ASCII characters")
            body += struct.pack("<H", len(kb)) + kb + struct.pack("<B", typ)
            if typ == 1:
                body += struct.pack("<q", val)
            elif typ == 2:
                body += struct.pack("<d", val)
            elif typ == 3:
                sb = val.encode("ascii")
                if len(sb) > 65535:
                    raise WFileError(f"config {key!r}: string too long")
                body += struct.pack("<I", len(sb)) + sb
            else:
                if len(val) > 65535:
                    raise WFileError(f"config {key!r}: array too long")
                body += struct.pack("<I", len(val)) + struct.pack("<%d%s" % (len(val), "q" if typ == 4 else "d"), *val)
        # tensor table entry sizes are known before offsets are assigned
        entry_sizes = [2 + len(n.encode("ascii")) + 2 + 8 * a.ndim + 8 + 8 + 4 for n, a in self.tensors]
        header_bytes = 64 + len(body) + sum(entry_sizes) + 4
        offset = _align(header_bytes)
        table = bytearray()
        layout = []
        for (name, a), _ in zip(self.tensors, entry_sizes):
            nb = name.encode("ascii")
            if not 0 < len(nb) <= 255:
                raise WFileError(f"tensor name {name!r} must be 1..255 ASCII characters")
            data = a.tobytes(order="C")
            table += struct.pack("<H", len(nb)) + nb
            table += struct.pack("<BB", DTYPES[np.dtype(a.dtype.str)], a.ndim)
            table += struct.pack("<%dQ" % a.ndim, *a.shape)
            table += struct.pack("<QQI", offset, len(data), zlib.crc32(data) & 0xFFFFFFFF)
            layout.append((offset, data))
            offset = _align(offset + len(data))
        file_size = layout[-1][0] + len(layout[-1][1]) if layout else _align(header_bytes)
        fixed = MAGIC + struct.pack("<II", VERSION, header_bytes) + self.kind.ljust(32, b"\x00")
        fixed += struct.pack("<IIQ", len(self.cfg), len(self.tensors), file_size)
        head = bytes(fixed + body + table)
        head += struct.pack("<I", zlib.crc32(head) & 0xFFFFFFFF)
        assert len(head) == header_bytes
        out = bytearray(file_size)
        out[: len(head)] = head
        for off, data in layout:
            out[off : off + len(data)] = data
        return bytes(out)

    def save(self, path):
        data = self.to_bytes()
        tmp = f"{path}.tmp.{os.getpid()}"
        try:
            with open(tmp, "wb") as f:
                f.write(data)
            os.replace(tmp, path)
        except BaseException:
            if os.path.exists(tmp):
                os.remove(tmp)
            raise


def read(path):
    """Returns (kind, config dict, {name: numpy array}); validates like the C reader."""
    with open(path, "rb") as f:
        buf = f.read()
    if len(buf) < 64 or buf[:8] != MAGIC:
        raise WFileError(f"{path}: not a HYW1 weight file (bad magic)")
    version, header_bytes = struct.unpack_from("<II", buf, 8)
    if version != VERSION:
        raise WFileError(f"{path}: unsupported version {version}")
    kind = buf[16:48].rstrip(b"\x00").decode("ascii")
    n_cfg, n_t, file_size = struct.unpack_from("<IIQ", buf, 48)
    if file_size != len(buf) or header_bytes > len(buf):
        raise WFileError(f"{path}: file size {len(buf)} does not match header ({file_size})")
    if zlib.crc32(buf[: header_bytes - 4]) & 0xFFFFFFFF != struct.unpack_from("<I", buf, header_bytes - 4)[0]:
        raise WFileError(f"{path}: header CRC mismatch")
    pos = 64
    cfg = {}
    for _ in range(n_cfg):
        (kl,) = struct.unpack_from("<H", buf, pos)
        key = buf[pos + 2 : pos + 2 + kl].decode("ascii")
        pos += 2 + kl
        typ = buf[pos]
        pos += 1
        if typ == 1:
            (cfg[key],) = struct.unpack_from("<q", buf, pos); pos += 8
        elif typ == 2:
            (cfg[key],) = struct.unpack_from("<d", buf, pos); pos += 8
        elif typ == 3:
            (n,) = struct.unpack_from("<I", buf, pos)
            cfg[key] = buf[pos + 4 : pos + 4 + n].decode("ascii"); pos += 4 + n
        elif typ in (4, 5):
            (n,) = struct.unpack_from("<I", buf, pos)
            cfg[key] = list(struct.unpack_from("<%d%s" % (n, "q" if typ == 4 else "d"), buf, pos + 4))
            pos += 4 + 8 * n
        else:
            raise WFileError(f"{path}: config {key!r} has unknown type {typ}")
    tensors = {}
    for _ in range(n_t):
        (nl,) = struct.unpack_from("<H", buf, pos)
        name = buf[pos + 2 : pos + 2 + nl].decode("ascii")
        pos += 2 + nl
        code, ndim = buf[pos], buf[pos + 1]
        pos += 2
        shape = struct.unpack_from("<%dQ" % ndim, buf, pos); pos += 8 * ndim
        off, nbytes, crc = struct.unpack_from("<QQI", buf, pos); pos += 20
        if off + nbytes > len(buf):
            raise WFileError(f"{path}: tensor {name!r} runs past the end of the file")
        data = buf[off : off + nbytes]
        if zlib.crc32(data) & 0xFFFFFFFF != crc:
            raise WFileError(f"{path}: tensor {name!r} CRC mismatch")
        tensors[name] = np.frombuffer(data, dtype=DTYPE_OF_CODE[code]).reshape(shape)
    return kind, cfg, tensors
