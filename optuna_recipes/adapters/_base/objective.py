"""The base objective: data + task + metric + validation scheme -> ``f(trial)``.

Everything that does not depend on the training library lives in :class:`BaseObjective` and
the modules beside it, so that the adapters behave the same way and a new one is a small
subclass.

What a library adapter implements
---------------------------------
Subclass :class:`BaseObjective`, set the class attributes ``library`` (e.g. ``"xgboost"``) and
``extra`` (the optuna-recipes extra that installs it), take the library's own arguments in
``__init__`` and pass the shared settings (:class:`~._base.settings.ObjectiveSettings`) on with
``super().__init__(X, y, **settings)``, then fill these hooks:

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
``_normalize_settings(settings) -> settings`` (optional)
    Rewrite the settings before they are used, e.g. library parameter aliases to their
    canonical names.
``_check_features(X, name)`` (optional)
    Refuse features the library cannot train on (default:
    :func:`~._base.features.check_features` with ``allow_nan``, a class attribute, default
    ``True``); called for ``X`` and the features of ``validation_data``.
``_library_threads(threads) -> context manager`` (optional)
    Applied around training when the library's threads are not a training parameter (PyTorch:
    ``torch.set_num_threads``, restored after); default: nothing. Libraries that take threads
    as a parameter read :meth:`BaseObjective.threads` in ``_library_params``.
``_estimator(params, n_rounds) -> estimator`` (optional)
    A fitted scikit-learn-compatible estimator for :meth:`BaseObjective.best_estimator`.

Shared settings a subclass honours in its hooks: ``sample_weight`` (:meth:`_fold_weights`
gives the training and validation weights of a fold, ``sample_weight_`` those of all rows; use
them in training and pass the validation weights to ``metric.score(y, pred, weights)``),
``n_jobs`` (:meth:`threads` is the resolved count for the trial running now), ``timeout`` and
``verbose`` (handled by the base around ``_run_round``).

The base drives the loop: ``__call__(trial)`` checks the study's direction, samples the
parameters, starts every fold, calls ``_run_round`` for ``round = 0, 1, ...`` up to
``max_rounds``, reports the mean to the trial (:class:`~._base.rounds.RoundTracker`), stops
early after ``early_stopping_rounds`` rounds without improvement or when ``timeout`` has passed,
and returns the mean validation metric at the best round.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
import contextlib
from contextlib import AbstractContextManager
import math
from typing import Any
from typing import ClassVar
import warnings

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial

from optuna_recipes._validation import check_int
from optuna_recipes.adapters._base import data
from optuna_recipes.adapters._base.features import check_features
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters._base.folds import check_folds
from optuna_recipes.adapters._base.folds import make_folds
from optuna_recipes.adapters._base.metrics import resolve_metric
from optuna_recipes.adapters._base.persistence import best_configuration
from optuna_recipes.adapters._base.persistence import jsonable
from optuna_recipes.adapters._base.persistence import upload_model_artifact
from optuna_recipes.adapters._base.progress import TrialProgress
from optuna_recipes.adapters._base.rounds import ATTR_FAIL_REASON
from optuna_recipes.adapters._base.rounds import RoundTracker
from optuna_recipes.adapters._base.search_space import merge_space
from optuna_recipes.adapters._base.search_space import suggest_params
from optuna_recipes.adapters._base.settings import ObjectiveSettings
from optuna_recipes.adapters._base.threads import ActiveTrials
from optuna_recipes.adapters._base.threads import resolve_n_jobs


class BaseObjective(abc.ABC):
    """Base class of the library objectives: data + task + metric + validation -> ``f(trial)``.

    Subclasses implement the hooks listed in :mod:`optuna_recipes.adapters._base.objective`;
    everything else (input checks, folds, metric and direction, search space, per-round
    reporting, early stopping, pruning, failure handling, refit, artifacts) is shared.

    After construction, the objective exposes ``task``, ``metric`` (a
    :class:`~optuna_recipes.adapters._base.metrics.ValidationMetric`), ``direction``,
    ``search_space`` (a copy: the distributions that are searched), ``folds``, ``classes_``
    (classification labels in the order of the model's outputs), ``data_shape`` and
    ``settings`` (the :class:`~optuna_recipes.adapters._base.settings.ObjectiveSettings`). Each
    finished trial carries user attrs ``best_iteration`` (0-based round of the best mean
    validation value), ``n_rounds`` (rounds trained), ``fold_scores`` (each fold's value at the
    best round), ``best_value``, ``metric`` and, with a ``timeout``, ``timed_out``; a failed one
    carries ``fail_reason``.

    Budgets: ``timeout`` bounds each trial. A trial that reaches it stops after the round in
    progress and *completes* with its best value so far (``timed_out=True``), rather than being
    pruned: the value is a true validation score of the rounds trained, ``best_iteration``
    still says how many rounds to refit, and a pruned trial would be ignored by
    ``study.best_trial``. Bound the whole study with Optuna's own
    ``study.optimize(objective, n_trials=100, timeout=600)`` (no new trial starts after 600 s;
    the running one finishes, so add ``timeout=`` here to cap it too).

    The first call checks the study's direction against :attr:`direction` and raises
    ``ValueError`` when they disagree (a study created without ``direction=`` minimizes, which
    for ROC AUC or accuracy silently finds the worst model).

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
            study.optimize(objective, n_trials=5, timeout=60)  # a study budget
            print(study.best_trial.user_attrs["fold_scores"])
            model = objective.best_estimator(study)  # an LGBMRegressor, fitted on all rows

        A complete minimal adapter (gradient descent in numpy) is ``GDObjective`` in
        ``tests/_objective_kit.py``.

    Args:
        X: Training features (what the library adapter accepts).
        y: Labels; ``None`` when ``X`` is a library data object that carries them.
        task: ``"binary"``, ``"multiclass"``, ``"regression"`` or ``"ranking"``; inferred from
            ``y`` (and ``group``) when ``None``.
        metric: Validation metric name (library or scikit-learn name); task default when
            ``None``.
        cv: Validation scheme, see :func:`~optuna_recipes.adapters._base.folds.make_folds`;
            ``None`` means 5-fold cross-validation, or the explicit ``validation_data`` when it
            is given.
        validation_data: ``(X_valid, y_valid)`` (or ``(X_valid, y_valid, weight_valid)``) to
            validate on instead of ``cv``.
        sample_weight: Per-row weights (finite, ``>= 0``): used in training and in the
            validation metric of every fold. Default ``None`` (equal weights).
        groups: Per-row group labels for grouped cross-validation.
        group: Ranking query sizes (as ``xgb.DMatrix(group=...)`` / ``lgb.Dataset(group=...)``).
        fixed_params: Library parameters used in every trial (not searched).
        space: Overrides of the default space: name -> Optuna distribution (replace/add) or
            ``None`` (remove).
        max_rounds: Upper bound on training rounds (boosting rounds, epochs); must be >= 1.
            Default ``1000``.
        early_stopping_rounds: Stop after this many rounds without improvement of the mean
            validation metric; ``None`` trains ``max_rounds`` rounds. Default ``50``.
        seed: Seed of the library and of the splitters built from ``cv``. Default ``0``.
        n_jobs: Library threads per trial (negative: all CPUs but ``|n_jobs| - 1``). Default
            ``None``: half the CPUs shared among the trials this objective runs at once in
            this process, at least 1 (see :mod:`~._base.threads`); set it when several
            processes share the machine.
        timeout: Seconds of training per trial (see "Budgets" above). Default ``None``.
        verbose: ``0`` (default) silent, ``1`` one line when a trial starts and when it ends
            (metric, best round, why it stopped), ``2`` also every tenth of ``max_rounds``;
            through Optuna's logging (see :mod:`~._base.progress`).
    """

    library: ClassVar[str] = ""
    extra: ClassVar[str] = ""
    #: Whether NaN in the features is a missing value the library handles.
    allow_nan: ClassVar[bool] = True

    def __init__(self, X: Any, y: Any = None, **settings: Any) -> None:
        given = ObjectiveSettings.from_kwargs(type(self).__name__, settings)
        self.settings = self._normalize_settings(given)
        self._active = ActiveTrials()
        self._checked_studies: set[str] = set()
        self._check_features(X, "X")
        labels, self.data_shape = self._inspect_data(X, y)
        n_rows = int(self.data_shape[0])
        labels = data.check_labels(labels, n_rows)
        self.sample_weight_ = data.check_sample_weight(self.settings.sample_weight, n_rows)
        self.groups = data.check_groups(self.settings.groups, n_rows)
        self.group = data.check_query_sizes(self.settings.group, n_rows)
        self.task = data.infer_task(labels, self.settings.task, self.group)
        if self.task == "ranking" and self.sample_weight_ is not None:
            raise ValueError(
                "`sample_weight` (per row) is not supported for ranking, where libraries weight "
                "whole queries; pass it through `fixed_params` or the library's data object."
            )
        self.y_, self.classes_ = data.encode_classes(labels, self.task)
        self.n_classes = 0 if self.classes_ is None else len(self.classes_)
        self.y_valid_ = self._validation_labels()
        self.folds = self._make_folds(n_rows)
        self.metric = resolve_metric(
            self.settings.metric,
            self.task,
            self.library,
            self._library_metrics(self.task),
            self._native_alias,
        )
        self._space = merge_space(
            self._default_space(self.task),
            self.settings.space,
            known=self._known_params(),
            library=self.library,
            fixed_params=self.fixed_params,
        )

    def _validation_labels(self) -> np.ndarray | None:
        """Encoded labels of ``validation_data`` (checked against ``X``), or ``None``."""
        self.validation_weight_ = None
        if self.validation_data is None:
            return None
        X_valid, y_valid = self.validation_data[:2]
        self._check_features(X_valid, "validation_data[0]")
        y_valid, shape_valid = self._inspect_data(X_valid, y_valid)
        y_valid = data.check_labels(y_valid, int(shape_valid[0]), name="validation_data[1]")
        if len(self.validation_data) == 3:
            self.validation_weight_ = data.check_sample_weight(
                self.validation_data[2], int(shape_valid[0]), name="validation_data[2]"
            )
        if len(shape_valid) > 1 and shape_valid[1:] != self.data_shape[1:]:
            raise ValueError(
                f"`validation_data` has {shape_valid[1:]} features per row but `X` has "
                f"{self.data_shape[1:]}."
            )
        return data.encode_like(y_valid, self.classes_, self.task)

    def _make_folds(self, n_rows: int) -> list[Fold]:
        has_validation = self.validation_data is not None
        if self.task == "ranking":
            if has_validation:
                raise ValueError(
                    "Ranking validates by `cv` (an int or a holdout fraction), which keeps "
                    "queries whole; `validation_data` is not supported for ranking."
                )
            if self.groups is None and self.group is not None:
                self.groups = np.repeat(np.arange(len(self.group)), self.group)
        cv = self.cv
        if cv is None and not has_validation:
            cv = 5
        folds = make_folds(
            cv=cv,
            y=self.y_,
            task=self.task,
            n_rows=n_rows,
            seed=self.seed,
            groups=self.groups,
            has_validation_data=has_validation,
        )
        check_folds(folds, self.y_, self.task, self.y_valid_)
        return folds

    # ------------------------------------------------------------------------------ settings
    @property
    def fixed_params(self) -> dict[str, Any]:
        """Library parameters used in every trial."""
        return self.settings.fixed_params  # type: ignore[return-value]

    @property
    def max_rounds(self) -> int:
        """Cap on training rounds (boosting rounds, epochs)."""
        return self.settings.max_rounds

    @property
    def early_stopping_rounds(self) -> int | None:
        """Rounds without improvement of the mean validation metric before a trial stops."""
        return self.settings.early_stopping_rounds

    @property
    def seed(self) -> int | None:
        """Seed of the library and of the splitters built from ``cv``."""
        return self.settings.seed

    @property
    def cv(self) -> Any:
        """The ``cv`` argument as given (``None``: the default scheme)."""
        return self.settings.cv

    @property
    def validation_data(self) -> tuple[Any, ...] | None:
        """The explicit validation set ``(X_valid, y_valid[, weight_valid])``, or ``None``."""
        return self.settings.validation_data

    @property
    def n_jobs(self) -> int | None:
        """Library threads per trial as given (``None``: see :meth:`threads`)."""
        return self.settings.n_jobs

    @property
    def timeout(self) -> float | None:
        """Seconds of training per trial, or ``None``."""
        return self.settings.timeout

    @property
    def verbose(self) -> int:
        """``0``, ``1`` or ``2``: how much a trial logs (see :mod:`~._base.progress`)."""
        return self.settings.verbose

    def threads(self) -> int:
        """Library threads for a trial starting now (``n_jobs`` resolved; see
        :mod:`~._base.threads`)."""
        return resolve_n_jobs(self.n_jobs, self._active.count)

    # ---------------------------------------------------------------------------- public API
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
        self._check_direction(trial)
        with self._active, self._library_threads(self.threads()):
            sampled = self._suggest(trial)
            progress = self._progress(trial, self.threads())
            tracker = self._tracker(trial, progress)
            progress.started()
            try:
                self._train(self._library_params(sampled), tracker)
            except optuna.TrialPruned:
                progress.pruned(tracker.best_value, tracker.best_round, tracker.rounds_done)
                raise
            except Exception as err:  # a failed configuration must not end the study
                reason = f"{type(err).__name__}: {err}"
                trial.set_user_attr(ATTR_FAIL_REASON, reason[:2000])
                progress.failed(reason)
                warnings.warn(
                    f"Trial {trial.number} failed during {self.library} training: {reason}",
                    RuntimeWarning,
                    stacklevel=2,
                )
                return math.nan
        tracker.record()
        progress.ended(
            tracker.best_value, tracker.best_round, tracker.rounds_done, tracker.stop_reason
        )
        return tracker.best_value

    def evaluate(self, params: Mapping[str, Any]) -> dict[str, Any]:
        """Cross-validate one configuration without a trial (no pruning, no ``timeout``).

        Returns ``{"value", "best_iteration", "n_rounds", "fold_scores"}``; useful to score the
        library's default parameters on the same folds (pass ``{}``).
        """
        tracker = self._tracker(None)
        with self._library_threads(self.threads()):
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
                :func:`~optuna_recipes.adapters.load_best`, or a plain dict of searched
                parameters.
            n_rounds: Number of rounds; by default the best trial's ``best_iteration + 1``
                (``max_rounds`` for a plain dict).
            artifact_store: An Optuna artifact store (``optuna.artifacts.FileSystemArtifactStore``
                ...): the model is uploaded as an artifact of the study, named after the best
                trial (see :func:`~._base.persistence.upload_model_artifact`); needs a study.

        Returns:
            The library's fitted model (e.g. ``xgboost.Booster``); :meth:`best_estimator`
            gives a scikit-learn estimator instead.
        """
        params, rounds, trial, study = best_configuration(study_or_params, self.library)
        if artifact_store is not None and study is None:
            raise ValueError(
                "`artifact_store` needs the study to attach the model to its best trial; got "
                f"{type(study_or_params).__name__}."
            )
        rounds = self._refit_rounds(rounds, n_rounds)
        with self._library_threads(self.threads()):
            model = self._fit_full(self._library_params(params), rounds)
        if artifact_store is not None and study is not None and trial is not None:
            upload_model_artifact(self, model, study, trial, artifact_store)
        return model

    def best_estimator(
        self,
        study_or_params: optuna.Study | FrozenTrial | Mapping[str, Any],
        *,
        n_rounds: int | None = None,
    ) -> Any:
        """A fitted scikit-learn-compatible estimator of the best configuration, trained on all
        training rows for the best number of rounds, ready to ship: picklable, and
        ``predict``/``predict_proba`` take the raw features the objective was given (pandas
        ``category`` columns included) and return the original labels (``classes_``).

        Args:
            study_or_params: As for :meth:`refit` (a study, a trial, the dict from
                :func:`~optuna_recipes.adapters.load_best`, or a parameter dict): so
                ``objective.best_estimator(load_best("best.json"))`` rebuilds a saved one.
            n_rounds: As for :meth:`refit`.
        """
        params, rounds, _, _ = best_configuration(study_or_params, self.library)
        rounds = self._refit_rounds(rounds, n_rounds)
        with self._library_threads(self.threads()):
            return self._estimator(self._library_params(params), rounds)

    def save_model(self, model: Any, path: str) -> str:
        """Write a model returned by :meth:`refit` to ``path`` plus the library's suffix
        (``.json`` for XGBoost, ``.txt`` for LightGBM, ``.pt`` for PyTorch); returns the file."""
        return self._save_model(model, path)

    def describe(self) -> dict[str, Any]:
        """What :func:`~optuna_recipes.adapters.save_best` records about this objective."""
        return {
            "library": self.library,
            "library_version": self._library_version(),
            "task": self.task,
            "metric": self.metric.name,
            "direction": self.direction,
            "data_shape": [int(s) for s in self.data_shape],
            "classes": self.classes_,
            "seed": self.seed,
            "fixed_params": jsonable(self.fixed_params),
            "cv": repr(self.cv) if self.validation_data is None else "validation_data",
            "n_folds": len(self.folds),
            "max_rounds": self.max_rounds,
            "early_stopping_rounds": self.early_stopping_rounds,
        }

    # ------------------------------------------------------------------------------- helpers
    def _tracker(
        self, trial: optuna.Trial | None, progress: TrialProgress | None = None
    ) -> RoundTracker:
        return RoundTracker(
            trial,
            maximize=self.metric.maximize,
            early_stopping_rounds=self.early_stopping_rounds,
            metric_name=self.metric.name,
            progress=progress,
        )

    def _progress(self, trial: optuna.Trial, threads: int) -> TrialProgress:
        what = (
            f"{self.library}, {len(self.folds)} fold(s), up to {self.max_rounds} rounds, "
            f"{threads} thread(s)" + (f", timeout {self.timeout:g} s" if self.timeout else "")
        )
        return TrialProgress(
            trial,
            verbose=self.verbose,
            what=what,
            metric_name=self.metric.name,
            max_rounds=self.max_rounds,
            timeout=self.timeout,
        )

    def _check_direction(self, trial: optuna.Trial) -> None:
        """Refuse a study whose direction is not the metric's (checked once per study)."""
        study = getattr(trial, "study", None)
        if study is None or study.study_name in self._checked_studies:
            return
        directions = [d.name.lower() for d in study.directions]
        if directions != [self.direction]:
            got = directions[0] if len(directions) == 1 else f"{len(directions)} objectives"
            raise ValueError(
                f"The study's direction is {got} but the objective's metric "
                f"{self.metric.name!r} is to {self.direction}; create the study with "
                "`optuna.create_study(direction=objective.direction)`."
            )
        self._checked_studies.add(study.study_name)

    def _fold_weights(self, fold: Fold) -> tuple[np.ndarray | None, np.ndarray | None]:
        """Training and validation weights of ``fold`` (``None``: unweighted)."""
        w = self.sample_weight_
        train = None if w is None else w[fold.train]
        if fold.valid is None:
            return train, self.validation_weight_
        return train, None if w is None else w[fold.valid]

    def _refit_rounds(self, rounds: int | None, n_rounds: int | None) -> int:
        if n_rounds is not None:
            rounds = n_rounds
        if rounds is None:
            rounds = self.max_rounds
        return check_int("n_rounds", rounds, minimum=1)

    def _train(self, params: dict[str, Any], tracker: RoundTracker) -> None:
        states = [self._start_fold(params, fold) for fold in self.folds]
        for round_ in range(self.max_rounds):
            if tracker.update(round_, self._run_round(states, round_)):
                break

    def _run_round(self, states: list[Any], round_: int) -> Sequence[float]:
        """One round on every fold, in lockstep (override to batch the folds)."""
        return [self._step_fold(state, round_) for state in states]

    # ------------------------------------------------------------------ hooks for subclasses
    def _normalize_settings(self, settings: ObjectiveSettings) -> ObjectiveSettings:
        """Rewrite the settings before use (default: unchanged)."""
        return settings

    def _check_features(self, X: Any, name: str) -> None:
        """Refuse features the library cannot train on (see :mod:`~._base.features`)."""
        check_features(X, name=name, allow_nan=self.allow_nan, library=self.library)

    def _library_threads(self, threads: int) -> AbstractContextManager[Any]:
        """Context in which the library trains with ``threads`` threads (default: nothing;
        libraries that take threads as a parameter read :meth:`threads`)."""
        return contextlib.nullcontext()

    def _estimator(self, params: dict[str, Any], n_rounds: int) -> Any:
        """A fitted scikit-learn-compatible estimator (see :meth:`best_estimator`)."""
        raise NotImplementedError(
            f"{type(self).__name__} does not build scikit-learn estimators; use `refit`."
        )

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
