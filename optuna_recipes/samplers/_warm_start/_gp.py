"""The transfer Gaussian process: source GPs and the target GP around them (numpy/scipy only).

The density ratio of ``_parzen`` finds the region the sources liked; inside it, a
target optimum that moved a little needs a model that *refines*: one that reads the shape of the
objective off the sources and places the target's own few points on it. This module is that
model, after Salinas, Shen and Perrone, "A Quantile-based Approach for Hyperparameter Transfer
Learning" (ICML 2020), and the prior-mean transfer of RGPE / TST (Feurer et al., 2018;
Wistuba et al., 2016):

- every task's scores go through its own empirical CDF and the normal quantile function
  (``normal_scores``), so objective scales, offsets, heavy tails and directions no longer
  matter (a Gaussian copula);
- each source gets a GP fitted on its copula scores (``fit_source_model``); its posterior mean
  ``m_s(x)`` is a *prior mean feature* of the target model;
- the target GP has the kernel ``c + sum_k v_k f_k(x) f_k(x') + s * Matern52(x, x'; l)``: a
  constant, a Bayesian linear model on features ``f_k`` taken from the sources, and a residual
  Matern 5/2 kernel whose length scales have a prior centred on the sources' fitted ones, so
  the shape learned on the sources is used from the target's first trial. The features are
  each source's prediction ``m_s(x)`` and its gradient along the numerical columns: a target
  whose optimum moved by ``delta`` is, to first order, ``m_s(x) - delta . grad m_s(x)``, so
  the linear model can place the sources' shape at the target's optimum. Every feature's
  variance ``v_k`` is fitted by maximum a posteriori, and each source's features are scaled by
  a relatedness weight in ``[0, 1]`` from the caller (the sampler's Kendall-tau guard), so a
  source the target's data contradict stops counting;
- candidates are scored by expected improvement on the target's copula scale
  (``_acquisition``).

Arrays follow ``_data``: numerical columns in ``[0, 1]``, categorical columns hold the
choice index (Hamming distance in the kernel, as Optuna's ``GPSampler`` does), ``NaN`` for a
missing value (imputed: the centre for numerical columns, a category of its own otherwise).
"""

from __future__ import annotations

from dataclasses import dataclass
import math

import numpy as np
from scipy import optimize
from scipy import special
from scipy.linalg import cho_solve
from scipy.linalg import solve_triangular

from optuna_recipes.samplers._warm_start._data import rank_quantiles

# A typical shift of the optimum between related tasks, in unit-cube coordinates.
SHIFT_SCALE = 0.05
# Source GPs: at most this many trials (the best ones), length scales a priori around
# DEFAULT_LENGTHSCALE (log-normal, sd SOURCE_LENGTHSCALE_SD), a small constant kernel term.
SOURCE_MAX_POINTS = 300
DEFAULT_LENGTHSCALE = 0.5
SOURCE_LENGTHSCALE_SD = 1.5
SOURCE_CONSTANT_VAR = 0.1
# The target GP's constant kernel term (its scores are standard normal quantiles).
TARGET_CONSTANT_VAR = 1.0
# L-BFGS-B iterations of the hyperparameter fit.
MAX_ITER = 50
_SQRT5 = math.sqrt(5.0)
_JITTER = 1e-8


def normal_scores(y: np.ndarray) -> np.ndarray:
    """Scores (lower is better; ``inf`` and ``NaN`` = worst) -> standard normal quantiles of
    their ranks (ties share a rank)."""
    y = np.asarray(y, dtype=float)
    n = len(y)
    if n == 0:
        return np.empty(0)
    ranks = rank_quantiles(np.where(np.isnan(y), np.inf, y)) * (n - 1)
    return special.ndtri((ranks + 0.5) / n)


def impute(x: np.ndarray, n_choices: np.ndarray) -> np.ndarray:
    """``NaN`` -> 0.5 on numerical columns, -1 (a category no trial has) on categorical ones."""
    fill = np.where(n_choices > 0, -1.0, 0.5)
    return np.where(np.isnan(x), fill[None, :], x)


