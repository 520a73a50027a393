"""Executing runs: one run in any process, and many in worker processes or on a Dask cluster.

A run optimizes in memory and then writes its study to the storage (the trials, their timings
and a "finished" mark, see :mod:`optuna_recipes.bench.storage`). A benchmark resumes from the
storage: a run whose study is marked finished is skipped; a study without the mark (a process
killed while writing it, or one left with ``RUNNING`` trials by another tool) is deleted and the
run is redone from its seed, so the final results equal an uninterrupted run's.

Example:
    .. code-block:: python

        from optuna_recipes.bench.execution import execute_all
        from optuna_recipes.bench.suite import load_suite

        runs = load_suite("quick").runs(seeds=1, trials=5)
        outcomes = execute_all(runs, "bench-out/studies.journal", workers=2)
        print({o.status for o in outcomes})
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from dataclasses import field
import logging
import os
import signal
import threading
import time
import traceback
from typing import Any
import warnings

import optuna
from optuna.pruners import BasePruner
from optuna.samplers import BaseSampler
from optuna.study import StudyDirection

from optuna_recipes._redact import redact
from optuna_recipes.bench.problems import Problem
from optuna_recipes.bench.storage import forget_storage
from optuna_recipes.bench.storage import open_storage
from optuna_recipes.bench.storage import run_status
from optuna_recipes.bench.storage import write_run
from optuna_recipes.bench.strategies import StrategyUnavailableError
from optuna_recipes.bench.suite import RunSpec
from optuna_recipes.bench.timing import TimedSampler

_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


@dataclass
class RunOutcome:
    """What happened to one run.

    Example:
        .. code-block:: python

            from optuna_recipes.bench.execution import RunOutcome

            print(RunOutcome("quick:sphere/tpe/seed0", "skipped").as_dict())

    Args:
        study_name: The run's study.
        status: ``"done"``, ``"skipped"`` (finished before), ``"unavailable"`` (the strategy
            cannot run on the problem) or ``"error"`` (the strategy broke).
        seconds: Wall time of the run in its process.
        message: Why, for ``"unavailable"`` and ``"error"`` (passwords of URLs hidden).
        record: For ``"done"``: the run's record as written
            (:func:`~optuna_recipes.bench.integrity.run_record`).
    """

    study_name: str
    status: str
    seconds: float = 0.0
    message: str = ""
    record: dict[str, Any] | None = field(default=None, repr=False)

    def as_dict(self) -> dict[str, Any]:
        """The row of ``runs.csv`` (without the record, which goes to the manifest)."""
        return {k: v for k, v in self.__dict__.items() if k != "record"}


def limit_threads() -> None:
    """One thread per run for native libraries (OpenMP, BLAS, PyTorch).

    Runs execute side by side, one per core; letting each objective (e.g. scikit-learn's
    HistGradientBoosting) start a thread per core oversubscribes the machine, which makes trials
    far slower and their timings depend on the neighbours.
    """
    for var in _THREAD_VARS:
        os.environ.setdefault(var, "1")
    try:
        from threadpoolctl import threadpool_limits

        threadpool_limits(limits=1)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        pass
    import sys

    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(1)


class Terminated(KeyboardInterrupt):
    """SIGTERM received: raised in the main thread so that it stops like Ctrl-C (workers
    terminated, finished runs kept, the folder left resumable)."""


@contextmanager
def sigterm_as_interrupt() -> Iterator[None]:
    """Within the block, SIGTERM raises :class:`Terminated` in the main thread (elsewhere, or
    where signals cannot be set, the block runs unchanged)."""
    if threading.current_thread() is not threading.main_thread():
        yield
        return

    def handler(signum: int, frame: Any) -> None:
        raise Terminated(f"signal {signum}")

    previous = signal.signal(signal.SIGTERM, handler)
    try:
        yield
    finally:
        signal.signal(signal.SIGTERM, previous)


def _exit_with_parent(parent: int, period: float = 0.5) -> None:
    """Exit this worker when the process that started it is gone (killed with SIGKILL, which
    it cannot catch): an orphan would go on computing a run nobody collects."""
    while True:
        time.sleep(period)
        if os.getppid() != parent:
            os._exit(1)


def _init_worker(parent: int) -> None:
    """Pool workers leave Ctrl-C to the main process, which stops them (see ``execute_all``),
    and exit when it dies."""
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with_parent, args=(parent,), daemon=True).start()
    limit_threads()


class StrategyBuildError(RuntimeError):
    """A run's sampler or pruner raised when built (the message names the error and the fix)."""


