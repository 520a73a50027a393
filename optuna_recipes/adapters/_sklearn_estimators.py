"""scikit-learn estimators as :class:`~optuna_recipes.adapters.sklearn.SklearnObjective` sees
them: name shortcuts, pipelines and their final step, how each estimator trains in rounds
(:class:`TrainingPlan`), the extra metrics, and the input checks.

Example:
    .. code-block:: python

        from optuna_recipes.adapters._sklearn_estimators import plan_for, resolve_estimator

        pipeline = resolve_estimator("svm", "binary")  # StandardScaler + SVC
        plan_for(pipeline[-1]).kind  # "once": an SVC is fitted in one go
"""

from __future__ import annotations

import dataclasses
import difflib
import importlib
import inspect
from typing import Any

import numpy as np
from sklearn.base import clone
from sklearn.base import is_classifier
from sklearn.base import is_regressor
from sklearn.pipeline import Pipeline

from optuna_recipes._validation import check_int
from optuna_recipes.adapters._base.data import CLASSIFICATION

#: Name shortcut -> (classifier, regressor) as ``"module:Class"`` under ``sklearn``, and whether
#: a ``StandardScaler`` goes first (models that depend on the scale of the features).
SHORTCUTS: dict[str, tuple[str, str, bool]] = {
    "hgb": (
        "ensemble:HistGradientBoostingClassifier",
        "ensemble:HistGradientBoostingRegressor",
        False,
    ),
    "rf": ("ensemble:RandomForestClassifier", "ensemble:RandomForestRegressor", False),
    "et": ("ensemble:ExtraTreesClassifier", "ensemble:ExtraTreesRegressor", False),
    "svm": ("svm:SVC", "svm:SVR", True),
    "logreg": ("linear_model:LogisticRegression", "linear_model:Ridge", True),
    "ridge": ("linear_model:RidgeClassifier", "linear_model:Ridge", True),
    "knn": ("neighbors:KNeighborsClassifier", "neighbors:KNeighborsRegressor", True),
    "mlp": ("neural_network:MLPClassifier", "neural_network:MLPRegressor", True),
    "sgd": ("linear_model:SGDClassifier", "linear_model:SGDRegressor", True),
}
# Constructor arguments of the shortcuts' estimators where scikit-learn's default does not suit
# tuning: lbfgs needs more iterations over the wide range of C; SGD's default hinge loss has no
# predict_proba, which the default metric (log loss) needs.
_SHORTCUT_ARGS: dict[str, dict[str, Any]] = {
    "LogisticRegression": {"max_iter": 1000},
    "SGDClassifier": {"loss": "log_loss"},
}
# The estimators' own early stopping is switched off: the validation folds choose the rounds.
OWN_EARLY_STOPPING: dict[str, dict[str, Any]] = {
    "HistGradientBoostingClassifier": {"early_stopping": False},
    "HistGradientBoostingRegressor": {"early_stopping": False},
    "GradientBoostingClassifier": {"n_iter_no_change": None},
    "GradientBoostingRegressor": {"n_iter_no_change": None},
}
# `n_jobs` has no effect (and warns) in LogisticRegression since scikit-learn 1.8.
IGNORES_N_JOBS = frozenset({"LogisticRegression"})
# The MLP's layers are searched as depth and width (auto-sklearn's names, see spaces.py).
MLP_CLASSES = frozenset({"MLPClassifier", "MLPRegressor"})
MLP_PARAMS = ("hidden_layer_depth", "num_nodes_per_layer")


@dataclasses.dataclass(frozen=True)
class TrainingPlan:
    """How an estimator is trained and validated round by round.

    ``kind`` is ``"staged"`` (warm-started fits of ``iterations_per_fit`` more iterations of
    ``param``, each iteration validated with ``staged_predict*``), ``"trees"`` (the same for
    forests, validated by adding each new tree's predictions), ``"epochs"`` (one
    ``partial_fit`` pass per round) or ``"once"`` (one fit, one round). ``max_rounds`` and
    ``patience`` are the objective's defaults for ``max_rounds`` and ``early_stopping_rounds``.

    Example:
        .. code-block:: python

            from sklearn.ensemble import RandomForestClassifier
            from optuna_recipes.adapters.sklearn import plan_for

            plan_for(RandomForestClassifier()).param  # "n_estimators"
    """

    kind: str
    param: str | None = None
    iterations_per_fit: int = 1
    max_rounds: int = 1
    patience: int | None = None


