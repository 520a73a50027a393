"""Callbacks for the Keras-style PyTorch model: early stopping, NaN guard, Optuna pruning.

Callbacks run once per epoch (never per batch), after the epoch's metrics have been read from
the device, so they add no host-device synchronisation. They see the model being trained only
through the small public protocol :class:`TrainedModel`, which
:class:`~optuna_recipes.adapters.torch.Model` implements: a callback can drive any training
loop that offers it.
"""

from __future__ import annotations

import math
from typing import Any
from typing import Protocol

import optuna
import torch

from optuna_recipes._validation import check_choice
from optuna_recipes._validation import check_float
from optuna_recipes._validation import check_int

Logs = dict[str, float]


class TrainedModel(Protocol):
    """What a :class:`Callback` may use of the model it is attached to.

    Example:
        .. code-block:: python

            from optuna_recipes.adapters.torch import Model
            from optuna_recipes.adapters.torch.callbacks import TrainedModel

            def stop(model: TrainedModel) -> None:
                model.stop_training = True  # any Model is a TrainedModel
    """

    #: Set to ``True`` to stop training after the current epoch.
    stop_training: bool

    def state_dict(self) -> dict[str, Any]:
        """The trained network's weights."""
        ...

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load weights returned by :meth:`state_dict`."""
        ...

    def check_log_key(self, key: str, who: str) -> None:
        """Raise ``ValueError`` (naming ``who``) when the running fit does not log ``key``."""
        ...

    def higher_is_better(self, key: str) -> bool:
        """Whether the logged quantity ``key`` improves upwards (e.g. ``val_accuracy``)."""
        ...


class Callback:
    """Base class: override the hooks you need; ``self.model`` is the model in ``fit`` (a
    :class:`TrainedModel`, e.g. :class:`~optuna_recipes.adapters.torch.Model`).

    Set ``self.model.stop_training = True`` to stop after the current epoch.

    Example:
        .. code-block:: python

            from optuna_recipes.adapters.torch import Callback


            class PrintLoss(Callback):
                def on_epoch_end(self, epoch, logs):
                    print(epoch, logs["loss"])
    """

    model: TrainedModel

    def set_model(self, model: TrainedModel) -> None:
        self.model = model

    def on_train_begin(self, logs: Logs | None = None) -> None:
        """Called once before the first epoch."""

    def on_epoch_begin(self, epoch: int, logs: Logs | None = None) -> None:
        """Called before each epoch (``epoch`` counts from 0)."""

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        """Called after each epoch with its logs (``loss``, metrics, ``val_*``, ``lr``)."""

    def on_train_end(self, logs: Logs | None = None) -> None:
        """Called once after the last epoch (not when a callback raised)."""


class History:
    """What ``fit`` returns: ``history[name]`` is the list of per-epoch values of ``name``.

    Example:
        .. code-block:: python

            import torch
            from optuna_recipes.adapters.torch import Model

            x, y = torch.randn(256, 8), torch.randn(256, 1)
            model = Model(torch.nn.Linear(8, 1)).compile("sgd", "mse")
            history = model.fit(x, y, epochs=5)
            history.history["loss"]  # five floats, one per epoch
    """

    def __init__(self) -> None:
        self.epoch: list[int] = []
        self.history: dict[str, list[float]] = {}

    def append(self, epoch: int, logs: Logs) -> None:
        self.epoch.append(epoch)
        for key, value in logs.items():
            self.history.setdefault(key, []).append(value)

    def __getitem__(self, key: str) -> list[float]:
        return self.history[key]

    def __repr__(self) -> str:
        return f"History(epochs={len(self.epoch)}, keys={sorted(self.history)})"


class EarlyStopping(Callback):
    """Stop training when a monitored quantity stops improving; optionally restore the best
    weights.

    Choose it for any training run with validation data: set ``epochs`` generously and let
    ``patience`` decide. With ``restore_best_weights=True`` the model ends with the weights of
    its best epoch (kept as a copy on the device, refreshed at each improvement).

    Example:
        .. code-block:: python

            import torch
            from optuna_recipes.adapters.torch import EarlyStopping, Model

            x, y = torch.randn(600, 8), torch.randint(0, 2, (600,))
            net = torch.nn.Sequential(
                torch.nn.Linear(8, 64), torch.nn.ReLU(), torch.nn.Linear(64, 2)
            )
            model = Model(net).compile("adam", "cross_entropy", metrics=["accuracy"])
            stop = EarlyStopping("val_loss", patience=3, restore_best_weights=True)
            model.fit(x[:500], y[:500], epochs=100, validation_data=(x[500:], y[500:]),
                      callbacks=[stop])
            stop.best_epoch, stop.best  # the weights are those of best_epoch

    Args:
        monitor: Log key to watch, e.g. ``"val_loss"`` (default) or ``"val_accuracy"``.
        patience: Epochs without improvement before stopping (``>= 0``). Default ``0``.
        min_delta: Smallest change that counts as an improvement (``>= 0``). Default ``0.0``.
        mode: ``"min"``, ``"max"`` or ``"auto"`` (default: from the metric, e.g. accuracy is
            maximised, losses and errors minimised).
        restore_best_weights: Load the best epoch's weights at the end. Default ``False``.
        baseline: A value the monitor must beat; with no improvement on it for ``patience``
            epochs training stops. Default ``None``.
        start_from_epoch: Epochs to wait before watching (warm-up). Default ``0``.
    """

    def __init__(
        self,
        monitor: str = "val_loss",
        *,
        patience: int = 0,
        min_delta: float = 0.0,
        mode: str = "auto",
        restore_best_weights: bool = False,
        baseline: float | None = None,
        start_from_epoch: int = 0,
    ) -> None:
        self.monitor = monitor
        self.patience = check_int("patience", patience, minimum=0)
        self.min_delta = check_float("min_delta", min_delta, minimum=0.0)
        self.mode = check_choice("mode", mode, ("auto", "min", "max"))
        self.restore_best_weights = restore_best_weights
        self.baseline = baseline
        self.start_from_epoch = check_int("start_from_epoch", start_from_epoch, minimum=0)
        self._reset()

    def _reset(self) -> None:
        self.wait = 0
        self.best: float = math.nan
        self.best_epoch: int | None = None
        self.stopped_epoch: int | None = None
        self.best_weights: dict[str, torch.Tensor] | None = None
        self._last_epoch: int | None = None
        self._maximize = False

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self._reset()
        self.model.check_log_key(self.monitor, "EarlyStopping(monitor=...)")
        mode = self.mode
        if mode == "auto":
            mode = "max" if self.model.higher_is_better(self.monitor) else "min"
        self._maximize = mode == "max"

    def _improves(self, value: float, reference: float) -> bool:
        if not math.isfinite(value):
            return False
        if math.isnan(reference):
            return True
        if self._maximize:
            return value - self.min_delta > reference
        return value + self.min_delta < reference

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        self._last_epoch = epoch
        if epoch < self.start_from_epoch:
            return
        value = logs[self.monitor]
        if self._improves(value, self.best):
            self.best = value
            self.best_epoch = epoch
            if self.restore_best_weights:
                state = self.model.state_dict()
                self.best_weights = {k: v.detach().clone() for k, v in state.items()}
            if self.baseline is None or self._improves(value, self.baseline):
                self.wait = 0
                return
        self.wait += 1
        if self.wait > self.patience:
            self.stopped_epoch = epoch
            self.model.stop_training = True

    def on_train_end(self, logs: Logs | None = None) -> None:
        if (
            self.restore_best_weights
            and self.best_weights is not None
            and self.best_epoch != self._last_epoch
        ):
            self.model.load_state_dict(self.best_weights)


class TerminateOnNaN(Callback):
    """Stop training after an epoch whose training loss is NaN or infinite.

    Example:
        .. code-block:: python

            import torch
            from optuna_recipes.adapters.torch import Model, TerminateOnNaN

            x, y = torch.randn(64, 4), torch.randn(64, 1)
            x[0, 0] = float("nan")
            model = Model(torch.nn.Linear(4, 1)).compile("sgd", "mse")
            guard = TerminateOnNaN()
            model.fit(x, y, epochs=10, callbacks=[guard])
            guard.stopped_epoch  # 0
    """

    def __init__(self) -> None:
        self.stopped_epoch: int | None = None

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        if not math.isfinite(logs["loss"]):
            self.stopped_epoch = epoch
            self.model.stop_training = True


class PruningCallback(Callback):
    """Report a monitored value to an Optuna trial every epoch and prune when told to.

    Choose it to tune your own :class:`Model` training code with any Optuna pruner;
    :class:`TorchObjective` adds it for you.

    Example:
        .. code-block:: python

            import optuna
            import torch
            from optuna_recipes.adapters.torch import Model, PruningCallback

            x, y = torch.randn(600, 8), (torch.randn(600, 8).sum(1) > 0).long()


            def objective(trial):
                lr = trial.suggest_float("lr", 1e-4, 1e-1, log=True)
                model = Model(torch.nn.Linear(8, 2)).compile(
                    lambda p: torch.optim.SGD(p, lr=lr), "cross_entropy", metrics=["accuracy"]
                )
                history = model.fit(
                    x[:500], y[:500], epochs=10, validation_data=(x[500:], y[500:]),
                    callbacks=[PruningCallback(trial, "val_accuracy")],
                )
                return history["val_accuracy"][-1]


            study = optuna.create_study(direction="maximize", pruner=optuna.pruners.MedianPruner())
            study.optimize(objective, n_trials=10)

    Args:
        trial: The running ``optuna.Trial``.
        monitor: Log key to report, e.g. ``"val_loss"`` (default) or ``"val_accuracy"``.
    """

    def __init__(self, trial: optuna.Trial, monitor: str = "val_loss") -> None:
        self.trial = trial
        self.monitor = monitor

    def on_train_begin(self, logs: Logs | None = None) -> None:
        self.model.check_log_key(self.monitor, "PruningCallback(monitor=...)")

    def on_epoch_end(self, epoch: int, logs: Logs) -> None:
        value: Any = logs[self.monitor]
        self.trial.report(value, step=epoch)
        if self.trial.should_prune():
            raise optuna.TrialPruned(f"Pruned at epoch {epoch} with {self.monitor}={value:.6g}.")
