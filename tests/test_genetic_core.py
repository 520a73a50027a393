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


def test_differential_crossover_moves_the_only_numerical_gene() -> None:
    # One numerical gene among nine categorical ones: the gene forced to cross over must be the
    # numerical one. Forcing a categorical gene (masked out afterwards) left a quarter of the
    # children with the target's numerical value; what remains is the rare difference pair
    # r1 = target, r2 = guide (the mutant is the target itself) when mutation skips the gene.
    spec = _spec(n_num=1, n_cat=(3,) * 9)
    rng = np.random.default_rng(3)
    pop = np.column_stack([rng.random(8), rng.integers(0, 3, (8, 9)).astype(float)])
    kept = 0
    for _ in range(1000):
        child, target = _core.make_offspring(rng, pop, spec)
        kept += bool(child[0] == pop[target, 0])
    assert kept <= 30


def test_population_of_one_still_moves_discrete_genes() -> None:
    # A single parent on a 4-cell integer gene: every child must leave the parent's cell.
    spec = _spec(n_num=0, cells=(0.25,))
    parent = np.array([[0.375]])  # cell 1
    rng = np.random.default_rng(0)
    for _ in range(50):
        child, _ = _core.make_offspring(rng, parent, spec)
        assert _core.grid_keys(child, spec)[0] != _core.grid_keys(parent, spec)[0]


def test_mutation_leaves_wide_log_scaled_integer_cells() -> None:
    # A log-scaled integer 1..32: the cell of 1 is much wider than the narrowest cell (32's),
    # so a step of `spec.cell` would never leave it. With the encoder's neighbour distances
    # every mutated child of a population agreeing on 1 or 2 moves to another integer.
    from optuna.distributions import IntDistribution

    from optuna_recipes._encoding import SearchSpaceEncoder

    enc = SearchSpaceEncoder({"leaf": IntDistribution(1, 32, log=True)})
    spec = _core.GeneSpec(
        is_categorical=enc.is_categorical, n_choices=enc.n_choices, cell=enc.cell_widths
    )
    rng = np.random.default_rng(0)
    for value in (1, 2, 32):
        parent = enc.encode({"leaf": value})[None, :]
        moved = set()
        for _ in range(30):
            child, _ = _core.make_offspring(rng, parent, spec, neighbors=enc.grid_neighbors)
            moved.add(enc.decode(child)["leaf"])
        assert value not in moved
        assert min(abs(v - value) for v in moved) == 1  # the neighbours are reached


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


def test_collapsed_population_is_one_point() -> None:
    spec = _core.GeneSpec(
        is_categorical=np.array([False, False, True]),
        n_choices=np.array([0, 0, 3]),
        cell=np.array([0.0, 0.25, 0.0]),
    )
    point = np.tile([0.3, 0.625, 2.0], (10, 1))
    assert _core.is_collapsed(point, spec)
    tiny = point + np.r_[np.linspace(-1, 1, 10) * 0.1 * _core.COLLAPSE_TOL][:, None] * [1, 0, 0]
    assert _core.is_collapsed(tiny, spec)
    spread = point.copy()
    spread[:, 0] += np.linspace(-1, 1, 10) * 10 * _core.COLLAPSE_TOL
    assert not _core.is_collapsed(spread, spec)
    one_cell_off = point.copy()
    one_cell_off[0, 1] = 0.375  # one elite in the neighbouring grid cell
    assert not _core.is_collapsed(one_cell_off, spec)
    other_choice = point.copy()
    other_choice[0, 2] = 1.0
    assert not _core.is_collapsed(other_choice, spec)
    assert not _core.is_collapsed(point[:1], spec)  # a single elite says nothing


def test_collapse_looks_at_the_best_quarter_of_the_elites() -> None:
    spec = _core.GeneSpec(
        is_categorical=np.array([False, False]),
        n_choices=np.array([0, 0]),
        cell=np.array([0.0, 0.25]),
    )
    elites = np.tile([0.3, 0.625], (20, 1))  # sorted best first
    elites[5:, 1] = 0.375  # the worse 15 elites sit one grid cell away
    elites[5:, 0] += np.linspace(0.0, 0.1, 15)
    assert _core.is_collapsed(elites, spec)  # the best 5 agree
    elites[4, 1] = 0.375  # one of the best quarter disagrees
    assert not _core.is_collapsed(elites, spec)
    assert _core.is_collapsed(elites, spec, share=0.1)  # best 3 rows agree
    elites[2, 1] = 0.375
    assert not _core.is_collapsed(elites, spec, share=0.01)  # never fewer than 3 rows


