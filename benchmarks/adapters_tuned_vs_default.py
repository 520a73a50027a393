"""Tuned beats default? Held-out scores of tuned XGBoost/LightGBM vs the libraries' defaults.

For each dataset shipped with scikit-learn (breast_cancer, wine, digits: classification;
diabetes: regression), each library and each split seed, the data is split 75/25 (stratified
for classification). *Default*: the library's scikit-learn estimator with its default
parameters (``XGBClassifier()``, ``LGBMRegressor()``, ...; one thread, ``random_state`` = the
split seed) fit on the training part. *Tuned*: ``XGBoostObjective``/``LightGBMObjective`` on the
training part only (its default space, 5-fold CV, early stopping), a TPE study with
``MedianPruner``, then ``objective.refit(study)``. Both are scored on the untouched test part:
log loss (the tuned metric) and accuracy for classification, RMSE (the tuned metric) and r2 for
regression. A row "wins" when the tuned model's tuned metric is better on the test part.

Usage:
    python benchmarks/adapters_tuned_vs_default.py \
        > benchmarks/results/adapters_tuned_vs_default.md
"""

from __future__ import annotations

import argparse
from pathlib import Path
import statistics
import sys
import time
from typing import Any

import numpy as np
import optuna
from sklearn import datasets
from sklearn.metrics import accuracy_score
from sklearn.metrics import log_loss
from sklearn.metrics import mean_squared_error
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
optuna.logging.set_verbosity(optuna.logging.ERROR)

DATASETS = {
    "breast_cancer": datasets.load_breast_cancer,
    "wine": datasets.load_wine,
    "digits": datasets.load_digits,
    "diabetes": datasets.load_diabetes,
}


def _default_model(library: str, regression: bool, seed: int) -> Any:
    if library == "xgboost":
        import xgboost as xgb

        cls = xgb.XGBRegressor if regression else xgb.XGBClassifier
        return cls(n_jobs=1, random_state=seed)
    import lightgbm as lgb

    cls = lgb.LGBMRegressor if regression else lgb.LGBMClassifier
    return cls(n_jobs=1, random_state=seed, verbose=-1)


def _objective(library: str, X: Any, y: Any, args: Any, seed: int) -> Any:
    if library == "xgboost":
        from optuna_recipes.adapters.xgboost import XGBoostObjective as cls
    else:
        from optuna_recipes.adapters.lightgbm import LightGBMObjective as cls
    return cls(
        X,
        y,
        cv=args.cv,
        num_boost_round=args.rounds,
        early_stopping_rounds=args.early_stopping,
        seed=seed,
        n_jobs=1,
    )


def _scores(regression: bool, y: np.ndarray, pred: np.ndarray, labels: Any) -> tuple[float, float]:
    if regression:
        return float(np.sqrt(mean_squared_error(y, pred))), float(r2_score(y, pred))
    proba = pred if pred.ndim == 2 else np.column_stack([1 - pred, pred])
    return (
        float(log_loss(y, proba, labels=labels)),
        float(accuracy_score(y, np.asarray(labels)[np.argmax(proba, axis=1)])),
    )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--cv", type=int, default=5)
    parser.add_argument("--rounds", type=int, default=500)
    parser.add_argument("--early-stopping", type=int, default=30)
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--datasets", nargs="+", default=list(DATASETS))
    parser.add_argument("--libraries", nargs="+", default=["xgboost", "lightgbm"])
    args = parser.parse_args()
    print("# Tuned beats default? Held-out test scores\n")
    print(
        "Command: `python "
        + " ".join(["benchmarks/adapters_tuned_vs_default.py", *sys.argv[1:]])
        + "`\n"
    )
    print(
        f"75/25 split per seed; tuned: {args.trials} TPE trials (MedianPruner), {args.cv}-fold CV "
        f"on the training part, num_boost_round={args.rounds}, early stopping "
        f"{args.early_stopping}, refit on the whole training part; default: the library's "
        "scikit-learn estimator with default parameters. Lower is better for log loss and "
        "RMSE, higher for accuracy and r2.\n"
    )
    print(
        "| dataset | library | seed | metric | default | tuned | tuned wins | "
        "2nd metric default | 2nd metric tuned | tuning s |"
    )
    print("|---|---|---:|---|---:|---:|---|---:|---:|---:|")
    summary: dict[tuple[str, str], list[tuple[float, float]]] = {}
    for dname in args.datasets:
        X, y = DATASETS[dname](return_X_y=True)
        regression = dname == "diabetes"
        labels = None if regression else np.unique(y)
        for library in args.libraries:
            for seed in args.seeds:
                X_tr, X_te, y_tr, y_te = train_test_split(
                    X, y, test_size=0.25, random_state=seed, stratify=None if regression else y
                )
                default = _default_model(library, regression, seed).fit(X_tr, y_tr)
                pred = default.predict(X_te) if regression else default.predict_proba(X_te)
                d_main, d_second = _scores(regression, y_te, pred, labels)
                start = time.perf_counter()
                objective = _objective(library, X_tr, y_tr, args, seed)
                study = optuna.create_study(
                    direction=objective.direction,
                    sampler=optuna.samplers.TPESampler(seed=seed),
                    pruner=optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10),
                )
                study.optimize(objective, n_trials=args.trials)
                model = objective.refit(study)
                elapsed = time.perf_counter() - start
                t_main, t_second = _scores(
                    regression, y_te, objective.predict(model, X_te), labels
                )
                metric = "rmse" if regression else "log_loss"
                second = "r2" if regression else "accuracy"
                summary.setdefault((dname, library), []).append((d_main, t_main))
                print(
                    f"| {dname} | {library} | {seed} | {metric} | {d_main:.4f} | {t_main:.4f} | "
                    f"{'yes' if t_main < d_main else 'no'} | {second} {d_second:.4f} | "
                    f"{second} {t_second:.4f} | {elapsed:.0f} |",
                    flush=True,
                )
    print("\n## Summary (mean over split seeds of the tuned metric on the test part)\n")
    print("| dataset | library | default | tuned | relative change | wins |")
    print("|---|---|---:|---:|---:|---:|")
    for (dname, library), pairs in summary.items():
        d = statistics.mean(p[0] for p in pairs)
        t = statistics.mean(p[1] for p in pairs)
        wins = sum(p[1] < p[0] for p in pairs)
        print(
            f"| {dname} | {library} | {d:.4f} | {t:.4f} | {100 * (t - d) / d:+.1f}% | "
            f"{wins}/{len(pairs)} |"
        )


if __name__ == "__main__":
    main()
