"""The published strategy comparison: every sampler and pruner on four suites, 10 seeds.

Runs the suites in ``benchmarks/comparison/`` through the harness (``bbob``, ``bbob-mixint``,
``hpo-recorded``, ``transfer``; every (problem, strategy, seed) run is one Optuna study in a
journal file under ``--out``; re-running resumes), writes each suite's full report there, copies
the reports, tables and plots to ``benchmarks/results/comparison/<suite>/`` and writes the
headline ``benchmarks/results/comparison.md`` + ``comparison.csv``: per strategy, its mean final
rank per suite, its speedup over random search (trials random used / trials to reach random's
final best, median over problem x seed blocks) and its sampler time per trial; and, for the
pruners, training steps saved against final quality. With ``--readme`` it also writes the
headline table into README.md between the ``comparison:start``/``comparison:end`` markers
(tests/test_package.py checks that the two agree).

Usage (from the repository root; about an hour on 2 cores, mostly GPSampler):
    python benchmarks/comparison.py --workers 2 --readme
Report only, from finished runs:
    python benchmarks/comparison.py --report-only --readme
"""

from __future__ import annotations

import argparse
from datetime import datetime
from datetime import timezone
import os
from pathlib import Path
import platform
import shutil
import subprocess
import sys

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
# Import this checkout's package, not an installed one.
sys.path.insert(0, str(ROOT))

from optuna_recipes.bench import metrics  # noqa: E402
from optuna_recipes.bench import outdir  # noqa: E402
from optuna_recipes.bench import run_suite  # noqa: E402
from optuna_recipes.bench.report import markdown_table  # noqa: E402
from optuna_recipes.bench.report import write_report  # noqa: E402

SUITES = ("bbob", "bbob-mixint", "hpo-recorded", "transfer")
# Headline columns: (title, suite folder, groups pooled). Every column's blocks have the same
# strategies: `hpo` seven samplers, `transfer` all eight (the transfer suite and the recorded
# transfer group of hpo-recorded).
COLUMNS = (
    ("bbob", ("bbob",), ("bbob",)),
    ("bbob-mixint", ("bbob-mixint",), ("bbob-mixint",)),
    ("hpo (recorded)", ("hpo-recorded",), ("hpo",)),
    ("transfer", ("transfer", "hpo-recorded"), ("related", "unrelated", "transfer")),
)
SAMPLERS = ("random", "qmc", "tpe", "gp", "cmaes", "nsga2", "ga", "warmstart")
PRUNING_GROUP = ("hpo-recorded", "pruning")
COPIED = (
    "report.md",
    "leaderboard.csv",
    "pairwise.csv",
    "final.csv",
    "overhead.csv",
    "pruning.csv",
    "speedup.csv",
    "runs.csv",
    "suite.toml",
)
START, END = "<!-- comparison:start -->", "<!-- comparison:end -->"


