"""Recorded ("tabular") problems: real learning curves of model tuning, replayed in milliseconds.

:mod:`optuna_recipes.bench.recording` trained a design of configurations once per task and
stored every configuration's whole learning curve (the cross-validated validation metric after
each boosting round, epoch or block of trees) and its training seconds in the package data
(``optuna_recipes/bench/data/<family>.npz``). :class:`RecordedProblem` answers a trial from these
records: it reads the trial's parameters with the same ``suggest_*`` calls as a live objective,
replays the configuration's learning curve and reports it step by step through
``trial.report`` / ``trial.should_prune``, so pruners act on it and the harness counts the steps
trained. The returned value is the best step's value (what early stopping returns).

Families (``known_families()``): the format-2 families ``xgboost``, ``lightgbm``, ``hgb``,
``random_forest``, ``extra_trees``, ``svm`` and ``mlp`` (one model and one search space
recorded on 8 classification tasks each, half of them on development datasets and half on held
out test datasets; see :mod:`optuna_recipes.bench.recording.families`), and the format-1
families ``<library>-<dataset>`` (XGBoost or LightGBM on one dataset, tasks = 70% subsamples).

Replay (``surrogate=``):

- ``"auto"`` (default): ``"nearest"`` when the family recorded its whole (discrete) space, which
  is then an exact table lookup (``svm``); ``"forest"`` otherwise.
- ``"forest"``: extremely randomized trees (``sklearn.ensemble.ExtraTreesRegressor``, 64 trees,
  fully grown) fitted on the encoded configurations, predicting the whole curve at once
  (multi-output). Its prediction is an average of recorded curves, so predicted curves keep
  their shape, never beat the best recorded value (the problem's ``optimum``) and equal the
  record at a recorded configuration.
- ``"knn"``: the distance-weighted mean curve of the 5 nearest recorded configurations
  (unit-cube encoding, Euclidean).
- ``"nearest"``: the curve of the nearest recorded configuration, exactly as recorded.

The held-out accuracy of the forest is measured at recording time (5-fold cross-validation over
each task's configurations, Spearman correlation and normalized error of the best values, in
each task's ``meta["tasks"][i]["holdout"]``) and in ``benchmarks/recorded_replay.py``.

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.bench.problems.recorded import RecordedProblem

        problem = RecordedProblem("xgboost", task="hastie")
        study = optuna.create_study(direction=problem.direction)
        study.optimize(problem, n_trials=100)
        print(problem.seconds(study.best_params))  # what that configuration cost to train
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
from optuna_recipes._validation import check_choice
from optuna_recipes._validation import check_int
from optuna_recipes.adapters._base.search_space import suggest_params
from optuna_recipes.bench.problems._base import Problem

#: The surrogates of :class:`CurveSurrogate`; the problem's ``surrogate`` option also takes
#: ``"auto"``.
SURROGATES = ("forest", "knn", "nearest")
#: Which tasks may be sources: every other task of the family (leave one task out), or only
#: the family's other development / test tasks.
SOURCE_POOLS = ("all", "dev", "test")
#: The file formats :func:`load_family` reads (``optuna_recipes.bench.recording.FORMAT`` is
#: the newest).
FORMATS = ("optuna-recipes-recorded-1", "optuna-recipes-recorded-2")
_DATA_PACKAGE = "optuna_recipes.bench"


def data_dir() -> Path:
    """The folder of the recorded families shipped with the package."""
    from importlib import resources

    return Path(str(resources.files(_DATA_PACKAGE).joinpath("data")))


def known_families(folder: str | Path | None = None) -> list[str]:
    """Names of the recorded families in ``folder`` (default: the package data)."""
    folder = Path(folder) if folder is not None else data_dir()
    if not folder.is_dir():
        return []
    return sorted(p.stem for p in folder.glob("*.npz") if not p.name.endswith(".tmp.npz"))


@dataclass(frozen=True)
class RecordedFamily:
    """The records of one family: design, curves and seconds of every task, and their origin.

    Attributes:
        name: Family name, e.g. ``"xgboost"`` or ``"xgboost-breast_cancer"`` (format 1).
        meta: What the recording wrote (format, model, metric, direction, steps, tasks with
            their dataset, split and held-out replay accuracy, commands, versions, ...).
        space: The recorded search space (name -> distribution).
        configs: Encoded design, shape ``(n_configs, n_params)`` (unit cube; see
            :class:`optuna_recipes._encoding.SearchSpaceEncoder`).
        curves: Learning curves, shape ``(n_tasks, n_configs, n_steps)`` (NaN: failed).
        seconds: Training seconds of each configuration on each task, ``(n_tasks, n_configs)``
            (format 2: CPU seconds of one thread for all folds; format 1: wall seconds).
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

    @property
    def task_names(self) -> list[str]:
        """Task names (format 1: ``"0"``, ``"1"``, ...: whole dataset, then subsamples)."""
        tasks = self.meta.get("tasks", [])
        if tasks and isinstance(tasks[0], dict):
            return [str(t["name"]) for t in tasks]
        return [str(i) for i in range(self.n_tasks)]

    @property
    def splits(self) -> list[str | None]:
        """``"dev"`` / ``"test"`` per task (format 1 families have no split: ``None``)."""
        tasks = self.meta.get("tasks", [])
        return [t.get("split") if isinstance(t, dict) else None for t in tasks]

    @property
    def full_grid(self) -> bool:
        """Whether the design is the family's whole discrete space (replay is a lookup)."""
        return self.meta.get("design", {}).get("kind") == "full grid"

    def task_index(self, task: int | str) -> int:
        """The index of a task given by index or name; the error lists the tasks."""
        names = self.task_names
        if isinstance(task, str) and task in names:
            return names.index(task)
        if isinstance(task, int) and not isinstance(task, bool) and 0 <= task < self.n_tasks:
            return task
        raise ValueError(
            f"`task` must be a task of family {self.name!r}: an index in [0, "
            f"{self.n_tasks - 1}] or one of {names}; got {task!r}."
        )

    def best_values(self, task: int) -> np.ndarray:
        """The best step's value of every recorded configuration of ``task``."""
        curves = self.curves[task].astype(np.float64)
        maximize = self.meta["direction"] == "maximize"
        with np.errstate(all="ignore"):
            return np.nanmax(curves, axis=1) if maximize else np.nanmin(curves, axis=1)


