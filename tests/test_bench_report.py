"""The report (Markdown, PNG, CSV), the metrics behind it, and the ``bench`` command."""

from __future__ import annotations

from pathlib import Path
import subprocess
import sys

import numpy as np
import pandas as pd
import pytest

from optuna_recipes.bench import metrics
from optuna_recipes.bench import run_suite
from optuna_recipes.bench.outdir import OutputFolderError
from optuna_recipes.bench.report import plot_name
from optuna_recipes.bench.report import write_report
from optuna_recipes.cli import main

SUITE = """
[suite]
trials = 8
seeds = 3
strategies = ["random", "tpe", "cmaes"]

[[problems]]
name = "sphere"
type = "mixed"
group = "samplers"
options = { function = "sphere", n_float = 2, n_int = 1, n_cat = 1 }

[[problems]]
name = "maximize"
type = "_bench_helpers:make_maximize"
group = "samplers"

[[problems]]
name = "curves"
type = "curves"
group = "pruning"
strategies = ["random", "random+median"]
options = { n_steps = 6 }
"""


@pytest.fixture(scope="module")
def finished(tmp_path_factory: pytest.TempPathFactory) -> Path:
    tmp = tmp_path_factory.mktemp("report")
    (tmp / "tiny.toml").write_text(SUITE)
    result = run_suite(str(tmp / "tiny.toml"), tmp / "out", workers=1, progress=False)
    assert result.report is not None
    return tmp / "out"


@pytest.mark.slow
def test_report_files(finished: Path) -> None:
    text = (finished / "report.md").read_text()
    assert text.startswith("# Benchmark report: tiny")
    command = text.split("```bash\n", 1)[1].split("\n", 1)[0]
    assert command.startswith("python -m optuna_recipes bench run ") and "--out" in command
    for section in [
        "## Leaderboard",
        "## Pairwise comparisons",
        "## Speedup over random search",
        "## Sampler overhead",
    ]:
        assert section in text
    assert "## Pruning: steps saved versus quality" in text
    for problem in ["sphere", "maximize", "curves"]:
        png = finished / "plots" / plot_name(problem)
        assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        assert f"](plots/{png.name})" in text
    names = [
        "leaderboard",
        "pairwise",
        "final",
        "overhead",
        "pruning",
        "speedup",
        "results",
        "runs",
    ]
    for name in names:
        assert not pd.read_csv(finished / f"{name}.csv").empty


def test_metrics_on_a_known_table() -> None:
    # Two strategies, 1 problem (minimize, optimum 0), 4 seeds, 2 trials; "a" always better.
    rows = []
    for seed in range(4):
        for strategy, values in {"a": [1.0, 0.5], "b": [2.0, 1.0]}.items():
            best = np.minimum.accumulate(values)
            for trial, (v, bst) in enumerate(zip(values, best, strict=True)):
                rows.append(
                    dict(
                        group="g",
                        problem="p",
                        strategy=strategy,
                        sampler=strategy,
                        pruner="none",
                        seed=seed,
                        trial=trial,
                        state="COMPLETE",
                        value=v,
                        best=bst,
                        regret=bst,
                        wall_time=trial + 1.0,
                        duration=1.0,
                        sampler_time=0.1,
                        objective_time=0.5,
                        steps=np.nan,
                        cum_steps=np.nan,
                        direction="minimize",
                        optimum=0.0,
                    )
                )
    df = pd.DataFrame(rows)
    ranks = metrics.mean_ranks(df).set_index("strategy")
    assert ranks.loc["a", 1.0] == 1.0 and ranks.loc["b", 1.0] == 2.0
    norm = metrics.at_budgets(df, (1.0,)).groupby("strategy")["normalized"].median()
    # hi = median first value over runs = 1.5, lo = optimum 0
    assert norm["a"] == pytest.approx(0.5 / 1.5) and norm["b"] == pytest.approx(1.0 / 1.5)
    wins = metrics.win_rates(df)["g"]
    assert wins.loc["a", "b"] == 1.0 and wins.loc["b", "a"] == 0.0
    pair = metrics.pairwise_tests(df).iloc[0]
    assert pair["win_rate"] == 1.0 and pair["median_diff"] < 0 and pair["n"] == 4
    over = metrics.overhead(df).set_index("strategy")
    assert over.loc["a", "sampler_ms_median"] == pytest.approx(100.0)
    assert over.loc["a", "other_ms_median"] == pytest.approx(400.0)
    # Each run ends at wall_time = its trial count: one real second per trial.
    assert over.loc["a", "real_ms_per_trial"] == pytest.approx(1000.0)
    assert metrics.holm([0.01, 0.04, 0.03]) == pytest.approx([0.03, 0.06, 0.06])


