"""Published figures: a small vocabulary of functions that turn a results digest into one number.

Every figure the README states is one expression of this vocabulary, written in
``benchmarks/claims.toml`` and evaluated by ``benchmarks/claims.py`` on the digest of a
benchmark folder (:mod:`optuna_recipes.bench.digest`). An expression is a call of a function
below with literal arguments (strings, numbers, lists, dicts), or such calls combined with
``+ - * /`` and numbers; nothing else is evaluated::

    mean_rank("ga", budget=300)
    sampler_ms("ga", trials=[900, 1000]) / sampler_ms("tpe", trials=[900, 1000])
    median_reach("warmstart", reference="tpe", budget=100, group="related")

Blocks are (problem, seed) pairs as in :mod:`optuna_recipes.bench.metrics`; every function
pools the groups it is given (``group``: a name or a list; ``problems``: shell patterns of
problem names; ``strategies``: the strategies that take part, e.g. in ranks). ``budget`` cuts
every run at that many trials (default: each run's own length).

Example:
    .. code-block:: python

        from optuna_recipes.bench import digest
        from optuna_recipes.bench.claim_figures import evaluate

        digest.condense("bench-out/quick")  # a finished `bench run quick`
        data = digest.load("bench-out/quick")
        print(evaluate('mean_rank("ga", budget=20)', data))
"""

from __future__ import annotations

import ast
from collections.abc import Callable
from fnmatch import fnmatch
import inspect
import operator
from typing import Any

import numpy as np
import pandas as pd

from optuna_recipes.bench import metrics
from optuna_recipes.bench.digest import Digest

Filter = str | list[str] | None
#: Keyword filters every function with ``**where`` accepts (see :func:`_select`).
WHERE = frozenset({"group", "problems", "strategies"})


class FigureError(ValueError):
    """An expression outside the vocabulary, or a figure the data cannot give."""


def _select(
    df: pd.DataFrame, group: Filter = None, problems: Filter = None, strategies: Filter = None
) -> pd.DataFrame:
    def as_list(value: Filter) -> list[str]:
        return [value] if isinstance(value, str) else list(value or [])

    if group is not None:
        df = df[df["group"].isin(as_list(group))]
    if problems is not None:
        patterns = as_list(problems)
        # Match each problem name once, not each of the (many) rows.
        names = [str(p) for p in df["problem"].unique()]
        df = df[df["problem"].isin([p for p in names if any(fnmatch(p, x) for x in patterns)])]
    if strategies is not None:
        df = df[df["strategy"].isin(as_list(strategies))]
    if df.empty:
        raise FigureError(
            f"no runs match group={group!r}, problems={problems!r}, strategies={strategies!r}."
        )
    return df.assign(group="pooled")


def _trials(data: Digest, budget: int | None, **where: Any) -> pd.DataFrame:
    return _select(data.per_trial(budget), **where)


def _runs(data: Digest, trials: list[int] | None = None, **where: Any) -> pd.DataFrame:
    """Rows of ``timing``: one per run, or the window ``trials = [lo, hi]``."""
    if data.timing is None:
        raise FigureError(f"{data.folder} has no timing table.")
    t = data.timing
    if trials is None:
        t = t[t["scope"] == "run"]
    else:
        lo, hi = trials
        t = t[(t["scope"] == "window") & (t["lo"] == lo) & (t["hi"] == hi)]
        if t.empty:
            raise FigureError(
                f"trials={trials!r} is not a window of timing.csv.gz; windows are [0, 25], "
                "[25, 50], [50, 100], then every 100 trials ([100, 200], ...)."
            )
    return _select(t, **where)


def _strategy(df: pd.DataFrame, name: str) -> pd.DataFrame:
    sub = df[df["strategy"] == name]
    if sub.empty:
        known = ", ".join(sorted(df["strategy"].unique()))
        raise FigureError(f"no runs of strategy {name!r}; the data has: {known}.")
    return sub