_BOOSTING = TrainingPlan("staged", "max_iter", 50, 1000, 50)
_FOREST = TrainingPlan("trees", "n_estimators", 10, 300, 50)
_PLANS: dict[str, TrainingPlan] = {
    "HistGradientBoostingClassifier": _BOOSTING,
    "HistGradientBoostingRegressor": _BOOSTING,
    "GradientBoostingClassifier": dataclasses.replace(_BOOSTING, param="n_estimators"),
    "GradientBoostingRegressor": dataclasses.replace(_BOOSTING, param="n_estimators"),
    "RandomForestClassifier": _FOREST,
    "RandomForestRegressor": _FOREST,
    "ExtraTreesClassifier": _FOREST,
    "ExtraTreesRegressor": _FOREST,
}
_EPOCHS = TrainingPlan("epochs", None, 1, 200, 10)
_ONCE = TrainingPlan("once")


def plan_for(final: Any, iterations_per_fit: int | None = None) -> TrainingPlan:
    """The :class:`TrainingPlan` of an estimator (the final step of a pipeline).

    HistGradientBoosting and GradientBoosting grow by warm start and are validated at every
    boosting iteration; random forests and extra trees at every tree; estimators with
    ``partial_fit`` and ``max_iter`` (MLP, SGD, Perceptron, PassiveAggressive) at every epoch;
    everything else is fitted once.
    """
    step = check_int("iterations_per_fit", iterations_per_fit, minimum=1, allow_none=True)
    plan = _PLANS.get(type(final).__name__)
    if plan is None:
        iterative = hasattr(final, "partial_fit") and "max_iter" in final.get_params()
        return _EPOCHS if iterative else _ONCE
    return plan if step is None else dataclasses.replace(plan, iterations_per_fit=step)


def resolve_estimator(estimator: Any, task: str) -> Any:
    """An unfitted clone of ``estimator`` (an instance, a class or a shortcut of
    :data:`SHORTCUTS`), checked to be a classifier or regressor as ``task`` needs."""
    classification = task in CLASSIFICATION
    if isinstance(estimator, str):
        if estimator not in SHORTCUTS:
            close = difflib.get_close_matches(estimator, list(SHORTCUTS), n=1)
            hint = f"; did you mean {close[0]!r}?" if close else "."
            raise ValueError(
                f"Unknown estimator name {estimator!r}: the shortcuts are {sorted(SHORTCUTS)}"
                f"{hint} Or pass a scikit-learn estimator or Pipeline."
            )
        classifier, regressor, scaled = SHORTCUTS[estimator]
        module, name = (classifier if classification else regressor).split(":")
        cls = getattr(importlib.import_module(f"sklearn.{module}"), name)
        built = cls(**_SHORTCUT_ARGS.get(name, {}))
        if not scaled:
            return built
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        return make_pipeline(StandardScaler(), built)
    if isinstance(estimator, type):
        estimator = estimator()
    if not (hasattr(estimator, "fit") and hasattr(estimator, "get_params")):
        raise ValueError(
            "`estimator` must be a scikit-learn estimator or Pipeline (with `fit` and "
            f"`get_params`) or one of the names {sorted(SHORTCUTS)}; got "
            f"{type(estimator).__name__}."
        )
    fits = is_classifier(estimator) if classification else is_regressor(estimator)
    if not fits:
        kind = "classifier" if classification else "regressor"
        raise ValueError(
            f"The task is {task!r} but {name_of(estimator)} is not a {kind}. Pass a {kind}, or "
            "`task=` if the task was inferred wrongly from `y`."
        )
    return clone(estimator)


def name_of(estimator: Any) -> str:
    return type(estimator).__name__


def final_step(estimator: Any) -> tuple[str, Any]:
    """``(prefix, estimator)`` of the final step (``("svc__", SVC())``; ``("", est)`` itself)."""
    if isinstance(estimator, Pipeline):
        name, final = estimator.steps[-1]
        return f"{name}__", final
    return "", estimator


def split_final(estimator: Any) -> tuple[Any, Any]:
    """``(preprocessor or None, final estimator)``: a pipeline's steps before the last share
    their objects with ``estimator``, so fitting them fits the pipeline's steps."""
    if isinstance(estimator, Pipeline) and len(estimator.steps) > 1:
        return estimator[:-1], estimator.steps[-1][1]
    return None, final_step(estimator)[1]


