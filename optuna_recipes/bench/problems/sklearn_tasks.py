"""Small real tuning tasks: scikit-learn models on datasets shipped with scikit-learn.

The objective is a cross-validated error to minimize (``1 - accuracy`` for classification,
``1 - R^2`` for regression). Task ``k > 0`` of a family tunes the same model on another random
70% subsample of the data (a related task, as when a model is retuned on fresh data).
``SGDCurveProblem`` trains epoch by epoch with ``partial_fit`` and reports the validation error
after each epoch: a real learning curve for pruner comparisons.
"""

from __future__ import annotations

from functools import cache
from typing import Any

import numpy as np
import optuna

from optuna_recipes.bench.problems._base import Problem
from optuna_recipes.bench.problems.synthetic import _check_int

DATASETS = (
    "breast_cancer",
    "digits",
    "wine",
    "iris",
    "diabetes",
    "make_classification",
    "make_regression",
    # Generated classification sets with one structure each (see _generated), and two
    # regression sets turned into classification (Grinsztajn et al. 2022 do the same).
    "imbalanced",
    "noisy",
    "categorical",
    "many_features",
    "hastie",
    "quantiles",
    "friedman1_binary",
    "diabetes_binary",
)
#: The regression datasets (the others are classification).
REGRESSION = frozenset({"diabetes", "make_regression"})
MODELS = ("svm", "hgb", "forest", "logreg")


@cache
def _load(dataset: str) -> tuple[np.ndarray, np.ndarray, bool]:
    """Features, targets and whether the task is classification.

    ``make_classification`` and ``make_regression`` are generated sets of a realistic tabular
    size (5,000 rows, 20 features, seed 0): a binary problem with 8 informative and 4 redundant
    features, 3% flipped labels and classes that overlap (``class_sep=0.8``); a linear
    regression target on 10 informative features with Gaussian noise (``noise=20``). The other
    generated sets (``imbalanced``, ``noisy``, ``categorical``, ``many_features``, ``hastie``,
    ``quantiles``, ``friedman1_binary``, ``diabetes_binary``) are smaller classification sets
    with one structure each; their generators' docstrings say which.
    """
    from sklearn import datasets

    if dataset not in DATASETS:
        raise ValueError(f"`dataset` must be one of {DATASETS}, got {dataset!r}.")
    if dataset == "make_classification":
        X, y = datasets.make_classification(
            n_samples=5000,
            n_features=20,
            n_informative=8,
            n_redundant=4,
            flip_y=0.03,
            class_sep=0.8,
            random_state=0,
        )
    elif dataset == "make_regression":
        X, y = datasets.make_regression(
            n_samples=5000, n_features=20, n_informative=10, noise=20.0, random_state=0
        )
    elif dataset in _GENERATED:
        X, y = _GENERATED[dataset]()
    else:
        X, y = getattr(datasets, f"load_{dataset}")(return_X_y=True)
    return np.asarray(X, dtype=float), np.asarray(y), dataset not in REGRESSION


def _imbalanced() -> tuple[np.ndarray, np.ndarray]:
    """1,500 x 20, 8% positives, 6 informative and 4 redundant features, 1% flipped labels."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=1500,
        n_features=20,
        n_informative=6,
        n_redundant=4,
        weights=[0.92],
        flip_y=0.01,
        random_state=1,
    )


def _noisy() -> tuple[np.ndarray, np.ndarray]:
    """1,200 x 12, binary, 20% of the labels replaced at random (label noise)."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=1200, n_features=12, n_informative=6, n_redundant=2, flip_y=0.2, random_state=2
    )


def _categorical() -> tuple[np.ndarray, np.ndarray]:
    """1,500 rows, binary: 4 of 8 latent features binned into 4-32 categories whose integer codes
    are shuffled (their order means nothing, as with label-encoded columns), plus 2 categorical
    columns of pure noise; 10 columns, 6 of them categorical."""
    from sklearn.datasets import make_classification

    rng = np.random.default_rng(7)
    X, y = make_classification(
        n_samples=1500, n_features=8, n_informative=5, n_redundant=1, random_state=7
    )
    for col, k in zip(range(4), (4, 8, 16, 32), strict=True):
        edges = np.quantile(X[:, col], np.linspace(0, 1, k + 1)[1:-1])
        X[:, col] = rng.permutation(k)[np.searchsorted(edges, X[:, col])]
    noise = rng.integers(0, 10, size=(len(y), 2))
    return np.hstack([X, noise]), y


