"""Loading and snapshotting warm-start sources."""

from __future__ import annotations

from pathlib import Path
import pickle

from _storage_kit import StorageSpec
import optuna
import pytest

from optuna_recipes import SourceStudy
from optuna_recipes import load_sources
from optuna_recipes.warm_start import as_sources


def _fill(storage: optuna.storages.BaseStorage, name: str, n: int = 4, **kw: str) -> None:
    sampler = optuna.samplers.RandomSampler(seed=0)
    study = optuna.create_study(study_name=name, storage=storage, sampler=sampler, **kw)
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=n)


@pytest.mark.slow
def test_load_by_pattern_on_every_storage(storage_spec: StorageSpec) -> None:
    storage = storage_spec.make()
    for name in ("churn-model-2026-09", "churn-model-2026-10", "other"):
        _fill(storage, name, direction="maximize")
    optuna.create_study(study_name="churn-model-2026-11", storage=storage)
    sources = load_sources(storage, pattern="churn-model-*", exclude=["churn-model-2026-11"])
    assert [s.name for s in sources] == ["churn-model-2026-09", "churn-model-2026-10"]
    assert all(s.direction == optuna.study.StudyDirection.MAXIMIZE for s in sources)
    assert all(len(s.trials) == 4 for s in sources)
    # Snapshots carry no storage handle: they pickle and survive the storage.
    again = pickle.loads(pickle.dumps(sources))
    assert [t.params for t in again[0].trials] == [t.params for t in sources[0].trials]
    if storage_spec.kind in ("sqlite", "postgresql"):
        by_url = load_sources(storage_spec.location, pattern="churn-model-2026-1?")
        assert [s.name for s in by_url] == ["churn-model-2026-10"]


def test_load_by_names_and_errors(tmp_path: object) -> None:
    storage = optuna.storages.InMemoryStorage()
    _fill(storage, "a")
    optuna.create_study(study_name="empty", storage=storage)
    assert [s.name for s in load_sources(storage, ["a"])] == ["a"]
    assert [s.name for s in load_sources(storage, "a")] == ["a"]
    with pytest.raises(ValueError, match=r"No study named 'b'.*available studies"):
        load_sources(storage, ["b"])
    with pytest.raises(ValueError, match="matches the pattern 'z\\*'"):
        load_sources(storage, pattern="z*")
    with pytest.raises(ValueError, match="Pass `study_names`, `pattern`"):
        load_sources(storage)
    with pytest.raises(ValueError, match="no complete trial"):
        load_sources(storage, pattern="empt*")
    with pytest.raises(ValueError, match=r"\['empty'\] has a complete trial"):
        load_sources(storage, ["empty"])
    with pytest.raises(TypeError, match="storage URL"):
        load_sources(3, ["a"])  # type: ignore[arg-type]


def test_as_sources_accepts_studies_trial_lists_and_snapshots() -> None:
    study = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=3)
    trials = study.trials
    sources = as_sources([study, trials, SourceStudy("s", tuple(trials))])
    assert [len(s.trials) for s in sources] == [3, 3, 3]
    assert sources[0].direction == optuna.study.StudyDirection.MAXIMIZE
    assert sources[1].direction is None  # a bare trial list takes the target's direction
    assert len(as_sources(trials)) == 1  # a flat trial list is one source
    assert len(as_sources(study)) == 1
    # The snapshot does not follow the study afterwards.
    study.optimize(lambda t: t.suggest_float("x", 0, 1), n_trials=2)
    assert len(sources[0].trials) == 3
    assert sources[0].best_value() == max(t.value for t in trials)


def test_as_sources_errors() -> None:
    with pytest.raises(ValueError, match="empty"):
        as_sources([])
    with pytest.raises(TypeError, match=r"sequence of optuna\.Study"):
        as_sources("study-name")
    with pytest.raises(TypeError, match=r"source_studies\[0\]"):
        as_sources([42])
    with pytest.raises(TypeError, match=r"only optuna\.trial\.FrozenTrial"):
        as_sources([[optuna.trial.create_trial(value=1.0), "x"]])
    mo = optuna.create_study(directions=["minimize", "minimize"])
    with pytest.raises(ValueError, match="2 objectives"):
        as_sources([mo])
    with pytest.raises(ValueError, match="has a complete trial"):
        as_sources([optuna.create_study()])


@pytest.mark.slow
def test_repr_is_a_short_summary() -> None:
    storage = optuna.storages.InMemoryStorage()
    study = optuna.create_study(direction="maximize", study_name="churn", storage=storage)
    study.optimize(lambda t: t.suggest_float("x", 0, 1) + t.suggest_int("n", 1, 3), n_trials=300)
    (source,) = as_sources([study])
    text = repr(source)
    assert text == (
        "SourceStudy(name='churn', n_trials=300, n_complete=300, direction='maximize', "
        "params=['n', 'x'])"
    )
    assert len(repr(load_sources(storage, ["churn"]))) < 200


def test_a_missing_sqlite_file_is_an_error_not_a_new_database(tmp_path: Path) -> None:
    path = tmp_path / "typo.db"
    with pytest.raises(ValueError, match=r"SQLite database '.*typo\.db'.*does not exist"):
        load_sources(f"sqlite:///{path}", pattern="*")
    assert not path.exists()
    # Other URLs are left to Optuna; an existing file loads as before.
    url = f"sqlite:///{tmp_path / 'ok.db'}"
    _fill(optuna.storages.get_storage(url), "a")
    assert [s.name for s in load_sources(url, ["a"])] == ["a"]
