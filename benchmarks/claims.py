"""The claims ledger: every published figure, the run that backs it, and checks that they agree.

``benchmarks/claims.toml`` names runs (a suite or a script, its output folder, the code whose
content decides its results, the commit and code hash it ran at) and claims (a figure: an
expression of the ``optuna_recipes.bench.claim_figures`` vocabulary evaluated on a run's
digest, and its format). README.md shows each figure between markers:
``<!-- claim:ID -->2.14<!-- /claim -->``.

    python benchmarks/claims.py --check          # CI: README == committed results, nothing stale
    python benchmarks/claims.py --write          # digest fresh results, rewrite README figures
    python benchmarks/claims.py --record RUN...  # after a run: stamp its commit and code hash
    python benchmarks/claims.py --list           # runs, their commands and estimated minutes
    python benchmarks/claims.py --rerun stale    # re-run every stale run and record it
    python benchmarks/claims.py --restamp RUN... # after narrowing a run's scope: see below

``--check`` exits 1 when a README figure differs from what the committed digest gives, a marker
names no claim or a claim has no marker, a run's folder or digest is missing, or a recorded run
is stale (the content hash of its code scope differs from the one recorded). Runs marked
``provisional`` (small-scale runs waiting for the full one) are listed, and their staleness is
reported without failing.

``--rerun RUN...`` (``stale``: every run whose code scope changed; ``all``: every run) runs each
run's command into a fresh folder, one after another, and records each as it finishes; the
committed results wait in ``OUT.rerun-backup`` until then. Interrupted, the same command resumes
the unfinished run.

``--restamp RUN...`` is for a run whose ledger entry was narrowed (fewer `code` paths, or
`strategies`: a folder made by the whole suite, serving some of its strategies while the others
run in a folder of their own) without a re-run: it hashes the run's new scope as it was at the
run's recorded commit (from git) and stamps the hash only if HEAD's scope is identical, so the
folder is what the current code would make. See benchmarks/README.md.
"""

from __future__ import annotations

import argparse
from collections.abc import Callable
from dataclasses import dataclass
from dataclasses import field
import hashlib
import json
from pathlib import Path
import re
import shlex
import shutil
import subprocess
import sys
from typing import Any

ROOT = Path(__file__).resolve().parents[1]
if str(ROOT) not in sys.path:  # import this checkout's package, not an installed copy
    sys.path.insert(0, str(ROOT))

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - Python 3.10
    import tomli as tomllib

LEDGER = Path("benchmarks/claims.toml")
README = Path("README.md")
MARKER = re.compile(r"<!-- claim:([A-Za-z0-9_.-]+) -->(.*?)<!-- /claim -->", re.S)
RUN_KEYS = {"suite", "command", "out", "split", "code", "minutes", "provisional", "strategies"}
STAMP_KEYS = {"commit", "code_hash"}
# Where --rerun keeps a run's committed results while the run makes new ones.
BACKUP_SUFFIX = ".rerun-backup"
CLAIM_KEYS = {"id", "run", "value", "format"}


class LedgerError(ValueError):
    """The ledger is malformed; the message names the entry and the fix."""


@dataclass
class Run:
    name: str
    out: Path
    code: list[str]
    split: str
    suite: str | None = None
    command: str | None = None
    minutes: float | None = None
    provisional: bool = False
    commit: str | None = None
    code_hash: str | None = None
    strategies: list[str] | None = None

    def reproduce(self) -> str:
        if self.suite:
            only = f" --only {','.join(self.strategies)}" if self.strategies else ""
            return (
                f"python -m optuna_recipes bench run {self.suite} --out {self.out} --workers 2"
                + only
            )
        return str(self.command)

    def scope(self) -> list[str]:
        """The code scope plus the suite file or the script the run executes."""
        extra = [self.suite] if self.suite else []
        if self.command:
            extra += [t for t in shlex.split(self.command) if t.endswith((".py", ".toml"))]
        return [*self.code, *extra]


