"""Where the transfer GP samples next: log expected improvement and its maximisation (numpy).

The acquisition function is the expected improvement below the target's best copula score,
computed in log space so that it stays informative far from the incumbents. It is maximised by
scoring a pool of candidates: draws from the density ratio's good mixture ``l(x)`` (where the
sources and the target liked to be), uniform draws, and Gaussian perturbations of the best
trials of the target and of each source, then refining around the best few with shrinking
steps; the best candidate whose configuration the study does not already have is proposed
(``_data.best_new``). The local steps are log-uniform between ``LOCAL_STEP_MIN`` and
``LOCAL_STEP_MAX`` of the unit interval: around ``_gp.SHIFT_SCALE``, the typical move of an
optimum between related tasks, and finer.

Any model with ``predict(x) -> (mean, variance)`` and a ``best`` score works (``Predictor``).
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Set
import math
from typing import Protocol

import numpy as np
from scipy import special

from optuna_recipes.samplers._warm_start._data import best_new

# Candidates drawn from the good mixture l(x), and uniformly, per trial.
N_FROM_L = 256
N_UNIFORM = 64
# Best trials of the target and of each source whose neighbourhoods are searched.
N_INCUMBENTS = 5
# Perturbations of the incumbents, then rounds of refinement around the best N_TOP candidates.
N_LOCAL = 128
N_ROUNDS = 3
N_TOP = 4
LOCAL_STEP_MIN = 0.003
LOCAL_STEP_MAX = 0.1
# Each refinement round divides the largest step by this factor.
STEP_SHRINK = 3.0
# Probability that a perturbation redraws a categorical gene.
CATEGORICAL_REDRAW = 0.2
# Below this z the expected improvement is computed through the Mills ratio.
_TAIL_Z = -5.0


class Predictor(Protocol):
    """A model of the target's copula scores (lower is better)."""

    best: float

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance at rows ``x``."""


def log_expected_improvement(mean: np.ndarray, var: np.ndarray, best: float) -> np.ndarray:
    """Log of the expected improvement below ``best`` (minimisation), stable far in the tail."""
    sd = np.sqrt(var)
    z = (best - mean) / sd
    # log(z * Phi(z) + phi(z)) = log phi(z) + log(1 + z * Phi(z) / phi(z)); for z << 0 use
    # the Mills-ratio form through ``erfcx``.
    log_phi = -0.5 * z**2 - 0.5 * math.log(2 * math.pi)
    out = np.empty_like(z)
    big = z > _TAIL_Z
    zb = z[big]
    out[big] = np.log(np.maximum(zb * special.ndtr(zb) + np.exp(log_phi[big]), 1e-300))
    zs = z[~big]
    # z Phi(z) + phi(z) = phi(z) * (1 - |z| * sqrt(pi/2) * erfcx(|z| / sqrt2)) for z < 0.
    ratio = 1.0 - (-zs) * math.sqrt(math.pi / 2) * special.erfcx(-zs / math.sqrt(2))
    out[~big] = log_phi[~big] + np.log(np.maximum(ratio, 1e-300))
    return out + np.log(sd)


def log_ei(model: Predictor, x: np.ndarray) -> np.ndarray:
    """Log expected improvement of ``model`` at rows ``x`` (imputed)."""
    mean, var = model.predict(x)
    return log_expected_improvement(mean, var, model.best)


def best_rows(x: np.ndarray, y: np.ndarray, n: int = N_INCUMBENTS) -> np.ndarray:
    """The ``n`` rows of ``x`` with the lowest scores ``y`` (ties in order)."""
    return x[np.argsort(y, kind="stable")[:n]]


def initial_candidates(
    sample_good: Callable[[np.random.Generator, int], np.ndarray],
    n_choices: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """``N_FROM_L`` draws of ``sample_good(rng, size)`` and ``N_UNIFORM`` uniform rows."""
    uniform = rng.random((N_UNIFORM, len(n_choices)))
    cat = n_choices > 0
    uniform[:, cat] = np.floor(uniform[:, cat] * n_choices[cat])
    return np.concatenate([sample_good(rng, N_FROM_L), uniform])


def _perturb(
    centres: np.ndarray,
    size: int,
    steps: tuple[float, float],
    n_choices: np.ndarray,
    rng: np.random.Generator,
) -> np.ndarray:
    """``size`` Gaussian moves of random ``centres``, each with one log-uniform scale in
    ``steps``, reflected into ``[0, 1]``; categorical genes redrawn with probability
    ``CATEGORICAL_REDRAW``."""
    d = len(n_choices)
    cat = n_choices > 0
    c = centres[rng.integers(len(centres), size=size)]
    scale = np.exp(rng.uniform(math.log(steps[0]), math.log(steps[1]), size=(size, 1)))
    out = c + scale * rng.standard_normal((size, d))
    out = np.where(out < 0.0, -out, out)
    out = np.where(out > 1.0, 2.0 - out, out)
    out = np.clip(out, 0.0, 1.0)
    if cat.any():
        redraw = rng.random((size, d)) < CATEGORICAL_REDRAW
        choice = np.floor(rng.random((size, d)) * np.maximum(n_choices, 1))
        out[:, cat] = np.where(redraw[:, cat], choice[:, cat], c[:, cat])
    return out


def optimize_acquisition(
    model: Predictor,
    initial: np.ndarray,
    incumbents: np.ndarray,
    n_choices: np.ndarray,
    snap: Callable[[np.ndarray], np.ndarray],
    rng: np.random.Generator,
    n_local: int = N_LOCAL,
    n_rounds: int = N_ROUNDS,
    known: Set[bytes] = frozenset(),
) -> np.ndarray:
    """Best row by log EI among the ``initial`` candidates, perturbations of the
    ``incumbents`` and ``n_rounds`` of refinement around the best few, skipping the
    configurations in ``known`` (``row_keys`` of snapped rows; see ``best_new``).

    ``snap`` maps candidate rows onto the search space's grid (steps, ints, choices).
    """
    pools = [initial]
    if len(incumbents):
        steps = (LOCAL_STEP_MIN, LOCAL_STEP_MAX)
        pools.append(_perturb(incumbents, n_local, steps, n_choices, rng))
    cand = snap(np.concatenate(pools, axis=0))
    score = log_ei(model, cand)
    hi = LOCAL_STEP_MAX
    for _ in range(n_rounds):
        top = cand[np.argsort(-score)[:N_TOP]]
        local = snap(_perturb(top, n_local // 2, (hi / 10, hi), n_choices, rng))
        cand = np.concatenate([cand, local])
        score = np.concatenate([score, log_ei(model, local)])
        hi /= STEP_SHRINK
    return best_new(cand, score, known)
