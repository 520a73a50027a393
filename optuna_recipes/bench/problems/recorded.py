"""Recorded ("tabular") problems: XGBoost / LightGBM learning curves replayed in milliseconds.

:mod:`optuna_recipes.bench.recording` trained a design of configurations once per task through
the project's adapters and stored every configuration's whole learning curve (the 3-fold mean
validation metric after each boosting round) in the package data
(``optuna_recipes/bench/data/<family>.npz``). :class:`RecordedProblem` answers a trial from
these records: it reads the trial's parameters with the same ``suggest_*`` calls as the live
problem, predicts the configuration's learning curve with a surrogate fitted on the records, and
reports that curve round by round through ``trial.report`` / ``trial.should_prune``, so pruners
act on it and the harness counts the rounds trained. The returned value is the best round's
value, which is what the adapter returns with early stopping.

Surrogates (``surrogate=``):

- ``"forest"`` (default): extremely randomized trees (``sklearn.ensemble.ExtraTreesRegressor``,
  64 trees, fully grown) fitted on the encoded configurations, predicting the whole curve at
  once (multi-output). Its prediction is an average of recorded curves, so the predicted curves
  keep their shape, never beat the best recorded value (the problem's ``optimum``) and equal
  the record at a recorded configuration; the random split points make the landscape smoother
  than a random forest's boxes. On held-out records it ranks configurations much better than
  k-NN and the nearest record (benchmark below), and during development it was slightly
  better than a random forest of 64 trees on lightgbm-breast_cancer (Spearman 0.90 / 0.83 on
  tasks 0 / 1, against 0.89 / 0.81).
- ``"knn"``: the distance-weighted mean curve of the 5 nearest recorded configurations
  (unit-cube encoding, Euclidean).
- ``"nearest"``: the curve of the nearest recorded configuration, exactly as recorded.

The held-out accuracy of each is measured in ``benchmarks/recorded_replay.py`` (output in
``benchmarks/results/recorded_replay.md``: mean Spearman of predicted vs recorded best value
0.89 for ``forest``, 0.77 ``knn``, 0.68 ``nearest``); tests check the default's error bound.

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.bench.problems.recorded import RecordedProblem

        problem = RecordedProblem("lightgbm-wine")
        study = optuna.create_study(direction=problem.direction)
        study.optimize(problem, n_trials=100)  # ~0.15 s of surrogate time in all
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import json_to_distribution

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes.adapters._base.search_space import suggest_params
from optuna_recipes.bench.problems._base import Problem
from optuna_recipes.bench.problems.synthetic import _check_int

SURROGATES = ("forest", "knn", "nearest")
_DATA_PACKAGE = "optuna_recipes.bench"


def data_dir() -> Path:
    """The folder of the recorded families shipped with the package."""
    from importlib import resources

    return Path(str(resources.files(_DATA_PACKAGE).joinpath("data")))


def known_families(folder: str | Path | None = None) -> list[str]:
    """Names of the recorded families in ``folder`` (default: the package data)."""
    folder = Path(folder) if folder is not None else data_dir()
    return sorted(p.stem for p in folder.glob("*.npz")) if folder.is_dir() else []


@dataclass(frozen=True)
class RecordedFamily:
    """The records of one family: design, curves of every task, and what produced them.

    Attributes:
        name: Family name, e.g. ``"xgboost-breast_cancer"``.
        meta: What the recording wrote (library, metric, direction, cv, rounds, command ...).
        space: The recorded search space (name -> distribution).
        configs: Encoded design, shape ``(n_configs, n_params)`` (unit cube; see
            :class:`optuna_recipes._encoding.SearchSpaceEncoder`).
        curves: Learning curves, shape ``(n_tasks, n_configs, n_steps)`` (NaN: failed).
        seconds: Training seconds of each recorded configuration, ``(n_tasks, n_configs)``.
    """

    name: str
    meta: dict[str, Any]
    space: dict[str, BaseDistribution]
    configs: np.ndarray
    curves: np.ndarray
    seconds: np.ndarray

    @property
    def n_tasks(self) -> int:
        return int(self.curves.shape[0])

    @property
    def n_steps(self) -> int:
        return int(self.curves.shape[2])

    def best_values(self, task: int) -> np.ndarray:
        """The best round's value of every recorded configuration of ``task``."""
        curves = self.curves[task].astype(np.float64)
        maximize = self.meta["direction"] == "maximize"
        with np.errstate(all="ignore"):
            return np.nanmax(curves, axis=1) if maximize else np.nanmin(curves, axis=1)


