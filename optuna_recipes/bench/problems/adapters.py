"""Model-tuning problems through the project's adapters (XGBoost, LightGBM, PyTorch MLP).

The adapter objective already is what the harness needs: ``objective(trial) -> float``, a
``direction``, and the fold-mean metric reported every boosting round or epoch (a learning
curve for pruner comparisons). So the problem is a thin :class:`FunctionProblem` around it.
"""

from __future__ import annotations

from typing import Any

from optuna_recipes._imports import optional_import
from optuna_recipes.bench.problems._base import FunctionProblem
from optuna_recipes.bench.problems.sklearn_tasks import DATASETS
from optuna_recipes.bench.problems.sklearn_tasks import _load
from optuna_recipes.bench.problems.sklearn_tasks import _subsample
from optuna_recipes.bench.problems.synthetic import _check_int

LIBRARIES = {
    "xgboost": "XGBoostObjective",
    "lightgbm": "LightGBMObjective",
    "torch": "TorchObjective",
}


def _adapter_module(library: str) -> Any:
    """The adapter module of ``library`` (an ``ImportError`` naming the extra if missing)."""
    if library not in LIBRARIES:
        raise ValueError(f"`library` must be one of {tuple(LIBRARIES)}, got {library!r}.")
    return optional_import(
        f"optuna_recipes.adapters.{library}", extra=library, feature=f"The {library} problem"
    )


def _torch_objective(
    module: Any, X: Any, y: Any, classification: bool, cv: float, epochs: int, patience: int
) -> Any:
    """``TorchObjective`` on standardized features with a small ``mlp`` (1-2 layers, 16-256)."""
    from sklearn.preprocessing import StandardScaler
    import torch

    torch.set_num_threads(1)
    X = StandardScaler().fit_transform(X).astype("float32")
    if classification:
        n_out = int(y.max()) + 1
        y = y.astype("int64")
    else:
        n_out = 1
        y = ((y - y.mean()) / y.std()).astype("float32")
    n_in = int(X.shape[1])

    def build_model(trial: Any) -> Any:
        return module.mlp(trial, n_in, n_out, n_layers=(1, 2), units=(16, 256))

    return module.TorchObjective(
        build_model, (X, y), cv=cv, epochs=epochs, patience=patience, seed=0, n_jobs=1
    )


class AdapterProblem(FunctionProblem):
    """Tune XGBoost, LightGBM or a PyTorch MLP with the project's adapters on shipped datasets.

    The adapter's default search space, metric (inferred from the task) and early stopping are
    used; every boosting round (epoch for ``torch``) reports the cross-validated metric, so the
    problem has a learning curve of ``num_boost_round`` (``epochs``) steps. ``torch`` trains
    :func:`optuna_recipes.adapters.torch.mlp` (1-2 hidden layers of 16-256 units, activation,
    dropout, normalization, searched with the default training space) on standardized features
    (regression targets standardized too), one thread. Task ``k > 0`` of a family uses another
    70% subsample. Choose it to benchmark strategies on the models users actually tune.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.adapters import AdapterProblem

            problem = AdapterProblem("xgboost", "breast_cancer", num_boost_round=50)
            study = optuna.create_study(direction=problem.direction)
            study.optimize(problem, n_trials=5)

    Args:
        library: ``"xgboost"``, ``"lightgbm"`` or ``"torch"``. Default ``"xgboost"``.
        dataset: One of ``breast_cancer``, ``digits``, ``wine``, ``iris``, ``diabetes``,
            ``make_classification``, ``make_regression``. Default ``"breast_cancer"``.
        cv: Number of cross-validation folds (>= 2), or a holdout fraction in ``(0, 1)``.
            Default 3.
        num_boost_round: Maximum boosting rounds (the learning-curve length, >= 2). Default 100.
        early_stopping_rounds: Rounds (epochs) without improvement before stopping (>= 1).
            Default 20.
        epochs: ``torch`` only: maximum epochs (the learning-curve length, >= 2). Default 20.
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
        epochs: int = 20,
        task: int = 0,
        sources: int = 0,
    ) -> None:
        if library not in LIBRARIES:
            raise ValueError(f"`library` must be one of {tuple(LIBRARIES)}, got {library!r}.")
        if dataset not in DATASETS:
            raise ValueError(f"`dataset` must be one of {DATASETS}, got {dataset!r}.")
        if isinstance(cv, float):
            if not 0.0 < cv < 1.0:
                raise ValueError(f"`cv` must be an int >= 2 or a fraction in (0, 1), got {cv!r}.")
        else:
            _check_int("cv", cv, 2)
        _check_int("num_boost_round", num_boost_round, 2)
        _check_int("early_stopping_rounds", early_stopping_rounds, 1)
        _check_int("epochs", epochs, 2)
        self.task = _check_int("task", task, 0)
        self.sources = _check_int("sources", sources, 0)
        module = _adapter_module(library)
        X, y, classification = _load(dataset)
        X, y = _subsample(X, y, self.task, 0.7 if self.task else 1.0)
        if library == "torch":
            objective = _torch_objective(
                module, X, y, classification, cv, epochs, early_stopping_rounds
            )
            super().__init__(objective, n_steps=epochs)
            return
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
