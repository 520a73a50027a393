"""Synthetic problems with a known optimum: mixed spaces, conditional spaces, learning curves.

All of them are deterministic functions of the parameters (noise, where there is some, is drawn
from a generator seeded by the parameters), so a seeded sampler reproduces a study exactly, and
all of them have task families: task ``k > 0`` is the same problem with the optimum moved by
``task_shift`` and the objective rescaled and offset, which is what transfer strategies exploit
(a large ``task_shift`` makes the family unrelated).
"""

from __future__ import annotations

import math
from typing import Any
import zlib

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_recipes.bench.problems._base import Problem

FUNCTIONS = ("sphere", "ellipsoid", "rosenbrock", "rastrigin", "styblinski")
_CHOICES = ("a", "b", "c", "d")


def _check_int(name: str, value: Any, low: int, high: int | None = None) -> int:
    if isinstance(value, bool) or not isinstance(value, int) or value < low:
        raise ValueError(f"`{name}` must be an integer >= {low}, got {value!r}.")
    if high is not None and value > high:
        raise ValueError(f"`{name}` must be an integer in [{low}, {high}], got {value!r}.")
    return value


def _check_float(name: str, value: Any, low: float) -> float:
    if isinstance(value, bool) or not isinstance(value, (int, float)) or not value >= low:
        raise ValueError(f"`{name}` must be a number >= {low}, got {value!r}.")
    return float(value)


def _base_function(name: str, z: np.ndarray) -> float:
    """Test functions with minimum 0 at ``z = 0``."""
    n = len(z)
    if name == "sphere":
        return float(np.sum(z**2))
    if name == "ellipsoid":
        weights = 10.0 ** (3.0 * np.arange(n) / max(n - 1, 1))
        return float(np.sum(weights * z**2))
    if name == "rosenbrock":
        y = z + 1.0
        return float(np.sum(100.0 * (y[1:] - y[:-1] ** 2) ** 2 + (1.0 - y[:-1]) ** 2))
    if name == "rastrigin":
        return float(10.0 * n + np.sum(z**2 - 10.0 * np.cos(2.0 * np.pi * z)))
    if name == "styblinski":
        # Styblinski-Tang moved so that its minimum (at -2.9035 per coordinate) sits at z = 0.
        y = z - 2.903534018185960
        return float(0.5 * np.sum(y**4 - 16.0 * y**2 + 5.0 * y) + 39.16616570377142 * n)
    raise ValueError(f"`function` must be one of {FUNCTIONS}, got {name!r}.")


class _TaskFamily:
    """Task ``k`` of a family: optimum moved by ``task_shift``, value ``scale * f + offset``."""

    def __init__(self, instance: int, task: int, task_shift: float, sources: int) -> None:
        self.instance = _check_int("instance", instance, 0)
        self.task = _check_int("task", task, 0)
        self.task_shift = _check_float("task_shift", task_shift, 0.0)
        self.sources = _check_int("sources", sources, 0)
        rng = np.random.default_rng([self.instance, self.task, 7919])
        self.scale = 1.0 if task == 0 else float(np.exp(rng.normal(0.0, 0.7)))
        self.offset = 0.0 if task == 0 else float(rng.normal(0.0, 5.0))
        self._rng = rng

    def move(self, base: np.ndarray) -> np.ndarray:
        if self.task == 0:
            return base
        return base + self.task_shift * self._rng.normal(size=base.shape)

    def value(self, f: float) -> float:
        return self.scale * f + self.offset

    def source_tasks(self) -> list[dict[str, Any]]:
        return [{"task": k} for k in range(1, self.sources + 1)]