@cache
def load_family(name: str, folder: str | None = None) -> RecordedFamily:
    """Load a recorded family (cached per process).

    Raises:
        ValueError: ``name`` is not a recorded family; the message lists the known ones.
    """
    base = Path(folder) if folder is not None else data_dir()
    path = base / f"{name}.npz"
    if not path.is_file():
        known = known_families(base)
        raise ValueError(
            f"Unknown recorded family {name!r} in {base}; known families: "
            f"{', '.join(known) or 'none'} (record one with "
            "`python -m optuna_recipes.bench.recording --family <library>-<dataset>`)."
        )
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        space = {k: json_to_distribution(v) for k, v in meta["space"].items()}
        return RecordedFamily(
            name=name,
            meta=meta,
            space=space,
            configs=data["configs"].astype(np.float64),
            curves=data["curves"],
            seconds=data["seconds"],
        )


class CurveSurrogate:
    """Predict whole learning curves from encoded configurations, fitted on records.

    Args:
        kind: One of ``forest``, ``knn``, ``nearest`` (see the module docstring).
        seed: Seed of the forest.
    """

    def __init__(self, kind: str = "forest", seed: int = 0) -> None:
        if kind not in SURROGATES:
            raise ValueError(f"`surrogate` must be one of {SURROGATES}, got {kind!r}.")
        self.kind = kind
        self.seed = seed
        self._model: Any = None

    def fit(self, X: np.ndarray, curves: np.ndarray) -> CurveSurrogate:
        """Fit on configurations ``X`` (n, d) and their curves (n, n_steps); NaN rows dropped."""
        ok = np.isfinite(curves).all(axis=1) & np.isfinite(X).all(axis=1)
        if ok.sum() < 2:
            raise ValueError("Fewer than 2 complete recorded curves to fit a surrogate on.")
        self._X, self._Y = np.asarray(X[ok], dtype=np.float64), np.asarray(curves[ok], np.float64)
        if self.kind == "forest":
            from sklearn.ensemble import ExtraTreesRegressor

            forest = ExtraTreesRegressor(n_estimators=64, random_state=self.seed, n_jobs=1).fit(
                self._X, self._Y
            )
            self._model = _PackedForest(forest)
        return self

    def predict(self, X: np.ndarray) -> np.ndarray:
        """Curves of the configurations ``X`` (n, d) -> (n, n_steps)."""
        X = np.atleast_2d(np.asarray(X, dtype=np.float64))
        if self.kind == "forest":
            return np.asarray(self._model.predict(X), dtype=np.float64)
        d2 = ((X[:, None, :] - self._X[None, :, :]) ** 2).sum(axis=2)
        if self.kind == "nearest":
            return self._Y[np.argmin(d2, axis=1)]
        k = min(5, len(self._X))
        idx = np.argpartition(d2, k - 1, axis=1)[:, :k]
        dist = np.sqrt(np.take_along_axis(d2, idx, axis=1))
        weights = 1.0 / (dist + 1e-6)
        weights /= weights.sum(axis=1, keepdims=True)
        return np.einsum("nk,nks->ns", weights, self._Y[idx])


class _PackedForest:
    """A fitted scikit-learn tree ensemble's trees as flat arrays, walked with numpy.

    ``ExtraTreesRegressor.predict`` costs ~5-30 ms per call for one row (joblib dispatch and
    validation per tree); walking all trees at once costs ~0.1 ms, the same numbers.
    """

    def __init__(self, forest: Any) -> None:
        trees = [est.tree_ for est in forest.estimators_]
        sizes = np.array([t.node_count for t in trees])
        offsets = np.concatenate([[0], np.cumsum(sizes)[:-1]])
        self.roots = offsets.astype(np.intp)

        def shift(children: np.ndarray, off: int) -> np.ndarray:
            return np.where(children < 0, -1, children + off)

        self.left = np.concatenate(
            [shift(t.children_left, o) for t, o in zip(trees, offsets, strict=True)]
        ).astype(np.intp)
        self.right = np.concatenate(
            [shift(t.children_right, o) for t, o in zip(trees, offsets, strict=True)]
        ).astype(np.intp)
        self.feature = np.concatenate([t.feature for t in trees]).astype(np.intp)
        self.threshold = np.concatenate([t.threshold for t in trees])
        self.value = np.concatenate([t.value[:, :, 0] for t in trees])
        self.is_leaf = self.left < 0
        self.feature[self.is_leaf] = 0

    def predict(self, X: np.ndarray) -> np.ndarray:
        # The trees compare float32 features, as scikit-learn does.
        X = np.asarray(X, dtype=np.float32).astype(np.float64)
        node = np.broadcast_to(self.roots, (len(X), len(self.roots))).copy()
        rows = np.arange(len(X))[:, None]
        while True:
            inner = ~self.is_leaf[node]
            if not inner.any():
                break
            go_left = X[rows, self.feature[node]] <= self.threshold[node]
            step = np.where(go_left, self.left[node], self.right[node])
            node = np.where(inner, step, node)
        return self.value[node].mean(axis=1)


