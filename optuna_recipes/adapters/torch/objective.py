"""``TorchObjective``: tune a PyTorch network and its training on the shared adapter core.

Example:
    .. code-block:: python

        import optuna
        from sklearn.datasets import load_digits
        from optuna_recipes.adapters.torch import TorchObjective, mlp

        x, y = load_digits(return_X_y=True)
        objective = TorchObjective(lambda t: mlp(t, 64, 10), (x / 16.0, y), epochs=5)
        study = optuna.create_study(direction=objective.direction)
        study.optimize(objective, n_trials=3)
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Collection
from collections.abc import Mapping
import copy
import math
import os
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
import torch
from torch import nn
from torch.utils.data import Dataset
from torch.utils.data import Subset

from optuna_recipes._validation import check_int
from optuna_recipes.adapters._base.features import check_features
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters._base.metrics import direction_of
from optuna_recipes.adapters._base.objective import BaseObjective
from optuna_recipes.adapters._base.persistence import load_best
from optuna_recipes.adapters._base.persistence import model_file
from optuna_recipes.adapters._base.persistence import save_best
from optuna_recipes.adapters._base.persistence import upload_model_artifact
from optuna_recipes.adapters._base.search_space import suggest_params
from optuna_recipes.adapters._base.settings import ObjectiveSettings
from optuna_recipes.adapters.spaces import TORCH_SPACE
from optuna_recipes.adapters.spaces import torch_space
from optuna_recipes.adapters.torch.data import Source
from optuna_recipes.adapters.torch.data import TensorSource
from optuna_recipes.adapters.torch.data import as_tensor
from optuna_recipes.adapters.torch.data import cast_input
from optuna_recipes.adapters.torch.data import check_finite_input
from optuna_recipes.adapters.torch.data import check_source
from optuna_recipes.adapters.torch.data import labels_of
from optuna_recipes.adapters.torch.data import make_source
from optuna_recipes.adapters.torch.data import unpack_data
from optuna_recipes.adapters.torch.estimator import TorchEstimator
from optuna_recipes.adapters.torch.estimator import compile_model
from optuna_recipes.adapters.torch.metrics import BINARY
from optuna_recipes.adapters.torch.metrics import DEVICE_METRICS
from optuna_recipes.adapters.torch.metrics import MULTICLASS
from optuna_recipes.adapters.torch.metrics import REGRESSION
from optuna_recipes.adapters.torch.metrics import LossFn
from optuna_recipes.adapters.torch.metrics import resolve_loss
from optuna_recipes.adapters.torch.model import Model
from optuna_recipes.adapters.torch.model import TrainingRun
from optuna_recipes.adapters.torch.model import amp_dtype
from optuna_recipes.adapters.torch.model import resolve_device
from optuna_recipes.adapters.torch.training import DEFAULT_PARAMS
from optuna_recipes.adapters.torch.training import check_params
from optuna_recipes.adapters.torch.training import torch_threads

BuildModel = Callable[[optuna.Trial], nn.Module]

# Training hyperparameters searched by default (kept as data with the other adapters' spaces;
# the architecture comes from `build_model`).
DEFAULT_SPACE: dict[str, BaseDistribution] = TORCH_SPACE
# The task a loss implies when `task` is not given (class-label losses leave it to the labels).
_TASK_OF_LOSS = {REGRESSION: "regression", BINARY: "binary"}
# Key under which `_suggest` hands the freshly built module to `_start_fold` (never recorded).
_MODULE = "__module__"


class TorchObjective(BaseObjective):
    """Optuna objective that trains a PyTorch network per trial, tuning its architecture (via
    ``build_model``) and its training (optimizer, learning rate, batch size, weight decay,
    learning-rate schedule).

    Choose it to tune a network on data that fits the ``(x, y)`` or ``Dataset`` mould with one
    call, with any Optuna sampler and pruner. Each epoch's validation metric is reported to the
    trial (mean over folds with ``cv=k``, folds trained in lockstep), so every pruner works;
    training stops early after ``patience`` epochs without improvement and the trial's value
    is the best epoch's. Divergence (a NaN/inf loss or metric) fails only that trial, with the
    reason in its user attr ``fail_reason``; bad input (shapes, dtypes, labels, names, NaN or
    infinite features) raises ``ValueError`` before any training. The shared core
    (:class:`optuna_recipes.adapters.BaseObjective`) supplies validation splits, the
    direction and its check, ``space`` merging, ``timeout``, progress logging, ``refit`` and
    JSON export; :meth:`save_best` also writes the refit model's ``state_dict``.
    ``best_estimator(study)`` returns the refit network as a scikit-learn estimator
    (:class:`~optuna_recipes.adapters.torch.estimator.TorchEstimator`: ``predict`` and
    ``predict_proba`` on numpy, original class labels).

    In-memory data is moved to ``device`` once; batches are device slices (see :class:`Model`).
    With a seed, training on CPU is deterministic: ``refit(study)`` with ``valid_data`` given
    reproduces the best trial's network exactly.

    Example:
        .. code-block:: python

            import optuna
            from sklearn.datasets import load_digits
            from optuna_recipes.adapters.torch import TorchObjective, mlp

            x, y = load_digits(return_X_y=True)
            objective = TorchObjective(
                lambda trial: mlp(trial, 64, 10), (x / 16.0, y),
                loss="cross_entropy", metric="accuracy", epochs=20,
            )
            study = optuna.create_study(
                direction=objective.direction, pruner=optuna.pruners.MedianPruner()
            )
            study.optimize(objective, n_trials=20)
            model = objective.best_estimator(study)  # fitted, scikit-learn style
            labels = model.predict(x / 16.0)  # numpy, the labels of y

    Args:
        build_model: ``build_model(trial) -> nn.Module`` returning logits (or regression
            outputs); it may suggest architecture parameters (see :func:`mlp`).
        train_data: ``(x, y)`` (numpy arrays, tensors, pandas), a two-tensor
            ``TensorDataset``, or a map-style ``Dataset`` of ``(x, y)`` pairs with integer
            class labels ``0..K-1`` or float targets (labels are read once).
        valid_data: Validation data in the same forms (or ``(x, y, sample_weight)``); default
            ``None`` validates on a holdout of ``cv`` (stratified for classification).
        loss: ``"cross_entropy"``, ``"bce_with_logits"``, ``"mse"``, ``"mae"``, ``"huber"``,
            ``"nll"`` (see :class:`Model`) or a callable; default: ``"cross_entropy"`` for
            class labels, ``"mse"`` for a regression target.
        metric: Validation metric: ``"accuracy"``, ``"log_loss"``, ``"roc_auc"``, ``"f1"``
            (classification), ``"rmse"``, ``"mae"``, ``"r2"``, ``"mse"`` (regression) or
            ``"loss"``; default ``"log_loss"`` / ``"rmse"``. Accuracy, losses and regression
            errors accumulate on the device; ``roc_auc`` and ``f1`` need the predictions on the
            host once per epoch. The study direction follows (``.direction``).
        epochs: Maximum epochs per trial (``>= 1``). Default ``50``.
        patience: Early stopping: epochs without improvement of the validation metric before a
            trial stops (``>= 1``, or ``None`` to train all epochs). Default ``5``.
        space: Overrides of the default training space (``DEFAULT_SPACE``, i.e.
            ``optuna_recipes.adapters.spaces.TORCH_SPACE``: ``optimizer``, ``lr``, ``batch_size``,
            ``weight_decay``, ``momentum`` (SGD only), ``lr_schedule``): name -> Optuna
            distribution, or ``None`` to stop searching it (its default is then used).
        fixed_params: Training parameters used in every trial, e.g. ``{"batch_size": 128}``.
        cv: Without ``valid_data``: a holdout fraction (default ``0.2``), a number of folds
            ``k >= 2`` or a scikit-learn splitter.
        groups: Per-row group labels: rows of one group never straddle training and validation
            (grouped ``cv``).
        sample_weight: Per-row weights of in-memory data (built-in losses): the loss of each
            batch is the mean of per-sample losses times their weights, and the validation
            metric is weighted (computed from predictions; ``"loss"``/``"mse"`` are refused).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``; inferred from the loss and
            the labels by default.
        device: ``"cpu"`` (default), ``"cuda"``, ``"auto"`` (CUDA when available).
        amp: Mixed precision on CUDA (see :class:`Model`). Default ``False``.
        seed: Seeds model initialisation, shuffling, dropout and the splits. Default ``0``.
        validation_batch_size: Batch size for validation. Default ``1024``.
        n_jobs: CPU threads per trial (``torch.set_num_threads`` while the trial trains,
            restored after). Default ``None``: half the CPUs shared among concurrent trials.
        timeout: Seconds of training per trial; the trial then completes with its best epoch
            (user attr ``timed_out``). Default ``None``.
        verbose: ``0`` silent (default), ``1`` a line per trial start and end, ``2`` also
            every tenth of ``epochs`` (through Optuna's logging).
    """

    library = "torch"
    extra = "torch"
    allow_nan = False

    def __init__(
        self,
        build_model: BuildModel,
        train_data: Any,
        valid_data: Any = None,
        *,
        loss: str | LossFn | None = None,
        epochs: int = 50,
        patience: int | None = 5,
        device: str | torch.device = "cpu",
        amp: bool | str = False,
        validation_batch_size: int = 1024,
        **settings: Any,
    ) -> None:
        if not callable(build_model):
            raise ValueError(
                f"`build_model` must be a callable trial -> nn.Module; got {build_model!r}."
            )
        self.validation_batch_size = check_int(
            "validation_batch_size", validation_batch_size, minimum=1
        )
        self.build_model = build_model
        self.device = resolve_device(device)
        # Validated (and warned about on CPU) once here, not once per trial.
        self.amp = amp if amp_dtype(amp, self.device) is not None else False
        self._loss_arg = loss
        x, y, validation, self._dataset, self._valid_dataset = unpack_data(train_data, valid_data)
        if loss is not None and settings.get("task") is None:
            settings["task"] = _TASK_OF_LOSS.get(resolve_loss(loss).kind)
        if settings.get("cv") is None and valid_data is None:
            settings["cv"] = 0.2
        super().__init__(
            x,
            y,
            validation_data=validation,
            max_rounds=check_int("epochs", epochs, minimum=1),
            early_stopping_rounds=check_int("patience", patience, minimum=1, allow_none=True),
            **settings,
        )
        default_loss = "mse" if self.task == "regression" else "cross_entropy"
        self.loss_spec = resolve_loss(default_loss if loss is None else loss)
        self._check_loss_fits_task()
        self._check_fixed_params()
        self._check_weights()
        # In-memory data goes to the device once; fold subsets are gathered there.
        self._x: torch.Tensor | None = None
        self._w: torch.Tensor | None = None
        if self._dataset is None:
            self._x = self._to_device(x)
            self._y = self._targets(self.y_)
            if self.sample_weight_ is not None:
                self._w = torch.as_tensor(self.sample_weight_, dtype=torch.float32).to(self.device)
            if validation is not None:
                self._xv = self._to_device(validation[0])
                self._yv = self._targets(self.y_valid_)

    def _normalize_settings(self, settings: ObjectiveSettings) -> ObjectiveSettings:
        if settings.task == "ranking" or settings.group is not None:
            raise ValueError(
                "`TorchObjective` does not support ranking (`task='ranking'`, `group`); use a "
                "ranking library."
            )
        return settings

    def _check_weights(self) -> None:
        weighted = self.sample_weight_ is not None or self.validation_weight_ is not None
        if not weighted:
            return
        if self._dataset is not None:
            raise ValueError(
                "`sample_weight` needs in-memory (x, y) data; a Dataset can weigh its samples "
                "in a custom loss."
            )
        if self.loss_spec.per_sample is None:
            raise ValueError(
                "`sample_weight` needs a built-in loss (a name such as 'cross_entropy' or "
                f"'mse'); got the callable {self.loss_spec.name!r}."
            )
        if self.metric.score is None:
            raise ValueError(
                f"`metric={self.metric.name!r}` is not weighted; with `sample_weight` choose "
                "one of 'log_loss', 'accuracy', 'roc_auc', 'f1' (classification), 'rmse', "
                "'mae', 'r2' (regression)."
            )

    def _check_features(self, X: Any, name: str) -> None:
        name = "train_data x" if name == "X" else "valid_data x"
        if isinstance(X, torch.Tensor):
            check_finite_input(X, name)
        elif not isinstance(X, Dataset):
            check_features(X, name=name, allow_nan=False, library="a network")

    def _library_threads(self, threads: int) -> Any:
        return torch_threads(threads)

    # ----------------------------------------------------------------------------- data
    def _inspect_data(self, X: Any, y: Any) -> tuple[np.ndarray, tuple[int, ...]]:
        if isinstance(X, Dataset):
            n = len(X)  # type: ignore[arg-type]
            if n == 0:
                raise ValueError("The Dataset is empty; it needs at least one sample.")
            first = X[0][0]
            shape = tuple(first.shape) if hasattr(first, "shape") else ()
            return labels_of(X), (n, *shape)
        xt = as_tensor(X, "x")
        if xt.ndim == 0 or xt.shape[0] == 0:
            raise ValueError(f"`x` is empty or has no sample axis; got shape {tuple(xt.shape)}.")
        if y is None:
            raise ValueError("Targets are required: pass the data as a pair (x, y).")
        # Any labels (strings too): the base encodes classes to the model's output indices.
        labels = y.cpu().numpy() if isinstance(y, torch.Tensor) else np.asarray(y)
        if labels.ndim == 2 and labels.shape[1] == 1:
            labels = labels.reshape(-1)
        return labels, tuple(xt.shape)

    def _to_device(self, x: Any) -> torch.Tensor:
        return cast_input(as_tensor(x, "x"), torch.float32).to(self.device)

    def _targets(self, encoded: np.ndarray | None) -> torch.Tensor:
        assert encoded is not None
        y = torch.as_tensor(encoded)
        y = y.long() if self.loss_spec.kind == MULTICLASS else y.float()
        return y.to(self.device)

    def _check_loss_fits_task(self) -> None:
        kind = self.loss_spec.kind
        fits = {
            MULTICLASS: self.task in ("binary", "multiclass"),
            BINARY: self.task == "binary",
            REGRESSION: self.task == "regression",
        }.get(kind, True)
        if not fits:
            raise ValueError(
                f"`loss={self.loss_spec.name!r}` does not fit the {self.task} labels in `y`; "
                "use 'cross_entropy' for class labels, 'bce_with_logits' for 0/1 labels, "
                "'mse'/'mae'/'huber' for a regression target (or pass `task`)."
            )
        if self._dataset is not None and self.classes_ is not None:
            if self.classes_ != list(range(len(self.classes_))):
                raise ValueError(
                    "A Dataset's class labels must be the integers 0..K-1 (the model's output "
                    f"indices); got {self.classes_[:10]}."
                )

    # ----------------------------------------------------------------------------- space
    def _default_space(self, task: str) -> dict[str, BaseDistribution]:
        return torch_space(task)

    def _known_params(self) -> Collection[str]:
        return set(DEFAULT_PARAMS)

    def _library_version(self) -> str:
        return str(torch.__version__)

    def _library_metrics(self, task: str) -> Mapping[str, str]:
        names = ("loss", "mse") if task == "regression" else ("loss",)
        return {name: direction_of(name) for name in names}  # type: ignore[misc]

    def _native_alias(self, name: str, task: str) -> str | None:
        if self.sample_weight_ is not None or self.validation_weight_ is not None:
            return None  # weighted: computed from predictions with the weights
        if name in DEVICE_METRICS:  # computed on the device under the same name
            return name
        loss = resolve_loss(self._loss_arg) if self._loss_arg is not None else None
        log_loss_native = loss is None or loss.name in ("cross_entropy", "bce_with_logits")
        if name == "log_loss" and task != "regression" and log_loss_native:
            return "loss"
        return None

    def _library_params(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        return {**DEFAULT_PARAMS, **self.fixed_params, **sampled}

    def _check_fixed_params(self) -> None:
        unknown = set(self.fixed_params) - set(DEFAULT_PARAMS)
        if unknown:
            raise ValueError(
                f"`fixed_params` has unknown training parameters {sorted(unknown)}; valid: "
                f"{sorted(DEFAULT_PARAMS)} (architecture parameters belong in `build_model`)."
            )
        check_params(self._library_params({}), "fixed_params")

    def _suggest(self, trial: optuna.Trial) -> dict[str, Any]:
        space = dict(self._space)
        momentum = space.pop("momentum", None)
        sampled = suggest_params(trial, space)
        optimizer = sampled.get("optimizer", self._library_params({})["optimizer"])
        if momentum is not None and optimizer == "sgd":
            sampled.update(suggest_params(trial, {"momentum": momentum}))
        check_params(self._library_params(sampled), "search space")
        module = self._build(trial)
        self._check_module(module)
        sampled[_MODULE] = module
        return sampled

    # ----------------------------------------------------------------------------- training
    def _build(self, trial: optuna.Trial | optuna.trial.FixedTrial) -> nn.Module:
        """Build the network with seeded initialisation (same params + seed -> same weights)."""
        # Fork every CUDA device too: torch.manual_seed reseeds them all.
        cuda = list(range(torch.cuda.device_count())) if torch.cuda.is_available() else []
        with torch.random.fork_rng(devices=cuda):
            if self.seed is not None:
                torch.manual_seed(self.seed)
            module = self.build_model(trial)  # type: ignore[arg-type]
        if not isinstance(module, nn.Module):
            raise ValueError(
                "`build_model` must return a torch.nn.Module; it returned "
                f"{type(module).__name__}."
            )
        return module

    def _model(self, module: nn.Module, params: Mapping[str, Any]) -> Model:
        """A :class:`Model` of ``module`` compiled with the configuration ``params``."""
        metric = self.metric.native if self.metric.native not in (None, "loss") else None
        return compile_model(
            module,
            params,
            self.loss_spec,
            device=self.device,
            amp=self.amp,
            seed=self.seed,
            schedule_epochs=self.max_rounds,
            metrics=[metric] if metric else [],
        )

    def _check_module(self, module: nn.Module) -> None:
        """Probe the network on two training rows (shape/dtype/label mistakes -> ValueError)."""
        module.to(self.device)  # probe where it will train
        source = self._sources(Fold(train=np.arange(min(2, self.data_shape[0])), valid=None))[0]
        if self.loss_spec.kind == MULTICLASS:
            module.eval()
            try:
                with torch.no_grad():
                    width = module(source.probe(2)[0]).shape[1]
            except Exception:  # the probe below explains it
                width = self.n_classes
            module.train()
            if width != self.n_classes:
                raise ValueError(
                    f"`y` has {self.n_classes} classes but the network from `build_model` "
                    f"outputs {width} logits; its output width must be the number of classes."
                )
        check_source(module, self.loss_spec, source, "train_data")

    def _sources(self, fold: Fold) -> tuple[Source, Source | None]:
        kind = self.loss_spec.kind
        if self._dataset is not None:
            train_ds: Dataset = Subset(self._dataset, fold.train.tolist())
            valid_ds = (
                self._valid_dataset
                if fold.valid is None
                else Subset(self._dataset, fold.valid.tolist())
            )
            mk = lambda ds, name: make_source(  # noqa: E731
                ds, None, device=self.device, float_dtype=torch.float32, kind=kind, name=name
            )
            return mk(train_ds, "train_data"), None if valid_ds is None else mk(valid_ds, "valid")
        assert self._x is not None
        idx = torch.as_tensor(fold.train, device=self.device)
        train = TensorSource(self._x[idx], self._y[idx], None if self._w is None else self._w[idx])
        if fold.valid is None:
            valid = TensorSource(self._xv, self._yv) if self.y_valid_ is not None else None
        else:
            vidx = torch.as_tensor(fold.valid, device=self.device)
            valid = TensorSource(self._x[vidx], self._y[vidx])
        return train, valid

    def _start_fold(self, params: dict[str, Any], fold: Fold) -> Any:
        module = params.get(_MODULE)
        module = copy.deepcopy(module) if module is not None else self._rebuild(params)
        model = self._model(module, params)
        train, valid = self._sources(fold)
        return model, self._run(model, params, train, valid), valid, self._fold_weights(fold)[1]

    def _run(
        self, model: Model, params: Mapping[str, Any], train: Source, valid: Source | None
    ) -> TrainingRun:
        """A training run of ``model``; the sources are checked against it first (which also
        aligns ``(n,)`` targets to ``(n, 1)`` outputs)."""
        for source, name in ((train, "train_data"), (valid, "valid_data")):
            if source is not None:
                check_source(model.module, self.loss_spec, source, name)
        return TrainingRun(
            model,
            train,
            valid,
            batch_size=int(params["batch_size"]),
            val_batch_size=self.validation_batch_size,
            train_metrics=False,
        )

    def _rebuild(self, params: Mapping[str, Any]) -> nn.Module:
        arch = {k: v for k, v in params.items() if k != _MODULE}
        return self._build(optuna.trial.FixedTrial(arch))

    def _step_fold(self, state: Any, round_: int) -> float:
        model, run, valid, valid_weight = state
        logs = run.step()
        if not math.isfinite(logs["loss"]):
            raise FloatingPointError(
                f"training loss is {logs['loss']} at epoch {round_} (lr={logs['lr']:.3g}); "
                "training diverged."
            )
        if self.metric.native is not None:
            return float(logs[f"val_{self.metric.native}"])
        assert self.metric.score is not None and valid is not None
        return self.metric.score(*self._proba(model, valid), valid_weight)

    def _proba(self, model: Model, valid: Source) -> tuple[np.ndarray, np.ndarray]:
        """Validation labels and predicted probabilities (binary: (n,), else (n, K))."""
        outs, ys = [], []
        model.module.eval()
        with torch.no_grad(), model.autocast():
            for xb, yb in valid.batches(self.validation_batch_size, shuffle=False):
                outs.append(model.module(xb).float())
                ys.append(yb)
        model.module.train()
        out, y = torch.cat(outs), torch.cat(ys)
        if out.ndim == 2 and out.shape[1] > 1:
            p = torch.softmax(out, dim=1)
            if self.task == "binary":
                p = p[:, 1]
        elif self.task == "regression":
            p = out.reshape(-1)
        else:
            p = torch.sigmoid(out.reshape(-1))
        return y.reshape(-1).cpu().numpy(), p.cpu().numpy()

    def _fit_full(self, params: dict[str, Any], n_rounds: int) -> Model:
        """Train on all training rows for ``n_rounds`` epochs (same seed: same init, same
        batches as the trials that trained on all rows)."""
        return self._train_full(self._rebuild(params), params, n_rounds)

    def _train_full(self, module: nn.Module, params: Mapping[str, Any], n_rounds: int) -> Model:
        model = self._model(module, params)
        train, _ = self._sources(Fold(train=np.arange(self.data_shape[0]), valid=None))
        run = self._run(model, params, train, None)
        for _ in range(n_rounds):
            run.step()
        return model

    def _estimator(self, params: dict[str, Any], n_rounds: int) -> TorchEstimator:
        """The refit network in a :class:`TorchEstimator` whose ``fit`` retrains it the same
        way (on in-memory data, to the same weights)."""
        module = self._rebuild(params)
        config = {k: v for k, v in params.items() if k != _MODULE}
        estimator = TorchEstimator(
            copy.deepcopy(module),
            config,
            epochs=n_rounds,
            schedule_epochs=self.max_rounds,
            loss=self._loss_arg if self._loss_arg is not None else self.loss_spec.name,
            task=self.task,
            device=str(self.device),
            amp=self.amp,
            seed=self.seed,
            batch_size=self.validation_batch_size,
        )
        model = self._train_full(module, params, n_rounds)
        n_features = int(np.prod(self.data_shape[1:])) if len(self.data_shape) > 1 else 1
        return estimator._fitted(model.module, self.classes_, n_features)

    def _save_model(self, model: Any, path: str) -> str:
        target = f"{path}.pt"
        torch.save(model.module.state_dict(), target)
        return target

    # ----------------------------------------------------------------------------- public API
    def describe(self) -> dict[str, Any]:
        info = super().describe()
        info.update({"loss": self.loss_spec.name, "device": str(self.device)})
        return info

    def save_best(
        self,
        study: optuna.Study,
        path: str | os.PathLike[str],
        *,
        artifact_store: Any = None,
    ) -> dict[str, Any]:
        """Refit the best configuration, write its ``state_dict`` next to ``path`` (same name,
        ``.pt``) and the JSON record of :func:`optuna_recipes.adapters.save_best` at ``path``;
        returns the record. :meth:`load_model` reads both back.

        Args:
            study: The study this objective optimized.
            path: JSON file to write (e.g. ``"best.json"``; weights go to ``"best.pt"``).
            artifact_store: Also upload the weights as an Optuna artifact of the study.
        """
        model = self.refit(study)
        target = Path(path)
        target.parent.mkdir(parents=True, exist_ok=True)
        weights = target.with_suffix(".pt")
        torch.save(model.module.state_dict(), weights)
        extra: dict[str, Any] = {"state_dict": weights.name}
        if artifact_store is not None:
            extra["model_artifact_id"] = upload_model_artifact(
                self, model, study, study.best_trial, artifact_store
            )
        return save_best(study, target, objective=self, extra=extra)

    def load_model(self, path: str | os.PathLike[str], *, allow_outside: bool = False) -> Model:
        """Rebuild the network saved by :meth:`save_best` (architecture from the JSON, weights
        from the ``.pt`` file it names, resolved next to it), compiled with this objective's
        loss and metric.

        The weights are read with ``torch.load(weights_only=True)`` (tensors only, no code).
        A weights file outside the JSON file's folder is refused unless ``allow_outside``.
        """
        record = load_best(path)
        if record.get("library") != self.library or "state_dict" not in record:
            raise ValueError(f"{path} was not written by TorchObjective.save_best.")
        weights = model_file(path, record["state_dict"], allow_outside=allow_outside)
        params = self._library_params(record["params"])
        model = self._model(self._rebuild(params), params)
        try:
            state = torch.load(weights, map_location=self.device, weights_only=True)
            model.module.load_state_dict(state)
        except Exception as err:  # unpickling refused, not a torch file, other architecture
            raise ValueError(
                f"{weights} cannot be loaded as this network's weights: {err}"
            ) from err
        return model
