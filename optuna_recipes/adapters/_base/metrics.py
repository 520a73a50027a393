"""The adapters' one metric vocabulary: names, aliases, directions and scoring functions.

Every metric name the adapters know regardless of the training library is listed once here,
with the direction in which it improves (:data:`DIRECTIONS`, :func:`direction_of`). The
boosting objectives accept the scikit-learn-style names of :data:`SCORERS` besides their
library's own metric names, and the PyTorch ``Model`` computes the same names on the device
(:mod:`optuna_recipes.adapters.torch.metrics`), so ``"accuracy"`` or ``"rmse"`` means the same
thing, and is maximized or minimized the same way, in every adapter.

:func:`resolve_metric` turns the user's ``metric`` argument into the
:class:`ValidationMetric` an objective validates with: computed natively by the library where
it computes the metric identically, else from predictions.

Example:
    .. code-block:: python

        from optuna_recipes.adapters._base.metrics import direction_of, resolve_metric

        direction_of("roc_auc")  # "maximize"
        metric = resolve_metric("roc_auc", "binary", "mylib", {"error": "minimize"},
                                lambda name, task: None)
        metric.score is not None  # computed from predictions
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
import dataclasses

import numpy as np

from optuna_recipes.adapters._base.data import CLASSIFICATION

MAXIMIZE = "maximize"
MINIMIZE = "minimize"

#: Every library-independent metric name -> the direction in which it improves.
DIRECTIONS: dict[str, str] = {
    "roc_auc": MAXIMIZE,
    "accuracy": MAXIMIZE,
    "f1": MAXIMIZE,
    "r2": MAXIMIZE,
    "log_loss": MINIMIZE,
    "rmse": MINIMIZE,
    "mae": MINIMIZE,
    "mse": MINIMIZE,
    "loss": MINIMIZE,
}

#: Other spellings of :data:`DIRECTIONS` names (Keras-style), accepted by the PyTorch ``Model``.
ALIASES: dict[str, str] = {
    "acc": "accuracy",
    "mean_squared_error": "mse",
    "root_mean_squared_error": "rmse",
    "mean_absolute_error": "mae",
}


def canonical_name(name: str) -> str:
    """The :data:`DIRECTIONS` name of ``name`` (an alias resolved; unknown names unchanged)."""
    return ALIASES.get(name, name)


def direction_of(name: str) -> str | None:
    """``"maximize"``/``"minimize"`` for a known metric name or alias, ``None`` otherwise."""
    return DIRECTIONS.get(canonical_name(name))


def _mean(values: np.ndarray, w: np.ndarray | None) -> float:
    return float(np.mean(values) if w is None else np.average(values, weights=w))


def _rmse(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(np.sqrt(_mean((y - p) ** 2, w)))


def _mae(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    return _mean(np.abs(y - p), w)


def _r2(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(y, p, sample_weight=w))


def _labels_from_proba(p: np.ndarray) -> np.ndarray:
    return (p > 0.5).astype(np.int64) if p.ndim == 1 else np.argmax(p, axis=1)


def _accuracy(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    return _mean(_labels_from_proba(p) == y, w)


def _f1(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    from sklearn.metrics import f1_score

    average = "binary" if p.ndim == 1 else "macro"
    return float(f1_score(y, _labels_from_proba(p), average=average, sample_weight=w))


def _log_loss(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    eps = 1e-15
    if p.ndim == 1:
        p = np.clip(p, eps, 1 - eps)
        return -_mean(y * np.log(p) + (1 - y) * np.log(1 - p), w)
    p = np.clip(p, eps, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    return -_mean(np.log(p[np.arange(len(y)), y.astype(np.int64)]), w)


def _roc_auc(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    from sklearn.metrics import roc_auc_score

    if p.ndim == 1:
        return float(roc_auc_score(y, p, sample_weight=w))
    labels = np.arange(p.shape[1])
    return float(roc_auc_score(y, p, multi_class="ovr", labels=labels, sample_weight=w))


#: ``score(y_true, y_pred, sample_weight=None) -> float``.
Scorer = Callable[..., float]
_REGRESSION = frozenset({"regression"})

#: scikit-learn-style metrics every objective accepts: name -> (tasks, ``score(y, pred, w)``).
#: Predictions are probabilities for classification: ``(n,)`` for binary, ``(n, K)`` else;
#: ``w`` is per-row weights or ``None``.
SCORERS: dict[str, tuple[frozenset[str], Scorer]] = {
    "roc_auc": (CLASSIFICATION, _roc_auc),
    "accuracy": (CLASSIFICATION, _accuracy),
    "f1": (CLASSIFICATION, _f1),
    "log_loss": (CLASSIFICATION, _log_loss),
    "rmse": (_REGRESSION, _rmse),
    "mae": (_REGRESSION, _mae),
    "r2": (_REGRESSION, _r2),
}

#: The metric an objective validates with when ``metric`` is not given, per task.
DEFAULT_METRICS = {
    "binary": "log_loss",
    "multiclass": "log_loss",
    "regression": "rmse",
    "ranking": "ndcg@10",
}


@dataclasses.dataclass(frozen=True)
class ValidationMetric:
    """The metric an objective validates with.

    Attributes:
        name: The name the user gave (``"roc_auc"``, ``"logloss"``, ...).
        direction: ``"minimize"`` or ``"maximize"``.
        native: Library metric name computing it, or ``None`` when it is computed from
            predictions with ``score``.
        score: ``score(y_true, y_pred, sample_weight=None) -> float`` on predictions (see
            :data:`SCORERS`); ``None`` for native metrics.

    Example:
        .. code-block:: python

            from optuna_recipes.adapters._base.metrics import ValidationMetric

            ValidationMetric("auc", "maximize", native="auc").maximize  # True
    """

    name: str
    direction: str
    native: str | None = None
    score: Scorer | None = None

    @property
    def maximize(self) -> bool:
        return self.direction == MAXIMIZE


def _fitting(task: str) -> list[str]:
    return sorted(name for name, (tasks, _) in SCORERS.items() if task in tasks)


def resolve_metric(
    metric: str | None,
    task: str,
    library: str,
    library_metrics: Mapping[str, str],
    native_alias: Callable[[str, str], str | None],
) -> ValidationMetric:
    """Turn the user's ``metric`` into a :class:`ValidationMetric` for ``task``.

    Library names (``library_metrics``: name -> direction, those valid for ``task``) are used
    natively; scikit-learn names (:data:`SCORERS`) natively when the library computes them
    identically (``native_alias``), else from predictions. Unknown names and names that do not
    fit the task raise ``ValueError`` listing what is accepted.
    """
    name = DEFAULT_METRICS[task] if metric is None else metric
    if not isinstance(name, str):
        raise ValueError(f"`metric` must be a metric name (str); got {type(name).__name__}.")
    if name in SCORERS:
        tasks, fn = SCORERS[name]
        if task not in tasks:
            raise ValueError(
                f"`metric={name!r}` does not fit task {task!r} (it is for "
                f"{'/'.join(sorted(tasks))}). For {task!r} use one of {_fitting(task)} or a "
                f"{library} metric: {sorted(library_metrics)}."
            )
        direction = DIRECTIONS[name]
        alias = native_alias(name, task)
        if alias is not None:
            return ValidationMetric(name=name, direction=direction, native=alias)
        return ValidationMetric(name=name, direction=direction, score=fn)
    if name in library_metrics:
        return ValidationMetric(name=name, direction=library_metrics[name], native=name)
    raise ValueError(
        f"Unknown `metric={name!r}` for {library} and task {task!r}. Accepted: scikit-learn "
        f"names {_fitting(task)} or {library} metrics {sorted(library_metrics)}."
    )