def _final_losses(df: pd.DataFrame) -> pd.DataFrame:
    """Blocks x strategies table of the final best loss (lower is better; NaN: no run).

    Only blocks that exist: pooled problems may have different seeds, and a pivot over all
    (problem, seed) combinations would add blocks without any run.
    """
    final = metrics.at_budgets(df, (1.0,))
    table = final.pivot_table(
        index=metrics.BLOCK, columns="strategy", values="loss", aggfunc="first", dropna=False
    )
    runs = final.groupby(metrics.BLOCK).size()
    return table[table.index.isin(runs.index)]


def _mean_ranks(df: pd.DataFrame) -> pd.Series:
    """Mean rank (1 = best; ties share, a run without a complete trial ranks last) per strategy,
    as :func:`optuna_recipes.bench.metrics.mean_ranks`, over the blocks that exist."""
    table = _final_losses(df).fillna(np.inf)
    return table.rank(axis=1, method="average").mean()


def mean_rank(data: Digest, strategy: str, budget: int | None = None, **where: Any) -> float:
    """Mean rank (1 = best) of ``strategy``'s best value among the strategies, over blocks."""
    ranks = _mean_ranks(_trials(data, budget, **where))
    if strategy not in ranks:
        raise FigureError(f"no runs of strategy {strategy!r}; the data has: {list(ranks.index)}.")
    return float(ranks[strategy])


def p_holm(data: Digest, a: str, b: str, budget: int | None = None, **where: Any) -> float:
    """Holm-adjusted Wilcoxon signed-rank p-value of ``a`` vs ``b`` (all pairs of the
    selected strategies are adjusted together)."""
    pairs = metrics.pairwise_tests(_trials(data, budget, **where), 1.0)
    row = pairs[((pairs["a"] == a) & (pairs["b"] == b)) | ((pairs["a"] == b) & (pairs["b"] == a))]
    if row.empty:
        raise FigureError(f"no pair ({a!r}, {b!r}) in the data.")
    return float(row["p_holm"].iloc[0])


def win_rate(data: Digest, a: str, b: str, budget: int | None = None, **where: Any) -> float:
    """Share of blocks where ``a`` ends better than ``b`` (ties count 1/2)."""
    table = _final_losses(_trials(data, budget, **where)).fillna(np.inf)
    x, y = table[a].to_numpy(), table[b].to_numpy()
    return float(np.mean((x < y) + 0.5 * (x == y)))


def wins(data: Digest, a: str, b: str, budget: int | None = None, **where: Any) -> int:
    """Number of blocks where ``a`` ends strictly better than ``b``."""
    table = _final_losses(_trials(data, budget, **where)).fillna(np.inf)
    return int((table[a] < table[b]).sum())


def blocks(data: Digest, budget: int | None = None, **where: Any) -> int:
    """Number of blocks (problem x seed)."""
    return len(_final_losses(_trials(data, budget, **where)))


def problem_wins(data: Digest, a: str, b: str, budget: int | None = None, **where: Any) -> int:
    """Number of problems where ``a``'s median best over seeds is strictly better than ``b``'s."""
    table = _final_losses(_trials(data, budget, **where)).fillna(np.inf)
    med = table.groupby(level="problem").median()
    return int((med[a] < med[b]).sum())


def problem_count(data: Digest, **where: Any) -> int:
    """Number of problems."""
    return int(_select(data.trace, **where)["problem"].nunique())  # type: ignore[arg-type]


def _reach(
    data: Digest, strategy: str, reference: str, budget: int | None, **where: Any
) -> pd.Series:
    """Per block: trials ``strategy`` needs until its best is at least ``reference``'s best
    after ``budget`` trials (its own length + 1 when it never gets there)."""
    df = _trials(data, None, **where)
    df = df.assign(loss=np.where(df["direction"] == "maximize", -1.0, 1.0) * df["best"])
    ref = _strategy(df, reference)
    if budget is not None:
        ref = ref[ref["trial"] < budget]
    bar = ref.groupby(metrics.BLOCK)["loss"].min().rename("bar")
    own = _strategy(df, strategy).join(bar, on=metrics.BLOCK, how="inner")
    n = own.groupby(metrics.BLOCK)["trial"].max() + 2
    hit = own[own["loss"] <= own["bar"]].groupby(metrics.BLOCK)["trial"].min() + 1
    return hit.reindex(n.index).fillna(n).astype(float)


