"""The benchmark API: run a suite into an output folder, resuming what an earlier call left.

:func:`run_suite` prepares the output folder (:mod:`~optuna_recipes.bench.outdir`), skips the
runs its storage holds as finished (:mod:`~optuna_recipes.bench.storage`), executes the others
in worker processes or on a Dask cluster (:mod:`~optuna_recipes.bench.execution`; samplers
timed by :mod:`~optuna_recipes.bench.timing`), then writes the results table
(:mod:`~optuna_recipes.bench.results`), the manifest and the report
(:mod:`~optuna_recipes.bench.report`). See the README's "Benchmark harness" section.

Names that lived here before the split (``open_storage``, ``execute_run``, ``collect_results``,
...) still import from this module, with a ``DeprecationWarning`` naming their new home.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
import importlib
from pathlib import Path
import time
from typing import Any
import warnings

import pandas as pd

from optuna_recipes._redact import redact
from optuna_recipes._storage_urls import normalize_url
from optuna_recipes._storage_urls import storage_identity
from optuna_recipes._validation import check_int
from optuna_recipes.bench import outdir
from optuna_recipes.bench.execution import RunOutcome
from optuna_recipes.bench.execution import default_workers
from optuna_recipes.bench.execution import execute_all
from optuna_recipes.bench.execution import sigterm_as_interrupt
from optuna_recipes.bench.results import collect_results
from optuna_recipes.bench.resume import RunPlan
from optuna_recipes.bench.resume import open_checked
from optuna_recipes.bench.resume import plan_runs
from optuna_recipes.bench.storage import open_storage
from optuna_recipes.bench.storage import storage_url_for
from optuna_recipes.bench.suite import RunSpec
from optuna_recipes.bench.suite import Suite
from optuna_recipes.bench.suite import SuiteError
from optuna_recipes.bench.suite import builtin_suites
from optuna_recipes.bench.suite import load_suite


@dataclass
class BenchResult:
    """What :func:`run_suite` returns: the folder, the results table and the run outcomes.

    Example:
        .. code-block:: python

            from optuna_recipes.bench import run_suite

            result = run_suite("quick", "bench-out/quick", seeds=1)
            print(result.out, len(result.results), result.runs["status"].value_counts())

    Args:
        out: The output folder.
        results: One row per finished trial (``results.csv``).
        runs: One row per run: study, problem, strategy, seed, role, status, seconds, message.
        report: The path of ``report.md``, when written.
        skipped_strategies: Registered strategies this installation cannot run, with why.
    """

    out: Path
    results: pd.DataFrame
    runs: pd.DataFrame
    report: Path | None = None
    skipped_strategies: dict[str, str] | None = None


def reproduce_command(settings: dict[str, Any], out: Path, storage: str | None) -> str:
    """The command line that reproduces (and resumes) a benchmark (a storage URL's password
    shown as ``***``)."""
    parts = ["python -m optuna_recipes bench run", str(settings["suite_file"])]
    parts += ["--out", str(out)]
    for key in ("seeds", "first_seed", "trials"):
        if settings.get(key) is not None:
            parts += [f"--{key.replace('_', '-')}", str(settings[key])]
    if settings.get("strategies"):
        parts += ["--strategies", ",".join(settings["strategies"])]
    if settings.get("only"):
        parts += ["--only", ",".join(settings["only"])]
    if settings.get("simulate_workers"):
        parts += ["--simulate-workers", ",".join(map(str, settings["simulate_workers"]))]
    if settings.get("hub_registry"):
        parts += ["--hub-registry", str(settings["hub_registry"])]
    if storage:
        parts += ["--storage", redact(storage)]
    return " ".join(parts)


def available_strategies(names: Sequence[str], suite: Any) -> tuple[list[str], dict[str, str]]:
    """Split strategy names into runnable ones and registered ones whose class is missing.

    A registered name (``ga``, ``warmstart``) whose class is not in this installation is
    skipped with its reason; an import path that does not import is an error.
    """
    from optuna_recipes.bench.strategies import PRUNERS
    from optuna_recipes.bench.strategies import SAMPLERS

    ok, missing = [], {}
    for name in names:
        strategy = suite.strategy(name)
        try:
            strategy.check()
        except ImportError as err:
            if strategy.sampler in SAMPLERS and strategy.pruner in PRUNERS:
                missing[name] = str(err)
                continue
            raise
        ok.append(name)
    return ok, missing


def run_suite(
    suite: Any,
    out: str | Path | None = None,
    *,
    seeds: int | None = None,
    trials: int | None = None,
    strategies: Sequence[str] | None = None,
    workers: int | None = None,
    storage: str | None = None,
    dask: str | None = None,
    progress: bool = True,
    report: bool = True,
    allow_imports: bool = True,
    simulate_workers: int | Sequence[int] | None = None,
    hub_registry: str | Path | None = None,
    only: Sequence[str] | None = None,
    first_seed: int | None = None,
) -> BenchResult:
    """Run a suite (resuming what an earlier call left), write the results and the report.

    Example:
        .. code-block:: python

            from optuna_recipes.bench import run_suite

            result = run_suite("quick", "bench-out/quick", seeds=2)
            print(result.results.groupby("strategy")["best"].min())

    Args:
        suite: A built-in suite name, a path to a suite file, or a
            :class:`~optuna_recipes.bench.suite.Suite`.
        out: Output folder. Default ``bench-out/<suite name>``.
        seeds: Number of seeds (``first_seed .. first_seed + seeds - 1``); default: the
            suite's.
        trials: Trials per run; default: the suite's (per problem).
        strategies: Strategy names replacing the suite's; default: the suite's.
        workers: Worker processes; default one per core.
        storage: Optuna storage URL; default a journal file in ``out``.
        dask: Address of a Dask scheduler to send runs to (instead of local workers).
        progress: Show a progress bar (one line per finished run without tqdm) and, at the
            end, a line with the runs' outcomes and where the report is (all on stderr).
        report: Write the report when done.
        allow_imports: Whether the suite (and ``strategies``) may name import paths or
            ``hub:`` packages, which import and run code; ``False`` refuses such a suite before
            anything runs.
        simulate_workers: Simulated asynchronous workers per run (an int, or several counts to
            compare; :mod:`~optuna_recipes.bench.simulate`); default: the suite's
            ``simulate_workers``, else none (``study.optimize``). Combines with ``workers``.
        hub_registry: Local OptunaHub registry checkout for ``hub:`` strategies (a folder
            holding ``package/``); default: the suite's ``hub_registry``, else download.
        only: Run only these of the suite's strategies (after ``strategies``), in every group,
            with the source studies they need; groups left without one are skipped. For
            re-running one strategy of a comparison (``--only ga``) into a folder of its own:
            seeding is per (problem, strategy, seed), so its runs are those of the full suite.
        first_seed: The first seed (``>= 0``); default: the suite's ``first_seed``, else 0.
            For replicating a benchmark on fresh seeds: ``seeds=5, first_seed=5`` runs seeds
            5-9, each run identical to the same seed's run of ``seeds=10``. Source studies
            (warm start) do not depend on it.

    Raises:
        SuiteError: the suite is malformed, or names import paths and ``allow_imports`` is off.
        OutputFolderError: the folder is in use, holds another benchmark, or its state was
            changed or damaged (:class:`~optuna_recipes.bench.integrity.StateDamagedError`).
        StorageUnavailableError: the storage cannot be opened; nothing was written.
        KeyboardInterrupt: Ctrl-C or SIGTERM (:class:`~optuna_recipes.bench.execution.
            Terminated`): workers stopped, finished runs kept, the folder resumable.
    """
    if isinstance(suite, (str, Path)):
        suite = load_suite(str(suite))
    for name, value in (("seeds", seeds), ("trials", trials), ("workers", workers)):
        check_int(name, value, minimum=1, allow_none=True)
    check_int("first_seed", first_seed, minimum=0, allow_none=True)
    chosen = list(strategies) if strategies else None
    kept = _only(suite, chosen, only)
    counts = _worker_counts(simulate_workers)
    if hub_registry is not None:
        suite.hub_registry = _registry_setting(hub_registry)
    _check_imports(suite, kept or chosen, allow_imports)
    options = _Options(
        seeds,
        trials,
        chosen,
        workers,
        storage,
        dask,
        progress,
        report,
        counts,
        hub_registry,
        kept,
        first_seed,
    )
    with suite.import_roots():
        return _run_suite(suite, out, options)


@dataclass(frozen=True)
class _Options:
    """The arguments of :func:`run_suite` past the suite and the folder."""

    seeds: int | None
    trials: int | None
    strategies: list[str] | None
    workers: int | None
    storage: str | None
    dask: str | None
    progress: bool
    report: bool
    counts: list[int] | None = None
    hub_registry: str | Path | None = None
    only: list[str] | None = None
    first_seed: int | None = None


def _run_suite(suite: Suite, out: str | Path | None, o: _Options) -> BenchResult:
    """:func:`run_suite` once the suite's import roots are on ``sys.path``."""
    chosen, storage, progress = o.strategies, o.storage, o.progress
    suite.check(chosen)
    out_path = Path(out) if out is not None else Path("bench-out") / suite.name
    _, missing = available_strategies(o.only or chosen or suite.strategy_names(), suite)
    settings = _settings(suite, o.seeds, o.trials, chosen)
    settings.update(simulate_workers=o.counts, hub_registry=_registry_setting(o.hub_registry))
    if o.only:
        settings["only"] = o.only
    if o.first_seed is not None:
        settings["first_seed"] = o.first_seed
    start = time.perf_counter()
    with outdir.FolderLock(out_path), sigterm_as_interrupt():
        manifest, storage_url = _open(suite, out_path, settings, storage)
        try:
            result = _run(
                suite, out_path, manifest, storage_url, missing, o.workers, o.dask, progress
            )
        except BaseException:
            manifest["state"] = "interrupted"
            outdir.write_manifest(out_path, manifest)
            raise
        if o.report:
            from optuna_recipes.bench.report import write_report

            result.report = write_report(out_path)
    if progress:
        print(_summary_line(suite.name, result, time.perf_counter() - start), file=_stderr())
    return result


