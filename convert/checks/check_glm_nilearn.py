#!/usr/bin/python3
"""check_glm_nilearn.py - compares convert/ref/glm_ref.py (and, with --hyper, `hyper glm`) with
the real nilearn 0.10.4 on seeded random problems.

nilearn is not a Debian package; point NILEARN_SRC at a folder that holds nilearn 0.10.4's
`nilearn/` package, e.g. a checkout of the 0.10.4 tag:

    git clone --depth 1 -b 0.10.4 https://github.com/nilearn/nilearn /tmp/nilearn-0.10.4
    NILEARN_SRC=/tmp/nilearn-0.10.4 /usr/bin/python3 convert/checks/check_glm_nilearn.py [--hyper build/hyper]

It runs on Debian 12's numpy 1.24, scipy 1.10, pandas 1.5, scikit-learn 1.2, nibabel 5.0 and joblib
(apt-get install python3-pandas python3-nibabel python3-sklearn python3-joblib python3-lxml
python3-packaging). Without NILEARN_SRC it prints SKIP and exits 0.

Checks, each printing the largest difference and its tolerance:
  1. design matrices: every HRF model x drift model, slice_time_ref, confounds, modulation,
     duplicate events, numeric trial types, durations 0 (tolerance 1e-12 absolute)
  2. FirstLevelModel(...).fit on 3 runs (conditions shared between runs, others not) with
     signal_scaling=0 and noise_model 'ols' and 'ar1'; compute_contrast(..., output_type='all')
     per condition with zero contrasts for runs lacking it: effect, variance, t, z vs glm_ref
     (relative 1e-8) and, with --hyper, vs the NIfTI maps of `hyper glm` (relative 1e-5: float32
     output)
"""
import argparse
import contextlib
import io
import os
import subprocess
import sys
import tempfile
import warnings

import numpy as np

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401
import glm_ref  # noqa: E402

warnings.filterwarnings("ignore")


def random_events(rng, n, tr, types, per_type, dur=1.5, numeric=False):
    ev = []
    for k in range(types):
        name = str(k + 1) if numeric else f"face_{k:03d}.png"
        for _ in range(per_type):
            ev.append((float(np.round(rng.uniform(-3, n * tr - 10), 3)), dur, name, 1.0))
    return ev


def events_frame(ev, modulation=False, numeric=False):
    """As pandas reads an events.tsv: a column of numbers becomes numbers (sorted numerically)."""
    import pandas as pd
    types = [int(e[2]) if numeric else e[2] for e in ev]
    d = {"onset": [e[0] for e in ev], "duration": [e[1] for e in ev], "trial_type": types}
    if modulation:
        d["modulation"] = [e[3] for e in ev]
    return pd.DataFrame(d)


def check_designs(rng):
    from nilearn.glm.first_level import make_first_level_design_matrix
    worst = 0.0
    cases = 0
    for hrf in ["spm", "spm + derivative", "spm + derivative + dispersion", "glover", "glover + derivative",
                "glover + derivative + dispersion"]:
        for drift, hp, order in [("cosine", 0.01, 1), ("cosine", 0.033, 1), ("polynomial", 0.01, 3), (None, 0.01, 1)]:
            for tr, n, st in [(1.5, 120, 0.0), (2.0, 77, 0.5), (0.8, 200, 1.0)]:
                ev = random_events(rng, n, tr, 4, 3, dur=float(rng.choice([0.0, 1.5, 4.0])))
                ev.append(ev[0])  # a duplicate: modulations summed
                ev = [(o, d, t, float(rng.uniform(0.5, 2))) for o, d, t, _ in ev]
                conf = rng.randn(n, 2)
                ft = np.linspace(st * tr, (n - 1 + st) * tr, n)
                import pandas as pd
                dm = make_first_level_design_matrix(ft, events_frame(ev, True), hrf_model=hrf, drift_model=drift,
                                                    high_pass=hp, drift_order=order, add_regs=conf,
                                                    add_reg_names=["c1", "c2"])
                X, names = glm_ref.design_matrix(glm_ref.frame_times(n, tr, st), ev, hrf,
                                                 drift if drift else "none", hp, order, conf, ["c1", "c2"])
                assert list(dm.columns) == names, (list(dm.columns), names)
                worst = max(worst, np.abs(dm.values - X).max())
                cases += 1
    # numeric trial types sort numerically
    ev = random_events(rng, 100, 2.0, 12, 1, numeric=True)
    dm = make_first_level_design_matrix(glm_ref.frame_times(100, 2.0), events_frame(ev, numeric=True), hrf_model="spm")
    X, names = glm_ref.design_matrix(glm_ref.frame_times(100, 2.0), ev, "spm")
    assert [str(c) for c in dm.columns] == names, (list(dm.columns), names)
    worst = max(worst, np.abs(dm.values - X).max())
    print(f"designs: {cases + 1} cases, max |nilearn - glm_ref| = {worst:.3g} (tolerance 1e-12)", file=sys.stderr)
    return worst <= 1e-12


def make_runs(rng, shape=(5, 4, 3), n=90, tr=2.0):
    V = int(np.prod(shape))
    runs = []
    shared = [f"test_{k}" for k in range(3)]
    for r in range(3):
        ev = []
        for k, name in enumerate(shared):
            for rep in range(2):
                ev.append((float(np.round(rng.uniform(0, n * tr - 20), 2)), 1.5, name, 1.0))
        for k in range(4):
            ev.append((float(np.round(rng.uniform(0, n * tr - 20), 2)), 1.5, f"train_{r}_{k}", 1.0))
        ft = glm_ref.frame_times(n, tr)
        X, names = glm_ref.design_matrix(ft, ev, "spm")
        beta = rng.randn(X.shape[1], V)
        beta[-1] = 1000 + 50 * rng.rand(V)
        noise = np.zeros((n, V))
        e = rng.randn(n, V) * 3
        rho = rng.uniform(-0.2, 0.6, V)
        noise[0] = e[0]
        for t in range(1, n):
            noise[t] = rho * noise[t - 1] + e[t]
        Y = X @ beta + noise
        conf = rng.randn(n, 2)
        runs.append({"Y": Y, "events": ev, "confounds": conf, "conf_names": ["motion_x", "motion_y"]})
    return runs, shape


