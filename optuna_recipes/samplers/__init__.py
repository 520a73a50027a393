"""Samplers that plug into any Optuna study (``optuna.create_study(sampler=...)``)."""

from __future__ import annotations

from optuna_recipes.samplers._genetic import GeneticSampler
from optuna_recipes.samplers._warm_start import WarmStartSampler

__all__: list[str] = ["GeneticSampler", "WarmStartSampler"]
