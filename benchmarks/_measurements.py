"""Output folders of the benchmark scripts, in the layout of ``optuna-recipes bench run``.

A few measurements cannot be a suite of (problem, strategy, seed) runs: the import time, a raw
training loop's throughput, the objective call against hand-written library code, the harness
against plain Optuna, a surrogate's held-out error. Their scripts write one row per measurement
(``problem``, ``strategy``, ``seed`` = repetition, ``value`` and other columns) with the
harness's own helpers (``optuna_recipes.bench.outdir``, ``report.markdown_table``): ``bench.json``
(``"kind": "measurements"``, the command), ``results.csv`` and ``report.md`` with the command
that reproduces it at the top. ``benchmarks/claims.py`` reads them like any other run.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
import os
from pathlib import Path
import platform
import sys
from typing import Any

import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # import this checkout's package, not an installed copy
    sys.path.insert(0, str(ROOT))

from optuna_recipes.bench import outdir  # noqa: E402
from optuna_recipes.bench.report import markdown_table  # noqa: E402

COLUMNS = ["problem", "strategy", "seed", "value"]


def command_line() -> str:
    """The command that ran this script, from the repository root."""
    script = Path(sys.argv[0]).resolve()
    try:
        script = script.relative_to(ROOT)
    except ValueError:
        pass
    return " ".join(["python", script.as_posix(), *sys.argv[1:]])


def machine() -> str:
    load = " ".join(f"{x:.1f}" for x in os.getloadavg()) if hasattr(os, "getloadavg") else "?"
    return f"{platform.platform()}, {os.cpu_count()} cores, load average {load}"


def write(
    out: str | Path,
    table: pd.DataFrame,
    *,
    title: str,
    text: str,
    summary: pd.DataFrame | None = None,
    settings: dict[str, Any] | None = None,
) -> Path:
    """Write ``table`` (one row per measurement) as a benchmark folder; return ``report.md``.

    Raises:
        OutputFolderError: ``out`` holds another benchmark (choose another folder).
    """
    missing = [c for c in COLUMNS if c not in table.columns]
    if missing:
        raise ValueError(f"the measurement table lacks columns {missing}.")
    out = Path(out)
    command = command_line()
    settings = {"script": command.split()[1], "out": str(out), **(settings or {})}
    manifest = outdir.prepare(out, settings, "", command)
    (out / "suite.toml").unlink(missing_ok=True)  # a script has no suite file
    outdir.write_results(out, table, pd.DataFrame())
    manifest.update(
        kind="measurements",
        state="complete",
        rows=len(table),
        finished=datetime.now(timezone.utc).isoformat(timespec="seconds"),
        machine=machine(),
    )
    outdir.write_manifest(out, manifest)
    lines = [
        f"# {title}",
        "",
        "Reproduce:",
        "",
        "```bash",
        command,
        "```",
        "",
        f"Finished {manifest['finished']} on {manifest['machine']}. One row per measurement: "
        "`results.csv`.",
        "",
        text,
        "",
    ]
    if summary is not None:
        lines += [markdown_table(summary)]
    path = out / "report.md"
    outdir.write_atomic(path, "\n".join(lines))
    return path
