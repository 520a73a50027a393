"""Which model proposes the next trial: a bandit over three arms (numpy only).

The sources may help at first and then stop helping, or point at a region that is good early
and beaten later; a surrogate built on them keeps sampling that region. Each trial therefore
goes to one of three *arms*: the surrogate (``gp`` or ``parzen``); multivariate TPE on all the
study's trials (``tpe``: refines what any arm found, without the sources); or the *cold* arm
(``cold``: a TPE-style density ratio on the trials the cold arm itself proposed, uniform for its
first few, so it explores as a cold start would, away from where the other arms crowd). The arm
is drawn by Thompson sampling on the *credit* each arm earned: how often its trials beat every
earlier trial of the study (a new best), counted with a discount that halves every
``half_life`` trials, so that an arm that stopped improving loses its lead. An arm's rate of
new bests has a Beta posterior (``PRIOR_WINS`` + wins, ``PRIOR_LOSSES`` + losses); the arm
with the highest draw proposes. The cold arm keeps a floor: it proposes at least a share
``cold_floor`` of the trials, so it never starves.

Everything here is a function of the study's trials in number order (their scores and the mode
recorded in each), so every worker of a parallel study reaches the same credits.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import numpy as np

# The Beta prior on each arm's rate of new bests: half a pseudo-success in five pseudo-pulls (a
# 10% rate). New bests are rare, so a flatter prior (one in four) kept every arm's draws near it
# and spread the trials almost evenly over the arms, the ones that seldom win included; with
# this one an arm keeps its share of the trials by winning.
PRIOR_WINS = 0.5
PRIOR_LOSSES = 4.5
# Arms, in the order of the arrays below.
SURROGATE = 0
COLD = 1
TPE = 2
N_ARMS = 3
NO_ARM = -1
# The recorded modes (``WarmStartSampler``'s ``optuna_recipes.warm_start:mode``) of each arm's
# trials: ``"parzen"`` is the surrogate's, whichever surrogate is chosen (it also stands in for
# TPE during its startup trials); ``"tpe"`` trials count for the TPE arm whether the bandit or
# the hand-over chose them; ``"proposal"`` trials belong to no arm.
ARM_OF_MODE = {"gp": SURROGATE, "parzen": SURROGATE, "cold": COLD, "tpe": TPE}


def new_bests(scores: np.ndarray) -> np.ndarray:
    """Per trial (scores in trial order, lower is better; ``inf``/``NaN`` = pruned or failed):
    whether it beat every earlier trial. The first finite score counts as a new best."""
    scores = np.where(np.isnan(scores), np.inf, np.asarray(scores, dtype=float))
    if len(scores) == 0:
        return np.zeros(0, bool)
    before = np.minimum.accumulate(np.concatenate([[np.inf], scores[:-1]]))
    return scores < before


def credits(arms: np.ndarray, won: np.ndarray, half_life: float) -> tuple[np.ndarray, np.ndarray]:
    """Discounted wins and pulls of each arm.

    Args:
        arms: Per trial (in trial order), the arm that proposed it, or ``NO_ARM`` (the joint
            proposal, a trial sampled by another sampler, ...).
        won: Per trial, whether it was a new best (``new_bests``).
        half_life: A trial ``half_life`` trials older than the newest one counts half.

    Returns:
        ``(wins, pulls)``, each of shape ``(N_ARMS,)``.
    """
    arms = np.asarray(arms, dtype=int)
    n = len(arms)
    weight = 0.5 ** ((n - 1 - np.arange(n)) / half_life)
    used = arms >= 0
    pulls = np.bincount(arms[used], weights=weight[used], minlength=N_ARMS)
    wins = np.bincount(arms[used], weights=(weight * won)[used], minlength=N_ARMS)
    return wins, pulls


def choose_arm(
    wins: np.ndarray,
    pulls: np.ndarray,
    cold_floor: float,
    rng: np.random.Generator,
) -> int:
    """``COLD`` with probability ``cold_floor``, else the arm with the highest draw from its
    Beta posterior (ties: the lower index)."""
    if rng.random() < cold_floor:
        return COLD
    draws = rng.beta(PRIOR_WINS + wins, PRIOR_LOSSES + np.maximum(pulls - wins, 0.0))
    return int(np.argmax(draws))


def decide(
    modes: Sequence[str | None],
    scores: np.ndarray,
    half_life: float,
    cold_floor: float,
    rng: np.random.Generator,
) -> tuple[int, dict[str, Any]]:
    """The arm of the next trial, from the recorded ``modes`` and ``scores`` of the study's
    trials in trial order, and the record of the decision (``"reason": "bandit"``, each arm's
    discounted ``wins`` and ``pulls``)."""
    arm_of = np.array(
        [NO_ARM if m is None else ARM_OF_MODE.get(m, NO_ARM) for m in modes], dtype=np.int64
    )
    wins, pulls = credits(arm_of, new_bests(scores), half_life)
    arm = choose_arm(wins, pulls, cold_floor, rng)
    record = {
        "reason": "bandit",
        "wins": [round(float(w), 3) for w in wins],
        "pulls": [round(float(p), 3) for p in pulls],
    }
    return arm, record
