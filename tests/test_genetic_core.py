"""The genetic algorithm's numpy core, without Optuna."""

from __future__ import annotations

import numpy as np
import pytest

from optuna_recipes.samplers._genetic import _core


def _spec(
    n_num: int = 2, cells: tuple[float, ...] = (), n_cat: tuple[int, ...] = ()
) -> _core.GeneSpec:
    d = n_num + len(cells) + len(n_cat)
    is_cat = np.array([False] * (n_num + len(cells)) + [True] * len(n_cat))
    n_choices = np.array([0] * (n_num + len(cells)) + list(n_cat))
    cell = np.array([0.0] * n_num + list(cells) + [0.0] * len(n_cat))
    assert is_cat.shape == (d,)
    return _core.GeneSpec(is_categorical=is_cat, n_choices=n_choices, cell=cell)


def test_rank_weights_prefer_the_best() -> None:
    w = _core.rank_weights(10)
    assert w.sum() == pytest.approx(1.0)
    assert np.all(np.diff(w) < 0) and w[-1] > 0


def test_offspring_stays_in_the_encoded_space() -> None:
    spec = _spec(n_num=3, cells=(0.25,), n_cat=(3, 2))
    rng = np.random.default_rng(0)
    pop = np.column_stack(
        [rng.random((8, 4)), rng.integers(0, 3, 8).astype(float), rng.integers(0, 2, 8)]
    )
    for _ in range(200):
        child, target = _core.make_offspring(rng, pop, spec, step_factor=4.0)
        assert 0 <= target < 8
        assert np.all((child[:4] >= 0.0) & (child[:4] <= 1.0))
        assert child[4] in (0.0, 1.0, 2.0) and child[5] in (0.0, 1.0)


def test_offspring_is_deterministic_given_the_rng() -> None:
    spec = _spec(n_num=4)
    pop = np.random.default_rng(1).random((10, 4))
    a = _core.make_offspring(np.random.default_rng(5), pop, spec)
    b = _core.make_offspring(np.random.default_rng(5), pop, spec)
    np.testing.assert_array_equal(a[0], b[0])
    assert a[1] == b[1]


def test_population_of_one_still_moves_discrete_genes() -> None:
    # A single parent on a 4-cell integer gene: every child must leave the parent's cell.
    spec = _spec(n_num=0, cells=(0.25,))
    parent = np.array([[0.375]])  # cell 1
    rng = np.random.default_rng(0)
    for _ in range(50):
        child, _ = _core.make_offspring(rng, parent, spec)
        assert _core.grid_keys(child, spec)[0] != _core.grid_keys(parent, spec)[0]


def test_duplicates_are_avoided_when_possible() -> None:
    # Two binary genes: 4 individuals exist, 3 are known, the child must be the 4th.
    spec = _spec(n_num=0, cells=(0.5, 0.5))
    pop = np.array([[0.25, 0.25], [0.75, 0.25], [0.25, 0.75]])
    known = set(_core.grid_keys(pop, spec))
    rng = np.random.default_rng(3)
    for _ in range(20):
        child, _ = _core.make_offspring(
            rng, pop, spec, is_known=lambda r: _core.grid_keys(r, spec)[0] in known
        )
        assert _core.grid_keys(child, spec)[0] == _core.grid_keys(np.array([0.75, 0.75]), spec)[0]


def test_success_rule_factor() -> None:
    assert _core.success_step_factor(np.array([], dtype=bool)) == 1.0
    assert _core.success_step_factor(np.array([True] + [False] * 4)) == pytest.approx(1.0)
    assert _core.success_step_factor(np.zeros(10, dtype=bool)) < 0.5
    assert _core.success_step_factor(np.ones(10, dtype=bool)) > 2.0


def test_epochs_restart_after_patience_and_patience_doubles() -> None:
    fitness = np.array([5.0, 4.0] + [4.0] * 3 + [9.0] * 7 + [8.0])
    start, restarts = _core.current_epoch(fitness, patience=3)
    # Stall of 3 after index 1 -> epoch 2 starts at index 5 with patience 6 -> stall of 6
    # after index 5 -> epoch 3 starts at index 12.
    assert (start, restarts) == (12, 2)
    assert _core.current_epoch(fitness[:11], patience=3) == (5, 1)
    assert _core.current_epoch(np.arange(10.0)[::-1], patience=3) == (0, 0)


def test_epoch_scan_in_chunks_equals_one_scan() -> None:
    rng = np.random.default_rng(0)
    fitness = np.minimum.accumulate(rng.random(300)) + (rng.random(300) < 0.5)
    numbers = np.arange(300)
    whole = _core.scan_epochs(numbers, fitness, 10)
    state = None
    for lo in range(0, 300, 37):
        state = _core.scan_epochs(numbers[lo : lo + 37], fitness[lo : lo + 37], 10, state)
    assert state == whole and whole.restarts > 0


def test_latin_hypercube_covers_every_stratum_once() -> None:
    n = 12
    u = np.array([_core.lhs_unit(7, "x", i, n) for i in range(n)])
    assert sorted(np.floor(u * n).astype(int).tolist()) == list(range(n))
    assert _core.lhs_unit(7, "x", 3, n) == _core.lhs_unit(7, "x", 3, n)
    assert _core.lhs_unit(7, "y", 3, n) != _core.lhs_unit(7, "x", 3, n)


def _steady_state(seed: int, n_evals: int, use_ga: bool) -> float:
    """Minimize a shifted 6-D ellipsoid on the unit cube; return the best value."""
    rng = np.random.default_rng(seed)
    spec = _spec(n_num=6)
    scale = 10.0 ** np.linspace(0, 2, 6)

    def f(x: np.ndarray) -> float:
        return float(np.sum(scale * (x - 0.3) ** 2))

    xs = list(rng.random((10, 6)))
    fs = [f(x) for x in xs]
    successes: list[bool] = []
    while len(xs) < n_evals:
        if use_ga:
            order = np.argsort(fs)[:12]
            step = _core.success_step_factor(np.array(successes[-20:], dtype=bool))
            child, target = _core.make_offspring(rng, np.array(xs)[order], spec, step_factor=step)
            successes.append(f(child) < fs[order[target]])
        else:
            child = rng.random(6)
        xs.append(child)
        fs.append(f(child))
    return min(fs)


def test_core_beats_random_search() -> None:
    ga = [_steady_state(s, 300, True) for s in range(3)]
    rand = [_steady_state(s, 300, False) for s in range(3)]
    assert max(ga) < 0.01 * min(rand), (ga, rand)