def _sq_dists(a: np.ndarray, b: np.ndarray, n_choices: np.ndarray) -> np.ndarray:
    """Per-column squared distances, shape ``(d, len(a), len(b))``; Hamming on categoricals."""
    diff = a.T[:, :, None] - b.T[:, None, :]
    cat = n_choices > 0
    out = diff**2
    out[cat] = (diff[cat] != 0).astype(float)
    return out


def _matern52(r2: np.ndarray) -> np.ndarray:
    r = np.sqrt(np.maximum(r2, 0.0))
    return (1.0 + _SQRT5 * r + 5.0 / 3.0 * r2) * np.exp(-_SQRT5 * r)


@dataclass
class GPPrior:
    """Log-normal priors on the hyperparameters (means and standard deviations in log space)."""

    log_lengthscale: np.ndarray
    lengthscale_sd: float = 1.0
    log_signal: float = 0.0
    signal_sd: float = 1.0
    log_noise: float = math.log(1e-2)
    noise_sd: float = 1.5
    log_feature: float = 0.0
    feature_sd: float = 1.0


@dataclass
class GaussianProcess:
    """A fitted GP: training inputs, Cholesky factor and hyperparameters.

    ``feature`` holds the prior-mean features ``m_s(x)`` at the training inputs, shape
    ``(n, S)`` (``S = 0``: none); ``predict`` needs them at the query points too.
    """

    x: np.ndarray
    y: np.ndarray
    n_choices: np.ndarray
    lengthscale: np.ndarray
    signal: float
    noise: float
    feature_var: np.ndarray
    feature: np.ndarray
    constant_var: float
    chol: np.ndarray
    alpha: np.ndarray

    def _cross(self, xq: np.ndarray, fq: np.ndarray) -> np.ndarray:
        d2 = _sq_dists(xq, self.x, self.n_choices)
        r2 = np.tensordot(1.0 / self.lengthscale**2, d2, axes=1)
        return (
            self.signal * _matern52(r2)
            + self.constant_var
            + (fq * self.feature_var) @ self.feature.T
        )

    def predict(
        self, xq: np.ndarray, fq: np.ndarray | None = None
    ) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the latent function at rows ``xq`` (imputed)."""
        fq = np.zeros((len(xq), len(self.feature_var))) if fq is None else fq
        kq = self._cross(xq, fq)
        mean = kq @ self.alpha
        v = _solve_lower(self.chol, kq.T)
        prior = self.signal + self.constant_var + (fq**2) @ self.feature_var
        var = np.maximum(prior - np.sum(v**2, axis=0), 1e-12)
        return mean, var


def _solve_lower(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    return solve_triangular(chol, b, lower=True, check_finite=False)


def _neg_log_posterior(
    theta: np.ndarray,
    d2: np.ndarray,
    y: np.ndarray,
    feature: np.ndarray,
    constant_var: float,
    prior: GPPrior,
) -> tuple[float, np.ndarray]:
    """Negative log marginal likelihood plus log priors, and its gradient in ``theta``.

    ``theta`` = log length scales (d), log signal, log noise, log feature variances (S).
    """
    d = d2.shape[0]
    n = len(y)
    n_f = feature.shape[1]
    ls = np.exp(theta[:d])
    signal = math.exp(theta[d])
    noise = math.exp(theta[d + 1])
    fvar = np.exp(theta[d + 2 :])
    scaled = d2 / ls[:, None, None] ** 2
    r2 = scaled.sum(axis=0)
    m52 = _matern52(r2)
    k = _kernel(signal, m52, constant_var, feature, fvar, noise)
    try:
        chol = np.linalg.cholesky(k)
    except np.linalg.LinAlgError:
        return 1e10, np.zeros_like(theta)
    alpha = _cho_solve(chol, y)
    nll = (
        0.5 * float(y @ alpha)
        + float(np.sum(np.log(np.diag(chol))))
        + 0.5 * n * math.log(2 * math.pi)
    )
    k_inv = _cho_solve(chol, np.eye(n))
    w = np.outer(alpha, alpha) - k_inv  # d nll / d K = -0.5 * w
    r = np.sqrt(np.maximum(r2, 0.0))
    common = signal * (5.0 / 3.0) * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)
    grad = np.empty_like(theta)
    # d K / d log l_j = signal * 5/3 (1 + sqrt5 r) exp(-sqrt5 r) * d_j^2 / l_j^2
    grad[:d] = -0.5 * np.einsum("ij,kij->k", w * common, scaled)
    grad[d] = -0.5 * float(np.sum(w * (signal * m52)))
    grad[d + 1] = -0.5 * float(np.trace(w)) * noise
    grad[d + 2 :] = -0.5 * np.einsum("is,ij,js->s", feature, w, feature) * fvar
    # Log-normal priors.
    mu = np.concatenate(
        [
            prior.log_lengthscale,
            [prior.log_signal, prior.log_noise],
            np.full(n_f, prior.log_feature),
        ]
    )
    sd = np.concatenate(
        [
            np.full(d, prior.lengthscale_sd),
            [prior.signal_sd, prior.noise_sd],
            np.full(n_f, prior.feature_sd),
        ]
    )
    z = (theta - mu) / sd
    nll += 0.5 * float(np.sum(z**2))
    grad += z / sd
    return nll, grad


def _cho_solve(chol: np.ndarray, b: np.ndarray) -> np.ndarray:
    return cho_solve((chol, True), b, check_finite=False)


def _kernel(
    signal: float,
    m52: np.ndarray,
    constant_var: float,
    feature: np.ndarray,
    fvar: np.ndarray,
    noise: float,
) -> np.ndarray:
    """Training kernel matrix: Matern part, constant, feature terms and noise on the diagonal."""
    n = len(m52)
    return (
        signal * m52 + constant_var + (feature * fvar) @ feature.T + (noise + _JITTER) * np.eye(n)
    )


_LOG_BOUNDS = {
    "lengthscale": (math.log(1e-2), math.log(20.0)),
    "signal": (math.log(1e-3), math.log(20.0)),
    "noise": (math.log(1e-6), math.log(1.0)),
    "feature": (math.log(1e-4), math.log(20.0)),
}


def fit_gp(
    x: np.ndarray,
    y: np.ndarray,
    n_choices: np.ndarray,
    prior: GPPrior,
    feature: np.ndarray | None = None,
    constant_var: float = TARGET_CONSTANT_VAR,
    max_iter: int = MAX_ITER,
) -> GaussianProcess:
    """Fit a GP by maximum a posteriori hyperparameters (L-BFGS-B from the prior's mode).

    ``x`` must be imputed (no ``NaN``); ``y`` should be standardised (e.g. normal scores);
    ``feature`` holds prior-mean features at ``x``, shape ``(n, S)`` (``None``: none).
    """
    n, d = x.shape
    f = np.zeros((n, 0)) if feature is None else np.asarray(feature, dtype=float)
    n_f = f.shape[1]
    d2 = _sq_dists(x, x, n_choices)
    theta0 = np.concatenate(
        [
            np.clip(prior.log_lengthscale, *_LOG_BOUNDS["lengthscale"]),
            [prior.log_signal, prior.log_noise],
            np.full(n_f, prior.log_feature),
        ]
    )
    bounds = (
        [_LOG_BOUNDS["lengthscale"]] * d
        + [_LOG_BOUNDS["signal"], _LOG_BOUNDS["noise"]]
        + [_LOG_BOUNDS["feature"]] * n_f
    )
    res = optimize.minimize(
        _neg_log_posterior,
        theta0,
        args=(d2, y, f, constant_var, prior),
        jac=True,
        method="L-BFGS-B",
        bounds=bounds,
        options={"maxiter": max_iter},
    )
    theta = res.x if np.all(np.isfinite(res.x)) else theta0
    ls = np.exp(theta[:d])
    signal = math.exp(theta[d])
    noise = math.exp(theta[d + 1])
    fvar = np.exp(theta[d + 2 :])
    r2 = np.tensordot(1.0 / ls**2, d2, axes=1)
    k = _kernel(signal, _matern52(r2), constant_var, f, fvar, noise)
    chol = _robust_cholesky(k)
    alpha = _cho_solve(chol, y)
    return GaussianProcess(x, y, n_choices, ls, signal, noise, fvar, f, constant_var, chol, alpha)


def _robust_cholesky(k: np.ndarray) -> np.ndarray:
    jitter = 0.0
    for _ in range(8):
        try:
            return np.linalg.cholesky(k + jitter * np.eye(len(k)))
        except np.linalg.LinAlgError:
            jitter = max(jitter * 10, 1e-6)
    raise np.linalg.LinAlgError("kernel matrix is not positive definite")


@dataclass
class SourceModel:
    """A GP fitted on one source's copula scores; ``scale`` is the spread of its posterior
    mean over its own inputs (the unit of its prediction in the prior feature)."""

    gp: GaussianProcess
    scale: float = 1.0

    def predict_grad(self, x: np.ndarray) -> np.ndarray:
        """Gradient of the posterior mean along the numerical columns, shape (len(x), d_num)."""
        g = self.gp
        d2 = _sq_dists(x, g.x, g.n_choices)
        r2 = np.tensordot(1.0 / g.lengthscale**2, d2, axes=1)
        r = np.sqrt(np.maximum(r2, 0.0))
        common = -(5.0 / 3.0) * g.signal * (1.0 + _SQRT5 * r) * np.exp(-_SQRT5 * r)
        num = np.nonzero(g.n_choices == 0)[0]
        out = np.empty((len(x), len(num)))
        for k, j in enumerate(num):
            diff = (x[:, j][:, None] - g.x[:, j][None, :]) / g.lengthscale[j] ** 2
            out[:, k] = (common * diff) @ g.alpha
        return out

    def predict_mean(self, x: np.ndarray) -> np.ndarray:
        """Posterior mean at rows ``x`` (``NaN`` is imputed)."""
        x = impute(x, self.gp.n_choices)
        return self.gp._cross(x, np.zeros((len(x), 0))) @ self.gp.alpha


def fit_source_model(
    x: np.ndarray, y: np.ndarray, n_choices: np.ndarray, max_points: int = SOURCE_MAX_POINTS
) -> SourceModel | None:
    """GP on a source's normal scores (``None`` with fewer than 3 trials); at most
    ``max_points`` trials are used, the best ones first (they carry the shape near optima)."""
    if len(y) < 3:
        return None
    z = normal_scores(y)
    if len(y) > max_points:
        keep = np.argsort(z, kind="stable")[:max_points]
        x, z = x[keep], z[keep]
    d = x.shape[1]
    prior = GPPrior(
        log_lengthscale=np.full(d, math.log(DEFAULT_LENGTHSCALE)),
        lengthscale_sd=SOURCE_LENGTHSCALE_SD,
    )
    gp = fit_gp(
        impute(x, n_choices), z - z.mean(), n_choices, prior, constant_var=SOURCE_CONSTANT_VAR
    )
    model = SourceModel(gp)
    model.scale = max(float(np.std(model.predict_mean(gp.x))), 1e-6)
    return model


def source_lengthscale_prior(
    models: list[SourceModel | None], weights: np.ndarray, d: int
) -> np.ndarray:
    """Weighted mean of the sources' log length scales (``log 0.5`` when no source counts)."""
    logs, ws = [], []
    for m, w in zip(models, weights, strict=True):
        if m is not None and w > 0:
            logs.append(np.log(m.gp.lengthscale))
            ws.append(w)
    if not logs:
        return np.full(d, math.log(DEFAULT_LENGTHSCALE))
    return np.average(np.array(logs), axis=0, weights=np.array(ws))


def prior_features(
    models: list[SourceModel | None], x: np.ndarray, weights: np.ndarray | None = None
) -> np.ndarray:
    """The sources' predictions at rows ``x`` (imputed), each in units of its own spread and
    times its weight (default 1), shape ``(len(x), S)`` for the ``S`` sources that have a
    model and a positive weight."""
    w = np.ones(len(models)) if weights is None else weights
    used = [(m, float(ws)) for m, ws in zip(models, w, strict=True) if m is not None and ws > 0]
    cols = [ws * m.predict_mean(x) / m.scale for m, ws in used]
    # First-order shift terms: m_s(x - delta) ~ m_s(x) - delta . grad m_s(x), with the
    # gradient scaled by a typical shift so that its coefficients have a unit prior.
    for m, ws in used:
        cols += list((m.predict_grad(x) * (ws * SHIFT_SCALE / m.scale)).T)
    return np.stack(cols, axis=1) if cols else np.zeros((len(x), 0))


def prior_mean(feature: np.ndarray, weights: np.ndarray) -> np.ndarray:
    """The target model's prior mean from ``prior_features`` rows made with ``weights``: the
    sources' predictions, each in units of its own spread, averaged with the weights (divided
    by ``max(sum of weights, 1)``, so that sources of little weight pull it less than one fully
    related source). The first columns of ``feature`` are the weighted predictions."""
    used = weights[weights > 0]
    return feature[:, : len(used)].sum(axis=1) / max(float(used.sum()), 1.0)


@dataclass
class TransferGP:
    """The target model: a GP on the target's copula scores with the sources' features, around
    the sources' weighted mean prediction (``prior_mean``)."""

    gp: GaussianProcess
    models: list[SourceModel | None]
    weights: np.ndarray
    best: float

    def predict(self, x: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Posterior mean and variance of the target's copula score at rows ``x`` (imputed)."""
        feature = prior_features(self.models, x, self.weights)
        mean, var = self.gp.predict(x, feature)
        return mean + prior_mean(feature, self.weights), var

    def source_weights(self) -> np.ndarray:
        """Posterior mean coefficient of each source's prediction in the target model (0 for
        a source without a model): its share of the prior mean plus the fitted coefficient of
        its prediction feature; about 1 / (number of sources) or more for a source the target
        follows, near 0 or below for one it does not."""
        out = np.zeros(len(self.models))
        mask = [m is not None and w > 0 for m, w in zip(self.models, self.weights, strict=True)]
        n_s = sum(mask)
        g = self.gp
        share = 1.0 / max(float(self.weights[mask].sum()), 1.0)
        # The feature is weight * prediction, so the prediction's coefficient is weight * beta.
        fitted = g.feature_var[:n_s] * (g.feature[:, :n_s].T @ g.alpha)
        out[mask] = self.weights[mask] * (share + fitted)
        return out


def fit_transfer_gp(
    models: list[SourceModel | None],
    target_x: np.ndarray,
    target_y: np.ndarray,
    n_choices: np.ndarray,
    weights: np.ndarray | None = None,
) -> TransferGP:
    """Fit the target GP (``target_y``: raw scores, lower is better; ``target_x`` imputed).

    ``weights`` (default 1 each) scale each source's features and its say in the length-scale
    prior; a source of weight 0 leaves the model.
    """
    d = target_x.shape[1]
    z = normal_scores(target_y)
    w = np.ones(len(models)) if weights is None else np.asarray(weights, dtype=float)
    w = np.where([m is None for m in models], 0.0, w)
    prior = GPPrior(log_lengthscale=source_lengthscale_prior(models, w, d))
    feature = prior_features(models, target_x, w)
    mu = prior_mean(feature, w)
    gp = fit_gp(
        target_x, z - mu, n_choices, prior, feature=feature, constant_var=TARGET_CONSTANT_VAR
    )
    return TransferGP(gp, models, w, float(z.min()))
