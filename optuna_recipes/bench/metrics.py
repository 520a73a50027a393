"""Statistics over the results table: ranks, regret, AUC, win rates, paired tests, overhead.

All functions take the per-trial results table of :func:`optuna_recipes.bench.load_results`
(target runs) and compare strategies within a *block* = (problem, seed): the same problem and
seed index for every strategy. Values are turned into losses (lower is better, whatever the
direction) and normalized per problem so that problems of different scales can be pooled:

``normalized = (loss - lo) / (hi - lo)``, where ``lo`` is the known optimum (then this is the
*normalized regret*) or else the best loss any run found, and ``hi`` is the median loss of the
first trial over all runs of the problem (a random guess). 0 is the optimum, 1 a random guess.

Budgets are fractions of each problem's number of trials (``0.25, 0.5, 1.0``).

Example:
    .. code-block:: python

        from optuna_recipes.bench import load_results
        from optuna_recipes.bench import metrics

        df = load_results("bench-out")
        print(metrics.mean_ranks(df))
"""

from __future__ import annotations

from collections.abc import Sequence
import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

BUDGETS: tuple[float, ...] = (0.25, 0.5, 1.0)
BLOCK = ["problem", "seed"]


def _loss(df: pd.DataFrame, column: str = "best") -> pd.Series:
    sign = np.where(df["direction"] == "maximize", -1.0, 1.0)
    return df[column].astype(float) * sign


