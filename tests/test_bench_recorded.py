"""Recorded problems: package data, families, split, replay, pruning, seconds, transfer sources,
the recording tool (with resume after a kill) and the family suites."""

from __future__ import annotations

from importlib import resources
import json
import math
import os
from pathlib import Path
import subprocess
import sys
import time

import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
import pytest

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes.bench import run_suite
from optuna_recipes.bench.problems import ProblemSpec
from optuna_recipes.bench.problems import make_problem
from optuna_recipes.bench.problems.recorded import FORMATS
from optuna_recipes.bench.problems.recorded import CurveSurrogate
from optuna_recipes.bench.problems.recorded import RecordedProblem
from optuna_recipes.bench.problems.recorded import _PackedForest
from optuna_recipes.bench.problems.recorded import known_families
from optuna_recipes.bench.problems.recorded import load_family
from optuna_recipes.bench.recording import DEV_DATASETS
from optuna_recipes.bench.recording import FAMILIES
from optuna_recipes.bench.recording import FORMAT
from optuna_recipes.bench.recording import TEST_DATASETS
from optuna_recipes.bench.recording import design
from optuna_recipes.bench.recording import load_task
from optuna_recipes.bench.recording import record_family
from optuna_recipes.bench.recording import split_of
from optuna_recipes.bench.recording.models import CURVES
from optuna_recipes.bench.suite import load_suite

ROOT = Path(__file__).resolve().parents[1]
OLD = "lightgbm-wine"  # a format-1 family: one dataset, tasks = 70% subsamples
NEW = "xgboost"  # a format-2 family: one space on 10 tasks


def _study(problem: RecordedProblem, n: int = 8, seed: int = 0, pruner=None) -> optuna.Study:
    study = optuna.create_study(
        direction=problem.direction,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=pruner or optuna.pruners.NopPruner(),
    )
    study.optimize(problem, n_trials=n)
    return study


def test_data_ships_in_the_package_loads_and_fits_the_budget() -> None:
    folder = resources.files("optuna_recipes.bench").joinpath("data")
    files = sorted(p.name for p in folder.iterdir() if p.name.endswith(".npz"))
    assert "bench/data/*" in (ROOT / "pyproject.toml").read_text()
    assert sum(Path(str(folder.joinpath(f))).stat().st_size for f in files) < 15e6
    for name in known_families():
        family = load_family(name)
        assert family.meta["format"] in FORMATS
        assert family.curves.dtype == np.float32 and family.seconds.dtype == np.float32
        assert family.curves.shape[:2] == (family.n_tasks, family.configs.shape[0])
        assert family.seconds.shape == family.curves.shape[:2]
        assert (family.seconds > 0).all()
        assert family.n_tasks >= 3 and family.configs.shape[0] >= 100
        assert family.meta["direction"] == "minimize"
        assert family.meta.get("command") or all(family.meta["commands"])
        assert np.isfinite(family.curves).mean() > 0.99
        assert len(family.task_names) == family.n_tasks


def _shipped() -> list[str]:
    """The format-2 families recorded in the package data (a subset of ``FAMILIES``)."""
    return [n for n in known_families() if load_family(n).meta["format"] == FORMAT]


def test_the_families_cover_the_required_models_tasks_and_datasets() -> None:
    """Issue 24: >= 40 tasks in >= 6 families of >= 6 tasks, >= 10 datasets, grids and
    categoricals in every space, and every family recorded completely."""
    new = _shipped()
    assert set(new) <= set(FAMILIES) and len(new) >= 6
    datasets = set()
    for name in new:
        family = load_family(name)
        assert family.task_names == list(FAMILIES[name].tasks)
        assert family.n_tasks >= 6
        datasets |= {t.partition(":")[0] for t in family.task_names}
        stepped = [d for d in family.space.values() if getattr(d, "step", None) not in (None, 1)]
        assert stepped, name
        assert any(isinstance(d, CategoricalDistribution) for d in family.space.values()), name
        for info in family.meta["tasks"]:
            assert info["failed"] <= 0.01 * family.configs.shape[0]
    assert sum(load_family(n).n_tasks for n in new) >= 40
    assert len(datasets) >= 10
    models = {FAMILIES[n].model for n in new}
    assert models >= {"xgboost", "lightgbm", "hgb", "svm", "mlp"}
    assert models & {"random_forest", "extra_trees"}


