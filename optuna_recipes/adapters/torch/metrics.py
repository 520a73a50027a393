"""Losses and metrics by name for the Keras-style PyTorch model.

Metrics accumulate sums in tensors on the training device; the host reads them once per epoch
(:func:`read_states`), so a metric never forces a host-device synchronisation per batch. Batch
sizes are shape metadata, known on the host without a synchronisation. Metric names, aliases
and directions are the adapters' one vocabulary (:mod:`optuna_recipes.adapters._base.metrics`):
``"accuracy"`` here is the ``"accuracy"`` a boosting objective validates with.

Example:
    .. code-block:: python

        import torch
        from optuna_recipes.adapters.torch.metrics import device_metric, resolve_loss

        acc = device_metric("acc", resolve_loss("cross_entropy"))
        acc.update(torch.tensor([[2.0, 0.0], [0.0, 1.0]]), torch.tensor([0, 0]))
        acc.result(acc.state.tolist())  # 0.5
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import copy
from dataclasses import dataclass
import math
from typing import Any

import torch
from torch import nn

from optuna_recipes.adapters._base.metrics import ALIASES
from optuna_recipes.adapters._base.metrics import MAXIMIZE
from optuna_recipes.adapters._base.metrics import canonical_name
from optuna_recipes.adapters._base.metrics import direction_of

LossFn = Callable[[torch.Tensor, torch.Tensor], torch.Tensor]

# What a loss expects: "multiclass" (logits (n, C), integer labels (n,) or probabilities (n, C)),
# "binary" (logits (n,) or (n, 1), targets in [0, 1]), "regression" (same shape as the output),
# "custom" (a user callable: only the batch sizes are checked).
MULTICLASS = "multiclass"
BINARY = "binary"
REGRESSION = "regression"
CUSTOM = "custom"

_LOSSES: dict[str, tuple[Callable[[], nn.Module], str]] = {
    "cross_entropy": (nn.CrossEntropyLoss, MULTICLASS),
    "nll": (nn.NLLLoss, MULTICLASS),
    "bce_with_logits": (nn.BCEWithLogitsLoss, BINARY),
    "mse": (nn.MSELoss, REGRESSION),
    "mae": (nn.L1Loss, REGRESSION),
    "huber": (nn.HuberLoss, REGRESSION),
}
_LOSS_ALIASES = {
    "crossentropy": "cross_entropy",
    "categorical_crossentropy": "cross_entropy",
    "sparse_categorical_crossentropy": "cross_entropy",
    "binary_crossentropy": "bce_with_logits",
    "mean_squared_error": "mse",
    "mean_absolute_error": "mae",
    "l1": "mae",
}


@dataclass(frozen=True)
class LossSpec:
    """A resolved loss: the callable, its name (for messages), what it expects and, for the
    built-in losses, the same loss per sample (``per_sample(pred, target) -> (n,)``, for
    sample weights; ``None`` for a user callable)."""

    fn: LossFn
    name: str
    kind: str
    per_sample: LossFn | None = None

    def weighted(self, pred: torch.Tensor, target: torch.Tensor, weight: torch.Tensor) -> Any:
        """The batch mean of the per-sample loss times ``weight`` (Keras' convention)."""
        assert self.per_sample is not None
        return (self.per_sample(pred, target) * weight).mean()


class _PerSample:
    """A loss module without its reduction, averaged over all but the batch axis (picklable)."""

    def __init__(self, loss: nn.Module) -> None:
        self.loss = copy.copy(loss)
        self.loss.reduction = "none"  # type: ignore[assignment]  # nn.Module's __setattr__

    def __call__(self, pred: torch.Tensor, target: torch.Tensor) -> torch.Tensor:
        values = self.loss(pred, target)
        return values.reshape(values.shape[0], -1).mean(dim=1)


def resolve_loss(loss: str | LossFn) -> LossSpec:
    """Turn a loss name, an ``nn.Module`` loss or a callable into a :class:`LossSpec`."""
    if isinstance(loss, str):
        key = _LOSS_ALIASES.get(loss.lower(), loss.lower())
        if key not in _LOSSES:
            valid = sorted([*_LOSSES, *_LOSS_ALIASES])
            raise ValueError(
                f"Unknown `loss` {loss!r}; valid names are {valid}, or pass a callable."
            )
        factory, kind = _LOSSES[key]
        module = factory()
        return LossSpec(module, key, kind, _PerSample(module))
    for key, (factory, kind) in _LOSSES.items():
        if isinstance(loss, nn.Module) and type(loss) is factory:
            return LossSpec(loss, key, kind, _PerSample(loss))
    if callable(loss):
        return LossSpec(loss, getattr(loss, "__name__", type(loss).__name__), CUSTOM)
    raise ValueError(f"`loss` must be a name or a callable; got {type(loss).__name__}.")


class Metric:
    """A metric accumulated on the device: ``update`` per batch, ``result`` once per epoch.

    Subclass it for a metric that is not a batch mean: ``update`` adds running sums to the
    device state with ``self._add(sums, count)`` (no host synchronisation), ``result`` turns
    the sums, read once per epoch, into the value. For a batch-mean metric, passing a function
    ``fn(pred, target) -> tensor`` to ``compile(metrics=...)`` is enough.

    Example:
        .. code-block:: python

            import torch
            from optuna_recipes.adapters.torch import Metric, Model


            class MaxError(Metric):
                name = "max_error"

                def update(self, pred, target):
                    err = (pred - target).abs().max().reshape(1)
                    self.state = err if self.state is None else torch.maximum(self.state, err)
                    self.count += pred.shape[0]

                def result(self, state):
                    return state[0]


            x = torch.randn(100, 3)
            model = Model(torch.nn.Linear(3, 1)).compile("sgd", "mse", metrics=[MaxError()])
            model.evaluate(x, x.sum(1, keepdim=True))  # {'loss': ..., 'max_error': ...}
    """

    name: str = ""
    higher_is_better: bool = False
    kinds: tuple[str, ...] = (MULTICLASS, BINARY, REGRESSION, CUSTOM)

    def __init__(self) -> None:
        self.state: torch.Tensor | None = None
        self.count = 0

    def reset(self) -> None:
        self.state = None
        self.count = 0

    def _add(self, values: torch.Tensor, count: int) -> None:
        values = values.detach().float().reshape(-1)
        self.state = values if self.state is None else self.state + values
        self.count += count

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        raise NotImplementedError

    def result(self, state: Sequence[float]) -> float:
        raise NotImplementedError


class Accuracy(Metric):
    """Share of correct predictions; logits (n, C) use argmax, (n,) or (n, 1) use ``> 0``."""

    name = "accuracy"
    higher_is_better = direction_of(name) == MAXIMIZE
    kinds = (MULTICLASS, BINARY, CUSTOM)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        if pred.ndim == 2 and pred.shape[1] > 1:
            labels = target.argmax(dim=1) if target.ndim == 2 else target
            correct = pred.argmax(dim=1) == labels
        else:
            correct = (pred.reshape(-1) > 0) == (target.reshape(-1) > 0.5)
        self._add(correct.sum(), correct.numel())

    def result(self, state: Sequence[float]) -> float:
        return state[0] / self.count


class MeanSquaredError(Metric):
    name = "mse"
    kinds = (REGRESSION, CUSTOM)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        diff = pred.float() - target.float()
        self._add((diff * diff).sum(), diff.numel())

    def result(self, state: Sequence[float]) -> float:
        return state[0] / self.count


class RootMeanSquaredError(MeanSquaredError):
    name = "rmse"

    def result(self, state: Sequence[float]) -> float:
        return math.sqrt(state[0] / self.count)


class MeanAbsoluteError(Metric):
    name = "mae"
    kinds = (REGRESSION, CUSTOM)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        diff = pred.float() - target.float()
        self._add(diff.abs().sum(), diff.numel())

    def result(self, state: Sequence[float]) -> float:
        return state[0] / self.count


class R2(Metric):
    """Coefficient of determination, averaged over output columns (scikit-learn's default)."""

    name = "r2"
    higher_is_better = direction_of(name) == MAXIMIZE
    kinds = (REGRESSION, CUSTOM)

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        p = pred.float().reshape(pred.shape[0], -1)
        t = target.float().reshape(target.shape[0], -1)
        sums = torch.cat([((p - t) ** 2).sum(0), t.sum(0), (t * t).sum(0)])
        self._add(sums, t.shape[0])

    def result(self, state: Sequence[float]) -> float:
        k = len(state) // 3
        scores = []
        for j in range(k):
            sse, s, s2 = state[j], state[k + j], state[2 * k + j]
            sst = s2 - s * s / self.count
            scores.append(1.0 - sse / sst if sst > 0 else (1.0 if sse == 0 else 0.0))
        return sum(scores) / k


class CallableMetric(Metric):
    """A user metric ``fn(pred, target) -> batch mean``, weighted by batch size."""

    def __init__(self, fn: LossFn, name: str, higher_is_better: bool = False) -> None:
        super().__init__()
        self.fn = fn
        self.name = name
        self.higher_is_better = higher_is_better

    def update(self, pred: torch.Tensor, target: torch.Tensor) -> None:
        n = pred.shape[0]
        self._add(self.fn(pred, target) * n, n)

    def result(self, state: Sequence[float]) -> float:
        return state[0] / self.count


class LossMetric(CallableMetric):
    """The compiled loss as a metric (``"loss"``), e.g. for ``evaluate`` or a monitor."""

    def __init__(self, loss: LossSpec) -> None:
        super().__init__(loss.fn, "loss")


#: Metrics computed on the device, by canonical name (see the module docstring).
DEVICE_METRICS: dict[str, type[Metric]] = {
    "accuracy": Accuracy,
    "mse": MeanSquaredError,
    "rmse": RootMeanSquaredError,
    "mae": MeanAbsoluteError,
    "r2": R2,
}
METRIC_NAMES = sorted([*DEVICE_METRICS, *ALIASES, "loss"])


def metric_higher_is_better(name: str) -> bool | None:
    """Whether a named metric improves upwards (``None`` for unknown names)."""
    direction = direction_of(name)
    return None if direction is None else direction == MAXIMIZE


def device_metric(metric: str | Metric | LossFn, loss: LossSpec) -> Metric:
    """Turn a metric name, a :class:`Metric` or a callable into a fresh :class:`Metric`."""
    if isinstance(metric, Metric):
        return metric
    if isinstance(metric, str):
        key = canonical_name(metric.lower())
        if key == "loss":
            return LossMetric(loss)
        if key not in DEVICE_METRICS:
            raise ValueError(
                f"Unknown metric {metric!r}; valid names are {METRIC_NAMES}, "
                "or pass a callable fn(pred, target) -> batch mean."
            )
        result = DEVICE_METRICS[key]()
        if loss.kind not in result.kinds:
            raise ValueError(
                f"Metric {metric!r} does not apply to the {loss.kind} loss {loss.name!r}; "
                f"it needs one of the kinds {list(result.kinds)}."
            )
        return result
    if callable(metric):
        return CallableMetric(metric, getattr(metric, "__name__", type(metric).__name__))
    raise ValueError(f"A metric must be a name or a callable; got {type(metric).__name__}.")


def read_states(metrics: Sequence[Metric], extra: Sequence[torch.Tensor] = ()) -> list[Any]:
    """Read every metric's device state (and ``extra`` tensors) in one transfer to the host.

    Returns the results of ``metrics`` followed by the values of ``extra`` (as Python floats).
    """
    parts = [t.detach().float().reshape(-1) for t in extra]
    parts += [m.state for m in metrics if m.state is not None]
    flat = torch.cat(parts).tolist() if parts else []
    values: list[Any] = []
    pos = sum(t.numel() for t in extra)
    for m in metrics:
        if m.state is None:
            values.append(math.nan)
            continue
        size = m.state.numel()
        values.append(m.result(flat[pos : pos + size]))
        pos += size
    return values + flat[: sum(t.numel() for t in extra)]