@dataclass
class Claim:
    id: str
    runs: list[str]
    value: str
    format: str = ".2f"


@dataclass
class Ledger:
    split: dict[str, Any]
    runs: dict[str, Run]
    claims: list[Claim] = field(default_factory=list)


def load_ledger(root: Path) -> Ledger:
    """Parse and validate ``benchmarks/claims.toml`` under ``root``."""
    from optuna_recipes.bench.claim_figures import FigureError
    from optuna_recipes.bench.claim_figures import parse

    data = tomllib.loads((root / LEDGER).read_text(encoding="utf-8"))
    if not isinstance(data.get("split"), dict):
        raise LedgerError(f"{LEDGER}: the [split] table (dev/test problems) is missing.")
    runs = {}
    for name, table in (data.get("runs") or {}).items():
        unknown = set(table) - RUN_KEYS - STAMP_KEYS
        if unknown:
            raise LedgerError(f"{LEDGER}: [runs.{name}] has unknown keys {sorted(unknown)}.")
        if bool(table.get("suite")) == bool(table.get("command")):
            raise LedgerError(f"{LEDGER}: [runs.{name}] needs exactly one of `suite`, `command`.")
        for key in ("out", "code", "split"):
            if key not in table:
                raise LedgerError(f"{LEDGER}: [runs.{name}] needs `{key}`.")
        strategies = table.get("strategies")
        if strategies is not None and (
            not table.get("suite")
            or not isinstance(strategies, list)
            or not strategies
            or not all(isinstance(n, str) and n for n in strategies)
        ):
            raise LedgerError(
                f"{LEDGER}: [runs.{name}] `strategies` must be a non-empty list of the suite's "
                "strategy names (the run is `bench run SUITE --only ...`), and needs `suite`."
            )
        runs[name] = Run(name=name, **{**table, "out": Path(table["out"])})
    claims = []
    seen: set[str] = set()
    for table in data.get("claims") or []:
        cid = table.get("id", "?")
        unknown = set(table) - CLAIM_KEYS
        if unknown or not {"id", "run", "value"} <= set(table):
            raise LedgerError(
                f"{LEDGER}: claim {cid!r} needs id, run, value (and may have format); "
                f"unknown keys: {sorted(unknown)}."
            )
        if cid in seen:
            raise LedgerError(f"{LEDGER}: claim id {cid!r} is used twice.")
        seen.add(cid)
        names = [table["run"]] if isinstance(table["run"], str) else list(table["run"])
        missing = [n for n in names if n not in runs]
        if missing:
            raise LedgerError(f"{LEDGER}: claim {cid!r} reads unknown run(s) {missing}.")
        try:
            parse(table["value"])
        except FigureError as err:
            raise LedgerError(f"{LEDGER}: claim {cid!r}: {err}") from err
        claims.append(Claim(cid, names, table["value"], table.get("format", ".2f")))
    return Ledger(data["split"], runs, claims)


def scope_hash(root: Path, run: Run) -> tuple[str, list[str]]:
    """sha256 over the contents of every file in the run's scope; and the missing paths."""
    digest = hashlib.sha256()
    missing = []
    for rel in sorted(set(run.scope())):
        path = root / rel
        if not path.exists():
            missing.append(rel)
            continue
        files = [path] if path.is_file() else sorted(p for p in path.rglob("*") if p.is_file())
        for f in files:
            if "__pycache__" in f.parts or f.suffix == ".pyc":
                continue
            content = hashlib.sha256(_content(f)).hexdigest()
            digest.update(f"{f.relative_to(root).as_posix()}\0{content}\n".encode())
    return "sha256:" + digest.hexdigest(), missing


def _content(path: Path) -> bytes:
    """What decides a file's effect: its bytes; for a suite (TOML), its data, so that editing
    its comments (such as the estimated minutes) does not make a run stale."""
    if path.suffix != ".toml":
        return path.read_bytes()
    data = tomllib.loads(path.read_text(encoding="utf-8"))
    return json.dumps(data, sort_keys=True).encode()


