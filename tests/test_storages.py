"""The storage fixtures and the multi-process runner work on every storage kind."""

from __future__ import annotations

import _storage_kit
from _storage_kit import StorageSpec
from _storage_kit import optimize_in_processes
import conftest
import optuna
import pytest


def quadratic(trial: optuna.Trial) -> float:
    x = trial.suggest_float("x", -5, 5)
    k = trial.suggest_categorical("k", ["a", "b"])
    return x * x + (k == "b")


def random_sampler(worker_index: int) -> optuna.samplers.BaseSampler:
    return optuna.samplers.RandomSampler(seed=worker_index)


def test_storage_round_trip(storage_spec: StorageSpec) -> None:
    study = optuna.create_study(storage=storage_spec.make(), study_name="round-trip")
    study.optimize(quadratic, n_trials=5)
    if storage_spec.shared:
        # Another handle on the same namespace sees the same trials.
        again = optuna.load_study(study_name="round-trip", storage=storage_spec.make())
        assert [t.params for t in again.trials] == [t.params for t in study.trials]
    assert len(study.trials) == 5


@pytest.mark.slow
def test_namespaces_are_isolated(storage_spec: StorageSpec) -> None:
    # A fresh namespace holds no study left over from another test.
    assert optuna.get_all_study_names(storage_spec.make()) == []


@pytest.mark.slow
def test_optimize_in_processes(shared_storage_spec: StorageSpec) -> None:
    study = optimize_in_processes(
        shared_storage_spec, quadratic, random_sampler, n_workers=4, n_trials=20
    )
    numbers = sorted(t.number for t in study.trials)
    assert numbers == list(range(20))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)


def test_in_memory_cannot_be_shared() -> None:
    with pytest.raises(ValueError, match="cannot be shared"):
        optimize_in_processes(
            StorageSpec("inmemory"), quadratic, random_sampler, n_workers=2, n_trials=2
        )


def test_unreachable_server_fails_under_ci(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(conftest, "server_unavailable_reason", lambda kind: "start it so")
    monkeypatch.setattr(conftest, "IN_CI", True)
    with pytest.raises(pytest.fail.Exception, match="CI needs this server: start it so"):
        conftest.require_server("postgresql")
    monkeypatch.setattr(conftest, "IN_CI", False)
    with pytest.raises(pytest.skip.Exception, match="start it so"):
        conftest.require_server("postgresql")


def test_reachability_probe_names_how_to_start(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(_storage_kit, "PG_PORT", 1)
    monkeypatch.setattr(_storage_kit, "REDIS_PORT", 1)
    assert "pg_ctlcluster" in (_storage_kit.server_unavailable_reason("postgresql") or "")
    assert "redis-server" in (_storage_kit.server_unavailable_reason("redis") or "")
    assert _storage_kit.server_unavailable_reason("sqlite") is None
