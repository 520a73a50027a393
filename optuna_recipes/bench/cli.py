"""``optuna-recipes bench {list, show, run, report}``: the benchmark harness from the command line.

Exit codes of ``bench run``: 0 done; 1 some runs ended with an error (re-running retries them);
2 bad input, a folder in use or damaged, a storage that cannot be opened (one line on stderr
names the fix); 130 interrupted by Ctrl-C (SIGINT), 143 stopped by SIGTERM: in both cases the
worker processes are stopped, finished runs are kept and the same command resumes. Passwords
and tokens of storage URLs are shown as ``***`` in everything printed.

Example:
    .. code-block:: console

        $ python -m optuna_recipes bench list
        $ python -m optuna_recipes bench show my-suite.toml      # imports and runs nothing
        $ python -m optuna_recipes bench run quick --out bench-out/quick
        $ python -m optuna_recipes bench report bench-out/quick
"""

from __future__ import annotations

import argparse
import sys


def _int_at_least(text: str, minimum: int, what: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}") from None
    if value < minimum:
        raise argparse.ArgumentTypeError(f"expected {what}, got {text!r}")
    return value


def _positive(text: str) -> int:
    return _int_at_least(text, 1, "a positive integer")


def _non_negative(text: str) -> int:
    return _int_at_least(text, 0, "an integer >= 0")