def git_commit(root: Path) -> str:
    """The short commit of ``root``'s HEAD, or ``unknown`` outside a git checkout."""
    try:
        out = subprocess.run(
            ["git", "rev-parse", "--short", "HEAD"], cwd=root, capture_output=True, text=True
        )
    except OSError:
        return "unknown"
    return out.stdout.strip() or "unknown"


def _data(root: Path, ledger: Ledger, names: list[str], cache: dict[str, Any]) -> Any:
    from optuna_recipes.bench import digest

    for name in names:
        if name not in cache:
            run = ledger.runs[name]
            data = digest.load(root / run.out)
            # A folder made by the whole suite may serve a run of some of its strategies (the
            # others run in a folder of their own): it contributes those alone.
            cache[name] = digest.only(data, run.strategies) if run.strategies else data
    if len(names) == 1:
        return cache[names[0]]
    key = "+".join(names)  # claims that pool the same runs share one combined digest
    if key not in cache:
        cache[key] = digest.combine([cache[n] for n in names])
    return cache[key]


def figures(root: Path, ledger: Ledger) -> tuple[dict[str, str], list[str]]:
    """Every claim's formatted figure from the committed digests; and the errors."""
    from optuna_recipes.bench.claim_figures import evaluate
    from optuna_recipes.bench.claim_figures import format_figure

    values: dict[str, str] = {}
    errors: list[str] = []
    cache: dict[str, Any] = {}
    for claim in ledger.claims:
        try:
            data = _data(root, ledger, claim.runs, cache)
            values[claim.id] = format_figure(evaluate(claim.value, data), claim.format)
        except (OSError, ValueError, KeyError, RuntimeError) as err:
            errors.append(f"claim {claim.id!r} ({claim.value}): {err}")
    return values, errors


def _marker_text(value: str) -> str:
    return f"\n{value}\n" if "\n" in value else value


def check(root: Path) -> tuple[list[str], list[str]]:
    """Errors (``--check`` fails) and notes (reported only)."""
    from optuna_recipes.bench import digest

    ledger = load_ledger(root)
    values, errors = figures(root, ledger)
    notes: list[str] = []
    text = (root / README).read_text(encoding="utf-8")
    shown = set()
    for cid, content in MARKER.findall(text):
        shown.add(cid)
        if cid not in {c.id for c in ledger.claims}:
            errors.append(f"README.md shows claim {cid!r}, which the ledger does not have.")
        elif cid in values and content != _marker_text(values[cid]):
            errors.append(
                f"README.md claim {cid!r} says {content.strip()!r} but the committed results "
                f"give {values[cid].strip()[:200]!r}: run `python benchmarks/claims.py --write`."
            )
    for claim in ledger.claims:
        if claim.id not in shown:
            errors.append(
                f"claim {claim.id!r} has no <!-- claim:{claim.id} --> marker in README.md."
            )
    for run in ledger.runs.values():
        current, missing = scope_hash(root, run)
        problem = ""
        if missing:
            problem = f"code scope path(s) {missing} do not exist (moved?); update `code`"
        elif run.code_hash != current:
            problem = (
                f"its code scope changed since it ran at {run.commit or 'an unrecorded commit'}"
            )
        if problem and not run.provisional:
            errors.append(f"run {run.name!r} is stale: {problem}; re-run: {run.reproduce()}")
        elif problem:
            notes.append(f"provisional run {run.name!r}: {problem}.")
        results = root / run.out / "results.csv"
        if results.exists() and (
            not (root / run.out / digest.DIGEST).exists()
            or results.stat().st_mtime > (root / run.out / digest.DIGEST).stat().st_mtime
        ):
            notes.append(f"{run.out} has fresh results: `--record {run.name}` to publish them.")
    provisional = [r.name for r in ledger.runs.values() if r.provisional]
    if provisional:
        notes.append(
            f"{len(provisional)} provisional run(s) (small scale; run in full and --record): "
            + ", ".join(provisional)
        )
    return errors, notes


