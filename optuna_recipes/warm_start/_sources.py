"""Earlier studies as warm-start sources: load them from a storage and snapshot them.

A warm-start sampler or pruner learns from *source* studies: earlier runs of the same (or a
similar) tuning problem. This module turns whatever the user has at hand into a list of
:class:`SourceStudy` snapshots: plain, immutable, picklable lists of finished trials with the
source's optimization direction. Snapshots carry no storage handle, so a sampler holding them can
be sent to worker processes, Dask or Ray workers as it is.

Accepted sources (``as_sources``):

- an :class:`optuna.Study` (snapshot of its complete and pruned trials, taken immediately);
- a sequence of :class:`~optuna.trial.FrozenTrial` (direction: the target study's);
- a :class:`SourceStudy` (e.g. from :func:`load_sources`).

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes import load_sources

        storage = "sqlite:///example_sources.db"
        for month in ("2026-01", "2026-02"):
            study = optuna.create_study(
                study_name=f"churn-model-{month}", storage=storage, load_if_exists=True
            )
            study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=5)
        sources = load_sources(storage, pattern="churn-model-*")
        print([(s.name, len(s.trials)) for s in sources])
"""

from __future__ import annotations

from collections.abc import Iterable
from collections.abc import Sequence
from dataclasses import dataclass
import fnmatch
from pathlib import Path
from typing import Any

import optuna
from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from optuna_recipes._redact import redact
from optuna_recipes._storage_urls import explain_storage_error
from optuna_recipes._storage_urls import normalize_url

_USED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)


@dataclass(frozen=True, repr=False)
class SourceStudy:
    """An immutable, picklable snapshot of one earlier study.

    Args:
        name: A label for messages and reports (the study name when loaded from a storage).
        trials: The finished trials (``COMPLETE`` and ``PRUNED``) of the source.
        direction: The source's optimization direction; ``None`` means "the same as the target
            study", used for bare lists of trials.
    """

    name: str
    trials: tuple[FrozenTrial, ...]
    direction: StudyDirection | None = None

    def __repr__(self) -> str:
        # A summary, not the trials: a source holds hundreds of them.
        direction = self.direction.name.lower() if self.direction is not None else "target's"
        params = sorted({name for t in self.trials for name in t.params})
        return (
            f"SourceStudy(name={self.name!r}, n_trials={len(self.trials)}, "
            f"n_complete={self.n_complete}, direction={direction!r}, params={params})"
        )

    @property
    def n_complete(self) -> int:
        """Number of complete trials in the snapshot."""
        return sum(t.state == TrialState.COMPLETE for t in self.trials)

    def best_value(self) -> float | None:
        """Best complete value in the source's own direction (``None`` if none)."""
        values = [
            float(t.value)
            for t in self.trials
            if t.state == TrialState.COMPLETE and t.value is not None
        ]
        if not values:
            return None
        return max(values) if self.direction == StudyDirection.MAXIMIZE else min(values)


def _snapshot_study(study: optuna.Study, name: str | None = None) -> SourceStudy:
    if len(study.directions) != 1:
        raise ValueError(
            f"Source study {study.study_name!r} has {len(study.directions)} objectives; "
            "warm-start sources must be single-objective studies."
        )
    trials = study.get_trials(deepcopy=True, states=_USED_STATES)
    return SourceStudy(name or study.study_name, tuple(trials), study.direction)


def _snapshot_trials(trials: Iterable[Any], name: str) -> SourceStudy:
    out = []
    for i, t in enumerate(trials):
        if not isinstance(t, FrozenTrial):
            raise TypeError(
                f"Source {name!r}: element {i} is a {type(t).__name__}; a trial list must "
                "contain only optuna.trial.FrozenTrial objects."
            )
        if t.values is not None and len(t.values) != 1:
            raise ValueError(
                f"Source {name!r}: trial {t.number} has {len(t.values)} objective values; "
                "warm-start sources must be single-objective."
            )
        if t.state in _USED_STATES:
            out.append(t)
    return SourceStudy(name, tuple(out), None)


def as_sources(source_studies: Any) -> list[SourceStudy]:
    """Normalise user input into a non-empty list of :class:`SourceStudy` snapshots.

    Args:
        source_studies: A sequence whose elements are :class:`optuna.Study`, sequences of
            :class:`~optuna.trial.FrozenTrial`, or :class:`SourceStudy`; a single study or a
            single :class:`SourceStudy` is accepted too.

    Raises:
        ValueError: If there is no source, or no source holds a complete trial.
        TypeError: If an element is of another type.
    """
    if isinstance(source_studies, (optuna.Study, SourceStudy)):
        source_studies = [source_studies]
    if isinstance(source_studies, (str, bytes)) or not isinstance(source_studies, Iterable):
        raise TypeError(
            "`source_studies` must be a sequence of optuna.Study objects, lists of FrozenTrial "
            f"or SourceStudy objects (e.g. from load_sources), got {type(source_studies)!r}."
        )
    items = list(source_studies)
    if items and all(isinstance(t, FrozenTrial) for t in items):
        # A flat list of trials is one source, not many.
        items = [items]
    sources: list[SourceStudy] = []
    for i, item in enumerate(items):
        if isinstance(item, SourceStudy):
            sources.append(item)
        elif isinstance(item, optuna.Study):
            sources.append(_snapshot_study(item))
        elif isinstance(item, Sequence) and not isinstance(item, (str, bytes)):
            sources.append(_snapshot_trials(item, f"trials[{i}]"))
        else:
            raise TypeError(
                f"`source_studies[{i}]` is a {type(item).__name__}; expected an optuna.Study, "
                "a list of FrozenTrial or a SourceStudy."
            )
    if not sources:
        raise ValueError(
            "`source_studies` is empty; pass at least one earlier study (or use "
            "optuna.samplers.TPESampler when there is nothing to warm-start from)."
        )
    if all(s.n_complete == 0 for s in sources):
        names = [s.name for s in sources]
        raise ValueError(
            f"None of the source studies {names} has a complete trial; warm-starting needs "
            "finished trials with objective values."
        )
    return sources


