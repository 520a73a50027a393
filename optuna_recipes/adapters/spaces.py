"""Default search spaces of the XGBoost and LightGBM objectives, kept as data.

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
