"""LightGBM objective and pruning callback (lightgbm >= 4.0, tested with 4.7).

:class:`LightGBMObjective` turns training data into an Optuna objective with a literature-backed
default search space; :class:`LightGBMPruningCallback` prunes a hand-written ``lgb.train``,
``lgb.cv`` or ``LGBMClassifier``/``LGBMRegressor`` loop.
"""

from __future__ import annotations

from collections.abc import Mapping
import re
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution

from optuna_recipes._imports import optional_import
from optuna_recipes.adapters._base.boosting import Best
from optuna_recipes.adapters._base.boosting import BoostingObjective
from optuna_recipes.adapters._base.boosting import LibraryMetricNames
from optuna_recipes.adapters._base.boosting import inspect_array
from optuna_recipes.adapters._base.boosting import report_round
from optuna_recipes.adapters._base.boosting import take_rows
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters._base.settings import ObjectiveSettings
from optuna_recipes.adapters.spaces import lightgbm_space

lgb = optional_import("lightgbm", extra="lightgbm", feature="optuna_recipes.adapters.lightgbm")

_OBJECTIVES = {
    "binary": "binary",
    "multiclass": "multiclass",
    "regression": "regression",
    "ranking": "lambdarank",
}
_MAXIMIZE = frozenset({"auc", "average_precision", "auc_mu", "ndcg", "map"})
_METRICS: dict[str, tuple[str, ...]] = {
    "binary": ("binary_logloss", "binary_error", "auc", "average_precision", "cross_entropy"),
    "multiclass": ("multi_logloss", "multi_error", "auc_mu"),
    "regression": (
        "l2",
        "rmse",
        "l1",
        "huber",
        "fair",
        "poisson",
        "quantile",
        "mape",
        "gamma",
        "gamma_deviance",
        "tweedie",
    ),
    "ranking": ("ndcg", "map"),
}
_RANK_AT = re.compile(r"^(ndcg|map)@(\d+)$")
_ALIASES: dict[tuple[str, str], str] = {
    ("roc_auc", "binary"): "auc",
    ("log_loss", "binary"): "binary_logloss",
    ("log_loss", "multiclass"): "multi_logloss",
    ("rmse", "regression"): "rmse",
    ("mae", "regression"): "l1",
}
# Canonical parameter names -> the scikit-learn estimators' argument names.
_SKLEARN_NAMES = {
    "bagging_fraction": "subsample",
    "bagging_freq": "subsample_freq",
    "feature_fraction": "colsample_bytree",
    "lambda_l1": "reg_alpha",
    "lambda_l2": "reg_lambda",
    "min_data_in_leaf": "min_child_samples",
    "min_sum_hessian_in_leaf": "min_child_weight",
    "min_gain_to_split": "min_split_gain",
    "seed": "random_state",
    "num_threads": "n_jobs",
    "boosting": "boosting_type",
    "bin_construct_sample_cnt": "subsample_for_bin",
}
# Parameters fixed when a Dataset is constructed: changing one needs new Datasets.
_DATASET_PARAMS = frozenset(
    """
    max_bin max_bin_by_feature min_data_in_bin bin_construct_sample_cnt data_random_seed
    is_enable_sparse enable_bundle use_missing zero_as_missing feature_pre_filter
    pre_partition two_round header label_column weight_column group_column ignore_column
    categorical_feature forcedbins_filename save_binary precise_float_parser linear_tree
    """.split()
)


def _alias_table() -> dict[str, str]:
    """Every LightGBM parameter name and alias -> its canonical name."""
    try:
        table = lgb.basic._ConfigAliases._get_all_param_aliases()
    except AttributeError:  # a LightGBM without the alias table: no normalization
        return {}
    return {alias: name for name, aliases in table.items() for alias in (name, *aliases)}


def _canonical(params: Mapping[str, Any], table: Mapping[str, str], what: str) -> dict[str, Any]:
    out: dict[str, Any] = {}
    for key, value in params.items():
        name = table.get(key, key)
        if name in out:
            raise ValueError(f"`{what}` sets LightGBM parameter {name!r} twice (via {key!r}).")
        out[name] = value
    return out


