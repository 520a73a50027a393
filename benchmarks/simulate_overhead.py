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


def once(kind: str, n_workers: int, seed: int) -> dict[str, float]:
    """Real and CPU seconds, steps trained, makespan and total cost / workers of one study.

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
    start, cpu = time.perf_counter(), time.process_time()
    out = {"makespan": math.nan, "ideal": math.nan}
    if n_workers == 0:
        study.optimize(objective, 200)
    else:
        events = simulate_optimize(study, objective, 200, n_workers, cost=cost)
        out["makespan"] = max(e.end for e in events)
        out["ideal"] = sum(e.end - e.start for e in events) / n_workers
    out["real"] = time.perf_counter() - start
    out["cpu"] = time.process_time() - cpu
    out["steps"] = sum(len(t.intermediate_values) for t in study.trials)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    print(
        "objective  workers  real_s  real/1w  cpu_s  cpu/1w  steps  cpu_us/step  "
        "makespan  total/workers   (medians over seeds; 0 = plain study.optimize)"
    )
    for kind in ("cheap", "pruned"):
        # Interleaved (seed by seed), so that a change of machine load hits every setting.
        runs: dict[int, list[dict[str, float]]] = {0: [], 1: [], 32: []}
        for seed in range(args.repeats):
            for n_workers in runs:
                runs[n_workers].append(once(kind, n_workers, seed))
        med = {
            w: {k: statistics.median(r[k] for r in rs) for k in rs[0]} for w, rs in runs.items()
        }
        for w, m in med.items():
            per_step = f"{m['cpu'] / m['steps'] * 1e6:11.0f}" if m["steps"] else "          -"
            print(
                f"{kind:9}  {w:7d}  {m['real']:6.2f}  {m['real'] / med[1]['real']:7.2f}  "
                f"{m['cpu']:5.2f}  {m['cpu'] / med[1]['cpu']:6.2f}  {m['steps']:5.0f}  "
                f"{per_step}  {m['makespan']:8.1f}  {m['ideal']:13.1f}"
            )


if __name__ == "__main__":
    main()
