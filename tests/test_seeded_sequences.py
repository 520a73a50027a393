"""Same seed, same parameters: pinned trial sequences of every sampler, pruner and objective.

The golden file ``tests/data/seeded_sequences.json`` was written from the code before the
code-shape refactor (issue 27) so that moving code around provably changes no behaviour.
A change that is *meant* to change behaviour regenerates it and says so in its commit:
``python tests/test_seeded_sequences.py --write``.
"""

from __future__ import annotations

from collections.abc import Callable
import json
import math
from pathlib import Path
import sys
from typing import Any

import numpy as np
import optuna
import pytest

GOLDEN = Path(__file__).parent / "data" / "seeded_sequences.json"
DIGITS = 10


def _mixed(trial: optuna.Trial, shift: float = 0.0) -> float:
    x = trial.suggest_float("x", -5, 5)
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    n = trial.suggest_int("n", 1, 9, step=2)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    value = (x - 1 - shift) ** 2 + (np.log10(lr) + 2) ** 2 + 0.1 * abs(n - 5)
    if kind == "b":
        value += 0.1 * trial.suggest_float("extra", 0, 1)
    else:
        value += 2.0
    return float(value)


def _curve(trial: optuna.Trial) -> float:
    q = trial.suggest_float("quality", 0.0, 1.0)
    value = math.nan
    for step in range(10):
        value = (2.0 - q) * math.exp(-0.2 * step)
        trial.report(value, step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return value


def _round(value: Any) -> Any:
    if isinstance(value, float):
        return float(f"{value:.{DIGITS}g}") if math.isfinite(value) else repr(value)
    return value


def _sequence(study: optuna.Study) -> list[dict[str, Any]]:
    return [
        {
            "params": {k: _round(v) for k, v in sorted(t.params.items())},
            "state": t.state.name,
            "value": _round(t.value) if t.value is not None else None,
        }
        for t in study.trials
    ]


def _genetic() -> list[dict[str, Any]]:
    from optuna_recipes.samplers import GeneticSampler

    study = optuna.create_study(sampler=GeneticSampler(seed=0, population_size=8))
    study.optimize(_mixed, n_trials=40)
    return _sequence(study)


def _sources() -> list[optuna.Study]:
    out = []
    for i, shift in enumerate((0.1, -0.1)):
        src = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=i))
        src.optimize(lambda t, s=shift: _mixed(t, s), n_trials=30)
        out.append(src)
    return out


def _warm_start(surrogate: str) -> Callable[[], list[dict[str, Any]]]:
    def run() -> list[dict[str, Any]]:
        from optuna_recipes.samplers import WarmStartSampler

        sampler = WarmStartSampler(_sources(), seed=0, surrogate=surrogate)
        study = optuna.create_study(sampler=sampler)
        study.optimize(lambda t: _mixed(t, 0.05), n_trials=12)
        return _sequence(study)

    return run


def _pruner() -> list[dict[str, Any]]:
    from optuna_recipes.pruners import WarmStartPruner

    src = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    src.optimize(_curve, n_trials=20)
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=1), pruner=WarmStartPruner([src])
    )
    study.optimize(_curve, n_trials=15)
    return _sequence(study)


def _xgboost() -> list[dict[str, Any]]:
    pytest.importorskip("xgboost")
    from sklearn.datasets import load_breast_cancer

    from optuna_recipes.adapters.xgboost import XGBoostObjective

    X, y = load_breast_cancer(return_X_y=True)
    objective = XGBoostObjective(X, y, num_boost_round=30, cv=3, n_jobs=1, seed=0)
    study = optuna.create_study(
        direction=objective.direction, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(objective, n_trials=4)
    return _sequence(study)


def _lightgbm() -> list[dict[str, Any]]:
    pytest.importorskip("lightgbm")
    from sklearn.datasets import load_diabetes

    from optuna_recipes.adapters.lightgbm import LightGBMObjective

    X, y = load_diabetes(return_X_y=True)
    objective = LightGBMObjective(X, y, num_boost_round=30, cv=3, n_jobs=1, seed=0)
    study = optuna.create_study(
        direction=objective.direction, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(objective, n_trials=4)
    return _sequence(study)


def _bench_quick() -> list[dict[str, Any]]:
    import tempfile

    from optuna_recipes.bench import run_suite

    with tempfile.TemporaryDirectory() as out:
        result = run_suite(
            "quick", out, seeds=1, trials=12, workers=1, progress=False, report=False
        )
        df = result.results.sort_values(["problem", "strategy", "seed", "role", "trial"])
        return [
            {
                "run": f"{r.problem}/{r.strategy}/{r.seed}/{r.role}/{r.trial}",
                "state": r.state,
                "value": _round(float(r.value)),
                "steps": _round(float(r.steps)),
            }
            for r in df.itertuples()
        ]


CASES: dict[str, Callable[[], list[dict[str, Any]]]] = {
    "genetic": _genetic,
    "warm_start_gp": _warm_start("gp"),
    "warm_start_parzen": _warm_start("parzen"),
    "warm_start_pruner": _pruner,
    "bench_quick": _bench_quick,
    "xgboost_objective": _xgboost,
    "lightgbm_objective": _lightgbm,
}


@pytest.mark.slow
@pytest.mark.parametrize("case", sorted(CASES))
def test_seeded_sequence_is_unchanged(case: str) -> None:
    golden = json.loads(GOLDEN.read_text())
    assert CASES[case]() == golden[case], (
        f"{case}: same seed, different trials. If the change is meant to alter behaviour, "
        "regenerate with `python tests/test_seeded_sequences.py --write` and say so."
    )


if __name__ == "__main__":
    if sys.argv[1:] != ["--write"]:
        sys.exit("usage: python tests/test_seeded_sequences.py --write")
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    GOLDEN.write_text(json.dumps({k: f() for k, f in sorted(CASES.items())}, indent=1) + "\n")
    print(f"wrote {GOLDEN}")
