"""Steady-state genetic algorithm: numpy core (``_core``) and Optuna glue (``_sampler``)."""

from __future__ import annotations

from optuna_recipes.samplers._genetic._sampler import GeneticSampler

__all__ = ["GeneticSampler"]
