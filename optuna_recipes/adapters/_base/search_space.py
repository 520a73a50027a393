"""Search spaces: the ``space`` argument applied to a default space, and sampling through a trial.

The default spaces themselves are data in :mod:`optuna_recipes.adapters.spaces`.

Example:
    .. code-block:: python

        from optuna.distributions import FloatDistribution
        from optuna_recipes.adapters._base.search_space import merge_space

        default = {"lr": FloatDistribution(1e-3, 1.0, log=True), "l2": FloatDistribution(0, 1)}
        merge_space(default, {"l2": None}, known=None, library="mylib")  # {"lr": ...}
"""

from __future__ import annotations

from collections.abc import Collection
from collections.abc import Mapping
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution


def merge_space(
    default: Mapping[str, BaseDistribution],
    override: Mapping[str, BaseDistribution | None] | None,
    *,
    known: Collection[str] | None,
    library: str,
    fixed_params: Mapping[str, Any] | None = None,
) -> dict[str, BaseDistribution]:
    """Apply ``space`` to a default space; parameters fixed in ``fixed_params`` are not searched.

    ``override[name]`` is an Optuna distribution (replace or add ``name``) or ``None`` (remove
    it). A name that is neither in the default space nor a parameter the library knows
    (``known``) raises ``ValueError``, as does removing a name the space does not have.
    """
    space = dict(default)
    for name, dist in (override or {}).items():
        if dist is None:
            if name not in space:
                raise ValueError(
                    f"`space[{name!r}] = None` removes a parameter, but {name!r} is not in the "
                    f"default search space; its parameters are {sorted(space)}."
                )
            del space[name]
        elif isinstance(dist, BaseDistribution):
            if name not in space and known is not None and name not in known:
                raise ValueError(
                    f"`space` names {name!r}, which is not a {library} parameter. Use a "
                    f"{library} parameter name (the default space has {sorted(default)})."
                )
            space[name] = dist
        else:
            raise ValueError(
                f"`space[{name!r}]` must be an Optuna distribution (FloatDistribution, "
                f"IntDistribution, CategoricalDistribution) or None to remove it; got "
                f"{dist!r}. To fix a value, pass it in `fixed_params`."
            )
    for name in fixed_params or {}:
        space.pop(name, None)
    return space


def suggest_params(trial: optuna.Trial, space: Mapping[str, BaseDistribution]) -> dict[str, Any]:
    """Sample every parameter of ``space`` through the trial's public ``suggest_*`` API."""
    params: dict[str, Any] = {}
    for name, dist in space.items():
        if isinstance(dist, FloatDistribution):
            params[name] = trial.suggest_float(
                name, dist.low, dist.high, log=dist.log, step=dist.step
            )
        elif isinstance(dist, IntDistribution):
            params[name] = trial.suggest_int(
                name, dist.low, dist.high, log=dist.log, step=dist.step
            )
        elif isinstance(dist, CategoricalDistribution):
            params[name] = trial.suggest_categorical(name, dist.choices)
        else:
            raise ValueError(f"Unsupported distribution for {name!r}: {dist!r}.")
    return params
