"""hyper_data.py - convert HYPER's released fMRI data (data_1.dat / data_2.dat) into the
project's dataset layout (see docs/decoders.md).

    /usr/bin/python3 convert/hyper_data.py data_1.dat -o data/hyper_s1

The .dat file is a Python pickle of (X_tr, T_tr, X_te, T_te): training responses (1050, 4096),
their latents (1050, 512), test responses (36, 4096) and latents (36, 512). Any of the four may
be a list of arrays (one row per stimulus, or blocks of rows); they are stacked. Python 2
pickles are read with latin1 decoding. Only numpy objects are allowed in the pickle (a
restricted unpickler refuses anything else, so a hostile file cannot run code).

Writes DIR/train_fmri.npy, train_latents.npy, test_fmri.npy, test_latents.npy (float32 by
default, --float64 keeps double), after checking shapes against each other and finiteness.
Files are written to temporary names and renamed only when all four are valid.
Needs numpy only.
"""
import argparse
import os
import pickle
import sys

import numpy as np

ALLOWED = {
    ("numpy.core.multiarray", "_reconstruct"),
    ("numpy.core.multiarray", "scalar"),
    ("numpy", "ndarray"),
    ("numpy", "dtype"),
    ("numpy.core.numeric", "_frombuffer"),
    ("copy_reg", "_reconstructor"),
    ("copyreg", "_reconstructor"),
    ("__builtin__", "object"),
    ("builtins", "object"),
    ("_codecs", "encode"),  # protocol-2 pickles written by Python 3 store bytes this way
}


class SafeUnpickler(pickle.Unpickler):
    def find_class(self, module, name):
        if (module, name) in ALLOWED:
            return super().find_class(module, name)
        raise pickle.UnpicklingError(f"refusing to load {module}.{name} (only numpy arrays are allowed)")


def fail(msg):
    print(f"hyper_data.py: {msg}", file=sys.stderr)
    sys.exit(1)


def as_matrix(obj, what, path):
    if isinstance(obj, (list, tuple)):
        if not obj:
            fail(f"{path}: {what} is an empty list")
        parts = [np.asarray(a) for a in obj]
        if all(p.ndim == 1 for p in parts):
            a = np.stack(parts)
        elif all(p.ndim == 2 for p in parts):
            a = np.concatenate(parts, axis=0)
        else:
            fail(f"{path}: {what} is a list of arrays with mixed dimensions")
    else:
        a = np.asarray(obj)
    if a.ndim == 3 and 1 in a.shape[1:]:
        a = a.reshape(a.shape[0], -1)
    if a.ndim != 2:
        fail(f"{path}: {what} has shape {a.shape}, expected 2-D (rows, columns)")
    if not np.issubdtype(a.dtype, np.number):
        fail(f"{path}: {what} has non-numeric dtype {a.dtype}")
    a = a.astype(np.float64)
    if not np.all(np.isfinite(a)):
        r, c = np.argwhere(~np.isfinite(a))[0]
        fail(f"{path}: {what} has a non-finite value at row {r}, column {c}")
    return a


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("dat", help="HYPER data_1.dat / data_2.dat (pickle)")
    ap.add_argument("-o", "--out", required=True, help="output dataset directory")
    ap.add_argument("--float64", action="store_true", help="write float64 instead of float32")
    ap.add_argument("--latent-dim", type=int, default=512, help="expected latent width (default 512; 0 = any)")
    a = ap.parse_args()
    try:
        with open(a.dat, "rb") as f:
            obj = SafeUnpickler(f, encoding="latin1").load()
    except (OSError, pickle.UnpicklingError, EOFError, ValueError) as e:
        fail(f"{a.dat}: cannot read pickle: {e}")
    if not isinstance(obj, (list, tuple)) or len(obj) != 4:
        fail(f"{a.dat}: expected a pickled 4-tuple (X_tr, T_tr, X_te, T_te), got {type(obj).__name__}"
             + (f" of length {len(obj)}" if isinstance(obj, (list, tuple)) else ""))
    names = ["X_tr", "T_tr", "X_te", "T_te"]
    xtr, ttr, xte, tte = (as_matrix(o, n, a.dat) for o, n in zip(obj, names))
    if xtr.shape[0] != ttr.shape[0]:
        fail(f"{a.dat}: X_tr has {xtr.shape[0]} rows but T_tr has {ttr.shape[0]}")
    if xte.shape[0] != tte.shape[0]:
        fail(f"{a.dat}: X_te has {xte.shape[0]} rows but T_te has {tte.shape[0]}")
    if xtr.shape[1] != xte.shape[1]:
        fail(f"{a.dat}: X_tr has {xtr.shape[1]} voxels but X_te has {xte.shape[1]}")
    if ttr.shape[1] != tte.shape[1]:
        fail(f"{a.dat}: T_tr latent width {ttr.shape[1]} but T_te {tte.shape[1]}")
    if a.latent_dim and ttr.shape[1] != a.latent_dim:
        fail(f"{a.dat}: latent width {ttr.shape[1]}, expected {a.latent_dim} (use --latent-dim 0 to accept)")
    os.makedirs(a.out, exist_ok=True)
    dt = np.float64 if a.float64 else np.float32
    files = {"train_fmri.npy": xtr, "train_latents.npy": ttr, "test_fmri.npy": xte, "test_latents.npy": tte}
    tmps = []
    try:
        for name, arr in files.items():
            tmp = os.path.join(a.out, f".{name}.tmp.{os.getpid()}")
            with open(tmp, "wb") as f:
                np.save(f, arr.astype(dt))
            tmps.append((tmp, os.path.join(a.out, name)))
        for tmp, final in tmps:
            os.replace(tmp, final)
    finally:
        for tmp, _ in tmps:
            if os.path.exists(tmp):
                os.remove(tmp)
    print(f"wrote {a.out}: train {xtr.shape[0]} x {xtr.shape[1]}, test {xte.shape[0]} x {xte.shape[1]}, "
          f"latent width {ttr.shape[1]} ({np.dtype(dt).name})")


if __name__ == "__main__":
    main()
