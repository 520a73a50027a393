"""Deprecated: the Keras-style model now lives in :mod:`optuna_recipes.adapters.torch.model`.

Example:
    .. code-block:: python

        from optuna_recipes.adapters.torch.model import Model, TrainingRun
"""

from __future__ import annotations

from optuna_recipes.adapters._moved import moved

__getattr__ = moved(
    __name__,
    dict.fromkeys(
        ["Model", "TrainingRun", "resolve_device"], "optuna_recipes.adapters.torch.model"
    ),
)
