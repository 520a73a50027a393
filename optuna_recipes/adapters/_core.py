"""Library-agnostic core of the objective adapters (XGBoost, LightGBM, PyTorch).

Everything that does not depend on the training library lives here, so that the three adapters
behave the same way and a new one is a small subclass:

- input checks (:func:`check_labels`, :func:`infer_task`): NaN/inf labels, length mismatches,
  task inferred from ``y``;
- metrics (:class:`Metric`, :func:`resolve_metric`): library metric names and a few
  scikit-learn ones, with the optimization direction derived from the metric;
- validation schemes (:class:`Fold`, :func:`make_folds`): ``cv`` as an int, a holdout fraction
  or any scikit-learn splitter (stratified by default for classification, groups supported), or
  an explicit validation set; empty and single-class folds are refused before any training;
- search spaces (:func:`merge_space`, :func:`suggest_params`): the ``space`` argument overrides,
  adds (Optuna distributions) or removes (``None``) parameters of a default space;
- the per-round loop (:class:`RoundTracker`): the validation metric of every round, averaged over
  folds trained in lockstep, is reported to the trial (so any Optuna pruner works, and every fold
  counts, not only the first), early stopping on that mean curve, best iteration and per-fold
  scores in the trial's user attrs, a pruned trial still records its best value;
- failure handling: a trial whose training raises is recorded as failed with the reason
  (user attr ``fail_reason``) and the study goes on;
- :meth:`BaseObjective.refit`, :func:`save_best` and :func:`load_best` (JSON), and the upload of
  the refit model as an Optuna artifact of the best trial.

What a library adapter implements
---------------------------------
Subclass :class:`BaseObjective`, set the class attributes ``library`` (e.g. ``"xgboost"``) and
``extra`` (the optuna-recipes extra that installs it), call ``super().__init__`` with the common
arguments, then fill these hooks:

``_inspect_data(X, y) -> tuple[np.ndarray, tuple[int, ...]]``
    Labels as a 1-D array (taken from ``X`` when the library's own data object carries them and
    ``y`` is None) and the shape of the feature matrix.
``_library_version() -> str``
``_library_metrics(task) -> Mapping[str, str]``
    Metric names the library computes natively for ``task`` -> ``"minimize"``/``"maximize"``.
``_native_alias(name, task) -> str | None``
    Library metric that computes the scikit-learn metric ``name`` identically (``"roc_auc"`` ->
    ``"auc"``), so the fast native path is used; ``None`` to compute it from predictions.
``_default_space(task) -> dict[str, BaseDistribution]``
    The default search space (see :mod:`optuna_recipes.adapters.spaces`).
``_known_params() -> Collection[str] | None``
    Parameter names the library accepts (to refuse typos in ``space``); ``None`` accepts any.
``_library_params(sampled) -> dict``
    Full parameter dict for one configuration: task/metric/seed/thread settings, then
    ``fixed_params``, then the sampled values.
``_start_fold(params, fold) -> state``
    Build whatever one fold trains (datasets, model) for ``params``.
``_step_fold(state, round) -> float``
    Train one more round (boosting round, epoch) and return the validation metric after it.
    Override ``_run_round(states, round)`` instead to step all folds at once.
``_fit_full(params, n_rounds) -> model``
    Train on all the training data for ``n_rounds`` rounds (used by :meth:`refit`).
``_save_model(model, path) -> str``
    Serialize ``model`` under ``path`` (a file name without suffix); return the file written.

The core drives the loop: ``__call__(trial)`` samples the parameters, starts every fold, calls
``_run_round`` for ``round = 0, 1, ...`` up to ``max_rounds``, reports the mean to the trial,
stops early after ``early_stopping_rounds`` rounds without improvement, and returns the mean
validation metric at the best round.

Example:
    .. code-block:: python

        from optuna_recipes.adapters._core import make_folds, infer_task
        import numpy as np

        y = np.array([0, 1] * 10)
        task = infer_task(y)  # "binary"
        folds = make_folds(cv=5, y=y, task=task, n_rows=len(y), seed=0)
        len(folds)  # 5 stratified folds
"""

from __future__ import annotations

import abc
from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
import datetime
import json
import math
import os
from pathlib import Path
import tempfile
from typing import Any
from typing import ClassVar
import warnings

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

TASKS = ("binary", "multiclass", "regression", "ranking")
CLASSIFICATION = frozenset({"binary", "multiclass"})
FORMAT = "optuna_recipes.adapters.best/1"
# Integer labels with more distinct values than this are taken as a regression target.
_MAX_INFERRED_CLASSES = 50

# Trial user attrs written by the core (public: documented in BaseObjective).
ATTR_BEST_ITERATION = "best_iteration"
ATTR_N_ROUNDS = "n_rounds"
ATTR_FOLD_SCORES = "fold_scores"
ATTR_BEST_VALUE = "best_value"
ATTR_METRIC = "metric"
ATTR_FAIL_REASON = "fail_reason"


