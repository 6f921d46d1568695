"""demo_data.py - loads the CelebA-10k faces for the demo-model training scripts.

Each image (89x109 aligned CelebA) is cropped to the PIL box (7, 20, 81, 94) and resized to 64x64 with
PIL bilinear: a centred face. The 10,000 crops are kept in memory as one uint8 array (N, 64, 64, 3) and
cached as a .npy file (default /tmp/celeba64.npy) so that later runs skip the JPEG decoding.

The data folder is $HY_SHARED_DATA/celeba10k, else ../shared/data/celeba10k, else /work/shared/data/celeba10k.
Needs numpy and Pillow.
"""
import os

import numpy as np

CROP_BOX = (7, 20, 81, 94)
SIZE = 64


def data_dir():
    cands = []
    if os.environ.get("HY_SHARED_DATA"):
        cands.append(os.environ["HY_SHARED_DATA"])
    cands += ["../shared/data", "/work/shared/data"]
    for c in cands:
        d = os.path.join(c, "celeba10k")
        if os.path.isfile(os.path.join(d, "identity.txt")):
            return d
    raise SystemExit("celeba10k not found (set HY_SHARED_DATA to the folder holding celeba10k/)")


def load_identities(d=None):
    """Returns (names list, int64 identity array) in file order."""
    d = d or data_dir()
    names, ids = [], []
    with open(os.path.join(d, "identity.txt")) as f:
        for line in f:
            parts = line.split()
            if len(parts) == 2:
                names.append(parts[0])
                ids.append(int(parts[1]))
    return names, np.array(ids, dtype=np.int64)


def load_faces(cache="/tmp/celeba64.npy"):
    """Returns (uint8 faces [N,64,64,3], identities [N])."""
    from PIL import Image

    d = data_dir()
    names, ids = load_identities(d)
    if cache and os.path.isfile(cache):
        x = np.load(cache)
        if x.shape == (len(names), SIZE, SIZE, 3) and x.dtype == np.uint8:
            return x, ids
    x = np.empty((len(names), SIZE, SIZE, 3), dtype=np.uint8)
    for i, n in enumerate(names):
        with Image.open(os.path.join(d, "images", n)) as im:
            x[i] = np.asarray(im.convert("RGB").crop(CROP_BOX).resize((SIZE, SIZE), Image.BILINEAR))
    if cache:
        tmp = f"{cache}.tmp.{os.getpid()}"
        with open(tmp, "wb") as f:
            np.save(f, x)
        os.replace(tmp, cache)
    return x, ids
