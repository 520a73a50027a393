"""Results digests and the figure vocabulary of the claims ledger, on hand-made tables."""

from __future__ import annotations

import math
from pathlib import Path

import numpy as np
import optuna
import pandas as pd
import pytest

from optuna_recipes.bench import digest
from optuna_recipes.bench import metrics
from optuna_recipes.bench import outdir
from optuna_recipes.bench.claim_figures import FigureError
from optuna_recipes.bench.claim_figures import evaluate
from optuna_recipes.bench.claim_figures import format_figure
from optuna_recipes.bench.claim_figures import parse
from optuna_recipes.bench.problems import make_problem
from optuna_recipes.bench.results import RESULT_COLUMNS


def _results(
    curves: dict[tuple[str, str, int], list[float]], **extra: list[float]
) -> pd.DataFrame:
    """A results table (runner columns) from per-run value lists, minimized."""
    rows = []
    for (problem, strategy, seed), values in curves.items():
        best = np.minimum.accumulate(values)
        for t, (v, b) in enumerate(zip(values, best, strict=True)):
            row = dict.fromkeys(RESULT_COLUMNS, math.nan)
            row.update(
                suite="s",
                group="g",
                problem=problem,
                strategy=strategy,
                sampler=strategy.split("+")[0],
                pruner=strategy.split("+")[1] if "+" in strategy else "none",
                seed=seed,
                role="target",
                trial=t,
                state="COMPLETE",
                value=v,
                best=b,
                duration=0.01,
                sampler_time=0.001 * (t + 1),
                objective_time=0.002,
                steps=10.0 if "+" not in strategy else 5.0,
                direction="minimize",
            )
            rows.append(row)
    return pd.DataFrame(rows)


CURVES = {
    ("p1", "tpe", 0): [5.0, 4.0, 4.5, 3.0, 3.0, 2.0],
    ("p1", "ws", 0): [2.5, 1.0, 1.5, 1.2, 0.5, 0.7],
    ("p1", "tpe", 1): [6.0, 5.0, 4.0, 3.5, 3.4, 3.3],
    ("p1", "ws", 1): [7.0, 6.5, 6.4, 6.3, 6.2, 6.1],
    ("p2", "tpe", 0): [1.0, 0.9, 0.8, 0.7, 0.6, 0.5],
    ("p2", "ws", 0): [0.4, 0.4, 0.4, 0.4, 0.4, 0.4],
}


def _folder(tmp_path: Path, results: pd.DataFrame) -> digest.Digest:
    storage = {"url": "sqlite:///runs.db", "identity": "sqlite:runs.db"}
    manifest = outdir.prepare(tmp_path, {"x": 1}, "", "python -m something", storage)
    outdir.write_results(tmp_path, results, pd.DataFrame())
    manifest.update(state="complete", rows=len(results))
    outdir.write_manifest(tmp_path, manifest)
    digest.condense(tmp_path)
    return digest.load(tmp_path)


def test_the_digest_keeps_first_improving_and_last_trials(tmp_path: Path) -> None:
    data = _folder(tmp_path, _results(CURVES))
    assert data.trace is not None
    run = data.trace[(data.trace["problem"] == "p1") & (data.trace["strategy"] == "tpe")]
    assert run[run["seed"] == 0]["trial"].tolist() == [0, 1, 3, 5]
    assert run[run["seed"] == 1]["trial"].tolist() == [0, 1, 2, 3, 4, 5]
    p2 = data.trace[(data.trace["problem"] == "p2") & (data.trace["strategy"] == "ws")]
    assert p2["trial"].tolist() == [0, 5]


def test_metrics_on_the_digest_equal_metrics_on_the_results(tmp_path: Path) -> None:
    results = _results(CURVES)
    data = _folder(tmp_path, results)
    full = data.per_trial()
    assert len(full) == len(results)
    for budget in (2, 4, 6):
        a = metrics.mean_ranks(results[results["trial"] < budget], (1.0,))
        b = metrics.mean_ranks(full[full["trial"] < budget], (1.0,))
        pd.testing.assert_frame_equal(a, b)
    pd.testing.assert_frame_equal(
        metrics.speedup_over_random(results, "tpe"), metrics.speedup_over_random(full, "tpe")
    )


