"""Record a family: its design, every task's curves and seconds, one resumable file per family.

The file (``<out>/<family>.npz``) is rewritten atomically after every finished task, so a
recording that is killed loses at most the task it was on; running the same command again
records only the missing tasks (after checking that the file was recorded with the same design,
space, steps and folds).
"""

from __future__ import annotations

from collections.abc import Sequence
import itertools
import json
import os
from pathlib import Path
import platform
import time
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.distributions import distribution_to_json

from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes._encoding import from_unit
from optuna_recipes.bench.recording.families import FAMILIES
from optuna_recipes.bench.recording.families import FamilySpec
from optuna_recipes.bench.recording.families import load_task
from optuna_recipes.bench.recording.families import split_of
from optuna_recipes.bench.recording.models import CURVES
from optuna_recipes.bench.recording.models import library_versions

#: Version of the recorded file format (``meta["format"]``). Version 1 (one model on one
#: dataset, tasks = 70% subsamples, recorded through the adapters) still loads.
FORMAT = "optuna-recipes-recorded-2"
DATA_DIR = Path(__file__).resolve().parents[1] / "data"


def default_out() -> Path:
    """Where the command writes without ``--out``: the package data in a source checkout (where
    the shipped families are recorded), else ``./recorded-families`` (never into an installed
    package's site-packages)."""
    checkout = (DATA_DIR.parents[2] / "pyproject.toml").exists()
    return DATA_DIR if checkout else Path("recorded-families")


def _grid_values(dist: BaseDistribution) -> list[Any]:
    if isinstance(dist, CategoricalDistribution):
        return list(dist.choices)
    if not isinstance(dist, (IntDistribution, FloatDistribution)) or dist.step is None or dist.log:
        raise ValueError(f"A full-grid design needs discrete parameters; got {dist!r}.")
    step = dist.step
    n = round((dist.high - dist.low) / step) + 1
    values = [dist.low + i * step for i in range(n)]
    return [round(v, 10) for v in values] if isinstance(dist, FloatDistribution) else values


def design(spec: FamilySpec, n_sobol: int | None = None, seed: int = 0) -> list[dict[str, Any]]:
    """The family's configurations, the same for every task.

    A full-grid family (``spec.grid is None``) records every point of its discrete space.
    Otherwise: an ``n_grid`` x ``n_grid`` grid over the two ``spec.grid`` parameters (the
    others at their mid-range; categoricals at the middle choice), then ``n_sobol`` (default
    ``spec.n_sobol``) points of a scrambled Sobol sequence decoded into the space.
    """
    from scipy.stats import qmc

    space = spec.space
    if spec.grid is None:
        names = list(space)
        combos = itertools.product(*(_grid_values(space[n]) for n in names))
        return [dict(zip(names, combo, strict=True)) for combo in combos]
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
    levels = (np.arange(spec.n_grid) + 0.5) / spec.n_grid
    for a, b in itertools.product(levels, levels):
        u = np.full(len(names), 0.5)
        u[names.index(spec.grid[0])], u[names.index(spec.grid[1])] = a, b
        configs.append(decode(u))
    n_sobol = spec.n_sobol if n_sobol is None else n_sobol
    if n_sobol:
        import warnings

        with warnings.catch_warnings():  # balance warning: a non-power of 2 is deliberate
            warnings.simplefilter("ignore", UserWarning)
            sobol = qmc.Sobol(len(names), scramble=True, seed=seed).random(n_sobol)
        configs.extend(decode(u) for u in sobol)
    return configs


def record_task(
    spec: FamilySpec, task: str, configs: list[dict[str, Any]], steps: int, cv: int
) -> tuple[np.ndarray, np.ndarray, dict[str, Any]]:
    """Curves ``(n_configs, steps)``, CPU seconds ``(n_configs,)`` and facts of one task.

    A configuration whose training raises records a NaN curve (counted in ``failed``).
    """
    data = load_task(task, cv)
    curve_of = CURVES[spec.model]
    curves = np.full((len(configs), steps), np.nan, dtype=np.float32)
    seconds = np.zeros(len(configs), dtype=np.float32)
    failed = 0
    start = time.perf_counter()
    for i, params in enumerate(configs):
        cpu = time.process_time()
        try:
            curves[i] = curve_of(dict(params), data, steps)
        except Exception:  # a failed configuration is a record, not a crash
            failed += 1
        seconds[i] = time.process_time() - cpu
    dataset, _, variant = task.partition(":")
    info = {
        "name": task,
        "dataset": dataset,
        "variant": variant or None,
        "split": split_of(task),
        "rows": len(data.y),
        "features": int(data.X.shape[1]),
        "classes": int(data.n_classes),
        "failed": failed,
        "recorded_s": round(time.perf_counter() - start, 1),
        "cpu_s": round(float(seconds.sum()), 1),
    }
    return curves, seconds, info