def median_reach(
    data: Digest, strategy: str, reference: str = "tpe", budget: int | None = None, **where: Any
) -> float:
    """Median over blocks of the trials ``strategy`` needs to match ``reference``'s best after
    ``budget`` trials (a run that never matches it counts as its length + 1)."""
    return float(_reach(data, strategy, reference, budget, **where).median())


def reach_interval(
    data: Digest,
    strategy: str,
    reference: str = "tpe",
    budget: int | None = None,
    bound: str = "low",
    level: float = 0.95,
    resamples: int = 10_000,
    **where: Any,
) -> float:
    """A bound of the percentile bootstrap interval of :func:`median_reach`: problems are drawn
    with replacement, each with all its seeds (seeds of one problem are not independent), and
    the median over the drawn blocks is taken ``resamples`` times (generator seeded with 0, so
    the figure is a pure function of the data). ``bound``: ``"low"`` or ``"high"``."""
    if bound not in ("low", "high"):
        raise FigureError(f"`bound` must be 'low' or 'high', got {bound!r}.")
    if not 0.0 < level < 1.0:
        raise FigureError(f"`level` must be in (0, 1), got {level!r}.")
    reach = _reach(data, strategy, reference, budget, **where)
    if reach.empty:
        raise FigureError(f"no blocks where {strategy!r} and {reference!r} both ran.")
    per_problem = [g.to_numpy() for _, g in reach.groupby(level="problem")]
    rng = np.random.default_rng(0)
    medians = np.empty(resamples)
    for i in range(resamples):
        drawn = rng.integers(len(per_problem), size=len(per_problem))
        medians[i] = np.median(np.concatenate([per_problem[j] for j in drawn]))
    tail = (1.0 - level) / 2.0
    return float(np.quantile(medians, tail if bound == "low" else 1.0 - tail))


def share_reached(
    data: Digest,
    strategy: str,
    within: int,
    reference: str = "tpe",
    budget: int | None = None,
    **where: Any,
) -> float:
    """Share of blocks where ``strategy`` matches ``reference``'s best (after ``budget``
    trials) within ``within`` trials."""
    return float((_reach(data, strategy, reference, budget, **where) <= within).mean())


def speedup(data: Digest, strategy: str, reference: str = "random", **where: Any) -> float:
    """Median over blocks of ``reference``'s trials / the trials ``strategy`` needs to reach
    ``reference``'s final best (see :func:`optuna_recipes.bench.metrics.speedup_over_random`)."""
    table = metrics.speedup_over_random(_trials(data, None, **where), reference)
    return float(_strategy(table, strategy)["speedup"].iloc[0])


def normalized(data: Digest, strategy: str, budget: int | None = None, **where: Any) -> float:
    """Median over blocks of the normalized best (0 = optimum or best found, 1 = random guess)."""
    final = metrics.at_budgets(_trials(data, budget, **where), (1.0,))
    return float(_strategy(final, strategy)["normalized"].median())


def best(
    data: Digest, strategy: str, budget: int | None = None, stat: str = "median", **where: Any
) -> float:
    """``stat`` (``median``, ``mean``, ``min``, ``max``) over blocks of the best value found."""
    df = _strategy(_trials(data, budget, **where), strategy)
    final = df.groupby(metrics.BLOCK)["best"].last()
    return float(getattr(final, stat)())


def _timing_stat(
    data: Digest, column: str, strategy: str | None, trials: list[int] | None, **where: Any
) -> float:
    runs = _runs(data, trials, **where)
    if strategy is not None:
        runs = _strategy(runs, strategy)
    return float(runs[column].median())


def sampler_ms(
    data: Digest, strategy: str | None = None, trials: list[int] | None = None, **where: Any
) -> float:
    """Median over runs of the run's median milliseconds inside the sampler per trial (in the
    window ``trials = [lo, hi]`` when given)."""
    return _timing_stat(data, "sampler_ms", strategy, trials, **where)


