"""The output folder of a benchmark: manifest, storage, results files, report.

Layout of ``DIR``::

    bench.json        manifest: suite, settings, command, storage, state ("running"/"complete")
    suite.toml        copy of the suite file the run used
    studies.journal   the Optuna storage (default; open it with optuna-dashboard)
    results.csv       one row per trial (results.parquet too when pyarrow is installed)
    runs.csv          one row per run: status, seconds, message
    report.md, plots/ the report

Files are written atomically (temporary file + rename), so an interrupted write leaves the old
file or none. A folder that is not a benchmark folder, or that holds another configuration, is
refused with a message; nothing is silently overwritten.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
import json
import os
from pathlib import Path
import tempfile
from typing import Any

import pandas as pd

MANIFEST = "bench.json"
RESULTS = "results.csv"
RUNS = "runs.csv"
FORMAT = 1


class OutputFolderError(RuntimeError):
    """The output folder cannot be used as asked; the message says why and what to do."""


def write_atomic(path: Path, data: str | bytes) -> None:
    """Write ``data`` to ``path`` through a temporary file and a rename."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".tmp")
    try:
        with os.fdopen(fd, "wb") as f:
            f.write(data.encode() if isinstance(data, str) else data)
        os.replace(tmp, path)
    except BaseException:
        if os.path.exists(tmp):
            os.unlink(tmp)
        raise


def read_manifest(out: Path) -> dict[str, Any]:
    """The manifest of a benchmark folder (raises ``OutputFolderError`` with a clear message)."""
    path = out / MANIFEST
    if not out.is_dir():
        raise OutputFolderError(f"{str(out)!r} does not exist or is not a folder.")
    if not path.exists():
        raise OutputFolderError(
            f"{str(out)!r} is not a benchmark output folder (it has no {MANIFEST}); "
            "give the --out folder of `optuna-recipes bench run`."
        )
    try:
        manifest = json.loads(path.read_text())
        if manifest.get("format") != FORMAT:
            raise ValueError(f"format {manifest.get('format')!r}")
    except (ValueError, AttributeError) as err:
        raise OutputFolderError(
            f"{path} is damaged or of another version ({err}); it was not written by this "
            "version of optuna-recipes. Move the folder away and run again."
        ) from err
    return manifest


def prepare(out: Path, settings: dict[str, Any], suite_text: str, command: str) -> dict[str, Any]:
    """Create the folder, or check that it holds the same configuration (to resume).

    Raises:
        OutputFolderError: the folder is not empty and not a benchmark folder, or it holds a
            benchmark of other settings or another suite file.
    """
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {str(out)!r} exists and is not a folder.")
    if out.exists() and any(out.iterdir()):
        manifest = read_manifest(out)
        diffs = [
            f"{k}: {manifest['settings'].get(k)!r} there, {v!r} now"
            for k, v in settings.items()
            if manifest["settings"].get(k) != v
        ]
        old_suite = (out / "suite.toml").read_text() if (out / "suite.toml").exists() else None
        if old_suite is not None and old_suite != suite_text:
            diffs.append("the suite file changed since that run")
        if diffs:
            raise OutputFolderError(
                f"{str(out)!r} holds a benchmark with other settings ({'; '.join(diffs)}). "
                "Re-run its own command to resume it (see its report.md or bench.json), or "
                "choose another --out."
            )
        manifest["state"] = "running"
        manifest["resumed"] = manifest.get("resumed", 0) + 1
        if old_suite is None:  # killed between the manifest and the suite copy
            write_atomic(out / "suite.toml", suite_text)
    else:
        out.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT,
            "settings": settings,
            "command": command,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "state": "running",
        }
        # The manifest first: a folder with a manifest is ours and can be resumed.
        write_manifest(out, manifest)
        write_atomic(out / "suite.toml", suite_text)
        return manifest
    write_manifest(out, manifest)
    return manifest


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


def write_results(out: Path, results: pd.DataFrame, runs: pd.DataFrame) -> list[Path]:
    """Write ``results.csv`` (+ ``results.parquet`` with pyarrow) and ``runs.csv``."""
    written = [out / RESULTS, out / RUNS]
    write_atomic(out / RESULTS, results.to_csv(index=False))
    write_atomic(out / RUNS, runs.to_csv(index=False))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return written
    import io

    buf = io.BytesIO()
    results.to_parquet(buf, index=False)
    write_atomic(out / "results.parquet", buf.getvalue())
    return [*written, out / "results.parquet"]


def load_results(out: Path | str) -> pd.DataFrame:
    """The per-trial results of a finished benchmark folder.

    Raises:
        OutputFolderError: the folder is not a benchmark folder, the benchmark has not finished
            (its command must be re-run to finish it), or the results file is damaged.
    """
    out = Path(out)
    manifest = read_manifest(out)
    path = out / RESULTS
    if manifest.get("state") != "complete" or not path.exists():
        raise OutputFolderError(
            f"The benchmark in {str(out)!r} has not finished (state: "
            f"{manifest.get('state')!r}); run `{manifest.get('command')}` again to resume it."
        )
    try:
        df = pd.read_csv(path)
    except (ValueError, pd.errors.ParserError) as err:
        raise OutputFolderError(
            f"{path} is damaged ({err}); re-run the command to rewrite it."
        ) from err
    expected = manifest.get("rows")
    if expected is not None and len(df) != expected:
        raise OutputFolderError(
            f"{path} has {len(df)} rows, the manifest says {expected}: the file is damaged or "
            f"was edited. Re-run `{manifest.get('command')}` to rewrite it."
        )
    return df


# The name this function had before it became public as ``load_results`` (used by scripts).
read_results = load_results
