#!/usr/bin/python3
"""bench_facenet_torch.py - images/s of the same Inception-ResNet-v1 (convert/ref/facenet_ref.py,
facenet-pytorch's architecture and module structure) in this machine's PyTorch, for
tests/bench/facenet.sh. One configuration per process so peak RSS is per configuration.

    /usr/bin/python3 convert/bench/bench_facenet_torch.py --threads 2 --batch 32 --n 64
prints one line: "images_per_s <float> peak_rss_mb <float> cpu_s <float> images <int>" (best of --reps
timed loops; cpu_s is process CPU time of the best loop)
"""
import argparse
import os
import resource
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
from facenet_ref import FaceNetRef, randomize  # noqa: E402


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--batch", type=int, default=1)
    ap.add_argument("--n", type=int, default=32, help="images timed (after one warm-up batch)")
    ap.add_argument("--reps", type=int, default=1, help="timed repetitions; the best is reported")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    net = randomize(FaceNetRef(1), 0).eval()
    x = torch.randn(a.batch, 3, 160, 160) * 0.5
    with torch.no_grad():
        net(x)  # warm-up
        best_dt = best_cpu = float("inf")
        for _ in range(a.reps):
            done, t0, c0 = 0, time.perf_counter(), time.process_time()
            while done < a.n:
                net(x)
                done += a.batch
            best_dt = min(best_dt, time.perf_counter() - t0)
            best_cpu = min(best_cpu, time.process_time() - c0)
    rss = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"images_per_s {done / best_dt:.2f} peak_rss_mb {rss:.0f} cpu_s {best_cpu:.3f} images {done}")


if __name__ == "__main__":
    main()
