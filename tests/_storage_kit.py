"""Optuna storages of every kind our samplers must work on, and a multi-process study runner.

``StorageSpec`` describes one isolated storage namespace (a fresh SQLite file, journal file,
PostgreSQL database or Redis key prefix). It is picklable and ``make()`` builds a storage from it
in any process, which is how several worker processes share one study, as several hosts would.

The servers are the ones this machine runs on loopback: PostgreSQL at 127.0.0.1:5432 (database
``test``, user ``postgres``, trust auth) and Redis at 127.0.0.1:6379. When one is unreachable,
tests fail under CI (``CI=true``) with a message saying how to start it, and skip elsewhere.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
import contextlib
from dataclasses import dataclass
import multiprocessing
import os
import shutil
import socket
import tempfile
from typing import Any
import uuid

import optuna
from optuna.storages import BaseStorage
from optuna.storages import InMemoryStorage
from optuna.storages import JournalStorage
from optuna.storages import RDBStorage
from optuna.storages.journal import JournalFileBackend
from optuna.storages.journal import JournalRedisBackend

STORAGE_KINDS: tuple[str, ...] = ("inmemory", "sqlite", "journal_file", "postgresql", "redis")
# Kinds that several processes can share (in-memory storage lives in one process).
SHARED_KINDS: tuple[str, ...] = ("sqlite", "journal_file", "postgresql", "redis")

PG_HOST, PG_PORT, PG_USER, PG_DB = "127.0.0.1", 5432, "postgres", "test"
REDIS_HOST, REDIS_PORT = "127.0.0.1", 6379

_START_HINTS = {
    "postgresql": (
        f"PostgreSQL is not reachable at {PG_HOST}:{PG_PORT}. Start it with "
        "`pg_ctlcluster --skip-systemctl-redirect $(ls /etc/postgresql) main start` "
        "(trust auth, database `test`, user `postgres`)."
    ),
    "redis": (
        f"Redis is not reachable at {REDIS_HOST}:{REDIS_PORT}. Start it with "
        "`redis-server --daemonize yes --bind 127.0.0.1 --port 6379 --save '' --appendonly no`."
    ),
}


def server_unavailable_reason(kind: str) -> str | None:
    """``None`` if the server behind ``kind`` answers, else how to start it."""
    address = {"postgresql": (PG_HOST, PG_PORT), "redis": (REDIS_HOST, REDIS_PORT)}.get(kind)
    if address is None:
        return None
    try:
        with socket.create_connection(address, timeout=2.0):
            return None
    except OSError:
        return _START_HINTS[kind]


@dataclass(frozen=True)
class StorageSpec:
    """A picklable recipe for one isolated storage namespace."""

    kind: str
    location: str = ""  # file path, database URL, or Redis URL
    prefix: str = ""  # Redis key prefix

    def make(self) -> BaseStorage:
        """Build the storage (call it in each process that needs one)."""
        if self.kind == "inmemory":
            return InMemoryStorage()
        if self.kind in ("sqlite", "postgresql"):
            return RDBStorage(self.location)
        if self.kind == "journal_file":
            return JournalStorage(JournalFileBackend(self.location))
        if self.kind == "redis":
            return JournalStorage(JournalRedisBackend(self.location, prefix=self.prefix))
        raise ValueError(f"Unknown storage kind {self.kind!r}; expected one of {STORAGE_KINDS}.")

    @property
    def shared(self) -> bool:
        return self.kind in SHARED_KINDS


def _pg_admin() -> Any:
    import psycopg2

    conn = psycopg2.connect(host=PG_HOST, port=PG_PORT, user=PG_USER, dbname=PG_DB)
    conn.autocommit = True
    return conn


@contextlib.contextmanager
def _file_dir(tmp_dir: str) -> Iterator[str]:
    # SQLite and journal files go to tmpfs when there is one: the storage code paths are the
    # same, but tests do not wait on disk syncs after every write (most of their time otherwise).
    shm = "/dev/shm"
    if not (os.path.isdir(shm) and os.access(shm, os.W_OK)):
        yield tmp_dir
        return
    path = tempfile.mkdtemp(prefix="optuna_recipes_", dir=shm)
    try:
        yield path
    finally:
        shutil.rmtree(path, ignore_errors=True)


@contextlib.contextmanager
def isolated_storage(kind: str, tmp_dir: str) -> Iterator[StorageSpec]:
    """Yield a fresh storage namespace of ``kind`` and remove it afterwards."""
    tag = uuid.uuid4().hex[:12]
    if kind == "inmemory":
        yield StorageSpec("inmemory")
    elif kind == "sqlite":
        with _file_dir(tmp_dir) as d:
            yield StorageSpec("sqlite", f"sqlite:///{os.path.join(d, f'{tag}.db')}")
    elif kind == "journal_file":
        with _file_dir(tmp_dir) as d:
            yield StorageSpec("journal_file", os.path.join(d, f"{tag}.journal"))
    elif kind == "postgresql":
        db = f"optuna_recipes_{tag}"
        conn = _pg_admin()
        try:
            with conn.cursor() as cur:
                cur.execute(f'CREATE DATABASE "{db}"')
            # Test databases need no durability: skip waiting for the WAL flush on commit.
            options = "?options=-csynchronous_commit%3Doff"
            yield StorageSpec(
                "postgresql", f"postgresql+psycopg2://{PG_USER}@{PG_HOST}:{PG_PORT}/{db}{options}"
            )
        finally:
            with conn.cursor() as cur:
                cur.execute(f'DROP DATABASE IF EXISTS "{db}" WITH (FORCE)')
            conn.close()
    elif kind == "redis":
        import redis

        prefix = f"optuna_recipes_test:{tag}"
        url = f"redis://{REDIS_HOST}:{REDIS_PORT}/0"
        try:
            yield StorageSpec("redis", url, prefix=prefix)
        finally:
            client = redis.Redis.from_url(url)
            keys = list(client.scan_iter(match=f"{prefix}:*"))
            if keys:
                client.delete(*keys)
            client.close()
    else:
        raise ValueError(f"Unknown storage kind {kind!r}; expected one of {STORAGE_KINDS}.")


def _worker(
    spec: StorageSpec,
    study_name: str,
    objective: Callable[[optuna.Trial], Any],
    sampler_factory: Callable[[int], optuna.samplers.BaseSampler],
    worker_index: int,
    n_trials: int,
    catch: tuple[type[Exception], ...],
) -> int:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    study = optuna.load_study(
        study_name=study_name, storage=spec.make(), sampler=sampler_factory(worker_index)
    )
    study.optimize(objective, n_trials=n_trials, catch=catch)
    return n_trials


def optimize_in_processes(
    spec: StorageSpec,
    objective: Callable[[optuna.Trial], Any],
    sampler_factory: Callable[[int], optuna.samplers.BaseSampler],
    *,
    n_workers: int,
    n_trials: int,
    directions: list[str] | None = None,
    study_name: str | None = None,
    catch: tuple[type[Exception], ...] = (),
    timeout: float = 300.0,
) -> optuna.Study:
    """Run one study from ``n_workers`` fresh processes at once, ``n_trials`` in total.

    This is how people scale Optuna across machines: each process loads the study by name from a
    shared storage and calls ``optimize``. ``objective`` and ``sampler_factory`` must be
    picklable (module-level functions); ``sampler_factory(worker_index)`` builds each worker's
    sampler. Returns the study loaded in this process.
    """
    if not spec.shared:
        raise ValueError(f"Storage kind {spec.kind!r} cannot be shared between processes.")
    study_name = study_name or f"mp-{uuid.uuid4().hex[:8]}"
    optuna.create_study(
        study_name=study_name, storage=spec.make(), directions=directions or ["minimize"]
    )
    per_worker = [n_trials // n_workers + (i < n_trials % n_workers) for i in range(n_workers)]
    ctx = multiprocessing.get_context("spawn")
    with ctx.Pool(n_workers) as pool:
        results = [
            pool.apply_async(_worker, (spec, study_name, objective, sampler_factory, i, n, catch))
            for i, n in enumerate(per_worker)
        ]
        for r in results:
            r.get(timeout=timeout)
    return optuna.load_study(study_name=study_name, storage=spec.make())
