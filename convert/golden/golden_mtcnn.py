"""golden_mtcnn.py - seeded golden fixtures for the MTCNN tests (tests/test_mtcnn.c).

    /usr/bin/python3 convert/golden/golden_mtcnn.py [OUT_DIR]     (default tests/fixtures)

Writes
  mtcnn_tiny.bin      kind "mtcnn": random weights with the real shapes (seeded), biased so
                      that every pipeline stage keeps some boxes on the synthetic image;
  mtcnn_golden.bin    kind "reference": inputs and outputs of convert/ref/mtcnn_ref.py (the
                      project's PyTorch reference written from shared/spec/mtcnn.md):
                      per-network outputs, pyramid levels, stage boxes, final faces and
                      Pillow BILINEAR crops for the FaceNet crop test.
The script refuses seeds where any probability lies within 1e-4 of a threshold (100x the float32 net differences, ~1e-6), so
float32 rounding differences between C and torch cannot flip a decision.
"""
import os
import sys

import numpy as np
import torch
from PIL import Image

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import mtcnn as conv  # noqa: E402
import mtcnn_ref as ref  # noqa: E402
import wfile  # noqa: E402

MARGIN = 1e-4


def random_weights(g, bias_face):
    """Random state dicts with the real shapes; bias_face[net] is added to the face logit."""
    sds = {}
    for net, spec in conv.SHAPES.items():
        sd = {}
        for key, shape in spec:
            if key.startswith("prelu"):
                v = torch.rand(shape, generator=g) * 0.8 - 0.3  # some negative slopes, as in the real nets
            elif key.endswith(".bias"):
                v = torch.randn(shape, generator=g) * 0.1
            else:
                fan_in = int(np.prod(shape[1:]))
                v = torch.randn(shape, generator=g) * (1.5 / fan_in) ** 0.5
            sd[key] = v.float()
        # small regressions keep the boxes near their cells; the face logit gets a bias
        for k in ("conv4_2.weight", "dense5_2.weight", "dense6_2.weight"):
            if k in sd:
                sd[k] *= 0.1
        # wider logits: fewer probabilities near the thresholds
        for k in ("conv4_1.weight", "dense5_1.weight", "dense6_1.weight"):
            if k in sd:
                sd[k] *= 4.0
        logit = {"pnet": "conv4_1.bias", "rnet": "dense5_1.bias", "onet": "dense6_1.bias"}[net]
        sd[logit][1] += bias_face[net]
        sds[net] = sd
    return sds


