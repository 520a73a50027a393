"""The runner: results, resume after SIGINT / kill -9 / a half-done run, workers, Dask, faults."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
import json
import multiprocessing
import os
from pathlib import Path
import signal
import time

from _bench_helpers import spawn_bench_run
from _bench_helpers import wait_for_gates
import optuna
import pandas as pd
import pytest

from optuna_recipes import _optuna_compat as compat
from optuna_recipes.bench import load_results
from optuna_recipes.bench import run_suite
from optuna_recipes.bench.outdir import OutputFolderError
from optuna_recipes.bench.storage import DONE_ATTR
from optuna_recipes.bench.storage import RunConflictError
from optuna_recipes.bench.storage import batched_writes
from optuna_recipes.bench.storage import open_storage
from optuna_recipes.bench.suite import SuiteError
from optuna_recipes.bench.suite import load_suite

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
SAME = ["state", "value", "best", "regret", "steps"]


# A suite whose `counting` strategy reads two source studies (STRATEGIES: the strategy list).
SOURCES_SUITE = """
[suite]
trials = 4
seeds = 2
source_trials = 5
source_strategy = "random"
strategies = [STRATEGIES]

[strategies.counting]
sampler = "_bench_helpers:SourceCountingSampler"
sampler_needs_sources = true

[[problems]]
name = "parabola"
type = "_bench_helpers:Parabola"
"""


def _source_sizes(out: Path) -> list[int]:
    """The source-study sizes the first `counting` trial saw (seed 1) in the folder ``out``."""
    storage = open_storage(str((out / "studies.journal").resolve()))
    study = optuna.load_study(study_name="tiny:parabola/counting/seed1", storage=storage)
    return study.trials[0].system_attrs["test:source_sizes"]


def _suite(tmp_path: Path, text: str = SUITE, name: str = "tiny") -> str:
    path = tmp_path / f"{name}.toml"
    path.write_text(text)
    return str(path)


def _comparable(df: pd.DataFrame) -> pd.DataFrame:
    return df.sort_values(KEY).reset_index(drop=True)[KEY + SAME]


def test_results_table_and_resume_skips_finished_runs(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    out = tmp_path / "out"
    first = run_suite(suite, out, workers=1, progress=False, report=False)
    df = first.results
    assert len(df) == 2 * 2 * 2 * 6
    assert set(first.runs["status"]) == {"done"}
    assert (df["state"] == "COMPLETE").all()
    for _, run in df.groupby(["problem", "strategy", "seed"]):
        best = run.sort_values("trial")["best"].to_numpy()
        assert (best[1:] <= best[:-1]).all()  # minimize: best so far never gets worse
        assert run["wall_time"].is_monotonic_increasing
    assert (df["regret"] >= 0).all() and (df["sampler_time"] > 0).all()
    assert (df["objective_time"] >= 0).all()
    # The API and the file agree.
    pd.testing.assert_frame_equal(_comparable(load_results(out)), _comparable(df))
    again = run_suite(suite, out, workers=1, progress=False, report=False)
    assert set(again.runs["status"]) == {"skipped"}
    pd.testing.assert_frame_equal(_comparable(again.results), _comparable(df))


def test_a_run_killed_halfway_is_redone_to_the_same_results(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    reference = run_suite(suite, tmp_path / "ref", workers=1, progress=False, report=False)
    out = tmp_path / "out"
    run_suite(suite, out, workers=1, progress=False, report=False)
    # Make one run look like a process died in it: not finished, a trial left RUNNING, and
    # not yet reported to the manifest.
    storage = open_storage(str((out / "studies.journal").resolve()))
    name = "tiny:sphere/tpe/seed1"
    study_id = storage.get_study_id_from_name(name)
    storage.set_study_system_attr(study_id, DONE_ATTR, False)
    storage.create_new_trial(study_id)
    manifest = json.loads((out / "bench.json").read_text())
    del manifest["runs"][name]
    (out / "bench.json").write_text(json.dumps(manifest))
    resumed = run_suite(suite, out, workers=1, progress=False, report=False)
    status = resumed.runs.set_index("study")["status"]
    assert status[name] == "done" and (status.drop(name) == "skipped").all()
    pd.testing.assert_frame_equal(_comparable(resumed.results), _comparable(reference.results))
    assert "RUNNING" not in set(resumed.results["state"])


def _finished_runs(out: Path) -> int:
    journal = out / "studies.journal"
    return journal.read_text().count(DONE_ATTR) if journal.exists() else 0


# SUITE's 8 runs, then 4 runs of a problem whose trial 2 waits until the file RELEASE exists.
GATED = (
    SUITE
    + """
