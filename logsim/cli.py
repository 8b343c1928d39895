"""The ``logsim`` command: parse, call, print. Exit code 2 for bad input, never a traceback."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from logsim import stopping

EXAMPLES = """\
examples:
  logsim run scenarios/quickstart.toml            # writes results/quickstart.nc
  logsim run quickstart                           # the same bundled scenario, by name
  logsim run scenarios/quickstart.toml --threads 1 -o /tmp/q.nc
  logsim run scenarios/quickstart.toml --resume   # continue a killed run
  logsim list                                     # scenarios and stored results
  logsim show results/quickstart.nc
  logsim cite results/quickstart.nc
  logsim plot results/quickstart.nc -o figures/
  logsim schema optimizer                         # the keys of [optimizer], their defaults
"""


class InputError(Exception):
    """Bad input from the user: printed as one message, exit code 2."""


def _parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="logsim",
        description="Simulate gradient descent on the logistic loss and its relatives, "
                    "store labelled results, and measure the article's claims on them.",
        epilog=EXAMPLES,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    p.add_argument("--version", action="store_true", help="print the logsim version and exit")
    sub = p.add_subparsers(dest="command", metavar="COMMAND")

    run = _verb(sub, "run", "run a scenario sweep and store its dataset",
        "Run the sweep a scenario file describes and write one netCDF4 dataset.",
        "logsim run scenarios/quickstart.toml -o results/q.nc --threads 2")
    run.add_argument("scenario", help="scenario TOML file, e.g. scenarios/quickstart.toml, or "
                                      "the name of a bundled scenario, e.g. quickstart")
    run.add_argument("-o", "--output", metavar="OUT.nc",
                     help="where to write the dataset (default: results/<name>.nc)")
    run.add_argument("--threads", type=int, metavar="N",
                     help="Numba threads to use (default: all cores)")
    run.add_argument("--resume", action="store_true",
                     help="continue a killed run from the chunks saved under OUT.parts/")
    run.add_argument("--quiet", action="store_true", help="no progress bar")
    run.add_argument("--dry-run", action="store_true",
                     help="print the grid, each stored variable's size, the file's size, "
                          "the peak memory and an estimated time, then stop (no data drawn, "
                          "nothing compiled or written)")
    run.add_argument("--chunk-size", type=int, metavar="CELLS",
                     help="grid cells per saved chunk (default: about 2e9 multiply-adds)")
    run.add_argument("--scheduler", metavar="ADDRESS",
                     help="run the chunks on a Dask cluster: a scheduler address such as "
                          "tcp://host:8786, or local[:N] for a LocalCluster of N worker "
                          "processes on this machine (needs the 'dask' extra)")

    lst = _verb(sub, "list", "list scenarios and stored results",
        "List the scenario files under DIR/scenarios (and its sub-folders), scenario files "
        "in DIR itself, the scenarios bundled with logsim, and the results under "
        "DIR/results (and its sub-folders, such as results/claims).",
        "logsim list .")
    lst.add_argument("directory", nargs="?", default=".", metavar="DIR",
                     help="project folder (default: the current one)")

    show = _verb(sub, "show", "describe a stored result",
        "Dims, swept values, variables, provenance and divergences of a result.",
        "logsim show results/quickstart.nc")
    show.add_argument("result", help="a .nc file written by logsim run")

    cite = _verb(sub, "cite", "BibTeX and text citation of a stored result",
        "Print a BibTeX entry and a one-line citation carrying the scenario name, "
        "logsim version, creation date and content SHA-256.",
        "logsim cite results/quickstart.nc")
    cite.add_argument("result", help="a .nc file written by logsim run")

    plot = _verb(sub, "plot", "figures of a stored result",
        "Write PNG and PDF figures of a stored result: every figure kind its variables and "
        "grid support (logsim plot --kind lists the kinds), or the kinds named. Runs that "
        "diverged are left out of every figure, which says how many.",
        "logsim plot results/quickstart.nc -o results/quickstart-figures\n"
        "  logsim plot results/claims/calibration-small.nc --kind claim reliability")
    plot.add_argument("result", nargs="?", help="a .nc file written by logsim run")
    plot.add_argument("-o", "--output", metavar="DIR",
                      help="folder for the figures (default: <result>-figures)")
    plot.add_argument("--kind", nargs="*", metavar="KIND",
                      help="figure kinds to draw (default: every kind the result supports; "
                           "the others are named on stderr with the reason); --kind alone "
                           "or --kind list prints the kinds, one line each")
    schema = _verb(sub, "schema", "the scenario reference: every table, key and default",
        "Print every scenario key with its type, default, allowed values and the data kinds "
        "it belongs to (all tables, or one), as docs/scenarios.md has them.",
        "logsim schema data\n  logsim schema --markdown > docs/scenarios.md")
    schema.add_argument("table", nargs="?", metavar="TABLE",
                        help="one table: top, data, labels, optimizer, record, analysis, grid")
    schema.add_argument("--markdown", action="store_true",
                        help="Markdown, as in docs/scenarios.md")
    bench = _verb(sub, "bench", "benchmark the kernels against NumPy and JAX baselines",
        "Run the benchmark workloads and print a table of rates and ratios.",
        "logsim bench --workload W1 --json bench.json")
    _add_module_arguments("logsim.bench", bench)

    claims = _verb(sub, "claims", "check the article's claims on stored results",
        "For each claim of the article, the figure measured on stored results "
        "and whether it holds within its stated tolerance.",
        "logsim claims results/*.nc\n  logsim claims --full")
    _add_module_arguments("logsim.claims", claims)
    return p


def _verb(sub, name: str, help: str, description: str, example: str):
    """A subcommand whose ``--help`` ends with a worked example."""
    return sub.add_parser(name, help=help, description=description,
                          epilog=f"example:\n  {example}",
                          formatter_class=argparse.RawDescriptionHelpFormatter)


def _add_module_arguments(module: str, parser) -> None:
    """Let a verb's own module declare its options (``add_arguments(parser)``)."""
    import importlib

    try:
        importlib.import_module(module).add_arguments(parser)
    except ImportError:  # the module's optional dependencies are missing: say so when used
        parser.set_defaults(_missing=module)