def headline(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    """One row per sampler: mean final rank and median speedup per column, sampler ms/trial."""
    table = pd.DataFrame(index=list(SAMPLERS))
    times = []
    for title, suites, groups in COLUMNS:
        frames = [results[s] for s in suites if s in results]
        if not frames:
            continue
        df = pd.concat(frames, ignore_index=True)
        df = df[df["group"].isin(groups)]
        if df.empty:
            continue
        df = df.assign(group=title)  # pool the column's groups into one set of blocks
        ranks = metrics.mean_ranks(df, (1.0,)).set_index("strategy")[1.0]
        speed = metrics.speedup_over_random(df).set_index("strategy")
        table[f"{title} rank"] = ranks
        table[f"{title} speedup"] = speed["speedup"]
        times.append(df[["strategy", "sampler_time"]])
    sampler_ms = pd.concat(times).groupby("strategy")["sampler_time"].median() * 1e3
    table["sampler ms/trial"] = sampler_ms
    return table.rename_axis("strategy").reset_index()


def pruner_table(results: dict[str, pd.DataFrame]) -> pd.DataFrame:
    suite, group = PRUNING_GROUP
    if suite not in results:
        return pd.DataFrame()
    df = results[suite][results[suite]["group"] == group]
    if df.empty:
        return pd.DataFrame()
    prune = metrics.pruning(df)
    ranks = metrics.mean_ranks(df, (1.0,)).set_index("strategy")[1.0]
    out = (
        prune.groupby("strategy")
        .agg(
            steps_saved=("steps_saved", "mean"),
            normalized=("normalized", "median"),
            pruned_share=("pruned_share", "mean"),
        )
        .reset_index()
    )
    out["rank"] = out["strategy"].map(ranks)
    return out[["strategy", "rank", "steps_saved", "normalized", "pruned_share"]]


def _fmt_headline(table: pd.DataFrame) -> str:
    cols = list(table.columns)
    lines = ["| " + " | ".join(cols) + " |", "|" + "---|" * len(cols)]
    for _, row in table.iterrows():
        cells = [str(row["strategy"])]
        for c in cols[1:]:
            v = row[c]
            if pd.isna(v):
                cells.append("n/a")
            elif c.endswith("speedup"):
                cells.append(f"{v:.2f}x")
            elif c.endswith("ms/trial"):
                cells.append(f"{v:.1f}" if v >= 1 else f"{v:.2f}")
            else:
                cells.append(f"{v:.2f}")
        lines.append("| " + " | ".join(cells) + " |")
    return "\n".join(lines)


def _git_commit() -> str:
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=ROOT, capture_output=True, text=True
        )
        return out.stdout.strip() or "unknown"
    except OSError:
        return "unknown"


def _wall_minutes(manifest: dict[str, object]) -> float:
    """Minutes from the folder's creation to its last finish (includes pauses if resumed)."""
    try:
        start = datetime.fromisoformat(str(manifest["created"]))
        end = datetime.fromisoformat(str(manifest["finished"]))
    except (KeyError, ValueError):
        return float("nan")
    return (end - start).total_seconds() / 60.0


