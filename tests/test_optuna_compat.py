"""The seam to Optuna's private API: one test per function of ``_optuna_compat``.

An Optuna release that moves or renames a private name fails the test named after the function
that reaches it, on every storage kind the harness and the samplers use. CI also runs this file
against the lowest supported Optuna (see ``.ci/run``).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
import copy
import inspect
import os
from pathlib import Path

import optuna
from optuna.storages import BaseStorage
from optuna.storages.journal import JournalFileBackend
from optuna.trial import TrialState
import pytest

from optuna_recipes import _optuna_compat as compat

KINDS = ["inmemory", "sqlite", "journal"]


def _storage(kind: str, tmp_path: Path) -> BaseStorage | str | None:
    if kind == "inmemory":
        return None
    if kind == "sqlite":
        return f"sqlite:///{tmp_path / 'compat.db'}"
    backend = JournalFileBackend(str(tmp_path / "compat.journal"))
    return optuna.storages.JournalStorage(backend)


def _objective(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -1.0, 1.0)
    if x > 0.5:
        raise optuna.TrialPruned()
    return x**2


@pytest.fixture(params=KINDS)
def study(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[optuna.Study]:
    """A study of 8 trials (complete and pruned) in each kind of storage."""
    study = optuna.create_study(
        storage=_storage(request.param, tmp_path),
        sampler=optuna.samplers.RandomSampler(seed=0),
        study_name="compat",
    )
    study.optimize(_objective, n_trials=8)
    yield study


def test_storage_of(study: optuna.Study) -> None:
    storage = compat.storage_of(study)
    assert isinstance(storage, BaseStorage)
    assert len(storage.get_all_trials(compat.study_id_of(study))) == 8


def test_study_id_of(study: optuna.Study) -> None:
    storage = compat.storage_of(study)
    assert storage.get_study_id_from_name(study.study_name) == compat.study_id_of(study)


def test_trial_id_of(study: optuna.Study) -> None:
    storage = compat.storage_of(study)
    for frozen in study.trials:
        assert storage.get_trial(compat.trial_id_of(frozen)).number == frozen.number
    seen: list[tuple[int, int]] = []

    def objective(trial: optuna.Trial) -> float:
        seen.append((compat.trial_id_of(trial), trial.number))
        return trial.suggest_float("x", -1.0, 1.0)

    study.optimize(objective, n_trials=2)
    assert [storage.get_trial(tid).number for tid, _ in seen] == [n for _, n in seen]


@pytest.mark.parametrize("use_cache", [True, False])
def test_get_trials(study: optuna.Study, use_cache: bool) -> None:
    every = compat.get_trials(study, use_cache=use_cache)
    assert [t.number for t in every] == [t.number for t in study.get_trials()]
    complete = compat.get_trials(study, states=(TrialState.COMPLETE,), use_cache=use_cache)
    assert complete == study.get_trials(states=(TrialState.COMPLETE,))
    copies = compat.get_trials(study, deepcopy=True, use_cache=use_cache)
    copies[0].user_attrs["touched"] = True
    assert "touched" not in study.trials[0].user_attrs


def test_is_multi_objective(study: optuna.Study) -> None:
    assert not compat.is_multi_objective(study)
    multi = optuna.create_study(directions=["minimize", "maximize"])
    assert compat.is_multi_objective(multi)


def test_set_trial_system_attr(study: optuna.Study) -> None:
    live = study.ask()  # finished trials are read-only: samplers write to running ones
    storage = compat.storage_of(study)
    frozen = storage.get_trial(compat.trial_id_of(live))
    compat.set_trial_system_attr(study, live, "test:live", {"a": [1, 2]})
    compat.set_trial_system_attr(study, frozen, "test:frozen", 3)
    stored = storage.get_trial(compat.trial_id_of(live)).system_attrs
    assert stored["test:live"] == {"a": [1, 2]} and stored["test:frozen"] == 3


def test_get_trial_system_attrs(study: optuna.Study) -> None:
    live = study.ask()
    storage = compat.storage_of(study)
    storage.set_trial_system_attr(compat.trial_id_of(live), "test:key", 7)
    frozen = storage.get_trial(compat.trial_id_of(live))
    assert compat.get_trial_system_attrs(study, live)["test:key"] == 7
    assert compat.get_trial_system_attrs(study, frozen)["test:key"] == 7
    assert compat.get_trial_system_attrs(study, study.trials[0]) == study.trials[0].system_attrs


def test_set_study_system_attr(study: optuna.Study) -> None:
    compat.set_study_system_attr(study, "test:key", [1, "b"])
    attrs = compat.storage_of(study).get_study_system_attrs(compat.study_id_of(study))
    assert attrs["test:key"] == [1, "b"]


@pytest.mark.slow
def test_get_study_system_attrs(study: optuna.Study) -> None:
    compat.storage_of(study).set_study_system_attr(compat.study_id_of(study), "test:key", 3.5)
    assert compat.get_study_system_attrs(study)["test:key"] == 3.5


@pytest.fixture
def journal(tmp_path: Path) -> JournalFileBackend:
    return JournalFileBackend(str(tmp_path / "compat.journal"))


def test_journal_lock_base(journal: JournalFileBackend) -> None:
    base = compat.journal_lock_base()
    assert inspect.isclass(base) and {"acquire", "release"} <= set(dir(base))
    assert isinstance(compat.journal_lock_of(journal), base)


def test_journal_locked(journal: JournalFileBackend, tmp_path: Path) -> None:
    # Optuna's default journal lock is a symlink next to the file while it is held.
    link = str(tmp_path / "compat.journal") + ".lock"
    with compat.journal_locked(compat.journal_lock_of(journal)):
        assert os.path.lexists(link)
    assert not os.path.lexists(link)


def test_journal_file_path(journal: JournalFileBackend, tmp_path: Path) -> None:
    assert compat.journal_file_path(journal) == str(tmp_path / "compat.journal")


def test_journal_lock_of(journal: JournalFileBackend, tmp_path: Path) -> None:
    lock = compat.journal_lock_of(journal)
    assert lock.acquire() is True
    lock.release()
    custom = optuna.storages.journal.JournalFileOpenLock(str(tmp_path / "other.journal"))
    other = JournalFileBackend(str(tmp_path / "other.journal"), lock_obj=custom)
    assert compat.journal_lock_of(other) is custom


def _varied_trials() -> list[optuna.trial.FrozenTrial]:
    """Finished trials of every kind a benchmark run writes: values, infinities, failures,
    pruning with intermediate values (NaN and infinite ones too), every distribution, attrs."""
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=1))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 1e-3, 1.0, log=True)
        k = trial.suggest_int("k", 0, 9, step=3)
        c = trial.suggest_categorical("c", [None, True, 2, "a"])
        trial.set_user_attr("u", {"c": c})
        compat.set_trial_system_attr(study, trial, "test:s", [k])
        for step, v in enumerate([x, float("nan"), float("inf")]):
            trial.report(v, step)
        if trial.number % 4 == 1:
            raise optuna.TrialPruned()
        if trial.number % 4 == 2:
            raise ValueError("fails")
        return float("-inf") if trial.number == 3 else x * k

    study.optimize(objective, n_trials=9, catch=(ValueError,))
    return study.trials


def test_rdb_add_finished_trials(tmp_path: Path) -> None:
    trials = _varied_trials()
    url = f"sqlite:///{tmp_path / 'rdb.db'}"
    storage = optuna.storages.RDBStorage(url)
    by_optuna = optuna.create_study(storage=storage, study_name="add_trials")
    by_optuna.add_trials(trials)
    bulk = optuna.create_study(storage=storage, study_name="bulk")
    compat.rdb_add_finished_trials(storage, compat.study_id_of(bulk), trials, {"test:k": [1]})
    reader = optuna.storages.RDBStorage(url)  # a fresh view: nothing cached
    expected = reader.get_all_trials(reader.get_study_id_from_name("add_trials"))
    written = reader.get_all_trials(reader.get_study_id_from_name("bulk"))
    assert len(written) == len(trials) == 9
    for a, b in zip(written, expected, strict=True):
        assert a.number == b.number and a.state == b.state
        assert a.values == b.values and a.params == b.params
        assert a.distributions == b.distributions
        assert a.datetime_start == b.datetime_start
        assert a.datetime_complete == b.datetime_complete
        assert a.user_attrs == b.user_attrs and a.system_attrs == b.system_attrs
        assert str(a.intermediate_values) == str(b.intermediate_values)  # NaN != NaN
    assert reader.get_study_system_attrs(reader.get_study_id_from_name("bulk")) == {"test:k": [1]}
    # One transaction: a failure leaves the study as it was.
    broken = optuna.create_study(storage=storage, study_name="broken")
    bad = copy.deepcopy(trials[4])
    bad.distributions = {}  # fails after the trial rows were sent
    with pytest.raises(KeyError):
        compat.rdb_add_finished_trials(storage, compat.study_id_of(broken), [trials[0], bad])
    assert reader.get_all_trials(reader.get_study_id_from_name("broken")) == []


def _functions() -> dict[str, Callable[..., object]]:
    return {
        name: fn
        for name, fn in inspect.getmembers(compat, inspect.isfunction)
        if fn.__module__ == compat.__name__ and not name.startswith("_")
    }


def test_every_compat_function_has_its_test() -> None:
    tests = {name for name in globals() if name.startswith("test_")}
    missing = sorted(name for name in _functions() if f"test_{name}" not in tests)
    assert not missing, f"add a test_<name> to {__file__} for: {missing}"
