"""demo_baselines.py - how hard is the demo embedder's verification test? Measures hand-made face embeddings on
the same validation and test people, and the same pairs, as convert/demo/train_demo_embedder.py, next to the bundled
demo embedder (weights/demo_facenet.bin), and what summing their distances gives.

The hand-made embeddings are fitted on the training people's faces only (people with >= 2 images, never the
validation or test people):
  * pixels: the grey 64x64 face, PCA to 200 whitened dims, then LDA (within-class scatter shrunk by 1e-2),
    first 64 directions;
  * LBP: uniform local binary patterns (8 neighbours, radius 1 and 2, 59 bins) of the grey face, histograms in
    the 8x8-pixel cells, square-rooted (Hellinger); PCA to 400 whitened dims, LDA, first 128 directions;
  * pixels + LBP: the two unit vectors concatenated (pixels weighted 0.8) and normalised again.
Each embedding is averaged over the face and its mirror image. Accuracies use the best threshold on the pairs
themselves (an upper bound of what a threshold chosen elsewhere gives); AUC is threshold-free.

    /usr/bin/python3 convert/demo/demo_baselines.py [--weights weights/demo_facenet.bin]

Needs numpy, torch, Pillow and ../shared/data/celeba10k; about 3 minutes on 2 cores.
"""
import argparse
import os
import sys

import numpy as np

LBP_RADII = (1, 2)
CELL = 8


def gray(x):
    """uint8 (N, H, W, 3) -> float32 (N, H, W), ITU-R 601 luma."""
    return (x[..., 0] * 0.299 + x[..., 1] * 0.587 + x[..., 2] * 0.114).astype(np.float32)


def _uniform_map():
    """LBP code (0..255) -> bin: the 58 codes with <= 2 circular 0/1 transitions get their own bins, the
    rest share bin 58."""
    m = np.empty(256, np.int64)
    k = 0
    for c in range(256):
        bits = [(c >> i) & 1 for i in range(8)]
        if sum(bits[i] != bits[(i + 1) % 8] for i in range(8)) <= 2:
            m[c], k = k, k + 1
        else:
            m[c] = -1
    m[m < 0] = k
    return m, k + 1


def lbp_histograms(faces_u8, radius):
    """(N, cells * 59) square-rooted LBP histograms of each CELL x CELL cell (codes exist for pixels at least
    `radius` from the border, so border cells count fewer pixels; each histogram is normalised)."""
    umap, nbins = _uniform_map()
    g = gray(faces_u8)
    n, h, w = g.shape
    r = radius
    c = g[:, r:h - r, r:w - r]
    code = np.zeros(c.shape, np.int64)
    for bit, (dy, dx) in enumerate(((-r, -r), (-r, 0), (-r, r), (0, r), (r, r), (r, 0), (r, -r), (0, -r))):
        code |= (g[:, r + dy:h - r + dy, r + dx:w - r + dx] >= c).astype(np.int64) << bit
    code = umap[code]
    hh, ww = code.shape[1:]
    feats = []
    for y in range(0, hh - CELL + 1, CELL):
        for x in range(0, ww - CELL + 1, CELL):
            blk = code[:, y:y + CELL, x:x + CELL].reshape(n, -1)
            hist = np.zeros((n, nbins), np.float32)
            np.add.at(hist, (np.repeat(np.arange(n), blk.shape[1]), blk.ravel()), 1.0)
            feats.append(hist / blk.shape[1])
    return np.sqrt(np.concatenate(feats, 1))


def fit_pca_lda(feats, labels, n_pca, n_lda, shrink=1e-2):
    """PCA (whitened, n_pca dims) then LDA on `feats` (N, D) with class `labels`; returns (mean, projection
    D x n_lda) so that (f - mean) @ projection is the LDA embedding."""
    mean = feats.mean(0)
    x = (feats - mean).astype(np.float64)
    _, s, vt = np.linalg.svd(x, full_matrices=False)
    pca = vt[:n_pca].T / (s[:n_pca] / np.sqrt(len(x)))
    z = x @ pca
    sw = np.zeros((n_pca, n_pca))
    means = []
    for c in np.unique(labels):
        zc = z[labels == c]
        mc = zc.mean(0)
        means.append(mc)
        sw += (zc - mc).T @ (zc - mc)
    sw = sw / len(z) + shrink * np.eye(n_pca)
    m = np.array(means)
    sb = m.T @ m / len(m)
    li = np.linalg.inv(np.linalg.cholesky(sw))
    evals, evecs = np.linalg.eigh(li @ sb @ li.T)
    lda = li.T @ evecs[:, np.argsort(evals)[::-1][:n_lda]]
    return mean, (pca @ lda).astype(np.float32)


