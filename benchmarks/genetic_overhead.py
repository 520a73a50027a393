"""Time spent inside GeneticSampler vs TPESampler per trial, in one run, on in-memory storage.

The objective has 10 parameters (6 floats, 2 of them log-scaled, 3 ints, 1 categorical) and costs
nothing, so what is timed is the sampler: every call of ``infer_relative_search_space``,
``sample_relative``, ``sample_independent``, ``before_trial`` and ``after_trial`` is summed per
trial. Reported: the median per-trial time in windows of trials (the row "1000" is trials
901-1000, i.e. with ~1,000 completed trials), and GA / TPE. GA also runs to ``--ga-trials`` to
show that its cost stays flat.

Usage::

    python benchmarks/genetic_overhead.py > benchmarks/results/genetic_overhead.md
"""

from __future__ import annotations

import argparse
from collections import defaultdict
import os
import sys
import time
from typing import Any

import numpy as np
import optuna

sys.path.insert(0, os.path.dirname(os.path.dirname(os.path.abspath(__file__))))

from optuna_recipes.samplers import GeneticSampler

_TIMED = (
    "infer_relative_search_space",
    "sample_relative",
    "sample_independent",
    "before_trial",
    "after_trial",
)


class TimedSampler(optuna.samplers.BaseSampler):
    """Delegates to ``inner`` and adds the time of each call to its trial's total."""

    def __init__(self, inner: optuna.samplers.BaseSampler) -> None:
        self.inner = inner
        self.seconds: dict[int, float] = defaultdict(float)

    def _timed(self, name: str, trial: Any, *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return getattr(self.inner, name)(*args)
        finally:
            self.seconds[trial.number] += time.perf_counter() - start

    def infer_relative_search_space(self, study: Any, trial: Any) -> Any:
        return self._timed("infer_relative_search_space", trial, study, trial)

    def sample_relative(self, study: Any, trial: Any, search_space: Any) -> Any:
        return self._timed("sample_relative", trial, study, trial, search_space)

    def sample_independent(self, study: Any, trial: Any, name: str, dist: Any) -> Any:
        return self._timed("sample_independent", trial, study, trial, name, dist)

    def before_trial(self, study: Any, trial: Any) -> None:
        self._timed("before_trial", trial, study, trial)

    def after_trial(self, study: Any, trial: Any, state: Any, values: Any) -> None:
        self._timed("after_trial", trial, study, trial, state, values)


def objective(trial: optuna.Trial) -> float:
    total = 0.0
    for i in range(4):
        total += (trial.suggest_float(f"x{i}", -5.0, 5.0) - 1.0) ** 2
    total += np.log10(trial.suggest_float("lr", 1e-5, 1e-1, log=True) / 1e-3) ** 2
    total += np.log10(trial.suggest_float("wd", 1e-6, 1e-2, log=True) / 1e-4) ** 2
    for i in range(3):
        total += (trial.suggest_int(f"n{i}", 1, 64) - 8) ** 2 / 100.0
    total += trial.suggest_categorical("act", ["relu", "tanh", "gelu"]) != "gelu"
    return float(total)


def timed_run(sampler: optuna.samplers.BaseSampler, n_trials: int) -> dict[int, float]:
    timed = TimedSampler(sampler)
    study = optuna.create_study(sampler=timed)
    study.optimize(objective, n_trials=n_trials)
    return dict(timed.seconds)


def window_median(seconds: dict[int, float], end: int, width: int = 100) -> float:
    return float(np.median([seconds[n] for n in range(end - width, end) if n in seconds]))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=1000)
    parser.add_argument("--ga-trials", type=int, default=3000)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    ga = timed_run(GeneticSampler(seed=args.seed), max(args.trials, args.ga_trials))
    tpe = timed_run(optuna.samplers.TPESampler(seed=args.seed), args.trials)

    print("# Time inside the sampler per trial: GeneticSampler vs TPESampler\n")
    command = " ".join(["python benchmarks/genetic_overhead.py", *sys.argv[1:]])
    print(f"Command: `{command}`")
    print(
        f"\nOptuna {optuna.__version__}, in-memory storage, 10 parameters, free objective, "
        f"seed {args.seed}. Median over each window of 100 trials (row N = trials N-99..N).\n"
    )
    print("| trials | GA (ms) | TPE (ms) | GA / TPE |")
    print("|---|---|---|---|")
    ends = sorted({100, 300, 500, 1000, 2000, 3000, args.trials, args.ga_trials})
    for end in ends:
        if end > max(args.trials, args.ga_trials):
            continue
        g = window_median(ga, end) * 1e3
        if end <= args.trials:
            t = window_median(tpe, end) * 1e3
            print(f"| {end} | {g:.2f} | {t:.2f} | {g / t:.3f} |")
        else:
            print(f"| {end} | {g:.2f} | - | - |")
    g, t = window_median(ga, args.trials) * 1e3, window_median(tpe, args.trials) * 1e3
    print(
        f"\nAt {args.trials} trials: GA {g:.2f} ms (target <= 2 ms: "
        f"{'met' if g <= 2 else 'NOT met'}), {g / t:.3f} of TPE's {t:.2f} ms (target <= 0.1: "
        f"{'met' if g <= 0.1 * t else 'NOT met'})."
    )


if __name__ == "__main__":
    main()
