"""The benchmark scripts' own bookkeeping: a killed run resumes from its runs file."""

from __future__ import annotations

import json
from pathlib import Path
import subprocess
import sys

ROOT = Path(__file__).resolve().parents[1]


def _pruning(*args: str) -> str:
    cmd = [
        sys.executable,
        str(ROOT / "benchmarks" / "adapters_pruning.py"),
        "--library",
        "lightgbm",
        "--trials",
        "6",
        "--rounds",
        "20",
        "--early-stopping",
        "5",
        "--pruners",
        "none",
        "recommended",
        *args,
    ]
    return subprocess.run(cmd, check=True, capture_output=True, text=True, timeout=300).stdout


def test_adapters_pruning_resumes_from_its_runs_file(tmp_path: Path) -> None:
    runs = tmp_path / "runs.jsonl"
    _pruning("--seeds", "0", "--runs", str(runs))
    first = [json.loads(line) for line in runs.read_text().splitlines()]
    assert [(r["seed"], r["pruner"]) for r in first] == [(0, "none"), (0, "recommended")]
    assert all(r["direction"] == "minimize" and r["rounds"] > 0 for r in first)

    # Seed 0 is in the file: only seed 1 runs, and the report covers both.
    out = _pruning("--seeds", "0", "1", "--runs", str(runs))
    records = [json.loads(line) for line in runs.read_text().splitlines()]
    assert [(r["seed"], r["pruner"]) for r in records[2:]] == [(1, "none"), (1, "recommended")]
    assert records[:2] == first
    assert "| recommended | 2 |" in out  # summary over both seeds
    assert "Best value vs `none`, paired by seed" in out

    # --report-only trains nothing and prints the same tables.
    again = _pruning("--seeds", "0", "1", "--runs", str(runs), "--report-only")
    assert runs.read_text().count("\n") == 4
    assert again.split("| seed |", 1)[1] == out.split("| seed |", 1)[1]
