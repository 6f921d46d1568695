#!/usr/bin/python3
"""test_faceapi.py - tests of the face-api converter (convert/faceapi.py), run by CI.

* a random tiny model in TF.js format (golden_faceapi.py's writer) converts: u8 tensors keep their
  bytes (permuted to PyTorch order) with NAME.quant = [scale, min], f32 tensors are permuted,
  dequantising the file gives tfjs' float32(q * scale + min);
* refused, with one line naming the file and tensor, exit status 1 and no output file: a missing
  manifest, a missing shard, a truncated shard, a shard with extra bytes, a missing tensor, an
  unexpected tensor, uint16 quantisation, a NaN weight, the wrong --net.
"""
import copy
import json
import os
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import faceapi  # noqa: E402
import golden_faceapi as gold  # noqa: E402
import wfile  # noqa: E402

FAILS = []
CONVERTER = os.path.join(_paths.CONVERT, "faceapi.py")


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def convert(model_dir, out, net="recognition"):
    r = subprocess.run([sys.executable, CONVERTER, model_dir, "--net", net, "-o", out], capture_output=True, text=True)
    return r.returncode, (r.stdout + r.stderr).strip()


def test_roundtrip(d):
    rng = np.random.default_rng(1)
    entries = gold.tiny_recognition(rng)
    gold.write_tfjs(d, "face_recognition_model", entries)
    out = os.path.join(d, "r.bin")
    rc, msg = convert(d, out)
    check(rc == 0 and os.path.exists(out), f"tiny recognition model converts ({msg})")
    kind, cfg, ts = wfile.read(out)
    check(kind == "faceapi_recognition" and cfg["input_size"] == 150, "kind and input size")
    n_u8 = sum(1 for _, _, _, q in entries if q is not None)
    check(sum(1 for k in ts if k.endswith(".quant")) == n_u8, f"{n_u8} .quant companions")
    ok_bytes, ok_values = True, True
    for name, shape, arr, quant in entries:
        key = name.replace("/", ".")
        got = np.asarray(ts[key])
        want = faceapi.to_torch_layout(name, arr)
        ok_bytes &= got.dtype == want.dtype and np.array_equal(got, want)
        if quant is not None:
            sm = np.asarray(ts[key + ".quant"])
            deq = (got.astype(np.float64) * sm[0] + sm[1]).astype(np.float32)
            ok_values &= np.array_equal(deq, faceapi.to_torch_layout(name, faceapi.dequantize(arr, quant)))
    check(ok_bytes, "every tensor's bytes are kept (u8 codes / f32 values), only permuted")
    check(ok_values, "dequantising the file equals tfjs' float32(q*scale + min)")
    w = ts["conv32_1.conv1.conv.filters"]
    check(w.shape == (4, 4, 3, 3), f"conv filters [cout,cin,kh,kw] (got {w.shape})")
    check(ts["fc"].shape == (16, 32), f"fc [out,in] (got {ts['fc'].shape})")
    rng = np.random.default_rng(2)
    gold.write_tfjs(d, "age_gender_model", gold.tiny_agegender(rng))
    rc, msg = convert(d, os.path.join(d, "a.bin"), "agegender")
    _, _, ta = wfile.read(os.path.join(d, "a.bin"))
    check(rc == 0 and ta["entry_flow.reduction_block_0.separable_conv0.depthwise_filter"].shape == (4, 1, 3, 3),
          "age/gender converts; depthwise [c,1,kh,kw]")


def refused(d, what, edit, expect, net="recognition"):
    """Writes the tiny model, applies edit(model_dir, manifest) and checks the refusal."""
    sub = tempfile.mkdtemp(dir=d)
    rng = np.random.default_rng(3)
    stem = "face_recognition_model"
    gold.write_tfjs(sub, stem, gold.tiny_recognition(rng))
    mp = os.path.join(sub, f"{stem}-weights_manifest.json")
    with open(mp) as f:
        man = json.load(f)
    new = edit(sub, copy.deepcopy(man))
    if new is not None:  # an edited manifest (None: only files were changed)
        with open(mp, "w") as f:
            json.dump(new, f)
    out = os.path.join(sub, "out.bin")
    rc, msg = convert(sub, out, net)
    one_line = len(msg.splitlines()) == 1
    check(rc == 1 and expect in msg and one_line and not os.path.exists(out) and
          not any(".tmp." in f for f in os.listdir(sub)), f"{what}: refused ({msg})")


def shard(sub):
    return os.path.join(sub, "face_recognition_model.bin")


def truncate(sub, man):
    with open(shard(sub), "r+b") as f:
        f.truncate(os.path.getsize(shard(sub)) - 10)


def extra_bytes(sub, man):
    with open(shard(sub), "ab") as f:
        f.write(b"\0" * 8)


def drop_tensor(sub, man):
    w = man[0]["weights"]
    i = next(k for k, e in enumerate(w) if e["name"] == "conv128_1/conv2/scale/biases")
    n = int(np.prod(w[i]["shape"]))
    off = sum(int(np.prod(e["shape"])) * (1 if "quantization" in e else 4) for e in w[:i])
    data = open(shard(sub), "rb").read()
    open(shard(sub), "wb").write(data[:off] + data[off + n:])
    del w[i]
    return man


def rename_tensor(sub, man):
    man[0]["weights"][-1]["name"] = "fc_extra"
    return man


def extra_tensor(sub, man):
    man[0]["weights"].append({"name": "logits/bias", "shape": [2], "dtype": "float32"})
    with open(shard(sub), "ab") as f:
        f.write(np.zeros(2, dtype="<f4").tobytes())
    return man


def uint16(sub, man):
    man[0]["weights"][0]["quantization"]["dtype"] = "uint16"
    return man


def nan_weight(sub, man):
    w = man[0]["weights"]
    i = next(k for k, e in enumerate(w) if "quantization" not in e)
    off = sum(int(np.prod(e["shape"])) * (1 if "quantization" in e else 4) for e in w[:i])
    data = bytearray(open(shard(sub), "rb").read())
    data[off:off + 4] = np.float32(np.nan).tobytes()
    open(shard(sub), "wb").write(bytes(data))


def no_manifest(sub, man):
    os.remove(os.path.join(sub, "face_recognition_model-weights_manifest.json"))


def main():
    with tempfile.TemporaryDirectory() as d:
        test_roundtrip(d)
        refused(d, "no manifest", no_manifest, "missing (MODEL_DIR must be")
        refused(d, "no shard", lambda s, m: os.remove(shard(s)), "face_recognition_model.bin: missing")
        refused(d, "truncated shard", truncate, "truncated shard")
        refused(d, "shard with extra bytes", extra_bytes, "wrong shard")
        refused(d, "missing tensor", drop_tensor, "'conv128_1/conv2/scale/biases' is missing")
        refused(d, "renamed tensor", rename_tensor, "'fc' is missing")
        refused(d, "unexpected tensor", extra_tensor, "unexpected tensor 'logits/bias'")
        refused(d, "uint16 quantisation", uint16, "not supported")
        refused(d, "NaN weight", nan_weight, "NaN")
        refused(d, "wrong --net", lambda s, m: None, "age_gender_model-weights_manifest.json: missing", net="agegender")
    print(f"{len(FAILS)} failed")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