def holdout_check(configs: np.ndarray, curves: np.ndarray, folds: int = 5) -> dict[str, float]:
    """Held-out accuracy of the default replay surrogate on one task's records.

    ``folds``-fold cross-validation over the configurations: the surrogate fitted on the other
    folds predicts each held-out configuration's curve; reported are the Spearman correlation
    of predicted and recorded best values and their mean absolute error divided by the
    standard deviation of the recorded best values (``nmae``; 1.0 is no better than the mean).
    """
    from scipy.stats import spearmanr

    from optuna_recipes.bench.problems.recorded import CurveSurrogate

    ok = np.isfinite(curves).all(axis=1)
    X, Y = configs[ok].astype(np.float64), curves[ok].astype(np.float64)
    order = np.random.default_rng(0).permutation(len(X))
    pred = np.empty_like(Y)
    for k in range(folds):
        test = order[k::folds]
        train = np.setdiff1d(order, test)
        pred[test] = CurveSurrogate("forest").fit(X[train], Y[train]).predict(X[test])
    best, best_pred = Y.min(axis=1), pred.min(axis=1)
    spread = float(np.std(best)) or 1.0
    rho = spearmanr(best, best_pred).statistic
    return {
        "spearman": round(float(np.nan_to_num(rho)), 3),
        "nmae": round(float(np.mean(np.abs(best - best_pred)) / spread), 3),
    }


def _load_existing(path: Path) -> tuple[dict[str, Any], dict[str, np.ndarray]] | None:
    if not path.is_file():
        return None
    with np.load(path, allow_pickle=False) as data:
        meta = json.loads(str(data["meta"]))
        arrays = {k: data[k] for k in ("configs", "curves", "seconds")}
    return meta, arrays


def _check_resumable(path: Path, meta: dict[str, Any], new: dict[str, Any]) -> None:
    for key in ("format", "family", "space", "steps", "cv", "design"):
        if meta.get(key) != new[key]:
            raise ValueError(
                f"{path} was recorded with a different {key} ({meta.get(key)!r}, now "
                f"{new[key]!r}); record into another folder with --out, or delete the file to "
                "start over."
            )


def _write(path: Path, meta: dict[str, Any], arrays: dict[str, np.ndarray]) -> None:
    """Write ``path`` atomically (a killed process leaves the previous file intact)."""
    tmp = path.with_name(path.name + ".tmp.npz")
    payload: dict[str, Any] = {"meta": np.array(json.dumps(meta)), **arrays}
    np.savez_compressed(tmp, **payload)
    os.replace(tmp, path)


def _base_meta(spec: FamilySpec, steps: int, cv: int, n_configs: int, seed: int) -> dict:
    kind = "full grid" if spec.grid is None else "grid + scrambled Sobol"
    design_meta: dict[str, Any] = {"kind": kind, "n_configs": n_configs, "seed": seed}
    if spec.grid is not None:
        design_meta.update(grid=list(spec.grid), n_grid=spec.n_grid**2)
    return {
        "format": FORMAT,
        "family": spec.name,
        "model": spec.model,
        "metric": spec.metric,
        "direction": "minimize",
        "steps": steps,
        "step": spec.step,
        "cv": cv,
        "partner": spec.partner,
        "space": {k: distribution_to_json(v) for k, v in spec.space.items()},
        "design": design_meta,
        "seconds": "CPU seconds of the recording process per configuration and task (all folds, "
        "training and per-step validation; one thread)",
    }


def _open(
    path: Path, base: dict[str, Any], encoded: np.ndarray, steps: int
) -> tuple[dict[str, Any], dict[str, np.ndarray]]:
    """The family file's meta and arrays to append to: the existing file if it was recorded
    the same way (else an error that says how to go on), or empty ones."""
    existing = _load_existing(path)
    if existing is None:
        meta = {**base, "tasks": [], "commands": []}
        n = len(encoded)
        return meta, {
            "configs": encoded,
            "curves": np.zeros((0, n, steps), np.float32),
            "seconds": np.zeros((0, n), np.float32),
        }
    meta, arrays = existing
    _check_resumable(path, meta, base)
    if not np.array_equal(arrays["configs"], encoded):
        raise ValueError(
            f"{path} holds another design than this version makes; record into another "
            "folder with --out, or delete the file to start over."
        )
    return meta, arrays