def _on_signal(signum, frame):
    """SIGINT or SIGTERM: stop now, and again at the next chunk boundary should the
    exception raised here be swallowed (:mod:`logsim.stopping`)."""
    import signal

    exception = KeyboardInterrupt if signum == signal.SIGINT else stopping.Terminated
    stopping.request(exception)
    raise exception


def main(argv=None) -> int:
    import signal

    parser = _parser()
    args = parser.parse_args(argv)
    if args.version:
        import logsim

        print(f"logsim {logsim.__version__}")
        return 0
    if args.command is None:
        parser.print_help()
        return 2
    stopping.clear()
    previous = {}
    try:
        for signum in (signal.SIGINT, signal.SIGTERM):
            previous[signum] = signal.signal(signum, _on_signal)
    except ValueError:  # not the main thread (an embedding program): leave signals alone
        pass
    try:
        return {"run": _run, "list": _list, "show": _show, "cite": _cite, "plot": _plot,
                "schema": _schema, "bench": _delegate, "claims": _delegate}[args.command](args)
    except (InputError, ValueError, OSError, ImportError) as exc:
        print(f"logsim {args.command}: error: {exc}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"logsim {args.command}: interrupted; finished chunks are kept, continue with "
              "--resume", file=sys.stderr)
        return 130
    except stopping.Terminated:
        print(f"logsim {args.command}: terminated (SIGTERM); finished chunks are kept, "
              "continue with --resume", file=sys.stderr)
        return 143
    finally:
        stopping.clear()
        for signum, handler in previous.items():
            signal.signal(signum, handler)


def _run(args) -> int:
    import warnings

    from logsim.scenario import load_scenario
    from logsim.scenario_files import resolve
    from logsim.sweep import run_to_file

    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always", UserWarning)
        scenario = load_scenario(resolve(args.scenario))
    for w in caught:  # e.g. a data file without a test set: one line, not Python's format
        print(f"warning: {w.message}", file=sys.stderr)
    out = Path(args.output) if args.output else Path("results") / f"{scenario.name}.nc"
    if args.dry_run:
        from logsim.estimate import plan

        print(plan(scenario, chunk_size=args.chunk_size, out=out, threads=args.threads))
        return 0
    if args.resume and not (Path(str(out) + ".parts") / "manifest.json").exists():
        print(f"logsim run: nothing to resume under {out}.parts/: starting afresh",
              file=sys.stderr)
    summary = run_to_file(scenario, out, threads=args.threads, progress=not args.quiet,
                          resume=args.resume, chunk_size=args.chunk_size,
                          scheduler=args.scheduler)
    with warnings.catch_warnings(record=True) as caught:
        warnings.simplefilter("always")
        summary.warn()
    for w in caught:
        print(f"warning: {w.message}", file=sys.stderr)
    note = summary.frozen_note()
    if note:
        print(f"note: {note}", file=sys.stderr)
    dims = ", ".join(f"{k}={v}" for k, v in summary.dims.items())
    print(f"wrote {out} ({dims})")
    print(f"content_sha256 {summary.content_sha256}")
    return 0