# --------------------------------------------------------------------------------------------
# Labels and task
# --------------------------------------------------------------------------------------------
def check_labels(y: Any, n_rows: int | None = None, name: str = "y") -> np.ndarray:
    """Return ``y`` as a 1-D array; refuse empty, NaN/inf or wrongly sized labels.

    Args:
        y: Labels (array-like, pandas Series, list).
        n_rows: Expected number of labels (rows of the feature matrix); ``None`` skips the check.
        name: Argument name used in error messages.
    """
    if y is None:
        raise ValueError(f"`{name}` is required: pass the labels (or data that carries them).")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-dimensional; got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` is empty; at least a few labelled rows are needed.")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(
            f"`{name}` has {arr.shape[0]} labels but the feature matrix has {n_rows} rows; "
            "they must have the same length."
        )
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            where = np.flatnonzero(bad)[:5].tolist()
            raise ValueError(
                f"`{name}` contains {int(bad.sum())} NaN or infinite value(s) (first at rows "
                f"{where}); labels must be finite. Drop or impute those rows first."
            )
    elif arr.dtype.kind == "O":
        missing = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in arr])
        if missing.any():
            raise ValueError(
                f"`{name}` contains {int(missing.sum())} missing value(s) (None/NaN); labels "
                "must be present for every row."
            )
    return arr


def infer_task(y: np.ndarray, task: str | None = None, group: Any = None) -> str:
    """Return the learning task: ``task`` validated, or inferred from ``y`` and ``group``.

    ``group`` given -> ``"ranking"``; float labels with non-integer values -> ``"regression"``;
    two distinct labels -> ``"binary"``; up to 50 distinct integer/string labels ->
    ``"multiclass"``; more distinct integers -> ``"regression"``.
    """
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"`task` must be one of {list(TASKS)}; got {task!r}.")
        if task == "ranking" and group is None:
            raise ValueError("`task='ranking'` needs `group` (query sizes, as in lgb/xgb).")
        return task
    if group is not None:
        return "ranking"
    if y.dtype.kind == "b":
        return "binary"
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        return "regression"
    n_unique = len(np.unique(y))
    if n_unique < 2:
        raise ValueError(
            f"`y` has a single distinct value ({y[0]!r}); nothing to learn. Pass labels with at "
            "least two classes, or a regression target."
        )
    if n_unique == 2:
        return "binary"
    if y.dtype.kind in "fiu" and n_unique > _MAX_INFERRED_CLASSES:
        return "regression"
    return "multiclass"


def encode_classes(y: np.ndarray, task: str) -> tuple[np.ndarray, list[Any] | None]:
    """Classification labels -> codes ``0..K-1`` (float) and sorted classes; else float ``y``."""
    if task in CLASSIFICATION:
        classes, codes = np.unique(y, return_inverse=True)
        if task == "binary" and len(classes) != 2:
            raise ValueError(
                f"`task='binary'` needs exactly 2 distinct labels; `y` has {len(classes)}: "
                f"{classes[:10].tolist()}."
            )
        return codes.astype(np.float64), [_py(c) for c in classes]
    if y.dtype.kind not in "fiub":
        raise ValueError(f"`task={task!r}` needs numeric labels; got dtype {y.dtype}.")
    return y.astype(np.float64), None


def _py(value: Any) -> Any:
    """NumPy scalar -> Python scalar (JSON-serializable)."""
    return value.item() if isinstance(value, np.generic) else value


# --------------------------------------------------------------------------------------------
# Metrics
# --------------------------------------------------------------------------------------------
def _rmse(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.sqrt(np.mean((y - p) ** 2)))


def _mae(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(np.abs(y - p)))


def _r2(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import r2_score

    return float(r2_score(y, p))


def _labels_from_proba(p: np.ndarray) -> np.ndarray:
    return (p > 0.5).astype(np.int64) if p.ndim == 1 else np.argmax(p, axis=1)


def _accuracy(y: np.ndarray, p: np.ndarray) -> float:
    return float(np.mean(_labels_from_proba(p) == y))


def _f1(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import f1_score

    return float(f1_score(y, _labels_from_proba(p), average="binary" if p.ndim == 1 else "macro"))


def _log_loss(y: np.ndarray, p: np.ndarray) -> float:
    eps = 1e-15
    if p.ndim == 1:
        p = np.clip(p, eps, 1 - eps)
        return float(-np.mean(y * np.log(p) + (1 - y) * np.log(1 - p)))
    p = np.clip(p, eps, 1.0)
    p = p / p.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(p[np.arange(len(y)), y.astype(np.int64)])))


def _roc_auc(y: np.ndarray, p: np.ndarray) -> float:
    from sklearn.metrics import roc_auc_score

    if p.ndim == 1:
        return float(roc_auc_score(y, p))
    return float(roc_auc_score(y, p, multi_class="ovr", labels=np.arange(p.shape[1])))


@dataclasses.dataclass(frozen=True)
class Metric:
    """A validation metric as the adapters use it.

    Attributes:
        name: The name the user gave (``"roc_auc"``, ``"logloss"``, ...).
        direction: ``"minimize"`` or ``"maximize"``.
        native: Library metric name computing it, or ``None`` when it is computed from
            predictions with ``score``.
        score: ``score(y_true, y_pred) -> float`` on predictions (probabilities for
            classification: shape ``(n,)`` for binary, ``(n, K)`` for multiclass); ``None`` for
            native metrics.
    """

    name: str
    direction: str
    native: str | None = None
    score: Callable[[np.ndarray, np.ndarray], float] | None = None

    @property
    def maximize(self) -> bool:
        return self.direction == "maximize"


# scikit-learn-style metrics every adapter accepts: name -> (direction, tasks, function).
SKLEARN_METRICS: dict[str, tuple[str, frozenset[str], Callable[..., float]]] = {
    "roc_auc": ("maximize", CLASSIFICATION, _roc_auc),
    "accuracy": ("maximize", CLASSIFICATION, _accuracy),
    "f1": ("maximize", CLASSIFICATION, _f1),
    "log_loss": ("minimize", CLASSIFICATION, _log_loss),
    "rmse": ("minimize", frozenset({"regression"}), _rmse),
    "mae": ("minimize", frozenset({"regression"}), _mae),
    "r2": ("maximize", frozenset({"regression"}), _r2),
}

DEFAULT_METRICS = {
    "binary": "log_loss",
    "multiclass": "log_loss",
    "regression": "rmse",
    "ranking": "ndcg@10",
}


def resolve_metric(
    metric: str | None,
    task: str,
    library: str,
    library_metrics: Mapping[str, str],
    native_alias: Callable[[str, str], str | None],
) -> Metric:
    """Turn the user's ``metric`` into a :class:`Metric` for ``task``.

    Library names (``library_metrics``: name -> direction, those valid for ``task``) are used
    natively; scikit-learn names (:data:`SKLEARN_METRICS`) natively when the library computes
    them identically (``native_alias``), else from predictions. Unknown names and names that do
    not fit the task raise ``ValueError`` listing what is accepted.
    """
    name = DEFAULT_METRICS[task] if metric is None else metric
    if not isinstance(name, str):
        raise ValueError(f"`metric` must be a metric name (str); got {type(name).__name__}.")
    if name in SKLEARN_METRICS:
        direction, tasks, fn = SKLEARN_METRICS[name]
        if task not in tasks:
            fitting = sorted(n for n, (_, t, _) in SKLEARN_METRICS.items() if task in t)
            raise ValueError(
                f"`metric={name!r}` does not fit task {task!r} (it is for "
                f"{'/'.join(sorted(tasks))}). For {task!r} use one of {fitting} or a "
                f"{library} metric: {sorted(library_metrics)}."
            )
        alias = native_alias(name, task)
        if alias is not None:
            return Metric(name=name, direction=direction, native=alias)
        return Metric(name=name, direction=direction, score=fn)
    if name in library_metrics:
        return Metric(name=name, direction=library_metrics[name], native=name)
    fitting = sorted(n for n, (_, t, _) in SKLEARN_METRICS.items() if task in t)
    raise ValueError(
        f"Unknown `metric={name!r}` for {library} and task {task!r}. Accepted: scikit-learn "
        f"names {fitting} or {library} metrics {sorted(library_metrics)}."
    )


# --------------------------------------------------------------------------------------------
# Validation folds
# --------------------------------------------------------------------------------------------
@dataclasses.dataclass(frozen=True)
class Fold:
    """One train/validation split as row indices into the training data.

    ``valid is None`` means the explicit ``validation_data`` is the validation set (and
    ``train`` is then all rows).
    """

    train: np.ndarray
    valid: np.ndarray | None


def make_folds(
    *,
    cv: Any,
    y: np.ndarray,
    task: str,
    n_rows: int,
    seed: int | None,
    groups: Any = None,
    has_validation_data: bool = False,
) -> list[Fold]:
    """Build the validation folds.

    Args:
        cv: ``None`` (only with an explicit validation set), an int ``k >= 2`` (k-fold: stratified
            for classification, grouped when ``groups`` is given), a float in ``(0, 1)`` (one
            holdout split of that validation fraction, stratified for classification) or any
            scikit-learn splitter (an object with ``split(X, y, groups)``, or an iterable of
            ``(train_idx, valid_idx)`` pairs).
        y: Encoded labels (for stratification and single-class checks).
        task: The task (``"binary"``, ...).
        n_rows: Number of training rows.
        seed: Seed of the shuffling splitters built here.
        groups: Per-row group labels: rows of one group never straddle train and validation.
        has_validation_data: An explicit validation set was given: ``cv`` must then be ``None``.
    """
    from sklearn import model_selection as ms

    if has_validation_data:
        if cv is not None:
            raise ValueError(
                "Give either `cv` or `validation_data`, not both (got cv="
                f"{cv!r}); pass `cv=None` to validate on `validation_data`."
            )
        return [Fold(train=np.arange(n_rows), valid=None)]
    if cv is None:
        raise ValueError("`cv=None` needs `validation_data`; or pass an int such as `cv=5`.")
    stratify = task in CLASSIFICATION
    rng = None if seed is None else int(seed) % (2**32)
    if isinstance(cv, bool):
        raise ValueError(f"`cv` must be an int >= 2, a float in (0, 1) or a splitter; got {cv!r}.")
    if isinstance(cv, (int, np.integer)):
        if cv < 2:
            raise ValueError(f"`cv` as an int must be >= 2 (number of folds); got {cv}.")
        if groups is not None:
            splitter: Any = (
                ms.StratifiedGroupKFold(int(cv), shuffle=True, random_state=rng)
                if stratify
                else ms.GroupKFold(int(cv))
            )
        elif stratify:
            splitter = ms.StratifiedKFold(int(cv), shuffle=True, random_state=rng)
        else:
            splitter = ms.KFold(int(cv), shuffle=True, random_state=rng)
    elif isinstance(cv, (float, np.floating)):
        if not 0.0 < cv < 1.0:
            raise ValueError(
                f"`cv` as a float is the holdout fraction and must lie in (0, 1); got {cv}."
            )
        if groups is not None:
            splitter = ms.GroupShuffleSplit(1, test_size=float(cv), random_state=rng)
        elif stratify:
            splitter = ms.StratifiedShuffleSplit(1, test_size=float(cv), random_state=rng)
        else:
            splitter = ms.ShuffleSplit(1, test_size=float(cv), random_state=rng)
    else:
        splitter = cv
    if hasattr(splitter, "split"):
        try:
            pairs = list(splitter.split(np.zeros((n_rows, 1)), y, groups))
        except ValueError as err:
            raise ValueError(f"`cv` could not split the data: {err}") from err
    else:
        try:
            pairs = list(splitter)
        except TypeError as err:
            raise ValueError(
                "`cv` must be an int >= 2, a float in (0, 1), a scikit-learn splitter (with "
                f"`split`) or an iterable of (train_idx, valid_idx); got {type(cv).__name__}."
            ) from err
    if not pairs:
        raise ValueError("`cv` produced no split.")
    folds = []
    for train, valid in pairs:
        train_idx, valid_idx = _as_index(train, n_rows), _as_index(valid, n_rows)
        folds.append(Fold(train=train_idx, valid=valid_idx))
    return folds


def _as_index(idx: Any, n_rows: int) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.dtype == bool:
        arr = np.flatnonzero(arr)
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_rows):
        raise ValueError(f"`cv` produced row indices outside [0, {n_rows}).")
    return arr


def check_folds(
    folds: Sequence[Fold], y: np.ndarray, task: str, y_valid: np.ndarray | None = None
) -> None:
    """Refuse empty folds and, for classification, folds with a single class."""
    for k, fold in enumerate(folds):
        valid_y = y_valid if fold.valid is None else y[fold.valid]
        for part, labels in (("training", y[fold.train]), ("validation", valid_y)):
            if labels is None or len(labels) == 0:
                raise ValueError(
                    f"Fold {k} has an empty {part} part; use fewer folds (`cv`) or more data."
                )
            if task in CLASSIFICATION and len(np.unique(labels)) < 2:
                raise ValueError(
                    f"Fold {k} has a single class in its {part} part ({len(labels)} rows, all "
                    f"label {labels[0]!r}); classification needs both outcomes in every fold. "
                    "Use a stratified splitter (the default for `cv=int`), fewer folds, or "
                    "more data."
                )


# --------------------------------------------------------------------------------------------
# Search spaces
# --------------------------------------------------------------------------------------------
def merge_space(
    default: Mapping[str, BaseDistribution],
    override: Mapping[str, BaseDistribution | None] | None,
    *,
    known: Collection[str] | None,
    library: str,
    fixed_params: Mapping[str, Any] | None = None,
) -> dict[str, BaseDistribution]:
    """Apply ``space`` to a default space; parameters fixed in ``fixed_params`` are not searched.

    ``override[name]`` is an Optuna distribution (replace or add ``name``) or ``None`` (remove
    it). A name that is neither in the default space nor a parameter the library knows
    (``known``) raises ``ValueError``, as does removing a name the space does not have.
    """
    space = dict(default)
    for name, dist in (override or {}).items():
        if dist is None:
            if name not in space:
                raise ValueError(
                    f"`space[{name!r}] = None` removes a parameter, but {name!r} is not in the "
                    f"default search space; its parameters are {sorted(space)}."
                )
            del space[name]
        elif isinstance(dist, BaseDistribution):
            if name not in space and known is not None and name not in known:
                raise ValueError(
                    f"`space` names {name!r}, which is not a {library} parameter. Use a "
                    f"{library} parameter name (the default space has {sorted(default)})."
                )
            space[name] = dist
        else:
            raise ValueError(
                f"`space[{name!r}]` must be an Optuna distribution (FloatDistribution, "
                f"IntDistribution, CategoricalDistribution) or None to remove it; got "
                f"{dist!r}. To fix a value, pass it in `fixed_params`."
            )
    for name in fixed_params or {}:
        space.pop(name, None)
    return space


def suggest_params(trial: optuna.Trial, space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Sample every parameter of ``space`` through the trial's public ``suggest_*`` API."""
    params: dict[str, Any] = {}
    for name, dist in space.items():
        if isinstance(dist, FloatDistribution):
            params[name] = trial.suggest_float(
                name, dist.low, dist.high, log=dist.log, step=dist.step
            )
        elif isinstance(dist, IntDistribution):
            params[name] = trial.suggest_int(
                name, dist.low, dist.high, log=dist.log, step=dist.step
            )
        elif isinstance(dist, CategoricalDistribution):
            params[name] = trial.suggest_categorical(name, dist.choices)
        else:
            raise ValueError(f"Unsupported distribution for {name!r}: {dist!r}.")
    return params


# --------------------------------------------------------------------------------------------
# The per-round loop
# --------------------------------------------------------------------------------------------
class RoundTracker:
    """Reports the fold-mean metric of each round, tracks the best round, stops and prunes.

    ``update(round, fold_values)`` reports the mean to the trial (``trial.report``), asks the
    pruner, and returns ``True`` when training should stop early. Before raising
    :class:`optuna.TrialPruned` it records the best value so far, its round and the per-fold
    scores in the trial's user attrs (a pruned trial's own value is the last reported one).
    """

    def __init__(
        self,
        trial: optuna.Trial | None,
        *,
        maximize: bool,
        early_stopping_rounds: int | None,
        metric_name: str,
    ) -> None:
        self.trial = trial
        self.maximize = maximize
        self.early_stopping_rounds = early_stopping_rounds
        self.metric_name = metric_name
        self.best_value = math.nan
        self.best_round = -1
        self.best_fold_values: list[float] = []
        self.rounds_done = 0
        # A study with a NopPruner never prunes: skip its should_prune call every round (the
        # values are still reported). FixedTrial and the like have no study: ask them.
        # A pruner with ``decides_at(step)`` (BoostingPruner) is asked only where it can decide.
        pruner = getattr(getattr(trial, "study", None), "pruner", None)
        self._ask_pruner = trial is not None and type(pruner) is not optuna.pruners.NopPruner
        decides_at = getattr(pruner, "decides_at", None)
        self._decides_at: Callable[[int], bool] | None = (
            decides_at if callable(decides_at) else None
        )

    def _better(self, value: float) -> bool:
        if self.best_round < 0:
            return True
        return value > self.best_value if self.maximize else value < self.best_value

    def update(self, round_: int, fold_values: Sequence[float]) -> bool:
        values = [float(v) for v in fold_values]
        # Plain Python: np.mean costs ~30 us per call, a tenth of a small boosting round.
        mean = math.fsum(values) / len(values)
        if not math.isfinite(mean):
            raise FloatingPointError(
                f"validation {self.metric_name} is {mean} at round {round_} (fold values "
                f"{values}); training diverged."
            )
        self.rounds_done = round_ + 1
        if self._better(mean):
            self.best_value, self.best_round, self.best_fold_values = mean, round_, values
        if self.trial is not None:
            self.trial.report(mean, round_)
            if (
                self._ask_pruner
                and (self._decides_at is None or self._decides_at(round_))
                and self.trial.should_prune()
            ):
                self.record()
                raise optuna.TrialPruned(
                    f"pruned at round {round_}: {self.metric_name}={mean:.6g}, best "
                    f"{self.best_value:.6g} at round {self.best_round}"
                )
        esr = self.early_stopping_rounds
        return esr is not None and round_ - self.best_round >= esr

    def record(self) -> None:
        if self.trial is None:
            return
        self.trial.set_user_attr(ATTR_METRIC, self.metric_name)
        self.trial.set_user_attr(ATTR_BEST_ITERATION, self.best_round)
        self.trial.set_user_attr(ATTR_BEST_VALUE, self.best_value)
        self.trial.set_user_attr(ATTR_N_ROUNDS, self.rounds_done)
        self.trial.set_user_attr(ATTR_FOLD_SCORES, self.best_fold_values)


class BoostingPruner(optuna.pruners.MedianPruner):
    """A :class:`optuna.pruners.MedianPruner` that tells the objectives when it can decide.

    It prunes exactly like ``MedianPruner(n_startup_trials, n_warmup_steps, interval_steps)``.
    :meth:`decides_at` says whether :meth:`prune` can return ``True`` at a step when every
    step is reported (as the objectives do): on the other steps the objectives skip
    ``trial.should_prune``, whose cost (Optuna walks all the trial's steps to find the
    interval, then ``numpy.nanpercentile``) grows with the rounds and the trials. Build it with
    :func:`boosting_pruner`.

    Example:
        .. code-block:: python

            import optuna
            from sklearn.datasets import load_breast_cancer
            from optuna_recipes.adapters.xgboost import XGBoostObjective

            X, y = load_breast_cancer(return_X_y=True)
            objective = XGBoostObjective(X, y, num_boost_round=100, n_jobs=1)
            study = optuna.create_study(
                direction=objective.direction, pruner=objective.recommended_pruner()
            )
            study.optimize(objective, n_trials=10)
    """

    def __init__(self, n_startup_trials: int, n_warmup_steps: int, interval_steps: int) -> None:
        super().__init__(
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
        )
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps
        self.interval_steps = interval_steps

    def decides_at(self, step: int) -> bool:
        """``False`` when :meth:`prune` certainly returns ``False`` at ``step`` (steps reported
        one by one from 0): before the warm-up and between the interval's decision steps."""
        offset = step - self.n_warmup_steps
        return offset >= 0 and offset % self.interval_steps == 0


def boosting_pruner(max_rounds: int) -> BoostingPruner:
    """The pruner recommended with the boosting objectives, for a cap of ``max_rounds`` rounds.

    A :class:`BoostingPruner`, i.e. ``MedianPruner(n_startup_trials=5,
    n_warmup_steps=max(10, max_rounds // 10), interval_steps=max(1, max_rounds // 60))``:

    - No decision before 5 trials have finished, nor in the first ``max(10, max_rounds // 10)``
      rounds of a trial (100 of the default 1,000). The configurations that end best are often
      slow learners (small learning rates, strong regularisation) that are behind the median
      in the early rounds: with a warm-up of ``max_rounds // 30`` the pruned studies ended
      worse than unpruned ones by 2.1-3.0% on 100k generated rows (XGBoost) and on 8 of 10
      seeds on breast_cancer (LightGBM); with ``max_rounds // 10`` the difference is within
      noise, at 0.22-0.49 of the time (``benchmarks/results/adapters_pruning_*_warmup100.md``).
    - A decision every ``max(1, max_rounds // 60)`` rounds only, and the objectives do not call
      ``should_prune`` in between: with a plain MedianPruner asked every round, Optuna's
      ``should_prune`` cost 0.7-2.4 ms per round on a loaded 2-core machine
      (``benchmarks/results/adapters_pruner_cost.md``), as much as a whole boosting round on
      small data, which ate a good part of what pruning saved there; the objective still
      reports every round.
    - 10 startup trials (as many as TPE's random start) pruned less and saved less time in
      ``benchmarks/results/adapters_pruning_breast_cancer_lightgbm_configs.md`` and
      ``adapters_pruning_breast_cancer_lightgbm_warmup.md`` without a better best value.

    Pass it to ``optuna.create_study(pruner=...)``; any other Optuna pruner works too.
    """
    if (
        isinstance(max_rounds, bool)
        or not isinstance(max_rounds, (int, np.integer))
        or max_rounds < 1
    ):
        raise ValueError(f"`max_rounds` must be an int >= 1; got {max_rounds!r}.")
    return BoostingPruner(
        n_startup_trials=5,
        n_warmup_steps=max(10, int(max_rounds) // 10),
        interval_steps=max(1, int(max_rounds) // 60),
    )


# --------------------------------------------------------------------------------------------
# The base objective
# --------------------------------------------------------------------------------------------
class BaseObjective(abc.ABC):
    """Base class of the library objectives: data + task + metric + validation -> ``f(trial)``.

    Subclasses implement the hooks listed in the module docstring; everything else (input
    checks, folds, metric and direction, search space, per-round reporting, early stopping,
    pruning, failure handling, refit, artifacts) is shared.

    After construction, the objective exposes ``task``, ``metric`` (a :class:`Metric`),
    ``direction``, ``search_space`` (a copy: the distributions that are searched), ``folds``,
    ``classes_`` (classification labels in the order of the model's outputs) and
    ``data_shape``. Each finished trial carries user attrs ``best_iteration`` (0-based round
    of the best mean validation value), ``n_rounds`` (rounds trained), ``fold_scores`` (each
    fold's value at the best round), ``best_value`` and ``metric``; a failed one carries
    ``fail_reason``.

    Example:
        .. code-block:: python

            import optuna
            from sklearn.datasets import load_diabetes
            from optuna_recipes.adapters import BaseObjective
            from optuna_recipes.adapters.lightgbm import LightGBMObjective

            X, y = load_diabetes(return_X_y=True)
            objective = LightGBMObjective(X, y, metric="mae", num_boost_round=100, cv=3)
            assert isinstance(objective, BaseObjective) and objective.direction == "minimize"
            study = optuna.create_study(direction=objective.direction)
            study.optimize(objective, n_trials=5)
            print(study.best_trial.user_attrs["fold_scores"])

        A complete minimal adapter (gradient descent in numpy) is ``GDObjective`` in
        ``tests/test_adapters_core.py``.

    Args:
        X: Training features (what the library adapter accepts).
        y: Labels; ``None`` when ``X`` is a library data object that carries them.
        task: ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"ranking"``; inferred from
            ``y`` (and ``group``) when ``None``.
        metric: Validation metric name (library or scikit-learn name); task default when
            ``None``.
        cv: Validation scheme, see :func:`make_folds`; ``None`` means 5-fold cross-validation,
            or the explicit ``validation_data`` when it is given.
        validation_data: ``(X_valid, y_valid)`` to validate on instead of ``cv``.
        groups: Per-row group labels for grouped cross-validation.
        group: Ranking query sizes (as ``xgb.DMatrix(group=...)`` / ``lgb.Dataset(group=...)``).
        fixed_params: Library parameters used in every trial (not searched).
        space: Overrides of the default space: name -> Optuna distribution (replace/add) or
            ``None`` (remove).
        max_rounds: Upper bound on training rounds (boosting rounds, epochs); must be >= 1.
        early_stopping_rounds: Stop after this many rounds without improvement of the mean
            validation metric; ``None`` trains ``max_rounds`` rounds.
        seed: Seed of the library and of the splitters built from ``cv``.
    """

    library: ClassVar[str] = ""
    extra: ClassVar[str] = ""

    def __init__(
        self,
        X: Any,
        y: Any = None,
        *,
        task: str | None = None,
        metric: str | None = None,
        cv: Any = None,
        validation_data: tuple[Any, Any] | None = None,
        groups: Any = None,
        group: Any = None,
        fixed_params: Mapping[str, Any] | None = None,
        space: Mapping[str, BaseDistribution | None] | None = None,
        max_rounds: int = 1000,
        early_stopping_rounds: int | None = 50,
        seed: int | None = 0,
    ) -> None:
        if isinstance(max_rounds, bool) or not isinstance(max_rounds, (int, np.integer)):
            raise ValueError(f"The number of rounds must be an int >= 1; got {max_rounds!r}.")
        if max_rounds < 1:
            raise ValueError(f"The number of rounds must be >= 1; got {max_rounds}.")
        if early_stopping_rounds is not None and (
            isinstance(early_stopping_rounds, bool)
            or not isinstance(early_stopping_rounds, (int, np.integer))
            or early_stopping_rounds < 1
        ):
            raise ValueError(
                f"`early_stopping_rounds` must be an int >= 1 or None; got "
                f"{early_stopping_rounds!r}."
            )
        if seed is not None and (
            isinstance(seed, bool) or not isinstance(seed, (int, np.integer))
        ):
            raise ValueError(f"`seed` must be an int or None; got {seed!r}.")
        if fixed_params is not None and not isinstance(fixed_params, Mapping):
            raise ValueError(f"`fixed_params` must be a dict; got {type(fixed_params).__name__}.")
        if space is not None and not isinstance(space, Mapping):
            raise ValueError(
                f"`space` must be a dict name -> distribution or None; got {type(space).__name__}."
            )
        self.max_rounds = int(max_rounds)
        self.early_stopping_rounds = (
            None if early_stopping_rounds is None else int(early_stopping_rounds)
        )
        self.seed = None if seed is None else int(seed)
        self.fixed_params = dict(fixed_params or {})
        self.cv = cv
        self.groups = None if groups is None else np.asarray(groups)
        self.group = None if group is None else np.asarray(group, dtype=np.int64)

        labels, self.data_shape = self._inspect_data(X, y)
        n_rows = int(self.data_shape[0])
        labels = check_labels(labels, n_rows)
        if self.groups is not None and len(self.groups) != n_rows:
            raise ValueError(
                f"`groups` has {len(self.groups)} entries but the data has {n_rows} rows."
            )
        if self.group is not None and int(self.group.sum()) != n_rows:
            raise ValueError(
                f"`group` (query sizes) sums to {int(self.group.sum())} but the data has "
                f"{n_rows} rows; the sizes of all queries must add up to the number of rows."
            )
        self.task = infer_task(labels, task, self.group)
        self.y_, self.classes_ = encode_classes(labels, self.task)
        self.n_classes = 0 if self.classes_ is None else len(self.classes_)

        self.validation_data = validation_data
        self.y_valid_: np.ndarray | None = None
        if validation_data is not None:
            if not isinstance(validation_data, (tuple, list)) or len(validation_data) != 2:
                raise ValueError("`validation_data` must be a pair (X_valid, y_valid).")
            y_valid, shape_valid = self._inspect_data(*validation_data)
            y_valid = check_labels(y_valid, int(shape_valid[0]), name="validation_data[1]")
            if len(shape_valid) > 1 and shape_valid[1:] != self.data_shape[1:]:
                raise ValueError(
                    f"`validation_data` has {shape_valid[1:]} features per row but `X` has "
                    f"{self.data_shape[1:]}."
                )
            self.y_valid_ = self._encode_like_train(y_valid)

        if self.task == "ranking":
            if validation_data is not None:
                raise ValueError(
                    "Ranking validates by `cv` (an int or a holdout fraction), which keeps "
                    "queries whole; `validation_data` is not supported for ranking."
                )
            if self.groups is None and self.group is not None:
                self.groups = np.repeat(np.arange(len(self.group)), self.group)
        if cv is None and validation_data is None:
            cv = 5
        self.folds = make_folds(
            cv=cv,
            y=self.y_,
            task=self.task,
            n_rows=n_rows,
            seed=self.seed,
            groups=self.groups,
            has_validation_data=validation_data is not None,
        )
        check_folds(self.folds, self.y_, self.task, self.y_valid_)

        self.metric = resolve_metric(
            metric,
            self.task,
            self.library,
            self._library_metrics(self.task),
            self._native_alias,
        )
        self._space = merge_space(
            self._default_space(self.task),
            space,
            known=self._known_params(),
            library=self.library,
            fixed_params=self.fixed_params,
        )

    # ----------------------------------------------------------------------------- public API
    @property
    def direction(self) -> str:
        """``"minimize"`` or ``"maximize"``, for ``optuna.create_study(direction=...)``."""
        return self.metric.direction

    @property
    def search_space(self) -> dict[str, BaseDistribution]:
        """The distributions searched (default space with ``space`` applied, fixed removed)."""
        return dict(self._space)

    def __call__(self, trial: optuna.Trial) -> float:
        """Train one configuration on every fold; return the mean validation metric at the best
        round (``NaN``, i.e. a failed trial with ``fail_reason``, when training raises)."""
        sampled = self._suggest(trial)
        tracker = RoundTracker(
            trial,
            maximize=self.metric.maximize,
            early_stopping_rounds=self.early_stopping_rounds,
            metric_name=self.metric.name,
        )
        try:
            self._train(self._library_params(sampled), tracker)
        except optuna.TrialPruned:
            raise
        except Exception as err:  # a failed configuration must not end the study
            reason = f"{type(err).__name__}: {err}"
            trial.set_user_attr(ATTR_FAIL_REASON, reason[:2000])
            warnings.warn(
                f"Trial {trial.number} failed during {self.library} training: {reason}",
                RuntimeWarning,
                stacklevel=2,
            )
            return math.nan
        tracker.record()
        return tracker.best_value

    def evaluate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Cross-validate one configuration without a trial (no pruning).

        Returns ``{"value", "best_iteration", "n_rounds", "fold_scores"}``; useful to score the
        library's default parameters on the same folds (pass ``{}``).
        """
        tracker = RoundTracker(
            None,
            maximize=self.metric.maximize,
            early_stopping_rounds=self.early_stopping_rounds,
            metric_name=self.metric.name,
        )
        self._train(self._library_params(dict(params)), tracker)
        return {
            "value": tracker.best_value,
            "best_iteration": tracker.best_round,
            "n_rounds": tracker.rounds_done,
            "fold_scores": tracker.best_fold_values,
        }

    def refit(
        self,
        study_or_params: optuna.Study | FrozenTrial | Mapping[str, Any],
        *,
        n_rounds: int | None = None,
        artifact_store: Any = None,
    ) -> Any:
        """Train on all training data with the best parameters and number of rounds.

        Args:
            study_or_params: A study (its best trial is used), a trial, the dict returned by
                :func:`load_best`, or a plain dict of searched parameters.
            n_rounds: Number of rounds; by default the best trial's ``best_iteration + 1``
                (``max_rounds`` for a plain dict).
            artifact_store: An Optuna artifact store (``optuna.artifacts.FileSystemArtifactStore``
                ...): the model is uploaded as an artifact of the study, named after the best
                trial (see :func:`upload_model_artifact`); needs a study.

        Returns:
            The library's fitted model (e.g. ``xgboost.Booster``).
        """
        params, rounds, trial, study = self._best_from(study_or_params)
        if artifact_store is not None and study is None:
            raise ValueError(
                "`artifact_store` needs the study to attach the model to its best trial; got "
                f"{type(study_or_params).__name__}."
            )
        if n_rounds is not None:
            rounds = n_rounds
        if rounds is None:
            rounds = self.max_rounds
        if isinstance(rounds, bool) or not isinstance(rounds, (int, np.integer)) or rounds < 1:
            raise ValueError(f"`n_rounds` must be an int >= 1; got {rounds!r}.")
        model = self._fit_full(self._library_params(params), int(rounds))
        if artifact_store is not None and study is not None and trial is not None:
            upload_model_artifact(self, model, study, trial, artifact_store)
        return model

    # -------------------------------------------------------------------------------- helpers
    def _train(self, params: dict[str, Any], tracker: RoundTracker) -> None:
        states = [self._start_fold(params, fold) for fold in self.folds]
        for round_ in range(self.max_rounds):
            if tracker.update(round_, self._run_round(states, round_)):
                break

    def _run_round(self, states: list[Any], round_: int) -> Sequence[float]:
        """One round on every fold, in lockstep (override to batch the folds)."""
        return [self._step_fold(state, round_) for state in states]

    def _encode_like_train(self, y_valid: np.ndarray) -> np.ndarray:
        if self.classes_ is None:
            return encode_classes(y_valid, self.task)[0]
        index = {c: i for i, c in enumerate(self.classes_)}
        unknown = sorted({_py(v) for v in y_valid} - set(index), key=repr)
        if unknown:
            raise ValueError(
                f"`validation_data` has labels {unknown[:10]} that `y` does not have "
                f"(classes: {self.classes_[:20]})."
            )
        return np.array([index[_py(v)] for v in y_valid], dtype=np.float64)

    def _best_from(
        self, source: Any
    ) -> tuple[dict[str, Any], int | None, FrozenTrial | None, optuna.Study | None]:
        if isinstance(source, optuna.Study):
            trial = source.best_trial
            return dict(trial.params), _rounds_of(trial), trial, source
        if isinstance(source, FrozenTrial):
            if source.state != TrialState.COMPLETE:
                raise ValueError(f"Trial {source.number} is {source.state.name}, not COMPLETE.")
            return dict(source.params), _rounds_of(source), source, None
        if isinstance(source, Mapping):
            if source.get("format") == FORMAT:
                if source.get("library") not in (None, self.library):
                    raise ValueError(
                        f"These best parameters are for {source.get('library')}, not "
                        f"{self.library}."
                    )
                it = source.get("best_iteration")
                return dict(source["params"]), None if it is None else int(it) + 1, None, None
            return dict(source), None, None, None
        raise ValueError(
            "`refit` takes a study, a FrozenTrial, the dict from `load_best` or a parameter "
            f"dict; got {type(source).__name__}."
        )

    def describe(self) -> dict[str, Any]:
        """What :func:`save_best` records about this objective (JSON-serializable)."""
        return {
            "library": self.library,
            "library_version": self._library_version(),
            "task": self.task,
            "metric": self.metric.name,
            "direction": self.direction,
            "data_shape": [int(s) for s in self.data_shape],
            "classes": self.classes_,
            "seed": self.seed,
            "fixed_params": _jsonable(self.fixed_params),
            "cv": repr(self.cv) if self.validation_data is None else "validation_data",
            "n_folds": len(self.folds),
            "max_rounds": self.max_rounds,
            "early_stopping_rounds": self.early_stopping_rounds,
        }

    # ------------------------------------------------------------------ hooks for subclasses
    def _suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample one configuration (default: the search space). Override to suggest more
        through the trial (e.g. a network architecture); runs before training, so a
        ``ValueError`` raised here (bad input) ends the study instead of failing the trial."""
        return suggest_params(trial, self._space)

    @abc.abstractmethod
    def _inspect_data(self, X: Any, y: Any) -> tuple[np.ndarray | None, tuple[int, ...]]: ...

    @abc.abstractmethod
    def _library_version(self) -> str: ...

    @abc.abstractmethod
    def _library_metrics(self, task: str) -> Mapping[str, str]: ...

    def _native_alias(self, name: str, task: str) -> str | None:
        return None

    @abc.abstractmethod
    def _default_space(self, task: str) -> dict[str, BaseDistribution]: ...

    def _known_params(self) -> Collection[str] | None:
        return None

    @abc.abstractmethod
    def _library_params(self, sampled: Mapping[str, Any]) -> dict[str, Any]: ...

    @abc.abstractmethod
    def _start_fold(self, params: dict[str, Any], fold: Fold) -> Any: ...

    @abc.abstractmethod
    def _step_fold(self, state: Any, round_: int) -> float: ...

    @abc.abstractmethod
    def _fit_full(self, params: dict[str, Any], n_rounds: int) -> Any: ...

    @abc.abstractmethod
    def _save_model(self, model: Any, path: str) -> str: ...


def _rounds_of(trial: FrozenTrial) -> int | None:
    it = trial.user_attrs.get(ATTR_BEST_ITERATION)
    return None if it is None else int(it) + 1


def _jsonable(value: Any) -> Any:
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    if isinstance(value, (list, tuple)):
        return [_jsonable(v) for v in value]
    if isinstance(value, np.generic):
        return value.item()
    if isinstance(value, np.ndarray):
        return value.tolist()
    if value is None or isinstance(value, (str, int, float, bool)):
        return value
    return repr(value)


# --------------------------------------------------------------------------------------------
# Artifacts, save_best, load_best
# --------------------------------------------------------------------------------------------
def upload_model_artifact(
    objective: BaseObjective,
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
        path = objective._save_model(model, base)
        return upload_artifact(
            artifact_store=artifact_store,
            file_path=path,
            study_or_trial=study,
        )


def save_best(
    study: optuna.Study,
    path: str | os.PathLike[str],
    *,
    objective: BaseObjective | None = None,
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
    from optuna_recipes import __version__

    trial = study.best_trial
    record: dict[str, Any] = {
        "format": FORMAT,
        "params": _jsonable(trial.params),
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
            objective, model, study, trial, artifact_store
        )
    record.update(_jsonable(dict(extra or {})))
    target = Path(path)
    target.parent.mkdir(parents=True, exist_ok=True)
    target.write_text(json.dumps(record, indent=2, sort_keys=True) + "\n")
    return record


def load_best(path: str | os.PathLike[str]) -> dict[str, Any]:
    """Read a file written by :func:`save_best`; pass the result to ``objective.refit``.

    Raises ``ValueError`` when the file is not a :func:`save_best` record.
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