def _labels_of(p: np.ndarray) -> np.ndarray:
    return (p > 0.5).astype(np.int64) if p.ndim == 1 else np.argmax(p, axis=1)


def _balanced_accuracy(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    from sklearn.metrics import balanced_accuracy_score

    return float(balanced_accuracy_score(y, _labels_of(p), sample_weight=w))


def _average_precision(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    from sklearn.metrics import average_precision_score

    return float(average_precision_score(y, p, sample_weight=w))


def _mse(y: np.ndarray, p: np.ndarray, w: np.ndarray | None = None) -> float:
    return float(np.average((y - p) ** 2, weights=w))


# scikit-learn metrics besides the shared vocabulary: name -> (tasks, direction,
# ``score(y, pred, sample_weight=None)``).
EXTRA_METRICS = {
    "balanced_accuracy": (CLASSIFICATION, "maximize", _balanced_accuracy),
    "average_precision": (frozenset({"binary"}), "maximize", _average_precision),
    "mse": (frozenset({"regression"}), "minimize", _mse),
}


def as_target(y: Any) -> Any:
    return y.to_numpy() if hasattr(y, "to_numpy") else y


def as_features(X: Any) -> Any:
    """Features as the objective keeps them: arrays and frames as given, sparse matrices as
    CSR (row slicing), anything else as a NumPy array."""
    if hasattr(X, "tocsr"):
        return X.tocsr()
    return X if hasattr(X, "shape") else np.asarray(X)


def as_float32(X: Any) -> Any:
    """The input of a forest's trees (what the forest itself converts to)."""
    return X.astype(np.float32) if hasattr(X, "tocsr") else np.asarray(X, dtype=np.float32)


def check_missing(estimator: Any, X: Any, name: str = "X") -> None:
    """Refuse NaN features for an estimator that cannot take them (pipelines are left to
    their own steps: their tags do not say whether a step imputes)."""
    if isinstance(estimator, Pipeline) or hasattr(X, "tocsr"):
        return
    try:
        from sklearn.utils import get_tags
    except ImportError:  # scikit-learn < 1.6 has no public tags
        return
    if get_tags(estimator).input_tags.allow_nan:
        return
    values = X.to_numpy() if hasattr(X, "to_numpy") else np.asarray(X)
    if values.dtype.kind == "f" and np.isnan(values).any():
        raise ValueError(
            f"`{name}` has {int(np.isnan(values).sum())} missing value(s) (NaN), which "
            f"{name_of(estimator)} does not accept. Impute them in a Pipeline (e.g. "
            f"make_pipeline(SimpleImputer(), {name_of(estimator)}())) or use 'hgb'."
        )


def prepares_columns(estimator: Any) -> bool:
    """Whether ``estimator`` is a pipeline whose first step takes columns other than numbers
    itself (a ``ColumnTransformer``, an encoder, a text vectorizer): then its steps, not the
    objective, decide which features it can train on."""
    if not isinstance(estimator, Pipeline):
        return False
    first = estimator.steps[0][1]
    if isinstance(first, Pipeline):
        return prepares_columns(first)
    from sklearn.compose import ColumnTransformer

    if isinstance(first, ColumnTransformer):
        return True
    try:
        from sklearn.utils import get_tags
    except ImportError:  # scikit-learn < 1.6: no public tags, leave pipelines to their steps
        return True
    try:
        tags = get_tags(first).input_tags
    except (AttributeError, TypeError):  # "passthrough", or a step without tags
        return False
    return tags.string or tags.categorical or not tags.two_d_array


def check_weight_support(final: Any, kind: str) -> None:
    """Refuse ``sample_weight`` for an estimator whose ``fit`` (``partial_fit`` when it trains
    in epochs, ``kind`` of its :class:`TrainingPlan`) does not take it."""
    method = final.partial_fit if kind == "epochs" else final.fit
    if "sample_weight" not in inspect.signature(method).parameters:
        raise ValueError(
            f"`sample_weight` is passed to `{method.__name__}`, but "
            f"{name_of(final)}.{method.__name__} takes no `sample_weight`. Choose an estimator "
            "that does, or resample the rows instead."
        )
