"""faceapi.py - converts face-api's TensorFlow.js models (npm @vladmandic/face-api, MIT) into HYW1
weight files for the C networks in src/models/faceapi_*.c.

    /usr/bin/python3 convert/faceapi.py MODEL_DIR [--net recognition] -o weights/faceapi_recognition.bin
    /usr/bin/python3 convert/faceapi.py MODEL_DIR --net agegender -o weights/faceapi_agegender.bin

MODEL_DIR is the package's model/ folder: <model>-weights_manifest.json plus the .bin shard(s) it
lists (face_recognition_model, age_gender_model). `make weights` fetches the package and runs this.

What it does (the file layout is documented in include/models/faceapi.h):
  - reads the manifest and the shards, in manifest order (TF.js weight groups are laid out back
    to back: prod(shape) bytes per uint8-quantised tensor, 4 bytes per value otherwise);
  - keeps uint8-quantised tensors quantised: the u8 bytes go into the file unchanged (only
    permuted, see below) with a companion f64 tensor NAME.quant = [scale, min]; the C loader
    dequantises them exactly as tfjs-core's decodeWeight does, float32(q * scale + min) computed
    in double. Unquantised float32 tensors are stored as f32;
  - renames TF.js paths to dotted keys ("conv32_1/conv1/conv/filters" -> "conv32_1.conv1.conv.filters")
    and permutes to PyTorch order: conv filters HWIO [kh,kw,cin,cout] -> [cout,cin,kh,kw],
    depthwise filters [kh,kw,c,1] -> [c,1,kh,kw], dense weights [in,out] -> [out,in]; vectors as is;
  - refuses, with one line naming the file and the tensor: missing or unexpected tensors, wrong
    ranks, quantisation other than uint8, shards shorter or longer than the manifest says, and
    NaN/Inf values. Channel widths are read from the shapes (the C loader checks they fit).

Needs numpy only.
"""
import argparse
import json
import os
import sys

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import _paths  # noqa: E402,F401  (convert/ role folders on sys.path)
import wfile  # noqa: E402

# face-api's network names, the model file stem in model/, the HYW1 kind and the input size.
NETS = {
    "recognition": ("face_recognition_model", "faceapi_recognition", 150),
    "agegender": ("age_gender_model", "faceapi_agegender", 112),
}
MEAN_RGB = [122.782, 117.001, 104.298]  # both nets: (x - mean) / 255 (FaceRecognitionNet.ts, TinyXception.ts)
PACKAGE = "@vladmandic/face-api@1.7.15"

RECOG_RESIDUAL = ["conv32_1", "conv32_2", "conv32_3", "conv64_down", "conv64_1", "conv64_2", "conv64_3",
                  "conv128_down", "conv128_1", "conv128_2", "conv256_down", "conv256_1", "conv256_2",
                  "conv256_down_out"]


class ConvertError(Exception):
    pass


def expected_names(net):
    """TF.js tensor names a face-api model of this kind holds, with their rank."""
    names = {}
    if net == "recognition":
        def conv_layer(p):
            names.update({f"{p}/conv/filters": 4, f"{p}/conv/bias": 1, f"{p}/scale/weights": 1,
                          f"{p}/scale/biases": 1})
        conv_layer("conv32_down")
        for r in RECOG_RESIDUAL:
            conv_layer(f"{r}/conv1")
            conv_layer(f"{r}/conv2")
        names["fc"] = 2
    else:
        def sep(p):
            names.update({f"{p}/depthwise_filter": 4, f"{p}/pointwise_filter": 4, f"{p}/bias": 1})

        def reduction(p):
            sep(f"{p}/separable_conv0")
            sep(f"{p}/separable_conv1")
            names.update({f"{p}/expansion_conv/filters": 4, f"{p}/expansion_conv/bias": 1})
        names.update({"entry_flow/conv_in/filters": 4, "entry_flow/conv_in/bias": 1})
        reduction("entry_flow/reduction_block_0")
        reduction("entry_flow/reduction_block_1")
        for i in range(2):
            for k in range(3):
                sep(f"middle_flow/main_block_{i}/separable_conv{k}")
        reduction("exit_flow/reduction_block")
        sep("exit_flow/separable_conv")
        names.update({"fc/age/weights": 2, "fc/age/bias": 1, "fc/gender/weights": 2, "fc/gender/bias": 1})
    return names


