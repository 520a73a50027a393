"""Imports of optional dependencies with an error that names the extra to install."""

from __future__ import annotations

import importlib
from types import ModuleType


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
