"""What a resumed benchmark may trust: the storage opened and checked, the finished runs verified.

Before a run starts, :func:`open_checked` opens the storage: a journal file cut by a crash is
repaired (one-line notice), a journal that cannot be read back is named with the fix, a server
that cannot be reached is one line. :func:`plan_runs` then sorts the suite's runs into finished
and to do, and checks every finished run against the record its study carries and the one the
output folder's manifest keeps (:mod:`~optuna_recipes.bench.integrity`): a run that changed or
went missing stops the benchmark with the file and the fix, instead of giving other results.

Example:
    .. code-block:: python

        from optuna_recipes.bench.resume import open_checked, plan_runs
        from optuna_recipes.bench.suite import load_suite

        url = "bench-out/quick/studies.journal"
        storage = open_checked(url)
        runs = load_suite("quick").runs(seeds=1)
        plan = plan_runs(storage, url, runs, records={})
        print(len(plan.todo), "runs to do")
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from pathlib import Path
import sys
from typing import Any

from optuna.storages import BaseStorage

from optuna_recipes import _optuna_compat as compat
from optuna_recipes._redact import redact
from optuna_recipes._storage_urls import storage_kind
from optuna_recipes.bench.integrity import StateDamagedError
from optuna_recipes.bench.integrity import first_bad_line
from optuna_recipes.bench.integrity import last_line_problem
from optuna_recipes.bench.integrity import repair_torn_tail
from optuna_recipes.bench.integrity import torn_tail_notice
from optuna_recipes.bench.storage import RunConflictError
from optuna_recipes.bench.storage import connect
from optuna_recipes.bench.storage import forget_storage
from optuna_recipes.bench.storage import journal_file_backend
from optuna_recipes.bench.storage import open_storage
from optuna_recipes.bench.storage import run_status
from optuna_recipes.bench.storage import stored_record
from optuna_recipes.bench.suite import RunSpec


def journal_path(url: str) -> str | None:
    """The file behind a journal-file storage URL, else ``None``."""
    return url.removeprefix("journal:") if storage_kind(url) == "journal" else None


def damage_fix(url: str, out: Path | None) -> str:
    """How to recover from a damaged storage, in one sentence."""
    path = journal_path(url)
    if path is not None:
        where = f"move {str(out)!r} away and " if out is not None else ""
        return (
            f"Restore {path} from a backup, or {where}run the command again into a new "
            "--out folder (every run is redone from its seed)."
        )
    return (
        "Delete the damaged studies from the storage (`optuna delete-study --storage URL "
        "--study-name NAME`) and run the command again into a new --out folder (they are "
        "redone from their seeds)."
    )


def open_checked(url: str, out: Path | None = None) -> BaseStorage:
    """Open the storage of ``url`` for a run or a resume.

    A journal file's incomplete last line (a write killed halfway) is cut off with a notice on
    stderr; its run has no "finished" mark and is redone. The storage is read from its start,
    not from this process's cache.

    Raises:
        StateDamagedError: the journal file cannot be read back.
        StorageUnavailableError: the storage cannot be opened (driver, database, server).
    """
    forget_storage(url)  # read it afresh: a view cached by this process hides what changed
    path = journal_path(url)
    if path is None or not Path(path).exists():
        return connect(url)
    backend = journal_file_backend(path)
    with compat.journal_locked(compat.journal_lock_of(backend)):  # no write is half done
        removed = repair_torn_tail(path)
        last = last_line_problem(path)
    if removed:
        print(torn_tail_notice(path, removed), file=sys.stderr)
    error: Exception | None = None
    if last is None:
        try:
            return open_storage(url)
        except Exception as err:
            forget_storage(url)
            error = err
    bad = first_bad_line(path)
    what = f"line {bad[0]}: {bad[1]}" if bad else (last or f"it cannot be read back: {error}")
    raise StateDamagedError(
        f"{path} is damaged ({what}); no run was started. {damage_fix(url, out)}"
    ) from error


@dataclass
class RunPlan:
    """The suite's runs split into those to do and those finished (with their records).

    Example:
        .. code-block:: python

            plan = plan_runs(storage, url, runs, records={})
            print([r.study_name for r in plan.todo], sorted(plan.finished))
    """

    todo: list[RunSpec]
    finished: dict[str, dict[str, Any]] = field(default_factory=dict)


def plan_runs(
    storage: BaseStorage,
    url: str,
    runs: Sequence[RunSpec],
    records: dict[str, Any],
    out: Path | None = None,
) -> RunPlan:
    """The runs not finished in the storage, and the verified records of those finished.

    ``records``: the manifest's records of runs finished earlier.

    Raises:
        StateDamagedError: a finished run differs from its records, or a run the manifest
            records as finished is missing or unfinished in the storage.
        RunConflictError: the storage holds a study of a run's name made with other settings.
    """
    plan = RunPlan(todo=[])
    damaged: list[str] = []
    for run in runs:
        name = run.study_name
        try:
            status = run_status(storage, run)
        except RunConflictError:
            if name not in records:
                raise
            damaged.append(f"{name} (its settings changed)")
            continue
        if status != "finished":
            if name in records:
                damaged.append(f"{name} (finished earlier, now {status} in the storage)")
            plan.todo.append(run)
            continue
        actual, marked = stored_record(storage, storage.get_study_id_from_name(name))
        expected = [r for r in (marked, records.get(name)) if isinstance(r, dict)]
        if any(r != actual for r in expected):
            damaged.append(f"{name} ({_difference(actual, expected)})")
        plan.finished[name] = actual
    if damaged:
        shown = "; ".join(damaged[:3]) + (
            f"; and {len(damaged) - 3} more" if len(damaged) > 3 else ""
        )
        where = journal_path(url) or redact(url)
        raise StateDamagedError(
            f"{where} lost or changed {len(damaged)} finished run(s): {shown}. No run was "
            f"started, so results cannot silently differ. {damage_fix(url, out)}"
        )
    return plan


def _difference(actual: dict[str, Any], expected: list[dict[str, Any]]) -> str:
    trials = {r.get("trials") for r in expected}
    if actual["trials"] not in trials:
        written = " or ".join(str(t) for t in sorted(t for t in trials if t is not None))
        return (
            f"{actual['trials']} trials, {written or 'a different number of trials'} were written"
        )
    return "its trials differ from what was written"


def verify_journal(out: Path, manifest: dict[str, Any]) -> None:
    """Check the runs the manifest records against the folder's own journal file (``bench
    report``); does nothing for another storage (its URL's password is not kept).

    Raises:
        StateDamagedError: see :func:`plan_runs` and :func:`open_checked`.
    """
    from optuna_recipes.bench.storage import DEFAULT_STORAGE_FILE

    path = out / DEFAULT_STORAGE_FILE
    records = manifest.get("runs") or {}
    if manifest.get("storage") or not records or not path.exists():
        return
    url = str(path.resolve())
    storage = open_checked(url, out)
    damaged = []
    for name, record in records.items():
        try:
            study_id = storage.get_study_id_from_name(name)
        except KeyError:
            damaged.append(f"{name} (missing)")
            continue
        actual, _ = stored_record(storage, study_id)
        if actual != record:
            damaged.append(f"{name} ({_difference(actual, [record])})")
    if damaged:
        raise StateDamagedError(
            f"{url} lost or changed {len(damaged)} finished run(s): "
            f"{'; '.join(damaged[:3])}. {damage_fix(url, out)}"
        )
