#!/usr/bin/env bash
# tests/bench/pggan.sh HYPER_BIN - PGGAN 1024x1024 generator: C vs PyTorch on this machine, per
# kernel instruction set.
#
# For each ISA in $BENCH_ISAS (default: avx512 and avx2 where the CPU has them; tests/bench/isa.sh)
# it times, with HY_ISA set to it, seconds per image (median of REPS runs) of
#   - the C forward pass alone (tests/bench/pggan_fwd.c, built here against libhyper.a) at 1 and
#     2 threads,
#   - `hyper generate --npy --no-png` at 2 threads for 2 and for 8 images (peak RSS must not grow
#     with the number of images),
#   - the same network in PyTorch (Debian's torch, oneDNN held to the same ISA class with
#     ONEDNN_MAX_CPU_ISA), default malloc and GLIBC_TUNABLES=glibc.malloc.hugetlb=1, 1 and 2 threads,
# and once the generic path (HY_ISA=generic: upsample + im2col + OpenBLAS) at 2 threads.
# Work is counted two ways: the network's 42.67 GMAC (85.35 GFLOP, "nominal": a 3x3 conv on the
# upsampled input) and the 27.49 GMAC the direct path executes (54.98 GFLOP: the folded
# upsample+conv does 4 taps per output pixel instead of 9). %peak = executed GFLOP/s over
# threads x the ISA's per-core FP32 peak measured by an FMA loop (tests/bench/fma_peak.c); a
# figure above 100 % would mean a wrong count or timing. vs torch: PyTorch's best 2-thread time
# (default or huge-page malloc, same ISA class) over this row's, 2-thread rows only.
# Random weights (timing does not depend on values), written once to $HY_BENCH_DIR (default /tmp)
# as pggan1024_random.bin.
# Env: REPS (default 3), TORCH_REPS (default 2; 0 skips PyTorch), BENCH_ISAS, HY_BENCH_DIR.
# The machine may be shared: the load average is printed with the table.
set -u
HYPER=${1:?usage: tests/bench/pggan.sh build/hyper}
ROOT=$(cd "$(dirname "$0")/../.." && pwd)
BUILD=$(cd "$(dirname "$HYPER")" && pwd)
. "$ROOT/tests/bench/isa.sh"
REPS=${REPS:-3}
TORCH_REPS=${TORCH_REPS:-2}
DIR=${HY_BENCH_DIR:-/tmp}
W=$DIR/pggan1024_random.bin
TMP=$(mktemp -d "$DIR/hy_bench_pggan.XXXXXX")
trap 'rm -rf "$TMP"' EXIT
PY=/usr/bin/python3
GFLOP_NOM=85.35   # 2 x 42.67 GMAC
GFLOP_EXE=54.98   # 2 x 27.49 GMAC

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

# --- per-core FP32 peak of each ISA (FMA loop) -------------------------------------------------
P512=0; P256=0
if cc -O2 "$ROOT/tests/bench/fma_peak.c" -o "$TMP/fma_peak" 2>/dev/null; then read -r P512 P256 < <("$TMP/fma_peak"); fi
peak_of() { case $1 in avx512) echo "$P512";; *) echo "$P256";; esac; }  # generic: OpenBLAS's AVX2 kernels

ROWS=()
NOTES=()
row() { ROWS+=("$1|$2|$3|$4|$5|$6"); }  # isa | name | threads | s/image | rss MB | executed-count? (1/0)

if ! cc -O2 -fopenmp -I"$ROOT/include" "$ROOT/tests/bench/pggan_fwd.c" "$BUILD/libhyper.a" -lopenblas -lpng -lz -lm \
    -o "$TMP/pggan_fwd" 2>"$TMP/cc.err"; then
    echo "(forward-only timer not built: $(head -1 "$TMP/cc.err"))"
fi
fwd() {  # isa threads reps -> row
    local isa=$1 t=$2
    [ -x "$TMP/pggan_fwd" ] || return
    env $(c_env) HY_ISA="$isa" /usr/bin/time -f "RSS %M" -o "$TMP/time" "$TMP/pggan_fwd" "$W" "$t" "$3" >"$TMP/fwd" || return
    read -r _ wall cpu _ load <"$TMP/fwd"
    row "$isa" "C forward (pggan_forward)" "$t" "$wall" "$(rss_mb "$TMP/time")" "$([ "$isa" = generic ] && echo 0 || echo 1)"
    NOTES+=("$isa C forward, $t thread(s): CPU time $cpu s/image (median); pggan_load $load s (read, CRC, repack)")
}
gen() {  # isa threads n -> row (one run of n images; s/image as hyper reports it)
    local s
    s=$(HY_ISA=$1 /usr/bin/time -f "RSS %M" -o "$TMP/time" "$HYPER" generate -g "$W" --seed 1 -n "$3" --threads "$2" \
        --npy "$TMP/out.npy" --no-png 2>&1 | sed -n 's/.*(\([0-9.]*\) s\/image).*/\1/p')
    row "$1" "hyper generate --npy --no-png, $3 images" "$2" "$s" "$(rss_mb "$TMP/time")" 1
}

