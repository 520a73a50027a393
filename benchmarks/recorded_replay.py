"""Recorded problems: held-out error of the curve surrogates, and the replay cost per study.

1. Surrogate error: for every recorded family and task, 5-fold cross-validation over the
   recorded configurations: fit each surrogate (``forest``, ``knn``, ``nearest``) on 4/5 of
   the records and predict the held-out fifth's whole curves. Reported: the Spearman rank
   correlation between predicted and recorded best values (what a sampler's ranking of
   configurations sees), the mean absolute error of the best value divided by the standard
   deviation of the recorded best values (nMAE; 1.0 = no better than predicting the mean), and
   the RMSE of the whole curve divided by the same standard deviation (nRMSE_curve).
2. Replay cost: 100-trial studies (RandomSampler, no pruner) on each family's task 0, timing
   the objective calls (surrogate prediction + Optuna's ``trial.report``/``should_prune`` for
   every round) apart from the sampler, and the surrogate prediction alone.

Usage (single thread, from the repository root):
    OMP_NUM_THREADS=1 python benchmarks/recorded_replay.py --out benchmarks/results/recorded-replay
"""

from __future__ import annotations

import argparse
import time

import _measurements
import numpy as np
import optuna
import pandas as pd

from optuna_recipes.bench.problems.recorded import SURROGATES
from optuna_recipes.bench.problems.recorded import CurveSurrogate
from optuna_recipes.bench.problems.recorded import RecordedProblem
from optuna_recipes.bench.problems.recorded import known_families
from optuna_recipes.bench.problems.recorded import load_family


def heldout(name: str, task: int, kind: str) -> dict[str, float | np.ndarray]:
    """5-fold held-out predictions of one surrogate on one task."""
    from scipy.stats import spearmanr
    from sklearn.model_selection import KFold

    family = load_family(name)
    X = family.configs
    Y = family.curves[task].astype(np.float64)
    ok = np.isfinite(Y).all(axis=1)
    X, Y = X[ok], Y[ok]
    maximize = family.meta["direction"] == "maximize"
    pred = np.empty_like(Y)
    for train, test in KFold(5, shuffle=True, random_state=0).split(X):
        pred[test] = CurveSurrogate(kind).fit(X[train], Y[train]).predict(X[test])
    best = Y.max(axis=1) if maximize else Y.min(axis=1)
    best_pred = pred.max(axis=1) if maximize else pred.min(axis=1)
    sd = float(np.std(best))
    return {
        "spearman": float(spearmanr(best, best_pred).statistic),
        "nmae": float(np.mean(np.abs(best - best_pred)) / sd),
        "nrmse_curve": float(np.sqrt(np.mean((Y - pred) ** 2)) / sd),
        "best": best,
        "best_pred": best_pred,
    }


def replay_cost(name: str, kind: str, n_trials: int = 100) -> dict[str, float]:
    """Objective seconds (and prediction seconds) of one ``n_trials`` study."""
    problem = RecordedProblem(name, surrogate=kind)
    predict = problem.predict_curve
    spent = {"objective": 0.0, "predict": 0.0}

    def timed_predict(params: dict) -> np.ndarray:
        t = time.perf_counter()
        curve = predict(params)
        spent["predict"] += time.perf_counter() - t
        return curve

    problem.predict_curve = timed_predict  # type: ignore[method-assign]

    def objective(trial: optuna.Trial) -> float:
        t = time.perf_counter()
        value = problem(trial)
        spent["objective"] += time.perf_counter() - t
        return value

    study = optuna.create_study(
        direction=problem.direction,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.NopPruner(),
    )
    t0 = time.perf_counter()
    study.optimize(objective, n_trials=n_trials)
    spent["study"] = time.perf_counter() - t0
    spent["steps"] = float(sum(len(t.intermediate_values) for t in study.trials))
    return spent


def optuna_floor(name: str, n_trials: int = 100) -> float:
    """Objective seconds of the same study with a constant curve: Optuna's own per-round cost
    (the same ``suggest_*`` calls and ``n_steps`` reports, no surrogate)."""
    from optuna_recipes.adapters._base.search_space import suggest_params

    problem = RecordedProblem(name)
    spent = 0.0

    def objective(trial: optuna.Trial) -> float:
        nonlocal spent
        t = time.perf_counter()
        suggest_params(trial, problem.family.space)
        for step in range(problem.n_steps):
            trial.report(0.0, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        spent += time.perf_counter() - t
        return 0.0

    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0), pruner=optuna.pruners.NopPruner()
    )
    study.optimize(objective, n_trials=n_trials)
    return spent


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/recorded-replay")
    args = parser.parse_args()
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    rows = []
    for name in known_families():
        for kind in SURROGATES:
            for task in range(load_family(name).n_tasks):
                r = heldout(name, task, kind)
                rows.append(
                    {
                        "problem": name,
                        "strategy": kind,
                        "seed": task,
                        "value": r["spearman"],
                        "nmae": r["nmae"],
                        "nrmse_curve": r["nrmse_curve"],
                    }
                )
            floor = optuna_floor(name)
            cost = replay_cost(name, kind)
            rows.append(
                {
                    "problem": name,
                    "strategy": f"replay-{kind}",
                    "seed": 0,
                    "value": cost["objective"],
                    "predict_s": cost["predict"],
                    "floor_s": floor,
                    "study_s": cost["study"],
                }
            )
    table = pd.DataFrame(rows)
    fit = table[~table["strategy"].str.startswith("replay-")]
    summary = fit.groupby(["problem", "strategy"])[["value", "nmae", "nrmse_curve"]].mean()
    summary = summary.reset_index().rename(columns={"value": "Spearman (mean over tasks)"})
    _measurements.write(
        args.out,
        table,
        title="Recorded problems: surrogate error on held-out records, replay cost",
        text="Rows `strategy` = a surrogate, `seed` = a task: 5-fold CV over the recorded "
        "configurations; `value`: Spearman rank correlation of the predicted and recorded best "
        "values; `nmae`: MAE of the best value / std of the recorded best values; "
        "`nrmse_curve`: RMSE over whole curves / the same std. Rows `replay-<surrogate>`: a "
        "100-trial study (RandomSampler, no pruner, task 0): `value` = objective seconds "
        "(surrogate + Optuna's `report`/`should_prune` every round), `predict_s` = the "
        "surrogate alone, `floor_s` = the same study with a constant curve (Optuna's own "
        "per-round cost), `study_s` = the whole study.",
        summary=summary,
    )


if __name__ == "__main__":
    main()
