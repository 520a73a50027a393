"""The numpy models of WarmStartSampler (ranks, relatedness, density ratio, the choice of arm),
without Optuna."""

from __future__ import annotations

import numpy as np
import pytest
from scipy import stats

from optuna_recipes.samplers._warm_start import _arms as arms
from optuna_recipes.samplers._warm_start import _parzen as parzen
from optuna_recipes.samplers._warm_start import _relatedness as rel_
from optuna_recipes.samplers._warm_start._data import SourceData
from optuna_recipes.samplers._warm_start._data import WarmStartConfig
from optuna_recipes.samplers._warm_start._data import rank_quantiles


def test_rank_quantiles_best_is_zero_and_ties_share() -> None:
    q = rank_quantiles(np.array([3.0, 1.0, 2.0, 2.0, np.inf]))
    assert q[1] == 0.0 and q[4] == 1.0
    assert q[2] == q[3]
    assert rank_quantiles(np.array([5.0])).tolist() == [0.0]


@pytest.mark.parametrize("seed", range(3))
def test_kendall_tau_matches_scipy(seed: int) -> None:
    rng = np.random.RandomState(seed)
    a = rng.randint(0, 5, size=30).astype(float)
    b = a + rng.normal(0, 2, size=30)
    assert rel_.kendall_tau(a, b) == pytest.approx(stats.kendalltau(a, b).statistic)


def _pairwise_top_weighted_tau(predicted: np.ndarray, observed: np.ndarray) -> float:
    """The definition, pair by pair: weight 1 / (r + 1) per point by its observed rank r."""
    n = len(observed)
    rank = np.empty(n)
    rank[np.argsort(observed, kind="stable")] = np.arange(n)
    w = 1.0 / (1.0 + rank)
    num = den_p = den_o = 0.0
    for i in range(n):
        for j in range(i + 1, n):
            sp = np.sign(predicted[i] - predicted[j])
            so = np.sign(observed[i] - observed[j])
            num += (w[i] + w[j]) * sp * so
            den_p += (w[i] + w[j]) * (sp != 0)
            den_o += (w[i] + w[j]) * (so != 0)
    return num / np.sqrt(den_p * den_o)


@pytest.mark.parametrize("seed", range(3))
def test_top_weighted_tau_is_the_pairwise_definition(seed: int) -> None:
    rng = np.random.RandomState(seed)
    observed = rng.randint(0, 8, size=25).astype(float)  # with ties
    predicted = observed + rng.normal(0, 3, size=25)
    assert rel_.top_weighted_tau(predicted, observed) == pytest.approx(
        _pairwise_top_weighted_tau(predicted, observed)
    )
    assert rel_.top_weighted_tau(predicted[:1], observed[:1]) == 0.0
    assert rel_.top_weighted_tau(predicted, np.ones(25)) == 0.0  # undefined


def test_top_weighted_tau_punishes_a_wrong_top_more_than_kendall_tau() -> None:
    observed = np.arange(20.0)
    bulk_right_top_wrong = observed.copy()
    bulk_right_top_wrong[:3] = [15.5, 16.5, 17.5]  # the three best predicted among the worst
    top_right_bulk_noisy = observed.copy()
    top_right_bulk_noisy[3:] = np.random.RandomState(0).permutation(observed[3:])
    plain = rel_.kendall_tau(bulk_right_top_wrong, observed)
    top = rel_.top_weighted_tau(bulk_right_top_wrong, observed)
    assert plain > 0.5 and top < 0.35 and top < plain - 0.3
    # The reverse: the best points ranked right, the rest shuffled, keeps more trust than plain.
    assert rel_.top_weighted_tau(top_right_bulk_noisy, observed) > rel_.kendall_tau(
        top_right_bulk_noisy, observed
    )


def _mixture(centers: np.ndarray, n_choices: np.ndarray) -> parzen.ParzenMixture:
    return parzen.fit_mixture(
        centers, np.ones(len(centers)), n_choices, np.full(len(n_choices), 0.02), 1.0
    )