def _many_features() -> tuple[np.ndarray, np.ndarray]:
    """600 x 150, binary, 10 informative and 20 redundant features, the rest noise."""
    from sklearn.datasets import make_classification

    return make_classification(
        n_samples=600, n_features=150, n_informative=10, n_redundant=20, random_state=3
    )


def _hastie() -> tuple[np.ndarray, np.ndarray]:
    """Hastie et al.'s 10-D problem (``make_hastie_10_2``): 1,200 rows, a spherical boundary."""
    from sklearn.datasets import make_hastie_10_2

    X, y = make_hastie_10_2(n_samples=1200, random_state=4)
    return X, (y > 0).astype(int)


def _quantiles() -> tuple[np.ndarray, np.ndarray]:
    """1,000 rows, 3 classes as nested Gaussian shells in 6-D, plus 4 uniform noise features."""
    from sklearn.datasets import make_gaussian_quantiles

    X, y = make_gaussian_quantiles(n_samples=1000, n_features=6, n_classes=3, random_state=5)
    noise = np.random.default_rng(5).uniform(-2, 2, size=(len(y), 4))
    return np.hstack([X, noise]), y


def _friedman1_binary() -> tuple[np.ndarray, np.ndarray]:
    """Friedman #1 (1,000 x 10, 5 features used, noise 1.0), target above its median."""
    from sklearn.datasets import make_friedman1

    X, y = make_friedman1(n_samples=1000, n_features=10, noise=1.0, random_state=6)
    return X, (y > np.median(y)).astype(int)


def _diabetes_binary() -> tuple[np.ndarray, np.ndarray]:
    """scikit-learn's diabetes data (442 x 10), progression above its median."""
    from sklearn.datasets import load_diabetes

    X, y = load_diabetes(return_X_y=True)
    return X, (y > np.median(y)).astype(int)


_GENERATED = {
    "imbalanced": _imbalanced,
    "noisy": _noisy,
    "categorical": _categorical,
    "many_features": _many_features,
    "hastie": _hastie,
    "quantiles": _quantiles,
    "friedman1_binary": _friedman1_binary,
    "diabetes_binary": _diabetes_binary,
}


def _subsample(X: np.ndarray, y: np.ndarray, task: int, fraction: float) -> tuple[Any, Any]:
    if task == 0 and fraction >= 1.0:
        return X, y
    rng = np.random.default_rng([task, 2718])
    idx = np.sort(rng.permutation(len(y))[: max(int(fraction * len(y)), 30)])
    return X[idx], y[idx]