def write_outputs(out: Path, results_dir: Path, readme: bool) -> str:
    results: dict[str, pd.DataFrame] = {}
    manifests = {}
    commits = set()
    for suite in SUITES:
        folder = out / suite
        try:
            manifest = outdir.read_manifest(folder)
            df = outdir.read_results(folder)
        except outdir.OutputFolderError as err:
            print(f"{suite}: no finished benchmark ({err}); left out.", file=sys.stderr)
            continue
        manifests[suite], results[suite] = manifest, df
        stamp = folder / "commit.txt"
        commits.add(stamp.read_text().strip() if stamp.exists() else "unknown")
        write_report(folder)
        dest = results_dir / "comparison" / suite
        if dest.exists():
            shutil.rmtree(dest)
        (dest / "plots").mkdir(parents=True)
        for name in COPIED:
            if (folder / name).exists():
                shutil.copy2(folder / name, dest / name)
        for png in sorted((folder / "plots").glob("*.png")):
            shutil.copy2(png, dest / "plots" / png.name)
    table = headline(results)
    table.to_csv(results_dir / "comparison.csv", index=False)
    prune = pruner_table(results)
    text = _fmt_headline(table)
    runs = {s: df.groupby(["problem", "strategy", "seed"]).ngroups for s, df in results.items()}
    load = os.getloadavg()
    lines = [
        "# Strategy comparison: every sampler and pruner on four suites",
        "",
        "Reproduce (re-running resumes; `--report-only` rewrites this page from finished runs):",
        "",
        "```bash",
        "python benchmarks/comparison.py --workers 2 --readme",
        "```",
        "",
        f"Runs made with the package at commit {', '.join(sorted(commits))}; page written "
        f"{datetime.now(timezone.utc).isoformat(timespec='seconds')} at commit "
        f"{_git_commit()} on {platform.platform()}, {os.cpu_count()} cores, load average "
        f"{load[0]:.1f} at the end. Runs: "
        + ", ".join(f"{s} {n}" for s, n in runs.items())
        + " (problem x strategy x seed, 10 seeds each)."
        + " Wall time from start to finish, 2 workers: "
        + ", ".join(f"{s} {_wall_minutes(m):.0f} min" for s, m in manifests.items())
        + ".",
        "",
        "Suites (files in `benchmarks/comparison/`): `bbob` and `bbob-mixint`: COCO's 24 "
        "functions in 5-D, instance 1, 100 trials; `hpo (recorded)`: six recorded "
        "XGBoost/LightGBM tuning tasks (100 trials); `transfer`: related and unrelated task "
        "families, each target with 3 source studies of 100 TPE trials that only `warmstart` "
        "reads (the transfer suite plus the recorded transfer tasks of hpo-recorded, 40-100 "
        "trials). `warmstart` needs source studies, so it is only in the transfer column.",
        "",
        "## Headline",
        "",
        "`rank`: mean rank of the final best value among the strategies of the column (1 = "
        "best), over problem x seed blocks. `speedup`: random search's trials divided by the "
        "trials a strategy needed to reach random's final best, median over blocks (0.00x: "
        "in more than half of the blocks it never did; random is 1 by definition). `sampler "
        "ms/trial`: median time inside the sampler per trial over all four columns (measured "
        "with 2 worker processes on 2 cores; it grows with the number of trials for "
        "tpe, gp and warmstart).",
        "",
        text,
        "",
    ]
    lines += ["## Where our samplers lose", ""]
    for title, _, _ in COLUMNS:
        col = f"{title} rank"
        if col not in table:
            continue
        ranks = table.set_index("strategy")[col].dropna()
        for ours in ("ga", "warmstart"):
            if ours not in ranks:
                continue
            better = ranks[ranks < ranks[ours]].sort_values()
            who = ", ".join(f"{k} ({v:.2f})" for k, v in better.items()) or "none"
            lines.append(
                f"- {title}: `{ours}` mean rank {ranks[ours]:.2f}, {ranks.rank()[ours]:.0f} of "
                f"{len(ranks)}; better: {who}."
            )
    lines.append("")
    if not prune.empty:
        lines += [
            "## Pruners",
            "",
            "TPE with each pruner on two recorded learning-curve tasks (LightGBM on wine, "
            "XGBoost on breast_cancer, 100 rounds, 10 seeds). `rank`: mean final rank among "
            "the pruners; `steps_saved`: training rounds saved against no pruning; "
            "`normalized`: median normalized final best (0 = best found, 1 = a random first "
            "guess); `pruned_share`: share of trials pruned.",
            "",
            markdown_table(prune),
        ]
    lines += [
        "## Per-suite reports",
        "",
        "Leaderboards with win rates, Wilcoxon and Friedman tests, every problem's plot and "
        "table, sampler overhead and speedup per group:",
        "",
    ]
    for suite in results:
        lines.append(f"- [{suite}](comparison/{suite}/report.md)")
    lines.append("")
    outdir.write_atomic(results_dir / "comparison.md", "\n".join(lines))
    if readme:
        path = ROOT / "README.md"
        body = path.read_text()
        if START not in body or END not in body:
            raise SystemExit(f"README.md has no {START} ... {END} block to fill in.")
        head, rest = body.split(START, 1)
        _, tail = rest.split(END, 1)
        path.write_text(f"{head}{START}\n{text}\n{END}{tail}")
    return text


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="bench-out/comparison", help="Run folders (resumable).")
    parser.add_argument("--results", default="benchmarks/results", help="Where reports go.")
    parser.add_argument("--suites", default=",".join(SUITES), help="Comma-separated subset.")
    parser.add_argument("--workers", type=int, default=2)
    parser.add_argument("--report-only", action="store_true")
    parser.add_argument("--readme", action="store_true", help="Update README.md's table.")
    args = parser.parse_args()
    os.chdir(ROOT)
    out = Path(args.out)
    suites = [s for s in args.suites.split(",") if s]
    unknown = sorted(set(suites) - set(SUITES))
    if unknown:
        raise SystemExit(f"Unknown suite(s) {unknown}; choose from {', '.join(SUITES)}.")
    if not args.report_only:
        for suite in suites:
            run_suite(
                f"benchmarks/comparison/{suite}.toml",
                str(out / suite),
                workers=args.workers,
                progress=False,
                report=False,
            )
            stamp = out / suite / "commit.txt"  # the package version the runs used
            if not stamp.exists():
                stamp.write_text(_git_commit() + "\n")
    print(write_outputs(out, Path(args.results), args.readme))


if __name__ == "__main__":
    main()
