"""compare() on a user's objective, suite import paths relative to the suite, the report's
verdict (significance, identical strategies, wall-time plots, run counts) and metrics on blocks
that some strategies did not run."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

import optuna_recipes
from optuna_recipes.bench import compare
from optuna_recipes.bench import metrics
from optuna_recipes.bench import run_suite
from optuna_recipes.bench import verdict
from optuna_recipes.bench.suite import SuiteError


def quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5.0, 5.0)
    y = trial.suggest_float("y", -5.0, 5.0)
    return (x - 1.0) ** 2 + (y + 0.5) ** 2


def test_compare_on_a_quadratic(tmp_path: Path) -> None:
    before = optuna.logging.get_verbosity()
    df = compare(quadratic, ["random", "tpe"], n_trials=10, seeds=2, out=tmp_path / "cmp")
    assert optuna_recipes.compare is compare
    assert len(df) == 2 * 2 * 10 and set(df["strategy"]) == {"random", "tpe"}
    assert set(df["seed"]) == {0, 1} and (df["direction"] == "minimize").all()
    report = Path(df.attrs["report"]).read_text()
    assert "**Verdict.**" in report and "compare(quadratic" in report
    # TPE's first 10 trials are random search with the same seed: flagged, with the reason.
    assert "tpe equals random" in report and "n\\_startup\\_trials" in report
    assert optuna.logging.get_verbosity() == before
    # Same call, same folder: resumed, nothing redone.
    again = compare(quadratic, ["random", "tpe"], n_trials=10, seeds=2, out=tmp_path / "cmp")
    pd.testing.assert_frame_equal(again, df)


def test_compare_factory_direction_and_refusals(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    def factory():  # a zero-argument factory: called in each run
        return lambda t: -((t.suggest_float("x", -1.0, 1.0) - 0.2) ** 2)

    df = compare(factory, ["random"], n_trials=5, seeds=1, direction="maximize", progress=False)
    assert (df["direction"] == "maximize").all() and len(df) == 5
    assert Path(df.attrs["out"]) == Path("bench-out/compare-factory")
    # Another objective under the same name: a new folder, not a resume of the first.
    other = compare(
        lambda t: t.suggest_float("x", 0, 1), ["random"], n_trials=5, seeds=1, name="factory"
    )
    assert Path(other.attrs["out"]) == Path("bench-out/compare-factory-2")
    with pytest.raises(ValueError, match="workers=2"):
        compare(lambda t: 0.0, ["random"], n_trials=2, seeds=1, workers=2)
    with pytest.raises(ValueError, match="at least one strategy"):
        compare(quadratic, [], n_trials=2, seeds=1)


SUITE = """
[suite]
trials = 4
seeds = 1
strategies = ["random"]

[[problems]]
name = "relative"
type = "{module}:make"
"""

MODULE = """
from optuna_recipes.bench.problems import FunctionProblem


def make():
    return FunctionProblem(lambda t: t.suggest_float("x", -1.0, 1.0) ** 2)
