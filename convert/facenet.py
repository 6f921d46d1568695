#!/usr/bin/python3
"""facenet.py - converts a facenet-pytorch InceptionResnetV1 state dict (the VGGFace2 release
`20180402-114759-vggface2.pt` or the CASIA-WebFace one, same layout) into the project's weight
file (kind "facenet", include/models/facenet.h documents the tensors).

    /usr/bin/python3 convert/facenet.py 20180402-114759-vggface2.pt -o weights/facenet-vggface2.bin

What it does (spec/facenet.md section 2a), in one place:
  * drops `logits.*` and every `*.num_batches_tracked`;
  * refuses unknown keys, missing keys, wrong shapes and non-finite values, naming them;
  * folds every BatchNorm (eps 0.001, gamma READ from the file) into the conv before it, in float64:
        s = gamma / sqrt(var + 0.001);  W'[o] = W[o] * s[o];  b'[o] = beta[o] - mean[o] * s[o]
    so each `P.conv` gets a bias `P.conv.bias` and no `P.bn.*` is written; `last_bn` is folded the
    same way into `last_linear` (which then gets `last_linear.bias`);
  * keeps the residual block scales (0.17 / 0.10 / 0.20 / 1.0) as config `block_scales`; the C
    engine applies them at run time.
Needs torch (to read the .pt) and numpy.
"""
import argparse
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _paths  # noqa: E402,F401  (convert/ role folders on sys.path)
import wfile  # noqa: E402

BN_EPS = 0.001
SCALES = [0.17, 0.10, 0.20, 1.0]
REPEATS = [5, 10, 5]
INPUT_SIZE = 160


class ConvertError(Exception):
    pass


def expected_shapes(div=1):
    """{key: shape} of the facenet-pytorch state dict without logits / num_batches_tracked."""
    from facenet_ref import FaceNetRef

    sd = FaceNetRef(div).state_dict()
    return {k: tuple(v.shape) for k, v in sd.items() if not k.endswith("num_batches_tracked")}


def _f64(sd, key):
    return np.asarray(sd[key], dtype=np.float64)


def fold_state_dict(sd, div=1, src="state dict"):
    """Validates `sd` ({key: numpy array or tensor}) and returns an ordered list of
    (name, float32 array) with every BatchNorm folded (float64 arithmetic)."""
    exp = expected_shapes(div)
    sd = {k: (v.detach().cpu().numpy() if hasattr(v, "detach") else np.asarray(v)) for k, v in sd.items()}
    keep = {k: v for k, v in sd.items() if not (k.startswith("logits.") or k.endswith("num_batches_tracked"))}
    unknown = sorted(set(keep) - set(exp))
    missing = sorted(set(exp) - set(keep))
    if unknown:
        raise ConvertError(f"{src}: {len(unknown)} unknown key(s), e.g. {unknown[:3]} "
                           "(is this a facenet-pytorch InceptionResnetV1 state dict?)")
    if missing:
        raise ConvertError(f"{src}: {len(missing)} missing key(s), e.g. {missing[:3]}")
    for k, shape in exp.items():
        if tuple(keep[k].shape) != shape:
            raise ConvertError(f"{src}: tensor {k!r} has shape {list(keep[k].shape)}, expected {list(shape)}")
        if keep[k].dtype.kind != "f":
            raise ConvertError(f"{src}: tensor {k!r} has dtype {keep[k].dtype}, expected a float type")
        if not np.all(np.isfinite(keep[k])):
            raise ConvertError(f"{src}: tensor {k!r} contains NaN or Inf")

    out = []
    for k in exp:  # module order, as torch lists it
        if k.endswith(".conv.weight"):
            p = k[: -len(".conv.weight")]
            gamma, beta = _f64(keep, p + ".bn.weight"), _f64(keep, p + ".bn.bias")
            mean, var = _f64(keep, p + ".bn.running_mean"), _f64(keep, p + ".bn.running_var")
            if np.any(var + BN_EPS <= 0):
                raise ConvertError(f"{src}: {p}.bn.running_var has values <= -eps")
            s = gamma / np.sqrt(var + BN_EPS)
            out.append((p + ".conv.weight", (_f64(keep, k) * s[:, None, None, None]).astype(np.float32)))
            out.append((p + ".conv.bias", (beta - mean * s).astype(np.float32)))
        elif k.endswith(".conv2d.weight") or k.endswith(".conv2d.bias"):
            out.append((k, keep[k].astype(np.float32)))
        elif k == "last_linear.weight":
            gamma, beta = _f64(keep, "last_bn.weight"), _f64(keep, "last_bn.bias")
            mean, var = _f64(keep, "last_bn.running_mean"), _f64(keep, "last_bn.running_var")
            s = gamma / np.sqrt(var + BN_EPS)
            out.append(("last_linear.weight", (_f64(keep, k) * s[:, None]).astype(np.float32)))
            out.append(("last_linear.bias", (beta - mean * s).astype(np.float32)))
    return out


def build_wfile(sd, div=1, src="state dict"):
    w = wfile.WFile("facenet")
    w.config("source_format", "facenet-pytorch InceptionResnetV1 state_dict")
    w.config("source", os.path.basename(src))
    w.config("input_size", INPUT_SIZE)
    w.config("repeats", REPEATS)
    w.config("block_scales", SCALES)
    w.config("bn_eps", BN_EPS)
    w.config("bn_folded", 1)
    for name, a in fold_state_dict(sd, div, src):
        w.tensor(name, a)
    return w


def load_pt(path):
    import torch

    try:
        obj = torch.load(path, map_location="cpu")
    except Exception as e:  # noqa: BLE001 - report any unpickling failure with the file name
        raise ConvertError(f"{path}: cannot be read by torch.load ({type(e).__name__}: {e})")
    if not isinstance(obj, dict):
        raise ConvertError(f"{path}: holds a {type(obj).__name__}, expected a state dict")
    return obj


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("src", help="facenet-pytorch state dict (.pt)")
    ap.add_argument("-o", "--out", required=True, help="output weight file (.bin)")
    a = ap.parse_args()
    try:
        import torch

        torch.set_num_threads(1)
        w = build_wfile(load_pt(a.src), 1, a.src)
        w.save(a.out)
    except (ConvertError, wfile.WFileError) as e:
        print(f"convert/facenet.py: {e}", file=sys.stderr)
        return 1
    print(f"wrote {a.out} ({len(w.tensors)} tensors, BN folded with eps {BN_EPS})", file=sys.stderr)
    return 0


if __name__ == "__main__":
    sys.exit(main())