def _summary_line(name: str, result: BenchResult, seconds: float) -> str:
    """What a finished :func:`run_suite` says: runs by status, where results and report are."""
    counts = result.runs["status"].value_counts() if not result.runs.empty else {}
    parts = [f"{int(n)} {status}" for status, n in dict(counts).items()]
    sources = int((result.runs["role"] == "source").sum()) if not result.runs.empty else 0
    note = f", {sources} of them source studies for warm start" if sources else ""
    where = result.report or result.out / outdir.RESULTS
    return (
        f"bench {name}: {len(result.runs)} runs ({', '.join(parts) or 'none'}{note}) in "
        f"{seconds:.1f} s; {'report' if result.report else 'results'}: {where}"
    )


def _check_imports(suite: Suite, strategies: list[str] | None, allow: bool) -> None:
    paths = suite.import_paths(strategies)
    if paths and not allow:
        raise SuiteError(
            f"{suite.path} names import paths ({', '.join(paths)}): running it imports those "
            "modules and calls them. Read the suite first (`optuna-recipes bench show "
            "SUITE`), then run it without --no-imports if you trust that code."
        )


def _only(
    suite: Suite, strategies: list[str] | None, only: Sequence[str] | None
) -> list[str] | None:
    """``only`` checked against the strategies the run would have (its order kept)."""
    if only is None:
        return None
    if isinstance(only, str):
        only = [only]
    names = list(dict.fromkeys(str(n).strip() for n in only if str(n).strip()))
    known = strategies or suite.strategy_names()
    unknown = [n for n in names if n not in known]
    if not names or unknown:
        raise SuiteError(
            f"--only {','.join(unknown) or '(empty)'}: not a strategy of "
            f"{'--strategies' if strategies else suite.path}, which has {', '.join(known)}. "
            "Name some of those (--strategies replaces them; --only keeps some of them)."
        )
    return names


