"""Old private module paths of the adapters, kept working with a ``DeprecationWarning``.

Example:
    .. code-block:: python

        # in the old module:
        __getattr__ = moved(__name__, {"Fold": "optuna_recipes.adapters._base.folds"})
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
import importlib
from typing import Any
import warnings


def moved(
    old: str, new: Mapping[str, str], renamed: Mapping[str, str] | None = None
) -> Callable[[str], Any]:
    """A module ``__getattr__`` that resolves ``name`` from its new module ``new[name]`` (under
    ``renamed[name]`` where it was renamed) and warns that ``old.name`` has moved."""
    aliases = dict(renamed or {})

    def __getattr__(name: str) -> Any:
        module = new.get(name)
        if module is None:
            raise AttributeError(f"module {old!r} has no attribute {name!r}")
        target = aliases.get(name, name)
        warnings.warn(
            f"`{old}.{name}` has moved to `{module}.{target}`; import it from there.",
            DeprecationWarning,
            stacklevel=2,
        )
        return getattr(importlib.import_module(module), target)

    return __getattr__
