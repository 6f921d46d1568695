#!/usr/bin/env bash
# `make bench`: runs every tests/bench/<area>.sh with the hyper binary, one after the other,
# on this machine. Each prints its own table (C next to PyTorch/numpy/scikit-learn run in the
# same session). BENCH_ONLY=area1,area2 restricts the set.
set -u
HYPER=${1:-build/hyper}
cd "$(dirname "$0")/../.."
echo "machine: $(nproc) cores, $(grep -m1 'model name' /proc/cpuinfo | cut -d: -f2 | sed 's/^ //'), load: $(cut -d' ' -f1-3 /proc/loadavg)"
status=0
for b in tests/bench/*.sh; do
  name=$(basename "$b" .sh)
  case $name in run|isa) continue;; esac  # the driver and a sourced helper
  if [ -n "${BENCH_ONLY:-}" ] && [[ ",$BENCH_ONLY," != *",$name,"* ]]; then continue; fi
  echo; echo "== bench: $name"
  bash "$b" "$HYPER" || { echo "bench $name failed"; status=1; }
done
exit $status
