"""Imports done late: optional dependencies with an error that names the extra to install, and
package attributes resolved on first access (so ``import optuna_recipes`` stays cheap)."""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
import importlib
from types import ModuleType
from typing import Any


def optional_import(module: str, extra: str, feature: str | None = None) -> ModuleType:
    """Import ``module`` or raise an ``ImportError`` that says which extra installs it.

    Args:
        module: Importable module name, e.g. ``"xgboost"``.
        extra: Name of the optuna-recipes extra that provides it, e.g. ``"xgboost"``.
        feature: What needs it, for the message (defaults to the module name).
    """
    try:
        return importlib.import_module(module)
    except ImportError as err:
        what = feature or module
        raise ImportError(
            f"{what} needs the `{module.split('.')[0]}` package, which is not installed. "
            f"Install it with `pip install optuna-recipes[{extra}]`."
        ) from err


def lazy_exports(
    package: str,
    exports: Mapping[str, str],
    aliases: Mapping[str, str] | None = None,
) -> tuple[Callable[[str], Any], Callable[[], list[str]]]:
    """Module-level ``__getattr__`` and ``__dir__`` resolving public names on first access.

    Args:
        package: ``__name__`` of the package the functions are installed in.
        exports: Public name -> module that defines it.
        aliases: Public name -> the name it has in its module, where the two differ.

    Example:
        .. code-block:: python

            __getattr__, __dir__ = lazy_exports(__name__, {"run_suite": "mypkg.runner"})
    """
    renamed = dict(aliases or {})

    def __getattr__(name: str) -> Any:
        module_name = exports.get(name)
        if module_name is None:
            raise AttributeError(f"module {package!r} has no attribute {name!r}")
        module = importlib.import_module(package)
        value = getattr(importlib.import_module(module_name), renamed.get(name, name))
        setattr(module, name, value)
        return value

    def __dir__() -> list[str]:
        return sorted(set(vars(importlib.import_module(package))) | set(exports))

    return __getattr__, __dir__
