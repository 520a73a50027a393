"""Storage URLs of the harness (issue 26, findings 1 and 2): drivers, identity, one-line errors,
the PostgreSQL path end to end, and passwords never printed or written."""

from __future__ import annotations

import os
from pathlib import Path
import shutil
import subprocess
import sys

import pytest

from optuna_recipes import _storage_urls as urls
from optuna_recipes._redact import redact
from optuna_recipes._storage_urls import normalize_url
from optuna_recipes._storage_urls import storage_identity
from optuna_recipes.cli import main

ROOT = Path(__file__).resolve().parents[1]
TESTS = Path(__file__).resolve().parent

SUITE = """
[suite]
trials = 3
seeds = 1
strategies = ["random", "tpe"]

[[problems]]
name = "sphere"
type = "mixed"
options = { function = "sphere", n_float = 2, n_int = 1, n_cat = 1 }

[[problems]]
name = "parabola"
type = "_bench_helpers:Parabola"
"""


def _suite(tmp_path: Path) -> str:
    path = tmp_path / "tiny.toml"
    path.write_text(SUITE)
    return str(path)


def _bench(capsys: pytest.CaptureFixture[str], *args: str) -> tuple[int, str, str]:
    rc = main(["bench", "run", *args, "--workers", "1", "--no-progress", "--no-report"])
    captured = capsys.readouterr()
    return rc, captured.out, captured.err


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("postgresql://bench:s3cret@db:5432/hpo", "postgresql://bench:***@db:5432/hpo"),
        ("postgresql+psycopg2://:s3cret@db/hpo", "postgresql+psycopg2://:***@db/hpo"),
        ("mysql://u@h/db?password=s3cret&x=1", "mysql://u@h/db?password=***&x=1"),
        ("redis://:s3cret@cache:6379/0", "redis://:***@cache:6379/0"),
        ("rediss://user:s3cret@cache", "rediss://user:***@cache"),
        ("url?token=s3cret;api_key=s3cret", "url?token=***;api_key=***"),
        ("host=h password='s 3cret' dbname=d", "host=h password='***' dbname=d"),
        ("sqlite:///a/b.db and bench-out/studies.journal", None),
        ("postgresql://postgres@127.0.0.1:5432/test", None),
    ],
)
def test_redact_hides_passwords_and_tokens(text: str, expected: str | None) -> None:
    assert redact(text) == (text if expected is None else expected)
    assert "s3cret" not in redact(text) and "3cret" not in redact(text)


def test_postgresql_url_gets_an_installed_driver(monkeypatch: pytest.MonkeyPatch) -> None:
    url = "postgresql://u:p@h:5432/db"
    installed = {"psycopg": True, "psycopg2": True, "pg8000": False}
    monkeypatch.setattr(urls, "_installed", lambda module: installed.get(module, False))
    assert normalize_url(url) == url  # SQLAlchemy's default driver (psycopg 3) is there
    installed["psycopg"] = False  # only psycopg2: the finding's fresh install before the fix
    assert normalize_url(url) == "postgresql+psycopg2://u:p@h:5432/db"
    assert normalize_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    installed["psycopg2"] = False  # none: left as is, opening it says what to install
    assert normalize_url(url) == url
    for other in ("sqlite:///x.db", "redis://h:6379", "bench-out/studies.journal"):
        assert normalize_url(other) == other


def test_storage_identity_ignores_driver_credentials_and_options(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    same = [
        "postgresql://postgres@127.0.0.1:5432/hpo",
        "postgresql+psycopg2://postgres:pw@localhost/hpo?sslmode=disable",
        "postgresql+psycopg://other:pw2@127.0.0.1:5432/hpo",
    ]
    assert len({storage_identity(u) for u in same}) == 1
    assert storage_identity("postgresql://h/hpo") != storage_identity("postgresql://h/other")
    assert storage_identity("postgresql://h/hpo") != storage_identity("postgresql://h:5433/hpo")
    assert storage_identity("redis://:pw@h:6379/0") == storage_identity("redis://h")
    # A backend without a known default port keeps an empty one, and only an explicit one.
    assert storage_identity("oracle://u:p@h/db") == "oracle://h:/db"
    assert storage_identity("oracle://u@h:1521/db") == "oracle://h:1521/db"
    monkeypatch.chdir(tmp_path)
    assert storage_identity("a.journal") == storage_identity(str(tmp_path / "a.journal"))
    assert storage_identity("sqlite:///a.db") == storage_identity(f"sqlite:///{tmp_path}/a.db")
    assert storage_identity(None) == storage_identity("")
    assert "pw" not in storage_identity("postgresql://u:pw@h/db")


@pytest.mark.parametrize(
    ("url", "says"),
    [
        ("postgresql+pg8000://postgres@127.0.0.1:5432/test", "pip install pg8000"),
        ("mysql://root:s3cret@127.0.0.1/x", "pip install mysqlclient"),
        ("postgresql://postgres:s3cret@127.0.0.1:1/test", "Start the server"),
        ("redis://:s3cret@127.0.0.1:1/0", "Start the server"),
    ],
)
def test_storage_failures_are_one_line_with_the_fix(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], url: str, says: str
) -> None:
    out = tmp_path / "out"
    rc, _, err = _bench(capsys, _suite(tmp_path), "--out", str(out), "--storage", url)
    assert rc == 2
    assert err.startswith("error: cannot open the storage ") and err.count("\n") == 1, err
    assert says in err and "s3cret" not in err
    # Nothing was written but the lock: the folder is new for the corrected command.
    assert [p.name for p in out.iterdir()] == ["bench.lock"]


