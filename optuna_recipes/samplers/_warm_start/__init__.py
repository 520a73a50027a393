"""Warm-start sampler: Optuna glue (``_sampler``) around numpy models shaped like ``optuna/_gp``.

``_data`` (encoded sources, hyperparameters, ranks) <- ``_relatedness`` (how much each source is
trusted), ``_parzen`` (density ratio), ``_gp`` (transfer GP) and ``_acquisition`` (where the GP
samples next) <- ``_sampler`` (``WarmStartSampler``). Only ``_sampler`` imports Optuna.
"""

from __future__ import annotations

from optuna_recipes.samplers._warm_start._sampler import GP_WEIGHTS_KEY
from optuna_recipes.samplers._warm_start._sampler import PROPOSAL_KEY
from optuna_recipes.samplers._warm_start._sampler import WEIGHTS_KEY
from optuna_recipes.samplers._warm_start._sampler import WarmStartSampler

__all__ = ["GP_WEIGHTS_KEY", "PROPOSAL_KEY", "WEIGHTS_KEY", "WarmStartSampler"]
