"""Samplers that plug into any Optuna study (``optuna.create_study(sampler=...)``)."""

from __future__ import annotations

__all__: list[str] = []
