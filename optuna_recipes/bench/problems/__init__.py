"""Benchmark problems: the protocol, the built-in problem types and their registry.

A problem is named in a suite by a *type* (a registered name below, or an import path
``package.module:factory`` returning a :class:`Problem`) and keyword *options*. The harness
rebuilds problems from these specs in each worker process.

Built-in types:

- ``mixed``: classic test functions over mixed float/log-float/int/categorical spaces
  (:class:`~optuna_recipes.bench.problems.synthetic.MixedProblem`);
- ``conditional``: a conditional space (:class:`~.synthetic.ConditionalProblem`);
- ``curves``: synthetic learning curves for pruners (:class:`~.synthetic.CurveProblem`);
- ``sklearn``: cross-validated scikit-learn models on shipped datasets
  (:class:`~.sklearn_tasks.SklearnProblem`);
- ``sgd-curves``: a real learning curve, SGD epoch by epoch
  (:class:`~.sklearn_tasks.SGDCurveProblem`);
- ``coco``: COCO ``bbob`` / ``bbob-mixint`` functions (:class:`~.coco.CocoProblem`);
- ``adapter``: XGBoost / LightGBM through the project's adapters, with learning curves
  (:class:`~.adapters.AdapterProblem`);
- ``recorded``: recorded XGBoost / LightGBM learning curves replayed by a surrogate, in
  milliseconds per trial, with task families (:class:`~.recorded.RecordedProblem`);
- ``rippled``: a rotated ellipsoid with ripples in a family of tasks of other scales, offsets
  and directions, for transfer (:class:`~.families.RippledProblem`);
- ``heldout``: XGBoost / LightGBM tuned on a training part, with the test scores of the best
  trials and of the library defaults (:class:`~.heldout.HeldoutProblem`).

Any objective with ``__call__(trial) -> float`` (and optionally ``.direction``), such as the
project's model adapters, becomes a problem type with a factory of a few lines, named in a suite
as ``type = "mypkg.problems:xgb_breast_cancer"``::

    def xgb_breast_cancer() -> Problem:
        from sklearn.datasets import load_breast_cancer
        from optuna_recipes.adapters.xgboost import XGBoostObjective

        X, y = load_breast_cancer(return_X_y=True)
        return FunctionProblem(XGBoostObjective(X, y), n_steps=None)

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.bench.problems import ProblemSpec

        problem = ProblemSpec("rastrigin", "mixed", {"function": "rastrigin"}).build()
        study = optuna.create_study(direction=problem.direction)
        study.optimize(problem, n_trials=10)
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from dataclasses import field
import inspect
from typing import Any

from optuna_recipes.bench._registry import resolve
from optuna_recipes.bench.problems._base import DIRECTIONS
from optuna_recipes.bench.problems._base import FunctionProblem
from optuna_recipes.bench.problems._base import Problem

__all__ = ["PROBLEM_TYPES", "FunctionProblem", "Problem", "ProblemSpec", "make_problem"]

PROBLEM_TYPES: dict[str, str] = {
    "mixed": "optuna_recipes.bench.problems.synthetic:MixedProblem",
    "conditional": "optuna_recipes.bench.problems.synthetic:ConditionalProblem",
    "curves": "optuna_recipes.bench.problems.synthetic:CurveProblem",
    "sklearn": "optuna_recipes.bench.problems.sklearn_tasks:SklearnProblem",
    "sgd-curves": "optuna_recipes.bench.problems.sklearn_tasks:SGDCurveProblem",
    "coco": "optuna_recipes.bench.problems.coco:CocoProblem",
    "adapter": "optuna_recipes.bench.problems.adapters:AdapterProblem",
    "recorded": "optuna_recipes.bench.problems.recorded:RecordedProblem",
    "rippled": "optuna_recipes.bench.problems.families:RippledProblem",
    "heldout": "optuna_recipes.bench.problems.heldout:HeldoutProblem",
}


def make_problem(type_name: str, options: dict[str, Any] | None = None) -> Problem:
    """Build a problem from a registered type name or an import path, with keyword options.

    Unknown option names raise a ``ValueError`` that lists the accepted ones.
    """
    factory = resolve(type_name, PROBLEM_TYPES, "problem type")
    options = dict(options or {})
    params: Mapping[str, inspect.Parameter]
    try:
        params = inspect.signature(factory).parameters
    except (TypeError, ValueError):
        params = {}
    if params and not any(p.kind is p.VAR_KEYWORD for p in params.values()):
        unknown = sorted(set(options) - set(params))
        if unknown:
            raise ValueError(
                f"Problem type {type_name!r} has no option(s) {unknown}; "
                f"its options are: {', '.join(params) or 'none'}."
            )
    problem = factory(**options)
    if not isinstance(problem, Problem):
        raise TypeError(
            f"Problem type {type_name!r} built {type(problem).__name__}, not a Problem; wrap an "
            "objective with optuna_recipes.bench.problems.FunctionProblem."
        )
    if problem.direction not in DIRECTIONS:
        raise ValueError(
            f"Problem {type_name!r} has direction {problem.direction!r}; expected {DIRECTIONS}."
        )
    return problem


@dataclass(frozen=True)
class ProblemSpec:
    """A named problem: its type and options (picklable; built in each worker).

    Args:
        name: Display name, unique within a suite.
        type: Registered problem type or import path ``package.module:factory``.
        options: Keyword options of the factory.
    """

    name: str
    type: str
    options: dict[str, Any] = field(default_factory=dict)

    def build(self) -> Problem:
        """Build the problem."""
        return make_problem(self.type, self.options)

    def source_specs(self, problem: Problem | None = None) -> list[ProblemSpec]:
        """Specs of the related source tasks of this problem (empty without a task family)."""
        problem = problem or self.build()
        return [
            ProblemSpec(f"{self.name}@source{k}", self.type, {**self.options, **override})
            for k, override in enumerate(problem.source_tasks(), start=1)
        ]

    def __hash__(self) -> int:
        return hash((self.name, self.type, tuple(sorted(map(repr, self.options.items())))))
