"""Keras-style wrapper around an ``nn.Module``: ``compile``, ``fit``, ``evaluate``, ``predict``.

:class:`Model` is what users train; :class:`TrainingRun` is one run of it stepped an epoch at a
time (``Model.fit`` loops over one, the objective steps several folds in lockstep).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Sequence
import contextlib
from typing import Any
import warnings

import torch
from torch import nn

from optuna_recipes._validation import check_int
from optuna_recipes.adapters.torch.callbacks import Callback
from optuna_recipes.adapters.torch.callbacks import History
from optuna_recipes.adapters.torch.callbacks import Logs
from optuna_recipes.adapters.torch.data import Source
from optuna_recipes.adapters.torch.data import check_source
from optuna_recipes.adapters.torch.data import forward
from optuna_recipes.adapters.torch.data import make_source
from optuna_recipes.adapters.torch.metrics import LossFn
from optuna_recipes.adapters.torch.metrics import LossSpec
from optuna_recipes.adapters.torch.metrics import Metric
from optuna_recipes.adapters.torch.metrics import device_metric
from optuna_recipes.adapters.torch.metrics import metric_higher_is_better
from optuna_recipes.adapters.torch.metrics import read_states
from optuna_recipes.adapters.torch.metrics import resolve_loss

OptimizerArg = str | torch.optim.Optimizer | Callable[[Any], torch.optim.Optimizer]
SchedulerArg = Any  # an LRScheduler, or a callable optimizer -> LRScheduler

# Defaults follow Keras (Adam/AdamW/RMSprop 1e-3) and common SGD practice (1e-2).
_OPTIMIZERS: dict[str, tuple[type[torch.optim.Optimizer], dict[str, Any]]] = {
    "adam": (torch.optim.Adam, {"lr": 1e-3}),
    "adamw": (torch.optim.AdamW, {"lr": 1e-3}),
    "sgd": (torch.optim.SGD, {"lr": 1e-2}),
    "rmsprop": (torch.optim.RMSprop, {"lr": 1e-3}),
}


def resolve_device(device: str | torch.device) -> torch.device:
    """``"auto"`` -> CUDA when available, else CPU; anything else -> ``torch.device(device)``."""
    if isinstance(device, str) and device == "auto":
        return torch.device("cuda" if torch.cuda.is_available() else "cpu")
    try:
        resolved = torch.device(device)
    except (RuntimeError, TypeError) as err:
        raise ValueError(
            f"`device` must be 'auto', 'cpu', 'cuda' or 'cuda:N'; got {device!r}."
        ) from err
    if resolved.type == "cuda" and not torch.cuda.is_available():
        raise ValueError(f"`device` is {device!r} but CUDA is not available; use 'auto' or 'cpu'.")
    return resolved


def amp_dtype(amp: bool | str, device: torch.device) -> torch.dtype | None:
    """The autocast dtype of ``amp`` on ``device`` (``None``: full precision; warns on CPU)."""
    if amp not in (False, True, "bf16", "fp16"):
        raise ValueError(f"`amp` must be False, True, 'bf16' or 'fp16'; got {amp!r}.")
    if amp is False:
        return None
    if device.type != "cuda":
        warnings.warn(
            f"`amp={amp!r}` only applies on CUDA; training on {device} in full precision.",
            stacklevel=3,
        )
        return None
    if amp == "fp16" or (amp is True and not torch.cuda.is_bf16_supported()):
        return torch.float16
    return torch.bfloat16


def _float_dtype(module: nn.Module) -> torch.dtype:
    for p in module.parameters():
        if p.is_floating_point():
            return p.dtype
    return torch.get_default_dtype()


class Model:
    """Keras-style training for any ``nn.Module``: ``compile`` once, then ``fit``, ``evaluate``
    and ``predict`` on tensors, numpy arrays, a ``Dataset`` or a ``DataLoader``.

    Choose it to train a PyTorch model without writing the loop each time, with per-epoch
    history, validation, callbacks (:class:`EarlyStopping` with best-weight restore, Optuna
    pruning) and checked inputs. In-memory data moves to the device once and batches are
    slices of it; metrics accumulate on the device and are read once per epoch, so the loop
    runs at the speed of a hand-written one. It does not need Optuna.

    Losses take the model's raw outputs (logits): ``"cross_entropy"`` (labels or class
    probabilities), ``"nll"``, ``"bce_with_logits"``, ``"mse"``, ``"mae"``, ``"huber"`` (and
    Keras aliases such as ``"sparse_categorical_crossentropy"``), or any callable
    ``fn(pred, target) -> scalar``. Metrics: ``"accuracy"``, ``"mse"``, ``"rmse"``, ``"mae"``,
    ``"r2"``, ``"loss"``, or a callable returning a batch mean.

    Example:
        .. code-block:: python

            import torch
            from sklearn.datasets import load_digits
            from optuna_recipes.adapters.torch import EarlyStopping, Model

            x, y = load_digits(return_X_y=True)
            x = x / 16.0
            net = torch.nn.Sequential(
                torch.nn.Linear(64, 128), torch.nn.ReLU(), torch.nn.Linear(128, 10)
            )
            model = Model(net, seed=0).compile("adam", "cross_entropy", metrics=["accuracy"])
            history = model.fit(
                x[:1500], y[:1500], epochs=20, batch_size=64,
                validation_data=(x[1500:], y[1500:]),
                callbacks=[EarlyStopping("val_accuracy", patience=3, restore_best_weights=True)],
            )
            print(model.evaluate(x[1500:], y[1500:]))  # {'loss': ..., 'accuracy': ...}
            logits = model.predict(x[1500:])

    Args:
        module: The network. It is moved to ``device``.
        device: ``"cpu"`` (default), ``"cuda"``, ``"cuda:N"`` or ``"auto"`` (CUDA when
            available, else CPU).
        amp: Mixed precision on CUDA: ``True`` (bfloat16 where supported, else float16),
            ``"bf16"``, ``"fp16"`` (with a gradient scaler, which synchronises once per step
            unless the optimizer is fused) or ``False`` (default). Ignored with a warning on CPU.
        seed: Seeds shuffling and dropout in ``fit`` without touching the global RNG state;
            with a seed, training on CPU is deterministic. Default ``None`` (global RNG).
    """

    def __init__(
        self,
        module: nn.Module,
        *,
        device: str | torch.device = "cpu",
        amp: bool | str = False,
        seed: int | None = None,
    ) -> None:
        if not isinstance(module, nn.Module):
            raise ValueError(f"`module` must be a torch.nn.Module; got {type(module).__name__}.")
        self.seed = check_int("seed", seed, allow_none=True)
        self.device = resolve_device(device)
        self.amp_dtype = amp_dtype(amp, self.device)
        self.module = module.to(self.device)
        self.optimizer: torch.optim.Optimizer | None = None
        self.scheduler: Any = None
        self.loss: LossSpec | None = None
        self.metrics: list[Metric] = []
        self.stop_training = False
        self.history: History | None = None
        self._log_keys: set[str] = set()

    def __repr__(self) -> str:
        loss = self.loss.name if self.loss else None
        return (
            f"Model({type(self.module).__name__}, device={str(self.device)!r}, loss={loss!r}, "
            f"metrics={[m.name for m in self.metrics]})"
        )

    # ------------------------------------------------------------------ compile
    def compile(
        self,
        optimizer: OptimizerArg = "adam",
        loss: str | LossFn = "cross_entropy",
        metrics: Sequence[str | Metric | LossFn] | None = None,
        *,
        scheduler: SchedulerArg = None,
    ) -> Model:
        """Choose the optimizer, the loss and the metrics; returns the model itself.

        Args:
            optimizer: ``"adam"`` (default), ``"adamw"``, ``"sgd"``, ``"rmsprop"`` (default
                learning rates), an optimizer built on ``module.parameters()``, or a callable
                ``params -> optimizer`` such as ``functools.partial(torch.optim.SGD, lr=0.1)``.
            loss: A loss name (see the class docs), an ``nn.Module`` loss or a callable
                ``fn(pred, target) -> scalar``. Default ``"cross_entropy"``.
            metrics: Names, :class:`Metric` objects or callables; computed on training batches
                and on validation data. Default none.
            scheduler: A learning-rate scheduler, or a callable ``optimizer -> scheduler``,
                stepped once per epoch (``ReduceLROnPlateau`` with ``val_loss``, else
                ``loss``). Default none.
        """
        self.loss = resolve_loss(loss)
        resolved = [device_metric(m, self.loss) for m in (metrics or [])]
        names = [m.name for m in resolved]
        if len(set(names)) != len(names) or "loss" in names:
            raise ValueError(f"`metrics` must have distinct names other than 'loss'; got {names}.")
        self.metrics = resolved
        self.optimizer = self._make_optimizer(optimizer)
        if scheduler is not None and not hasattr(scheduler, "step"):
            scheduler = scheduler(self.optimizer)
        self.scheduler = scheduler
        return self

    def _make_optimizer(self, optimizer: OptimizerArg) -> torch.optim.Optimizer:
        if isinstance(optimizer, torch.optim.Optimizer):
            return optimizer
        if isinstance(optimizer, str):
            key = optimizer.lower()
            if key not in _OPTIMIZERS:
                raise ValueError(
                    f"Unknown `optimizer` {optimizer!r}; valid names are {sorted(_OPTIMIZERS)}, "
                    "or pass an optimizer or a callable params -> optimizer."
                )
            cls, kwargs = _OPTIMIZERS[key]
            return cls(self.module.parameters(), **kwargs)
        if callable(optimizer):
            built = optimizer(self.module.parameters())
            if not isinstance(built, torch.optim.Optimizer):
                raise ValueError(
                    f"The `optimizer` callable must return a torch.optim.Optimizer; "
                    f"got {type(built).__name__}."
                )
            return built
        raise ValueError(
            f"`optimizer` must be a name, an optimizer or a callable; got {optimizer!r}."
        )

    def _require_compiled(self) -> LossSpec:
        if self.loss is None or self.optimizer is None:
            raise ValueError("Call `compile(optimizer=..., loss=...)` before training.")
        return self.loss

    # ------------------------------------------------------------------ data checks
    def _source(self, x: Any, y: Any, name: str, targets: bool = True) -> Source:
        loss = self._require_compiled() if targets else self.loss
        kind = loss.kind if (targets and loss is not None) else None
        source = make_source(
            x, y, device=self.device, float_dtype=_float_dtype(self.module), kind=kind, name=name
        )
        if targets:
            check_source(self.module, self._require_compiled(), source, name)
        return source

    # ------------------------------------------------------------------ logs
    def check_log_key(self, key: str, who: str) -> None:
        """Raise ``ValueError`` (naming ``who``) when the running fit does not log ``key``."""
        if key not in self._log_keys:
            raise ValueError(
                f"{who}: {key!r} is not logged by this fit; available: {sorted(self._log_keys)}."
            )

    def higher_is_better(self, key: str) -> bool:
        """Whether the logged quantity ``key`` (``"val_accuracy"``, ``"loss"``, ...) improves
        upwards: from the compiled metric of that name, else from the metric vocabulary."""
        name = key[4:] if key.startswith("val_") else key
        for m in self.metrics:
            if m.name == name:
                return m.higher_is_better
        return bool(metric_higher_is_better(name))

    # ------------------------------------------------------------------ training
    def fit(
        self,
        x: Any,
        y: Any = None,
        *,
        epochs: int = 1,
        batch_size: int = 32,
        validation_data: Any = None,
        validation_batch_size: int | None = None,
        callbacks: Iterable[Callback] | None = None,
        shuffle: bool = True,
        verbose: int = 0,
    ) -> History:
        """Train for ``epochs`` epochs; returns the :class:`History` of per-epoch logs.

        Args:
            x: Inputs (tensor, numpy array, pandas frame), or a ``Dataset`` / ``DataLoader``
                yielding ``(x, y)`` pairs (then leave ``y`` out). A ``DataLoader`` keeps its own
                batch size and shuffling.
            y: Targets for array inputs.
            epochs: Number of epochs (``>= 1``). Default ``1``.
            batch_size: Samples per step (``>= 1``). Default ``32``.
            validation_data: ``(x_val, y_val)``, a ``Dataset`` or a ``DataLoader``; adds
                ``val_loss`` and ``val_<metric>`` to the logs. Default none.
            validation_batch_size: Batch size for validation. Default: ``batch_size``.
            callbacks: :class:`Callback` objects (e.g. :class:`EarlyStopping`).
            shuffle: Shuffle the training data every epoch. Default ``True``.
            verbose: ``1`` prints one line per epoch. Default ``0``.
        """
        check_int("epochs", epochs, minimum=1)
        check_int("batch_size", batch_size, minimum=1)
        val_bs = validation_batch_size or batch_size
        train = self._source(x, y, "x")
        val = None if validation_data is None else self._validation_source(validation_data)
        run = TrainingRun(
            self, train, val, batch_size=batch_size, val_batch_size=val_bs, shuffle=shuffle
        )
        callbacks = list(callbacks or [])
        history = History()
        self.history = history
        self.stop_training = False
        for cb in callbacks:
            cb.set_model(self)
        for cb in callbacks:
            cb.on_train_begin()
        for epoch in range(epochs):
            for cb in callbacks:
                cb.on_epoch_begin(epoch)
            logs = run.step()
            history.append(epoch, logs)
            if verbose:
                print(
                    f"epoch {epoch + 1}/{epochs} "
                    + " ".join(f"{k}={v:.4g}" for k, v in logs.items())
                )
            for cb in callbacks:
                cb.on_epoch_end(epoch, logs)
            if self.stop_training:
                break
        for cb in callbacks:
            cb.on_train_end()
        return history

    def _validation_source(self, data: Any) -> Source:
        if isinstance(data, (tuple, list)):
            if len(data) != 2:
                raise ValueError(
                    f"`validation_data` must be (x_val, y_val), a Dataset or a DataLoader; got a "
                    f"{type(data).__name__} of length {len(data)}."
                )
            return self._source(data[0], data[1], "validation_data")
        return self._source(data, None, "validation_data")

    def autocast(self) -> Any:
        """A context manager running the model in its mixed precision (``amp``), or a no-op."""
        if self.amp_dtype is None:
            return contextlib.nullcontext()
        return torch.autocast(device_type=self.device.type, dtype=self.amp_dtype)

    def _train_epoch(
        self,
        source: Source,
        batch_size: int,
        shuffle: bool,
        gen: torch.Generator | None,
        cpu_gen: torch.Generator | None,
        train_metrics: bool = True,
    ) -> Logs:
        loss_spec = self._require_compiled()
        optimizer = self.optimizer
        assert optimizer is not None
        module, loss_fn = self.module, loss_spec.fn
        metrics = self.metrics if train_metrics else []
        scaler = self._scaler()
        for m in metrics:
            m.reset()
        module.train()
        losses: list[torch.Tensor] = []
        sizes: list[int] = []
        for batch in source.batches(batch_size, shuffle, gen, cpu_gen):
            xb, yb = batch[0], batch[1]
            optimizer.zero_grad(set_to_none=True)
            with self.autocast():
                out = forward(module, xb)
                # A weighted source yields (x, y, w): the per-sample loss times the weights.
                loss = (
                    loss_fn(out, yb) if len(batch) == 2 else loss_spec.weighted(out, yb, batch[2])
                )
            if scaler is None:
                loss.backward()
                optimizer.step()
            else:
                scaler.scale(loss).backward()
                scaler.step(optimizer)
                scaler.update()
            losses.append(loss.detach())
            sizes.append(yb.shape[0])
            for m in metrics:
                m.update(out.detach(), yb)
        if not losses:
            raise ValueError("`x` produced no batches; the training data is empty.")
        weights = torch.tensor(sizes, device=self.device, dtype=torch.float32)
        mean_loss = (torch.stack(losses).float() * weights).sum() / sum(sizes)
        values = read_states(metrics, extra=[mean_loss])
        logs: Logs = {"loss": values[-1]}
        logs.update({m.name: v for m, v in zip(metrics, values, strict=False)})
        logs["lr"] = float(optimizer.param_groups[0]["lr"])
        return logs

    def _scaler(self) -> Any:
        if self.amp_dtype != torch.float16:
            return None
        if not hasattr(self, "_grad_scaler"):
            if hasattr(torch.amp, "GradScaler"):  # torch >= 2.3
                self._grad_scaler = torch.amp.GradScaler(self.device.type)
            else:
                self._grad_scaler = torch.cuda.amp.GradScaler()
        return self._grad_scaler

    def _step_scheduler(self, logs: Logs) -> None:
        if self.scheduler is None:
            return
        if isinstance(self.scheduler, torch.optim.lr_scheduler.ReduceLROnPlateau):
            self.scheduler.step(logs.get("val_loss", logs["loss"]))
        else:
            self.scheduler.step()

    # ------------------------------------------------------------------ inference
    def _evaluate_source(self, source: Source, batch_size: int) -> Logs:
        loss_spec = self._require_compiled()
        metrics = [device_metric("loss", loss_spec), *self.metrics]
        for m in metrics:
            m.reset()
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad(), self.autocast():
                for xb, yb in source.batches(batch_size, shuffle=False):
                    out = forward(self.module, xb)
                    for m in metrics:
                        m.update(out, yb)
        finally:
            self.module.train(was_training)
        values = read_states(metrics)
        return {m.name: v for m, v in zip(metrics, values, strict=True)}

    def evaluate(self, x: Any, y: Any = None, *, batch_size: int = 256) -> dict[str, float]:
        """Loss and metrics on data (same forms as ``fit``): ``{"loss": ..., name: ...}``."""
        return self._evaluate_source(self._source(x, y, "x"), batch_size)

    def predict(self, x: Any, *, batch_size: int = 256) -> torch.Tensor:
        """Raw model outputs (e.g. logits) for inputs ``x`` (array, tensor, ``Dataset`` or
        ``DataLoader``; pairs ``(x, y)`` use their ``x``), as a CPU tensor."""
        source = self._source(x, None, "x", targets=False)
        was_training = self.module.training
        self.module.eval()
        try:
            with torch.no_grad(), self.autocast():
                outs = [forward(self.module, xb).float() for xb in source.inputs(batch_size)]
        finally:
            self.module.train(was_training)
        if not outs:
            raise ValueError("`x` is empty; nothing to predict.")
        return torch.cat(outs).cpu()

    def state_dict(self) -> dict[str, Any]:
        """The wrapped module's ``state_dict``."""
        return self.module.state_dict()

    def load_state_dict(self, state: dict[str, Any]) -> None:
        """Load weights into the wrapped module (from ``state_dict`` or ``torch.load``)."""
        self.module.load_state_dict(state)


