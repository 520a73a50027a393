"""Record learning curves of a fixed design of configurations, for replay as benchmark problems.

Tuning XGBoost or LightGBM live costs ~0.1-1 s per trial; a comparison of strategies over many
seeds needs thousands of trials. So, as in tabular benchmarks (HPO-B, LCBench, TabRepo), we
evaluate a large design of configurations *once* per task, keep the whole learning curve (the
cross-validated metric after every boosting round) and replay it:
:class:`optuna_recipes.bench.problems.recorded.RecordedProblem` answers a trial from these
records in milliseconds.

A *family* is one model on one dataset (``xgboost-breast_cancer``): task 0 is the whole
dataset, tasks ``1..K`` are the same model on other random 70% subsamples (the related tasks of
transfer benchmarks, exactly the subsamples of the live ``adapter`` problems). Every task of a
family is recorded on the same design, so the design points line up across tasks.

The design: a small grid over the two most important parameters (learning rate x tree size, the
others at their mid-range) plus a scrambled Sobol sample of the family's search space (a subset
of the adapter's default space, :data:`RECORD_SPACES`). Every configuration is trained by the
project's adapter itself, with early stopping off so that the whole curve of ``rounds`` rounds
is kept; ``cv``-fold cross-validation, ``n_jobs=1``, seed 0. Curves are stored as float32.

Run it single-threaded. The shipped data was recorded on a shared 2-core machine (46 minutes
in all) with, for each LightGBM family::

    OMP_NUM_THREADS=1 nice -n 15 python -m optuna_recipes.bench.recording \
        --family lightgbm-wine --configs 256 --grid 4 --tasks 4 --rounds 100 --cv 3 --limit-s 420

and for XGBoost ``--tasks 3 --limit-s 600``; the time limit cut the Sobol part short on
lightgbm-diabetes and xgboost-diabetes (245 of 256 points) and xgboost-breast_cancer (123).
Each file's ``meta`` keeps its command, seconds and library versions.

Files go to ``optuna_recipes/bench/data/<family>.npz`` by default (``--out`` to change).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass
import json
import os
from pathlib import Path
import platform
import sys
import time
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import distribution_to_json

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes._encoding import from_unit
from optuna_recipes.bench.problems.sklearn_tasks import _load
from optuna_recipes.bench.problems.sklearn_tasks import _subsample

DATA_DIR = Path(__file__).resolve().parent / "data"
FORMAT = "optuna-recipes-recorded-1"

#: The searched parameters of each library (a subset of the adapter's default space, same
#: ranges; the rest keep the library defaults). Six parameters: the learning rate, tree size,
#: leaf regularization, two sampling rates and the L2 penalty, the most tunable ones after the
#: learning rate in Probst et al. (2019) and van Rijn & Hutter (2018). A small space keeps the
#: recorded design dense enough for an accurate surrogate.
RECORD_SPACES: dict[str, tuple[str, ...]] = {
    "xgboost": (
        "learning_rate",
        "max_depth",
        "min_child_weight",
        "subsample",
        "colsample_bynode",
        "reg_lambda",
    ),
    "lightgbm": (
        "learning_rate",
        "num_leaves",
        "min_data_in_leaf",
        "feature_fraction",
        "bagging_fraction",
        "lambda_l2",
    ),
}
#: The two parameters of the grid part of the design (learning rate x tree size).
GRID_PARAMS: dict[str, tuple[str, str]] = {
    "xgboost": ("learning_rate", "max_depth"),
    "lightgbm": ("learning_rate", "num_leaves"),
}


@dataclass(frozen=True)
class Family:
    """A recorded task family: one library on one dataset shipped with scikit-learn."""

    library: str
    dataset: str

    @property
    def name(self) -> str:
        return f"{self.library}-{self.dataset}"


def parse_family(name: str) -> Family:
    """``"xgboost-breast_cancer"`` -> ``Family("xgboost", "breast_cancer")``."""
    library, sep, dataset = name.partition("-")
    if not sep or library not in RECORD_SPACES:
        raise ValueError(
            f"A family is `<library>-<dataset>` with library in {tuple(RECORD_SPACES)}; got "
            f"{name!r}."
        )
    _load(dataset)  # validates the dataset name
    return Family(library, dataset)


def make_objective(family: Family, task: int, rounds: int, cv: int, n_jobs: int = 1) -> Any:
    """The adapter objective that records task ``task`` (early stopping off, seed 0)."""
    from optuna_recipes.bench.problems.adapters import LIBRARIES
    from optuna_recipes.bench.problems.adapters import _adapter_module

    module = _adapter_module(family.library)
    X, y, _ = _load(family.dataset)
    X, y = _subsample(X, y, task, 0.7 if task else 1.0)

    def build(**extra: Any) -> Any:
        return getattr(module, LIBRARIES[family.library])(
            X,
            y,
            cv=cv,
            num_boost_round=rounds,
            early_stopping_rounds=None,
            seed=0,
            n_jobs=n_jobs,
            **extra,
        )

    default_space = build().search_space
    keep = set(RECORD_SPACES[family.library])
    missing = keep - set(default_space)
    if missing:
        raise RuntimeError(f"The {family.library} adapter space lacks {sorted(missing)}.")
    # Drop the parameters the design does not vary (they keep the adapter's fixed defaults).
    objective = build(space={k: None for k in default_space if k not in keep})
    return objective


def design(
    space: dict[str, BaseDistribution], grid: tuple[str, str], n_grid: int, n_sobol: int, seed: int
) -> list[dict[str, Any]]:
    """Grid (``n_grid`` x ``n_grid`` over ``grid``, others mid-range) + scrambled Sobol."""
    from scipy.stats import qmc

    names = list(space)

    def decode(u: np.ndarray) -> dict[str, Any]:
        params = {}
        for name, value in zip(names, u, strict=True):
            dist = space[name]
            if isinstance(dist, CategoricalDistribution):
                value = min(int(value * len(dist.choices)), len(dist.choices) - 1)
            params[name] = from_unit(dist, float(value))
        return params

    configs = []
    levels = (np.arange(n_grid) + 0.5) / n_grid if n_grid else np.array([])
    for a in levels:
        for b in levels:
            u = np.full(len(names), 0.5)
            u[names.index(grid[0])] = a
            u[names.index(grid[1])] = b
            configs.append(decode(u))
    if n_sobol:
        sobol = qmc.Sobol(len(names), scramble=True, seed=seed).random(n_sobol)
        configs.extend(decode(u) for u in sobol)
    return configs


class _CurveTrial(optuna.trial.FixedTrial):
    """A fixed trial that keeps what the objective reports (the learning curve)."""

    def __init__(self, params: dict[str, Any]) -> None:
        super().__init__(params)
        self.curve: list[float] = []

    def report(self, value: float, step: int) -> None:
        if step != len(self.curve):
            raise RuntimeError(f"Expected step {len(self.curve)}, got {step}.")
        self.curve.append(float(value))


def record_curve(objective: Any, params: dict[str, Any], rounds: int) -> tuple[np.ndarray, float]:
    """The learning curve of one configuration (NaN where training failed) and its seconds."""
    trial = _CurveTrial(params)
    start = time.perf_counter()
    value = objective(trial)
    seconds = time.perf_counter() - start
    curve = np.full(rounds, np.nan)
    if np.isfinite(value):
        curve[: len(trial.curve)] = trial.curve
    return curve, seconds


def record_family(
    family: Family,
    *,
    n_sobol: int,
    n_grid: int,
    n_tasks: int,
    rounds: int,
    cv: int,
    seed: int = 0,
    out: Path | None = None,
    limit_s: float | None = None,
    command: str = "",
    verbose: bool = True,
) -> Path:
    """Record ``n_tasks`` tasks of ``family`` on one design and write ``<out>/<family>.npz``."""
    objectives = [make_objective(family, t, rounds, cv) for t in range(n_tasks)]
    space = objectives[0].search_space
    configs = design(space, GRID_PARAMS[family.library], n_grid, n_sobol, seed)
    curves = np.full((n_tasks, len(configs), rounds), np.nan, dtype=np.float32)
    seconds = np.zeros((n_tasks, len(configs)), dtype=np.float32)
    start = time.perf_counter()
    for i, params in enumerate(configs):
        for t, objective in enumerate(objectives):
            curve, secs = record_curve(objective, params, rounds)
            curves[t, i], seconds[t, i] = curve, secs
        if verbose and (i + 1) % 32 == 0:
            elapsed = time.perf_counter() - start
            print(f"{family.name}: {i + 1}/{len(configs)} configs, {elapsed:.0f} s", flush=True)
        if limit_s is not None and time.perf_counter() - start > limit_s:
            configs, curves, seconds = configs[: i + 1], curves[:, : i + 1], seconds[:, : i + 1]
            print(f"{family.name}: stopped at the time limit after {i + 1} configs", flush=True)
            break
    encoded = SearchSpaceEncoder(space).encode_many(configs).astype(np.float32)
    meta = {
        "format": FORMAT,
        "family": family.name,
        "library": family.library,
        "library_version": objectives[0].describe()["library_version"],
        "dataset": family.dataset,
        "metric": objectives[0].metric.name,
        "direction": objectives[0].direction,
        "cv": cv,
        "rounds": rounds,
        "seed": seed,
        "n_grid": n_grid * n_grid,
        "n_sobol": len(configs) - n_grid * n_grid,
        "tasks": ["whole dataset"] + [f"70% subsample {t}" for t in range(1, n_tasks)],
        "space": {k: distribution_to_json(v) for k, v in space.items()},
        "recorded_s": round(time.perf_counter() - start, 1),
        "command": command,
        "python": platform.python_version(),
        "optuna": optuna.__version__,
    }
    out = out or DATA_DIR
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{family.name}.npz"
    np.savez_compressed(
        path,
        meta=np.array(json.dumps(meta)),
        configs=encoded,
        curves=curves,
        seconds=seconds,
    )
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: record one or more families."""
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--family", action="append", required=True, help="<library>-<dataset>")
    parser.add_argument("--configs", type=int, default=384, help="Sobol points (default 384)")
    parser.add_argument("--grid", type=int, default=4, help="grid levels per axis (default 4)")
    parser.add_argument("--tasks", type=int, default=4, help="tasks per family (default 4)")
    parser.add_argument("--rounds", type=int, default=100, help="boosting rounds (default 100)")
    parser.add_argument("--cv", type=int, default=3, help="CV folds (default 3)")
    parser.add_argument("--seed", type=int, default=0, help="Sobol scrambling seed")
    parser.add_argument("--limit-s", type=float, default=None, help="stop a family after this")
    parser.add_argument("--out", type=Path, default=None, help=f"folder (default {DATA_DIR})")
    args = parser.parse_args(argv)
    command = "OMP_NUM_THREADS={} python -m optuna_recipes.bench.recording {}".format(
        os.environ.get("OMP_NUM_THREADS", "unset"),
        " ".join(sys.argv[1:] if argv is None else argv),
    )
    for name in args.family:
        path = record_family(
            parse_family(name),
            n_sobol=args.configs,
            n_grid=args.grid,
            n_tasks=args.tasks,
            rounds=args.rounds,
            cv=args.cv,
            seed=args.seed,
            out=args.out,
            limit_s=args.limit_s,
            command=command,
        )
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
