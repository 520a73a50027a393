"""Cost of Optuna's per-round ``trial.report`` + ``trial.should_prune`` in a grown study.

The objective adapters report every boosting round; this measures what one round's
``report`` + ``should_prune`` costs once the study holds ``--trials`` finished trials of
``--steps`` rounds each (in-memory storage), for a ``NopPruner`` (whose ``should_prune`` the
adapters skip), ``MedianPruner(n_startup_trials=5, n_warmup_steps=10)`` deciding every round
the same with ``interval_steps=5``, and ``boosting_pruner(300)`` (the same schedule, asked
only at its decision steps, as the objectives do). Compare with the time of a
boosting round (``benchmarks/results/adapters_overhead.md``: ~0.3-0.5 ms per fold on
breast_cancer).

Usage: python benchmarks/adapters_pruner_cost.py > benchmarks/results/adapters_pruner_cost.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
import random
import statistics
import sys
import time

import optuna

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
optuna.logging.set_verbosity(optuna.logging.ERROR)

from optuna_recipes.pruners import boosting_pruner  # noqa: E402


def _per_round_us(pruner: optuna.pruners.BasePruner, trials: int, steps: int, ask: bool) -> float:
    """Microseconds per round of ``report`` (+ ``should_prune`` when ``ask``; only at the
    steps where the pruner decides when it has ``decides_at``, as the objectives do)."""
    decides_at = getattr(pruner, "decides_at", None)
    rng = random.Random(0)
    study = optuna.create_study(pruner=pruner)
    for _ in range(trials):
        trial = study.ask()
        for step in range(steps):
            trial.report(rng.random(), step)
        study.tell(trial, 0.5)
    trial = study.ask()
    start = time.perf_counter()
    for step in range(steps):
        trial.report(-1.0, step)  # better than every finished trial: never pruned
        if ask and (decides_at is None or decides_at(step)):
            trial.should_prune()
    return (time.perf_counter() - start) / steps * 1e6


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, nargs="+", default=[10, 100])
    parser.add_argument("--steps", type=int, default=150)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    load = " ".join(Path("/proc/loadavg").read_text().split()[:3])
    print("# Per-round cost of trial.report + should_prune\n")
    print(
        "Command: `python "
        + " ".join(["benchmarks/adapters_pruner_cost.py", *sys.argv[1:]])
        + "`\n"
    )
    print(
        f"A new trial reports {args.steps} rounds into a study with N finished trials of "
        f"{args.steps} rounds each (in-memory storage); microseconds per round, median of "
        f"{args.repeats} repetitions; optuna {optuna.__version__}; load average {load}.\n"
    )
    arms = {
        "report only (NopPruner: adapters skip should_prune)": (optuna.pruners.NopPruner, False),
        "report + should_prune, MedianPruner(5, 10)": (
            lambda: optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10),
            True,
        ),
        "report + should_prune, MedianPruner(5, 10, interval_steps=5)": (
            lambda: optuna.pruners.MedianPruner(
                n_startup_trials=5, n_warmup_steps=10, interval_steps=5
            ),
            True,
        ),
        "report + should_prune where it decides, boosting_pruner(300)": (
            lambda: boosting_pruner(300),
            True,
        ),
    }
    print("| per round | " + " | ".join(f"N={n}" for n in args.trials) + " |")
    print("|---|" + "---:|" * len(args.trials))
    for label, (make, ask) in arms.items():
        cells = []
        for n in args.trials:
            runs = [_per_round_us(make(), n, args.steps, ask) for _ in range(args.repeats)]
            cells.append(f"{statistics.median(runs):.0f} us")
        print(f"| {label} | " + " | ".join(cells) + " |", flush=True)


if __name__ == "__main__":
    main()
