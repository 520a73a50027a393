"""Search-space encoding shared by the samplers: Optuna distributions <-> unit-cube vectors.

Every numerical parameter maps to ``[0, 1]``:

- linear floats map affinely; ``log=True`` maps ``log(x)`` affinely;
- stepped floats and integers map the interval ``[low - step/2, high + step/2]`` (``log`` ints:
  ``[log(low - 1/2), log(high + 1/2)]``), so that every grid point owns an equal share of the
  unit interval, and decoding rounds to the nearest grid point (Optuna's own convention in
  ``optuna._transform``);

Categorical parameters are encoded as the index of the choice (``0.0, 1.0, ...``). Values a
distribution does not contain (a categorical choice that is not offered, a parameter missing
from a trial) encode to ``NaN``; numerical values outside the range encode outside ``[0, 1]``,
so callers decide whether to clip or drop them (dynamic ranges).

Decoding always returns Python scalars (``float``, ``int`` or the choice object itself) inside
the distribution, as Optuna's sampler contract requires.

Grids are described once, here: ``SearchSpaceEncoder.cell_widths`` gives each column's narrowest
grid cell in unit space and ``SearchSpaceEncoder.snap`` moves rows onto the grid, so samplers
that search the unit cube (the genetic algorithm's mutation steps, the warm-start sampler's
bandwidths and acquisition search) do not re-derive them.

Example:
    .. code-block:: python

        from optuna.distributions import FloatDistribution, CategoricalDistribution
        from optuna_recipes._encoding import SearchSpaceEncoder

        enc = SearchSpaceEncoder(
            {
                "lr": FloatDistribution(1e-5, 1e-1, log=True),
                "act": CategoricalDistribution(["relu", "tanh"]),
            }
        )
        row = enc.encode({"lr": 1e-3, "act": "tanh"})  # array([0.5, 1.0])
        enc.decode(row)  # {'lr': 0.001, 'act': 'tanh'}
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Mapping
import math
from typing import Any

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.trial import FrozenTrial

# Marks a parameter absent from a trial (``None`` may be a legitimate categorical choice).
MISSING: Any = object()


def _bounds(dist: FloatDistribution | IntDistribution) -> tuple[float, float, bool]:
    """Continuous interval (in the transformed scale) covered by a numerical distribution."""
    low, high = float(dist.low), float(dist.high)
    if isinstance(dist, IntDistribution):
        half = 0.5 * dist.step if not dist.log else 0.5
        low, high = low - half, high + half
    elif dist.step is not None:
        low, high = low - 0.5 * dist.step, high + 0.5 * dist.step
    if dist.log:
        return math.log(low), math.log(high), True
    return low, high, False


def cell_width(dist: BaseDistribution) -> float:
    """Width in unit space of the narrowest grid cell of a discrete numerical distribution
    (``1 / n`` for ``n`` evenly spaced values; the top cell of a log-scaled int), else 0."""
    if isinstance(dist, IntDistribution):
        if dist.log:
            hi, lo = math.log(dist.high + 0.5), math.log(dist.low - 0.5)
            return (hi - math.log(dist.high - 0.5)) / (hi - lo)
        return 1.0 / ((dist.high - dist.low) // dist.step + 1)
    if isinstance(dist, FloatDistribution) and dist.step is not None:
        return 1.0 / (round((dist.high - dist.low) / dist.step) + 1)
    return 0.0


def is_categorical(dist: BaseDistribution) -> bool:
    """Whether ``dist`` is categorical (encoded as a choice index)."""
    return isinstance(dist, CategoricalDistribution)


def to_unit(dist: BaseDistribution, value: Any) -> float:
    """Encode one parameter value; see the module docstring for the mapping."""
    return float(to_unit_array(dist, [value])[0])


def to_unit_array(dist: BaseDistribution, values: Iterable[Any]) -> np.ndarray:
    """Encode many values of one parameter (``MISSING`` gives ``NaN``)."""
    values = list(values)
    if isinstance(dist, CategoricalDistribution):
        out = np.full(len(values), np.nan)
        for i, v in enumerate(values):
            if v is MISSING:
                continue
            try:
                out[i] = dist.to_internal_repr(v)
            except ValueError:
                pass
        return out
    if not isinstance(dist, (FloatDistribution, IntDistribution)):
        raise TypeError(f"Unsupported distribution {dist!r}.")
    x = np.array([np.nan if v is MISSING else float(v) for v in values], dtype=float)
    low, high, log = _bounds(dist)
    if log:
        with np.errstate(divide="ignore", invalid="ignore"):
            x = np.log(x)
    return (x - low) / (high - low)


def from_unit(dist: BaseDistribution, u: float) -> Any:
    """Decode one unit value to a Python scalar inside ``dist`` (clipping and rounding)."""
    return from_unit_array(dist, np.asarray([u], dtype=float))[0]


def from_unit_array(dist: BaseDistribution, u: np.ndarray) -> list[Any]:
    """Decode unit values of one parameter; ``NaN`` is not allowed."""
    u = np.asarray(u, dtype=float)
    if isinstance(dist, CategoricalDistribution):
        idx = np.clip(np.floor(u + 0.5), 0, len(dist.choices) - 1).astype(int)
        return [dist.choices[i] for i in idx]
    if not isinstance(dist, (FloatDistribution, IntDistribution)):
        raise TypeError(f"Unsupported distribution {dist!r}.")
    low, high, log = _bounds(dist)
    x = low + np.clip(u, 0.0, 1.0) * (high - low)
    if log:
        x = np.exp(x)
    if isinstance(dist, IntDistribution):
        if dist.log:
            x = np.round(x)
        else:
            x = np.round((x - dist.low) / dist.step) * dist.step + dist.low
        x = np.clip(x, dist.low, dist.high)
        return [int(v) for v in x]
    if dist.step is not None:
        x = np.round((x - dist.low) / dist.step) * dist.step + dist.low
    x = np.clip(x, dist.low, dist.high)
    return [float(v) for v in x]


class SearchSpaceEncoder:
    """Encode parameter dictionaries of a fixed search space as rows of a float array.

    Columns follow the order of ``search_space``. Numerical columns live in ``[0, 1]``;
    categorical columns hold the choice index. ``NaN`` marks a missing or incompatible value.
    Per column: ``is_categorical``, ``n_choices`` (0 for numerical columns), ``is_log``
    (log-scaled numerical) and ``cell_widths`` (narrowest grid cell, 0 where there is no grid).

    Example:
        .. code-block:: python

            from optuna.distributions import IntDistribution
            from optuna_recipes._encoding import SearchSpaceEncoder

            enc = SearchSpaceEncoder({"depth": IntDistribution(1, 10)})
            X = enc.encode_trials(study.trials)  # shape (n_trials, 1)
    """

    def __init__(self, search_space: Mapping[str, BaseDistribution]) -> None:
        self.search_space: dict[str, BaseDistribution] = dict(search_space)
        self.names: list[str] = list(self.search_space)
        dists = list(self.search_space.values())
        self.is_categorical: np.ndarray = np.array([is_categorical(d) for d in dists], dtype=bool)
        self.n_choices: np.ndarray = np.array(
            [len(d.choices) if isinstance(d, CategoricalDistribution) else 0 for d in dists],
            dtype=int,
        )
        self.is_log: np.ndarray = np.array(
            [isinstance(d, (FloatDistribution, IntDistribution)) and d.log for d in dists],
            dtype=bool,
        )
        self.cell_widths: np.ndarray = np.array([cell_width(d) for d in dists], dtype=float)

    @property
    def dim(self) -> int:
        """Number of encoded columns."""
        return len(self.names)

    def encode(self, params: Mapping[str, Any]) -> np.ndarray:
        """Encode one parameter dict; parameters absent from ``params`` give ``NaN``."""
        return self.encode_many([params])[0]

    def encode_many(self, params_list: Iterable[Mapping[str, Any]]) -> np.ndarray:
        """Encode many parameter dicts into an array of shape ``(n, dim)``."""
        params_list = list(params_list)
        out = np.empty((len(params_list), self.dim))
        for j, (name, dist) in enumerate(self.search_space.items()):
            out[:, j] = to_unit_array(dist, (p.get(name, MISSING) for p in params_list))
        return out

    def encode_trials(
        self, trials: Iterable[FrozenTrial], *, out_of_range: str = "keep"
    ) -> np.ndarray:
        """Encode the params of trials; a parameter whose recorded distribution is
        incompatible with this space (e.g. another type) gives ``NaN``.

        ``out_of_range="nan"`` also blanks numerical values outside this space's range (e.g.
        trials of an earlier study with other bounds); the default ``"keep"`` leaves them
        outside ``[0, 1]``.
        """
        if out_of_range not in ("keep", "nan"):
            raise ValueError(f"`out_of_range` must be 'keep' or 'nan', got {out_of_range!r}.")
        trials = list(trials)
        out = np.empty((len(trials), self.dim))
        for j, (name, dist) in enumerate(self.search_space.items()):
            vals = []
            for t in trials:
                d = t.distributions.get(name)
                ok = d is not None and (is_categorical(d) == is_categorical(dist))
                vals.append(t.params[name] if ok else MISSING)
            out[:, j] = to_unit_array(dist, vals)
        if out_of_range == "nan":
            num = out[:, ~self.is_categorical]
            with np.errstate(invalid="ignore"):
                num[(num < 0.0) | (num > 1.0)] = np.nan
            out[:, ~self.is_categorical] = num
        return out

    def snap(self, rows: np.ndarray) -> np.ndarray:
        """Rows of shape ``(n, dim)`` moved onto the grid: discrete numerical columns to their
        nearest grid point, categorical columns to the nearest choice index (clipped);
        continuous columns are left as they are."""
        out = np.array(rows, dtype=float)
        for j, dist in enumerate(self.search_space.values()):
            if isinstance(dist, CategoricalDistribution):
                out[:, j] = np.clip(np.floor(out[:, j] + 0.5), 0, len(dist.choices) - 1)
            elif self.cell_widths[j] > 0.0:
                out[:, j] = to_unit_array(dist, from_unit_array(dist, out[:, j]))
        return out

    def grid_neighbors(self, row: np.ndarray) -> tuple[np.ndarray, np.ndarray]:
        """Unit-space distances from ``row`` to the grid points below and above its own.

        For each discrete numerical column: how far down and up ``row`` must move to land on
        the centre of the neighbouring grid point's cell (0 where there is none: at an edge).
        Continuous and categorical columns give 0. On log-scaled integers the cells differ in
        width, so a step of :attr:`cell_widths` (the narrowest cell) may not leave a wide one;
        these distances always do.
        """
        row = np.asarray(row, dtype=float)
        down, up = np.zeros(self.dim), np.zeros(self.dim)
        for j, dist in enumerate(self.search_space.values()):
            if self.cell_widths[j] <= 0.0 or np.isnan(row[j]):
                continue
            assert isinstance(dist, (FloatDistribution, IntDistribution))
            value = from_unit(dist, float(row[j]))
            step = 1 if dist.step is None else dist.step
            if value - step >= dist.low - 1e-9 * step:
                down[j] = row[j] - to_unit(dist, value - step)
            if value + step <= dist.high + 1e-9 * step:
                up[j] = to_unit(dist, value + step) - row[j]
        return down, up

    def decode(self, row: np.ndarray) -> dict[str, Any]:
        """Decode one row to a dict of Python scalars inside each distribution."""
        row = np.asarray(row, dtype=float)
        if row.shape != (self.dim,):
            raise ValueError(f"Expected a row of length {self.dim}, got shape {row.shape}.")
        if np.isnan(row).any():
            missing = [n for n, v in zip(self.names, row, strict=True) if np.isnan(v)]
            raise ValueError(f"Cannot decode NaN for parameters {missing}.")
        return {
            name: from_unit(dist, u)
            for (name, dist), u in zip(self.search_space.items(), row, strict=True)
        }
