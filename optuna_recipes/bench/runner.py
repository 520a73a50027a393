"""The runner: each (problem, strategy, seed) run is one Optuna study in a storage.

A run optimizes in memory and then writes its study to the storage (the trials, their
timings and a "finished" mark). Runs go to worker processes (``workers``) or to a Dask cluster
(``dask``); a benchmark resumes from the storage: a run whose study is marked finished is
skipped; a study without the mark (a process killed while writing it, or one left with
``RUNNING`` trials by another tool) is deleted and the run is redone
from its seed, so the final results equal an uninterrupted run's. Samplers are wrapped to time
every call into them; the timings are stored with the study (system attribute
``optuna_recipes.bench:times``, trial number -> seconds in the sampler and the objective).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Sequence
from contextlib import AbstractContextManager
from contextlib import contextmanager
from contextlib import nullcontext
from dataclasses import dataclass
import math
import os
from pathlib import Path
import threading
import time
import traceback
from typing import Any
import warnings

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial
from optuna.trial import TrialState
import pandas as pd

from optuna_recipes import _optuna_compat as compat
from optuna_recipes.bench.problems import Problem
from optuna_recipes.bench.strategies import StrategyUnavailableError
from optuna_recipes.bench.suite import RunSpec

RUN_ATTR = "optuna_recipes.bench:run"
DONE_ATTR = "optuna_recipes.bench:finished"
TIMES_ATTR = "optuna_recipes.bench:times"
DEFAULT_STORAGE_FILE = "studies.journal"


class RunConflictError(RuntimeError):
    """The storage holds a study of the same name made with other settings."""


class TimedSampler(BaseSampler):
    """Wrap a sampler and measure the time spent inside it for each trial.

    Every call (``infer_relative_search_space``, ``sample_relative``, ``sample_independent``,
    ``before_trial``, ``after_trial``) is delegated to ``sampler`` and timed; in ``after_trial``
    the total, and the objective time measured by :meth:`wrap`, go to :attr:`times` (trial
    number -> ``{"sampler": s, "objective": s}``). The runner stores them in the study once the
    run is over (system attribute ``optuna_recipes.bench:times``): a run cut short is redone
    anyway, and one write per run instead of one per trial keeps the harness's cost low.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.runner import TimedSampler

            timed = TimedSampler(optuna.samplers.TPESampler(seed=0))
            study = optuna.create_study(sampler=timed)
            study.optimize(timed.wrap(lambda t: t.suggest_float("x", 0, 1) ** 2), n_trials=5)
            print(timed.times[4])  # {'sampler': ..., 'objective': ...}

    Args:
        sampler: The sampler to measure.
    """

    def __init__(self, sampler: BaseSampler) -> None:
        self.sampler = sampler
        self._sampler_s: dict[int, float] = {}
        self._objective_s: dict[int, float] = {}
        self.times: dict[int, dict[str, float]] = {}
        self.errors: list[str] = []

    def _timed(self, trial_id: int, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args)
        except Exception as err:
            self.errors.append(f"{type(err).__name__}: {err}")
            raise
        finally:
            elapsed = time.perf_counter() - start
            self._sampler_s[trial_id] = self._sampler_s.get(trial_id, 0.0) + elapsed

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._timed(
            compat.trial_id_of(trial), self.sampler.infer_relative_search_space, study, trial
        )

    def sample_relative(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        return self._timed(
            compat.trial_id_of(trial), self.sampler.sample_relative, study, trial, search_space
        )

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._timed(
            compat.trial_id_of(trial),
            self.sampler.sample_independent,
            study,
            trial,
            param_name,
            param_distribution,
        )

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._timed(compat.trial_id_of(trial), self.sampler.before_trial, study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._timed(
            compat.trial_id_of(trial), self.sampler.after_trial, study, trial, state, values
        )
        times = {
            "sampler": self._sampler_s.pop(compat.trial_id_of(trial), 0.0),
            "objective": self._objective_s.pop(compat.trial_id_of(trial), math.nan),
        }
        if math.isnan(times["objective"]):
            times.pop("objective")
        self.times[trial.number] = times

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()

    def wrap(self, objective: Callable[[optuna.Trial], float]) -> Callable[[optuna.Trial], float]:
        """The objective, timed (sampler time spent in ``suggest_*`` calls is subtracted)."""

        def timed_objective(trial: optuna.Trial) -> float:
            trial_id = compat.trial_id_of(trial)
            before = self._sampler_s.get(trial_id, 0.0)
            start = time.perf_counter()
            try:
                return objective(trial)
            finally:
                elapsed = time.perf_counter() - start
                inside = self._sampler_s.get(trial_id, 0.0) - before
                self._objective_s[trial_id] = max(elapsed - inside, 0.0)

        return timed_objective


# Per (URL, thread): a journal storage's replay state and its file lock are not meant to be
# shared by threads that batch their writes (Dask workers may be threads of one process).
_STORAGES: dict[tuple[str, int], BaseStorage] = {}
_BATCHING: dict[tuple[str, int], Any] = {}  # journal file backends (batched writes)


def _storage_key(url: str) -> tuple[str, int]:
    return url, threading.get_ident()


def _journal_file_backend(path: str) -> Any:
    """A journal file backend without ``fsync``, locked with ``flock`` where available.

    Optuna's ``JournalFileBackend`` calls ``fsync`` on every operation (~25 ms per trial on
    this kind of disk, 10-80x the cost of the trial itself on cheap problems). Each write still
    reaches the operating system before the call returns, so a killed process loses nothing;
    only a power cut can lose the last writes, which a benchmark can redo.

    Its default lock is a symlink retried with exponential back-off up to 1 s: with several
    worker processes on a busy machine, waiters sleep long after the lock is free, and a process
    killed while holding it blocks the others for the 30 s grace period. ``fcntl.flock`` is
    granted by the kernel as soon as the lock is free and released when its holder dies.
    """
    import json

    from optuna.storages.journal import JournalFileBackend

    BaseJournalFileLock = compat.journal_lock_base()

    class NoSyncJournalFileBackend(JournalFileBackend):
        def __init__(self, *args: Any, **kwargs: Any) -> None:
            super().__init__(*args, **kwargs)
            self._seen = 0  # logs of the file read by this process so far
            self._pending: list[dict[str, Any]] | None = None  # logs of an open batch
            self._base = 0  # logs in the file when the open batch began

        def read_logs(self, log_number_from: int) -> Iterator[dict[str, Any]]:
            if self._pending is None:
                n = log_number_from
                for log in super().read_logs(log_number_from):
                    n += 1
                    yield log
                self._seen = max(self._seen, n)
                return
            # In a batch the file cannot change (we hold its lock): its logs, then ours.
            if log_number_from < self._base:
                yield from super().read_logs(log_number_from)
            yield from self._pending[max(0, log_number_from - self._base) :]

        def append_logs(self, logs: list[dict[str, Any]]) -> None:
            if self._pending is not None:
                self._pending.extend(logs)
                return
            with compat.journal_locked(compat.journal_lock_of(self)):
                self._write(logs)

        def _write(self, logs: list[dict[str, Any]]) -> None:
            data = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
            with open(compat.journal_file_path(self), "ab") as f:
                f.write(data.encode("utf-8"))

        @contextmanager
        def batch(self, storage: BaseStorage) -> Iterator[None]:
            """Hold the file lock and write everything ``storage`` logs inside in one append.

            Writing a finished run operation by operation re-reads the file after every write
            (about 0.4 ms per trial); a batch reads it once and writes once. The storage sees
            its own pending operations as if written, and nobody else can write meanwhile.
            """
            compat.journal_lock_of(self).acquire()
            try:
                storage.get_all_studies()  # catch up with the file: self._seen = its length
                self._base, self._pending = self._seen, []
                try:
                    yield
                finally:
                    pending, self._pending = self._pending, None
                    if pending:
                        self._write(pending)
                        # Read our own logs back once so that the next read starts from the
                        # right offset instead of scanning the file from its start.
                        for _ in self.read_logs(self._base):
                            pass
            finally:
                compat.journal_lock_of(self).release()

    try:
        import fcntl
    except ImportError:  # pragma: no cover - Windows: Optuna's default lock
        return NoSyncJournalFileBackend(path)

    class FlockLock(BaseJournalFileLock):
        def __init__(self, lock_path: str) -> None:
            self._path = lock_path
            self._file: Any = None

        def acquire(self) -> bool:
            self._file = open(self._path, "a")  # closed in release()
            fcntl.flock(self._file.fileno(), fcntl.LOCK_EX)
            return True

        def release(self) -> None:
            fcntl.flock(self._file.fileno(), fcntl.LOCK_UN)
            self._file.close()
            self._file = None

    return NoSyncJournalFileBackend(path, lock_obj=FlockLock(path + ".flock"))


def open_storage(url: str) -> BaseStorage:
    """A storage from a URL, cached per process and thread.

    ``sqlite:///``, ``postgresql://``, ``mysql://`` give an ``RDBStorage``; ``redis://`` a
    Redis journal; anything else is a journal file path (prefix ``journal:`` optional), written
    without ``fsync`` (see ``_journal_file_backend``).
    """
    key = _storage_key(url)
    storage = _STORAGES.get(key)
    if storage is not None:
        return storage
    from optuna.storages import JournalStorage
    from optuna.storages import RDBStorage
    from optuna.storages.journal import JournalRedisBackend

    if url.startswith("sqlite:"):
        storage = RDBStorage(url, engine_kwargs={"connect_args": {"timeout": 120}})
    elif url.split(":", 1)[0].split("+")[0] in ("postgresql", "mysql", "oracle", "mssql"):
        storage = RDBStorage(url)
    elif url.startswith(("redis://", "rediss://")):
        storage = JournalStorage(JournalRedisBackend(url))
    else:
        path = url.removeprefix("journal:")
        backend = _journal_file_backend(path)
        _BATCHING[key] = backend
        storage = JournalStorage(backend)
    _STORAGES[key] = storage
    return storage


def batched_writes(storage_url: str) -> AbstractContextManager[Any]:
    """A context in which the storage of ``storage_url`` (from :func:`open_storage`) gathers
    its writes and applies them at once, where it can (the journal file); else no-op."""
    key = _storage_key(storage_url)
    backend, storage = _BATCHING.get(key), _STORAGES.get(key)
    if backend is None or storage is None:
        return nullcontext()
    return backend.batch(storage)


def run_status(storage: BaseStorage, run: RunSpec) -> str:
    """``"missing"``, ``"finished"`` or ``"partial"`` (killed halfway: to redo).

    Raises:
        RunConflictError: the study exists with another fingerprint (other settings).
    """
    try:
        study_id = storage.get_study_id_from_name(run.study_name)
    except KeyError:
        return "missing"
    attrs = storage.get_study_system_attrs(study_id)
    stored = attrs.get(RUN_ATTR)
    if stored is not None and stored != _jsonable(run.fingerprint()):
        raise RunConflictError(
            f"The storage already holds study {run.study_name!r} made with other settings "
            f"({stored}) than this run ({run.fingerprint()}); use another --out or --storage."
        )
    return "finished" if attrs.get(DONE_ATTR) else "partial"


def _jsonable(value: Any) -> Any:
    import json

    return json.loads(json.dumps(value))


@dataclass
class RunOutcome:
    """What happened to one run."""

    study_name: str
    status: str  # "done", "skipped" (finished before), "unavailable", "error"
    seconds: float = 0.0
    message: str = ""

    def as_dict(self) -> dict[str, Any]:
        return dict(self.__dict__)


_THREAD_VARS = ("OMP_NUM_THREADS", "OPENBLAS_NUM_THREADS", "MKL_NUM_THREADS")


def limit_threads() -> None:
    """One thread per run for native libraries (OpenMP, BLAS, PyTorch).

    Runs execute side by side, one per core; letting each objective (e.g. scikit-learn's
    HistGradientBoosting) start a thread per core oversubscribes the machine, which measured 20x
    slower per trial on a loaded 2-core machine, and makes timings depend on the neighbours.
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


