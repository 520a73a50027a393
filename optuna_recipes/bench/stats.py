"""The statistics HPO benchmarks report: critical differences, IQM with bootstrap CIs, ECDFs.

The summaries of CARP-S (critical-difference diagrams, interquartile means with stratified
bootstrap confidence intervals, in the style of rliable) and of COCO (empirical cumulative
distributions of (problem, target) pairs reached), computed from the per-trial results table
(one row per trial: ``problem``, ``strategy``, ``seed``, ``trial``, ``value``, ``state``,
``direction``, ``optimum``; see :func:`optuna_recipes.bench.load_results`). Pass one group's
rows (one suite group, one worker count): every problem in the table is a block.

Scores. Each complete trial's value becomes a *score*, its normalized loss as defined in
:mod:`optuna_recipes.bench.metrics` (0: the known optimum, or else the best value any run found;
1: the median first trial, a random guess; lower is better). Pruned and failed trials have no
score. Pass ``column="..."`` to use a column that is already such a score instead (e.g. a
precomputed normalized regret). A run's score at a budget is the best score among the trials
whose result was known by then; a run without any is scored 1 (no better than a random guess).

Axes. ``axis="trial"`` counts trials (the ``k``-th trial of a run is at ``k``); any other axis is
a column of the table giving the time a trial's result became known (``sim_time``, the
simulated clock of :mod:`optuna_recipes.bench.simulate`, ``wall_time`` or ``cum_steps``).
Best-so-far is taken in that order, so with parallel workers a late trial that finished early
counts early. A *budget* is a fraction of the problem's horizon: the largest axis value that
every run of the problem reached (its number of trials, or its shortest makespan).

Example:
    .. code-block:: python

        from optuna_recipes.bench import load_results
        from optuna_recipes.bench import stats

        df = load_results("bench-out")
        df = df[df["group"] == "hpo"]
        print(stats.critical_difference(df).ranks)
        print(stats.iqm(df))
        print(stats.ecdf(df).groupby("strategy")["reached"].max())
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from dataclasses import field
import math

import numpy as np
import pandas as pd

from optuna_recipes._validation import check_float
from optuna_recipes._validation import check_int
from optuna_recipes.bench import metrics

RUN = ["problem", "strategy", "seed"]
TARGETS: tuple[float, ...] = tuple(float(t) for t in 10.0 ** -np.linspace(0.0, 3.0, 13))
"""Default ECDF targets: normalized scores 1 down to 1e-3, four per decade (log-spaced)."""


def trial_scores(df: pd.DataFrame, column: str | None = None) -> pd.DataFrame:
    """One row per trial of ``df`` with ``score``: its normalized loss (see the module docstring).

    Example:
        .. code-block:: python

            from optuna_recipes.bench import stats

            scored = stats.trial_scores(df)  # df: the results table
            scored.groupby("strategy")["score"].min()
    """
    _require(df, [*RUN, "trial"] + ([column] if column else ["value"]))
    d = df.copy()
    if column is not None:
        d["score"] = d[column].astype(float)
        return d
    d["direction"] = d["direction"] if "direction" in d else "minimize"
    d["optimum"] = d["optimum"] if "optimum" in d else math.nan
    d["value"] = d["value"].astype(float)
    if "state" in d:
        d.loc[d["state"] != "COMPLETE", "value"] = math.nan
    d["best"] = d["value"]  # normalize each trial's own value, not the best so far
    d["score"] = metrics.with_normalized(d)["normalized"].to_numpy()
    return d


def best_so_far(
    df: pd.DataFrame,
    axis: str = "trial",
    column: str | None = None,
    by: Sequence[str] = (),
) -> pd.DataFrame:
    """Each run's best score along ``axis``: columns ``problem, strategy, seed, *by, x, best``.

    A run is a (problem, strategy, seed), told apart further by the ``by`` columns (e.g.
    ``("workers",)`` when the table holds several worker counts). ``x`` is the trial's position
    in its run (1, 2, ...) for ``axis="trial"``, else the ``axis`` column; rows are sorted by
    ``x`` within each run; ``best`` is NaN until the first scored trial.

    Example:
        .. code-block:: python

            curves = stats.best_so_far(df, axis="sim_time", by=("workers",))
    """
    keys = [*RUN, *[b for b in by if b not in RUN]]
    _require(df, keys)
    d = trial_scores(df, column)
    if axis == "trial":
        d = d.sort_values([*keys, "trial"])
        d["x"] = d.groupby(keys).cumcount() + 1.0
    else:
        _require(d, [axis])
        d["x"] = d[axis].astype(float)
        d = d.sort_values([*keys, "x", "trial"])
    d["best"] = d.groupby(keys)["score"].cummin()
    d["best"] = d.groupby(keys)["best"].ffill()  # cummin leaves unscored trials NaN
    return d[[*keys, "x", "best"]].reset_index(drop=True)


def _horizons(curves: pd.DataFrame) -> pd.Series:
    """Per problem, the largest ``x`` that every run reached."""
    return curves.groupby(RUN)["x"].max().groupby("problem").min()


def scores_at(
    df: pd.DataFrame, budget: float = 1.0, axis: str = "trial", column: str | None = None
) -> pd.DataFrame:
    """Each run's score at ``budget`` (a fraction of its problem's horizon along ``axis``).

    Returns columns ``problem, strategy, seed, score``; a run without a scored trial by then
    scores 1.

    Example:
        .. code-block:: python

            final = stats.scores_at(df, budget=0.5, axis="sim_time")
    """
    check_float("budget", budget, minimum=0.0, maximum=1.0, exclusive_min=True)
    curves = best_so_far(df, axis, column)
    limit = curves["problem"].map(_horizons(curves) * budget)
    if axis == "trial":
        limit = np.maximum(np.ceil(limit - 1e-9), 1.0)
    reached = curves[curves["x"] <= limit].groupby(RUN)["best"].min()
    runs = reached.reindex(curves.groupby(RUN).size().index)
    return runs.fillna(1.0).rename("score").reset_index()


def _block_table(df: pd.DataFrame, budget: float, axis: str, column: str | None) -> pd.DataFrame:
    """Problems x strategies: the mean score over seeds (problems missing a strategy dropped)."""
    final = scores_at(df, budget, axis, column)
    table = final.pivot_table(index="problem", columns="strategy", values="score", aggfunc="mean")
    return table.dropna()


@dataclass(frozen=True)
class CriticalDifference:
    """Friedman test and Nemenyi critical difference of mean ranks across problems.

    Attributes:
        ranks: One row per strategy, best first: ``strategy``, ``mean_rank`` (1 = best),
            ``mean_score`` (mean over problems of the mean score over seeds).
        pvalue: Friedman test p-value (do the strategies differ at all?); NaN below 3
            strategies or 2 problems, 1.0 when every problem ranks them all equal.
        cd: Nemenyi critical difference: two mean ranks at least this far apart differ
            significantly at ``alpha``.
        alpha: Significance level.
        n_problems: Problems (blocks) used: those where every strategy has a score.
        cliques: Maximal groups of strategies (in rank order) whose mean ranks are all within
            ``cd`` of each other: the bars of a critical-difference diagram.
    """

    ranks: pd.DataFrame
    pvalue: float
    cd: float
    alpha: float
    n_problems: int
    cliques: list[tuple[str, ...]] = field(default_factory=list)

    @property
    def significant(self) -> bool:
        """Whether the Friedman test rejects "no difference" at ``alpha``."""
        return bool(self.pvalue < self.alpha)


def nemenyi_cd(k: int, n: int, alpha: float = 0.05) -> float:
    """Nemenyi critical difference of mean ranks of ``k`` strategies on ``n`` blocks.

    ``q_alpha * sqrt(k (k + 1) / (6 n))`` with ``q_alpha`` the studentized range quantile over
    ``sqrt(2)`` (Demšar, JMLR 2006), as autorank computes it.

    Example:
        .. code-block:: python

            from optuna_recipes.bench.stats import nemenyi_cd

            nemenyi_cd(k=4, n=10)  # about 1.48
    """
    from scipy import stats

    check_int("k", k, minimum=2)
    check_int("n", n, minimum=1)
    q = stats.studentized_range.ppf(1.0 - alpha, k, np.inf) / math.sqrt(2.0)
    return float(q * math.sqrt(k * (k + 1) / (6.0 * n)))


def _cliques(names: Sequence[str], ranks: Sequence[float], cd: float) -> list[tuple[str, ...]]:
    """Maximal runs of consecutive strategies (sorted by rank) spanning less than ``cd``."""
    groups: list[tuple[str, ...]] = []
    for i in range(len(names)):
        j = i
        while j + 1 < len(names) and ranks[j + 1] - ranks[i] < cd:
            j += 1
        if j > i and not (groups and groups[-1][-1] == names[j]):
            groups.append(tuple(names[i : j + 1]))
    return groups


def critical_difference(
    df: pd.DataFrame,
    budget: float = 1.0,
    axis: str = "trial",
    alpha: float = 0.05,
    column: str | None = None,
) -> CriticalDifference:
    """Rank the strategies on every problem at ``budget``; Friedman test and Nemenyi CD.

    Each problem is a block (its score: the mean over seeds); ranks are 1 = best, ties share
    the average rank. The Friedman p-value and the critical difference match ``autorank``'s
    non-parametric mode (``autorank(..., force_mode="nonparametric")``), which needs at least
    five problems and prints its tables; this works from two. For pairwise tests with Holm
    correction see :func:`optuna_recipes.bench.metrics.pairwise_tests`.

    Example:
        .. code-block:: python

            result = stats.critical_difference(df, budget=1.0)
            print(result.ranks, result.pvalue, result.cd, result.cliques)
    """
    from scipy import stats

    check_float("alpha", alpha, minimum=0.0, maximum=1.0, exclusive_min=True)
    table = _block_table(df, budget, axis, column)
    n, k = table.shape
    if k < 2 or n < 1:
        raise ValueError(
            f"A critical-difference analysis needs at least 2 strategies scored on at least 1 "
            f"common problem; got {k} strategies on {n} problems. Run more strategies, or pass "
            "rows where every strategy ran every problem."
        )
    ranks = table.rank(axis=1, method="average")
    mean_rank = ranks.mean()
    pvalue = math.nan
    if k >= 3 and n >= 2:
        spread = np.ptp(ranks.to_numpy(), axis=1).any()
        pvalue = float(stats.friedmanchisquare(*table.to_numpy().T).pvalue) if spread else 1.0
    order = mean_rank.sort_values(kind="stable").index
    summary = pd.DataFrame(
        {
            "strategy": [str(s) for s in order],
            "mean_rank": mean_rank[order].to_numpy(),
            "mean_score": table.mean()[order].to_numpy(),
        }
    )
    cd = nemenyi_cd(k, n, alpha)
    cliques = _cliques(list(summary["strategy"]), list(summary["mean_rank"]), cd)
    return CriticalDifference(summary, pvalue, cd, alpha, n, cliques)


def _iqm(values: np.ndarray, axis: int = -1) -> np.ndarray:
    from scipy import stats

    return stats.trim_mean(values, 0.25, axis=axis)


def stratified_bootstrap_iqm(
    strata: Sequence[np.ndarray],
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> tuple[float, float, float]:
    """IQM of the pooled scores and its percentile bootstrap CI, resampling within strata.

    Each stratum (a problem's runs) is resampled with replacement to its own size, as rliable
    does for tasks, so every problem keeps its weight; a stratum of one run always contributes
    that run.

    Example:
        .. code-block:: python

            import numpy as np
            from optuna_recipes.bench.stats import stratified_bootstrap_iqm

            iqm, low, high = stratified_bootstrap_iqm([np.array([0.1, 0.2]), np.array([0.4])])
    """
    check_int("n_resamples", n_resamples, minimum=1)
    check_float("confidence", confidence, minimum=0.0, maximum=1.0, exclusive_min=True)
    strata = [np.asarray(s, dtype=float) for s in strata if len(s)]
    if not strata:
        return math.nan, math.nan, math.nan
    rng = np.random.default_rng(seed)
    samples = [s[rng.integers(0, len(s), size=(n_resamples, len(s)))] for s in strata]
    boot = _iqm(np.concatenate(samples, axis=1), axis=1)
    tail = (1.0 - confidence) / 2.0 * 100.0
    low, high = np.percentile(boot, [tail, 100.0 - tail])
    return float(_iqm(np.concatenate(strata))), float(low), float(high)


def iqm(
    df: pd.DataFrame,
    budget: float = 1.0,
    axis: str = "trial",
    column: str | None = None,
    n_resamples: int = 2000,
    confidence: float = 0.95,
    seed: int = 0,
) -> pd.DataFrame:
    """Interquartile mean of the runs' scores at ``budget`` per strategy, with bootstrap CIs.

    The IQM (mean of the middle 50% of all runs over all problems) is robust to outlier runs
    yet uses more of the data than the median (Agarwal et al., NeurIPS 2021; CARP-S reports
    it). The confidence interval is a stratified percentile bootstrap
    (:func:`stratified_bootstrap_iqm`, strata = problems, fixed ``seed``).

    Returns columns ``strategy, iqm, ci_low, ci_high, runs, problems``, best IQM first.

    Example:
        .. code-block:: python

            print(stats.iqm(df, budget=0.5))
    """
    final = scores_at(df, budget, axis, column)
    rows = []
    for strategy, sub in final.groupby("strategy"):
        strata = [g["score"].to_numpy() for _, g in sub.groupby("problem")]
        mean, low, high = stratified_bootstrap_iqm(strata, n_resamples, confidence, seed)
        rows.append(
            {
                "strategy": str(strategy),
                "iqm": mean,
                "ci_low": low,
                "ci_high": high,
                "runs": len(sub),
                "problems": len(strata),
            }
        )
    out = pd.DataFrame(rows, columns=["strategy", "iqm", "ci_low", "ci_high", "runs", "problems"])
    return out.sort_values("iqm", kind="stable").reset_index(drop=True)


def ecdf(
    df: pd.DataFrame,
    axis: str = "trial",
    targets: Sequence[float] = TARGETS,
    column: str | None = None,
    relative: bool = False,
) -> pd.DataFrame:
    """COCO-style ECDF: share of (problem, target) pairs reached against ``axis``, per strategy.

    A run reaches target ``t`` at the first ``x`` where its best score is ``<= t``. Each
    (problem, target) pair weighs the same; a problem's runs (seeds) share its weight, so the
    curve is the expected share of pairs one run reaches. ``relative=True`` divides ``x`` by the
    problem's horizon, to pool problems whose time scales differ.

    Returns the steps of the curve: columns ``strategy, x, reached`` (``reached``: share in
    ``[0, 1]`` once ``x`` is reached), sorted by ``x`` per strategy; a strategy that reaches no
    target has no row.

    Example:
        .. code-block:: python

            curve = stats.ecdf(df, axis="sim_time", relative=True)
    """
    levels = sorted({float(t) for t in targets}, reverse=True)
    if not levels or levels[-1] < 0:
        raise ValueError(f"`targets` must be non-empty scores >= 0; got {list(targets)}.")
    curves = best_so_far(df, axis, column)
    if relative:
        curves["x"] = curves["x"] / curves["problem"].map(_horizons(curves)).replace(0.0, 1.0)
    runs_per = curves.groupby(["problem", "strategy"])["seed"].nunique()
    problems = curves["problem"].nunique()
    hits = []
    for t in levels:
        reached = curves[curves["best"] <= t].groupby(RUN)["x"].min().reset_index()
        hits.append(reached)
    hit = pd.concat(hits, ignore_index=True)
    if hit.empty:
        return pd.DataFrame(columns=["strategy", "x", "reached"])
    per_run = runs_per.loc[list(zip(hit["problem"], hit["strategy"], strict=True))].to_numpy()
    hit["weight"] = 1.0 / (len(levels) * problems * per_run)
    steps = hit.groupby(["strategy", "x"])["weight"].sum().groupby("strategy").cumsum()
    out = steps.rename("reached").reset_index()
    out["strategy"] = out["strategy"].astype(str)
    return out.sort_values(["strategy", "x"]).reset_index(drop=True)


def anytime(
    df: pd.DataFrame,
    axis: str = "sim_time",
    by: Sequence[str] = ("strategy",),
    n_points: int = 50,
    column: str | None = None,
) -> pd.DataFrame:
    """Best score against ``axis`` per problem and ``by`` group: median and quartiles over runs.

    Every run is read on the same grid of ``n_points`` from 0 to the problem's largest ``x``
    (a run before its first score counts 1; after its end, its final best). Group by
    ``("strategy", "workers")`` to compare worker counts on the simulated clock.

    Returns columns ``problem, *by, x, median, q25, q75``.

    Example:
        .. code-block:: python

            curves = stats.anytime(df, axis="sim_time", by=("strategy", "workers"))
    """
    check_int("n_points", n_points, minimum=2)
    by = list(by)
    keys = [*RUN, *[b for b in by if b not in RUN]]
    scored = best_so_far(df, axis, column, by)
    rows = []
    for problem, sub in scored.groupby("problem"):
        grid = np.linspace(0.0, float(sub["x"].max()), n_points)
        for group, runs in sub.groupby(by):
            values = np.vstack([_on_grid(run, grid) for _, run in runs.groupby(keys)])
            q25, median, q75 = np.percentile(values, [25.0, 50.0, 75.0], axis=0)
            head = dict(zip(by, group if isinstance(group, tuple) else (group,), strict=True))
            rows += [
                {"problem": problem, **head, "x": x, "median": m, "q25": a, "q75": b}
                for x, m, a, b in zip(grid, median, q25, q75, strict=True)
            ]
    return pd.DataFrame(rows, columns=["problem", *by, "x", "median", "q25", "q75"])


def _on_grid(run: pd.DataFrame, grid: np.ndarray) -> np.ndarray:
    """A run's best score at each grid point (1 before its first score)."""
    best = run["best"].fillna(1.0).to_numpy()
    idx = np.searchsorted(run["x"].to_numpy(), grid, side="right") - 1
    return np.where(idx >= 0, best[np.clip(idx, 0, None)], 1.0)


def _require(df: pd.DataFrame, columns: Sequence[str]) -> None:
    missing = [c for c in columns if c not in df.columns]
    if missing:
        raise ValueError(
            f"The results table lacks the column(s) {missing}; it has {list(df.columns)}. Pass "
            "the per-trial table of `optuna_recipes.bench.load_results` (or name an existing "
            "score column with `column=`)."
        )
