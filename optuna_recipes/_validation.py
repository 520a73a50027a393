"""Argument checks with one message style: "`name` must be <what>; got <value>."

Constructors validate eagerly at the boundary (as Optuna's samplers and scikit-learn's
``check_*`` helpers do); deep code can then trust its inputs.

Example:
    .. code-block:: python

        from optuna_recipes._validation import check_int

        check_int("population_size", 50, minimum=2)  # returns 50
        check_int("population_size", 1, minimum=2)  # ValueError: ... must be an int >= 2; got 1.
"""

from __future__ import annotations

from collections.abc import Iterable
import math
import numbers
from typing import Any
from typing import TypeVar

T = TypeVar("T")


def _fail(name: str, what: str, value: Any) -> ValueError:
    return ValueError(f"`{name}` must be {what}; got {value!r}.")


def _bounds(minimum: float | None, maximum: float | None, exclusive_min: bool) -> str:
    parts = []
    if minimum is not None:
        parts.append(f"{'>' if exclusive_min else '>='} {minimum}")
    if maximum is not None:
        parts.append(f"<= {maximum}")
    return " and ".join(parts)


def check_int(
    name: str,
    value: Any,
    *,
    minimum: int | None = None,
    maximum: int | None = None,
    allow_none: bool = False,
) -> Any:
    """Return ``value`` as an ``int`` if it is an integer (not a bool) within the bounds.

    ``None`` passes through when ``allow_none``; the message then says so.
    """
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Integral) and not isinstance(value, bool)
    if ok and (minimum is None or value >= minimum) and (maximum is None or value <= maximum):
        return int(value)
    bounds = _bounds(minimum, maximum, exclusive_min=False)
    what = "an int" + (f" {bounds}" if bounds else "") + (" or None" if allow_none else "")
    raise _fail(name, what, value)


def check_float(
    name: str,
    value: Any,
    *,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_min: bool = False,
    allow_none: bool = False,
) -> Any:
    """Return ``value`` as a finite ``float`` within the bounds (ints are accepted)."""
    if value is None and allow_none:
        return None
    ok = isinstance(value, numbers.Real) and not isinstance(value, bool)
    if ok and math.isfinite(value):
        low_ok = minimum is None or (value > minimum if exclusive_min else value >= minimum)
        if low_ok and (maximum is None or value <= maximum):
            return float(value)
    bounds = _bounds(minimum, maximum, exclusive_min)
    what = "a number" + (f" {bounds}" if bounds else "") + (" or None" if allow_none else "")
    raise _fail(name, what, value)


def check_choice(name: str, value: T, choices: Iterable[Any]) -> T:
    """Return ``value`` if it is one of ``choices``."""
    options = list(choices)
    if value in options:
        return value
    raise _fail(name, "one of " + ", ".join(repr(c) for c in options), value)


def check_seed(name: str, value: Any) -> Any:
    """A random seed: a non-negative int or ``None``."""
    return check_int(name, value, minimum=0, allow_none=True)
