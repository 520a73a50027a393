"""How a warm start went, read back from what ``WarmStartSampler`` records in every trial.

A month after a warm start the question is practical: did last month's studies help, which of
them did the sampler trust, and should they be sources again? :func:`transfer_report` answers
from the study alone (the sampler's system attributes: the proposer of each trial, why it was
chosen, and each source's weight), so it works on any storage and in any later process.
"""

from __future__ import annotations

from dataclasses import dataclass
import math
from typing import Any

import numpy as np
import optuna
from optuna.trial import TrialState
import pandas as pd

from optuna_recipes.samplers._warm_start._arms import new_bests
from optuna_recipes.samplers._warm_start._sampler import DECISION_KEY
from optuna_recipes.samplers._warm_start._sampler import MODE_KEY
from optuna_recipes.samplers._warm_start._sampler import REASON_FADED
from optuna_recipes.samplers._warm_start._sampler import WEIGHTS_KEY
from optuna_recipes.samplers._warm_start._source_models import signed

#: What proposed a trial, by the mode ``WarmStartSampler`` records (``"other"``: no record,
#: e.g. a trial another sampler made or a study resumed with another sampler).
PROPOSERS = {
    "proposal": "the sources' joint proposal",
    "gp": "the transfer GP on the sources",
    "parzen": "the density ratio on the sources and this study",
    "cold": "the cold arm (no sources)",
    "tpe": "multivariate TPE on this study's trials",
    "other": "no WarmStartSampler record",
}
_FINISHED = (TrialState.COMPLETE, TrialState.PRUNED)
_WEIGHT_PREFIX = "weight:"


@dataclass(frozen=True)
class TransferReport:
    """What ``WarmStartSampler`` did in one study: who proposed each trial and why, which
    proposer found the new bests, and how much each source study was trusted.

    Attributes:
        study_name: The study's name.
        direction: ``"minimize"`` or ``"maximize"``.
        trials: One row per finished (complete or pruned) trial in number order: ``number``,
            ``state``, ``value`` (``NaN`` when pruned), ``mode`` (a key of :data:`PROPOSERS`),
            ``reason`` (``"warm-up"``, ``"bandit"``, ``"sources faded"``, ``"gp budget"``, or
            ``None``), ``new_best`` (its value beat every earlier complete trial), and one
            ``weight:<source>`` column per source study: its relatedness when the trial was
            sampled, 1 = trusted fully, 0 = faded (it ranked the study's trials no better than
            chance).
        sources: The source study names, in the sampler's order.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.samplers import WarmStartSampler
            from optuna_recipes.warm_start import transfer_report

            old = optuna.create_study()
            old.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2, n_trials=30)
            study = optuna.create_study(sampler=WarmStartSampler([old], seed=0))
            study.optimize(lambda t: (t.suggest_float("x", -5, 5) - 1.2) ** 2, n_trials=10)
            report = transfer_report(study)
            print(report)  # best trial's proposer, trials and new bests per proposer, weights
            report.trials[["number", "value", "mode", "new_best"]]
    """

    study_name: str
    direction: str
    trials: pd.DataFrame
    sources: list[str]

    @property
    def best_trial(self) -> int | None:
        """Number of the best complete trial (``None`` before the first one)."""
        complete = self.trials[self.trials["state"] == TrialState.COMPLETE.name]
        if complete.empty:
            return None
        values = complete["value"].to_numpy(dtype=float)
        at = int(np.argmax(values) if self.direction == "maximize" else np.argmin(values))
        return int(complete["number"].iloc[at])

    @property
    def best_mode(self) -> str | None:
        """What proposed the best complete trial (a key of :data:`PROPOSERS`)."""
        best = self.best_trial
        if best is None:
            return None
        return str(self.trials.loc[self.trials["number"] == best, "mode"].iloc[0])

    @property
    def faded_at(self) -> int | None:
        """The first trial sampled while every source had faded, or ``None`` (see
        :meth:`faded_trials`)."""
        faded = self.faded_trials()
        return faded[0] if faded else None

    def faded_trials(self) -> list[int]:
        """The trials sampled while every source had faded (their weights, which decay as the
        study grows, added up to too little), which multivariate TPE proposed on the study's own
        results. Sources can count again later, when the study's new trials raise their
        weights."""
        return [int(n) for n in self.trials.loc[self.trials["reason"] == REASON_FADED, "number"]]

    def mode_counts(self) -> dict[str, int]:
        """Finished trials per proposer, in the order of :data:`PROPOSERS`."""
        counts = self.trials["mode"].value_counts()
        return {m: int(counts[m]) for m in PROPOSERS if m in counts}

    def new_bests(self) -> dict[str, int]:
        """New bests (a trial that beat every earlier complete trial) per proposer."""
        counts = self.trials.loc[self.trials["new_best"], "mode"].value_counts()
        return {m: int(counts[m]) for m in PROPOSERS if m in counts}

    def final_weights(self) -> dict[str, float]:
        """Each source's weight at the last finished trial that recorded weights (empty when
        none did; trials multivariate TPE proposed record none)."""
        last = self._last_weights()
        return {} if last is None else {s: float(last[_WEIGHT_PREFIX + s]) for s in self.sources}

    def _last_weights(self) -> pd.Series | None:
        columns = [_WEIGHT_PREFIX + s for s in self.sources]
        if not columns:
            return None
        recorded = self.trials.dropna(subset=columns, how="all")
        return None if recorded.empty else recorded.iloc[-1]

    def faded_sources(self) -> list[str]:
        """Sources at weight 0 at the end: they ranked this study's trials no better than
        chance, so a warm start from them spends its first trials in the wrong region."""
        return [s for s, w in self.final_weights().items() if w == 0.0]

    def __str__(self) -> str:
        n = len(self.trials)
        lines = [
            f"Warm start of study {self.study_name!r} ({self.direction}): {n} finished "
            f"trial(s), {len(self.sources)} source study(ies)."
        ]
        if n == 0:
            lines.append("No finished trial yet: run the study, then ask again.")
            return "\n".join(lines)
        best = self.best_trial
        if best is None:
            lines.append("No complete trial yet (every finished trial was pruned).")
        else:
            value = self.trials.loc[self.trials["number"] == best, "value"].iloc[0]
            mode = self.best_mode or "other"
            lines.append(
                f"Best value {value:.6g} at trial {best}, proposed by {mode} ({PROPOSERS[mode]})."
            )
        lines.append("Trials per proposer: " + _counts(self.mode_counts()) + ".")
        lines.append("New bests per proposer: " + (_counts(self.new_bests()) or "none") + ".")
        last = self._last_weights()
        if last is not None:
            width = max(len(s) for s in self.sources)
            lines.append(
                f"Source weights at trial {int(last['number'])}, the last that recorded them "
                "(1 = trusted, 0 = faded):"
            )
            for source, w in self.final_weights().items():
                lines.append(f"  {source:<{width}}  {w:.2f}" + ("  (faded)" if w == 0 else ""))
        faded_trials = self.faded_trials()
        if faded_trials:
            lines.append(
                f"Every source had faded for {len(faded_trials)} trial(s), the first at trial "
                f"{faded_trials[0]}: multivariate TPE proposed those on this study's own results."
            )
        faded = self.faded_sources()
        if faded:
            lines.append(
                f"Hint: {len(faded)} source(s) ended at weight 0; they ranked this study's trials "
                "no better than chance. Next time, leave them out of the sources (exact names "
                "with `source_names=` / `--sources`, or a narrower pattern) or start cold."
            )
        return "\n".join(lines)


