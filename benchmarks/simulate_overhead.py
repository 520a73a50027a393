"""Real-time cost of simulated parallel workers: 1 vs 32 virtual workers on 200-trial studies.

The simulation must not add real waiting: with 32 virtual workers a study should take about the
real time of the same study with one virtual worker (target: at most 1.5x). Four studies:

- ``cheap``: a 5-D quadratic, no steps, unit cost per trial;
- ``pruned``: the recorded ``lightgbm-diabetes`` problem (a test dataset; 100 rounds reported,
  MedianPruner),
  each configuration costing the recorded training seconds of its nearest recorded configuration,
  scaled by the rounds trained.

- ``recorded``: the recorded ``lightgbm`` family's task ``noisy`` (a test task), no pruner (the
  simulator's free-running mode), costing the recorded seconds of each configuration.
- ``random``: the same task and cost with the random sampler (the issue's makespan target is
  stated for it): the makespan and the longest single trial against total cost / 32, and the
  longest-first schedule of the same costs (possible only when costs are known in advance).
- ``random-2000``: the same with 2000 trials, 32 workers only (about 62 trials per worker, so
  one long trial at the end no longer dominates): whether the simulator's makespan comes close
  to total cost / 32 when the study is large enough for any schedule to get there.

Rows: ``problem`` = the objective, ``strategy`` = ``optimize`` (plain ``study.optimize``, no
simulator), ``1w`` or ``32w``, ``seed``; ``value`` = real seconds of the study; ``makespan``,
``list_schedule`` (the makespan of list scheduling the same trial costs in trial order: what an
ideal asynchronous system would reach) and ``total_over_workers`` in simulated seconds, and
their ratios (see the report); ``sampler`` and ``pruner`` = real seconds inside their calls
(the harness's ``TimedSampler`` and a delegating pruner), ``other`` = the rest (objective,
storage, the simulator). Run:

    python benchmarks/simulate_overhead.py --out benchmarks/results/simulate-overhead
"""

from __future__ import annotations

import argparse
import heapq
import math
import time
from typing import Any
import warnings

import _measurements
import numpy as np
import optuna
import pandas as pd

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes.bench.problems.recorded import RecordedProblem
from optuna_recipes.bench.simulate import ScaledCost
from optuna_recipes.bench.simulate import simulate_optimize
from optuna_recipes.bench.simulate import unit_cost
from optuna_recipes.bench.timing import TimedSampler


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


class TimedPruner(optuna.pruners.BasePruner):
    """Delegates ``prune`` to ``pruner`` and adds the real time it takes to ``seconds``."""

    def __init__(self, pruner: optuna.pruners.BasePruner) -> None:
        self.pruner, self.seconds = pruner, 0.0

    def prune(self, study: Any, trial: Any) -> bool:
        start = time.perf_counter()
        try:
            return self.pruner.prune(study, trial)
        finally:
            self.seconds += time.perf_counter() - start


def list_schedule(costs: list[float], n_workers: int) -> float:
    """Makespan of running ``costs`` in order, each on the worker that is free first."""
    free = [0.0] * n_workers
    for c in costs:
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


