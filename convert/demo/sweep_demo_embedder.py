"""sweep_demo_embedder.py - chooses the demo embedder's training recipe: runs train_demo_embedder.py once per
configuration below (all at once, as separate processes; meant for a GPU, where each run takes a minute or
two), every run keeping the same 300 held-out test people and the same 300 validation people apart, then ranks
the runs by their validation verification accuracy (never by the test people) and copies the winner's state
dict and report to OUTDIR/best.pt and OUTDIR/best.json. OUTDIR/sweep.tsv lists every run.

    python3 convert/demo/sweep_demo_embedder.py OUTDIR [--deadline SECONDS] [--only NAME,...]

The defaults of train_demo_embedder.py are the recipe this sweep chose (weights/README.md gives the table).
"""
import argparse
import json
import os
import shutil
import subprocess
import sys
import time

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)

# The first round (15 variants) varied one setting at a time around a div 8 / 40 epochs / margin 0.2 base; the
# second round ran the three best settings to the end; its winner became train_demo_embedder.py's defaults.
# Each configuration lists every setting that differs from those defaults, so the runs do not change when the
# defaults do.
ROUND1 = ["--div", "8", "--epochs", "40", "--margin", "0.2"]
CONFIGS = {
    "base": ROUND1,
    "no_singletons": ROUND1 + ["--singletons", "0"],
    "aug_0.5": ROUND1 + ["--aug", "0.5"],
    "aug_1.5": ROUND1 + ["--aug", "1.5"],
    "margin_0.35": ROUND1 + ["--margin", "0.35"],
    "wd_0.05": ROUND1 + ["--wd", "0.05"],
    "lr_5e-3": ROUND1 + ["--lr", "5e-3"],
    "lr_1e-3": ROUND1 + ["--lr", "1e-3"],
    "dropout_0.5": ROUND1 + ["--dropout", "0.5"],
    "s64_m0.35": ROUND1 + ["--scale", "64", "--margin", "0.35"],
    "div4_e30": ROUND1 + ["--div", "4", "--epochs", "30"],
    "div4_e30_m0.35": ROUND1 + ["--div", "4", "--epochs", "30", "--margin", "0.35"],
    "aug_1.5_m0.35": ROUND1 + ["--aug", "1.5", "--margin", "0.35"],
    "div4_e30_aug_1.5": ROUND1 + ["--div", "4", "--epochs", "30", "--aug", "1.5"],
    "epochs_80": ROUND1 + ["--epochs", "80"],
    # the second round ran "base", "div4_e30_m0.35" (the defaults' recipe) and "div4_e30_aug_1.5" to the end
}
# measured for reference only: more than two hours on 2 CPU cores, so not a candidate recipe
NOT_A_RECIPE = {"epochs_80"}


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("outdir")
    ap.add_argument("--deadline", type=float, default=1e9, help="seconds; runs still going then are stopped")
    ap.add_argument("--only", default="", help="comma-separated config names")
    ap.add_argument("--extra", default="", help="arguments added to every run (e.g. '--epochs 1')")
    a = ap.parse_args()
    os.makedirs(a.outdir, exist_ok=True)
    import demo_data
    demo_data.load_faces("/tmp/celeba64.npy")  # decode the JPEGs once, before the runs start
    names = [n for n in CONFIGS if not a.only or n in a.only.split(",")]
    t0 = time.time()
    procs = {}
    for n in names:
        cmd = [sys.executable, os.path.join(HERE, "train_demo_embedder.py"), "--val", "300", "--threads", "1",
               "--out", "", "--ckpt", "", "--out-pt", f"{a.outdir}/{n}.pt", "--report", f"{a.outdir}/{n}.json"] + CONFIGS[n] \
            + a.extra.split()
        log = open(f"{a.outdir}/{n}.log", "w")
        procs[n] = (subprocess.Popen(cmd, stdout=log, stderr=subprocess.STDOUT), log)
    while any(p.poll() is None for p, _ in procs.values()) and time.time() - t0 < a.deadline:
        time.sleep(2)
    for n, (p, log) in procs.items():
        if p.poll() is None:
            p.kill()
            print(f"{n}: stopped at the deadline", flush=True)
        p.wait()
        log.close()
    rows = []
    for n in names:
        try:
            with open(f"{a.outdir}/{n}.json") as f:
                r = json.load(f)
        except (OSError, ValueError):
            print(f"{n}: no report (see {a.outdir}/{n}.log)", flush=True)
            continue
        v, t = r["val_final"], r["final"]
        if not r["complete"]:
            print(f"{n}: stopped after {r['epochs_done']}/{r['epochs']} epochs: val acc {v['acc']:.4f}, "
                  f"test acc {t['acc']:.4f} (not ranked)", flush=True)
            continue
        rows.append((v["acc"], v["auc"], n, t["acc"], t["auc"], r["seconds"]))
    for r in [r for r in rows if r[2] in NOT_A_RECIPE]:
        print(f"{r[2]} (reference, not ranked): val acc {r[0]:.4f}, test acc {r[3]:.4f}", flush=True)
    rows = sorted([r for r in rows if r[2] not in NOT_A_RECIPE], reverse=True)
    with open(f"{a.outdir}/sweep.tsv", "w") as f:
        f.write("config\tval_acc\tval_auc\ttest_acc\ttest_auc\tseconds\n")
        for va, vauc, n, ta, tauc, s in rows:
            line = f"{n}\t{va:.4f}\t{vauc:.4f}\t{ta:.4f}\t{tauc:.4f}\t{s:.0f}"
            f.write(line + "\n")
            print(line, flush=True)
    if rows:
        best = rows[0][2]
        shutil.copy(f"{a.outdir}/{best}.pt", f"{a.outdir}/best.pt")
        shutil.copy(f"{a.outdir}/{best}.json", f"{a.outdir}/best.json")
        print(f"best by validation accuracy: {best}", flush=True)
    print(f"sweep done in {time.time() - t0:.0f}s", flush=True)


if __name__ == "__main__":
    main()
