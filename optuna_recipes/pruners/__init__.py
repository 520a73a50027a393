"""Pruners that plug into any Optuna study (``optuna.create_study(pruner=...)``)."""

from __future__ import annotations

__all__: list[str] = []