def write(root: Path) -> list[str]:
    """Digest fresh results, then rewrite every README figure; return the claims changed."""
    from optuna_recipes.bench import digest

    ledger = load_ledger(root)
    for run in ledger.runs.values():
        folder = root / run.out
        results, dig = folder / "results.csv", folder / digest.DIGEST
        if results.exists() and (
            not dig.exists() or results.stat().st_mtime > dig.stat().st_mtime
        ):
            digest.condense(folder)
    values, errors = figures(root, ledger)
    path = root / README
    text = path.read_text(encoding="utf-8")
    changed = []

    def replace(match: re.Match[str]) -> str:
        cid, content = match.group(1), match.group(2)
        if cid not in values:
            return match.group(0)
        new = _marker_text(values[cid])
        if new != content:
            changed.append(cid)
        return f"<!-- claim:{cid} -->{new}<!-- /claim -->"

    path.write_text(MARKER.sub(replace, text), encoding="utf-8")
    if errors:  # the figures that could be computed are written; the others stay as they were
        raise SystemExit("\n".join(errors))
    return changed


def _set_keys(text: str, header: str, values: dict[str, str]) -> str:
    """Set ``key = value`` lines inside the TOML table ``[header]`` (keeps everything else)."""
    lines = text.splitlines(keepends=True)
    try:
        start = next(i for i, line in enumerate(lines) if line.strip() == f"[{header}]")
    except StopIteration as err:
        raise LedgerError(f"{LEDGER}: no [{header}] table.") from err
    end = next(
        (i for i in range(start + 1, len(lines)) if lines[i].lstrip().startswith("[")), len(lines)
    )
    # Blank and comment lines above the next table belong to it (e.g. a section heading).
    while end > start + 1 and (
        not lines[end - 1].strip() or lines[end - 1].lstrip().startswith("#")
    ):
        end -= 1
    todo = dict(values)
    for i in range(start + 1, end):
        key = lines[i].split("=", 1)[0].strip()
        if key in todo:
            lines[i] = f"{key} = {todo.pop(key)}\n"
    lines[end:end] = [f"{k} = {v}\n" for k, v in todo.items()]
    return "".join(lines)


def compact_manifest(folder: Path) -> None:
    """Drop the per-run resume records (a trial count and checksum per run) from a recorded
    folder's ``bench.json``, keeping their number: the journals they check are not committed,
    so they cannot resume anything, and they were a third of the committed results' bytes."""
    from optuna_recipes.bench import outdir

    manifest = outdir.read_manifest(folder)
    runs = manifest.get("runs")
    if isinstance(runs, dict) and runs:
        manifest["runs"] = {}
        manifest["runs_recorded"] = len(runs)
        outdir.write_manifest(folder, manifest)


def _run_names(root: Path, ledger: Ledger, names: list[str], stale: bool = False) -> list[str]:
    """``names`` checked against the ledger; ``["all"]``: every run; with ``stale``,
    ``["stale"]``: the stale ones (``stale_runs``; never for ``--record``, which would stamp
    old results as current)."""
    if names == ["all"]:
        return list(ledger.runs)
    if stale and names == ["stale"]:
        return stale_runs(root, ledger)
    unknown = [n for n in names if n not in ledger.runs]
    if unknown:
        raise SystemExit(f"Unknown run(s) {unknown}; the ledger has {', '.join(ledger.runs)}.")
    return names


