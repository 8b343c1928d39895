"""The options of ``logsim bench`` and what it does with them.

Imported whenever the ``logsim`` parser is built, so it imports nothing heavy at the top
(the workload table is plain data).
"""

from __future__ import annotations

import argparse

from logsim.bench.workloads import TABLE

#: The end-to-end workloads (:mod:`logsim.bench.end_to_end`; named here so that building
#: the parser imports nothing heavy).
END_TO_END_NAMES = ("E1", "E2")

#: The scenario ``--dask`` times when given no file: the bundled quickstart.
DASK_SCENARIO = "quickstart"


def add_arguments(parser: argparse.ArgumentParser) -> None:
    """Options of ``logsim bench``."""
    names = [*TABLE, *END_TO_END_NAMES]
    parser.add_argument("--workload", nargs="+", metavar="W", choices=names,
                        help=f"workloads to run (default: all of {' '.join(names)}); E1 and "
                             "E2 time a whole logsim.run against a JAX script (E1 with the "
                             "time per run from 128 to 16384 seeds)")
    parser.add_argument("--json", metavar="FILE", help="write the results as JSON")
    parser.add_argument("--plot", metavar="FILE", help="write a figure (PNG/PDF/SVG by suffix)")
    parser.add_argument("--quick", action="store_true",
                        help="reduced sizes (seconds, for smoke tests); not for quoting")
    parser.add_argument("--repeats", type=int, metavar="N",
                        help="timed calls per implementation (default 5; 3 with --quick)")
    parser.add_argument("--no-scaling", action="store_true",
                        help="skip the time-vs-size panel")
    parser.add_argument("--no-threads", action="store_true", help="skip the thread scaling")
    parser.add_argument("--no-memory", action="store_true",
                        help="skip the peak-memory measurement of a sweep")
    parser.add_argument("--dask", nargs="?", const=DASK_SCENARIO, metavar="SCENARIO",
                        help="also time SCENARIO (a file, or a bundled scenario's name; "
                             f"default {DASK_SCENARIO}) in one process and on a 2-worker "
                             "Dask LocalCluster, and report the overhead per chunk (needs "
                             "the dask extra)")


def main(args) -> int:
    """Run the selected workloads, print the table, write the JSON and figure if asked."""
    from logsim.bench.report import format_table, plot, write_json
    from logsim.bench.suite import run

    repeats = args.repeats if args.repeats is not None else (3 if args.quick else 5)
    if repeats < 1:
        raise ValueError(f"--repeats must be an integer >= 1, got {repeats}")
    result = run(args.workload or [*TABLE, *END_TO_END_NAMES], quick=args.quick,
                 repeats=repeats,
                 scaling=not args.no_scaling, threads=not args.no_threads,
                 memory=not args.no_memory)
    if args.dask:
        result["dask"] = measure_dask(args.dask)
    print(format_table(result))
    if args.json:
        write_json(result, args.json)
        print(f"wrote {args.json}")
    if args.plot:
        plot(result, args.plot)
        print(f"wrote {args.plot}")
    return 0


def measure_dask(scenario, n_workers: int = 2) -> dict:
    """The same sweep in one process and on a ``n_workers`` LocalCluster.

    ``scenario`` is a file or a bundled scenario's name
    (:func:`logsim.scenario_files.resolve`). See
    :func:`logsim.bench.dask_overhead.overhead_benchmark` for the method; the per-chunk overhead
    is worker time per chunk not spent in the kernel.
    """
    from logsim.bench.dask_overhead import overhead_benchmark
    from logsim.scenario_files import resolve

    path = resolve(scenario)
    out = overhead_benchmark(path, n_workers=n_workers)
    out["scenario"] = str(scenario)
    return out
