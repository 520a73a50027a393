"""Strategies: a named sampler + pruner pair with options, and the registry of names.

A strategy name is ``SAMPLER`` or ``SAMPLER+PRUNER``, where each part is a registered name, an
import path ``package.module:Class`` or an OptunaHub package ``hub:samplers/NAME[:Class]``
(:mod:`~optuna_recipes.bench.hub`; e.g. ``tpe``, ``random+median``,
``mypkg.samplers:MySampler+hyperband``, ``hub:samplers/restart_cmaes+median``). Suites may
also define named strategies with options::

    [strategies.tpe-multivariate]
    sampler = "tpe"
    sampler_options = { multivariate = true, n_startup_trials = 5 }
    pruner = "median"

Samplers receive ``seed=`` when their constructor accepts it; ``qmc`` is scrambled (Optuna's
default sequence would be the same for every seed) and ``percentile`` prunes below the 25th
percentile, unless options say otherwise. The ``grid`` sampler is built from
the problem's static search space. Samplers and pruners flagged as needing sources
(``warmstart``, or ``sampler_needs_sources = true`` in a suite) receive
``source_studies=[...]``: the studies the runner made on the problem's related tasks.

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.bench.strategies import parse_strategy

        strategy = parse_strategy("tpe+median")
        sampler = strategy.build_sampler(seed=0)
        pruner = strategy.build_pruner()
        study = optuna.create_study(sampler=sampler, pruner=pruner)
"""

from __future__ import annotations

from collections.abc import Mapping
from collections.abc import Sequence
import dataclasses
from dataclasses import dataclass
from dataclasses import field
import inspect
import math
from typing import TYPE_CHECKING
from typing import Any

import numpy as np

from optuna_recipes.bench._registry import UnknownNameError
from optuna_recipes.bench._registry import import_object
from optuna_recipes.bench._registry import unknown_name
from optuna_recipes.bench.hub import is_hub
from optuna_recipes.bench.hub import load_hub_class
from optuna_recipes.bench.hub import split_hub_name

if TYPE_CHECKING:
    import optuna

    from optuna_recipes.bench.problems import Problem

SAMPLERS: dict[str, str] = {
    "random": "optuna.samplers:RandomSampler",
    "grid": "optuna.samplers:GridSampler",
    "qmc": "optuna.samplers:QMCSampler",
    "tpe": "optuna.samplers:TPESampler",
    "gp": "optuna.samplers:GPSampler",
    "cmaes": "optuna.samplers:CmaEsSampler",
    "nsga2": "optuna.samplers:NSGAIISampler",
    "ga": "optuna_recipes.samplers:GeneticSampler",
    "warmstart": "optuna_recipes.samplers:WarmStartSampler",
}
PRUNERS: dict[str, str] = {
    "none": "optuna.pruners:NopPruner",
    "median": "optuna.pruners:MedianPruner",
    "percentile": "optuna.pruners:PercentilePruner",
    "sha": "optuna.pruners:SuccessiveHalvingPruner",
    "hyperband": "optuna.pruners:HyperbandPruner",
    "wilcoxon": "optuna.pruners:WilcoxonPruner",
    "warmstart": "optuna_recipes.pruners:WarmStartPruner",
}
# Registered names whose classes take the related tasks' studies as ``source_studies``.
SOURCE_SAMPLERS = frozenset({"warmstart"})
SOURCE_PRUNERS = frozenset({"warmstart"})
# Defaults that differ from the class's own: an unscrambled QMC sequence is the same for every
# seed, which would make seeds meaningless; PercentilePruner has no default percentile.
_DEFAULT_SAMPLER_OPTIONS: dict[str, dict[str, Any]] = {"qmc": {"scramble": True}}
_DEFAULT_PRUNER_OPTIONS: dict[str, dict[str, Any]] = {"percentile": {"percentile": 25.0}}


class StrategyUnavailableError(RuntimeError):
    """A strategy cannot run on a problem (e.g. ``grid`` on a conditional space)."""


class HubUnavailableError(StrategyUnavailableError, ImportError):
    """An OptunaHub package is missing, cannot be downloaded or fails to import (one line)."""


def _resolve(
    name: str, registry: Mapping[str, str], what: str, hub_registry: str | None = None
) -> Any:
    if is_hub(name):
        return load_hub_class(name, what, hub_registry)
    if name in registry:
        return import_object(registry[name], what)
    if ":" in name:
        return import_object(name, what)
    raise unknown_name(what, name, registry)


