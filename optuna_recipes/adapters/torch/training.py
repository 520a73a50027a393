"""The training configuration :class:`~optuna_recipes.adapters.torch.TorchObjective` tunes.

A configuration is a dict of :data:`DEFAULT_PARAMS` keys (optimizer, learning rate, batch size,
weight decay, SGD momentum, learning-rate schedule); the ranges searched by default are data in
:data:`optuna_recipes.adapters.spaces.TORCH_SPACE`. :func:`check_params` refuses what cannot
train, :func:`optimizer_factory` and :func:`scheduler_factory` turn a configuration into what
``Model.compile`` takes.

Example:
    .. code-block:: python

        import torch
        from optuna_recipes.adapters.torch import Model
        from optuna_recipes.adapters.torch.training import DEFAULT_PARAMS, optimizer_factory

        params = {**DEFAULT_PARAMS, "optimizer": "sgd", "lr": 0.05}
        model = Model(torch.nn.Linear(3, 1)).compile(optimizer_factory(params), "mse")
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
import contextlib
from typing import Any

import torch

from optuna_recipes._validation import check_choice
from optuna_recipes._validation import check_int

#: A configuration's values where neither the search space nor ``fixed_params`` sets them.
DEFAULT_PARAMS: dict[str, Any] = {
    "optimizer": "adam",
    "lr": 1e-3,
    "batch_size": 64,
    "weight_decay": 0.0,
    "momentum": 0.9,
    "lr_schedule": "constant",
}
OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {
    "adam": torch.optim.Adam,
    "adamw": torch.optim.AdamW,
    "sgd": torch.optim.SGD,
}
SCHEDULES = ("constant", "cosine", "exponential")


def check_params(params: Mapping[str, Any], where: str) -> None:
    """Refuse a configuration that cannot train; messages start with ``where``."""
    try:
        check_choice("optimizer", params["optimizer"], sorted(OPTIMIZERS))
        check_choice("lr_schedule", params["lr_schedule"], SCHEDULES)
        check_int("batch_size", params["batch_size"], minimum=1)
    except ValueError as err:
        raise ValueError(f"{where}: {err}") from None


def optimizer_factory(params: Mapping[str, Any]) -> Callable[[Any], torch.optim.Optimizer]:
    """``parameters -> optimizer`` of the configuration (``momentum`` only for SGD)."""
    opt_cls = OPTIMIZERS[params["optimizer"]]
    kwargs: dict[str, Any] = {"lr": params["lr"], "weight_decay": params["weight_decay"]}
    if params["optimizer"] == "sgd":
        kwargs["momentum"] = params["momentum"]
    return lambda parameters: opt_cls(parameters, **kwargs)


def scheduler_factory(params: Mapping[str, Any], epochs: int) -> Callable[[Any], Any] | None:
    """``optimizer -> scheduler`` of the configuration over ``epochs`` (``None``: constant).

    ``"cosine"`` anneals to 0 over the epochs; ``"exponential"`` decays the rate to 1% of its
    start at the last epoch.
    """
    schedule = params["lr_schedule"]
    if schedule == "cosine":
        return lambda opt: torch.optim.lr_scheduler.CosineAnnealingLR(opt, T_max=epochs)
    if schedule == "exponential":
        return lambda opt: torch.optim.lr_scheduler.ExponentialLR(opt, gamma=0.01 ** (1 / epochs))
    return None


@contextlib.contextmanager
def torch_threads(threads: int) -> Iterator[None]:
    """Run the block with ``torch.set_num_threads(threads)``, restoring the previous count
    (a process-wide setting: trials running at once in threads share it)."""
    previous = torch.get_num_threads()
    torch.set_num_threads(threads)
    try:
        yield
    finally:
        torch.set_num_threads(previous)
