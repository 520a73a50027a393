"""The objectives the adapter contract runs (``test_objective_contract.py``), built the same way.

A :class:`Kit` builds one objective class on a binary data set with generic names for the
arguments each class spells its own way (``rounds``: ``num_boost_round``, ``epochs`` or
``max_rounds``; ``patience``: ``early_stopping_rounds`` or ``patience``), and says how to read
its models (the scikit-learn kits: HistGradientBoosting, and an MLP pipeline trained by
``partial_fit``). ``GDObjective`` is the smallest complete adapter: a linear/logistic model
trained by gradient descent in numpy, one step per round.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Mapping
import dataclasses
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
import pytest

from optuna_recipes.adapters import BaseObjective
from optuna_recipes.adapters._base.folds import Fold


class GDEstimator:
    """What ``GDObjective.best_estimator`` returns: the weights with the standardization."""

    def __init__(self, w: np.ndarray, mean: np.ndarray, std: np.ndarray, classes: Any) -> None:
        self.w, self.mean, self.std = w, mean, std
        self.classes_ = None if classes is None else np.asarray(classes)

    def _raw(self, X: Any) -> np.ndarray:
        return GDObjective._design(np.asarray(X, dtype=float), self.mean, self.std) @ self.w

    def predict_proba(self, X: Any) -> np.ndarray:
        p = 1.0 / (1.0 + np.exp(-self._raw(X)))
        return np.column_stack([1 - p, p])

    def predict(self, X: Any) -> np.ndarray:
        if self.classes_ is None:
            return self._raw(X)
        return self.classes_[(self.predict_proba(X)[:, 1] > 0.5).astype(int)]


class GDObjective(BaseObjective):
    """Linear/logistic model trained by full-batch gradient descent, one step per round."""

    library = "numpy-gd"
    extra = "none"
    allow_nan = False

    def __init__(self, X: Any, y: Any = None, **settings: Any) -> None:
        self._check_features(X, "X")
        X = np.asarray(X, dtype=float)
        self.mean, self.std = X.mean(0), X.std(0) + 1e-12
        self.X = self._design(X, self.mean, self.std)
        valid = settings.get("validation_data")
        if valid is not None:
            self.Xv = self._design(np.asarray(valid[0], dtype=float), self.mean, self.std)
        super().__init__(X, y, **settings)

    @staticmethod
    def _design(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(X)), (X - mean) / std])

    def _gradient(self, w: np.ndarray, rows: Any, l2: float) -> np.ndarray:
        X, y = self.X[rows], self.y_[rows]
        weight = self.sample_weight_
        if weight is None:
            return X.T @ (self._predict(w, X) - y) / len(y) + l2 * w
        weight = weight[rows]
        return X.T @ (weight * (self._predict(w, X) - y)) / weight.sum() + l2 * w

    def _inspect_data(self, X: Any, y: Any) -> tuple[np.ndarray, tuple[int, ...]]:
        return np.asarray(y) if y is not None else y, np.shape(X)

    def _library_version(self) -> str:
        return np.__version__

    def _library_metrics(self, task: str) -> Mapping[str, str]:
        return {"mse": "minimize"} if task == "regression" else {"error": "minimize"}

    def _default_space(self, task: str) -> dict[str, BaseDistribution]:
        return {
            "lr": FloatDistribution(1e-4, 1.0, log=True),
            "l2": FloatDistribution(1e-6, 10.0, log=True),
        }

    def _known_params(self) -> set[str]:
        return {"lr", "l2", "fail", "momentum"}

    def _library_params(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        return {"lr": 0.1, "l2": 1e-3, **self.fixed_params, **sampled}

    def _start_fold(self, params: dict[str, Any], fold: Fold) -> Any:
        if params.get("fail"):
            raise RuntimeError("boom: this configuration cannot train")
        if fold.valid is None:
            Xv, yv = self.Xv, self.y_valid_
        else:
            Xv, yv = self.X[fold.valid], self.y_[fold.valid]
        w = np.zeros(self.X.shape[1])
        wv = self._fold_weights(fold)[1]
        return {"p": params, "w": w, "tr": fold.train, "Xv": Xv, "yv": yv, "wv": wv}

    def _predict(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        z = X @ w
        return z if self.task == "regression" else 1.0 / (1.0 + np.exp(-z))

    def _step_fold(self, state: Any, round_: int) -> float:
        grad = self._gradient(state["w"], state["tr"], state["p"]["l2"])
        state["w"] = state["w"] - state["p"]["lr"] * grad
        p = self._predict(state["w"], state["Xv"])
        yv, wv = state["yv"], state["wv"]
        if self.metric.score is not None:
            return self.metric.score(yv, p, wv)
        if self.metric.native == "mse":
            return float(np.average((p - yv) ** 2, weights=wv))
        return float(np.average((p > 0.5) != yv, weights=wv))

    def _fit_full(self, params: dict[str, Any], n_rounds: int) -> Any:
        w = np.zeros(self.X.shape[1])
        rows = np.arange(len(self.y_))
        for _ in range(n_rounds):
            w = w - params["lr"] * self._gradient(w, rows, params["l2"])
        return w

    def _estimator(self, params: dict[str, Any], n_rounds: int) -> Any:
        return GDEstimator(self._fit_full(params, n_rounds), self.mean, self.std, self.classes_)

    def _save_model(self, model: Any, path: str) -> str:
        np.save(path + ".npy", model)
        return path + ".npy"


@dataclasses.dataclass(frozen=True)
class Kit:
    """How the contract builds and reads one objective class.

    ``build(X, y, rounds=..., patience=..., **settings)`` returns the objective.
    ``failing(X, y)`` returns ``(objective, param, bad, good, reason)``: a trial with
    ``params[param] == bad`` fails with ``reason`` in ``fail_reason``, one with ``good`` trains.
    ``predict(objective, model, X)`` and ``load(objective, path, X, params)`` give predictions of
    a refit model and of one saved to ``path`` (``params``: its searched parameters).
    ``n_rounds(model)`` counts a refit model's rounds (``None``: not countable); ``fixed`` is a
    searched parameter and a value to fix it at. ``proba(objective, model, X)`` is a binary
    refit model's probability of the positive class.
    """

    name: str
    rounds_arg: str
    patience_arg: str
    suffix: str
    build: Callable[..., BaseObjective]
    failing: Callable[[np.ndarray, np.ndarray], tuple[BaseObjective, str, Any, Any, str]]
    predict: Callable[[Any, Any, np.ndarray], np.ndarray]
    load: Callable[[Any, str, np.ndarray, dict[str, Any]], np.ndarray]
    fixed: tuple[str, Any]
    proba: Callable[[Any, Any, np.ndarray], np.ndarray]
    n_rounds: Callable[[Any], int | None] = lambda model: None
    allows_nan: bool = True


# ------------------------------------------------------------------------------ numpy (GD)
def _gd(X: Any, y: Any, *, rounds: int = 20, patience: int | None = 5, **kw: Any) -> Any:
    return GDObjective(X, y, max_rounds=rounds, early_stopping_rounds=patience, **kw)


def _gd_failing(X: np.ndarray, y: np.ndarray) -> tuple[Any, str, Any, Any, str]:
    space = {"fail": CategoricalDistribution([False, True])}
    return _gd(X, y, cv=3, space=space), "fail", True, False, "boom"


GD_KIT = Kit(
    name="numpy",
    rounds_arg="max_rounds",
    patience_arg="early_stopping_rounds",
    suffix=".npy",
    build=_gd,
    failing=_gd_failing,
    predict=lambda obj, model, X: np.asarray(model),
    load=lambda obj, path, X, params: np.load(path),
    fixed=("lr", 0.2),
    allows_nan=False,
    proba=lambda obj, model, X: GDEstimator(model, obj.mean, obj.std, None).predict_proba(X)[:, 1],
)


# ------------------------------------------------------------------------------ boosting
def _boosting_kit(
    library: str,
    class_name: str,
    suffix: str,
    param: str,
    good: str,
    fixed: tuple[str, Any],
    **kit: Any,
) -> Kit:
    """A kit of a boosting objective; ``param`` with value ``good`` trains, ``"no_such_thing"``
    makes the library raise."""
    import importlib

    def build(X: Any, y: Any, *, rounds: int = 20, patience: int | None = 5, **kw: Any) -> Any:
        module = importlib.import_module(f"optuna_recipes.adapters.{library}")
        cls = getattr(module, class_name)
        kw.setdefault("n_jobs", 1)
        return cls(X, y, num_boost_round=rounds, early_stopping_rounds=patience, **kw)

    def failing(X: np.ndarray, y: np.ndarray) -> tuple[Any, str, Any, Any, str]:
        space = {param: CategoricalDistribution([good, "no_such_thing"])}
        return build(X, y, cv=3, space=space), param, "no_such_thing", good, "no_such_thing"

    return Kit(
        name=library,
        rounds_arg="num_boost_round",
        patience_arg="early_stopping_rounds",
        suffix=suffix,
        build=build,
        failing=failing,
        predict=lambda obj, model, X: obj.predict(model, X),
        proba=lambda obj, model, X: obj.predict(model, X),
        fixed=fixed,
        **kit,
    )


def _xgb_load(obj: Any, path: str, X: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    import xgboost as xgb

    return xgb.Booster(model_file=path).predict(xgb.DMatrix(X))


def _lgb_load(obj: Any, path: str, X: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    import lightgbm as lgb

    return lgb.Booster(model_file=path).predict(X)


XGB_KIT = _boosting_kit(
    "xgboost",
    "XGBoostObjective",
    ".json",
    "tree_method",
    "hist",
    ("max_depth", 3),
    load=_xgb_load,
    n_rounds=lambda model: model.num_boosted_rounds(),
)
LGB_KIT = _boosting_kit(
    "lightgbm",
    "LightGBMObjective",
    ".txt",
    "boosting",
    "gbdt",
    ("num_leaves", 15),
    load=_lgb_load,
    n_rounds=lambda model: model.num_trees(),
)


# ------------------------------------------------------------------------------ PyTorch
def _small_mlp(trial: Any, n_in: int) -> Any:
    from optuna_recipes.adapters.torch import mlp

    return mlp(trial, n_in, 2, n_layers=(1, 1), units=(8, 32), normalization="none")


def _torch(X: Any, y: Any, *, rounds: int = 4, patience: int | None = 2, **kw: Any) -> Any:
    from optuna_recipes.adapters.torch import TorchObjective

    n_in = int(np.shape(X)[1])
    valid = kw.pop("validation_data", None)  # spelled `valid_data` here
    return TorchObjective(
        lambda trial: _small_mlp(trial, n_in),
        (X, y),
        valid,
        loss="cross_entropy",
        epochs=rounds,
        patience=patience,
        **kw,
    )


def _torch_failing(X: np.ndarray, y: np.ndarray) -> tuple[Any, str, Any, Any, str]:
    import torch

    from optuna_recipes.adapters.torch import TorchObjective

    class Broken(torch.nn.Module):
        def __init__(self, inner: torch.nn.Module) -> None:
            super().__init__()
            self.inner = inner

        def forward(self, x: torch.Tensor) -> torch.Tensor:
            return self.inner(x) * float("nan")

    def build(trial: Any) -> Any:
        net = _small_mlp(trial, X.shape[1])
        return Broken(net) if trial.suggest_categorical("broken", [False, True]) else net

    obj = TorchObjective(build, (X, y), epochs=2, cv=3)
    return obj, "broken", True, False, "training loss is nan at epoch 0"


def _torch_predict(obj: Any, model: Any, X: np.ndarray) -> np.ndarray:
    return model.predict(X).numpy()


def _torch_load(obj: Any, path: str, X: np.ndarray, params: dict[str, Any]) -> np.ndarray:
    """Predictions of the saved ``state_dict`` loaded into a network of the same configuration."""
    import torch

    model = obj.refit(params, n_rounds=1)  # the architecture of ``params``; weights replaced
    model.load_state_dict(torch.load(path, map_location="cpu", weights_only=True))
    return model.predict(X).numpy()


def _torch_proba(obj: Any, model: Any, X: np.ndarray) -> np.ndarray:
    import torch

    return torch.softmax(model.predict(X), dim=1)[:, 1].numpy()


TORCH_KIT = Kit(
    name="torch",
    rounds_arg="epochs",
    patience_arg="patience",
    suffix=".pt",
    build=_torch,
    failing=_torch_failing,
    predict=_torch_predict,
    load=_torch_load,
    fixed=("lr", 1e-2),
    allows_nan=False,
    proba=_torch_proba,
)


# ------------------------------------------------------------------------------ scikit-learn
def _sklearn_kit(
    name: str, make: Callable[[], Any], param: str, good: str, fixed: tuple[str, Any]
) -> Kit:
    """A kit of ``SklearnObjective`` on the estimator ``make()``; ``param`` with value ``good``
    trains, ``"no_such_thing"`` makes scikit-learn's parameter validation raise."""

    def build(X: Any, y: Any, *, rounds: int = 20, patience: int | None = 5, **kw: Any) -> Any:
        from optuna_recipes.adapters.sklearn import SklearnObjective

        kw.setdefault("n_jobs", 1)
        return SklearnObjective(
            make(), X, y, max_rounds=rounds, early_stopping_rounds=patience, **kw
        )

    def failing(X: np.ndarray, y: np.ndarray) -> tuple[Any, str, Any, Any, str]:
        space = {param: CategoricalDistribution([good, "no_such_thing"])}
        return build(X, y, cv=3, space=space), param, "no_such_thing", good, "no_such_thing"

    def load(obj: Any, path: str, X: np.ndarray, params: dict[str, Any]) -> np.ndarray:
        import pickle

        with open(path, "rb") as file:
            return pickle.load(file).predict_proba(X)[:, 1]

    return Kit(
        name=name,
        rounds_arg="max_rounds",
        patience_arg="early_stopping_rounds",
        suffix=".pkl",
        build=build,
        failing=failing,
        predict=lambda obj, model, X: model.predict_proba(X)[:, 1],
        proba=lambda obj, model, X: model.predict_proba(X)[:, 1],
        load=load,
        fixed=fixed,
        n_rounds=lambda model: getattr(model, "n_iter_", None),
    )


