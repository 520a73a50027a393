"""The harness's ecosystem and parallel layer: OptunaHub strategies, simulated workers, and the
report's critical-difference, IQM, ECDF and parallel-workers sections."""

from __future__ import annotations

import os
from pathlib import Path
import subprocess
import sys

import pandas as pd
import pytest

from optuna_recipes.bench import run_suite
from optuna_recipes.bench.hub import split_hub_name
from optuna_recipes.bench.outdir import OutputFolderError
from optuna_recipes.bench.report_stats import stats_sections
from optuna_recipes.bench.strategies import HubUnavailableError
from optuna_recipes.bench.strategies import StrategyUnavailableError
from optuna_recipes.bench.strategies import parse_strategy
from optuna_recipes.bench.strategies import with_hub_registry
from optuna_recipes.bench.suite import SuiteError
from optuna_recipes.bench.suite import load_suite
from optuna_recipes.bench.suite import parse_suite

ROOT = Path(__file__).resolve().parents[1]
REGISTRY = ROOT.parent.parent / "shared" / "optunahub-registry"
if not (REGISTRY / "package").is_dir():
    REGISTRY = Path("/work/shared/optunahub-registry")
needs_registry = pytest.mark.skipif(
    not (REGISTRY / "package" / "samplers" / "restart_cmaes").is_dir(),
    reason="the local OptunaHub registry subset (../shared/optunahub-registry) is not here",
)

SUITE = """
[suite]
trials = 8
seeds = 2
strategies = ["random", "tpe"]
simulate_workers = [1, 3]

[[problems]]
name = "sphere"
type = "mixed"
options = { function = "sphere", n_float = 2, n_int = 1, n_cat = 0 }

[[problems]]
name = "ellipsoid"
type = "mixed"
options = { function = "ellipsoid", n_float = 3, n_int = 0, n_cat = 0 }

[[problems]]
name = "rec-svm"
type = "recorded"
trials = 6
options = { family = "svm", task = "digits" }
"""