@pytest.mark.slow
@pytest.mark.postgres
def test_postgresql_harness_path_resumes_with_a_corrected_url_and_a_moved_folder(
    tmp_path: Path, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    """`bench run` on the real server (127.0.0.1:5432, trust auth): a missing database fails in
    one line and leaves the folder usable; the corrected plain ``postgresql://`` URL works; the
    folder, moved and given by a relative path with another spelling of the same storage,
    resumes."""
    from _storage_kit import isolated_storage
    from conftest import require_server

    require_server("postgresql")
    suite = _suite(tmp_path)
    out = tmp_path / "out"
    with isolated_storage("postgresql", str(tmp_path)) as spec:
        db = spec.location.split("/")[-1].split("?")[0]
        plain = f"postgresql://postgres@127.0.0.1:5432/{db}"
        rc, _, err = _bench(capsys, suite, "--out", str(out), "--storage", plain + "_missing")
        assert rc == 2 and "does not exist" in err and "createdb" in err, err
        assert err.count("\n") == 1
        rc, _, err = _bench(capsys, suite, "--out", str(out), "--storage", plain)
        assert rc == 0, err
        moved = tmp_path / "elsewhere" / "moved"
        moved.parent.mkdir()
        shutil.move(str(out), str(moved))
        monkeypatch.chdir(moved.parent)
        other = f"postgresql+psycopg2://postgres:any@localhost/{db}?sslmode=disable"
        rc, _, err = _bench(capsys, suite, "--out", "moved", "--storage", other)
        assert rc == 0, err
        assert "Resuming: 4 of 4 runs finished earlier." in err
        # Another database is another storage: its runs are not there, say so.
        rc, _, err = _bench(capsys, suite, "--out", "moved", "--storage", plain[:-3] + "tst")
        assert rc == 2 and "holds 4 runs finished in the storage" in err


@pytest.mark.slow
@pytest.mark.postgres
def test_no_password_in_any_output_file_or_stream(tmp_path: Path) -> None:
    """A benchmark run on a URL with a password (trust auth ignores it) and a secret query
    option, its report, and a failing run on the same credentials: the secrets appear nowhere."""
    from _storage_kit import isolated_storage
    from conftest import require_server

    require_server("postgresql")
    secret, token = "S3cretPW", "S3cretTok"
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(ROOT), str(TESTS)])}
    streams = []
    with isolated_storage("postgresql", str(tmp_path)) as spec:
        db = spec.location.split("/")[-1].split("?")[0]
        url = f"postgresql://postgres:{secret}@127.0.0.1:5432/{db}?sslpassword={token}"
        run = ["bench", "run", _suite(tmp_path), "--no-progress", "--storage"]
        commands = [
            [*run, url, "--out", str(out)],
            ["bench", "report", str(out)],
            [*run, url.replace(":5432/", ":1/"), "--out", str(tmp_path / "refused")],
            [*run, url.replace(db, db + "_nope"), "--out", str(tmp_path / "missing")],
        ]
        for args in commands:
            proc = subprocess.run(
                [sys.executable, "-m", "optuna_recipes", *args],
                capture_output=True,
                text=True,
                env=env,
                cwd=tmp_path,
                timeout=300,
            )
            streams += [proc.stdout, proc.stderr]
            assert proc.returncode == (0 if len(streams) <= 4 else 2), proc.stderr
    assert "postgres:***@127.0.0.1:1/" in streams[5] and "sslpassword=***" in streams[7]
    files = [p for p in tmp_path.rglob("*") if p.is_file()]
    assert {"bench.json", "report.md", "runs.csv", "results.csv"} <= {p.name for p in files}
    for path in files:
        data = path.read_bytes()
        assert secret.encode() not in data and token.encode() not in data, path
    for text in streams:
        assert secret not in text and token not in text, text
    assert f"postgres:***@127.0.0.1:5432/{db}" in (out / "report.md").read_text()
