"""Statistics of the benchmark report on hand-made tables: ranks, CD, IQM + CIs, ECDF, curves."""

from __future__ import annotations

from collections.abc import Sequence
import contextlib
import io
import math
from pathlib import Path
import warnings

import numpy as np
import pandas as pd
import pytest
from scipy import stats as sps

from optuna_recipes.bench import figures
from optuna_recipes.bench import stats


def _table(
    scores: dict[tuple[str, str, int], Sequence[float]], **columns: Sequence
) -> pd.DataFrame:
    """Results rows from ``{(problem, strategy, seed): per-trial scores}``."""
    rows = [
        {"problem": p, "strategy": s, "seed": seed, "trial": i, "score": v}
        for (p, s, seed), values in scores.items()
        for i, v in enumerate(values)
    ]
    df = pd.DataFrame(rows)
    for name, values in columns.items():
        df[name] = list(values)
    return df


def _final(per_problem: dict[str, dict[str, float]], seeds: int = 1) -> pd.DataFrame:
    """One trial per run: ``per_problem[problem][strategy]`` (+ seed offsets of 0)."""
    return _table(
        {
            (p, s, seed): [v]
            for p, by_strategy in per_problem.items()
            for s, v in by_strategy.items()
            for seed in range(seeds)
        }
    )


def test_scores_are_normalized_losses_of_complete_trials() -> None:
    df = pd.DataFrame(
        {
            "problem": "p",
            "strategy": ["a"] * 4 + ["b"] * 4,
            "seed": 0,
            "trial": [0, 1, 2, 3] * 2,
            "value": [-4.0, -2.0, -9.0, -1.0, -4.0, -3.0, 0.0, -5.0],
            "state": ["COMPLETE", "COMPLETE", "PRUNED", "COMPLETE"] * 2,
            "direction": "maximize",
            "optimum": 0.0,
        }
    )
    scored = stats.trial_scores(df)
    # loss = -value; lo = optimum loss 0; hi = median first-trial loss 4; pruned: no score.
    expected = [1.0, 0.5, math.nan, 0.25, 1.0, 0.75, math.nan, 1.25]
    np.testing.assert_allclose(scored["score"], expected)
    curves = stats.best_so_far(df)
    np.testing.assert_allclose(curves["best"], [1.0, 0.5, 0.5, 0.25, 1.0, 0.75, 0.75, 0.75])


def test_scores_at_a_time_budget_follow_the_order_results_became_known() -> None:
    # Trial 1 of run a finishes before trial 0: at t=2 only trial 1 is known.
    df = _table(
        {("p", "a", 0): [0.2, 0.6], ("p", "b", 0): [0.9, 0.1]},
        sim_time=[4.0, 2.0, 1.0, 4.0],
    )
    at_half = stats.scores_at(df, budget=0.5, axis="sim_time", column="score")
    assert dict(zip(at_half["strategy"], at_half["score"], strict=True)) == {"a": 0.6, "b": 0.9}
    at_end = stats.scores_at(df, budget=1.0, axis="sim_time", column="score")
    assert list(at_end["score"]) == [0.2, 0.1]
    early = stats.scores_at(df, budget=0.1, axis="sim_time", column="score")
    assert list(early["score"]) == [1.0, 1.0]  # nothing known yet: a random guess
    by_trials = stats.scores_at(df, budget=0.5, column="score")  # first of 2 trials
    assert list(by_trials["score"]) == [0.2, 0.9]


PERFECT = {f"p{i}": {"a": 0.1, "b": 0.5, "c": 0.9} for i in range(6)}


