#!/usr/bin/python3
"""test_facenet.py - tests of the FaceNet converter (convert/facenet.py), run by CI.

* the BN fold is exact: the folded narrow net (evaluated with plain conv + bias in float64)
  equals the unfolded torch reference;
* the CLI converts a facenet-pytorch-layout .pt (with logits and num_batches_tracked, 716 keys),
  drops logits / num_batches_tracked, reads gamma from the file;
* unknown keys, missing keys, wrong shapes, non-finite values and non-state-dict files are
  refused with a message naming the problem, exit status 1, and no output file.
"""
import os
import subprocess
import sys
import tempfile

import numpy as np
import torch
import torch.nn.functional as F

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import facenet as conv  # noqa: E402
import wfile  # noqa: E402
from facenet_ref import FaceNetRef, randomize  # noqa: E402

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def test_fold_exact():
    net = randomize(FaceNetRef(8), 7)
    folded = dict(conv.fold_state_dict(net.state_dict(), 8))
    check(not any(".bn." in k for k in folded), "no bn tensors after folding")
    check(len(folded) == 2 * 111 + 2 * 21 + 2, f"266 tensors (got {len(folded)})")
    x = torch.randn(1, 3, 160, 160, dtype=torch.float64) * 0.5
    # conv2d_1a alone: folded conv + relu vs BC in float64
    w = torch.tensor(folded["conv2d_1a.conv.weight"], dtype=torch.float64)
    b = torch.tensor(folded["conv2d_1a.conv.bias"], dtype=torch.float64)
    got = F.relu(F.conv2d(x, w, b, stride=2))
    with torch.no_grad():
        want = net.double().conv2d_1a(x)
    d = float((got - want).abs().max())
    check(d < 1e-5, f"conv2d_1a folded == conv+bn+relu (max diff {d:.2e}; f32 weight rounding)")
    # head: last_linear with folded last_bn
    feat = torch.randn(2, 224, dtype=torch.float64)
    lw = torch.tensor(folded["last_linear.weight"], dtype=torch.float64)
    lb = torch.tensor(folded["last_linear.bias"], dtype=torch.float64)
    with torch.no_grad():
        want = net.last_bn(net.last_linear(feat))
    d = float((feat @ lw.T + lb - want).abs().max())
    check(d < 1e-5, f"last_linear folded == linear+last_bn (max diff {d:.2e})")


def run_cli(sd, d, name):
    pt, out = os.path.join(d, name + ".pt"), os.path.join(d, name + ".bin")
    torch.save(sd, pt)
    p = subprocess.run([sys.executable, os.path.join(_paths.CONVERT, "facenet.py"), pt, "-o", out], capture_output=True,
                       text=True)
    return p.returncode, p.stderr.strip(), out


def test_cli(d):
    net = randomize(FaceNetRef(1), 3)
    sd = dict(net.state_dict())
    sd["logits.weight"] = torch.zeros(8631, 512)
    sd["logits.bias"] = torch.zeros(8631)
    check(len(sd) == 716, "facenet-pytorch VGGFace2 layout has 716 entries")
    rc, err, out = run_cli(sd, d, "good")
    check(rc == 0 and os.path.exists(out), f"converts the 716-key state dict ({err})")
    kind, cfg, t = wfile.read(out)
    check(kind == "facenet" and cfg["bn_folded"] == 1 and cfg["repeats"] == [5, 10, 5], "kind/config")
    check("logits.weight" not in t and not any("num_batches" in k or ".bn." in k for k in t), "dropped tensors")
    s = sd["conv2d_4a.bn.weight"].double() / torch.sqrt(sd["conv2d_4a.bn.running_var"].double() + 0.001)
    want = (sd["conv2d_4a.conv.weight"].double() * s[:, None, None, None]).float().numpy()
    check(np.array_equal(t["conv2d_4a.conv.weight"], want), "gamma read from the file (non-unit gamma folded)")

    bad = dict(sd)
    bad["repeat_9.0.conv2d.weight"] = torch.zeros(1)
    rc, err, out = run_cli(bad, d, "unknown")
    check(rc == 1 and "unknown key" in err and "repeat_9.0.conv2d.weight" in err and not os.path.exists(out),
          f"unknown key refused: {err}")
    bad = dict(sd)
    del bad["mixed_7a.branch2.1.bn.running_var"]
    rc, err, out = run_cli(bad, d, "missing")
    check(rc == 1 and "missing key" in err and "mixed_7a.branch2.1.bn.running_var" in err
          and not os.path.exists(out), f"missing key refused: {err}")
    bad = dict(sd)
    bad["repeat_2.4.branch1.1.conv.weight"] = torch.zeros(128, 128, 7, 1)  # (1,7) transposed
    rc, err, out = run_cli(bad, d, "shape")
    check(rc == 1 and "repeat_2.4.branch1.1.conv.weight" in err and "[128, 128, 1, 7]" in err
          and not os.path.exists(out), f"wrong shape refused: {err}")
    bad = dict(sd)
    bad["block8.conv2d.bias"] = bad["block8.conv2d.bias"].clone()
    bad["block8.conv2d.bias"][3] = float("nan")
    rc, err, out = run_cli(bad, d, "nan")
    check(rc == 1 and "NaN" in err and not os.path.exists(out), f"NaN refused: {err}")
    rc, err, out = run_cli([1, 2, 3], d, "list")
    check(rc == 1 and "state dict" in err and not os.path.exists(out), f"non-dict refused: {err}")
    with open(os.path.join(d, "junk.pt"), "wb") as f:
        f.write(b"not a torch file")
    p = subprocess.run([sys.executable, os.path.join(_paths.CONVERT, "facenet.py"), os.path.join(d, "junk.pt"), "-o",
                        os.path.join(d, "junk.bin")], capture_output=True, text=True)
    check(p.returncode == 1 and "junk.pt" in p.stderr and not os.path.exists(os.path.join(d, "junk.bin")),
          f"corrupt .pt refused: {p.stderr.strip()}")


def main():
    torch.set_num_threads(1)
    test_fold_exact()
    with tempfile.TemporaryDirectory(prefix="hy_test_facenet.") as d:
        test_cli(d)
    print(f"{'FAILED: ' + str(len(FAILS)) if FAILS else 'all passed'}")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
