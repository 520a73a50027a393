"""The one seam between optuna-recipes and Optuna's private API.

Optuna's public API does not expose everything a sampler or a benchmark runner needs: a study's
storage and id, a trial's id, the cached list of trials a sampler is meant to read, or the lock
of a journal file. Every access to such a private name goes through a function of this module,
so that an Optuna release that moves one breaks one file, and the tests of this module say
which. Nothing else in the package may touch an underscored Optuna attribute or module.

The supported range is ``optuna>=5.0,<6`` (see ``pyproject.toml``); CI also runs this module's
tests (``tests/test_optuna_compat.py``) and others against the lowest supported release
(``.ci/lowest-optuna``).

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes import _optuna_compat as compat

        study = optuna.create_study()
        study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
        print(len(compat.get_trials(study)), compat.is_multi_objective(study))
"""

from __future__ import annotations

from collections.abc import Container
from contextlib import AbstractContextManager
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.trial import FrozenTrial
from optuna.trial import TrialState


def storage_of(study: optuna.Study) -> BaseStorage:
    """The storage object ``study`` reads and writes (``study._storage``)."""
    return study._storage


def study_id_of(study: optuna.Study) -> int:
    """The storage's id of ``study`` (``study._study_id``)."""
    return study._study_id


def trial_id_of(trial: FrozenTrial | optuna.Trial) -> int:
    """The storage's id of a frozen or live trial (``trial._trial_id``)."""
    return trial._trial_id


def get_trials(
    study: optuna.Study,
    *,
    states: Container[TrialState] | None = None,
    deepcopy: bool = False,
    use_cache: bool = True,
) -> list[FrozenTrial]:
    """The study's trials the way Optuna's own samplers read them.

    ``study.get_trials`` has no ``use_cache`` argument; samplers read through the private
    ``_get_trials`` so that repeated reads inside one trial hit the storage's cache.
    """
    return study._get_trials(deepcopy=deepcopy, states=states, use_cache=use_cache)


def is_multi_objective(study: optuna.Study) -> bool:
    """Whether ``study`` has more than one objective."""
    return len(study.directions) > 1


def set_trial_system_attr(study: optuna.Study, trial: Any, key: str, value: Any) -> None:
    """Write a system attribute of ``trial`` (frozen or live) through the study's storage."""
    study._storage.set_trial_system_attr(trial._trial_id, key, value)


def get_trial_system_attrs(study: optuna.Study, trial: Any) -> dict[str, Any]:
    """The system attributes of ``trial`` (frozen or live) as the storage holds them now."""
    return study._storage.get_trial_system_attrs(trial._trial_id)


def set_study_system_attr(study: optuna.Study, key: str, value: Any) -> None:
    """Write a system attribute of ``study`` through its storage."""
    study._storage.set_study_system_attr(study._study_id, key, value)


def get_study_system_attrs(study: optuna.Study) -> dict[str, Any]:
    """The system attributes of ``study`` as its storage holds them now."""
    return study._storage.get_study_system_attrs(study._study_id)


# --- journal files ---------------------------------------------------------------------------


def journal_lock_base() -> type:
    """Optuna's base class of journal-file locks (``journal._file.BaseJournalFileLock``)."""
    from optuna.storages.journal._file import BaseJournalFileLock

    return BaseJournalFileLock


def journal_locked(lock: Any) -> AbstractContextManager[Any]:
    """A context manager holding a journal-file lock (``journal._file.get_lock_file``)."""
    from optuna.storages.journal._file import get_lock_file

    return get_lock_file(lock)


def journal_file_path(backend: Any) -> str:
    """The path of the file behind a ``JournalFileBackend``."""
    return backend._file_path


def journal_lock_of(backend: Any) -> Any:
    """The lock object of a ``JournalFileBackend``."""
    return backend._lock
