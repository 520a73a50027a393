"""A data scientist's first study: XGBoost trials on 5,000 x 30 rows with 2 categorical columns.

Generated data (a classification task whose label also depends on the two pandas ``category``
columns), ``XGBoostObjective`` with its defaults (1,000 rounds, 5-fold CV, early stopping) and
with the README's first snippet's budget (200 rounds, ``timeout=20`` per trial, the study's
``timeout=150``), TPE with ``objective.recommended_pruner()``, ``verbose=1``. Each row: the
study's real seconds (``value``), the trials it finished, the progress lines it logged, and the
seconds of ``objective.best_estimator(study)`` plus its ``predict`` on the raw frame.

Usage: python benchmarks/first_hour.py --out benchmarks/results/first-hour
"""

from __future__ import annotations

import argparse
import logging
import time

import _measurements
import numpy as np
import optuna
import pandas as pd
from sklearn.datasets import make_classification

from optuna_recipes.adapters.xgboost import XGBoostObjective

# budget -> (objective options, n_trials, the study's timeout). The defaults run only a few
# trials: its figure is the median seconds per trial (30 of them would take many minutes).
BUDGETS: dict[str, tuple[dict[str, object], int, float | None]] = {
    "defaults": ({}, 6, None),
    "readme-budget": ({"num_boost_round": 200, "timeout": 20}, 30, 150.0),
}


def make_data(seed: int = 0) -> tuple[pd.DataFrame, pd.Series]:
    """5,000 rows: 28 numeric columns and 2 categorical ones (5 and 12 levels) that move the
    label."""
    x, y = make_classification(
        n_samples=5000, n_features=28, n_informative=10, flip_y=0.05, random_state=seed
    )
    rng = np.random.default_rng(seed)
    frame = pd.DataFrame(x, columns=[f"x{i}" for i in range(28)])
    region = rng.integers(0, 5, len(frame))
    shop = rng.integers(0, 12, len(frame))
    flip = (region == 3) | ((shop % 4 == 0) & (frame["x0"].to_numpy() > 0))
    frame["region"] = pd.Categorical([f"r{i}" for i in region])
    frame["shop"] = pd.Categorical([f"s{i}" for i in shop])
    return frame, pd.Series(np.where(flip, 1 - y, y), name="label")


class _Count(logging.Handler):
    def __init__(self) -> None:
        super().__init__(logging.INFO)
        self.lines = 0

    def emit(self, record: logging.LogRecord) -> None:
        self.lines += 1


def run(budget: str, seed: int, frame: pd.DataFrame, label: pd.Series) -> dict[str, object]:
    options, n_trials, study_timeout = BUDGETS[budget]
    counter = _Count()
    logger = logging.getLogger("optuna")
    logger.addHandler(counter)
    try:
        objective = XGBoostObjective(frame, label, verbose=1, seed=seed, **options)  # type: ignore[arg-type]
        study = optuna.create_study(
            direction=objective.direction,
            sampler=optuna.samplers.TPESampler(seed=seed),
            pruner=objective.recommended_pruner(),
        )
        start = time.perf_counter()
        study.optimize(objective, n_trials=n_trials, timeout=study_timeout)
        seconds = time.perf_counter() - start
    finally:
        logger.removeHandler(counter)
    start = time.perf_counter()
    predictions = objective.best_estimator(study).predict(frame)
    ship = time.perf_counter() - start
    states = [t.state for t in study.trials]
    return {
        "problem": "xgboost-5000x30-2cat",
        "strategy": budget,
        "seed": seed,
        "value": seconds,
        "n_trials": n_trials,
        "trials": len(states),
        "trial_s": float(np.median([t.duration.total_seconds() for t in study.trials])),
        "complete": states.count(optuna.trial.TrialState.COMPLETE),
        "pruned": states.count(optuna.trial.TrialState.PRUNED),
        "progress_lines": counter.lines,
        "best_value": study.best_value,
        "metric": objective.metric.name,
        "best_estimator_s": ship,
        "train_accuracy": float(np.mean(predictions == label.to_numpy())),
    }


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/first-hour")
    parser.add_argument("--repeat", type=int, default=1)
    parser.add_argument("--budgets", default=",".join(BUDGETS))
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.INFO)
    frame, label = make_data()
    rows = [
        run(budget, seed, frame, label)
        for seed in range(args.repeat)
        for budget in args.budgets.split(",")
    ]
    table = pd.DataFrame(rows)
    summary = table.groupby("strategy")[
        ["value", "n_trials", "trials", "trial_s", "complete", "pruned", "progress_lines"]
    ].median()
    _measurements.write(
        args.out,
        table,
        title="First study: XGBoost on 5,000 x 30 rows with 2 categorical columns",
        text="`value`: real seconds of `study.optimize(objective, n_trials=n_trials)` with "
        "TPE and `objective.recommended_pruner()`, `verbose=1`; `trial_s`: median seconds per "
        "trial; `defaults`: `XGBoostObjective(X, y)` (a few trials, for `trial_s`); "
        "`readme-budget`: `num_boost_round=200, timeout=20` and the study's `timeout=150`, 30 "
        "trials asked. `progress_lines`: lines logged through Optuna's logger; "
        "`best_estimator_s`: `objective.best_estimator(study).predict(X)` on the raw frame. "
        "Medians over repetitions:",
        summary=summary.reset_index(),
        settings={"repeat": args.repeat, "budgets": args.budgets},
    )


if __name__ == "__main__":
    main()