[[problems]]
name = "gate"
type = "_bench_helpers:Gate"
options = { release = "RELEASE", block_at = 2 }
"""
)


def _gated_suite(tmp_path: Path, released: bool) -> tuple[str, Path]:
    release = tmp_path / "release"
    if released:
        release.touch()
    return _suite(tmp_path, GATED.replace("RELEASE", release.as_posix())), release


@pytest.fixture(scope="module")
def uninterrupted(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    tmp = tmp_path_factory.mktemp("reference")
    suite, _ = _gated_suite(tmp, released=True)
    return run_suite(suite, tmp / "ref", workers=1, progress=False, report=False).results


def _children(pid: int) -> list[int]:
    """The processes whose parent is ``pid`` (read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            fields = stat.read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(fields[1]) == pid:
            found.append(int(stat.parent.name))
    return found


def _gone(pids: list[int], timeout: float = 20.0) -> bool:
    """Whether every process of ``pids`` has exited (zombies count as exited) in time."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        alive = []
        for pid in pids:
            try:
                state = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0]
            except OSError:
                continue
            if state != "Z":
                alive.append(pid)
        if not alive:
            return True
        time.sleep(0.2)
    return False


@pytest.mark.slow
@pytest.mark.parametrize("how", ["sigint", "sigterm", "kill9", "kill9-main"])
def test_interrupted_command_resumes_to_the_uninterrupted_results(
    tmp_path: Path, how: str, uninterrupted: pd.DataFrame
) -> None:
    """Both workers wait at the gate (so the other 8 runs are finished and nothing is being
    written) when the signal comes; the command resumed after the release equals a run that
    never stopped. SIGTERM to the main process alone stops like Ctrl-C (exit 143), and no
    worker outlives the main process, even one killed with SIGKILL."""
    suite, release = _gated_suite(tmp_path, released=False)
    out = tmp_path / "out"
    args = [suite, "--out", str(out), "--workers", "2", "--no-progress", "--no-report"]
    proc = spawn_bench_run(args)
    assert proc.stdout is not None
    # Runs are taken in order, one at a time per worker: when both workers print the gate
    # line, each has finished everything it took before.
    wait_for_gates(proc, 2)
    assert proc.poll() is None and _finished_runs(out) == 8
    workers = _children(proc.pid)
    assert len(workers) >= 2
    if how in ("sigint", "sigterm"):  # Ctrl-C reaches the group; SIGTERM only the main process
        if how == "sigint":
            os.killpg(proc.pid, signal.SIGINT)
        else:
            os.kill(proc.pid, signal.SIGTERM)
        _, err = proc.communicate(timeout=60)
        assert proc.returncode == (130 if how == "sigint" else 143), err
        assert "run the same command again to resume" in err
        assert json.loads((out / "bench.json").read_text())["state"] == "interrupted"
    elif how == "kill9":
        os.killpg(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    else:
        os.kill(proc.pid, signal.SIGKILL)
        proc.communicate(timeout=60)
    assert _gone(workers), f"orphaned workers: {workers}"
    assert _finished_runs(out) == 8
    with pytest.raises(OutputFolderError, match="has not finished"):
        load_results(out)
    release.touch()
    proc = spawn_bench_run(args)
    _, err = proc.communicate(timeout=180)
    assert proc.returncode == 0, err
    assert "Resuming: 8 of 12 runs finished earlier." in err
    pd.testing.assert_frame_equal(_comparable(load_results(out)), _comparable(uninterrupted))


@pytest.mark.slow
def test_workers_and_dask_give_the_same_results(tmp_path: Path) -> None:
    from distributed import LocalCluster

    suite = _suite(tmp_path)
    reference = run_suite(suite, tmp_path / "one", workers=1, progress=False, report=False)
    two = run_suite(suite, tmp_path / "two", workers=2, progress=False, report=False)
    pd.testing.assert_frame_equal(_comparable(two.results), _comparable(reference.results))
    with LocalCluster(
        n_workers=2, threads_per_worker=1, processes=False, dashboard_address=None
    ) as cluster:
        via_dask = run_suite(
            suite, tmp_path / "dask", dask=cluster.scheduler_address, progress=False, report=False
        )
    assert set(via_dask.runs["status"]) == {"done"}
    pd.testing.assert_frame_equal(_comparable(via_dask.results), _comparable(reference.results))


@pytest.mark.slow
def test_any_storage_url_works(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'bench.db'}"
    result = run_suite(
        _suite(tmp_path),
        tmp_path / "out",
        storage=url,
        seeds=1,
        trials=2,
        progress=False,
        report=False,
    )
    assert len(result.results) == 2 * 2 * 2
    names = {s.study_name for s in optuna.get_all_study_summaries(url)}
    assert "tiny:parabola/tpe/seed0" in names
    assert not (tmp_path / "out" / "studies.journal").exists()


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_storage(tmp_path: Path) -> None:
    from _storage_kit import isolated_storage
    from conftest import require_server

    require_server("postgresql")
    with isolated_storage("postgresql", str(tmp_path)) as spec:
        result = run_suite(
            _suite(tmp_path),
            tmp_path / "out",
            storage=spec.location,
            seeds=1,
            trials=2,
            workers=1,
            progress=False,
            report=False,
        )
        assert len(result.results) == 2 * 2 * 2


def test_crashing_objective_fails_its_trials_and_the_run_goes_on(tmp_path: Path) -> None:
    text = SUITE + "options = { crash_above = 0.0 }\n"
    result = run_suite(
        _suite(tmp_path, text), tmp_path / "out", workers=1, progress=False, report=False
    )
    parabola = result.results[result.results["problem"] == "parabola"]
    assert set(result.runs["status"]) == {"done"}
    assert (parabola["state"] == "FAIL").any() and (parabola["state"] == "COMPLETE").any()
    assert len(parabola) == 2 * 2 * 6


@pytest.mark.parametrize(
    "sampler, messages",
    [
        # Raises inside sampling: a broken strategy, not a crashing objective.
        ("BrokenSampler", ["sampler bug"]),
        # Wants earlier studies and is named without `sampler_needs_sources`: cannot be built;
        # the message says what to add to the suite.
        ("SourceSampler", ["building the strategy failed", "sampler_needs_sources = true"]),
    ],
)
def test_broken_strategy_is_an_error_run_and_others_finish(
    tmp_path: Path, sampler: str, messages: list[str]
) -> None:
    name = f"_bench_helpers:{sampler}"
    text = SUITE.replace('["random", "tpe"]', f'["random", "{name}"]')
    result = run_suite(
        _suite(tmp_path, text), tmp_path / "out", workers=1, progress=False, report=False
    )
    status = result.runs.set_index("strategy")["status"]
    assert set(status["random"]) == {"done"}
    assert set(status[name]) == {"error"}
    found = result.runs["message"].fillna("").str.cat()
    assert all(m in found for m in messages), found
    assert set(result.results["strategy"]) == {"random"}


def test_bench_run_prints_the_first_error_and_exits_1(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The fix for a strategy that cannot be built reaches the terminal, not only runs.csv."""
    from optuna_recipes.cli import main

    text = SUITE.replace('["random", "tpe"]', '["random", "_bench_helpers:SourceSampler"]')
    args = ["bench", "run", _suite(tmp_path, text), "--out", str(tmp_path / "out")]
    assert main([*args, "--workers", "1", "--no-progress", "--no-report"]) == 1
    err = capsys.readouterr().err
    assert "run(s) ended with an error (see runs.csv); the first, " in err
    assert "sampler_needs_sources = true" in err


def test_source_studies_are_made_once_and_handed_over(tmp_path: Path) -> None:
    suite = _suite(tmp_path, SOURCES_SUITE.replace("STRATEGIES", '"random", "counting"'))
    runs = load_suite(suite).runs()
    assert [r.role for r in runs[:2]] == ["source", "source"]
    out = tmp_path / "out"
    result = run_suite(suite, out, workers=1, progress=False, report=False)
    assert set(result.results["role"]) == {"target"}
    storage = open_storage(str((out / "studies.journal").resolve()))
    assert _source_sizes(out) == [5, 5]
    assert len(optuna.get_all_study_names(storage)) == 2 + 2 * 2
    # --trials (as documented in the CLI's help) sets the source studies' trials too.
    assert {r.n_trials for r in load_suite(suite).runs(trials=3)} == {3}


def test_only_runs_some_strategies_with_their_sources_and_the_same_results(
    tmp_path: Path,
) -> None:
    text = (
        SOURCES_SUITE.replace("STRATEGIES", '"random", "tpe", "counting"')
        + """
[[problems]]
name = "sphere"
type = "mixed"
group = "other"
strategies = ["random"]
options = { function = "sphere", n_float = 2, n_int = 1, n_cat = 1 }
"""
    )
    suite = _suite(tmp_path, text)
    full = run_suite(suite, tmp_path / "full", workers=1, progress=False, report=False).results
    part = run_suite(
        suite, tmp_path / "part", workers=1, progress=False, report=False, only=["counting", "tpe"]
    ).results
    # Only the named strategies, in every group that has them (group "other" has neither).
    assert set(part["strategy"]) == {"tpe", "counting"}
    assert set(part["problem"]) == {"parabola"}
    # The same runs as in the full suite, source studies included.
    mine = full[full["strategy"].isin(["tpe", "counting"])]
    pd.testing.assert_frame_equal(
        _comparable(part).drop(columns="steps"), _comparable(mine).drop(columns="steps")
    )
    assert _source_sizes(tmp_path / "part") == [5, 5]
    # The folder remembers it: the command reproduces it, another --only is another benchmark.
    manifest = json.loads((tmp_path / "part" / "bench.json").read_text())
    assert "--only counting,tpe" in manifest["command"]
    with pytest.raises(OutputFolderError, match="only"):
        run_suite(suite, tmp_path / "part", workers=1, progress=False, only=["tpe"])
    with pytest.raises(SuiteError, match=r"--only ga: not a strategy .* has random, tpe"):
        run_suite(suite, tmp_path / "bad", progress=False, only=["ga"])


def test_first_seed_replicates_on_fresh_seeds_with_the_same_runs(tmp_path: Path) -> None:
    from optuna_recipes.cli import main

    text = SOURCES_SUITE.replace("STRATEGIES", '"random", "counting"')
    suite = _suite(tmp_path, text)
    full = run_suite(suite, tmp_path / "full", seeds=3, workers=1, progress=False).results
    part = run_suite(
        suite, tmp_path / "part", seeds=2, first_seed=1, workers=1, progress=False
    ).results
    assert sorted(set(part["seed"])) == [1, 2]
    # Seeds 1 and 2 are those of the full run; the source studies are the same ones.
    pd.testing.assert_frame_equal(
        _comparable(part).drop(columns="steps"),
        _comparable(full[full["seed"] >= 1]).drop(columns="steps"),
    )
    assert _source_sizes(tmp_path / "part") == [5, 5]
    assert (tmp_path / "part" / "report.md").exists()
    manifest = json.loads((tmp_path / "part" / "bench.json").read_text())
    assert "--seeds 2 --first-seed 1" in manifest["command"]
    with pytest.raises(OutputFolderError, match="first_seed"):
        run_suite(suite, tmp_path / "part", seeds=2, first_seed=0, workers=1, progress=False)
    # The suite key does the same; the command line overrides it.
    keyed = _suite(tmp_path, text.replace("seeds = 2", "seeds = 2\nfirst_seed = 1"), "k")
    assert [r.seed for r in load_suite(keyed).runs(only=["random"])] == [1, 2]
    assert [r.seed for r in load_suite(keyed).runs(only=["random"], first_seed=4)] == [4, 5]
    bad = _suite(tmp_path, text.replace("seeds = 2", "seeds = 2\nfirst_seed = -1"), "b")
    with pytest.raises(SuiteError, match=r"line 5: `first_seed` must be an int >= 0; got -1"):
        load_suite(bad)
    args = ["bench", "run", suite, "--out", str(tmp_path / "cli"), "--first-seed", "-2"]
    with pytest.raises(SystemExit):
        main(args)
    with pytest.raises(ValueError, match="first_seed"):
        run_suite(suite, tmp_path / "neg", first_seed=-1, progress=False)


@pytest.mark.slow
def test_output_folder_is_never_silently_reused(tmp_path: Path) -> None:
    suite = _suite(tmp_path)
    foreign = tmp_path / "foreign"
    foreign.mkdir()
    (foreign / "notes.txt").write_text("mine")
    with pytest.raises(OutputFolderError, match="not a benchmark output folder"):
        run_suite(suite, foreign, progress=False, report=False)
    out = tmp_path / "out"
    run_suite(suite, out, seeds=1, trials=2, progress=False, report=False)
    with pytest.raises(OutputFolderError, match=r"other settings \(trials: 2 there, 3 now"):
        run_suite(suite, out, seeds=1, trials=3, progress=False, report=False)
    (tmp_path / "tiny.toml").write_text(SUITE.replace("seeds = 2", "seeds = 4"))
    with pytest.raises(OutputFolderError, match="the suite file changed"):
        run_suite(suite, out, seeds=1, trials=2, progress=False, report=False)


def test_a_study_with_other_settings_in_a_shared_storage_is_refused(tmp_path: Path) -> None:
    url = f"sqlite:///{tmp_path / 'shared.db'}"
    suite = _suite(tmp_path)
    kw = {"storage": url, "seeds": 1, "strategies": ["random"], "workers": 1, "progress": False}
    run_suite(suite, tmp_path / "a", trials=1, report=False, **kw)
    with pytest.raises(RunConflictError, match="other settings"):
        run_suite(suite, tmp_path / "b", trials=2, report=False, **kw)


@pytest.mark.slow
def test_damaged_results_file_is_reported(tmp_path: Path) -> None:
    out = tmp_path / "out"
    run_suite(_suite(tmp_path), out, seeds=1, trials=2, progress=False, report=False)
    lines = (out / "results.csv").read_text().splitlines()
    (out / "results.csv").write_text("\n".join(lines[:-2]) + "\n")
    with pytest.raises(OutputFolderError, match=r"results.csv was changed.*checksum differs"):
        load_results(out)
    (out / "bench.json").write_text('{"format": 1, "settings": {')
    with pytest.raises(OutputFolderError, match="damaged"):
        load_results(out)


@pytest.mark.slow
def test_a_finished_folder_without_its_results_file_says_so(tmp_path: Path) -> None:
    """A recorded folder keeps the digest and the report, not results.csv: the error says that
    the benchmark finished and how to make the table again, not that it has not finished."""
    out = tmp_path / "out"
    run_suite(_suite(tmp_path), out, seeds=1, trials=2, progress=False, report=False)
    (out / "results.csv").unlink()
    with pytest.raises(OutputFolderError) as err:
        load_results(out)
    message = str(err.value)
    assert "finished, but its per-trial results (results.csv) are not in the folder" in message
    assert "has not finished" not in message and "with another `--out` folder" in message


def _write_studies(url: str, prefix: str, n_studies: int = 4, n_trials: int = 30) -> None:
    """Write finished studies the way the runner does: one batch per study."""
    storage = open_storage(url)
    dist = optuna.distributions.IntDistribution(0, 1000)
    for i in range(n_studies):
        with batched_writes(url):
            study = optuna.create_study(storage=storage, study_name=f"{prefix}-{i}")
            study.add_trials(
                [
                    optuna.trial.create_trial(
                        value=float(k), params={"x": k}, distributions={"x": dist}
                    )
                    for k in range(n_trials)
                ]
            )
            storage.set_study_system_attr(compat.study_id_of(study), DONE_ATTR, True)


def test_batched_journal_writes_from_threads_and_processes(tmp_path: Path) -> None:
    url = str(tmp_path / "studies.journal")
    ctx = multiprocessing.get_context("fork")
    procs = [ctx.Process(target=_write_studies, args=(url, f"p{k}")) for k in range(2)]
    for proc in procs:
        proc.start()
    with ThreadPoolExecutor(max_workers=3) as pool:
        list(pool.map(lambda k: _write_studies(url, f"t{k}"), range(3)))
    for proc in procs:
        proc.join(timeout=120)
        assert proc.exitcode == 0
    # Read back with Optuna's own backend, from scratch.
    reader = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(url))
    summaries = optuna.get_all_study_summaries(reader)
    assert sorted(s.study_name for s in summaries) == sorted(
        f"{p}-{i}" for p in ("p0", "p1", "t0", "t1", "t2") for i in range(4)
    )
    for summary in summaries:
        study = optuna.load_study(study_name=summary.study_name, storage=reader)
        assert [t.value for t in study.trials] == [float(k) for k in range(30)]
        assert [t.params["x"] for t in study.trials] == list(range(30))
        assert reader.get_study_system_attrs(compat.study_id_of(study))[DONE_ATTR] is True
    # The writers' own cached views agree with the file.
    assert len(optuna.get_all_study_summaries(open_storage(url))) == 20


