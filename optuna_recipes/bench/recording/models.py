"""Learning curves of one configuration: each family's model trained on a task's CV folds.

Every function here takes the configuration's parameters (the family's search space), a
:class:`TaskData` (rows, labels and the folds of one task) and the number of curve steps, and
returns the fold-mean validation metric after each step: boosting rounds (XGBoost, LightGBM,
HistGradientBoosting), forest sizes (random forest, extra trees: the first ``k`` trees of one
grown forest, which is what ``warm_start`` would give), epochs (MLP, ``partial_fit``) or one step
(SVM). The metric is the log loss, except for the SVM, which has no probabilities and records its
error rate. A model whose predictions stop being finite (a diverged MLP) scores as the uniform
prediction, ``log(n_classes)``, from that step on: the value a broken run really reports.

Everything is single-threaded and seeded (``random_state=0``), so one configuration records the
same curve twice (up to the libraries' floating-point summation order).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
from typing import Any
import warnings

import numpy as np

#: Trees added per curve step of the forest families.
TREES_PER_STEP = 4


@dataclass
class TaskData:
    """The rows of one task and its cross-validation folds (built by :func:`load_task`).

    Attributes:
        X: Features, float64 ``(n, d)``.
        y: Labels encoded as ``0 .. n_classes - 1``.
        n_classes: Number of classes.
        folds: ``(train_rows, valid_rows)`` per fold (stratified, shuffled, seed 0).
        cache: Per-library data built once per task (DMatrix, scaled folds, ...).
    """

    X: np.ndarray
    y: np.ndarray
    n_classes: int
    folds: list[tuple[np.ndarray, np.ndarray]]
    cache: dict[str, Any] = field(default_factory=dict)


def _log_loss(y: np.ndarray, proba: np.ndarray, n_classes: int) -> float:
    if not np.isfinite(proba).all():
        return float(np.log(n_classes))
    proba = np.clip(proba, 1e-15, 1.0)
    proba = proba / proba.sum(axis=1, keepdims=True)
    return float(-np.mean(np.log(proba[np.arange(len(y)), y])))


def _fold_mean(curves: Sequence[Sequence[float] | np.ndarray], steps: int) -> np.ndarray:
    out = np.full((len(curves), steps), np.nan)
    for i, curve in enumerate(curves):
        curve = np.asarray(curve, dtype=float)[:steps]
        out[i, : len(curve)] = curve
        out[i, len(curve) :] = curve[-1] if len(curve) else np.nan
    return out.mean(axis=0)


def xgboost_curve(params: dict[str, Any], data: TaskData, steps: int) -> np.ndarray:
    """XGBoost (``hist``): validation log loss after each boosting round."""
    import xgboost as xgb

    if "xgboost" not in data.cache:
        data.cache["xgboost"] = [
            (
                xgb.DMatrix(data.X[tr], data.y[tr], nthread=1),
                xgb.DMatrix(data.X[va], data.y[va], nthread=1),
            )
            for tr, va in data.folds
        ]
    multi = data.n_classes > 2
    native = {
        "objective": "multi:softprob" if multi else "binary:logistic",
        "eval_metric": "mlogloss" if multi else "logloss",
        "tree_method": "hist",
        "nthread": 1,
        "seed": 0,
        "verbosity": 0,
        **params,
    }
    if multi:
        native["num_class"] = data.n_classes
    curves = []
    for dtrain, dvalid in data.cache["xgboost"]:
        log: dict[str, Any] = {}
        xgb.train(
            native, dtrain, steps, evals=[(dvalid, "valid")], evals_result=log, verbose_eval=False
        )
        curves.append(log["valid"][native["eval_metric"]])
    return _fold_mean(curves, steps)


def lightgbm_curve(params: dict[str, Any], data: TaskData, steps: int) -> np.ndarray:
    """LightGBM: validation log loss after each boosting round.

    The family shares XGBoost's parameter names: ``grow_policy="depthwise"`` gives LightGBM's
    leaf-wise growth ``num_leaves = 2**max_depth`` (a complete tree of that depth, which is what
    depth-wise growth builds), ``"lossguide"`` gives ``num_leaves = max_leaves``; both keep
    ``max_depth``. ``min_child_weight``, ``subsample`` (bagging every round) and
    ``colsample_bytree`` are LightGBM's own aliases.
    """
    import lightgbm as lgb

    if "lightgbm" not in data.cache:
        sets = []
        for tr, va in data.folds:
            train = lgb.Dataset(data.X[tr], data.y[tr], free_raw_data=False)
            sets.append((train, lgb.Dataset(data.X[va], data.y[va], reference=train)))
        data.cache["lightgbm"] = sets
    multi = data.n_classes > 2
    depth = int(params["max_depth"])
    leaves = 2**depth if params["grow_policy"] == "depthwise" else int(params["max_leaves"])
    native = {
        "objective": "multiclass" if multi else "binary",
        "metric": "multi_logloss" if multi else "binary_logloss",
        "learning_rate": params["learning_rate"],
        "num_leaves": max(leaves, 2),
        "max_depth": depth,
        "min_sum_hessian_in_leaf": params["min_child_weight"],
        "bagging_fraction": params["subsample"],
        "bagging_freq": 1,
        "feature_fraction": params["colsample_bytree"],
        "num_threads": 1,
        "seed": 0,
        "deterministic": True,
        "force_row_wise": True,
        "verbose": -1,
    }
    if multi:
        native["num_class"] = data.n_classes
    curves = []
    for train, valid in data.cache["lightgbm"]:
        log: dict[str, Any] = {}
        lgb.train(
            native,
            train,
            steps,
            valid_sets=[valid],
            valid_names=["valid"],
            callbacks=[lgb.record_evaluation(log)],
        )
        curves.append(log["valid"][native["metric"]])
    return _fold_mean(curves, steps)


def _binned_folds(data: TaskData, max_bins: int = 255) -> list[tuple[np.ndarray, np.ndarray]]:
    """Each fold's features quantized to at most ``max_bins`` training quantiles.

    HistGradientBoosting bins its input the same way itself; quantizing once per task keeps
    its per-fit binning trivial (scikit-learn 1.9 computes weighted quantiles for
    ``class_weight="balanced"`` at about a second per fit, which would dominate the records).
    """
    if "binned" not in data.cache:
        binned = []
        for tr, va in data.folds:
            X_tr, X_va = np.empty(data.X[tr].shape), np.empty(data.X[va].shape)
            for j in range(data.X.shape[1]):
                col = data.X[tr, j]
                edges = np.unique(np.quantile(col, np.linspace(0, 1, max_bins + 1)[1:-1]))
                X_tr[:, j] = np.searchsorted(edges, col)
                X_va[:, j] = np.searchsorted(edges, data.X[va, j])
            binned.append((X_tr, X_va))
        data.cache["binned"] = binned
    return data.cache["binned"]


def hgb_curve(params: dict[str, Any], data: TaskData, steps: int) -> np.ndarray:
    """``HistGradientBoostingClassifier``: validation log loss after each iteration (features
    quantized once per fold, see :func:`_binned_folds`)."""
    from sklearn.ensemble import HistGradientBoostingClassifier

    curves = []
    for (tr, va), (X_tr, X_va) in zip(data.folds, _binned_folds(data), strict=True):
        model = HistGradientBoostingClassifier(
            **params, max_iter=steps, early_stopping=False, random_state=0
        ).fit(X_tr, data.y[tr])
        y = data.y[va]
        curves.append([_log_loss(y, p, data.n_classes) for p in model.staged_predict_proba(X_va)])
    return _fold_mean(curves, steps)


def _forest_curve(kind: str, params: dict[str, Any], data: TaskData, steps: int) -> np.ndarray:
    from sklearn import ensemble

    trees_per_step = TREES_PER_STEP
    curves = []
    for tr, va in data.folds:
        forest = getattr(ensemble, kind)(
            **params, n_estimators=steps * trees_per_step, random_state=0, n_jobs=1
        ).fit(data.X[tr], data.y[tr])
        X, y = data.X[va].astype(np.float32), data.y[va]
        total = np.zeros((len(y), data.n_classes))
        curve = []
        for i, tree in enumerate(forest.estimators_, start=1):
            total += tree.predict_proba(X, check_input=False)
            if i % trees_per_step == 0:
                curve.append(_log_loss(y, total / i, data.n_classes))
        curves.append(curve)
    return _fold_mean(curves, steps)


def random_forest_curve(params: dict[str, Any], data: TaskData, steps: int) -> np.ndarray:
    """``RandomForestClassifier``: validation log loss of the first 4, 8, ... trees."""
    return _forest_curve("RandomForestClassifier", params, data, steps)


def extra_trees_curve(params: dict[str, Any], data: TaskData, steps: int) -> np.ndarray:
    """``ExtraTreesClassifier``: validation log loss of the first 4, 8, ... trees."""
    return _forest_curve("ExtraTreesClassifier", params, data, steps)


def _scaled_folds(data: TaskData) -> list[tuple[np.ndarray, np.ndarray]]:
    from sklearn.preprocessing import StandardScaler

    if "scaled" not in data.cache:
        scaled = []
        for tr, va in data.folds:
            scaler = StandardScaler().fit(data.X[tr])
            scaled.append((scaler.transform(data.X[tr]), scaler.transform(data.X[va])))
        data.cache["scaled"] = scaled
    return data.cache["scaled"]


def svm_curve(params: dict[str, Any], data: TaskData, steps: int) -> np.ndarray:
    """``SVC`` on standardized features: validation error rate (one step).

    ``C = 2**log2_C`` and ``gamma = 2**log2_gamma`` (LIBSVM's grid); at most 100,000 solver
    iterations, so a configuration that does not converge records the model it stopped at.
    """
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.svm import SVC

    errors = []
    for (tr, va), (X_tr, X_va) in zip(data.folds, _scaled_folds(data), strict=True):
        model = SVC(
            kernel=params["kernel"],
            C=2.0 ** params["log2_C"],
            gamma=2.0 ** params["log2_gamma"],
            max_iter=100_000,
        )
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            model.fit(X_tr, data.y[tr])
        errors.append([1.0 - float(np.mean(model.predict(X_va) == data.y[va]))])
    return _fold_mean(errors, steps)


def mlp_curve(params: dict[str, Any], data: TaskData, steps: int) -> np.ndarray:
    """``MLPClassifier`` on standardized features: validation log loss after each epoch
    (``partial_fit``: one pass over the training rows in shuffled mini-batches)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.neural_network import MLPClassifier

    params = dict(params)
    layers = (int(params.pop("n_units")),) * int(params.pop("n_layers"))
    classes = np.arange(data.n_classes)
    curves = []
    for (tr, va), (X_tr, X_va) in zip(data.folds, _scaled_folds(data), strict=True):
        model = MLPClassifier(hidden_layer_sizes=layers, random_state=0, **params)
        y_tr, y_va = data.y[tr], data.y[va]
        curve: list[float] = []
        diverged = False
        with warnings.catch_warnings(), np.errstate(all="ignore"):
            warnings.simplefilter("ignore", ConvergenceWarning)
            warnings.simplefilter("ignore", RuntimeWarning)
            warnings.simplefilter("ignore", UserWarning)  # batch_size clipped to the rows
            for _ in range(steps):
                if not diverged:
                    try:
                        model.partial_fit(X_tr, y_tr, classes=classes)
                        proba = model.predict_proba(X_va)
                    except ValueError:  # "Solver produced non-finite parameter weights"
                        proba = np.full((len(y_va), data.n_classes), np.nan)
                    diverged = not np.isfinite(proba).all()
                curve.append(
                    float(np.log(data.n_classes))
                    if diverged
                    else _log_loss(y_va, proba, data.n_classes)
                )
        curves.append(curve)
    return _fold_mean(curves, steps)


#: The model name of a family -> its curve function.
CURVES: dict[str, Callable[[dict[str, Any], TaskData, int], np.ndarray]] = {
    "xgboost": xgboost_curve,
    "lightgbm": lightgbm_curve,
    "hgb": hgb_curve,
    "random_forest": random_forest_curve,
    "extra_trees": extra_trees_curve,
    "svm": svm_curve,
    "mlp": mlp_curve,
}


def library_versions(model: str) -> dict[str, str]:
    """Versions of the libraries that train ``model`` (recorded in each file's meta)."""
    import sklearn

    versions = {"scikit-learn": str(sklearn.__version__)}
    if model in ("xgboost", "lightgbm"):
        module = __import__(model)
        versions[model] = str(module.__version__)
    return versions