def _init_worker() -> None:
    """Pool workers leave Ctrl-C to the main process, which stops them (see ``execute_all``)."""
    import signal

    signal.signal(signal.SIGINT, signal.SIG_IGN)
    limit_threads()


def execute_run(run: RunSpec, storage_url: str) -> RunOutcome:
    """Execute one run (in any process): skip it if finished, redo it if partial.

    A crashing objective marks its trial failed and the run goes on (``catch``); an error in
    the strategy itself ends the run with status ``"error"``; a strategy that cannot run on
    the problem (``grid`` on a conditional space) gives ``"unavailable"``.
    """
    optuna.logging.set_verbosity(optuna.logging.ERROR)
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
        problem = run.problem.build()
        sources = [optuna.load_study(study_name=n, storage=storage) for n in run.sources]
        sampler = run.strategy.build_sampler(
            seed=run.seed, problem=problem, n_trials=run.n_trials, sources=sources
        )
        pruner = run.strategy.build_pruner(problem=problem, sources=sources)
    except StrategyUnavailableError as err:
        return RunOutcome(run.study_name, "unavailable", message=str(err))
    timed = TimedSampler(sampler)
    direction = (
        StudyDirection.MINIMIZE if problem.direction == "minimize" else StudyDirection.MAXIMIZE
    )
    try:
        # The run itself works in memory and is written to the shared storage when it is
        # over, one operation per trial. Trial by trial, every worker process would replay
        # every other worker's ~10 journal operations per trial: measured, that extra work
        # made two workers slower than one. A run cut short is redone anyway.
        work = optuna.create_study(
            storage=optuna.storages.InMemoryStorage(),
            sampler=timed,
            pruner=pruner,
            study_name=run.study_name,
            direction=direction,
        )
        work.optimize(timed.wrap(problem), n_trials=run.n_trials, catch=(Exception,))
        if timed.errors:
            return RunOutcome(
                run.study_name,
                "error",
                time.perf_counter() - start,
                f"the sampler raised {len(timed.errors)} time(s); first: {timed.errors[0]}",
            )
        with batched_writes(storage_url):
            study = optuna.create_study(
                storage=storage, study_name=run.study_name, direction=direction
            )
            storage.set_study_system_attr(
                compat.study_id_of(study), RUN_ATTR, _jsonable(run.fingerprint())
            )
            study.add_trials(work.get_trials(deepcopy=False))
            storage.set_study_system_attr(
                compat.study_id_of(study), TIMES_ATTR, {str(n): t for n, t in timed.times.items()}
            )
            storage.set_study_system_attr(compat.study_id_of(study), DONE_ATTR, True)
    except Exception as err:  # the strategy itself broke: report it, go on with other runs
        last = traceback.format_exception_only(type(err), err)[-1].strip()
        return RunOutcome(run.study_name, "error", time.perf_counter() - start, last)
    except BaseException:
        # Interrupted anywhere, maybe halfway through replaying the journal: never reuse this
        # process's view of the storage.
        _STORAGES.pop(_storage_key(storage_url), None)
        raise
    return RunOutcome(run.study_name, "done", time.perf_counter() - start)