class MixedProblem(Problem):
    """A classic test function over a mixed space: floats, a log-scaled float, ints, categoricals.

    ``n_float`` linear floats in ``[-5, 5]``, one float on a log scale in ``[1e-5, 1]`` (like a
    learning rate; when ``log`` is true), ``n_int`` integers in ``[-5, 5]`` and ``n_cat``
    categoricals with four choices of different costs. The continuous and integer coordinates,
    shifted to an optimum drawn from ``instance``, feed ``function``; each categorical adds the
    cost of its choice (the cheapest costs 0). The optimum is 0. Choose it to compare samplers on
    the kind of space hyperparameters live in, at no objective cost.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.synthetic import MixedProblem

            problem = MixedProblem(function="rastrigin", n_float=3, n_int=2, n_cat=1)
            study = optuna.create_study(direction=problem.direction)
            study.optimize(problem, n_trials=20)

    Args:
        function: One of ``sphere``, ``ellipsoid``, ``rosenbrock``, ``rastrigin``,
            ``styblinski``. Default ``"sphere"``.
        n_float: Number of linear float parameters (>= 0). Default 3.
        n_int: Number of integer parameters (>= 0). Default 2.
        n_cat: Number of categorical parameters (>= 0). Default 1.
        log: Add one log-scaled float parameter. Default ``True``.
        instance: Seed of the optimum's location (>= 0). Default 0.
        task: Task index in the family (0 is the target). Default 0.
        task_shift: How far the optimum moves between tasks of the family. Default 0.5.
        sources: Number of related source tasks (the family size minus one). Default 0.
    """

    def __init__(
        self,
        function: str = "sphere",
        n_float: int = 3,
        n_int: int = 2,
        n_cat: int = 1,
        log: bool = True,
        instance: int = 0,
        task: int = 0,
        task_shift: float = 0.5,
        sources: int = 0,
    ) -> None:
        if function not in FUNCTIONS:
            raise ValueError(f"`function` must be one of {FUNCTIONS}, got {function!r}.")
        self.function = function
        self.n_float = _check_int("n_float", n_float, 0)
        self.n_int = _check_int("n_int", n_int, 0)
        self.n_cat = _check_int("n_cat", n_cat, 0)
        self.log = bool(log)
        if self.n_float + self.n_int + self.n_cat + self.log == 0:
            raise ValueError("The problem needs at least one parameter; all counts are 0.")
        self.family = _TaskFamily(instance, task, task_shift, sources)
        rng = np.random.default_rng([self.family.instance, 104729])
        shift_float = self.family.move(rng.uniform(-3.0, 3.0, size=self.n_float))
        shift_int = np.round(self.family.move(rng.integers(-3, 4, size=self.n_int).astype(float)))
        shift_log = float(self.family.move(np.array([rng.uniform(-4.0, -1.0)]))[0])
        self._shift = np.concatenate([shift_float, shift_int, [shift_log] if self.log else []])
        self._cat_costs = [rng.permutation([0.0, 1.0, 2.0, 4.0]) for _ in range(self.n_cat)]
        self.optimum = self.family.value(0.0) if task == 0 else None

    def search_space(self) -> dict[str, BaseDistribution]:
        space: dict[str, BaseDistribution] = {}
        for i in range(self.n_float):
            space[f"x{i}"] = FloatDistribution(-5.0, 5.0)
        for i in range(self.n_int):
            space[f"k{i}"] = IntDistribution(-5, 5)
        if self.log:
            space["lr"] = FloatDistribution(1e-5, 1.0, log=True)
        for i in range(self.n_cat):
            space[f"c{i}"] = CategoricalDistribution(_CHOICES)
        return space

    def __call__(self, trial: optuna.Trial) -> float:
        x = [trial.suggest_float(f"x{i}", -5.0, 5.0) for i in range(self.n_float)]
        x += [trial.suggest_int(f"k{i}", -5, 5) for i in range(self.n_int)]
        if self.log:
            x.append(math.log10(trial.suggest_float("lr", 1e-5, 1.0, log=True)))
        cost = sum(
            float(costs[_CHOICES.index(trial.suggest_categorical(f"c{i}", _CHOICES))])
            for i, costs in enumerate(self._cat_costs)
        )
        z = np.asarray(x, dtype=float) - self._shift
        return self.family.value(_base_function(self.function, z) + cost)

    def source_tasks(self) -> list[dict[str, Any]]:
        return self.family.source_tasks()


class ConditionalProblem(Problem):
    """A conditional space: a categorical ``model`` decides which parameters exist.

    Branch ``linear`` has two floats (shifted sphere, best value 0), branch ``tree`` an integer
    depth and a float (best 0.5), branch ``net`` a log-scaled learning rate and a categorical
    activation (best 1.0). The optimum is 0. Choose it to check that samplers cope with
    parameters that exist only in some trials (TPE, random and GA do; CMA-ES and QMC fall back to
    independent sampling).

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.synthetic import ConditionalProblem

            study = optuna.create_study()
            study.optimize(ConditionalProblem(), n_trials=20)

    Args:
        instance: Seed of the optimum's location (>= 0). Default 0.
        task: Task index in the family (0 is the target). Default 0.
        task_shift: How far the optimum moves between tasks of the family. Default 0.5.
        sources: Number of related source tasks. Default 0.
    """

    def __init__(
        self, instance: int = 0, task: int = 0, task_shift: float = 0.5, sources: int = 0
    ) -> None:
        self.family = _TaskFamily(instance, task, task_shift, sources)
        rng = np.random.default_rng([self.family.instance, 15485863])
        self._shift = self.family.move(rng.uniform(-3.0, 3.0, size=5))
        self.optimum = self.family.value(0.0) if task == 0 else None

    def __call__(self, trial: optuna.Trial) -> float:
        s = self._shift
        model = trial.suggest_categorical("model", ["linear", "tree", "net"])
        if model == "linear":
            a = trial.suggest_float("a", -5.0, 5.0)
            b = trial.suggest_float("b", -5.0, 5.0)
            f = (a - s[0]) ** 2 + (b - s[1]) ** 2
        elif model == "tree":
            depth = trial.suggest_int("depth", 1, 12)
            frac = trial.suggest_float("frac", 0.1, 1.0)
            f = 0.5 + 0.1 * (depth - (6.5 + s[2])) ** 2 + 4.0 * (frac - 0.55 - 0.1 * s[3]) ** 2
        else:
            lr = trial.suggest_float("lr", 1e-5, 1.0, log=True)
            act = trial.suggest_categorical("act", ["relu", "tanh", "sigmoid"])
            f = (
                1.0
                + (math.log10(lr) + 2.5 + 0.3 * s[4]) ** 2
                + {"relu": 0, "tanh": 0.5}.get(act, 1.0)
            )
        return self.family.value(float(f))

    def source_tasks(self) -> list[dict[str, Any]]:
        return self.family.source_tasks()


