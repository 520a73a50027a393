"""Real-time cost of simulated parallel workers: 1 vs 32 virtual workers on a 200-trial TPE study.

The simulation must not add real waiting: with 32 virtual workers a study should take about the
real time of the same study with one virtual worker (target: at most 1.5x). Two objectives:

- ``cheap``: a 5-D quadratic, no steps, unit cost per trial;
- ``pruned``: the recorded ``lightgbm-breast_cancer`` problem (100 rounds reported, MedianPruner),
  each configuration costing the recorded training seconds of its nearest recorded configuration,
  scaled by the rounds trained.

It also prints the simulated makespan against total cost / workers. Run:

    PYTHONPATH=$PWD nice -n 5 python benchmarks/simulate_overhead.py --repeats 3
"""

from __future__ import annotations

import argparse
import math
import statistics
import time
from typing import Any
import warnings

import numpy as np
import optuna

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes.bench.problems.recorded import RecordedProblem
from optuna_recipes.bench.simulate import ScaledCost
from optuna_recipes.bench.simulate import simulate_optimize
from optuna_recipes.bench.simulate import unit_cost


def cheap(trial: optuna.Trial) -> float:
    return sum((trial.suggest_float(f"x{i}", -5, 5) - 1) ** 2 for i in range(5))


def recorded_cost(problem: RecordedProblem) -> ScaledCost:
    family = problem.family
    encoder = SearchSpaceEncoder(family.space)
    seconds = family.seconds[problem.task]

    def trial_seconds(params: Any) -> float:
        row = encoder.encode(params)
        return float(seconds[np.argmin(((family.configs - row) ** 2).sum(axis=1))])

    return ScaledCost(trial_seconds, problem.n_steps)


def once(kind: str, n_workers: int, seed: int) -> tuple[float, float, float, int]:
    """Real seconds, simulated makespan, total cost / workers and steps trained of one study.

    ``n_workers=0`` runs plain ``study.optimize`` (the reference without the simulator).
    """
    if kind == "cheap":
        objective, cost, pruner = cheap, unit_cost, optuna.pruners.NopPruner()
    else:
        objective = RecordedProblem("lightgbm-breast_cancer")
        cost, pruner = recorded_cost(objective), optuna.pruners.MedianPruner()
    study = optuna.create_study(
        direction=getattr(objective, "direction", "minimize"),
        sampler=optuna.samplers.TPESampler(seed=seed, constant_liar=True),
        pruner=pruner,
    )
    start = time.perf_counter()
    if n_workers == 0:
        study.optimize(objective, 200)
        real = time.perf_counter() - start
        steps = sum(len(t.intermediate_values) for t in study.trials)
        return real, math.nan, math.nan, steps
    events = simulate_optimize(study, objective, 200, n_workers, cost=cost)
    real = time.perf_counter() - start
    total = sum(e.end - e.start for e in events)
    return real, max(e.end for e in events), total / n_workers, sum(e.steps for e in events)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    print("objective  workers   real_s  ratio_to_1  steps  us/step  makespan  total/workers")
    for kind in ("cheap", "pruned"):
        base = math.nan
        for n_workers in (0, 1, 32):  # 0: plain study.optimize
            runs = [once(kind, n_workers, seed) for seed in range(args.repeats)]
            real = statistics.median(r[0] for r in runs)
            steps = statistics.median(r[3] for r in runs)
            base = real if n_workers == 1 else base
            per_step = f"{real / steps * 1e6:7.0f}" if steps else "      -"
            print(
                f"{kind:9}  {n_workers or 'optimize':>8}  {real:6.2f}  {real / base:10.2f}  "
                f"{steps:5.0f}  {per_step}  {runs[0][1]:8.1f}  {runs[0][2]:13.1f}"
            )


if __name__ == "__main__":
    main()
