"""Overhead of an adapter objective call against the hand-written ``xgb.train``/``lgb.train``.

Both sides train the same configuration on the same data: the objective gets a holdout
``validation_data`` and the trial's parameters are enqueued, the hand-written code calls the
library's own training function with the very parameter dict the objective builds
(``objective._library_params``), an evaluation set, and the library's early stopping with the
same patience. Data objects (DMatrix/Dataset) are built once beforehand on both sides, and each
side runs once untimed first (the objective caches its per-fold data on its first call, XGBoost
builds its histogram index on the first training; the objective's first-call cost, including
building its data, is reported separately). The three calls run ``--repeats`` times in rotating
order; the reported ratios are medians of the per-repetition ratios of one run, wall and CPU.
Target: <= 1.03.

Usage: python benchmarks/adapters_overhead.py --out benchmarks/results/adapters-overhead
(one row per call: ``value`` wall seconds, ``cpu`` CPU seconds).
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
import functools
import time
from typing import Any

import _measurements
import numpy as np
import optuna
import pandas as pd
from sklearn.datasets import make_classification
from sklearn.model_selection import train_test_split

optuna.logging.set_verbosity(optuna.logging.ERROR)

PARAMS = {
    "xgboost": {
        "learning_rate": 0.05,
        "max_depth": 6,
        "min_child_weight": 1.0,
        "subsample": 0.8,
        "colsample_bylevel": 0.8,
        "colsample_bynode": 0.8,
        "reg_alpha": 0.01,
        "reg_lambda": 1.0,
        "grow_policy": "depthwise",
    },
    "lightgbm": {
        "learning_rate": 0.05,
        "feature_fraction": 0.8,
        "bagging_fraction": 0.8,
        "num_leaves": 63,
        "min_data_in_leaf": 20,
        "extra_trees": False,
        "lambda_l1": 0.01,
        "lambda_l2": 0.1,
    },
}


def _datasets() -> dict[str, tuple[np.ndarray, np.ndarray]]:
    """Generated test data: the bench's ``make_classification`` (5,000 x 20) and 50,000 rows."""
    from optuna_recipes.bench.problems.sklearn_tasks import _load

    X, y, _ = _load("make_classification")
    return {
        "5k": (X, y),
        "50k": make_classification(
            n_samples=50_000, n_features=20, n_informative=10, random_state=0
        ),
    }


def _hand_written(
    library: str, params: dict[str, Any], data: Any, rounds: int, es: int, prune: bool
) -> int:
    """The library's own training call; with ``prune``, inside a trial with our callback."""
    trial = None
    if prune:
        study = optuna.create_study(direction="minimize")
        trial = study.ask()
    if library == "xgboost":
        import xgboost as xgb

        from optuna_recipes.adapters.xgboost import XGBoostPruningCallback

        dtrain, dvalid = data
        booster = xgb.train(
            params,
            dtrain,
            num_boost_round=rounds,
            evals=[(dvalid, "valid")],
            early_stopping_rounds=es,
            verbose_eval=False,
            callbacks=[XGBoostPruningCallback(trial)] if trial is not None else None,
        )
        return int(booster.num_boosted_rounds())
    import lightgbm as lgb

    from optuna_recipes.adapters.lightgbm import LightGBMPruningCallback

    dtrain, dvalid = data
    log: dict[str, Any] = {}
    # lgb.train returns the booster cut at its best iteration; count the rounds it trained.
    callbacks = [lgb.early_stopping(es, verbose=False), lgb.record_evaluation(log)]
    if trial is not None:
        callbacks.append(LightGBMPruningCallback(trial))
    lgb.train(params, dtrain, num_boost_round=rounds, valid_sets=[dvalid], callbacks=callbacks)
    return len(next(iter(log["valid_0"].values())))


def _library_data(library: str, X_tr: Any, y_tr: Any, X_va: Any, y_va: Any) -> Any:
    if library == "xgboost":
        import xgboost as xgb

        return xgb.DMatrix(X_tr, label=y_tr), xgb.DMatrix(X_va, label=y_va)
    import lightgbm as lgb

    ds_params = {"feature_pre_filter": False, "verbose": -1}
    dtrain = lgb.Dataset(X_tr, y_tr, params=ds_params, free_raw_data=False).construct()
    dvalid = lgb.Dataset(X_va, y_va, reference=dtrain, params=ds_params).construct()
    return dtrain, dvalid


