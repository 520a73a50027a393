"""Pruners that plug into any Optuna study (``optuna.create_study(pruner=...)``)."""

from __future__ import annotations

from optuna_recipes.pruners._warm_start import WarmStartPruner

__all__: list[str] = ["WarmStartPruner"]
