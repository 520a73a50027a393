"""Deprecated: the adapter core now lives in :mod:`optuna_recipes.adapters._base`, one module
per idea, and :class:`~optuna_recipes.pruners.BoostingPruner` in :mod:`optuna_recipes.pruners`.

Every name importable from here before still is, with a ``DeprecationWarning`` naming its new
module.

Example:
    .. code-block:: python

        from optuna_recipes.adapters._base.folds import make_folds  # not ..._core
"""

from __future__ import annotations

from optuna_recipes.adapters._moved import moved

_BASE = "optuna_recipes.adapters._base"
_NEW = {
    **dict.fromkeys(["TASKS", "CLASSIFICATION", "check_labels", "infer_task"], f"{_BASE}.data"),
    "encode_classes": f"{_BASE}.data",
    **dict.fromkeys(["Metric", "DEFAULT_METRICS", "resolve_metric"], f"{_BASE}.metrics"),
    **dict.fromkeys(["Fold", "make_folds", "check_folds"], f"{_BASE}.folds"),
    **dict.fromkeys(["merge_space", "suggest_params"], f"{_BASE}.search_space"),
    **dict.fromkeys(
        [
            "RoundTracker",
            "ATTR_BEST_ITERATION",
            "ATTR_N_ROUNDS",
            "ATTR_FOLD_SCORES",
            "ATTR_BEST_VALUE",
            "ATTR_METRIC",
            "ATTR_FAIL_REASON",
        ],
        f"{_BASE}.rounds",
    ),
    "BaseObjective": f"{_BASE}.objective",
    **dict.fromkeys(
        ["FORMAT", "save_best", "load_best", "upload_model_artifact"], f"{_BASE}.persistence"
    ),
    **dict.fromkeys(["BoostingPruner", "boosting_pruner"], "optuna_recipes.pruners._boosting"),
}

__getattr__ = moved(__name__, _NEW, renamed={"Metric": "ValidationMetric"})
