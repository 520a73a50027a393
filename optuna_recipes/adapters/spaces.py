"""Default search spaces of the objectives, kept as data: XGBoost, LightGBM and PyTorch training
first, then the scikit-learn estimators of ``SklearnObjective`` (a separate block at the end,
with its own sources).

Each space is a plain ``dict`` of Optuna distributions, so it can be read, printed, copied and
edited; ``objective.search_space`` shows the one a given objective searches (after its
``space=`` overrides and ``fixed_params``). The number of boosting rounds is never searched: it
is chosen by early stopping on the validation folds (``num_boost_round`` is only the cap), as
the TabRepo/TabArena configurations do.

Sources
-------
- **TabRepo / TabArena** (Salinas & Erickson, "TabRepo: A Large Scale Repository of Tabular
  Model Evaluations and its AutoML Applications", AutoML 2024; Erickson et al., "TabArena: A
  Living Benchmark for Machine Learning on Tabular Data", 2025; code: ``autogluon/tabrepo``,
  ``tabrepo/models/xgboost/generate_alt.py`` and ``tabrepo/models/lightgbm/generate_alt.py``):
  the random-search spaces from which those benchmarks draw their tuned GBDT configurations
  (200 random configurations per model). Our main source: narrow and recent.
- **FLAML** (Wang et al., "FLAML: A Fast and Lightweight AutoML Library", MLSys 2021; code:
  ``flaml/automl/model.py``, ``XGBoostEstimator.search_space`` and
  ``LGBMEstimator.search_space``): ``min_child_weight`` in ``[1e-3, 128]`` (log),
  ``reg_alpha``/``reg_lambda`` in ``[1/1024, 1024]`` (log), ``min_child_samples`` in
  ``[2, 129]`` (log).
- **Probst, Boulesteix & Bischl**, "Tunability: Importance of Hyperparameters of Machine
  Learning Algorithms", JMLR 20(53), 2019: for xgboost, ``eta`` in ``[2^-10, 2^0]`` (log),
  ``max_depth`` in ``[1, 15]``, ``subsample`` in ``[0.1, 1]``, ``lambda``/``alpha`` in
  ``[2^-10, 2^10]`` (log); ``eta`` and the number of rounds are the most tunable, which is
  why the learning rate is always searched here and the rounds are set by early stopping.

Deviations from the sources, and why:

- ``learning_rate`` upper bound 0.3 (TabArena: 0.1): TabArena trains up to 10,000 rounds; with
  this package's default cap of 1,000 rounds (and smaller caps in quick studies) rates up to
  XGBoost's default 0.3 must stay reachable. The lower bound 5e-3 is TabArena's.
- ``reg_alpha``/``reg_lambda``/``lambda_l1``/``lambda_l2`` are searched on a log scale (TabArena
  samples them linearly in ``[1e-4, 5]``): the effect of an L1/L2 penalty is multiplicative,
  which is how FLAML and Probst et al. search them. Their range is TabArena's.
- Parameters that only act on categorical features (``max_cat_to_onehot``, ``cat_l2``,
  ``cat_smooth``, ``min_data_per_group``) are added only when the data has categorical
  columns, with TabArena's ranges.

Example:
    .. code-block:: python

        from optuna_recipes.adapters.spaces import xgboost_space

        for name, dist in xgboost_space("binary").items():
            print(name, dist)
"""

from __future__ import annotations

from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution

#: XGBoost (tree booster, ``tree_method="hist"``); TabArena's space with the deviations above.
XGBOOST_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(5e-3, 0.3, log=True),
    "max_depth": IntDistribution(4, 10, log=True),
    "min_child_weight": FloatDistribution(1e-3, 5.0, log=True),
    "subsample": FloatDistribution(0.6, 1.0),
    "colsample_bylevel": FloatDistribution(0.6, 1.0),
    "colsample_bynode": FloatDistribution(0.6, 1.0),
    "reg_alpha": FloatDistribution(1e-4, 5.0, log=True),
    "reg_lambda": FloatDistribution(1e-4, 5.0, log=True),
    "grow_policy": CategoricalDistribution(["depthwise", "lossguide"]),
}

#: Added to :data:`XGBOOST_SPACE` when the data has categorical columns (TabArena).
XGBOOST_CATEGORICAL_SPACE: dict[str, BaseDistribution] = {
    "max_cat_to_onehot": IntDistribution(8, 100, log=True),
}

