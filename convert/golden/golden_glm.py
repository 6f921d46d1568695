"""golden_glm.py - fixtures for the first-level GLM tests (tests/test_glm.c, issue 16).

Writes tests/fixtures/glm/: a three-run study on a 5x4x3 grid (60 volumes of 2 s each)
  run-K_bold.nii.gz       float32, written by nibabel (sform and qform set, scl_slope NaN as nibabel
                          writes it); data = design @ beta + AR(1) noise on a baseline near 1000
  run-K_events.tsv        3 test conditions in every run (2 events each), 3 training conditions per
                          run, a 'stim_file' column that is ignored, run 2 with a duplicate event
  run-K_confounds.tsv     two motion-like columns; run 3 has an n/a in its first row
  mask.nii.gz             all voxels but one
and tests/fixtures/glm_ref.bin (kind "reference", float64):
  hrf.spm.tr2, hrf.glover.tr2          (3, 800) kernels of the "+ derivative + dispersion" models
  nipy.spm_hrf.tr2.os16                nipy's spm_hrf(2.0, 16) (equal to nilearn's for those values)
  design.<case>.X, config design.<case>.names (tab-joined)
      cases on run 1's events/confounds: spm, spm_d, spm_dd, glover, glover_d, glover_dd (cosine
      0.01 Hz), poly3 (polynomial order 3), none (no drift), str05 (slice_time_ref 0.5, high-pass
      0.03 Hz, glover + derivative), run2 (duplicate events merged)
  nipy.poly3                           nipy's _poly_drift(3, frame times) (equal to nilearn's)
  nipy.cos                             nipy's _cosine_drift(128 s) columns (first ones equal nilearn's)
  fit.<noise>.effect/variance          single-run fits on run 1 (psc-scaled, in-mask voxels, all
                                       design columns): (p, V), plus fit.dof
  nipy.ols.effect/variance             Nipy GeneralLinearModel(X).fit(Y, 'ols') contrasts per column
  nipy.ar1.effect/variance             Nipy ARModel(X, rho).fit on each voxel group of nilearn's
                                       binned AR(1) coefficient (fit.ar1.rho)
  glm.<variant>.<map>                  the three-run model: (n_cond, V) effect, variance, t, z in
                                       conditions order, variants ols, ar1, lss_ols, lss_ar1; config
                                       glm.conditions (tab-joined), glm.n_runs, glm.n_events
Everything comes from convert/ref/glm_ref.py (checked against nilearn 0.10.4 by
convert/checks/check_glm_nilearn.py) except the nipy.* tensors. Needs numpy, scipy, nibabel and
python3-nipy. Run from the repository root:  /usr/bin/python3 convert/golden/golden_glm.py
"""
import os
import sys
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401
import glm_ref  # noqa: E402
from wfile import WFile  # noqa: E402

warnings.filterwarnings("ignore")
OUT = os.path.join(_paths.ROOT, "tests", "fixtures")
DIR = os.path.join(OUT, "glm")
SHAPE = (5, 4, 3)
N, TR = 60, 2.0


def write_tsv(path, header, rows):
    with open(path, "w") as f:
        f.write("\t".join(header) + "\n")
        for r in rows:
            f.write("\t".join(r) + "\n")


def make_events(rng, run):
    ev = []
    for k in range(3):
        for _ in range(2):
            ev.append((float(np.round(rng.uniform(0, N * TR - 20), 1)), 1.5, f"test_{k:02d}.png", 1.0))
    for k in range(3):
        ev.append((float(np.round(rng.uniform(0, N * TR - 20), 1)), 1.5, f"train_{run}_{k}.png", 1.0))
    if run == 2:
        ev.append(ev[-1])  # a duplicate: nilearn sums its modulation (here: amplitude 2)
    return ev


def read_tsv_events(path):
    with open(path) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    h = lines[0]
    return [(float(r[h.index("onset")]), float(r[h.index("duration")]), r[h.index("trial_type")], 1.0) for r in lines[1:]]


def read_tsv_confounds(path):
    with open(path) as f:
        lines = [l.rstrip("\n").split("\t") for l in f if l.strip()]
    vals = np.array([[np.nan if v == "n/a" else float(v) for v in r] for r in lines[1:]])
    for j in range(vals.shape[1]):  # --confounds-fill mean
        col = vals[:, j]
        col[np.isnan(col)] = np.nanmean(col)
    return vals, lines[0]


