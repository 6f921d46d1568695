#!/usr/bin/python3
"""bench_glm.py - the Python sides of tests/bench/glm.sh: a synthetic whole-brain-style study, and
the same first-level GLM timed in Nipy 0.5 (Debian's python3-nipy) and in nilearn 0.10.4 (when
NILEARN_SRC points at its source; see convert/checks/check_glm_nilearn.py).

    bench_glm.py make DIR --voxels V --runs R --volumes N --conditions C [--seed S]
        DIR/run-K_bold.nii (float32, uncompressed), run-K_events.tsv (C events, each its own
        condition, 1.5 s long, evenly spread with jitter), run-K_confounds.tsv (6 motion-like
        columns), mask.nii (the first V voxels of the smallest near-cube grid); data = design @
        beta + AR(1) noise around a baseline of ~1000
    bench_glm.py nipy DIR        Nipy: per run nibabel load + mask, data_scaling (percent), the
                                 design (convert/ref/glm_ref.py, nilearn's), GeneralLinearModel
                                 .fit(Y, 'ar1'), then per condition contrast -> effect, variance,
                                 t (stat) and z_score; fixed effects by Contrast addition
    bench_glm.py nilearn DIR [--max-conditions K]
                                 FirstLevelModel(t_r, hrf_model='spm', noise_model='ar1',
                                 signal_scaling=0, mask_img=mask).fit(runs, events, confounds),
                                 then compute_contrast(..., output_type='all') per condition; with
                                 K, only K conditions' contrasts are timed and the time for all
                                 of them extrapolated linearly (each condition costs the same)
Each timing side prints one line: "seconds=S cpu=U fit=F contrasts=C peak_rss_mb=M conditions=N
[extrapolated]" (cpu: user + system seconds of all the process's threads).
"""
import argparse
import os
import resource
import sys
import time
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401
import glm_ref  # noqa: E402

warnings.filterwarnings("ignore")
TR = 1.5


def grid_for(v):
    g = int(np.ceil(v ** (1 / 3)))
    while g ** 3 < v:
        g += 1
    gz = g
    while g * g * (gz - 1) >= v:
        gz -= 1
    return (g, g, gz)


def make(a):
    import nibabel as nib
    rng = np.random.RandomState(a.seed)
    shape = grid_for(a.voxels)
    G = int(np.prod(shape))
    os.makedirs(a.dir, exist_ok=True)
    affine = np.diag([2.0, 2.0, 2.0, 1.0])
    mask = np.zeros(G, dtype=np.uint8)
    mask[: a.voxels] = 1
    nib.save(nib.Nifti1Image(mask.reshape(shape, order="F"), affine), os.path.join(a.dir, "mask.nii"))
    n, V = a.volumes, a.voxels
    for r in range(1, a.runs + 1):
        span = n * TR - 12.0
        onsets = np.sort(np.linspace(0, span, a.conditions, endpoint=False) + rng.uniform(0, span / a.conditions * 0.5,
                                                                                           a.conditions))
        names = [f"r{r}_face{k:04d}.png" for k in range(a.conditions)]
        with open(os.path.join(a.dir, f"run-{r}_events.tsv"), "w") as f:
            f.write("onset\tduration\ttrial_type\n")
            for o, nm in zip(onsets, names):
                f.write(f"{o:.3f}\t1.5\t{nm}\n")
        conf = np.cumsum(rng.randn(n, 6) * 0.02, axis=0)
        with open(os.path.join(a.dir, f"run-{r}_confounds.tsv"), "w") as f:
            f.write("trans_x\ttrans_y\ttrans_z\trot_x\trot_y\trot_z\n")
            for row in conf:
                f.write("\t".join(f"{v:.5f}" for v in row) + "\n")
        ev = [(float(f"{o:.3f}"), 1.5, nm, 1.0) for o, nm in zip(onsets, names)]
        X, _ = glm_ref.design_matrix(glm_ref.frame_times(n, TR), ev, "spm", confounds=conf,
                                     conf_names=[f"c{k}" for k in range(6)])
        data = np.zeros((n, G), dtype=np.float32)
        B = rng.randn(X.shape[1], V).astype(np.float32)
        B[-1] = 1000 + 100 * rng.rand(V)
        sig = X.astype(np.float32) @ B
        rho = rng.uniform(-0.1, 0.5, V).astype(np.float32)
        e = np.zeros(V, dtype=np.float32)
        for t in range(n):
            e = rho * e + rng.randn(V).astype(np.float32) * 3
            data[t, :V] = sig[t] + e
        img = nib.Nifti1Image(data.T.reshape(shape + (n,), order="F"), affine)
        img.header["pixdim"][4] = TR
        img.header.set_xyzt_units("mm", "sec")
        nib.save(img, os.path.join(a.dir, f"run-{r}_bold.nii"))
    print(f"made {a.runs} runs x {n} volumes, {V} voxels (grid {shape}), {a.conditions} conditions per run in {a.dir}")


def runs_of(d):
    k = 1
    while os.path.exists(os.path.join(d, f"run-{k}_bold.nii")):
        k += 1
    return k - 1