#: LightGBM (``bagging_freq=1`` is fixed so that ``bagging_fraction`` acts); TabArena's space.
LIGHTGBM_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(5e-3, 0.3, log=True),
    "feature_fraction": FloatDistribution(0.4, 1.0),
    "bagging_fraction": FloatDistribution(0.7, 1.0),
    "num_leaves": IntDistribution(2, 200, log=True),
    "min_data_in_leaf": IntDistribution(1, 64, log=True),
    "extra_trees": CategoricalDistribution([False, True]),
    "lambda_l1": FloatDistribution(1e-4, 1.0, log=True),
    "lambda_l2": FloatDistribution(1e-4, 2.0, log=True),
}

#: Added to :data:`LIGHTGBM_SPACE` when the data has categorical columns (TabArena).
LIGHTGBM_CATEGORICAL_SPACE: dict[str, BaseDistribution] = {
    "min_data_per_group": IntDistribution(2, 100, log=True),
    "cat_l2": FloatDistribution(5e-3, 2.0, log=True),
    "cat_smooth": FloatDistribution(1e-3, 100.0, log=True),
    "max_cat_to_onehot": IntDistribution(8, 100, log=True),
}


def xgboost_space(task: str, has_categorical: bool = False) -> dict[str, BaseDistribution]:
    """Default XGBoost space for ``task`` (a fresh dict: editing it changes nothing here).

    The same ranges serve every task (TabArena uses one space for classification and
    regression); ``task`` is accepted so that task-specific spaces can be added without
    changing callers.
    """
    space = dict(XGBOOST_SPACE)
    if has_categorical:
        space.update(XGBOOST_CATEGORICAL_SPACE)
    return space


def lightgbm_space(task: str, has_categorical: bool = False) -> dict[str, BaseDistribution]:
    """Default LightGBM space for ``task`` (a fresh dict: editing it changes nothing here)."""
    space = dict(LIGHTGBM_SPACE)
    if has_categorical:
        space.update(LIGHTGBM_CATEGORICAL_SPACE)
    return space


#: Default training space of :class:`optuna_recipes.adapters.torch.TorchObjective` (the network
#: itself comes from ``build_model(trial)``). Ranges follow the LCBench / Auto-PyTorch Tabular
#: space (Zimmer, Lindauer & Hutter, "Auto-PyTorch Tabular: Multi-Fidelity MetaLearning for
#: Efficient and Robust AutoDL", TPAMI 2021): learning rate in ``[1e-4, 1e-1]`` (log), Adam /
#: AdamW / SGD with momentum, cosine annealing. Deviations: batch sizes are the powers of two
#: 32-256 (what fits small tabular sets and keeps CPU epochs short); weight decay is searched on
#: a log scale in ``[1e-6, 1e-2]`` (its effect is multiplicative); ``momentum`` is searched only
#: when the optimizer is SGD; ``"exponential"`` decays the rate to 1% of its start over the
#: epoch budget.
TORCH_SPACE: dict[str, BaseDistribution] = {
    "optimizer": CategoricalDistribution(["adam", "adamw", "sgd"]),
    "lr": FloatDistribution(1e-4, 1e-1, log=True),
    "batch_size": CategoricalDistribution([32, 64, 128, 256]),
    "weight_decay": FloatDistribution(1e-6, 1e-2, log=True),
    "momentum": FloatDistribution(0.8, 0.99),
    "lr_schedule": CategoricalDistribution(["constant", "cosine", "exponential"]),
}


def torch_space(task: str) -> dict[str, BaseDistribution]:
    """Default PyTorch training space for ``task`` (a fresh dict; the same for every task)."""
    return dict(TORCH_SPACE)


# =============================================================================================
# scikit-learn estimators (:class:`optuna_recipes.adapters.sklearn.SklearnObjective`)
# =============================================================================================
# Keyed by estimator class name; parameter names are the estimator's own (SklearnObjective
# prefixes them, e.g. ``svc__C``, when the estimator is the final step of a Pipeline). The
# iteration count (``max_iter`` of HistGradientBoosting, ``n_estimators`` of the forests, the
# epochs of MLP and SGD) is never searched: it is chosen by early stopping on the validation
# folds, up to the objective's ``max_rounds``. Sources, one per space:
# - auto-sklearn: Feurer et al., "Efficient and Robust Automated Machine Learning", NeurIPS
#   2015; code ``automl/auto-sklearn``, ``autosklearn/pipeline/components/{classification,
#   regression}/*.py`` (master, 2023).
# - FLAML: Wang et al., MLSys 2021; code ``microsoft/FLAML``, ``flaml/automl/model.py`` and
#   ``flaml/automl/contrib/histgb.py``.
# - TabArena / TabRepo: ``autogluon/tabrepo``, ``tabrepo/models/<model>/generate_alt.py``.
# - mlr3tuningspaces: the "default" spaces of Bischl et al., "Hyperparameter optimization:
#   Foundations, algorithms, best practices, and open challenges", WIREs DMKD 2023; code
#   ``mlr-org/mlr3tuningspaces``, ``R/tuning_spaces_default.R``.