def simulate(rng):
    import nibabel as nib
    os.makedirs(DIR, exist_ok=True)
    V = int(np.prod(SHAPE))
    affine = np.array([[-3.0, 0, 0, 90], [0, 3.0, 0, -126], [0, 0, 3.5, -72], [0, 0, 0, 1]])
    for run in (1, 2, 3):
        ev = make_events(rng, run)
        write_tsv(os.path.join(DIR, f"run-{run}_events.tsv"), ["onset", "duration", "trial_type", "stim_file"],
                  [(f"{o:.1f}", f"{d:g}", t, f"stimuli/{t}") for o, d, t, _ in ev])
        conf = np.round(rng.randn(N, 2) * 0.2, 4)
        rows = [[f"{v:.4f}" for v in r] for r in conf]
        if run == 3:
            rows[0][1] = "n/a"
        write_tsv(os.path.join(DIR, f"run-{run}_confounds.tsv"), ["trans_x", "rot_z"], rows)
        X, _ = glm_ref.design_matrix(glm_ref.frame_times(N, TR), glm_ref.merge_duplicates(ev), "spm")
        beta = rng.randn(X.shape[1], V) * 0.8
        beta[-1] = 1000 + 100 * rng.rand(V)
        rho = rng.uniform(-0.1, 0.5, V)
        e = rng.randn(N, V) * 2.0
        noise = np.zeros((N, V))
        noise[0] = e[0]
        for t in range(1, N):
            noise[t] = rho * noise[t - 1] + e[t]
        Y = (X @ beta + noise).astype(np.float32)
        img = nib.Nifti1Image(Y.T.reshape(SHAPE + (N,), order="F"), affine)
        img.header.set_xyzt_units("mm", "sec")
        img.header["pixdim"][4] = TR
        img.set_sform(affine, 1)
        img.set_qform(affine, 1)
        nib.save(img, os.path.join(DIR, f"run-{run}_bold.nii.gz"))
    m = np.ones(SHAPE, dtype=np.uint8)
    m[4, 3, 2] = 0
    nib.save(nib.Nifti1Image(m, affine), os.path.join(DIR, "mask.nii.gz"))


def load_runs():
    import nibabel as nib
    m = np.asarray(nib.load(os.path.join(DIR, "mask.nii.gz")).dataobj).reshape(-1, order="F") != 0
    runs = []
    for run in (1, 2, 3):
        d = np.asarray(nib.load(os.path.join(DIR, f"run-{run}_bold.nii.gz")).dataobj, dtype=np.float64)
        Y = d.reshape(-1, d.shape[3], order="F").T[:, m]
        conf, cn = read_tsv_confounds(os.path.join(DIR, f"run-{run}_confounds.tsv"))
        runs.append({"Y": Y, "events": read_tsv_events(os.path.join(DIR, f"run-{run}_events.tsv")), "confounds": conf,
                     "conf_names": cn})
    return runs


def designs(w, runs):
    ft = glm_ref.frame_times(N, TR)
    r1 = runs[0]
    cases = {"spm": ("spm", "cosine", 0.01, 1, 0.0), "spm_d": ("spm + derivative", "cosine", 0.01, 1, 0.0),
             "spm_dd": ("spm + derivative + dispersion", "cosine", 0.01, 1, 0.0),
             "glover": ("glover", "cosine", 0.01, 1, 0.0), "glover_d": ("glover + derivative", "cosine", 0.01, 1, 0.0),
             "glover_dd": ("glover + derivative + dispersion", "cosine", 0.01, 1, 0.0),
             "poly3": ("spm", "polynomial", 0.01, 3, 0.0), "none": ("spm", "none", 0.01, 1, 0.0),
             "str05": ("glover + derivative", "cosine", 0.03, 1, 0.5)}
    for case, (hrf, drift, hp, order, st) in cases.items():
        X, names = glm_ref.design_matrix(glm_ref.frame_times(N, TR, st), r1["events"], hrf, drift, hp, order,
                                         r1["confounds"], r1["conf_names"])
        w.tensor(f"design.{case}.X", X)
        w.config(f"design.{case}.names", "\t".join(names))
    X, names = glm_ref.design_matrix(ft, runs[1]["events"], "spm")
    w.tensor("design.run2.X", X)
    w.config("design.run2.names", "\t".join(names))
    for fam in ("spm", "glover"):
        w.tensor(f"hrf.{fam}.tr2", np.array(glm_ref.kernels(f"{fam} + derivative + dispersion", 2.0)))
    # Nipy, where its conventions are nilearn's
    from nipy.modalities.fmri import design_matrix as ndm
    from nipy.modalities.fmri import hemodynamic_models as nhm
    w.tensor("nipy.spm_hrf.tr2.os16", nhm.spm_hrf(2.0, 16))
    w.tensor("nipy.poly3", ndm._poly_drift(3, ft))
    w.tensor("nipy.cos", ndm._cosine_drift(128.0, ft))


