"""mtcnn.py - converts facenet-pytorch's MTCNN weights into one HYW1 weight file.

    /usr/bin/python3 convert/mtcnn.py DIR -o OUT.bin

DIR holds pnet.pt, rnet.pt and onet.pt (legacy torch pickles of state dicts, as shipped in
the facenet-pytorch package under facenet_pytorch/data/). The output has kind "mtcnn" and
one f32 tensor per state-dict entry, named "<net>.<key>" (e.g. "rnet.dense4.weight"), in
PyTorch order and unchanged values: no transform is applied (the dense layers keep
upstream's [W,H,C] flatten order; src/models/mtcnn.c permutes the activations to match).
Shapes and parameter counts are checked against shared/spec/mtcnn.md section 1.
"""
import argparse
import os
import sys

import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _paths  # noqa: E402,F401  (convert/ role folders on sys.path)
import wfile  # noqa: E402

SHAPES = {
    "pnet": [("conv1.weight", (10, 3, 3, 3)), ("conv1.bias", (10,)), ("prelu1.weight", (10,)),
             ("conv2.weight", (16, 10, 3, 3)), ("conv2.bias", (16,)), ("prelu2.weight", (16,)),
             ("conv3.weight", (32, 16, 3, 3)), ("conv3.bias", (32,)), ("prelu3.weight", (32,)),
             ("conv4_1.weight", (2, 32, 1, 1)), ("conv4_1.bias", (2,)),
             ("conv4_2.weight", (4, 32, 1, 1)), ("conv4_2.bias", (4,))],
    "rnet": [("conv1.weight", (28, 3, 3, 3)), ("conv1.bias", (28,)), ("prelu1.weight", (28,)),
             ("conv2.weight", (48, 28, 3, 3)), ("conv2.bias", (48,)), ("prelu2.weight", (48,)),
             ("conv3.weight", (64, 48, 2, 2)), ("conv3.bias", (64,)), ("prelu3.weight", (64,)),
             ("dense4.weight", (128, 576)), ("dense4.bias", (128,)), ("prelu4.weight", (128,)),
             ("dense5_1.weight", (2, 128)), ("dense5_1.bias", (2,)),
             ("dense5_2.weight", (4, 128)), ("dense5_2.bias", (4,))],
    "onet": [("conv1.weight", (32, 3, 3, 3)), ("conv1.bias", (32,)), ("prelu1.weight", (32,)),
             ("conv2.weight", (64, 32, 3, 3)), ("conv2.bias", (64,)), ("prelu2.weight", (64,)),
             ("conv3.weight", (64, 64, 3, 3)), ("conv3.bias", (64,)), ("prelu3.weight", (64,)),
             ("conv4.weight", (128, 64, 2, 2)), ("conv4.bias", (128,)), ("prelu4.weight", (128,)),
             ("dense5.weight", (256, 1152)), ("dense5.bias", (256,)), ("prelu5.weight", (256,)),
             ("dense6_1.weight", (2, 256)), ("dense6_1.bias", (2,)),
             ("dense6_2.weight", (4, 256)), ("dense6_2.bias", (4,)),
             ("dense6_3.weight", (10, 256)), ("dense6_3.bias", (10,))],
}
PARAMS = {"pnet": 6632, "rnet": 100178, "onet": 389040}


def build(state_dicts, source="facenet-pytorch"):
    """state_dicts: {net: {key: array-like}} -> wfile.WFile (validated)."""
    w = wfile.WFile("mtcnn")
    w.config("source", source)
    w.config("dense_flatten", "upstream [N,W,H,C] order (unchanged)")
    for net, spec in SHAPES.items():
        sd = state_dicts[net]
        extra = sorted(set(sd) - {k for k, _ in spec})
        if extra:
            raise SystemExit(f"{net}: unexpected tensors {extra}")
        total = 0
        for key, shape in spec:
            if key not in sd:
                raise SystemExit(f"{net}: missing tensor {key}")
            a = np.ascontiguousarray(np.asarray(sd[key], dtype=np.float32))
            if a.shape != shape:
                raise SystemExit(f"{net}: {key} has shape {a.shape}, expected {shape}")
            if not np.all(np.isfinite(a)):
                raise SystemExit(f"{net}: {key} contains NaN or Inf")
            total += a.size
            w.tensor(f"{net}.{key}", a)
        if source == "facenet-pytorch" and total != PARAMS[net]:
            raise SystemExit(f"{net}: {total} parameters, expected {PARAMS[net]}")
    return w


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dir", help="folder with pnet.pt, rnet.pt, onet.pt")
    ap.add_argument("-o", "--out", required=True)
    a = ap.parse_args()
    sds = {}
    for net in SHAPES:
        p = os.path.join(a.dir, net + ".pt")
        if not os.path.exists(p):
            raise SystemExit(f"{p}: missing")
        sd = torch.load(p, map_location="cpu")
        sds[net] = {k: v.detach().float().contiguous().numpy() for k, v in sd.items()}
    build(sds).save(a.out)
    print(f"wrote {a.out} (kind mtcnn, 50 tensors, 495850 parameters)")


if __name__ == "__main__":
    main()
