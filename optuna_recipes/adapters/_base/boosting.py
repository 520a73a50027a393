"""What the XGBoost and LightGBM objectives and pruning callbacks share.

:class:`BoostingObjective` takes the arguments both boosting libraries spell the same way
(``num_boost_round``, ``n_jobs``, ``device``), keeps the per-fold library data objects in a
cache that pickling drops, and recommends :func:`~optuna_recipes.pruners.boosting_pruner`.
:class:`LibraryMetricNames` is the metric names a library computes for a task, with their
directions; :func:`report_round` is the body of both pruning callbacks.

Example:
    .. code-block:: python

        from optuna_recipes.adapters._base.boosting import LibraryMetricNames

        names = LibraryMetricNames(("logloss", "auc"), maximize={"auc"})
        names["auc"], "ndcg@5" in names  # "maximize", False
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Iterator
from collections.abc import Mapping
import math
import re
from typing import Any
from typing import ClassVar

import numpy as np
import optuna

from optuna_recipes._validation import check_int
from optuna_recipes.adapters._base.objective import BaseObjective
from optuna_recipes.adapters._base.rounds import ATTR_BEST_ITERATION
from optuna_recipes.adapters._base.rounds import ATTR_BEST_VALUE
from optuna_recipes.pruners._boosting import BoostingPruner
from optuna_recipes.pruners._boosting import boosting_pruner

Best = tuple[int, float] | None


class LibraryMetricNames(Mapping[str, str]):
    """Metric names a library computes for one task -> ``"maximize"``/``"minimize"``.

    Names with a parameter (``ndcg@10``, ``error@0.7``) are accepted when they match
    ``pattern``; ``placeholders`` (e.g. ``"ndcg@k"``) stand for them when the names are listed
    in error messages. A name improves upwards when its part before ``@`` is in ``maximize``.

    Example:
        .. code-block:: python

            import re
            from optuna_recipes.adapters._base.boosting import LibraryMetricNames

            names = LibraryMetricNames(("ndcg",), maximize={"ndcg"},
                                       pattern=re.compile(r"^ndcg@\\d+$"), placeholders=["ndcg@k"])
            names["ndcg@5"], sorted(names)  # "maximize", ["ndcg", "ndcg@k"]
    """

    def __init__(
        self,
        names: Collection[str],
        *,
        maximize: Collection[str],
        pattern: re.Pattern[str] | None = None,
        placeholders: Collection[str] = (),
    ) -> None:
        self._maximize = frozenset(maximize)
        self._names = {name: self._direction(name) for name in names}
        self._pattern = pattern
        self._placeholders = list(placeholders)

    def _direction(self, name: str) -> str:
        return "maximize" if name.split("@")[0] in self._maximize else "minimize"

    def __getitem__(self, key: str) -> str:
        if key in self._names:
            return self._names[key]
        if self._pattern is not None and isinstance(key, str) and self._pattern.match(key):
            return self._direction(key)
        raise KeyError(key)

    def __contains__(self, key: object) -> bool:
        try:
            self[key]  # type: ignore[index]
        except (KeyError, TypeError):
            return False
        return True

    def __iter__(self) -> Iterator[str]:
        return iter([*self._names, *self._placeholders])

    def __len__(self) -> int:
        return len(self._names)


def take_rows(X: Any, idx: np.ndarray) -> Any:
    """Rows ``idx`` of an array, sparse matrix or pandas frame."""
    return X.iloc[idx] if hasattr(X, "iloc") else X[idx]


def is_categorical_frame(X: Any) -> bool:
    """Whether ``X`` is a pandas frame with at least one ``category`` column."""
    dtypes = getattr(X, "dtypes", None)
    if dtypes is None or not hasattr(X, "iloc"):
        return False
    return any(str(dt) == "category" for dt in dtypes)


def inspect_array(X: Any, y: Any) -> tuple[np.ndarray | None, tuple[int, ...]]:
    """Labels and shape of in-memory features (array, frame, sparse matrix): the part of
    ``_inspect_data`` that is the same for every boosting library."""
    shape = getattr(X, "shape", None)
    if shape is None:
        X = np.asarray(X)
        shape = X.shape
    if len(shape) != 2:
        raise ValueError(f"`X` must be 2-dimensional (rows x features); got shape {shape}.")
    if y is not None and hasattr(y, "to_numpy"):
        y = y.to_numpy()
    return (None if y is None else np.asarray(y)), tuple(int(s) for s in shape)


class BoostingObjective(BaseObjective):
    """Base of :class:`~optuna_recipes.adapters.xgboost.XGBoostObjective` and
    :class:`~optuna_recipes.adapters.lightgbm.LightGBMObjective`.

    A subclass sets ``sklearn_aliases`` ((scikit-learn metric name, task) -> library metric
    computing it identically) and implements ``_prepare(X)`` (check and convert the features
    before anything else runs) besides the hooks of :class:`BaseObjective`.

    Example:
        .. code-block:: python

            from sklearn.datasets import load_breast_cancer
            from optuna_recipes.adapters._base.boosting import BoostingObjective
            from optuna_recipes.adapters.xgboost import XGBoostObjective

            X, y = load_breast_cancer(return_X_y=True)
            objective = XGBoostObjective(X, y, num_boost_round=50, n_jobs=1)
            assert isinstance(objective, BoostingObjective)
            objective.recommended_pruner().decides_at(10)  # True: after the warm-up

    Args:
        X: Features (what the library accepts).
        y: Labels (``None`` when ``X`` is a library data object carrying them).
        num_boost_round: Cap on boosting rounds (``>= 1``). Default ``1000``.
        device: Library device, or ``None`` for the library's default (the CPU).
        settings: The shared settings of :class:`BaseObjective` (``task``, ``metric``, ``cv``,
            ``validation_data``, ``sample_weight``, ``groups``, ``group``, ``fixed_params``,
            ``space``, ``early_stopping_rounds``, ``seed``, ``n_jobs``, ``timeout``,
            ``verbose``).
    """

    sklearn_aliases: ClassVar[Mapping[tuple[str, str], str]] = {}

    def __init__(
        self,
        X: Any,
        y: Any = None,
        *,
        num_boost_round: int = 1000,
        device: str | None = None,
        **settings: Any,
    ) -> None:
        self.device = device
        self.X = self._prepare(X)
        self.has_categorical = self._categorical(self.X)
        self._fold_cache: dict[int | str, Any] = {}
        rounds = check_int("num_boost_round", num_boost_round, minimum=1)
        super().__init__(self.X, y, max_rounds=rounds, **settings)

    def __getstate__(self) -> dict[str, Any]:
        # Library data objects do not pickle; they are rebuilt on first use in the new process.
        state = self.__dict__.copy()
        state["_fold_cache"] = {}
        return state

    def _weights(self, rows: np.ndarray | None, valid: bool = False) -> np.ndarray | None:
        """Weights of training ``rows`` (all rows: ``None``), or of ``validation_data``."""
        if valid:
            return self.validation_weight_
        w = self.sample_weight_
        return w if w is None or rows is None else w[rows]

    @property
    def num_boost_round(self) -> int:
        """Cap on boosting rounds (``max_rounds``)."""
        return self.max_rounds

    def _prepare(self, X: Any) -> Any:
        """The features as the objective keeps them (sparse matrices as CSR)."""
        return X.tocsr() if hasattr(X, "tocsr") else X

    @staticmethod
    def _categorical(X: Any) -> bool:
        return is_categorical_frame(X)

    def _native_alias(self, name: str, task: str) -> str | None:
        return self.sklearn_aliases.get((name, task))

    def recommended_pruner(self) -> BoostingPruner:
        """A fresh pruner for this objective's ``num_boost_round``:
        :func:`optuna_recipes.pruners.boosting_pruner` (a ``MedianPruner`` with 5 startup
        trials, a warm-up and a decision interval scaled to the rounds, asked only where it can
        decide)."""
        return boosting_pruner(self.max_rounds)


def report_round(trial: optuna.Trial, best: Best, step: int, score: float, higher: bool) -> Best:
    """Report ``score`` at ``step`` to ``trial`` and prune when its pruner says so.

    ``best`` is ``(step, value)`` of the best finite score so far (``None`` at the start); the
    updated one is returned. Before :class:`optuna.TrialPruned` is raised, the best value and
    its step are written to the trial's user attrs ``best_value`` and ``best_iteration``.
    """
    if math.isfinite(score) and (best is None or (score > best[1] if higher else score < best[1])):
        best = (step, score)
    trial.report(score, step=step)
    if trial.should_prune():
        if best is not None:
            trial.set_user_attr(ATTR_BEST_ITERATION, best[0])
            trial.set_user_attr(ATTR_BEST_VALUE, best[1])
        raise optuna.TrialPruned(f"Trial was pruned at iteration {step}.")
    return best
