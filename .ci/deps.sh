#!/usr/bin/env bash
# Installs the Debian packages the project needs; idempotent (skips what is installed).
# Build/test: libopenblas-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev check pkg-config gcc make
# Converters, golden regeneration, benchmarks: python3-numpy python3-torch python3-sklearn python3-pil
# python3-scipy python3-statsmodels (the last two: convert/golden/golden_stats.py); python3-nibabel python3-pandas
# python3-nipy (with scipy: the GLM references, convert/golden/golden_glm.py, issue 16)
set -euo pipefail
PKGS="gcc make pkg-config libopenblas-dev libpng-dev libjpeg62-turbo-dev zlib1g-dev check"
# fuzzing (make fuzz): clang with libFuzzer; valgrind for the golden tests in CI
[ "${HY_WITH_FUZZ:-1}" = 1 ] && PKGS="$PKGS clang libclang-rt-14-dev valgrind"
[ "${HY_WITH_PYTHON:-1}" = 1 ] && PKGS="$PKGS python3-numpy python3-torch python3-sklearn python3-pil python3-scipy python3-statsmodels python3-nibabel python3-pandas python3-nipy"
# tests/test_report_html.c renders report.html in headless Chromium (SKIP without it)
[ "${HY_WITH_BROWSER:-1}" = 1 ] && PKGS="$PKGS chromium"
# make test-slurm: a one-node Slurm cluster (daemons started and stopped by tests/slurm.sh)
[ "${HY_WITH_SLURM:-1}" = 1 ] && PKGS="$PKGS slurmctld slurmd slurm-client munge"
[ -n "${HY_EXTRA_PKGS:-}" ] && PKGS="$PKGS $HY_EXTRA_PKGS"
missing=""
for p in $PKGS; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing="$missing $p"
done
if [ -z "$missing" ]; then echo "deps: all installed ($PKGS)"; exit 0; fi
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
echo "deps: installing$missing"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -qq
$SUDO apt-get install -y -qq --no-install-recommends $missing
