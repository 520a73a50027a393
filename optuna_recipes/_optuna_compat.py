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


# --- relational databases --------------------------------------------------------------------


def rdb_add_finished_trials(
    storage: BaseStorage,
    study_id: int,
    trials: list[FrozenTrial],
    study_system_attrs: dict[str, Any] | None = None,
) -> None:
    """Add finished ``trials`` (numbered 0, 1, ...) and study system attributes to an empty
    study of an ``RDBStorage``, in one transaction (``optuna.storages._rdb.models``).

    ``Study.add_trials`` writes trial by trial, about twenty statements and a commit each; a
    benchmark run written at its end needs one insert per table. The rows are the ones
    ``RDBStorage.create_new_trial(template_trial=...)`` writes (trial rows through Optuna's
    model, which stores datetimes its way), so Optuna reads them back the same; a failure rolls
    everything back.
    """
    import json

    from optuna.storages._rdb import models
    from sqlalchemy import insert

    session = storage.scoped_session()  # type: ignore[attr-defined]
    try:
        rows = [
            models.TrialModel(
                study_id=study_id,
                number=t.number,
                state=t.state,
                datetime_start=t.datetime_start,
                datetime_complete=t.datetime_complete,
            )
            for t in trials
        ]
        session.add_all(rows)
        session.flush()  # assigns the trial ids
        ids = [(row.trial_id, t) for row, t in zip(rows, trials, strict=True)]
        tables = _rdb_trial_rows(models, ids)
        tables[models.StudySystemAttributeModel] = [
            {"study_id": study_id, "key": k, "value_json": json.dumps(v)}
            for k, v in (study_system_attrs or {}).items()
        ]
        for model, values in tables.items():
            if values:  # one multi-row insert per table
                session.execute(insert(model.__table__), values)
        session.commit()
    except BaseException:
        session.rollback()
        raise
    finally:
        session.close()


def _rdb_trial_rows(models: Any, trials: list[tuple[int, FrozenTrial]]) -> dict[Any, list[Any]]:
    """Per table: the value, parameter, intermediate value and attribute rows of the trials
    (pairs of trial id and trial)."""
    import json

    from optuna.distributions import distribution_to_json

    tables: dict[Any, list[Any]] = {
        m: []
        for m in (
            models.TrialValueModel,
            models.TrialParamModel,
            models.TrialIntermediateValueModel,
            models.TrialUserAttributeModel,
            models.TrialSystemAttributeModel,
        )
    }
    value_repr = models.TrialValueModel.value_to_stored_repr
    step_repr = models.TrialIntermediateValueModel.intermediate_value_to_stored_repr
    for trial_id, t in trials:
        for objective, value in enumerate(t.values or []):
            stored, kind = value_repr(value)
            tables[models.TrialValueModel].append(
                {"trial_id": trial_id, "objective": objective, "value": stored, "value_type": kind}
            )
        for name, value in t.params.items():
            dist = t.distributions[name]
            tables[models.TrialParamModel].append(
                {
                    "trial_id": trial_id,
                    "param_name": name,
                    "param_value": dist.to_internal_repr(value),
                    "distribution_json": distribution_to_json(dist),
                }
            )
        for step, value in t.intermediate_values.items():
            stored, kind = step_repr(value)
            tables[models.TrialIntermediateValueModel].append(
                {
                    "trial_id": trial_id,
                    "step": step,
                    "intermediate_value": stored,
                    "intermediate_value_type": kind,
                }
            )
        for model, attrs in (
            (models.TrialUserAttributeModel, t.user_attrs),
            (models.TrialSystemAttributeModel, t.system_attrs),
        ):
            tables[model] += [
                {"trial_id": trial_id, "key": k, "value_json": json.dumps(v)}
                for k, v in attrs.items()
            ]
    return tables
