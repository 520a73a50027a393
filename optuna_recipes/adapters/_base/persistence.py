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
from optuna.trial import TrialState

from optuna_recipes.adapters._base.rounds import ATTR_BEST_ITERATION
from optuna_recipes.adapters._base.rounds import ATTR_FOLD_SCORES

#: The ``format`` field of every file :func:`save_best` writes.
FORMAT = "optuna_recipes.adapters.best/1"

BestSource = tuple[dict[str, Any], int | None, FrozenTrial | None, optuna.Study | None]


class SavableObjective(Protocol):
    """What persistence needs of an objective (every :class:`BaseObjective` has it)."""

    @property
    def library(self) -> str: ...

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
    """Read a file written by :func:`save_best`; pass the result to ``objective.refit`` or
    ``objective.best_estimator``.

    Raises ``ValueError`` naming the file when it is not text, not JSON, or not a
    :func:`save_best` record (and ``FileNotFoundError`` when it does not exist).

    Example:
        .. code-block:: python

            from optuna_recipes.adapters import load_best

            record = load_best("best.json")
            record["params"], record["best_iteration"]
    """
    target = Path(path)
    if target.is_dir():
        raise ValueError(f"{path} is a folder; pass the JSON file written by save_best.")
    try:
        record = json.loads(target.read_text(encoding="utf-8"))
    except UnicodeDecodeError as err:
        raise ValueError(
            f"{path} is not a text file ({err.reason} at byte {err.start}); pass the JSON file "
            "written by save_best (a model file is read by the objective's `load_model`)."
        ) from err
    except json.JSONDecodeError as err:
        raise ValueError(f"{path} is not valid JSON: {err}") from err
    if not isinstance(record, dict) or record.get("format") != FORMAT:
        raise ValueError(
            f"{path} was not written by optuna_recipes.adapters.save_best (expected "
            f"format {FORMAT!r})."
        )
    return record


def model_file(
    json_path: str | os.PathLike[str], name: str, *, allow_outside: bool = False
) -> Path:
    """The model file ``name`` that a :func:`save_best` record at ``json_path`` refers to.

    Relative names are resolved against the JSON file's folder (not the working directory).
    A name that leads outside that folder (an absolute path, ``..``, a link) is refused unless
    ``allow_outside=True``: a JSON file from elsewhere must not make a program read arbitrary
    files.

    Example:
        .. code-block:: python

            from optuna_recipes.adapters._base.persistence import model_file

            model_file("runs/best.json", "best.pt")  # Path("runs/best.pt"), resolved
    """
    folder = Path(json_path).resolve().parent
    if not isinstance(name, str) or not name:
        raise ValueError(f"{json_path} names no model file (got {name!r}).")
    target = (folder / name).resolve()
    if not allow_outside and not target.is_relative_to(folder):
        raise ValueError(
            f"{json_path} refers to the model file {target}, outside its folder {folder}; pass "
            "`allow_outside=True` if you trust this JSON file."
        )
    if not target.is_file():
        raise FileNotFoundError(
            f"{json_path} refers to the model file {target}, which is missing."
        )
    return target


def best_configuration(source: Any, library: str) -> BestSource:
    """``(params, rounds, trial, study)`` of what ``refit``/``best_estimator`` was given: a
    study (its best trial), a complete ``FrozenTrial``, a :func:`load_best` record (refused
    when it is for another ``library``) or a plain parameter dict (``rounds`` ``None``)."""
    if isinstance(source, optuna.Study):
        trial = source.best_trial
        return dict(trial.params), _rounds_of(trial), trial, source
    if isinstance(source, FrozenTrial):
        if source.state != TrialState.COMPLETE:
            raise ValueError(f"Trial {source.number} is {source.state.name}, not COMPLETE.")
        return dict(source.params), _rounds_of(source), source, None
    if isinstance(source, Mapping):
        if source.get("format") == FORMAT:
            if source.get("library") not in (None, library):
                raise ValueError(
                    f"These best parameters are for {source.get('library')}, not {library}."
                )
            it = source.get("best_iteration")
            return dict(source["params"]), None if it is None else int(it) + 1, None, None
        return dict(source), None, None, None
    raise ValueError(
        "`refit` takes a study, a FrozenTrial, the dict from `load_best` or a parameter "
        f"dict; got {type(source).__name__}."
    )


def _rounds_of(trial: FrozenTrial) -> int | None:
    it = trial.user_attrs.get(ATTR_BEST_ITERATION)
    return None if it is None else int(it) + 1