def record(root: Path, names: list[str], provisional: bool, write_figures: bool = True) -> None:
    """Stamp runs with HEAD's commit and their code hash (``provisional`` as given), digest
    their folders and (``write_figures``) rewrite the README figures."""
    from optuna_recipes.bench import digest
    from optuna_recipes.bench import outdir

    ledger = load_ledger(root)
    names = _run_names(root, ledger, names)
    text = (root / LEDGER).read_text(encoding="utf-8")
    for name in names:
        run = ledger.runs[name]
        folder = root / run.out
        manifest = outdir.read_manifest(folder)
        if manifest.get("state") != "complete":
            raise SystemExit(f"{folder} has not finished: run `{run.reproduce()}` first.")
        if run.suite and _content(folder / "suite.toml") != _content(root / run.suite):
            raise SystemExit(f"{folder} was made from another version of {run.suite}: re-run it.")
        ran = (manifest.get("settings") or {}).get("only")
        if run.strategies and ran and set(run.strategies) - set(ran):
            raise SystemExit(
                f"{folder} ran only {', '.join(ran)}, not every one of the run's strategies "
                f"({', '.join(run.strategies)}): re-run it with `{run.reproduce()}`."
            )
        if (folder / "results.csv").exists():
            digest.condense(folder)
        compact_manifest(folder)
        current, missing = scope_hash(root, run)
        if missing:
            raise SystemExit(f"run {name!r}: code scope path(s) {missing} do not exist.")
        stamps = {
            "commit": f'"{git_commit(root)}"',
            "code_hash": f'"{current}"',
            "provisional": "true" if provisional else "false",
        }
        text = _set_keys(text, f"runs.{name}", stamps)
    (root / LEDGER).write_text(text, encoding="utf-8")
    if write_figures:
        write(root)


def scope_hash_at(root: Path, run: Run, commit: str) -> tuple[str, list[str]]:
    """:func:`scope_hash` of the run's scope as it was at ``commit`` (read from git)."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        present, missing = [], []
        for rel in sorted(set(run.scope())):
            probe = subprocess.run(
                ["git", "cat-file", "-e", f"{commit}:{rel}"], cwd=root, capture_output=True
            )
            (present if probe.returncode == 0 else missing).append(rel)
        if present:
            archive = subprocess.run(
                ["git", "archive", "--format=tar", commit, "--", *present],
                cwd=root,
                capture_output=True,
                check=True,
            )
            subprocess.run(["tar", "-x", "-C", tmp], input=archive.stdout, check=True)
        digest, absent = scope_hash(Path(tmp), run)
    return digest, sorted(set(missing) | set(absent))


def restamp(root: Path, names: list[str]) -> None:
    """Stamp the code hash of runs whose scope was narrowed in the ledger, when the narrowed
    scope is the same at HEAD as at the commit the run was made at (else: re-run them)."""
    from optuna_recipes.bench import outdir

    ledger = load_ledger(root)
    names = _run_names(root, ledger, names)
    text = (root / LEDGER).read_text(encoding="utf-8")
    for name in names:
        run = ledger.runs[name]
        dirty = uncommitted(root, run.scope())
        if dirty:
            raise SystemExit(f"run {name!r}: commit {', '.join(dirty[:5])} first.")
        if not run.commit:
            raise SystemExit(f"run {name!r} has no recorded commit: run it (--rerun {name}).")
        folder = root / run.out
        if outdir.read_manifest(folder).get("state") != "complete":
            raise SystemExit(f"{folder} has not finished: run `{run.reproduce()}`.")
        if run.suite and _content(folder / "suite.toml") != _content(root / run.suite):
            raise SystemExit(f"{folder} was made from another version of {run.suite}: re-run it.")
        current, missing = scope_hash(root, run)
        then, missing_then = scope_hash_at(root, run, run.commit)
        if missing or missing_then or current != then:
            why = f"missing {missing or missing_then}" if missing or missing_then else "changed"
            raise SystemExit(
                f"run {name!r}: its code scope at HEAD is not what it was at {run.commit} "
                f"({why}): re-run it (`--rerun {name}`)."
            )
        text = _set_keys(text, f"runs.{name}", {"code_hash": f'"{current}"'})
        print(f"{name}: scope unchanged since {run.commit}; code hash stamped", flush=True)
    (root / LEDGER).write_text(text, encoding="utf-8")
    try:
        write(root)
    except SystemExit as err:
        # Claims may also pool runs that have not run yet (the parts split off): they wait.
        print(f"figures not written yet (runs they pool have to run first):\n{err}", flush=True)


def stale_runs(root: Path, ledger: Ledger) -> list[str]:
    """Names of the runs whose code scope changed since they were recorded (ledger order)."""
    return [n for n, r in ledger.runs.items() if scope_hash(root, r)[0] != r.code_hash]


def command_argv(run: Run) -> list[str]:
    """The run's command as arguments, with ``python`` meaning this interpreter."""
    argv = shlex.split(run.reproduce())
    if argv and argv[0] in ("python", "python3"):
        argv[0] = sys.executable
    return argv