def test_the_split_is_disjoint_and_every_family_has_both_sides() -> None:
    assert not set(DEV_DATASETS) & set(TEST_DATASETS)
    for spec in FAMILIES.values():
        splits = [split_of(t) for t in spec.tasks]
        assert splits.count("dev") == splits.count("test") == len(splits) // 2
    for name in FAMILIES:
        if name in known_families():
            family = load_family(name)
            assert family.splits == [split_of(t) for t in family.task_names]
    with pytest.raises(ValueError, match="neither DEV_DATASETS nor TEST_DATASETS"):
        split_of("make_classification")


@pytest.mark.parametrize("split", ["dev", "test"])
def test_the_family_suites_follow_the_split(split: str) -> None:
    suite = load_suite(f"hpo-families-{split}")
    groups: dict[str, set[tuple[str, str]]] = {}
    for spec in suite.problems:
        options = spec.spec.options
        assert split_of(options["task"]) == split
        groups.setdefault(spec.group, set()).add((options["family"], options["task"]))
        if spec.group == "transfer":
            assert options["sources"] == "all"
            assert options.get("source_pool", "all") == ("dev" if split == "dev" else "all")
    shipped = _shipped()
    expected = {(f, t) for f in shipped for t in FAMILIES[f].tasks if split_of(t) == split}
    assert groups["hpo"] == groups["transfer"] == expected
    if split == "test":
        partnered = {f for f in shipped if FAMILIES[f].partner in shipped}
        assert {f for f, _ in groups["unrelated"]} == partnered


def test_the_ga_hub_suite_is_every_test_task_of_every_shipped_family() -> None:
    path = Path(__file__).resolve().parents[1] / "benchmarks" / "suites" / "families-ga-hub.toml"
    suite = load_suite(str(path))
    tasks = {(p.spec.options["family"], p.spec.options["task"]) for p in suite.problems}
    shipped = _shipped()
    assert tasks == {(f, t) for f in shipped for t in FAMILIES[f].tasks if split_of(t) == "test"}
    assert {(p.group, p.trials) for p in suite.problems} == {("hpo", 200)}
    assert all(p.strategies == ["ga", "tpe", "ipop-cmaes", "de", "catcma"] for p in suite.problems)
    # CatCMA needs a categorical parameter: every family has one.
    for family in shipped:
        space = make_problem("recorded", {"family": family, "task": 0}).search_space()
        assert any(isinstance(d, CategoricalDistribution) for d in space.values()), family


def test_unknown_family_and_task_list_the_known_ones() -> None:
    with pytest.raises(ValueError, match="Unknown recorded family 'lightgbm-iris'") as err:
        make_problem("recorded", {"family": "lightgbm-iris"})
    for name in known_families():
        assert name in str(err.value)
    with pytest.raises(ValueError, match="hastie:flip10"):
        RecordedProblem(NEW, task="hastie:flip99")


@pytest.mark.parametrize("family", [OLD, NEW, "svm", "mlp"])
def test_replay_is_deterministic_and_reports_every_step(family: str) -> None:
    problem = make_problem("recorded", {"family": family, "task": 1})
    n = problem.n_steps
    assert isinstance(problem, RecordedProblem) and n == load_family(family).n_steps
    a, b = _study(problem), _study(make_problem("recorded", {"family": family, "task": 1}))
    assert [t.value for t in a.trials] == [t.value for t in b.trials]
    assert [t.intermediate_values for t in a.trials] == [t.intermediate_values for t in b.trials]
    for t in a.trials:
        curve = [t.intermediate_values[s] for s in range(n)]
        assert t.value == pytest.approx(min(curve))
        assert t.value >= problem.optimum - 1e-12
    assert problem.search_space() == load_family(family).space


