"""A trained PyTorch network as a scikit-learn estimator: ``fit``/``predict``/``predict_proba``
on numpy arrays (or pandas frames), with the original class labels.

:meth:`TorchObjective.best_estimator <optuna_recipes.adapters.torch.TorchObjective>` returns a
fitted :class:`TorchEstimator`; ``fit`` trains a fresh copy of the network with the same
configuration (so ``sklearn.base.clone`` + ``fit`` retrains it, e.g. in ``cross_val_score``).

Example:
    .. code-block:: python

        import numpy as np
        import torch
        from optuna_recipes.adapters.torch.estimator import TorchEstimator

        X = np.random.default_rng(0).normal(size=(64, 3)).astype("float32")
        y = np.where(X[:, 0] > 0, "yes", "no")
        net = torch.nn.Sequential(torch.nn.Linear(3, 8), torch.nn.ReLU(), torch.nn.Linear(8, 2))
        model = TorchEstimator(net, epochs=5, task="binary").fit(X, y)
        model.predict(X[:3]), model.predict_proba(X[:3]).shape  # labels, (3, 2)
"""

from __future__ import annotations

from collections.abc import Mapping
import copy
from typing import Any

import numpy as np
from sklearn.base import BaseEstimator
from sklearn.utils.metaestimators import available_if
import torch
from torch import nn

from optuna_recipes.adapters._base.data import encode_classes
from optuna_recipes.adapters.torch.data import TensorSource
from optuna_recipes.adapters.torch.data import as_tensor
from optuna_recipes.adapters.torch.data import cast_input
from optuna_recipes.adapters.torch.data import check_source
from optuna_recipes.adapters.torch.metrics import MULTICLASS
from optuna_recipes.adapters.torch.metrics import LossSpec
from optuna_recipes.adapters.torch.metrics import resolve_loss
from optuna_recipes.adapters.torch.model import Model
from optuna_recipes.adapters.torch.model import TrainingRun
from optuna_recipes.adapters.torch.training import DEFAULT_PARAMS
from optuna_recipes.adapters.torch.training import check_params
from optuna_recipes.adapters.torch.training import optimizer_factory
from optuna_recipes.adapters.torch.training import scheduler_factory


def compile_model(
    module: nn.Module,
    params: Mapping[str, Any],
    loss: LossSpec,
    *,
    device: Any,
    amp: bool | str,
    seed: int | None,
    schedule_epochs: int,
    metrics: list[str] | None = None,
) -> Model:
    """A :class:`Model` of ``module`` compiled with the training configuration ``params``
    (its learning-rate schedule spans ``schedule_epochs``)."""
    model = Model(module, device=device, amp=amp, seed=seed)
    return model.compile(
        optimizer_factory(params),
        loss.fn,
        metrics=metrics or [],
        scheduler=scheduler_factory(params, schedule_epochs),
    )