def read_events(p):
    with open(p) as f:
        rows = [l.rstrip("\n").split("\t") for l in f][1:]
    return [(float(r[0]), float(r[1]), r[2], 1.0) for r in rows]


def read_conf(p):
    with open(p) as f:
        lines = [l.rstrip("\n").split("\t") for l in f]
    return np.array([[float(v) for v in r] for r in lines[1:]]), lines[0]


def peak_mb():
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def cpu_s():
    """User + system CPU seconds of this process, all its threads (BLAS included)."""
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def nipy_side(a):
    import nibabel as nib
    from nipy.modalities.fmri.glm import GeneralLinearModel, data_scaling
    t0 = time.time()
    mask = np.asarray(nib.load(os.path.join(a.dir, "mask.nii")).dataobj).reshape(-1, order="F") != 0
    t_fit = 0.0
    contrasts = {}
    t_con = 0.0
    for r in range(1, runs_of(a.dir) + 1):
        t1 = time.time()
        img = nib.load(os.path.join(a.dir, f"run-{r}_bold.nii"))
        d = np.asarray(img.dataobj)
        Y = d.reshape(-1, d.shape[3], order="F")[mask].T.astype(np.float64)
        del d
        Y, _ = data_scaling(Y)
        ev = read_events(os.path.join(a.dir, f"run-{r}_events.tsv"))
        conf, cn = read_conf(os.path.join(a.dir, f"run-{r}_confounds.tsv"))
        X, names = glm_ref.design_matrix(glm_ref.frame_times(Y.shape[0], TR), ev, "spm", confounds=conf, conf_names=cn)
        g = GeneralLinearModel(X)
        g.fit(Y, model="ar1")
        t2 = time.time()
        t_fit += t2 - t1
        for ty in sorted(set(e[2] for e in ev)):
            c = np.zeros(X.shape[1])
            c[names.index(ty)] = 1
            con = g.contrast(c)
            contrasts[ty] = con if ty not in contrasts else contrasts[ty] + con
        t_con += time.time() - t2
    t3 = time.time()
    for ty, con in contrasts.items():
        z, t = con.z_score(), con.stat()
        _ = (con.effect, con.variance, z, t)
    t_con += time.time() - t3
    print(f"seconds={time.time() - t0:.2f} cpu={cpu_s():.1f} fit={t_fit:.2f} contrasts={t_con:.2f} "
          f"peak_rss_mb={peak_mb():.0f} conditions={len(contrasts)}")


def nilearn_side(a):
    src = os.environ.get("NILEARN_SRC")
    if not src:
        print("SKIP nilearn: NILEARN_SRC not set")
        return
    sys.path.insert(0, src)
    import contextlib
    import io
    import pandas as pd
    from nilearn.glm.first_level import FirstLevelModel
    t0 = time.time()
    R = runs_of(a.dir)
    runs = [os.path.join(a.dir, f"run-{r}_bold.nii") for r in range(1, R + 1)]
    events = [pd.read_csv(os.path.join(a.dir, f"run-{r}_events.tsv"), sep="\t") for r in range(1, R + 1)]
    conf = [pd.read_csv(os.path.join(a.dir, f"run-{r}_confounds.tsv"), sep="\t") for r in range(1, R + 1)]
    flm = FirstLevelModel(t_r=TR, hrf_model="spm", noise_model="ar1", signal_scaling=0,
                          mask_img=os.path.join(a.dir, "mask.nii"), minimize_memory=True)
    with contextlib.redirect_stdout(io.StringIO()):
        flm.fit(runs, events=events, confounds=conf)
    t1 = time.time()
    c1 = cpu_s()
    conds = sorted(set(c for dm in flm.design_matrices_ for c in dm.columns if c.endswith(".png")))
    todo = conds[: a.max_conditions] if a.max_conditions else conds
    for cond in todo:
        cons = []
        for dm in flm.design_matrices_:
            c = np.zeros(dm.shape[1])
            if cond in dm.columns:
                c[list(dm.columns).index(cond)] = 1
            cons.append(c)
        flm.compute_contrast(cons, output_type="all")
    t2 = time.time()
    c2 = cpu_s()
    con = (t2 - t1) * len(conds) / len(todo)
    cpu = c1 + (c2 - c1) * len(conds) / len(todo)
    extra = " extrapolated" if len(todo) < len(conds) else ""
    print(f"seconds={t1 - t0 + con:.2f} cpu={cpu:.1f} fit={t1 - t0:.2f} contrasts={con:.2f} "
          f"peak_rss_mb={peak_mb():.0f} conditions={len(conds)}{extra}")


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("what", choices=["make", "nipy", "nilearn"])
    ap.add_argument("dir")
    ap.add_argument("--voxels", type=int, default=20000)
    ap.add_argument("--runs", type=int, default=3)
    ap.add_argument("--volumes", type=int, default=330)
    ap.add_argument("--conditions", type=int, default=180)
    ap.add_argument("--seed", type=int, default=0)
    ap.add_argument("--max-conditions", type=int, default=0)
    a = ap.parse_args()
    {"make": make, "nipy": nipy_side, "nilearn": nilearn_side}[a.what](a)


if __name__ == "__main__":
    main()
