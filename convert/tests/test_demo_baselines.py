#!/usr/bin/python3
"""test_demo_baselines.py - tests of the hand-made face features of convert/demo/demo_baselines.py, run by CI
(no data needed):

* the uniform-LBP table has 58 uniform codes in their own bins and one shared bin;
* LBP codes of known images: a flat image gives code 255 everywhere, a left-to-right ramp gives code 62
  (the up, up-right, right, down-right and down neighbours are >= the centre); feature sizes for 64x64;
* PCA + LDA finds the direction that separates classes and ignores a larger within-class spread.
"""
import os
import sys

import numpy as np

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import demo_baselines as db  # noqa: E402

FAILS = []


def check(cond, what):
    print(("ok   " if cond else "FAIL ") + what)
    if not cond:
        FAILS.append(what)


def test_uniform_map():
    m, nbins = db._uniform_map()
    check(nbins == 59, f"59 bins (got {nbins})")
    uniform = [c for c in range(256) if m[c] < 58]
    check(len(uniform) == 58 and len(set(m[uniform])) == 58, "58 uniform codes, one bin each")
    check(m[0b01010101] == 58 and m[0b00100100] == 58, "codes with > 2 transitions share bin 58")
    check(m[0] < 58 and m[255] < 58 and m[62] < 58, "0, 255 and 62 (one run of ones) are uniform")


def test_lbp_known_images():
    m, _ = db._uniform_map()
    flat = np.full((1, 64, 64, 3), 90, np.uint8)
    ramp = np.broadcast_to(np.arange(64, dtype=np.uint8)[None, None, :, None] * 3, (1, 64, 64, 3)).copy()
    for r in (1, 2):
        h = db.lbp_histograms(flat, r).reshape(-1, 59)
        check(h.shape == (49, 59), f"radius {r}: 7x7 cells of 59 bins (got {h.shape})")
        check(np.allclose(h[:, m[255]], 1) and np.allclose(np.delete(h, m[255], 1), 0),
              f"radius {r}: a flat image is all code 255 (every neighbour >= centre)")
        h = db.lbp_histograms(ramp, r).reshape(-1, 59)
        check(np.allclose(h[:, m[62]], 1), f"radius {r}: a left-to-right ramp is all code 62")
    check(abs(db.gray(np.array([[[[255, 0, 0]]]], np.uint8))[0, 0, 0] - 76.245) < 1e-3, "luma of pure red")


def test_pca_lda():
    rng = np.random.RandomState(0)
    n_cls, per = 20, 10
    labels = np.repeat(np.arange(n_cls), per)
    centres = rng.randn(n_cls) * 1.0                      # classes differ along axis 0 only
    x = rng.randn(n_cls * per, 10) * 0.3
    x[:, 0] += centres[labels]
    x[:, 1] += rng.randn(n_cls * per) * 5.0               # large within-class spread along axis 1
    mean, proj = db.fit_pca_lda(x, labels, 10, 1)
    w = proj[:, 0] / np.linalg.norm(proj[:, 0])
    # 200 samples estimate the scatter matrices only roughly: 0.95 allows an 18-degree error (a method that
    # followed the largest spread would give |w0| near 0)
    check(abs(w[0]) > 0.95, f"LDA direction follows the class axis, not the spread (|w0| = {abs(w[0]):.3f})")
    z = ((x - mean) @ proj)[:, 0]
    within = np.mean([z[labels == c].var() for c in range(n_cls)])
    check(z.var() / within > 5, f"between/within variance ratio {z.var() / within:.1f} > 5")


def main():
    test_uniform_map()
    test_lbp_known_images()
    test_pca_lda()
    print(f"{'FAILED: ' + str(len(FAILS)) if FAILS else 'all passed'}")
    return 1 if FAILS else 0


if __name__ == "__main__":
    sys.exit(main())
