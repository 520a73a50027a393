"""The benchmark harness: compare search strategies on suites of problems, with statistics.

A *run* is one (problem, strategy, seed) optimized in one Optuna study; a *suite* (a TOML file)
lists problems, strategies, seeds and budgets; the runner executes runs in worker processes or on
a Dask cluster, resumes interrupted suites, and writes a per-trial results table and a report
(Markdown + PNG + CSV). The command ``optuna-recipes bench`` drives it; this module is the API.

Example:
    .. code-block:: python

        from optuna_recipes.bench import compare
        from optuna_recipes.bench import load_results
        from optuna_recipes.bench import run_suite

        df = compare(lambda t: t.suggest_float("x", -1, 1) ** 2, ["random", "tpe"], n_trials=10)
        result = run_suite("quick", "bench-out/quick")
        df = load_results("bench-out/quick")  # one row per trial (pandas DataFrame)
        print(df.groupby("strategy")["sampler_time"].median())
"""

from __future__ import annotations

from optuna_recipes._imports import lazy_exports

# Public name -> module. Resolved on first access, so that the CLI (``optuna_recipes.bench.cli``)
# can live in this package without importing Optuna, pandas or scipy for ``--help``.
_LAZY: dict[str, str] = {
    "BenchResult": "optuna_recipes.bench.runner",
    "FunctionProblem": "optuna_recipes.bench.problems",
    "Problem": "optuna_recipes.bench.problems",
    "ProblemSpec": "optuna_recipes.bench.problems",
    "Strategy": "optuna_recipes.bench.strategies",
    "Suite": "optuna_recipes.bench.suite",
    "TimedSampler": "optuna_recipes.bench.timing",
    "compare": "optuna_recipes.bench.comparison",
    "load_results": "optuna_recipes.bench.outdir",
    "load_suite": "optuna_recipes.bench.suite",
    "parse_strategy": "optuna_recipes.bench.strategies",
    "run_suite": "optuna_recipes.bench.runner",
    "write_report": "optuna_recipes.bench.report",
}
__all__ = sorted(_LAZY)
__getattr__, __dir__ = lazy_exports(__name__, _LAZY)