def test_timing_rows_per_run_and_window(tmp_path: Path) -> None:
    data = _folder(tmp_path, _results(CURVES))
    assert data.timing is not None
    runs = data.timing[data.timing["scope"] == "run"]
    assert len(runs) == len(CURVES)
    assert runs["trials"].eq(6).all() and runs["lo"].eq(0).all() and runs["hi"].eq(6).all()
    assert runs["sampler_ms"].iloc[0] == pytest.approx(3.5)  # median of 1..6 ms
    windows = data.timing[data.timing["scope"] == "window"]
    assert windows[["lo", "hi"]].drop_duplicates().values.tolist() == [[0, 25]]


def test_timing_of_overlapping_simulated_trials() -> None:
    # 32 simulated workers: trials overlap in real time, so the run's timing rows have no
    # objective, other or duration figures (each trial's would span the others' turns); the
    # sampler's stay. One worker keeps them all.
    rows = [
        dict(
            group="g",
            problem="p",
            strategy=f"s@{w}w",
            sampler="s",
            pruner="none",
            seed=0,
            trial=t,
            state="COMPLETE",
            duration=3.0 if w > 1 else 0.5,
            sampler_time=0.002,
            objective_time=2.5 if w > 1 else 0.3,
            steps=np.nan,
            workers=w,
        )
        for w in (1, 32)
        for t in range(4)
    ]
    runs = digest.timing(pd.DataFrame(rows)).query("scope == 'run'").set_index("strategy")
    assert runs.loc["s@32w", "sampler_ms"] == pytest.approx(2.0)
    unknown = ["objective_ms", "other_ms", "objective_s", "duration_s"]
    assert runs.loc["s@32w", unknown].isna().all()
    assert runs.loc["s@1w", "objective_ms"] == pytest.approx(300.0)
    assert runs.loc["s@1w", "duration_s"] == pytest.approx(2.0)


def test_windows_of_long_runs() -> None:
    trials = pd.Series(np.arange(0, 350))
    lo = digest._window_of(trials)
    assert lo.iloc[[0, 24, 25, 49, 50, 99, 100, 199, 200, 349]].tolist() == [
        0,
        0,
        25,
        25,
        50,
        50,
        100,
        100,
        200,
        300,
    ]


def test_reach_ranks_and_tests_on_a_hand_made_table(tmp_path: Path) -> None:
    data = _folder(tmp_path, _results(CURVES))
    # Bars (tpe's best after 4 trials): p1/0 3.0, p1/1 3.5, p2/0 0.7. ws reaches them at
    # trial 1, never (6 + 1 = 7) and trial 1: median 1.
    assert evaluate('median_reach("ws", reference="tpe", budget=4)', data) == 1.0
    assert evaluate('share_reached("ws", 1, reference="tpe", budget=4)', data) == 2 / 3
    assert evaluate('median_reach("ws", reference="tpe", budget=4, problems="p1")', data) == 4.0
    assert evaluate('mean_rank("ws")', data) == pytest.approx(4 / 3)
    assert evaluate('wins("ws", "tpe")', data) == 2
    assert evaluate("blocks()", data) == 3
    assert evaluate('problem_wins("ws", "tpe")', data) == 1
    assert evaluate('best("ws", stat="min")', data) == 0.4
    assert evaluate('sampler_ms("ws") / sampler_ms("tpe")', data) == pytest.approx(1.0)
    assert evaluate('win_rate("ws", "tpe") * 3', data) == pytest.approx(2.0)
    assert 0.0 < evaluate('p_holm("ws", "tpe")', data) <= 1.0


