"""Model-tuning problems through the project's adapters (XGBoost, LightGBM).

The adapter objective already is what the harness needs: ``objective(trial) -> float``, a
``direction``, and the fold-mean metric reported every boosting round (a learning curve for
pruner comparisons). So the problem is a thin :class:`FunctionProblem` around it.
"""

from __future__ import annotations

from typing import Any

from optuna_recipes._imports import optional_import
from optuna_recipes.bench.problems._base import FunctionProblem
from optuna_recipes.bench.problems.sklearn_tasks import DATASETS
from optuna_recipes.bench.problems.sklearn_tasks import _load
from optuna_recipes.bench.problems.sklearn_tasks import _subsample
from optuna_recipes.bench.problems.synthetic import _check_int

LIBRARIES = {"xgboost": "XGBoostObjective", "lightgbm": "LightGBMObjective"}


class AdapterProblem(FunctionProblem):
    """Tune XGBoost or LightGBM with the project's adapter on a dataset shipped with scikit-learn.

    The adapter's default search space, metric (inferred from the task) and early stopping are
    used; every boosting round reports the cross-validated metric, so the problem has a learning
    curve of ``num_boost_round`` steps. Task ``k > 0`` of a family uses another 70% subsample.
    Choose it to benchmark strategies on the models users actually tune.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.adapters import AdapterProblem

            problem = AdapterProblem("xgboost", "breast_cancer", num_boost_round=50)
            study = optuna.create_study(direction=problem.direction)
            study.optimize(problem, n_trials=5)

    Args:
        library: ``"xgboost"`` or ``"lightgbm"``. Default ``"xgboost"``.
        dataset: One of ``breast_cancer``, ``digits``, ``wine``, ``iris``, ``diabetes``.
            Default ``"breast_cancer"``.
        cv: Number of cross-validation folds (>= 2). Default 3.
        num_boost_round: Maximum boosting rounds (the learning-curve length, >= 2). Default 100.
        early_stopping_rounds: Rounds without improvement before stopping (>= 1). Default 20.
        task: Task index in the family (0: the whole dataset). Default 0.
        sources: Number of related source tasks. Default 0.
    """

    def __init__(
        self,
        library: str = "xgboost",
        dataset: str = "breast_cancer",
        cv: int = 3,
        num_boost_round: int = 100,
        early_stopping_rounds: int = 20,
        task: int = 0,
        sources: int = 0,
    ) -> None:
        if library not in LIBRARIES:
            raise ValueError(f"`library` must be one of {tuple(LIBRARIES)}, got {library!r}.")
        if dataset not in DATASETS:
            raise ValueError(f"`dataset` must be one of {DATASETS}, got {dataset!r}.")
        _check_int("cv", cv, 2)
        _check_int("num_boost_round", num_boost_round, 2)
        _check_int("early_stopping_rounds", early_stopping_rounds, 1)
        self.task = _check_int("task", task, 0)
        self.sources = _check_int("sources", sources, 0)
        module = optional_import(
            f"optuna_recipes.adapters.{library}", extra=library, feature=f"The {library} problem"
        )
        X, y, _ = _load(dataset)
        X, y = _subsample(X, y, self.task, 0.7 if self.task else 1.0)
        objective = getattr(module, LIBRARIES[library])(
            X,
            y,
            cv=cv,
            num_boost_round=num_boost_round,
            early_stopping_rounds=early_stopping_rounds,
            seed=0,
            n_jobs=1,
        )
        super().__init__(objective, n_steps=num_boost_round)

    def source_tasks(self) -> list[dict[str, Any]]:
        return [{"task": k} for k in range(1, self.sources + 1)]
