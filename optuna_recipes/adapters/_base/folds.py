"""Validation folds: the ``cv`` argument of every objective turned into row-index splits.

``cv`` is an int (k-fold: stratified for classification, grouped with ``groups``), a holdout
fraction in ``(0, 1)``, any scikit-learn splitter or an iterable of ``(train, valid)`` index
pairs; an explicit validation set replaces it. Empty and single-class folds are refused before
any training (:func:`check_folds`).

Example:
    .. code-block:: python

        import numpy as np
        from optuna_recipes.adapters._base.folds import make_folds

        y = np.array([0, 1] * 10)
        folds = make_folds(cv=5, y=y, task="binary", n_rows=len(y), seed=0)
        len(folds)  # 5 stratified folds
"""

from __future__ import annotations

from collections.abc import Sequence
import dataclasses
from typing import Any

import numpy as np

from optuna_recipes.adapters._base.data import CLASSIFICATION

_CV_KINDS = (
    "an int >= 2, a float in (0, 1), a scikit-learn splitter (with `split`) or an iterable of "
    "(train_idx, valid_idx)"
)


@dataclasses.dataclass(frozen=True)
class Fold:
    """One train/validation split as row indices into the training data.

    ``valid is None`` means the explicit ``validation_data`` is the validation set (and
    ``train`` is then all rows).

    Example:
        .. code-block:: python

            import numpy as np
            from optuna_recipes.adapters._base.folds import Fold

            fold = Fold(train=np.arange(8), valid=np.arange(8, 10))
    """

    train: np.ndarray
    valid: np.ndarray | None


def make_folds(
    *,
    cv: Any,
    y: np.ndarray,
    task: str,
    n_rows: int,
    seed: int | None,
    groups: Any = None,
    has_validation_data: bool = False,
) -> list[Fold]:
    """Build the validation folds.

    Args:
        cv: ``None`` (only with an explicit validation set), an int ``k >= 2`` (k-fold: stratified
            for classification, grouped when ``groups`` is given), a float in ``(0, 1)`` (one
            holdout split of that validation fraction, stratified for classification) or any
            scikit-learn splitter (an object with ``split(X, y, groups)``, or an iterable of
            ``(train_idx, valid_idx)`` pairs).
        y: Encoded labels (for stratification and single-class checks).
        task: The task (``"binary"``, ...).
        n_rows: Number of training rows.
        seed: Seed of the shuffling splitters built here.
        groups: Per-row group labels: rows of one group never straddle train and validation.
        has_validation_data: An explicit validation set was given: ``cv`` must then be ``None``.
    """
    if has_validation_data:
        if cv is not None:
            raise ValueError(
                "Give either `cv` or `validation_data`, not both (got cv="
                f"{cv!r}); pass `cv=None` to validate on `validation_data`."
            )
        return [Fold(train=np.arange(n_rows), valid=None)]
    if cv is None:
        raise ValueError("`cv=None` needs `validation_data`; or pass an int such as `cv=5`.")
    splitter = _splitter(
        cv, stratify=task in CLASSIFICATION, grouped=groups is not None, seed=seed
    )
    pairs = _split(splitter, cv, y, n_rows, groups)
    if not pairs:
        raise ValueError("`cv` produced no split.")
    return [
        Fold(train=_as_index(train, n_rows), valid=_as_index(valid, n_rows))
        for train, valid in pairs
    ]


def _splitter(cv: Any, *, stratify: bool, grouped: bool, seed: int | None) -> Any:
    """The scikit-learn splitter ``cv`` stands for (``cv`` itself when it is one)."""
    from sklearn import model_selection as ms

    rng = None if seed is None else int(seed) % (2**32)
    if isinstance(cv, bool):
        raise ValueError(f"`cv` must be an int >= 2, a float in (0, 1) or a splitter; got {cv!r}.")
    if isinstance(cv, (int, np.integer)):
        if cv < 2:
            raise ValueError(f"`cv` as an int must be >= 2 (number of folds); got {cv}.")
        k = int(cv)
        if grouped:
            if stratify:
                return ms.StratifiedGroupKFold(k, shuffle=True, random_state=rng)
            return ms.GroupKFold(k)
        if stratify:
            return ms.StratifiedKFold(k, shuffle=True, random_state=rng)
        return ms.KFold(k, shuffle=True, random_state=rng)
    if isinstance(cv, (float, np.floating)):
        if not 0.0 < cv < 1.0:
            raise ValueError(
                f"`cv` as a float is the holdout fraction and must lie in (0, 1); got {cv}."
            )
        size = float(cv)
        if grouped:
            return ms.GroupShuffleSplit(1, test_size=size, random_state=rng)
        if stratify:
            return ms.StratifiedShuffleSplit(1, test_size=size, random_state=rng)
        return ms.ShuffleSplit(1, test_size=size, random_state=rng)
    return cv


def _split(splitter: Any, cv: Any, y: np.ndarray, n_rows: int, groups: Any) -> list[Any]:
    if hasattr(splitter, "split"):
        try:
            return list(splitter.split(np.zeros((n_rows, 1)), y, groups))
        except ValueError as err:
            raise ValueError(f"`cv` could not split the data: {err}") from err
    try:
        return list(splitter)
    except TypeError as err:
        raise ValueError(f"`cv` must be {_CV_KINDS}; got {type(cv).__name__}.") from err


def _as_index(idx: Any, n_rows: int) -> np.ndarray:
    arr = np.asarray(idx)
    if arr.dtype == bool:
        arr = np.flatnonzero(arr)
    arr = arr.astype(np.int64)
    if arr.size and (arr.min() < 0 or arr.max() >= n_rows):
        raise ValueError(f"`cv` produced row indices outside [0, {n_rows}).")
    return arr


def check_folds(
    folds: Sequence[Fold], y: np.ndarray, task: str, y_valid: np.ndarray | None = None
) -> None:
    """Refuse empty folds and, for classification, folds with a single class."""
    for k, fold in enumerate(folds):
        valid_y = y_valid if fold.valid is None else y[fold.valid]
        for part, labels in (("training", y[fold.train]), ("validation", valid_y)):
            if labels is None or len(labels) == 0:
                raise ValueError(
                    f"Fold {k} has an empty {part} part; use fewer folds (`cv`) or more data."
                )
            if task in CLASSIFICATION and len(np.unique(labels)) < 2:
                raise ValueError(
                    f"Fold {k} has a single class in its {part} part ({len(labels)} rows, all "
                    f"label {labels[0]!r}); classification needs both outcomes in every fold. "
                    "Use a stratified splitter (the default for `cv=int`), fewer folds, or "
                    "more data."
                )
