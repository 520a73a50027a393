"""The verdict of a benchmark: which strategies are significantly better, which are identical.

The report's first paragraph (:func:`report_lines`) and the terminal leaderboard
(:func:`terminal_leaderboard`) say, per group and budget, which strategies are significantly
better than which (Holm-adjusted Wilcoxon signed-rank tests over blocks, from
:func:`optuna_recipes.bench.metrics.pairwise_tests`; Friedman test from
:func:`~optuna_recipes.bench.metrics.friedman`) or that none is, and flag strategies whose trial
values equal another's in every block, with the likely reason (e.g. ``nsga2`` with fewer trials
than its population is random search with the same seed).

Example:
    .. code-block:: python

        from optuna_recipes.bench import load_results
        from optuna_recipes.bench import verdict

        df = load_results("bench-out/quick")
        print("\\n".join(verdict.report_lines(df)))
"""

from __future__ import annotations

from collections.abc import Sequence
import inspect
import itertools
import math
from typing import Any

import numpy as np
import pandas as pd

from optuna_recipes.bench import metrics
from optuna_recipes.bench.strategies import SAMPLERS

ALPHA = 0.05
TIME_MATTERS_S = 0.01
"""Median seconds per objective call above which the report plots against wall time."""

# Samplers whose first trials are random search with the run's seed: (option, what it is).
_RANDOM_START: dict[str, tuple[str, str]] = {
    "nsga2": ("population_size", "first generation is"),
    "ga": ("population_size", "first population is"),
    "tpe": ("n_startup_trials", "startup trials are"),
    "gp": ("n_startup_trials", "startup trials are"),
}


def per_worker_count(df: pd.DataFrame) -> pd.DataFrame:
    """``df`` with each simulated worker count as a group of its own (``"hpo, 32 workers"``).

    Runs with simulated workers name their strategy ``NAME@Nw``; testing ``tpe@1w`` against
    ``tpe@32w`` at equal trials mixes two questions, so the verdict, the identical-strategies
    list and the terminal leaderboard compare strategies within one worker count. Rows without
    simulated workers keep their group."""
    if "workers" not in df.columns or not df["workers"].notna().any():
        return df
    # Worker counts in numeric order (1, 8, 32), each group's rows together.
    out = df.sort_values(["group", "workers"], kind="stable", na_position="first").copy()
    sim = out["workers"].notna()
    out["group"] = out["group"].astype(str)
    out.loc[sim, "group"] = [
        f"{g}, {int(w)} worker{'s' if int(w) != 1 else ''}"
        for g, w in zip(out.loc[sim, "group"], out.loc[sim, "workers"], strict=True)
    ]
    return out


def _in_order(table: pd.DataFrame, df: pd.DataFrame) -> list[tuple[Any, pd.DataFrame]]:
    """``table``'s rows per group, groups in the order they first appear in ``df``."""
    groups = dict(iter(table.groupby("group", sort=False)))
    return [(g, groups[g]) for g in dict.fromkeys(df["group"]) if g in groups]


def significant_pairs(
    df: pd.DataFrame, budgets: Sequence[float] = metrics.BUDGETS
) -> pd.DataFrame:
    """The pairwise tests at every budget (``metrics.pairwise_tests`` plus a ``budget``
    column); ``better`` names the significantly better strategy, or is empty."""
    frames = [metrics.pairwise_tests(df, b).assign(budget=b) for b in budgets]
    return pd.concat(frames, ignore_index=True)


def _md(text: Any) -> str:
    from optuna_recipes.bench.report import md_escape

    return md_escape(text)


def _fmt_p(p: float) -> str:
    return "–" if not np.isfinite(p) else (f"{p:.2g}" if p < 0.001 else f"{p:.3f}")


