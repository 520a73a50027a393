"""Keras-style PyTorch training, tunable end to end with Optuna.

- :class:`Model`: ``compile`` / ``fit`` / ``evaluate`` / ``predict`` around any ``nn.Module``,
  with callbacks (:class:`EarlyStopping`, :class:`TerminateOnNaN`, :class:`PruningCallback`).
  Usable without Optuna.
- :class:`TorchObjective`: an Optuna objective tuning a network (``build_model(trial)``) and its
  training (optimizer, learning rate, batch size, weight decay, schedule), with per-epoch
  reporting for pruners, early stopping, ``refit`` and ``save_best``.
- :func:`mlp`: a multilayer perceptron whose architecture is suggested by a trial.

Needs PyTorch: ``pip install optuna-recipes[torch]``.
"""

from __future__ import annotations

from optuna_recipes._imports import optional_import

optional_import("torch", extra="torch", feature="optuna_recipes.adapters.torch")

from optuna_recipes.adapters._torch_callbacks import Callback  # noqa: E402
from optuna_recipes.adapters._torch_callbacks import EarlyStopping  # noqa: E402
from optuna_recipes.adapters._torch_callbacks import History  # noqa: E402
from optuna_recipes.adapters._torch_callbacks import PruningCallback  # noqa: E402
from optuna_recipes.adapters._torch_callbacks import TerminateOnNaN  # noqa: E402
from optuna_recipes.adapters._torch_metrics import Metric  # noqa: E402
from optuna_recipes.adapters._torch_mlp import mlp  # noqa: E402
from optuna_recipes.adapters._torch_model import Model  # noqa: E402
from optuna_recipes.adapters._torch_objective import DEFAULT_SPACE  # noqa: E402
from optuna_recipes.adapters._torch_objective import TorchObjective  # noqa: E402

__all__ = [
    "DEFAULT_SPACE",
    "Callback",
    "EarlyStopping",
    "History",
    "Metric",
    "Model",
    "PruningCallback",
    "TerminateOnNaN",
    "TorchObjective",
    "mlp",
]
