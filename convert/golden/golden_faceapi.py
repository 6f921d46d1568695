"""golden_faceapi.py - golden fixtures for the C face-api networks (tests/test_faceapi.c), with
outputs from the upstream package itself, run under Node.js (convert/golden/golden_faceapi.js on
tfjs' pure-JavaScript CPU backend), and per-layer activations from the numpy reference
(convert/ref/faceapi_ref.py).

    /usr/bin/python3 convert/golden/golden_faceapi.py [--out DIR] [--model-dir MODEL_DIR]

Needs node and npm (the pinned packages in convert/golden/faceapi_node/ are installed with
`npm ci` into build/faceapi-node/, outside the sources) and numpy + Pillow (+ torch for the
real set's MTCNN landmarks).

Writes into DIR (default tests/fixtures):
  faceapi_tiny_recognition.bin, faceapi_tiny_agegender.bin
      small random networks with face-api's topology (widths 4/8/16/32, descriptor 16; age/gender
      widths 4..64), written as TF.js models (manifest + uint8-quantised shards, some tensors left
      float32 as in the real package) and converted by convert/faceapi.py;
  faceapi_tiny_ref.bin (kind "reference")
      jobs on random images of several sizes (padToSquare and the bilinear resize) and on crops
      from landmarks and from a box: job<k>.image (h,w,3) u8, job<k>.net (0 descriptor, 1 age/gender),
      job<k>.landmarks (10) / job<k>.box (4) f32 when cropped; face-api's answers: job<k>.rect
      (x,y,w,h) i64, job<k>.descriptor (D) or job<k>.age, job<k>.p_male f32;
      the numpy reference on one image per net: recog.prepared / agegender.prepared (S,S,3) and
      every named layer but 'input' as recog.<name> / agegender.<name> (C,H,W) float32; a job on an
      image already stored names it with job<k>.image_of.
  faceapi_real_ref.bin (kind "reference", only with the real model: --model-dir, or
      build/faceapi/model from `make weights`, and the shared faces in $HY_SHARED_DATA)
      jobs on ../shared/data/faces: job<k>.path (config, relative to the shared data folder),
      the whole aligned crops and, for every face MTCNN finds in the photos (convert/ref/mtcnn_ref.py
      on the shared MTCNN weights), the descriptor from its 5 landmarks and age/gender from its box;
      face-api's rect and outputs as above. No image data is stored.
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import tempfile

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import faceapi  # noqa: E402
import faceapi_ref as ref  # noqa: E402
import wfile  # noqa: E402

NODE_DIR = os.path.join(_paths.ROOT, "build", "faceapi-node")
PKG_DIR = os.path.join(_paths.CONVERT, "golden", "faceapi_node")
SCRIPT = os.path.join(_paths.CONVERT, "golden", "golden_faceapi.js")


# --- Node side ------------------------------------------------------------------------------
def node_modules():
    """Installs the pinned packages (npm ci) into build/faceapi-node once; returns node_modules."""
    nm = os.path.join(NODE_DIR, "node_modules")
    stamp = os.path.join(NODE_DIR, "package-lock.json")
    lock = os.path.join(PKG_DIR, "package-lock.json")
    if not (os.path.isdir(nm) and os.path.exists(stamp) and open(stamp).read() == open(lock).read()):
        os.makedirs(NODE_DIR, exist_ok=True)
        for f in ("package.json", "package-lock.json"):
            shutil.copy(os.path.join(PKG_DIR, f), os.path.join(NODE_DIR, f))
        # --ignore-scripts: nothing runs at install time (core-js's postinstall only prints a banner)
        subprocess.run(["npm", "ci", "--ignore-scripts", "--no-audit", "--no-fund"], cwd=NODE_DIR, check=True)
    return nm


def run_node(model_dir, jobs, images, tmp):
    """jobs: list of dicts (see golden_faceapi.js); images[k] (h,w,3) uint8. Returns the results."""
    spec = []
    for k, (job, img) in enumerate(zip(jobs, images)):
        raw = os.path.join(tmp, f"img{k}.f32")
        img.astype("<f4").tofile(raw)
        spec.append(dict(job, image=os.path.basename(raw), h=int(img.shape[0]), w=int(img.shape[1])))
    jp, op = os.path.join(tmp, "jobs.json"), os.path.join(tmp, "out.json")
    with open(jp, "w") as f:
        json.dump(spec, f)
    env = dict(os.environ, NODE_PATH=node_modules())
    subprocess.run(["node", SCRIPT, model_dir, jp, op], check=True, env=env)
    with open(op) as f:
        out = json.load(f)
    print(f"  face-api {out['version']}, tfjs {out['tfjs']}, backend {out['backend']}: {len(out['results'])} jobs")
    return out["results"]


# --- tiny random models in TF.js format -------------------------------------------------------
def _quantize(rng, shape, bound):
    """Random uint8 codes with a scale/min spanning [-bound, bound] (as tfjs' quantiser would)."""
    q = rng.integers(0, 256, size=shape, dtype=np.uint8)
    return q, (2 * bound / 255.0, -bound)


def write_tfjs(model_dir, stem, entries):
    """entries: [(name, shape, array uint8 or float32, quant or None)] -> manifest + one shard."""
    weights, blob = [], bytearray()
    for name, shape, arr, quant in entries:
        w = {"name": name, "shape": list(shape), "dtype": "float32"}
        if quant is not None:
            w["quantization"] = {"dtype": "uint8", "scale": quant[0], "min": quant[1]}
            blob += np.ascontiguousarray(arr, dtype=np.uint8).tobytes()
        else:
            blob += np.ascontiguousarray(arr, dtype="<f4").tobytes()
        weights.append(w)
    with open(os.path.join(model_dir, f"{stem}.bin"), "wb") as f:
        f.write(bytes(blob))
    with open(os.path.join(model_dir, f"{stem}-weights_manifest.json"), "w") as f:
        json.dump([{"paths": [f"{stem}.bin"], "weights": weights}], f)


def tiny_recognition(rng):
    widths = {"32": 4, "64": 8, "128": 16, "256": 32}
    ent = []

    def conv_layer(p, k, cin, cout, gain, quant=True):
        shape = (k, k, cin, cout)
        bound = gain * np.sqrt(6.0 / (k * k * cin))
        if quant:
            q, qs = _quantize(rng, shape, bound)
            ent.append((f"{p}/conv/filters", shape, q, qs))
        else:  # as the real package's conv64 filters, which are plain float32
            ent.append((f"{p}/conv/filters", shape, rng.uniform(-bound, bound, shape).astype(np.float32), None))
        ent.append((f"{p}/conv/bias", (cout,), *_quantize(rng, (cout,), 0.05)))
        q, _ = _quantize(rng, (cout,), 1)
        ent.append((f"{p}/scale/weights", (cout,), q, (1.0 / 255.0, 0.5)))  # 0.5 .. 1.5
        ent.append((f"{p}/scale/biases", (cout,), *_quantize(rng, (cout,), 0.1)))

    conv_layer("conv32_down", 7, 3, widths["32"], 1.0)
    c = widths["32"]
    for r in faceapi.RECOG_RESIDUAL:
        co = widths[r[4:].split("_")[0]]
        conv_layer(f"{r}/conv1", 3, c, co, 1.0, quant=not r.startswith("conv64"))
        conv_layer(f"{r}/conv2", 3, co, co, 0.5, quant=not r.startswith("conv64"))
        c = co
    q, qs = _quantize(rng, (c, 16), np.sqrt(3.0 / c))
    ent.append(("fc", (c, 16), q, qs))
    return ent


def tiny_agegender(rng):
    ent = []

    def sep(p, cin, cout):
        ent.append((f"{p}/depthwise_filter", (3, 3, cin, 1), *_quantize(rng, (3, 3, cin, 1), np.sqrt(6.0 / 9))))
        ent.append((f"{p}/pointwise_filter", (1, 1, cin, cout), *_quantize(rng, (1, 1, cin, cout), np.sqrt(6.0 / cin))))
        ent.append((f"{p}/bias", (cout,), rng.normal(0, 0.05, cout).astype(np.float32), None))

    def reduction(p, cin, cout):
        sep(f"{p}/separable_conv0", cin, cout)
        sep(f"{p}/separable_conv1", cout, cout)
        ent.append((f"{p}/expansion_conv/filters", (1, 1, cin, cout),
                    *_quantize(rng, (1, 1, cin, cout), np.sqrt(3.0 / cin))))
        ent.append((f"{p}/expansion_conv/bias", (cout,), rng.normal(0, 0.05, cout).astype(np.float32), None))

    ent.append(("entry_flow/conv_in/filters", (3, 3, 3, 4), *_quantize(rng, (3, 3, 3, 4), np.sqrt(6.0 / 27))))
    ent.append(("entry_flow/conv_in/bias", (4,), rng.normal(0, 0.05, 4).astype(np.float32), None))
    reduction("entry_flow/reduction_block_0", 4, 8)
    reduction("entry_flow/reduction_block_1", 8, 16)
    for i in range(2):
        for k in range(3):
            sep(f"middle_flow/main_block_{i}/separable_conv{k}", 16, 16)
    reduction("exit_flow/reduction_block", 16, 32)
    sep("exit_flow/separable_conv", 32, 64)
    ent.append(("fc/age/weights", (64, 1), *_quantize(rng, (64, 1), 1.0)))
    ent.append(("fc/age/bias", (1,), np.array([25.0], dtype=np.float32), None))
    ent.append(("fc/gender/weights", (64, 2), *_quantize(rng, (64, 2), 0.5)))
    ent.append(("fc/gender/bias", (2,), np.array([0.1, -0.1], dtype=np.float32), None))
    return ent


def params_of(model_dir, net):
    stem = faceapi.NETS[net][0]
    return {n: faceapi.dequantize(a, q) for n, _, a, q in faceapi.read_tfjs(model_dir, stem)}


def layers_nchw(w, prefix, acts):
    """numpy reference activations (image 0) as float32 (C,H,W) tensors (vectors as (C,1,1));
    'input' is left out (the test derives it from the stored prepared image)."""
    for name, a in acts.items():
        if name == "input":
            continue
        a0 = np.asarray(a[0], dtype=np.float64)
        if a0.ndim == 3:
            a0 = a0.transpose(2, 0, 1)
        else:
            a0 = a0.reshape(-1, 1, 1)
        w.tensor(f"{prefix}.{name}", a0.astype(np.float32))


def add_job(w, k, job, res, img=None, path=None, image_of=None):
    w.config(f"job{k}.net", 0 if job["net"] == "recognition" else 1)
    if path is not None:
        w.config(f"job{k}.path", path)
    if image_of is not None:
        w.config(f"job{k}.image_of", image_of)  # the same image as job<image_of>
    elif img is not None:
        w.tensor(f"job{k}.image", img)
    if "landmarks" in job:
        pts = np.asarray(job["landmarks"], dtype=np.float32)  # 5 (x, y) -> x0..x4, y0..y4
        w.tensor(f"job{k}.landmarks", np.concatenate([pts[:, 0], pts[:, 1]]))
    if "box" in job:
        x, y, bw, bh = job["box"]
        w.tensor(f"job{k}.box", np.array([x, y, x + bw, y + bh], dtype=np.float32))
    if res["rect"] is not None:
        w.tensor(f"job{k}.rect", np.array(res["rect"], dtype=np.int64))
    if job["net"] == "recognition":
        w.tensor(f"job{k}.descriptor", np.array(res["descriptor"], dtype=np.float32))
    else:
        w.tensor(f"job{k}.age", np.array([res["age"]], dtype=np.float32))
        w.tensor(f"job{k}.p_male", np.array([res["p_male"]], dtype=np.float32))


def f32_grid(v):
    """Round to a multiple of 1/64, so a value is the same in float32, double and JS."""
    return float(np.round(v * 64) / 64)


def tiny(out_dir, tmp):
    rng = np.random.default_rng(15)
    mdir = os.path.join(tmp, "tiny")
    os.makedirs(mdir)
    write_tfjs(mdir, "face_recognition_model", tiny_recognition(rng))
    write_tfjs(mdir, "age_gender_model", tiny_agegender(rng))
    for net in ("recognition", "agegender"):
        t = faceapi.read_tfjs(mdir, faceapi.NETS[net][0])
        wf, _ = faceapi.build(t, net, "convert/golden/golden_faceapi.py: random tiny model (seed 15)")
        wf.save(os.path.join(out_dir, f"faceapi_tiny_{net}.bin"))

    jobs, imgs = [], []
    for net, sizes in (("recognition", [(150, 150), (97, 131), (140, 75), (40, 33)]),
                       ("agegender", [(112, 112), (120, 90), (61, 50)])):
        for h, wd in sizes:
            jobs.append({"net": net})
            imgs.append(rng.integers(0, 256, size=(h, wd, 3), dtype=np.uint8))
    scene = rng.integers(0, 256, size=(160, 200, 3), dtype=np.uint8)
    lm = [[f32_grid(x), f32_grid(y)] for x, y in [(80.3, 70.1), (121.7, 68.9), (101.2, 92.5), (86.6, 115.3),
                                                  (118.9, 114.2)]]
    jobs.append({"net": "recognition", "landmarks": lm})
    imgs.append(scene)
    lm_edge = [[f32_grid(x), f32_grid(y)] for x, y in [(12.4, 20.2), (40.9, 22.6), (25.0, 38.3), (15.1, 52.0),
                                                       (37.7, 53.9)]]
    jobs.append({"net": "recognition", "landmarks": lm_edge})  # the chip crosses the top-left border
    imgs.append(scene)
    jobs.append({"net": "agegender", "box": [f32_grid(60.7), f32_grid(41.3), f32_grid(85.4), f32_grid(101.9)]})
    imgs.append(scene)
    jobs.append({"net": "agegender", "box": [f32_grid(150.2), f32_grid(-12.6), f32_grid(70.0), f32_grid(80.5)]})
    imgs.append(scene)
    res = run_node(mdir, jobs, imgs, tmp)

    w = wfile.WFile("reference")
    w.config("njobs", len(jobs))
    first = {}
    for k, (job, r, img) in enumerate(zip(jobs, res, imgs)):
        if "landmarks" in job:
            mine = ref.dlib_box(job["landmarks"], img.shape[1], img.shape[0])
            assert list(mine) == r["rect"], (mine, r["rect"])
        same = first.setdefault(id(img), k)
        add_job(w, k, job, r, img=img, image_of=same if same != k else None)
    # numpy reference, per layer, on the first non-square image of each net (preprocessing too)
    for net, k, prefix, fwd, size in (("recognition", 1, "recog", ref.recognition_forward, 150),
                                      ("agegender", 5, "agegender", ref.agegender_forward, 112)):
        p = params_of(mdir, net)
        x = ref.preprocess(imgs[k], size)
        w.tensor(f"{prefix}.prepared", x)
        w.config(f"{prefix}.job", k)
        acts = fwd(p, x[None])
        layers_nchw(w, prefix, acts)
        final = acts["descriptor"][0] if net == "recognition" else np.array([acts["age"][0], acts["gender"][0, 0]])
        node = np.array(res[k]["descriptor"]) if net == "recognition" else np.array([res[k]["age"], res[k]["p_male"]])
        print(f"  tiny {net}: numpy reference vs face-api max |diff| {np.abs(final - node).max():.2e}")
    w.save(os.path.join(out_dir, "faceapi_tiny_ref.bin"))
    print(f"wrote faceapi_tiny_recognition.bin, faceapi_tiny_agegender.bin, faceapi_tiny_ref.bin ({len(jobs)} jobs)")


def real(out_dir, model_dir, shared, tmp):
    from PIL import Image
    import mtcnn_ref
    import torch
    faces = os.path.join(shared, "faces")
    jobs, imgs, paths = [], [], []
    for name in sorted(os.listdir(os.path.join(faces, "aligned"))):
        img = np.asarray(Image.open(os.path.join(faces, "aligned", name)).convert("RGB"), dtype=np.uint8)
        for net in ("recognition", "agegender"):
            jobs.append({"net": net})
            imgs.append(img)
            paths.append(f"faces/aligned/{name}")
    det = mtcnn_ref.load_weights(os.path.join(shared, "mtcnn"))
    for name in sorted(os.listdir(os.path.join(faces, "photos"))):
        img = np.asarray(Image.open(os.path.join(faces, "photos", name)).convert("RGB"), dtype=np.uint8)
        with torch.no_grad():
            boxes, _, lms = mtcnn_ref.detect(det, img)
        for b, lm in zip(boxes.numpy().astype(np.float32), lms.numpy().astype(np.float32)):
            pts = [[float(lm[i]), float(lm[i + 5])] for i in range(5)]
            jobs.append({"net": "recognition", "landmarks": pts})
            imgs.append(img)
            paths.append(f"faces/photos/{name}")
            jobs.append({"net": "agegender", "box": [float(b[0]), float(b[1]), float(b[2]) - float(b[0]),
                                                     float(b[3]) - float(b[1])]})
            imgs.append(img)
            paths.append(f"faces/photos/{name}")
    res = run_node(model_dir, jobs, imgs, tmp)
    w = wfile.WFile("reference")
    w.config("njobs", len(jobs))
    w.config("source", "face-api 1.7.15 (Node.js, tfjs cpu backend) on $HY_SHARED_DATA/faces")
    for k, (job, r, path) in enumerate(zip(jobs, res, paths)):
        add_job(w, k, job, r, path=path)
    # the numpy reference agrees with face-api on the real weights too (printed, not stored)
    p = params_of(model_dir, "recognition")
    d = ref.recognition_forward(p, ref.preprocess(imgs[0], 150)[None])["descriptor"][0]
    print(f"  real recognition: numpy reference vs face-api max |diff| {np.abs(d - res[0]['descriptor']).max():.2e}")
    w.save(os.path.join(out_dir, "faceapi_real_ref.bin"))
    print(f"wrote faceapi_real_ref.bin ({len(jobs)} jobs)")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--out", default=os.path.join(_paths.ROOT, "tests", "fixtures"))
    ap.add_argument("--model-dir", default=os.path.join(_paths.ROOT, "build", "faceapi", "model"))
    a = ap.parse_args()
    if not shutil.which("node") or not shutil.which("npm"):  # make golden goes on with the other fixtures
        print("SKIP golden_faceapi.py: needs node and npm (apt-get install nodejs npm); the committed face-api "
              "fixtures are kept")
        return
    shared = os.environ.get("HY_SHARED_DATA", os.path.join(_paths.ROOT, os.pardir, "shared", "data"))
    with tempfile.TemporaryDirectory() as tmp:
        tiny(a.out, tmp)
        if os.path.exists(os.path.join(a.model_dir, "face_recognition_model-weights_manifest.json")) and \
                os.path.isdir(os.path.join(shared, "faces")):
            real(a.out, a.model_dir, shared, tmp)
        else:
            print(f"SKIP faceapi_real_ref.bin: needs {a.model_dir} (make weights) and {shared}/faces")


if __name__ == "__main__":
    main()