def test_pruning_figures(tmp_path: Path) -> None:
    curves = {
        ("p", "tpe", 0): [3.0, 2.0, 1.0],
        ("p", "tpe+median", 0): [3.0, 2.0, 1.5],
        ("p", "tpe", 1): [2.0, 2.0, 2.0],
        ("p", "tpe+median", 1): [2.0, 1.0, 1.0],
    }
    data = _folder(tmp_path, _results(curves))
    assert evaluate('steps_saved("tpe+median")', data) == pytest.approx(0.5)
    # (1.0 - 1.5) / 1.0 = -0.5 on seed 0, (2.0 - 1.0) / 2.0 = 0.5 on seed 1.
    assert evaluate('best_change("tpe+median")', data) == pytest.approx(0.0)
    assert evaluate('time_ratio("tpe+median", "tpe")', data) == pytest.approx(1.0)


def test_best_change_at_equal_training_steps(tmp_path: Path) -> None:
    # tpe trains 10 steps a trial, tpe+median 5: after the 20 steps tpe+median trained in all,
    # tpe's best was 3.0 (trial 1); at equal trials tpe ends at 1.0.
    results = _results(
        {("p", "tpe", 0): [4.0, 3.0, 2.0, 1.0], ("p", "tpe+median", 0): [3.5, 3.0, 2.5, 2.0]}
    )
    results["cum_steps"] = results.groupby(["problem", "strategy", "seed"])["steps"].cumsum()
    data = _folder(tmp_path, results)
    assert data.trace is not None and "cum_steps" in data.trace
    assert data.per_trial()["cum_steps"].isna().all()  # costs stay in timing for metrics
    assert evaluate('best_change("tpe+median")', data) == pytest.approx(-1.0)
    assert evaluate('best_change_at_steps("tpe+median")', data) == pytest.approx(1 / 3)
    no_steps = _folder(tmp_path / "plain", _results(CURVES))
    with pytest.raises(FigureError, match="no cum_steps"):
        evaluate('best_change_at_steps("ws", "tpe")', no_steps)


def test_heldout_figures_read_the_best_trials_test_value(tmp_path: Path) -> None:
    results = _results({("h", "tpe", 0): [3.0, 1.0, 2.0], ("h", "tpe", 1): [1.0, 2.0, 3.0]})
    results["test_value"] = [9.0, 0.5, 0.1, 2.0, 0.1, 0.1]
    results["default_test_value"] = 1.0
    data = _folder(tmp_path, results)
    assert evaluate('heldout_wins("tpe")', data) == 1  # 0.5 < 1.0 (seed 0); 2.0 > 1.0 (seed 1)
    assert evaluate('heldout_change("tpe")', data) == pytest.approx((0.5 - 1.0) / 2)


def test_heldout_change_median_resists_one_large_relative_change(tmp_path: Path) -> None:
    runs = {("h", "tpe", seed): [1.0] for seed in range(3)}
    results = _results(runs)
    results["test_value"] = [0.5, 2.0, 0.8]  # relative changes 0.5, -1.0, 0.2
    results["default_test_value"] = 1.0
    data = _folder(tmp_path, results)
    assert evaluate('heldout_change("tpe")', data) == pytest.approx(-0.1)
    assert evaluate('heldout_change("tpe", stat="median")', data) == pytest.approx(0.2)
    with pytest.raises(FigureError, match="'mean' or 'median'"):
        evaluate('heldout_change("tpe", stat="max")', data)


def test_measurement_folders_keep_every_row(tmp_path: Path) -> None:
    table = pd.DataFrame(
        {"problem": "a", "strategy": ["x", "x", "y"], "seed": [0, 1, 0], "value": [1.0, 3.0, 4.0]}
    )
    manifest = outdir.prepare(tmp_path, {"script": "s"}, "", "python s.py")
    outdir.write_results(tmp_path, table, pd.DataFrame())
    manifest.update(state="complete", rows=3, kind="measurements")
    outdir.write_manifest(tmp_path, manifest)
    assert digest.condense(tmp_path) == [tmp_path / digest.DIGEST]
    data = digest.load(tmp_path)
    assert evaluate('measure(strategy="x") / measure(strategy="y")', data) == 0.5
    assert evaluate('measure(stat="max")', data) == 4.0