def _scenario_description(path: Path) -> str | None:
    """A scenario file's description, None for a TOML file that is not a scenario."""
    import tomllib

    try:
        doc = tomllib.loads(path.read_text(encoding="utf-8"))
    except (tomllib.TOMLDecodeError, OSError, UnicodeDecodeError) as exc:
        return f"(unreadable: {exc})"
    if "data" not in doc and "grid" not in doc:
        return None
    return str(doc.get("description", ""))


def _bundled_scenarios() -> Path | None:
    """The folder of the scenarios that ship with logsim."""
    try:
        from logsim import scenario_files
    except ImportError:
        from logsim.studies.base import SCENARIO_DIR

        return SCENARIO_DIR if SCENARIO_DIR.is_dir() else None
    folder = scenario_files.directory()
    return folder if folder.is_dir() else None


def _list(args) -> int:
    from logsim.store import ResultError, open_results

    root = Path(args.directory)
    if not root.is_dir():
        what = "is not a folder" if root.exists() else "does not exist"
        raise InputError(f"{root} {what}; give a project folder (one with scenarios/ or "
                         "results/), or nothing for the current folder")

    def shown(path: Path, base: Path) -> str:
        try:
            return str(path.relative_to(base))
        except ValueError:
            return str(path)

    def table(title: str, rows, empty: str | None = "(none)") -> None:
        if not rows and empty is None:
            return
        print(title)
        widths = [max((len(r[i]) for r in rows if len(r) > i), default=0)
                  for i in range(max((len(r) for r in rows), default=0))]
        for row in rows:
            cells = [f"{c:<{w}}" for c, w in zip(row[:-1], widths, strict=False)]
            print("  " + "  ".join([*cells, row[-1]]).rstrip())
        if not rows:
            print(f"  {empty}")

    seen: set[Path] = set()

    def scenario_rows(paths, base: Path):
        rows = []
        for path in paths:
            desc = _scenario_description(path)
            if desc is not None and path.resolve() not in seen:
                seen.add(path.resolve())
                rows.append((shown(path, base).removesuffix(".toml"), desc))
        return rows

    folder = root / "scenarios"
    table(f"scenarios ({folder}):", scenario_rows(sorted(folder.rglob("*.toml")), folder))
    table(f"scenario files in {root}:", scenario_rows(sorted(root.glob("*.toml")), root),
          empty=None)
    bundled = _bundled_scenarios()
    if bundled is not None:
        table(f"bundled with logsim ({bundled}; run by name, as in logsim run quickstart):",
              scenario_rows(sorted(bundled.glob("*.toml")), bundled), empty=None)

    def result_rows(paths, base: Path):
        rows = []
        for path in paths:
            name = shown(path, base)
            try:
                ds = open_results(path, verify=False)
            except ResultError as exc:
                rows.append((name, f"(not a readable logsim result: {exc})"))
                continue
            with ds:
                dims = " x ".join(f"{k}={v}" for k, v in ds.sizes.items()
                                  if k not in ("sample", "test_sample", "feature"))
                rows.append((name, f"{ds.attrs.get('scenario_name', '?')}",
                             f"{path.stat().st_size / 1e6:8.2f} MB",
                             ds.attrs.get("content_sha256", "?")[:12], dims))
        return rows

    def results_in(folder: Path, pattern: str):
        return sorted(p for p in folder.glob(pattern) if not p.name.startswith("."))

    results = root / "results"
    table(f"results ({results}):", result_rows(results_in(results, "**/*.nc"), results))
    table(f"results in {root}:", result_rows(results_in(root, "*.nc"), root), empty=None)
    return 0


