"""State integrity: checksums of finished runs, and the repair of a journal cut by a crash.

A finished run's study carries a *record* (:func:`run_record`): its number of finished trials
and a SHA-256 of everything the results table is computed from (states, values, parameters,
intermediate values, times relative to the run's start, the sampler/objective timings). The
runner stores it in the study when the run is written, and in the output folder's manifest when
the run is reported back; a resume or a report recomputes it from the storage, so a storage that
lost or changed a run is named instead of silently giving other results.

A journal file is appended to one batch at a time under a lock; a process killed in the middle
of a write leaves an incomplete last line, which :func:`repair_torn_tail` removes (the batch it
belonged to has no "finished" mark, so its run is redone). Any other damage, such as a line
edited or removed in the middle, is an error that names the file and the fix.

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.bench.integrity import run_record

        study = optuna.create_study()
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
        print(run_record(study.trials, {}))  # {'trials': 3, 'sha256': '...'}
"""

from __future__ import annotations

from collections.abc import Sequence
import datetime
import hashlib
import json
import os
from typing import Any

from optuna.trial import FrozenTrial

from optuna_recipes.bench.outdir import OutputFolderError

_MICROSECOND = datetime.timedelta(microseconds=1)


class StateDamagedError(OutputFolderError):
    """A storage or results file of a benchmark folder was changed or damaged; the message
    names the file and the fix."""


def _offset(when: datetime.datetime | None, start: datetime.datetime | None) -> int | None:
    if when is None or start is None:
        return None
    return (when - start) // _MICROSECOND


def run_record(trials: Sequence[FrozenTrial], times: dict[str, Any] | None) -> dict[str, Any]:
    """``{"trials": n, "sha256": ...}`` of a run's finished trials and timings.

    Datetimes enter as offsets from the run's first start: storages return them in the reading
    process's local time, which may differ between the run and its resume.
    """
    finished = sorted((t for t in trials if t.state.is_finished()), key=lambda t: t.number)
    t0 = min((t.datetime_start for t in finished if t.datetime_start), default=None)
    canon = [
        [
            t.number,
            t.state.name,
            t.values,
            {k: [repr(v), type(v).__name__] for k, v in sorted(t.params.items())},
            sorted(t.intermediate_values.items()),
            _offset(t.datetime_start, t0),
            _offset(t.datetime_complete, t0),
        ]
        for t in finished
    ]
    payload = json.dumps([canon, times or {}], sort_keys=True, default=repr)
    return {"trials": len(finished), "sha256": hashlib.sha256(payload.encode()).hexdigest()}


def repair_torn_tail(path: str) -> int:
    """Cut an incomplete last line (no newline: a write killed halfway) off the journal file at
    ``path``; return the number of bytes removed (0 when the file ends cleanly or is missing).

    The caller must hold the journal's lock, so that no write is in progress.
    """
    try:
        size = os.path.getsize(path)
    except FileNotFoundError:
        return 0
    if size == 0:
        return 0
    with open(path, "r+b") as f:
        f.seek(size - 1)
        if f.read(1) == b"\n":
            return 0
        keep = _end_of_last_line(f, size)
        f.truncate(keep)
    return size - keep


def _end_of_last_line(f: Any, size: int) -> int:
    """The offset just after the last newline of the open file ``f`` (0 if it has none)."""
    block = 1 << 16
    end = size
    while end > 0:
        start = max(0, end - block)
        f.seek(start)
        chunk = f.read(end - start)
        i = chunk.rfind(b"\n")
        if i >= 0:
            return start + i + 1
        end = start
    return 0


def torn_tail_notice(path: str, removed: int) -> str:
    """The one-line notice printed after :func:`repair_torn_tail` removed ``removed`` bytes."""
    return (
        f"Repaired {path}: removed an incomplete last line ({removed} bytes) left by a write "
        "that was killed halfway; the run it belonged to is redone."
    )


def last_line_problem(path: str) -> str | None:
    """What is wrong with the last line of a journal file (after :func:`repair_torn_tail`), or
    ``None``. Optuna's reader skips a bad last line silently; the next append would bury it
    and make the whole file unreadable."""
    size = os.path.getsize(path)
    if size == 0:
        return None
    with open(path, "rb") as f:
        start = _end_of_last_line(f, size - 1)
        f.seek(start)
        line = f.read()
    try:
        return None if isinstance(json.loads(line), dict) else "its last line is not an object"
    except ValueError as err:
        return f"its last line is not valid JSON ({err})"


def first_bad_line(path: str) -> tuple[int, str] | None:
    """``(line number, problem)`` of the first line of a journal file that is not a complete
    JSON object, or ``None``."""
    with open(path, "rb") as f:
        for number, line in enumerate(f, start=1):
            if not line.endswith(b"\n"):
                return number, "incomplete line"
            try:
                if not isinstance(json.loads(line), dict):
                    return number, "not a JSON object"
            except ValueError as err:
                return number, f"not valid JSON ({err})"
    return None
