"""The recorded task families: models, shared search spaces, tasks and the dev/test split.

A *family* is one model and one search space recorded on several tasks (datasets, subsamples
and perturbations of them), all on the same design of configurations, so the records line up
across tasks and any task can be the target of a transfer benchmark whose sources are its
siblings. Two pairs of families share parameter names and distributions on the same datasets
(``xgboost``/``lightgbm`` and ``random_forest``/``extra_trees``): a task of the partner family
is an *unrelated* source (another model's landscape under the same names).

The split was fixed before any sampler was tuned on these records and must not move: tasks on
:data:`DEV_DATASETS` are for development, tasks on :data:`TEST_DATASETS` only for the final
comparison. Every family has tasks on both sides, so a test target is always a dataset that no
development run has seen.

Tasks are named ``dataset`` or ``dataset:variant`` (a dataset of
:mod:`optuna_recipes.bench.problems.sklearn_tasks`; variants in :data:`VARIANTS`).

Example:
    .. code-block:: python

        from optuna_recipes.bench.recording.families import FAMILIES, split_of

        family = FAMILIES["xgboost"]
        dev = [t for t in family.tasks if split_of(t) == "dev"]
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

from optuna_recipes.bench.problems.sklearn_tasks import _load
from optuna_recipes.bench.recording.models import TaskData

#: Datasets of the development tasks (every sampler change is tuned on these only).
DEV_DATASETS = ("breast_cancer", "wine", "imbalanced", "hastie", "quantiles", "categorical")
#: Datasets of the test tasks (held out: used for the final comparison, never for tuning).
TEST_DATASETS = ("digits", "iris", "diabetes_binary", "noisy", "many_features", "friedman1_binary")
#: Task variants: a stratified 50% subsample, 10% of the labels replaced at random, 20 extra
#: standard-normal noise features (all seeded).
VARIANTS = ("half", "flip10", "noise20")


@dataclass(frozen=True)
class FamilySpec:
    """What a family records.

    Attributes:
        name: Family name (the file ``<name>.npz``).
        model: Key of :data:`optuna_recipes.bench.recording.models.CURVES`.
        space: The searched parameters (name -> Optuna distribution).
        tasks: Task names, ``dataset`` or ``dataset:variant``.
        steps: Learning-curve length.
        step: What one step is (``"boosting round"``, ``"epoch"``, ...).
        metric: The recorded metric (minimized).
        grid: The two parameters of the design's grid part; ``None``: the design is the whole
            (discrete) space.
        n_grid: Grid levels per axis.
        n_sobol: Scrambled Sobol points after the grid.
        partner: The family with the same parameter names (unrelated sources), or ``None``.
    """

    name: str
    model: str
    space: dict[str, BaseDistribution]
    tasks: tuple[str, ...]
    steps: int
    step: str
    metric: str
    grid: tuple[str, str] | None
    n_grid: int = 4
    n_sobol: int = 240
    partner: str | None = None


def _gbdt_space() -> dict[str, BaseDistribution]:
    return {
        "learning_rate": FloatDistribution(0.005, 0.5, log=True),
        "grow_policy": CategoricalDistribution(("depthwise", "lossguide")),
        "max_depth": IntDistribution(2, 12, step=2),
        "max_leaves": IntDistribution(8, 128, step=8),
        "min_child_weight": FloatDistribution(1e-3, 10.0, log=True),
        "subsample": FloatDistribution(0.5, 1.0, step=0.1),
        "colsample_bytree": FloatDistribution(0.3, 1.0, step=0.1),
    }


def _forest_space() -> dict[str, BaseDistribution]:
    return {
        "max_features": FloatDistribution(0.1, 1.0, step=0.1),
        "min_samples_leaf": IntDistribution(1, 32, log=True),
        "max_depth": IntDistribution(4, 24, step=4),
        "criterion": CategoricalDistribution(("gini", "entropy")),
        "bootstrap": CategoricalDistribution((True, False)),
        "class_weight": CategoricalDistribution((None, "balanced")),
    }


_GBDT_TASKS = (
    "breast_cancer",
    "imbalanced",
    "hastie",
    "categorical",
    "hastie:flip10",
    "diabetes_binary",
    "noisy",
    "many_features",
    "friedman1_binary",
    "noisy:half",
)
_FOREST_TASKS = (
    "breast_cancer",
    "wine",
    "hastie",
    "quantiles",
    "breast_cancer:noise20",
    "iris",
    "diabetes_binary",
    "noisy",
    "many_features",
    "diabetes_binary:flip10",
)

FAMILIES: dict[str, FamilySpec] = {
    spec.name: spec
    for spec in (
        FamilySpec(
            name="xgboost",
            model="xgboost",
            space=_gbdt_space(),
            tasks=_GBDT_TASKS,
            steps=100,
            step="boosting round",
            metric="log_loss",
            grid=("learning_rate", "max_depth"),
            partner="lightgbm",
        ),
        FamilySpec(
            name="lightgbm",
            model="lightgbm",
            space=_gbdt_space(),
            tasks=_GBDT_TASKS,
            steps=100,
            step="boosting round",
            metric="log_loss",
            grid=("learning_rate", "max_depth"),
            partner="xgboost",
        ),
        FamilySpec(
            name="hgb",
            model="hgb",
            space={
                "learning_rate": FloatDistribution(0.01, 0.5, log=True),
                "max_leaf_nodes": IntDistribution(4, 64, step=4),
                "min_samples_leaf": IntDistribution(5, 100, step=5),
                "l2_regularization": FloatDistribution(1e-4, 10.0, log=True),
                "max_features": FloatDistribution(0.2, 1.0, step=0.1),
                "class_weight": CategoricalDistribution((None, "balanced")),
                "interaction_cst": CategoricalDistribution((None, "no_interactions")),
            },
            tasks=(
                "breast_cancer",
                "wine",
                "imbalanced",
                "categorical",
                "categorical:half",
                "iris",
                "diabetes_binary",
                "noisy",
                "friedman1_binary",
                "friedman1_binary:noise20",
            ),
            steps=100,
            step="boosting iteration",
            metric="log_loss",
            grid=("learning_rate", "max_leaf_nodes"),
            n_sobol=120,
        ),
        FamilySpec(
            name="random_forest",
            model="random_forest",
            space=_forest_space(),
            tasks=_FOREST_TASKS,
            steps=25,
            step="4 trees",
            metric="log_loss",
            grid=("max_features", "min_samples_leaf"),
            n_sobol=120,
            partner="extra_trees",
        ),
        FamilySpec(
            name="extra_trees",
            model="extra_trees",
            space=_forest_space(),
            tasks=_FOREST_TASKS,
            steps=25,
            step="4 trees",
            metric="log_loss",
            grid=("max_features", "min_samples_leaf"),
            n_sobol=120,
            partner="random_forest",
        ),
        FamilySpec(
            name="svm",
            model="svm",
            space={
                "kernel": CategoricalDistribution(("rbf", "poly", "sigmoid")),
                "log2_C": IntDistribution(-5, 15, step=2),
                "log2_gamma": IntDistribution(-15, 3, step=2),
            },
            tasks=(
                "breast_cancer",
                "wine",
                "hastie",
                "quantiles",
                "wine:noise20",
                "digits",
                "iris",
                "many_features",
                "friedman1_binary",
                "iris:flip10",
            ),
            steps=1,
            step="fit",
            metric="error",
            grid=None,
        ),
        FamilySpec(
            name="mlp",
            model="mlp",
            space={
                "learning_rate_init": FloatDistribution(1e-4, 0.3, log=True),
                "alpha": FloatDistribution(1e-6, 0.1, log=True),
                "n_units": IntDistribution(16, 128, step=16),
                "n_layers": IntDistribution(1, 3),
                "activation": CategoricalDistribution(("relu", "tanh", "logistic")),
                "solver": CategoricalDistribution(("adam", "sgd")),
                "batch_size": IntDistribution(32, 256, step=32),
            },
            tasks=(
                "breast_cancer",
                "wine",
                "imbalanced",
                "quantiles",
                "breast_cancer:flip10",
                "iris",
                "diabetes_binary",
                "digits:half",
                "friedman1_binary",
                "diabetes_binary:noise20",
            ),
            steps=30,
            step="epoch",
            metric="log_loss",
            grid=("learning_rate_init", "n_units"),
            n_sobol=240,
        ),
    )
}


def split_of(task: str) -> str:
    """``"dev"`` or ``"test"``: the side of the split of a task's dataset."""
    dataset = task.partition(":")[0]
    if dataset in DEV_DATASETS:
        return "dev"
    if dataset in TEST_DATASETS:
        return "test"
    raise ValueError(
        f"Task {task!r} is on dataset {dataset!r}, which is in neither DEV_DATASETS nor "
        "TEST_DATASETS; add it to one of them before recording it."
    )


