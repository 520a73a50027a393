"""Where a benchmark's studies live: storages opened from a URL, and what a run leaves in them.

:func:`open_storage` turns a URL into an Optuna storage, cached per process and thread:
``sqlite:///``, ``postgresql://``, ``mysql://`` give an ``RDBStorage``; ``redis://`` a Redis
journal; anything else is a journal file path (prefix ``journal:`` optional), written by
:class:`NoSyncJournalFileBackend`. This is the only module of the harness that builds on
Optuna's journal-file internals, and it reaches them only through
:mod:`optuna_recipes._optuna_compat`.

A finished run is written by :func:`write_run` in one batch; its study carries three system
attributes: :data:`RUN_ATTR` (the run's fingerprint, checked on resume), :data:`TIMES_ATTR`
(trial number -> seconds in the sampler and the objective) and :data:`DONE_ATTR` (written last:
the study is complete). :func:`run_status` reads them.

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.bench.storage import batched_writes, open_storage

        url = "bench-out/studies.journal"
        storage = open_storage(url)
        with batched_writes(url):  # one locked append for the whole block
            study = optuna.create_study(storage=storage, study_name="example")
            study.add_trials([optuna.trial.create_trial(value=1.0)])
"""

from __future__ import annotations

from collections.abc import Generator
from collections.abc import Iterator
from contextlib import AbstractContextManager
from contextlib import contextmanager
from contextlib import nullcontext
import json
from pathlib import Path
import sys
import threading
from typing import TYPE_CHECKING
from typing import Any
import warnings

import optuna
from optuna.storages import BaseStorage
from optuna.storages.journal import JournalFileBackend
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial

from optuna_recipes import _optuna_compat as compat
from optuna_recipes._storage_urls import explain_storage_error
from optuna_recipes._storage_urls import normalize_url
from optuna_recipes._storage_urls import storage_kind
from optuna_recipes.bench.integrity import repair_torn_tail
from optuna_recipes.bench.integrity import run_record
from optuna_recipes.bench.integrity import torn_tail_notice

if TYPE_CHECKING:
    from optuna_recipes.bench.suite import RunSpec

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: Optuna's default lock is used instead
    fcntl = None  # type: ignore[assignment]

RUN_ATTR = "optuna_recipes.bench:run"
DONE_ATTR = "optuna_recipes.bench:finished"
TIMES_ATTR = "optuna_recipes.bench:times"
DEFAULT_STORAGE_FILE = "studies.journal"


class RunConflictError(RuntimeError):
    """The storage holds a study of the same name made with other settings."""


class FlockLock(compat.journal_lock_base()):  # type: ignore[misc]
    """A journal-file lock held with ``fcntl.flock`` on ``lock_path`` (POSIX only).

    Optuna's default lock is a symlink retried with exponential back-off: with several worker
    processes on a busy machine, waiters sleep on after the lock is free, and a process killed
    while holding it blocks the others for the lock's grace period. The kernel grants a
    ``flock`` as soon as it is free and releases it when its holder dies.

    Example:
        .. code-block:: python

            from optuna.storages.journal import JournalFileBackend
            from optuna_recipes.bench.storage import FlockLock

            backend = JournalFileBackend("a.journal", lock_obj=FlockLock("a.journal.flock"))
    """

    def __init__(self, lock_path: str) -> None:
        self.path = lock_path
        self.handle: Any = None

    def acquire(self) -> bool:
        self.handle = open(self.path, "a")  # closed in release()
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_EX)
        return True

    def release(self) -> None:
        fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
        self.handle.close()
        self.handle = None


class NoSyncJournalFileBackend(JournalFileBackend):
    """A journal file backend without ``fsync``, whose writes can be gathered in a batch.

    Optuna's ``JournalFileBackend`` calls ``fsync`` on every operation, which on cheap problems
    costs more than the trial itself (``benchmarks/harness_overhead.py`` measures it). Here each
    write still reaches the operating system before the call returns, so a killed process loses
    nothing; only a power cut can lose the last writes, which a benchmark can redo. The file
    format is Optuna's: any ``JournalFileBackend`` reads it.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.storage import NoSyncJournalFileBackend

            storage = optuna.storages.JournalStorage(NoSyncJournalFileBackend("a.journal"))

    Args:
        file_path: The journal file (created when missing).
        lock_obj: The file lock; default Optuna's.
    """

    def __init__(self, file_path: str, lock_obj: Any = None) -> None:
        super().__init__(file_path, lock_obj=lock_obj)
        self._seen = 0  # logs of the file read by this process so far
        self._pending: list[dict[str, Any]] | None = None  # logs of an open batch
        self._base = 0  # logs in the file when the open batch began

    def read_logs(self, log_number_from: int) -> Generator[dict[str, Any], None, None]:
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
        """Append ``logs`` (the caller holds the lock). An incomplete last line can only be
        left by a writer killed halfway: it is cut off first, or it would corrupt our first
        line and make the file unreadable."""
        path = compat.journal_file_path(self)
        removed = repair_torn_tail(path)
        if removed:
            print(torn_tail_notice(path, removed), file=sys.stderr)
        data = "\n".join(json.dumps(log, separators=(",", ":")) for log in logs) + "\n"
        with open(path, "ab") as f:
            f.write(data.encode("utf-8"))

    @contextmanager
    def batch(self, storage: BaseStorage) -> Iterator[None]:
        """Hold the file lock and write everything ``storage`` logs inside in one append.

        Writing a finished run operation by operation re-reads the file after every write; a
        batch reads it once and writes once. The storage sees its own pending operations as if
        written, and nobody else can write meanwhile.
        """
        lock = compat.journal_lock_of(self)
        lock.acquire()
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
            lock.release()


