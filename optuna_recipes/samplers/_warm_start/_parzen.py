"""The density-ratio surrogate: source and target trials -> ``l(x) / g(x)`` (numpy only).

The model is TPE's density ratio ``l(x) / g(x)`` (Bergstra et al., 2011; Watanabe, 2023) fitted
on a weighted pool of observations:

- target trials, weight 1 each, split into good / bad by rank (TPE's ``gamma``);
- source trials as discounted pseudo-observations: each source is worth ``source_weight``
  target trials at the start, split into good / bad by its own rank quantiles (scale-, offset-
  and direction-free), times its relatedness (``_relatedness``), times a decay
  ``1 / (1 + n / decay)`` in the number ``n`` of target trials, so the target's own data takes
  over.

Kernels are truncated Gaussians on numerical columns (Scott's-rule bandwidths per column) and
Aitchison-Aitken kernels on categorical columns; a ``NaN`` coordinate in a kernel centre makes
that kernel uniform along that column (a parameter the source never had). Arrays follow
``_data``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from collections.abc import Set
from dataclasses import dataclass
import math

import numpy as np

from optuna_recipes.samplers._warm_start._data import SourceData
from optuna_recipes.samplers._warm_start._data import WarmStartConfig
from optuna_recipes.samplers._warm_start._data import best_new
from optuna_recipes.samplers._warm_start._data import rank_quantiles

# Bandwidth of a numerical column with fewer than two weighted points.
DEFAULT_SPREAD = 0.3
# Redraws of a truncated-Gaussian sample that fell outside [0, 1] before it is clipped.
MAX_REDRAWS = 20
# TPE's default good-set size: min(ceil(GAMMA * n), MAX_GOOD) of the n target trials.
GAMMA = 0.1
MAX_GOOD = 25

# The cold arm samples uniformly until it has proposed this many scored trials.
COLD_STARTUP = 5

_SQRT2 = math.sqrt(2.0)
_erf = np.vectorize(math.erf, otypes=[float])


@dataclass
class ParzenMixture:
    """A weighted mixture of product kernels plus a uniform prior component.

    Args:
        centers: Kernel centres, shape ``(n, d)``; ``NaN`` = uniform along that column.
        weights: Non-negative kernel weights, shape ``(n,)``.
        prior_weight: Weight of the uniform component.
        bandwidth: Numerical bandwidths, shape ``(d,)`` (ignored for categorical columns).
        eps: Aitchison-Aitken mass spread over the other choices, shape ``(d,)``.
        n_choices: Number of choices per column, 0 for numerical columns.
    """

    centers: np.ndarray
    weights: np.ndarray
    prior_weight: float
    bandwidth: np.ndarray
    eps: np.ndarray
    n_choices: np.ndarray

    def __post_init__(self) -> None:
        w = np.concatenate([[self.prior_weight], self.weights])
        self._log_w = np.log(np.maximum(w, 1e-300)) - math.log(w.sum())
        self._probs = w / w.sum()
        num = self.n_choices == 0
        mu = self.centers[:, num]
        sd = self.bandwidth[num][None, :]
        with np.errstate(invalid="ignore"):
            z = _erf((1.0 - mu) / (sd * _SQRT2)) - _erf((0.0 - mu) / (sd * _SQRT2))
        self._log_norm = np.log(np.maximum(0.5 * z, 1e-12))

    def sample(self, rng: np.random.Generator, size: int) -> np.ndarray:
        """Draw ``size`` rows from the mixture."""
        d = len(self.n_choices)
        comp = rng.choice(len(self._probs), size=size, p=self._probs) - 1  # -1: prior
        out = np.empty((size, d))
        for j in range(d):
            c = np.full(size, np.nan)
            if len(self.centers):
                c = np.where(comp < 0, np.nan, self.centers[np.maximum(comp, 0), j])
            uniform = np.isnan(c)
            k = self.n_choices[j]
            if k > 0:
                col = rng.integers(0, k, size=size).astype(float)
                keep = rng.random(size) >= self.eps[j]
                centre = np.nan_to_num(c).astype(int)
                others = (centre + rng.integers(1, max(k, 2), size=size)) % k
                col = np.where(uniform, col, np.where(keep, centre, others).astype(float))
            else:
                col = rng.random(size)
                draw = c + self.bandwidth[j] * rng.standard_normal(size)
                for _ in range(MAX_REDRAWS):
                    bad = ~uniform & ((draw < 0.0) | (draw > 1.0))
                    if not bad.any():
                        break
                    draw[bad] = c[bad] + self.bandwidth[j] * rng.standard_normal(int(bad.sum()))
                col = np.where(uniform, col, np.clip(draw, 0.0, 1.0))
            out[:, j] = col
        return out

    def log_pdf(self, x: np.ndarray) -> np.ndarray:
        """Log density of rows ``x``, shape ``(m,)``; a ``NaN`` coordinate is marginalised
        out (that column does not count)."""
        m = len(x)
        n = len(self.centers)
        logk = np.zeros((m, n))
        log_prior = np.zeros(m)
        num_j = 0
        for j in range(len(self.n_choices)):
            c = self.centers[:, j]
            missing = np.isnan(c)
            absent = np.isnan(x[:, j])[:, None]
            k = self.n_choices[j]
            if k > 0:
                same = x[:, j][:, None] == c[None, :]
                eps = self.eps[j]
                lp = np.where(same, math.log(1.0 - eps), math.log(eps / max(k - 1, 1)))
                lp = np.where(missing[None, :], -math.log(k), lp)
                log_prior -= np.where(absent[:, 0], 0.0, math.log(k))
            else:
                sd = self.bandwidth[j]
                z = (x[:, j][:, None] - c[None, :]) / sd
                lp = -0.5 * z**2 - math.log(sd * math.sqrt(2 * math.pi))
                lp = lp - self._log_norm[:, num_j][None, :]
                lp = np.where(missing[None, :], 0.0, lp)
                num_j += 1
            logk += np.where(absent, 0.0, lp)
        # Uniform prior: density 1 on numerical columns, 1/k on categorical ones.
        all_terms = np.concatenate([log_prior[:, None], logk], axis=1) + self._log_w
        top = all_terms.max(axis=1, keepdims=True)
        return top[:, 0] + np.log(np.exp(all_terms - top).sum(axis=1))


def fit_mixture(
    x: np.ndarray,
    w: np.ndarray,
    n_choices: np.ndarray,
    min_bandwidth: np.ndarray,
    prior_weight: float,
) -> ParzenMixture:
    """Fit a mixture on rows ``x`` with weights ``w`` (zero weights are dropped): Scott's-rule
    bandwidths floored at ``min_bandwidth``, and on categorical columns an Aitchison-Aitken
    ``eps`` that shrinks as the column's total weight grows."""
    d = len(n_choices)
    keep = w > 0
    x, w = x[keep], w[keep]
    n_eff = max(float(w.sum()), 1.0)
    scott = n_eff ** (-1.0 / (d + 4))
    bandwidth = np.empty(d)
    eps = np.zeros(d)
    for j in range(d):
        col = x[:, j]
        ok = ~np.isnan(col)
        k = n_choices[j]
        if k > 0:
            n_j = float(w[ok].sum())
            eps[j] = (k - 1) / k * min(1.0, 1.0 / math.sqrt(1.0 + n_j)) if k > 1 else 0.0
            bandwidth[j] = 1.0
            continue
        if ok.sum() >= 2 and w[ok].sum() > 0:
            mean = np.average(col[ok], weights=w[ok])
            std = math.sqrt(float(np.average((col[ok] - mean) ** 2, weights=w[ok])))
        else:
            std = DEFAULT_SPREAD
        # Scott's rule, floored so that grids and near-duplicates keep some spread, capped
        # at the width of the unit interval.
        bandwidth[j] = float(np.clip(1.06 * std * scott, min_bandwidth[j], 1.0))
    return ParzenMixture(x, w, prior_weight, bandwidth, eps, n_choices)


