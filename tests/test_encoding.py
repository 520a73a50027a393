"""The shared search-space encoding."""

from __future__ import annotations

import math

import numpy as np
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
import pytest

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes._encoding import from_unit
from optuna_recipes._encoding import from_unit_array
from optuna_recipes._encoding import to_unit

DISTRIBUTIONS = [
    FloatDistribution(-1.0, 1.0),
    FloatDistribution(1e-7, 10.0, log=True),
    FloatDistribution(-10.2, 10.2, step=0.1),
    FloatDistribution(0.0, 1.0, step=0.25),
    IntDistribution(-10, 10),
    IntDistribution(0, 10, step=2),
    IntDistribution(1, 100, log=True),
    IntDistribution(3, 3),
    CategoricalDistribution(["a", None, 1, 2.5, float("nan")]),
]


@pytest.mark.parametrize("dist", DISTRIBUTIONS)
def test_decode_gives_python_scalars_inside_the_distribution(dist: object) -> None:
    u = np.linspace(-0.2, 1.2, 301)
    for value in from_unit_array(dist, u):  # type: ignore[arg-type]
        assert not isinstance(value, (np.floating, np.integer))
        assert dist._contains(dist.to_internal_repr(value))  # type: ignore[attr-defined]


@pytest.mark.parametrize("dist", DISTRIBUTIONS[:-1])
def test_round_trip_numerical(dist: FloatDistribution | IntDistribution) -> None:
    for value in from_unit_array(dist, np.linspace(0, 1, 57)):
        u = to_unit(dist, value)
        assert -1e-9 <= u <= 1 + 1e-9
        assert from_unit(dist, u) == pytest.approx(value)


def test_grid_points_own_equal_shares() -> None:
    dist = IntDistribution(0, 3)
    counts = np.bincount(from_unit_array(dist, (np.arange(4000) + 0.5) / 4000))
    assert counts.tolist() == [1000, 1000, 1000, 1000]


def test_log_scale_is_uniform_in_log() -> None:
    dist = FloatDistribution(1e-4, 1.0, log=True)
    assert from_unit(dist, 0.5) == pytest.approx(1e-2)
    assert to_unit(dist, 1e-3) == pytest.approx(0.25)


def test_categorical_choices_and_unknowns() -> None:
    dist = CategoricalDistribution(["a", None, 1])
    assert to_unit(dist, None) == 1.0
    assert math.isnan(to_unit(dist, "zzz"))
    assert from_unit(dist, 0.49) == "a"
    assert from_unit(dist, 1.6) == 1


def test_encoder_rows_and_missing_values() -> None:
    space = {
        "lr": FloatDistribution(1e-5, 1e-1, log=True),
        "act": CategoricalDistribution(["relu", "tanh"]),
        "depth": IntDistribution(1, 10),
    }
    enc = SearchSpaceEncoder(space)
    assert enc.dim == 3
    assert enc.is_categorical.tolist() == [False, True, False]
    assert enc.n_choices.tolist() == [0, 2, 0]
    row = enc.encode({"lr": 1e-3, "act": "tanh"})
    assert row[:2] == pytest.approx([0.5, 1.0])
    assert math.isnan(row[2])
    with pytest.raises(ValueError, match="depth"):
        enc.decode(row)
    row[2] = 0.0
    assert enc.decode(row) == {"lr": pytest.approx(1e-3), "act": "tanh", "depth": 1}


def test_encode_trials_drops_incompatible_types() -> None:
    import optuna

    study = optuna.create_study()
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": "big"},
            distributions={"x": CategoricalDistribution(["big", "small"])},
            value=1.0,
        )
    )
    study.add_trial(
        optuna.trial.create_trial(
            params={"x": 20.0}, distributions={"x": FloatDistribution(0, 100)}, value=2.0
        )
    )
    X = SearchSpaceEncoder({"x": FloatDistribution(0, 10)}).encode_trials(study.trials)
    assert math.isnan(X[0, 0])
    assert X[1, 0] == pytest.approx(2.0)  # outside the current range: left to the caller