def _counts(text: str) -> list[int]:
    """``8`` or ``1,8,32``: simulated worker counts."""
    return [_positive(part.strip()) for part in text.split(",")]


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``list``, ``run`` and ``report`` subcommands."""
    sub = parser.add_subparsers(dest="bench_command", metavar="{list,show,run,report}")
    p_list = sub.add_parser("list", help="List suites, problem types and strategies.")
    p_list.add_argument(
        "what",
        nargs="?",
        choices=["suites", "problems", "strategies"],
        help="What to list (default: everything).",
    )
    p_show = sub.add_parser(
        "show",
        help="Print a suite's problems, strategies and import paths (runs none of its code).",
    )
    p_show.add_argument("suite", help="Built-in suite name or a .toml file.")
    p_run = sub.add_parser(
        "run",
        help="Run a suite (resumes an interrupted run in the same --out), then report.",
        description=(
            "Run every (problem, strategy, seed) of a suite, one Optuna study each, then write "
            "the report. Running the same command again resumes: finished runs are skipped."
        ),
    )
    p_run.add_argument("suite", help="Built-in suite name (see `bench list`) or a .toml file.")
    p_run.add_argument("--out", help="Output folder (default: bench-out/SUITE).")
    p_run.add_argument(
        "--strategies",
        help=(
            "Comma-separated strategies, e.g. tpe,random+median,hub:samplers/restart_cmaes. "
            "They replace the strategies of every problem in every group (a pruning group's "
            "SAMPLER+PRUNER list too; the command says which lists it replaced); to change one "
            "group only, copy the suite and edit that group's problems' `strategies`."
        ),
    )
    p_run.add_argument(
        "--only",
        metavar="STRATEGIES",
        help=(
            "Comma-separated strategies of the suite to run, leaving out the others (in every "
            "group; with the source studies they need), e.g. --only ga to re-run one sampler "
            "of a comparison into a folder of its own. Its runs are those of the full suite "
            "(seeds are per problem, strategy and seed)."
        ),
    )
    p_run.add_argument(
        "--hub-registry",
        metavar="DIR",
        help=(
            "Load hub:CATEGORY/NAME strategies from this local optunahub-registry checkout "
            "(DIR holds package/), offline; default: the suite's hub_registry, else download."
        ),
    )
    p_run.add_argument(
        "--simulate-workers",
        metavar="N[,N...]",
        type=_counts,
        help=(
            "Run each study with N simulated asynchronous workers in simulated time (several "
            "counts: one run per count); default: the suite's simulate_workers, else none."
        ),
    )
    p_run.add_argument("--seeds", type=_positive, help="Number of seeds (default: the suite's).")
    p_run.add_argument(
        "--first-seed",
        type=_non_negative,
        metavar="N",
        help=(
            "First seed (default: the suite's first_seed, else 0): --seeds 5 --first-seed 5 "
            "replicates a benchmark on seeds 5-9, each run identical to that seed's run of "
            "--seeds 10. Source studies do not change."
        ),
    )
    p_run.add_argument(
        "--trials",
        type=_positive,
        help=(
            "Trials per run, the warm-start source studies' included (default: the suite's "
            "trials and source_trials); a transfer result at fewer trials is then a "
            "different problem, not the start of the full run."
        ),
    )
    p_run.add_argument(
        "--workers", type=_positive, help="Worker processes (default: one per core)."
    )
    p_run.add_argument(
        "--storage",
        help="Optuna storage URL, e.g. postgresql://... (default: a journal file in --out).",
    )
    p_run.add_argument(
        "--dask", metavar="ADDRESS", help="Send runs to the Dask scheduler at ADDRESS."
    )
    p_run.add_argument(
        "--no-imports",
        action="store_true",
        help=(
            "Refuse a suite that names import paths (package.module:Name), which import and "
            "run code: for suites from elsewhere. The built-in suites need none."
        ),
    )
    p_run.add_argument("--no-progress", action="store_true", help="Hide the progress bar.")
    p_run.add_argument("--no-report", action="store_true", help="Do not write the report.")
    p_report = sub.add_parser("report", help="Write the report of a finished benchmark folder.")
    p_report.add_argument("out", metavar="DIR", help="The --out folder of `bench run`.")
    parser.set_defaults(_bench_parser=parser)


def _list(what: str | None) -> int:
    from optuna_recipes.bench.problems import PROBLEM_TYPES
    from optuna_recipes.bench.strategies import PRUNERS
    from optuna_recipes.bench.strategies import SAMPLERS
    from optuna_recipes.bench.suite import builtin_suites
    from optuna_recipes.bench.suite import load_suite

    if what in (None, "suites"):
        print("Suites (bench run NAME, or copy the file and edit it):")
        for name, path in builtin_suites().items():
            suite = load_suite(str(path))
            runs = len([r for r in suite.runs() if r.role == "target"])
            print(f"  {name:<12} {runs:>5} runs  {suite.description}")
            print(f"  {'':<12} {path}")
    if what in (None, "problems"):
        print("Problem types (type = NAME or package.module:factory):")
        for name, target in PROBLEM_TYPES.items():
            print(f"  {name:<12} {target}")
    if what in (None, "strategies"):
        print(
            "Strategies are SAMPLER or SAMPLER+PRUNER (or package.module:Class or "
            "hub:samplers/NAME[:Class] for either)."
        )
        print("Samplers:")
        for name, target in SAMPLERS.items():
            print(f"  {name:<12} {target}")
        print("Pruners:")
        for name, target in PRUNERS.items():
            print(f"  {name:<12} {target}")
    return 0


def _show(name: str) -> int:
    """Print a suite as parsed: nothing it names is imported or called."""
    from optuna_recipes.bench.problems import PROBLEM_TYPES
    from optuna_recipes.bench.suite import load_suite

    suite = load_suite(name)
    print(f"Suite {suite.name} ({suite.path})")
    if suite.description:
        print(f"  {suite.description}")
    first = f" (from {suite.first_seed})" if suite.first_seed else ""
    print(f"  seeds: {suite.seeds}{first}, trials: {suite.trials}")
    if suite.simulate_workers:
        print(f"  simulated workers: {', '.join(map(str, suite.simulate_workers))}")
    if suite.hub_registry:
        print(f"  OptunaHub registry: {suite.hub_registry}")
    for sp in suite.problems:
        kind = "registered" if sp.spec.type in PROBLEM_TYPES else "IMPORT PATH"
        print(f"  problem {sp.spec.name!r}: type {sp.spec.type!r} ({kind}), group {sp.group!r}")
        print(f"    options {sp.spec.options}, trials {sp.trials}")
        print(f"    strategies: {', '.join(sp.strategies)}")
    paths = suite.import_paths()
    if paths:
        print("Import paths (imported and called when the suite runs; --no-imports refuses):")
        for path in paths:
            print(f"  {path}")
    else:
        print("Import paths: none (only registered names; safe to run with --no-imports).")
    return 0


def run(args: argparse.Namespace) -> int:
    """Execute ``bench list``, ``bench show``, ``bench run`` or ``bench report``; return the
    exit code (see the module docstring)."""
    command = getattr(args, "bench_command", None)
    if command is None:
        args._bench_parser.print_help()
        return 0
    from optuna_recipes._redact import redact
    from optuna_recipes._storage_urls import StorageUnavailableError
    from optuna_recipes.bench._registry import UnknownNameError
    from optuna_recipes.bench.outdir import OutputFolderError
    from optuna_recipes.bench.suite import SuiteError

    try:
        if command == "list":
            return _list(args.what)
        if command == "show":
            return _show(args.suite)
        if command == "report":
            return _report(args.out)
        return _run(args)
    except (SuiteError, UnknownNameError, OutputFolderError, StorageUnavailableError) as err:
        print(f"error: {redact(str(err))}", file=sys.stderr)
        return 2
    except (ValueError, ImportError) as err:
        print(f"error: {redact(str(err))}", file=sys.stderr)
        return 2
    except Exception:  # an unexpected failure: its traceback, without secrets
        import traceback

        print(redact(traceback.format_exc()), file=sys.stderr, end="")
        return 1


def _report(out: str) -> int:
    from pathlib import Path

    from optuna_recipes.bench.outdir import FolderLock
    from optuna_recipes.bench.outdir import read_manifest
    from optuna_recipes.bench.report import terminal_summary
    from optuna_recipes.bench.report import write_report
    from optuna_recipes.bench.resume import verify_journal

    folder = Path(out)
    read_manifest(folder)  # a clear error for a missing or foreign folder, before locking it
    with FolderLock(folder):
        verify_journal(folder, read_manifest(folder))
        write_report(folder)
        print(terminal_summary(folder))
    return 0


def _run(args: argparse.Namespace) -> int:
    from optuna_recipes.bench.execution import Terminated
    from optuna_recipes.bench.report import terminal_summary
    from optuna_recipes.bench.runner import run_suite
    from optuna_recipes.bench.storage import RunConflictError

    strategies = (
        [s.strip() for s in args.strategies.split(",") if s.strip()] if args.strategies else None
    )
    if strategies:
        _say_replaced(args.suite, strategies)
    try:
        result = run_suite(
            args.suite,
            args.out,
            seeds=args.seeds,
            trials=args.trials,
            strategies=strategies,
            workers=args.workers,
            storage=args.storage,
            dask=args.dask,
            progress=not args.no_progress,
            report=not args.no_report,
            allow_imports=not args.no_imports,
            simulate_workers=args.simulate_workers,
            hub_registry=args.hub_registry,
            only=args.only.split(",") if args.only else None,
            first_seed=args.first_seed,
        )
    except RunConflictError as err:
        from optuna_recipes._redact import redact

        print(f"error: {redact(str(err))}", file=sys.stderr)
        return 2
    except KeyboardInterrupt as err:
        how = "Stopped (SIGTERM)" if isinstance(err, Terminated) else "Interrupted"
        print(
            f"\n{how}. Finished runs are kept; run the same command again to resume.",
            file=sys.stderr,
        )
        return 143 if isinstance(err, Terminated) else 130
    errors = result.runs[result.runs["status"] == "error"]
    if not args.no_report:
        print(terminal_summary(result.out))
    else:
        print(f"Results: {result.out / 'results.csv'}")
    if not errors.empty:
        first = errors.iloc[0]
        print(
            f"{len(errors)} run(s) ended with an error (see runs.csv); the first, "
            f"{first['study']}: {first['message']}\nRe-running the command retries them.",
            file=sys.stderr,
        )
        return 1
    return 0


def _say_replaced(suite_name: str, strategies: list[str]) -> None:
    """On stderr, per group, the strategy lists ``--strategies`` replaces (when they differ)."""
    from optuna_recipes.bench.suite import load_suite

    suite = load_suite(suite_name)
    groups: dict[str, list[str]] = {}
    for sp in suite.problems:
        names = groups.setdefault(sp.group, [])
        names += [n for n in sp.strategies if n not in names]
    replaced = {g: names for g, names in groups.items() if names != strategies}
    if not replaced:
        return
    what = "; ".join(f"group {g}: {','.join(names)}" for g, names in replaced.items())
    print(f"--strategies {','.join(strategies)} replaces: {what}.", file=sys.stderr)