def load_task(task: str, cv: int = 3) -> TaskData:
    """Rows, labels and stratified ``cv``-fold splits (shuffled, seed 0) of a task."""
    from sklearn.model_selection import StratifiedKFold

    dataset, _, variant = task.partition(":")
    split_of(task)
    X, y, classification = _load(dataset)
    if not classification:
        raise ValueError(f"Task {task!r}: recorded families are classification tasks.")
    rng = np.random.default_rng(sum(map(ord, task)))
    y = np.unique(y, return_inverse=True)[1]
    n_classes = int(y.max()) + 1
    if variant == "half":
        keep = np.sort(
            np.concatenate(
                [
                    rng.permutation(np.flatnonzero(y == c))[: max((y == c).sum() // 2, 3)]
                    for c in range(n_classes)
                ]
            )
        )
        X, y = X[keep], y[keep]
    elif variant == "flip10":
        flip = rng.random(len(y)) < 0.1
        y = np.where(flip, rng.integers(0, n_classes, len(y)), y)
    elif variant == "noise20":
        X = np.hstack([X, rng.standard_normal((len(y), 20))])
    elif variant:
        raise ValueError(f"Task {task!r}: unknown variant {variant!r}; known: {VARIANTS}.")
    folds = StratifiedKFold(n_splits=cv, shuffle=True, random_state=0).split(X, y)
    return TaskData(X=np.asarray(X, dtype=float), y=y, n_classes=n_classes, folds=list(folds))