def test_categorical_genes_must_agree_among_all_elites() -> None:
    spec = _core.GeneSpec(
        is_categorical=np.array([False, True]),
        n_choices=np.array([0, 3]),
        cell=np.array([0.0, 0.0]),
    )
    elites = np.tile([0.3, 1.0], (20, 1))
    assert _core.is_collapsed(elites, spec)
    elites[19, 1] = 2.0  # the worst elite made another choice: its dependants still evolve
    assert not _core.is_collapsed(elites, spec)
    only_choices = elites[:, 1:]
    assert not _core.is_collapsed(
        only_choices, _core.GeneSpec(spec.is_categorical[1:], spec.n_choices[1:], spec.cell[1:])
    )


def test_collapse_streak_ends_the_epoch_despite_tiny_improvements() -> None:
    n = 40
    # Improves by a relative 1e-6 every trial: the patience rule (20) never fires ...
    fitness = 10.0 - 1e-5 * np.arange(n)
    numbers = np.arange(n)
    assert _core.scan_epochs(numbers, fitness, 20).restarts == 0
    # ... but trials bred from a collapsed population of epoch 0 end it after the streak.
    collapsed = np.where(numbers >= 5, 0, -1)
    state = _core.scan_epochs(numbers, fitness, 20, collapsed_epoch=collapsed)
    assert state.restarts == 1 and state.start == 5 + _core.COLLAPSE_STREAK
    # Epoch-0 flags of trials bred before the restart was seen do not count in epoch 1; its
    # own flags do.
    assert _core.scan_epochs(numbers, fitness, 1000, collapsed_epoch=collapsed).restarts == 1
    flags = np.where(numbers >= 20, 1, collapsed)
    state = _core.scan_epochs(numbers, fitness, 1000, collapsed_epoch=flags)
    assert state.restarts == 2 and state.start == 20 + _core.COLLAPSE_STREAK
    # A broken streak starts counting again.
    broken = collapsed.copy()
    broken[5 + _core.COLLAPSE_STREAK - 1] = -1
    state = _core.scan_epochs(numbers[:24], fitness[:24], 1000, collapsed_epoch=broken[:24])
    assert state.restarts == 0 and state.streak == 24 - (5 + _core.COLLAPSE_STREAK)


def test_epoch_scan_with_collapse_in_chunks_equals_one_scan() -> None:
    rng = np.random.default_rng(1)
    fitness = np.minimum.accumulate(rng.random(300)) + (rng.random(300) < 0.5)
    numbers = np.arange(300)
    collapsed = np.where(rng.random(300) < 0.8, 0, -1)
    whole = _core.scan_epochs(numbers, fitness, 10, collapsed_epoch=collapsed)
    state = None
    for lo in range(0, 300, 37):
        part = slice(lo, lo + 37)
        state = _core.scan_epochs(
            numbers[part], fitness[part], 10, state, collapsed_epoch=collapsed[part]
        )
    assert state == whole


def test_screen_offspring_picks_the_candidate_nearest_the_best_rows() -> None:
    spec = _spec(n_num=2, n_cat=(3,))
    rows = np.array([[0.1, 0.1, 0.0], [0.9, 0.9, 0.0], [0.1, 0.1, 2.0], [0.5, 0.5, 1.0]])
    scores = np.array([0.0, 1.0, 0.5, 0.75])  # lower is better: row 0 is the best
    bandwidth = np.full(2, 0.1)
    near_best = np.array([0.12, 0.1, 0.0])
    near_worst = np.array([0.88, 0.9, 0.0])
    pick = _core.screen_offspring(np.array([near_worst, near_best]), rows, scores, spec, bandwidth)
    assert pick == 1
    # Same numerical genes, another choice: the categorical mismatch moves it off row 0.
    other_choice = np.array([0.12, 0.1, 2.0])
    pick = _core.screen_offspring(
        np.array([other_choice, near_best]), rows, scores, spec, bandwidth
    )
    assert pick == 1
    # Identical candidates: the first wins.
    assert (
        _core.screen_offspring(np.array([near_best, near_best]), rows, scores, spec, bandwidth)
        == 0
    )
