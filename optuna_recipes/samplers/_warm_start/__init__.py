"""Warm-start sampler: Optuna glue around numpy models, shaped like ``optuna/_gp``.

``_data`` (encoded sources, hyperparameters, ranks) is used by ``_relatedness`` (how much each
source is trusted), ``_parzen`` (density ratio) and ``_gp`` (transfer GP); ``_acquisition``
(where the GP samples next) needs only a model with ``predict``; ``_arms`` decides which
model proposes each trial once the bandit starts. ``_source_models`` (what is
derived from the sources, cached per space) and ``_sampler`` (``WarmStartSampler``) are the
Optuna glue; they are the only modules that import Optuna.
"""

from __future__ import annotations

from optuna_recipes.samplers._warm_start._sampler import DECISION_KEY
from optuna_recipes.samplers._warm_start._sampler import GP_WEIGHTS_KEY
from optuna_recipes.samplers._warm_start._sampler import MODE_KEY
from optuna_recipes.samplers._warm_start._sampler import PROPOSAL_KEY
from optuna_recipes.samplers._warm_start._sampler import WEIGHTS_KEY
from optuna_recipes.samplers._warm_start._sampler import WarmStartSampler

__all__ = [
    "DECISION_KEY",
    "GP_WEIGHTS_KEY",
    "MODE_KEY",
    "PROPOSAL_KEY",
    "WEIGHTS_KEY",
    "WarmStartSampler",
]