def synthetic_image(rng, h, w):
    """Smooth blobs plus noise, uint8 HxWx3."""
    small = rng.integers(0, 256, size=(h // 8 + 1, w // 8 + 1, 3)).astype(np.uint8)
    big = np.asarray(Image.fromarray(small).resize((w, h), Image.BICUBIC), dtype=np.int32)
    big = big + rng.integers(-20, 21, size=big.shape)
    return np.clip(big, 0, 255).astype(np.uint8)


def check_margin(name, p, thr):
    d = float(torch.min(torch.abs(p - thr))) if p.numel() else 1.0
    if d < MARGIN:
        raise Retry(f"{name}: a probability lies {d:.2e} from threshold {thr}")


class Retry(Exception):
    pass


def main():
    out_dir = sys.argv[1] if len(sys.argv) > 1 else "tests/fixtures"
    os.makedirs(out_dir, exist_ok=True)
    torch.set_num_threads(1)
    for seed in range(100):  # deterministic: the first seed that passes every margin check
        try:
            return generate(out_dir, seed)
        except Retry as e:
            print(f"seed {seed}: {e}; next seed")
    raise SystemExit("no seed passed the margin checks")


def generate(out_dir, seed):
    g = torch.Generator().manual_seed(seed)
    rng = np.random.default_rng(seed)
    sds = random_weights(g, {"pnet": 0.5, "rnet": 0.3, "onet": 0.6})
    W = {n: {k: v.contiguous() for k, v in sd.items()} for n, sd in sds.items()}
    img = synthetic_image(rng, 100, 130)

    R = wfile.WFile("reference")
    R.config("source", "convert/golden/golden_mtcnn.py (seeded), reference convert/ref/mtcnn_ref.py")
    R.config("seed", seed)
    with torch.no_grad():
        # per-network goldens on random inputs (odd P-Net size exercises ceil-mode pooling)
        px = torch.randn(1, 3, 17, 23, generator=g)
        reg, prob = ref.pnet(W["pnet"], px)
        R.tensor("pnet.x", px.numpy()); R.tensor("pnet.reg", reg.numpy()); R.tensor("pnet.prob", prob.numpy())
        rx = torch.randn(5, 3, 24, 24, generator=g)
        reg, prob = ref.rnet(W["rnet"], rx)
        R.tensor("rnet.x", rx.numpy()); R.tensor("rnet.reg", reg.numpy()); R.tensor("rnet.prob", prob.numpy())
        ox = torch.randn(3, 3, 48, 48, generator=g)
        reg, lm, prob = ref.onet(W["onet"], ox)
        R.tensor("onet.x", ox.numpy()); R.tensor("onet.reg", reg.numpy()); R.tensor("onet.lm", lm.numpy())
        R.tensor("onet.prob", prob.numpy())

        # area resample: a downscale and an upscale crop of the image
        t = torch.from_numpy(img.copy()).permute(2, 0, 1).unsqueeze(0).float()
        R.tensor("area.down", ref.area_resample(t[:, :, 7:90, 3:120], (24, 31)).numpy()[0])
        R.tensor("area.up", ref.area_resample(t[:, :, 5:16, 3:10], (24, 24)).numpy()[0])

        # full pipeline with a trace of every stage
        tr = {}
        boxes, probs, lms = ref.detect(W, img, tr)
        R.tensor("image", img)
        R.tensor("scales", np.array(tr["scales"], dtype=np.float64))
        R.tensor("n_cand", np.array([len(l["cand"]) for l in tr["levels"]], dtype=np.int64))
        for i, l in enumerate(tr["levels"]):
            check_margin(f"level {i}", l["prob"][0, 1], 0.6)
            if i < 2:
                R.tensor(f"level{i}.img", l["level"].numpy()[0])
                R.tensor(f"level{i}.prob", l["prob"].numpy()[0])
                R.tensor(f"level{i}.reg", l["reg"].numpy()[0])
        check_margin("rnet", tr["rnet_prob"][:, 1], 0.7)
        check_margin("onet", tr["onet_prob"][:, 1], 0.7)
        R.tensor("cat", tr["stage1_cat"].numpy())
        R.tensor("stage1", tr["stage1"].numpy())
        R.tensor("stage2", tr["stage2"].numpy())
        R.tensor("n_onet_in", np.array([len(tr["onet_in"])], dtype=np.int64))
        R.tensor("faces.box", boxes.numpy())
        R.tensor("faces.prob", probs.numpy())
        R.tensor("faces.lm", lms.numpy())
        counts = [len(l["cand"]) for l in tr["levels"]]
        print(f"levels {len(counts)} cand {counts} cat {len(tr['stage1_cat'])} stage1 {len(tr['stage1'])} "
              f"stage2 {len(tr['stage2'])} onet_in {len(tr['onet_in'])} faces {len(boxes)}")
        if len(boxes) < 2:
            raise Retry("fewer than 2 final faces: the pipeline test would not exercise NMS/sorting")

    # FaceNet crop: facenet box + Pillow BILINEAR resize to 160 (downscale and upscale)
    src = synthetic_image(rng, 200, 240)
    R.tensor("pil.src", src)
    pil = Image.fromarray(src)
    for name, box in (("down", (12.7, 5.2, 231.9, 197.6)), ("up", (40.3, 50.9, 101.2, 139.99)),
                      ("edge", (-8.5, 150.2, 250.4, 260.0))):
        b = ref.facenet_box(box, src.shape[1], src.shape[0])
        crop = np.asarray(pil.crop(b).resize((160, 160), Image.BILINEAR), dtype=np.uint8)
        R.tensor(f"pil.{name}.box", np.array(box, dtype=np.float32))
        R.tensor(f"pil.{name}.ibox", np.array(b, dtype=np.int64))
        R.tensor(f"pil.{name}.out", crop)

    conv.build(W, source="random (convert/golden/golden_mtcnn.py)").save(os.path.join(out_dir, "mtcnn_tiny.bin"))
    R.save(os.path.join(out_dir, "mtcnn_golden.bin"))
    for f in ("mtcnn_tiny.bin", "mtcnn_golden.bin"):
        print(f, os.path.getsize(os.path.join(out_dir, f)), "bytes")


if __name__ == "__main__":
    main()
