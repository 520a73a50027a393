"""Objective adapters: one call from training data to a tuned, pruned, reproducible model.

``XGBoostObjective`` (:mod:`optuna_recipes.adapters.xgboost`) and ``LightGBMObjective``
(:mod:`optuna_recipes.adapters.lightgbm`) turn data + task + metric + validation scheme into an
Optuna objective with literature-backed default search spaces (:mod:`.spaces`), per-round
reporting (so every Optuna pruner works), early stopping, a fitted scikit-learn estimator of
the best configuration (``objective.best_estimator(study)``), refit and JSON export of the best
configuration (:func:`save_best`, :func:`load_best`), and a pruner for boosting rounds
(:func:`boosting_pruner`, also ``objective.recommended_pruner()``; defined in
:mod:`optuna_recipes.pruners`). ``XGBoostPruningCallback`` and ``LightGBMPruningCallback`` prune
the user's own training loops. ``TorchObjective`` (:mod:`optuna_recipes.adapters.torch`, with a
Keras-style ``Model``) tunes PyTorch networks and their training, and ``SklearnObjective``
(:mod:`optuna_recipes.adapters.sklearn`) any scikit-learn estimator or pipeline. All share the
library-agnostic core in :mod:`optuna_recipes.adapters._base` (:class:`BaseObjective`).

Importing this package does not import XGBoost, LightGBM, PyTorch or scikit-learn: the library
modules are imported on first use, with an ``ImportError`` naming
``pip install optuna-recipes[xgboost]`` (or ``[lightgbm]``, ``[torch]``) when the library is
missing.

Example:
    .. code-block:: python

        import optuna
        from sklearn.datasets import load_breast_cancer
        from optuna_recipes.adapters import XGBoostObjective

        X, y = load_breast_cancer(return_X_y=True)
        objective = XGBoostObjective(
            X, y, metric="roc_auc", num_boost_round=100, cv=3, timeout=30, verbose=1
        )
        study = optuna.create_study(direction=objective.direction)
        study.optimize(objective, n_trials=10, timeout=300)  # study budget: 5 minutes
        model = objective.best_estimator(study)  # a fitted XGBClassifier: model.predict(X)

Budgets, progress and threads are shared settings of every objective: ``timeout=`` (seconds
per trial; the trial completes with its best value so far, user attr ``timed_out``) with
``study.optimize(timeout=...)`` for the whole study; ``verbose=1``/``2`` logs trial starts,
ends and progress through Optuna's logging; ``n_jobs`` (default: half the CPUs, shared among
the trials running at once) keeps the libraries from oversubscribing the machine;
``sample_weight=`` weighs training and the validation metric. A study whose direction is not
the objective's is refused on the first trial.
"""

from __future__ import annotations

from optuna_recipes._imports import lazy_exports
from optuna_recipes.adapters._base.objective import BaseObjective
from optuna_recipes.adapters._base.persistence import load_best
from optuna_recipes.adapters._base.persistence import save_best
from optuna_recipes.pruners._boosting import BoostingPruner
from optuna_recipes.pruners._boosting import boosting_pruner

_LAZY: dict[str, str] = {
    "XGBoostObjective": "optuna_recipes.adapters.xgboost",
    "XGBoostPruningCallback": "optuna_recipes.adapters.xgboost",
    "LightGBMObjective": "optuna_recipes.adapters.lightgbm",
    "LightGBMPruningCallback": "optuna_recipes.adapters.lightgbm",
    "TorchObjective": "optuna_recipes.adapters.torch",
    "SklearnObjective": "optuna_recipes.adapters.sklearn",
}

__all__ = ["BaseObjective", "BoostingPruner", "boosting_pruner", "load_best", "save_best", *_LAZY]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
