"""Deprecated: moved to :mod:`optuna_recipes.warm_start.cli` (this module only re-exports)."""

from __future__ import annotations

import warnings

from optuna_recipes.warm_start.cli import configure  # noqa: F401
from optuna_recipes.warm_start.cli import run  # noqa: F401

warnings.warn(
    "`optuna_recipes._warmstart_cli` moved to `optuna_recipes.warm_start.cli`.",
    DeprecationWarning,
    stacklevel=2,
)
