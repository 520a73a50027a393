"""``mlp(trial, in_features, out_features)``: a multilayer perceptron whose shape is tuned.

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.adapters.torch import mlp

        net = mlp(optuna.trial.FixedTrial({"n_layers": 0}), 8, 2)  # a linear model
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import optuna
from torch import nn

from optuna_recipes._validation import check_int

_ACTIVATIONS: dict[str, type[nn.Module]] = {
    "relu": nn.ReLU,
    "gelu": nn.GELU,
    "silu": nn.SiLU,
    "tanh": nn.Tanh,
    "elu": nn.ELU,
    "leaky_relu": nn.LeakyReLU,
}
_NORMALIZATIONS = ("none", "batch", "layer")


def _suggest(
    trial: optuna.Trial, name: str, spec: Any, *, integer: bool = False, log: bool = False
) -> Any:
    """A tuple ``(low, high)`` is a range, a list is a set of choices, a scalar is fixed."""
    if isinstance(spec, tuple):
        if len(spec) != 2 or not spec[0] <= spec[1]:
            raise ValueError(f"`{name}` range must be (low, high) with low <= high; got {spec!r}.")
        if integer:
            return trial.suggest_int(name, int(spec[0]), int(spec[1]), log=log)
        return trial.suggest_float(name, float(spec[0]), float(spec[1]), log=log)
    if isinstance(spec, list):
        if not spec:
            raise ValueError(f"`{name}` choices must not be empty.")
        return trial.suggest_categorical(name, spec)
    return spec


def _choice(
    trial: optuna.Trial, name: str, spec: str | Sequence[str], valid: Sequence[str]
) -> str:
    choices = [spec] if isinstance(spec, str) else list(spec)
    unknown = [c for c in choices if c not in valid]
    if unknown or not choices:
        raise ValueError(f"`{name}` must be among {list(valid)}; got {spec!r}.")
    return choices[0] if len(choices) == 1 else trial.suggest_categorical(name, choices)


def mlp(
    trial: optuna.Trial,
    in_features: int,
    out_features: int,
    *,
    n_layers: int | tuple[int, int] | list[int] = (1, 3),
    units: int | tuple[int, int] | list[int] = (32, 512),
    activation: str | Sequence[str] = ("relu", "gelu", "silu", "tanh"),
    dropout: float | tuple[float, float] | list[float] = (0.0, 0.5),
    normalization: str | Sequence[str] = ("none", "batch", "layer"),
    prefix: str = "",
) -> nn.Sequential:
    """Build a multilayer perceptron whose depth, widths, activation, dropout and normalization
    are suggested by ``trial``.

    Choose it as the ``build_model`` of :class:`TorchObjective` for tabular data (or any flat
    feature vectors). Each hidden layer is ``Linear -> normalization -> activation -> dropout``;
    the output layer is a plain ``Linear`` returning logits (or regression outputs). Every
    hidden layer gets its own width (``units_0``, ``units_1``, ...; log scale). Numeric
    arguments accept a tuple ``(low, high)`` (a range), a list (choices) or a number (fixed);
    ``activation`` and ``normalization`` accept one name (fixed) or several (tuned).

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.adapters.torch import mlp

            net = mlp(optuna.trial.FixedTrial({"n_layers": 2, "units_0": 64, "units_1": 32,
                      "activation": "relu", "dropout": 0.1, "normalization": "batch"}), 64, 10)
            # In an objective: build_model=lambda trial: mlp(trial, 64, 10, n_layers=(1, 2))

    Args:
        trial: The trial suggesting the architecture (an ``optuna.trial.FixedTrial`` rebuilds
            a known one).
        in_features: Input width (``>= 1``).
        out_features: Output width (``>= 1``): number of classes, or of regression targets.
        n_layers: Hidden layers; default range ``(1, 3)``. ``0`` gives a linear model.
        units: Width of each hidden layer; default range ``(32, 512)``, log scale.
        activation: Among ``"relu"``, ``"gelu"``, ``"silu"``, ``"tanh"``, ``"elu"``,
            ``"leaky_relu"``; default the first four.
        dropout: Dropout probability after each hidden layer, in ``[0, 1)``; default
            ``(0.0, 0.5)``.
        normalization: Among ``"none"``, ``"batch"``, ``"layer"``; default all three.
        prefix: Prefix of the parameter names, to build several networks in one trial.
    """
    check_int("in_features", in_features, minimum=1)
    check_int("out_features", out_features, minimum=1)
    depth = _suggest(trial, f"{prefix}n_layers", n_layers, integer=True)
    if not isinstance(depth, int) or depth < 0:
        raise ValueError(f"`n_layers` must give an integer >= 0; got {depth!r}.")
    if depth == 0:
        return nn.Sequential(nn.Linear(in_features, out_features))
    act = _choice(trial, f"{prefix}activation", activation, list(_ACTIVATIONS))
    norm = _choice(trial, f"{prefix}normalization", normalization, _NORMALIZATIONS)
    p = float(_suggest(trial, f"{prefix}dropout", dropout))
    if not 0.0 <= p < 1.0:
        raise ValueError(f"`dropout` must lie in [0, 1); got {p!r}.")
    layers: list[nn.Module] = []
    width = in_features
    for i in range(depth):
        hidden = int(_suggest(trial, f"{prefix}units_{i}", units, integer=True, log=True))
        if hidden < 1:
            raise ValueError(f"`units` must be >= 1; got {hidden!r}.")
        layers.append(nn.Linear(width, hidden))
        if norm == "batch":
            layers.append(nn.BatchNorm1d(hidden))
        elif norm == "layer":
            layers.append(nn.LayerNorm(hidden))
        layers.append(_ACTIVATIONS[act]())
        if p > 0:
            layers.append(nn.Dropout(p))
        width = hidden
    layers.append(nn.Linear(width, out_features))
    return nn.Sequential(*layers)