def _worker_counts(value: int | Sequence[int] | None) -> list[int] | None:
    if value is None:
        return None
    counts = [value] if isinstance(value, int) else list(value)
    if not counts:
        raise ValueError("`simulate_workers` must name at least one worker count.")
    return list(dict.fromkeys(check_int("simulate_workers", c, minimum=1) for c in counts))


def _registry_setting(hub_registry: str | Path | None) -> str | None:
    return None if hub_registry is None else str(Path(hub_registry).expanduser().resolve())


def _open(
    suite: Suite, out: Path, settings: dict[str, Any], storage: str | None
) -> tuple[dict[str, Any], str]:
    """Check the folder, open (and check) the storage, then write the manifest: a storage that
    cannot be opened leaves the folder as it was."""
    if suite.text is not None:
        suite_text = suite.text
    else:
        suite_text = Path(suite.path).read_text() if Path(suite.path).exists() else ""
    identity = storage_identity(storage)
    outdir.check_folder(out, settings, suite_text, identity)
    storage_url = normalize_url(storage) if storage else storage_url_for(out, None)
    open_checked(storage_url, out)
    info = {"url": redact(storage) if storage else None, "identity": identity}
    command = suite.reproduce or reproduce_command(settings, out, storage)
    return outdir.prepare(out, settings, suite_text, command, info), storage_url