def _best_so_far(values: list[float], minimize: bool) -> list[float]:
    out, best = [], math.nan
    for v in values:
        if not math.isnan(v) and (math.isnan(best) or (v < best if minimize else v > best)):
            best = v
        out.append(best)
    return out


RESULT_COLUMNS = [
    "suite",
    "group",
    "problem",
    "strategy",
    "sampler",
    "pruner",
    "seed",
    "role",
    "trial",
    "state",
    "value",
    "best",
    "regret",
    "wall_time",
    "duration",
    "sampler_time",
    "objective_time",
    "steps",
    "cum_steps",
    "direction",
    "optimum",
]


def study_rows(
    run: RunSpec,
    trials: list[FrozenTrial],
    problem: Problem,
    times: dict[str, dict[str, float]] | None = None,
) -> list[dict[str, Any]]:
    """One row per trial of a run's study (see ``RESULT_COLUMNS``)."""
    trials = sorted((t for t in trials if t.state.is_finished()), key=lambda t: t.number)
    minimize = problem.direction == "minimize"
    complete = [
        t.value if t.state == TrialState.COMPLETE and t.value is not None else math.nan
        for t in trials
    ]
    best = _best_so_far(complete, minimize)
    t0 = min((t.datetime_start for t in trials if t.datetime_start), default=None)
    rows: list[dict[str, Any]] = []
    cum_steps = 0.0
    for t, b in zip(trials, best, strict=True):
        trial_times = (times or {}).get(str(t.number), {})
        steps = float(len(t.intermediate_values)) if problem.n_steps else math.nan
        cum_steps += 0.0 if math.isnan(steps) else steps
        regret = math.nan
        if problem.optimum is not None and not math.isnan(b):
            regret = max((b - problem.optimum) if minimize else (problem.optimum - b), 0.0)
        end = t.datetime_complete
        rows.append(
            {
                "suite": run.suite,
                "group": run.group,
                "problem": run.problem.name,
                "strategy": run.strategy.name,
                "sampler": run.strategy.sampler,
                "pruner": run.strategy.pruner,
                "seed": run.seed,
                "role": run.role,
                "trial": t.number,
                "state": t.state.name,
                "value": t.value if t.value is not None else math.nan,
                "best": b,
                "regret": regret,
                "wall_time": (end - t0).total_seconds() if end and t0 else math.nan,
                "duration": t.duration.total_seconds() if t.duration else math.nan,
                "sampler_time": trial_times.get("sampler", math.nan),
                "objective_time": trial_times.get("objective", math.nan),
                "steps": steps,
                "cum_steps": cum_steps if problem.n_steps else math.nan,
                "direction": problem.direction,
                "optimum": problem.optimum if problem.optimum is not None else math.nan,
            }
        )
    return rows


