"""The report of a benchmark folder: Markdown + PNG plots + CSV tables, and a terminal summary.

``write_report(DIR)`` reads ``DIR/results.csv`` and writes ``report.md`` (the command that
reproduces the benchmark and the verdict of :mod:`~optuna_recipes.bench.verdict` at the top;
names from the suite escaped, passwords of URLs hidden), ``plots/<problem>-<hash>.png`` (best
so far, median and quartiles over seeds, against trials, wall time when the objective's time
matters and, for learning-curve problems, training steps) and the tables as CSV:
``leaderboard.csv``, ``pairwise.csv``, ``final.csv``, ``overhead.csv``, ``pruning.csv``,
``speedup.csv``.

Example:
    .. code-block:: python

        from optuna_recipes.bench.report import write_report

        path = write_report("bench-out/quick")
        print(path.read_text()[:500])
"""

from __future__ import annotations

import hashlib
from pathlib import Path
import re
from typing import Any
import warnings

import numpy as np
import pandas as pd

from optuna_recipes._redact import redact
from optuna_recipes.bench import metrics
from optuna_recipes.bench import outdir
from optuna_recipes.bench import verdict


def plot_name(problem: str) -> str:
    """The plot file of a problem: a readable slug plus a short hash of the exact name, so that
    names differing only in characters a file name cannot hold ("x/y", "x_y") never share one
    (nor names differing only in case, on case-insensitive file systems)."""
    slug = re.sub(r"[^A-Za-z0-9_.-]+", "_", problem).strip("_.") or "problem"
    digest = hashlib.sha1(problem.encode("utf-8")).hexdigest()[:8]
    return f"{slug[:80]}-{digest}.png"


_MD_SPECIAL = re.compile(r"([\\`*_\[\]<>|#!~])")


def md_code(text: Any) -> str:
    """``text`` as a Markdown code span (on one line; backticks in it become quotes)."""
    return "`" + " ".join(str(text).splitlines()).replace("`", "'") + "`"


def md_escape(text: Any) -> str:
    """``text`` as literal Markdown text: special characters backslash-escaped, line breaks as
    spaces (names from a suite file may hold anything)."""
    return _MD_SPECIAL.sub(r"\\\1", " ".join(str(text).splitlines()))


def _fmt(value: Any, digits: int = 3) -> str:
    if isinstance(value, (float, np.floating)):
        if np.isnan(value):
            return "–"
        if value != 0 and (abs(value) >= 1e4 or abs(value) < 1e-3):
            return f"{value:.{digits}g}"
        return f"{value:.{digits}f}"
    if isinstance(value, (int, np.integer)):
        return str(value)
    return md_escape(value)


def markdown_table(df: pd.DataFrame, digits: int = 3) -> str:
    """A GitHub Markdown table of ``df`` (no index)."""
    if df.empty:
        return "_(none)_\n"
    head = "| " + " | ".join(map(str, df.columns)) + " |"
    rule = "|" + "|".join("---" for _ in df.columns) + "|"
    body = [
        "| " + " | ".join(_fmt(v, digits) for v in row) + " |"
        for row in df.itertuples(index=False)
    ]
    return "\n".join([head, rule, *body]) + "\n"


def _curve_on_grid(sub: pd.DataFrame, x: str, y: str, grid: np.ndarray) -> np.ndarray:
    """Per seed, the best-so-far ``y`` as a step function of ``x``, sampled on ``grid``."""
    curves = []
    for _, run in sub.groupby("seed"):
        run = run.sort_values(x)
        xs, ys = run[x].to_numpy(float), run[y].to_numpy(float)
        idx = np.searchsorted(xs, grid, side="right") - 1
        vals = np.where(idx >= 0, ys[np.clip(idx, 0, None)], np.nan)
        curves.append(vals)
    return np.array(curves)


