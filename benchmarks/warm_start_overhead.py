"""Time spent inside WarmStartSampler (GP and parzen surrogates) vs TPESampler per trial.

The task is the ``mixed`` family of ``warm_start_sampler.py`` (6 parameters: floats, one of them
log-scaled, an int and a categorical), with 3 related source studies of 100 TPE trials; the
objective costs microseconds, so what is timed is the sampler (every sampler call of a trial,
summed, as in ``genetic_overhead.py``). Reported: the median per-trial time in windows of
trials, in one run on in-memory storage. The GP surrogate hands over to multivariate TPE at 200
target trials, so the last window shows the hand-over.

Usage::

    python benchmarks/warm_start_overhead.py > benchmarks/results/warm_start_overhead.md
"""

from __future__ import annotations

import argparse
import os
import sys
import time

import numpy as np
import optuna

HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, os.path.dirname(HERE))
sys.path.insert(0, HERE)

from genetic_overhead import TimedSampler  # noqa: E402
import warm_start_sampler as families  # noqa: E402

from optuna_recipes.samplers import WarmStartSampler  # noqa: E402

WINDOWS = ((1, 25), (26, 50), (51, 100), (101, 150), (151, 200), (201, 250))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--trials", type=int, default=250)
    parser.add_argument("--seed", type=int, default=0)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    rng = np.random.RandomState(1000 + args.seed)
    base = families._mixed_base(rng)
    tasks = [families._mixed_task(rng, base, numeric_only=False) for _ in range(4)]
    sources = []
    for k, task in enumerate(tasks[:3]):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=args.seed * 10 + k))
        study.optimize(lambda t, task=task: families.mixed_objective(t, task), n_trials=100)
        sources.append(study)
    arms = {
        "WarmStart (gp)": WarmStartSampler(sources, seed=args.seed, surrogate="gp"),
        "WarmStart (parzen)": WarmStartSampler(sources, seed=args.seed, surrogate="parzen"),
        "TPE": optuna.samplers.TPESampler(seed=args.seed),
    }
    per_trial: dict[str, np.ndarray] = {}
    wall: dict[str, float] = {}
    for name, inner in arms.items():
        timed = TimedSampler(inner)
        study = optuna.create_study(sampler=timed)
        start = time.perf_counter()
        study.optimize(lambda t: families.mixed_objective(t, tasks[3]), n_trials=args.trials)
        wall[name] = time.perf_counter() - start
        per_trial[name] = np.array([timed.seconds[i] for i in range(args.trials)]) * 1e3
    load = " ".join(open("/proc/loadavg").read().split()[:3])
    print("# WarmStartSampler overhead: time inside the sampler per trial\n")
    print(
        f"Command: `python benchmarks/warm_start_overhead.py --trials {args.trials} "
        f"--seed {args.seed}`\n"
    )
    print(
        f"optuna {optuna.__version__}; in-memory storage; the `mixed` task of "
        "`warm_start_sampler.py` (6 parameters), 3 source studies x 100 TPE trials; load "
        f"average at the end {load}.\n"
    )
    names = list(arms)
    print("| trials | " + " | ".join(f"{n} ms (median)" for n in names) + " |")
    print("|---|" + "---:|" * len(names))
    for lo, hi in WINDOWS:
        if hi > args.trials:
            break
        cells = [f"{np.median(per_trial[n][lo - 1 : hi]):.1f}" for n in names]
        print(f"| {lo}-{hi} | " + " | ".join(cells) + " |")
    print(
        "\nWhole run (sampler + objective + Optuna), seconds: "
        + ", ".join(f"{n} {wall[n]:.1f}" for n in names)
        + "."
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