def test_the_digest_is_the_same_bytes_for_the_same_table(tmp_path: Path) -> None:
    _folder(tmp_path / "a", _results(CURVES))
    _folder(tmp_path / "b", _results(CURVES))
    for name in (digest.DIGEST, digest.TIMING):
        assert (tmp_path / "a" / name).read_bytes() == (tmp_path / "b" / name).read_bytes()


def test_combine_refuses_the_same_runs_in_two_folders(tmp_path: Path) -> None:
    a = _folder(tmp_path / "a", _results(CURVES))
    b = _folder(tmp_path / "b", _results(CURVES))
    with pytest.raises(ValueError, match="strategy 'tpe' on problem 'p1' with seed 0 are in both"):
        digest.combine([a, b])


def test_folders_of_other_seeds_pool_as_one_folder(tmp_path: Path) -> None:
    """A replicate on fresh seeds (``--first-seed``) pools with the first folder: the figures
    are those of one folder holding both sets of seeds."""
    fresh = {(p, s, seed + 2): v for (p, s, seed), v in CURVES.items()}
    both = _folder(tmp_path / "both", _results({**CURVES, **fresh}))
    pooled = digest.combine(
        [_folder(tmp_path / "a", _results(CURVES)), _folder(tmp_path / "b", _results(fresh))]
    )
    for expression in ('mean_rank("ws")', 'median_reach("ws", "tpe", 4)', 'normalized("ws", 3)'):
        assert evaluate(expression, pooled) == pytest.approx(evaluate(expression, both))


def test_folders_with_other_strategies_on_one_problem_pool_as_one_folder(tmp_path: Path) -> None:
    """An anchor strategy run in a folder of its own: the pooled figures are those of the one
    folder holding every strategy (ranks, regret and reach are computed per block)."""
    whole = _folder(tmp_path / "whole", _results(CURVES))
    tpe = _folder(tmp_path / "tpe", _results({k: v for k, v in CURVES.items() if k[1] == "tpe"}))
    ws = _folder(tmp_path / "ws", _results({k: v for k, v in CURVES.items() if k[1] == "ws"}))
    pooled = digest.combine([ws, tpe])
    for expression in (
        'mean_rank("ws")',
        'mean_rank("tpe", budget=3)',
        'median_reach("ws", "tpe")',
        'win_rate("ws", "tpe")',
        'sampler_ms("ws") / sampler_ms("tpe")',
    ):
        assert evaluate(expression, pooled) == pytest.approx(evaluate(expression, whole))


def test_combine_refuses_one_problem_name_with_two_optima(tmp_path: Path) -> None:
    a = _results({("p1", "tpe", 0): [3.0, 2.0]})
    b = _results({("p1", "ws", 0): [3.0, 1.0]})
    a["optimum"], b["optimum"] = 0.0, 1.0
    with pytest.raises(ValueError, match="another direction or optimum"):
        digest.combine([_folder(tmp_path / "a", a), _folder(tmp_path / "b", b)])


@pytest.mark.parametrize(
    "expression, message",
    [
        ('__import__("os")', "unknown function"),
        ('mean_rank("ga").real', "only calls of the vocabulary"),
        ('mean_rank("ga")[0]', "only calls of the vocabulary"),
        ("mean_rank(x)", "must be literals"),
        ('mean_rank("ga", grup="g")', "no argument"),
        ('mean_rank("ga", **{"budget": 3})', "not allowed"),
        ('mean_rank("ga", 1, 2, 3)', "mean_rank()"),
        ("1 +", "not an expression"),
    ],
)
def test_expressions_outside_the_grammar_are_refused(expression: str, message: str) -> None:
    with pytest.raises(FigureError, match=message.replace("(", r"\(").replace(")", r"\)")):
        parse(expression)


def test_format_figure() -> None:
    assert format_figure(2.1449, ".2f") == "2.14"
    assert format_figure(0.564, ".0%") == "56%"
    assert format_figure(-0.0123, "+.1%") == "-1.2%"
    assert format_figure(47.0, "d") == "47"
    assert format_figure("| table |", "s") == "| table |"