def plot_problem(df: pd.DataFrame, problem: str, path: Path, wall_time: bool = True) -> None:
    """Best-so-far curves of one problem (median and quartiles over seeds) into ``path``
    (against wall time too when ``wall_time``)."""
    import matplotlib

    matplotlib.use("Agg")
    import matplotlib.pyplot as plt

    sub = df[df["problem"] == problem]
    has_regret = sub["regret"].notna().any()
    y = "regret" if has_regret else "best"
    axes_x = [("trial", "trials")] + ([("wall_time", "wall time (s)")] if wall_time else [])
    if sub["cum_steps"].notna().any():
        axes_x.append(("cum_steps", "training steps (cumulative)"))
    fig, axes = plt.subplots(1, len(axes_x), figsize=(5.0 * len(axes_x), 3.8), squeeze=False)
    for ax, (x, label) in zip(axes[0], axes_x, strict=True):
        hi = float(sub[x].max()) if sub[x].notna().any() else 1.0
        grid = np.linspace(0.0, hi, 120) if x != "trial" else np.arange(0, hi + 1)
        for strategy, runs in sub.groupby("strategy"):
            curves = _curve_on_grid(runs, x, y, grid)
            if not np.isfinite(curves).any():
                continue
            # Start a curve where every seed has a value: a median over the seeds that happen
            # to be ahead would make a best-so-far curve go up.
            curves[:, ~np.isfinite(curves).all(axis=0)] = np.nan
            with np.errstate(all="ignore"), warnings.catch_warnings():
                warnings.simplefilter("ignore", RuntimeWarning)
                q1, med, q3 = np.percentile(curves, [25, 50, 75], axis=0)
            xs = grid + 1 if x == "trial" else grid
            (line,) = ax.plot(xs, med, label=str(strategy), lw=1.5)
            ax.fill_between(xs, q1, q3, color=line.get_color(), alpha=0.15, lw=0)
        ax.set_xlabel(label)
        ax.set_ylabel("regret (best so far)" if has_regret else "best value so far")
        values = sub[y].to_numpy(float)
        values = values[np.isfinite(values)]
        positive = values[values > 0]
        if len(positive) and (
            (has_regret and (values > 0).any())
            or ((values > 0).all() and positive.max() / positive.min() > 10)
        ):
            ax.set_yscale("log")
        ax.grid(alpha=0.3)
    axes[0][0].legend(fontsize=7, ncol=2)
    direction = sub["direction"].iloc[0]
    fig.suptitle(f"{problem} ({direction}; median and quartiles over seeds)", fontsize=10)
    fig.tight_layout()
    path.parent.mkdir(parents=True, exist_ok=True)
    fig.savefig(path, dpi=90)
    plt.close(fig)


def format_leaderboard(board: pd.DataFrame) -> str:
    """A compact text leaderboard for the terminal."""
    lines = []
    for group, sub in board.groupby("group", sort=False):
        lines.append(f"[{group}]  mean rank (1 = best) over problems x seeds; lower is better")
        lines.append(
            f"  {'strategy':<22}{'rank@25%':>9}{'rank@100%':>10}{'norm.':>8}{'wins':>7}"
            f"{'ms/trial':>10}"
        )
        for r in sub.itertuples(index=False):
            d = r._asdict()
            lines.append(
                f"  {str(d['strategy'])[:21]:<22}{d['rank_25_']:>9.2f}{d['rank_100_']:>10.2f}"
                f"{d['normalized']:>8.3f}{d['win_rate']:>7.2f}{d['sampler_ms_median']:>10.2f}"
            )
    return "\n".join(lines)


def _tidy_board(board: pd.DataFrame) -> pd.DataFrame:
    return board.rename(columns=lambda c: re.sub(r"\W", "_", c))


def _table_section(out: Path, csv: str, title: str, text: str, table: pd.DataFrame) -> list[str]:
    """Write ``table`` to ``out/csv`` and return its Markdown section (heading, text, table)."""
    table.to_csv(out / csv, index=False)
    return [f"## {title}", "", text, "", markdown_table(table)]