def _run(
    suite: Suite,
    out: Path,
    manifest: dict[str, Any],
    storage_url: str,
    missing: dict[str, str],
    workers: int | None,
    dask: str | None,
    progress: bool,
) -> BenchResult:
    """Verify what is finished, execute the rest, write the results and the manifest."""
    settings = manifest["settings"]
    all_runs = suite.runs(
        seeds=settings["seeds"],
        trials=settings["trials"],
        strategies=settings["strategies"],
        exclude=set(missing),
        simulate_workers=settings.get("simulate_workers"),
        only=settings.get("only"),
        first_seed=settings.get("first_seed"),
    )
    store = open_storage(storage_url)
    plan = _runs_to_do(store, storage_url, all_runs, missing, manifest, out)
    ledger = outdir.RunLedger(out, manifest)
    for name, record in plan.finished.items():
        ledger.record(name, record)

    def done(outcome: RunOutcome) -> None:
        if outcome.record is not None:
            ledger.record(outcome.study_name, outcome.record)

    try:
        outcomes = [RunOutcome(n, "skipped") for n in plan.finished]
        outcomes += _execute(plan.todo, storage_url, workers, dask, suite.name, progress, done)
    finally:
        ledger.flush()
    results = collect_results(store, all_runs, expected=manifest["runs"])
    runs_table = _runs_table(all_runs, outcomes)
    manifest.update(
        state="complete",
        results=outdir.write_results(out, results, runs_table),
        rows=len(results),
        storage_url=manifest.get("storage"),
        skipped_strategies=missing,
        finished=datetime_now(),
    )
    outdir.write_manifest(out, manifest)
    return BenchResult(out, results, runs_table, None, missing)


def _settings(
    suite: Suite,
    seeds: int | None,
    trials: int | None,
    strategies: list[str] | None,
) -> dict[str, Any]:
    """The suite and what overrides it: a resume must repeat them (``outdir.IDENTITY``);
    ``suite_file`` is how to name the suite in the command that reproduces the benchmark."""
    return {
        "suite": suite.name,
        "suite_file": suite.name if _is_builtin(suite) else suite.path,
        "seeds": seeds,
        "trials": trials,
        "strategies": strategies,
    }


def _runs_to_do(
    store: Any,
    storage_url: str,
    all_runs: list[RunSpec],
    missing: dict[str, str],
    manifest: dict[str, Any],
    out: Path,
) -> RunPlan:
    """The runs not finished in the storage (finished ones verified); says on stderr what is
    skipped or resumed.

    Raises:
        StateDamagedError: a finished run was lost or changed.
        RunConflictError: a study of a run's name was made with other settings.
    """
    plan = plan_runs(store, storage_url, all_runs, manifest.get("runs") or {}, out)
    for name, reason in missing.items():
        print(f"Skipping strategy {name!r}: {reason}", file=_stderr())
    if plan.finished:
        print(
            f"Resuming: {len(plan.finished)} of {len(all_runs)} runs finished earlier.",
            file=_stderr(),
        )
    return plan


