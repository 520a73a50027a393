"""What the warm-start models share: encoded sources, hyperparameters, the rank transform.

Arrays follow ``optuna_recipes._encoding``: numerical columns in ``[0, 1]``, categorical columns
hold the choice index, ``NaN`` marks a parameter a trial does not have (or a source value outside
the target's range). Scores are "lower is better"; ``inf`` marks a pruned trial. Every model
reads scores through their ranks only, so objective scales, offsets and directions may differ
between the sources and the new study.
"""

from __future__ import annotations

from collections.abc import Set
from dataclasses import dataclass

import numpy as np

# Snapped rows are compared to this many decimals (``row_keys``).
KEY_DECIMALS = 9


@dataclass
class SourceData:
    """One source, encoded in the model space: rows ``x`` and scores ``y`` (lower is better)."""

    x: np.ndarray
    y: np.ndarray


@dataclass
class WarmStartConfig:
    """Hyperparameters of the transfer model (see ``WarmStartSampler`` for their meaning).

    ``source_gamma`` is the share of each source's trials taken as good by the density ratio;
    ``tau0`` the Kendall tau of a fully trusted source and ``n0`` the number of target trials
    its prior is worth (``_relatedness``); ``prior_weight`` the weight of the uniform component
    of each Parzen mixture. ``bandit_start``, ``half_life`` and ``cold_floor`` drive the choice
    between the surrogate and TPE (``_arms``): the target trials before the first choice, the
    discount of old trials' credit, and the cold arm's least share of
    the trials.
    """

    source_weight: float = 20.0
    source_decay: float = 30.0
    source_gamma: float = 0.15
    tau0: float = 0.3
    n0: float = 5.0
    prior_weight: float = 1.0
    n_ei_candidates: int = 24
    bandit_start: int = 20
    half_life: float = 15.0
    cold_floor: float = 0.15


def rank_quantiles(y: np.ndarray) -> np.ndarray:
    """Map scores (lower is better) to quantiles in ``[0, 1]``, 0 = best; ties share a rank."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n == 0:
        return np.empty(0)
    if n == 1:
        return np.zeros(1)
    order = np.argsort(y, kind="stable")
    ranks = np.empty(n)
    ranks[order] = np.arange(n, dtype=float)
    # Average ranks over ties so that equal scores get equal quantiles.
    _, inverse, counts = np.unique(y, return_inverse=True, return_counts=True)
    sums = np.bincount(inverse, weights=ranks)
    ranks = sums[inverse] / counts[inverse]
    return ranks / (n - 1)


def row_keys(rows: np.ndarray) -> list[bytes]:
    """Hashable keys of snapped rows: equal keys mean the same configuration."""
    rounded = np.round(np.asarray(rows, dtype=float), KEY_DECIMALS) + 0.0  # -0.0 -> 0.0
    return [r.tobytes() for r in rounded]


def best_new(cand: np.ndarray, score: np.ndarray, known: Set[bytes]) -> np.ndarray:
    """The candidate with the highest ``score`` whose configuration is not in ``known`` (the
    study's evaluated and running ones); the highest overall when every candidate is known.

    A model that trusts its fit keeps scoring an evaluated configuration highest (its
    variance there is only the noise term); proposing it again wastes a trial.
    """
    order = np.argsort(-score, kind="stable")
    if known:
        keys = row_keys(cand[order])
        for i, key in zip(order, keys, strict=True):
            if key not in known:
                return cand[i]
    return cand[order[0]]
