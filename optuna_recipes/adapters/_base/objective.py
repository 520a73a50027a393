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

The base drives the loop: ``__call__(trial)`` samples the parameters, starts every fold, calls
``_run_round`` for ``round = 0, 1, ...`` up to ``max_rounds``, reports the mean to the trial
(:class:`~._base.rounds.RoundTracker`), stops early after ``early_stopping_rounds`` rounds
without improvement, and returns the mean validation metric at the best round.
"""

from __future__ import annotations

import abc
from collections.abc import Collection
from collections.abc import Mapping
from collections.abc import Sequence
import math
from typing import Any
from typing import ClassVar
import warnings

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from optuna_recipes._validation import check_int
from optuna_recipes.adapters._base import data
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters._base.folds import check_folds
from optuna_recipes.adapters._base.folds import make_folds
from optuna_recipes.adapters._base.metrics import resolve_metric
from optuna_recipes.adapters._base.persistence import FORMAT
from optuna_recipes.adapters._base.persistence import jsonable
from optuna_recipes.adapters._base.persistence import upload_model_artifact
from optuna_recipes.adapters._base.rounds import ATTR_BEST_ITERATION
from optuna_recipes.adapters._base.rounds import ATTR_FAIL_REASON
from optuna_recipes.adapters._base.rounds import RoundTracker
from optuna_recipes.adapters._base.search_space import merge_space
from optuna_recipes.adapters._base.search_space import suggest_params
from optuna_recipes.adapters._base.settings import ObjectiveSettings

BestSource = tuple[dict[str, Any], int | None, FrozenTrial | None, optuna.Study | None]


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
    best round), ``best_value`` and ``metric``; a failed one carries ``fail_reason``.

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
        ``tests/_objective_contract.py``.

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
        validation_data: ``(X_valid, y_valid)`` to validate on instead of ``cv``.
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
    """

    library: ClassVar[str] = ""
    extra: ClassVar[str] = ""

    def __init__(self, X: Any, y: Any = None, **settings: Any) -> None:
        given = ObjectiveSettings.from_kwargs(type(self).__name__, settings)
        self.settings = self._normalize_settings(given)
        labels, self.data_shape = self._inspect_data(X, y)
        n_rows = int(self.data_shape[0])
        labels = data.check_labels(labels, n_rows)
        self.groups = data.check_groups(self.settings.groups, n_rows)
        self.group = data.check_query_sizes(self.settings.group, n_rows)
        self.task = data.infer_task(labels, self.settings.task, self.group)
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
        if self.validation_data is None:
            return None
        y_valid, shape_valid = self._inspect_data(*self.validation_data)
        y_valid = data.check_labels(y_valid, int(shape_valid[0]), name="validation_data[1]")
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
    def validation_data(self) -> tuple[Any, Any] | None:
        """The explicit validation set ``(X_valid, y_valid)``, or ``None``."""
        return self.settings.validation_data

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
        sampled = self._suggest(trial)
        tracker = self._tracker(trial)
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
        tracker = self._tracker(None)
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
        rounds = check_int("n_rounds", rounds, minimum=1)
        model = self._fit_full(self._library_params(params), rounds)
        if artifact_store is not None and study is not None and trial is not None:
            upload_model_artifact(self, model, study, trial, artifact_store)
        return model

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
    def _tracker(self, trial: optuna.Trial | None) -> RoundTracker:
        return RoundTracker(
            trial,
            maximize=self.metric.maximize,
            early_stopping_rounds=self.early_stopping_rounds,
            metric_name=self.metric.name,
        )

    def _train(self, params: dict[str, Any], tracker: RoundTracker) -> None:
        states = [self._start_fold(params, fold) for fold in self.folds]
        for round_ in range(self.max_rounds):
            if tracker.update(round_, self._run_round(states, round_)):
                break

    def _run_round(self, states: list[Any], round_: int) -> Sequence[float]:
        """One round on every fold, in lockstep (override to batch the folds)."""
        return [self._step_fold(state, round_) for state in states]

    def _best_from(self, source: Any) -> BestSource:
        """``(params, rounds, trial, study)`` of what :meth:`refit` was given."""
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

    # ------------------------------------------------------------------ hooks for subclasses
    def _normalize_settings(self, settings: ObjectiveSettings) -> ObjectiveSettings:
        """Rewrite the settings before use (default: unchanged)."""
        return settings

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
