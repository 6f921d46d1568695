#!/usr/bin/python3
"""golden_pggan.py - writes the PGGAN golden fixtures (deterministic; run from anywhere):

  tests/fixtures/pggan_tiny.bin      kind "pggan": a random canonical generator, resolution 32,
                                     latent 512, channels [32, 32, 32, 16], numpy seed 2024,
                                     He-scaled weights (pggan_ref.random_canonical) and biases
                                     N(0, 0.1^2), so every layer's activations are O(1).
  tests/fixtures/pggan_tiny_ref.bin  kind "reference": `z` (2, 512) float32 = torch.manual_seed(7);
                                     torch.randn(2, 512) (config z_seed = 7), and every activation
                                     the C hook names (z.pn, 4x4.dense, ..., torgb) with a leading
                                     batch dim (2, ...), from pggan_ref.PgganRef in float32.
  tests/fixtures/randn_ref.bin       kind "reference": seed1_n3 = torch.manual_seed(1);
                                     torch.randn(3, 512) and seed42_n1 = torch.manual_seed(42);
                                     torch.randn(1, 512), float32, for the torch-compatible RNG test.
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import pggan_ref as ref  # noqa: E402
import wfile  # noqa: E402

FIX = os.path.join(_paths.ROOT, "tests", "fixtures")
RES, CHANNELS, WSEED, ZSEED = 32, [32, 32, 32, 16], 2024, 7


def main():
    torch.set_num_threads(1)
    os.makedirs(FIX, exist_ok=True)
    cfg, t = ref.random_canonical(RES, CHANNELS, latent=512, seed=WSEED)
    w = wfile.WFile("pggan")
    w.config("resolution", RES)
    w.config("latent_size", 512)
    w.config("channels", CHANNELS)
    w.config("source_format", "random")
    for name in ["dense.weight", "dense.bias", "4x4.conv.weight", "4x4.conv.bias"] + \
            [f"{r}x{r}.conv{j}.{p}" for r in (8, 16, 32) for j in (0, 1) for p in ("weight", "bias")] + \
            ["torgb.weight", "torgb.bias"]:
        w.tensor(name, t[name])
    gpath = os.path.join(FIX, "pggan_tiny.bin")
    w.save(gpath)

    m = ref.PgganRef.from_file(gpath)
    torch.manual_seed(ZSEED)
    z = torch.randn(2, 512)
    rec = {}
    m.forward(z, rec)
    r = wfile.WFile("reference")
    r.config("z_seed", ZSEED)
    r.config("weights", "pggan_tiny.bin")
    r.tensor("z", z.numpy().astype(np.float32))
    for name in ref.stage_names(RES):
        r.tensor(name, rec[name].numpy().astype(np.float32))
    r.save(os.path.join(FIX, "pggan_tiny_ref.bin"))

    n = wfile.WFile("reference")
    torch.manual_seed(1)
    n.tensor("seed1_n3", torch.randn(3, 512).numpy())
    torch.manual_seed(42)
    n.tensor("seed42_n1", torch.randn(1, 512).numpy())
    n.save(os.path.join(FIX, "randn_ref.bin"))
    out = rec["torgb"].numpy()
    print(f"golden_pggan: wrote pggan_tiny.bin, pggan_tiny_ref.bin ({len(rec)} activations; torgb range "
          f"[{out.min():.3f}, {out.max():.3f}]), randn_ref.bin")


if __name__ == "__main__":
    main()
