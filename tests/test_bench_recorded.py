"""Recorded problems: package data, replay, pruning, surrogate accuracy, families, a suite run."""

from __future__ import annotations

from importlib import resources
import math
from pathlib import Path

import numpy as np
import optuna
import pytest

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes.bench import run_suite
from optuna_recipes.bench.problems import ProblemSpec
from optuna_recipes.bench.problems import make_problem
from optuna_recipes.bench.problems.recorded import CurveSurrogate
from optuna_recipes.bench.problems.recorded import RecordedProblem
from optuna_recipes.bench.problems.recorded import _PackedForest
from optuna_recipes.bench.problems.recorded import known_families
from optuna_recipes.bench.problems.recorded import load_family
from optuna_recipes.bench.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]
FAMILY = "lightgbm-wine"


def _study(problem: RecordedProblem, n: int = 8, seed: int = 0, pruner=None) -> optuna.Study:
    study = optuna.create_study(
        direction=problem.direction,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=pruner or optuna.pruners.NopPruner(),
    )
    study.optimize(problem, n_trials=n)
    return study


def test_data_ships_in_the_package_and_loads() -> None:
    folder = resources.files("optuna_recipes.bench").joinpath("data")
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".npz"))
    assert len(files) >= 6
    assert "bench/data/*" in (ROOT / "pyproject.toml").read_text()
    assert sum(Path(str(folder.joinpath(f))).stat().st_size for f in files) < 50e6
    for name in known_families():
        family = load_family(name)
        assert family.curves.dtype == np.float32
        assert family.curves.shape[:2] == (family.n_tasks, family.configs.shape[0])
        assert family.n_tasks >= 3 and family.configs.shape[0] >= 100
        assert family.meta["direction"] == "minimize" and family.meta["command"]
        assert np.isfinite(family.curves).mean() > 0.99


def test_unknown_family_lists_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown recorded family 'lightgbm-iris'") as err:
        make_problem("recorded", {"family": "lightgbm-iris"})
    for name in known_families():
        assert name in str(err.value)


def test_replay_is_deterministic_and_reports_every_round() -> None:
    problem = make_problem("recorded", {"family": FAMILY})
    assert isinstance(problem, RecordedProblem) and problem.n_steps == 100
    a, b = _study(problem), _study(make_problem("recorded", {"family": FAMILY}))
    assert [t.value for t in a.trials] == [t.value for t in b.trials]
    assert [t.intermediate_values for t in a.trials] == [t.intermediate_values for t in b.trials]
    for t in a.trials:
        curve = [t.intermediate_values[s] for s in range(100)]
        assert t.value == pytest.approx(min(curve))
        assert t.value >= problem.optimum - 1e-12
    assert problem.search_space() == load_family(FAMILY).space


def test_a_recorded_configuration_replays_its_record() -> None:
    family = load_family(FAMILY)
    encoder = SearchSpaceEncoder(family.space)
    for surrogate in ("forest", "nearest"):
        problem = RecordedProblem(FAMILY, task=1, surrogate=surrogate)
        for i in (0, 17, 200):
            params = encoder.decode(family.configs[i])
            np.testing.assert_allclose(
                problem.predict_curve(params), family.curves[1, i], rtol=1e-5
            )


def test_pruners_stop_the_replay_and_steps_are_counted() -> None:
    class PruneAtStep3(optuna.pruners.BasePruner):
        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            return trial.last_step is not None and trial.last_step >= 3

    problem = RecordedProblem(FAMILY, n_steps=20)
    study = _study(problem, n=4, pruner=PruneAtStep3())
    assert all(t.state == optuna.trial.TrialState.PRUNED for t in study.trials)
    assert all(sorted(t.intermediate_values) == [0, 1, 2, 3] for t in study.trials)
    median = _study(problem, n=30, pruner=optuna.pruners.MedianPruner(n_startup_trials=5))
    states = [t.state for t in median.trials]
    assert optuna.trial.TrialState.PRUNED in states
    assert optuna.trial.TrialState.COMPLETE in states