def write_report(out: str | Path) -> Path:
    """Write the report of a finished benchmark folder; return the path of ``report.md``.

    Raises:
        OutputFolderError: the folder has no finished benchmark (the message says how to
            finish it) or its results file is damaged.
    """
    out = Path(out)
    manifest = outdir.read_manifest(out)
    df = outdir.load_results(out)
    runs = pd.read_csv(out / outdir.RUNS) if (out / outdir.RUNS).exists() else pd.DataFrame()
    lines = _header(manifest, df)
    if df.empty:
        lines.append("No finished run: nothing to report.")
    else:
        lines += verdict.report_lines(df, runs)
        for section in (
            _leaderboard_section,
            _pairwise_section,
            _speedup_section,
            _problems_section,
            _overhead_section,
            _pruning_section,
        ):
            lines += section(out, df)
        from optuna_recipes.bench.report_stats import stats_sections

        lines += stats_sections(out, df)
        lines += _failed_runs_section(runs)
    path = out / "report.md"
    outdir.write_atomic(path, "\n".join(lines) + "\n")
    return path


def _header(manifest: dict[str, Any], df: pd.DataFrame) -> list[str]:
    """Title, the command that reproduces the benchmark, counts, skipped strategies."""
    lines = [f"# Benchmark report: {md_escape(manifest['settings'].get('suite'))}", ""]
    lines += [
        "Reproduce (re-running it resumes; finished runs are skipped):",
        "",
        "```bash",
        redact(" ".join(str(manifest["command"]).splitlines())),
        "```",
        "",
    ]
    n_runs = df.groupby(["problem", "strategy", "seed"]).ngroups if not df.empty else 0
    storage = manifest.get("storage")
    where = md_code(redact(storage)) if storage else "the journal file `studies.journal`"
    lines.append(
        f"{n_runs} runs, {len(df)} trials, created {manifest.get('created')}, finished "
        f"{manifest.get('finished')}. Per-trial results: `results.csv`; storage: {where}."
    )
    for name, reason in (manifest.get("skipped_strategies") or {}).items():
        lines.append(f"\n- Strategy {md_escape(name)} was skipped: {md_escape(redact(reason))}")
    lines.append("")
    return lines


def _leaderboard_section(out: Path, df: pd.DataFrame) -> list[str]:
    board = metrics.leaderboard(df)
    board.to_csv(out / "leaderboard.csv", index=False)
    lines = [
        "## Leaderboard",
        "",
        "Per group of problems: mean rank of the best value found (1 = best) after 25%, 50% and "
        "100% of each problem's trials, over blocks (problem x seed); `normalized`: median "
        "normalized regret at the end (0 = optimum or best found by any run, 1 = a random "
        "first guess); `auc`: mean normalized best-so-far over the run (lower is better); "
        "`win_rate`: mean share of blocks won against each other strategy; "
        "`sampler_ms_median`: median time inside the sampler per trial.",
        "",
    ]
    fried = metrics.friedman(df).set_index("group")
    for group, sub in board.groupby("group", sort=False):
        p = fried.loc[group, "p"] if group in fried.index else float("nan")
        lines += [f"### Group {md_escape(group)}", "", markdown_table(sub.drop(columns="group"))]
        lines.append(
            f"Friedman test (do the strategies differ?): p = {_fmt(p)} over "
            f"{int(fried.loc[group, 'blocks']) if group in fried.index else 0} blocks.\n"
        )
    return lines


def _pairwise_section(out: Path, df: pd.DataFrame) -> list[str]:
    pairs = metrics.pairwise_tests(df)
    pairs.to_csv(out / "pairwise.csv", index=False)
    return [
        "## Pairwise comparisons",
        "",
        "Wilcoxon signed-rank test on the normalized final best of both strategies over the "
        "same blocks (problem x seed), Holm-adjusted within each group; `better` names the "
        "winner when p_holm < 0.05.",
        "",
        markdown_table(pairs),
    ]


