"""``logsim claims``: each claim of the article measured on stored results, with a verdict."""

from __future__ import annotations

from pathlib import Path

from logsim.studies import Study, Verdict, studies, study_for


def result_for(study: Study, *, full: bool = False, out_dir="results/claims",
               threads: int | None = None, progress: bool = False):
    """The stored result of ``study``'s scenario, running it if it is not stored yet.

    A stored file is reused only if it was made from exactly the same scenario
    text (``scenario_sha256``); otherwise the scenario is run and stored.
    Returns ``(dataset, path)``.
    """
    from logsim.scenario import load_scenario
    from logsim.store import ResultError, open_results
    from logsim.sweep import run

    scenario = load_scenario(study.scenario(full=full))
    path = Path(out_dir) / f"{scenario.name}.nc"
    if path.exists():
        try:
            ds = open_results(path)
            if ds.attrs.get("scenario_sha256") == scenario.sha256:
                return ds, path
        except ResultError:
            pass  # damaged or foreign: run again and replace it
    ds = run(scenario, out=path, threads=threads, progress=progress)
    return ds, path


def check(study: Study, ds, path=None) -> Verdict:
    """Run ``study``'s check on ``ds`` and record which file and hash it came from."""
    verdict = study.check(ds)
    source = f"{Path(path).name if path else 'in memory'} {ds.attrs['content_sha256'][:12]}"
    return Verdict(verdict.claim, verdict.measured, verdict.holds, verdict.tolerance, source)


def check_claims(results=(), *, full=False, only=None, out_dir="results/claims",
                 threads=None, progress=False) -> list[Verdict]:
    """Verdicts for the given result files, or for every study's (small or full) scenario."""
    from logsim.store import open_results

    verdicts = []
    if results:
        for path in results:
            ds = open_results(path)
            name = ds.attrs.get("scenario_name", "")
            study = study_for(name)
            if study is None:
                known = ", ".join(s.scenario_name for s in studies())
                raise ValueError(f"{path}: scenario {name!r} belongs to no claim; the claims' "
                                 f"scenarios are: {known}")
            if only and study.claim not in only:
                continue
            verdicts.append(check(study, ds, path))
        return verdicts
    for study in studies():
        if only and study.claim not in only:
            continue
        ds, path = result_for(study, full=full, out_dir=out_dir, threads=threads,
                              progress=progress)
        verdicts.append(check(study, ds, path))
    return verdicts


def add_arguments(parser) -> None:
    parser.add_argument("results", nargs="*", metavar="RESULT.nc",
                        help="stored results to check (default: run each claim's scenario)")
    parser.add_argument("--full", action="store_true",
                        help="run the paper-sized scenarios instead of the small versions")
    parser.add_argument("--only", type=int, nargs="+", metavar="N",
                        help="check only these claim numbers")
    parser.add_argument("--out", default="results/claims", metavar="DIR",
                        help="where the claims' results are stored and reused "
                             "(default: results/claims)")
    parser.add_argument("--threads", type=int, metavar="N", help="Numba threads")
    parser.add_argument("--quiet", action="store_true", help="no progress bars")


def main(args) -> int:
    """Print one line per claim; exit 1 if any claim does not hold."""
    verdicts = check_claims(args.results, full=args.full, only=args.only, out_dir=args.out,
                            threads=args.threads, progress=not args.quiet)
    for verdict in verdicts:
        print(verdict.line())
    held = sum(v.holds for v in verdicts)
    print(f"{held} of {len(verdicts)} claims hold")
    return 0 if held == len(verdicts) else 1
