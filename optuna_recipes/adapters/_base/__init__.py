"""Library-agnostic core of the objective adapters, one module per idea.

- :mod:`.data`: labels, task inference, sample weights, groups and query sizes;
- :mod:`.features`: the feature matrix checked at construction (column types, inf, NaN);
- :mod:`.metrics`: the one metric vocabulary (names, directions, scorers) and
  :class:`ValidationMetric`;
- :mod:`.folds`: the ``cv`` argument turned into :class:`Fold` splits;
- :mod:`.search_space`: ``space`` applied to a default space, sampling through a trial;
- :mod:`.rounds`: the per-round loop (:class:`RoundTracker`);
- :mod:`.progress`: per-trial logging and the trial's ``timeout`` (:class:`TrialProgress`);
- :mod:`.threads`: ``n_jobs`` and the default that does not oversubscribe;
- :mod:`.settings`: the shared settings of every objective (:class:`ObjectiveSettings`);
- :mod:`.objective`: :class:`BaseObjective` and the hooks a library adapter fills;
- :mod:`.boosting`: what the XGBoost and LightGBM objectives share;
- :mod:`.persistence`: :func:`save_best`, :func:`load_best`, model files and artifacts.
"""

from __future__ import annotations

from optuna_recipes.adapters._base.data import CLASSIFICATION
from optuna_recipes.adapters._base.data import TASKS
from optuna_recipes.adapters._base.data import check_labels
from optuna_recipes.adapters._base.data import check_sample_weight
from optuna_recipes.adapters._base.data import encode_classes
from optuna_recipes.adapters._base.data import infer_task
from optuna_recipes.adapters._base.features import check_features
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters._base.folds import check_folds
from optuna_recipes.adapters._base.folds import make_folds
from optuna_recipes.adapters._base.metrics import ValidationMetric
from optuna_recipes.adapters._base.metrics import resolve_metric
from optuna_recipes.adapters._base.objective import BaseObjective
from optuna_recipes.adapters._base.persistence import FORMAT
from optuna_recipes.adapters._base.persistence import best_configuration
from optuna_recipes.adapters._base.persistence import load_best
from optuna_recipes.adapters._base.persistence import model_file
from optuna_recipes.adapters._base.persistence import save_best
from optuna_recipes.adapters._base.persistence import upload_model_artifact
from optuna_recipes.adapters._base.progress import TrialProgress
from optuna_recipes.adapters._base.rounds import RoundTracker
from optuna_recipes.adapters._base.search_space import merge_space
from optuna_recipes.adapters._base.search_space import suggest_params
from optuna_recipes.adapters._base.settings import ObjectiveSettings
from optuna_recipes.adapters._base.threads import default_threads
from optuna_recipes.adapters._base.threads import resolve_n_jobs

__all__ = [
    "CLASSIFICATION",
    "FORMAT",
    "TASKS",
    "BaseObjective",
    "Fold",
    "ObjectiveSettings",
    "RoundTracker",
    "TrialProgress",
    "ValidationMetric",
    "best_configuration",
    "check_features",
    "check_folds",
    "check_labels",
    "check_sample_weight",
    "default_threads",
    "encode_classes",
    "infer_task",
    "load_best",
    "make_folds",
    "merge_space",
    "model_file",
    "resolve_metric",
    "resolve_n_jobs",
    "save_best",
    "suggest_params",
    "upload_model_artifact",
]