#: HistGradientBoosting (both tasks). auto-sklearn's ``gradient_boosting.py`` ranges, except
#: ``l2_regularization``, which follows FLAML's ``histgb.py`` (``[2^-10, 2^10]``, log):
#: auto-sklearn's ``[1e-10, 1]`` spends most of its log range on no penalty at all. The
#: estimator's own early stopping is switched off (the validation folds decide).
HIST_GRADIENT_BOOSTING_SPACE: dict[str, BaseDistribution] = {
    "learning_rate": FloatDistribution(0.01, 1.0, log=True),
    "max_leaf_nodes": IntDistribution(3, 2047, log=True),
    "min_samples_leaf": IntDistribution(1, 200, log=True),
    "l2_regularization": FloatDistribution(2**-10, 2**10, log=True),
}

#: RandomForest. TabArena's ``random_forest/generate_alt.py``; ``max_samples`` is searched only
#: when ``bootstrap`` is True (see :data:`SKLEARN_CONDITIONS`). ``min_impurity_decrease`` is
#: in units of the impurity; TabArena notes that regression targets must be standardized for
#: it, so it is searched for classification only.
RANDOM_FOREST_SPACE: dict[str, BaseDistribution] = {
    "max_features": FloatDistribution(0.4, 1.0),
    "min_samples_split": IntDistribution(2, 4, log=True),
    "bootstrap": CategoricalDistribution([False, True]),
    "max_samples": FloatDistribution(0.5, 1.0),
}

#: ExtraTrees. TabArena's ``extra_trees/generate_alt.py`` (its choice weights dropped);
#: ``min_impurity_decrease`` for classification only, as for the random forest.
EXTRA_TREES_SPACE: dict[str, BaseDistribution] = {
    "max_features": CategoricalDistribution(["sqrt", 0.5, 0.75, 1.0]),
    "min_samples_split": IntDistribution(2, 32, log=True),
}

#: Searched with the forests for classification only (ranges of the two sources above).
FOREST_CLASSIFICATION_EXTRA: dict[str, dict[str, BaseDistribution]] = {
    "RandomForest": {"min_impurity_decrease": FloatDistribution(1e-5, 1e-3, log=True)},
    "ExtraTrees": {
        "min_impurity_decrease": CategoricalDistribution([0.0, 1e-5, 3e-5, 1e-4, 3e-4, 1e-3])
    },
}

#: SVC with the RBF kernel. auto-sklearn's ``libsvm_svc.py`` ranges (those of Hsu, Chang & Lin,
#: "A Practical Guide to Support Vector Classification"): ``C`` in ``[2^-5, 2^15]``, ``gamma``
#: in ``[2^-15, 2^3]`` (log). Deviation: the kernel is not searched (auto-sklearn adds poly and
#: sigmoid); libsvm can run for a very long time with a polynomial kernel and a large gamma.
SVC_SPACE: dict[str, BaseDistribution] = {
    "C": FloatDistribution(2**-5, 2**15, log=True),
    "gamma": FloatDistribution(2**-15, 2**3, log=True),
}

#: SVR with the RBF kernel: auto-sklearn's ``libsvm_svr.py`` (``epsilon`` in target units).
SVR_SPACE: dict[str, BaseDistribution] = {
    **SVC_SPACE,
    "epsilon": FloatDistribution(1e-3, 1.0, log=True),
}

#: LogisticRegression (L2, lbfgs): FLAML's ``LRL2Classifier``, ``C`` in ``[2^-5, 2^15]`` (log).
LOGISTIC_REGRESSION_SPACE: dict[str, BaseDistribution] = {
    "C": FloatDistribution(2**-5, 2**15, log=True),
}

#: Ridge / RidgeClassifier: mlr3tuningspaces' glmnet range for the penalty, ``[1e-4, 1e4]``
#: (log).
RIDGE_SPACE: dict[str, BaseDistribution] = {
    "alpha": FloatDistribution(1e-4, 1e4, log=True),
}

#: KNeighbors (both tasks): auto-sklearn's ``k_nearest_neighbors.py``.
KNEIGHBORS_SPACE: dict[str, BaseDistribution] = {
    "n_neighbors": IntDistribution(1, 100, log=True),
    "weights": CategoricalDistribution(["uniform", "distance"]),
    "p": CategoricalDistribution([1, 2]),
}