def _suite(tmp_path: Path, text: str = SUITE, name: str = "par") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def _cli(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run(
        [sys.executable, "-m", "optuna_recipes", "bench", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=300,
    )


# ---- OptunaHub strategies ----------------------------------------------------------------


def test_hub_names_parse() -> None:
    assert split_hub_name("hub:samplers/restart_cmaes") == ("samplers/restart_cmaes", None)
    assert split_hub_name("hub:samplers/restart_cmaes:RestartCmaEsSampler") == (
        "samplers/restart_cmaes",
        "RestartCmaEsSampler",
    )
    strategy = parse_strategy("hub:samplers/differential_evolution+median")
    assert (strategy.sampler, strategy.pruner) == ("hub:samplers/differential_evolution", "median")
    assert strategy.uses_hub
    assert with_hub_registry(strategy, "/r").hub_registry == "/r"
    assert with_hub_registry(parse_strategy("tpe"), "/r").hub_registry is None
    with pytest.raises(ValueError, match="not an OptunaHub name"):
        parse_strategy("hub:restart_cmaes")


@needs_registry
def test_hub_strategy_builds_with_options_and_seed() -> None:
    strategy = with_hub_registry(
        parse_strategy("hub:samplers/restart_cmaes:RestartCmaEsSampler"), str(REGISTRY)
    )
    strategy.check()
    sampler = strategy.build_sampler(seed=3)
    assert type(sampler).__name__ == "RestartCmaEsSampler"
    named = parse_suite(
        f"""
[suite]
strategies = ["ipop"]
hub_registry = "{REGISTRY}"
[strategies.ipop]
sampler = "hub:samplers/restart_cmaes"
sampler_options = {{ restart_strategy = "ipop", warn_independent_sampling = false }}
[[problems]]
type = "mixed"
"""
    ).strategy("ipop")
    assert named.hub_registry == str(REGISTRY)
    named.check()
    assert type(named.build_sampler(seed=0)).__name__ == "RestartCmaEsSampler"
    wrong = parse_suite(
        f"""
[suite]
strategies = ["bad"]
hub_registry = "{REGISTRY}"
[strategies.bad]
sampler = "hub:samplers/restart_cmaes"
sampler_options = {{ no_such_option = 1 }}
[[problems]]
type = "mixed"
"""
    ).strategy("bad")
    with pytest.raises(ValueError, match="no_such_option"):
        wrong.check()


def test_suite_hub_registry_is_relative_to_the_suite_file(tmp_path: Path) -> None:
    path = _suite(
        tmp_path,
        '[suite]\nstrategies = ["hub:samplers/x"]\nhub_registry = "reg"\n'
        '[[problems]]\ntype = "mixed"\n',
    )
    suite = load_suite(path)
    assert suite.hub_registry == str(tmp_path / "reg")
    assert "hub:samplers/x" in suite.import_paths()  # hub packages run code: listed
    assert suite.runs(seeds=1)[0].strategy.hub_registry == str(tmp_path / "reg")


@needs_registry
def test_hub_strategy_runs_from_the_local_registry(tmp_path: Path) -> None:
    result = run_suite(
        "quick",
        tmp_path / "out",
        seeds=1,
        trials=6,
        strategies=["tpe", "hub:samplers/restart_cmaes"],
        hub_registry=REGISTRY,
        workers=1,
        progress=False,
        report=False,
    )
    done = result.runs[result.runs["status"] == "done"]
    assert set(done["strategy"]) == {"tpe", "hub:samplers/restart_cmaes"}
    assert set(result.results["strategy"]) == {"tpe", "hub:samplers/restart_cmaes"}


def test_missing_hub_package_is_one_line(tmp_path: Path) -> None:
    registry = tmp_path / "registry"
    (registry / "package" / "samplers").mkdir(parents=True)
    strategy = with_hub_registry(parse_strategy("hub:samplers/nope"), str(registry))
    with pytest.raises(HubUnavailableError, match="not in the local registry") as info:
        strategy.check()
    assert isinstance(info.value, StrategyUnavailableError)
    assert isinstance(info.value, ImportError)
    proc = _cli(
        "run",
        "quick",
        "--strategies",
        "tpe,hub:samplers/nope",
        "--hub-registry",
        str(registry),
        "--seeds",
        "1",
        "--out",
        str(tmp_path / "out"),
        cwd=tmp_path,
    )
    assert proc.returncode == 2
    # One error line (after the note saying which group lists --strategies replaced).
    lines = [x for x in proc.stderr.strip().splitlines() if "replaces: group" not in x]
    assert len(lines) == 1 and "samplers/nope" in lines[0], proc.stderr
    assert "Traceback" not in proc.stderr


def test_no_imports_refuses_hub_packages(tmp_path: Path) -> None:
    with pytest.raises(SuiteError, match="hub:samplers/restart_cmaes"):
        run_suite(
            "quick",
            tmp_path / "out",
            seeds=1,
            trials=3,
            strategies=["hub:samplers/restart_cmaes"],
            allow_imports=False,
            progress=False,
        )


# ---- simulated workers -------------------------------------------------------------------


def test_simulate_workers_in_the_suite_parse(tmp_path: Path) -> None:
    suite = load_suite(_suite(tmp_path))
    assert suite.simulate_workers == [1, 3]
    runs = suite.runs()
    assert {r.sim_workers for r in runs} == {1, 3}
    assert len(runs) == 3 * 2 * 2 * 2
    assert any(r.study_name.endswith("/tpe@3w/seed1") for r in runs)
    assert runs[0].fingerprint()["simulate_workers"] in (1, 3)
    assert "simulate_workers" not in load_suite("quick").runs(seeds=1)[0].fingerprint()
    with pytest.raises(SuiteError, match="simulate_workers"):
        parse_suite('[suite]\nsimulate_workers = [0]\n[[problems]]\ntype = "mixed"\n')


def test_simulated_runs_write_worker_and_clock_and_resume(tmp_path: Path) -> None:
    path, out = _suite(tmp_path), tmp_path / "out"
    result = run_suite(path, out, workers=2, progress=False)
    df = result.results
    assert (result.runs["status"] == "done").all()
    assert set(df["strategy"]) == {"random@1w", "random@3w", "tpe@1w", "tpe@3w"}
    assert df[["workers", "worker", "sim_start", "sim_time"]].notna().all().all()
    one = df[df["workers"] == 1]
    assert set(one["worker"]) == {0}
    three = df[df["workers"] == 3]
    assert set(three["worker"]) == {0, 1, 2}
    assert (df["sim_time"] >= df["sim_start"]).all()
    # one worker runs trials back to back: the makespan is the sum of the costs
    for _, run in one.groupby(["problem", "strategy", "seed"]):
        run = run.sort_values("trial")
        assert run["sim_start"].iloc[1:].tolist() == pytest.approx(run["sim_time"].iloc[:-1])
    # recorded problems cost their recorded seconds, other problems one unit per trial
    unit = one[one["problem"] == "sphere"]
    assert (unit["sim_time"] - unit["sim_start"]).tolist() == pytest.approx([1.0] * len(unit))
    saved = pd.read_csv(out / "results.csv")
    assert saved["worker"].notna().all()
    again = run_suite(path, out, workers=1, progress=False, report=False)
    assert (again.runs["status"] == "skipped").all()
    key = ["problem", "strategy", "seed", "trial"]
    cols = [*key, "value", "worker", "sim_start", "sim_time"]
    pd.testing.assert_frame_equal(
        again.results.sort_values(key).reset_index(drop=True)[cols],
        df.sort_values(key).reset_index(drop=True)[cols],
    )
    with pytest.raises(OutputFolderError, match="simulate_workers"):
        run_suite(path, out, simulate_workers=2, progress=False)
    report = (out / "report.md").read_text()
    for heading in (
        "## Critical differences",
        "## Interquartile mean of normalized regret",
        "## ECDF of targets reached",
        "## Parallel workers",
    ):
        assert heading in report
    assert "equal simulated time" in report
    assert (out / "critical_difference.csv").exists() and (out / "iqm.csv").exists()
    assert list((out / "plots").glob("stats/*anytime-sim_time*.png"))
    assert list((out / "plots").glob("stats/*ecdf-sim_time*.png"))


def test_cli_simulate_workers_and_sequential_report(tmp_path: Path) -> None:
    text = SUITE.replace("simulate_workers = [1, 3]\n", "")
    path, out = _suite(tmp_path, text), tmp_path / "cli"
    proc = _cli(
        "run", path, "--simulate-workers", "2", "--seeds", "1", "--no-progress", "--out",
        str(out), cwd=tmp_path,
    )  # fmt: skip
    assert proc.returncode == 0, proc.stderr
    df = pd.read_csv(out / "results.csv")
    assert set(df["workers"]) == {2} and set(df["worker"]) == {0, 1}
    assert "--simulate-workers 2" in (out / "report.md").read_text()
    seq = run_suite(path, tmp_path / "seq", seeds=2, progress=False)
    assert seq.results[["workers", "worker", "sim_time"]].isna().all().all()
    report = (tmp_path / "seq" / "report.md").read_text()
    assert "## Critical differences" in report and "## ECDF of targets reached" in report
    assert "## Parallel workers" not in report
    assert "sequential" in report
    # a results table written before simulated workers existed still gets the sections
    legacy = seq.results.drop(columns=["workers", "worker", "sim_start", "sim_time"])
    (tmp_path / "legacy").mkdir()
    lines = stats_sections(tmp_path / "legacy", legacy)
    assert "## Critical differences" in lines and "## Parallel workers" not in lines
