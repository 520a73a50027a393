"""The output folder of a benchmark: manifest, lock, storage, results files, report.

Layout of ``DIR``::

    bench.json        manifest: suite, settings, command, storage (password hidden), state
                      ("running"/"interrupted"/"complete"), a record per finished run and the
                      checksum of results.csv
    bench.lock        held by the `bench run` using the folder (a second one exits at once)
    suite.toml        copy of the suite file the run used
    studies.journal   the Optuna storage (default; open it with optuna-dashboard)
    results.csv       one row per trial (results.parquet too when pyarrow is installed)
    runs.csv          one row per run: status, seconds, message
    report.md, plots/ the report

Files are written atomically (temporary file + rename), so an interrupted write leaves the old
file or none. A folder that is not a benchmark folder, or that holds another configuration, is
refused with a message; nothing is silently overwritten. What identifies a benchmark is its
suite file, seeds, trials and strategies, and, once runs have finished, the storage they are in
(kind, host, port, database or file; not the driver, password or options): the folder may be
given by another path or moved, and a corrected storage URL resumes it.
"""

from __future__ import annotations

from datetime import datetime
from datetime import timezone
import hashlib
import io
import json
import os
from pathlib import Path
import socket
import tempfile
import time
from typing import Any

import pandas as pd

MANIFEST = "bench.json"
RESULTS = "results.csv"
RUNS = "runs.csv"
LOCK = "bench.lock"
FORMAT = 1
# Settings that identify a benchmark: a resume must repeat them.
IDENTITY = ("suite", "seeds", "first_seed", "trials", "strategies", "simulate_workers", "only")
# Files a run may create before its manifest: a folder holding only these is a new folder.
OWN_FILES = frozenset({LOCK, "studies.journal", "studies.journal.flock"})

try:
    import fcntl
except ImportError:  # pragma: no cover - Windows: no folder lock
    fcntl = None  # type: ignore[assignment]


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


class FolderLock:
    """An exclusive lock on an output folder (``DIR/bench.lock``), held for a whole run.

    A second ``bench run`` on the same folder fails at once, saying which process holds it.
    The lock is an ``flock`` on the file, which the kernel releases when its holder dies: a
    killed run never leaves the folder locked. (Where ``fcntl`` is missing, as on Windows,
    there is no lock.)

    Example:
        .. code-block:: python

            from pathlib import Path
            from optuna_recipes.bench.outdir import FolderLock

            with FolderLock(Path("bench-out/quick"), "bench run quick"):
                ...  # nobody else runs a benchmark into this folder meanwhile

    Args:
        out: The output folder (created when missing).
        command: Written into the lock file so that the refused process can say who holds it.
    """

    def __init__(self, out: Path, command: str = "") -> None:
        self.out = out
        self.command = command
        self.handle: Any = None

    def __enter__(self) -> FolderLock:
        if self.out.exists() and not self.out.is_dir():
            raise OutputFolderError(f"--out {str(self.out)!r} exists and is not a folder.")
        self.out.mkdir(parents=True, exist_ok=True)
        if fcntl is None:  # pragma: no cover - Windows
            return self
        handle = open(self.out / LOCK, "a+")  # closed in __exit__
        try:
            fcntl.flock(handle.fileno(), fcntl.LOCK_EX | fcntl.LOCK_NB)
        except OSError:
            handle.seek(0)
            holder = handle.read().strip() or "another process"
            handle.close()
            raise OutputFolderError(
                f"{str(self.out)!r} is in use by another benchmark run ({holder}). Wait for it "
                "to finish, or stop it (its finished runs are kept) and run again."
            ) from None
        handle.seek(0)
        handle.truncate()
        started = datetime.now(timezone.utc).isoformat(timespec="seconds")
        handle.write(f"pid {os.getpid()} on {socket.gethostname()}, since {started}\n")
        handle.flush()
        self.handle = handle
        return self

    def __exit__(self, *exc: object) -> None:
        if self.handle is not None:
            fcntl.flock(self.handle.fileno(), fcntl.LOCK_UN)
            self.handle.close()
            self.handle = None


def _is_new(out: Path) -> bool:
    """A missing folder, or one that holds nothing but files a run makes before its manifest."""
    return not out.exists() or all(p.name in OWN_FILES for p in out.iterdir())