def _budget_sentence(pairs: pd.DataFrame) -> str:
    """What one group's tests at one budget say."""
    sig = pairs[pairs["better"] != ""]
    if sig.empty:
        best = float(pairs["p_holm"].min()) if len(pairs) else math.nan
        return f"no strategy is significantly better than another (smallest p_holm {_fmt_p(best)})"
    claims = []
    for r in sig.sort_values("p_holm").itertuples(index=False):
        worse = r.b if r.better == r.a else r.a
        claims.append(f"**{_md(r.better)}** better than {_md(worse)} (p_holm {_fmt_p(r.p_holm)})")
    return "; ".join(claims)


def _too_few_blocks(n_blocks: int, n_pairs: int) -> bool:
    """No pair can reach ``ALPHA`` after Holm: the smallest two-sided Wilcoxon p over ``n``
    blocks is ``2 / 2**n``, times the number of pairs."""
    return n_pairs > 0 and n_pairs * 2.0 ** (1 - n_blocks) >= ALPHA


def _verdict_group(group: Any, pairs: pd.DataFrame, fried: pd.Series | None) -> list[str]:
    n_blocks = int(pairs["n"].max()) if len(pairs) else 0
    head = f"- Group {_md(group)} ({n_blocks} blocks = problems x seeds"
    if fried is not None and np.isfinite(fried["p"]):
        head += f"; Friedman test of all strategies: p {_fmt_p(float(fried['p']))}"
    lines = [head + "):"]
    for budget, sub in pairs.groupby("budget", sort=True):
        lines.append(f"  - after {int(budget * 100)}% of the trials: {_budget_sentence(sub)}.")
    last = pairs[pairs["budget"] == pairs["budget"].max()]
    if (last["better"] == "").all() and _too_few_blocks(n_blocks, len(last)):
        lines.append(
            f"  - with {n_blocks} blocks and {len(last)} pair(s) no test can reach p < {ALPHA} "
            "after Holm's correction: run more seeds (about 6 or more per pair) or problems."
        )
    return lines


def verdict_lines(df: pd.DataFrame) -> list[str]:
    """The verdict paragraph: per group and budget, the significant differences or none."""
    pairs = significant_pairs(df)
    fried = metrics.friedman(df).set_index("group")
    lines = [
        "**Verdict.** Per group, which strategies are significantly better than which "
        f"(Wilcoxon signed-rank tests over blocks, Holm-adjusted within the group, p_holm < "
        f"{ALPHA}); without a significant difference the leaderboard's order may be chance.",
        "",
    ]
    if pairs.empty:
        return [*lines, "- Only one strategy per group: nothing to compare.", ""]
    for group, sub in _in_order(pairs, df):
        lines += _verdict_group(group, sub, fried.loc[group] if group in fried.index else None)
    return [*lines, ""]


def _sequences(df: pd.DataFrame) -> dict[tuple[Any, ...], dict[str, tuple[float, ...]]]:
    """Per block (group, problem, seed): each strategy's trial values in trial order."""
    out: dict[tuple[Any, ...], dict[str, tuple[float, ...]]] = {}
    ordered = df.sort_values("trial")
    for (group, problem, seed, strategy), sub in ordered.groupby(
        ["group", "problem", "seed", "strategy"], sort=False
    ):
        values = tuple(np.round(sub["value"].to_numpy(float), 12).tolist())
        out.setdefault((group, problem, seed), {})[str(strategy)] = values
    return out


def _same(x: tuple[float, ...], y: tuple[float, ...]) -> bool:
    return len(x) == len(y) and all(
        a == b or (a != a and b != b) for a, b in zip(x, y, strict=True)
    )


def _default_option(sampler: str, option: str) -> Any:
    """The default of a registered sampler's constructor option, or ``None``."""
    from optuna_recipes.bench._registry import import_object

    try:
        cls = import_object(SAMPLERS[sampler], "sampler")
        return inspect.signature(cls).parameters[option].default
    except (ImportError, KeyError, TypeError, ValueError):
        return None