class TorchEstimator(BaseEstimator):  # type: ignore[misc]
    """A PyTorch network with its training configuration, as a scikit-learn estimator.

    ``fit(X, y, sample_weight=None)`` trains a copy of ``module`` for ``epochs`` epochs on all
    rows (no validation, no early stopping: ``epochs`` is the number that validation chose);
    ``predict`` returns numpy arrays: the original class labels (``classes_``) for
    classification, values for regression; ``predict_proba`` returns class probabilities of
    shape ``(n, n_classes)``. Inputs are cast to the network's float type, as in training.
    Picklable when the network and the loss are (``nn.Sequential`` of built-in layers, loss
    names, module-level classes).

    Args:
        module: The (untrained) network, copied by every ``fit``.
        params: Training configuration (``optimizer``, ``lr``, ``batch_size``,
            ``weight_decay``, ``momentum``, ``lr_schedule``; missing keys take
            :data:`~optuna_recipes.adapters.torch.training.DEFAULT_PARAMS`).
        epochs: Epochs ``fit`` trains. Default ``10``.
        schedule_epochs: Epochs the learning-rate schedule spans (the objective's ``epochs``);
            default ``None``: ``epochs``.
        loss: Loss name or callable (default: ``"mse"`` for regression, else
            ``"cross_entropy"``).
        task: ``"binary"``, ``"multiclass"`` or ``"regression"``. Default ``"multiclass"``.
        device: Where to train and predict. Default ``"cpu"``.
        amp: Mixed precision on CUDA (see :class:`Model`). Default ``False``.
        seed: Seeds initialisation-independent randomness (shuffling, dropout). Default ``0``.
        batch_size: Batch size of ``predict``. Default ``1024``.

    Example:
        .. code-block:: python

            import pickle
            import numpy as np
            import torch
            from optuna_recipes.adapters.torch.estimator import TorchEstimator

            X = np.random.default_rng(0).normal(size=(64, 2))
            net = torch.nn.Linear(2, 1)
            model = TorchEstimator(net, task="regression", epochs=3).fit(X, X.sum(1))
            pickle.loads(pickle.dumps(model)).predict(X[:2])  # numpy, shape (2,)
    """

    def __init__(
        self,
        module: nn.Module,
        params: Mapping[str, Any] | None = None,
        *,
        epochs: int = 10,
        schedule_epochs: int | None = None,
        loss: Any = None,
        task: str = "multiclass",
        device: str = "cpu",
        amp: bool | str = False,
        seed: int | None = 0,
        batch_size: int = 1024,
    ) -> None:
        self.module = module
        self.params = params
        self.epochs = epochs
        self.schedule_epochs = schedule_epochs
        self.loss = loss
        self.task = task
        self.device = device
        self.amp = amp
        self.seed = seed
        self.batch_size = batch_size

    @property
    def _estimator_type(self) -> str:  # scikit-learn < 1.6
        return "regressor" if self.task == "regression" else "classifier"

    def __sklearn_tags__(self) -> Any:
        from sklearn.utils import ClassifierTags
        from sklearn.utils import RegressorTags

        tags = super().__sklearn_tags__()
        tags.estimator_type = self._estimator_type
        if self.task == "regression":
            tags.regressor_tags = RegressorTags()
        else:
            tags.classifier_tags = ClassifierTags()
        return tags

    def _loss(self) -> LossSpec:
        default = "mse" if self.task == "regression" else "cross_entropy"
        return resolve_loss(default if self.loss is None else self.loss)

    def _config(self) -> dict[str, Any]:
        params = {**DEFAULT_PARAMS, **(self.params or {})}
        check_params(params, "TorchEstimator params")
        return params

    def fit(self, X: Any, y: Any, sample_weight: Any = None) -> TorchEstimator:
        """Train a copy of ``module`` on ``(X, y)`` for ``epochs`` epochs; returns ``self``."""
        labels = np.asarray(y.to_numpy() if hasattr(y, "to_numpy") else y)
        codes, classes = encode_classes(labels.reshape(len(labels)), self.task)
        loss = self._loss()
        device = torch.device(self.device)
        x = cast_input(as_tensor(X, "X"), torch.float32).to(device)
        target = torch.as_tensor(codes)
        target = (target.long() if loss.kind == MULTICLASS else target.float()).to(device)
        weight = None
        if sample_weight is not None:
            if loss.per_sample is None:
                raise ValueError("`sample_weight` needs a built-in loss (a name), not a callable.")
            weight = torch.as_tensor(np.asarray(sample_weight), dtype=torch.float32).to(device)
        module = self._train(copy.deepcopy(self.module), TensorSource(x, target, weight))
        return self._fitted(module, classes, int(np.prod(x.shape[1:])))

    def _fitted(self, module: nn.Module, classes: Any, n_features: int) -> TorchEstimator:
        """Mark as fitted with an already trained ``module`` (what the objective refit)."""
        self.module_ = module
        self.classes_ = None if classes is None else np.asarray(classes)
        self.n_features_in_ = int(n_features)
        return self

    def _train(self, module: nn.Module, source: TensorSource) -> nn.Module:
        params = self._config()
        loss = self._loss()
        model = compile_model(
            module,
            params,
            loss,
            device=self.device,
            amp=self.amp,
            seed=self.seed,
            schedule_epochs=self.schedule_epochs or self.epochs,
        )
        check_source(model.module, loss, source, "X")
        run = TrainingRun(
            model,
            source,
            None,
            batch_size=int(params["batch_size"]),
            val_batch_size=self.batch_size,
            train_metrics=False,
        )
        for _ in range(self.epochs):
            run.step()
        return model.module

    def _outputs(self, X: Any) -> torch.Tensor:
        if not hasattr(self, "module_"):
            raise ValueError("This TorchEstimator is not fitted yet; call `fit` first.")
        model = Model(self.module_, device=self.device, amp=self.amp)
        return model.predict(X, batch_size=self.batch_size)

    @available_if(lambda self: self.task != "regression")
    def predict_proba(self, X: Any) -> np.ndarray:
        """Class probabilities, shape ``(n, n_classes)`` in ``classes_`` order."""
        out = self._outputs(X)
        if out.ndim == 2 and out.shape[1] > 1:
            return torch.softmax(out, dim=1).numpy()
        p = torch.sigmoid(out.reshape(-1)).numpy()
        return np.column_stack([1.0 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        """Class labels (classification) or values (regression) as a numpy array."""
        if self.task == "regression":
            out = self._outputs(X).numpy()
            return out.reshape(-1) if out.ndim == 2 and out.shape[1] == 1 else out
        assert self.classes_ is not None
        return self.classes_[np.argmax(self.predict_proba(X), axis=1)]