def test_rippled_family_flips_one_source_and_has_a_numeric_variant() -> None:
    problem = make_problem("rippled", {"instance": 100, "sources": 3})
    assert problem.source_tasks() == [{"task": 1}, {"task": 2}, {"task": 3}]
    directions = [
        make_problem("rippled", {"instance": 100, **t}).direction for t in problem.source_tasks()
    ]
    assert directions == ["minimize", "minimize", "maximize"]
    numeric = make_problem("rippled", {"instance": 100, "numeric": True, "task": 3})
    study = optuna.create_study(direction=numeric.direction)
    study.optimize(numeric, n_trials=3)
    assert numeric.direction == "minimize"
    assert set(study.trials[0].params) == {"x0", "x1", "lr", "x3", "x4"}


def test_heldout_problem_records_test_values() -> None:
    problem = make_problem(
        "heldout", {"library": "lightgbm", "dataset": "iris", "cv": 2, "num_boost_round": 10}
    )
    study = optuna.create_study(
        direction=problem.direction, sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(problem, n_trials=3)
    best = study.best_trial
    assert best.user_attrs["bench:test_value"] > 0.0
    assert best.user_attrs["bench:default_test_value"] == pytest.approx(
        problem.default_test_value()
    )
    assert type(problem).result_attrs == ("test_value", "default_test_value")


def test_a_heldout_suite_run_puts_test_values_into_the_digest(tmp_path: Path) -> None:
    from optuna_recipes.bench import run_suite

    suite = tmp_path / "heldout.toml"
    suite.write_text(
        '[suite]\ntrials = 3\nseeds = 1\nstrategies = ["random"]\n\n[[problems]]\n'
        'name = "h"\ntype = "heldout"\n'
        'options = { library = "lightgbm", dataset = "iris", cv = 2, num_boost_round = 5 }\n'
    )
    run_suite(str(suite), tmp_path / "out", workers=1, progress=False, report=False)
    digest.condense(tmp_path / "out")
    data = digest.load(tmp_path / "out")
    assert data.trace is not None
    assert data.trace["test_value"].notna().any()
    assert data.trace["default_test_value"].notna().all()
    assert evaluate('heldout_wins("random")', data) in (0, 1)


def test_parallel_figures_compare_at_equal_trials_and_equal_simulated_time(
    tmp_path: Path,
) -> None:
    """Strategy "late" finds the best value last in simulated time; "early" finds a worse one
    first. After all trials "late" is ahead; at equal simulated time (the earliest end of any
    run) only what "early" found had arrived. The digest keeps the trial that improves in
    simulated-time order although it does not improve in trial order."""
    curves = {
        ("p", "early@2w", 0): [4.0, 1.0, 3.0, 2.0],
        ("p", "late@2w", 0): [4.0, 0.0, 3.0, 3.5],
    }
    results = _results(curves)
    results["workers"] = 2
    # (trial -> simulated end): early's trial 1 arrives at 1.0; late's trial 1 arrives at 9.0.
    results["sim_time"] = [1.0, 1.0, 2.0, 3.0, 1.0, 9.0, 2.0, 3.0]
    results.loc[:, "best"] = results.groupby("strategy")["value"].cummin()
    data = _folder(tmp_path, results)
    assert "sim_time" in data.trace
    assert evaluate('parallel_rank("late", "g", 2, at="trials")', data) == 1
    assert evaluate('parallel_rank("early", "g", 2, at="time")', data) == 1
    table = evaluate('parallel_table(["g"], ["early", "late"])', data)
    assert table.splitlines()[0] == "| strategy | g 2w trials / time |"
    with pytest.raises(FigureError, match="'trials' or 'time'"):
        evaluate('parallel_rank("late", "g", 2, at="x")', data)


def test_paired_parallel_figures_count_runs_and_test_them(tmp_path: Path) -> None:
    """Strategy a ends below b on six problems and level on a seventh; c repeats b."""
    curves = {}
    for i in range(7):
        curves[(f"p{i}", "a@2w", 0)] = [4.0, 1.0]
        curves[(f"p{i}", "b@2w", 0)] = [4.0, 1.0 if i == 6 else 1.0 + 0.1 * (i + 1)]
        curves[(f"p{i}", "c@2w", 0)] = curves[(f"p{i}", "b@2w", 0)]
    results = _results(curves)
    results["workers"] = 2
    results["sim_time"] = [1.0, 2.0] * len(curves)
    data = _folder(tmp_path, results)
    for at in ("trials", "time"):
        assert evaluate(f'parallel_wins("a", "b", "g", 2, at="{at}")', data) == 6
        assert evaluate(f'parallel_wins("b", "a", "g", 2, at="{at}")', data) == 0
        # Exact two-sided signed-rank test, six nonzero pairs of one sign: 2 / 2**6.
        assert evaluate(f'parallel_p("a", "b", "g", 2, at="{at}")', data) == pytest.approx(2 / 64)
    assert evaluate('parallel_p("b", "c", "g", 2)', data) == 1.0
    assert evaluate('parallel_wins("b", "c", "g", 2)', data) == 0
    with pytest.raises(FigureError, match="no runs of both 'a' and 'zz'"):
        evaluate('parallel_p("a", "zz", "g", 2)', data)
    with pytest.raises(FigureError, match="no runs of both"):
        evaluate('parallel_wins("a", "b", "g", 8)', data)
    with pytest.raises(FigureError, match="'trials' or 'time'"):
        evaluate('parallel_p("a", "b", "g", 2, at="x")', data)


def test_reach_interval_resamples_problems_with_their_seeds(tmp_path: Path) -> None:
    data = _folder(tmp_path, _results(CURVES))
    # Reach per block (bars as above): p1 -> [1, 7], p2 -> [1]. Drawing two problems: p1 twice
    # (1 in 4) gives a median of 4, any other draw 1; so the 95% interval is 1 to 4.
    low = evaluate('reach_interval("ws", "tpe", 4, bound="low")', data)
    high = evaluate('reach_interval("ws", "tpe", 4, bound="high")', data)
    assert (low, high) == (1.0, 4.0)
    # A 20% interval (40th to 60th percentile) holds the common draws only.
    assert evaluate('reach_interval("ws", "tpe", 4, bound="high", level=0.2)', data) == 1.0
    # Resampling whole problems, not blocks: one problem has no spread at all.
    assert evaluate('reach_interval("ws", "tpe", 4, bound="high", problems="p2")', data) == 1.0
    with pytest.raises(FigureError, match="'low' or 'high'"):
        evaluate('reach_interval("ws", "tpe", 4, bound="mid")', data)
    with pytest.raises(FigureError, match="in \\(0, 1\\)"):
        evaluate('reach_interval("ws", "tpe", 4, level=1.5)', data)


def test_family_table_has_a_row_per_family_and_the_reach(tmp_path: Path) -> None:
    curves = {
        ("t-fa-x", "tpe", 0): [5.0, 4.0, 3.0, 2.0],
        ("t-fa-x", "ws", 0): [2.0, 2.0, 2.0, 2.0],
        ("t-fb-y", "tpe", 0): [5.0, 4.0, 3.0, 1.0],
        ("t-fb-y", "ws", 0): [4.0, 4.0, 4.0, 4.0],
    }
    results = _results(curves)
    results["group"] = "t"
    data = _folder(tmp_path, results)
    table = evaluate('family_table("t", ["ws", "tpe"], [2, 4])', data).splitlines()
    assert table[0] == "| family | ws @2 | ws @4 | tpe @2 | tpe @4 | ws reach |"
    assert table[2].startswith("| fa |") and table[2].endswith("| 1 |")  # ws has 2.0 at trial 1
    assert table[3].startswith("| fb |") and table[3].endswith("| >4 |")  # never reaches 1.0
    # ws is behind tpe only in family fb after 4 trials (at 2 trials both are 4.0 there).
    assert evaluate('family_behind("t", "ws", [2, 4])', data) == "fb @4"
    assert evaluate('family_behind("t", "tpe", [2, 4], "ws")', data) == "fa @2"
    assert evaluate('family_behind("t", "ws", [2])', data) == "none"