def _objective(library: str, X_tr: Any, y_tr: Any, X_va: Any, y_va: Any, args: Any) -> Any:
    if library == "xgboost":
        from optuna_recipes.adapters.xgboost import XGBoostObjective as cls
    else:
        from optuna_recipes.adapters.lightgbm import LightGBMObjective as cls
    return cls(
        X_tr,
        y_tr,
        validation_data=(X_va, y_va),
        metric="log_loss",
        num_boost_round=args.rounds,
        early_stopping_rounds=args.early_stopping,
        n_jobs=1,
        seed=0,
    )


def _timed_call(objective: Any, params: dict[str, Any]) -> tuple[float, float, int]:
    study = optuna.create_study(direction=objective.direction)
    study.enqueue_trial(params)
    trial = study.ask()
    start, cpu = time.perf_counter(), time.process_time()
    value = objective(trial)
    elapsed, cpu = time.perf_counter() - start, time.process_time() - cpu
    study.tell(trial, value)
    return elapsed, cpu, int(study.trials[0].user_attrs["n_rounds"])


def _timed(fn: Callable[[], int]) -> tuple[float, float, int]:
    start, cpu = time.perf_counter(), time.process_time()
    rounds = fn()
    return time.perf_counter() - start, time.process_time() - cpu, rounds


def _measure(
    library: str, objective: Any, X_tr: Any, X_va: Any, args: Any
) -> list[dict[str, Any]]:
    """Rows of the objective call, the plain library call and the library call with our pruning
    callback, in rotating order, ``args.repeats`` times."""
    lib_params = objective._library_params(PARAMS[library])
    data = _library_data(library, X_tr, objective.y_, X_va, objective.y_valid_)
    es = args.early_stopping
    _hand_written(library, lib_params, data, args.rounds, es, False)  # warm-up
    calls: dict[str, Callable[[], tuple[float, float, int]]] = {
        "objective": functools.partial(_timed_call, objective, PARAMS[library]),
        "library": functools.partial(
            _timed,
            functools.partial(_hand_written, library, lib_params, data, args.rounds, es, False),
        ),
        "library + pruning callback": functools.partial(
            _timed,
            functools.partial(_hand_written, library, lib_params, data, args.rounds, es, True),
        ),
    }
    order = list(calls)
    rows = []
    for i in range(args.repeats):
        shift = i % len(order)
        for key in order[shift:] + order[:shift]:
            wall, cpu, rounds = calls[key]()
            rows.append({"strategy": key, "seed": i, "value": wall, "cpu": cpu, "rounds": rounds})
    return rows


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/adapters-overhead")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--early-stopping", type=int, default=30)
    parser.add_argument("--repeats", type=int, default=5)
    args = parser.parse_args()
    rows = []
    for name, (X, y) in _datasets().items():
        X_tr, X_va, y_tr, y_va = train_test_split(X, y, test_size=0.2, random_state=0)
        for library in ("xgboost", "lightgbm"):
            objective = _objective(library, X_tr, y_tr, X_va, y_va, args)
            start = time.perf_counter()
            _timed_call(objective, PARAMS[library])  # builds and caches the fold data
            first = time.perf_counter() - start
            for row in _measure(library, objective, X_tr, X_va, args):
                rows.append({"problem": f"{library}-{name}", **row, "first_call": first})
    table = pd.DataFrame(rows)
    summary = (
        table.groupby(["problem", "strategy"], sort=False)[["value", "cpu", "rounds"]]
        .median()
        .reset_index()
        .rename(columns={"value": "wall s (median)", "cpu": "CPU s (median)"})
    )
    _measurements.write(
        args.out,
        table,
        title="Adapter overhead: objective call vs hand-written library training",
        text=f"Same parameters, same 80/20 holdout, num_boost_round={args.rounds}, early "
        f"stopping patience {args.early_stopping}, one thread; {args.repeats} repetitions of the "
        "three calls in rotating order. `objective`: the adapter's objective call (Optuna's "
        "per-round `trial.report`, MedianPruner, in-memory storage); `library`: "
        "`xgb.train`/`lgb.train` alone; `library + pruning callback`: the same call inside an "
        "Optuna trial with our pruning callback, the hand-written equivalent of the objective. "
        "`value`: wall seconds; `cpu`: CPU seconds; `first_call`: the objective's first call, "
        "which builds its data.",
        summary=summary,
        settings={k: v for k, v in vars(args).items() if k != "out"},
    )


if __name__ == "__main__":
    main()
