"""``SklearnObjective``: tune any scikit-learn estimator or pipeline on the shared adapter core.

Example:
    .. code-block:: python

        import optuna
        from sklearn.datasets import load_breast_cancer
        from optuna_recipes.adapters import SklearnObjective

        X, y = load_breast_cancer(return_X_y=True)
        objective = SklearnObjective("hgb", X, y, cv=3, n_jobs=1)
        study = optuna.create_study(direction=objective.direction)
        study.optimize(objective, n_trials=5)
        model = objective.best_estimator(study)  # a fitted HistGradientBoostingClassifier
"""

from __future__ import annotations

from collections.abc import Iterator
from collections.abc import Mapping
from contextlib import AbstractContextManager
import dataclasses
import difflib
import itertools
import pickle
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
import sklearn
from sklearn.base import clone
from sklearn.pipeline import Pipeline

from optuna_recipes.adapters._base.boosting import take_rows
from optuna_recipes.adapters._base.data import CLASSIFICATION
from optuna_recipes.adapters._base.data import check_labels
from optuna_recipes.adapters._base.data import infer_task
from optuna_recipes.adapters._base.data import to_python
from optuna_recipes.adapters._base.features import check_features
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters._base.objective import BaseObjective
from optuna_recipes.adapters._base.search_space import suggest_params
from optuna_recipes.adapters._base.settings import ObjectiveSettings
from optuna_recipes.adapters._sklearn_estimators import EXTRA_METRICS
from optuna_recipes.adapters._sklearn_estimators import IGNORES_N_JOBS
from optuna_recipes.adapters._sklearn_estimators import MLP_CLASSES
from optuna_recipes.adapters._sklearn_estimators import MLP_PARAMS
from optuna_recipes.adapters._sklearn_estimators import OWN_EARLY_STOPPING
from optuna_recipes.adapters._sklearn_estimators import SHORTCUTS
from optuna_recipes.adapters._sklearn_estimators import TrainingPlan
from optuna_recipes.adapters._sklearn_estimators import as_features
from optuna_recipes.adapters._sklearn_estimators import as_float32
from optuna_recipes.adapters._sklearn_estimators import as_target
from optuna_recipes.adapters._sklearn_estimators import check_missing
from optuna_recipes.adapters._sklearn_estimators import check_weight_support
from optuna_recipes.adapters._sklearn_estimators import final_step
from optuna_recipes.adapters._sklearn_estimators import name_of
from optuna_recipes.adapters._sklearn_estimators import plan_for
from optuna_recipes.adapters._sklearn_estimators import prepares_columns
from optuna_recipes.adapters._sklearn_estimators import resolve_estimator
from optuna_recipes.adapters._sklearn_estimators import split_final
from optuna_recipes.adapters.spaces import SKLEARN_CONDITIONS
from optuna_recipes.adapters.spaces import SKLEARN_SPACES
from optuna_recipes.adapters.spaces import sklearn_space
from optuna_recipes.pruners._boosting import boosting_pruner

__all__ = ["SHORTCUTS", "SklearnObjective", "TrainingPlan", "plan_for", "resolve_estimator"]


@dataclasses.dataclass
class _FoldRun:
    """One fold in training: the estimator driven (a pipeline's final step when it trains in
    rounds, its inputs then transformed by the fitted preprocessor), its data, the keyword
    arguments of its ``fit``/``partial_fit`` (the training weights), the validation weights, and
    the validation metric of the iterations trained ahead of the round loop."""

    model: Any
    X: Any
    y: np.ndarray
    X_valid: Any
    y_valid: np.ndarray
    fit_kwargs: dict[str, Any]
    w_valid: np.ndarray | None
    scores: list[float] = dataclasses.field(default_factory=list)
    tree_sum: Any = 0.0