def other_ms(
    data: Digest, strategy: str | None = None, trials: list[int] | None = None, **where: Any
) -> float:
    """Median over runs of the run's median milliseconds per trial outside the sampler and the
    objective (Optuna's own bookkeeping)."""
    return _timing_stat(data, "other_ms", strategy, trials, **where)


def attr_median(data: Digest, column: str, strategy: str | None = None, **where: Any) -> float:
    """Median over runs of the run's median of a per-trial attribute the problem records."""
    return _timing_stat(data, column, strategy, None, **where)


def _paired(
    data: Digest, column: str, strategy: str, baseline: str | None, **where: Any
) -> pd.DataFrame:
    """Per block, ``column`` of ``strategy``'s run and of the baseline's (``x``, ``y``)."""
    runs = _runs(data, None, **where)
    base = baseline or strategy.split("+", 1)[0]
    x = _strategy(runs, strategy).set_index(metrics.BLOCK)[column].rename("x")
    y = _strategy(runs, base).set_index(metrics.BLOCK)[column].rename("y")
    return pd.concat([x, y], axis=1, join="inner")


def steps_saved(data: Digest, strategy: str, baseline: str | None = None, **where: Any) -> float:
    """1 - training steps of ``strategy`` / steps of ``baseline`` (default: the same sampler
    without pruner), per problem over seeds, averaged over problems."""
    pair = _paired(data, "steps", strategy, baseline, **where)
    per_problem = pair.groupby(level="problem").mean()
    return float((1.0 - per_problem["x"] / per_problem["y"]).mean())


def time_ratio(data: Digest, strategy: str, baseline: str | None = None, **where: Any) -> float:
    """Mean over blocks of the objective seconds of ``strategy``'s run / the baseline's."""
    pair = _paired(data, "objective_s", strategy, baseline, **where)
    return float((pair["x"] / pair["y"]).mean())


def best_change(
    data: Digest,
    strategy: str,
    baseline: str | None = None,
    budget: int | None = None,
    **where: Any,
) -> float:
    """Mean over blocks of (baseline's best loss - ``strategy``'s) / |baseline's|: > 0 when
    ``strategy`` ends better (baseline default: the same sampler without pruner)."""
    table = _final_losses(_trials(data, budget, **where))
    base = baseline or strategy.split("+", 1)[0]
    return float(((table[base] - table[strategy]) / table[base].abs()).mean())


def best_change_at_steps(
    data: Digest, strategy: str, baseline: str | None = None, stat: str = "mean", **where: Any
) -> float:
    """Like :func:`best_change`, at equal training steps: per block, ``strategy``'s final best
    against the baseline's best after as many training steps as ``strategy``'s whole run
    trained (blocks where the baseline's first trial alone trained more, or its best there is
    0, are left out). Mean,
    or ``stat="median"``. Needs a digest with ``cum_steps`` (made from a ``results.csv`` that
    has steps)."""
    t = _select(data.trace, **where)  # type: ignore[arg-type]
    if "cum_steps" not in t:
        raise FigureError(
            f"{data.folder}'s digest has no cum_steps: condense its results.csv again "
            "(`python benchmarks/claims.py --write` with the results in the folder)."
        )
    base = baseline or strategy.split("+", 1)[0]
    ours = _strategy(t, strategy).sort_values("trial")
    theirs = _strategy(t, base).sort_values("trial").set_index(metrics.BLOCK)
    changes = []
    for block, run in ours.groupby(metrics.BLOCK):
        if block not in theirs.index:
            continue
        other = theirs.loc[[block]]
        reached = other[other["cum_steps"] <= run["cum_steps"].max()]
        sign = -1.0 if run["direction"].iloc[0] == "maximize" else 1.0
        if reached.empty or reached["best"].iloc[-1] == 0:
            continue  # the baseline had no result yet, or a relative change is undefined
        mine, ref = sign * float(run["best"].iloc[-1]), sign * float(reached["best"].iloc[-1])
        changes.append((ref - mine) / abs(ref))
    if not changes:
        raise FigureError(f"no block where {base!r} trained as few steps as {strategy!r}.")
    return _stat(pd.Series(changes), stat)


