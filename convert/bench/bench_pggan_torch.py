#!/usr/bin/python3
"""bench_pggan_torch.py - times the canonical PyTorch PGGAN forward (pggan_ref.PgganRef) on CPU.

    /usr/bin/python3 convert/bench/bench_pggan_torch.py --threads T --reps K [--resolution 1024] [-w G.bin]

Random He-scaled canonical weights (or -w G.bin), batch 1, no grad, float32. One warm-up
forward, then K timed ones; prints the median and the process's peak RSS
(resource.getrusage ru_maxrss) as
    seconds_per_image=<median> peak_rss_mb=<MiB>
"""
import argparse
import os
import resource
import statistics
import sys
import time

import torch

sys.path.insert(0, os.path.join(os.path.dirname(os.path.abspath(__file__)), os.pardir))
import _paths  # noqa: E402,F401  (convert/ and its role folders on sys.path)
import pggan_ref as ref  # noqa: E402

FULL_CHANNELS = [512, 512, 512, 512, 256, 128, 64, 32, 16]  # C(4) .. C(1024), spec section 1


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--reps", type=int, default=3)
    ap.add_argument("--resolution", type=int, default=1024, choices=[4 << i for i in range(1, 9)])
    ap.add_argument("-w", "--weights", help="canonical weight file instead of random weights")
    a = ap.parse_args()
    torch.set_num_threads(a.threads)
    if a.weights:
        m = ref.PgganRef.from_file(a.weights)
    else:
        n = a.resolution.bit_length() - 2  # stages 4..R
        cfg, t = ref.random_canonical(a.resolution, FULL_CHANNELS[:n], seed=0)
        m = ref.PgganRef(cfg, t)
    torch.manual_seed(0)
    z = torch.randn(1, m.latent)
    with torch.no_grad():
        m.forward(z)  # warm-up
        times = []
        for _ in range(a.reps):
            t0 = time.perf_counter()
            m.forward(z)
            times.append(time.perf_counter() - t0)
    rss_mb = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024.0
    print(f"seconds_per_image={statistics.median(times):.4f} peak_rss_mb={rss_mb:.1f}")


if __name__ == "__main__":
    main()