def check_folder(
    out: Path, settings: dict[str, Any], suite_text: str, storage_identity: str | None
) -> dict[str, Any] | None:
    """The manifest of the benchmark in ``out`` to resume, or ``None`` for a new folder.

    Raises:
        OutputFolderError: the folder is not empty and not a benchmark folder, or it holds a
            benchmark of other settings, another suite file, or runs finished in another
            storage.
    """
    if out.exists() and not out.is_dir():
        raise OutputFolderError(f"--out {str(out)!r} exists and is not a folder.")
    if _is_new(out):
        return None
    manifest = read_manifest(out)
    old = manifest["settings"]
    diffs = [
        f"{k}: {old.get(k)!r} there, {settings.get(k)!r} now"
        for k in IDENTITY
        if old.get(k) != settings.get(k)
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
    used = manifest.get("storage_identity")
    if used is not None and used != storage_identity and manifest.get("runs"):
        raise OutputFolderError(
            f"{str(out)!r} holds {len(manifest['runs'])} runs finished in the storage {used}; "
            f"this run would use {storage_identity}. Give --storage for that storage again "
            "(its driver, password and options may differ), or choose another --out."
        )
    return manifest


def prepare(
    out: Path,
    settings: dict[str, Any],
    suite_text: str,
    command: str,
    storage: dict[str, Any] | None = None,
) -> dict[str, Any]:
    """Create the folder's manifest, or update the one of the benchmark it resumes.

    ``storage``: ``{"url": ... (password hidden), "identity": ...}``; ``None`` for a folder
    without a storage (a measurement script's).

    Raises:
        OutputFolderError: see :func:`check_folder`.
    """
    storage = storage or {"url": None, "identity": None}
    manifest = check_folder(out, settings, suite_text, storage["identity"])
    if manifest is None:
        out.mkdir(parents=True, exist_ok=True)
        manifest = {
            "format": FORMAT,
            "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            "runs": {},
        }
    else:
        manifest["resumed"] = manifest.get("resumed", 0) + 1
    manifest.update(
        settings=settings,
        command=command,
        storage=storage["url"],
        storage_identity=storage["identity"],
        state="running",
    )
    manifest.setdefault("runs", {})
    # The manifest first: a folder with a manifest is ours and can be resumed.
    write_manifest(out, manifest)
    if not (out / "suite.toml").exists():  # new, or killed between the manifest and the copy
        write_atomic(out / "suite.toml", suite_text)
    return manifest


def write_manifest(out: Path, manifest: dict[str, Any]) -> None:
    write_atomic(out / MANIFEST, json.dumps(manifest, indent=2, sort_keys=True) + "\n")


class RunLedger:
    """The records of finished runs in the manifest, written at most every ``interval``
    seconds while runs finish (and on :meth:`flush`), so that a killed benchmark keeps most.

    Example:
        .. code-block:: python

            ledger = RunLedger(out, manifest)
            ledger.record("quick:sphere/tpe/seed0", {"trials": 40, "sha256": "..."})
            ledger.flush()
    """

    def __init__(self, out: Path, manifest: dict[str, Any], interval: float = 2.0) -> None:
        self.out = out
        self.manifest = manifest
        self.interval = interval
        self.dirty = False
        self.last = time.monotonic()

    def record(self, study_name: str, record: dict[str, Any]) -> None:
        self.manifest.setdefault("runs", {})[study_name] = record
        self.dirty = True
        if time.monotonic() - self.last >= self.interval:
            self.flush()

    def flush(self) -> None:
        if self.dirty:
            write_manifest(self.out, self.manifest)
        self.dirty = False
        self.last = time.monotonic()


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def write_results(out: Path, results: pd.DataFrame, runs: pd.DataFrame) -> dict[str, Any]:
    """Write ``results.csv`` (+ ``results.parquet`` with pyarrow) and ``runs.csv``; return the
    record of ``results.csv`` for the manifest (``{"rows": n, "sha256": ...}``)."""
    data = results.to_csv(index=False).encode()
    write_atomic(out / RESULTS, data)
    write_atomic(out / RUNS, runs.to_csv(index=False))
    try:
        import pyarrow  # noqa: F401
    except ImportError:
        return {"rows": len(results), "sha256": _sha256(data)}
    buf = io.BytesIO()
    results.to_parquet(buf, index=False)
    write_atomic(out / "results.parquet", buf.getvalue())
    return {"rows": len(results), "sha256": _sha256(data)}


def load_results(out: Path | str) -> pd.DataFrame:
    """The per-trial results of a finished benchmark folder.

    Raises:
        OutputFolderError: the folder is not a benchmark folder, the benchmark has not finished
            (its command must be re-run to finish it), or the results file was changed or is
            damaged (its checksum differs from the manifest's).
    """
    out = Path(out)
    manifest = read_manifest(out)
    path = out / RESULTS
    command = manifest.get("command")
    if manifest.get("state") == "complete" and not path.exists():
        kept = [name for name in ("digest.csv.gz", "report.md") if (out / name).exists()]
        raise OutputFolderError(
            f"The benchmark in {str(out)!r} finished, but its per-trial results ({RESULTS}) "
            "are not in the folder"
            + (
                f" (it keeps {' and '.join(kept)}, as the committed folders of the claims "
                "ledger do)"
                if kept
                else ""
            )
            + f"; to make them, run `{command}` with another `--out` folder."
        )
    if manifest.get("state") != "complete":
        raise OutputFolderError(
            f"The benchmark in {str(out)!r} has not finished (state: "
            f"{manifest.get('state')!r}); run `{command}` again to resume it."
        )
    data = path.read_bytes()
    expected = manifest.get("results") or {}
    if expected.get("sha256") not in (None, _sha256(data)):
        raise _changed(path, "its checksum differs from the one in bench.json", command)
    try:
        df = pd.read_csv(io.BytesIO(data))
    except (ValueError, pd.errors.ParserError) as err:
        raise _changed(path, f"it cannot be read: {err}", command) from err
    rows = expected.get("rows", manifest.get("rows"))
    if rows is not None and len(df) != rows:
        raise _changed(path, f"it has {len(df)} rows, the manifest says {rows}", command)
    return df


def _changed(path: Path, why: str, command: Any) -> OutputFolderError:
    from optuna_recipes.bench.integrity import StateDamagedError

    return StateDamagedError(
        f"{path} was changed or is damaged ({why}); its results cannot be trusted. Run "
        f"`{command}` again to rewrite it from the storage (finished runs are not redone)."
    )


# The name this function had before it became public as ``load_results`` (used by scripts).
read_results = load_results
