"""The warm-start sampler's transfer GP and its acquisition: plain numpy, no Optuna."""

from __future__ import annotations

import math

import numpy as np
import pytest
from scipy import stats

from optuna_recipes.samplers._warm_start import _acquisition as acq
from optuna_recipes.samplers._warm_start import _gp as gp
from optuna_recipes.samplers._warm_start._data import best_new
from optuna_recipes.samplers._warm_start._data import row_keys

N_CHOICES = np.array([0, 0, 3])  # two numerical columns and one categorical


def _points(rng: np.random.RandomState, n: int) -> np.ndarray:
    x = rng.rand(n, 3)
    x[:, 2] = rng.randint(0, 3, size=n)
    return x


def _bowl(x: np.ndarray, centre: tuple[float, float], scale: float = 1.0) -> np.ndarray:
    d = x[:, :2] - np.array(centre)
    return scale * (d[:, 0] ** 2 + 10 * d[:, 1] ** 2 + 0.3 * (x[:, 2] != 1))


def test_normal_scores_rank_ties_and_infinite() -> None:
    z = gp.normal_scores(np.array([3.0, 1.0, 2.0, 2.0, np.inf, np.nan]))
    assert z[1] < z[2] == z[3] < z[0] < z[4] == z[5]
    z = gp.normal_scores(np.array([5.0, 1.0, 3.0]))
    np.testing.assert_allclose(z, [stats.norm.ppf(5 / 6), stats.norm.ppf(1 / 6), 0.0])
    # Scale-, offset- and direction-free once directions are aligned.
    y = np.random.RandomState(0).rand(20)
    np.testing.assert_allclose(gp.normal_scores(y), gp.normal_scores(1000 * y - 7))


@pytest.mark.parametrize("n_features", [0, 2])
def test_log_posterior_gradient_matches_finite_differences(n_features: int) -> None:
    rng = np.random.RandomState(1)
    x = _points(rng, 25)
    y = gp.normal_scores(_bowl(x, (0.3, 0.6)))
    feature = rng.randn(25, n_features)
    d2 = gp._sq_dists(x, x, N_CHOICES)
    prior = gp.GPPrior(log_lengthscale=np.full(3, math.log(0.5)))
    theta = rng.randn(5 + n_features) * 0.5
    _, grad = gp._neg_log_posterior(theta, d2, y, feature, 1.0, prior)
    eps = 1e-6
    numeric = [
        (
            gp._neg_log_posterior(theta + e, d2, y, feature, 1.0, prior)[0]
            - gp._neg_log_posterior(theta - e, d2, y, feature, 1.0, prior)[0]
        )
        / (2 * eps)
        for e in np.eye(len(theta)) * eps
    ]
    np.testing.assert_allclose(grad, numeric, rtol=1e-4, atol=1e-5)


def test_gp_predicts_held_out_points_and_its_own_gradient() -> None:
    rng = np.random.RandomState(2)
    x = _points(rng, 60)
    model = gp.fit_source_model(x, _bowl(x, (0.4, 0.5)), N_CHOICES)
    assert model is not None
    test = _points(rng, 200)
    rho = stats.spearmanr(model.predict_mean(test), _bowl(test, (0.4, 0.5)))[0]
    assert rho > 0.9
    eps = 1e-6
    numeric = np.stack(
        [
            (model.predict_mean(test + e) - model.predict_mean(test - e)) / (2 * eps)
            for e in (np.eye(3)[0] * eps, np.eye(3)[1] * eps)
        ],
        axis=1,
    )
    np.testing.assert_allclose(model.predict_grad(test), numeric, rtol=1e-4, atol=1e-6)


