"""Figures of the benchmark statistics: critical-difference diagram, IQM with CIs, ECDF, anytime.

Each function takes the table (or result) that :mod:`optuna_recipes.bench.stats` computes and
returns a ``matplotlib.figure.Figure`` built without ``pyplot`` (no global state, no display
backend: safe in worker processes and threads). Save it with ``fig.savefig(path)``.

Example:
    .. code-block:: python

        from optuna_recipes.bench import figures
        from optuna_recipes.bench import stats

        result = stats.critical_difference(df)
        figures.plot_critical_difference(result).savefig("plots/cd.png", dpi=120)
        figures.plot_iqm(stats.iqm(df)).savefig("plots/iqm.png", dpi=120)
        figures.plot_ecdf(stats.ecdf(df)).savefig("plots/ecdf_trials.png", dpi=120)
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING

import numpy as np
import pandas as pd

from optuna_recipes._imports import optional_import

if TYPE_CHECKING:
    from matplotlib.figure import Figure

    from optuna_recipes.bench.stats import CriticalDifference

_STYLES = ("-", "--", ":", "-.")


def _figure(width: float, height: float) -> Figure:
    figure_module = optional_import("matplotlib.figure", "bench", "Benchmark figures")
    return figure_module.Figure(figsize=(width, height), layout="constrained")


def plot_critical_difference(result: CriticalDifference, title: str | None = None) -> Figure:
    """Critical-difference diagram (Demšar 2006): mean ranks, best left; bars join ties.

    Strategies joined by a thick bar are not significantly different (their mean ranks are
    within the Nemenyi critical difference, drawn above the axis).

    Example:
        .. code-block:: python

            fig = figures.plot_critical_difference(stats.critical_difference(df))
    """
    names = list(result.ranks["strategy"])
    ranks = result.ranks["mean_rank"].to_numpy(dtype=float)
    k = len(names)
    half = math.ceil(k / 2)
    n_bars = len(result.cliques)
    fig = _figure(7.0, 1.4 + 0.28 * (half + n_bars))
    ax = fig.add_subplot()
    ax.set_axis_off()
    ax.hlines(0.0, 1, k, color="black", linewidth=1)
    for r in range(1, k + 1):
        ax.vlines(r, 0.0, 0.12, color="black", linewidth=1)
        ax.text(r, 0.2, str(r), ha="center", va="bottom", fontsize=8)
    if math.isfinite(result.cd):
        ax.hlines(0.75, 1, 1 + result.cd, color="black", linewidth=1.5)
        ax.text(1 + result.cd / 2, 0.85, f"CD = {result.cd:.2f}", ha="center", fontsize=8)
    for j, clique in enumerate(result.cliques):
        members = ranks[[names.index(s) for s in clique]]
        y = -0.25 - 0.2 * j
        ax.hlines(y, members.min() - 0.03, members.max() + 0.03, linewidth=3, color="0.35")
    top = -0.45 - 0.2 * n_bars
    for i, (name, rank) in enumerate(zip(names, ranks, strict=True)):
        left = i < half
        y = top - 0.3 * (i if left else k - 1 - i)
        end = 0.7 if left else k + 0.3
        ax.plot([rank, rank, end], [0.0, y, y], color="black", linewidth=0.8)
        label = f"{name} ({rank:.2f})" if left else f"({rank:.2f}) {name}"
        ax.text(end, y, label, ha="right" if left else "left", va="center", fontsize=8)
    ax.set_xlim(-0.8 - 0.1 * k, k + 1.8 + 0.1 * k)
    ax.set_ylim(top - 0.3 * half - 0.1, 1.05)
    p = "n/a" if math.isnan(result.pvalue) else f"{result.pvalue:.3g}"
    ax.set_title(
        title or f"Mean rank over {result.n_problems} problems (Friedman p = {p})", fontsize=9
    )
    return fig


def plot_iqm(table: pd.DataFrame, title: str | None = None) -> Figure:
    """Interquartile mean per strategy with its bootstrap confidence interval (best on top).

    Example:
        .. code-block:: python

            fig = figures.plot_iqm(stats.iqm(df))
    """
    table = table.sort_values("iqm", ascending=False, kind="stable")
    fig = _figure(6.0, 0.9 + 0.32 * len(table))
    ax = fig.add_subplot()
    y = np.arange(len(table))
    err = np.vstack([table["iqm"] - table["ci_low"], table["ci_high"] - table["iqm"]]).clip(
        min=0.0
    )
    ax.errorbar(table["iqm"], y, xerr=err, fmt="o", color="C0", capsize=3)
    ax.set_yticks(y, list(table["strategy"]))
    ax.set_xlabel("IQM of normalized score (lower is better), 95% bootstrap CI")
    ax.grid(axis="x", alpha=0.3)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_ecdf(
    table: pd.DataFrame, xlabel: str = "trials", log_x: bool = True, title: str | None = None
) -> Figure:
    """ECDF curves: share of (problem, target) pairs reached against trials or time.

    Example:
        .. code-block:: python

            fig = figures.plot_ecdf(stats.ecdf(df, axis="sim_time"), xlabel="simulated time")
    """
    fig = _figure(6.0, 4.0)
    ax = fig.add_subplot()
    positive = table["x"][table["x"] > 0]
    start = float(positive.min()) if log_x and len(positive) else 0.0
    end = float(table["x"].max()) if len(table) else 1.0
    for i, (strategy, sub) in enumerate(table.groupby("strategy", sort=True)):
        x = np.concatenate([[start], sub["x"].to_numpy(dtype=float), [end]])
        y = np.concatenate([[0.0], sub["reached"].to_numpy(dtype=float)])
        y = np.concatenate([y, [y[-1]]])
        ax.step(x, y, where="post", label=str(strategy), color=f"C{i % 10}")
    if log_x and start > 0:
        ax.set_xscale("log")
    ax.set_ylim(0.0, 1.0)
    ax.set_xlabel(xlabel)
    ax.set_ylabel("share of (problem, target) pairs reached")
    ax.grid(alpha=0.3)
    ax.legend(fontsize=8)
    if title:
        ax.set_title(title, fontsize=9)
    return fig


def plot_anytime(
    curves: pd.DataFrame,
    color_by: str = "strategy",
    style_by: str | None = "workers",
    xlabel: str = "simulated time",
    max_panels: int = 6,
) -> Figure:
    """Best-so-far against time per problem: median line and quartile band per group.

    Colour tells ``color_by`` (the strategy), the line style ``style_by`` (e.g. the number of
    workers) when the table has that column. At most ``max_panels`` problems are drawn.

    Example:
        .. code-block:: python

            curves = stats.anytime(df, axis="sim_time", by=("strategy", "workers"))
            fig = figures.plot_anytime(curves)
    """
    problems = list(dict.fromkeys(curves["problem"]))[:max_panels]
    style_by = style_by if style_by in curves.columns else None
    colors = {v: f"C{i % 10}" for i, v in enumerate(sorted(curves[color_by].unique(), key=str))}
    styles = {}
    if style_by:
        values = sorted(curves[style_by].unique(), key=lambda v: (str(type(v)), v))
        styles = {v: _STYLES[i % len(_STYLES)] for i, v in enumerate(values)}
    cols = min(3, max(1, len(problems)))
    rows = math.ceil(len(problems) / cols) if problems else 1
    fig = _figure(4.2 * cols, 3.2 * rows)
    axes = fig.subplots(rows, cols, squeeze=False).ravel()
    keys = [color_by] + ([style_by] if style_by else [])
    for ax, problem in zip(axes, problems, strict=False):
        for key, sub in curves[curves["problem"] == problem].groupby(keys, sort=True):
            key = key if isinstance(key, tuple) else (key,)
            label = " / ".join(
                f"{v}" if k == color_by else f"{k}={v}" for k, v in zip(keys, key, strict=True)
            )
            style = styles.get(key[1], "-") if style_by else "-"
            color = colors[key[0]]
            ax.plot(sub["x"], sub["median"], style, color=color, label=label, linewidth=1.2)
            ax.fill_between(sub["x"], sub["q25"], sub["q75"], color=color, alpha=0.12)
        ax.set_title(str(problem), fontsize=9)
        ax.set_xlabel(xlabel)
        ax.set_ylabel("normalized best so far")
        ax.grid(alpha=0.3)
    for ax in axes[len(problems) :]:
        ax.set_axis_off()
    if problems:
        axes[0].legend(fontsize=7)
    return fig