def test_overhead_of_overlapping_simulated_trials() -> None:
    # One run of 4 trials with 32 simulated workers: the simulator interleaved them, so each
    # trial's duration (3 s) and objective time (2.5 s) span the others' turns, while the whole
    # run took 2 s of real time. Per-trial objective and other time would count the same
    # seconds up to four times: they are unknown (NaN); sampler time and real time per trial
    # stay. The same run with one worker keeps its per-trial split.
    rows = []
    for workers in (1, 32):
        for trial in range(4):
            rows.append(
                dict(
                    strategy=f"s@{workers}w",
                    problem="p",
                    seed=0,
                    trial=trial,
                    state="COMPLETE",
                    wall_time=0.5 * (trial + 1),
                    duration=3.0 if workers > 1 else 0.5,
                    sampler_time=0.1,
                    objective_time=2.5 if workers > 1 else 0.3,
                    workers=workers,
                )
            )
    df = pd.DataFrame(rows)
    over = metrics.overhead(df).set_index("strategy")
    assert over.loc["s@32w", "sampler_ms_median"] == pytest.approx(100.0)
    assert np.isnan(over.loc["s@32w", "objective_ms_median"])
    assert np.isnan(over.loc["s@32w", "other_ms_median"])
    assert over.loc["s@32w", "real_ms_per_trial"] == pytest.approx(500.0)
    assert over.loc["s@1w", "objective_ms_median"] == pytest.approx(300.0)
    assert over.loc["s@1w", "other_ms_median"] == pytest.approx(100.0)
    times = metrics.trial_times(df)
    assert times.loc[df["workers"] > 1, ["duration", "objective_time", "other"]].isna().all().all()


def test_speedup_over_random() -> None:
    # random reaches 1.0 at trial 4 of 4; "fast" gets <= 1.0 at its 2nd trial (speedup 2) in
    # seed 0 and at its 1st (4) in seed 1; "slow" never does in seed 0 (0) and at its 4th (1).
    traces = {
        ("random", 0): [3.0, 2.0, 2.0, 1.0],
        ("random", 1): [3.0, 2.0, 2.0, 1.0],
        ("fast", 0): [2.0, 0.5, 0.4, 0.3],
        ("fast", 1): [1.0, 1.0, 1.0, 1.0],
        ("slow", 0): [5.0, 4.0, 3.0, 2.0],
        ("slow", 1): [5.0, 4.0, 3.0, 0.9],
    }
    rows = []
    for (strategy, seed), values in traces.items():
        best = np.minimum.accumulate(values)
        for trial, (v, b) in enumerate(zip(values, best, strict=True)):
            # maximize with negated values: the loss is the same as above
            rows.append(
                dict(
                    group="g",
                    problem="p",
                    strategy=strategy,
                    seed=seed,
                    trial=trial,
                    value=-v,
                    best=-b,
                    direction="maximize",
                )
            )
    table = metrics.speedup_over_random(pd.DataFrame(rows)).set_index("strategy")
    assert table.loc["random", "speedup"] == 1.0 and table.loc["random", "reached"] == 1.0
    assert table.loc["fast", "speedup"] == pytest.approx(3.0)  # median of 2 and 4
    assert table.loc["fast", "speedup_gmean"] == pytest.approx(np.sqrt(8.0))
    assert table.loc["slow", "speedup"] == pytest.approx(0.5)  # median of 0 and 1
    assert table.loc["slow", "reached"] == 0.5 and table.loc["slow", "speedup_gmean"] == 1.0
    assert metrics.speedup_over_random(pd.DataFrame(rows), reference="none").empty


def test_report_refuses_unfinished_or_foreign_folders(tmp_path: Path) -> None:
    with pytest.raises(OutputFolderError, match="not a benchmark output folder"):
        write_report(tmp_path)


@pytest.mark.slow
def test_cli_report_and_list(finished: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "report", str(finished)]) == 0
    out = capsys.readouterr().out
    assert "[samplers]" in out and "[pruning]" in out and "report.md" in out
    assert main(["bench", "list"]) == 0
    out = capsys.readouterr().out
    assert "quick" in out and "warmstart" in out and "hyperband" in out
    assert main(["bench"]) == 0
    assert "{list,show,run,report}" in capsys.readouterr().out


def test_cli_bad_input_exit_code_2(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    assert main(["bench", "run", "quick", "--strategies", "tpee", "--out", str(tmp_path)]) == 2
    assert "Did you mean 'tpe'" in capsys.readouterr().err
    assert main(["bench", "run", "nope.toml"]) == 2
    assert "does not exist" in capsys.readouterr().err
    assert main(["bench", "report", str(tmp_path / "missing")]) == 2
    assert "does not exist" in capsys.readouterr().err
    with pytest.raises(SystemExit):
        main(["bench", "run", "quick", "--seeds", "0"])


def test_cli_help_imports_no_heavy_library() -> None:
    code = (
        "import sys; from optuna_recipes.cli import build_parser; build_parser();"
        "print([m for m in ('optuna', 'pandas', 'scipy', 'matplotlib', 'cocoex', 'sklearn')"
        " if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