def test_surrogate_error_on_held_out_records() -> None:
    """The default surrogate ranks held-out configurations well (measured ~0.9 Spearman)."""
    from scipy.stats import spearmanr

    family = load_family(FAMILY)
    X, Y = family.configs, family.curves[0].astype(np.float64)
    test = np.random.default_rng(0).permutation(len(X))[: len(X) // 5]
    train = np.setdiff1d(np.arange(len(X)), test)
    pred = CurveSurrogate("forest").fit(X[train], Y[train]).predict(X[test])
    best, best_pred = Y[test].min(axis=1), pred.min(axis=1)
    assert spearmanr(best, best_pred).statistic > 0.8
    assert np.mean(np.abs(best - best_pred)) < 0.3 * np.std(best)
    # A surrogate that ignores the configuration does much worse: the bound is informative.
    constant = np.full_like(best, np.mean(Y[train].min(axis=1)))
    assert np.mean(np.abs(best - constant)) > 0.6 * np.std(best)


def test_packed_forest_equals_scikit_learn() -> None:
    from sklearn.ensemble import ExtraTreesRegressor

    rng = np.random.default_rng(1)
    X, Y = rng.random((60, 3)), rng.random((60, 4))
    forest = ExtraTreesRegressor(n_estimators=8, random_state=0).fit(X, Y)
    Xt = rng.random((25, 3))
    np.testing.assert_allclose(_PackedForest(forest).predict(Xt), forest.predict(Xt))


def test_family_sources_are_the_sibling_tasks_and_related() -> None:
    problem = RecordedProblem(FAMILY, sources=3)
    assert problem.source_tasks() == [{"task": 1}, {"task": 2}, {"task": 3}]
    assert RecordedProblem(FAMILY, task=2, sources=2).source_tasks() == [{"task": 0}, {"task": 1}]
    specs = ProblemSpec("w", "recorded", {"family": FAMILY, "sources": 3}).source_specs()
    assert [s.build().task for s in specs] == [1, 2, 3]
    with pytest.raises(ValueError, match="sources"):
        RecordedProblem(FAMILY, sources=4)
    with pytest.raises(ValueError, match="task"):
        RecordedProblem(FAMILY, task=9)
    family = load_family(FAMILY)
    corr = np.corrcoef(family.best_values(0), family.best_values(1))[0, 1]
    assert corr > 0.5  # same design on a subsample: a related task, not a copy
    assert not np.allclose(family.curves[0], family.curves[1])


def test_recording_tool_writes_a_family_that_replays(tmp_path: Path) -> None:
    from optuna_recipes.bench.recording import make_objective
    from optuna_recipes.bench.recording import parse_family
    from optuna_recipes.bench.recording import record_family

    path = record_family(
        parse_family("lightgbm-iris"),
        n_sobol=4,
        n_grid=1,
        n_tasks=2,
        rounds=3,
        cv=2,
        out=tmp_path,
        verbose=False,
    )
    family = load_family("lightgbm-iris", str(tmp_path))
    assert path.name == "lightgbm-iris.npz" and family.curves.shape == (2, 5, 3)
    params = SearchSpaceEncoder(family.space).decode(family.configs[2])
    direct = make_objective(parse_family("lightgbm-iris"), 1, 3, 2).evaluate(params)
    assert direct["value"] == pytest.approx(float(family.curves[1, 2].min()), rel=1e-5)
    problem = RecordedProblem("lightgbm-iris", surrogate="nearest", data=str(tmp_path))
    assert math.isfinite(_study(problem, n=3).best_value)
    with pytest.raises(ValueError, match="library"):
        parse_family("catboost-iris")


def test_recorded_suite_runs_end_to_end(tmp_path: Path) -> None:
    text = f"""
[suite]
trials = 12
seeds = 2
strategies = ["random", "tpe"]
source_trials = 10

[[problems]]
name = "rec"
type = "recorded"
options = {{ family = "{FAMILY}", n_steps = 30 }}

[[problems]]
name = "rec-transfer"
type = "recorded"
strategies = ["tpe", "tpe+median", "warmstart"]
options = {{ family = "{FAMILY}", n_steps = 30, sources = 2 }}
"""
    path = tmp_path / "rec.toml"
    path.write_text(text)
    result = run_suite(str(path), tmp_path / "out", workers=1, progress=False, report=False)
    df = result.results
    assert set(df["problem"]) == {"rec", "rec-transfer"}
    assert len(df) == 12 * 2 * (2 + 3)
    assert (df["steps"] >= 1).all() and (df["steps"] <= 30).all()
    assert (df["regret"].dropna() >= -1e-9).all()
    transfer = df[df["problem"] == "rec-transfer"]
    steps = transfer.groupby("strategy")["steps"].sum()
    assert steps["tpe+median"] < steps["tpe"] == 12 * 2 * 30


def test_builtin_recorded_suite_parses() -> None:
    suite = load_suite("hpo-recorded")
    assert {p.group for p in suite.problems} == {"hpo", "transfer", "pruning"}
    assert suite.seeds >= 10
    for entry in suite.problems:
        problem = entry.spec.build()
        assert len(problem.source_tasks()) == entry.spec.options.get("sources", 0)
    for name in ("transfer", "pruning"):
        recorded = [p for p in load_suite(name).problems if p.spec.type == "recorded"]
        assert recorded and all(p.spec.build().source_tasks() for p in recorded)