def collect_results(
    storage: BaseStorage | str, runs: Sequence[RunSpec], include_sources: bool = False
) -> pd.DataFrame:
    """The results table of finished runs: one row per finished trial (``RESULT_COLUMNS``)."""
    if isinstance(storage, str):
        storage = open_storage(storage)
    rows: list[dict[str, Any]] = []
    problems: dict[Any, Problem] = {}
    for run in runs:
        if run.role == "source" and not include_sources:
            continue
        try:
            study_id = storage.get_study_id_from_name(run.study_name)
        except KeyError:
            continue
        attrs = storage.get_study_system_attrs(study_id)
        if not attrs.get(DONE_ATTR):
            continue
        if run.problem not in problems:
            problems[run.problem] = run.problem.build()
        problem = problems[run.problem]
        direction = storage.get_study_directions(study_id)[0]
        if (direction == StudyDirection.MINIMIZE) != (problem.direction == "minimize"):
            raise RunConflictError(f"Study {run.study_name!r} has another direction.")
        trials = storage.get_all_trials(study_id, deepcopy=False)
        rows += study_rows(run, trials, problem, attrs.get(TIMES_ATTR))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)


def default_workers(n_runs: int) -> int:
    """One worker per core (as many as runs at most)."""
    return max(1, min(os.cpu_count() or 1, n_runs))


