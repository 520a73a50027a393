"""The "tune again after retraining" workflow: a new study warm-started from earlier ones.

``create_warm_started_study`` creates (or opens) a study in a storage with a
:class:`~optuna_recipes.samplers.WarmStartSampler` and a
:class:`~optuna_recipes.pruners.WarmStartPruner` built from earlier studies of that storage,
chosen by name or shell-style pattern, and records the source names in the study's user
attribute ``optuna_recipes.warm_start:sources``. Workers (other processes or hosts) then call
``load_warm_started_study(storage, study_name)``, which rebuilds the same sampler and pruner from
that record. The ``optuna-recipes warmstart`` command does the first step from a shell.

Example:
    .. code-block:: python

        import optuna
        import optuna_recipes

        storage = "sqlite:///example_retrain.db"


        def objective(trial, shift):
            x = trial.suggest_float("x", -5, 5)
            return (x - shift) ** 2


        for month, shift in (("2026-09", 1.0), ("2026-10", 1.1)):
            old = optuna.create_study(
                study_name=f"churn-model-{month}", storage=storage, load_if_exists=True
            )
            old.optimize(lambda t: objective(t, shift), n_trials=20)

        study = optuna_recipes.create_warm_started_study(
            storage, "churn-model-2026-11", source_pattern="churn-model-*", load_if_exists=True
        )
        study.optimize(lambda t: objective(t, 1.2), n_trials=10)
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
from typing import Any

import optuna
from optuna.storages import BaseStorage

from optuna_recipes._validation import check_choice
from optuna_recipes.warm_start._sources import SourceStudy
from optuna_recipes.warm_start._sources import _get_storage
from optuna_recipes.warm_start._sources import load_sources

SOURCES_ATTR = "optuna_recipes.warm_start:sources"


def _build(
    sources: list[SourceStudy],
    seed: int | None,
    sampler_kwargs: Mapping[str, Any] | None,
    pruner_kwargs: Mapping[str, Any] | None,
    use_pruner: bool,
) -> tuple[optuna.samplers.BaseSampler, optuna.pruners.BasePruner | None]:
    from optuna_recipes.pruners import WarmStartPruner
    from optuna_recipes.samplers import WarmStartSampler

    sampler = WarmStartSampler(sources, seed=seed, **dict(sampler_kwargs or {}))
    pruner = WarmStartPruner(sources, **dict(pruner_kwargs or {})) if use_pruner else None
    return sampler, pruner


def create_warm_started_study(
    storage: str | BaseStorage,
    study_name: str,
    *,
    source_names: Sequence[str] | None = None,
    source_pattern: str | None = None,
    direction: str = "minimize",
    seed: int | None = None,
    load_if_exists: bool = False,
    pruner: bool = True,
    sampler_kwargs: Mapping[str, Any] | None = None,
    pruner_kwargs: Mapping[str, Any] | None = None,
) -> optuna.Study:
    """Create a study in ``storage`` warm-started from earlier studies of the same storage.

    Example:
        .. code-block:: python

            import optuna_recipes

            study = optuna_recipes.create_warm_started_study(
                "sqlite:///example_retrain.db",
                "churn-model-2026-12",
                source_pattern="churn-model-*",
                load_if_exists=True,
            )

    The new study is added to the storage that holds its sources, so a SQLite URL must name an
    existing file: a mistyped path raises instead of creating an empty database. (To keep the
    new study elsewhere, build it yourself: ``optuna.create_study(storage=...,
    sampler=WarmStartSampler(load_sources(...)))``.)

    Args:
        storage: Storage URL or object holding the earlier studies; the new study goes there too.
        study_name: Name of the new study (never used as its own source, even if it matches).
        source_names: Exact names of the source studies.
        source_pattern: Shell-style pattern (``"churn-model-*"``) selecting source studies.
            With neither ``source_names`` nor ``source_pattern``, an existing study opened with
            ``load_if_exists=True`` reuses the sources it recorded.
        direction: ``"minimize"`` or ``"maximize"``. Default ``"minimize"``.
        seed: Seed of the sampler. Default ``None``.
        load_if_exists: Open the study if it already exists instead of failing. Default
            ``False``.
        pruner: Attach a :class:`~optuna_recipes.pruners.WarmStartPruner`. Default ``True``.
        sampler_kwargs: Extra arguments of ``WarmStartSampler``.
        pruner_kwargs: Extra arguments of ``WarmStartPruner``.

    Raises:
        ValueError: If no source is given or recorded, no study matches, ``direction`` is
            invalid, or a SQLite URL names a file that does not exist.
    """
    check_choice("direction", direction, ("minimize", "maximize"))
    storage = _get_storage(storage)
    if source_names is None and source_pattern is None:
        recorded = _recorded_sources(storage, study_name) if load_if_exists else None
        if recorded is None:
            raise ValueError(
                "Pass `source_names` or `source_pattern` to say which earlier studies to "
                "warm-start from."
            )
        source_names = recorded
    sources = load_sources(storage, source_names, source_pattern, exclude=[study_name])
    sampler, pruner_obj = _build(sources, seed, sampler_kwargs, pruner_kwargs, pruner)
    study = optuna.create_study(
        storage=storage,
        study_name=study_name,
        direction=direction,  # type: ignore[arg-type]
        sampler=sampler,
        pruner=pruner_obj,
        load_if_exists=load_if_exists,
    )
    study.set_user_attr(SOURCES_ATTR, [s.name for s in sources])
    return study


def _recorded_sources(storage: str | BaseStorage, study_name: str) -> list[str] | None:
    try:
        study = optuna.load_study(study_name=study_name, storage=storage)
    except KeyError:
        return None
    names = study.user_attrs.get(SOURCES_ATTR)
    return list(names) if names else None


def load_warm_started_study(
    storage: str | BaseStorage,
    study_name: str,
    *,
    seed: int | None = None,
    pruner: bool = True,
    sampler_kwargs: Mapping[str, Any] | None = None,
    pruner_kwargs: Mapping[str, Any] | None = None,
) -> optuna.Study:
    """Open a study made by :func:`create_warm_started_study`, with its sampler and pruner.

    This is what each worker process calls; give each worker its own ``seed`` (or ``None``).

    Example:
        .. code-block:: python

            import optuna_recipes

            study = optuna_recipes.load_warm_started_study(
                "sqlite:///example_retrain.db", "churn-model-2026-12"
            )

    Args:
        storage: Storage URL or object.
        study_name: Name of the warm-started study.
        seed: Seed of this worker's sampler. Default ``None``.
        pruner: Attach the ``WarmStartPruner``. Default ``True``.
        sampler_kwargs: Extra arguments of ``WarmStartSampler``.
        pruner_kwargs: Extra arguments of ``WarmStartPruner``.

    Raises:
        ValueError: If the study has no recorded sources, or a SQLite URL names a file that
            does not exist.
    """
    storage = _get_storage(storage)
    names = _recorded_sources(storage, study_name)
    if names is None:
        raise ValueError(
            f"Study {study_name!r} has no recorded warm-start sources (user attribute "
            f"{SOURCES_ATTR!r}); create it with optuna_recipes.create_warm_started_study."
        )
    sources = load_sources(storage, names, exclude=[study_name])
    sampler, pruner_obj = _build(sources, seed, sampler_kwargs, pruner_kwargs, pruner)
    return optuna.load_study(
        study_name=study_name, storage=storage, sampler=sampler, pruner=pruner_obj
    )
