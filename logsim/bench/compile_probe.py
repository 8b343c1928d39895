"""Compile cost of logsim's kernels, each measurement in a fresh process.

Run as ``python -m logsim.bench.compile_probe [LAUNCHED]`` (``LAUNCHED``: the parent's
``time.time()`` just before it started the process; without it ``import_s`` is None), it
makes one tiny call of :func:`logsim.engine.run_batch` per compiled path of the kernel
and prints one JSON line: ``import_s`` (from the launch to the probe's first line:
interpreter start-up and ``import logsim``, which imports the engine), ``paths`` (each
path's first call: compilation, or loading the on-disk cache) and ``first_call_s``
(their sum).
:func:`measure_compile` runs it with an empty Numba cache, then with that cache filled.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys
import time

#: Where :func:`measure_compile` runs the probe (tests point it elsewhere).
PROBE_MODULE = "logsim.bench.compile_probe"
#: The issue's compile target is stated for this bundled scenario: a cold ``logsim run``.
QUICKSTART = "quickstart"


def probe(launched: float | None) -> dict:
    """The first call of every compiled path of the kernel (see the module notes).

    The paths: full-batch groups on the ordered loops, groups on BLAS
    (``d >= GEMM_MIN_FEATURES``), and lone trajectories (SGD here). A sweep compiles
    only the paths it uses.
    """
    import numpy as np

    from logsim.engine import run_batch
    from logsim.kernels import GEMM_MIN_FEATURES

    imported = None if launched is None else time.time() - launched
    g = np.random.default_rng(0)
    y = np.array([[1.0, 0.0, 1.0, 0.0]] * 64)  # groups of two or more on up to 32 threads
    calls = {
        "groups_loops": lambda: run_batch(g.normal(size=(4, 2)), y, steps=3, checkpoints=2),
        "groups_blas": lambda: run_batch(g.normal(size=(4, GEMM_MIN_FEATURES)), y, steps=3,
                                         checkpoints=2),
        "solo_sgd": lambda: run_batch(g.normal(size=(4, 2)), y[0], method="sgd",
                                      batch_size=2, steps=3, checkpoints=2),
    }
    paths = {}
    for name, call in calls.items():
        start = time.perf_counter()
        call()
        paths[name] = time.perf_counter() - start
    return {"import_s": imported, "first_call_s": sum(paths.values()), "paths": paths}


def _cold_then_warm(command, *, timeout):
    """Yield ``("cold", run)`` then ``("warm", run)``: ``run()`` runs ``command(folder)`` in a
    fresh process whose Numba cache is ``folder``, a new temporary folder shared by both
    (empty for the first). ``run`` raises on failure and returns the completed process."""
    import tempfile

    with tempfile.TemporaryDirectory() as cache:
        env = {**os.environ, "NUMBA_CACHE_DIR": cache}
        for label in ("cold", "warm"):
            yield label, lambda: subprocess.run(command(cache), env=env, capture_output=True,
                                                text=True, timeout=timeout, check=True)


def measure_compile(*, log=None) -> dict:
    """Compile cost, each in a fresh process: empty Numba cache (``cold``), then filled (``warm``).

    * ``cold``/``warm``: :func:`probe`, every compiled path of the kernel once.
    * ``quickstart_cold_s``/``quickstart_warm_s``: the wall time of a whole
      ``logsim run quickstart`` (import, compile, sweep, analysis, write), the issue's
      target (under 20 s cold). The scenario is the bundled one
      (:func:`logsim.scenario_files.resolve`); absent (with ``quickstart_error``) where
      it cannot be found.
    """
    from logsim.scenario_files import resolve

    out = {}
    for label, run in _cold_then_warm(
            lambda cache: [sys.executable, "-m", PROBE_MODULE, repr(time.time())], timeout=600):
        try:
            out[label] = json.loads(run().stdout.strip().splitlines()[-1])
        except (OSError, subprocess.SubprocessError, ValueError, IndexError) as exc:
            out[label] = {"error": f"{type(exc).__name__}: {exc}"}
    try:
        quickstart = resolve(QUICKSTART)
    except FileNotFoundError as exc:
        out["quickstart_error"] = str(exc)
        quickstart = None
    if quickstart is not None:
        def command(cache):
            return [sys.executable, "-m", "logsim.cli", "run", str(quickstart), "--quiet",
                    "-o", os.path.join(cache, "quickstart.nc")]

        for label, run in _cold_then_warm(command, timeout=900):
            start = time.perf_counter()
            try:
                run()
                out[f"quickstart_{label}_s"] = time.perf_counter() - start
            except (OSError, subprocess.SubprocessError) as exc:
                out[f"quickstart_{label}_s"] = None
                out[f"quickstart_{label}_error"] = f"{type(exc).__name__}: {exc}"
    if log:
        log("compile: " + ", ".join(f"{k} {v.get('first_call_s', math.nan):.2f} s"
                                    for k, v in out.items() if isinstance(v, dict))
            + "".join(f", quickstart {k} {out[f'quickstart_{k}_s']:.1f} s"
                      for k in ("cold", "warm") if out.get(f"quickstart_{k}_s") is not None))
    return out


def main(argv=None) -> int:
    args = sys.argv[1:] if argv is None else argv
    launched = float(args[0]) if args else None  # no launch time: no import figure
    print(json.dumps(probe(launched)))
    return 0


if __name__ == "__main__":
    sys.exit(main())
