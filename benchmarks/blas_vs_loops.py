"""Does the BLAS path pay? Groups at d = 64 .. 500 on the BLAS path and on the loop path.

    python benchmarks/blas_vs_loops.py [--rounds 5] [--threads 2,1] [--compile]

The loop path is forced by raising ``kernels.GEMM_MIN_FEATURES`` above d (the partition
and the driver read it at call time). Per shape and thread count: a warm call of each
path, then ``rounds`` rounds with the order alternating (BLAS, loops / loops, BLAS);
medians and minima, whether every call of a path gave the bits of its first call, and the
largest relative difference between the two paths' weights (they sum in different
orders). With ``--compile``: each path's cold compile in fresh processes with empty
Numba caches (the BLAS path's first call comes after the loop path's, so it is what the
BLAS path adds). One JSON line per measurement on stdout.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tempfile
import time

import numba
import numpy as np

from logsim import kernels
from logsim.bench import timing
from logsim.engine import run_batch

#: (trajectories sharing one training set, n, d, steps), steps sized to ~0.3-1 s a call.
SHAPES = [(64, 2000, 500, 100), (64, 2000, 256, 150), (64, 2000, 128, 250),
          (64, 2000, 64, 400), (16, 500, 500, 600), (16, 500, 256, 1000),
          (16, 500, 128, 2000), (16, 500, 64, 3000)]
FORCE_LOOPS = 10**9



def call(X, Y, lr, steps, blas):
    kernels.GEMM_MIN_FEATURES = kernels_default if blas else FORCE_LOOPS
    seconds, res, other = timing.call(
        lambda: run_batch(X, Y, learning_rate=lr, steps=steps, checkpoints=2))
    return seconds, res, other


def compare(rounds, threads):
    for R, n, d, steps in SHAPES:
        g = np.random.default_rng([R, n, d])
        X = g.normal(size=(n, d)) / np.sqrt(d)
        Y = (g.random((R, n)) < 0.5).astype(float)
        lr = np.linspace(0.5, 2.0, R)
        for k in threads:
            numba.set_num_threads(k)
            first = {p: call(X, Y, lr, steps, p)[1] for p in (True, False)}
            times = {True: [], False: []}
            other = {True: [], False: []}
            same = {True: True, False: True}
            for r in range(rounds):
                for blas in ((True, False) if r % 2 == 0 else (False, True)):
                    t, res, o = call(X, Y, lr, steps, blas)
                    times[blas].append(t)
                    other[blas].append(o)
                    same[blas] &= bool(np.array_equal(res.weights, first[blas].weights))
            W_b, W_l = first[True].weights, first[False].weights
            print(json.dumps({
                "trajectories": R, "n": n, "d": d, "steps": steps, "threads": k,
                "blas_median_s": float(np.median(times[True])), "blas_min_s": min(times[True]),
                "loops_median_s": float(np.median(times[False])),
                "loops_min_s": min(times[False]),
                "loops_over_blas_median": float(np.median(times[False]) /
                                                np.median(times[True])),
                "blas_bits_repeat": same[True], "loops_bits_repeat": same[False],
                "max_rel_diff_between_paths": float(np.max(
                    np.abs(W_b - W_l) / np.maximum(np.abs(W_l), 1e-300))),
                "other_processes_cpu_share": {"blas": other[True], "loops": other[False]},
            }), flush=True)
    numba.set_num_threads(numba.config.NUMBA_NUM_THREADS)


def cold_compile(repeats=2):
    """Each path's first call in a fresh process with an empty Numba cache
    (:mod:`logsim.bench.compile_probe`: loop-path groups, then BLAS groups, then SGD)."""
    for _ in range(repeats):
        with tempfile.TemporaryDirectory() as cache:
            out = subprocess.run([sys.executable, "-m", "logsim.bench.compile_probe",
                                  repr(time.time())],
                                 check=True, capture_output=True, text=True,
                                 env={**os.environ, "NUMBA_CACHE_DIR": cache})
            print(json.dumps({"cold": json.loads(out.stdout.strip().splitlines()[-1])}),
                  flush=True)


kernels_default = kernels.GEMM_MIN_FEATURES

if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--threads", default="2,1")
    parser.add_argument("--compile", action="store_true")
    args = parser.parse_args()
    started = time.time()
    compare(args.rounds, [int(t) for t in args.threads.split(",")])
    if args.compile:
        cold_compile()
    print(json.dumps({"wall_s": time.time() - started}))