@cache
def load_family(name: str, folder: str | None = None) -> RecordedFamily:
    """Load a recorded family (cached per process).

    Raises:
        ValueError: ``name`` is not a recorded family (the message lists the known ones), or
            the file has a format this version cannot read.
    """
    base = Path(folder) if folder is not None else data_dir()
    path = base / f"{name}.npz"
    if not path.is_file():
        known = known_families(base)
        raise ValueError(
            f"Unknown recorded family {name!r} in {base}; known families: "
            f"{', '.join(known) or 'none'} (record one with "
            "`python -m optuna_recipes.bench.recording --family NAME`)."
        )
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        if meta.get("format") not in FORMATS:
            raise ValueError(
                f"{path} has format {meta.get('format')!r}; this version reads {FORMATS}. "
                "Upgrade optuna-recipes or re-record the family."
            )
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
        check_choice("surrogate", kind, SURROGATES)
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

            target = self._Y if self._Y.shape[1] > 1 else self._Y[:, 0]
            forest = ExtraTreesRegressor(n_estimators=64, random_state=self.seed, n_jobs=1).fit(
                self._X, target
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


def _resolve(family: RecordedFamily, surrogate: str) -> str:
    if surrogate != "auto":
        return surrogate
    return "nearest" if family.full_grid else "forest"


@cache
def _surrogate(name: str, folder: str | None, task: int, kind: str) -> CurveSurrogate:
    family = load_family(name, folder)
    return CurveSurrogate(kind).fit(family.configs, family.curves[task].astype(np.float64))


@cache
def _seconds_model(name: str, folder: str | None, task: int, kind: str) -> CurveSurrogate:
    """The same surrogate on log seconds (a one-step 'curve')."""
    family = load_family(name, folder)
    log_s = np.log(np.maximum(family.seconds[task].astype(np.float64), 1e-6))
    return CurveSurrogate(kind).fit(family.configs, log_s[:, None])


def _dataset(family: RecordedFamily, task: int) -> str:
    return family.task_names[task].partition(":")[0]


class RecordedProblem(Problem):
    """Replay recorded learning curves of real model tuning: an HPO task at no training cost.

    Each trial suggests the family's parameters (the distributions the recording searched), the
    surrogate replays that configuration's curve, and the curve is reported step by step
    (``n_steps`` = the recorded steps), pruning when ``trial.should_prune()`` says so. The value
    is the best step's value; ``optimum`` is the best value recorded on the task, which the
    replay cannot beat (it averages or looks up recorded curves), so regret is meaningful.
    :meth:`seconds` gives what a configuration cost to train, for simulated-time benchmarks.

    Sources for transfer benchmarks are the family's other tasks (recorded on the same design):
    ``sources`` of them, taken in the family's task order starting after the target (so a
    different target gets a different single source), from ``source_pool``; ``unrelated`` adds
    tasks of the partner family (same parameter names, another model) on other datasets than
    the target's. Choose this problem to compare samplers and pruners on realistic tuning
    landscapes with many seeds in seconds; use the live ``adapter`` problem to check a
    conclusion on real training.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.recorded import RecordedProblem

            problem = RecordedProblem("lightgbm", task="noisy", sources="all")
            study = optuna.create_study(
                direction=problem.direction, pruner=optuna.pruners.MedianPruner()
            )
            study.optimize(problem, n_trials=100)
            print(problem.source_tasks())  # the 7 sibling tasks

    Args:
        family: A recorded family (see :func:`known_families`). Default
            ``"lightgbm-breast_cancer"``.
        task: The target task: an index or a task name (``"hastie"``, ``"digits:half"``).
            Default 0.
        sources: Number of related source tasks, or ``"all"`` (every task of the pool: leave
            one task out). Default 0.
        surrogate: ``"auto"``, ``"forest"``, ``"knn"`` or ``"nearest"`` (module docstring).
            Default ``"auto"``.
        n_steps: Report only the first ``n_steps`` steps (the value is the best of those);
            default: every recorded step.
        data: Folder of recorded ``.npz`` files; default: the package data.
        source_pool: ``"all"`` (the family's other tasks), ``"dev"`` or ``"test"`` (only its
            other development / test tasks: a development benchmark never sees test data).
            Default ``"all"``.
        unrelated: Number of unrelated sources from the partner family (``meta["partner"]``),
            on datasets other than the target's, restricted to ``source_pool``. Default 0.
    """

    def __init__(
        self,
        family: str = "lightgbm-breast_cancer",
        task: int | str = 0,
        sources: int | str = 0,
        surrogate: str = "auto",
        n_steps: int | None = None,
        data: str | None = None,
        source_pool: str = "all",
        unrelated: int = 0,
    ) -> None:
        check_choice("surrogate", surrogate, ("auto", *SURROGATES))
        self.family_name = family
        self.folder = None if data is None else str(Path(data).resolve())
        self.family = load_family(family, self.folder)
        self.task = self.family.task_index(task)
        self.task_name = self.family.task_names[self.task]
        self.source_pool = check_choice("source_pool", source_pool, SOURCE_POOLS)
        if source_pool != "all" and None in self.family.splits:
            raise ValueError(
                f"`source_pool` {source_pool!r} needs a family with a dev/test split; "
                f"{family!r} (format 1) has none: use 'all'."
            )
        pool = self._pool()
        if sources != "all":
            sources = check_int("sources", sources, minimum=0, maximum=len(pool))
        self.sources = len(pool) if sources == "all" else sources
        self.unrelated = check_int("unrelated", unrelated, minimum=0)
        if self.unrelated:
            self._unrelated_tasks()  # validates now, not in the harness's source phase
        self.surrogate = _resolve(self.family, surrogate)
        steps = self.family.n_steps if n_steps is None else n_steps
        self.n_steps = check_int("n_steps", steps, minimum=1, maximum=self.family.n_steps)
        self.direction = str(self.family.meta["direction"])
        self._maximize = self.direction == "maximize"
        self._encoder = SearchSpaceEncoder(self.family.space)
        curves = self.family.curves[self.task, :, : self.n_steps].astype(np.float64)
        with np.errstate(all="ignore"):
            best = np.nanmax(curves, axis=1) if self._maximize else np.nanmin(curves, axis=1)
        self.optimum = float(np.nanmax(best) if self._maximize else np.nanmin(best))
        # Fitted here (once per process: cached), not in the first trial's objective time.
        self._model = _surrogate(self.family_name, self.folder, self.task, self.surrogate)
        self._seconds = _seconds_model(self.family_name, self.folder, self.task, self.surrogate)

    def predict_curve(self, params: dict[str, Any]) -> np.ndarray:
        """The replayed learning curve of a configuration (``n_steps`` values)."""
        row = self._encoder.encode(params)
        return self._model.predict(row[None, :])[0, : self.n_steps]

    def seconds(self, params: dict[str, Any], steps: int | None = None) -> float:
        """Seconds that training ``params`` for ``steps`` steps cost when recorded.

        The recorded (or, between records, replayed the same way as the curve) seconds of the
        whole curve, times ``steps / recorded steps`` (default: ``n_steps``): a pruned trial
        costs its share. Format-2 families recorded one thread's CPU seconds for all folds,
        training and per-step validation included; use it as the cost of a trial in
        simulated-time comparisons.
        """
        steps = self.n_steps if steps is None else check_int("steps", steps, minimum=0)
        row = self._encoder.encode(params)
        full = float(np.exp(self._seconds.predict(row[None, :])[0, 0]))
        return full * min(steps, self.family.n_steps) / self.family.n_steps

    def __call__(self, trial: optuna.Trial) -> float:
        params = suggest_params(trial, self.family.space)
        curve = self.predict_curve(params)
        best = curve[0]
        for step, value in enumerate(curve.tolist()):
            best = max(best, value) if self._maximize else min(best, value)
            trial.report(value, step)
            if trial.should_prune():
                raise optuna.TrialPruned(f"pruned at step {step}")
        return float(best)

    def _pool(self) -> list[int]:
        """The other tasks that may be sources, in order starting after the target."""
        n = self.family.n_tasks
        order = [(self.task + k) % n for k in range(1, n)]
        if self.source_pool == "all":
            return order
        return [t for t in order if self.family.splits[t] == self.source_pool]

    def _unrelated_tasks(self) -> list[str]:
        partner = self.family.meta.get("partner")
        if not partner:
            raise ValueError(
                f"`unrelated` needs a family with a partner (same parameter names); "
                f"{self.family_name!r} has none. Families with one: xgboost, lightgbm, "
                "random_forest, extra_trees."
            )
        other = load_family(partner, self.folder)
        target = _dataset(self.family, self.task)
        names = [
            name
            for t, name in enumerate(other.task_names)
            if _dataset(other, t) != target and self.source_pool in ("all", other.splits[t])
        ]
        if self.unrelated > len(names):
            raise ValueError(
                f"`unrelated` must be <= {len(names)} (tasks of {partner!r} on other datasets "
                f"in pool {self.source_pool!r}); got {self.unrelated}."
            )
        return names[: self.unrelated]

    def source_tasks(self) -> list[dict[str, Any]]:
        """Option overrides of the sources: ``sources`` siblings, then ``unrelated`` partner
        tasks (which get ``sources=0, unrelated=0`` themselves)."""
        related = self._pool()[: self.sources]
        names = self.family.task_names
        tasks: list[dict[str, Any]] = [
            {"task": t if self.family.meta.get("format") == FORMATS[0] else names[t]}
            for t in related
        ]
        if self.unrelated:
            partner = self.family.meta["partner"]
            tasks += [
                {"family": partner, "task": name, "sources": 0, "unrelated": 0}
                for name in self._unrelated_tasks()
            ]
        return tasks

    def search_space(self) -> dict[str, BaseDistribution]:
        return dict(self.family.space)
