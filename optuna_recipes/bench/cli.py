"""``optuna-recipes bench {list, run, report}``: the benchmark harness from the command line.

Example:
    .. code-block:: console

        $ python -m optuna_recipes bench list
        $ python -m optuna_recipes bench run quick --out bench-out/quick
        $ python -m optuna_recipes bench report bench-out/quick
"""

from __future__ import annotations

import argparse
import sys


def _positive(text: str) -> int:
    try:
        value = int(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}") from None
    if value < 1:
        raise argparse.ArgumentTypeError(f"expected a positive integer, got {text!r}")
    return value


def configure(parser: argparse.ArgumentParser) -> None:
    """Add the ``list``, ``run`` and ``report`` subcommands."""
    sub = parser.add_subparsers(dest="bench_command", metavar="{list,run,report}")
    p_list = sub.add_parser("list", help="List suites, problem types and strategies.")
    p_list.add_argument(
        "what",
        nargs="?",
        choices=["suites", "problems", "strategies"],
        help="What to list (default: everything).",
    )
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
        help="Comma-separated strategies replacing the suite's, e.g. tpe,random+median.",
    )
    p_run.add_argument("--seeds", type=_positive, help="Number of seeds (default: the suite's).")
    p_run.add_argument("--trials", type=_positive, help="Trials per run (default: the suite's).")
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
        print("Strategies are SAMPLER or SAMPLER+PRUNER (or package.module:Class for either).")
        print("Samplers:")
        for name, target in SAMPLERS.items():
            print(f"  {name:<12} {target}")
        print("Pruners:")
        for name, target in PRUNERS.items():
            print(f"  {name:<12} {target}")
    return 0


def run(args: argparse.Namespace) -> int:
    """Execute ``bench list``, ``bench run`` or ``bench report``."""
    command = getattr(args, "bench_command", None)
    if command is None:
        args._bench_parser.print_help()
        return 0
    from optuna_recipes.bench._registry import UnknownNameError
    from optuna_recipes.bench.outdir import OutputFolderError
    from optuna_recipes.bench.suite import SuiteError

    try:
        if command == "list":
            return _list(args.what)
        if command == "report":
            from optuna_recipes.bench.report import terminal_summary
            from optuna_recipes.bench.report import write_report

            write_report(args.out)
            print(terminal_summary(args.out))
            return 0
        return _run(args)
    except (SuiteError, UnknownNameError, OutputFolderError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except (ValueError, ImportError) as err:
        print(f"error: {err}", file=sys.stderr)
        return 2


def _run(args: argparse.Namespace) -> int:
    from optuna_recipes.bench.report import terminal_summary
    from optuna_recipes.bench.runner import run_suite
    from optuna_recipes.bench.storage import RunConflictError

    strategies = (
        [s.strip() for s in args.strategies.split(",") if s.strip()] if args.strategies else None
    )
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
        )
    except RunConflictError as err:
        print(f"error: {err}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(
            "\nInterrupted. Finished runs are kept; run the same command again to resume.",
            file=sys.stderr,
        )
        return 130
    errors = result.runs[result.runs["status"] == "error"]
    if not args.no_report:
        print(terminal_summary(result.out))
    else:
        print(f"Results: {result.out / 'results.csv'}")
    if not errors.empty:
        print(
            f"{len(errors)} run(s) ended with an error (see runs.csv); re-running the command "
            "retries them.",
            file=sys.stderr,
        )
        return 1
    return 0