class CurveProblem(Problem):
    """Synthetic learning curves for pruner comparisons, with crossing curves.

    Five hyperparameters (learning rate, width, depth, optimizer, dropout) set a final loss and a
    speed; the loss at step ``s`` decays from 1 towards the final loss at that speed, plus small
    noise seeded by the parameters. Fast configurations (large learning rates) look good early
    and finish worse, so a greedy pruner loses the best ones. Each step is reported with
    ``trial.report``; the value returned is the loss at the last step trained. The optimum
    (best final loss, noise aside) is 0.05.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.synthetic import CurveProblem

            study = optuna.create_study(pruner=optuna.pruners.MedianPruner())
            study.optimize(CurveProblem(n_steps=27), n_trials=20)

    Args:
        n_steps: Length of every learning curve (>= 2). Default 27.
        noise: Standard deviation of the per-step noise (>= 0). Default 0.005.
        instance: Seed of the optimum's location (>= 0). Default 0.
        task: Task index in the family (0 is the target). Default 0.
        task_shift: How far the optimum moves between tasks of the family. Default 0.3.
        sources: Number of related source tasks. Default 0.
    """

    def __init__(
        self,
        n_steps: int = 27,
        noise: float = 0.005,
        instance: int = 0,
        task: int = 0,
        task_shift: float = 0.3,
        sources: int = 0,
    ) -> None:
        self.n_steps = _check_int("n_steps", n_steps, 2)
        self.noise = _check_float("noise", noise, 0.0)
        self.family = _TaskFamily(instance, task, task_shift, sources)
        rng = np.random.default_rng([self.family.instance, 32452843])
        self._shift = self.family.move(rng.uniform(-0.5, 0.5, size=3))
        self._best_opt = ("sgd", "adam", "rmsprop")[int(rng.integers(3))]
        self.optimum = 0.05 if task == 0 else None

    def __call__(self, trial: optuna.Trial) -> float:
        s = self._shift
        log_lr = math.log10(trial.suggest_float("lr", 1e-4, 1.0, log=True))
        width = trial.suggest_int("width", 8, 512, log=True)
        depth = trial.suggest_int("depth", 1, 6)
        opt = trial.suggest_categorical("optimizer", ["sgd", "adam", "rmsprop"])
        dropout = trial.suggest_float("dropout", 0.0, 0.6)
        final = (
            0.05
            + 0.08 * (log_lr + 2.5 + s[0]) ** 2
            + 0.03 * (math.log2(width) - 6.5 - 2.0 * s[1]) ** 2
            + 0.02 * (depth - 3.5 - 2.0 * s[2]) ** 2
            + 0.5 * (dropout - 0.2) ** 2
            + (0.0 if opt == self._best_opt else 0.05)
        )
        speed = 0.04 * 10.0 ** (log_lr + 2.5) / (1.0 + 0.2 * depth)
        key = zlib.crc32(repr((self.family.instance, self.family.task, trial.params)).encode())
        noise = np.random.default_rng(key).normal(0.0, self.noise, size=self.n_steps or 0)
        loss = final
        n_steps = int(self.n_steps or 0)
        for step in range(n_steps):
            loss = final + (1.0 - final) * math.exp(-speed * (step + 1)) + float(noise[step])
            loss = self.family.value(loss)
            trial.report(loss, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return loss

    def source_tasks(self) -> list[dict[str, Any]]:
        return self.family.source_tasks()