def uncommitted(root: Path, paths: list[str]) -> list[str]:
    """The files under ``paths`` that differ from HEAD (none outside a git checkout)."""
    try:
        out = subprocess.run(
            ["git", "status", "--porcelain", "--", *paths],
            cwd=root,
            capture_output=True,
            text=True,
        )
    except OSError:
        return []
    if out.returncode != 0:  # not a git checkout: the stamp will say `unknown`
        return []
    return [line[3:] for line in out.stdout.splitlines() if line.strip()]


def _same_run(folder: Path, other: Path) -> bool:
    """Whether two output folders hold the same run (byte-identical ``bench.json``: a new run
    writes its own start and end times)."""
    from optuna_recipes.bench import outdir

    a, b = folder / outdir.MANIFEST, other / outdir.MANIFEST
    return a.exists() and b.exists() and a.read_bytes() == b.read_bytes()


def _finished(folder: Path) -> bool:
    from optuna_recipes.bench import outdir

    try:
        return outdir.read_manifest(folder).get("state") == "complete"
    except outdir.OutputFolderError:
        return False


def rerun(
    root: Path,
    names: list[str],
    dry_run: bool = False,
    execute: Callable[..., subprocess.CompletedProcess[Any]] = subprocess.run,
) -> list[str]:
    """Re-run ``names`` (or ``stale`` / ``all``) one after another and record each; return the
    names in the order they ran (with ``dry_run``, would run).

    A run's folder is moved to ``OUT.rerun-backup`` before its command starts and the backup is
    removed once the new results are recorded. A folder that has not finished (a re-run that
    was interrupted) is resumed, and one that finished but has a backup (interrupted before its
    record) is only recorded, unless it is the backup's run itself (the committed results put
    back): that one runs again. ``execute(argv, cwd=root)`` runs a command (tests replace it).
    """
    ledger = load_ledger(root)
    names = _run_names(root, ledger, names, stale=True)
    scope = sorted({p for n in names for p in ledger.runs[n].scope()})
    dirty = uncommitted(root, scope) if names else []
    if dirty:
        raise SystemExit(
            f"{len(dirty)} file(s) in the code scope of the runs differ from HEAD "
            f"({', '.join(dirty[:5])}{', ...' if len(dirty) > 5 else ''}): commit them first, "
            "so that each record stamps the commit that made its results."
        )
    minutes = sum(ledger.runs[n].minutes or 0 for n in names)
    print(
        f"{len(names)} run(s), about {minutes:.0f} min: {', '.join(names) or 'none'}", flush=True
    )
    if dry_run:
        for name in names:
            print(f"    {ledger.runs[name].reproduce()}")
        return names
    for i, name in enumerate(names, 1):
        run = ledger.runs[name]
        folder = root / run.out
        backup = folder.with_name(folder.name + BACKUP_SUFFIX)
        if backup.exists() and _finished(folder) and _same_run(folder, backup):
            # The committed results were put back (e.g. `git checkout`) after an interrupted
            # re-run: recording them would stamp old results with the new code. Run it.
            print(f"[{i}/{len(names)}] {name}: {run.out} holds the committed results again")
            shutil.rmtree(folder)
        if folder.exists() and _finished(folder) and not backup.exists():
            folder.rename(backup)  # the committed results, until the new ones are recorded
        if not _finished(folder):
            print(f"[{i}/{len(names)}] {name}: {run.reproduce()}", flush=True)
            result = execute(command_argv(run), cwd=root)
            if result.returncode != 0 or not _finished(folder):
                back = (
                    f"rm -r {run.out} && mv {run.out}{BACKUP_SUFFIX} {run.out}"
                    if backup.exists()
                    else f"rm -r {run.out} && git checkout -- {run.out}"
                )
                raise SystemExit(
                    f"run {name!r} stopped (exit {result.returncode}) before it finished: "
                    f"`python benchmarks/claims.py --rerun {name}` resumes it; "
                    f"`{back}` puts its committed results back instead."
                )
        record(root, [name], provisional=False, write_figures=False)
        if backup.exists():
            shutil.rmtree(backup)
        print(f"[{i}/{len(names)}] {name}: recorded", flush=True)
        try:
            write(root)
        except SystemExit as err:
            # A claim may pool a run that comes later in this re-run (a new run has no folder
            # yet): its figure waits; after the last run, what is still missing is an error.
            if i == len(names):
                raise
            print(f"[{i}/{len(names)}] figures not written yet (later runs may supply them):")
            print(str(err), flush=True)
    return names


