"""Name registries: built-in names, or any object by import path ``package.module:Name``."""

from __future__ import annotations

from collections.abc import Iterable
import difflib
import importlib
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
            f"{what} {path!r}: cannot import module {module_name!r} ({err})."
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
