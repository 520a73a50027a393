"""How long ``import optuna_recipes`` takes with the core dependencies (target: < 1 s).

Each measurement is a fresh interpreter, so nothing is cached in memory; the median of the runs
is reported next to ``import optuna`` measured the same way in the same run.

Usage: python benchmarks/import_time.py > benchmarks/results/import_time.md
"""

from __future__ import annotations

import statistics
import subprocess
import sys


def _time_import(statement: str, repeat: int = 7) -> float:
    code = f"import time; t = time.perf_counter(); {statement}; print(time.perf_counter() - t)"
    runs = [
        float(
            subprocess.run(
                [sys.executable, "-c", code], capture_output=True, text=True, check=True
            ).stdout
        )
        for _ in range(repeat)
    ]
    return statistics.median(runs)


def main() -> None:
    ours = _time_import("import optuna_recipes, optuna_recipes.samplers, optuna_recipes.pruners")
    optuna_only = _time_import("import optuna")
    print("# Import time\n")
    print("Command: `python benchmarks/import_time.py`\n")
    print("| import | median seconds (7 fresh interpreters) |")
    print("|---|---|")
    print(f"| optuna | {optuna_only:.3f} |")
    print(f"| optuna_recipes (+ samplers, pruners) | {ours:.3f} |")
    print(f"\nTarget < 1 s: {'met' if ours < 1.0 else 'NOT met'}.")


if __name__ == "__main__":
    main()