def _heldout(data: Digest, strategy: str, **where: Any) -> pd.DataFrame:
    """Per run: the held-out test value of the best trial and of the library defaults."""
    df = _select(data.trace, **where)  # type: ignore[arg-type]
    for column in ("test_value", "default_test_value"):
        if column not in df:
            raise FigureError(f"{data.folder} has no {column!r}: not a `heldout` problem.")
    runs = _strategy(df, strategy).dropna(subset=["best"]).sort_values("trial")
    final = runs.groupby(metrics.BLOCK)["best"].transform("last")
    # The digest keeps the trial that set each new best: the first row with the final best.
    last = runs[runs["best"] == final].groupby(metrics.BLOCK).first()
    sign = np.where(last["direction"] == "maximize", -1.0, 1.0)
    return pd.DataFrame(
        {"tuned": sign * last["test_value"], "default": sign * last["default_test_value"]}
    )


def heldout_wins(data: Digest, strategy: str, **where: Any) -> int:
    """Runs whose best trial (by the tuning metric) scores better on the held-out test part
    than the library's default configuration."""
    t = _heldout(data, strategy, **where)
    return int((t["tuned"] < t["default"]).sum())


def heldout_change(data: Digest, strategy: str, stat: str = "mean", **where: Any) -> float:
    """Mean (or ``stat="median"``) over runs of the relative test-metric improvement of the
    tuned model over the library defaults: (default loss - tuned loss) / |default loss|."""
    t = _heldout(data, strategy, **where)
    return _stat((t["default"] - t["tuned"]) / t["default"].abs(), stat)


def _stat(values: pd.Series, stat: str) -> float:
    if stat not in ("mean", "median"):
        raise FigureError(f"`stat` must be 'mean' or 'median', got {stat!r}.")
    return float(getattr(values, stat)())


def measure(
    data: Digest,
    column: str = "value",
    stat: str = "median",
    strategy: str | None = None,
    problem: str | None = None,
) -> float:
    """``stat`` (``median``, ``mean``, ``min``, ``max``) of a column of a measurement table (a
    script's ``results.csv``), optionally for one ``strategy`` and ``problem``."""
    table = data.table if data.table is not None else data.trace
    assert table is not None
    if strategy is not None:
        table = _strategy(table, strategy)
    if problem is not None:
        table = table[table["problem"] == problem]
    if table.empty or column not in table:
        raise FigureError(f"no {column!r} values for strategy={strategy!r}, problem={problem!r}.")
    if stat not in ("median", "mean", "min", "max"):
        raise FigureError(f"`stat` must be median, mean, min or max, got {stat!r}.")
    return float(getattr(table[column], stat)())


def comparison_table(data: Digest, columns: dict[str, list[str]], strategies: list[str]) -> str:
    """The README's comparison table: per strategy and column (a list of groups pooled), its
    mean final rank among ``strategies`` and median speedup over random search, and its median
    sampler time per trial over every run of the table's groups (``n/a`` where it has none)."""
    lines = ["| strategy | " + " | ".join(f"{c} rank | {c} speedup" for c in columns)]
    lines[0] += " | sampler ms/trial |"
    lines.append("|---|" + "---|---|" * len(columns) + "---|")
    cells: dict[str, list[str]] = {s: [] for s in strategies}
    for groups in columns.values():
        df = _trials(data, None, group=groups)
        df = df[df["strategy"].isin(strategies)]
        ranks = _mean_ranks(df)
        speed = metrics.speedup_over_random(df).set_index("strategy")["speedup"]
        for s in strategies:
            cells[s] += [_cell(ranks.get(s), "{:.2f}"), _cell(speed.get(s), "{:.2f}x")]
    runs = None
    if data.timing is not None:
        t = data.timing
        groups = [g for gs in columns.values() for g in gs]
        runs = t[(t["scope"] == "run") & t["group"].isin(groups)]
    for s in strategies:
        ms = runs.loc[runs["strategy"] == s, "sampler_ms"].median() if runs is not None else None
        ms_cell = _cell(ms, "{:.1f}" if ms is not None and ms >= 1 else "{:.2f}")
        lines.append(f"| {s} | " + " | ".join([*cells[s], ms_cell]) + " |")
    return "\n".join(lines)


