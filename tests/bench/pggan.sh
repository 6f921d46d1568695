#!/usr/bin/env bash
# tests/bench/pggan.sh HYPER_BIN - PGGAN 1024x1024 generator: C vs PyTorch on this machine.
#
# Prints seconds per image at 1 and 2 threads (median of REPS runs) for
#   - the C forward pass alone (tests/bench/pggan_fwd.c, built here against libhyper.a), and
#     once (1 run, 2 threads) its generic path (HY_CONV3X3=0: upsample + im2col + sgemm),
#   - `hyper generate` (forward + writing the raw output / the PNG),
#   - the same network in PyTorch (Debian's torch, oneDNN), default malloc and with
#     GLIBC_TUNABLES=glibc.malloc.hugetlb=1 (transparent huge pages for malloc),
# with achieved GFLOP/s (85.35 GFLOP per image = 42.67 GMAC x 2), the fraction of the FP32
# peak measured by an FMA loop (tests/bench/fma_peak.c), ratios to PyTorch's best setting,
# and peak RSS (GNU time %M). Random weights (timing does not depend on values), written
# once to $HY_BENCH_DIR (default /tmp) as pggan1024_random.bin.
# Env: REPS (default 3) for C, TORCH_REPS (default 2; 0 skips PyTorch), HY_BENCH_DIR.
# The machine may be shared: the load average is printed with the table.
set -u
HYPER=${1:?usage: tests/bench/pggan.sh build/hyper}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$(dirname "$HYPER")" && pwd)
REPS=${REPS:-3}
TORCH_REPS=${TORCH_REPS:-2}
DIR=${HY_BENCH_DIR:-/tmp}
W=$DIR/pggan1024_random.bin
TMP=$(mktemp -d "$DIR/hy_bench_pggan.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PY=/usr/bin/python3
GFLOP=85.35

if [ ! -s "$W" ]; then
    echo "writing random 1024x1024 PGGAN weights to $W ..."
    "$PY" - "$W" "$ROOT/convert" <<'EOF' || { echo "cannot write $W (needs numpy)"; exit 1; }
import sys
sys.path.insert(0, sys.argv[2])
import numpy as np, wfile
rng = np.random.default_rng(0)
ch = [512, 512, 512, 512, 256, 128, 64, 32, 16]; L = 512
def r(*s, fan): return rng.standard_normal(s, dtype=np.float32) * np.float32(np.sqrt(2 / fan))
w = wfile.WFile("pggan")
w.config("resolution", 1024); w.config("latent_size", L); w.config("channels", ch); w.config("source_format", "random")
w.tensor("dense.weight", r(16 * ch[0], L, fan=L) / 4); w.tensor("dense.bias", np.zeros(16 * ch[0], np.float32))
w.tensor("4x4.conv.weight", r(ch[0], ch[0], 3, 3, fan=9 * ch[0])); w.tensor("4x4.conv.bias", np.zeros(ch[0], np.float32))
for s in range(1, len(ch)):
    rr = 4 << s; ci, co = ch[s - 1], ch[s]
    w.tensor(f"{rr}x{rr}.conv0.weight", r(co, ci, 3, 3, fan=9 * ci)); w.tensor(f"{rr}x{rr}.conv0.bias", np.zeros(co, np.float32))
    w.tensor(f"{rr}x{rr}.conv1.weight", r(co, co, 3, 3, fan=9 * co)); w.tensor(f"{rr}x{rr}.conv1.bias", np.zeros(co, np.float32))
w.tensor("torgb.weight", r(3, 16, 1, 1, fan=16)); w.tensor("torgb.bias", np.zeros(3, np.float32))
w.save(sys.argv[1])
EOF
fi

median() { sort -g | awk '{a[NR]=$1} END {if (NR) print a[int((NR+1)/2)]; else print "nan"}'; }
rss_mb() { awk '/^RSS/ {printf "%.0f", $2/1024}' "$1"; }

# --- machine FP32 peak (one core, FMA loop; x2 for the two threads) --------------------
PEAK1=0
if cc -O2 "$ROOT/tests/bench/fma_peak.c" -o "$TMP/fma_peak" 2>/dev/null; then
    read -r P512 P256 < <("$TMP/fma_peak")
    PEAK1=$(awk -v a="$P512" -v b="$P256" 'BEGIN {print (a > b ? a : b)}')
fi

ROWS=()
NOTES=()
row() { ROWS+=("$1|$2|$3|$4"); }  # name | threads | s/image | rss MB

# --- C: forward only ------------------------------------------------------------------
if cc -O2 -fopenmp -I"$ROOT/include" "$ROOT/tests/bench/pggan_fwd.c" "$BUILD/libhyper.a" -lopenblas -lpng -lz -lm \
    -o "$TMP/pggan_fwd" 2>"$TMP/cc.err"; then
    for t in 1 2; do
        /usr/bin/time -f "RSS %M" -o "$TMP/time" "$TMP/pggan_fwd" "$W" "$t" "$REPS" >"$TMP/fwd" || continue
        read -r _ wall cpu _ load <"$TMP/fwd"
        row "C forward (pggan_forward)" "$t" "$wall" "$(rss_mb "$TMP/time")"
        NOTES+=("C forward, $t thread(s): CPU time $cpu s/image (median); pggan_load $load s (read, CRC, repack)")
    done
    # the generic path (upsample + im2col + sgemm for every conv), as before the direct kernels
    if HY_CONV3X3=0 /usr/bin/time -f "RSS %M" -o "$TMP/time" "$TMP/pggan_fwd" "$W" 2 1 >"$TMP/fwd"; then
        read -r _ wall cpu _ load <"$TMP/fwd"
        row "C forward, generic (HY_CONV3X3=0)" 2 "$wall" "$(rss_mb "$TMP/time")"
    fi
else
    echo "(forward-only timer not built: $(head -1 "$TMP/cc.err"))"
fi

# --- C: hyper generate (raw output, and PNG) --------------------------------------------
gen() {  # threads, extra args...; prints the s/image of one run of 2 images
    local t=$1; shift
    /usr/bin/time -f "RSS %M" -o "$TMP/time" "$HYPER" generate -g "$W" --seed 1 -n 2 --threads "$t" "$@" 2>&1 |
        sed -n 's/.*(\([0-9.]*\) s\/image).*/\1/p'
}
for t in 1 2; do
    s=$(for i in $(seq "$REPS"); do gen "$t" --npy "$TMP/out.npy" --no-png; done | median)
    row "hyper generate --npy --no-png" "$t" "$s" "$(rss_mb "$TMP/time")"
done
s=$(gen 2 -o "$TMP/png")
row "hyper generate (PNG, 1 run)" 2 "$s" "$(rss_mb "$TMP/time")"

# --- PyTorch: the same network (random weights), default malloc and huge-page malloc -----
# convert/bench/bench_pggan_torch.py (the project's PyTorch reference) when present, else this:
cat >"$TMP/torch_pggan.py" <<'EOF'
import resource, sys, time
import torch, torch.nn.functional as F
T, reps = int(sys.argv[1]), int(sys.argv[2])
torch.set_num_threads(T)
torch.manual_seed(0)
ch = [512, 512, 512, 512, 256, 128, 64, 32, 16]
dense = torch.nn.Linear(512, 16 * ch[0])
convs = [torch.nn.Conv2d(ch[0], ch[0], 3, padding=1)]
for s in range(1, len(ch)):
    convs += [torch.nn.Conv2d(ch[s - 1], ch[s], 3, padding=1), torch.nn.Conv2d(ch[s], ch[s], 3, padding=1)]
rgb = torch.nn.Conv2d(ch[-1], 3, 1)
def pn(x): return x * torch.rsqrt(x.pow(2).mean(dim=1, keepdim=True) + 1e-8)
def forward(z):
    x = pn(z)
    x = pn(F.leaky_relu(dense(x).view(1, ch[0], 4, 4), 0.2))
    x = pn(F.leaky_relu(convs[0](x), 0.2))
    for s in range(1, len(ch)):
        x = F.interpolate(x, scale_factor=2, mode="nearest")
        x = pn(F.leaky_relu(convs[2 * s - 1](x), 0.2))
        x = pn(F.leaky_relu(convs[2 * s](x), 0.2))
    return rgb(x)
z = torch.randn(1, 512)
ts = []
with torch.no_grad():
    forward(z)  # warm-up
    for _ in range(reps):
        t0 = time.perf_counter(); forward(z); ts.append(time.perf_counter() - t0)
ts.sort()
print(ts[len(ts) // 2], resource.getrusage(resource.RUSAGE_SELF).ru_maxrss)
EOF
TORCH_BENCH=$ROOT/convert/bench/bench_pggan_torch.py  # prints seconds_per_image=S peak_rss_mb=M
torch_run() {  # threads -> "S KB"
    if [ -f "$TORCH_BENCH" ]; then
        "$PY" "$TORCH_BENCH" --threads "$1" --reps "$TORCH_REPS" |
            sed -n 's/.*seconds_per_image=\([0-9.]*\) peak_rss_mb=\([0-9.]*\).*/\1 \2/p' |
            awk '{printf "%s %d\n", $1, $2 * 1024}'
    else
        "$PY" "$TMP/torch_pggan.py" "$1" "$TORCH_REPS"
    fi
}
if [ "$TORCH_REPS" -gt 0 ] && "$PY" -c "import torch" 2>/dev/null; then
    for mode in default hugetlb; do
        for t in 1 2; do
            if [ $mode = hugetlb ]; then
                out=$(GLIBC_TUNABLES=glibc.malloc.hugetlb=1 torch_run "$t")
            else
                out=$(torch_run "$t")
            fi
            read -r s kb <<<"$out"
            row "PyTorch $mode malloc" "$t" "${s:-0}" "$((${kb:-0} / 1024))"
        done
    done
else
    echo "(PyTorch rows skipped: TORCH_REPS=0 or no torch for $PY)"
fi

# --- table --------------------------------------------------------------------------------
BEST2=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' '$1 ~ /^PyTorch/ && $2 == 2 && $3 > 0 {print $3}' | sort -g | head -1)
echo
echo "PGGAN 1024x1024 forward, $GFLOP GFLOP/image; $(uptime | sed 's/.*load/load/') (2 cores, shared machine)"
if [ "$PEAK1" != 0 ]; then
    echo "FP32 peak per core from an FMA loop: AVX-512 $P512 GFLOP/s, AVX2 $P256 GFLOP/s (x threads below)"
fi
printf '%-36s %7s %9s %9s %7s %12s %8s\n' "implementation" threads "s/image" "GFLOP/s" "%peak" "vs torch-best" "RSS MB"
for r in "${ROWS[@]}"; do
    IFS='|' read -r name t s rss <<<"$r"
    awk -v n="$name" -v t="$t" -v s="$s" -v rss="$rss" -v g="$GFLOP" -v p="$PEAK1" -v b="${BEST2:-0}" 'BEGIN {
        if (s == "" || s + 0 <= 0) { printf "%-36s %7d %9s\n", n, t, "failed"; exit }
        gf = g / s; pk = p > 0 ? sprintf("%6.1f%%", 100 * gf / (p * t)) : "      -"
        ratio = (b > 0 && t == 2) ? sprintf("%11.2fx", b / s) : "           -"
        printf "%-36s %7d %9.3f %9.1f %7s %12s %8s\n", n, t, s, gf, pk, ratio, rss }'
done
for n in "${NOTES[@]}"; do echo "$n"; done
echo "(vs torch-best: PyTorch's fastest 2-thread setting divided by this row, 2-thread rows only;"
echo " s/image: median of $REPS runs (PyTorch: $TORCH_REPS after a warm-up); C forward excludes output"
echo " writing, generate includes it; %peak: of threads x the per-core AVX-512 FMA peak)"