class SklearnObjective(BaseObjective):
    """Optuna objective that cross-validates any scikit-learn estimator or pipeline.

    Give an estimator (or a ``Pipeline`` ending in one) or a name: ``"hgb"``, ``"rf"``,
    ``"et"``, ``"svm"``, ``"logreg"``, ``"ridge"``, ``"knn"``, ``"mlp"``, ``"sgd"`` (the
    classifier or the regressor, by task; the scale-sensitive ones behind a
    ``StandardScaler``). Each trial samples ``objective.search_space`` (literature-backed
    defaults for the common estimators, see :mod:`optuna_recipes.adapters.spaces`; parameters
    of a pipeline's final step are addressed as ``step__param`` automatically, and ``space``
    may name any ``step__param``), trains a clone per fold with ``set_params`` and returns the
    fold-mean validation metric.

    Estimators that train in iterations are trained round by round, the folds in lockstep, and
    the fold mean of every round is reported to the trial, so any Optuna pruner works and
    early stopping chooses the number of iterations (it is never searched): one round is one
    boosting iteration of HistGradientBoosting/GradientBoosting (``max_iter``/``n_estimators``,
    grown by ``warm_start``, ``iterations_per_fit`` at a time, validated with staged
    predictions), one tree of a random forest or extra trees (``n_estimators``), one epoch of
    an estimator with ``partial_fit`` (MLP, SGD). Other estimators are fitted once and report
    one round. ``objective.best_estimator(study)`` (also ``refit``) returns a fitted clone of the
    estimator or pipeline, trained on all rows with the best parameters and iterations; it
    pickles (``save_model``; a pickle runs code when loaded: load only files you trust).

    Classifiers are trained on the original labels, so the fitted estimator predicts them.
    Without ``predict_proba`` (SVC, RidgeClassifier), ``accuracy``, ``f1``, ``roc_auc`` and
    ``balanced_accuracy`` are computed from ``decision_function`` and the default metric is
    ``accuracy``; ``log_loss`` needs ``predict_proba``.

    Example:
        .. code-block:: python

            import optuna
            from sklearn.datasets import load_breast_cancer
            from sklearn.pipeline import make_pipeline
            from sklearn.preprocessing import StandardScaler
            from sklearn.svm import SVC
            from optuna_recipes.adapters import SklearnObjective, save_best

            X, y = load_breast_cancer(return_X_y=True)
            objective = SklearnObjective(
                make_pipeline(StandardScaler(), SVC()), X, y, metric="roc_auc", cv=3
            )
            study = optuna.create_study(direction=objective.direction)
            study.optimize(objective, n_trials=10)
            print(study.best_params)  # {"svc__C": ..., "svc__gamma": ...}
            model = objective.best_estimator(study)  # the fitted pipeline
            model.predict(X[:5])
            save_best(study, "best.json", objective=objective)

    Args:
        estimator: A scikit-learn estimator (instance or class), a ``Pipeline`` whose final step
            is the model, or a shortcut name (see above).
        X: Features: array, pandas DataFrame (pipelines may take any columns their
            preprocessing handles) or scipy sparse matrix.
        y: Labels or regression targets.
        task, metric, cv, validation_data, groups, fixed_params, space, seed, timeout, verbose:
            As for every objective (:class:`~optuna_recipes.adapters.BaseObjective`). The
            features are checked at construction (no infinite values; columns numbers or
            ``category``, unless the pipeline's first step prepares its own columns, e.g. a
            ``ColumnTransformer``; NaN only where the estimator accepts it). ``metric``: one of
            ``"log_loss"``, ``"roc_auc"``, ``"accuracy"``, ``"f1"``, ``"balanced_accuracy"``,
            ``"average_precision"`` (binary), ``"rmse"``, ``"mae"``, ``"mse"``, ``"r2"``.
            Without ``predict_proba`` the default is ``"accuracy"``, else ``"log_loss"``
            (classification) or ``"rmse"``. ``fixed_params`` and ``space`` use ``set_params``
            names. ``seed`` becomes the
            ``random_state`` of every step whose ``random_state`` is None.
        max_rounds: Cap on rounds (iterations, trees, epochs). Default: 1000 boosting
            iterations, 300 trees, 200 epochs; ignored by estimators fitted once.
        early_stopping_rounds: Rounds without improvement of the fold mean before a trial
            stops. Default: 50 iterations or trees, 10 epochs.
        iterations_per_fit: Boosting iterations or trees added per warm-started fit (each is
            still validated and reported). Default 50 for boosting, 10 for forests.
        sample_weight: Per-row weights: passed to the final step's ``fit`` (or
            ``partial_fit``; ``step__sample_weight`` in a pipeline, so the preprocessing steps
            fit unweighted) and used in the validation metric. The estimator must take
            ``sample_weight`` (``ValueError`` otherwise).
        n_jobs: Threads per trial: ``n_jobs`` of the steps that have it (when None there) and
            a cap on the OpenMP/BLAS thread pools (HistGradientBoosting, MLP) during training.
            Default ``None``: half the CPUs, shared among the trials running at once (see
            :class:`~optuna_recipes.adapters.BaseObjective`); :meth:`threads` is the count.
    """

    library = "sklearn"
    extra = ""

    def __init__(
        self,
        estimator: Any,
        X: Any,
        y: Any = None,
        *,
        iterations_per_fit: int | None = None,
        **settings: Any,
    ) -> None:
        labels = check_labels(as_target(y), None)
        task = infer_task(labels, settings.get("task"), settings.get("group"))
        if task not in ("binary", "multiclass", "regression"):
            raise ValueError(
                f"SklearnObjective tunes classification and regression, not {task!r}."
            )
        self.estimator = resolve_estimator(estimator, task)
        self._prefix, final = final_step(self.estimator)
        self._final_name = name_of(final)
        self.plan = plan_for(final, iterations_per_fit)
        if self.plan.kind != "once":
            settings.setdefault("max_rounds", self.plan.max_rounds)
            settings.setdefault("early_stopping_rounds", self.plan.patience)
        probabilities = hasattr(self.estimator, "predict_proba")
        if task in CLASSIFICATION and settings.get("metric") is None and not probabilities:
            settings["metric"] = "accuracy"
        self.X = as_features(X)
        super().__init__(self.X, labels, **settings)
        self._fit_y = labels if self.task in CLASSIFICATION else self.y_
        self._all_labels = np.unique(labels)
        self._class_index = {c: i for i, c in enumerate(self.classes_ or [])}
        self._X_valid = (
            None if self.validation_data is None else as_features(self.validation_data[0])
        )
        extra = EXTRA_METRICS.get(self.metric.name)
        self._score = self.metric.score or (extra[2] if extra else None)
        self._check_setup()
        if self.sample_weight_ is not None:
            check_weight_support(final, self.plan.kind)

    # --------------------------------------------------------------------- construction checks
    def _check_setup(self) -> None:
        known = self._known_params()
        unknown = sorted(set(self.fixed_params) - set(known))
        if unknown:
            close = difflib.get_close_matches(unknown[0], list(known), n=1)
            hint = f" (did you mean {close[0]!r}?)" if close else ""
            raise ValueError(
                f"`fixed_params` names {unknown}, not parameters of {name_of(self.estimator)}"
                f"{hint}; use its `set_params` names such as {sorted(self._space)[:5]}."
            )
        if self.plan.param is not None:
            counted = self._prefix + self.plan.param
            if counted in self.fixed_params or counted in self._space:
                raise ValueError(
                    f"`{counted}` is the number of rounds, chosen by early stopping on the "
                    f"validation folds; set its cap with `max_rounds={self.max_rounds}` instead "
                    "of `fixed_params`/`space`."
                )
        if not self._space:
            raise ValueError(
                f"There is no default search space for {self._final_name}; pass `space=` "
                "(`set_params` name -> Optuna distribution). Default spaces exist for "
                f"{sorted(SKLEARN_SPACES)}."
            )
        configured = clone(self.estimator).set_params(**self._decode(dict(self.fixed_params)))
        if self.metric.name == "log_loss" and not hasattr(configured, "predict_proba"):
            raise ValueError(
                f"`metric='log_loss'` needs predicted probabilities, but "
                f"{self._final_name} has no `predict_proba`. Use metric='accuracy' or "
                "'roc_auc' (computed from `decision_function`), or enable probabilities "
                "(e.g. SVC(probability=True))."
            )
        check_missing(configured, self.X)
        if self._X_valid is not None:
            check_missing(configured, self._X_valid, "validation_data[0]")

    # ------------------------------------------------------------------------------- hooks
    def _normalize_settings(self, settings: ObjectiveSettings) -> ObjectiveSettings:
        if self.plan.kind == "once":
            return settings.replace(max_rounds=1, early_stopping_rounds=None)
        return settings

    def _check_features(self, X: Any, name: str) -> None:
        """Numbers or ``category`` columns, no infinite values (NaN is left to
        :func:`check_missing`, which knows the estimator); a pipeline that prepares its own
        columns checks them itself."""
        if not prepares_columns(self.estimator):
            check_features(as_features(X), name=name, allow_nan=True, library=self._final_name)

    def _inspect_data(self, X: Any, y: Any) -> tuple[np.ndarray | None, tuple[int, ...]]:
        shape = tuple(int(s) for s in getattr(X, "shape", None) or np.shape(X))
        if len(shape) != 2 and not (len(shape) == 1 and isinstance(self.estimator, Pipeline)):
            raise ValueError(
                f"`X` must be 2-dimensional (rows x features); got shape {shape}. A single "
                "feature is `X.reshape(-1, 1)`; raw text or 1-D inputs need a Pipeline that "
                "vectorizes them."
            )
        return (None if y is None else np.asarray(as_target(y))), shape

    def _library_version(self) -> str:
        return str(sklearn.__version__)

    def _library_metrics(self, task: str) -> Mapping[str, str]:
        return {name: d for name, (tasks, d, _) in EXTRA_METRICS.items() if task in tasks}

    def _default_space(self, task: str) -> dict[str, BaseDistribution]:
        space = sklearn_space(self._final_name, task)
        return {self._prefix + name: dist for name, dist in space.items()}

    def _known_params(self) -> set[str]:
        known = set(self.estimator.get_params(deep=True))
        if self._final_name in MLP_CLASSES:
            known.update(self._prefix + name for name in MLP_PARAMS)
        return known

    def _suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        """Sample the space; a conditional parameter (:data:`SKLEARN_CONDITIONS`) only when its
        parent has one of the values it needs."""
        conditions = SKLEARN_CONDITIONS.get(self._final_name, {})
        sampled: dict[str, Any] = {}
        for name, dist in self._space.items():
            condition = (
                conditions.get(name[len(self._prefix) :])
                if name.startswith(self._prefix)
                else None
            )
            if condition is not None:
                parent, allowed = condition
                if self._value_of(self._prefix + parent, sampled) not in allowed:
                    continue
            sampled.update(suggest_params(trial, {name: dist}))
        return sampled

    def _value_of(self, name: str, sampled: Mapping[str, Any]) -> Any:
        if name in sampled:
            return sampled[name]
        if name in self.fixed_params:
            return self.fixed_params[name]
        return self.estimator.get_params(deep=True).get(name)

    def _library_params(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        """``set_params`` arguments: seeds and threads (:meth:`threads`) where the estimator
        leaves them None, its own early stopping off, then ``fixed_params``, then the sampled
        values."""
        current = self.estimator.get_params(deep=True)
        threads = self.threads()
        params: dict[str, Any] = {}
        for key, value in current.items():
            if value is not None:
                continue
            owner_key, _, leaf = key.rpartition("__")
            if leaf == "random_state" and self.seed is not None:
                params[key] = self.seed
            elif leaf == "n_jobs":
                owner = current[owner_key] if owner_key else self.estimator
                if name_of(owner) not in IGNORES_N_JOBS:
                    params[key] = threads
        for name, value in OWN_EARLY_STOPPING.get(self._final_name, {}).items():
            params[self._prefix + name] = value
        params.update(self.fixed_params)
        params.update(sampled)
        return self._decode(params)

    def _decode(self, params: dict[str, Any]) -> dict[str, Any]:
        """The MLP's ``hidden_layer_depth``/``num_nodes_per_layer`` -> ``hidden_layer_sizes``."""
        if self._final_name not in MLP_CLASSES:
            return params
        depth_key, width_key = (self._prefix + name for name in MLP_PARAMS)
        if depth_key not in params and width_key not in params:
            return params
        current = final_step(self.estimator)[1].hidden_layer_sizes
        current = tuple(np.atleast_1d(current))
        depth = params.pop(depth_key, len(current))
        width = params.pop(width_key, int(current[0]))
        params[self._prefix + "hidden_layer_sizes"] = (int(width),) * int(depth)
        return params

    def _library_threads(self, threads: int) -> AbstractContextManager[Any]:
        """OpenMP and BLAS thread pools capped at ``threads`` while training."""
        from threadpoolctl import threadpool_limits

        return threadpool_limits(limits=threads)

    def _weight_kwargs(self, weight: np.ndarray | None, whole: bool) -> dict[str, Any]:
        """``fit``/``partial_fit`` keyword arguments passing ``weight`` to the final step
        (``whole``: called on the whole pipeline, ``step__sample_weight``)."""
        if weight is None:
            return {}
        return {(self._prefix if whole else "") + "sample_weight": weight}

    def _start_fold(self, params: dict[str, Any], fold: Fold) -> _FoldRun:
        estimator = clone(self.estimator).set_params(**params)
        X, y = take_rows(self.X, fold.train), self._fit_y[fold.train]
        w, w_valid = self._fold_weights(fold)
        if fold.valid is None:
            assert self.y_valid_ is not None
            X_valid, y_valid = self._X_valid, self.y_valid_
        else:
            X_valid, y_valid = take_rows(self.X, fold.valid), self.y_[fold.valid]
        if self.plan.kind == "once":
            kwargs = self._weight_kwargs(w, whole=True)
            return _FoldRun(estimator, X, y, X_valid, y_valid, kwargs, w_valid)
        preprocessor, model = split_final(estimator)
        if preprocessor is not None:
            X = preprocessor.fit_transform(X, y)
            X_valid = preprocessor.transform(X_valid)
        if self.plan.kind != "epochs":
            model.set_params(warm_start=True)
        if self.plan.kind == "trees":
            X_valid = as_float32(X_valid)
        kwargs = self._weight_kwargs(w, whole=False)
        return _FoldRun(model, X, y, X_valid, y_valid, kwargs, w_valid)

    def _step_fold(self, state: _FoldRun, round_: int) -> float:
        kind = self.plan.kind
        if kind == "once":
            state.model.fit(state.X, state.y, **state.fit_kwargs)
        elif kind == "epochs":
            self._partial_fit(state.model, state.X, state.y, state.fit_kwargs)
        else:
            if round_ >= len(state.scores):
                self._grow(state)
            return state.scores[round_]
        return self._validate(state, self._predict(state.model, state.X_valid))

    def _grow(self, state: _FoldRun) -> None:
        """Warm-start ``iterations_per_fit`` more iterations; validate each new one."""
        assert self.plan.param is not None
        start = len(state.scores)
        stop = min(start + self.plan.iterations_per_fit, self.max_rounds)
        state.model.set_params(**{self.plan.param: stop})
        state.model.fit(state.X, state.y, **state.fit_kwargs)
        if self.plan.kind == "staged":
            staged = (
                state.model.staged_predict_proba(state.X_valid)
                if self.task in CLASSIFICATION
                else state.model.staged_predict(state.X_valid)
            )
            predictions: Iterator[np.ndarray] = itertools.islice(staged, start, stop)
        else:
            predictions = _tree_means(state, start, self.task in CLASSIFICATION)
        for prediction in predictions:
            state.scores.append(self._validate(state, prediction))
        if len(state.scores) < stop:
            raise RuntimeError(
                f"{self._final_name} trained {len(state.scores)} of {stop} iterations; its own "
                "early stopping must be off (it is chosen on the validation folds)."
            )

    def _partial_fit(self, model: Any, X: Any, y: np.ndarray, kwargs: dict[str, Any]) -> None:
        if self.task in CLASSIFICATION:
            model.partial_fit(X, y, classes=self._all_labels, **kwargs)
        else:
            model.partial_fit(X, y, **kwargs)

    def _predict(self, model: Any, X: Any) -> np.ndarray:
        """Probabilities in ``model.classes_`` order (from ``decision_function`` or the labels
        when the model has no ``predict_proba``), or regression predictions."""
        if self.task not in CLASSIFICATION:
            return model.predict(X)
        if hasattr(model, "predict_proba"):
            return model.predict_proba(X)
        if self.metric.name == "log_loss":
            raise ValueError(f"{self._final_name} has no predict_proba for `metric='log_loss'`.")
        if hasattr(model, "decision_function"):
            scores = np.asarray(model.decision_function(X), dtype=float)
            if scores.ndim == 1:
                positive = 1.0 / (1.0 + np.exp(-scores))
                return np.column_stack([1.0 - positive, positive])
            scores = np.exp(scores - scores.max(axis=1, keepdims=True))
            return scores / scores.sum(axis=1, keepdims=True)
        return (model.predict(X)[:, None] == model.classes_[None, :]).astype(float)

    def _validate(self, state: _FoldRun, prediction: np.ndarray) -> float:
        """The weighted metric of one prediction on the fold's validation rows (columns of
        the model's ``classes_`` mapped to ``classes_``)."""
        assert self._score is not None
        y_valid, w_valid = state.y_valid, state.w_valid
        if self.task not in CLASSIFICATION:
            return self._score(y_valid, np.asarray(prediction, dtype=float).ravel(), w_valid)
        columns = [self._class_index[to_python(c)] for c in state.model.classes_]
        proba = np.zeros((len(prediction), self.n_classes))
        proba[:, columns] = prediction
        return self._score(y_valid, proba[:, 1] if self.task == "binary" else proba, w_valid)

    def _fit_full(self, params: dict[str, Any], n_rounds: int) -> Any:
        estimator = clone(self.estimator).set_params(**params)
        if self.plan.kind == "epochs":
            preprocessor, model = split_final(estimator)
            X = self.X if preprocessor is None else preprocessor.fit_transform(self.X, self._fit_y)
            kwargs = self._weight_kwargs(self.sample_weight_, whole=False)
            for _ in range(n_rounds):
                self._partial_fit(model, X, self._fit_y, kwargs)
            return estimator
        if self.plan.param is not None:
            estimator.set_params(**{self._prefix + self.plan.param: n_rounds})
        return estimator.fit(
            self.X, self._fit_y, **self._weight_kwargs(self.sample_weight_, whole=True)
        )

    def _estimator(self, params: dict[str, Any], n_rounds: int) -> Any:
        """The fitted clone of the estimator or pipeline: what :meth:`refit` returns."""
        return self._fit_full(params, n_rounds)

    def _save_model(self, model: Any, path: str) -> str:
        with open(path + ".pkl", "wb") as file:
            pickle.dump(model, file)
        return path + ".pkl"

    # ------------------------------------------------------------------------------ public
    def recommended_pruner(self) -> optuna.pruners.BasePruner:
        """:func:`~optuna_recipes.pruners.boosting_pruner` for ``max_rounds`` when the estimator
        trains in rounds; a ``NopPruner`` when it is fitted once (nothing to prune)."""
        if self.plan.kind == "once":
            return optuna.pruners.NopPruner()
        return boosting_pruner(self.max_rounds)

    def describe(self) -> dict[str, Any]:
        """What :func:`~optuna_recipes.adapters.save_best` records, with the estimator and what
        a round is (``round_unit``: the parameter it counts, ``"epoch"`` or ``None``)."""
        if self.plan.param is not None:
            unit: str | None = self._prefix + self.plan.param
        else:
            unit = "epoch" if self.plan.kind == "epochs" else None
        return {
            **super().describe(),
            "estimator": repr(self.estimator),
            "round_unit": unit,
            "iterations_per_fit": self.plan.iterations_per_fit,
        }


def _tree_means(state: _FoldRun, start: int, classification: bool) -> Iterator[np.ndarray]:
    """Predictions of the forests of ``start + 1, start + 2, ...`` trees: the running sum of
    the trees' predictions (kept in ``state``) over their number, which is what a forest
    predicts."""
    for k, tree in enumerate(state.model.estimators_[start:], start=start + 1):
        out = tree.predict_proba(state.X_valid) if classification else tree.predict(state.X_valid)
        state.tree_sum = state.tree_sum + np.asarray(out, dtype=float)
        yield state.tree_sum / k
