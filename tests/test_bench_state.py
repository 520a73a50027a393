"""State integrity of a benchmark folder (issue 26, findings 3 and 5): a journal cut by a crash is
repaired, any other damage to the journal or to results.csv is named with the file and the fix
(exit 2, never other results), and one folder runs one benchmark at a time."""

from __future__ import annotations

import json
import os
from pathlib import Path
import time

from _bench_helpers import spawn_bench_run
from _bench_helpers import wait_for_gates
import optuna
import pandas as pd
import pytest

from optuna_recipes.bench import load_results
from optuna_recipes.bench.integrity import StateDamagedError
from optuna_recipes.bench.resume import _difference
from optuna_recipes.bench.storage import DONE_ATTR
from optuna_recipes.bench.storage import batched_writes
from optuna_recipes.bench.storage import open_storage
from optuna_recipes.cli import main

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

SUITE = """
[suite]
trials = 6
seeds = 2
strategies = ["random", "tpe"]

[[problems]]
name = "sphere"
type = "mixed"
options = { function = "sphere", n_float = 2, n_int = 1, n_cat = 1 }

[[problems]]
name = "parabola"
type = "_bench_helpers:Parabola"
"""
KEY = ["problem", "strategy", "seed", "trial"]


def _bench(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str]:
    rc = main(["bench", *args])
    return rc, capsys.readouterr().err