"""


@pytest.mark.parametrize("workers", [1, 2])
def test_suite_import_paths_resolve_relative_to_the_suite(
    tmp_path: Path, monkeypatch, capsys, workers: int
) -> None:
    module = f"relative_problems_w{workers}"
    (tmp_path / "suites").mkdir()
    (tmp_path / "suites" / f"{module}.py").write_text(MODULE)
    (tmp_path / "suites" / "rel.toml").write_text(SUITE.format(module=module))
    (tmp_path / "elsewhere").mkdir()
    monkeypatch.chdir(tmp_path / "elsewhere")  # neither the cwd nor PYTHONPATH holds it
    result = run_suite("../suites/rel.toml", tmp_path / "out", workers=workers, report=False)
    assert len(result.results) == 4
    assert "bench rel: 1 runs (1 done)" in capsys.readouterr().err
    assert str(tmp_path / "suites") not in __import__("sys").path  # taken off afterwards


def test_cannot_import_names_where_it_looked(tmp_path: Path, monkeypatch) -> None:
    (tmp_path / "bad.toml").write_text(SUITE.format(module="no_such_module_xyz"))
    monkeypatch.chdir(tmp_path)
    with pytest.raises(SuiteError, match="suite file's folder and the working directory"):
        run_suite("bad.toml", tmp_path / "out", progress=False)


def _table(values: dict[tuple[str, int], list[float]], **columns: object) -> pd.DataFrame:
    """A results table: (strategy, seed) -> trial values of problem "p" (minimize, optimum 0)."""
    rows = []
    for (strategy, seed), vals in values.items():
        sampler = str(columns.get(f"sampler_{strategy}", strategy))
        for trial, (v, best) in enumerate(zip(vals, np.minimum.accumulate(vals), strict=True)):
            rows.append(
                dict(
                    group="g",
                    problem=str(columns.get("problem", "p")),
                    strategy=strategy,
                    sampler=sampler,
                    pruner="none",
                    seed=seed,
                    trial=trial,
                    state="COMPLETE",
                    value=v,
                    best=best,
                    regret=best,
                    wall_time=trial + 1.0,
                    duration=1e-4,
                    sampler_time=1e-5,
                    objective_time=float(columns.get("objective_time", 1e-6)),
                    steps=np.nan,
                    cum_steps=np.nan,
                    direction="minimize",
                    optimum=0.0,
                )
            )
    return pd.DataFrame(rows)


def _rng_values(seed: int, scale: float, n: int = 6) -> list[float]:
    return list(np.random.default_rng(seed).uniform(0.5, 1.0, n) * scale)


def test_verdict_significant() -> None:
    table = {}
    for seed in range(8):
        table[("good", seed)] = _rng_values(seed, 0.1)
        table[("bad", seed)] = _rng_values(100 + seed, 1.0)
    df = _table(table)
    text = "\n".join(verdict.verdict_lines(df))
    assert "after 100% of the trials: **good** better than bad" in text
    assert "no test can reach" not in text
    board = verdict.terminal_leaderboard(df)
    assert "> bad" in board and "norm.:" in board and "wins:" in board
    assert "No difference is significant" not in board


def test_verdict_none_significant() -> None:
    table = {}
    for seed in range(3):
        table[("a", seed)] = _rng_values(seed, 1.0)
        table[("b", seed)] = _rng_values(50 + seed, 1.0)
    df = _table(table)
    text = "\n".join(verdict.verdict_lines(df))
    assert text.count("no strategy is significantly better than another") == 3
    assert "with 3 blocks and 1 pair(s) no test can reach" in text
    assert "No difference is significant" in verdict.terminal_leaderboard(df)
    assert verdict.identical_strategies(df).empty


def test_verdict_compares_within_each_simulated_worker_count() -> None:
    # good beats bad at each worker count; random@1w and random@32w made the same trials (the
    # same seeds), which is no finding: strategies of different worker counts are not compared.
    table = {}
    for seed in range(8):
        for w in (1, 8, 32):
            table[(f"good@{w}w", seed)] = _rng_values(seed, 0.1)
            table[(f"bad@{w}w", seed)] = _rng_values(100 + seed, 1.0)
            table[(f"random@{w}w", seed)] = _rng_values(200 + seed, 0.5)
    df = _table(table)
    df["workers"] = [int(s.split("@")[1][:-1]) for s in df["strategy"]]
    text = "\n".join(verdict.report_lines(df))
    assert "- Group g, 1 worker (8 blocks" in text and "- Group g, 32 workers (8 blocks" in text
    assert text.count("**good@1w** better than bad@1w") == 3
    assert text.count("**good@32w** better than bad@32w") == 3
    assert "@32w" not in text.split("- Group g, 32 workers")[0]  # no cross-count pair
    assert "@8w" not in text.split("- Group g, 32 workers")[1]
    assert "Identical strategies" not in text
    assert text.index("g, 8 workers") < text.index("g, 32 workers")  # numeric order
    board = verdict.terminal_leaderboard(df)
    assert "[g, 1 worker]" in board and "[g, 32 workers]" in board
    assert board.index("[g, 8 workers]") < board.index("[g, 32 workers]")
    # Without simulated workers the groups stay as they are.
    plain = df.drop(columns="workers")
    assert verdict.per_worker_count(plain) is plain


def test_identical_strategies_flagged_with_the_reason() -> None:
    table = {}
    for seed in range(3):
        table[("random", seed)] = _rng_values(seed, 1.0, n=40)
        table[("nsga2", seed)] = _rng_values(seed, 1.0, n=40)
        table[("tpe", seed)] = _rng_values(7 + seed, 0.5, n=40)
    df = _table(table)
    same = verdict.identical_strategies(df)
    assert same[["a", "b", "blocks"]].values.tolist() == [["nsga2", "random", 3]]
    reason = same["reason"].iloc[0]
    assert "population_size" in reason and "50 by default" in reason and "40 trials" in reason
    report = "\n".join(verdict.report_lines(df))
    assert "nsga2 equals random in all 3 blocks" in report
    assert "nsga2 = random in every block" in verdict.terminal_leaderboard(df)


def test_wall_time_plots_only_when_the_objective_takes_time() -> None:
    values = {("a", 0): [1.0, 0.5]}
    assert not verdict.time_matters(_table(values))
    assert verdict.time_matters(_table(values, objective_time=0.2))


def test_run_counts_explained() -> None:
    df = _table({("a", 0): [1.0], ("b", 0): [2.0]})
    runs = pd.DataFrame(
        {
            "role": ["source", "source", "target", "target"],
            "status": ["done"] * 4,
        }
    )
    text = " ".join(verdict.run_count_lines(df, runs))
    assert "2 runs (problem x strategy x seed) are compared" in text
    assert "2 source studies" in text and "progress bar" in text
    assert verdict.run_count_lines(df, runs[runs["role"] == "target"]) == []


def test_unequal_seeds_and_problems_are_not_ties() -> None:
    # "a" beats "b" in every block both ran; "a" has two extra seeds on "p" that "b" lacks,
    # and problem "q" has fewer seeds than "p": none of these may count as a tie.
    table = {("a", s): [1.0] for s in range(4)} | {("b", s): [2.0] for s in range(2)}
    df = pd.concat(
        [
            _table(table),
            _table({("a", s): [1.0] for s in range(2)} | {("b", 0): [3.0]}, problem="q"),
        ]
    )
    wins = metrics.win_rates(df)["g"]
    assert wins.loc["a", "b"] == 1.0 and wins.loc["b", "a"] == 0.0
    ranks = metrics.mean_ranks(df).set_index("strategy")
    assert ranks.loc["a", 1.0] == 1.0 and ranks.loc["b", 1.0] == 2.0
    assert metrics.pairwise_tests(df).iloc[0]["n"] == 3


def test_pruning_summary_with_two_strategies_sharing_a_sampler() -> None:
    df = _table({(name, s): [1.0, 0.5] for name in ("tpe", "tpe-b") for s in range(2)})
    df["sampler"], df["steps"] = "tpe", 3.0
    df["cum_steps"] = df.groupby(["strategy", "seed"])["steps"].cumsum()
    table = metrics.pruning(df).set_index("strategy")
    assert table.loc["tpe", "steps_saved"] == pytest.approx(0.0)


def test_cli_strategies_says_which_group_lists_it_replaces(tmp_path: Path, capsys) -> None:
    from optuna_recipes.cli import main

    suite = tmp_path / "two.toml"
    suite.write_text(
        '[suite]\ntrials = 2\nseeds = 1\nstrategies = ["random", "tpe"]\n\n'
        '[[problems]]\nname = "s"\ntype = "mixed"\ngroup = "samplers"\n\n'
        '[[problems]]\nname = "c"\ntype = "curves"\ngroup = "pruning"\n'
        'strategies = ["random+median"]\noptions = { n_steps = 3 }\n'
    )
    args = ["bench", "run", str(suite), "--out", str(tmp_path / "out"), "--workers", "1"]
    assert main([*args, "--strategies", "random", "--no-progress", "--no-report"]) == 0
    err = capsys.readouterr().err
    assert "--strategies random replaces: group samplers: random,tpe; group pruning: " in err


def test_compare_does_not_resume_another_objectives_data(tmp_path: Path, monkeypatch) -> None:
    monkeypatch.chdir(tmp_path)

    def make(shift: float):
        def shifted(trial: optuna.Trial) -> float:
            return (trial.suggest_float("x", -1.0, 1.0) - shift) ** 2

        return shifted

    first = compare(make(0.1), ["random"], n_trials=3, seeds=1, progress=False)
    second = compare(make(0.5), ["random"], n_trials=3, seeds=1, progress=False)
    assert first.attrs["out"] != second.attrs["out"]