def _direction(problem: Problem) -> StudyDirection:
    minimize = problem.direction == "minimize"
    return StudyDirection.MINIMIZE if minimize else StudyDirection.MAXIMIZE


def build_run(run: RunSpec, storage_url: str) -> tuple[Problem, BaseSampler, BasePruner]:
    """The problem, sampler and pruner of ``run`` (source studies are read from the storage).

    Raises:
        StrategyUnavailableError: the strategy cannot run on this problem.
        StrategyBuildError: its sampler or pruner raised when built.
    """
    storage = open_storage(storage_url)
    problem = run.problem.build()
    sources = [optuna.load_study(study_name=n, storage=storage) for n in run.sources]
    try:
        sampler = run.strategy.build_sampler(
            seed=run.seed, problem=problem, n_trials=run.n_trials, sources=sources
        )
        pruner = run.strategy.build_pruner(problem=problem, sources=sources)
    except StrategyUnavailableError:
        raise
    except Exception as err:  # e.g. a constructor's arguments
        message = "building the strategy failed: " + _last_line(err) + _sources_hint(run, err)
        raise StrategyBuildError(message) from err
    return problem, sampler, pruner


def optimize_run(
    run: RunSpec, problem: Problem, sampler: BaseSampler, pruner: BasePruner
) -> tuple[optuna.Study, TimedSampler]:
    """Optimize ``run`` in an in-memory study, with the sampler and objective timed.

    The run works in memory and is written to the shared storage when it is over: trial by
    trial, every worker process would replay every other worker's journal operations, which
    costs more than it saves. A run cut short is redone anyway. A run with ``sim_workers``
    goes through :func:`~optuna_recipes.bench.simulate.simulate_optimize` with the problem's
    cost model (:func:`~optuna_recipes.bench.simulate.cost_model_for`); each trial keeps its
    simulated worker and times in a system attribute.
    """
    timed = TimedSampler(sampler)
    study = optuna.create_study(
        storage=optuna.storages.InMemoryStorage(),
        sampler=timed,
        pruner=pruner,
        study_name=run.study_name,
        direction=_direction(problem),
    )
    if run.sim_workers is None:
        study.optimize(timed.wrap(problem), n_trials=run.n_trials, catch=(Exception,))
    else:
        from optuna_recipes.bench.simulate import cost_model_for
        from optuna_recipes.bench.simulate import simulate_optimize

        simulate_optimize(
            study,
            timed.wrap(problem),
            n_trials=run.n_trials,
            n_workers=run.sim_workers,
            cost=cost_model_for(problem),
            catch=(Exception,),
        )
    return study, timed