def record_family(
    name: str,
    *,
    tasks: Sequence[str] | None = None,
    n_sobol: int | None = None,
    steps: int | None = None,
    cv: int = 3,
    seed: int = 0,
    out: Path | None = None,
    command: str = "",
    verbose: bool = True,
) -> Path:
    """Record the missing tasks of family ``name`` into ``<out>/<name>.npz`` (resumable).

    Args:
        name: A family of :data:`~optuna_recipes.bench.recording.families.FAMILIES`.
        tasks: Tasks to record (default: the family's); finished ones are skipped.
        n_sobol: Sobol points (default: the family's); ``steps``: curve length (default: the
            family's). Smaller values make quick test recordings.
        cv: Folds. seed: Sobol scrambling seed.
        out: Folder (default: the package data). command: Stored in the meta.
        verbose: Print a line per finished task.
    """
    if name not in FAMILIES:
        raise ValueError(f"Unknown family {name!r}; known: {', '.join(FAMILIES)}.")
    spec = FAMILIES[name]
    steps = spec.steps if steps is None else steps
    configs = design(spec, n_sobol, seed)
    encoded = SearchSpaceEncoder(spec.space).encode_many(configs).astype(np.float32)
    base = _base_meta(spec, steps, cv, len(configs), seed)
    out = default_out() if out is None else Path(out)
    out.mkdir(parents=True, exist_ok=True)
    path = out / f"{name}.npz"
    meta, arrays = _open(path, base, encoded, steps)
    meta["commands"].append(command)
    done = {t["name"] for t in meta["tasks"]}
    for task in tasks if tasks is not None else spec.tasks:
        if task in done:
            continue
        curves, seconds, info = record_task(spec, task, configs, steps, cv)
        info["holdout"] = holdout_check(encoded, curves) if spec.grid is not None else "lookup"
        meta["tasks"].append(info)
        arrays["curves"] = np.concatenate([arrays["curves"], curves[None]])
        arrays["seconds"] = np.concatenate([arrays["seconds"], seconds[None]])
        meta.update(
            recorded_s=round(sum(t["recorded_s"] for t in meta["tasks"]), 1),
            versions={
                "python": platform.python_version(),
                "optuna": optuna.__version__,
                "numpy": np.__version__,
                **library_versions(spec.model),
            },
            machine=f"{platform.machine()}, {os.cpu_count()} cores",
        )
        _write(path, meta, arrays)
        done.add(task)
        if verbose:
            print(f"{name}/{task}: {info['recorded_s']} s, holdout {info['holdout']}", flush=True)
    return path


def main(argv: Sequence[str] | None = None) -> int:
    """Command line: record families (resumable; see the package docstring)."""
    import argparse
    import sys

    parser = argparse.ArgumentParser(
        prog="python -m optuna_recipes.bench.recording",
        description="Record learning curves of task families for replay as benchmark problems.",
    )
    parser.add_argument("--family", action="append", help="a family name (repeatable)")
    parser.add_argument("--all", action="store_true", help="every family")
    parser.add_argument("--tasks", help="comma-separated tasks (default: the family's)")
    parser.add_argument("--configs", type=int, help="Sobol points (default: the family's)")
    parser.add_argument("--steps", type=int, help="curve length (default: the family's)")
    parser.add_argument("--cv", type=int, default=3, help="CV folds (default 3)")
    parser.add_argument(
        "--out",
        type=Path,
        help=f"folder (default {default_out()}; replay from it with the `recorded` problem's "
        "option `data = FOLDER`)",
    )
    parser.add_argument("--list", action="store_true", help="list the families and exit")
    args = parser.parse_args(argv)
    if args.list:
        for spec in FAMILIES.values():
            print(f"{spec.name}: {spec.model}, {len(spec.tasks)} tasks: {', '.join(spec.tasks)}")
        return 0
    names = list(FAMILIES) if args.all else (args.family or [])
    if not names:
        parser.error("name a --family or use --all (--list shows them)")
    command = "OMP_NUM_THREADS={} python -m optuna_recipes.bench.recording {}".format(
        os.environ.get("OMP_NUM_THREADS", "unset"),
        " ".join(sys.argv[1:] if argv is None else argv),
    )
    for name in names:
        path = record_family(
            name,
            tasks=args.tasks.split(",") if args.tasks else None,
            n_sobol=args.configs,
            steps=args.steps,
            cv=args.cv,
            out=args.out,
            command=command,
        )
        print(f"wrote {path} ({path.stat().st_size / 1e6:.2f} MB)", flush=True)
    return 0
