"""Shared fixtures: storages of every kind (see ``_storage_kit``)."""

from __future__ import annotations

from collections.abc import Iterator
import os

from _storage_kit import SHARED_KINDS
from _storage_kit import STORAGE_KINDS
from _storage_kit import StorageSpec
from _storage_kit import isolated_storage
from _storage_kit import server_unavailable_reason
import optuna
import pytest

optuna.logging.set_verbosity(optuna.logging.WARNING)

IN_CI = os.environ.get("CI", "").lower() in ("true", "1", "yes")


def require_server(kind: str) -> None:
    """Fail (under CI) or skip (elsewhere) when the server behind ``kind`` is unreachable."""
    reason = server_unavailable_reason(kind)
    if reason is None:
        return
    if IN_CI:
        pytest.fail(f"CI needs this server: {reason}", pytrace=False)
    pytest.skip(reason)


def _spec(kind: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[StorageSpec]:
    require_server(kind)
    with isolated_storage(kind, str(tmp_path_factory.mktemp(kind))) as spec:
        yield spec


@pytest.fixture(params=STORAGE_KINDS)
def storage_spec(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StorageSpec]:
    """A fresh, isolated storage namespace of each kind."""
    yield from _spec(request.param, tmp_path_factory)


@pytest.fixture(params=SHARED_KINDS)
def shared_storage_spec(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[StorageSpec]:
    """A fresh storage namespace of each kind that several processes can share."""
    yield from _spec(request.param, tmp_path_factory)


@pytest.fixture
def storage(storage_spec: StorageSpec) -> optuna.storages.BaseStorage:
    """A fresh Optuna storage of each kind."""
    return storage_spec.make()


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    """Optuna's conformance suite on the server and file storages is the slow tier; the quick
    tier (``-m "not slow"``) keeps it on the in-memory storage."""
    for item in items:
        if item.path.name == "test_conformance.py" and "[inmemory-" not in item.nodeid:
            item.add_marker(pytest.mark.slow)
