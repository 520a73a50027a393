"""Tuned against default on held-out data: XGBoost or LightGBM tuned on a training part only.

``HeldoutProblem`` splits a dataset into a training and a test part. The objective is the
project's adapter on the training part (cross-validated log loss or RMSE, early stopping, a
learning curve per boosting round); the test part is never seen by the sampler. Each trial that
improves on the study's best so far is refit on the whole training part (its best number of
rounds) and scored on the test part; the library's own default configuration
(``XGBClassifier()``, ``LGBMRegressor()``, ...), fit on the same training part, is scored once
per problem. Both scores are recorded per trial (trial user attributes ``bench:test_value`` and
``bench:default_test_value``), so a figure can compare the tuned model with the default one on
data neither saw (:func:`optuna_recipes.bench.claim_figures.heldout_wins`).
"""

from __future__ import annotations

import math

import numpy as np
import optuna

from optuna_recipes.bench.problems._base import Problem
from optuna_recipes.bench.problems.adapters import _adapter_module
from optuna_recipes.bench.problems.sklearn_tasks import DATASETS
from optuna_recipes.bench.problems.sklearn_tasks import _load
from optuna_recipes.bench.problems.synthetic import _check_int

LIBRARIES = {"xgboost": "XGBoostObjective", "lightgbm": "LightGBMObjective"}
ATTR = "bench:"


def _test_loss(y: np.ndarray, pred: np.ndarray, labels: np.ndarray | None) -> float:
    """Log loss (classification, ``labels`` given) or RMSE of predictions on the test part."""
    from sklearn.metrics import log_loss

    if labels is None:
        return float(np.sqrt(np.mean((np.asarray(y, float) - pred) ** 2)))
    proba = pred if pred.ndim == 2 else np.column_stack([1 - pred, pred])
    return float(log_loss(y, proba, labels=labels))


class HeldoutProblem(Problem):
    """Tune XGBoost/LightGBM on a training part; record the test score of the best trials and
    of the library's default configuration.

    Choose it to measure what tuning buys on unseen data. The objective is the adapter's
    cross-validated ``log_loss`` (classification) or ``rmse`` (regression) on the training part,
    minimized, with a learning curve of ``num_boost_round`` steps.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.heldout import HeldoutProblem

            problem = HeldoutProblem("lightgbm", "wine", num_boost_round=50, cv=3)
            study = optuna.create_study(direction=problem.direction)
            study.optimize(problem, n_trials=3)
            print(study.best_trial.user_attrs["bench:test_value"])

    Args:
        library: ``"xgboost"`` or ``"lightgbm"``. Default ``"xgboost"``.
        dataset: A dataset of :mod:`~optuna_recipes.bench.problems.sklearn_tasks`. Default
            ``"digits"``.
        split: Seed of the train/test split (stratified for classification) and of the models.
            Default 0.
        test_size: Share of the rows held out (0-1). Default 0.25.
        cv: Cross-validation folds on the training part (>= 2). Default 5.
        num_boost_round: Maximum boosting rounds (>= 2). Default 500.
        early_stopping_rounds: Rounds without improvement before stopping (>= 1). Default 30.
    """

    #: Per-trial attributes recorded for the results table (``bench:NAME`` user attributes).
    result_attrs = ("test_value", "default_test_value")

    def __init__(
        self,
        library: str = "xgboost",
        dataset: str = "digits",
        split: int = 0,
        test_size: float = 0.25,
        cv: int = 5,
        num_boost_round: int = 500,
        early_stopping_rounds: int = 30,
    ) -> None:
        from sklearn.model_selection import train_test_split

        if library not in LIBRARIES:
            raise ValueError(f"`library` must be one of {tuple(LIBRARIES)}, got {library!r}.")
        if dataset not in DATASETS:
            raise ValueError(f"`dataset` must be one of {DATASETS}, got {dataset!r}.")
        if not 0.0 < float(test_size) < 1.0:
            raise ValueError(f"`test_size` must be in (0, 1), got {test_size!r}.")
        self.library = library
        self.split = _check_int("split", split, 0)
        X, y, classification = _load(dataset)
        self._X, self._X_test, self._y, self._y_test = train_test_split(
            X,
            y,
            test_size=test_size,
            random_state=self.split,
            stratify=y if classification else None,
        )
        self._labels = np.unique(self._y) if classification else None
        module = _adapter_module(library)
        self.objective = getattr(module, LIBRARIES[library])(
            self._X,
            self._y,
            metric="log_loss" if classification else "rmse",
            cv=_check_int("cv", cv, 2),
            num_boost_round=_check_int("num_boost_round", num_boost_round, 2),
            early_stopping_rounds=_check_int("early_stopping_rounds", early_stopping_rounds, 1),
            seed=self.split,
            n_jobs=1,
        )
        self.direction = "minimize"
        self.n_steps: int = num_boost_round
        self._default: float | None = None

    def default_test_value(self) -> float:
        """Test loss of the library's default configuration (fit once, then cached)."""
        if self._default is None:
            self._default = _test_loss(self._y_test, self._default_predictions(), self._labels)
        return self._default

    def _default_predictions(self) -> np.ndarray:
        regression = self._labels is None
        if self.library == "xgboost":
            import xgboost as xgb

            cls = xgb.XGBRegressor if regression else xgb.XGBClassifier
            model = cls(n_jobs=1, random_state=self.split)
        else:
            import lightgbm as lgb

            cls = lgb.LGBMRegressor if regression else lgb.LGBMClassifier
            model = cls(n_jobs=1, random_state=self.split, verbose=-1)
        y = self._y if self._labels is None else np.searchsorted(self._labels, self._y)
        model.fit(self._X, y)
        return model.predict(self._X_test) if regression else model.predict_proba(self._X_test)

    def __call__(self, trial: optuna.Trial) -> float:
        value = float(self.objective(trial))
        trial.set_user_attr(ATTR + "default_test_value", self.default_test_value())
        try:
            best = trial.study.best_value
        except ValueError:  # no complete trial yet
            best = math.inf
        if value < best:
            rounds = int(trial.user_attrs.get("best_iteration", self.n_steps - 1)) + 1
            model = self.objective.refit(trial.params, n_rounds=rounds)
            pred = self.objective.predict(model, self._X_test)
            trial.set_user_attr(ATTR + "test_value", _test_loss(self._y_test, pred, self._labels))
        return value
