"""Deprecated: moved to :mod:`optuna_recipes.warm_start` (this module only re-exports)."""

from __future__ import annotations

import warnings

from optuna_recipes.warm_start._sources import SourceStudy  # noqa: F401
from optuna_recipes.warm_start._sources import as_sources  # noqa: F401
from optuna_recipes.warm_start._sources import load_sources  # noqa: F401

warnings.warn(
    "`optuna_recipes._sources` moved to `optuna_recipes.warm_start`; import SourceStudy, "
    "as_sources and load_sources from there.",
    DeprecationWarning,
    stacklevel=2,
)
