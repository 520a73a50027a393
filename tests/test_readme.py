"""Every Python block of the README runs as written (studies seeded), and does what it says.

Each block has a check in :data:`CHECKS` (keyed by its section title and its index in the
section); a new block without one fails :func:`test_every_readme_block_has_a_check`, so no
snippet goes untested.
"""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path
import re
from typing import Any

from _objective_kit import seed_new_studies
import numpy as np
import optuna
import pytest

README = Path(__file__).resolve().parents[1] / "README.md"


def readme_blocks() -> dict[tuple[str, int], str]:
    """``(section title, index in the section) -> code`` of every ```python block."""
    blocks: dict[tuple[str, int], str] = {}
    for section in re.split(r"\n## ", README.read_text())[1:]:
        title = section.split("\n", 1)[0].strip()
        for i, code in enumerate(re.findall(r"```python\n(.*?)```", section, flags=re.S)):
            blocks[(title, i)] = code
    return blocks


def _ga(ns: dict[str, Any], out: Path) -> None:
    study = ns["study"]
    assert len(study.trials) == 120
    assert study.best_value < 2.0  # the optimum is 0 at x=1, depth=6, gbtree
    assert type(study.sampler).__name__ == "GeneticSampler"


def _warm_start(ns: dict[str, Any], out: Path) -> None:
    study = ns["study"]
    assert len(study.trials) == 15
    assert type(study.sampler).__name__ == "WarmStartSampler"
    assert study.best_params["booster"] == "gbtree"
    report = ns["report"]
    assert len(report.trials) == 15 and report.best_trial == study.best_trial.number
    assert set(report.final_weights()) == {f"churn-model-2026-{m}" for m in ("08", "09", "10")}


def _harness(ns: dict[str, Any], out: Path) -> None:
    df = ns["df"]
    assert set(df["strategy"]) == {"tpe", "random"} and set(df["seed"]) == {0, 1}
    assert (out / "bench-out" / "quick-api" / "report.md").exists()


def _compare(ns: dict[str, Any], out: Path) -> None:
    assert len(ns["df"]) == 2 * 6 * 20  # strategies x seeds x trials
    assert "**Verdict.**" in (out / "bench-out/compare-readme/report.md").read_text()


def _quick_parallel(out: Path) -> None:
    """What the README's bash line before the statistics block makes."""
    from optuna_recipes.bench import run_suite

    run_suite(
        "quick",
        out / "bench-out" / "quick-parallel",
        strategies=["random", "tpe"],
        simulate_workers=[1, 8],
        seeds=2,
        workers=1,
        progress=False,
        report=False,
    )


def _stats(ns: dict[str, Any], out: Path) -> None:
    assert set(ns["df"]["workers"]) == {1, 8}


def _xgboost(ns: dict[str, Any], out: Path) -> None:
    from xgboost import XGBClassifier

    study, model, X = ns["study"], ns["model"], ns["X"]
    assert study.best_value > 0.98  # cross-validated ROC AUC on breast_cancer
    assert isinstance(model, XGBClassifier)
    assert set(model.predict(X.head())) <= {0, 1}


def _lightgbm(ns: dict[str, Any], out: Path) -> None:
    from lightgbm import LGBMRegressor

    study, model = ns["study"], ns["model"]
    assert study.best_value < 55.0  # cross-validated MAE on diabetes (predicting the mean: 64)
    assert isinstance(model, LGBMRegressor) and (out / "lightgbm_best.json").exists()
    assert model.predict(ns["X"][:3]).shape == (3,)


def _sklearn(ns: dict[str, Any], out: Path) -> None:
    from sklearn.pipeline import Pipeline

    assert ns["forest"].metric.name == "log_loss" and ns["study"].best_value < 0.3
    # SVC has no predict_proba: its default metric is accuracy.
    assert ns["svc"].metric.name == "accuracy" and ns["svc_study"].best_value > 0.9
    assert isinstance(ns["svc"].best_estimator(ns["svc_study"]), Pipeline)


def _torch(ns: dict[str, Any], out: Path) -> None:
    assert ns["study"].best_value >= 0.9  # validation accuracy on digits
    assert (out / "best.json").exists() and (out / "best.pt").exists()
    pred = ns["model"].predict(ns["x"][:5] / 16.0)
    assert np.asarray(pred.argmax(1) if hasattr(pred, "argmax") else pred).shape == (5,)


#: Blocks that read what a shell command shown before them made: run first.
SETUPS: dict[tuple[str, int], Callable[[Path], None]] = {("Benchmark harness", 2): _quick_parallel}

CHECKS: dict[tuple[str, int], Callable[[dict[str, Any], Path], None]] = {
    ("GeneticSampler", 0): _ga,
    ("Tune again after retraining", 0): _warm_start,
    ("Benchmark harness", 0): _harness,
    ("Benchmark harness", 1): _compare,
    ("Benchmark harness", 2): _stats,
    ("Tuned XGBoost, LightGBM and scikit-learn models in one call", 0): _xgboost,
    ("Tuned XGBoost, LightGBM and scikit-learn models in one call", 1): _lightgbm,
    ("Tuned XGBoost, LightGBM and scikit-learn models in one call", 2): _sklearn,
    ("Keras-style PyTorch, tuned end to end", 0): _torch,
}


def test_every_readme_block_has_a_check() -> None:
    assert sorted(readme_blocks()) == sorted(CHECKS)


@pytest.mark.slow
@pytest.mark.parametrize("key", sorted(CHECKS), ids=lambda k: f"{k[0][:24]}-{k[1]}")
def test_readme_block_runs_as_written(
    key: tuple[str, int], tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    code = readme_blocks()[key]
    monkeypatch.chdir(tmp_path)
    if key in SETUPS:
        SETUPS[key](tmp_path)
    seed_new_studies(monkeypatch, 0)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    namespace: dict[str, Any] = {"__name__": "__main__"}
    exec(compile(code, f"README.md ({key[0]}, block {key[1]})", "exec"), namespace)
    CHECKS[key](namespace, tmp_path)
