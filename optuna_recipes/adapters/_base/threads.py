"""Thread counts of the training libraries: ``n_jobs``, and a default that does not oversubscribe.

XGBoost, LightGBM and PyTorch use every core when left alone. On a machine that other work
shares, or when ``study.optimize(n_jobs=k)`` runs several trials at once, their threads then
compete and a study runs many times slower than with fewer threads. The default of every
objective (``n_jobs=None``) is therefore :func:`default_threads`: half the CPUs this process may
use (``os.cpu_count()`` counts logical CPUs, and numerical code gains little from the second
hardware thread of a core, so this is about one thread per physical core), shared among the
trials that the same objective runs at that moment in this process, and at least 1. Nothing in
a process can know about other processes: when several processes tune on one machine, pass
``n_jobs`` explicitly (e.g. ``n_jobs=1``).

Example:
    .. code-block:: python

        from optuna_recipes.adapters._base.threads import ActiveTrials, resolve_n_jobs

        active = ActiveTrials()
        with active:  # one trial running
            resolve_n_jobs(None, active.count)  # half the CPUs, at least 1
        resolve_n_jobs(-1, 1)  # all CPUs
"""

from __future__ import annotations

import numbers
import os
import threading
from typing import Any


def available_cpus() -> int:
    """CPUs this process may run on (its affinity mask where the platform has one)."""
    try:
        return max(1, len(os.sched_getaffinity(0)))
    except (AttributeError, OSError):  # not on Linux
        return max(1, os.cpu_count() or 1)


def default_threads(concurrent_trials: int = 1) -> int:
    """Half the available CPUs divided among ``concurrent_trials``, at least 1."""
    return max(1, available_cpus() // 2 // max(1, concurrent_trials))


def check_n_jobs(n_jobs: Any) -> int | None:
    """Library threads: a non-zero int (negative: all CPUs but ``|n_jobs| - 1``) or ``None``
    (:func:`default_threads`)."""
    ok = isinstance(n_jobs, numbers.Integral) and not isinstance(n_jobs, bool) and n_jobs != 0
    if n_jobs is not None and not ok:
        raise ValueError(
            "`n_jobs` must be a non-zero int or None (threads per trial; -1: all CPUs; None: "
            f"half the CPUs, shared among concurrent trials); got {n_jobs!r}."
        )
    return None if n_jobs is None else int(n_jobs)


def resolve_n_jobs(n_jobs: int | None, concurrent_trials: int = 1) -> int:
    """The number of threads ``n_jobs`` stands for (see :func:`check_n_jobs`)."""
    if n_jobs is None:
        return default_threads(concurrent_trials)
    if n_jobs < 0:
        return max(1, available_cpus() + 1 + n_jobs)
    return n_jobs


class ActiveTrials:
    """How many trials an objective is running at this moment in this process (a context
    manager around each call); picklable (the lock is recreated).

    Example:
        .. code-block:: python

            from optuna_recipes.adapters._base.threads import ActiveTrials

            active = ActiveTrials()
            with active:
                active.count  # 1
    """

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self.count = 0

    def __enter__(self) -> ActiveTrials:
        with self._lock:
            self.count += 1
        return self

    def __exit__(self, *exc: Any) -> None:
        with self._lock:
            self.count -= 1

    def __getstate__(self) -> dict[str, Any]:
        return {}

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__init__()  # type: ignore[misc]
