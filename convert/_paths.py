"""_paths.py - puts convert/ and its role folders on sys.path, so a script in any of them can
import the others by module name (wfile, pggan_ref, train_demo_generator, ...).

    convert/            converters (pggan.py, facenet.py, mtcnn.py, hyper_data.py) and wfile.py
    convert/ref/        PyTorch/numpy reference implementations and fake checkpoints
    convert/golden/     golden-fixture generators (make golden)
    convert/demo/       demo-model training and quality measurement
    convert/checks/     full-size comparisons C vs reference (CI)
    convert/bench/      PyTorch sides of the benchmarks
    convert/tests/      converter tests (CI)

CONVERT is the convert/ folder, ROOT the repository root.
"""
import os
import sys

CONVERT = os.path.dirname(os.path.abspath(__file__))
ROOT = os.path.dirname(CONVERT)
for _d in ("", "ref", "golden", "demo", "checks", "bench", "tests"):
    _p = os.path.join(CONVERT, _d) if _d else CONVERT
    if _p not in sys.path:
        sys.path.insert(0, _p)