def _speedup_section(out: Path, df: pd.DataFrame) -> list[str]:
    speed = metrics.speedup_over_random(df)
    if speed.empty:
        return []
    return _table_section(
        out,
        "speedup.csv",
        "Speedup over random search",
        "Per block (problem x seed): random search's trials divided by the trials a strategy "
        "needed to reach random's final best (0 when it never did); `speedup`: median over "
        "blocks, `speedup_gmean`: geometric mean over the blocks where it was reached, "
        "`reached`: share of blocks.",
        speed,
    )


def _problems_section(out: Path, df: pd.DataFrame) -> list[str]:
    """Per problem: its plot and the final best per strategy (``final.csv``)."""
    final = metrics.at_budgets(df, (1.0,))
    final.to_csv(out / "final.csv", index=False)
    lines = ["## Problems", ""]
    for problem, sub in df.groupby("problem", sort=False):
        png = Path("plots") / plot_name(str(problem))
        plot_problem(df, str(problem), out / png, wall_time=verdict.time_matters(sub))
        first = sub.iloc[0]
        optimum = first["optimum"]
        note = "loss = value" if first["direction"] == "minimize" else "loss = -value"
        lines += [
            f"### {md_escape(problem)}",
            "",
            f"Group {md_escape(first['group'])}, {first['direction']}, optimum "
            f"{_fmt(optimum) if not np.isnan(optimum) else 'unknown'} ({note}).",
            "",
            f"![{md_escape(problem)}]({png.as_posix()})",
            "",
            markdown_table(_final_summary(final[final["problem"] == problem])),
        ]
    return lines


def _final_summary(fin: pd.DataFrame) -> pd.DataFrame:
    """Median, quartiles and normalized value of one problem's final loss per strategy."""
    return (
        fin.groupby("strategy")
        .agg(
            median_loss=("loss", "median"),
            q1=("loss", lambda s: s.quantile(0.25)),
            q3=("loss", lambda s: s.quantile(0.75)),
            normalized=("normalized", "median"),
            seeds=("seed", "count"),
        )
        .sort_values("median_loss")
        .reset_index()
    )


def _overhead_section(out: Path, df: pd.DataFrame) -> list[str]:
    over = metrics.overhead(df)
    over.to_csv(out / "overhead.csv", index=False)
    return [
        "## Sampler overhead",
        "",
        "Milliseconds per trial: inside the sampler (all its calls), inside the objective "
        "(including its `trial.suggest_*` storage writes and, with a pruner, the "
        "`trial.report`/`should_prune` calls: the pruner's cost shows here), and the rest of "
        "the trial's duration in the storage (Optuna's and the harness's bookkeeping); "
        "`real_ms_per_trial`: each run's real time over its trials (median over runs). With "
        "several simulated workers the simulator interleaves the in-flight trials, so a "
        "trial's duration (and, under a pruner, its objective time) spans the others' turns: "
        "those runs show only sampler and real time per trial.",
        "",
        markdown_table(over),
    ]


def _pruning_section(out: Path, df: pd.DataFrame) -> list[str]:
    prune = metrics.pruning(df)
    if prune.empty:
        return []
    return _table_section(
        out,
        "pruning.csv",
        "Pruning: steps saved versus quality",
        "`steps`: training steps per run (mean over seeds); `steps_saved`: relative to the "
        "same sampler without pruner (or to training every trial to the end); "
        "`normalized`: median normalized final best (lower is better).",
        prune,
    )


def _failed_runs_section(runs: pd.DataFrame) -> list[str]:
    if runs.empty:
        return []
    bad = runs[runs["status"].isin(["error", "unavailable"])]
    if bad.empty:
        return []
    return ["## Runs not completed", "", markdown_table(bad[["study", "status", "message"]])]


def terminal_summary(out: str | Path) -> str:
    """The leaderboard and the report's location, for the terminal."""
    out = Path(out)
    df = outdir.load_results(out)
    if df.empty:
        return f"No finished run in {out}."
    text = verdict.terminal_leaderboard(df)
    return f"{text}\n\nReport: {out / 'report.md'} (plots in {out / 'plots'})"
