"""Checks of the training data every adapter shares: labels, the task, groups and query sizes.

The objectives call these at construction, before any training, so that a data mistake is a
``ValueError`` naming the argument and the fix rather than a failed trial (see the README
section "Tuned XGBoost and LightGBM models in one call").

Example:
    .. code-block:: python

        import numpy as np
        from optuna_recipes.adapters._base.data import check_labels, infer_task

        y = check_labels([0, 1, 1, 0], n_rows=4)
        infer_task(y)  # "binary"
"""

from __future__ import annotations

import math
from typing import Any

import numpy as np

TASKS = ("binary", "multiclass", "regression", "ranking")
CLASSIFICATION = frozenset({"binary", "multiclass"})
#: Task inference takes integer (or text) labels with at most this many distinct values as
#: classes ...
MAX_INFERRED_CLASSES = 20
#: ... and integer labels with more distinct values than this as a regression target; in between
#: it asks for ``task`` (a 26-level score is as likely a target as 26 classes).
MIN_INFERRED_REGRESSION = 50


def to_python(value: Any) -> Any:
    """NumPy scalar -> Python scalar (JSON-serializable); anything else unchanged."""
    return value.item() if isinstance(value, np.generic) else value


def check_labels(y: Any, n_rows: int | None = None, name: str = "y") -> np.ndarray:
    """Return ``y`` as a 1-D array; refuse empty, NaN/inf or wrongly sized labels.

    Args:
        y: Labels (array-like, pandas Series, list).
        n_rows: Expected number of labels (rows of the feature matrix); ``None`` skips the check.
        name: Argument name used in error messages.
    """
    if y is None:
        raise ValueError(f"`{name}` is required: pass the labels (or data that carries them).")
    arr = np.asarray(y)
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1:
        raise ValueError(f"`{name}` must be 1-dimensional; got shape {arr.shape}.")
    if arr.size == 0:
        raise ValueError(f"`{name}` is empty; at least a few labelled rows are needed.")
    if n_rows is not None and arr.shape[0] != n_rows:
        raise ValueError(
            f"`{name}` has {arr.shape[0]} labels but the feature matrix has {n_rows} rows; "
            "they must have the same length."
        )
    _check_present(arr, name)
    return arr


def _check_present(arr: np.ndarray, name: str) -> None:
    if arr.dtype.kind in "fc":
        bad = ~np.isfinite(arr)
        if bad.any():
            where = np.flatnonzero(bad)[:5].tolist()
            raise ValueError(
                f"`{name}` contains {int(bad.sum())} NaN or infinite value(s) (first at rows "
                f"{where}); labels must be finite. Drop or impute those rows first."
            )
    elif arr.dtype.kind == "O":
        missing = np.array([v is None or (isinstance(v, float) and math.isnan(v)) for v in arr])
        if missing.any():
            raise ValueError(
                f"`{name}` contains {int(missing.sum())} missing value(s) (None/NaN); labels "
                "must be present for every row."
            )


def numeric_strings(y: np.ndarray) -> bool:
    """Whether ``y`` holds numbers written as text (``"3"``, ``"0.5"``), as read from a CSV."""
    if y.dtype.kind not in "USO" or y.size == 0:
        return False
    if y.dtype.kind == "O" and not all(isinstance(v, str) for v in y):
        return False
    try:
        y.astype(np.float64)
    except (TypeError, ValueError):
        return False
    return True


def _unique(y: np.ndarray, name: str = "y") -> np.ndarray:
    try:
        return np.unique(y)
    except TypeError as err:  # e.g. 1 and "1" in one object array
        kinds = sorted({type(v).__name__ for v in y})
        raise ValueError(
            f"`{name}` mixes label types {kinds}, which cannot be ordered; convert the labels "
            "to one type (e.g. `y.astype(str)`)."
        ) from err


def _ambiguous(n_unique: int) -> ValueError:
    return ValueError(
        f"`y` holds {n_unique} distinct integer values: {n_unique} classes or a regression "
        "target? Pass `task='multiclass'` or `task='regression'` (task inference picks "
        f"multiclass only up to {MAX_INFERRED_CLASSES} classes and regression only above "
        f"{MIN_INFERRED_REGRESSION} distinct values)."
    )


