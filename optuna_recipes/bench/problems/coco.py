"""COCO's ``bbob`` and ``bbob-mixint`` functions through the ``coco-experiment`` package."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_recipes._imports import optional_import
from optuna_recipes.bench.problems._base import Problem
from optuna_recipes.bench.problems.synthetic import _check_int

COCO_SUITES = ("bbob", "bbob-mixint")
_DIMENSIONS = {"bbob": (2, 3, 5, 10, 20, 40), "bbob-mixint": (5, 10, 20, 40, 80, 160)}


@lru_cache(maxsize=256)
def _coco_problem(suite: str, function: int, dimension: int, instance: int) -> Any:
    cocoex = optional_import("cocoex", extra="bench", feature="The COCO benchmark problems")
    # The instance goes in the suite instance ("instances: N"), not the suite options: COCO caps
    # ``instance_indices`` at 15 (with a warning) and then keeps only its default instances
    # (bbob: 1-5 and 71-80), so any other instance would not exist.
    options = f"dimensions: {dimension} function_indices: {function}"
    coco_suite = cocoex.Suite(suite, f"instances: {instance}", options)
    # Problems met while iterating a suite are freed by the next step; get_problem_* returns one
    # that lives as long as it and its suite are referenced.
    problem = coco_suite.get_problem_by_function_dimension_instance(function, dimension, instance)
    return coco_suite, problem


class CocoProblem(Problem):
    """One function of COCO's ``bbob`` (continuous) or ``bbob-mixint`` (mixed-integer) suite.

    The real, widely used black-box benchmark functions (Hansen et al.), evaluated by the
    ``coco-experiment`` package offline. Parameters are ``x0 .. x{d-1}``: floats in
    ``[-5, 5]``; in ``bbob-mixint`` the first 80% are integers with COCO's bounds. COCO hides the
    optimal value, so the report ranks strategies on these problems but shows no regret. Task
    ``k > 0`` of a family is another COCO instance of the same function: the optimum moves
    anywhere, which makes an *unrelated* family (a test for negative transfer).

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.coco import CocoProblem

            problem = CocoProblem(suite="bbob-mixint", function=1, dimension=5)
            study = optuna.create_study()
            study.optimize(problem, n_trials=20)

    Args:
        suite: ``"bbob"`` or ``"bbob-mixint"``. Default ``"bbob"``.
        function: Function index in ``1 .. 24``. Default 1.
        dimension: ``bbob``: 2, 3, 5, 10, 20 or 40; ``bbob-mixint``: 5, 10, 20, 40, 80 or 160.
            Default 5.
        instance: COCO instance (>= 1). Default 1.
        task: Task index in the family (task ``k`` uses instance ``instance + k``). Default 0.
        sources: Number of source tasks. Default 0.
    """

    def __init__(
        self,
        suite: str = "bbob",
        function: int = 1,
        dimension: int = 5,
        instance: int = 1,
        task: int = 0,
        sources: int = 0,
    ) -> None:
        if suite not in COCO_SUITES:
            raise ValueError(f"`suite` must be one of {COCO_SUITES}, got {suite!r}.")
        self.suite = suite
        self.function = _check_int("function", function, 1, 24)
        if dimension not in _DIMENSIONS[suite]:
            raise ValueError(
                f"`dimension` must be one of {_DIMENSIONS[suite]} for suite {suite!r}, "
                f"got {dimension!r}."
            )
        self.dimension = dimension
        self.instance = _check_int("instance", instance, 1)
        self.task = _check_int("task", task, 0)
        self.sources = _check_int("sources", sources, 0)
        self._suite, self._problem = _coco_problem(
            suite, function, dimension, self.instance + self.task
        )

    def search_space(self) -> dict[str, BaseDistribution]:
        p = self._problem
        space: dict[str, BaseDistribution] = {}
        for i in range(p.dimension):
            low, high = float(p.lower_bounds[i]), float(p.upper_bounds[i])
            if i < p.number_of_integer_variables:
                space[f"x{i}"] = IntDistribution(int(low), int(high))
            else:
                space[f"x{i}"] = FloatDistribution(low, high)
        return space

    def __call__(self, trial: optuna.Trial) -> float:
        x: list[float] = []
        for name, dist in self.search_space().items():
            if isinstance(dist, IntDistribution):
                x.append(trial.suggest_int(name, dist.low, dist.high))
            elif isinstance(dist, FloatDistribution):
                x.append(trial.suggest_float(name, dist.low, dist.high))
        return float(self._problem(x))

    def source_tasks(self) -> list[dict[str, Any]]:
        return [{"task": k} for k in range(1, self.sources + 1)]
