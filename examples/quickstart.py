"""Tune a scikit-learn model with Optuna and save the best parameters as JSON."""

from __future__ import annotations

import json

import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.model_selection import cross_val_score

X, y = load_breast_cancer(return_X_y=True)


def objective(trial: optuna.Trial) -> float:
    model = HistGradientBoostingClassifier(
        learning_rate=trial.suggest_float("learning_rate", 1e-3, 0.3, log=True),
        max_depth=trial.suggest_int("max_depth", 2, 8),
        max_iter=trial.suggest_int("max_iter", 20, 200, log=True),
        random_state=0,
    )
    return float(cross_val_score(model, X, y, cv=3, scoring="roc_auc").mean())


if __name__ == "__main__":
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.create_study(direction="maximize", sampler=optuna.samplers.TPESampler(seed=0))
    study.optimize(objective, n_trials=20)
    print(json.dumps({"best_value": study.best_value, "best_params": study.best_params}))
