"""Deprecated: moved to :mod:`optuna_recipes.warm_start` (this module only re-exports)."""

from __future__ import annotations

import warnings

from optuna_recipes.warm_start._workflow import SOURCES_ATTR  # noqa: F401
from optuna_recipes.warm_start._workflow import create_warm_started_study  # noqa: F401
from optuna_recipes.warm_start._workflow import load_warm_started_study  # noqa: F401

warnings.warn(
    "`optuna_recipes._workflow` moved to `optuna_recipes.warm_start`; import "
    "create_warm_started_study and load_warm_started_study from there.",
    DeprecationWarning,
    stacklevel=2,
)