def test_critical_difference_ranks_cd_and_cliques_on_a_known_table() -> None:
    result = stats.critical_difference(_final(PERFECT, seeds=2), column="score")
    assert list(result.ranks["strategy"]) == ["a", "b", "c"]
    assert list(result.ranks["mean_rank"]) == [1.0, 2.0, 3.0]
    expected_p = sps.friedmanchisquare([0.1] * 6, [0.5] * 6, [0.9] * 6).pvalue
    assert result.pvalue == pytest.approx(expected_p) and result.significant
    assert result.n_problems == 6
    assert result.cd == pytest.approx(stats.nemenyi_cd(3, 6))
    # CD ~1.35: a-b and b-c are within it, a-c is not.
    assert result.cliques == [("a", "b"), ("b", "c")]


def test_critical_difference_ties_average_ranks_and_give_p_one() -> None:
    ties = {f"p{i}": {"a": 0.3, "b": 0.3, "c": 0.3} for i in range(4)}
    result = stats.critical_difference(_final(ties), column="score")
    assert list(result.ranks["mean_rank"]) == [2.0, 2.0, 2.0]
    assert result.pvalue == 1.0 and not result.significant
    assert result.cliques == [("a", "b", "c")]
    with pytest.raises(ValueError, match="at least 2 strategies"):
        stats.critical_difference(_final({"p": {"a": 0.1}}), column="score")


def test_critical_difference_matches_autorank() -> None:
    autorank = pytest.importorskip("autorank")
    rng = np.random.default_rng(4)
    per_problem = {
        f"p{i}": {
            s: float(rng.random() + shift)
            for s, shift in zip("abcd", [0, 0.2, 0.4, 0.5], strict=True)
        }
        for i in range(12)
    }
    ours = stats.critical_difference(_final(per_problem), column="score")
    table = pd.DataFrame(per_problem).T
    with contextlib.redirect_stdout(io.StringIO()), warnings.catch_warnings():
        warnings.simplefilter("ignore")
        theirs = autorank.autorank(
            table, order="ascending", force_mode="nonparametric", verbose=False
        )
    assert ours.pvalue == pytest.approx(theirs.pvalue)
    assert ours.cd == pytest.approx(theirs.cd, rel=1e-3)
    mean_ranks = dict(zip(ours.ranks["strategy"], ours.ranks["mean_rank"], strict=True))
    assert mean_ranks == pytest.approx(theirs.rankdf["meanrank"].to_dict())


def test_iqm_is_the_mean_of_the_middle_half_and_its_ci_contains_it() -> None:
    values = [8.0, 1.0, 7.0, 2.0, 6.0, 3.0, 5.0, 4.0]
    df = _table({("p", "a", seed): [v] for seed, v in enumerate(values)})
    table = stats.iqm(df, column="score")
    row = table.iloc[0]
    assert row["iqm"] == pytest.approx(4.5)  # mean of 3, 4, 5, 6
    assert row["ci_low"] <= row["iqm"] <= row["ci_high"]
    assert (row["runs"], row["problems"]) == (8, 1)
    assert table.equals(stats.iqm(df, column="score"))  # fixed bootstrap seed


def test_iqm_confidence_intervals_shrink_with_more_runs() -> None:
    rng = np.random.default_rng(0)

    def width(n_runs: int) -> float:
        strata = [rng.normal(loc, 1.0, n_runs) for loc in (0.0, 2.0, 5.0)]
        iqm, low, high = stats.stratified_bootstrap_iqm(strata)
        assert low <= iqm <= high
        return high - low

    assert width(100) < 0.5 * width(8)


def test_stratified_bootstrap_keeps_each_problem_and_matches_scipy() -> None:
    # A stratum of one run contributes that run to every resample.
    iqm, low, high = stats.stratified_bootstrap_iqm([np.array([1.0]), np.array([1.0])])
    assert (iqm, low, high) == (1.0, 1.0, 1.0)
    rng = np.random.default_rng(1)
    strata = [rng.random(10), rng.random(12) + 1.0]
    _, low, high = stats.stratified_bootstrap_iqm(strata, n_resamples=4000)

    def pooled_iqm(*samples: np.ndarray, axis: int = -1) -> np.ndarray:
        return sps.trim_mean(np.concatenate(samples, axis=axis), 0.25, axis=axis)

    ref = sps.bootstrap(
        strata, pooled_iqm, n_resamples=4000, method="percentile", rng=0
    ).confidence_interval
    assert low == pytest.approx(ref.low, abs=0.03) and high == pytest.approx(ref.high, abs=0.03)


