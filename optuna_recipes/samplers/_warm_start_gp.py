"""Deprecated: split into ``optuna_recipes.samplers._warm_start._gp`` and ``._acquisition``
(this module only re-exports). ``TransferGP.log_ei(x)`` is now
``_acquisition.log_ei(model, x)``."""

from __future__ import annotations

import warnings

from optuna_recipes.samplers._warm_start import _acquisition
from optuna_recipes.samplers._warm_start._gp import *  # noqa: F403

log_expected_improvement = _acquisition.log_expected_improvement
optimize_acquisition = _acquisition.optimize_acquisition

warnings.warn(
    "`optuna_recipes.samplers._warm_start_gp` was split into "
    "`optuna_recipes.samplers._warm_start._gp` and `._acquisition`.",
    DeprecationWarning,
    stacklevel=2,
)