def check_fits(rng, hyper):
    import nibabel as nib
    from nilearn.glm.first_level import FirstLevelModel
    import pandas as pd
    ok = True
    runs, shape = make_runs(rng)
    V = int(np.prod(shape))
    tr = 2.0
    tmp = tempfile.mkdtemp(prefix="glmcheck")
    affine = np.diag([3.0, 3.0, 3.5, 1.0])
    imgs, evfiles, conffiles = [], [], []
    for r, run in enumerate(runs):
        data = run["Y"].T.reshape(shape + (run["Y"].shape[0],), order="F").astype(np.float64)
        img = nib.Nifti1Image(data, affine)
        img.header.set_zooms((3.0, 3.0, 3.5, tr))
        p = os.path.join(tmp, f"run{r}_bold.nii.gz")
        nib.save(img, p)
        imgs.append(img)
        evp = os.path.join(tmp, f"run{r}_events.tsv")
        events_frame(run["events"]).to_csv(evp, sep="\t", index=False)
        evfiles.append(evp)
        cp = os.path.join(tmp, f"run{r}_confounds.tsv")
        pd.DataFrame(run["confounds"], columns=run["conf_names"]).to_csv(cp, sep="\t", index=False)
        conffiles.append(cp)
    mask = nib.Nifti1Image(np.ones(shape, dtype=np.uint8), affine)
    mp = os.path.join(tmp, "mask.nii.gz")
    nib.save(mask, mp)
    for noise in ["ols", "ar1"]:
        flm = FirstLevelModel(t_r=tr, hrf_model="spm", noise_model=noise, signal_scaling=0, mask_img=mask,
                              minimize_memory=True)
        flm.fit(imgs, events=[events_frame(r["events"]) for r in runs],
                confounds=[pd.DataFrame(r["confounds"], columns=r["conf_names"]) for r in runs])
        ref, _ = glm_ref.glm(runs, tr, noise=noise)
        hy = None
        if hyper:
            out = os.path.join(tmp, f"out_{noise}")
            cmd = [hyper, "glm", "--tr", str(tr), "--noise", noise, "--mask", mp, "-o", out]
            for r in range(3):
                cmd += ["--bold", os.path.join(tmp, f"run{r}_bold.nii.gz"), "--events", evfiles[r], "--confounds",
                        conffiles[r]]
            subprocess.run(cmd, check=True)
            conds = pd.read_csv(os.path.join(out, "conditions.tsv"), sep="\t")
            hy = {k: nib.load(os.path.join(out, f"{k}.nii.gz")).get_fdata() for k in ["effect", "variance", "t", "z"]}
            hy_index = {str(t): i for i, t in zip(conds["index"], conds["trial_type"])}
        worst_ref, worst_hy, where = 0.0, 0.0, ""
        for cond in ref:
            cons = []
            for dm in flm.design_matrices_:
                c = np.zeros(dm.shape[1])
                if cond in dm.columns:
                    c[list(dm.columns).index(cond)] = 1
                cons.append(c)
            res = flm.compute_contrast(cons, output_type="all")
            nl = [np.asarray(res[k].get_fdata()).reshape(-1, order="F") for k in
                  ["effect_size", "effect_variance", "stat", "z_score"]]
            mine = ref[cond][:4]
            for a, b in zip(nl, mine):
                worst_ref = max(worst_ref, np.max(np.abs(a - b) / (np.abs(a) + 1e-6)))
            if hy is not None:
                i = hy_index[cond]
                for a, k in zip(nl, ["effect", "variance", "t", "z"]):
                    b = hy[k][..., i].reshape(-1, order="F")
                    err = np.abs(a - b) / (np.abs(a) + 1e-6)
                    if err.max() > worst_hy:
                        worst_hy = err.max()
                        v = err.argmax()
                        where = f" (worst: {k} of {cond} at voxel {v}: nilearn {a[v]:.9g}, hyper {b[v]:.9g})"
        print(f"fit {noise}: {len(ref)} conditions, {V} voxels: max relative |nilearn - glm_ref| = {worst_ref:.3g} "
              f"(tolerance 1e-8)" + (f"; |nilearn - hyper| = {worst_hy:.3g} (tolerance 1e-5){where}" if hy else ""))
        ok = ok and worst_ref <= 1e-8 and (hy is None or worst_hy <= 1e-5)
    return ok


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--hyper", help="also run this hyper binary and compare its maps")
    ap.add_argument("--seed", type=int, default=0)
    a = ap.parse_args()
    src = os.environ.get("NILEARN_SRC")
    if not src or not os.path.isdir(os.path.join(src, "nilearn")):
        print("SKIP check_glm_nilearn: set NILEARN_SRC to a nilearn 0.10.4 source folder")
        return 0
    sys.path.insert(0, src)
    import nilearn
    print(f"nilearn {nilearn.__version__} from {src}")
    rng = np.random.RandomState(a.seed)
    with contextlib.redirect_stdout(io.StringIO()):  # nilearn prints a line per modulation column
        ok_d = check_designs(rng)
    ok = check_fits(rng, a.hyper) and ok_d
    print("PASS" if ok else "FAIL")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