def test_ecdf_steps_on_a_known_run() -> None:
    df = _table({("p", "a", 0): [0.5, 0.2, 0.05, 0.001]})
    curve = stats.ecdf(df, targets=[1.0, 0.1, 0.01], column="score")
    assert list(curve["x"]) == [1.0, 3.0, 4.0]
    np.testing.assert_allclose(curve["reached"], [1 / 3, 2 / 3, 1.0])


def test_ecdf_weighs_problems_equally_and_shares_them_among_seeds() -> None:
    df = _table(
        {
            ("p", "a", 0): [0.05, 0.05],  # reaches 0.1 at trial 1
            ("p", "a", 1): [0.5, 0.5],  # never
            ("q", "a", 0): [0.5, 0.01],  # reaches 0.1 at trial 2
            ("q", "b", 0): [0.5, 0.5],
        }
    )
    curve = stats.ecdf(df, targets=[0.1], column="score")
    a = curve[curve["strategy"] == "a"]
    assert list(a["x"]) == [1.0, 2.0]
    np.testing.assert_allclose(a["reached"], [0.25, 0.75])  # half of p, then all of q
    assert "b" not in set(curve["strategy"])
    relative = stats.ecdf(df, targets=[0.1], column="score", relative=True)
    assert list(relative[relative["strategy"] == "a"]["x"]) == [0.5, 1.0]


def test_anytime_reads_every_run_on_a_common_grid() -> None:
    df = _table(
        {("p", "a", 0): [0.8, 0.4], ("p", "a", 1): [0.6, 0.2]},
        sim_time=[1.0, 2.0, 1.0, 2.0],
        workers=[4, 4, 4, 4],
    )
    curves = stats.anytime(df, by=("strategy", "workers"), n_points=3, column="score")
    assert list(curves.columns) == ["problem", "strategy", "workers", "x", "median", "q25", "q75"]
    assert list(curves["x"]) == [0.0, 1.0, 2.0]
    np.testing.assert_allclose(curves["median"], [1.0, 0.7, 0.3])
    np.testing.assert_allclose(curves["q25"], [1.0, 0.65, 0.25])


def test_missing_columns_are_named() -> None:
    with pytest.raises(ValueError, match=r"lacks the column\(s\) \['value'\]"):
        stats.trial_scores(pd.DataFrame({"problem": [], "strategy": [], "seed": [], "trial": []}))


@pytest.mark.slow
def test_figures_are_drawn_from_the_tables(tmp_path: Path) -> None:
    rng = np.random.default_rng(2)
    runs = {
        (f"p{i}", s, seed): list(np.minimum.accumulate(rng.random(6) + shift))
        for i in range(3)
        for s, shift in (("a", 0.0), ("b", 0.3), ("c", 0.1))
        for seed in range(3)
    }
    df = _table(runs)
    df["sim_time"] = df["trial"] + 1.0
    df["workers"] = 8
    made = {
        "cd": figures.plot_critical_difference(stats.critical_difference(df, column="score")),
        "iqm": figures.plot_iqm(stats.iqm(df, column="score", n_resamples=200)),
        "ecdf": figures.plot_ecdf(stats.ecdf(df, axis="sim_time", column="score")),
        "anytime": figures.plot_anytime(
            stats.anytime(df, by=("strategy", "workers"), column="score")
        ),
    }
    for name, fig in made.items():
        path = tmp_path / f"{name}.png"
        fig.savefig(path, dpi=60)
        assert path.stat().st_size > 1000