def test_encode_trials_can_blank_values_outside_the_range() -> None:
    import optuna

    wide = optuna.trial.create_trial(
        params={"x": 50.0, "c": "b"},
        distributions={
            "x": FloatDistribution(-100, 100),
            "c": CategoricalDistribution(["a", "b"]),
        },
        value=0.0,
    )
    enc = SearchSpaceEncoder(
        {"x": FloatDistribution(0, 10), "c": CategoricalDistribution(["a", "b"])}
    )
    assert enc.encode_trials([wide])[0, 0] == pytest.approx(5.0)
    blanked = enc.encode_trials([wide], out_of_range="nan")[0]
    assert math.isnan(blanked[0]) and blanked[1] == 1.0
    with pytest.raises(ValueError, match="`out_of_range` must be"):
        enc.encode_trials([wide], out_of_range="clip")


GRID_SPACE = {
    "f": FloatDistribution(0.0, 1.0),
    "lf": FloatDistribution(1e-3, 1.0, log=True),
    "s": FloatDistribution(0.0, 1.0, step=0.25),
    "i": IntDistribution(0, 10, step=2),
    "li": IntDistribution(1, 100, log=True),
    "c": CategoricalDistribution(["a", "b", "c"]),
}


def test_cell_widths_describe_each_grid() -> None:
    enc = SearchSpaceEncoder(GRID_SPACE)
    top_log_cell = (math.log(100.5) - math.log(99.5)) / (math.log(100.5) - math.log(0.5))
    assert enc.cell_widths.tolist() == pytest.approx([0.0, 0.0, 0.2, 1 / 6, top_log_cell, 0.0])
    assert enc.is_log.tolist() == [False, True, False, False, True, False]
    # Every grid point of an evenly spaced grid owns exactly one cell width.
    dist = GRID_SPACE["i"]
    units = [to_unit(dist, v) for v in range(0, 11, 2)]
    assert np.diff(units) == pytest.approx(np.full(5, enc.cell_widths[3]))


def test_snap_moves_rows_onto_the_grid_and_keeps_continuous_columns() -> None:
    enc = SearchSpaceEncoder(GRID_SPACE)
    rng = np.random.RandomState(0)
    rows = rng.uniform(-0.2, 1.2, size=(200, 6))
    rows[:, 5] = rng.uniform(-1.5, 3.5, size=200)
    snapped = enc.snap(rows)
    assert snapped is not rows and np.array_equal(snapped[:, :2], rows[:, :2])
    assert set(np.unique(snapped[:, 5])) == {0.0, 1.0, 2.0}
    np.testing.assert_array_equal(enc.snap(snapped), snapped)  # idempotent
    for row, snapped_row in zip(rows, snapped, strict=True):
        # Grid columns decode to the value the raw row decodes to, and re-encode exactly.
        decoded = enc.decode(snapped_row)
        assert decoded == enc.decode(row)
        assert enc.encode(decoded)[2:5] == pytest.approx(snapped_row[2:5], abs=1e-12)


def test_grid_neighbors_reach_the_next_grid_point_each_way() -> None:
    enc = SearchSpaceEncoder(GRID_SPACE)
    rng = np.random.RandomState(1)
    rows = enc.snap(rng.uniform(0.0, 1.0, size=(100, 6)))
    rows[:, 5] = rng.randint(0, 3, size=100)
    dists = list(GRID_SPACE.values())
    for row in rows:
        down, up = enc.grid_neighbors(row)
        assert down[[0, 1, 5]].tolist() == [0.0, 0.0, 0.0]
        assert up[[0, 1, 5]].tolist() == [0.0, 0.0, 0.0]
        values = enc.decode(row)
        for j, name in enumerate(GRID_SPACE):
            if enc.cell_widths[j] == 0.0:
                continue
            step = dists[j].step or 1
            for move, delta in ((-1, down[j]), (1, up[j])):
                expected = values[name] + move * step
                if dists[j].low <= expected <= dists[j].high:
                    moved = row.copy()
                    moved[j] += move * delta
                    assert enc.decode(moved)[name] == pytest.approx(expected)
                else:
                    assert delta == 0.0  # an edge: no grid point that way