def execute_all(
    runs: Sequence[RunSpec],
    storage_url: str,
    *,
    workers: int = 1,
    dask: str | None = None,
    on_done: Callable[[RunOutcome], None] | None = None,
) -> list[RunOutcome]:
    """Execute runs: sources and independent runs first, then runs that read sources.

    ``workers > 1`` uses a pool of spawned processes; ``dask`` the Dask scheduler at that
    address (the storage must be reachable from its workers: a shared path or a server URL).
    ``on_done`` is called in this process after each run (progress bars).
    """
    first = [r for r in runs if not r.sources]
    second = [r for r in runs if r.sources]
    outcomes: list[RunOutcome] = []

    def done(outcome: RunOutcome) -> None:
        outcomes.append(outcome)
        if on_done is not None:
            on_done(outcome)

    if dask:
        from distributed import Client
        from distributed import as_completed

        with Client(dask) as client:
            for phase in (first, second):
                futures = [client.submit(execute_run, r, storage_url, pure=False) for r in phase]
                for future in as_completed(futures):
                    done(future.result())
        return outcomes
    if workers <= 1:
        for phase in (first, second):
            for r in phase:
                done(execute_run(r, storage_url))
        return outcomes
    import concurrent.futures as cf
    import multiprocessing

    ctx = multiprocessing.get_context("spawn")
    with cf.ProcessPoolExecutor(
        max_workers=workers, mp_context=ctx, initializer=_init_worker
    ) as pool:
        try:
            for phase in (first, second):
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
    return outcomes


def storage_url_for(out: Path, storage: str | None) -> str:
    """The storage URL of an output folder: ``storage`` or the journal file inside ``out``."""
    if storage:
        return storage
    return str((out / DEFAULT_STORAGE_FILE).resolve())


@dataclass
class BenchResult:
    """What :func:`run_suite` returns: the folder, the results table and the run outcomes."""

    out: Path
    results: pd.DataFrame
    runs: pd.DataFrame
    report: Path | None = None
    skipped_strategies: dict[str, str] | None = None


def reproduce_command(settings: dict[str, Any]) -> str:
    """The command line that reproduces (and resumes) a benchmark with ``settings``."""
    parts = ["python -m optuna_recipes bench run", str(settings["suite_file"])]
    parts += ["--out", str(settings["out"])]
    for key in ("seeds", "trials"):
        if settings.get(key) is not None:
            parts += [f"--{key}", str(settings[key])]
    if settings.get("strategies"):
        parts += ["--strategies", ",".join(settings["strategies"])]
    if settings.get("storage"):
        parts += ["--storage", str(settings["storage"])]
    return " ".join(parts)