class SklearnProblem(Problem):
    """Tune a scikit-learn model by cross-validation on a dataset shipped with scikit-learn.

    Models: ``svm`` (RBF SVC/SVR on standardized features: ``C``, ``gamma``), ``hgb``
    (``HistGradientBoosting*``: learning rate, depth, leaves, L2, min leaf size), ``forest``
    (random forest: trees, depth, max features, min leaf size, criterion) and ``logreg``
    (logistic or ridge regression: ``C``/``alpha``, class weights, intercept). Choose it for a
    real, cheap tuning task; the project's XGBoost/LightGBM/PyTorch adapters plug in the same way
    through :class:`~optuna_recipes.bench.problems.FunctionProblem`.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.sklearn_tasks import SklearnProblem

            problem = SklearnProblem(model="svm", dataset="breast_cancer")
            study = optuna.create_study(direction=problem.direction)
            study.optimize(problem, n_trials=10)

    Args:
        model: One of ``svm``, ``hgb``, ``forest``, ``logreg``. Default ``"svm"``.
        dataset: One of ``breast_cancer``, ``digits``, ``wine``, ``iris``, ``diabetes``
            (regression), the generated ``make_classification`` / ``make_regression``
            (5,000 x 20), or the smaller generated classification sets ``imbalanced``,
            ``noisy``, ``categorical``, ``many_features``, ``hastie``, ``quantiles``,
            ``friedman1_binary``, ``diabetes_binary``. Default ``"breast_cancer"``.
        cv: Number of cross-validation folds (>= 2). Default 3.
        task: Task index in the family: task 0 uses the whole dataset, task ``k`` another 70%
            subsample. Default 0.
        sources: Number of related source tasks. Default 0.
    """

    def __init__(
        self,
        model: str = "svm",
        dataset: str = "breast_cancer",
        cv: int = 3,
        task: int = 0,
        sources: int = 0,
    ) -> None:
        if model not in MODELS:
            raise ValueError(f"`model` must be one of {MODELS}, got {model!r}.")
        if dataset not in DATASETS:
            raise ValueError(f"`dataset` must be one of {DATASETS}, got {dataset!r}.")
        self.model = model
        self.dataset = dataset
        self.cv = _check_int("cv", cv, 2)
        self.task = _check_int("task", task, 0)
        self.sources = _check_int("sources", sources, 0)
        self.optimum = None

    def _estimator(self, trial: optuna.Trial, classification: bool) -> Any:
        from sklearn import ensemble
        from sklearn import linear_model
        from sklearn import svm
        from sklearn.pipeline import make_pipeline
        from sklearn.preprocessing import StandardScaler

        if self.model == "svm":
            c = trial.suggest_float("C", 1e-3, 1e3, log=True)
            gamma = trial.suggest_float("gamma", 1e-5, 1.0, log=True)
            est = svm.SVC(C=c, gamma=gamma) if classification else svm.SVR(C=c, gamma=gamma)
            return make_pipeline(StandardScaler(), est)
        if self.model == "hgb":
            kind = "Classifier" if classification else "Regressor"
            return getattr(ensemble, f"HistGradientBoosting{kind}")(
                learning_rate=trial.suggest_float("learning_rate", 1e-3, 0.5, log=True),
                max_depth=trial.suggest_int("max_depth", 2, 10),
                max_leaf_nodes=trial.suggest_int("max_leaf_nodes", 4, 64, log=True),
                l2_regularization=trial.suggest_float("l2_regularization", 1e-6, 10.0, log=True),
                min_samples_leaf=trial.suggest_int("min_samples_leaf", 2, 64, log=True),
                max_iter=50,
                random_state=0,
            )
        if self.model == "forest":
            kind = "Classifier" if classification else "Regressor"
            criteria = ["gini", "entropy"] if classification else ["squared_error", "friedman_mse"]
            return getattr(ensemble, f"RandomForest{kind}")(
                n_estimators=trial.suggest_int("n_estimators", 10, 50, log=True),
                max_depth=trial.suggest_int("max_depth", 2, 16),
                max_features=trial.suggest_float("max_features", 0.1, 1.0),
                min_samples_leaf=trial.suggest_int("min_samples_leaf", 1, 32, log=True),
                criterion=trial.suggest_categorical("criterion", criteria),
                random_state=0,
                n_jobs=1,
            )
        fit_intercept = trial.suggest_categorical("fit_intercept", [True, False])
        if classification:
            est = linear_model.LogisticRegression(
                C=trial.suggest_float("C", 1e-4, 1e4, log=True),
                class_weight=trial.suggest_categorical("class_weight", [None, "balanced"]),
                fit_intercept=fit_intercept,
                max_iter=300,
            )
        else:
            est = linear_model.Ridge(
                alpha=trial.suggest_float("alpha", 1e-4, 1e4, log=True),
                fit_intercept=fit_intercept,
            )
        return make_pipeline(StandardScaler(), est)

    def __call__(self, trial: optuna.Trial) -> float:
        from sklearn.model_selection import KFold
        from sklearn.model_selection import StratifiedKFold
        from sklearn.model_selection import cross_val_score

        X, y, classification = _load(self.dataset)
        X, y = _subsample(X, y, self.task, 0.7 if self.task else 1.0)
        estimator = self._estimator(trial, classification)
        split = StratifiedKFold if classification else KFold
        folds = split(n_splits=self.cv, shuffle=True, random_state=self.task)
        scoring = "accuracy" if classification else "r2"
        score = cross_val_score(estimator, X, y, cv=folds, scoring=scoring)
        return float(1.0 - np.mean(score))

    def source_tasks(self) -> list[dict[str, Any]]:
        return [{"task": k} for k in range(1, self.sources + 1)]