def test_log_expected_improvement_closed_form_and_tail() -> None:
    mean = np.array([0.0, 1.0, -1.0, 30.0, 40.0])
    var = np.ones(5)
    z = -mean
    exact = z * stats.norm.cdf(z) + stats.norm.pdf(z)
    out = acq.log_expected_improvement(mean, var, 0.0)
    np.testing.assert_allclose(np.exp(out[:3]), exact[:3], rtol=1e-9)
    # Far in the tail the value stays finite and keeps ordering (plain EI underflows to 0).
    assert np.all(np.isfinite(out)) and out[3] > out[4]
    assert out[3] == pytest.approx(math.log(stats.norm.pdf(30) / 30**2), rel=1e-3)


def _sources(centres: list[tuple[float, float]], scales: list[float]) -> list[gp.SourceModel]:
    rng = np.random.RandomState(3)
    out = []
    for c, s in zip(centres, scales, strict=True):
        x = _points(rng, 80)
        model = gp.fit_source_model(x, _bowl(x, c, s), N_CHOICES)
        assert model is not None
        out.append(model)
    return out


def test_transfer_locates_a_shifted_optimum_from_few_target_points() -> None:
    # Sources at (0.30, 0.60) and (0.36, 0.55) on other scales; the target's optimum is at
    # (0.35, 0.62). Eight target points: with the sources the GP's minimum is near the
    # target's optimum, without them it is not.
    sources = _sources([(0.30, 0.60), (0.36, 0.55)], [3.0, 0.01])
    rng = np.random.RandomState(4)
    target_x = _points(rng, 8)
    target_y = _bowl(target_x, (0.35, 0.62))
    grid = np.array([[a, b, 1.0] for a in np.linspace(0, 1, 41) for b in np.linspace(0, 1, 41)])

    def argmin(models: list[gp.SourceModel | None]) -> np.ndarray:
        model = gp.fit_transfer_gp(models, target_x, target_y, N_CHOICES)
        mean, _ = model.predict(grid)
        return grid[int(np.argmin(mean)), :2]

    with_sources = np.linalg.norm(argmin(sources) - np.array([0.35, 0.62]))
    without = np.linalg.norm(argmin([]) - np.array([0.35, 0.62]))
    assert with_sources < 0.1  # about four grid steps
    assert with_sources < 0.5 * without


@pytest.mark.parametrize("n_target", [5, 10, 20, 30])
def test_source_coefficients_follow_relatedness(n_target: int) -> None:
    rng = np.random.RandomState(3)
    fitted = []
    for centre, sign in [((0.35, 0.6), 1.0), ((0.35, 0.6), -1.0), ((0.9, 0.05), 1.0)]:
        x = _points(rng, 80)
        fitted.append(gp.fit_source_model(x, sign * _bowl(x, centre), N_CHOICES))
    related, reversed_, far = fitted
    rng = np.random.RandomState(5)
    target_x = _points(rng, n_target)
    target_y = _bowl(target_x, (0.35, 0.6))

    def coefficient(models: list[gp.SourceModel | None]) -> np.ndarray:
        return gp.fit_transfer_gp(models, target_x, target_y, N_CHOICES).source_weights()

    assert coefficient([related])[0] > 0.3
    assert coefficient([reversed_])[0] < -0.3
    # The prior mean follows a lone source until the target's data outweigh it (n0 ~ 10).
    assert coefficient([far])[0] < coefficient([related])[0]
    if n_target >= 10:
        assert abs(coefficient([far])[0]) < 0.3
    w = coefficient([related, None])
    assert w.shape == (2,) and w[1] == 0.0