@pytest.mark.parametrize("family", [OLD, NEW, "svm"])
def test_a_recorded_configuration_replays_its_record_and_seconds(family: str) -> None:
    records = load_family(family)
    encoder = SearchSpaceEncoder(records.space)
    for surrogate in ("forest", "nearest"):
        problem = RecordedProblem(family, task=1, surrogate=surrogate)
        unique = [
            i for i in (0, 17, 90) if (records.configs == records.configs[i]).all(1).sum() == 1
        ]
        assert unique
        for i in unique:
            params = encoder.decode(records.configs[i])
            np.testing.assert_allclose(
                problem.predict_curve(params), records.curves[1, i], rtol=1e-5
            )
            assert problem.seconds(params) == pytest.approx(records.seconds[1, i], rel=1e-4)
            steps = max(problem.n_steps // 2, 1)
            assert problem.seconds(params, steps=steps) == pytest.approx(
                records.seconds[1, i] * steps / problem.n_steps, rel=1e-4
            )


def test_a_full_grid_family_replays_by_exact_lookup() -> None:
    problem = RecordedProblem("svm", task="iris")
    records = load_family("svm")
    assert problem.surrogate == "nearest" and records.full_grid
    assert records.configs.shape[0] == 3 * 11 * 10
    study = _study(problem, n=20)
    encoder = SearchSpaceEncoder(records.space)
    task = records.task_index("iris")
    for t in study.trials:
        # configs are stored as float32: equal within its precision
        close = np.isclose(records.configs, encoder.encode(t.params), rtol=0, atol=1e-6)
        row = np.flatnonzero(close.all(axis=1))
        assert len(row) == 1 and t.value == pytest.approx(float(records.curves[task, row[0], 0]))


def test_pruners_stop_the_replay_and_steps_are_counted() -> None:
    class PruneAtStep3(optuna.pruners.BasePruner):
        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            return trial.last_step is not None and trial.last_step >= 3

    for family in (OLD, NEW):
        problem = RecordedProblem(family, n_steps=20)
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

    family = load_family(OLD)
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


def test_the_recorded_holdout_accuracy_of_every_new_family() -> None:
    """Each format-2 task stores the 5-fold held-out accuracy of its replay surrogate."""
    for name in FAMILIES:
        family = load_family(name)
        checks = [t["holdout"] for t in family.meta["tasks"]]
        if family.full_grid:
            assert checks == ["lookup"] * family.n_tasks
            continue
        rho = np.array([c["spearman"] for c in checks])
        assert np.median(rho) > 0.8 and rho.min() > 0.5, (name, rho)


def test_packed_forest_equals_scikit_learn() -> None:
    from sklearn.ensemble import ExtraTreesRegressor

    rng = np.random.default_rng(1)
    X, Y = rng.random((60, 3)), rng.random((60, 4))
    forest = ExtraTreesRegressor(n_estimators=8, random_state=0).fit(X, Y)
    Xt = rng.random((25, 3))
    np.testing.assert_allclose(_PackedForest(forest).predict(Xt), forest.predict(Xt))


@pytest.mark.slow
def test_format_1_sources_are_the_sibling_tasks_and_related() -> None:
    problem = RecordedProblem(OLD, sources=3)
    assert problem.source_tasks() == [{"task": 1}, {"task": 2}, {"task": 3}]
    # Siblings in order starting after the target: another target, another single source.
    assert RecordedProblem(OLD, task=2, sources=2).source_tasks() == [{"task": 3}, {"task": 0}]
    specs = ProblemSpec("w", "recorded", {"family": OLD, "sources": 3}).source_specs()
    assert [s.build().task for s in specs] == [1, 2, 3]
    with pytest.raises(ValueError, match="sources"):
        RecordedProblem(OLD, sources=4)
    with pytest.raises(ValueError, match="task"):
        RecordedProblem(OLD, task=9)
    with pytest.raises(ValueError, match="split"):
        RecordedProblem(OLD, source_pool="dev")
    with pytest.raises(ValueError, match="partner"):
        RecordedProblem(OLD, unrelated=1)
    family = load_family(OLD)
    corr = np.corrcoef(family.best_values(0), family.best_values(1))[0, 1]
    assert corr > 0.5  # same design on a subsample: a related task, not a copy
    assert not np.allclose(family.curves[0], family.curves[1])


def test_family_sources_leave_one_task_out_pools_and_unrelated_partners() -> None:
    tasks = list(FAMILIES[NEW].tasks)
    target = "noisy"
    loto = RecordedProblem(NEW, task=target, sources="all").source_tasks()
    assert sorted(s["task"] for s in loto) == sorted(t for t in tasks if t != target)
    assert loto[0] == {"task": tasks[tasks.index(target) + 1]}
    one = RecordedProblem(NEW, task=target, sources=1).source_tasks()
    three = RecordedProblem(NEW, task=target, sources=3).source_tasks()
    assert one == loto[:1] and three == loto[:3]
    dev = RecordedProblem(NEW, task="hastie", sources="all", source_pool="dev").source_tasks()
    assert len(dev) == 4 and all(split_of(s["task"]) == "dev" for s in dev)
    unrelated = RecordedProblem(NEW, task=target, unrelated=2).source_tasks()
    assert [s["family"] for s in unrelated] == ["lightgbm"] * 2
    assert all(s["task"].partition(":")[0] != target for s in unrelated)
    spec = ProblemSpec("u", "recorded", {"family": NEW, "task": target, "unrelated": 1})
    (source,) = spec.source_specs()
    built = source.build()
    assert built.family_name == "lightgbm" and built.search_space() == spec.build().search_space()
    with pytest.raises(ValueError, match="partner"):
        RecordedProblem("svm", unrelated=1)
    with pytest.raises(ValueError, match="sources"):
        RecordedProblem(NEW, task=target, sources=10)


def test_related_tasks_share_their_landscape_more_than_unrelated_ones() -> None:
    """A perturbed copy of a dataset ranks the design like its original does."""
    family = load_family(NEW)
    best = {t: family.best_values(i) for i, t in enumerate(family.task_names)}
    related = np.corrcoef(best["hastie"], best["hastie:flip10"])[0, 1]
    assert related > 0.7


@pytest.mark.slow
def test_recording_a_family_end_to_end(tmp_path: Path) -> None:
    path = record_family(
        "random_forest", tasks=["iris"], n_sobol=4, steps=3, out=tmp_path, verbose=False
    )
    family = load_family("random_forest", str(tmp_path))
    assert path.name == "random_forest.npz" and family.curves.shape == (1, 20, 3)
    assert family.meta["format"] == FORMAT and family.task_names == ["iris"]
    assert family.meta["tasks"][0]["split"] == "test" and family.meta["versions"]
    params = SearchSpaceEncoder(family.space).decode(family.configs[17])
    assert params == design(FAMILIES["random_forest"], n_sobol=4)[17]
    direct = CURVES["random_forest"](params, load_task("iris"), 3)
    np.testing.assert_allclose(family.curves[0, 17], direct, rtol=1e-5)
    problem = RecordedProblem("random_forest", surrogate="nearest", data=str(tmp_path))
    assert math.isfinite(_study(problem, n=3).best_value)
    with pytest.raises(ValueError, match="different steps"):
        record_family("random_forest", tasks=["wine"], n_sobol=4, steps=4, out=tmp_path)
    with pytest.raises(ValueError, match="Unknown family"):
        record_family("catboost", out=tmp_path)


def _recorded_tasks(path: Path) -> tuple[list[str], np.ndarray, list[str]]:
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        return [t["name"] for t in meta["tasks"]], data["curves"], meta["commands"]


@pytest.mark.slow
def test_a_killed_recording_keeps_finished_tasks_and_resumes(tmp_path: Path) -> None:
    tasks = "iris,wine,iris:flip10"
    command = [sys.executable, "-m", "optuna_recipes.bench.recording", "--family", "svm"]
    command += ["--tasks", tasks, "--out", str(tmp_path)]
    env = {**os.environ, "OMP_NUM_THREADS": "1"}
    path = tmp_path / "svm.npz"
    proc = subprocess.Popen(command, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    deadline = time.monotonic() + 300
    while not path.exists() and proc.poll() is None and time.monotonic() < deadline:
        time.sleep(0.01)
    proc.kill()
    proc.wait()
    done, curves, _ = _recorded_tasks(path)
    assert done and done == tasks.split(",")[: len(done)]
    subprocess.run(command, env=env, check=True, capture_output=True)
    resumed, all_curves, commands = _recorded_tasks(path)
    assert resumed == tasks.split(",") and len(commands) == 2
    np.testing.assert_array_equal(all_curves[: len(done)], curves)  # not recorded again
    assert [p.name for p in tmp_path.iterdir()] == ["svm.npz"]


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
options = {{ family = "{OLD}", n_steps = 30 }}

[[problems]]
name = "rec-transfer"
type = "recorded"
strategies = ["tpe", "tpe+median", "warmstart"]
options = {{ family = "{NEW}", task = "noisy", n_steps = 30, sources = 2, unrelated = 1 }}
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


def test_recording_writes_into_the_package_only_in_a_source_checkout(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """Issue 28: `recording --help` defaulted --out into site-packages for installed packages."""
    from optuna_recipes.bench.recording import record

    assert record.default_out() == record.DATA_DIR  # this checkout has a pyproject.toml
    installed = tmp_path / "site-packages" / "optuna_recipes" / "bench" / "data"
    monkeypatch.setattr(record, "DATA_DIR", installed)
    assert record.default_out() == Path("recorded-families")