def _reason(a: str, b: str, info: pd.DataFrame) -> str:
    """Why strategies ``a`` and ``b`` may have made the same trials (``info``: sampler, pruner
    and trials per run, by strategy)."""
    sa, sb = info.loc[a, "sampler"], info.loc[b, "sampler"]
    pa, pb = info.loc[a, "pruner"], info.loc[b, "pruner"]
    if sa == sb and pa == pb:
        return "they have the same sampler and pruner"
    for name, sampler in ((a, sa), (b, sb)):
        if sampler not in _RANDOM_START:
            continue
        option, what = _RANDOM_START[sampler]
        default = _default_option(sampler, option)
        trials = int(info.loc[name, "trials"])
        if isinstance(default, int) and trials > default:
            continue
        noun, verb = what.rsplit(" ", 1)
        size = f"{default} by default" if isinstance(default, int) else "its default"
        return (
            f"{name}'s {noun} ({option}, {size}) {verb} sampled at random with the run's seed, "
            f"and the runs had {trials} trials (n_trials), not more than {option}: here it is "
            f"random search. Give it more trials than {option}, or a smaller {option} (a "
            "strategy with sampler_options)"
        )
    if sa == sb:
        return f"same sampler; the pruners ({pa}, {pb}) stopped the same trials"
    return "they suggested the same parameters in every trial"


def identical_strategies(df: pd.DataFrame) -> pd.DataFrame:
    """Pairs of strategies whose trial values are equal in every block both ran (per group),
    with the likely reason. Columns: ``group``, ``a``, ``b``, ``blocks``, ``reason``."""
    rows = []
    seqs = _sequences(df)
    for group in df["group"].drop_duplicates():
        info = (
            df[df["group"] == group]
            .groupby("strategy")
            .agg(sampler=("sampler", "first"), pruner=("pruner", "first"), trials=("trial", "max"))
        )
        info["trials"] += 1
        blocks = [v for k, v in seqs.items() if k[0] == group]
        names = sorted({s for block in blocks for s in block})
        for a, b in itertools.combinations(names, 2):
            shared = [blk for blk in blocks if a in blk and b in blk]
            if shared and all(_same(blk[a], blk[b]) for blk in shared):
                # Name the strategy with a random start first: "nsga2 equals random".
                if info.loc[b, "sampler"] in _RANDOM_START and b != a:
                    a, b = b, a
                reason = _reason(a, b, info)
                rows.append(
                    {"group": group, "a": a, "b": b, "blocks": len(shared), "reason": reason}
                )
    return pd.DataFrame(rows, columns=["group", "a", "b", "blocks", "reason"])


def identical_lines(df: pd.DataFrame) -> list[str]:
    """The report's list of identical strategies (empty when none)."""
    same = identical_strategies(df)
    if same.empty:
        return []
    lines = ["**Identical strategies.** These made the same trials in every block:", ""]
    for r in same.itertuples(index=False):
        lines.append(
            f"- Group {_md(r.group)}: {_md(r.a)} equals {_md(r.b)} in all {r.blocks} blocks; "
            f"likely reason: {_md(r.reason)}."
        )
    return [*lines, ""]


def time_matters(df: pd.DataFrame) -> bool:
    """Whether plots against wall time say something about the objective: its median call
    takes at least :data:`TIME_MATTERS_S` seconds (else wall time is mostly the sampler's and
    the harness's own overhead, shown in the overhead table)."""
    times = df["objective_time"].to_numpy(float) if "objective_time" in df else np.array([])
    times = times[np.isfinite(times)]
    return bool(len(times)) and float(np.median(times)) >= TIME_MATTERS_S


