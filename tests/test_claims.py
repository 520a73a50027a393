"""The claims ledger: README figures agree with the committed results, and the check catches a
hand-edited figure and a run whose code changed since it ran (on temporary copies)."""

from __future__ import annotations

from pathlib import Path
import re
import shutil
import subprocess
import sys

from _bench_helpers import load_benchmark_script
import pytest

ROOT = Path(__file__).resolve().parents[1]
# What a benchmark run writes but the repository does not keep (benchmarks/results/.gitignore).
_NOT_KEPT = (
    "studies.journal*",
    "results.csv",
    "results.parquet",
    "runs.csv",
    "final.csv",
    "plots",
)


claims = load_benchmark_script("claims")


def _copy(tmp: Path) -> Path:
    """The parts of the repository the ledger reads: README, benchmarks/, the package, and the
    install files (the install-size run's code scope)."""
    root = tmp / "repo"
    root.mkdir()
    shutil.copy2(ROOT / "README.md", root / "README.md")
    shutil.copy2(ROOT / "pyproject.toml", root / "pyproject.toml")
    shutil.copytree(ROOT / ".ci", root / ".ci")
    ignore = shutil.ignore_patterns("__pycache__", *_NOT_KEPT)
    shutil.copytree(ROOT / "benchmarks", root / "benchmarks", ignore=ignore)
    shutil.copytree(ROOT / "optuna_recipes", root / "optuna_recipes", ignore=ignore)
    return root


def _check(root: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, str(ROOT / "benchmarks" / "claims.py"), "--check", "--root", str(root)],
        capture_output=True,
        text=True,
        timeout=300,
    )


@pytest.mark.slow
def test_readme_figures_agree_with_the_committed_results() -> None:
    errors, _ = claims.check(ROOT)
    assert errors == []


def test_every_run_of_the_ledger_has_its_results_committed() -> None:
    ledger = claims.load_ledger(ROOT)
    for run in ledger.runs.values():
        folder = ROOT / run.out
        assert (folder / "bench.json").exists(), run.name
        assert (folder / "report.md").read_text().count("```bash") >= 1, run.name
        assert (folder / "digest.csv.gz").exists(), run.name


@pytest.mark.slow
def test_a_hand_edited_readme_figure_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    readme = root / "README.md"
    text = readme.read_text()
    match = re.search(r"<!-- claim:(ga-rank-ga-300) -->(.*?)<!-- /claim -->", text)
    assert match is not None
    edited = f"<!-- claim:ga-rank-ga-300 -->{match.group(2)}9<!-- /claim -->"
    readme.write_text(text.replace(match.group(0), edited))

    result = _check(root)
    assert result.returncode == 1
    assert "README.md claim 'ga-rank-ga-300' says" in result.stderr

    # --write puts the figure of the committed results back.
    assert claims.write(root) == ["ga-rank-ga-300"]
    assert _check(root).returncode == 0


