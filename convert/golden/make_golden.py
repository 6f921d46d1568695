#!/usr/bin/python3
"""make_golden.py - regenerates every committed golden fixture by running each
convert/golden/golden_*.py in turn (sorted by name) with this interpreter. `make golden` calls it.
Exits non-zero if any generator fails."""
import glob
import os
import subprocess
import sys

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402  (convert/ and its role folders on sys.path; ROOT)

HERE = os.path.dirname(os.path.abspath(__file__))


def main():
    failed = []
    for script in sorted(glob.glob(os.path.join(HERE, "golden_*.py"))):
        print(f"== {os.path.relpath(script, _paths.ROOT)}", flush=True)
        if subprocess.run([sys.executable, script], cwd=_paths.ROOT).returncode != 0:
            failed.append(os.path.basename(script))
    if failed:
        print(f"make_golden: failed: {' '.join(failed)}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
