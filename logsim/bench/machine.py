"""Where the numbers came from: the machine, the libraries, the BLAS, the code's hashes."""

from __future__ import annotations

import os
import platform
import subprocess
from pathlib import Path

from logsim.bench.timing import loadavg


def _cpu_model() -> str:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    except OSError:  # pragma: no cover
        pass
    return platform.processor() or platform.machine()


def _cpu_flags() -> list[str]:
    try:
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("flags"):
                flags = set(line.split(":", 1)[1].split())
                return sorted(f for f in flags if f in {"avx", "avx2", "fma", "avx512f",
                                                         "avx512dq", "avx512vl"})
    except OSError:  # pragma: no cover
        pass
    return []


def machine_info() -> dict:
    """CPU, cores, library versions and BLAS; enough to know where the numbers came from."""
    import llvmlite
    import numba
    import numpy as np

    info = {
        "cpu_model": _cpu_model(),
        "cpu_flags": _cpu_flags(),
        "logical_cores": os.cpu_count(),
        "numba_threads": numba.get_num_threads(),
        "numba_threading_layer": numba.config.THREADING_LAYER,
        "platform": platform.platform(),
        "python": platform.python_version(),
        "numpy": np.__version__,
        "numba": numba.__version__,
        "llvmlite": llvmlite.__version__,
        "jax": None,
        "jaxlib": None,
        "blas": None,
        "load_average_start": loadavg(),
    }
    try:
        import jax
        import jaxlib

        info["jax"], info["jaxlib"] = jax.__version__, jaxlib.__version__
    except ImportError:
        pass
    try:
        from threadpoolctl import threadpool_info

        info["blas"] = [{k: lib.get(k) for k in ("internal_api", "version", "num_threads",
                                                 "architecture", "threading_layer", "prefix")}
                        for lib in threadpool_info() if lib.get("user_api") == "blas"]
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    return info


#: The files whose code the numbers measure (their hashes tie a result to a kernel version).
#: Paths relative to the ``logsim`` package, as the JSON's ``code.sha256`` keys.
KERNEL_FILES = ("kernels.py", "losses.py", "_exp.py", "_jit.py", "_rows.py", "_blas.py",
                "engine.py", "rng.py", "bench/problem.py", "bench/ceiling.py",
                "bench/implementations/numpy_batched.py",
                "bench/implementations/jax_batched.py")


def code_info() -> dict:
    """logsim version, git commit (if any) and SHA-256 of the kernel source files."""
    import hashlib

    import logsim

    here = Path(logsim.__file__).parent
    info = {"logsim": logsim.__version__, "git_commit": None, "git_dirty_files": None,
            "sha256": {}}
    for name in KERNEL_FILES:
        try:
            info["sha256"][name] = hashlib.sha256((here / name).read_bytes()).hexdigest()
        except OSError:  # pragma: no cover
            info["sha256"][name] = None
    try:
        def git(*cmd):
            return subprocess.run(["git", *cmd], cwd=here, capture_output=True, text=True,
                                  timeout=10, check=True).stdout.strip()

        info["git_commit"] = git("rev-parse", "HEAD")
        info["git_dirty_files"] = [line[3:] for line in git(
            "status", "--porcelain", "--", *KERNEL_FILES).splitlines()]
    except (OSError, subprocess.SubprocessError):
        pass
    return info
