"""The problem protocol of the benchmark harness and a wrapper for any objective callable."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import BaseDistribution

DIRECTIONS = ("minimize", "maximize")


class Problem:
    """One benchmark problem: a define-by-run objective plus what the harness needs to score it.

    Subclasses implement :meth:`__call__` with the same ``trial.suggest_*`` calls users write, so
    any Optuna objective becomes a problem in a few lines (an adapter such as
    ``XGBoostObjective`` only needs :class:`FunctionProblem`). The optional parts:

    - ``optimum``: the best achievable value, when known; the report then shows regret.
    - ``n_steps``: the objective reports a learning curve of this many steps through
      ``trial.report(value, step)`` (steps ``0 .. n_steps - 1``) and stops when
      ``trial.should_prune()`` says so; the harness counts the steps each trial trained, which is
      the cost axis of the pruner comparison.
    - :meth:`source_tasks`: a task family for transfer. It returns option overrides, one per
      related source task; the harness builds each source problem from the same problem type with
      those options, optimizes it with a baseline strategy and hands the source studies to
      strategies that ask for them (``warmstart``).
    - :meth:`search_space`: the static search space, when there is one (the ``grid`` strategy
      needs it).

    Problems are built from a registry name and options in each worker process (see
    :func:`optuna_recipes.bench.problems.make_problem`), so they need not be picklable, and
    building one must be cheap or cache its data.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems import Problem


            class Parabola(Problem):
                direction = "minimize"
                optimum = 0.0

                def __call__(self, trial: optuna.Trial) -> float:
                    x = trial.suggest_float("x", -5.0, 5.0)
                    return (x - 1.0) ** 2


            study = optuna.create_study(direction=Parabola.direction)
            study.optimize(Parabola(), n_trials=10)
    """

    direction: str = "minimize"
    optimum: float | None = None
    n_steps: int | None = None

    def __call__(self, trial: optuna.Trial) -> float:
        raise NotImplementedError

    def source_tasks(self) -> list[dict[str, Any]]:
        """Option overrides that build the related source tasks (empty: no task family)."""
        return []

    def search_space(self) -> dict[str, BaseDistribution] | None:
        """The static search space, or ``None`` when it is conditional or unknown."""
        return None


class FunctionProblem(Problem):
    """Wrap any objective callable (a function or an adapter object) as a :class:`Problem`.

    Choose it to benchmark an existing objective without writing a class: the direction is
    taken from ``direction`` or else from the callable's ``.direction`` attribute (the project's
    adapters have one).

    Example:
        .. code-block:: python

            from optuna_recipes.bench.problems import FunctionProblem

            problem = FunctionProblem(lambda t: t.suggest_float("x", -1, 1) ** 2, optimum=0.0)

    Args:
        objective: Callable ``objective(trial) -> float``.
        direction: ``"minimize"`` or ``"maximize"``; default: ``objective.direction`` if the
            callable has one, else ``"minimize"``.
        optimum: Known best value, or ``None``.
        n_steps: Learning-curve length if the objective reports intermediate values, or ``None``.
        space: Static search space, or ``None``.
    """

    def __init__(
        self,
        objective: Callable[[optuna.Trial], float],
        *,
        direction: str | None = None,
        optimum: float | None = None,
        n_steps: int | None = None,
        space: Mapping[str, BaseDistribution] | None = None,
    ) -> None:
        if not callable(objective):
            raise ValueError(f"`objective` must be callable, got {objective!r}.")
        direction = direction or getattr(objective, "direction", None) or "minimize"
        if direction not in DIRECTIONS:
            raise ValueError(f"`direction` must be one of {DIRECTIONS}, got {direction!r}.")
        if n_steps is not None and n_steps < 1:
            raise ValueError(f"`n_steps` must be None or >= 1, got {n_steps}.")
        self.objective = objective
        self.direction = direction
        self.optimum = optimum
        self.n_steps = n_steps
        self._space = dict(space) if space is not None else None

    def __call__(self, trial: optuna.Trial) -> float:
        return float(self.objective(trial))

    def search_space(self) -> dict[str, BaseDistribution] | None:
        return self._space