def sqlite_path(url: str) -> Path | None:
    """The database file a ``sqlite:///...`` URL names, or ``None`` (another backend, or an
    in-memory SQLite database)."""
    if not url.startswith("sqlite:"):
        return None
    from sqlalchemy.engine import make_url

    database = make_url(url).database
    if not database or database == ":memory:" or database.startswith("file:"):
        return None
    return Path(database)


def check_storage_exists(url: str) -> None:
    """Raise if ``url`` names a SQLite file that does not exist.

    Opening such a URL would silently create an empty database (a typo in the path then looks
    like "no study matches"); earlier studies are only ever read from an existing one.
    """
    path = sqlite_path(url)
    if path is not None and not path.exists():
        raise ValueError(
            f"The SQLite database {str(path)!r} (from the storage URL {redact(url)!r}) does "
            "not exist; "
            "check the path (relative paths start from the current directory, "
            f"{str(Path.cwd())!r}); earlier studies are read from an existing storage."
        )


def _get_storage(storage: str | BaseStorage) -> BaseStorage:
    """The storage behind a URL or object; a URL that cannot be opened is one clear error.

    ``postgresql://`` without a driver gets an installed one (see ``_storage_urls``); a missing
    driver, database or server raises ``StorageUnavailableError`` naming the fix, with the
    URL's password hidden.
    """
    if isinstance(storage, str):
        check_storage_exists(storage)
        url = normalize_url(storage)
        try:
            return optuna.storages.get_storage(url)
        except Exception as err:  # the driver's or the server's error: explained in one line
            raise explain_storage_error(url, err) from err
    if isinstance(storage, BaseStorage):
        return storage
    raise TypeError(
        "`storage` must be a storage URL (str) or an optuna storage object, "
        f"got {type(storage)!r}."
    )


def load_sources(
    storage: str | BaseStorage,
    study_names: Sequence[str] | None = None,
    pattern: str | None = None,
    *,
    exclude: Sequence[str] = (),
) -> list[SourceStudy]:
    """Load earlier studies from a storage, by names and/or a shell-style name pattern.

    The studies are snapshot at call time (complete and pruned trials), sorted by name, and
    returned as picklable :class:`SourceStudy` objects that ``WarmStartSampler`` and
    ``WarmStartPruner`` accept.

    Example:
        .. code-block:: python

            from optuna_recipes import load_sources

            sources = load_sources("sqlite:///example_sources.db", pattern="churn-model-*")

    Args:
        storage: A storage URL (``"postgresql://..."``, ``"sqlite:///..."``) or an Optuna
            storage object. A SQLite URL must name an existing file (nothing is created).
        study_names: Exact study names to load; each must exist.
        pattern: A shell-style pattern (``fnmatch``: ``*``, ``?``, ``[seq]``) matched against
            every study name in the storage, e.g. ``"churn-model-*"``. Matching studies without
            any complete trial are skipped.
        exclude: Study names never to load (e.g. the new target study, which a pattern may
            match).

    Raises:
        ValueError: If neither ``study_names`` nor ``pattern`` is given, a SQLite URL names a
            file that does not exist, a named study does not exist, or nothing usable matches.
    """
    if study_names is None and pattern is None:
        raise ValueError("Pass `study_names`, `pattern`, or both, to say which studies to load.")
    if isinstance(study_names, str):
        study_names = [study_names]
    storage_obj = _get_storage(storage)
    by_name = {s.study_name: s for s in storage_obj.get_all_studies()}
    excluded = set(exclude)
    chosen: list[str] = []
    for name in study_names or []:
        if name not in by_name:
            available = sorted(by_name)
            raise ValueError(
                f"No study named {name!r} in the storage; available studies: {available}."
            )
        if name not in excluded and name not in chosen:
            chosen.append(name)
    if pattern is not None:
        matched = [
            n for n in sorted(by_name) if fnmatch.fnmatchcase(n, pattern) and n not in excluded
        ]
        if not matched and not chosen:
            raise ValueError(
                f"No study in the storage matches the pattern {pattern!r} (excluding "
                f"{sorted(excluded)}); available studies: {sorted(by_name)}."
            )
        chosen.extend(n for n in matched if n not in chosen)
    sources = []
    for name in sorted(chosen):
        study = optuna.load_study(study_name=name, storage=storage_obj)
        snap = _snapshot_study(study)
        if snap.n_complete == 0 and (study_names is None or name not in study_names):
            continue
        sources.append(snap)
    if not sources:
        raise ValueError(
            f"The studies {sorted(chosen)} have no complete trial; warm-starting needs "
            "finished trials with objective values."
        )
    return as_sources(sources)