def _check_options(cls: Any, options: Mapping[str, Any], what: str, reserved: set[str]) -> None:
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return
    if any(p.kind is p.VAR_KEYWORD for p in params.values()):
        return
    unknown = sorted(set(options) - set(params))
    if unknown:
        valid = [p for p in params if p not in reserved]
        raise ValueError(
            f"{what} {getattr(cls, '__name__', cls)!s} has no option(s) {unknown}; "
            f"its options are: {', '.join(valid) or 'none'}."
        )
    clash = sorted(set(options) & reserved)
    if clash:
        raise ValueError(f"{what} option(s) {clash} are set by the harness; remove them.")


def _accepts(cls: Any, name: str) -> bool:
    try:
        params = inspect.signature(cls).parameters
    except (TypeError, ValueError):
        return False
    return name in params or any(p.kind is p.VAR_KEYWORD for p in params.values())


def grid_space(problem: Problem, n_trials: int) -> dict[str, list[Any]]:
    """A grid over the problem's static search space with about ``n_trials`` points or more."""
    from optuna.distributions import CategoricalDistribution
    from optuna.distributions import FloatDistribution
    from optuna.distributions import IntDistribution

    space = problem.search_space()
    if not space:
        raise StrategyUnavailableError(
            "the `grid` sampler needs a problem with a static search space "
            "(Problem.search_space()); this problem defines none."
        )
    n_cat = math.prod(
        len(d.choices) for d in space.values() if isinstance(d, CategoricalDistribution)
    )
    n_num = sum(not isinstance(d, CategoricalDistribution) for d in space.values())
    k = max(2, math.ceil((max(n_trials, 1) / n_cat) ** (1.0 / max(n_num, 1))))
    grid: dict[str, list[Any]] = {}
    for name, dist in space.items():
        if isinstance(dist, CategoricalDistribution):
            grid[name] = list(dist.choices)
            continue
        assert isinstance(dist, (FloatDistribution, IntDistribution))
        low, high = float(dist.low), float(dist.high)
        points = np.geomspace(low, high, k) if dist.log else np.linspace(low, high, k)
        if hasattr(dist, "step") and dist.step is not None:
            points = low + np.round((points - low) / dist.step) * dist.step
        if isinstance(dist, IntDistribution):
            grid[name] = sorted({round(p) for p in points})
        else:
            grid[name] = sorted({float(p) for p in np.clip(points, low, high)})
    return grid