def available_strategies(names: Sequence[str], suite: Any) -> tuple[list[str], dict[str, str]]:
    """Split strategy names into runnable ones and registered ones whose class is missing.

    A registered name (``ga``, ``warmstart``) whose class is not in this installation is
    skipped with its reason; an import path that does not import is an error.
    """
    from optuna_recipes.bench.strategies import PRUNERS
    from optuna_recipes.bench.strategies import SAMPLERS
    from optuna_recipes.bench.strategies import parse_strategy

    ok, missing = [], {}
    for name in names:
        strategy = parse_strategy(name, suite.defined)
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
        seeds: Number of seeds (``0 .. seeds-1``); default: the suite's.
        trials: Trials per run; default: the suite's (per problem).
        strategies: Strategy names replacing the suite's; default: the suite's.
        workers: Worker processes; default one per core.
        storage: Optuna storage URL; default a journal file in ``out``.
        dask: Address of a Dask scheduler to send runs to (instead of local workers).
        progress: Show a progress bar.
        report: Write the report when done.
    """
    from optuna_recipes.bench import outdir
    from optuna_recipes.bench.suite import load_suite

    if isinstance(suite, (str, Path)):
        suite = load_suite(str(suite))
    for name, value in (("seeds", seeds), ("trials", trials), ("workers", workers)):
        if value is not None and (isinstance(value, bool) or value < 1):
            raise ValueError(f"`{name}` must be a positive integer or None, got {value!r}.")
    out_path = Path(out) if out is not None else Path("bench-out") / suite.name
    names = list(strategies) if strategies else suite.strategy_names()
    _, missing = available_strategies(names, suite)
    settings = {
        "suite": suite.name,
        "suite_file": suite.name if _is_builtin(suite) else suite.path,
        "out": str(out_path),
        "seeds": seeds,
        "trials": trials,
        "strategies": list(strategies) if strategies else None,
        "storage": storage,
    }
    command = reproduce_command(settings)
    suite_text = Path(suite.path).read_text() if Path(suite.path).exists() else ""
    manifest = outdir.prepare(out_path, settings, suite_text, command)
    storage_url = storage_url_for(out_path, storage)
    all_runs = suite.runs(seeds=seeds, trials=trials, strategies=strategies, exclude=set(missing))
    store = open_storage(storage_url)
    statuses = {r.study_name: run_status(store, r) for r in all_runs}
    todo = [r for r in all_runs if statuses[r.study_name] != "finished"]
    for name, reason in missing.items():
        print(f"Skipping strategy {name!r}: {reason}", file=_stderr())
    if len(todo) < len(all_runs):
        print(
            f"Resuming: {len(all_runs) - len(todo)} of {len(all_runs)} runs finished earlier.",
            file=_stderr(),
        )
    n_workers = workers or default_workers(len(todo))
    outcomes = [RunOutcome(r.study_name, "skipped") for r in all_runs if r not in todo]
    bar = _progress(len(todo), suite.name, progress)
    try:
        outcomes += execute_all(
            todo,
            storage_url,
            workers=n_workers,
            dask=dask,
            on_done=lambda o: bar.update(1) if bar is not None else None,
        )
    finally:
        if bar is not None:
            bar.close()
    results = collect_results(store, all_runs)
    by_name = {o.study_name: o for o in outcomes}
    runs_table = pd.DataFrame(
        [
            {
                "study": r.study_name,
                "problem": r.problem.name,
                "strategy": r.strategy.name,
                "seed": r.seed,
                "role": r.role,
                **{k: v for k, v in by_name[r.study_name].as_dict().items() if k != "study_name"},
            }
            for r in all_runs
        ]
    )
    outdir.write_results(out_path, results, runs_table)
    manifest.update(
        state="complete",
        rows=len(results),
        storage_url=storage_url,
        skipped_strategies=missing,
        finished=datetime_now(),
    )
    outdir.write_manifest(out_path, manifest)
    report_path = None
    if report:
        from optuna_recipes.bench.report import write_report

        report_path = write_report(out_path)
    return BenchResult(out_path, results, runs_table, report_path, missing)


def _is_builtin(suite: Any) -> bool:
    from optuna_recipes.bench.suite import builtin_suites

    path = builtin_suites().get(suite.name)
    return path is not None and Path(suite.path).resolve() == path.resolve()


def datetime_now() -> str:
    from datetime import datetime
    from datetime import timezone

    return datetime.now(timezone.utc).isoformat(timespec="seconds")


def _stderr() -> Any:
    import sys

    return sys.stderr


def _progress(total: int, name: str, enabled: bool) -> Any:
    if not enabled or total == 0:
        return None
    from tqdm.auto import tqdm

    return tqdm(total=total, desc=f"bench {name}", unit="run", file=_stderr(), smoothing=0.1)