def _counts(counts: dict[str, int]) -> str:
    return ", ".join(f"{m} {c}" for m, c in counts.items())


def transfer_report(study: optuna.Study) -> TransferReport:
    """Read back how ``WarmStartSampler`` sampled ``study``: see :class:`TransferReport`.

    Args:
        study: A single-objective study sampled (at least in part) by ``WarmStartSampler``,
            e.g. from :func:`optuna_recipes.load_warm_started_study` or
            ``optuna.load_study(study_name=..., storage=...)``. The sampler need not be attached:
            everything is read from the trials' system attributes.

    Raises:
        ValueError: The study is multi-objective, or it has finished trials of which none was
            sampled by ``WarmStartSampler``.
    """
    if len(study.directions) != 1:
        raise ValueError(
            f"study {study.study_name!r} has {len(study.directions)} objectives; "
            "WarmStartSampler (and so its report) is single-objective."
        )
    maximize = study.direction == optuna.study.StudyDirection.MAXIMIZE
    direction = "maximize" if maximize else "minimize"
    finished = study.get_trials(deepcopy=False, states=_FINISHED)
    if finished and not any(MODE_KEY in t.system_attrs for t in finished):
        raise ValueError(
            f"no trial of study {study.study_name!r} was sampled by WarmStartSampler (system "
            f"attribute {MODE_KEY!r}). Report on a study created with "
            "optuna_recipes.create_warm_started_study(...) or sampler=WarmStartSampler(...)."
        )
    sources = _source_names(finished)
    scores = np.array(  # lower is better, as the sampler's bandit scores them
        [
            signed(t.value, study.direction)
            if t.state == TrialState.COMPLETE and t.value is not None and math.isfinite(t.value)
            else np.inf
            for t in finished
        ]
    )
    rows: list[dict[str, Any]] = []
    for trial, won in zip(finished, new_bests(scores), strict=True):
        decision = trial.system_attrs.get(DECISION_KEY)
        weights = trial.system_attrs.get(WEIGHTS_KEY) or {}
        row: dict[str, Any] = {
            "number": trial.number,
            "state": trial.state.name,
            "value": trial.value if trial.state == TrialState.COMPLETE else math.nan,
            "mode": trial.system_attrs.get(MODE_KEY, "other"),
            "reason": decision.get("reason") if isinstance(decision, dict) else None,
            "new_best": bool(won),
        }
        for source in sources:
            row[_WEIGHT_PREFIX + source] = weights.get(source, math.nan)
        rows.append(row)
    columns = ["number", "state", "value", "mode", "reason", "new_best"]
    columns += [_WEIGHT_PREFIX + s for s in sources]
    table = pd.DataFrame(rows, columns=columns)
    table["new_best"] = table["new_best"].astype(bool)
    return TransferReport(study.study_name, direction, table, sources)


def _source_names(trials: list[optuna.trial.FrozenTrial]) -> list[str]:
    """Source names in the order the sampler recorded them (first seen first)."""
    names: dict[str, None] = {}
    for trial in trials:
        for name in trial.system_attrs.get(WEIGHTS_KEY) or {}:
            names.setdefault(name, None)
    return list(names)