def target_gamma(n: int) -> int:
    """Size of the target's good set: TPE's default ``min(ceil(0.1 n), 25)``."""
    return min(math.ceil(GAMMA * n), MAX_GOOD)


def weighted_pools(
    sources: Sequence[SourceData],
    masses: np.ndarray,
    target_x: np.ndarray,
    target_y: np.ndarray,
    config: WarmStartConfig,
) -> tuple[tuple[np.ndarray, np.ndarray], tuple[np.ndarray, np.ndarray]]:
    """The good and the bad pool, each as ``(rows, weights)``: the target's trials split by
    ``target_gamma`` (weight 1 each) and each source's split by its rank quantiles at
    ``source_gamma`` (its ``mass`` spread over its trials)."""
    d = target_x.shape[1]
    xs_good, ws_good, xs_bad, ws_bad = [], [], [], []
    n_t = len(target_y)
    if n_t:
        order = np.argsort(target_y, kind="stable")
        good = np.zeros(n_t, dtype=bool)
        good[order[: target_gamma(n_t)]] = True
        xs_good.append(target_x[good])
        ws_good.append(np.ones(int(good.sum())))
        xs_bad.append(target_x[~good])
        ws_bad.append(np.ones(int((~good).sum())))
    for src, mass in zip(sources, masses, strict=True):
        if mass <= 0 or len(src.y) == 0:
            continue
        q = rank_quantiles(src.y)
        good = q <= config.source_gamma if len(q) > 1 else np.ones(1, dtype=bool)
        per_trial = mass / len(src.y)
        xs_good.append(src.x[good])
        ws_good.append(np.full(int(good.sum()), per_trial))
        xs_bad.append(src.x[~good])
        ws_bad.append(np.full(int((~good).sum()), per_trial))
    return _stack(xs_good, ws_good, d), _stack(xs_bad, ws_bad, d)


