"""Storage URLs: the driver they need, what identifies the storage, and one-line errors.

- :func:`normalize_url`: ``postgresql://`` (or ``mysql://``) without a driver gets one that is
  installed: SQLAlchemy picks a fixed default (``psycopg`` 3 for PostgreSQL since SQLAlchemy 2.1)
  and fails when only another one (``psycopg2``) is there.
- :func:`storage_identity`: the storage a URL points at (kind, host, port, database or file),
  without driver, credentials or options: a corrected URL for the same storage is the same
  storage, and resumes the benchmark that used it.
- :func:`explain_storage_error`: a missing driver, a missing database, an unreachable server,
  a malformed URL, as one line that names the fix (the URL shown without its password).

Example:
    .. code-block:: python

        from optuna_recipes._storage_urls import normalize_url, storage_identity

        url = normalize_url("postgresql://bench:pw@db:5432/hpo")  # +psycopg or +psycopg2
        storage_identity(url)  # 'postgresql://db:5432/hpo'
"""

from __future__ import annotations

import importlib.util
from pathlib import Path

from optuna_recipes._redact import redact

RDB_BACKENDS = ("sqlite", "postgresql", "mysql", "oracle", "mssql")
DEFAULT_PORTS = {"postgresql": 5432, "mysql": 3306, "redis": 6379, "rediss": 6379}
# Drivers SQLAlchemy knows for a backend, in our order of preference: (driver, module, package).
DRIVERS: dict[str, tuple[tuple[str, str, str], ...]] = {
    "postgresql": (
        ("psycopg", "psycopg", '"psycopg[binary]"'),
        ("psycopg2", "psycopg2", "psycopg2-binary"),
        ("pg8000", "pg8000", "pg8000"),
    ),
    "mysql": (
        ("mysqldb", "MySQLdb", "mysqlclient"),
        ("pymysql", "pymysql", "PyMySQL"),
        ("mysqlconnector", "mysql.connector", "mysql-connector-python"),
    ),
}


class StorageUnavailableError(RuntimeError):
    """The storage cannot be opened; the message (one line, no password) names the fix."""


def storage_kind(url: str) -> str:
    """``"rdb"`` (SQLAlchemy URL), ``"redis"`` (Redis journal) or ``"journal"`` (file path)."""
    scheme = url.split("://", 1)[0].split("+", 1)[0].lower() if "://" in url else ""
    if url.startswith("sqlite:") or scheme in RDB_BACKENDS:
        return "rdb"
    if scheme in ("redis", "rediss"):
        return "redis"
    return "journal"


def _installed(module: str) -> bool:
    try:
        return importlib.util.find_spec(module) is not None
    except (ImportError, ValueError):
        return False


def normalize_url(url: str) -> str:
    """``url`` with a driver SQLAlchemy can import, when the URL names none and the default
    driver is missing but another is installed; otherwise ``url`` unchanged."""
    if storage_kind(url) != "rdb":
        return url
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:  # reported with the fix when the storage is opened
        return url
    backend = parsed.get_backend_name()
    if "+" in parsed.drivername or backend not in DRIVERS:
        return url
    default = parsed.get_driver_name()
    drivers = DRIVERS[backend]
    if any(d == default and _installed(m) for d, m, _ in drivers):
        return url
    for driver, module, _ in drivers:
        if _installed(module):
            return parsed.set(drivername=f"{backend}+{driver}").render_as_string(
                hide_password=False
            )
    return url


def storage_identity(url: str | None) -> str:
    """What a URL points at, without driver, credentials or options (``None``: the output
    folder's own journal file, wherever the folder is)."""
    if not url:
        return "journal:<output folder>"
    kind = storage_kind(url)
    if kind == "journal":
        return "journal:" + str(Path(url.removeprefix("journal:")).expanduser().resolve())
    if kind == "redis":
        from urllib.parse import urlsplit

        parts = urlsplit(url)
        port = parts.port or DEFAULT_PORTS["redis"]
        db = parts.path.strip("/") or "0"
        return f"redis://{_host(parts.hostname)}:{port}/{db}"
    from sqlalchemy.engine import make_url

    try:
        parsed = make_url(url)
    except Exception:
        return redact(url)
    backend = parsed.get_backend_name()
    if backend == "sqlite":
        database = parsed.database or ""
        if database and database != ":memory:":
            database = str(Path(database).expanduser().resolve())
        return f"sqlite:///{database}"
    host = _host(parsed.host)
    number = parsed.port or DEFAULT_PORTS.get(backend)
    return f"{backend}://{host}:{'' if number is None else number}/{parsed.database or ''}"


def _host(host: str | None) -> str:
    """A host name for comparison: the names of this machine's loopback are one."""
    host = (host or "localhost").lower().strip("[]")
    return "localhost" if host in ("127.0.0.1", "::1", "localhost") else host


def _root_message(err: BaseException) -> str:
    """The innermost cause's message, first line, without SQLAlchemy's boilerplate."""
    while err.__cause__ is not None or getattr(err, "orig", None) is not None:
        err = getattr(err, "orig", None) or err.__cause__  # type: ignore[assignment]
    lines = [ln.strip() for ln in str(err).splitlines() if ln.strip()]
    lines = [ln for ln in lines if not ln.startswith(("(Background on", "[SQL:"))]
    return " ".join(lines[:2]) or type(err).__name__


def _driver_hint(url: str) -> str:
    from sqlalchemy.engine import make_url

    parsed = make_url(url)
    backend, driver = parsed.get_backend_name(), parsed.get_driver_name()
    for name, _, package in DRIVERS.get(backend, ()):
        if name == driver:
            return f"its driver {driver!r} is not installed: pip install {package}"
    return f"its database driver ({backend}+{driver}) is not installed; install it"


def explain_storage_error(url: str, err: BaseException) -> StorageUnavailableError:
    """A one-line error for a storage that cannot be opened: what failed and how to fix it."""
    shown = redact(url)
    message = redact(_root_message(err))
    lowered = message.lower()
    if isinstance(err, ImportError) and storage_kind(url) == "rdb":
        reason = _driver_hint(url)
    elif "does not exist" in lowered and "database" in lowered:
        from sqlalchemy.engine import make_url

        db = make_url(url).database
        reason = (
            f"{message}. Create it (e.g. `createdb {db}` on the server) or fix the database "
            "name in the URL"
        )
    elif any(s in lowered for s in ("refused", "could not connect", "timeout", "timed out")):
        reason = f"{message}. Start the server, or fix the host and port in the URL"
    elif "authentication" in lowered or "password" in lowered:
        reason = f"{message}. Fix the user name or password in the URL"
    elif "could not parse" in lowered or "invalid" in lowered:
        reason = f"{message}. Give a URL such as postgresql://USER:PASSWORD@HOST:5432/DATABASE"
    else:
        reason = f"{message}. Check the URL and that the storage is reachable"
    return StorageUnavailableError(f"cannot open the storage {shown}: {reason}.")
