"""What ``WarmStartSampler`` derives from its source snapshots for one search space.

For a search space and the new study's direction: each source's trials encoded as arrays
(``SourceData``), one Gaussian process per source and each source's agreement prior. All of it
is a pure function of the (immutable) source snapshots, the space and the direction, so it is
cached per space; the GPs are dropped when the sampler is pickled and refitted on demand.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.distributions import distribution_to_json
from optuna.study import StudyDirection
from optuna.trial import TrialState

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes.samplers._warm_start import _gp as gp
from optuna_recipes.samplers._warm_start._data import SourceData
from optuna_recipes.samplers._warm_start._data import WarmStartConfig
from optuna_recipes.samplers._warm_start._relatedness import agreement_priors
from optuna_recipes.warm_start._sources import SourceStudy

# Spaces kept in each cache before it is emptied (a dynamic space makes a new key per trial).
_MAX_CACHED_SPACES = 32


def signed(value: float, direction: StudyDirection) -> float:
    """``value`` as a score, lower is better."""
    return value if direction == StudyDirection.MINIMIZE else -value


def source_space(sources: Sequence[SourceStudy]) -> dict[str, BaseDistribution]:
    """Every parameter of the sources (not single-valued), in its first distribution seen."""
    space: dict[str, BaseDistribution] = {}
    for src in sources:
        for t in src.trials:
            for name, dist in t.distributions.items():
                if name not in space and not dist.single():
                    space[name] = dist
    return space


def _space_key(space: dict[str, BaseDistribution], direction: StudyDirection) -> str:
    return json.dumps([direction.name, [(n, distribution_to_json(d)) for n, d in space.items()]])


def _encode(src: SourceStudy, enc: SearchSpaceEncoder, direction: StudyDirection) -> SourceData:
    """One source's trials with a value or pruned, in ``enc``'s space (values outside it are
    ``NaN``); trials with no parameter in the space are left out."""
    src_dir = src.direction or direction
    trials = [
        t
        for t in src.trials
        if t.state == TrialState.PRUNED or (t.values is not None and not np.isnan(t.values[0]))
    ]
    x = enc.encode_trials(trials, out_of_range="nan")
    y = np.array(
        [
            signed(t.values[0], src_dir) if t.state == TrialState.COMPLETE else np.inf
            for t in trials
        ]
    )
    informative = ~np.isnan(x).all(axis=1) if x.shape[1] else np.zeros(len(y), bool)
    return SourceData(x[informative], y[informative])


class SourceModels:
    """Cached per-space views of a list of sources.

    Example:
        .. code-block:: python

            models = SourceModels(sources, WarmStartConfig())
            gps, priors = models.models(space, optuna.study.StudyDirection.MINIMIZE)
    """

    def __init__(self, sources: Sequence[SourceStudy], config: WarmStartConfig) -> None:
        self.sources = list(sources)
        self.config = config
        self._encoded: dict[str, list[SourceData]] = {}
        self._models: dict[str, tuple[list[gp.SourceModel | None], np.ndarray]] = {}

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_models"] = {}  # GPs are refitted on demand
        return state

    def encoded(
        self, space: dict[str, BaseDistribution], direction: StudyDirection
    ) -> list[SourceData]:
        """Each source's trials encoded in ``space`` (scores: lower is better, ``inf`` =
        pruned)."""
        key = _space_key(space, direction)
        cached = self._encoded.get(key)
        if cached is None:
            enc = SearchSpaceEncoder(space)
            cached = [_encode(src, enc, direction) for src in self.sources]
            if len(self._encoded) > _MAX_CACHED_SPACES:
                self._encoded.clear()
            self._encoded[key] = cached
        return cached

    def models(
        self, space: dict[str, BaseDistribution], direction: StudyDirection
    ) -> tuple[list[gp.SourceModel | None], np.ndarray]:
        """One GP per source (``None`` for a source with fewer than 3 trials in ``space``) and
        each source's prior Kendall tau (``agreement_priors``)."""
        key = _space_key(space, direction)
        cached = self._models.get(key)
        if cached is None:
            n_choices = SearchSpaceEncoder(space).n_choices
            sources = self.encoded(space, direction)
            models = [gp.fit_source_model(src.x, src.y, n_choices) for src in sources]
            predict = [None if m is None else m.predict_mean for m in models]
            cached = (models, agreement_priors(predict, sources, self.config))
            if len(self._models) > _MAX_CACHED_SPACES:
                self._models.clear()
            self._models[key] = cached
        return cached
