"""What the harness costs: its overhead per trial over plain Optuna, and its scaling with workers.

Two measurements of the harness itself (so they cannot be a suite it runs):

- ``overhead-<sampler>``: the same runs (6 seeds x 100 trials of a cheap mixed-space problem)
  as a plain ``study.optimize`` loop on Optuna's in-memory storage (``optuna``) and through
  ``run_suite(..., workers=1, report=False)`` (``harness``: the sampler timing wrapper, the
  journal file it writes every run to, resume checks, the results table). ``value``:
  milliseconds per trial, one row per repetition, and ``difference`` (harness - optuna, timed
  back to back in the same repetition: the published overhead is their median).
- ``scaling``: ``python -m optuna_recipes bench run SUITE --workers N --no-report`` on 32 runs
  of 150 trials (4 problems x TPE and CMA-ES x 4 seeds), into a fresh folder, for N = 1 and 2.
  ``value``: wall seconds of the command (process start, workers and results included); the
  two give identical results (checked). Repeated in pairs; ``ratio`` (1 worker / 2 workers per
  pair) is what the README publishes, as a median.

Usage: python benchmarks/harness_cost.py --out benchmarks/results/harness-cost
"""

from __future__ import annotations

import argparse
from pathlib import Path
import subprocess
import sys
import tempfile
import time

import _measurements
import optuna
import pandas as pd

from optuna_recipes.bench import run_suite
from optuna_recipes.bench.problems import make_problem
from optuna_recipes.bench.strategies import parse_strategy

N_TRIALS, SEEDS = 100, 6
PROBLEM = {"function": "sphere", "n_float": 3, "n_int": 2, "n_cat": 1}
OVERHEAD_SUITE = """
[suite]
trials = {trials}
seeds = {seeds}
strategies = ["{strategy}"]

[[problems]]
name = "sphere"
type = "mixed"
options = {{ function = "sphere", n_float = 3, n_int = 2, n_cat = 1 }}
"""
SCALING_SUITE = """
[suite]
trials = 150
seeds = 4
strategies = ["tpe", "cmaes"]

[[problems]]
name = "sphere"
type = "mixed"
options = { function = "sphere", instance = 101 }

[[problems]]
name = "rastrigin"
type = "mixed"
options = { function = "rastrigin", instance = 102 }

[[problems]]
name = "rosenbrock"
type = "mixed"
options = { function = "rosenbrock", n_float = 4, n_int = 0, instance = 103 }

[[problems]]
name = "conditional"
type = "conditional"
options = { instance = 104 }
"""


def plain_ms(strategy: str) -> float:
    """Milliseconds per trial of plain ``study.optimize`` in memory, same runs as the harness."""
    problem = make_problem("mixed", PROBLEM)
    start = time.perf_counter()
    for seed in range(SEEDS):
        study = optuna.create_study(sampler=parse_strategy(strategy).build_sampler(seed=seed))
        study.optimize(problem, n_trials=N_TRIALS)
    return (time.perf_counter() - start) / (SEEDS * N_TRIALS) * 1e3


def harness_ms(strategy: str, tmp: Path) -> float:
    tmp.mkdir(parents=True, exist_ok=True)
    suite = tmp / f"overhead-{strategy}.toml"
    suite.write_text(OVERHEAD_SUITE.format(trials=N_TRIALS, seeds=SEEDS, strategy=strategy))
    start = time.perf_counter()
    run_suite(str(suite), tmp / f"out-{strategy}", workers=1, progress=False, report=False)
    return (time.perf_counter() - start) / (SEEDS * N_TRIALS) * 1e3


def scaling_s(suite: Path, out: Path, workers: int) -> float:
    command = [sys.executable, "-m", "optuna_recipes", "bench", "run", str(suite)]
    command += ["--out", str(out), "--workers", str(workers), "--no-progress", "--no-report"]
    start = time.perf_counter()
    subprocess.run(command, cwd=_measurements.ROOT, check=True, capture_output=True)
    return time.perf_counter() - start


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/harness-cost")
    parser.add_argument("--repeats", type=int, default=7)
    parser.add_argument("--scaling-repeats", type=int, default=3)
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []

    def add(problem: str, strategy: str, rep: int, value: float) -> None:
        rows.append({"problem": problem, "strategy": strategy, "seed": rep, "value": value})

    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        # Each repetition times the plain loop and the harness back to back and keeps their
        # difference: the VM's speed drifts between repetitions, a pair shares its drift.
        for rep in range(args.repeats):
            for strategy in ("random", "tpe"):
                problem = f"overhead-{strategy}"
                plain = plain_ms(strategy)
                harness = harness_ms(strategy, tmp / str(rep))
                add(problem, "optuna", rep, plain)
                add(problem, "harness", rep, harness)
                add(problem, "difference", rep, harness - plain)
        suite = tmp / "scaling.toml"
        suite.write_text(SCALING_SUITE)
        for rep in range(args.scaling_repeats):
            seconds, results = {}, []
            for workers in (1, 2):
                out = tmp / f"scaling-{rep}-{workers}"
                seconds[workers] = scaling_s(suite, out, workers)
                add("scaling", f"workers={workers}", rep, seconds[workers])
                key = ["problem", "strategy", "seed", "trial"]
                df = pd.read_csv(out / "results.csv").sort_values(key)[[*key, "value"]]
                results.append(df.reset_index(drop=True))
            if not results[0].equals(results[1]):
                raise SystemExit("--workers 1 and --workers 2 gave different results")
            add("scaling", "ratio", rep, seconds[1] / seconds[2])
    table = pd.DataFrame(rows)
    summary = table.groupby(["problem", "strategy"], sort=False)["value"].median().reset_index()
    _measurements.write(
        args.out,
        table,
        title="Harness cost: overhead per trial over plain Optuna, scaling with workers",
        text=f"`overhead-*`: {SEEDS} runs x {N_TRIALS} trials of a cheap mixed-space problem, "
        "plain `study.optimize` in memory (`optuna`) vs `run_suite(..., workers=1)` "
        "(`harness`), milliseconds per trial, timed back to back in each of "
        f"{args.repeats} repetitions; `difference`: harness - optuna per repetition. "
        "`scaling`: wall seconds of `bench run` on 32 runs x 150 trials with 1 and 2 workers "
        f"(identical results), {args.scaling_repeats} pairs; `ratio`: 1 worker / 2 workers "
        "per pair. The figures are medians over repetitions.",
        summary=summary,
        settings={"repeats": args.repeats, "scaling_repeats": args.scaling_repeats},
    )


if __name__ == "__main__":
    main()
