#!/usr/bin/env bash
# tests/bench/decoders.sh HYPER_BIN - decoder training speed, C vs scikit-learn / PyTorch on
# the same machine in the same run, on a HYPER-sized problem (1050 x 4096 -> 512 latents,
# `hyper simulate` defaults).
#   ridge   20 alphas x 5 folds (+ refit)          C: hyper train --model ridge --cv 5
#                                                 sklearn: RidgeCV(alphas, cv=KFold(5))
#   lasso   LassoCV, 20-penalty path x 5 folds, on the first $BENCH_LASSO_TARGETS latent dims
#                                                 (sklearn's LassoCV fits one target at a time)
#   linear  HYPER's model (Adam lr 1e-5, wd 0.01, batch 30): $BENCH_EPOCHS epochs timed, the
#           1500-epoch time extrapolated linearly (per-epoch cost is constant)
# Threads: BENCH_THREADS (default 1) for both sides (HY_THREADS / torch.set_num_threads /
# OPENBLAS_NUM_THREADS for numpy). Only training time is measured (not data loading).
set -euo pipefail
HY=${1:-build/hyper}
PY=/usr/bin/python3
T=${BENCH_THREADS:-1}
EP=${BENCH_EPOCHS:-5}
NL=${BENCH_LASSO_TARGETS:-2}
W=$(mktemp -d /tmp/hybench.XXXXXX)
trap 'rm -rf "$W"' EXIT
export HY_THREADS=$T OPENBLAS_NUM_THREADS=$T OMP_NUM_THREADS=$T
"$HY" simulate -o "$W/d" 2>/dev/null
# a dataset with only the first NL latent columns for the lasso comparison
$PY - "$W" "$NL" <<'PYEOF'
import sys, os, numpy as np
w, nl = sys.argv[1], int(sys.argv[2])
os.makedirs(w + "/l", exist_ok=True)
for s in ("train", "test"):
    np.save(f"{w}/l/{s}_fmri.npy", np.load(f"{w}/d/{s}_fmri.npy"))
    np.save(f"{w}/l/{s}_latents.npy", np.load(f"{w}/d/{s}_latents.npy")[:, :nl].copy())
PYEOF

ctime() {  # training seconds reported by `hyper train` ("..., 12.34 s")
  "$HY" train "$@" --quiet -o "$W/m.bin" 2>&1 | sed -n 's/.*, \([0-9.]*\) s$/\1/p' | head -1
}
c_ridge=$(ctime -d "$W/d" --model ridge --cv 5 --alphas 20)
c_lasso=$(ctime -d "$W/l" --model lasso --path 20 --cv 5)
c_lin=$(ctime -d "$W/d" --model linear --recipe torch --epochs "$EP")  # the same rules as the torch side

read -r p_ridge p_lasso p_lin < <($PY - "$W" "$T" "$EP" <<'PYEOF'
import sys, time, warnings
import numpy as np
warnings.filterwarnings("ignore")
w, t, ep = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
import torch
torch.set_num_threads(t)
from sklearn.linear_model import LassoCV, RidgeCV
from sklearn.model_selection import KFold
X = np.load(w + "/d/train_fmri.npy").astype(np.float64)
Y = np.load(w + "/d/train_latents.npy").astype(np.float64)
Yl = np.load(w + "/l/train_latents.npy").astype(np.float64)
s = time.time()
RidgeCV(alphas=np.logspace(-2, 6, 20), cv=KFold(5), scoring="neg_mean_squared_error").fit(X, Y)
r = time.time() - s
s = time.time()
for k in range(Yl.shape[1]):
    LassoCV(n_alphas=20, eps=1e-2, cv=5).fit(X, Yl[:, k])
l = time.time() - s
Xt, Yt = torch.from_numpy(X.astype(np.float32)), torch.from_numpy(Y.astype(np.float32))
net = torch.nn.Linear(X.shape[1], Y.shape[1])
opt = torch.optim.Adam(net.parameters(), lr=1e-5, weight_decay=0.01)
g = torch.Generator().manual_seed(0)
s = time.time()
for e in range(ep):
    perm = torch.randperm(X.shape[0], generator=g)
    for b in range(0, X.shape[0], 30):
        i = perm[b:b + 30]
        opt.zero_grad()
        loss = torch.nn.functional.mse_loss(net(Xt[i]), Yt[i])
        loss.backward()
        opt.step()
lt = time.time() - s
print(f"{r:.3f} {l:.3f} {lt:.3f}")
PYEOF
)
row() { awk -v n="$1" -v c="$2" -v p="$3" -v who="$4" 'BEGIN{printf "%-44s %10.2f %10.2f  %-8s %6.2fx\n", n, c, p, who, p/c}'; }
echo "decoder training, HYPER-sized problem (1050 x 4096 -> 512), $T thread(s), $(getconf _NPROCESSORS_ONLN) cores, load $(cut -d' ' -f1 /proc/loadavg)"
printf "%-44s %10s %10s  %-8s %7s\n" "task" "C (s)" "ref (s)" "ref" "speedup"
row "ridge: 20 alphas x 5 folds + refit" "$c_ridge" "$p_ridge" sklearn
row "lasso: LassoCV 20 x 5 folds, $NL targets" "$c_lasso" "$p_lasso" sklearn
row "linear: Adam, $EP epochs (measured)" "$c_lin" "$p_lin" torch
lin_c=$(awk -v a="$c_lin" -v e="$EP" 'BEGIN{print a*1500/e}')
lin_p=$(awk -v a="$p_lin" -v e="$EP" 'BEGIN{print a*1500/e}')
row "linear: 1500 epochs (extrapolated)" "$lin_c" "$lin_p" torch