def test_acquisition_respects_bounds_grid_and_categories() -> None:
    sources = _sources([(0.3, 0.6)], [1.0])
    rng = np.random.RandomState(6)
    target_x = _points(rng, 6)
    model = gp.fit_transfer_gp(sources, target_x, _bowl(target_x, (0.3, 0.6)), N_CHOICES)

    def snap(rows: np.ndarray) -> np.ndarray:
        rows = rows.copy()
        rows[:, 1] = np.round(rows[:, 1] * 10) / 10  # a stepped column
        rows[:, 2] = np.clip(np.floor(rows[:, 2] + 0.5), 0, 2)
        return rows

    row = acq.optimize_acquisition(
        model, snap(_points(rng, 50)), target_x[:2], N_CHOICES, snap, np.random.default_rng(6)
    )
    assert 0.0 <= row[0] <= 1.0 and row[2] in (0.0, 1.0, 2.0)
    assert row[1] == pytest.approx(round(row[1] * 10) / 10)
    # Near the target's optimum, not at one of its evaluated points.
    assert np.linalg.norm(row[:2] - np.array([0.3, 0.6])) < 0.25
    assert not any(np.allclose(row, t) for t in target_x)


def test_source_model_needs_three_trials_and_imputes_missing() -> None:
    assert gp.fit_source_model(np.zeros((2, 3)), np.zeros(2), N_CHOICES) is None
    x = _points(np.random.RandomState(7), 20)
    x[::3, 0] = np.nan
    x[::4, 2] = np.nan
    filled = gp.impute(x, N_CHOICES)
    assert not np.isnan(filled).any()
    assert set(filled[::4, 2]) == {-1.0} and set(filled[::3, 0]) == {0.5}
    assert gp.fit_source_model(x, _bowl(filled, (0.5, 0.5)), N_CHOICES) is not None


def test_weight_zero_removes_a_source() -> None:
    sources = _sources([(0.3, 0.6), (0.9, 0.05)], [1.0, 1.0])
    rng = np.random.RandomState(8)
    target_x = _points(rng, 10)
    target_y = _bowl(target_x, (0.3, 0.6))
    weighted = gp.fit_transfer_gp(sources, target_x, target_y, N_CHOICES, np.array([1.0, 0.0]))
    alone = gp.fit_transfer_gp([sources[0], None], target_x, target_y, N_CHOICES)
    assert weighted.source_weights()[1] == 0.0
    test = _points(rng, 20)
    np.testing.assert_allclose(acq.log_ei(weighted, test), acq.log_ei(alone, test))


def test_acquisition_skips_known_configurations() -> None:
    sources = _sources([(0.3, 0.6)], [1.0])
    rng = np.random.RandomState(8)
    target_x = _points(rng, 6)
    model = gp.fit_transfer_gp(sources, target_x, _bowl(target_x, (0.3, 0.6)), N_CHOICES)

    def snap(rows: np.ndarray) -> np.ndarray:  # a coarse grid: few configurations
        rows = np.round(rows * 4) / 4
        rows[:, 2] = np.clip(rows[:, 2], 0, 2)
        return rows

    def propose(known: set[bytes]) -> np.ndarray:
        initial = snap(_points(np.random.RandomState(9), 50))
        return acq.optimize_acquisition(
            model, initial, target_x[:2], N_CHOICES, snap, np.random.default_rng(9), known=known
        )

    best = propose(set())
    again = propose(set(row_keys(best[None, :])))
    assert row_keys(again[None, :]) != row_keys(best[None, :])
    # Every candidate known: the best one all the same.
    everything = snap(
        np.array(np.meshgrid(*[np.linspace(0, 1, 5)] * 2, [0, 1, 2])).reshape(3, -1).T
    )
    assert np.array_equal(propose(set(row_keys(everything))), best)


def test_best_new_falls_back_to_the_best_when_all_are_known() -> None:
    cand = np.array([[0.0, 1.0], [0.5, 0.0], [1.0, 1.0]])
    score = np.array([1.0, 3.0, 2.0])
    assert np.array_equal(best_new(cand, score, set()), cand[1])
    assert np.array_equal(best_new(cand, score, set(row_keys(cand[1:2]))), cand[2])
    assert np.array_equal(best_new(cand, score, set(row_keys(cand))), cand[1])
    # -0.0 and rounding noise are the same configuration.
    assert row_keys(np.array([[-0.0, 0.1 + 0.2]])) == row_keys(np.array([[0.0, 0.3]]))
