"""optuna-recipes: samplers, pruners, objective adapters and a benchmark harness for Optuna.

The main public names are re-exported lazily here so that ``import optuna_recipes`` stays cheap
(no XGBoost, LightGBM or PyTorch import at package import time).

Example:
    .. code-block:: python

        import optuna_recipes

        print(optuna_recipes.__version__)
"""

from __future__ import annotations

from optuna_recipes._imports import lazy_exports
from optuna_recipes._version import __version__

# Public name -> module that defines it. Resolved on first attribute access.
_LAZY_EXPORTS: dict[str, str] = {
    "WarmStartSampler": "optuna_recipes.samplers",
    "WarmStartPruner": "optuna_recipes.pruners",
    "SourceStudy": "optuna_recipes.warm_start",
    "load_sources": "optuna_recipes.warm_start",
    "create_warm_started_study": "optuna_recipes.warm_start",
    "load_warm_started_study": "optuna_recipes.warm_start",
    "transfer_report": "optuna_recipes.warm_start",
    "GeneticSampler": "optuna_recipes.samplers",
    "compare": "optuna_recipes.bench.comparison",
}

__all__ = ["__version__", *_LAZY_EXPORTS]


__getattr__, __dir__ = lazy_exports(__name__, _LAZY_EXPORTS)
