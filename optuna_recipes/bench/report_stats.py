"""The report's sections of the HPO-benchmarking statistics (CARP-S, COCO) and of parallelism.

:func:`stats_sections` adds to ``report.md``, per group of problems and per simulated worker
count (:mod:`~optuna_recipes.bench.simulate`; one block for runs that were not simulated):

- critical differences: Friedman test and Nemenyi critical difference of the strategies' mean
  ranks across problems at each budget (25%, 50%, 100% of the trials, and at the whole common
  simulated time when simulated), a diagram per budget (:func:`.stats.critical_difference`);
- the interquartile mean of normalized regret per strategy with a 95% stratified bootstrap
  confidence interval (:func:`.stats.iqm`), at equal trials and at equal simulated time;
- COCO-style ECDFs: share of (problem, target) pairs reached against trials, and against the
  simulated time (relative to each problem's horizon) when simulated (:func:`.stats.ecdf`);
- when simulated: best so far against simulated time and against trials, one line style per
  worker count (:func:`.stats.anytime`).

Scores are normalized once per group over every worker count (0: the optimum or the best any
run found, 1: the median first trial), so worker counts compare on one scale. Tables go to
``critical_difference.csv`` and ``iqm.csv``, figures to ``plots/stats/*.png``.

Example:
    .. code-block:: python

        from optuna_recipes.bench import outdir
        from optuna_recipes.bench.report_stats import stats_sections

        lines = stats_sections(Path("bench-out/quick"), outdir.load_results("bench-out/quick"))
"""

from __future__ import annotations

from collections.abc import Iterator
import hashlib
from pathlib import Path
import re
from typing import Any

import numpy as np
import pandas as pd

from optuna_recipes.bench import figures
from optuna_recipes.bench import metrics
from optuna_recipes.bench import stats
from optuna_recipes.bench.report import markdown_table
from optuna_recipes.bench.report import md_escape

SIM_AXIS = "sim_time"
SIM_COLUMNS = ("workers", "worker", "sim_start", "sim_time")


def _slug(*parts: Any) -> str:
    text = "-".join(str(p) for p in parts)
    digest = hashlib.sha1(text.encode()).hexdigest()[:6]
    return f"{re.sub(r'[^A-Za-z0-9_.]+', '-', text).strip('-')[:60]}-{digest}.png"


def _save(fig: Any, out: Path, name: str) -> str:
    (out / "plots" / "stats").mkdir(parents=True, exist_ok=True)
    fig.savefig(out / "plots" / "stats" / name, dpi=110)
    return f"plots/stats/{name}"


def _simulated(df: pd.DataFrame) -> bool:
    return "workers" in df.columns and bool(df["workers"].notna().any())


def _scored(group: pd.DataFrame) -> pd.DataFrame:
    """The group's rows with ``score``, ``workers`` (0: not simulated) and the strategy without
    its ``@Nw`` suffix (a results table older than simulated workers gets empty columns)."""
    d = group.copy()
    for column in SIM_COLUMNS:
        if column not in d:
            d[column] = np.nan
    sim = d["workers"].notna()
    d.loc[sim, "strategy"] = [
        str(s).removesuffix(f"@{int(w)}w")
        for s, w in zip(d.loc[sim, "strategy"], d.loc[sim, "workers"], strict=True)
    ]
    d["workers"] = d["workers"].fillna(0).astype(int)
    return stats.trial_scores(d)


def _blocks(df: pd.DataFrame) -> Iterator[tuple[str, int, pd.DataFrame, pd.DataFrame]]:
    """(group, workers, scored rows of that worker count, scored rows of the group)."""
    for group, rows in df.groupby("group", sort=False):
        scored = _scored(rows)
        for workers, sub in scored.groupby("workers", sort=True):
            yield str(group), int(workers), sub, scored


def _title(group: str, workers: int) -> str:
    who = f"{workers} simulated worker{'s' if workers > 1 else ''}" if workers else "sequential"
    return f"group {group}, {who}"


def _axes(sub: pd.DataFrame) -> list[tuple[str, float]]:
    """(axis, budget) pairs of the critical-difference diagrams."""
    pairs = [("trial", b) for b in metrics.BUDGETS]
    if sub[SIM_AXIS].notna().all():
        pairs.append((SIM_AXIS, 1.0))
    return pairs


def _cd_section(out: Path, df: pd.DataFrame) -> tuple[list[str], list[dict[str, Any]]]:
    lines, rows = [], []
    for group, workers, sub, _ in _blocks(df):
        if sub["strategy"].nunique() < 2:
            continue
        lines += [f"### {md_escape(_title(group, workers))}", ""]
        for axis, budget in _axes(sub):
            try:
                cd = stats.critical_difference(sub, budget=budget, axis=axis, column="score")
            except ValueError:
                continue
            where = f"{budget:.0%} of the {'trials' if axis == 'trial' else 'simulated time'}"
            fig = figures.plot_critical_difference(cd, f"{_title(group, workers)}, {where}")
            png = _save(fig, out, _slug(group, workers, "cd", axis, budget))
            order = ", ".join(
                f"{md_escape(s)} {r:.2f}"
                for s, r in zip(cd.ranks["strategy"], cd.ranks["mean_rank"], strict=True)
            )
            p = "n/a" if np.isnan(cd.pvalue) else f"{cd.pvalue:.3g}"
            lines += [
                f"At {where}: Friedman p = {p}, critical difference {cd.cd:.2f} over "
                f"{cd.n_problems} problems; mean ranks, best first: {order}.",
                "",
                f"![critical difference, {md_escape(where)}]({png})",
                "",
            ]
            rows += [
                {
                    "group": group,
                    "workers": workers,
                    "axis": axis,
                    "budget": budget,
                    "strategy": s,
                    "mean_rank": r,
                    "mean_score": m,
                    "pvalue": cd.pvalue,
                    "cd": cd.cd,
                    "problems": cd.n_problems,
                }
                for s, r, m in cd.ranks[["strategy", "mean_rank", "mean_score"]].itertuples(
                    index=False, name=None
                )
            ]
    return lines, rows


