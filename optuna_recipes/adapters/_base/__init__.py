"""Library-agnostic core of the objective adapters, one module per idea.

- :mod:`.data`: labels, task inference, groups and query sizes;
- :mod:`.metrics`: the one metric vocabulary (names, directions, scorers) and
  :class:`ValidationMetric`;
- :mod:`.folds`: the ``cv`` argument turned into :class:`Fold` splits;
- :mod:`.search_space`: ``space`` applied to a default space, sampling through a trial;
- :mod:`.rounds`: the per-round loop (:class:`RoundTracker`);
- :mod:`.settings`: the shared settings of every objective (:class:`ObjectiveSettings`);
- :mod:`.objective`: :class:`BaseObjective` and the hooks a library adapter fills;
- :mod:`.boosting`: what the XGBoost and LightGBM objectives share;
- :mod:`.persistence`: :func:`save_best`, :func:`load_best` and model artifacts.
"""

from __future__ import annotations

from optuna_recipes.adapters._base.data import CLASSIFICATION
from optuna_recipes.adapters._base.data import TASKS
from optuna_recipes.adapters._base.data import check_labels
from optuna_recipes.adapters._base.data import encode_classes
from optuna_recipes.adapters._base.data import infer_task
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters._base.folds import check_folds
from optuna_recipes.adapters._base.folds import make_folds
from optuna_recipes.adapters._base.metrics import ValidationMetric
from optuna_recipes.adapters._base.metrics import resolve_metric
from optuna_recipes.adapters._base.objective import BaseObjective
from optuna_recipes.adapters._base.persistence import FORMAT
from optuna_recipes.adapters._base.persistence import load_best
from optuna_recipes.adapters._base.persistence import save_best
from optuna_recipes.adapters._base.persistence import upload_model_artifact
from optuna_recipes.adapters._base.rounds import RoundTracker
from optuna_recipes.adapters._base.search_space import merge_space
from optuna_recipes.adapters._base.search_space import suggest_params
from optuna_recipes.adapters._base.settings import ObjectiveSettings

__all__ = [
    "CLASSIFICATION",
    "FORMAT",
    "TASKS",
    "BaseObjective",
    "Fold",
    "ObjectiveSettings",
    "RoundTracker",
    "ValidationMetric",
    "check_folds",
    "check_labels",
    "encode_classes",
    "infer_task",
    "load_best",
    "make_folds",
    "merge_space",
    "resolve_metric",
    "save_best",
    "suggest_params",
    "upload_model_artifact",
]
