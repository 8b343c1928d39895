"""``logsim bench``: logsim's kernels side by side with batched NumPy and JAX.

One process run measures, for each selected workload of the table
(:mod:`logsim.bench.workloads`), the correctness gate, the timed calls, thread
scaling and the ceiling (:mod:`logsim.bench.suite`); then the compile cost and peak
memory in fresh processes, the cost as the work grows, machine information, a printed
table and optional JSON and figure (:mod:`logsim.bench.report`).

Modules
-------
workloads        the table: each workload, its reduced size, who runs it, its targets
problem          a workload's data, drawn once; logsim's SGD batches
implementations  how logsim, batched NumPy and batched JAX run a workload, by name
gate             the correctness gate a baseline must pass before it is timed
suite            one run of the whole suite
timing           timed calls guarded against other processes on a shared machine
ceiling          micro-kernels of a logistic step at peak-friendly layouts; machine peaks
scaling          time against trajectories, n, d and steps
compile_probe    compile cost, in fresh processes (``python -m logsim.bench.compile_probe``)
memory_probe     peak memory of a sweep (``python -m logsim.bench.memory_probe``)
machine          CPU, libraries, BLAS, hashes of the kernel sources
report           the table, the JSON file and the figure
cli              the options of ``logsim bench``

This package is imported whenever the ``logsim`` parser is built, so it imports only
:mod:`logsim.bench.cli`, which imports nothing heavy.
"""

from logsim.bench.cli import add_arguments, main

__all__ = ["add_arguments", "main"]
