"""Tune again after retraining: earlier studies as sources, the workflow and its command.

``load_sources`` / ``as_sources`` snapshot earlier studies (:class:`SourceStudy`);
``create_warm_started_study`` and ``load_warm_started_study`` build a study with a
``WarmStartSampler`` and a ``WarmStartPruner`` from them; ``optuna-recipes warmstart`` does the
first step from a shell (``optuna_recipes.warm_start.cli``); ``transfer_report`` reads back how
the warm start went (which proposer found the best trials, which sources were trusted). The
sampler and the pruner themselves live in :mod:`optuna_recipes.samplers` and
:mod:`optuna_recipes.pruners`.

Example:
    .. code-block:: python

        from optuna_recipes.warm_start import load_sources

        sources = load_sources("sqlite:///example_sources.db", pattern="churn-model-*")
"""

from __future__ import annotations

from optuna_recipes._imports import lazy_exports

# Public name -> module that defines it, resolved on first access: the command's parser imports
# ``optuna_recipes.warm_start.cli``, and ``optuna-recipes --help`` must not import Optuna.
_LAZY_EXPORTS: dict[str, str] = {
    "SourceStudy": "optuna_recipes.warm_start._sources",
    "as_sources": "optuna_recipes.warm_start._sources",
    "load_sources": "optuna_recipes.warm_start._sources",
    "create_warm_started_study": "optuna_recipes.warm_start._workflow",
    "load_warm_started_study": "optuna_recipes.warm_start._workflow",
    "TransferReport": "optuna_recipes.warm_start._report",
    "transfer_report": "optuna_recipes.warm_start._report",
}

__all__ = list(_LAZY_EXPORTS)

__getattr__, __dir__ = lazy_exports(__name__, _LAZY_EXPORTS)