def infer_task(y: np.ndarray, task: str | None = None, group: Any = None) -> str:
    """Return the learning task: ``task`` validated, or inferred from ``y`` and ``group``.

    ``group`` given -> ``"ranking"``; float labels with non-integer values -> ``"regression"``;
    two distinct labels -> ``"binary"``; up to :data:`MAX_INFERRED_CLASSES` distinct
    integer/string labels -> ``"multiclass"``; more than :data:`MIN_INFERRED_REGRESSION`
    distinct integers -> ``"regression"``. Anything in between, and numbers written as text
    with more than two distinct values, raise ``ValueError`` asking for ``task``.
    """
    if task is not None:
        if task not in TASKS:
            raise ValueError(f"`task` must be one of {list(TASKS)}; got {task!r}.")
        if task == "ranking" and group is None:
            raise ValueError("`task='ranking'` needs `group` (query sizes, as in lgb/xgb).")
        return task
    if group is not None:
        return "ranking"
    if y.dtype.kind == "b":
        return "binary"
    if y.dtype.kind == "f" and not np.all(np.mod(y, 1) == 0):
        return "regression"
    n_unique = len(_unique(y))
    if n_unique < 2:
        raise ValueError(
            f"`y` has a single distinct value ({y[0]!r}); nothing to learn. Pass labels with at "
            "least two classes, or a regression target."
        )
    if n_unique == 2:
        return "binary"
    if numeric_strings(y):
        raise ValueError(
            f"`y` holds numbers written as text ({_unique(y)[:5].tolist()}, ...; dtype "
            f"{y.dtype}). Convert it: `y.astype(float)` for a regression target, "
            "`y.astype(int)` for class labels; or pass `task='multiclass'` to use the strings "
            "as class names."
        )
    if y.dtype.kind in "fiu":
        if n_unique > MIN_INFERRED_REGRESSION:
            return "regression"
        if n_unique > MAX_INFERRED_CLASSES:
            raise _ambiguous(n_unique)
    return "multiclass"


def encode_classes(y: np.ndarray, task: str) -> tuple[np.ndarray, list[Any] | None]:
    """Classification labels -> codes ``0..K-1`` (float) and sorted classes; else float ``y``
    (numbers written as text are parsed)."""
    if task in CLASSIFICATION:
        classes = _unique(y)
        codes = np.searchsorted(classes, y)
        if task == "binary" and len(classes) != 2:
            raise ValueError(
                f"`task='binary'` needs exactly 2 distinct labels; `y` has {len(classes)}: "
                f"{classes[:10].tolist()}."
            )
        return codes.astype(np.float64), [to_python(c) for c in classes]
    if numeric_strings(y):
        return y.astype(np.float64), None
    if y.dtype.kind not in "fiub":
        raise ValueError(f"`task={task!r}` needs numeric labels; got dtype {y.dtype}.")
    return y.astype(np.float64), None


def encode_like(y: np.ndarray, classes: list[Any] | None, task: str) -> np.ndarray:
    """Encode validation labels with the training classes (``classes``, from
    :func:`encode_classes`); labels the training data does not have are refused."""
    if classes is None:
        return encode_classes(y, task)[0]
    index = {c: i for i, c in enumerate(classes)}
    unknown = sorted({to_python(v) for v in y} - set(index), key=repr)
    if unknown:
        raise ValueError(
            f"`validation_data` has labels {unknown[:10]} that `y` does not have "
            f"(classes: {classes[:20]})."
        )
    return np.array([index[to_python(v)] for v in y], dtype=np.float64)


def check_groups(groups: Any, n_rows: int) -> np.ndarray | None:
    """Per-row group labels of grouped cross-validation, one per row (or ``None``)."""
    if groups is None:
        return None
    arr = np.asarray(groups)
    if len(arr) != n_rows:
        raise ValueError(f"`groups` has {len(arr)} entries but the data has {n_rows} rows.")
    return arr


def check_query_sizes(group: Any, n_rows: int) -> np.ndarray | None:
    """Ranking query sizes (``group``), which must add up to the number of rows (or ``None``)."""
    if group is None:
        return None
    sizes = np.asarray(group, dtype=np.int64)
    if int(sizes.sum()) != n_rows:
        raise ValueError(
            f"`group` (query sizes) sums to {int(sizes.sum())} but the data has "
            f"{n_rows} rows; the sizes of all queries must add up to the number of rows."
        )
    return sizes


def check_sample_weight(
    weight: Any, n_rows: int, name: str = "sample_weight"
) -> np.ndarray | None:
    """Per-row weights as a float array (or ``None``): finite, non-negative, not all zero, one
    per row."""
    if weight is None:
        return None
    try:
        arr = np.asarray(weight, dtype=np.float64)
    except (TypeError, ValueError) as err:
        raise ValueError(f"`{name}` must hold numbers (one weight per row): {err}") from err
    if arr.ndim == 2 and arr.shape[1] == 1:
        arr = arr.ravel()
    if arr.ndim != 1 or len(arr) != n_rows:
        raise ValueError(
            f"`{name}` must have one weight per row ({n_rows}); got shape {arr.shape}."
        )
    if not np.all(np.isfinite(arr)) or np.any(arr < 0) or not np.any(arr > 0):
        raise ValueError(
            f"`{name}` must be finite and >= 0 with at least one positive weight; got min "
            f"{np.nanmin(arr) if np.any(np.isfinite(arr)) else arr[0]}, sum {arr.sum()}."
        )
    return arr