@pytest.fixture
def finished(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> tuple[list[str], Path]:
    """A finished benchmark folder (default journal storage) and the command that made it."""
    suite = tmp_path / "tiny.toml"
    suite.write_text(SUITE)
    out = tmp_path / "out"
    args = ["run", str(suite), "--out", str(out), "--workers", "1", "--no-progress"]
    rc, err = _bench(capsys, *args, "--no-report")
    assert rc == 0, err
    return args, out


def _table(out: Path) -> pd.DataFrame:
    return pd.read_csv(out / "results.csv").sort_values(KEY).reset_index(drop=True)


@pytest.mark.slow
def test_a_torn_last_line_is_repaired_with_a_notice(
    finished: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args, out = finished
    before = _table(out)
    journal = out / "studies.journal"
    with open(journal, "ab") as f:  # what a process killed in the middle of a write leaves
        f.write(b'{"op_code":4,"worker_id":"w-1","study_id":3,"datetime_st')
    rc, err = _bench(capsys, *args)
    assert rc == 0, err
    notices = [line for line in err.splitlines() if "Repaired" in line]
    assert len(notices) == 1 and str(journal) in notices[0] and "incomplete last line" in err
    assert journal.read_bytes().endswith(b"\n")
    pd.testing.assert_frame_equal(_table(out), before)
    rc, err = _bench(capsys, *args)  # and it stays healthy
    assert rc == 0 and "Repaired" not in err and "Resuming: 8 of 8" in err


def test_a_writer_cuts_a_torn_line_left_by_a_killed_writer(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    url = str(tmp_path / "studies.journal")
    storage = open_storage(url)
    with batched_writes(url):
        optuna.create_study(storage=storage, study_name="a")
    with open(url, "ab") as f:
        f.write(b'{"op_code":0,"worker_id"')
    with batched_writes(url):
        optuna.create_study(storage=storage, study_name="b")
    assert "Repaired" in capsys.readouterr().err
    reader = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(url))
    assert sorted(optuna.get_all_study_names(reader)) == ["a", "b"]


def test_lines_deleted_from_the_journal_stop_the_resume_and_the_report(
    finished: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """The finding: 10 lines deleted from the middle gave rc 0, "Resuming: 136 of 136", fewer
    rows and changed values."""
    args, out = finished
    results = (out / "results.csv").read_bytes()
    journal = out / "studies.journal"
    lines = journal.read_bytes().splitlines(keepends=True)
    middle = len(lines) // 2
    journal.write_bytes(b"".join(lines[: middle - 5] + lines[middle + 5 :]))
    rc, err = _bench(capsys, *args)
    assert rc == 2, err
    assert str(journal) in err and "new --out folder" in err and err.count("\n") == 1
    assert "lost or changed" in err or "is damaged" in err
    assert (out / "results.csv").read_bytes() == results  # nothing rewritten
    rc, err = _bench(capsys, "report", str(out))
    assert rc == 2 and str(journal) in err


def test_a_finished_run_changed_in_the_storage_is_named(
    finished: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args, out = finished
    storage = open_storage(str((out / "studies.journal").resolve()))
    study_id = storage.get_study_id_from_name("tiny:sphere/tpe/seed1")
    storage.set_study_system_attr(study_id, DONE_ATTR, True)  # as if an older version wrote it
    storage.create_new_trial(
        study_id, optuna.trial.create_trial(value=0.0, state=optuna.trial.TrialState.COMPLETE)
    )
    rc, err = _bench(capsys, *args)
    assert rc == 2 and "tiny:sphere/tpe/seed1 (7 trials, 6 were written)" in err, err


def test_a_damaged_line_in_the_middle_is_named_with_its_number(
    finished: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    """What a torn line followed by more writes looked like before the repair existed: every
    later run failed with a bare JSON error naming no file."""
    args, out = finished
    journal = out / "studies.journal"
    n_lines = len(journal.read_bytes().splitlines())
    with open(journal, "ab") as f:
        f.write(b'{"op_code":4,"worker_id"')
        f.write(b'{"op_code":0,"worker_id":"w","study_name":"x","directions":[1]}\n')
        f.write(b'{"op_code":0,"worker_id":"w","study_name":"y","directions":[1]}\n')
    rc, err = _bench(capsys, *args)
    assert rc == 2 and f"{journal} is damaged (line {n_lines + 1}: not valid JSON" in err, err
    assert "Restore" in err and "new --out folder" in err


@pytest.mark.slow
def test_an_edited_value_in_results_csv_is_refused_until_rewritten(
    finished: tuple[list[str], Path], capsys: pytest.CaptureFixture[str]
) -> None:
    args, out = finished
    original = (out / "results.csv").read_text()
    df = pd.read_csv(out / "results.csv")
    df.loc[3, "value"] = df.loc[3, "value"] / 2  # one value, same number of rows
    df.to_csv(out / "results.csv", index=False)
    with pytest.raises(StateDamagedError, match=r"results.csv was changed.*checksum"):
        load_results(out)
    rc, err = _bench(capsys, "report", str(out))
    assert rc == 2 and "results.csv was changed" in err and "Run `python -m optuna_recipes" in err
    rc, err = _bench(capsys, *args)  # the fix the message gives: the storage rewrites it
    assert rc == 0, err
    assert (out / "results.csv").read_text() == original


@pytest.mark.slow
def test_a_second_run_on_the_same_folder_exits_at_once(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The finding: two concurrent runs on one folder both failed with DuplicatedStudyError."""
    release = tmp_path / "release"
    suite = tmp_path / "gated.toml"
    suite.write_text(
        SUITE + f'\n[[problems]]\nname = "gate"\ntype = "_bench_helpers:Gate"\n'
        f'options = {{ release = "{release.as_posix()}", block_at = 1 }}\n'
    )
    out = tmp_path / "out"
    args = [str(suite), "--out", str(out), "--workers", "1", "--no-progress", "--no-report"]
    first = spawn_bench_run(args)
    assert first.stdout is not None
    wait_for_gates(first, 1)
    start = time.monotonic()
    rc, err = _bench(capsys, "run", *args)
    assert rc == 2 and time.monotonic() - start < 30
    assert f"is in use by another benchmark run (pid {first.pid} on" in err, err
    release.touch()
    _, first_err = first.communicate(timeout=300)
    assert first.returncode == 0, first_err
    assert "DuplicatedStudyError" not in first_err
    assert json.loads((out / "bench.json").read_text())["state"] == "complete"
    assert len(load_results(out)) == 3 * 2 * 2 * 6


def test_a_lock_file_left_by_a_dead_process_does_not_block(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    suite = tmp_path / "tiny.toml"
    suite.write_text(SUITE)
    out = tmp_path / "out"
    out.mkdir()
    (out / "bench.lock").write_text("pid 999999 on a-dead-host, since 2026-01-01T00:00:00\n")
    args = ["run", str(suite), "--out", str(out), "--seeds", "1", "--trials", "2"]
    rc, err = _bench(capsys, *args, "--workers", "1", "--no-progress", "--no-report")
    assert rc == 0, err
    assert f"pid {os.getpid()}" in (out / "bench.lock").read_text()


def test_resume_mismatch_message_names_the_written_trial_counts() -> None:
    assert _difference({"trials": 7}, [{"trials": 6}]) == "7 trials, 6 were written"
    # A record without a trial count, beside one with: no TypeError from sorting None.
    assert _difference({"trials": 7}, [{"trials": 10}, {}, {"trials": 6}]) == (
        "7 trials, 6 or 10 were written"
    )
    assert (
        _difference({"trials": 7}, [{}]) == "7 trials, a different number of trials were written"
    )
    assert _difference({"trials": 6}, [{"trials": 6}]) == "its trials differ from what was written"