def _families(df: pd.DataFrame, group: str) -> list[tuple[str, dict[str, Any]]]:
    """The task families of ``group``'s trials ``df`` (the second ``-``-separated part of a
    problem name: ``GROUP-FAMILY-TASK``), sorted, each with the filter selecting its problems."""
    families = sorted({str(p).split("-")[1] for p in df["problem"]})
    return [(f, {"group": group, "problems": f"{group}-{f}-*"}) for f in families]


def family_table(
    data: Digest, group: str, strategies: list[str], budgets: list[int], reference: str = "tpe"
) -> str:
    """Per task family of ``group`` (the second ``-``-separated part of a problem name, as in
    the ``hpo-families`` suites: ``GROUP-FAMILY-TASK``): each strategy's median normalized
    regret over (task, seed) blocks after each budget, then its median trials to reach
    ``reference``'s best after its last budget (``>N``: most runs never got there)."""
    df = _trials(data, None, group=group)
    head = [f"{s} @{b}" for s in strategies for b in budgets]
    head += [f"{s} reach" for s in strategies if s != reference]
    lines = ["| family | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for family, where in _families(df, group):
        cells = [
            _cell(normalized(data, s, b, **where), "{:.3f}") for s in strategies for b in budgets
        ]
        for s in strategies:
            if s != reference:
                reach = _reach(data, s, reference, max(budgets), **where)
                limit = int(df["trial"].max()) + 1
                med = float(reach.median())
                cells.append(f">{limit}" if med > limit else f"{med:.0f}")
        lines.append(f"| {family} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def family_behind(
    data: Digest, group: str, strategy: str, budgets: list[int], reference: str = "tpe"
) -> str:
    """The ``FAMILY @BUDGET`` cells of :func:`family_table` where ``strategy``'s median
    normalized regret is above ``reference``'s (as the table rounds them, to 3 decimals),
    comma-separated; ``"none"`` when it is at or below in every family and budget."""
    behind = []
    for family, where in _families(_trials(data, None, group=group), group):
        for b in budgets:
            ours = round(normalized(data, strategy, b, **where), 3)
            theirs = round(normalized(data, reference, b, **where), 3)
            if ours > theirs:
                behind.append(f"{family} @{b}")
    return ", ".join(behind) or "none"


def _parallel_scores(data: Digest, group: str, at: str = "trials") -> pd.DataFrame:
    """Per simulated run of ``group``: its normalized regret after all trials (``trials``) and
    at the problem's equal simulated time (``time``: the earliest end of any run of that
    problem and worker count). Columns ``problem, strategy, workers, seed, trials, time``.
    ``at``: the column the caller reads, checked here."""
    if at not in ("trials", "time"):
        raise FigureError(f"`at` must be 'trials' or 'time', got {at!r}.")
    t = data.trace
    if t is None or "sim_time" not in t or t["sim_time"].isna().all():
        raise FigureError(f"{data.folder} has no simulated-workers runs.")
    d = t[(t["group"] == group) & t["workers"].notna()].copy()
    if d.empty:
        raise FigureError(f"no simulated runs in group {group!r}.")
    d["workers"] = d["workers"].astype(int)
    d["strategy"] = [
        str(s).removesuffix(f"@{w}w") for s, w in zip(d["strategy"], d["workers"], strict=True)
    ]
    d["best"] = d["value"]  # normalize each kept trial's own value
    d["normalized"] = metrics.with_normalized(d)["normalized"]
    run = ["problem", "strategy", "workers", "seed"]
    ends = d.groupby(run)["sim_time"].max()
    horizon = ends.groupby(["problem", "workers"]).min().rename("horizon")
    d = d.join(horizon, on=["problem", "workers"])
    at_time = d[d["sim_time"] <= d["horizon"]].groupby(run)["normalized"].min()
    out = d.groupby(run)["normalized"].min().rename("trials").to_frame()
    out["time"] = at_time.reindex(out.index).fillna(1.0)
    return out.reset_index()


def _iqm_of(values: pd.Series) -> float:
    """Interquartile mean (the mean of the middle half)."""
    v = np.sort(values.dropna().to_numpy())
    k = len(v) // 4
    return float(v[k : len(v) - k].mean()) if len(v) else float("nan")


def parallel_table(data: Digest, groups: list[str], strategies: list[str]) -> str:
    """Per strategy, group and simulated worker count: the interquartile mean of normalized
    regret over runs (problems x seeds) after all trials and at equal simulated time."""
    scores = {g: _parallel_scores(data, g) for g in groups}
    counts = sorted({int(w) for s in scores.values() for w in s["workers"]})
    head = [f"{g} {w}w trials / time" for g in groups for w in counts]
    lines = ["| strategy | " + " | ".join(head) + " |", "|---|" + "---|" * len(head)]
    for strategy in strategies:
        cells = []
        for g in groups:
            for w in counts:
                sub = scores[g][(scores[g]["strategy"] == strategy) & (scores[g]["workers"] == w)]
                a, b = _iqm_of(sub["trials"]), _iqm_of(sub["time"])
                cells.append(f"{_cell(a, '{:.3f}')} / {_cell(b, '{:.3f}')}")
        lines.append(f"| {strategy} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def parallel_rank(
    data: Digest, strategy: str, group: str, workers: int, at: str = "time"
) -> float:
    """``strategy``'s place (1 = best) by the interquartile mean of normalized regret among the
    strategies of ``group`` at ``workers`` simulated workers, after all trials (``at="trials"``)
    or at equal simulated time (``at="time"``)."""
    scores = _parallel_scores(data, group, at)
    sub = scores[scores["workers"] == workers]
    table = sub.groupby("strategy")[at].agg(_iqm_of)
    if strategy not in table:
        raise FigureError(f"no runs of {strategy!r} at {workers} workers in group {group!r}.")
    return float(table.rank(method="min")[strategy])


def _parallel_pairs(
    data: Digest, a: str, b: str, group: str, workers: int, at: str
) -> pd.DataFrame:
    """Per run (problem, seed) at ``workers`` simulated workers: the normalized regret of
    ``a`` (``x``) and of ``b`` (``y``) after all trials or at equal simulated time."""
    scores = _parallel_scores(data, group, at)
    sub = scores[scores["workers"] == workers].set_index(["problem", "seed"])
    pairs = pd.concat(
        [
            sub[sub["strategy"] == a][at].rename("x"),
            sub[sub["strategy"] == b][at].rename("y"),
        ],
        axis=1,
        join="inner",
    )
    if pairs.empty:
        raise FigureError(
            f"no runs of both {a!r} and {b!r} at {workers} workers in group {group!r}."
        )
    return pairs


def parallel_wins(data: Digest, a: str, b: str, group: str, workers: int, at: str = "time") -> int:
    """Runs (problem, seed) at ``workers`` simulated workers where ``a``'s normalized regret
    is strictly lower than ``b``'s (after all trials, or at equal simulated time)."""
    pairs = _parallel_pairs(data, a, b, group, workers, at)
    return int((pairs["x"] < pairs["y"]).sum())


def parallel_p(data: Digest, a: str, b: str, group: str, workers: int, at: str = "time") -> float:
    """Two-sided Wilcoxon signed-rank p-value of ``a`` against ``b``, paired by run (problem,
    seed), on the normalized regret at ``workers`` simulated workers (one planned pair: no
    multiplicity adjustment). 1.0 when every pair ties."""
    from scipy.stats import wilcoxon

    pairs = _parallel_pairs(data, a, b, group, workers, at)
    diff = (pairs["x"] - pairs["y"]).to_numpy()
    if not np.any(diff != 0.0):
        return 1.0
    return float(wilcoxon(diff, zero_method="wilcox").pvalue)


def _cell(value: Any, fmt: str) -> str:
    return "n/a" if value is None or pd.isna(value) else fmt.format(value)


#: The functions an expression may call, by name.
VOCABULARY: dict[str, Callable[..., Any]] = {
    f.__name__: f
    for f in (
        mean_rank,
        p_holm,
        win_rate,
        wins,
        blocks,
        problem_wins,
        problem_count,
        median_reach,
        share_reached,
        reach_interval,
        speedup,
        normalized,
        best,
        sampler_ms,
        other_ms,
        attr_median,
        steps_saved,
        time_ratio,
        best_change,
        best_change_at_steps,
        heldout_wins,
        heldout_change,
        measure,
        comparison_table,
        parallel_table,
        parallel_rank,
        parallel_wins,
        parallel_p,
        family_table,
        family_behind,
    )
}
_OPS: dict[type, Callable[[Any, Any], Any]] = {
    ast.Add: operator.add,
    ast.Sub: operator.sub,
    ast.Mult: operator.mul,
    ast.Div: operator.truediv,
}


def _calls(node: ast.AST, expression: str) -> list[tuple[str, list[Any], dict[str, Any]]]:
    """Check ``node`` against the grammar; return its calls (name, args, kwargs) in order."""
    if isinstance(node, ast.Expression):
        return _calls(node.body, expression)
    if isinstance(node, ast.Constant) and type(node.value) in (int, float):
        return []
    if isinstance(node, ast.UnaryOp) and isinstance(node.op, ast.USub):
        return _calls(node.operand, expression)
    if isinstance(node, ast.BinOp) and type(node.op) in _OPS:
        return _calls(node.left, expression) + _calls(node.right, expression)
    if isinstance(node, ast.Call) and isinstance(node.func, ast.Name):
        name = node.func.id
        if name not in VOCABULARY:
            raise FigureError(
                f"{expression!r}: unknown function {name!r}; the vocabulary is "
                f"{', '.join(VOCABULARY)} (optuna_recipes.bench.claim_figures)."
            )
        try:
            args = [ast.literal_eval(a) for a in node.args]
            kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        except ValueError as err:
            raise FigureError(
                f"{expression!r}: arguments of {name}() must be literals (strings, numbers, "
                "lists, dicts)."
            ) from err
        if len(kwargs) != len(node.keywords):
            raise FigureError(f"{expression!r}: `**` arguments are not allowed.")
        signature = inspect.signature(VOCABULARY[name])
        try:
            signature.bind(None, *args, **kwargs)
        except TypeError as err:
            raise FigureError(f"{expression!r}: {name}(): {err}.") from err
        unknown = set(kwargs) - set(signature.parameters) - WHERE
        if unknown:
            raise FigureError(
                f"{expression!r}: {name}() has no argument(s) {sorted(unknown)}; it takes "
                f"{', '.join(p for p in signature.parameters if p not in ('data', 'where'))} "
                f"and the filters {', '.join(sorted(WHERE))}."
            )
        return [(name, args, kwargs)]
    raise FigureError(
        f"{expression!r}: only calls of the vocabulary with literal arguments, numbers and "
        f"+ - * / are allowed, not {ast.unparse(node)!r}."
    )


def parse(expression: str) -> ast.Expression:
    """Parse and check an expression (see the module docstring); raises :class:`FigureError`."""
    try:
        tree = ast.parse(expression, mode="eval")
    except SyntaxError as err:
        raise FigureError(f"{expression!r} is not an expression: {err.msg}.") from err
    _calls(tree, expression)
    return tree


def evaluate(expression: str, data: Digest) -> Any:
    """The value of ``expression`` on ``data`` (a number, or text for tables)."""
    tree = parse(expression)

    def value(node: ast.AST) -> Any:
        if isinstance(node, ast.Constant):
            return node.value
        if isinstance(node, ast.UnaryOp):
            return -value(node.operand)
        if isinstance(node, ast.BinOp):
            return _OPS[type(node.op)](value(node.left), value(node.right))
        assert isinstance(node, ast.Call) and isinstance(node.func, ast.Name)
        args = [ast.literal_eval(a) for a in node.args]
        kwargs = {k.arg: ast.literal_eval(k.value) for k in node.keywords if k.arg}
        return VOCABULARY[node.func.id](data, *args, **kwargs)

    return value(tree.body)


def format_figure(value: Any, spec: str) -> str:
    """``value`` formatted with a format spec (``".2f"``, ``".0%"``, ``"d"``); text as is."""
    if isinstance(value, str):
        return value
    if spec.endswith("d"):
        value = round(float(value))
    return format(value, spec)