def test_mixture_samples_stay_in_the_space_and_follow_the_centres() -> None:
    centers = np.array([[0.2, 1.0], [0.25, 1.0], [0.22, np.nan]])
    mix = _mixture(centers, np.array([0, 3]))
    x = mix.sample(np.random.default_rng(0), 2000)
    assert ((x[:, 0] >= 0) & (x[:, 0] <= 1)).all()
    assert set(np.unique(x[:, 1])) <= {0.0, 1.0, 2.0}
    # Most mass sits near the centres, not spread uniformly.
    assert np.mean(np.abs(x[:, 0] - 0.22) < 0.2) > 0.6
    assert np.mean(x[:, 1] == 1.0) > 0.4  # uniform would give 1/3


def test_mixture_density_integrates_to_one() -> None:
    mix = _mixture(np.array([[0.05], [0.5], [np.nan]]), np.array([0]))
    grid = np.linspace(0, 1, 20001)[:, None]
    assert np.trapezoid(np.exp(mix.log_pdf(grid)), grid[:, 0]) == pytest.approx(1.0, abs=1e-3)
    cat = _mixture(np.array([[1.0], [2.0]]), np.array([4]))
    pts = np.arange(4, dtype=float)[:, None]
    assert np.exp(cat.log_pdf(pts)).sum() == pytest.approx(1.0)


def _source(rng: np.random.RandomState, optimum: float, sign: float = 1.0) -> SourceData:
    x = rng.rand(80, 2)
    y = sign * ((x[:, 0] - optimum) ** 2 + 0.1 * x[:, 1])
    return SourceData(x, y * 7.0 + 3.0)


def test_relatedness_keeps_agreeing_sources_and_fades_misleading_ones() -> None:
    rng = np.random.RandomState(0)
    tx = rng.rand(40, 2)
    truth = (tx[:, 0] - 0.32) ** 2
    cfg = WarmStartConfig()

    def agreeing(x: np.ndarray) -> np.ndarray:
        return 7.0 * (x[:, 0] - 0.3) ** 2 + 3.0  # another scale and offset: ranks agree

    def misleading(x: np.ndarray) -> np.ndarray:
        return -agreeing(x)

    priors = np.full(3, cfg.tau0)
    rel, taus = rel_.relatedness([agreeing, misleading, None], tx, truth, priors, cfg)
    assert taus[0] > 0.8 and taus[1] < -0.8 and taus[2] == 0.0
    assert rel.tolist() == [1.0, 0.0, 0.0]  # a source without a model counts for nothing
    # With no target data each source starts at its prior: tau0 and above mean full trust.
    rel0, _ = rel_.relatedness([agreeing] * 3, tx[:0], truth[:0], np.array([0.5, 0.15, 0.0]), cfg)
    assert rel0.tolist() == pytest.approx([1.0, 0.5, 0.0])
    # The prior is worth n0 = 5 target trials: 5 perfectly agreeing ones take a prior of 0
    # to a shrunk tau of 0.5 (full trust); 5 at random halve a prior of tau0.
    assert rel_.relatedness([agreeing], tx[:5], truth[:5], np.zeros(1), cfg)[0][0] == 1.0
    shuffled = rng.permutation(truth[:6])
    tau = rel_.kendall_tau(agreeing(tx[:6]), shuffled)
    half = rel_.relatedness([agreeing], tx[:6], shuffled, np.full(1, cfg.tau0), cfg)[0][0]
    assert half == pytest.approx(max(0.0, (5 * cfg.tau0 + 6 * tau) / 11 / cfg.tau0))


def test_agreement_priors_tell_a_related_family_from_an_unrelated_one() -> None:
    rng = np.random.RandomState(3)
    cfg = WarmStartConfig()

    def source(optimum: np.ndarray) -> tuple[SourceData, object]:
        x = rng.rand(60, 2)
        y = ((x - optimum) ** 2).sum(axis=1) * rng.uniform(0.1, 10.0)
        return SourceData(x, y), lambda at: ((at - optimum) ** 2).sum(axis=1)

    # Related: optima within 0.05 of each other; unrelated: anywhere in the box.
    related = [source(np.array([0.4, 0.6]) + rng.normal(0, 0.05, 2)) for _ in range(3)]
    unrelated = [source(o) for o in (np.array([0.1, 0.1]), [0.9, 0.2], [0.5, 0.95])]
    pr = rel_.agreement_priors([f for _, f in related], [s for s, _ in related], cfg)
    pu = rel_.agreement_priors([f for _, f in unrelated], [s for s, _ in unrelated], cfg)
    assert (pr > 0.5).all()
    assert (pu < 0.1).all()
    # No other source to compare with, or no model: the default prior tau0.
    one = rel_.agreement_priors([related[0][1]], [related[0][0]], cfg)
    none = rel_.agreement_priors([None, related[1][1]], [related[0][0], related[1][0]], cfg)
    assert one.tolist() == [cfg.tau0] and none[0] == cfg.tau0 and none[1] > cfg.tau0