def once(kind: str, n_workers: int, seed: int, n_trials: int = 200) -> dict[str, float]:
    """Real and CPU seconds, steps trained, makespan and total cost / workers of one study.

    ``n_workers=0`` runs plain ``study.optimize`` (the reference without the simulator).
    """
    pruner: optuna.pruners.BasePruner
    if kind == "cheap":
        objective, cost, pruner = cheap, unit_cost, optuna.pruners.NopPruner()
    elif kind == "pruned":
        objective = RecordedProblem("lightgbm-diabetes")
        cost, pruner = recorded_cost(objective), optuna.pruners.MedianPruner()
    else:
        objective = RecordedProblem("lightgbm", task="noisy")
        cost, pruner = recorded_cost(objective), optuna.pruners.NopPruner()
    sampler: optuna.samplers.BaseSampler = optuna.samplers.TPESampler(
        seed=seed, constant_liar=True
    )
    if kind.startswith("random"):
        sampler = optuna.samplers.RandomSampler(seed=seed)
    timed = TimedSampler(sampler)
    # A NopPruner stays itself: the simulator runs objectives free (no waiting at steps) only
    # under a NopPruner.
    if not isinstance(pruner, optuna.pruners.NopPruner):
        pruner = TimedPruner(pruner)
    study = optuna.create_study(
        direction=getattr(objective, "direction", "minimize"),
        sampler=timed,
        pruner=pruner,
    )
    start, cpu = time.perf_counter(), time.process_time()
    keys: tuple[str, ...] = ("makespan", "list_schedule", "total_over_workers", "makespan_ratio")
    keys += ("longest_ratio", "lpt_ratio")
    out = dict.fromkeys(keys, math.nan)
    if n_workers == 0:
        study.optimize(objective, n_trials)
    else:
        events = sorted(
            simulate_optimize(study, objective, n_trials, n_workers, cost=cost),
            key=lambda e: e.trial,
        )
        costs = [e.end - e.start for e in events]
        out["makespan"] = max(e.end for e in events)
        out["list_schedule"] = list_schedule(costs, n_workers)
        out["total_over_workers"] = sum(costs) / n_workers
        out["makespan_ratio"] = out["makespan"] / out["total_over_workers"]
        out["longest_ratio"] = max(costs) / out["total_over_workers"]
        # Longest trials first: the best list schedule when every cost is known in advance,
        # which an asynchronous optimizer (asking trials one at a time) cannot do.
        longest_first = list_schedule(sorted(costs, reverse=True), n_workers)
        out["lpt_ratio"] = longest_first / out["total_over_workers"]
    out["real"] = time.perf_counter() - start
    out["cpu"] = time.process_time() - cpu
    out["sampler"] = sum(t["sampler"] for t in timed.times.values())
    out["pruner"] = pruner.seconds if isinstance(pruner, TimedPruner) else 0.0
    out["other"] = out["real"] - out["sampler"] - out["pruner"]
    out["steps"] = sum(len(t.intermediate_values) for t in study.trials)
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeats", type=int, default=3)
    parser.add_argument("--out", default="benchmarks/results/simulate-overhead")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    warnings.filterwarnings("ignore")
    rows = []
    for kind in ("cheap", "pruned", "recorded", "random", "random-2000"):
        # Interleaved (seed by seed), so that a change of machine load hits every setting.
        for seed in range(args.repeats):
            for n_workers in (0, 1, 32) if kind != "random-2000" else (32,):
                r = once(kind, n_workers, seed, 2000 if kind == "random-2000" else 200)
                name = "optimize" if n_workers == 0 else f"{n_workers}w"
                rows.append({"problem": kind, "strategy": name, "seed": seed, "value": r["real"]})
                rows[-1].update({k: v for k, v in r.items() if k != "real"})
    table = pd.DataFrame(rows)
    columns = ["value", "sampler", "pruner", "other", "steps", "makespan", "list_schedule"]
    columns += ["total_over_workers", "longest_ratio"]
    summary = table.groupby(["problem", "strategy"])[columns]
    _measurements.write(
        args.out,
        table,
        title="Simulated workers: real cost of 1 vs 32 virtual workers (200-trial studies)",
        text="`value`: real seconds of the study; `cpu`: CPU seconds; `steps`: reported steps; "
        "`makespan`: simulated seconds until the last result; `list_schedule`: the makespan of "
        "list-scheduling the same trial costs in trial order (no idle worker while trials "
        "remain); `total_over_workers`: total simulated cost / workers; `makespan_ratio`, "
        "`longest_ratio`, `lpt_ratio`: makespan, longest trial and the makespan of scheduling "
        "the same costs longest first (known in advance) / total_over_workers (no schedule "
        "ends before the larger of total_over_workers and the longest trial). "
        "`sampler`, `pruner`: real seconds inside the sampler's and the pruner's calls; "
        "`other`: the rest of `value` (objective, storage and, with the simulator, its event "
        "loop and the switch between trials' objectives at every reported step). "
        "TPE (constant liar) except `random` (the random sampler, no pruner; `random-2000`: "
        "the same with 2000 trials, 32 workers only). `optimize` rows are plain "
        "`study.optimize` without the simulator.",
        summary=summary.median().reset_index(),
    )


if __name__ == "__main__":
    main()