def _show(args) -> int:
    import numpy as np

    from logsim.store import open_results

    ds = open_results(args.result)
    a = ds.attrs
    print(f"{args.result}: {a.get('title', '')}")
    print(f"  {a.get('summary', '')}")
    print("dims:")
    for k, v in ds.sizes.items():
        print(f"  {k:<14} {v}")
    print("swept values:")
    for name in ds["diverged"].dims:
        vals = ds[name].values.tolist()
        shown = vals if len(vals) <= 10 else [*vals[:4], "...", *vals[-2:]]
        print(f"  {name:<14} {shown}")
    steps = ds["step"].values
    print(f"  {'step':<14} {len(steps)} checkpoints from {steps[0]} to {steps[-1]}")
    print("variables:")
    for name, var in ds.data_vars.items():
        print(f"  {name:<20} ({', '.join(var.dims)})  {var.attrs.get('long_name', '')} "
              f"[{var.attrs.get('units', '?')}]")
    n_div = int(ds["diverged"].sum())
    print(f"diverged: {n_div} of {ds['diverged'].size} trajectories")
    if "unstable" in ds:
        print(f"unstable: {int(ds['unstable'].sum())} of {ds['unstable'].size} trajectories "
              "(training loss ended far above its start, or diverged)")
    if "frozen_at" in ds:
        frozen = ds["frozen_at"].values
        stopped = frozen[np.isfinite(frozen)]
        first = f"; the first at step {int(stopped.min())}" if stopped.size else ""
        print(f"frozen: {stopped.size} of {frozen.size} trajectories stopped moving (update "
              f"exactly zero, see frozen_at){first}")
    print("provenance:")
    for key in ("source", "date_created", "scenario_sha256", "content_sha256", "python_version",
                "numpy_version", "numba_version", "xarray_version", "netcdf4_version",
                "platform", "references"):
        print(f"  {key:<16} {a.get(key, '')}")
    if a.get("data_sha256"):  # kind = "file": the file is named, never read here
        path = a.get("data_path", "")
        where = "" if path and Path(path).is_file() else " (not found there: moved or deleted)"
        print(f"  {'data_file':<16} {path}{where}")
        print(f"  {'data_sha256':<16} {a['data_sha256']}")
    print("scenario:")
    for line in a.get("scenario", "").splitlines():
        print(f"  | {line}")
    return 0


def _schema(args) -> int:
    from logsim.schema import reference

    table = args.table.strip("[]") if args.table else None
    print(reference(table, markdown=args.markdown), end="")
    return 0


def _cite(args) -> int:
    from logsim.store import citation, open_results

    ds = open_results(args.result)
    bibtex, text = citation(ds, args.result)
    print(bibtex)
    print()
    print(text)
    return 0


def _delegate(args) -> int:
    import importlib

    if getattr(args, "_missing", None):
        raise InputError(f"{args.command} is unavailable: {args._missing} could not be imported")
    return importlib.import_module(f"logsim.{args.command}").main(args)


def _plot(args) -> int:
    from logsim.plots import KINDS, kinds_text, plot_result
    from logsim.store import open_results

    if args.kind is not None and (not args.kind or "list" in args.kind):
        print(kinds_text())
        return 0
    unknown = [k for k in args.kind or () if k not in KINDS]
    if unknown:
        raise InputError(f"unknown figure kind(s) {', '.join(unknown)}; allowed: "
                         f"{', '.join(KINDS)} (logsim plot --kind lists them)")
    if args.result is None:
        raise InputError("which result? logsim plot RESULT.nc [--kind KIND ...] "
                         "(logsim plot --kind lists the kinds)")
    ds = open_results(args.result)
    out = Path(args.output) if args.output else Path(str(Path(args.result).with_suffix("")) +
                                                     "-figures")
    plotted = plot_result(ds, out, kinds=args.kind)
    for path in plotted.paths:
        print(f"wrote {path}")
    if plotted.skipped:
        print("logsim plot: skipped " + "; ".join(f"{k} ({why})" for k, why in
                                                  plotted.skipped.items()), file=sys.stderr)
    if not plotted.paths:
        raise InputError(f"no figure of {args.result} can be drawn")
    return 0


if __name__ == "__main__":  # pragma: no cover
    sys.exit(main())
