"""The settings every objective shares, spelled and checked in one place.

:class:`~optuna_recipes.adapters.BaseObjective` takes them as keyword arguments
(``**settings``); a library objective takes its own arguments (``num_boost_round``,
``n_jobs``, ``build_model``, ...) and passes the rest on unchanged, so a setting shared by all
objectives is added here once, not in every subclass.

Example:
    .. code-block:: python

        from optuna_recipes.adapters._base.settings import ObjectiveSettings

        settings = ObjectiveSettings.from_kwargs("MyObjective", {"metric": "rmse", "cv": 3})
        settings.max_rounds, settings.early_stopping_rounds  # 1000, 50
"""

from __future__ import annotations

from collections.abc import Mapping
import dataclasses
import difflib
from typing import Any

from optuna.distributions import BaseDistribution

from optuna_recipes._validation import check_float
from optuna_recipes._validation import check_int
from optuna_recipes.adapters._base.threads import check_n_jobs


@dataclasses.dataclass(frozen=True, eq=False)
class ObjectiveSettings:
    """Validated settings of an objective (see :class:`~optuna_recipes.adapters.BaseObjective`
    for what each one means).

    Attributes:
        task: ``"binary"``, ``"multiclass"``, ``"regression"``, ``"ranking"`` or ``None``
            (inferred from the labels).
        metric: Validation metric name, or ``None`` for the task's default.
        cv: Validation scheme (see :func:`~optuna_recipes.adapters._base.folds.make_folds`);
            ``None``: 5-fold, or ``validation_data`` when given.
        validation_data: ``(X_valid, y_valid)`` or ``(X_valid, y_valid, weight_valid)``, or
            ``None``.
        sample_weight: Per-row weights of the training data, or ``None``.
        groups: Per-row group labels for grouped cross-validation, or ``None``.
        group: Ranking query sizes, or ``None``.
        fixed_params: Library parameters used in every trial (a fresh dict).
        space: Changes to the default search space, or ``None``.
        max_rounds: Cap on training rounds (``>= 1``).
        early_stopping_rounds: Rounds without improvement before stopping (``>= 1``), or
            ``None``.
        seed: Seed of the library and of the splitters built from ``cv`` (an int or ``None``).
        n_jobs: Library threads per trial (a non-zero int), or ``None`` for
            :func:`~optuna_recipes.adapters._base.threads.default_threads`.
        timeout: Seconds of training per trial (``> 0``), or ``None``.
        verbose: ``0`` silent, ``1`` a line per trial start and end, ``2`` also progress every
            few rounds (through Optuna's logging).

    Example:
        .. code-block:: python

            from optuna_recipes.adapters._base.settings import ObjectiveSettings

            settings = ObjectiveSettings(metric="rmse", max_rounds=100)
            settings.replace(seed=None).seed  # None; `settings` is unchanged
    """

    task: str | None = None
    metric: str | None = None
    cv: Any = None
    validation_data: tuple[Any, ...] | None = None
    sample_weight: Any = None
    groups: Any = None
    group: Any = None
    fixed_params: Mapping[str, Any] | None = None
    space: Mapping[str, BaseDistribution | None] | None = None
    max_rounds: int = 1000
    early_stopping_rounds: int | None = 50
    seed: int | None = 0
    n_jobs: int | None = None
    timeout: float | None = None
    verbose: int = 0

    def __post_init__(self) -> None:
        def put(name: str, value: Any) -> None:
            object.__setattr__(self, name, value)

        put("max_rounds", check_int("max_rounds", self.max_rounds, minimum=1))
        put(
            "early_stopping_rounds",
            check_int(
                "early_stopping_rounds", self.early_stopping_rounds, minimum=1, allow_none=True
            ),
        )
        put("seed", check_int("seed", self.seed, allow_none=True))
        put("n_jobs", check_n_jobs(self.n_jobs))
        put(
            "timeout",
            check_float("timeout", self.timeout, minimum=0, exclusive_min=True, allow_none=True),
        )
        put("verbose", check_int("verbose", self.verbose, minimum=0, maximum=2))
        if self.fixed_params is not None and not isinstance(self.fixed_params, Mapping):
            raise ValueError(
                f"`fixed_params` must be a dict; got {type(self.fixed_params).__name__}."
            )
        put("fixed_params", dict(self.fixed_params or {}))
        if self.space is not None and not isinstance(self.space, Mapping):
            raise ValueError(
                f"`space` must be a dict name -> distribution or None; got "
                f"{type(self.space).__name__}."
            )
        data = self.validation_data
        if data is not None and (not isinstance(data, (tuple, list)) or len(data) not in (2, 3)):
            raise ValueError(
                "`validation_data` must be a pair (X_valid, y_valid) or a triple (X_valid, "
                "y_valid, sample_weight_valid)."
            )

    @classmethod
    def from_kwargs(cls, owner: str, kwargs: Mapping[str, Any]) -> ObjectiveSettings:
        """Settings from the keyword arguments given to ``owner`` (a class name, for messages).

        A name that is not a setting raises ``TypeError``, as an unexpected keyword argument
        does, naming the closest setting.
        """
        names = [field.name for field in dataclasses.fields(cls)]
        for name in kwargs:
            if name not in names:
                close = difflib.get_close_matches(name, names, n=1)
                hint = f"; did you mean {close[0]!r}?" if close else f"; settings are {names}."
                raise TypeError(f"{owner}() got an unexpected keyword argument {name!r}{hint}")
        return cls(**kwargs)

    def replace(self, **changes: Any) -> ObjectiveSettings:
        """A copy with ``changes`` applied (and checked again)."""
        return dataclasses.replace(self, **changes)