def _group_sizes(qid: np.ndarray) -> np.ndarray:
    """Sizes of the runs of equal consecutive query ids."""
    change = np.flatnonzero(np.diff(qid)) + 1
    return np.diff(np.concatenate([[0], change, [len(qid)]]))


class LightGBMObjective(BoostingObjective):
    """Optuna objective that cross-validates LightGBM with a default search space.

    Build it from training data, create a study with ``objective.direction`` and optimize. Each
    trial samples the parameters of ``objective.search_space`` (TabRepo/TabArena ranges, see
    :mod:`optuna_recipes.adapters.spaces`), trains one booster per fold in lockstep, reports
    the fold-mean validation metric of every boosting round to the trial (so any Optuna pruner
    works), stops early when that mean stops improving and returns its best value.
    ``objective.best_estimator(study)`` then trains on all rows with the best parameters for
    the best number of rounds and returns a fitted ``LGBMClassifier``, ``LGBMRegressor`` or
    ``LGBMRanker``; ``objective.refit(study)`` returns the ``lightgbm.Booster`` itself. Binned
    datasets are built once per fold and reused by every trial (``feature_pre_filter=False``),
    unless a dataset parameter such as ``max_bin`` is searched.

    Choose it over Optuna's ``LightGBMTuner`` when the learning rate should be tuned too, any
    pruner should apply, or the study should search a space you control; choose
    :class:`LightGBMPruningCallback` when the training code must stay yours.

    Example:
        .. code-block:: python

            import optuna
            from sklearn.datasets import load_breast_cancer
            from optuna_recipes.adapters.lightgbm import LightGBMObjective

            X, y = load_breast_cancer(return_X_y=True)
            objective = LightGBMObjective(X, y, metric="roc_auc", num_boost_round=200, cv=3)
            study = optuna.create_study(direction=objective.direction)
            study.optimize(objective, n_trials=20)
            model = objective.best_estimator(study)  # an LGBMClassifier fitted on all rows
            proba = model.predict_proba(X)

    Args:
        X: Features: numpy array, pandas DataFrame (``category`` columns use LightGBM's native
            categorical support; text columns are refused, make them ``category``), scipy
            sparse matrix or ``lightgbm.Dataset`` (labels read from it when ``y`` is None;
            build it with ``free_raw_data=False``). NaN is a missing value; infinite values
            are refused.
        y: Labels. Classification labels may be of any type; they are encoded to ``0..K-1`` in
            sorted order (``objective.classes_``).
        task: ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"ranking"`` (needs
            ``group``); inferred from ``y`` by default.
        metric: A LightGBM metric for the task (``"binary_logloss"``, ``"auc"``,
            ``"average_precision"``, ``"multi_logloss"``, ``"multi_error"``, ``"l2"``, ``"rmse"``,
            ``"l1"``, ``"ndcg@10"``, ...) or a scikit-learn name (``"roc_auc"``, ``"accuracy"``,
            ``"f1"``, ``"log_loss"``, ``"rmse"``, ``"mae"``, ``"r2"``). Default: ``"log_loss"``
            for classification, ``"rmse"`` for regression, ``"ndcg@10"`` for ranking.
        cv: ``None`` (5-fold, or ``validation_data`` when given), an int number of folds
            (stratified for classification, grouped with ``groups``), a holdout fraction in
            ``(0, 1)``, or any scikit-learn splitter.
        validation_data: ``(X_valid, y_valid)`` or ``(X_valid, y_valid, weight_valid)`` to
            validate on.
        sample_weight: Per-row weights, used in training and in the validation metric.
        groups: Per-row group labels for grouped cross-validation.
        group: Query sizes for ranking (as ``lgb.Dataset(group=...)``).
        fixed_params: LightGBM parameters used in every trial (aliases such as
            ``min_child_samples`` are mapped to their canonical names); removed from the space.
        space: Changes to the default space: ``{name: distribution}`` replaces or adds a
            parameter, ``{name: None}`` removes it; unknown LightGBM names raise ``ValueError``.
        num_boost_round: Cap on boosting rounds (default ``1000``).
        early_stopping_rounds: Stop after this many rounds without improvement of the fold-mean
            metric (default ``50``; ``None`` disables).
        seed: LightGBM ``seed`` and seed of the fold shuffling (default ``0``).
        n_jobs: LightGBM ``num_threads`` per trial (default ``None``: half the CPUs, shared
            among concurrent trials; see :class:`~optuna_recipes.adapters.BaseObjective`).
            Results can differ in the last digits between thread counts.
        device: LightGBM ``device_type``, e.g. ``"gpu"`` or ``"cuda"`` (default: the CPU).
        timeout: Seconds of training per trial; the trial then completes with its best value
            (user attr ``timed_out``). Default ``None``.
        verbose: ``0`` silent (default), ``1`` a line per trial start and end, ``2`` also
            every tenth of ``num_boost_round`` (through Optuna's logging).
    """

    library = "lightgbm"
    extra = "lightgbm"
    sklearn_aliases = _ALIASES

    # ------------------------------------------------------------------------- data handling
    def _prepare(self, X: Any) -> Any:
        self._aliases = _alias_table()
        X = super()._prepare(X)
        if isinstance(X, lgb.Dataset):
            X.params = {**(X.params or {}), "feature_pre_filter": False, "verbose": -1}
            X.construct()
        return X

    def _normalize_settings(self, settings: ObjectiveSettings) -> ObjectiveSettings:
        fixed = _canonical(settings.fixed_params or {}, self._aliases, "fixed_params")
        space = settings.space
        if space is not None:
            space = _canonical(space, self._aliases, "space")
        return settings.replace(fixed_params=fixed, space=space)

    def _inspect_data(self, X: Any, y: Any) -> tuple[np.ndarray | None, tuple[int, ...]]:
        if isinstance(X, lgb.Dataset):
            if X._handle is None:
                X.construct()
            if y is None:
                y = X.get_label()
                if y is None or len(y) == 0:
                    raise ValueError("`X` is a lightgbm.Dataset without labels and `y` is None.")
            return np.asarray(y), (X.num_data(), X.num_feature())
        return inspect_array(X, y)

    def _dataset_params(self, params: Mapping[str, Any]) -> dict[str, Any]:
        ds = {k: v for k, v in params.items() if k in _DATASET_PARAMS}
        ds.setdefault("feature_pre_filter", False)
        ds["verbose"] = -1
        return ds

    def _dataset(
        self,
        X: Any,
        label: np.ndarray,
        rows: np.ndarray | None,
        ds_params: dict[str, Any],
        reference: Any = None,
        valid: bool = False,
    ) -> Any:
        group = None
        if self.task == "ranking" and self.groups is not None:
            group = _group_sizes(self.groups if rows is None else self.groups[rows])
        weight = self._weights(rows, valid)
        # Binning threads too, not only training threads (not part of the cache key).
        ds_params = {**ds_params, "num_threads": self.threads()}
        if isinstance(X, lgb.Dataset):
            if rows is None:
                rows = np.arange(X.num_data())
            if reference is None:
                d = X.subset(rows, params=ds_params)
                d.construct()
                d.set_label(label)
                if group is not None:
                    d.set_group(group)
                if weight is not None:
                    d.set_weight(weight)
                return d
            if X.data is None:
                raise ValueError(
                    "The lightgbm.Dataset was built with free_raw_data=True, so validation "
                    "rows cannot be taken from it; build it with free_raw_data=False."
                )
            X = X.data
        data = X if rows is None else take_rows(X, rows)
        return lgb.Dataset(
            data,
            label=label,
            weight=weight,
            group=group,
            reference=reference,
            params=ds_params,
            free_raw_data=False,
        )

    def _fold_data(self, fold: Fold, ds_params: dict[str, Any]) -> tuple[Any, Any]:
        key = id(fold)
        cached = self._fold_cache.get(key)
        if cached is not None and cached[0] == ds_params:
            return cached[1], cached[2]
        dtrain = self._dataset(self.X, self.y_[fold.train], fold.train, ds_params)
        if fold.valid is None:
            assert self.validation_data is not None and self.y_valid_ is not None
            valid_X = self.validation_data[0]
            dvalid = self._dataset(
                valid_X, self.y_valid_, None, ds_params, reference=dtrain, valid=True
            )
        else:
            dvalid = self._dataset(
                self.X, self.y_[fold.valid], fold.valid, ds_params, reference=dtrain
            )
        dtrain.construct()
        dvalid.construct()
        self._fold_cache[key] = (dict(ds_params), dtrain, dvalid)
        return dtrain, dvalid

    # ------------------------------------------------------------------------------- hooks
    def _library_version(self) -> str:
        return str(lgb.__version__)

    def _library_metrics(self, task: str) -> Mapping[str, str]:
        pattern = _RANK_AT if task == "ranking" else None
        placeholders = ("ndcg@k", "map@k") if task == "ranking" else ()
        return LibraryMetricNames(
            _METRICS[task], maximize=_MAXIMIZE, pattern=pattern, placeholders=placeholders
        )

    def _default_space(self, task: str) -> dict[str, BaseDistribution]:
        return lightgbm_space(task, has_categorical=self.has_categorical)

    def _known_params(self) -> frozenset[str] | None:
        return frozenset(self._aliases) or None

    def _library_params(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        params: dict[str, Any] = {
            "objective": _OBJECTIVES[self.task],
            "verbose": -1,
            "bagging_freq": 1,
            "feature_pre_filter": False,
        }
        if self.task == "multiclass":
            params["num_class"] = self.n_classes
        native = self.metric.native
        if native is None:
            params["metric"] = "None"
        else:
            match = _RANK_AT.match(native)
            params["metric"] = match.group(1) if match else native
            if match:
                params["eval_at"] = [int(match.group(2))]
        if self.seed is not None:
            params["seed"] = self.seed
        params["num_threads"] = self.threads()
        if self.device is not None:
            params["device_type"] = self.device
        params.update(self.fixed_params)
        params.update(_canonical(sampled, self._aliases, "space"))
        return params

    def _feval(self) -> Any:
        metric = self.metric
        if metric.score is None:
            return None

        def feval(preds: np.ndarray, data: Any) -> tuple[str, float, bool]:
            assert metric.score is not None
            score = metric.score(data.get_label(), preds, data.get_weight())
            return metric.name, score, metric.maximize

        return feval

    def _start_fold(self, params: dict[str, Any], fold: Fold) -> Any:
        dtrain, dvalid = self._fold_data(fold, self._dataset_params(params))
        booster = lgb.Booster(params, dtrain)
        booster.add_valid(dvalid, "valid")
        return booster, self._feval()

    def _step_fold(self, state: Any, round_: int) -> float:
        booster, feval = state
        booster.update()
        results = booster.eval_valid(feval)
        if not results:
            raise RuntimeError(f"LightGBM returned no value for metric {self.metric.name!r}.")
        return float(results[0][2])

    def _fit_full(self, params: dict[str, Any], n_rounds: int) -> Any:
        dfull = self._dataset(self.X, self.y_, None, self._dataset_params(params))
        return lgb.train(params, dfull, num_boost_round=n_rounds)

    def _estimator(self, params: dict[str, Any], n_rounds: int) -> Any:
        """An LGBMClassifier/LGBMRegressor/LGBMRanker with the configuration, fitted on all
        rows (the original labels: it encodes them as the objective does)."""
        X = self.X
        if isinstance(X, lgb.Dataset):
            if X.data is None:
                raise ValueError(
                    "`best_estimator` needs the raw data of the lightgbm.Dataset; build it with "
                    "free_raw_data=False (or use `refit`)."
                )
            X = X.data
        cls = {"ranking": lgb.LGBMRanker, "regression": lgb.LGBMRegressor}.get(
            self.task, lgb.LGBMClassifier
        )
        dropped = ("num_class", "metric", "eval_at")
        kwargs = {_SKLEARN_NAMES.get(k, k): v for k, v in params.items() if k not in dropped}
        estimator = cls(**kwargs, n_estimators=n_rounds)
        y = self.y_ if self.classes_ is None else np.asarray(self.classes_)[self.y_.astype(int)]
        fit: dict[str, Any] = {"sample_weight": self.sample_weight_}
        if self.task == "ranking":
            assert self.groups is not None
            fit = {"group": _group_sizes(self.groups)}
        return estimator.fit(X, y, **fit)

    def _save_model(self, model: Any, path: str) -> str:
        model.save_model(path + ".txt")
        return path + ".txt"

    # ------------------------------------------------------------------------------ extras
    def predict(self, model: Any, X: Any) -> np.ndarray:
        """Predictions of a refit booster on ``X`` (probabilities for classification: shape
        ``(n,)`` for binary, ``(n, K)`` in ``classes_`` order for multiclass)."""
        if isinstance(X, lgb.Dataset):
            if X.data is None:
                raise ValueError("Predicting on a lightgbm.Dataset needs its raw data.")
            X = X.data
        return np.asarray(model.predict(X))


class LightGBMPruningCallback:
    """Report an evaluation metric of a LightGBM loop to a trial and prune it.

    Works with ``lgb.train`` (``valid_sets``), ``lgb.cv`` (the mean over folds, so every fold
    counts) and the scikit-learn wrappers (``LGBMClassifier.fit(..., callbacks=[...])``). By
    default the first metric of the first validation set (not the training set) is used. A
    callback keeps per-fit state: create a fresh one for every fit.

    When the trial is pruned, the best value seen so far and its round are stored in the trial's
    user attrs ``best_value`` and ``best_iteration``.

    Example:
        .. code-block:: python

            import lightgbm as lgb
            import optuna
            from sklearn.datasets import load_breast_cancer
            from optuna_recipes.adapters.lightgbm import LightGBMPruningCallback

            X, y = load_breast_cancer(return_X_y=True)


            def objective(trial: optuna.Trial) -> float:
                params = {
                    "objective": "binary",
                    "metric": "auc",
                    "verbose": -1,
                    "learning_rate": trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
                }
                result = lgb.cv(
                    params,
                    lgb.Dataset(X, y),
                    num_boost_round=200,
                    nfold=3,
                    callbacks=[LightGBMPruningCallback(trial, "auc")],
                )
                return max(result["valid auc-mean"])


            study = optuna.create_study(direction="maximize")
            study.optimize(objective, n_trials=10)

    Args:
        trial: The trial to report to.
        metric: Metric name as LightGBM reports it (``"auc"``, ``"binary_logloss"``,
            ``"ndcg@5"``); default ``None``: the first one.
        valid_name: Validation set name (``"valid_0"``, the name given in ``valid_names``, or
            ``"valid"`` for ``lgb.cv``); default ``None``: the first set that is not the
            training data.
    """

    order = 25  # after record_evaluation (20), before early_stopping (30)
    before_iteration = False

    def __init__(
        self, trial: optuna.Trial, metric: str | None = None, valid_name: str | None = None
    ) -> None:
        self.trial = trial
        self.metric = metric
        self.valid_name = valid_name
        self._best: Best = None
        self._last_iteration = -1

    @staticmethod
    def _entries(env: Any) -> list[tuple[str, str, float, bool]]:
        out = []
        for entry in env.evaluation_result_list or []:
            data, name, value, higher = entry[0], entry[1], entry[2], entry[3]
            if data == "cv_agg" and " " in name:  # lightgbm < 4.7 cv: ("cv_agg", "valid auc")
                data, name = name.split(" ", 1)
            out.append((str(data), str(name), float(value), bool(higher)))
        return out

    def _select(self, env: Any) -> tuple[float, bool]:
        entries = self._entries(env)
        train_names = {"training", "train"}
        for data, name, value, higher in entries:
            if self.valid_name is None and data in train_names:
                continue
            if self.valid_name is not None and data != self.valid_name:
                continue
            if self.metric is not None and name != self.metric:
                continue
            return value, higher
        available = [f"{d}:{n}" for d, n, _, _ in entries]
        raise ValueError(
            f"LightGBMPruningCallback found no validation result for metric={self.metric!r}, "
            f"valid_name={self.valid_name!r}; LightGBM reported {available}. Pass `valid_sets` "
            "(lgb.train) or an eval set (scikit-learn API), and a metric LightGBM computes."
        )

    def __call__(self, env: Any) -> None:
        if env.iteration <= self._last_iteration:
            self._best = None  # a new fit started: restart the bookkeeping
        self._last_iteration = env.iteration
        score, higher = self._select(env)
        step = env.iteration - env.begin_iteration
        self._best = report_round(self.trial, self._best, step, score, higher)