def _stack(xs: list[np.ndarray], ws: list[np.ndarray], d: int) -> tuple[np.ndarray, np.ndarray]:
    if not xs:
        return np.empty((0, d)), np.empty(0)
    return np.concatenate(xs, axis=0), np.concatenate(ws)


def build_density_ratio(
    sources: Sequence[SourceData],
    masses: np.ndarray,
    target_x: np.ndarray,
    target_y: np.ndarray,
    n_choices: np.ndarray,
    min_bandwidth: np.ndarray,
    config: WarmStartConfig,
) -> tuple[ParzenMixture, ParzenMixture]:
    """Fit ``l`` (good) and ``g`` (bad) on the weighted pool of target and source trials."""
    (xg, wg), (xb, wb) = weighted_pools(sources, masses, target_x, target_y, config)
    lower = fit_mixture(xg, wg, n_choices, min_bandwidth, config.prior_weight)
    upper = fit_mixture(xb, wb, n_choices, min_bandwidth, config.prior_weight)
    return lower, upper


def build_good_density(
    sources: Sequence[SourceData],
    masses: np.ndarray,
    target_x: np.ndarray,
    target_y: np.ndarray,
    n_choices: np.ndarray,
    min_bandwidth: np.ndarray,
    config: WarmStartConfig,
) -> ParzenMixture:
    """Fit ``l`` (good) only: what the GP's candidate search draws from."""
    (xg, wg), _ = weighted_pools(sources, masses, target_x, target_y, config)
    return fit_mixture(xg, wg, n_choices, min_bandwidth, config.prior_weight)


def propose(
    lower: ParzenMixture,
    upper: ParzenMixture,
    rng: np.random.Generator,
    n_candidates: int,
    snap: Callable[[np.ndarray], np.ndarray] | None = None,
    known: Set[bytes] = frozenset(),
) -> np.ndarray:
    """Draw candidates from ``l`` (moved onto the grid by ``snap``) and return the one with
    the largest ``log l - log g`` whose configuration is not in ``known`` (``best_new``)."""
    cand = lower.sample(rng, n_candidates)
    if snap is not None:
        cand = snap(cand)
    score = lower.log_pdf(cand) - upper.log_pdf(cand)
    return best_new(cand, score, known)


def propose_cold(
    x: np.ndarray,
    y: np.ndarray,
    n_choices: np.ndarray,
    min_bandwidth: np.ndarray,
    config: WarmStartConfig,
    rng: np.random.Generator,
    snap: Callable[[np.ndarray], np.ndarray] | None = None,
    known: Set[bytes] = frozenset(),
) -> np.ndarray:
    """The cold arm's row (``_arms``): the density ratio on the trials ``(x, y)`` that arm
    proposed and nothing else (neither the sources nor the surrogate's trials, which crowd
    where the sources pointed), uniform until it has ``COLD_STARTUP`` of them; a configuration
    in ``known`` (any arm's) is not proposed again while another candidate is new."""
    if len(y) < COLD_STARTUP:
        x, y = x[:0], y[:0]
    lower, upper = build_density_ratio(
        [], np.zeros(0), x, rank_quantiles(y), n_choices, min_bandwidth, config
    )
    return propose(lower, upper, rng, config.n_ei_candidates, snap, known)