def fits(w, runs):
    from nipy.algorithms.statistics.models.regression import ARModel
    from nipy.modalities.fmri.glm import GeneralLinearModel
    r1 = runs[0]
    X, _ = glm_ref.design_matrix(glm_ref.frame_times(N, TR), r1["events"], "spm", confounds=r1["confounds"],
                                 conf_names=r1["conf_names"])
    Y = glm_ref.psc(r1["Y"])
    p = X.shape[1]
    for noise in ("ols", "ar1"):
        eff, var, dof, rho = glm_ref.fit_run(X, Y, noise)
        w.tensor(f"fit.{noise}.effect", eff)
        w.tensor(f"fit.{noise}.variance", var)
        if noise == "ar1":
            w.tensor("fit.ar1.rho", rho)
    w.tensor("fit.dof", np.array([dof], dtype=np.float64))
    g = GeneralLinearModel(X)
    g.fit(Y, model="ols")
    ne, nv = np.zeros((p, Y.shape[1])), np.zeros((p, Y.shape[1]))
    for j in range(p):
        c = g.contrast(np.eye(p)[j])
        ne[j], nv[j] = c.effect.ravel(), c.variance.ravel()
    w.tensor("nipy.ols.effect", ne)
    w.tensor("nipy.ols.variance", nv)
    _, _, _, rho = glm_ref.fit_run(X, Y, "ar1")
    ne, nv = np.zeros((p, Y.shape[1])), np.zeros((p, Y.shape[1]))
    for r in np.unique(rho):
        m = rho == r
        res = ARModel(X, r).fit(Y[:, m])
        for j in range(p):
            tc = res.Tcontrast(np.eye(p)[j])
            ne[j, m], nv[j, m] = np.ravel(tc.effect), np.ravel(tc.sd) ** 2
    w.tensor("nipy.ar1.effect", ne)
    w.tensor("nipy.ar1.variance", nv)


def full_models(w, runs):
    names = None
    for variant, noise, est in (("ols", "ols", "lsa"), ("ar1", "ar1", "lsa"), ("lss_ols", "ols", "lss"),
                                ("lss_ar1", "ar1", "lss")):
        out, _ = glm_ref.glm(runs, TR, noise=noise, estimator=est)
        conds = glm_ref.condition_order(list(out))
        if names is None:
            names = conds
            w.config("glm.conditions", "\t".join(conds))
            w.tensor("glm.n_runs", np.array([out[c][5] for c in conds], dtype=np.int64))
            w.tensor("glm.n_events", np.array([out[c][6] for c in conds], dtype=np.int64))
        for k, m in enumerate(["effect", "variance", "t", "z"]):
            w.tensor(f"glm.{variant}.{m}", np.array([out[c][k] for c in conds]))
        w.tensor(f"glm.{variant}.dof", np.array([out[c][4] for c in conds], dtype=np.float64))


def main():
    rng = np.random.RandomState(16)
    simulate(rng)
    runs = load_runs()
    w = WFile("reference")
    w.config("n_volumes", N)
    w.config("tr", TR)
    designs(w, runs)
    fits(w, runs)
    full_models(w, runs)
    path = os.path.join(OUT, "glm_ref.bin")
    w.save(path)
    print(f"wrote {path} and {DIR}/")


if __name__ == "__main__":
    main()
