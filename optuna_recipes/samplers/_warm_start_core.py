"""Deprecated: split into ``optuna_recipes.samplers._warm_start._data``, ``._relatedness`` and
``._parzen`` (this module only re-exports). ``relatedness`` now takes predictors and the
target's rows and raw scores instead of precomputed predictions and rank quantiles."""

from __future__ import annotations

import warnings

from optuna_recipes.samplers._warm_start._data import SourceData  # noqa: F401
from optuna_recipes.samplers._warm_start._data import WarmStartConfig  # noqa: F401
from optuna_recipes.samplers._warm_start._data import rank_quantiles  # noqa: F401
from optuna_recipes.samplers._warm_start._parzen import ParzenMixture  # noqa: F401
from optuna_recipes.samplers._warm_start._parzen import build_density_ratio  # noqa: F401
from optuna_recipes.samplers._warm_start._parzen import fit_mixture as _fit_mixture  # noqa: F401
from optuna_recipes.samplers._warm_start._parzen import propose  # noqa: F401
from optuna_recipes.samplers._warm_start._parzen import target_gamma  # noqa: F401
from optuna_recipes.samplers._warm_start._relatedness import agreement_priors  # noqa: F401
from optuna_recipes.samplers._warm_start._relatedness import kendall_tau  # noqa: F401
from optuna_recipes.samplers._warm_start._relatedness import relatedness  # noqa: F401
from optuna_recipes.samplers._warm_start._relatedness import shrink_taus  # noqa: F401
from optuna_recipes.samplers._warm_start._relatedness import source_masses  # noqa: F401

warnings.warn(
    "`optuna_recipes.samplers._warm_start_core` was split into "
    "`optuna_recipes.samplers._warm_start._data`, `._relatedness` and `._parzen`.",
    DeprecationWarning,
    stacklevel=2,
)