def test_a_batch_interrupted_by_an_error_leaves_a_valid_journal(tmp_path: Path) -> None:
    url = str(tmp_path / "studies.journal")
    storage = open_storage(url)
    with pytest.raises(RuntimeError, match="boom"):
        with batched_writes(url):
            study = optuna.create_study(storage=storage, study_name="half")
            study.add_trials([optuna.trial.create_trial(value=1.0)])
            raise RuntimeError("boom")
    _write_studies(url, "after", n_studies=1, n_trials=3)
    reader = optuna.storages.JournalStorage(optuna.storages.journal.JournalFileBackend(url))
    half = optuna.load_study(study_name="half", storage=reader)
    assert len(half.trials) == 1
    assert DONE_ATTR not in reader.get_study_system_attrs(compat.study_id_of(half))
    assert len(optuna.load_study(study_name="after-0", storage=reader).trials) == 3


def test_names_that_moved_out_of_the_runner_still_import_with_a_warning() -> None:
    import importlib

    from optuna_recipes.bench import runner

    for old, (new, module) in runner._MOVED.items():
        with pytest.warns(DeprecationWarning, match=rf"moved to `{module}\.{new}`"):
            value = getattr(runner, old)
        assert value is getattr(importlib.import_module(module), new)
    with pytest.raises(AttributeError, match="no attribute 'nope'"):
        runner.nope  # noqa: B018