def execute_run(run: RunSpec, storage_url: str) -> RunOutcome:
    """Execute one run (in any process): skip it if finished, redo it if partial.

    A crashing objective marks its trial failed and the run goes on (``catch``); an error in
    the strategy itself ends the run with status ``"error"``; a strategy that cannot run on
    the problem (``grid`` on a conditional space) gives ``"unavailable"``.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    # OptunaHub packages log through loggers outside Optuna's tree: the same level for them.
    logging.getLogger("optunahub_registry").setLevel(logging.ERROR)
    warnings.filterwarnings("ignore", category=optuna.exceptions.ExperimentalWarning)
    limit_threads()
    start = time.perf_counter()
    storage = open_storage(storage_url)
    status = run_status(storage, run)
    if status == "finished":
        return RunOutcome(run.study_name, "skipped")
    if status == "partial":
        optuna.delete_study(study_name=run.study_name, storage=storage)
    try:
        problem, sampler, pruner = build_run(run, storage_url)
    except StrategyUnavailableError as err:
        return RunOutcome(run.study_name, "unavailable", message=redact(str(err)))
    except StrategyBuildError as err:  # one strategy broken: report it, go on with the others
        return RunOutcome(run.study_name, "error", time.perf_counter() - start, redact(str(err)))
    try:
        work, timed = optimize_run(run, problem, sampler, pruner)
        if timed.errors:
            message = f"the sampler raised {len(timed.errors)} time(s); first: {timed.errors[0]}"
            return RunOutcome(
                run.study_name, "error", time.perf_counter() - start, redact(message)
            )
        record = write_run(
            storage_url, run, _direction(problem), work.get_trials(deepcopy=False), timed.times
        )
    except Exception as err:  # the strategy itself broke: report it, go on with other runs
        return RunOutcome(
            run.study_name, "error", time.perf_counter() - start, redact(_last_line(err))
        )
    except BaseException:
        # Interrupted anywhere, maybe halfway through replaying the journal: never reuse this
        # process's view of the storage.
        forget_storage(storage_url)
        raise
    return RunOutcome(run.study_name, "done", time.perf_counter() - start, record=record)


def _last_line(err: BaseException) -> str:
    return traceback.format_exception_only(type(err), err)[-1].strip()


def _sources_hint(run: RunSpec, err: Exception) -> str:
    """The fix when a sampler or pruner class wants the earlier studies and was not given them
    (an import-path strategy is given none unless its suite entry says so)."""
    if run.sources or not isinstance(err, TypeError) or "source_studies" not in str(err):
        return ""
    return (
        f"; strategy {run.strategy.name!r} wants earlier studies: define it in the suite as "
        f'[strategies.NAME] with sampler = "{run.strategy.sampler}" and '
        "sampler_needs_sources = true (pruner_needs_sources for a pruner)"
    )


def default_workers(n_runs: int) -> int:
    """One worker per core (as many as runs at most)."""
    return max(1, min(os.cpu_count() or 1, n_runs))


Phases = Sequence[Sequence[RunSpec]]
Done = Callable[[RunOutcome], None]


def _execute_here(phases: Phases, storage_url: str, done: Done) -> None:
    for phase in phases:
        for run in phase:
            done(execute_run(run, storage_url))


def _execute_dask(phases: Phases, storage_url: str, done: Done, address: str) -> None:
    from distributed import Client
    from distributed import as_completed

    with Client(address) as client:
        for phase in phases:
            futures = [client.submit(execute_run, r, storage_url, pure=False) for r in phase]
            for future in as_completed(futures):
                done(future.result())


def _execute_pool(phases: Phases, storage_url: str, done: Done, workers: int) -> None:
    import concurrent.futures as cf
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker, initargs=(os.getpid(),)
    ) as pool:
        try:
            for phase in phases:
                futures = [pool.submit(execute_run, r, storage_url) for r in phase]
                for future in cf.as_completed(futures):
                    done(future.result())
        except BaseException:
            # Ctrl-C or an error: stop now. Runs cut short are not marked finished, so the next
            # invocation redoes them from their seed.
            for process in list(getattr(pool, "_processes", {}).values()):
                process.terminate()
            pool.shutdown(wait=True, cancel_futures=True)
            raise


def execute_all(
    runs: Sequence[RunSpec],
    storage_url: str,
    *,
    workers: int = 1,
    dask: str | None = None,
    on_done: Done | None = None,
) -> list[RunOutcome]:
    """Execute runs: sources and independent runs first, then runs that read sources.

    ``workers > 1`` uses a pool of spawned processes; ``dask`` the Dask scheduler at that
    address (the storage must be reachable from its workers: a shared path or a server URL).
    ``on_done`` is called in this process after each run (progress bars).
    """
    phases = ([r for r in runs if not r.sources], [r for r in runs if r.sources])
    outcomes: list[RunOutcome] = []

    def done(outcome: RunOutcome) -> None:
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)

    if dask:
        _execute_dask(phases, storage_url, done, dask)
    elif workers <= 1:
        _execute_here(phases, storage_url, done)
    else:
        _execute_pool(phases, storage_url, done, workers)
    return outcomes