class TrainingRun:
    """One training run, stepped an epoch at a time: ``Model.fit`` loops over it, and
    ``TorchObjective`` steps several folds in lockstep.

    The data sources are prepared (and moved to the device) once. With a seed, the run owns its
    shuffling generators and its own stream of the global RNG (dropout), swapped in for each
    epoch, so interleaved runs stay deterministic and the caller's RNG state is untouched.

    Example:
        .. code-block:: python

            import torch
            from optuna_recipes.adapters.torch import Model
            from optuna_recipes.adapters.torch.data import make_source
            from optuna_recipes.adapters.torch.model import TrainingRun

            model = Model(torch.nn.Linear(3, 1), seed=0).compile("sgd", "mse")
            data = make_source(torch.randn(64, 3), torch.randn(64, 1), device=model.device,
                               float_dtype=torch.float32, kind="regression", name="x")
            run = TrainingRun(model, data, None, batch_size=16, val_batch_size=16)
            run.step()["loss"]  # one epoch
    """

    def __init__(
        self,
        model: Model,
        train: Source,
        val: Source | None,
        *,
        batch_size: int,
        val_batch_size: int,
        shuffle: bool = True,
        train_metrics: bool = True,
    ) -> None:
        self.model = model
        self.train = train
        self.val = val
        self.batch_size = batch_size
        self.val_batch_size = val_batch_size
        self.shuffle = shuffle
        self.train_metrics = train_metrics
        self.epoch = 0
        metrics = model.metrics if train_metrics else []
        model._log_keys = {"loss", "lr", *(m.name for m in metrics)}
        if val is not None:
            model._log_keys |= {"val_loss", *(f"val_{m.name}" for m in model.metrics)}
        self.gen: torch.Generator | None = None
        self.cpu_gen: torch.Generator | None = None
        self._rng_states: tuple[torch.Tensor, torch.Tensor | None] | None = None
        if model.seed is not None:
            self.gen = torch.Generator(device=model.device).manual_seed(model.seed)
            self.cpu_gen = torch.Generator().manual_seed(model.seed)

    @contextlib.contextmanager
    def _rng(self) -> Any:
        seed = self.model.seed
        if seed is None:
            yield
            return
        device = self.model.device
        cuda = device.type == "cuda"
        index = (
            device.index
            if device.index is not None
            else torch.cuda.current_device()
            if cuda
            else 0
        )
        with torch.random.fork_rng(devices=[index] if cuda else []):
            if self._rng_states is None:
                # Seed only the streams this run uses (torch.manual_seed would reseed every
                # CUDA device, outside what fork_rng restores).
                torch.default_generator.manual_seed(seed)
                if cuda:
                    with torch.cuda.device(index):
                        torch.cuda.manual_seed(seed)
            else:
                cpu_state, cuda_state = self._rng_states
                torch.set_rng_state(cpu_state)
                if cuda_state is not None:
                    torch.cuda.set_rng_state(cuda_state, index)
            yield
            self._rng_states = (
                torch.get_rng_state(),
                torch.cuda.get_rng_state(index) if cuda else None,
            )

    def step(self) -> Logs:
        """Train one epoch (then validate); returns the epoch's logs."""
        model = self.model
        with self._rng():
            logs = model._train_epoch(
                self.train,
                self.batch_size,
                self.shuffle,
                self.gen,
                self.cpu_gen,
                train_metrics=self.train_metrics,
            )
            if self.val is not None:
                val_logs = model._evaluate_source(self.val, self.val_batch_size)
                logs.update({f"val_{k}": v for k, v in val_logs.items()})
        model._step_scheduler(logs)
        self.epoch += 1
        return logs
