"""Checks of the feature matrix every adapter shares: column types and non-finite values.

Run at construction, before any training, so that data a library cannot train on is a
``ValueError`` naming the columns and the fix, not a failed trial (or a C++ stack trace) in
every trial of the study. Pandas frames, numpy arrays and scipy sparse matrices are checked;
library data objects (``xgboost.DMatrix``, ``lightgbm.Dataset``, a torch ``Dataset``) are the
library's own business and pass unchecked.

Example:
    .. code-block:: python

        import numpy as np
        from optuna_recipes.adapters._base.features import check_features

        check_features(np.array([[1.0, np.nan], [2.0, 3.0]]))  # NaN is a missing value: fine
        check_features(np.array([[1.0, np.inf]]))  # ValueError naming column 1
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
from typing import Any

import numpy as np

# How a message lists columns: the first few, then how many more.
_SHOWN = 10


def _listing(columns: Sequence[Any]) -> str:
    shown = [c.item() if isinstance(c, np.generic) else c for c in columns[:_SHOWN]]
    more = f" and {len(columns) - _SHOWN} more" if len(columns) > _SHOWN else ""
    return f"{shown}{more}"


def _is_frame(X: Any) -> bool:
    return hasattr(X, "dtypes") and hasattr(X, "columns") and hasattr(X, "iloc")


def _frame_numeric(X: Any, name: str) -> tuple[np.ndarray, list[Any]]:
    """The numeric columns of a frame as a float array, and their names; non-numeric columns
    that are not ``category`` raise ``ValueError`` naming them and the fix."""
    import pandas as pd

    numeric, bad = [], []
    for column, dtype in zip(X.columns, X.dtypes, strict=True):
        if isinstance(dtype, pd.CategoricalDtype):
            continue
        if pd.api.types.is_bool_dtype(dtype) or pd.api.types.is_numeric_dtype(dtype):
            numeric.append(column)
        else:
            bad.append((column, str(dtype)))
    if bad:
        names = [c for c, _ in bad]
        raise ValueError(
            f"`{name}` has columns that are neither numbers nor `category`: {_listing(bad)} "
            "(column, dtype). Make text columns categorical, e.g. "
            f"`{name}[cols] = {name}[cols].astype('category')` with cols = {_listing(names)} "
            "(native categorical support), or encode them (e.g. "
            "sklearn.preprocessing.OrdinalEncoder); turn dates into numbers."
        )
    if not numeric:
        return np.empty((len(X), 0)), []
    values = X[numeric].to_numpy(dtype=np.float64, na_value=np.nan)
    return values, numeric


def _array_values(X: Any, name: str) -> tuple[np.ndarray, np.ndarray | None]:
    """``(values, None)`` of an array; ``(stored values, their columns)`` of a sparse matrix."""
    if hasattr(X, "tocoo"):  # scipy sparse: only the stored values can be non-finite
        coo = X.tocoo()
        if coo.data.dtype.kind not in "biuf":
            raise ValueError(
                f"`{name}` is a sparse matrix of dtype {coo.data.dtype}; use numbers."
            )
        return coo.data, coo.col
    arr = np.asarray(X)
    if arr.dtype.kind not in "biuf":
        raise ValueError(
            f"`{name}` is an array of dtype {arr.dtype}; the model needs numbers. Encode text "
            "columns (e.g. sklearn.preprocessing.OrdinalEncoder), or pass a pandas DataFrame "
            "whose text columns are `category`."
        )
    return arr, None


def check_features(X: Any, *, name: str = "X", allow_nan: bool = True, library: str = "") -> None:
    """Refuse features a model cannot train on, naming the columns and the fix.

    Args:
        X: A pandas DataFrame, numpy array or scipy sparse matrix (anything else passes).
        name: The argument name, for messages.
        allow_nan: Whether NaN is a missing value the library handles (gradient boosting) or an
            error (neural networks). Infinite values are always refused: no library splits on
            them.
        library: The library, for messages.

    Raises:
        ValueError: text or other non-numeric columns (pandas ``category`` is fine), an array
            of strings or objects, infinite values, or NaN when ``allow_nan`` is false.
    """
    columns: list[Any] | None = None
    value_columns = None
    if _is_frame(X):
        values, columns = _frame_numeric(X, name)
    elif hasattr(X, "tocoo") or isinstance(X, (np.ndarray, list, tuple)):
        values, value_columns = _array_values(X, name)
    else:
        return
    if values.dtype.kind != "f":
        return
    bad_columns = lambda mask: _bad_columns(mask, columns, value_columns)  # noqa: E731
    check_finite(values, bad_columns, name, allow_nan, library or "the model")


def _bad_columns(
    mask: np.ndarray, columns: list[Any] | None, value_columns: np.ndarray | None
) -> list[Any]:
    """Columns where ``mask`` holds: names of a frame, indices of an array, or the columns of
    the masked stored values of a sparse matrix (``value_columns``)."""
    if value_columns is not None:
        return np.unique(value_columns[mask]).tolist()
    per_column = mask.reshape(mask.shape[0], -1).any(axis=0) if mask.ndim > 1 else mask
    index = np.flatnonzero(per_column).tolist()
    return index if columns is None else [columns[i] for i in index]


def check_finite(
    values: Any,
    bad_columns: Callable[[Any], list[Any]],
    name: str,
    allow_nan: bool,
    library: str,
) -> None:
    """Refuse infinite values (and NaN unless ``allow_nan``) in ``values``, a numpy array or a
    torch tensor; ``bad_columns(mask)`` names the columns where a mask of ``values`` holds."""
    inf = values.isinf() if hasattr(values, "isinf") else np.isinf(values)
    if inf.any():
        where = _listing(bad_columns(inf))
        raise ValueError(
            f"`{name}` has {int(inf.sum())} infinite value(s) in columns {where}; {library} "
            "cannot train on them (NaN is read as missing, inf is not). Replace them, e.g. "
            f"`{name}.replace([np.inf, -np.inf], np.nan)` (pandas) or "
            f"`np.where(np.isinf({name}), np.nan, {name})`."
        )
    if allow_nan:
        return
    nan = values.isnan() if hasattr(values, "isnan") else np.isnan(values)
    if nan.any():
        where = _listing(bad_columns(nan))
        raise ValueError(
            f"`{name}` has {int(nan.sum())} NaN value(s) in columns {where}; {library} cannot "
            "train on missing values. Impute them (e.g. sklearn.impute.SimpleImputer) or drop "
            "those rows first."
        )
