"""The results table: one row per finished trial of every finished run (``results.csv``).

Columns (:data:`RESULT_COLUMNS`): the run (suite, group, problem, strategy, sampler, pruner,
seed, role), the trial (number, state, value, best so far, regret when the optimum is known),
its times (wall time since the run's first trial, duration, seconds inside the sampler and the
objective), training steps for learning-curve problems, and the problem's direction and optimum.
Runs with simulated workers (:mod:`~optuna_recipes.bench.simulate`) fill ``workers`` (the
run's simulated worker count), ``worker`` (the virtual worker that ran the trial),
``sim_start`` and ``sim_time`` (simulated seconds at which the trial started and its result
became known); their ``strategy`` is ``NAME@Nw``. Other runs leave these four empty.

Example:
    .. code-block:: python

        from optuna_recipes.bench.results import collect_results
        from optuna_recipes.bench.suite import load_suite

        runs = load_suite("quick").runs()
        df = collect_results("bench-out/quick/studies.journal", runs)
"""

from __future__ import annotations

from collections.abc import Sequence
import math
from typing import Any

from optuna.storages import BaseStorage
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial
from optuna.trial import TrialState
import pandas as pd

from optuna_recipes.bench.integrity import StateDamagedError
from optuna_recipes.bench.integrity import run_record
from optuna_recipes.bench.problems import Problem
from optuna_recipes.bench.simulate import SIM_ATTR
from optuna_recipes.bench.storage import DONE_ATTR
from optuna_recipes.bench.storage import TIMES_ATTR
from optuna_recipes.bench.storage import RunConflictError
from optuna_recipes.bench.storage import open_storage
from optuna_recipes.bench.suite import RunSpec


def _best_so_far(values: list[float], minimize: bool) -> list[float]:
    out, best = [], math.nan
    for v in values:
        if not math.isnan(v) and (math.isnan(best) or (v < best if minimize else v > best)):
            best = v
        out.append(best)
    return out


RESULT_COLUMNS = [
    "suite",
    "group",
    "problem",
    "strategy",
    "sampler",
    "pruner",
    "seed",
    "role",
    "trial",
    "state",
    "value",
    "best",
    "regret",
    "wall_time",
    "duration",
    "sampler_time",
    "objective_time",
    "steps",
    "cum_steps",
    "direction",
    "optimum",
    "workers",
    "worker",
    "sim_start",
    "sim_time",
]


def study_rows(
    run: RunSpec,
    trials: list[FrozenTrial],
    problem: Problem,
    times: dict[str, dict[str, float]] | None = None,
) -> list[dict[str, Any]]:
    """One row per trial of a run's study (see ``RESULT_COLUMNS``)."""
    trials = sorted((t for t in trials if t.state.is_finished()), key=lambda t: t.number)
    minimize = problem.direction == "minimize"
    complete = [
        t.value if t.state == TrialState.COMPLETE and t.value is not None else math.nan
        for t in trials
    ]
    best = _best_so_far(complete, minimize)
    t0 = min((t.datetime_start for t in trials if t.datetime_start), default=None)
    rows: list[dict[str, Any]] = []
    cum_steps = 0.0
    for t, b in zip(trials, best, strict=True):
        trial_times = (times or {}).get(str(t.number), {})
        steps = float(len(t.intermediate_values)) if problem.n_steps else math.nan
        cum_steps += 0.0 if math.isnan(steps) else steps
        regret = math.nan
        if problem.optimum is not None and not math.isnan(b):
            regret = max((b - problem.optimum) if minimize else (problem.optimum - b), 0.0)
        end = t.datetime_complete
        sim = t.system_attrs.get(SIM_ATTR) if run.sim_workers is not None else None
        rows.append(
            {
                "suite": run.suite,
                "group": run.group,
                "problem": run.problem.name,
                "strategy": run.label,
                "sampler": run.strategy.sampler,
                "pruner": run.strategy.pruner,
                "seed": run.seed,
                "role": run.role,
                "trial": t.number,
                "state": t.state.name,
                "value": t.value if t.value is not None else math.nan,
                "best": b,
                "regret": regret,
                "wall_time": (end - t0).total_seconds() if end and t0 else math.nan,
                "duration": t.duration.total_seconds() if t.duration else math.nan,
                "sampler_time": trial_times.get("sampler", math.nan),
                "objective_time": trial_times.get("objective", math.nan),
                "steps": steps,
                "cum_steps": cum_steps if problem.n_steps else math.nan,
                "direction": problem.direction,
                "optimum": problem.optimum if problem.optimum is not None else math.nan,
                "workers": run.sim_workers if run.sim_workers is not None else math.nan,
                "worker": sim["worker"] if sim else math.nan,
                "sim_start": sim["start"] if sim else math.nan,
                "sim_time": sim["end"] if sim else math.nan,
            }
        )
    return rows


def collect_results(
    storage: BaseStorage | str,
    runs: Sequence[RunSpec],
    include_sources: bool = False,
    expected: dict[str, dict[str, Any]] | None = None,
) -> pd.DataFrame:
    """The results table of finished runs: one row per finished trial (``RESULT_COLUMNS``).

    ``expected``: records of runs (:func:`~optuna_recipes.bench.integrity.run_record`) their
    studies must match.

    Raises:
        StateDamagedError: a run's study differs from its expected record.
    """
    if isinstance(storage, str):
        storage = open_storage(storage)
    rows: list[dict[str, Any]] = []
    problems: dict[Any, Problem] = {}
    for run in runs:
        if run.role == "source" and not include_sources:
            continue
        try:
            study_id = storage.get_study_id_from_name(run.study_name)
        except KeyError:
            continue
        attrs = storage.get_study_system_attrs(study_id)
        if not attrs.get(DONE_ATTR):
            continue
        if run.problem not in problems:
            problems[run.problem] = run.problem.build()
        problem = problems[run.problem]
        direction = storage.get_study_directions(study_id)[0]
        if (direction == StudyDirection.MINIMIZE) != (problem.direction == "minimize"):
            raise RunConflictError(f"Study {run.study_name!r} has another direction.")
        trials = storage.get_all_trials(study_id, deepcopy=False)
        record = (expected or {}).get(run.study_name)
        if record is not None and run_record(trials, attrs.get(TIMES_ATTR)) != record:
            raise StateDamagedError(
                f"Run {run.study_name!r} changed in the storage while the benchmark ran (it "
                "differs from what was written); run the command again to check and resume."
            )
        rows += study_rows(run, trials, problem, attrs.get(TIMES_ATTR))
    return pd.DataFrame(rows, columns=RESULT_COLUMNS)