def journal_file_backend(path: str) -> NoSyncJournalFileBackend:
    """The harness's journal file backend for ``path``: no ``fsync``, :class:`FlockLock`
    (``path + ".flock"``) where ``fcntl`` exists, Optuna's default lock elsewhere."""
    if fcntl is None:  # pragma: no cover - Windows
        return NoSyncJournalFileBackend(path)
    return NoSyncJournalFileBackend(path, lock_obj=FlockLock(path + ".flock"))


# Per (URL, thread): a journal storage's replay state and its file lock are not meant to be
# shared by threads that batch their writes (Dask workers may be threads of one process).
_STORAGES: dict[tuple[str, int], BaseStorage] = {}
_BATCHING: dict[tuple[str, int], NoSyncJournalFileBackend] = {}


def _key(url: str) -> tuple[str, int]:
    return url, threading.get_ident()


def _make_storage(url: str) -> tuple[BaseStorage, NoSyncJournalFileBackend | None]:
    from optuna.storages import JournalStorage
    from optuna.storages import RDBStorage
    from optuna.storages.journal import JournalRedisBackend

    kind = storage_kind(url)
    if kind == "rdb":
        url = normalize_url(url)
        kwargs = {"connect_args": {"timeout": 120}} if url.startswith("sqlite:") else {}
        return RDBStorage(url, engine_kwargs=kwargs), None
    if kind == "redis":
        with warnings.catch_warnings():  # "JournalRedisBackend is experimental"
            warnings.simplefilter("ignore", optuna.exceptions.ExperimentalWarning)
            return JournalStorage(JournalRedisBackend(url)), None
    backend = journal_file_backend(url.removeprefix("journal:"))
    return JournalStorage(backend), backend


def open_storage(url: str) -> BaseStorage:
    """A storage from a URL, cached per process and thread (see the module docstring)."""
    key = _key(url)
    storage = _STORAGES.get(key)
    if storage is None:
        storage, backend = _make_storage(url)
        if backend is not None:
            _BATCHING[key] = backend
        _STORAGES[key] = storage
    return storage


def forget_storage(url: str) -> None:
    """Drop this thread's cached storage of ``url``: the next :func:`open_storage` reads it
    afresh (after an interruption that may have left the cached view half-updated)."""
    key = _key(url)
    _STORAGES.pop(key, None)
    _BATCHING.pop(key, None)


def connect(url: str) -> BaseStorage:
    """:func:`open_storage`, with a failure (missing driver, database or server, malformed
    URL, unreadable file) raised as one line that names the fix.

    Raises:
        StorageUnavailableError: the storage cannot be opened.
    """
    try:
        return open_storage(url)
    except Exception as err:
        forget_storage(url)
        raise explain_storage_error(url, err) from err


def batched_writes(storage_url: str) -> AbstractContextManager[Any]:
    """A context in which the storage of ``storage_url`` (from :func:`open_storage`) gathers
    its writes and applies them at once, where it can (the journal file); else no-op."""
    key = _key(storage_url)
    backend, storage = _BATCHING.get(key), _STORAGES.get(key)
    if backend is None or storage is None:
        return nullcontext()
    return backend.batch(storage)


def storage_url_for(out: Path, storage: str | None) -> str:
    """The storage URL of an output folder: ``storage`` or the journal file inside ``out``."""
    if storage:
        return storage
    return str((out / DEFAULT_STORAGE_FILE).resolve())


def jsonable(value: Any) -> Any:
    """``value`` as it reads back from a storage (JSON round trip: tuples become lists)."""
    return json.loads(json.dumps(value))


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
    if stored is not None and stored != jsonable(run.fingerprint()):
        raise RunConflictError(
            f"The storage already holds study {run.study_name!r} made with other settings "
            f"({stored}) than this run ({run.fingerprint()}); use another --out or --storage."
        )
    return "finished" if attrs.get(DONE_ATTR) else "partial"


def stored_record(storage: BaseStorage, study_id: int) -> tuple[dict[str, Any], Any]:
    """The :func:`~optuna_recipes.bench.integrity.run_record` of a study as the storage holds
    it now, and the record its "finished" mark carries (``True`` when written by an older
    version, ``None`` when not finished)."""
    attrs = storage.get_study_system_attrs(study_id)
    trials = storage.get_all_trials(study_id, deepcopy=False)
    return run_record(trials, attrs.get(TIMES_ATTR)), attrs.get(DONE_ATTR)


def write_run(
    storage_url: str,
    run: RunSpec,
    direction: StudyDirection,
    trials: list[FrozenTrial],
    times: dict[int, dict[str, float]],
) -> dict[str, Any]:
    """Write a finished run's study in one batch (one append to a journal file, one transaction
    in a relational database): fingerprint, trials, timings, then the "finished" mark, which
    carries the run's record as read back (a study without the mark is redone on resume).

    Returns:
        The run's :func:`~optuna_recipes.bench.integrity.run_record`.
    """
    from optuna.storages import RDBStorage

    storage = open_storage(storage_url)
    fingerprint = jsonable(run.fingerprint())
    stored_times = {str(n): t for n, t in times.items()}
    with batched_writes(storage_url):
        study = optuna.create_study(
            storage=storage, study_name=run.study_name, direction=direction
        )
        study_id = compat.study_id_of(study)
        if isinstance(storage, RDBStorage):
            attrs = {RUN_ATTR: fingerprint, TIMES_ATTR: stored_times}
            compat.rdb_add_finished_trials(storage, study_id, trials, attrs)
        else:
            storage.set_study_system_attr(study_id, RUN_ATTR, fingerprint)
            study.add_trials(trials)
            storage.set_study_system_attr(study_id, TIMES_ATTR, stored_times)
        record, _ = stored_record(storage, study_id)
        storage.set_study_system_attr(study_id, DONE_ATTR, record)
    return record
