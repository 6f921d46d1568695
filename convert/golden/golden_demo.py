#!/usr/bin/python3
"""golden_demo.py - reference outputs of the committed demo models for tests/test_demo.c (`make golden`).

Writes tests/fixtures/demo_ref.bin (kind "reference"):
  z          (4, 512) float32   torch.manual_seed(1); torch.randn(4, 512)
  image      (4, 3, 64, 64)     PyTorch output of weights/demo_generator.bin for z (linear, before uint8)
  faces      (4, 64, 64, 3) u8  those images as uint8 (Karras rule: rint(127.5 x + 127.5), clamped)
  embedding  (4, 512) float32   PyTorch output of weights/demo_facenet.bin (BN-folded tensors) for the faces,
                                resized to the file's input size (160, or a distilled student's) with PIL
                                bilinear and standardised (p - 127.5) / 128
The faces are generated images, not CelebA data. Skips the embedder part when weights/demo_facenet.bin is absent.
"""
import os
import sys

import numpy as np
import torch

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import wfile  # noqa: E402
from check_demo_models import model_from_facenet_bin  # noqa: E402
from train_demo_embedder import to160  # noqa: E402
from train_demo_generator import generator_from_wfile  # noqa: E402


def main():
    torch.set_num_threads(1)
    root = _paths.ROOT
    gen = generator_from_wfile(os.path.join(root, "weights", "demo_generator.bin"))
    torch.manual_seed(1)
    z = torch.randn(4, 512)
    with torch.no_grad():
        img = gen(z).numpy()
    faces = np.clip(np.rint(127.5 * img + 127.5), 0, 255).astype(np.uint8).transpose(0, 2, 3, 1).copy()
    w = wfile.WFile("reference")
    w.config("source", "convert/golden/golden_demo.py")
    w.tensor("z", z.numpy())
    w.tensor("image", img)
    w.tensor("faces", faces)
    fpath = os.path.join(root, "weights", "demo_facenet.bin")
    if os.path.isfile(fpath):
        size = int(wfile.read(fpath)[1]["input_size"])
        with torch.no_grad():
            emb = model_from_facenet_bin(fpath)(to160(faces, size=size)).numpy()
        w.tensor("embedding", emb)
    out = os.path.join(root, "tests", "fixtures", "demo_ref.bin")
    w.save(out)
    print(f"wrote {out}")


if __name__ == "__main__":
    main()
