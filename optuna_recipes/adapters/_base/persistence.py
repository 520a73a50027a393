"""The best configuration as JSON (:func:`save_best`, :func:`load_best`) and refit models as
Optuna artifacts (:func:`upload_model_artifact`).

Example:
    .. code-block:: python

        import optuna
        from sklearn.datasets import load_breast_cancer
        from optuna_recipes.adapters import load_best, save_best
        from optuna_recipes.adapters.xgboost import XGBoostObjective

        X, y = load_breast_cancer(return_X_y=True)
        objective = XGBoostObjective(X, y, num_boost_round=50, cv=3, n_jobs=1)
        study = optuna.create_study(direction=objective.direction)
        study.optimize(objective, n_trials=5)
        save_best(study, "best.json", objective=objective)
        booster = objective.refit(load_best("best.json"))
"""

from __future__ import annotations

from collections.abc import Mapping
import datetime
import json
import os
from pathlib import Path
import tempfile
from typing import Any
from typing import Protocol

import numpy as np
import optuna
from optuna.trial import FrozenTrial

from optuna_recipes.adapters._base.rounds import ATTR_BEST_ITERATION
from optuna_recipes.adapters._base.rounds import ATTR_FOLD_SCORES

#: The ``format`` field of every file :func:`save_best` writes.
FORMAT = "optuna_recipes.adapters.best/1"


class SavableObjective(Protocol):
    """What persistence needs of an objective (every :class:`BaseObjective` has it)."""

    library: str

    def describe(self) -> dict[str, Any]: ...

    def refit(self, study_or_params: Any) -> Any: ...

    def save_model(self, model: Any, path: str) -> str: ...


def jsonable(value: Any) -> Any:
    """``value`` with NumPy scalars/arrays and tuples turned into JSON types (else ``repr``)."""
    if isinstance(value, Mapping):
        return {str(k): jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


def upload_model_artifact(
    objective: SavableObjective,
    model: Any,
    study: optuna.Study,
    trial: FrozenTrial,
    artifact_store: Any,
) -> str:
    """Serialize ``model`` and upload it as an Optuna artifact; return the artifact id.

    Optuna 5 storages refuse attributes on finished trials, so the refit model of a finished
    best trial is attached to the study (optuna-dashboard lists it under the study's artifacts);
    its file name carries the library and the trial number (``xgboost-best-trial12.json``).
    """
    from optuna.artifacts import upload_artifact

    with tempfile.TemporaryDirectory() as tmp:
        base = os.path.join(tmp, f"{objective.library}-best-trial{trial.number}")
        path = objective.save_model(model, base)
        return upload_artifact(
            artifact_store=artifact_store,
            file_path=path,
            study_or_trial=study,
        )


def _trial_record(study: optuna.Study) -> dict[str, Any]:
    from optuna_recipes import __version__

    trial = study.best_trial
    return {
        "format": FORMAT,
        "params": jsonable(trial.params),
        "value": trial.value,
        "direction": study.direction.name.lower(),
        "best_iteration": trial.user_attrs.get(ATTR_BEST_ITERATION),
        "fold_scores": trial.user_attrs.get(ATTR_FOLD_SCORES),
        "trial_number": trial.number,
        "study_name": study.study_name,
        "optuna_version": optuna.__version__,
        "optuna_recipes_version": __version__,
        "created": datetime.datetime.now(datetime.timezone.utc).isoformat(timespec="seconds"),
    }


def save_best(
    study: optuna.Study,
    path: str | os.PathLike[str],
    *,
    objective: SavableObjective | None = None,
    artifact_store: Any = None,
    extra: Mapping[str, Any] | None = None,
) -> dict[str, Any]:
    """Write the study's best configuration as JSON and return what was written.

    The file holds the searched ``params``, ``value``, ``direction``, ``best_iteration``, the
    trial number, the Optuna and optuna-recipes versions and, with ``objective``, the library and
    its version, task, metric, data shape, classes, seed, fixed parameters and validation
    scheme: enough to rebuild the model with ``objective.refit(load_best(path))``. With
    ``artifact_store`` (and ``objective``), the refit model is uploaded as an Optuna artifact
    of the study named after the best trial, and its id recorded as ``model_artifact_id``.

    Example:
        .. code-block:: python

            import optuna
            from sklearn.datasets import load_breast_cancer
            from optuna_recipes.adapters import load_best, save_best
            from optuna_recipes.adapters.xgboost import XGBoostObjective

            X, y = load_breast_cancer(return_X_y=True)
            objective = XGBoostObjective(X, y, num_boost_round=50, cv=3)
            study = optuna.create_study(direction=objective.direction)
            study.optimize(objective, n_trials=5)
            save_best(study, "best.json", objective=objective)
            booster = objective.refit(load_best("best.json"))

    Args:
        study: A study with at least one complete trial.
        path: JSON file to write (parent folders are created).
        objective: The objective the study optimized (adds library, task, metric, data shape).
        artifact_store: Optuna artifact store to upload the refit model to; needs ``objective``.
        extra: More JSON-serializable fields to record (e.g. the file of saved weights).
    """
    record = _trial_record(study)
    if objective is not None:
        info = objective.describe()
        if info["direction"] != record["direction"]:
            raise ValueError(
                f"The study's direction is {record['direction']} but the objective's metric "
                f"{info['metric']!r} is to {info['direction']}; pass the objective that the "
                "study optimized."
            )
        record.update(info)
    if artifact_store is not None:
        if objective is None:
            raise ValueError("`artifact_store` needs `objective=` to refit the model to upload.")
        model = objective.refit(study)
        record["model_artifact_id"] = upload_model_artifact(
            objective, model, study, study.best_trial, artifact_store
        )
    record.update(jsonable(dict(extra or {})))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def load_best(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a file written by :func:`save_best`; pass the result to ``objective.refit``.

    Raises ``ValueError`` when the file is not a :func:`save_best` record.

    Example:
        .. code-block:: python

            from optuna_recipes.adapters import load_best

            record = load_best("best.json")
            record["params"], record["best_iteration"]
    """
    try:
        record = json.loads(Path(path).read_text())
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(
            f"{path} was not written by optuna_recipes.adapters.save_best (expected "
            f"format {FORMAT!r})."
        )
    return record