@cache
def _surrogate(name: str, folder: str | None, task: int, kind: str) -> CurveSurrogate:
    family = load_family(name, folder)
    return CurveSurrogate(kind).fit(family.configs, family.curves[task].astype(np.float64))


class RecordedProblem(Problem):
    """Replay recorded XGBoost / LightGBM learning curves: a real HPO task at no training cost.

    Each trial suggests the recorded family's parameters (the same distributions the adapter
    searched), the surrogate predicts that configuration's curve, and the curve is reported
    round by round (``n_steps`` = the recorded rounds), pruning when ``trial.should_prune()``
    says so. The value is the best round's value (the adapter's value under early stopping);
    ``optimum`` is the best value recorded on the task, which the surrogates cannot beat (they
    average recorded curves), so regret is meaningful. Task ``k > 0`` of a family is the same
    model on another 70% subsample, recorded on the same design: ``sources=K`` makes tasks
    ``1..K`` the transfer sources of task 0. Choose it to compare samplers and pruners on
    realistic model-tuning landscapes with 20+ seeds in seconds; use the live ``adapter``
    problem to check a conclusion on real training.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.recorded import RecordedProblem

            problem = RecordedProblem("xgboost-breast_cancer", sources=2)
            study = optuna.create_study(
                direction=problem.direction, pruner=optuna.pruners.MedianPruner()
            )
            study.optimize(problem, n_trials=100)

    Args:
        family: A recorded family ``<library>-<dataset>`` (see :func:`known_families`).
            Default ``"lightgbm-breast_cancer"``.
        task: Task index in the family (0: the whole dataset). Default 0.
        sources: Number of related source tasks, the family's other tasks in index order (at
            most the family's tasks minus one). Default 0.
        surrogate: ``"forest"``, ``"knn"`` or ``"nearest"``. Default ``"forest"``.
        n_steps: Report only the first ``n_steps`` rounds (the value is the best of those);
            default: every recorded round.
        data: Folder of recorded ``.npz`` files; default: the package data.
    """

    def __init__(
        self,
        family: str = "lightgbm-breast_cancer",
        task: int = 0,
        sources: int = 0,
        surrogate: str = "forest",
        n_steps: int | None = None,
        data: str | None = None,
    ) -> None:
        if surrogate not in SURROGATES:
            raise ValueError(f"`surrogate` must be one of {SURROGATES}, got {surrogate!r}.")
        self.family_name = family
        self.folder = None if data is None else str(Path(data).resolve())
        self.family = load_family(family, self.folder)
        self.task = _check_int("task", task, 0, self.family.n_tasks - 1)
        self.sources = _check_int("sources", sources, 0, self.family.n_tasks - 1)
        self.surrogate = surrogate
        steps = self.family.n_steps if n_steps is None else n_steps
        self.n_steps = _check_int("n_steps", steps, 1, self.family.n_steps)
        self.direction = str(self.family.meta["direction"])
        self._maximize = self.direction == "maximize"
        self._encoder = SearchSpaceEncoder(self.family.space)
        curves = self.family.curves[self.task, :, : self.n_steps].astype(np.float64)
        with np.errstate(all="ignore"):
            best = np.nanmax(curves, axis=1) if self._maximize else np.nanmin(curves, axis=1)
        self.optimum = float(np.nanmax(best) if self._maximize else np.nanmin(best))
        # Fitted here (once per process: cached), not in the first trial's objective time.
        self._model = _surrogate(self.family_name, self.folder, self.task, self.surrogate)

    def predict_curve(self, params: dict[str, Any]) -> np.ndarray:
        """The replayed learning curve of a configuration (``n_steps`` values)."""
        row = self._encoder.encode(params)
        return self._model.predict(row[None, :])[0, : self.n_steps]

    def __call__(self, trial: optuna.Trial) -> float:
        params = suggest_params(trial, self.family.space)
        curve = self.predict_curve(params)
        best = curve[0]
        for step, value in enumerate(curve.tolist()):
            best = max(best, value) if self._maximize else min(best, value)
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at round {step}")
        return float(best)

    def source_tasks(self) -> list[dict[str, Any]]:
        """The first ``sources`` sibling tasks (the family's other tasks, in index order)."""
        siblings = [t for t in range(self.family.n_tasks) if t != self.task]
        return [{"task": t} for t in siblings[: self.sources]]

    def search_space(self) -> dict[str, BaseDistribution]:
        return dict(self.family.space)