@dataclass(frozen=True)
class Strategy:
    """A named sampler + pruner pair with keyword options.

    Choose the built-in names for Optuna's samplers and pruners and ours; give an import path
    ``package.module:Class`` for anything else.

    Example:
        .. code-block:: python

            from optuna_recipes.bench.strategies import Strategy

            s = Strategy("tpe-mv", sampler="tpe", sampler_options={"multivariate": True})
            sampler = s.build_sampler(seed=0)

    Args:
        name: Display name, unique within a suite.
        sampler: Registered sampler name (see ``SAMPLERS``) or import path. Default ``"tpe"``.
        pruner: Registered pruner name (see ``PRUNERS``) or import path. Default ``"none"``.
        sampler_options: Keyword options of the sampler (not ``seed``). Default none.
        pruner_options: Keyword options of the pruner. Default none.
        sampler_needs_sources: The sampler takes ``source_studies``; default: ``True`` for
            registered source samplers (``warmstart``), else ``False``.
        pruner_needs_sources: The same for the pruner.
        hub_registry: Local OptunaHub registry checkout for ``hub:`` names (holding
            ``package/``); default: download the package. Not part of the run's identity.
    """

    name: str
    sampler: str = "tpe"
    pruner: str = "none"
    sampler_options: dict[str, Any] = field(default_factory=dict)
    pruner_options: dict[str, Any] = field(default_factory=dict)
    sampler_needs_sources: bool | None = None
    pruner_needs_sources: bool | None = None
    hub_registry: str | None = None

    def __post_init__(self) -> None:
        if self.sampler not in SAMPLERS and ":" not in self.sampler:
            raise unknown_name("sampler", self.sampler, SAMPLERS)
        if self.pruner not in PRUNERS and ":" not in self.pruner:
            raise unknown_name("pruner", self.pruner, PRUNERS)
        for part in (self.sampler, self.pruner):
            if is_hub(part):
                try:
                    split_hub_name(part)
                except ValueError as err:
                    raise UnknownNameError(str(err)) from None

    @property
    def uses_hub(self) -> bool:
        """Whether the sampler or the pruner is an OptunaHub package."""
        return is_hub(self.sampler) or is_hub(self.pruner)

    def __hash__(self) -> int:
        return hash((self.name, self.sampler, self.pruner))

    @property
    def sampler_takes_sources(self) -> bool:
        if self.sampler_needs_sources is not None:
            return self.sampler_needs_sources
        return self.sampler in SOURCE_SAMPLERS

    @property
    def pruner_takes_sources(self) -> bool:
        if self.pruner_needs_sources is not None:
            return self.pruner_needs_sources
        return self.pruner in SOURCE_PRUNERS

    @property
    def needs_sources(self) -> bool:
        """Whether the runner must first make source studies on the related tasks."""
        return self.sampler_takes_sources or self.pruner_takes_sources

    def check(self) -> None:
        """Import the classes and check the options (raises on unknown names or options)."""
        sampler_cls = _resolve(self.sampler, SAMPLERS, "sampler", self.hub_registry)
        reserved = {"seed", "search_space"} | (
            {"source_studies"} if self.sampler_takes_sources else set()
        )
        _check_options(sampler_cls, self.sampler_options, "Sampler", reserved)
        pruner_cls = _resolve(self.pruner, PRUNERS, "pruner", self.hub_registry)
        reserved = {"source_studies"} if self.pruner_takes_sources else set()
        _check_options(pruner_cls, self.pruner_options, "Pruner", reserved)

    def build_sampler(
        self,
        seed: int | None = None,
        problem: Problem | None = None,
        n_trials: int = 100,
        sources: Sequence[optuna.Study] | None = None,
    ) -> optuna.samplers.BaseSampler:
        """Build the sampler for one run.

        Args:
            seed: Passed as ``seed=`` when the sampler accepts it.
            problem: The problem (the ``grid`` sampler reads its search space).
            n_trials: The run's budget (sets the ``grid`` resolution).
            sources: Source studies for samplers that take them.
        """
        cls = _resolve(self.sampler, SAMPLERS, "sampler", self.hub_registry)
        kwargs = {**_DEFAULT_SAMPLER_OPTIONS.get(self.sampler, {}), **self.sampler_options}
        if self.sampler == "grid":
            if problem is None:
                raise StrategyUnavailableError("the `grid` sampler needs the problem.")
            kwargs.setdefault("search_space", grid_space(problem, n_trials))
        if self.sampler_takes_sources:
            kwargs["source_studies"] = self._sources(sources)
        if seed is not None and _accepts(cls, "seed"):
            kwargs["seed"] = seed
        return cls(**kwargs)

    def build_pruner(
        self,
        problem: Problem | None = None,
        sources: Sequence[optuna.Study] | None = None,
    ) -> optuna.pruners.BasePruner:
        """Build the pruner for one run (``hyperband`` gets the problem's ``n_steps``)."""
        cls = _resolve(self.pruner, PRUNERS, "pruner", self.hub_registry)
        kwargs = {**_DEFAULT_PRUNER_OPTIONS.get(self.pruner, {}), **self.pruner_options}
        if self.pruner == "hyperband" and problem is not None and problem.n_steps:
            kwargs.setdefault("max_resource", problem.n_steps)
        if self.pruner_takes_sources:
            kwargs["source_studies"] = self._sources(sources)
        return cls(**kwargs)

    def _sources(self, sources: Sequence[optuna.Study] | None) -> list[optuna.Study]:
        if not sources:
            raise StrategyUnavailableError(
                f"strategy {self.name!r} needs source studies, but the problem has no task "
                "family (Problem.source_tasks() is empty); give it `sources = N` in the suite."
            )
        return list(sources)

    def describe(self) -> dict[str, Any]:
        """A JSON-serializable description (stored with each run)."""
        return {
            "name": self.name,
            "sampler": self.sampler,
            "pruner": self.pruner,
            "sampler_options": dict(self.sampler_options),
            "pruner_options": dict(self.pruner_options),
        }


def parse_strategy(name: str, defined: Mapping[str, Strategy] | None = None) -> Strategy:
    """Resolve a strategy name: one defined in a suite, or ``SAMPLER[+PRUNER]``.

    Raises:
        UnknownNameError: a part is neither registered nor an import path; the message lists the
            valid names.
    """
    defined = defined or {}
    name = name.strip()
    if name in defined:
        return defined[name]
    sampler, _, pruner = name.partition("+")
    pruner = pruner or "none"
    if sampler not in SAMPLERS and ":" not in sampler:
        known = sorted(set(SAMPLERS) | set(defined))
        raise UnknownNameError(
            f"{unknown_name('strategy', name, known)} A strategy is SAMPLER or SAMPLER+PRUNER "
            "(either part may be hub:samplers/NAME or package.module:Class); "
            f"pruners: {', '.join(sorted(PRUNERS))}."
        )
    if pruner not in PRUNERS and ":" not in pruner:
        raise unknown_name("pruner", pruner, PRUNERS)
    return Strategy(name=name, sampler=sampler, pruner=pruner)


def with_hub_registry(strategy: Strategy, registry: str | None) -> Strategy:
    """``strategy`` loading its ``hub:`` packages from ``registry`` (unchanged without them)."""
    if registry is None or not strategy.uses_hub or strategy.hub_registry == registry:
        return strategy
    return dataclasses.replace(strategy, hub_registry=registry)
