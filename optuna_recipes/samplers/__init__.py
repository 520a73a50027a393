"""Samplers that plug into any Optuna study (``optuna.create_study(sampler=...)``)."""

from __future__ import annotations

from optuna_recipes.samplers._genetic import GeneticSampler

__all__: list[str] = ["GeneticSampler"]
