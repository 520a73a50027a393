"""The retraining workflow: create_warm_started_study, load_warm_started_study, the CLI."""

from __future__ import annotations

import functools
import importlib
from pathlib import Path
import sys

import optuna
import pytest

import optuna_recipes
from optuna_recipes.cli import main
from optuna_recipes.pruners import WarmStartPruner
from optuna_recipes.samplers import WarmStartSampler


def _objective(trial: optuna.Trial, shift: float) -> float:
    x = trial.suggest_float("x", -5, 5)
    for step in range(3):
        trial.report((x - shift) ** 2 + 1.0 / (step + 1), step)
    return (x - shift) ** 2


@pytest.fixture
def url(tmp_path: Path) -> str:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    for seed, (month, shift) in enumerate((("2026-09", 1.0), ("2026-10", 1.1))):
        sampler = optuna.samplers.TPESampler(seed=seed)
        name = f"churn-model-{month}"
        study = optuna.create_study(study_name=name, storage=url, sampler=sampler)
        study.optimize(functools.partial(_objective, shift=shift), n_trials=15)
    optuna.create_study(study_name="unrelated", storage=url)
    return url


@pytest.mark.slow
def test_create_then_load_from_another_worker(url: str) -> None:
    study = optuna_recipes.create_warm_started_study(
        url, "churn-model-2026-11", source_pattern="churn-model-*", seed=0
    )
    assert isinstance(study.sampler, WarmStartSampler)
    assert isinstance(study.pruner, WarmStartPruner)
    names = ["churn-model-2026-09", "churn-model-2026-10"]
    assert [s.name for s in study.sampler.sources] == names
    study.optimize(lambda t: _objective(t, 1.2), n_trials=5)
    worker = optuna_recipes.load_warm_started_study(url, "churn-model-2026-11", seed=1)
    assert [s.name for s in worker.sampler.sources] == [  # type: ignore[attr-defined]
        "churn-model-2026-09",
        "churn-model-2026-10",
    ]
    worker.optimize(lambda t: _objective(t, 1.2), n_trials=5)
    assert len(worker.trials) == 10
    # Reopening reuses the recorded sources; the new study never becomes its own source.
    again = optuna_recipes.create_warm_started_study(
        url, "churn-model-2026-11", load_if_exists=True
    )
    assert len(again.sampler.sources) == 2  # type: ignore[attr-defined]
    # The warm start lands near x = 1.1: over source seeds 0-39 (20 pairs) the best of the
    # first 3 trials was 0.0-0.14, median 0.025.
    assert min(t.value for t in again.trials[:3]) < 0.5


@pytest.mark.slow
def test_errors(url: str) -> None:
    with pytest.raises(ValueError, match="`source_names` or `source_pattern`"):
        optuna_recipes.create_warm_started_study(url, "new")
    with pytest.raises(ValueError, match="`direction` must be"):
        optuna_recipes.create_warm_started_study(url, "new", source_pattern="c*", direction="up")
    with pytest.raises(ValueError, match="no recorded warm-start sources"):
        optuna_recipes.load_warm_started_study(url, "unrelated")
    with pytest.raises(ValueError, match="matches the pattern"):
        optuna_recipes.create_warm_started_study(url, "new", source_pattern="nothing-*")


@pytest.mark.slow
def test_cli_creates_the_study_and_says_what_it_did(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["warmstart", "--storage", url, "--study", "churn-model-2026-11"]
    assert main([*argv, "--from", "churn-model-*", "--direction", "minimize"]) == 0
    out = capsys.readouterr().out
    assert "from 2 source studies" in out
    assert "churn-model-2026-09: 15 complete trials, minimize" in out
    assert "load_warm_started_study" in out
    assert optuna.load_study(study_name="churn-model-2026-11", storage=url).user_attrs
    # Creating it twice fails clearly unless --load-if-exists.
    assert main([*argv, "--from", "churn-model-*"]) == 2
    assert "already exists" in capsys.readouterr().err
    assert main([*argv, "--sources", "churn-model-2026-10", "--load-if-exists"]) == 0
    assert main([*argv, "--sources", "nope"]) == 2
    assert "No study named 'nope'" in capsys.readouterr().err


def test_public_names_live_in_warm_start_and_at_the_top_level() -> None:
    from optuna_recipes import warm_start

    for name in warm_start.__all__:
        assert getattr(warm_start, name) is getattr(
            importlib.import_module(f"optuna_recipes.warm_start.{_HOME[name]}"), name
        )
    for name in ("SourceStudy", "load_sources", "create_warm_started_study", "transfer_report"):
        assert getattr(optuna_recipes, name) is getattr(warm_start, name)


_HOME = {
    "SourceStudy": "_sources",
    "as_sources": "_sources",
    "load_sources": "_sources",
    "create_warm_started_study": "_workflow",
    "load_warm_started_study": "_workflow",
    "TransferReport": "_report",
    "transfer_report": "_report",
}


@pytest.mark.parametrize(
    ("old", "name"),
    [
        ("optuna_recipes._sources", "load_sources"),
        ("optuna_recipes._workflow", "create_warm_started_study"),
        ("optuna_recipes._warmstart_cli", "run"),
        ("optuna_recipes.samplers._warm_start_core", "build_density_ratio"),
        ("optuna_recipes.samplers._warm_start_gp", "fit_transfer_gp"),
    ],
)
def test_old_module_paths_still_import_with_a_deprecation_warning(old: str, name: str) -> None:
    sys.modules.pop(old, None)
    with pytest.warns(DeprecationWarning, match="moved to|split into"):
        module = importlib.import_module(old)
    assert callable(getattr(module, name))


@pytest.mark.slow
def test_cli_without_sources_names_the_options(
    url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    argv = ["warmstart", "--storage", url, "--study", "new"]
    assert main(argv) == 2
    err = capsys.readouterr().err
    assert "--from PATTERN" in err and "--sources NAME" in err
    assert "source_pattern" not in err and "`" not in err
    assert main([*argv, "--load-if-exists"]) == 2
    assert "--from PATTERN" in capsys.readouterr().err


def test_a_missing_sqlite_file_is_never_created(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    path = tmp_path / "typo.db"
    url = f"sqlite:///{path}"
    argv = ["warmstart", "--storage", url, "--study", "new", "--from", "churn-*"]
    assert main(argv) == 2
    assert f"SQLite database '{path}'" in capsys.readouterr().err
    with pytest.raises(ValueError, match="does not exist"):
        optuna_recipes.create_warm_started_study(url, "new", load_if_exists=True)
    with pytest.raises(ValueError, match="does not exist"):
        optuna_recipes.load_warm_started_study(url, "new")
    assert not path.exists()


@pytest.mark.slow
def test_sampler_repr_is_short(url: str) -> None:
    sources = optuna_recipes.load_sources(url, pattern="churn-model-*")
    sampler = WarmStartSampler(sources * 4, seed=0)
    text = repr(sampler)
    assert text.startswith("WarmStartSampler(sources=['churn-model-2026-09', ")
    assert "... (8 sources)" in text and len(text) < 300


def test_cli_never_prints_a_password(capsys: pytest.CaptureFixture[str]) -> None:
    """Issue 26 finding 2: the warmstart command printed the storage URL's password."""
    url = "postgresql+psycopg2://bench:s3cret@127.0.0.1:1/hpo"  # nothing listens on port 1
    argv = ["warmstart", "--storage", url, "--study", "new", "--from", "churn-*"]
    assert main(argv) == 2
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err
    assert "bench:***@127.0.0.1" in err
