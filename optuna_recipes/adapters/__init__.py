"""Objective adapters: one-call Optuna objectives for XGBoost, LightGBM and PyTorch.

Each adapter lives in its own module (``optuna_recipes.adapters.torch``, ...), imported on
demand, so importing this package pulls in none of those libraries.
"""

from __future__ import annotations