def _unit(e):
    return e / np.maximum(np.linalg.norm(e, axis=1, keepdims=True), 1e-12)


def accuracy_auc(emb_list, weights, idx, ids, pair_seed):
    """Best-threshold accuracy and ROC AUC of the weighted sum of per-embedding distances on the pairs that
    train_demo_embedder.make_pairs draws for the faces idx."""
    from train_demo_embedder import best_threshold, make_pairs

    same, diff = make_pairs(ids[idx], pair_seed)
    dist = lambda pairs: sum(w * np.linalg.norm(e[idx][pairs[:, 0]] - e[idx][pairs[:, 1]], axis=1)  # noqa: E731
                             for e, w in zip(emb_list, weights))
    ds, dd = dist(same), dist(diff)
    ranks = np.concatenate([ds, dd]).argsort().argsort() + 1
    auc = 1 - (ranks[:len(ds)].sum() - len(ds) * (len(ds) + 1) / 2) / (len(ds) * len(dd))
    return best_threshold(ds, dd)[1], auc


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--weights", default="weights/demo_facenet.bin", help="demo embedder (kind facenet)")
    ap.add_argument("--seed", type=int, default=1, help="train_demo_embedder.py's --seed (people and pairs)")
    ap.add_argument("--holdout", type=int, default=300)
    ap.add_argument("--val", type=int, default=300)
    a = ap.parse_args()
    if not os.path.isfile(a.weights):
        raise SystemExit(f"{a.weights}: no such file (the demo embedder, see weights/README.md)")
    here = os.path.dirname(os.path.abspath(__file__))
    sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
    import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
    import torch

    import demo_data
    from check_demo_models import model_from_facenet_bin
    from train_demo_embedder import split_people, split_val, to160

    torch.set_num_threads(2)
    faces, ids = demo_data.load_faces()
    multi, test_people = split_people(ids, a.holdout, a.seed)  # the same draws as train_demo_embedder.py
    val_people = split_val(multi, a.val, a.seed)
    fit_idx = np.flatnonzero(np.isin(ids, list(set(multi) - set(test_people) - set(val_people))))
    sets = {"validation": np.flatnonzero(np.isin(ids, val_people)), "test": np.flatnonzero(np.isin(ids, test_people))}

    mirror = np.ascontiguousarray(faces[:, :, ::-1])
    embs = {}
    for name, feat, n_pca, n_lda in (
            ("pixels", lambda f: gray(f).reshape(len(f), -1) / 255.0, 200, 64),
            ("LBP", lambda f: np.concatenate([lbp_histograms(f, r) for r in LBP_RADII], 1), 400, 128)):
        f, fm = feat(faces), feat(mirror)
        mean, proj = fit_pca_lda(f[fit_idx], ids[fit_idx], n_pca, n_lda)
        embs[name] = _unit(((f - mean) @ proj + (fm - mean) @ proj) / 2)
        print(f"{name}: {f.shape[1]} features -> PCA {n_pca} -> LDA {n_lda}", flush=True)
    embs["pixels + LBP"] = _unit(np.concatenate([0.8 * embs["pixels"], embs["LBP"]], 1))
    net = model_from_facenet_bin(a.weights)
    idx = np.concatenate(list(sets.values()))
    e = np.zeros((len(faces), 512), np.float32)
    with torch.no_grad():
        e[idx] = torch.cat([net(to160(faces[idx[k:k + 128]])) for k in range(0, len(idx), 128)]).numpy()
    embs["net"] = e

    rows = [(n, [embs[n]], [1]) for n in ("pixels", "LBP", "pixels + LBP", "net")]
    rows += [("net + LBP (sum of distances)", [embs["net"], embs["LBP"]], [1, 1]),
             ("net + pixels + LBP (sum of distances)", [embs["net"], embs["pixels"], embs["LBP"]], [1, 1, 1])]
    print(f"{'embedding':40s} " + "  ".join(f"{s:>10s} acc / AUC" for s in sets))
    for name, el, w in rows:
        cells = [accuracy_auc(el, w, ix, ids, a.seed + 1) for ix in sets.values()]
        print(f"{name:40s} " + "  ".join(f"{100 * acc:13.1f} % / {auc:.3f}" for acc, auc in cells), flush=True)


if __name__ == "__main__":
    main()
