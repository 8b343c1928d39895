"""Timed calls on a shared machine: garbage collector off, other processes watched.

Every sample records the share of the machine's cores that other processes kept busy
during it (from ``/proc/stat`` and this process's CPU time). A full run
(``suite.run(quick=False)``) turns on the guard: wait for idle cores before a timed
call and redo a disturbed one (:data:`QUIET`).
"""

from __future__ import annotations

import contextlib
import gc
import os
import time
from pathlib import Path

#: Seconds to sleep before each timed call, so that the spinning worker threads of the
#: previous implementation (OpenMP, OpenBLAS, XLA) go idle and do not steal the cores.
PAUSE = 0.05
#: Guarding against other processes on a shared machine: before a timed call wait up to
#: ``max_wait`` s for the cores to be idle; redo a call during which other processes used
#: more than ``threshold`` of the cores, at most ``retries`` times. Only a full
#: ``run(quick=False)`` turns this on. Every sample's interference is recorded.
QUIET = {"max_wait": 30.0, "retries": 3, "threshold": 0.1}
#: The guard in force (:func:`guard` sets it for the length of a run).
_quiet = {**QUIET, "max_wait": 0.0, "retries": 0}


def guarded() -> dict:
    """The interference guard in force (a copy)."""
    return dict(_quiet)


@contextlib.contextmanager
def guard(on: bool):
    """``with guard(on):`` the :data:`QUIET` guard (``on``) or none, restored afterwards."""
    saved = dict(_quiet)
    _quiet.update(QUIET if on else {"max_wait": 0.0, "retries": 0})
    try:
        yield
    finally:
        _quiet.clear()
        _quiet.update(saved)


def cpu_busy():
    """(machine busy CPU-seconds, this process's CPU-seconds, wall time), or None."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()[1:]
        ticks = [int(f) for f in fields]
    except (OSError, ValueError, IndexError):  # pragma: no cover - not Linux
        return None
    busy = (sum(ticks[:8]) - ticks[3] - ticks[4]) / os.sysconf("SC_CLK_TCK")  # minus idle, iowait
    own = os.times()
    return busy, own.user + own.system, time.perf_counter()


def other_share(a, b):
    """Share of the machine's cores that other processes kept busy between ``a`` and ``b``."""
    if a is None or b is None:
        return None
    wall = b[2] - a[2]
    other = (b[0] - a[0]) - (b[1] - a[1])
    return max(0.0, other / (wall * (os.cpu_count() or 1)))


def wait_for_idle(max_wait):
    """Sleep until other processes use < threshold of the cores (or ``max_wait`` passes)."""
    deadline = time.perf_counter() + max_wait
    while True:
        a = cpu_busy()
        time.sleep(0.1)
        share = other_share(a, cpu_busy())
        if share is None or share < _quiet["threshold"] or time.perf_counter() > deadline:
            return


def call(fn, pause=PAUSE):
    """``(seconds, fn(), share of the cores other processes used meanwhile)``."""
    time.sleep(pause)
    enabled = gc.isenabled()
    gc.disable()
    try:
        a = cpu_busy()
        start = time.perf_counter()
        out = fn()
        seconds = time.perf_counter() - start
        return seconds, out, other_share(a, cpu_busy())
    finally:
        if enabled:
            gc.enable()


def timed(fn, pause=PAUSE, log=None):
    """``(seconds, fn(), interference)``, garbage collector off during the call.

    Waits for idle cores first and redoes a disturbed call (see :data:`QUIET`).
    """
    for attempt in range(_quiet["retries"] + 1):
        if _quiet["max_wait"] > 0:
            wait_for_idle(_quiet["max_wait"])
        seconds, out, other = call(fn, pause)
        if other is None or other <= _quiet["threshold"] or attempt == _quiet["retries"]:
            return seconds, out, other
        if log:
            log(f"    (other processes used {other:.0%} of the cores: timing again)")
    raise AssertionError("unreachable")  # pragma: no cover


def back_to_back(fn, repeats):
    """Median of ``repeats`` calls run back to back after a warm-up call: the steady cost,
    without waking idle worker threads (~10 ms for logsim's OpenMP layer here, see
    benchmarks/README.md). Disturbed calls are redone as in :func:`timed`."""
    import numpy as np

    if _quiet["max_wait"] > 0:
        wait_for_idle(_quiet["max_wait"])
    fn()
    times = []
    for _ in range(repeats):
        for attempt in range(_quiet["retries"] + 1):
            t, _, other = call(fn, pause=0.0)
            if other is None or other <= _quiet["threshold"] or attempt == _quiet["retries"]:
                break
        times.append(t)
    return float(np.median(times))


def loadavg():
    """The 1, 5 and 15 minute load averages, or None where the platform has none."""
    try:
        return list(os.getloadavg())
    except OSError:  # pragma: no cover - not on every platform
        return None
