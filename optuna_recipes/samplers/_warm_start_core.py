"""Numpy core of the warm-start sampler: source data + target data -> proposal density ratio.

Everything here works on encoded arrays (see ``optuna_recipes._encoding``): numerical columns in
``[0, 1]``, categorical columns holding the choice index, ``NaN`` for a parameter a trial does
not have (or a source value outside the target's range). Scores are "lower is better".

The model is TPE's density ratio ``l(x) / g(x)`` (Bergstra et al., 2011; Watanabe, 2023) fitted
on a weighted pool of observations:

- target trials, weight 1 each, split into good / bad by rank (TPE's ``gamma``);
- source trials as discounted pseudo-observations: each source is worth ``source_weight``
  target trials at the start, split into good / bad by its own rank quantiles (scale-, offset-
  and direction-free), times its *relatedness* (below), times a decay ``1 / (1 + n / decay)``
  in the number ``n`` of target trials, so the target's own data takes over.

Relatedness is the negative-transfer guard: each source's model (a Gaussian process on the
source, ``_warm_start_gp``) predicts a score at the target's evaluated points, and Kendall's tau
between those predictions and the target's observed values, shrunk towards a prior with ``n0``
pseudo-trials, gives ``r = clip(tau_shrunk / tau0, 0, 1)``. The prior is how well the source's
model ranks the *other* sources' trials (``agreement_priors``): sources of a related family
agree with each other, sources whose optimum moves anywhere between tasks do not, so an
unrelated family starts faded. A source that ranks the target's points at random or backwards
fades out within a few dozen target trials.

Kernels are truncated Gaussians on numerical columns (Scott's-rule bandwidths per column) and
Aitchison-Aitken kernels on categorical columns; a ``NaN`` coordinate in a kernel centre makes
that kernel uniform along that column (a parameter the source never had).
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
import math

import numpy as np

_SQRT2 = math.sqrt(2.0)
_erf = np.vectorize(math.erf, otypes=[float])


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

    def sample(self, rng: np.random.RandomState, size: int) -> np.ndarray:
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
                col = rng.randint(0, k, size=size).astype(float)
                keep = rng.rand(size) >= self.eps[j]
                centre = np.nan_to_num(c).astype(int)
                others = (centre + rng.randint(1, max(k, 2), size=size)) % k
                col = np.where(uniform, col, np.where(keep, centre, others).astype(float))
            else:
                col = rng.rand(size)
                draw = c + self.bandwidth[j] * rng.randn(size)
                for _ in range(20):
                    bad = ~uniform & ((draw < 0.0) | (draw > 1.0))
                    if not bad.any():
                        break
                    draw[bad] = c[bad] + self.bandwidth[j] * rng.randn(int(bad.sum()))
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


def _fit_mixture(
    x: np.ndarray,
    w: np.ndarray,
    n_choices: np.ndarray,
    min_bandwidth: np.ndarray,
    prior_weight: float,
) -> ParzenMixture:
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
            std = 0.3
        # Scott's rule, floored so that grids and near-duplicates keep some spread, capped
        # at the width of the unit interval.
        bandwidth[j] = float(np.clip(1.06 * std * scott, min_bandwidth[j], 1.0))
    return ParzenMixture(x, w, prior_weight, bandwidth, eps, n_choices)


@dataclass
class SourceData:
    """One source, encoded in the model space: rows ``x`` and scores ``y`` (lower is better)."""

    x: np.ndarray
    y: np.ndarray


@dataclass
class WarmStartConfig:
    """Hyperparameters of the transfer model (see ``WarmStartSampler`` for their meaning)."""

    source_weight: float = 20.0
    source_decay: float = 30.0
    source_gamma: float = 0.15
    tau0: float = 0.3
    n0: float = 5.0
    prior_weight: float = 1.0
    n_ei_candidates: int = 24


def target_gamma(n: int) -> int:
    """Size of the target's good set: TPE's default ``min(ceil(0.1 n), 25)``."""
    return min(math.ceil(0.1 * n), 25)


def relatedness(
    predictions: list[np.ndarray | None],
    target_y: np.ndarray,
    prior_taus: np.ndarray,
    config: WarmStartConfig,
) -> tuple[np.ndarray, np.ndarray]:
    """Per-source relatedness in ``[0, 1]`` and the raw Kendall taus behind them.

    ``predictions[i]`` is source ``i``'s predicted score (lower is better) at each of the
    target's evaluated points, or ``None`` for a source without a model (relatedness 0);
    ``prior_taus`` is what each tau is shrunk towards (``agreement_priors``).
    """
    n_t = len(target_y)
    taus = np.zeros(len(predictions))
    for i, pred in enumerate(predictions):
        if pred is not None and n_t >= 3:
            taus[i] = kendall_tau(pred, target_y)
    rel = shrink_taus(taus, n_t, config, prior_taus)
    rel[[p is None for p in predictions]] = 0.0
    return rel, taus


def agreement_priors(
    predict: list[Callable[[np.ndarray], np.ndarray] | None],
    sources: list[SourceData],
    config: WarmStartConfig,
) -> np.ndarray:
    """Each source's prior Kendall tau: how well its model ranks the *other* sources'
    observed scores (the mean over them), or ``config.tau0`` when there is no other source
    with data.

    Sources that agree with each other come from a family of related tasks, and a new task of
    that family is likely related too; sources that rank each other at random (the optimum
    moves anywhere between tasks) start with little weight, before any target trial.
    """
    out = np.full(len(sources), config.tau0)
    for i, f in enumerate(predict):
        if f is None:
            continue
        taus = [
            kendall_tau(f(other.x), rank_quantiles(other.y))
            for j, other in enumerate(sources)
            if j != i and len(other.y) >= 3
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
    """Number of target-trial equivalents each source is worth now."""
    return config.source_weight * rel / (1.0 + n_target / config.source_decay)


def build_density_ratio(
    sources: list[SourceData],
    masses: np.ndarray,
    target_x: np.ndarray,
    target_y: np.ndarray,
    n_choices: np.ndarray,
    min_bandwidth: np.ndarray,
    config: WarmStartConfig,
) -> tuple[ParzenMixture, ParzenMixture]:
    """Fit ``l`` (good) and ``g`` (bad) on the weighted pool of target and source trials."""
    d = len(n_choices)
    xs_good, ws_good, xs_bad, ws_bad = [], [], [], []
    n_t = len(target_y)
    if n_t:
        order = np.argsort(target_y, kind="stable")
        n_good = target_gamma(n_t)
        good = np.zeros(n_t, dtype=bool)
        good[order[:n_good]] = True
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

    def stack(xs: list[np.ndarray], ws: list[np.ndarray]) -> tuple[np.ndarray, np.ndarray]:
        if not xs:
            return np.empty((0, d)), np.empty(0)
        return np.concatenate(xs, axis=0), np.concatenate(ws)

    xg, wg = stack(xs_good, ws_good)
    xb, wb = stack(xs_bad, ws_bad)
    lower = _fit_mixture(xg, wg, n_choices, min_bandwidth, config.prior_weight)
    upper = _fit_mixture(xb, wb, n_choices, min_bandwidth, config.prior_weight)
    return lower, upper


def propose(
    lower: ParzenMixture, upper: ParzenMixture, rng: np.random.RandomState, n_candidates: int
) -> np.ndarray:
    """Draw candidates from ``l`` and return the one with the largest ``log l - log g``."""
    cand = lower.sample(rng, n_candidates)
    score = lower.log_pdf(cand) - upper.log_pdf(cand)
    return cand[int(np.argmax(score))]
