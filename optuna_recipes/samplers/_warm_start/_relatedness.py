"""How much each source is trusted: the negative-transfer guard of both surrogates (numpy and
scipy's weighted Kendall tau).

Each source has a model (a Gaussian process on the source, ``_gp``) passed in as a *predictor*:
a callable from encoded rows to predicted scores. A top-weighted Kendall tau between a source's
predictions at the new study's evaluated points and their observed scores (``top_weighted_tau``:
a pair counts by the observed ranks of its two points, so the study's best points weigh most),
shrunk towards a prior with ``n0`` pseudo-trials, gives the source's relatedness
``r = clip(tau_shrunk / tau0, 0, 1)``. A plain Kendall tau kept trusting a source that ranks the
bulk of the study's points right and its best ones wrong (the study's optimum lies elsewhere),
which is the case where the sources mislead after a good start. The
prior is how well the source's model ranks the *other* sources' trials (``agreement_priors``):
sources of a related family agree with each other, sources whose optimum moves anywhere between
tasks do not, so an unrelated family starts faded. A source that ranks the new study's points
at random or backwards fades out within a few dozen trials.

A source's relatedness times its decaying worth (``source_masses``) is how many new-study
trials it counts for in the density ratio (``_parzen``); the GP scales its features by it.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import math

import numpy as np

from optuna_recipes.samplers._warm_start._data import SourceData
from optuna_recipes.samplers._warm_start._data import WarmStartConfig
from optuna_recipes.samplers._warm_start._data import rank_quantiles

# Target trials needed before a source's Kendall tau on them is measured at all.
MIN_TARGET_TRIALS = 3
# Sources with fewer trials than this are not used to judge another source.
MIN_OTHER_TRIALS = 3

Predictor = Callable[[np.ndarray], np.ndarray]


def kendall_tau(a: np.ndarray, b: np.ndarray) -> float:
    """Kendall's tau-b between two score vectors (0.0 when undefined)."""
    a = np.asarray(a, dtype=float)
    b = np.asarray(b, dtype=float)
    if len(a) < 2:
        return 0.0
    sa = np.sign(a[:, None] - a[None, :])
    sb = np.sign(b[:, None] - b[None, :])
    iu = np.triu_indices(len(a), k=1)
    sa, sb = sa[iu], sb[iu]
    denom = math.sqrt(float(np.sum(sa != 0)) * float(np.sum(sb != 0)))
    if denom == 0.0:
        return 0.0
    return float(np.sum(sa * sb) / denom)


def top_weighted_tau(predicted: np.ndarray, observed: np.ndarray) -> float:
    """Kendall's tau with each pair weighted by the observed ranks of its two points: the
    ``r``-th best observed point (``r = 0`` the best) weighs ``1 / (r + 1)`` and a pair the sum
    of its two weights (``scipy.stats.weightedtau``'s hyperbolic, additive weighing, ranked by
    ``observed``, lower is better). 0.0 when undefined (fewer than two points, or one side has
    no two distinct values)."""
    from scipy import stats  # here: scipy.stats is slow to import, and unused until trials exist

    predicted = np.asarray(predicted, dtype=float)
    observed = np.asarray(observed, dtype=float)
    if len(observed) < 2:
        return 0.0
    rank = np.empty(len(observed), dtype=int)
    rank[np.argsort(observed, kind="stable")] = np.arange(len(observed))
    tau = float(stats.weightedtau(predicted, observed, rank=rank)[0])
    return 0.0 if math.isnan(tau) else tau


def relatedness(
    predict: Sequence[Predictor | None],
    target_x: np.ndarray,
    target_scores: np.ndarray,
    prior_taus: np.ndarray,
    config: WarmStartConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-source relatedness in ``[0, 1]`` and the raw taus behind them (``top_weighted_tau``).

    ``predict[i]`` maps encoded rows to source ``i``'s predicted score (lower is better), or is
    ``None`` for a source without a model (relatedness 0); it is called on ``target_x`` once
    the target has ``MIN_TARGET_TRIALS`` scores. ``prior_taus`` is what each tau is shrunk
    towards (``agreement_priors``).
    """
    n_t = len(target_scores)
    target_q = rank_quantiles(target_scores)
    taus = np.zeros(len(predict))
    for i, f in enumerate(predict):
        if f is not None and n_t >= MIN_TARGET_TRIALS:
            taus[i] = top_weighted_tau(f(target_x), target_q)
    rel = shrink_taus(taus, n_t, config, prior_taus)
    rel[[f is None for f in predict]] = 0.0
    return rel, taus


def agreement_priors(
    predict: Sequence[Predictor | None],
    sources: Sequence[SourceData],
    config: WarmStartConfig,
) -> np.ndarray:
    """Each source's prior tau: how well its model ranks the *other* sources' observed scores
    (``top_weighted_tau``, the mean over them), or ``config.tau0`` when there is no other
    source with data.

    Sources that agree with each other come from a family of related tasks, and a new task of
    that family is likely related too; sources that rank each other at random (the optimum
    moves anywhere between tasks) start with little weight, before any target trial.
    """
    out = np.full(len(sources), config.tau0)
    for i, f in enumerate(predict):
        if f is None:
            continue
        taus = [
            top_weighted_tau(f(other.x), rank_quantiles(other.y))
            for j, other in enumerate(sources)
            if j != i and len(other.y) >= MIN_OTHER_TRIALS
        ]
        if taus:
            out[i] = float(np.mean(taus))
    return out


def shrink_taus(
    taus: np.ndarray,
    n_target: int,
    config: WarmStartConfig,
    prior_taus: np.ndarray | None = None,
) -> np.ndarray:
    """Relatedness in ``[0, 1]`` from Kendall taus measured on ``n_target`` target trials:
    each tau shrunk towards its prior (default ``tau0``) with ``n0`` pseudo-trials, divided by
    ``tau0``."""
    prior = config.tau0 if prior_taus is None else np.asarray(prior_taus)
    shrunk = (config.n0 * prior + n_target * np.asarray(taus)) / (config.n0 + n_target)
    return np.clip(shrunk / config.tau0, 0.0, 1.0)


def source_masses(rel: np.ndarray, n_target: int, config: WarmStartConfig) -> np.ndarray:
    """Number of target-trial equivalents each source is worth now: ``source_weight`` times
    its relatedness, halved after ``source_decay`` target trials."""
    return config.source_weight * rel / (1.0 + n_target / config.source_decay)
