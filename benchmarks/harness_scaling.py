"""Scaling of the runner: `--workers 2` against `--workers 1` on a suite of many runs.

The suite: 4 mixed-space problems x 2 strategies (TPE, CMA-ES) x 8 seeds = 64 runs of 150
trials, CPU-bound (sampler and objective), run through the command line as a user would
(`python -m optuna_recipes bench run SUITE --workers N --no-report`), each time into a fresh
output folder. Wall-clock times include the process start, the worker start and the results
collection. The results of both runs must be identical (same seeds): checked.

Run it without `nice`: a niced benchmark on a busy machine only gets the CPU the others leave,
about the same for one worker as for two.

Usage: python benchmarks/harness_scaling.py > benchmarks/results/harness_scaling.md
"""

from __future__ import annotations

import os
from pathlib import Path
import resource
import statistics
import subprocess
import sys
import tempfile
import time

import pandas as pd

SUITE = """
[suite]
trials = 150
seeds = 8
strategies = ["tpe", "cmaes"]

[[problems]]
name = "sphere"
type = "mixed"
options = { function = "sphere", instance = 1 }

[[problems]]
name = "rastrigin"
type = "mixed"
options = { function = "rastrigin", instance = 2 }

[[problems]]
name = "rosenbrock"
type = "mixed"
options = { function = "rosenbrock", n_float = 4, n_int = 0, instance = 3 }

[[problems]]
name = "conditional"
type = "conditional"
options = { instance = 4 }
"""
ROOT = Path(__file__).resolve().parents[1]


def timed_run(suite: Path, out: Path, workers: int) -> tuple[float, float]:
    """Wall-clock seconds, and CPU seconds used by the command and its worker processes."""
    before = resource.getrusage(resource.RUSAGE_CHILDREN)
    start = time.perf_counter()
    subprocess.run(
        [
            sys.executable,
            "-m",
            "optuna_recipes",
            "bench",
            "run",
            str(suite),
            "--out",
            str(out),
            "--workers",
            str(workers),
            "--no-progress",
            "--no-report",
        ],
        cwd=ROOT,
        check=True,
        capture_output=True,
    )
    wall = time.perf_counter() - start
    after = resource.getrusage(resource.RUSAGE_CHILDREN)
    cpu = (after.ru_utime - before.ru_utime) + (after.ru_stime - before.ru_stime)
    return wall, cpu


BUSY = (
    "import time, resource\n"
    "t = time.time()\n"
    "while time.time() - t < 3: pass\n"
    "r = resource.getrusage(resource.RUSAGE_SELF); print(r.ru_utime + r.ru_stime)"
)


def cores_for(n: int) -> float:
    """CPU the machine gives ``n`` concurrent pure busy loops of 3 s (in cores)."""
    procs = [
        subprocess.Popen([sys.executable, "-c", BUSY], stdout=subprocess.PIPE, text=True)
        for _ in range(n)
    ]
    return sum(float(p.communicate()[0]) for p in procs) / 3.0


def main() -> None:
    print("# Runner scaling: --workers 2 vs --workers 1\n")
    print("Command: `python benchmarks/harness_scaling.py`\n")
    print(
        "Suite: 4 problems x 2 strategies (tpe, cmaes) x 8 seeds = 64 runs x 150 trials, run "
        "with `python -m optuna_recipes bench run SUITE --workers N --no-report` into a fresh "
        f"folder. Machine: {os.cpu_count()} cores, shared with other jobs.\n"
    )
    print(
        "`cores used` = CPU seconds of the command and its workers / wall seconds: what the "
        "operating system gave the benchmark. On a machine shared with other jobs (load average "
        "well above the 2 cores), two workers cannot get twice the CPU of one.\n"
    )
    print(
        f"Probe: CPU given to pure busy loops right now: 1 process {cores_for(1):.2f} cores, "
        f"2 processes {cores_for(2):.2f} cores (an idle 2-core machine gives 1.0 and 2.0).\n"
    )
    print(
        "| repetition | load avg at start | workers 1 (s) | cores used | workers 2 (s) | "
        "cores used | speedup |"
    )
    print("|---|---|---|---|---|---|---|")
    speedups = []
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        suite = tmp / "scaling.toml"
        suite.write_text(SUITE)
        for rep in range(3):
            load = os.getloadavg()[0]
            one, cpu_one = timed_run(suite, tmp / f"one{rep}", 1)
            two, cpu_two = timed_run(suite, tmp / f"two{rep}", 2)
            a = pd.read_csv(tmp / f"one{rep}" / "results.csv")
            b = pd.read_csv(tmp / f"two{rep}" / "results.csv")
            key = ["problem", "strategy", "seed", "trial"]
            same = (
                a.sort_values(key)[[*key, "value"]]
                .reset_index(drop=True)
                .equals(b.sort_values(key)[[*key, "value"]].reset_index(drop=True))
            )
            assert same, "workers 1 and 2 gave different results"
            speedups.append(one / two)
            print(
                f"| {rep + 1} | {load:.1f} | {one:.1f} | {cpu_one / one:.2f} | {two:.1f} | "
                f"{cpu_two / two:.2f} | {one / two:.2f}x |"
            )
            sys.stdout.flush()
    print(
        f"\nMedian speedup {statistics.median(speedups):.2f}x over {len(speedups)} repetitions; "
        "results of workers 1 and 2 identical (same seeds)."
    )


if __name__ == "__main__":
    main()