def read_tfjs(model_dir, stem):
    """Reads MODEL_DIR/<stem>-weights_manifest.json and its shards.
    Returns [(name, shape, raw ndarray (uint8 or float32, TF layout), quant (scale, min) or None)]."""
    man_path = os.path.join(model_dir, f"{stem}-weights_manifest.json")
    try:
        with open(man_path, "rb") as f:
            manifest = json.loads(f.read().decode("utf-8"))
    except FileNotFoundError:
        raise ConvertError(f"{man_path}: missing (MODEL_DIR must be face-api's model/ folder)")
    except (ValueError, UnicodeDecodeError) as e:
        raise ConvertError(f"{man_path}: not a JSON manifest ({e})")
    if not isinstance(manifest, list) or not manifest:
        raise ConvertError(f"{man_path}: expected a list of weight groups")
    out = []
    for group in manifest:
        if not isinstance(group, dict) or "paths" not in group or "weights" not in group:
            raise ConvertError(f"{man_path}: a weight group lacks 'paths' or 'weights'")
        data = b""
        for p in group["paths"]:
            sp = os.path.join(model_dir, os.path.basename(str(p)))
            try:
                with open(sp, "rb") as f:
                    data += f.read()
            except FileNotFoundError:
                raise ConvertError(f"{sp}: missing (listed in {os.path.basename(man_path)})")
        off = 0
        for w in group["weights"]:
            name = w.get("name")
            shape = w.get("shape")
            if not isinstance(name, str) or not isinstance(shape, list) or \
                    not all(isinstance(d, int) and d >= 0 for d in shape):
                raise ConvertError(f"{man_path}: bad weight entry {w!r}")
            if w.get("dtype") != "float32":
                raise ConvertError(f"{man_path}: tensor '{name}': dtype {w.get('dtype')!r}, expected float32")
            n = int(np.prod(shape, dtype=np.int64))
            q = w.get("quantization")
            if q is not None:
                if q.get("dtype") != "uint8" or "scale" not in q or "min" not in q:
                    raise ConvertError(f"{man_path}: tensor '{name}': quantisation {q!r} is not supported "
                                       f"(uint8 with scale and min only)")
                nb = n
            else:
                nb = 4 * n
            if off + nb > len(data):
                raise ConvertError(f"{man_path}: tensor '{name}' needs bytes {off}..{off + nb} but the shards "
                                   f"hold {len(data)} (truncated shard?)")
            raw = data[off:off + nb]
            off += nb
            if q is not None:
                arr = np.frombuffer(raw, dtype=np.uint8).reshape(shape)
                quant = (float(q["scale"]), float(q["min"]))
                if not all(np.isfinite(quant)):
                    raise ConvertError(f"{man_path}: tensor '{name}': non-finite scale/min")
            else:
                arr = np.frombuffer(raw, dtype="<f4").reshape(shape)
                quant = None
                if not np.all(np.isfinite(arr)):
                    raise ConvertError(f"{man_path}: tensor '{name}' contains NaN or Inf")
            out.append((name, tuple(shape), arr, quant))
        if off != len(data):
            raise ConvertError(f"{man_path}: the shards hold {len(data)} bytes but the manifest uses {off} "
                               f"(wrong shard?)")
    return out


def dequantize(arr, quant):
    """tfjs-core decodeWeight: float32(q * scale + min), computed in double."""
    if quant is None:
        return np.asarray(arr, dtype=np.float32)
    return (arr.astype(np.float64) * quant[0] + quant[1]).astype(np.float32)


def to_torch_layout(name, arr):
    """TF.js layout -> the file's PyTorch order (see the module docstring)."""
    if arr.ndim == 4 and name.endswith("depthwise_filter"):
        return np.ascontiguousarray(arr.transpose(2, 3, 0, 1))  # [kh,kw,c,1] -> [c,1,kh,kw]
    if arr.ndim == 4:
        return np.ascontiguousarray(arr.transpose(3, 2, 0, 1))  # [kh,kw,cin,cout] -> [cout,cin,kh,kw]
    if arr.ndim == 2:
        return np.ascontiguousarray(arr.T)                      # [in,out] -> [out,in]
    return np.ascontiguousarray(arr)


def build(tensors, net, source):
    """tensors from read_tfjs -> wfile.WFile of kind faceapi_<net>."""
    stem, kind, size = NETS[net]
    want = expected_names(net)
    have = {n for n, _, _, _ in tensors}
    if len(have) != len(tensors):
        raise ConvertError(f"{stem}: duplicate tensor names")
    missing = sorted(set(want) - have)
    if missing:
        raise ConvertError(f"{stem}: tensor '{missing[0]}' is missing ({len(missing)} missing; is this the "
                           f"{net} model?)")
    extra = sorted(have - set(want))
    if extra:
        raise ConvertError(f"{stem}: unexpected tensor '{extra[0]}' ({len(extra)} unexpected)")
    w = wfile.WFile(kind)
    w.config("input_size", size)
    w.config("mean_rgb", MEAN_RGB)
    w.config("input_divisor", 255.0)
    w.config("source", source)
    w.config("layout", "conv [out,in,kh,kw] from TF.js HWIO; depthwise [c,1,kh,kw]; dense [out,in]")
    w.config("quantization", "u8 tensor NAME with f64 NAME.quant = [scale, min]: value = float32(q*scale + min)")
    if net == "recognition":
        w.config("verify_threshold", 0.6)  # face-api's same-person distance (FaceMatcher's default)
    else:
        w.config("main_blocks", 2)
    nq = 0
    for name, shape, arr, quant in tensors:
        if len(shape) != want[name]:
            raise ConvertError(f"{stem}: tensor '{name}' has rank {len(shape)}, expected {want[name]}")
        key = name.replace("/", ".")
        w.tensor(key, to_torch_layout(name, arr))
        if quant is not None:
            w.tensor(key + ".quant", np.array(quant, dtype=np.float64))
            nq += 1
    return w, nq


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("model_dir", help="face-api's model/ folder")
    ap.add_argument("--net", choices=sorted(NETS), default="recognition")
    ap.add_argument("-o", "--out", required=True)
    ap.add_argument("--source", default=None, help="recorded in the file (default: the npm package and model)")
    a = ap.parse_args()
    stem = NETS[a.net][0]
    try:
        tensors = read_tfjs(a.model_dir, stem)
        w, nq = build(tensors, a.net, a.source or f"npm {PACKAGE} model/{stem}")
        w.save(a.out)
    except (ConvertError, wfile.WFileError, OSError) as e:
        raise SystemExit(f"faceapi.py: error: {e}")
    n = sum(int(np.prod(s)) for _, s, _, _ in tensors)
    print(f"wrote {a.out} (kind {NETS[a.net][1]}, {len(tensors)} tensors, {nq} kept uint8-quantised, "
          f"{n:,} parameters)")


if __name__ == "__main__":
    main()
