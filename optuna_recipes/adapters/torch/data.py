"""Training data for the Keras-style PyTorch model: arrays, tensors, ``Dataset``, ``DataLoader``.

In-memory data (numpy arrays, tensors, pandas frames, a two-tensor ``TensorDataset``) moves to
the device once; batches are then slices of device tensors, shuffled with ``torch.randperm``
on the device. A ``DataLoader`` per batch costs several times more on a GPU for small models
(see the project's field notes), so it is only used for datasets that need it (custom
``Dataset`` classes, user loaders), with non-blocking copies. :func:`check_source` runs the
network and the loss on two samples before training, so that shape, dtype and label mistakes
are a ``ValueError`` naming the argument.

Example:
    .. code-block:: python

        import torch
        from optuna_recipes.adapters.torch.data import make_source

        source = make_source(torch.randn(10, 3), torch.randint(0, 2, (10,)),
                             device=torch.device("cpu"), float_dtype=torch.float32,
                             kind="multiclass", name="x")
        [xb.shape[0] for xb, _ in source.batches(4, shuffle=False)]  # [4, 4, 2]
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import numpy as np
import torch
from torch import nn
from torch.utils.data import DataLoader
from torch.utils.data import Dataset
from torch.utils.data import TensorDataset

from optuna_recipes.adapters.torch.metrics import BINARY
from optuna_recipes.adapters.torch.metrics import MULTICLASS
from optuna_recipes.adapters.torch.metrics import REGRESSION
from optuna_recipes.adapters.torch.metrics import LossSpec

Batch = tuple[Any, torch.Tensor]


def check_finite_input(x: torch.Tensor, name: str) -> None:
    """Refuse NaN and infinite inputs, naming the feature columns (a network cannot learn from
    them, and they would otherwise surface as a diverged loss)."""
    from optuna_recipes.adapters._base.features import check_finite

    if not x.is_floating_point():
        return

    def columns(mask: torch.Tensor) -> list[int]:
        flat = mask.reshape(mask.shape[0], -1) if mask.ndim > 1 else mask.reshape(-1, 1)
        return torch.nonzero(flat.any(dim=0)).reshape(-1).tolist()

    check_finite(x, columns, name, allow_nan=False, library="a network")


def as_tensor(data: Any, name: str) -> torch.Tensor:
    """Convert an array-like (numpy, pandas, list, tensor) to a CPU or device tensor, no copy
    where possible. Raises ``ValueError`` naming ``name`` for non-numeric data."""
    if isinstance(data, torch.Tensor):
        return data
    if hasattr(data, "to_numpy"):
        data = data.to_numpy()
    arr = np.asarray(data)
    if arr.dtype == object or not (
        np.issubdtype(arr.dtype, np.number) or np.issubdtype(arr.dtype, np.bool_)
    ):
        raise ValueError(f"`{name}` must hold numbers; got an array of dtype {arr.dtype}.")
    return torch.from_numpy(np.ascontiguousarray(arr))


def cast_input(x: torch.Tensor, float_dtype: torch.dtype) -> torch.Tensor:
    """Floating inputs take the model's floating dtype (numpy's float64 -> float32)."""
    return x.to(float_dtype) if x.is_floating_point() and x.dtype != float_dtype else x


def cast_target(y: torch.Tensor, kind: str, name: str) -> torch.Tensor:
    """Give targets the dtype their loss needs, or raise ``ValueError`` saying how to fix them."""
    if kind == MULTICLASS:
        if y.ndim == 1:
            if y.is_floating_point() or y.dtype == torch.bool:
                raise ValueError(
                    f"`{name}` must hold integer class labels for a classification loss; got "
                    f"dtype {y.dtype}. Convert it, e.g. `y.astype('int64')`."
                )
            return y.long()
        if y.ndim == 2 and y.is_floating_point():
            return y.float() if y.dtype == torch.float64 else y
        raise ValueError(
            f"`{name}` for a classification loss must be class labels of shape (n,) or class "
            f"probabilities of shape (n, n_classes); got shape {tuple(y.shape)}, dtype {y.dtype}."
        )
    if kind in (BINARY, REGRESSION):
        return y.float() if not y.is_floating_point() or y.dtype == torch.float64 else y
    return y.float() if y.dtype == torch.float64 else y


class TensorSource:
    """In-memory data on the device, batched by slicing; with per-sample weights ``w``,
    training batches are ``(x, y, w)`` triples."""

    def __init__(
        self, x: torch.Tensor, y: torch.Tensor | None, w: torch.Tensor | None = None
    ) -> None:
        self.x = x
        self.y = y
        self.w = w
        self.n = x.shape[0]

    def probe(self, size: int = 2) -> Batch:
        assert self.y is not None
        return self.x[:size], self.y[:size]

    def batches(
        self,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None = None,
        cpu_generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        x, y, w = self.x, self.y, self.w
        assert y is not None
        if shuffle:
            perm = torch.randperm(self.n, device=x.device, generator=generator)
            for start in range(0, self.n, batch_size):
                idx = perm[start : start + batch_size]
                yield (x[idx], y[idx]) if w is None else (x[idx], y[idx], w[idx])  # type: ignore[misc]
        else:
            for start in range(0, self.n, batch_size):
                part = slice(start, start + batch_size)
                yield (x[part], y[part]) if w is None else (x[part], y[part], w[part])  # type: ignore[misc]

    def inputs(self, batch_size: int) -> Iterator[Any]:
        for start in range(0, self.n, batch_size):
            yield self.x[start : start + batch_size]


def _split_item(batch: Any, name: str) -> tuple[Any, Any]:
    if isinstance(batch, (tuple, list)) and len(batch) == 2:
        return batch[0], batch[1]
    raise ValueError(
        f"Each batch of `{name}` must be an (x, y) pair; got {type(batch).__name__}"
        + (f" of length {len(batch)}" if isinstance(batch, (tuple, list)) else "")
        + "."
    )


def _to_device(x: Any, device: torch.device) -> Any:
    if isinstance(x, torch.Tensor):
        return x.to(device, non_blocking=True)
    if isinstance(x, (tuple, list)):
        return type(x)(_to_device(v, device) for v in x)
    return x


class LoaderSource:
    """A ``DataLoader`` (given, or built around a ``Dataset``) copied to the device per batch."""

    def __init__(
        self,
        loader: DataLoader | None,
        dataset: Dataset | None,
        device: torch.device,
        float_dtype: torch.dtype,
        kind: str | None,
        name: str,
    ) -> None:
        self.loader = loader
        self.dataset = dataset
        self.device = device
        self.float_dtype = float_dtype
        self.kind = kind
        self.name = name
        self.unsqueeze_target = False
        source = dataset if dataset is not None else loader.dataset  # type: ignore[union-attr]
        try:
            self.n: int | None = len(source)  # type: ignore[arg-type]
        except TypeError:
            self.n = None

    def _loader(
        self, batch_size: int, shuffle: bool, cpu_generator: torch.Generator | None
    ) -> DataLoader:
        if self.loader is not None:
            return self.loader
        return DataLoader(
            self.dataset,  # type: ignore[arg-type]
            batch_size=batch_size,
            shuffle=shuffle,
            generator=cpu_generator if shuffle else None,
        )

    def _convert(self, batch: Any) -> Batch:
        xb, yb = _split_item(batch, self.name)
        xb = _to_device(xb, self.device)
        if isinstance(xb, torch.Tensor):
            xb = cast_input(xb, self.float_dtype)
        yb = as_tensor(yb, f"{self.name} targets").to(self.device, non_blocking=True)
        if self.kind is not None:
            yb = cast_target(yb, self.kind, f"{self.name} targets")
        if self.unsqueeze_target:
            yb = yb.unsqueeze(1)
        return xb, yb

    def probe(self, size: int = 2) -> Batch:
        return self._convert(next(iter(self._loader(size, False, None))))

    def batches(
        self,
        batch_size: int,
        shuffle: bool,
        generator: torch.Generator | None = None,
        cpu_generator: torch.Generator | None = None,
    ) -> Iterator[Batch]:
        for batch in self._loader(batch_size, shuffle, cpu_generator):
            yield self._convert(batch)

    def inputs(self, batch_size: int) -> Iterator[Any]:
        for batch in self._loader(batch_size, False, None):
            if isinstance(batch, (tuple, list)) and len(batch) == 2:
                batch = batch[0]
            xb = _to_device(batch, self.device)
            yield cast_input(xb, self.float_dtype) if isinstance(xb, torch.Tensor) else xb


Source = TensorSource | LoaderSource


def make_source(
    x: Any,
    y: Any,
    *,
    device: torch.device,
    float_dtype: torch.dtype,
    kind: str | None,
    name: str,
) -> Source:
    """Wrap user data as a batch source on ``device``; ``kind`` is the loss kind (or ``None``
    when no targets are needed). Raises ``ValueError`` for empty or inconsistent data."""
    if isinstance(x, TensorDataset) and len(x.tensors) == 2 and y is None:
        x, y = x.tensors
    if isinstance(x, (DataLoader, Dataset)):
        if y is not None:
            raise ValueError(
                f"`{name}` is a {type(x).__name__} that yields (x, y) pairs; do not pass `y` too."
            )
        loader = x if isinstance(x, DataLoader) else None
        dataset = None if isinstance(x, DataLoader) else x
        source = LoaderSource(loader, dataset, device, float_dtype, kind, name)
        if source.n == 0:
            raise ValueError(f"`{name}` is empty; it needs at least one sample.")
        return source
    xt = as_tensor(x, f"{name} x")
    if xt.ndim == 0:
        raise ValueError(f"`{name}` x must have a sample axis; got a scalar.")
    if xt.shape[0] == 0:
        raise ValueError(f"`{name}` is empty; it needs at least one sample.")
    yt = None
    if kind is not None:
        if y is None:
            raise ValueError(f"`{name}` needs targets `y` with array inputs.")
        yt = as_tensor(y, f"{name} y")
        if yt.ndim == 0 or yt.shape[0] != xt.shape[0]:
            raise ValueError(
                f"`{name}` x and y must have the same number of samples; got x of shape "
                f"{tuple(xt.shape)} and y of shape {tuple(yt.shape)}."
            )
        yt = cast_target(yt, kind, f"{name} y").to(device)
    return TensorSource(cast_input(xt, float_dtype).to(device), yt)


def check_labels(source: Source, n_classes: int, name: str) -> None:
    """Class labels of in-memory data must lie in ``[0, n_classes)`` (one sync, before training:
    on CUDA an out-of-range label would otherwise be a device-side assert)."""
    if isinstance(source, TensorSource) and source.y is not None and source.y.ndim == 1:
        low, high = int(source.y.min()), int(source.y.max())
        if low < 0 or high >= n_classes:
            raise ValueError(
                f"`{name}` has class labels in [{low}, {high}] but the model outputs "
                f"{n_classes} classes; labels must lie in [0, {n_classes - 1}]."
            )


def forward(module: nn.Module, xb: Any) -> torch.Tensor:
    """``module(xb)``, or ``module(*xb)`` for a batch of several inputs."""
    return module(*xb) if isinstance(xb, (tuple, list)) else module(xb)


def check_source(module: nn.Module, loss: LossSpec, source: Source, name: str) -> None:
    """Run the network and the loss on two samples of ``source``: shape, dtype and label
    mistakes surface here as ``ValueError`` instead of mid-training (or as a CUDA device-side
    assert). ``(n,)`` targets of an ``(n, 1)`` output are aligned in ``source``."""
    xb, yb = source.probe(2)
    was_training = module.training
    module.eval()
    try:
        with torch.no_grad():
            try:
                out = forward(module, xb)
            except Exception as err:
                shape = tuple(xb.shape) if isinstance(xb, torch.Tensor) else type(xb).__name__
                raise ValueError(
                    f"The model cannot run on `{name}` inputs (batch of shape {shape}, "
                    f"dtype {getattr(xb, 'dtype', '?')}): {err}"
                ) from err
            if not isinstance(out, torch.Tensor):
                raise ValueError(
                    f"The model must return a tensor; it returned {type(out).__name__}."
                )
            yb = _align_target(loss, source, out, yb, name)
            if loss.kind == MULTICLASS:
                check_labels(source, out.shape[1], name)
            try:
                loss.fn(out.float(), yb)
            except Exception as err:
                raise ValueError(
                    f"The loss {loss.name!r} cannot compare the model output (shape "
                    f"{tuple(out.shape)}) with `{name}` targets (shape {tuple(yb.shape)}, "
                    f"dtype {yb.dtype}): {err}"
                ) from err
    finally:
        module.train(was_training)


def _align_target(
    loss: LossSpec, source: Source, out: torch.Tensor, yb: torch.Tensor, name: str
) -> torch.Tensor:
    out_shape, y_shape = tuple(out.shape), tuple(yb.shape)
    if loss.kind == MULTICLASS:
        ok = out.ndim == 2 and out.shape[1] >= 2 and (yb.ndim == 1 or y_shape == out_shape)
        if not ok:
            raise ValueError(
                f"The classification loss {loss.name!r} needs model outputs of shape "
                f"(n, n_classes >= 2) and `{name}` labels of shape (n,) or probabilities of "
                f"the output's shape; got outputs {out_shape} and targets {y_shape}."
            )
        return yb
    if loss.kind in (BINARY, REGRESSION):
        if y_shape == out_shape:
            return yb
        if out.ndim == 2 and out.shape[1] == 1 and yb.ndim == 1:
            # (n,) targets against (n, 1) outputs would broadcast to (n, n) silently.
            if isinstance(source, TensorSource):
                source.y = source.y.unsqueeze(1)  # type: ignore[union-attr]
            else:
                source.unsqueeze_target = True
            return yb.unsqueeze(1)
        raise ValueError(
            f"The loss {loss.name!r} needs `{name}` targets of the model output's shape; "
            f"got outputs {out_shape} and targets {y_shape}."
        )
    return yb


def labels_of(dataset: Dataset) -> np.ndarray:
    """Targets of a map-style dataset of (x, y) pairs, read once by indexing."""
    ys = []
    for i in range(len(dataset)):  # type: ignore[arg-type]
        item = dataset[i]
        if not (isinstance(item, (tuple, list)) and len(item) == 2):
            raise ValueError("`train_data` as a Dataset must yield (x, y) pairs.")
        y = item[1]
        ys.append(y.item() if isinstance(y, torch.Tensor) else y)
    return np.asarray(ys)


def _unpack(data: Any, name: str) -> tuple[Any, ...]:
    """``(x, y)`` of in-memory data (``(x, y, w)`` for ``valid_data``), ``(dataset, None)``."""
    if isinstance(data, DataLoader):
        raise ValueError(
            f"`{name}` is a DataLoader, but the objective tunes the batch size; pass its "
            "Dataset (`loader.dataset`) instead."
        )
    if isinstance(data, TensorDataset) and len(data.tensors) == 2:
        return data.tensors[0], data.tensors[1]
    if isinstance(data, Dataset):
        return data, None
    if isinstance(data, (tuple, list)) and len(data) == 2:
        return data[0], data[1]
    if isinstance(data, (tuple, list)) and len(data) == 3 and name == "valid_data":
        return tuple(data)  # (x, y, sample_weight)
    raise ValueError(
        f"`{name}` must be a pair (x, y), a TensorDataset or a Dataset of (x, y) pairs; got "
        f"{type(data).__name__}."
    )


def unpack_data(
    train_data: Any, valid_data: Any
) -> tuple[Any, Any, tuple[Any, ...] | None, Dataset | None, Dataset | None]:
    """``(x, y, validation, dataset, valid_dataset)`` of the objective's data arguments: the
    training features and targets (a Dataset and ``None`` for a map-style Dataset), the
    validation tuple (or ``None``), and the Datasets themselves (or ``None``)."""
    x, y = _unpack(train_data, "train_data")
    dataset = x if isinstance(x, Dataset) and y is None else None
    if valid_data is None:
        return x, y, None, dataset, None
    validation = _unpack(valid_data, "valid_data")
    valid_dataset = validation[0] if isinstance(validation[0], Dataset) else None
    if (dataset is None) != (valid_dataset is None):
        raise ValueError(
            "`train_data` and `valid_data` must both be in-memory (x, y) data or both "
            "Datasets; wrap the arrays in a TensorDataset, or pass arrays for both."
        )
    return x, y, validation, dataset, valid_dataset
