"""Task families built to test transfer: related tasks that differ in scale, offset and direction.

``RippledProblem`` is a rotated, ill-conditioned ellipsoid with ripples over a mixed space (two
floats, a log-scaled learning rate, a float in [0, 1], an integer and a categorical). The tasks of
a family share the rotation and roughly the optimum (moved a little per task) but each has its
own scale and offset, and one source task maximizes the negated objective: a transfer method
must compare tasks by ranks, not raw values, and cope with another direction.
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np
import optuna

from optuna_recipes.bench.problems._base import Problem
from optuna_recipes.bench.problems.synthetic import _check_int

_KINDS = ("a", "b", "c", "d")


class RippledProblem(Problem):
    """A rotated ill-conditioned ellipsoid with ripples, in a family of related tasks.

    Parameters: ``x0``, ``x1`` in [-5, 5], ``lr`` in [1e-4, 1] (log), ``x3`` in [0, 1], an
    integer ``n`` in [0, 20] (a float ``x4`` in [0, 20] when ``numeric``) and a categorical
    ``kind`` with four choices of different costs (none when ``numeric``). In the unit cube, the
    value is ``scale * (sum_i w_i d_i^2 + 0.05 sum_i (1 - cos(12 pi d_i)) + cost(kind)) +
    offset`` with ``d = R (z - center)``, weights ``w`` from 1 to 100 and a random rotation ``R``
    drawn from ``instance``. Task ``k`` moves the center and the costs a little and draws its own
    scale (0.1-10) and offset (-100-100); task 3 maximizes the negated value when
    ``flip_source`` is set. Choose it to test that a transfer method is invariant to scale,
    offset and direction, on a mixed space, at no objective cost.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.families import RippledProblem

            problem = RippledProblem(instance=100)
            study = optuna.create_study(direction=problem.direction)
            study.optimize(problem, n_trials=20)

    Args:
        instance: Seed of the family (rotation, center, costs; >= 0). Default 0.
        task: Task index in the family (0 is the target). Default 0.
        sources: Number of source tasks (tasks 1..sources). Default 0.
        numeric: Only numeric parameters (``x4`` replaces ``n`` and ``kind``). Default False.
        flip_source: Task 3 maximizes the negated objective. Default True.
    """

    def __init__(
        self,
        instance: int = 0,
        task: int = 0,
        sources: int = 0,
        numeric: bool = False,
        flip_source: bool = True,
    ) -> None:
        self.instance = _check_int("instance", instance, 0)
        self.task = _check_int("task", task, 0)
        self.sources = _check_int("sources", sources, 0)
        self.numeric = bool(numeric)
        base = np.random.default_rng([self.instance, 7877])
        self._rotation, _ = np.linalg.qr(base.normal(size=(5, 5)))
        center = base.uniform(0.2, 0.8, size=5)
        costs = base.uniform(0.3, 1.5, size=4)
        costs[base.integers(4)] = 0.0
        rng = np.random.default_rng([self.instance, self.task, 6007])
        self._center = np.clip(center + rng.normal(0.0, 0.05, size=5), 0.02, 0.98)
        self._costs = np.clip(costs + rng.normal(0.0, 0.1, size=4), 0.0, None)
        self._scale = float(np.exp(rng.uniform(np.log(0.1), np.log(10.0))))
        self._offset = float(rng.uniform(-100.0, 100.0))
        self._flipped = bool(flip_source) and not self.numeric and self.task == 3
        self.direction = "maximize" if self._flipped else "minimize"

    def __call__(self, trial: optuna.Trial) -> float:
        z = [
            (trial.suggest_float("x0", -5.0, 5.0) + 5.0) / 10.0,
            (trial.suggest_float("x1", -5.0, 5.0) + 5.0) / 10.0,
            (math.log10(trial.suggest_float("lr", 1e-4, 1.0, log=True)) + 4.0) / 4.0,
            trial.suggest_float("x3", 0.0, 1.0),
            (
                trial.suggest_float("x4", 0.0, 20.0)
                if self.numeric
                else trial.suggest_int("n", 0, 20)
            )
            / 20.0,
        ]
        d = self._rotation @ (np.asarray(z) - self._center)
        value = float(
            np.sum(np.logspace(0, 2, 5) * d**2) + 0.05 * np.sum(1 - np.cos(12 * np.pi * d))
        )
        if not self.numeric:
            value += float(self._costs[_KINDS.index(trial.suggest_categorical("kind", _KINDS))])
        value = self._scale * value + self._offset
        return -value if self._flipped else value

    def source_tasks(self) -> list[dict[str, Any]]:
        return [{"task": k} for k in range(1, self.sources + 1)]
