"""Keras-style PyTorch training, tunable end to end with Optuna.

- :class:`Model` (:mod:`.model`): ``compile`` / ``fit`` / ``evaluate`` / ``predict`` around any
  ``nn.Module``, with callbacks (:mod:`.callbacks`: :class:`EarlyStopping`,
  :class:`TerminateOnNaN`, :class:`PruningCallback`) and device metrics (:mod:`.metrics`).
  Usable without Optuna.
- :class:`TorchObjective` (:mod:`.objective`): an Optuna objective tuning a network
  (``build_model(trial)``) and its training (optimizer, learning rate, batch size, weight decay,
  schedule), with per-epoch reporting for pruners, early stopping, ``refit`` and ``save_best``.
- :class:`TorchEstimator` (:mod:`.estimator`): a trained network as a scikit-learn estimator
  (``objective.best_estimator(study)``).
- :func:`mlp` (:mod:`.mlp`): a multilayer perceptron whose architecture is suggested by a trial.
- :mod:`.data`: the batch sources behind ``fit`` (arrays and tensors on the device, Datasets).

Needs PyTorch: ``pip install optuna-recipes[torch]``.

Example:
    .. code-block:: python

        import torch
        from optuna_recipes.adapters.torch import Model

        model = Model(torch.nn.Linear(4, 1), seed=0).compile("sgd", "mse")
        model.fit(torch.randn(32, 4), torch.randn(32, 1), epochs=2)
"""

from __future__ import annotations

from optuna_recipes._imports import optional_import

optional_import("torch", extra="torch", feature="optuna_recipes.adapters.torch")

from optuna_recipes.adapters.torch.callbacks import Callback  # noqa: E402
from optuna_recipes.adapters.torch.callbacks import EarlyStopping  # noqa: E402
from optuna_recipes.adapters.torch.callbacks import History  # noqa: E402
from optuna_recipes.adapters.torch.callbacks import PruningCallback  # noqa: E402
from optuna_recipes.adapters.torch.callbacks import TerminateOnNaN  # noqa: E402
from optuna_recipes.adapters.torch.callbacks import TrainedModel  # noqa: E402
from optuna_recipes.adapters.torch.estimator import TorchEstimator  # noqa: E402
from optuna_recipes.adapters.torch.metrics import Metric  # noqa: E402
from optuna_recipes.adapters.torch.mlp import mlp  # noqa: E402
from optuna_recipes.adapters.torch.model import Model  # noqa: E402
from optuna_recipes.adapters.torch.objective import DEFAULT_SPACE  # noqa: E402
from optuna_recipes.adapters.torch.objective import TorchObjective  # noqa: E402

__all__ = [
    "DEFAULT_SPACE",
    "Callback",
    "EarlyStopping",
    "History",
    "Metric",
    "Model",
    "PruningCallback",
    "TerminateOnNaN",
    "TorchEstimator",
    "TorchObjective",
    "TrainedModel",
    "mlp",
]