@pytest.mark.slow
def test_a_marker_without_a_claim_and_a_claim_without_a_marker_fail(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    readme = root / "README.md"
    readme.write_text(readme.read_text().replace("claim:ga-cases -->", "claim:ga-cases-typo -->"))
    errors, _ = claims.check(root)
    assert any("'ga-cases-typo', which the ledger does not have" in e for e in errors)
    assert any("claim 'ga-cases' has no <!-- claim:ga-cases --> marker" in e for e in errors)


@pytest.mark.slow
def test_a_changed_code_scope_makes_a_recorded_run_stale(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    claims.record(root, ["pruning"], provisional=False)  # stamps the run as a full one
    ledger = claims.load_ledger(root)
    assert ledger.runs["pruning"].provisional is False
    assert ledger.runs["pruning"].code_hash == claims.scope_hash(root, ledger.runs["pruning"])[0]
    assert claims.check(root)[0] == []

    scoped = root / "optuna_recipes" / "pruners" / "_warm_start.py"
    scoped.write_text(scoped.read_text() + "\n# a change in the pruning run's code scope\n")
    errors, _ = claims.check(root)
    assert any("run 'pruning' is stale" in e for e in errors)
    assert _check(root).returncode == 1


@pytest.mark.slow
def test_a_provisional_run_with_a_changed_scope_is_reported_not_failed(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    ledger = root / "benchmarks" / "claims.toml"
    text = ledger.read_text()
    for name in claims.load_ledger(root).runs:  # every run a small-scale placeholder
        text = claims._set_keys(text, f"runs.{name}", {"provisional": "true"})
    ledger.write_text(text)
    scoped = root / "optuna_recipes" / "bench" / "problems" / "families.py"
    scoped.write_text(scoped.read_text() + "\n# changed\n")
    errors, notes = claims.check(root)
    assert errors == []
    assert any("provisional run 'transfer'" in n for n in notes)


@pytest.mark.slow
def test_a_missing_results_folder_fails_the_check(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    shutil.rmtree(root / "benchmarks" / "results" / "torch-pruning")
    errors, _ = claims.check(root)
    assert any(e.startswith("claim 'torch-median-time'") for e in errors)


def test_the_ledger_refuses_expressions_outside_the_vocabulary(tmp_path: Path) -> None:
    root = _copy(tmp_path)
    ledger = root / "benchmarks" / "claims.toml"
    text = ledger.read_text()
    ledger.write_text(text.replace("value = 'blocks()'", "value = '__import__(\"os\")'", 1))
    with pytest.raises(claims.LedgerError, match="unknown function '__import__'"):
        claims.load_ledger(root)


def test_set_keys_rewrites_only_its_table() -> None:
    text = '[runs.a]\nout = "x"\ncommit = "old"\n\n[runs.b]\nout = "y"\n'
    new = claims._set_keys(text, "runs.a", {"commit": '"new"', "code_hash": '"h"'})
    assert new == '[runs.a]\nout = "x"\ncommit = "new"\ncode_hash = "h"\n\n[runs.b]\nout = "y"\n'


def test_set_keys_adds_missing_keys_above_the_next_tables_heading_comment() -> None:
    text = '[runs.a]\nout = "x"\n\n# ---- figures ----\n[[claims]]\nid = "c"\n'
    new = claims._set_keys(text, "runs.a", {"commit": '"new"'})
    assert (
        new == '[runs.a]\nout = "x"\ncommit = "new"\n\n# ---- figures ----\n[[claims]]\nid = "c"\n'
    )


def test_recorded_folders_keep_no_per_run_resume_records(tmp_path: Path) -> None:
    from optuna_recipes.bench import outdir

    folder = tmp_path / "run"
    folder.mkdir()
    runs = {f"s:p/random/seed{i}": {"trials": 5, "sha256": "0" * 64} for i in range(3)}
    outdir.write_manifest(folder, {"format": outdir.FORMAT, "state": "complete", "runs": runs})
    claims.compact_manifest(folder)
    claims.compact_manifest(folder)  # a second record keeps the count
    manifest = outdir.read_manifest(folder)
    assert manifest["runs"] == {} and manifest["runs_recorded"] == 3
    for run in claims.load_ledger(ROOT).runs.values():  # what the repository commits
        assert not outdir.read_manifest(ROOT / run.out).get("runs"), run.name


# --rerun on a small ledger of its own: one script run whose code scope is one file.
_TINY = """\
import sys
from pathlib import Path

from optuna_recipes.bench import outdir

out = Path(sys.argv[sys.argv.index("--out") + 1])
out.mkdir(parents=True, exist_ok=True)
marker = out / "made.txt"
marker.write_text(marker.read_text() + "x" if marker.exists() else "x")
outdir.write_manifest(out, {"format": outdir.FORMAT, "state": "complete"})
"""


def _tiny(tmp: Path) -> Path:
    """A repository with one ledger run (`tiny`, code scope `code.txt`), recorded, whose
    committed folder holds `old.txt`."""
    from optuna_recipes.bench import outdir

    root = tmp / "tiny"
    (root / "benchmarks" / "results" / "tiny").mkdir(parents=True)
    (root / "README.md").write_text("No figures.\n")
    (root / "code.txt").write_text("version 1\n")
    (root / "benchmarks" / "tiny.py").write_text(_TINY)
    (root / "benchmarks" / "claims.toml").write_text(
        '[split]\nrule = "test"\n\n[runs.tiny]\n'
        'command = "python benchmarks/tiny.py --out benchmarks/results/tiny"\n'
        'out = "benchmarks/results/tiny"\nsplit = "test"\ncode = ["code.txt"]\nminutes = 1\n'
    )
    old = root / "benchmarks" / "results" / "tiny"
    (old / "old.txt").write_text("committed results\n")
    outdir.write_manifest(old, {"format": outdir.FORMAT, "state": "complete"})
    claims.record(root, ["tiny"], provisional=False)
    assert claims.stale_runs(root, claims.load_ledger(root)) == []
    return root


def _fail(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
    raise AssertionError(f"ran {argv}")


def test_rerun_stale_runs_the_changed_runs_command_and_records_it(tmp_path: Path) -> None:
    root = _tiny(tmp_path)
    assert claims.rerun(root, ["stale"], execute=_fail) == []  # nothing changed: nothing runs

    (root / "code.txt").write_text("version 2\n")
    assert claims.rerun(root, ["stale"], dry_run=True, execute=_fail) == ["tiny"]
    assert claims.rerun(root, ["stale"]) == ["tiny"]  # the real command, in a subprocess

    folder = root / "benchmarks" / "results" / "tiny"
    assert (folder / "made.txt").read_text() == "x"  # a fresh folder: the script ran once
    assert not (folder / "old.txt").exists()
    assert not folder.with_name("tiny" + claims.BACKUP_SUFFIX).exists()
    ledger = claims.load_ledger(root)
    assert ledger.runs["tiny"].code_hash == claims.scope_hash(root, ledger.runs["tiny"])[0]
    assert claims.stale_runs(root, ledger) == []


def test_an_interrupted_rerun_keeps_the_committed_results_and_resumes(tmp_path: Path) -> None:
    from optuna_recipes.bench import outdir

    root = _tiny(tmp_path)
    (root / "code.txt").write_text("version 2\n")
    folder = root / "benchmarks" / "results" / "tiny"
    backup = folder.with_name("tiny" + claims.BACKUP_SUFFIX)

    def killed(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        outdir.write_manifest(folder, {"format": outdir.FORMAT, "state": "running"})
        (folder / "partial.txt").write_text("half done\n")
        return subprocess.CompletedProcess(argv, -9)

    with pytest.raises(SystemExit, match="--rerun tiny` resumes it"):
        claims.rerun(root, ["tiny"], execute=killed)
    assert (backup / "old.txt").exists()  # the committed results are kept aside
    assert claims.stale_runs(root, claims.load_ledger(root)) == ["tiny"]  # not recorded

    def resumed(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        assert (folder / "partial.txt").exists()  # the unfinished folder was not wiped
        outdir.write_manifest(folder, {"format": outdir.FORMAT, "state": "complete"})
        return subprocess.CompletedProcess(argv, 0)

    assert claims.rerun(root, ["stale"], execute=resumed) == ["tiny"]
    assert not backup.exists()
    assert claims.stale_runs(root, claims.load_ledger(root)) == []


def test_committed_results_put_back_after_an_interrupted_rerun_are_run_again(
    tmp_path: Path,
) -> None:
    """An interrupted re-run leaves the committed results in the backup; putting them back
    (`git checkout`) must not let the next re-run record them as made by the new code."""
    root = _tiny(tmp_path)
    (root / "code.txt").write_text("version 2\n")
    folder = root / "benchmarks" / "results" / "tiny"
    backup = folder.with_name("tiny" + claims.BACKUP_SUFFIX)
    shutil.copytree(folder, backup)  # what an interrupted re-run leaves, after the put-back
    assert claims.rerun(root, ["stale"]) == ["tiny"]
    assert (folder / "made.txt").read_text() == "x"  # it ran
    assert not (folder / "old.txt").exists() and not backup.exists()
    assert claims.stale_runs(root, claims.load_ledger(root)) == []


def test_a_claim_pooling_a_later_run_waits_for_it_instead_of_stopping_the_rerun(
    tmp_path: Path,
) -> None:
    """A claim that pools a run not made yet (a new run, later in the same re-run) cannot be
    computed after the first run; the re-run goes on, and only what is still missing after
    the last run stops it, with every run recorded."""
    root = _tiny(tmp_path)
    ledger = root / "benchmarks" / "claims.toml"
    later = (
        '\n[runs.later]\ncommand = "python benchmarks/tiny.py --out benchmarks/results/later"\n'
        'out = "benchmarks/results/later"\nsplit = "test"\ncode = ["code.txt"]\nminutes = 1\n'
        '\n[[claims]]\nid = "pooled"\nrun = ["tiny", "later"]\nvalue = "blocks()"\nformat = "d"\n'
    )
    ledger.write_text(ledger.read_text() + later)
    (root / "code.txt").write_text("version 2\n")
    seen: list[str] = []

    def run(argv: list[str], cwd: Path) -> subprocess.CompletedProcess[str]:
        seen.append(argv[-1])
        return subprocess.run(argv, cwd=cwd)

    # The tiny runs write no results, so the pooled figure never exists: the error comes once,
    # after both runs ran and were recorded.
    with pytest.raises(SystemExit, match="claim 'pooled'"):
        claims.rerun(root, ["tiny", "later"], execute=run)
    assert seen == ["benchmarks/results/tiny", "benchmarks/results/later"]
    assert claims.stale_runs(root, claims.load_ledger(root)) == []
    assert not (root / "benchmarks" / "results" / ("tiny" + claims.BACKUP_SUFFIX)).exists()


def test_rerun_refuses_code_that_differs_from_the_commit(tmp_path: Path) -> None:
    root = _tiny(tmp_path)
    git = ["git", "-c", "user.name=t", "-c", "user.email=t@t", "-C", str(root)]
    subprocess.run([*git, "init", "-q"], check=True)
    subprocess.run([*git, "add", "-A"], check=True)
    subprocess.run([*git, "commit", "-q", "-m", "tiny"], check=True)
    (root / "code.txt").write_text("version 2, not committed\n")
    with pytest.raises(SystemExit, match=r"code\.txt\): commit them first"):
        claims.rerun(root, ["stale"], execute=_fail)