class SGDCurveProblem(Problem):
    """A real learning curve: ``SGDClassifier`` trained epoch by epoch on a shipped dataset.

    Tunes the regularization ``alpha``, the initial learning rate ``eta0``, the learning-rate
    schedule, the loss and the penalty; after each epoch (``partial_fit`` over the training
    split) the validation error is reported with ``trial.report``, so pruners can stop bad
    configurations early. Choose it to compare pruners on real training at a cost of milliseconds
    per epoch.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.problems.sklearn_tasks import SGDCurveProblem

            study = optuna.create_study(pruner=optuna.pruners.MedianPruner())
            study.optimize(SGDCurveProblem(n_steps=10), n_trials=10)

    Args:
        dataset: A classification dataset: ``breast_cancer``, ``digits``, ``wine``, ``iris``,
            ``make_classification``. Default ``"digits"``.
        n_steps: Number of epochs (>= 2). Default 20.
        task: Task index in the family: task ``k > 0`` trains on another 70% subsample.
            Default 0.
        sources: Number of related source tasks. Default 0.
    """

    def __init__(
        self, dataset: str = "digits", n_steps: int = 20, task: int = 0, sources: int = 0
    ) -> None:
        if dataset not in DATASETS or dataset in REGRESSION:
            valid = [d for d in DATASETS if d not in REGRESSION]
            raise ValueError(f"`dataset` must be one of {valid}, got {dataset!r}.")
        self.dataset = dataset
        self.n_steps = _check_int("n_steps", n_steps, 2)
        self.task = _check_int("task", task, 0)
        self.sources = _check_int("sources", sources, 0)

    def __call__(self, trial: optuna.Trial) -> float:
        import warnings

        from sklearn.exceptions import ConvergenceWarning
        from sklearn.linear_model import SGDClassifier
        from sklearn.model_selection import train_test_split
        from sklearn.preprocessing import StandardScaler

        X, y, _ = _load(self.dataset)
        X, y = _subsample(X, y, self.task, 0.7 if self.task else 1.0)
        X_tr, X_va, y_tr, y_va = train_test_split(
            X, y, test_size=0.3, random_state=self.task, stratify=y
        )
        scaler = StandardScaler().fit(X_tr)
        X_tr, X_va = scaler.transform(X_tr), scaler.transform(X_va)
        clf = SGDClassifier(
            alpha=trial.suggest_float("alpha", 1e-7, 1e-1, log=True),
            eta0=trial.suggest_float("eta0", 1e-5, 1.0, log=True),
            learning_rate=trial.suggest_categorical(
                "learning_rate", ["constant", "optimal", "invscaling", "adaptive"]
            ),
            loss=trial.suggest_categorical("loss", ["hinge", "log_loss", "modified_huber"]),
            penalty=trial.suggest_categorical("penalty", ["l2", "l1", "elasticnet"]),
            random_state=0,
        )
        classes = np.unique(y)
        error = 1.0
        with warnings.catch_warnings():
            warnings.simplefilter("ignore", ConvergenceWarning)
            for epoch in range(int(self.n_steps or 0)):
                clf.partial_fit(X_tr, y_tr, classes=classes)
                error = float(1.0 - clf.score(X_va, y_va))
                trial.report(error, epoch)
                if trial.should_prune():
                    raise optuna.TrialPruned()
        return error

    def source_tasks(self) -> list[dict[str, Any]]:
        return [{"task": k} for k in range(1, self.sources + 1)]
