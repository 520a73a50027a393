"""The genetic algorithm itself: plain numpy on encoded rows, no Optuna in here.

A row is one individual in the encoding of :mod:`optuna_recipes._encoding`: numerical genes in
``[0, 1]`` (log scale and grids already folded in), categorical genes as the choice index. The
Optuna glue (``_sampler.py``) turns trials into a population sorted best first and asks this
module for one child at a time (steady state), so there are no generations to wait for.

Operators, in the order they apply to produce one child:

1. **Selection**: the *target* parent is drawn by rank with log-linear weights (the best of the
   ``mu`` elites is the likeliest, the worst still has a chance); a second, *guiding* parent is a
   uniformly drawn member of the top ``p_best`` fraction (strong elitism).
2. **Crossover**: DE current-to-pbest/1 (JADE) on numerical genes,
   ``v = x + F (x_pbest - x) + F (x_r1 - x_r2)``, then binomial crossover with the target
   (rate ``CR``, at least one gene from ``v``). The difference of two elites scales the move to
   the spread of the population, so steps shrink as it converges. Categorical genes are taken
   uniformly from the target or the guiding parent.
3. **Mutation**: each numerical gene, with probability ``1/d``, gets Gaussian noise of standard
   deviation ``step_factor * spread`` (``spread`` = that gene's standard deviation among the
   elites, at least half a grid cell); ``step_factor`` comes from the 1/5th success rule
   (:func:`success_step_factor`). A mutated discrete gene moves at least to the neighbouring
   grid point (given by the caller's ``neighbors``: on log-scaled integers the cells differ in
   width, so one narrowest cell may not leave a wide one) so integer genes never freeze.
   Categorical genes switch to another choice with probability ``1/d``.
4. **Duplicate avoidance**: a child that matches an individual the caller knows (``is_known``:
   evaluated, pruned, failed or running) is mutated again (up to 20 times).

Restarts (:func:`scan_epochs`): when the best value of the current *epoch* has not improved
for ``patience`` completed trials, or when ``COLLAPSE_STREAK`` consecutive offspring came from a
population that has collapsed into one point (:func:`is_collapsed`: numerical genes settled
among the best quarter of the elites, categorical genes agreed among all; it can then only
make tiny improvements, which would keep the patience rule from ever firing), a new epoch
begins with a fresh random population twice as large (IPOP-style), which keeps the search
going at large budgets on multimodal functions.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math
import zlib

import numpy as np

# Target success rate of the 1/5th rule and the window of recent offspring it is measured on.
SUCCESS_TARGET = 0.2
MAX_DUPLICATE_RETRIES = 20
# A population whose numerical genes all have a standard deviation below this (in unit space)
# and whose categorical genes all agree has converged into one point: it can only refine it.
COLLAPSE_TOL = 1e-4
# Consecutive offspring of a collapsed population that end an epoch early.
COLLAPSE_STREAK = 10
# Share of the elites (best first, at least 3) whose numerical genes must have collapsed.
COLLAPSE_SHARE = 0.25
# Distances from a row down and up to the neighbouring grid points of its discrete genes.
Neighbors = Callable[[np.ndarray], tuple[np.ndarray, np.ndarray]]


@dataclass(frozen=True)
class GeneSpec:
    """Per-gene description of an encoded search space.

    Attributes:
        is_categorical: ``True`` where the gene is a categorical choice index.
        n_choices: number of choices of categorical genes (0 elsewhere).
        cell: width in unit space of one grid cell of a discrete numerical gene (integer or
            stepped float); 0 for continuous genes and categorical genes.
    """

    is_categorical: np.ndarray
    n_choices: np.ndarray
    cell: np.ndarray

    @property
    def dim(self) -> int:
        return int(self.is_categorical.shape[0])


def rank_weights(mu: int) -> np.ndarray:
    """Log-linear selection probabilities for ``mu`` elites sorted best first."""
    w = math.log(mu + 1.0) - np.log(np.arange(1, mu + 1, dtype=float))
    return w / w.sum()


def grid_keys(rows: np.ndarray, spec: GeneSpec) -> list[bytes]:
    """Hashable identity of individuals: which grid cell or choice each gene falls in."""
    rows = np.atleast_2d(rows)
    keys = np.round(rows, 9)
    discrete = spec.cell > 0
    if discrete.any():
        cells = np.clip(rows[:, discrete], 0.0, 1.0 - 1e-12) / spec.cell[discrete]
        keys[:, discrete] = np.floor(cells)
    if spec.is_categorical.any():
        keys[:, spec.is_categorical] = np.round(rows[:, spec.is_categorical])
    return [k.tobytes() for k in keys]


def is_collapsed(
    population: np.ndarray,
    spec: GeneSpec,
    tol: float = COLLAPSE_TOL,
    share: float = COLLAPSE_SHARE,
) -> bool:
    """Whether the search has settled into one point: it can only refine it from here on.

    ``population`` is sorted best first. Its numerical genes count as settled when their
    spread among the best ``share`` of the elites (at least 3 rows) is below ``tol``: the
    elites are the epoch's best-ever trials, so the worse ones linger long after the search
    has settled on a local optimum and a rule on the whole population restarts much later than
    one on its best share (README, "GeneticSampler"). Categorical genes must
    agree among all the elites: a few best trials sharing a choice says little, and with a
    conditional space the parameters that depend on it keep evolving.

    Discrete numerical genes are encoded at their cell centres, so elites that disagree by one
    cell have a spread of at least a fifth of a cell, far above ``tol``.
    """
    if population.shape[0] < 2 or population.shape[1] == 0:
        return False
    numeric = ~spec.is_categorical
    if numeric.any():
        best = population[: max(3, int(share * population.shape[0])), numeric]
        if float(best.std(axis=0).max()) >= tol:
            return False
    categorical = population[:, spec.is_categorical]
    return not (categorical.size and float(categorical.std(axis=0).max()) > 0.0)


def success_step_factor(successes: np.ndarray) -> float:
    """Mutation step multiplier from the 1/5th success rule.

    ``successes`` are recent offspring outcomes (``True`` = better than its target parent).
    At the target rate 0.2 the factor is 1; more successes widen the step (up to x4.5), fewer
    narrow it (down to x0.22 at no success), as in Rechenberg's rule.
    """
    if successes.size == 0:
        return 1.0
    rate = float(np.mean(successes))
    return float(np.exp(1.5 * (rate - SUCCESS_TARGET) / SUCCESS_TARGET))


@dataclass(frozen=True)
class EpochState:
    """Progress of the restart rule after scanning trials up to some trial number.

    Attributes:
        start: first trial number of the current epoch.
        restarts: restarts so far (the current epoch's index).
        best: best fitness in the current epoch.
        since: completed trials since the epoch's best last improved.
        limit: patience of the current epoch (0 = not started: use the initial patience).
        streak: consecutive trials bred from a collapsed population of the current epoch.
    """

    start: int = 0
    restarts: int = 0
    best: float = math.inf
    since: int = 0
    limit: int = 0
    streak: int = 0


def scan_epochs(
    numbers: np.ndarray,
    fitness: np.ndarray,
    patience: int,
    state: EpochState | None = None,
    tol: float = 1e-8,
    collapsed_epoch: np.ndarray | None = None,
) -> EpochState:
    """Advance the restart rule over completed trials given in trial-number order.

    An epoch ends when its best fitness (lower is better) has not improved by a relative
    ``tol`` for ``limit`` completed trials, or after ``COLLAPSE_STREAK`` consecutive trials
    that were bred from a collapsed population of this epoch (``collapsed_epoch``: per trial,
    the epoch whose population had collapsed when it was bred, -1 if none). The next epoch
    starts at the following trial number with a patience twice as long. Scanning in chunks
    gives the same result as scanning everything at once, which lets the sampler scan only new
    trials.
    """
    state = state or EpochState()
    start, restarts, best, since = state.start, state.restarts, state.best, state.since
    limit, streak = state.limit or patience, state.streak
    if collapsed_epoch is None:
        collapsed_epoch = np.full(len(numbers), -1)
    for number, f, c in zip(
        numbers.tolist(), fitness.tolist(), collapsed_epoch.tolist(), strict=True
    ):
        threshold = best - tol * max(1.0, abs(best)) if math.isfinite(best) else best
        streak = streak + 1 if c == restarts else 0
        if f < threshold:
            best, since = f, 0
        else:
            since += 1
        if since >= limit or streak >= COLLAPSE_STREAK:
            start, restarts = number + 1, restarts + 1
            best, since, limit, streak = math.inf, 0, limit * 2, 0
    return EpochState(start, restarts, best, since, limit, streak)


def current_epoch(fitness: np.ndarray, patience: int) -> tuple[int, int]:
    """``(start index, restarts)`` of the current epoch for fitness listed in trial order."""
    state = scan_epochs(np.arange(len(fitness)), np.asarray(fitness, dtype=float), patience)
    return state.start, state.restarts


def _reflect(v: np.ndarray) -> np.ndarray:
    """Fold values back into ``[0, 1]`` like a mirror on both edges (any distance)."""
    v = np.mod(v, 2.0)
    return np.where(v > 1.0, 2.0 - v, v)


def _mutate(
    rng: np.random.Generator,
    child: np.ndarray,
    spec: GeneSpec,
    sigma: np.ndarray,
    prob: float,
    force: bool,
    neighbors: Neighbors | None = None,
) -> np.ndarray:
    """Gaussian mutation of numerical genes, random reset of categorical genes."""
    d = spec.dim
    child = child.copy()
    mask = rng.random(d) < prob
    if force and not mask.any():
        mask[rng.integers(d)] = True
    numeric = mask & ~spec.is_categorical
    if numeric.any():
        delta = rng.normal(0.0, 1.0, d) * sigma
        discrete = numeric & (spec.cell > 0)
        # A mutated discrete gene moves at least to the neighbouring grid point so that
        # integers keep moving (log-scaled cells are wider than the narrowest one).
        sign = np.sign(delta + 1e-300)
        need = spec.cell
        if neighbors is not None and discrete.any():
            down, up = neighbors(child)
            # No neighbour that way (an edge): step the other way.
            sign = np.where(np.where(sign > 0, up, down) > 0, sign, -sign)
            need = np.where(sign > 0, up, down)
        delta[discrete] = sign[discrete] * np.maximum(np.abs(delta[discrete]), need[discrete])
        # A discrete gene pushed off an edge steps the other way (reflecting it could land it
        # back in its own cell).
        off = discrete & ((child + delta < 0.0) | (child + delta > 1.0))
        delta[off] = -delta[off]
        child[numeric] = _reflect(child[numeric] + delta[numeric])
    for j in np.flatnonzero(mask & spec.is_categorical):
        n = int(spec.n_choices[j])
        if n > 1:
            other = int(rng.integers(n - 1))
            current = round(float(child[j]))
            child[j] = float(other if other < current else other + 1)
    return child


def make_offspring(
    rng: np.random.Generator,
    population: np.ndarray,
    spec: GeneSpec,
    *,
    step_factor: float = 1.0,
    p_best: float = 0.2,
    is_known: Callable[[np.ndarray], bool] | None = None,
    neighbors: Neighbors | None = None,
) -> tuple[np.ndarray, int]:
    """Create one child from a population sorted best first.

    Args:
        rng: the random generator to draw from.
        population: array ``(mu, d)`` of encoded elites, best first; ``mu >= 1``.
        spec: gene types of the columns.
        step_factor: multiplier of the Gaussian mutation step (success rule).
        p_best: fraction of the elites the guiding parent is drawn from.
        is_known: whether a row duplicates an individual already evaluated or running (e.g.
            ``lambda row: grid_keys(row, spec)[0] in keys``); the child avoids those when it
            can.
        neighbors: distances from a row down and up to its discrete genes' neighbouring grid
            points (``SearchSpaceEncoder.grid_neighbors``); mutated discrete genes move at least
            that far. ``None``: at least ``spec.cell``.

    Returns:
        ``(child, target_index)``: the child row and the index of its target parent.
    """
    mu, d = population.shape
    if mu < 1 or d != spec.dim:
        raise ValueError(f"Population of shape {population.shape} does not match {d} genes.")
    target = int(rng.choice(mu, p=rank_weights(mu)))
    x = population[target]
    n_best = max(1, math.ceil(p_best * mu))
    guide = population[int(rng.integers(n_best))]
    numeric = ~spec.is_categorical
    spread = population.std(axis=0) if mu > 1 else np.full(d, 0.2)
    # Per-gene spread, floored by the mean spread of the numerical genes so that a gene the
    # elites have collapsed on can still move (the elites are the best-ever trials, which
    # converge fast), and by half a grid cell for discrete genes.
    mean_spread = float(spread[numeric].mean()) if numeric.any() else 0.0
    sigma = step_factor * np.maximum(
        np.sqrt(spread * mean_spread), np.maximum(0.5 * spec.cell, 1e-6)
    )

    child = x.copy()
    if mu >= 3:
        # r1 and r2 may include the target (unlike JADE's r1 != r2 != i). Excluding it was
        # level on development problems and lost once on COCO bbob test instances, so the
        # original draw stays. The rare pair r1 = target, r2 = guide leaves only the mutation
        # step.
        r1, r2 = rng.choice(mu, size=2, replace=False)
        f = rng.uniform(0.4, 0.9)
        v = x + f * (guide - x) + f * (population[r1] - population[r2])
        cr = 0.9 if rng.random() < 0.7 else 0.2
        take: np.ndarray = np.asarray(rng.random(d) < cr)
        # At least one numerical gene crosses over (the forced gene must be one the mutant
        # vector can change; categorical genes come from the guide below).
        genes = np.flatnonzero(numeric)
        if genes.size:
            take[genes[rng.integers(genes.size)]] = True
        take &= numeric
        child[take] = _reflect(v[take])
    cat = spec.is_categorical & (rng.random(d) < 0.5)
    child[cat] = guide[cat]
    prob = 1.0 / d
    child = _mutate(rng, child, spec, sigma, prob, force=mu < 3, neighbors=neighbors)

    if is_known is not None:
        for attempt in range(MAX_DUPLICATE_RETRIES):
            if not is_known(child):
                break
            # Widen the step with every retry so that crowded neighbourhoods are escaped.
            child = _mutate(
                rng, child, spec, sigma * (1.0 + attempt), prob, force=True, neighbors=neighbors
            )
    return child, target


def screen_offspring(
    candidates: np.ndarray,
    rows: np.ndarray,
    scores: np.ndarray,
    spec: GeneSpec,
    bandwidth: np.ndarray,
) -> int:
    """Index of the candidate child predicted best by kernel regression on evaluated rows.

    The prediction at a candidate is the Nadaraya-Watson mean of ``scores`` (lower is better,
    e.g. fitness ranks scaled to ``[0, 1]``) over ``rows``, weighted by a Gaussian kernel of
    the distance: numerical genes divided by ``bandwidth`` (one per numerical gene), plus one
    for each categorical gene that differs. Ties go to the earlier candidate.

    Args:
        candidates: array ``(k, d)`` of encoded children, ``k >= 1``.
        rows: array ``(n, d)`` of encoded evaluated individuals, ``n >= 1``.
        scores: their scores, shape ``(n,)``.
        spec: gene types of the columns.
        bandwidth: positive kernel width of each numerical gene, in unit space.
    """
    numeric = ~spec.is_categorical
    cat = spec.is_categorical
    best, best_pred = 0, math.inf
    for i, child in enumerate(np.atleast_2d(candidates)):
        d2 = np.zeros(len(rows))
        if numeric.any():
            d2 += (((rows[:, numeric] - child[numeric]) / bandwidth) ** 2).sum(axis=1)
        if cat.any():
            d2 += (np.round(rows[:, cat]) != np.round(child[cat])).sum(axis=1)
        w = np.exp(-0.5 * (d2 - d2.min()))
        pred = float((w * scores).sum() / w.sum())
        if pred < best_pred:
            best, best_pred = i, pred
    return best


def lhs_unit(seed: int, name: str, index: int, n: int) -> float:
    """Latin hypercube coordinate in ``[0, 1)`` of point ``index`` for parameter ``name``.

    Points ``0..n-1`` of one block occupy each of the ``n`` strata of the parameter exactly
    once; the strata order is a permutation seeded by ``(seed, name, block)``, so the design is
    deterministic, independent between parameters, and needs only the trial number (which is
    what makes it safe for many workers and for parameters that appear later).
    """
    n = max(1, n)
    block, pos = divmod(index, n)
    tag = zlib.crc32(name.encode())
    perm = np.random.default_rng([seed, tag, block]).permutation(n)
    jitter = np.random.default_rng([seed, tag, block, pos + 1]).random()
    return float((perm[pos] + jitter) / n)
