"""How WarmStartSampler spent its trials: per strategy, phase of the study and mode, the share
of trials and how often they were a new best of the study.

A development diagnostic for the warm-start sampler (issue 24's stall detection and bandit): it
reads the ``optuna_recipes.warm_start:mode`` system attribute every trial records, from the
storage of a ``bench run`` output folder. Example (a development suite, never a test one):

    optuna-recipes bench run hpo-families-dev --strategies tpe,warmstart --out /tmp/dev
    python benchmarks/ws_arms.py /tmp/dev

Target studies only (source studies carry no mode). A direction is read from each study, so
maximized objectives count correctly; failed and pruned trials are never a new best (the
bandit's own rule, ``_arms.new_bests``).
"""

from __future__ import annotations

import argparse
from pathlib import Path
import sys

import numpy as np
import optuna
from optuna.storages import BaseStorage
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
from optuna.study import StudyDirection
from optuna.trial import TrialState
import pandas as pd

from optuna_recipes.samplers._warm_start._arms import new_bests
from optuna_recipes.samplers._warm_start._sampler import MODE_KEY

# Phases of a study, by trial number: [start, end).
PHASES = ((0, 10), (10, 30), (30, 50), (50, 100), (100, 200), (200, 10**9))


def _phase(number: int) -> str:
    for start, end in PHASES:
        if start <= number < end:
            return f"{start + 1}-{end}" if end < 10**9 else f"{start + 1}+"
    raise AssertionError(number)


def trial_modes(storage: BaseStorage) -> pd.DataFrame:
    """One row per trial of every study whose trials record a warm-start mode: ``study``,
    ``strategy`` (the second part of a ``bench`` study name ``SUITE:PROBLEM/STRATEGY/SEED``),
    ``number``, ``phase``, ``mode`` and ``new_best``."""
    rows = []
    for summary in optuna.get_all_study_summaries(storage, include_best_trial=False):
        study = optuna.load_study(study_name=summary.study_name, storage=storage)
        trials = sorted(study.get_trials(deepcopy=False), key=lambda t: t.number)
        if not any(MODE_KEY in t.system_attrs for t in trials):
            continue
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        parts = summary.study_name.split("/")
        strategy = parts[-2] if len(parts) >= 3 else summary.study_name
        scores = np.array(
            [
                sign * t.value
                if t.state == TrialState.COMPLETE and t.value is not None
                else np.inf
                for t in trials
            ]
        )
        for t, new_best in zip(trials, new_bests(scores), strict=True):
            rows.append(
                {
                    "study": summary.study_name,
                    "strategy": strategy,
                    "number": t.number,
                    "phase": _phase(t.number),
                    "mode": str(t.system_attrs.get(MODE_KEY, "none")),
                    "new_best": bool(new_best),
                }
            )
    return pd.DataFrame(rows, columns=["study", "strategy", "number", "phase", "mode", "new_best"])


def summarize(modes: pd.DataFrame) -> pd.DataFrame:
    """Per strategy, phase and mode: ``trials``, ``share`` of the phase's trials and
    ``new_best_rate``, phases in study order."""
    if modes.empty:
        return pd.DataFrame(
            columns=["strategy", "phase", "mode", "trials", "share", "new_best_rate"]
        )
    g = modes.groupby(["strategy", "phase", "mode"])
    out = g.agg(trials=("new_best", "size"), new_best_rate=("new_best", "mean")).reset_index()
    out["share"] = out["trials"] / out.groupby(["strategy", "phase"])["trials"].transform("sum")
    order = {_phase(start): i for i, (start, _) in enumerate(PHASES)}
    out = out.sort_values(
        ["strategy", "phase", "mode"], key=lambda c: c.map(order) if c.name == "phase" else c
    )
    return out[["strategy", "phase", "mode", "trials", "share", "new_best_rate"]].reset_index(
        drop=True
    )


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("out", type=Path, help="A `bench run` output folder.")
    parser.add_argument("--storage", help="Its storage URL, if it was run with --storage.")
    args = parser.parse_args(argv)
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.storage:
        storage: BaseStorage = optuna.storages.get_storage(args.storage)
    else:
        journal = args.out / "studies.journal"
        if not journal.exists():
            print(
                f"error: {journal} does not exist; pass the folder of a `bench run` "
                "(or --storage URL for one run with --storage).",
                file=sys.stderr,
            )
            return 2
        storage = JournalStorage(JournalFileBackend(str(journal)))
    table = summarize(trial_modes(storage))
    if table.empty:
        print(f"No study in {args.storage or args.out} records a warm-start mode.")
        return 1
    print(table.to_string(index=False, float_format=lambda v: f"{v:.3f}"))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
