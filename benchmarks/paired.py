"""Paired comparison of one strategy in one ``bench run`` folder with one in another.

A development diagnostic, not a ledger run: a sampler variant is tried as a dev-only module on
``PYTHONPATH`` (``strategies = ["mymod:Variant"]``) in its own folder, or as a second run of the
same strategy after a code change, and compared with the baseline run block by block (same
problem, same seed). Example (the built-in ``bbob`` suite runs instance 1, a development
instance; never compare variants on test problems):

    optuna-recipes bench run bbob --strategies ga --out /tmp/base
    PYTHONPATH=/tmp/dev optuna-recipes bench run bbob --strategies mymod:Variant --out /tmp/var
    python benchmarks/paired.py /tmp/base:ga /tmp/var:mymod:Variant --budgets 0.25,0.5,1

Per group and budget (a fraction of each run's trials) it prints the blocks both ran, how many
the second strategy ends better / worse / level on (best loss so far, direction-aware), the
median difference of normalized regret (second minus first; negative: second better) and the
two-sided Wilcoxon p (``optuna_recipes.bench.metrics.pairwise_tests``, the report's own test).
A folder without ``digest.csv.gz`` is condensed in memory (nothing is written to it).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
import sys

import numpy as np
import pandas as pd

from optuna_recipes.bench import digest
from optuna_recipes.bench import metrics
from optuna_recipes.bench import outdir

FIRST = "first"
SECOND = "second"


def per_trial(folder: Path) -> pd.DataFrame:
    """The best-so-far table of every run in a finished ``bench run`` folder."""
    if (folder / digest.DIGEST).exists():
        found = digest.load(folder)
    else:
        manifest = outdir.read_manifest(folder)
        results = outdir.read_results(folder)
        found = digest.Digest(folder, manifest, trace=digest.trace(results))
    return found.per_trial()


def _split(spec: str) -> tuple[Path, str]:
    """``FOLDER:STRATEGY`` (the strategy may hold colons itself, as ``mod:Class`` does)."""
    folder, sep, strategy = spec.partition(":")
    if not sep or not strategy:
        raise ValueError(f"{spec!r} names no strategy: write FOLDER:STRATEGY, e.g. /tmp/base:ga.")
    return Path(folder), strategy


def _pick(table: pd.DataFrame, strategy: str, label: str, folder: Path) -> pd.DataFrame:
    runs = table[table["strategy"] == strategy]
    if runs.empty:
        have = ", ".join(sorted(table["strategy"].unique()))
        raise ValueError(f"{folder} has no runs of strategy {strategy!r}; it has: {have}.")
    return runs.assign(strategy=label)


def compare(
    first: pd.DataFrame, second: pd.DataFrame, budgets: Sequence[float] = (0.25, 0.5, 1.0)
) -> pd.DataFrame:
    """Paired table of two per-trial tables whose ``strategy`` column is ``"first"`` and
    ``"second"``: one row per group and budget with ``blocks``, ``better``, ``worse``,
    ``level`` (counted for the second), ``median_diff`` and ``p``."""
    both = pd.concat([first, second], ignore_index=True)
    finals = metrics.at_budgets(both, budgets)
    rows = []
    for budget in budgets:
        tests = metrics.pairwise_tests(both, budget)
        for group, sub in finals[finals["budget"] == budget].groupby("group"):
            table = sub.pivot_table(
                index=["problem", "seed"], columns="strategy", values="loss", aggfunc="first"
            ).dropna()
            if FIRST not in table or SECOND not in table:
                continue
            a, b = table[FIRST].to_numpy(), table[SECOND].to_numpy()
            test = tests[tests["group"] == group].iloc[0]
            sign = 1.0 if test["a"] == SECOND else -1.0
            rows.append(
                {
                    "group": group,
                    "budget": budget,
                    "blocks": len(table),
                    "better": int(np.sum(b < a)),
                    "worse": int(np.sum(b > a)),
                    "level": int(np.sum(b == a)),
                    "median_diff": sign * float(test["median_diff"]),
                    "p": float(test["p"]),
                }
            )
    return pd.DataFrame(
        rows, columns=["group", "budget", "blocks", "better", "worse", "level", "median_diff", "p"]
    )


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("first", help="FOLDER:STRATEGY of the baseline")
    parser.add_argument("second", help="FOLDER:STRATEGY compared with it")
    parser.add_argument(
        "--budgets",
        default="0.25,0.5,1",
        help="fractions of each run's trials (default %(default)s)",
    )
    args = parser.parse_args(argv)
    try:
        budgets = [float(b) for b in args.budgets.split(",")]
        (fa, sa), (fb, sb) = _split(args.first), _split(args.second)
        first = _pick(per_trial(fa), sa, FIRST, fa)
        second = _pick(per_trial(fb), sb, SECOND, fb)
    except (ValueError, outdir.OutputFolderError) as exc:
        print(f"error: {exc}", file=sys.stderr)
        return 2
    table = compare(first, second, budgets)
    print(f"second = {args.second} against first = {args.first}")
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3g}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
