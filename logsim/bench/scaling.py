"""Cost as the work grows: time against trajectories, n, d and steps, log-log slopes."""

from __future__ import annotations

import dataclasses

import numpy as np

from logsim.bench.gate import gate
from logsim.bench.implementations import IMPLEMENTATIONS
from logsim.bench.problem import make_problem
from logsim.bench.report import log_to_stderr
from logsim.bench.timing import back_to_back, call
from logsim.bench.workloads import GRADIENT_DESCENT, Workload


def measure_scaling(*, quick=False, repeats=3, log=log_to_stderr) -> dict:
    """Time against trajectories, n, d and steps (one at a time) around a small GD workload.

    Calls run back to back after a warm-up (steady-state cost); median of ``repeats``.
    """
    if quick:
        base = Workload("S", "scaling base", 8, 32, 4, 32, seed=9)
        factors = (0.5, 1.0, 2.0)
        impls = ("logsim", "numpy")
    else:
        base = Workload("S", "scaling base", 64, 256, 16, 512, seed=9)
        factors = (0.25, 0.5, 1.0, 2.0, 4.0)
        impls = GRADIENT_DESCENT
    available = [n for n in impls if IMPLEMENTATIONS[n]().available() is None]
    out = {"base": {**dataclasses.asdict(base), "label": base.label()},
           "implementations": available, "axes": {}}
    for axis in ("trajectories", "n", "d", "steps"):
        sizes = [max(1, round(getattr(base, axis) * f)) for f in factors]
        series = {name: [] for name in available}
        for size in sizes:
            w = dataclasses.replace(base, **{axis: size})
            problem = make_problem(w)
            ref = None
            for name in available:
                fn = IMPLEMENTATIONS[name]().prepare(problem)
                _, first, _ = call(fn)
                if ref is None:
                    ref = first
                elif not gate(first, ref)[0]:
                    series[name].append(None)
                    continue
                series[name].append(back_to_back(fn, repeats))
        slopes = {}
        for name, times in series.items():
            pts = [(s, t) for s, t in zip(sizes, times, strict=True) if t]
            if len(pts) >= 2:
                x, y = np.log([p[0] for p in pts]), np.log([p[1] for p in pts])
                slopes[name] = float(np.polyfit(x, y, 1)[0])
        out["axes"][axis] = {"sizes": sizes, "median_s": series, "slope": slopes}
        log(f"  {axis}: slope " + ", ".join(f"{k} {v:.2f}" for k, v in slopes.items()))
    return out