def test_proposals_concentrate_where_the_sources_are_good() -> None:
    rng = np.random.RandomState(1)
    sources = [_source(rng, 0.7) for _ in range(3)]
    cfg = WarmStartConfig()
    masses = rel_.source_masses(np.ones(3), 0, cfg)
    lower, upper = parzen.build_density_ratio(
        sources, masses, np.empty((0, 2)), np.empty(0), np.array([0, 0]), np.full(2, 0.02), cfg
    )
    draws = np.random.default_rng(1)
    props = np.array([parzen.propose(lower, upper, draws, 24) for _ in range(50)])
    assert abs(np.median(props[:, 0]) - 0.7) < 0.1
    assert np.median(props[:, 1]) < 0.5


def test_source_mass_decays_with_target_trials() -> None:
    cfg = WarmStartConfig(source_weight=20.0, source_decay=30.0)
    m = [rel_.source_masses(np.ones(1), n, cfg)[0] for n in (0, 30, 300)]
    assert m[0] == 20.0 and m[1] == pytest.approx(10.0) and m[2] < 2.0


def test_new_bests_are_strict_improvements_in_trial_order() -> None:
    scores = np.array([np.inf, 3.0, 3.0, np.nan, 1.0, 2.0, 0.5])
    assert arms.new_bests(scores).tolist() == [False, True, False, False, True, False, True]
    assert arms.new_bests(np.empty(0)).tolist() == []


def test_credits_discount_old_trials_and_skip_trials_without_an_arm() -> None:
    s, c, no = arms.SURROGATE, arms.COLD, arms.NO_ARM
    wins, pulls = arms.credits(
        np.array([no, s, s, c]), np.array([True, True, False, True]), half_life=1.0
    )
    # Weights from the newest trial back: 1, 1/2, 1/4, 1/8 (the first has no arm; nothing
    # came from the TPE arm).
    np.testing.assert_allclose(pulls, [0.25 + 0.5, 1.0, 0.0])
    np.testing.assert_allclose(wins, [0.25, 1.0, 0.0])
    wins, pulls = arms.credits(np.empty(0, int), np.empty(0, bool), half_life=5.0)
    assert wins.tolist() == pulls.tolist() == [0.0, 0.0, 0.0]


def test_a_stalled_surrogate_loses_trials_to_the_cold_arm() -> None:
    def shares(wins: list[float], pulls: list[float], floor: float = 0.0) -> np.ndarray:
        rng = np.random.default_rng(0)
        w, p = np.array(wins), np.array(pulls)
        chosen = [arms.choose_arm(w, p, floor, rng) for _ in range(2000)]
        return np.bincount(chosen, minlength=arms.N_ARMS) / len(chosen)

    s, c, t = arms.SURROGATE, arms.COLD, arms.TPE
    # The surrogate improved often lately: it keeps most trials.
    assert shares([4.0, 0.0, 0.0], [6.0, 1.0, 1.0])[s] > 0.7
    # It stopped improving (many pulls, no win) while the others barely ran: they get most
    # trials ...
    assert shares([0.0, 0.0, 0.0], [15.0, 2.0, 2.0])[s] < 0.2
    # ... and the one that brings the new bests takes over.
    assert shares([0.0, 2.0, 0.0], [10.0, 5.0, 5.0])[c] > 0.8
    assert shares([0.0, 0.0, 2.0], [10.0, 5.0, 5.0])[t] > 0.8
    # The cold arm's floor holds even against a surrogate that always wins.
    share = shares([20.0, 0.0, 0.0], [20.0, 5.0, 5.0], floor=0.15)[c]
    assert share == pytest.approx(0.15, abs=0.03)