def _iqm_section(out: Path, df: pd.DataFrame) -> tuple[list[str], list[pd.DataFrame]]:
    lines, tables = [], []
    for group, workers, sub, _ in _blocks(df):
        lines += [f"### {md_escape(_title(group, workers))}", ""]
        axes = ["trial"] + ([SIM_AXIS] if sub[SIM_AXIS].notna().all() else [])
        for axis in axes:
            table = stats.iqm(sub, budget=1.0, axis=axis, column="score")
            where = "equal trials" if axis == "trial" else "equal simulated time"
            fig = figures.plot_iqm(table, f"{_title(group, workers)}, {where}")
            png = _save(fig, out, _slug(group, workers, "iqm", axis))
            lines += [
                f"At {where}:",
                "",
                markdown_table(table),
                "",
                f"![IQM, {where}]({png})",
                "",
            ]
            tables.append(table.assign(group=group, workers=workers, axis=axis))
    return lines, tables


def _ecdf_section(out: Path, df: pd.DataFrame) -> list[str]:
    lines = []
    for group, workers, sub, _ in _blocks(df):
        title = _title(group, workers)
        curve = stats.ecdf(sub, axis="trial", column="score")
        fig = figures.plot_ecdf(curve, "trials", title=title)
        png = _save(fig, out, _slug(group, workers, "ecdf", "trial"))
        lines += [f"### {md_escape(title)}", "", f"![ECDF against trials]({png})", ""]
        if sub[SIM_AXIS].notna().all():
            curve = stats.ecdf(sub, axis=SIM_AXIS, column="score", relative=True)
            fig = figures.plot_ecdf(curve, "simulated time / problem's horizon", title=title)
            png = _save(fig, out, _slug(group, workers, "ecdf", SIM_AXIS))
            lines += [f"![ECDF against simulated time]({png})", ""]
    return lines


def _anytime_section(out: Path, df: pd.DataFrame) -> list[str]:
    lines = []
    for group, rows in df.groupby("group", sort=False):
        scored = _scored(rows)
        if not scored[SIM_AXIS].notna().all():
            continue
        lines += [f"### Group {md_escape(group)}", ""]
        for axis, xlabel in ((SIM_AXIS, "simulated time"), ("trial", "trials")):
            curves = stats.anytime(scored, axis=axis, by=("strategy", "workers"), column="score")
            fig = figures.plot_anytime(curves, xlabel=xlabel)
            png = _save(fig, out, _slug(group, "anytime", axis))
            lines += [f"![best so far against {xlabel}]({png})", ""]
    return lines


def stats_sections(out: Path, df: pd.DataFrame) -> list[str]:
    """The Markdown of the statistics sections (figures and CSV tables written into ``out``)."""
    cd_lines, cd_rows = _cd_section(out, df)
    lines = [
        "## Critical differences",
        "",
        "Mean rank of each strategy across problems (1 = best; a problem's score: the mean "
        "over seeds of the run's best normalized regret by then), Friedman test, and the "
        "Nemenyi critical difference at alpha 0.05: strategies joined by a bar in a diagram do "
        "not differ significantly. Table: `critical_difference.csv`.",
        "",
        *cd_lines,
    ]
    pd.DataFrame(cd_rows).to_csv(out / "critical_difference.csv", index=False)
    iqm_lines, tables = _iqm_section(out, df)
    lines += [
        "## Interquartile mean of normalized regret",
        "",
        "IQM over all runs of the normalized regret at the end (0 = optimum or best found, "
        "1 = a random first guess; lower is better), with a 95% stratified bootstrap "
        "confidence interval (problems as strata). Table: `iqm.csv`.",
        "",
        *iqm_lines,
    ]
    if tables:
        pd.concat(tables, ignore_index=True).to_csv(out / "iqm.csv", index=False)
    lines += [
        "## ECDF of targets reached",
        "",
        "Share of (problem, target) pairs reached, targets of normalized regret from 1 down "
        f"to {min(stats.TARGETS):g} (log-spaced), against trials"
        + (" and against simulated time." if _simulated(df) else "."),
        "",
        *_ecdf_section(out, df),
    ]
    if _simulated(df):
        lines += [
            "## Parallel workers",
            "",
            "Normalized best so far (median and quartiles over seeds) against simulated time "
            "and against trials; line style: the number of simulated workers.",
            "",
            *_anytime_section(out, df),
        ]
    return lines