#: MLP (both tasks, adam): auto-sklearn's ``mlp.py``. ``hidden_layer_depth`` and
#: ``num_nodes_per_layer`` are auto-sklearn's names; SklearnObjective turns them into
#: ``hidden_layer_sizes=(num_nodes_per_layer,) * hidden_layer_depth``.
MLP_SPACE: dict[str, BaseDistribution] = {
    "hidden_layer_depth": IntDistribution(1, 3),
    "num_nodes_per_layer": IntDistribution(16, 264, log=True),
    "activation": CategoricalDistribution(["tanh", "relu"]),
    "alpha": FloatDistribution(1e-7, 1e-1, log=True),
    "learning_rate_init": FloatDistribution(1e-4, 0.5, log=True),
}

#: SGDClassifier / SGDRegressor: FLAML's ``SGDEstimator`` (the same ranges as auto-sklearn's
#: ``sgd.py``); classification losses limited to those with ``predict_proba``.
_SGD_COMMON: dict[str, BaseDistribution] = {
    "penalty": CategoricalDistribution(["l2", "l1", "elasticnet", None]),
    "alpha": FloatDistribution(1e-7, 1e-1, log=True),
    "l1_ratio": FloatDistribution(1e-9, 1.0, log=True),
    "learning_rate": CategoricalDistribution(["optimal", "invscaling", "constant"]),
    "eta0": FloatDistribution(1e-7, 1e-1, log=True),
    "power_t": FloatDistribution(1e-5, 1.0),
    "average": CategoricalDistribution([False, True]),
}
SGD_CLASSIFIER_SPACE: dict[str, BaseDistribution] = {
    "loss": CategoricalDistribution(["log_loss", "modified_huber"]),
    **_SGD_COMMON,
}
SGD_REGRESSOR_SPACE: dict[str, BaseDistribution] = {
    "loss": CategoricalDistribution(
        ["squared_error", "huber", "epsilon_insensitive", "squared_epsilon_insensitive"]
    ),
    **_SGD_COMMON,
    "epsilon": FloatDistribution(1e-5, 1e-1, log=True),
}

#: Estimator class name -> its default space.
SKLEARN_SPACES: dict[str, dict[str, BaseDistribution]] = {
    "HistGradientBoostingClassifier": HIST_GRADIENT_BOOSTING_SPACE,
    "HistGradientBoostingRegressor": HIST_GRADIENT_BOOSTING_SPACE,
    "RandomForestClassifier": RANDOM_FOREST_SPACE,
    "RandomForestRegressor": RANDOM_FOREST_SPACE,
    "ExtraTreesClassifier": EXTRA_TREES_SPACE,
    "ExtraTreesRegressor": EXTRA_TREES_SPACE,
    "SVC": SVC_SPACE,
    "SVR": SVR_SPACE,
    "LogisticRegression": LOGISTIC_REGRESSION_SPACE,
    "Ridge": RIDGE_SPACE,
    "RidgeClassifier": RIDGE_SPACE,
    "KNeighborsClassifier": KNEIGHBORS_SPACE,
    "KNeighborsRegressor": KNEIGHBORS_SPACE,
    "MLPClassifier": MLP_SPACE,
    "MLPRegressor": MLP_SPACE,
    "SGDClassifier": SGD_CLASSIFIER_SPACE,
    "SGDRegressor": SGD_REGRESSOR_SPACE,
}

#: Conditional parameters: class name -> {parameter: (parent, values of the parent for which
#: it is searched)}. The parent is sampled first; otherwise the child is left at its default.
SKLEARN_CONDITIONS: dict[str, dict[str, tuple[str, tuple[object, ...]]]] = {
    "RandomForestClassifier": {"max_samples": ("bootstrap", (True,))},
    "RandomForestRegressor": {"max_samples": ("bootstrap", (True,))},
    "SGDClassifier": {
        "l1_ratio": ("penalty", ("elasticnet",)),
        "eta0": ("learning_rate", ("constant", "invscaling")),
        "power_t": ("learning_rate", ("invscaling",)),
    },
    "SGDRegressor": {
        "l1_ratio": ("penalty", ("elasticnet",)),
        "eta0": ("learning_rate", ("constant", "invscaling")),
        "power_t": ("learning_rate", ("invscaling",)),
        "epsilon": ("loss", ("huber", "epsilon_insensitive", "squared_epsilon_insensitive")),
    },
}


def sklearn_space(estimator: str, task: str) -> dict[str, BaseDistribution]:
    """Default space of the scikit-learn estimator class ``estimator`` (its class name) for
    ``task``: a fresh dict, empty for an estimator without a default space."""
    space = dict(SKLEARN_SPACES.get(estimator, {}))
    if task != "regression":
        for prefix, extra in FOREST_CLASSIFICATION_EXTRA.items():
            if estimator.startswith(prefix):
                space.update(extra)
    return space