def _hgb() -> Any:
    from sklearn.ensemble import HistGradientBoostingClassifier

    return HistGradientBoostingClassifier()


def _mlp_pipeline() -> Any:
    from sklearn.neural_network import MLPClassifier
    from sklearn.pipeline import make_pipeline
    from sklearn.preprocessing import StandardScaler

    return make_pipeline(StandardScaler(), MLPClassifier())


#: HistGradientBoosting (warm start, staged validation) and an MLP pipeline (partial_fit epochs).
SKLEARN_KIT = _sklearn_kit("sklearn", _hgb, "loss", "log_loss", ("max_leaf_nodes", 15))
SKLEARN_MLP_KIT = _sklearn_kit(
    "sklearn-mlp",
    _mlp_pipeline,
    "mlpclassifier__activation",
    "relu",
    ("mlpclassifier__alpha", 1e-3),
)

KITS = {
    kit.name: kit for kit in (GD_KIT, XGB_KIT, LGB_KIT, TORCH_KIT, SKLEARN_KIT, SKLEARN_MLP_KIT)
}
LIBRARY_OF = {
    "numpy": None,
    "xgboost": "xgboost",
    "lightgbm": "lightgbm",
    "torch": "torch",
    "sklearn": None,
    "sklearn-mlp": None,
}


def require(kit: Kit) -> None:
    """Skip when the kit's library is not installed."""
    library = LIBRARY_OF[kit.name]
    if library is not None:
        pytest.importorskip(library)


def seed_new_studies(monkeypatch: pytest.MonkeyPatch, seed: int = 0) -> None:
    """Make ``optuna.create_study`` without a sampler use ``TPESampler(seed=seed)``, for code
    run as written (README snippets, docstring examples) that leaves its sampler unseeded."""
    import optuna

    create_study = optuna.create_study

    def seeded(*args: Any, sampler: Any = None, **kwargs: Any) -> optuna.Study:
        sampler = sampler or optuna.samplers.TPESampler(seed=seed)
        return create_study(*args, sampler=sampler, **kwargs)

    monkeypatch.setattr(optuna, "create_study", seeded)
