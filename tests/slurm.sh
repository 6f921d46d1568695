#!/usr/bin/env bash
# slurm.sh - scripts/sweep.sbatch on a real one-node Slurm cluster (`make test-slurm`, run by CI).
#
# Starts munged, slurmctld and slurmd from Debian's slurm-wlm on this machine (private
# config, state, sockets and ports under a temporary folder; nothing in /etc is used or changed),
# submits a sharded sweep through `bash scripts/sweep.sbatch` (an sbatch job array of 3 shards
# plus the dependent `hyper report` job), waits for it, and checks that the cluster's
# results.csv is byte-identical to one `hyper sweep` of the same grid run here on one machine.
# Every daemon it started is stopped and the folder removed on exit, also after a failure or
# Ctrl-C. Where Slurm cannot start (packages missing, not root, a daemon does not come up) it
# prints one "SKIP ..." line and exits 0. Bounded: 60 s for the daemons, SLURM_TEST_TIMEOUT
# (default 600 s) for the jobs. Prints "1 passed, 0 failed" or "0 passed, 1 failed" at the end.
set -uo pipefail
cd "$(dirname "$0")/.."
HYPER=${HYPER_BIN:-build/hyper}
TIMEOUT=${SLURM_TEST_TIMEOUT:-600}

skip() { echo "SKIP slurm: $*"; exit 0; }
fail() {
  echo "FAIL slurm: $*"
  for f in "$T"/log/*.log "$T"/submit/*.log; do [ -e "$f" ] && { echo "--- $f"; tail -n 15 "$f"; }; done
  echo "0 passed, 1 failed"
  exit 1
}

for b in munged slurmctld slurmd sbatch squeue sinfo scontrol; do
  command -v "$b" >/dev/null || skip "$b not installed (Debian: apt-get install slurmctld slurmd slurm-client munge)"
done
[ "$(id -u)" = 0 ] || skip "needs root to start slurmd"
[ -x "$HYPER" ] || skip "$HYPER not built (make)"

T=$(mktemp -d /tmp/hyslurm.XXXXXX)
chmod 700 "$T"
PIDS=()
cleanup() {
  if [ -n "${SLURM_CONF:-}" ] && [ -e "$SLURM_CONF" ]; then scancel --quiet --user=root --partition=hytest 2>/dev/null; fi
  for ((k = ${#PIDS[@]} - 1; k >= 0; k--)); do kill "${PIDS[k]}" 2>/dev/null; done
  for p in "${PIDS[@]}"; do
    for _ in $(seq 50); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$p" 2>/dev/null
  done
  rm -rf "$T"
}
trap cleanup EXIT
trap 'exit 130' INT TERM

# --- munge: a fresh key and a private socket ---------------------------------------------
mkdir -p "$T"/munge "$T"/log "$T"/state "$T"/spool "$T"/submit
chmod 700 "$T"/munge
dd if=/dev/urandom of="$T"/munge/key bs=1024 count=1 status=none && chmod 400 "$T"/munge/key
munged --force --foreground --socket="$T"/munge/sock --key-file="$T"/munge/key --pid-file="$T"/munge/pid \
  --seed-file="$T"/munge/seed --log-file="$T"/log/munged.log > "$T"/log/munged.out 2>&1 &
PIDS+=($!)
for _ in $(seq 100); do [ -S "$T"/munge/sock ] && break; sleep 0.1; done
[ -S "$T"/munge/sock ] || skip "munged did not start ($(tail -n 1 "$T"/log/munged.out "$T"/log/munged.log 2>/dev/null | tr '\n' ' '))"

# --- slurm.conf: one node (this machine), free ports -------------------------------------
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])' 2>/dev/null \
  || echo $((20000 + RANDOM % 20000)); }
HOST=$(hostname -s)
CPUS=$(nproc)
MEM=$(awk '/MemTotal/ {print int($2 / 1024 / 2)}' /proc/meminfo)
export SLURM_CONF="$T"/slurm.conf
cat > "$SLURM_CONF" <<EOF
ClusterName=hytest
SlurmctldHost=$HOST(127.0.0.1)
SlurmctldPort=$(free_port)
SlurmdPort=$(free_port)
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$T/munge/sock
StateSaveLocation=$T/state
SlurmdSpoolDir=$T/spool
SlurmctldPidFile=$T/slurmctld.pid
SlurmdPidFile=$T/slurmd.pid
SlurmctldLogFile=$T/log/slurmctld.log
SlurmdLogFile=$T/log/slurmd.log
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
ReturnToService=2
MpiDefault=none
SwitchType=switch/none
InactiveLimit=0
KillWait=5
NodeName=$HOST NodeAddr=127.0.0.1 CPUs=$CPUS RealMemory=$MEM State=UNKNOWN
PartitionName=hytest Nodes=$HOST Default=YES MaxTime=INFINITE State=UP
EOF
slurmctld -D -i > "$T"/log/slurmctld.out 2>&1 &
PIDS+=($!)
slurmd -D -N "$HOST" > "$T"/log/slurmd.out 2>&1 &
PIDS+=($!)
up=0
for _ in $(seq 120); do
  state=$(sinfo -h -n "$HOST" -o %t 2>/dev/null || true)
  if [ "$state" = idle ]; then up=1; break; fi
  sleep 0.5
done
[ $up = 1 ] || skip "the one-node cluster did not come up in 60 s (node state '${state:-none}'; logs: $(tail -n 2 "$T"/log/slurmctld.log "$T"/log/slurmd.log 2>/dev/null | tr '\n' ' '))"
echo "slurm: one-node cluster up ($HOST, $CPUS CPUs, Slurm $(sinfo -V | awk '{print $2}'))"

# --- the same sweep here and on the cluster -----------------------------------------------
R=$PWD
"$HYPER" simulate -q -o "$T"/data --voxels 150 --train 120 --test 8 --reps 2 --seed 7 || fail "simulate"
ARGS="--crop full --null 3 --models linear,linear-nobias --epochs 15,30 --closed ols,ridge"
# One thread here as in each cluster task (--cpus-per-task=1): multithreaded BLAS/LAPACK sums in
# another order, which moves the decoders' weights (and so the 6th digit of some metrics).
# shellcheck disable=SC2086
"$HYPER" sweep -q --threads 1 -d "$T"/data -g "$R"/tests/fixtures/pggan_tiny.bin -e "$R"/tests/fixtures/facenet_tiny.bin \
  -o "$T"/local $ARGS || fail "local sweep"
out=$(cd "$T"/submit && HY_DATA="$T"/data HY_GENERATOR="$R"/tests/fixtures/pggan_tiny.bin \
  HY_EMBEDDER="$R"/tests/fixtures/facenet_tiny.bin HY_OUT="$T"/cluster HY_SHARDS=3 HY_SWEEP_ARGS="$ARGS" \
  HYPER="$R/$HYPER" HY_SBATCH_ARGS="--cpus-per-task=1 --mem=500M --time=10" bash "$R"/scripts/sweep.sbatch 2>&1) \
  || fail "submit: $out"
echo "slurm: $out"
report=$(echo "$out" | sed -n 's/.* report \([0-9][0-9]*\) .*/\1/p')
[ -n "$report" ] || fail "no report job id in: $out"
t0=$(date +%s)
while squeue -h -j "$report" 2>/dev/null | grep -q .; do
  [ $(($(date +%s) - t0)) -lt "$TIMEOUT" ] || fail "jobs still queued or running after $TIMEOUT s: $(squeue -h 2>&1 | tr '\n' ';')"
  sleep 1
done
echo "slurm: jobs finished in $(($(date +%s) - t0)) s"
n_logs=$(ls "$T"/submit/hyper-sweep-*_*.log 2>/dev/null | wc -l)
[ "$n_logs" = 3 ] || fail "expected 3 shard logs, found $n_logs"
grep -l "shard [123]/3" "$T"/submit/hyper-sweep-*.log >/dev/null || fail "shard logs do not name their shards"
[ -e "$T"/cluster/results.csv ] || fail "the report job wrote no results.csv"
grep -q "^6 runs reported" "$T"/submit/hyper-report-*.log || fail "the report job did not report 6 runs"
if cmp -s "$T"/local/results.csv "$T"/cluster/results.csv; then
  echo "ok: cluster results.csv (3 shards + report job) equals the local one ($(($(wc -l < "$T"/local/results.csv) - 1)) runs)"
  echo "1 passed, 0 failed"
else
  diff "$T"/local/results.csv "$T"/cluster/results.csv | head -20
  fail "results.csv differs between the cluster and the local sweep"
fi
