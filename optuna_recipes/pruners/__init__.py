"""Pruners that plug into any Optuna study (``optuna.create_study(pruner=...)``)."""

from __future__ import annotations

from optuna_recipes.pruners._boosting import BoostingPruner
from optuna_recipes.pruners._boosting import boosting_pruner
from optuna_recipes.pruners._warm_start import WarmStartPruner

__all__: list[str] = ["BoostingPruner", "WarmStartPruner", "boosting_pruner"]