def with_normalized(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``loss`` and ``normalized`` (see the module docstring) to a copy of ``df``."""
    df = df.copy()
    df["loss"] = _loss(df)
    first_loss = _loss(df, "value")
    optimum_loss = _loss(df, "optimum")
    lo = df.groupby("problem")["loss"].transform("min")
    lo = optimum_loss.where(optimum_loss.notna(), lo)
    first = df["trial"] == df.groupby(["problem", "strategy", "seed"])["trial"].transform("min")
    hi_per_problem = first_loss[first].groupby(df.loc[first, "problem"]).median()
    hi = df["problem"].map(hi_per_problem).astype(float)
    span = (hi - lo).where((hi - lo) > 0, np.nan)
    df["normalized"] = ((df["loss"] - lo) / span).clip(lower=0.0)
    df.loc[span.isna() & df["loss"].notna(), "normalized"] = 0.0
    return df


def at_budgets(df: pd.DataFrame, budgets: Sequence[float] = BUDGETS) -> pd.DataFrame:
    """Best-so-far of every run after each budget (fraction of the problem's trials).

    Returns one row per (group, problem, strategy, seed, budget) with ``loss``, ``normalized``,
    ``trials`` (the budget in trials), ``cum_steps`` and ``wall_time`` at that budget.
    """
    df = with_normalized(df)
    n_trials = df.groupby(["problem", "strategy", "seed"])["trial"].transform("count")
    position = df.groupby(["problem", "strategy", "seed"]).cumcount() + 1
    frames = []
    for b in budgets:
        limit = np.maximum(np.ceil(b * n_trials), 1)
        rows = df[position == limit].copy()
        rows["budget"] = b
        rows["trials"] = limit[position == limit]
        frames.append(rows)
    cols = [
        "group",
        "problem",
        "strategy",
        "seed",
        "budget",
        "trials",
        "loss",
        "normalized",
        "cum_steps",
        "wall_time",
    ]
    return pd.concat(frames, ignore_index=True)[cols]


def _blocks(final: pd.DataFrame, budget: float, value: str = "loss") -> pd.DataFrame:
    """Blocks (problem, seed) x strategies table of ``value`` at ``budget``: ``inf`` for a run
    without any complete trial, NaN where the strategy has no run in the block. Only blocks
    where some strategy ran are rows (the pivot's other combinations of problem and seed,
    e.g. seeds one problem has and another lacks, are not blocks)."""
    sub = final[final["budget"] == budget]
    table = sub.pivot_table(
        index=BLOCK, columns="strategy", values=value, aggfunc="first", dropna=False
    )
    ran = sub.groupby([*BLOCK, "strategy"]).size().unstack("strategy")
    ran = ran.reindex(index=table.index, columns=table.columns).notna()
    table = table.where(ran | table.notna()).where(~(ran & table.isna()), np.inf)
    return table[ran.any(axis=1)]


def _complete_blocks(table: pd.DataFrame) -> pd.DataFrame:
    """The blocks where every strategy that ran the block's problem (at any seed) has a run:
    with unequal seed counts, a seed only some strategies ran is left out."""
    ran = table.notna()
    ran_problem = ran.groupby(level="problem").transform("any")
    return table[(ran | ~ran_problem).all(axis=1)]


def mean_ranks(df: pd.DataFrame, budgets: Sequence[float] = BUDGETS) -> pd.DataFrame:
    """Mean rank (1 = best) of each strategy at each budget, per group.

    Within a block, strategies are ranked by best loss (ties share the average rank; a run
    without any complete trial ranks last). Returns columns ``group``, ``strategy`` and one
    column per budget.
    """
    final = at_budgets(df, budgets)
    out: list[dict[Any, Any]] = []
    for group, sub in final.groupby("group"):
        row: dict[str, dict[float, float]] = {}
        for b in budgets:
            table = _complete_blocks(_blocks(sub, b))
            ranks = table.rank(axis=1, method="average")
            for strategy, r in ranks.mean().items():
                row.setdefault(str(strategy), {})[b] = float(r)
        for strategy, per_budget in row.items():
            out.append({"group": group, "strategy": strategy, **per_budget})
    return pd.DataFrame(out)


def auc(df: pd.DataFrame) -> pd.DataFrame:
    """Area under the normalized best-so-far curve, per run (mean over trials; lower is better).

    Trials before the first complete one count as 1 (a random guess).
    """
    df = with_normalized(df)
    df["normalized"] = df["normalized"].fillna(1.0)
    return (
        df.groupby(["group", "problem", "strategy", "seed"])["normalized"]
        .mean()
        .rename("auc")
        .reset_index()
    )


def win_rates(df: pd.DataFrame, budget: float = 1.0) -> dict[str, pd.DataFrame]:
    """Per group, the matrix ``W[a][b]``: share of blocks where ``a`` beats ``b`` (ties 1/2)."""
    final = at_budgets(df, (budget,))
    out = {}
    for group, sub in final.groupby("group"):
        table = _blocks(sub, budget)
        names = list(table.columns)
        mat = pd.DataFrame(np.nan, index=names, columns=names)
        for a, b in itertools.permutations(names, 2):
            both = table[[a, b]].dropna()  # the blocks both ran
            x, y = both[a].to_numpy(), both[b].to_numpy()
            if len(x):
                mat.loc[a, b] = float(np.mean((x < y) + 0.5 * (x == y)))
        out[str(group)] = mat
    return out


def holm(pvalues: Sequence[float]) -> list[float]:
    """Holm-Bonferroni adjusted p-values (same order as the input)."""
    p = np.asarray(pvalues, dtype=float)
    order = np.argsort(p)
    adjusted = np.empty_like(p)
    running = 0.0
    for k, i in enumerate(order):
        running = max(running, min(1.0, (len(p) - k) * p[i]))
        adjusted[i] = running
    return adjusted.tolist()


def pairwise_tests(df: pd.DataFrame, budget: float = 1.0) -> pd.DataFrame:
    """Wilcoxon signed-rank test of every pair of strategies over blocks, per group.

    The paired samples are the normalized best losses at ``budget`` of both strategies on the
    same (problem, seed). p-values are Holm-adjusted within each group. Columns: ``group``,
    ``a``, ``b``, ``n`` (blocks), ``win_rate`` (a over b), ``median_diff`` (a - b, normalized;
    negative: a better), ``p``, ``p_holm``, ``better`` (the significantly better one at 5%, or
    empty).
    """
    from scipy import stats

    final = at_budgets(df, (budget,))
    rows = []
    for group, sub in final.groupby("group"):
        table = _blocks(sub, budget, "normalized")
        group_rows = []
        for a, b in itertools.combinations(table.columns, 2):
            both = table[[a, b]].dropna()  # the blocks both ran
            x, y = both[a].to_numpy(), both[b].to_numpy()
            ok = np.isfinite(x) | np.isfinite(y)
            x, y = np.where(np.isfinite(x), x, 1e9)[ok], np.where(np.isfinite(y), y, 1e9)[ok]
            diff = x - y
            if len(diff) < 2 or np.all(diff == 0):
                p = 1.0
            else:
                p = float(stats.wilcoxon(x, y, zero_method="zsplit").pvalue)
            group_rows.append(
                {
                    "group": group,
                    "a": a,
                    "b": b,
                    "n": len(diff),
                    "win_rate": float(np.mean((x < y) + 0.5 * (x == y))) if len(x) else math.nan,
                    "median_diff": float(np.median(diff)) if len(diff) else math.nan,
                    "p": p,
                }
            )
        for r, adj in zip(group_rows, holm([r["p"] for r in group_rows]), strict=True):
            r["p_holm"] = adj
            r["better"] = (
                (r["a"] if r["median_diff"] < 0 or r["win_rate"] > 0.5 else r["b"])
                if adj < 0.05
                else ""
            )
        rows += group_rows
    columns = ["group", "a", "b", "n", "win_rate", "median_diff", "p", "p_holm", "better"]
    return pd.DataFrame(rows, columns=columns)


def friedman(df: pd.DataFrame, budget: float = 1.0) -> pd.DataFrame:
    """Friedman test per group (do the strategies differ at all?), over complete blocks."""
    from scipy import stats

    final = at_budgets(df, (budget,))
    rows = []
    for group, sub in final.groupby("group"):
        table = _blocks(sub, budget).dropna()  # the blocks every strategy ran
        k, n = table.shape[1], table.shape[0]
        p = math.nan
        if k >= 3 and n >= 2:
            ranks = table.rank(axis=1).to_numpy()
            if np.ptp(ranks, axis=1).any():
                p = float(stats.friedmanchisquare(*ranks.T).pvalue)
            else:
                p = 1.0
        rows.append({"group": group, "strategies": k, "blocks": n, "p": p})
    return pd.DataFrame(rows)


def trial_times(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with ``other`` (a trial's duration in the storage minus its sampler and objective
    time) added, and ``duration``, ``objective_time`` and ``other`` set to NaN where trials
    overlapped in real time.

    With more than one simulated worker (``workers > 1``) the simulator interleaves the
    in-flight trials in one process: a trial's duration spans the other trials' turns, and
    under a pruner so does its objective time (every reported step waits for the simulated
    clock), so these per-trial figures would count the same real seconds many times over.
    Sampler time stays exact (one call at a time). :func:`overhead`'s ``real_ms_per_trial``
    gives such runs' real cost.
    """
    d = df.assign(other=df["duration"] - df["sampler_time"] - df["objective_time"])
    if "workers" in d:
        overlapped = d["workers"].fillna(1) > 1
        d.loc[overlapped, ["duration", "objective_time", "other"]] = np.nan
    return d


def overhead(df: pd.DataFrame) -> pd.DataFrame:
    """Per strategy: time inside the sampler, in the objective and elsewhere (ms per trial).

    ``other_ms_median`` is the trial's duration in the storage minus sampler and objective
    time: Optuna's own bookkeeping plus the harness's (trial creation happens before the
    duration starts, so this is a lower bound of the loop's cost). ``real_ms_per_trial`` is
    each run's real time (first trial's start to last trial's end) over its trials, median over
    runs. Runs with several simulated workers have no per-trial objective and other time
    (NaN, see :func:`trial_times`); their ``real_ms_per_trial`` still holds.
    """
    d = trial_times(df)
    g = d.groupby("strategy")
    runs = d.groupby(["strategy", *BLOCK], dropna=False)
    real = (runs["wall_time"].max() / runs["trial"].count()).groupby(level="strategy").median()
    return pd.DataFrame(
        {
            "sampler_ms_median": g["sampler_time"].median() * 1e3,
            "sampler_ms_p90": g["sampler_time"].quantile(0.9) * 1e3,
            "objective_ms_median": g["objective_time"].median() * 1e3,
            "other_ms_median": g["other"].median() * 1e3,
            "real_ms_per_trial": real * 1e3,
            "trials": g["trial"].count(),
            "failed": g["state"].apply(lambda s: int((s == "FAIL").sum())),
            "pruned": g["state"].apply(lambda s: int((s == "PRUNED").sum())),
        }
    ).reset_index()


def pruning(df: pd.DataFrame) -> pd.DataFrame:
    """For problems with learning curves: steps used and quality per strategy.

    ``steps`` is the mean (over seeds) of the total steps trained in the run; ``steps_saved``
    is relative to the strategy with the same sampler and no pruner when the suite has it, else
    to training every trial to the end; ``normalized`` is the median normalized final best.
    """
    curves = df[df["steps"].notna()]
    if curves.empty:
        return pd.DataFrame(
            columns=["problem", "strategy", "steps", "steps_saved", "normalized", "pruned_share"]
        )
    final = at_budgets(curves, (1.0,))
    rows = []
    for (problem, strategy), sub in final.groupby(["problem", "strategy"]):
        runs = curves[(curves["problem"] == problem) & (curves["strategy"] == strategy)]
        rows.append(
            {
                "problem": problem,
                "strategy": strategy,
                "sampler": runs["sampler"].iloc[0],
                "pruner": runs["pruner"].iloc[0],
                # simulated worker count (0: not simulated): the baseline must match it
                "workers": float(runs["workers"].fillna(0).iloc[0]) if "workers" in runs else 0.0,
                "steps": float(sub["cum_steps"].mean()),
                "full_steps": float(runs.groupby("seed")["steps"].size().mean())
                * float(runs["steps"].max()),
                "normalized": float(sub["normalized"].median()),
                "pruned_share": float((runs["state"] == "PRUNED").mean()),
            }
        )
    table = pd.DataFrame(rows)
    # Strategies sharing a sampler without pruner (e.g. named variants): their mean.
    keys = ["problem", "sampler", "workers"]
    baseline = table[table["pruner"] == "none"].groupby(keys)["steps"].mean()
    ref = [
        baseline.get(key, full)
        for key, full in zip(
            table[keys].itertuples(index=False, name=None), table["full_steps"], strict=True
        )
    ]
    table["steps_saved"] = 1.0 - table["steps"] / np.asarray(ref, dtype=float)
    return table[["problem", "strategy", "steps", "steps_saved", "normalized", "pruned_share"]]


def speedup_over_random(df: pd.DataFrame, reference: str = "random") -> pd.DataFrame:
    """Speedup over random search: trials ``reference`` used / trials to reach its final best.

    In every block (problem, seed) that has a ``reference`` run, the reference's final best
    loss ``L`` after its ``N`` trials is the bar. A strategy that first gets a best-so-far
    ``<= L`` at its ``t``-th trial has speedup ``N / t`` in that block (2.0: it found random's
    final result in half the trials); one that never reaches ``L`` gets 0 (``reached`` is
    False). The reference itself counts as 1 by definition. Blocks are pooled per group.

    Returns one row per (group, strategy): ``speedup`` (median over blocks), ``speedup_gmean``
    (geometric mean over the blocks where the bar was reached), ``reached`` (share of blocks)
    and ``blocks``. Groups without a ``reference`` run are left out.

    Example:
        .. code-block:: python

            from optuna_recipes.bench import load_results, metrics

            print(metrics.speedup_over_random(load_results("bench-out")))
    """
    d = df.copy()
    d["loss"] = _loss(d)
    d = d.sort_values(["problem", "strategy", "seed", "trial"])
    d["position"] = d.groupby(["problem", "strategy", "seed"]).cumcount() + 1
    ref = d[d["strategy"] == reference]
    if ref.empty:
        return pd.DataFrame(columns=["group", "strategy", "speedup", "speedup_gmean", "reached"])
    bar = ref.groupby(BLOCK).agg(bar=("loss", "min"), n_ref=("position", "max"))
    d = d.join(bar, on=BLOCK, how="inner")
    hit = d[d["loss"].notna() & (d["loss"] <= d["bar"])]
    first = hit.groupby(["group", "problem", "strategy", "seed"])["position"].min()
    runs = d.groupby(["group", "problem", "strategy", "seed"])["n_ref"].first().to_frame()
    runs["first"] = first
    runs["reached"] = runs["first"].notna()
    runs["speedup"] = (runs["n_ref"] / runs["first"]).fillna(0.0)
    runs = runs.reset_index()
    runs.loc[runs["strategy"] == reference, "speedup"] = 1.0
    rows = []
    for (group, strategy), sub in runs.groupby(["group", "strategy"]):
        reached = sub.loc[sub["reached"], "speedup"]
        rows.append(
            {
                "group": group,
                "strategy": strategy,
                "speedup": float(sub["speedup"].median()),
                "speedup_gmean": float(np.exp(np.log(reached).mean())) if len(reached) else 0.0,
                "reached": float(sub["reached"].mean()),
                "blocks": len(sub),
            }
        )
    return pd.DataFrame(rows)


def leaderboard(df: pd.DataFrame) -> pd.DataFrame:
    """Compact per-group leaderboard, best mean final rank first."""
    ranks = mean_ranks(df)
    areas = auc(df).groupby(["group", "strategy"])["auc"].mean().rename("auc").reset_index()
    final = at_budgets(df, (1.0,))
    norm = (
        final.groupby(["group", "strategy"])["normalized"]
        .median()
        .rename("normalized")
        .reset_index()
    )
    wins = []
    for group, mat in win_rates(df).items():
        for strategy in mat.index:
            wins.append(
                {"group": group, "strategy": strategy, "win_rate": float(mat.loc[strategy].mean())}
            )
    over = (
        df.groupby(["group", "strategy"])
        .agg(
            sampler_ms_median=("sampler_time", "median"),
            failed=("state", lambda s: int((s == "FAIL").sum())),
        )
        .reset_index()
    )
    over["sampler_ms_median"] *= 1e3
    board = (
        ranks.merge(areas, on=["group", "strategy"])
        .merge(norm, on=["group", "strategy"])
        .merge(pd.DataFrame(wins, columns=["group", "strategy", "win_rate"]), how="left")
        .merge(over, on=["group", "strategy"], how="left")
    )
    board = board.rename(columns={b: f"rank@{int(b * 100)}%" for b in BUDGETS})
    return board.sort_values(["group", "rank@100%"]).reset_index(drop=True)
