"""How long ``import optuna_recipes`` takes with the core dependencies, next to ``import optuna``.

Each measurement is a fresh interpreter (nothing cached in memory), ``--repeat`` times, the
statements alternating. One row per measurement (``value``: seconds) in the output folder.

Usage: python benchmarks/import_time.py --out benchmarks/results/import-time
"""

from __future__ import annotations

import argparse
import subprocess
import sys

import _measurements
import pandas as pd

STATEMENTS = {
    "optuna": "import optuna",
    "optuna_recipes": "import optuna_recipes, optuna_recipes.samplers, optuna_recipes.pruners",
}


def _time_import(statement: str) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    run = subprocess.run(
        [sys.executable, "-c", code],
        capture_output=True,
        text=True,
        check=True,
        cwd=_measurements.ROOT,
    )
    return float(run.stdout)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", default="benchmarks/results/import-time")
    parser.add_argument("--repeat", type=int, default=7)
    args = parser.parse_args()
    rows = [
        {"problem": "import", "strategy": name, "seed": i, "value": _time_import(statement)}
        for i in range(args.repeat)
        for name, statement in STATEMENTS.items()
    ]
    table = pd.DataFrame(rows)
    summary = table.groupby("strategy")["value"].median().rename("median seconds").reset_index()
    _measurements.write(
        args.out,
        table,
        title="Import time",
        text=f"Median over {args.repeat} fresh interpreters of each import statement: "
        + "; ".join(f"`{k}`: `{v}`" for k, v in STATEMENTS.items())
        + ".",
        summary=summary,
        settings={"repeat": args.repeat},
    )


if __name__ == "__main__":
    main()
