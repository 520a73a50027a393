"""Name registries: built-in names, or any object by import path ``package.module:Name``."""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Iterator
from contextlib import contextmanager
import difflib
import importlib
import os
from pathlib import Path
import sys
from typing import Any


class UnknownNameError(ValueError):
    """A name that is neither a registered name nor an importable ``module:Name`` path."""


def import_object(path: str, what: str) -> Any:
    """Import ``package.module:Name`` (dots after the colon walk attributes)."""
    module_name, sep, attr = path.partition(":")
    if not sep or not module_name or not attr:
        raise UnknownNameError(
            f"{what} {path!r} is not an import path; write it as `package.module:Name`."
        )
    try:
        obj: Any = importlib.import_module(module_name)
    except ImportError as err:
        raise ImportError(
            f"{what} {path!r}: cannot import module {module_name!r} ({err}). {_where_hint()}"
        ) from err
    for part in attr.split("."):
        try:
            obj = getattr(obj, part)
        except AttributeError as err:
            raise ImportError(
                f"{what} {path!r}: {module_name!r} has no attribute {attr!r}."
            ) from err
    return obj


def unknown_name(what: str, name: str, known: Iterable[str]) -> UnknownNameError:
    """An error naming ``name``, the close matches and every valid choice."""
    known = sorted(known)
    close = difflib.get_close_matches(name, known, n=1)
    hint = f" Did you mean {close[0]!r}?" if close else ""
    return UnknownNameError(
        f"Unknown {what} {name!r}.{hint} Valid {what} names: {', '.join(known)}; "
        "or give an import path `package.module:Name`."
    )


def resolve(name: str, registry: dict[str, str], what: str) -> Any:
    """Resolve a registered name or an import path to the object it names."""
    if name in registry:
        return import_object(registry[name], what)
    if ":" in name:
        return import_object(name, what)
    raise unknown_name(what, name, registry)


# Folders added to ``sys.path`` by :func:`import_roots` (the suite's folder, the working
# directory), named in the "cannot import" hint.
_ROOTS: list[str] = []


def _where_hint() -> str:
    roots = ", ".join(repr(r) for r in _ROOTS) or repr(os.getcwd())
    return (
        f"Modules named in a suite are looked up in the suite file's folder and the working "
        f"directory ({roots}), then on sys.path: put the module there, install its package, "
        "or add its folder to PYTHONPATH."
    )


@contextmanager
def import_roots(*folders: str | Path | None) -> Iterator[None]:
    """Within the block, ``folders`` (absolute; ``None`` skipped) are on ``sys.path`` after
    the entries already there, so that import paths of a suite resolve relative to the suite
    file's folder and the working directory. Worker processes started meanwhile (spawned)
    inherit them.

    Example:
        .. code-block:: python

            with import_roots("benchmarks", "."):
                factory = import_object("myproblems:make", "problem type")
    """
    added = []
    for folder in folders:
        if folder is None:
            continue
        path = str(Path(folder).resolve())
        if path not in sys.path:
            sys.path.append(path)
            added.append(path)
    _ROOTS[:] = [str(Path(f).resolve()) for f in folders if f is not None]
    importlib.invalidate_caches()
    try:
        yield
    finally:
        for path in added:
            if path in sys.path:
                sys.path.remove(path)
        _ROOTS.clear()