def run_count_lines(df: pd.DataFrame, runs: pd.DataFrame) -> list[str]:
    """What the run counts mean: compared runs, source studies, runs that did not finish."""
    compared = df.groupby(["problem", "strategy", "seed"]).ngroups if not df.empty else 0
    if runs.empty or "role" not in runs:
        return []
    sources = int((runs["role"] == "source").sum())
    missing = int(runs["status"].isin(["error", "unavailable"]).sum())
    if not sources and not missing:
        return []
    parts = [f"{compared} runs (problem x strategy x seed) are compared"]
    if sources:
        parts.append(
            f"{sources} source studies on related tasks, made for the warm-start strategies, "
            "are not (the progress bar and runs.csv count them)"
        )
    if missing:
        parts.append(f"{missing} runs ended with an error or could not run (see the end)")
    return ["Runs: " + "; ".join(parts) + ".", ""]


def report_lines(df: pd.DataFrame, runs: pd.DataFrame | None = None) -> list[str]:
    """The report's first paragraphs: the verdict, identical strategies, the run counts (the
    first two per simulated worker count, see :func:`per_worker_count`)."""
    split = per_worker_count(df)
    lines = verdict_lines(split) + identical_lines(split)
    return lines + run_count_lines(df, runs if runs is not None else pd.DataFrame())


_COLUMNS = (
    "rank@25%/rank@100%: mean rank (1 = best) of the best value after 25% / all of the trials; "
    "norm.: median normalized final regret (0 = optimum or best any run found, 1 = a random "
    "first guess); wins: mean share of blocks won against each other strategy (ties count "
    "half); ms/trial: median sampler time per trial; sig.: the strategies it beats "
    f"significantly at the end (Holm-adjusted Wilcoxon, p_holm < {ALPHA}); blocks = problems x "
    "seeds."
)


def _beats(pairs: pd.DataFrame) -> dict[str, list[str]]:
    """Strategy -> the strategies it is significantly better than (one group, one budget)."""
    out: dict[str, list[str]] = {}
    for r in pairs[pairs["better"] != ""].itertuples(index=False):
        out.setdefault(str(r.better), []).append(str(r.b if r.better == r.a else r.a))
    return out


def terminal_leaderboard(df: pd.DataFrame) -> str:
    """The leaderboard for the terminal: per group the ranks, the significant wins, a line
    saying when no difference is significant or strategies are identical, and a legend (per
    simulated worker count, see :func:`per_worker_count`)."""
    df = per_worker_count(df)
    board = metrics.leaderboard(df)
    pairs = metrics.pairwise_tests(df)
    same = identical_strategies(df)
    lines = []
    for group, sub in _in_order(board, df):
        gp = pairs[pairs["group"] == group]
        beats = _beats(gp)
        lines.append(f"[{group}]  mean rank (1 = best) over problems x seeds; lower is better")
        width = max(22, *(len(str(name)) + 2 for name in sub["strategy"]))
        lines.append(
            f"  {'strategy':<{width}}{'rank@25%':>9}{'rank@100%':>10}{'norm.':>8}{'wins':>7}"
            f"{'ms/trial':>10}  sig."
        )
        for d in sub.to_dict("records"):
            sig = "> " + ", ".join(beats[d["strategy"]]) if d["strategy"] in beats else ""
            lines.append(
                f"  {d['strategy']!s:<{width}}{d['rank@25%']:>9.2f}{d['rank@100%']:>10.2f}"
                f"{d['normalized']:>8.3f}{d['win_rate']:>7.2f}{d['sampler_ms_median']:>10.2f}"
                f"  {sig}"
            )
        if not beats and len(gp):
            lines.append(
                "  No difference is significant (smallest p_holm "
                f"{_fmt_p(float(gp['p_holm'].min()))} over {int(gp['n'].max())} blocks): the "
                "order above may be chance."
            )
        for r in same[same["group"] == group].itertuples(index=False):
            lines.append(f"  {r.a} = {r.b} in every block (see the report for why).")
    return "\n".join([*lines, "", _wrap(_COLUMNS)])


def _wrap(text: str, width: int = 96) -> str:
    import textwrap

    return textwrap.fill(text, width=width)