def list_runs(root: Path) -> str:
    ledger = load_ledger(root)
    lines = []
    for run in ledger.runs.values():
        n = sum(run.name in c.runs for c in ledger.claims)
        flag = " (provisional)" if run.provisional else ""
        lines.append(
            f"{run.name}{flag}: {n} claim(s), ~{run.minutes or '?'} min, {run.split} split\n"
            f"    {run.reproduce()}"
        )
    total = sum(r.minutes or 0 for r in ledger.runs.values())
    lines.append(f"Estimated total: {total:.0f} minutes (2 workers on 2 cores).")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    mode = parser.add_mutually_exclusive_group(required=True)
    mode.add_argument("--check", action="store_true", help="Fail on any disagreement (CI).")
    mode.add_argument("--write", action="store_true", help="Rewrite README figures.")
    mode.add_argument("--record", nargs="+", metavar="RUN", help="Stamp runs ('all': every run).")
    mode.add_argument("--list", action="store_true", help="Runs, commands, estimated minutes.")
    mode.add_argument(
        "--restamp",
        nargs="+",
        metavar="RUN",
        help="After narrowing runs' code scope or strategies: stamp their code hash if the "
        "narrowed scope is unchanged since the run's commit.",
    )
    mode.add_argument(
        "--rerun",
        nargs="+",
        metavar="RUN",
        help="Re-run runs one after another and record each ('stale': those whose code "
        "changed; 'all': every run); interrupted, the same command resumes.",
    )
    parser.add_argument(
        "--provisional", action="store_true", help="With --record: mark small-scale runs."
    )
    parser.add_argument(
        "--dry-run", action="store_true", help="With --rerun: list the runs and commands only."
    )
    parser.add_argument("--root", type=Path, default=ROOT, help="Repository root.")
    args = parser.parse_args(argv)
    root = args.root.resolve()
    try:
        if args.list:
            print(list_runs(root))
        elif args.rerun:
            rerun(root, args.rerun, dry_run=args.dry_run)
        elif args.restamp:
            restamp(root, args.restamp)
        elif args.record:
            record(root, args.record, args.provisional)
            print(f"Recorded {', '.join(args.record)}; README figures rewritten.")
        elif args.write:
            changed = write(root)
            print(f"README.md: {len(changed)} figure(s) changed {changed or ''}".strip())
        else:
            errors, notes = check(root)
            for note in notes:
                print(f"note: {note}")
            for error in errors:
                print(f"error: {error}", file=sys.stderr)
            if errors:
                return 1
            print(f"{LEDGER}: every README figure agrees with the committed results.")
    except LedgerError as err:
        print(f"error: {err}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