def _execute(
    todo: list[RunSpec],
    storage_url: str,
    workers: int | None,
    dask: str | None,
    name: str,
    progress: bool,
    on_done: Callable[[RunOutcome], None],
) -> list[RunOutcome]:
    """Execute ``todo`` (one worker per core by default) with a progress bar."""
    bar = _progress(len(todo), f"bench {name}", progress)

    def done(outcome: RunOutcome) -> None:
        on_done(outcome)
        if bar is not None:
            bar.update(1)

    try:
        return execute_all(
            todo,
            storage_url,
            workers=workers or default_workers(len(todo)),
            dask=dask,
            on_done=done,
        )
    finally:
        if bar is not None:
            bar.close()


def _runs_table(all_runs: list[RunSpec], outcomes: list[RunOutcome]) -> pd.DataFrame:
    """One row per run (``runs.csv``): the run, then its outcome."""
    by_name = {o.study_name: o for o in outcomes}
    return pd.DataFrame(
        [
            {
                "study": r.study_name,
                "problem": r.problem.name,
                "strategy": r.label,
                "seed": r.seed,
                "role": r.role,
                **{k: v for k, v in by_name[r.study_name].as_dict().items() if k != "study_name"},
            }
            for r in all_runs
        ]
    )


def _is_builtin(suite: Suite) -> bool:
    path = builtin_suites().get(suite.name)
    return path is not None and Path(suite.path).resolve() == path.resolve()


def datetime_now() -> str:
    from datetime import datetime
    from datetime import timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _stderr() -> Any:
    import sys

    return sys.stderr


class _Lines:
    """Progress without tqdm: one line per finished run on stderr."""

    def __init__(self, total: int, label: str) -> None:
        self.total, self.label, self.n = total, label, 0

    def update(self, n: int) -> None:
        self.n += n
        print(f"{self.label}: {self.n}/{self.total} runs finished", file=_stderr())

    def close(self) -> None:
        pass


def _progress(total: int, label: str, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    try:
        from tqdm.auto import tqdm
    except ImportError:
        return _Lines(total, label)
    return tqdm(total=total, desc=label, unit="run", file=_stderr(), smoothing=0.1)


# Names defined here before the runner was split, and their new homes (name there, module).
_MOVED: dict[str, tuple[str, str]] = {
    "TimedSampler": ("TimedSampler", "optuna_recipes.bench.timing"),
    "RUN_ATTR": ("RUN_ATTR", "optuna_recipes.bench.storage"),
    "DONE_ATTR": ("DONE_ATTR", "optuna_recipes.bench.storage"),
    "TIMES_ATTR": ("TIMES_ATTR", "optuna_recipes.bench.storage"),
    "DEFAULT_STORAGE_FILE": ("DEFAULT_STORAGE_FILE", "optuna_recipes.bench.storage"),
    "RunConflictError": ("RunConflictError", "optuna_recipes.bench.storage"),
    "_journal_file_backend": ("journal_file_backend", "optuna_recipes.bench.storage"),
    "batched_writes": ("batched_writes", "optuna_recipes.bench.storage"),
    "execute_run": ("execute_run", "optuna_recipes.bench.execution"),
    "limit_threads": ("limit_threads", "optuna_recipes.bench.execution"),
    "RESULT_COLUMNS": ("RESULT_COLUMNS", "optuna_recipes.bench.results"),
    "study_rows": ("study_rows", "optuna_recipes.bench.results"),
}


def __getattr__(name: str) -> Any:
    if name not in _MOVED:
        raise AttributeError(f"module {__name__!r} has no attribute {name!r}")
    new_name, module = _MOVED[name]
    warnings.warn(
        f"`{__name__}.{name}` moved to `{module}.{new_name}`; import it from there.",
        DeprecationWarning,
        stacklevel=2,
    )
    return getattr(importlib.import_module(module), new_name)