# --- PyTorch: the same network (random weights), default malloc and huge-page malloc -----
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
torch_run() {  # threads -> "S KB"; $TENV: environment assignments for PyTorch
    if [ -f "$TORCH_BENCH" ]; then
        env $TENV "$PY" "$TORCH_BENCH" --threads "$1" --reps "$TORCH_REPS" |
            sed -n 's/.*seconds_per_image=\([0-9.]*\) peak_rss_mb=\([0-9.]*\).*/\1 \2/p' |
            awk '{printf "%s %d\n", $1, $2 * 1024}'
    else
        env $TENV "$PY" "$TMP/torch_pggan.py" "$1" "$TORCH_REPS"
    fi
}
torch_rows() {  # isa
    [ "$TORCH_REPS" -gt 0 ] && "$PY" -c "import torch" 2>/dev/null || return
    local mode t out s kb
    for mode in default hugetlb; do
        for t in 1 2; do
            TENV="$(torch_isa "$1")"
            [ $mode = hugetlb ] && TENV="$TENV GLIBC_TUNABLES=glibc.malloc.hugetlb=1"
            out=$(torch_run "$t")
            read -r s kb <<<"$out"
            row "$1" "PyTorch $mode malloc$([ -n "$(torch_isa "$1")" ] && echo " ($(torch_isa "$1"))")" "$t" "${s:-0}" \
                "$((${kb:-0} / 1024))" 0
        done
    done
}

ISAS=$(bench_isas "$HYPER")
for isa in $ISAS; do
    fwd "$isa" 1 "$REPS"
    fwd "$isa" 2 "$REPS"
    gen "$isa" 2 2
    gen "$isa" 2 8
    torch_rows "$isa"
done
fwd generic 2 1  # the path without own kernels, once
[ "$TORCH_REPS" -gt 0 ] || echo "(PyTorch rows skipped: TORCH_REPS=0)"

# --- tables, one per ISA ---------------------------------------------------------------------
echo
echo "PGGAN 1024x1024 forward: nominal $GFLOP_NOM GFLOP/image, executed $GFLOP_EXE GFLOP/image (folded upsample);"
echo "$(uptime | sed 's/.*load/load/') ($(nproc) CPUs, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'))"
echo "FP32 peak per core from an FMA loop: AVX-512 $P512 GFLOP/s, AVX2 $P256 GFLOP/s"
for isa in $ISAS generic; do
    BEST2=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' -v i="$isa" '$1 == i && $2 ~ /^PyTorch/ && $3 == 2 && $4 > 0 {print $4}' |
            sort -g | head -1)
    [ "$isa" = generic ] && BEST2=$(printf '%s\n' "${ROWS[@]}" | awk -F'|' '$2 ~ /^PyTorch/ && $3 == 2 && $4 > 0 {print $4}' | sort -g | head -1)
    echo
    echo "[$isa]"
    printf '%-50s %7s %8s %8s %8s %7s %8s %7s\n' "implementation" threads "s/image" "GF/s nom" "GF/s exe" "%peak" "vs torch" "RSS MB"
    for r in "${ROWS[@]}"; do
        IFS='|' read -r ri name t s rss exe <<<"$r"
        [ "$ri" = "$isa" ] || continue
        awk -v n="$name" -v t="$t" -v s="$s" -v rss="$rss" -v gn="$GFLOP_NOM" -v ge="$GFLOP_EXE" -v exe="$exe" \
            -v p="$(peak_of "$isa")" -v b="${BEST2:-0}" 'BEGIN {
            if (s == "" || s + 0 <= 0) { printf "%-50s %7d %8s\n", n, t, "failed"; exit }
            gx = exe ? ge / s : gn / s   # what this implementation executes
            pk = p > 0 ? sprintf("%6.1f%%", 100 * gx / (p * t)) : "      -"
            ratio = (b > 0 && t == 2) ? sprintf("%7.2fx", b / s) : "       -"
            printf "%-50s %7d %8.3f %8.1f %8s %7s %8s %7s\n", n, t, s, gn / s, exe ? sprintf("%8.1f", ge / s) : "       -", pk, ratio, rss }'
    done
done
echo
for n in "${NOTES[@]}"; do echo "$n"; done
echo "(vs torch: PyTorch's fastest 2-thread setting of the same ISA class divided by this row's time (generic: the"
echo " fastest of all); s/image: median of $REPS runs (PyTorch: $TORCH_REPS after a warm-up); C forward excludes"
echo " output writing, generate includes the raw .npy output; %peak: executed work (nominal for PyTorch and the"
echo " generic path, which run the 3x3 conv on the upsampled tensor) over threads x the ISA's per-core peak)"
