#!/usr/bin/python3
"""check_pggan_full.py - end-to-end check of the FULL 1024x1024 PGGAN path.

  1. writes a seeded random Karras-layout checkpoint at the official configuration
     (static_kwargs of karras2018iclr-celebahq-1024x1024.pkl, 23,071,507 Gs parameters used
     in inference, every ToRGB_lod*, lod = 0)  [pggan_fake.write_karras_pkl]
  2. converts it with convert/pggan.py (the CLI, as a user would)
  3. runs `hyper generate -g full.bin -z z.npy -o DIR --npy raw.npy --dump DUMP` for one latent
  4. runs the canonical torch reference (pggan_ref.PgganRef, float32) on the same latent and
     compares every layer (DUMP/<name>.npy) and the raw output, printing max abs diff per layer.
     With --native it also compares the raw output with the Karras-native float64 forward on the
     pickle's own TF-layout variables (slow: ~1-2 minutes more).

    /usr/bin/python3 convert/checks/check_pggan_full.py [--hyper build/hyper] [--seed 0] [--threads 2] [--native] [--keep DIR]

Tolerance: |C - torch| <= 1e-3 * max(1, max|torch|) per layer. Reason: both are float32 with
different summation orders (im2col+sgemm vs torch's conv); each conv sums up to 4608 products,
so rounding gives ~1e-6..1e-5 relative error per layer; PN after every layer keeps activations
at unit RMS so 19 layers accumulate to ~1e-4 at most. A wrong layout/constant gives O(1) errors.
Exits 1 beyond tolerance, 2 if the C binary is missing or fails.
"""
import argparse
import os
import shutil
import subprocess
import sys
import tempfile
import time

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
ROOT = _paths.ROOT
import pggan_fake as fk  # noqa: E402
import pggan_ref as ref  # noqa: E402

REL_TOL = 1e-3


class Comparer:
    """A dict stand-in for PgganRef.forward's `record`: compares each activation with the C
    dump as it is produced, so the 1024x1024 activations are never all held at once."""

    def __init__(self, dump_dir):
        self.dump_dir, self.rows, self.bad = dump_dir, [], 0

    def __setitem__(self, name, x):
        want = x[0].numpy()
        path = os.path.join(self.dump_dir, name + ".npy")
        if not os.path.isfile(path):
            self.rows.append((name, want.shape, None, None, "MISSING"))
            self.bad += 1
            return
        got = np.load(path)
        if got.size != want.size:
            self.rows.append((name, want.shape, None, None, f"SHAPE {got.shape}"))
            self.bad += 1
            return
        d = float(np.abs(got.reshape(want.shape) - want).max())
        scale = max(1.0, float(np.abs(want).max()))
        ok = d <= REL_TOL * scale
        self.bad += not ok
        self.rows.append((name, want.shape, d, scale, "ok" if ok else "FAIL"))
        print(f"  {name:<22} {str(want.shape):<18} max|diff| {d:.3e}  max|ref| {scale:8.3f}  {'ok' if ok else 'FAIL'}",
              flush=True)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hyper", default=os.environ.get("HYPER_BIN", os.path.join(ROOT, "build", "hyper")))
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--threads", type=int, default=2)
    ap.add_argument("--native", action="store_true", help="also compare with the Karras-native float64 forward")
    ap.add_argument("--keep", help="keep the work files in this directory")
    a = ap.parse_args()
    if not os.access(a.hyper, os.X_OK):
        print(f"check_pggan_full: {a.hyper} not found; build it with make", file=sys.stderr)
        return 2
    torch.set_num_threads(a.threads)
    work = a.keep or tempfile.mkdtemp(prefix="pggan_full_")
    os.makedirs(work, exist_ok=True)
    try:
        t0 = time.time()
        pkl, binp = os.path.join(work, "full.pkl"), os.path.join(work, "full.bin")
        gs = fk.write_karras_pkl(pkl, 1024, seed=a.seed, g_equals_gs=True)
        t1 = time.time()
        p = subprocess.run([sys.executable, os.path.join(_paths.CONVERT, "pggan.py"), pkl, "-o", binp], capture_output=True, text=True)
        if p.returncode:
            print(f"check_pggan_full: conversion failed: {p.stderr.strip()}", file=sys.stderr)
            return 1
        print(p.stdout.strip())
        t2 = time.time()
        torch.manual_seed(a.seed)
        z = torch.randn(1, 512)
        zp, raw, dump, pngs = (os.path.join(work, n) for n in ("z.npy", "raw.npy", "dump", "png"))
        np.save(zp, z.numpy())
        cmd = [a.hyper, "generate", "-g", binp, "-z", zp, "-o", pngs, "--npy", raw, "--dump", dump,
               "--threads", str(a.threads)]
        p = subprocess.run(cmd, capture_output=True, text=True)
        if p.returncode:
            print(f"check_pggan_full: hyper generate failed: {p.stderr.strip()}", file=sys.stderr)
            return 2
        t3 = time.time()
        print(f"pickle {t1 - t0:.1f} s, convert {t2 - t1:.1f} s, C generate (with dumps) {t3 - t2:.1f} s")
        print("per-layer C vs torch reference (first latent):")
        cmp = Comparer(dump)
        out = ref.PgganRef.from_file(binp).forward(z, cmp)
        t4 = time.time()
        got = np.load(raw)
        d = float(np.abs(got - out.numpy()).max())
        scale = max(1.0, float(np.abs(out.numpy()).max()))
        raw_ok = got.shape == (1, 3, 1024, 1024) and d <= REL_TOL * scale
        print(f"  {'raw output (--npy)':<22} {str(got.shape):<18} max|diff| {d:.3e}  max|ref| {scale:8.3f}  "
              f"{'ok' if raw_ok else 'FAIL'}")
        print(f"torch reference {t4 - t3:.1f} s")
        native_ok = True
        if a.native:
            nat = ref.karras_forward(gs, 1024, z.numpy()).numpy()
            dn = float(np.abs(got - nat).max())
            native_ok = dn <= REL_TOL * scale
            print(f"  C vs Karras-native float64: max|diff| {dn:.3e}  {'ok' if native_ok else 'FAIL'}  ({time.time() - t4:.1f} s)")
        n_layers = len(cmp.rows)
        if cmp.bad or not raw_ok or not native_ok or n_layers != len(ref.stage_names(1024)):
            print(f"check_pggan_full: FAIL ({cmp.bad} of {n_layers} layers beyond tolerance {REL_TOL} x scale)")
            return 1
        print(f"check_pggan_full: OK ({n_layers} layers + raw output within {REL_TOL} x max(1, max|ref|); "
              f"total {time.time() - t0:.1f} s)")
        return 0
    finally:
        if not a.keep:
            shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(main())
