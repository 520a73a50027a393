"""XGBoost objective and pruning callback (xgboost >= 2.1, tested with 3.x).

:class:`XGBoostObjective` turns training data into an Optuna objective with a literature-backed
default search space; :class:`XGBoostPruningCallback` prunes a hand-written ``xgb.train``,
``xgb.cv`` or ``XGBClassifier``/``XGBRegressor`` loop.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any
import warnings

import numpy as np
import optuna
from optuna.distributions import BaseDistribution

from optuna_recipes._imports import optional_import
from optuna_recipes.adapters._base.boosting import Best
from optuna_recipes.adapters._base.boosting import BoostingObjective
from optuna_recipes.adapters._base.boosting import LibraryMetricNames
from optuna_recipes.adapters._base.boosting import inspect_array
from optuna_recipes.adapters._base.boosting import is_categorical_frame
from optuna_recipes.adapters._base.boosting import report_round
from optuna_recipes.adapters._base.boosting import take_rows
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters.spaces import xgboost_space

xgb = optional_import("xgboost", extra="xgboost", feature="optuna_recipes.adapters.xgboost")

_OBJECTIVES = {
    "binary": "binary:logistic",
    "multiclass": "multi:softprob",
    "regression": "reg:squarederror",
    "ranking": "rank:ndcg",
}
_MAXIMIZE = frozenset({"auc", "aucpr", "ndcg", "map", "pre"})
_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("logloss", "error", "auc", "aucpr"),
    "multiclass": ("mlogloss", "merror", "auc"),
    "regression": (
        "rmse",
        "rmsle",
        "mae",
        "mape",
        "mphe",
        "poisson-nloglik",
        "gamma-nloglik",
        "gamma-deviance",
        "tweedie-nloglik",
    ),
    "ranking": ("ndcg", "map", "pre", "auc", "aucpr"),
}
# Metric names with a parameter, e.g. ``ndcg@10``, ``map@5-``, ``error@0.7``, and how they are
# listed in messages.
_PATTERNS = {
    "binary": re.compile(r"^error@(0(\.\d+)?|1(\.0*)?)$"),
    "ranking": re.compile(r"^(ndcg|map|pre)@\d+-?$"),
}
_PLACEHOLDERS = {"binary": ("error@t",), "ranking": ("ndcg@k", "map@k", "pre@k")}
_ALIASES: dict[tuple[str, str], str] = {
    ("roc_auc", "binary"): "auc",
    ("log_loss", "binary"): "logloss",
    ("log_loss", "multiclass"): "mlogloss",
    ("rmse", "regression"): "rmse",
    ("mae", "regression"): "mae",
}
# Native parameter names -> the scikit-learn estimators' argument names.
_SKLEARN_NAMES = {
    "nthread": "n_jobs",
    "seed": "random_state",
    "eta": "learning_rate",
    "lambda": "reg_lambda",
    "alpha": "reg_alpha",
    "min_split_loss": "gamma",
}
# Learning-task and tree-booster parameters of XGBoost 2.x/3.x (for typos in ``space``).
_KNOWN_PARAMS = frozenset(
    """
    booster device verbosity validate_parameters nthread n_jobs disable_default_eval_metric
    eta learning_rate gamma min_split_loss max_depth min_child_weight max_delta_step subsample
    sampling_method colsample_bytree colsample_bylevel colsample_bynode lambda reg_lambda alpha
    reg_alpha tree_method scale_pos_weight updater refresh_leaf process_type grow_policy
    max_leaves max_bin num_parallel_tree monotone_constraints interaction_constraints
    multi_strategy max_cached_hist_node max_cat_to_onehot max_cat_threshold objective
    base_score eval_metric seed random_state seed_per_iteration tweedie_variance_power
    huber_slope quantile_alpha aft_loss_distribution lambdarank_pair_method
    lambdarank_num_pair_per_sample lambdarank_normalization lambdarank_score_normalization
    lambdarank_unbiased lambdarank_bias_norm ndcg_exp_gain num_class feature_selector top_k
    updater_seq sketch_eps one_drop rate_drop skip_drop sample_type normalize_type
    """.split()
)


class XGBoostObjective(BoostingObjective):
    """Optuna objective that cross-validates XGBoost with a default search space.

    Build it from training data, create a study with ``objective.direction`` and optimize. Each
    trial samples the parameters of ``objective.search_space`` (TabRepo/TabArena ranges, see
    :mod:`optuna_recipes.adapters.spaces`), trains one booster per fold in lockstep with
    ``tree_method="hist"``, reports the fold-mean validation metric of every boosting round to
    the trial (so any Optuna pruner works), stops early when that mean stops improving and
    returns its best value. ``objective.best_estimator(study)`` then trains on all rows with the
    best parameters for the best number of rounds and returns a fitted ``XGBClassifier``,
    ``XGBRegressor`` or ``XGBRanker`` (:class:`LabeledXGBClassifier` for labels other than
    ``0..K-1``); ``objective.refit(study)`` returns the ``xgboost.Booster`` itself.

    Choose it when you would otherwise write the split/CV loop, ranges, pruning callback, early
    stopping and refit by hand; write your own objective with :class:`XGBoostPruningCallback`
    when the training code must stay yours.

    Example:
        .. code-block:: python

            import optuna
            from sklearn.datasets import load_breast_cancer
            from optuna_recipes.adapters.xgboost import XGBoostObjective

            X, y = load_breast_cancer(return_X_y=True)
            objective = XGBoostObjective(X, y, metric="roc_auc", num_boost_round=200, cv=3)
            study = optuna.create_study(direction=objective.direction)
            study.optimize(objective, n_trials=20)
            model = objective.best_estimator(study)  # an XGBClassifier fitted on all rows
            proba = model.predict_proba(X)

    Args:
        X: Features: numpy array, pandas DataFrame (``category`` columns use XGBoost's native
            categorical support; text columns are refused, make them ``category``), scipy
            sparse matrix or ``xgboost.DMatrix`` (labels read from it when ``y`` is None).
            NaN is a missing value; infinite values are refused.
        y: Labels. Classification labels may be of any type; they are encoded to ``0..K-1`` in
            sorted order (``objective.classes_``).
        task: ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"ranking"`` (needs
            ``group``); inferred from ``y`` by default.
        metric: An XGBoost metric for the task (``"logloss"``, ``"auc"``, ``"aucpr"``,
            ``"error"``, ``"mlogloss"``, ``"merror"``, ``"rmse"``, ``"mae"``, ``"ndcg@10"``, ...)
            or a scikit-learn name (``"roc_auc"``, ``"accuracy"``, ``"f1"``, ``"log_loss"``,
            ``"rmse"``, ``"mae"``, ``"r2"``). Default: ``"log_loss"`` for classification,
            ``"rmse"`` for regression, ``"ndcg@10"`` for ranking. The direction follows.
        cv: ``None`` (5-fold, or ``validation_data`` when given), an int number of folds
            (stratified for classification, grouped with ``groups``), a holdout fraction in
            ``(0, 1)``, or any scikit-learn splitter.
        validation_data: ``(X_valid, y_valid)`` or ``(X_valid, y_valid, weight_valid)`` to
            validate on (same kinds as ``X``/``y``).
        sample_weight: Per-row weights, used in training and in the validation metric.
        groups: Per-row group labels for grouped cross-validation.
        group: Query sizes for ranking (as ``DMatrix.set_group``).
        fixed_params: XGBoost parameters used in every trial; they are removed from the space.
        space: Changes to the default space: ``{name: distribution}`` replaces or adds a
            parameter, ``{name: None}`` removes it; unknown XGBoost names raise ``ValueError``.
        num_boost_round: Cap on boosting rounds (default ``1000``).
        early_stopping_rounds: Stop after this many rounds without improvement of the fold-mean
            metric (default ``50``; ``None`` disables).
        seed: XGBoost ``seed`` and seed of the fold shuffling (default ``0``).
        n_jobs: XGBoost ``nthread`` per trial (default ``None``: half the CPUs, shared among
            concurrent trials; see :class:`~optuna_recipes.adapters.BaseObjective`).
        device: XGBoost ``device``, e.g. ``"cuda"`` (default: XGBoost's, the CPU).
        timeout: Seconds of training per trial; the trial then completes with its best value
            (user attr ``timed_out``). Default ``None``.
        verbose: ``0`` silent (default), ``1`` a line per trial start and end, ``2`` also
            every tenth of ``num_boost_round`` (through Optuna's logging).
    """

    library = "xgboost"
    extra = "xgboost"
    sklearn_aliases = _ALIASES

    # ------------------------------------------------------------------------- data handling
    def _prepare(self, X: Any) -> Any:
        if isinstance(X, xgb.QuantileDMatrix):
            raise ValueError(
                "`X` is an xgboost.QuantileDMatrix, which cannot be split into folds; pass the "
                "raw data or a plain xgboost.DMatrix."
            )
        return super()._prepare(X)

    @staticmethod
    def _categorical(X: Any) -> bool:
        if isinstance(X, xgb.DMatrix):
            return "c" in (X.feature_types or [])
        return is_categorical_frame(X)

    def _inspect_data(self, X: Any, y: Any) -> tuple[np.ndarray | None, tuple[int, ...]]:
        if isinstance(X, xgb.DMatrix):
            if y is None:
                y = X.get_label()
                if y.size == 0:
                    raise ValueError("`X` is a DMatrix without labels and `y` is None.")
            return np.asarray(y), (X.num_row(), X.num_col())
        return inspect_array(X, y)

    def _dmatrix(
        self, X: Any, label: np.ndarray, rows: np.ndarray | None = None, valid: bool = False
    ) -> Any:
        """``X`` (rows ``rows``; all when ``None``) as a DMatrix with labels and weights
        (``valid``: ``X`` is ``validation_data``'s features)."""
        qid = None
        if self.task == "ranking" and self.groups is not None:
            qid = self.groups if rows is None else self.groups[rows]
        weight = self._weights(rows, valid)
        if isinstance(X, xgb.DMatrix):
            d = X.slice(np.arange(X.num_row()) if rows is None else rows)
            d.set_label(label)
            if qid is not None:
                d.set_info(qid=qid)
            if weight is not None:
                d.set_weight(weight)
            return d
        data = X if rows is None else take_rows(X, rows)
        if not hasattr(data, "shape"):
            data = np.asarray(data)
        return xgb.DMatrix(
            data,
            label=label,
            weight=weight,
            qid=qid,
            enable_categorical=self.has_categorical,
            nthread=self.threads(),
        )

    def _fold_data(self, fold: Fold) -> tuple[Any, Any]:
        key = id(fold)
        if key not in self._fold_cache:
            dtrain = self._dmatrix(self.X, self.y_[fold.train], fold.train)
            if fold.valid is None:
                assert self.validation_data is not None and self.y_valid_ is not None
                dvalid = self._dmatrix(self.validation_data[0], self.y_valid_, valid=True)
            else:
                dvalid = self._dmatrix(self.X, self.y_[fold.valid], fold.valid)
            self._fold_cache[key] = (dtrain, dvalid)
        return self._fold_cache[key]

    # ------------------------------------------------------------------------------- hooks
    def _library_version(self) -> str:
        return str(xgb.__version__)

    def _library_metrics(self, task: str) -> Mapping[str, str]:
        return LibraryMetricNames(
            _METRICS[task],
            maximize=_MAXIMIZE,
            pattern=_PATTERNS.get(task),
            placeholders=_PLACEHOLDERS.get(task, ()),
        )

    def _default_space(self, task: str) -> dict[str, BaseDistribution]:
        return xgboost_space(task, has_categorical=self.has_categorical)

    def _known_params(self) -> frozenset[str]:
        return _KNOWN_PARAMS

    def _library_params(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": _OBJECTIVES[self.task],
            "tree_method": "hist",
            "verbosity": 0,
        }
        if self.task == "multiclass":
            params["num_class"] = self.n_classes
        if self.metric.native is not None:
            params["eval_metric"] = self.metric.native
        else:
            params["disable_default_eval_metric"] = 1
        if self.seed is not None:
            params["seed"] = self.seed
        params["nthread"] = self.threads()
        if self.device is not None:
            params["device"] = self.device
        params.update(self.fixed_params)
        params.update(sampled)
        return params

    def _start_fold(self, params: dict[str, Any], fold: Fold) -> Any:
        dtrain, dvalid = self._fold_data(fold)
        booster = xgb.Booster(params, [dtrain, dvalid])
        labels = weights = None
        if self.metric.score is not None:
            labels = dvalid.get_label()
            weights = dvalid.get_weight() if dvalid.get_weight().size else None
        return booster, dtrain, dvalid, labels, weights

    def _step_fold(self, state: Any, round_: int) -> float:
        booster, dtrain, dvalid, labels, weights = state
        booster.update(dtrain, round_)
        if self.metric.score is None:  # XGBoost's metrics weigh by the DMatrix's weights
            text = booster.eval_set([(dvalid, "valid")], round_)
            return float(text.rsplit(":", 1)[1])
        return self.metric.score(labels, booster.predict(dvalid), weights)

    def _fit_full(self, params: dict[str, Any], n_rounds: int) -> Any:
        if "full" not in self._fold_cache:
            self._fold_cache["full"] = self._dmatrix(self.X, self.y_)
        full = self._fold_cache["full"]
        return xgb.train(params, full, num_boost_round=n_rounds, verbose_eval=False)

    def _estimator(self, params: dict[str, Any], n_rounds: int) -> Any:
        """The refit booster inside an XGBClassifier/XGBRegressor/XGBRanker (``load_model``, so
        its predictions are the booster's) whose parameters are the configuration's."""
        booster = self._fit_full(params, n_rounds)
        labels = self.classes_
        if self.task == "ranking":
            cls: type = xgb.XGBRanker
        elif labels is None:
            cls = xgb.XGBRegressor
        elif all(type(c) is int for c in labels) and labels == list(range(len(labels))):
            cls = xgb.XGBClassifier
        else:
            cls = LabeledXGBClassifier
        kwargs = {_SKLEARN_NAMES.get(k, k): v for k, v in params.items() if k != "num_class"}
        estimator = cls(**kwargs, n_estimators=n_rounds, enable_categorical=self.has_categorical)
        estimator.load_model(booster.save_raw("ubj"))
        if cls is LabeledXGBClassifier:
            estimator.labels_ = np.asarray(labels)
        return estimator

    def _save_model(self, model: Any, path: str) -> str:
        model.save_model(path + ".json")
        return path + ".json"

    # ------------------------------------------------------------------------------ extras
    def predict(self, model: Any, X: Any) -> np.ndarray:
        """Predictions of a refit booster on ``X`` (probabilities for classification: shape
        ``(n,)`` for binary, ``(n, K)`` in ``classes_`` order for multiclass)."""
        if not isinstance(X, xgb.DMatrix):
            X = xgb.DMatrix(X.tocsr() if hasattr(X, "tocsr") else X, enable_categorical=True)
        return np.asarray(model.predict(X))


class LabeledXGBClassifier(xgb.XGBClassifier):  # type: ignore[misc,name-defined]
    """An ``XGBClassifier`` for any class labels (strings, ``[3, 7]``, ...): ``fit`` encodes
    them to ``0..K-1`` in sorted order, ``predict`` returns them and ``classes_`` lists them.

    :meth:`XGBoostObjective.best_estimator` returns one when the labels are not ``0..K-1``
    (``XGBClassifier`` itself predicts class indices).

    Example:
        .. code-block:: python

            import numpy as np
            from optuna_recipes.adapters.xgboost import LabeledXGBClassifier

            X = np.random.default_rng(0).normal(size=(40, 3))
            y = np.where(X[:, 0] > 0, "yes", "no")
            model = LabeledXGBClassifier(n_estimators=5).fit(X, y)
            model.classes_, model.predict(X[:2])  # ['no', 'yes'], labels
    """

    def fit(self, X: Any, y: Any, **kwargs: Any) -> LabeledXGBClassifier:
        labels, codes = np.unique(np.asarray(y), return_inverse=True)
        self.labels_ = None  # XGBoost checks its codes against ``classes_`` while fitting
        super().fit(X, codes, **kwargs)
        self.labels_ = labels
        return self

    @property
    def classes_(self) -> np.ndarray:  # type: ignore[override]
        labels = getattr(self, "labels_", None)
        return np.arange(self.n_classes_) if labels is None else labels

    def predict(self, X: Any, **kwargs: Any) -> np.ndarray:
        return self.classes_[np.asarray(super().predict(X, **kwargs), dtype=np.int64)]


class XGBoostPruningCallback(xgb.callback.TrainingCallback):  # type: ignore[misc,name-defined]
    """Report an evaluation metric of an XGBoost loop to a trial and prune it.

    Works with ``xgb.train`` (evaluation names from ``evals``), ``xgb.cv`` (``"test-<metric>"``,
    the mean over folds, so every fold counts) and the scikit-learn wrappers (pass it in the
    constructor: ``XGBClassifier(callbacks=[...])``, names ``"validation_0-<metric>"``). A
    callback keeps per-fit state: create a fresh one for every fit (a reused one warns).

    When the trial is pruned, the best value seen so far and its round are stored in the trial's
    user attrs ``best_value`` and ``best_iteration``.

    Example:
        .. code-block:: python

            import optuna
            import xgboost as xgb
            from sklearn.datasets import load_breast_cancer
            from optuna_recipes.adapters.xgboost import XGBoostPruningCallback

            X, y = load_breast_cancer(return_X_y=True)
            dtrain = xgb.DMatrix(X[:400], label=y[:400])
            dvalid = xgb.DMatrix(X[400:], label=y[400:])


            def objective(trial: optuna.Trial) -> float:
                params = {
                    "objective": "binary:logistic",
                    "eval_metric": "auc",
                    "eta": trial.suggest_float("eta", 1e-3, 0.3, log=True),
                }
                pruning = XGBoostPruningCallback(trial, "valid-auc")
                booster = xgb.train(
                    params, dtrain, 200, evals=[(dvalid, "valid")], callbacks=[pruning]
                )
                return float(booster.eval(dvalid).rsplit(":", 1)[1])


            study = optuna.create_study(direction="maximize")
            study.optimize(objective, n_trials=10)

    Args:
        trial: The trial to report to.
        observation_key: ``"<evaluation name>-<metric>"`` as in XGBoost's evaluation log, e.g.
            ``"valid-auc"``, ``"test-logloss"`` (``xgb.cv``) or ``"validation_0-rmse"``
            (scikit-learn API). Default ``None``: the last metric of the last evaluation set.
    """

    def __init__(self, trial: optuna.Trial, observation_key: str | None = None) -> None:
        super().__init__()
        if observation_key is not None and "-" not in observation_key:
            raise ValueError(
                f"`observation_key` must look like '<evaluation name>-<metric>' (e.g. "
                f"'valid-auc'); got {observation_key!r}."
            )
        self.trial = trial
        self.observation_key = observation_key
        self._fits = 0
        self._best: Best = None

    def before_training(self, model: Any) -> Any:
        self._fits += 1
        if self._fits > 1:
            warnings.warn(
                "XGBoostPruningCallback reused for a second fit: its rounds restart at 0 and "
                "Optuna ignores reports of steps it already has. Create a fresh callback per fit.",
                UserWarning,
                stacklevel=2,
            )
        self._best = None
        return model

    def _score(self, evals_log: Mapping[str, Mapping[str, Any]]) -> float:
        if not evals_log:
            raise ValueError(
                "XGBoostPruningCallback needs an evaluation set: pass `evals=[(dvalid, 'valid')]`"
                " to xgb.train, use xgb.cv, or `eval_set=` in the scikit-learn API."
            )
        if self.observation_key is None:
            data = list(evals_log)[-1]
            metric = list(evals_log[data])[-1]
        else:
            data, metric = self._split_key(evals_log)
        value = evals_log[data][metric][-1]
        return float(value[0] if isinstance(value, tuple) else value)

    def _split_key(self, evals_log: Mapping[str, Mapping[str, Any]]) -> tuple[str, str]:
        key = self.observation_key or ""
        for data, metrics in evals_log.items():
            if key.startswith(data + "-") and key[len(data) + 1 :] in metrics:
                return data, key[len(data) + 1 :]
        available = [f"{d}-{m}" for d, ms in evals_log.items() for m in ms]
        raise ValueError(
            f"`observation_key={key!r}` is not in XGBoost's evaluation log; available: "
            f"{available}."
        )

    def after_iteration(self, model: Any, epoch: int, evals_log: Any) -> bool:
        higher = self.trial.study.direction == optuna.study.StudyDirection.MAXIMIZE
        self._best = report_round(self.trial, self._best, epoch, self._score(evals_log), higher)
        return False
