"""Does pruning pay? 100-trial XGBoost/LightGBM studies with and without an Optuna pruner.

For each seed, the same TPE study (same sampler seed, same folds) runs once per pruner arm
(``--pruners``): ``none`` (NopPruner: every trial trains until early stopping), ``recommended``
(``objective.recommended_pruner()``, see ``optuna_recipes.pruners.boosting_pruner``), or
an explicit ``median|percentile|hyperband[:key=value,...]``: ``median`` alone is
``MedianPruner(n_startup_trials=5, n_warmup_steps=10)``, keys ``startup``, ``warmup``,
``interval`` (and ``q`` for the percentile) change it; ``hyperband`` is
``HyperbandPruner(min_resource=10, max_resource=num_boost_round, reduction_factor=3)`` (keys
``min``, ``rf``). The arms are interleaved trial by trial (the arm that goes first rotates), so
that drifting load on a shared machine hits them alike; the per-fold data is built once before
the timed studies. Reported per run: best value after all trials, wall and CPU seconds (summed
over the arm's own trials), pruned trials, boosting rounds trained (summed over trials, the
cost axis). The summary compares each pruner with ``none``: best value (mean and standard
deviation over seeds) and wall-time ratio (target: <= 0.5 at the same best value).

With ``--runs FILE`` every finished seed is appended to a JSON-lines file and seeds already
there are skipped (a killed run resumes; two processes with disjoint ``--seeds`` can share the
file); ``--report-only`` prints the report of what the file holds. The report adds a paired
comparison of each pruner's best value with ``none``'s, seed by seed (Wilcoxon signed-rank).

Usage:
    python benchmarks/adapters_pruning.py --dataset breast_cancer --library xgboost
    python benchmarks/adapters_pruning.py --dataset synthetic --library lightgbm --cv 0.2
"""

from __future__ import annotations

import argparse
import json
from pathlib import Path
import statistics
import sys
import time
from typing import Any

import numpy as np
import optuna
from sklearn.datasets import load_breast_cancer
from sklearn.datasets import load_digits
from sklearn.datasets import make_classification

# Import the package of the checkout this script lives in, not another installed copy.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
optuna.logging.set_verbosity(optuna.logging.ERROR)


def _data(name: str) -> tuple[np.ndarray, np.ndarray]:
    if name == "breast_cancer":
        return load_breast_cancer(return_X_y=True)
    if name == "digits":
        return load_digits(return_X_y=True)
    if name == "synthetic":
        return make_classification(
            n_samples=100_000,
            n_features=10,
            n_informative=6,
            n_redundant=2,
            flip_y=0.05,
            class_sep=0.8,
            random_state=0,
        )
    raise SystemExit(f"unknown dataset {name!r}")


def _objective(args: argparse.Namespace, X: np.ndarray, y: np.ndarray, seed: int) -> Any:
    if args.library == "xgboost":
        from optuna_recipes.adapters.xgboost import XGBoostObjective as cls
    else:
        from optuna_recipes.adapters.lightgbm import LightGBMObjective as cls
    cv: Any = float(args.cv) if "." in args.cv else int(args.cv)
    return cls(
        X,
        y,
        metric=args.metric,
        cv=cv,
        num_boost_round=args.rounds,
        early_stopping_rounds=args.early_stopping,
        seed=seed,
        n_jobs=1,
        fixed_params=None if args.max_bin is None else {"max_bin": args.max_bin},
    )


_KEYS = {
    "median": {
        "startup": "n_startup_trials",
        "warmup": "n_warmup_steps",
        "interval": "interval_steps",
    },
    "percentile": {
        "q": "percentile",
        "startup": "n_startup_trials",
        "warmup": "n_warmup_steps",
        "interval": "interval_steps",
    },
    "hyperband": {"min": "min_resource", "rf": "reduction_factor"},
}


def _pruner(spec: str, objective: Any) -> optuna.pruners.BasePruner:
    """``none``, ``recommended`` (the adapter's ``objective.recommended_pruner()``), or
    ``median|percentile|hyperband[:key=value,...]``, e.g. ``median:startup=10,warmup=30``."""
    name, _, options = spec.partition(":")
    if name == "none":
        return optuna.pruners.NopPruner()
    if name == "recommended":
        return objective.recommended_pruner()
    if name not in _KEYS:
        raise SystemExit(f"unknown pruner {spec!r}")
    kwargs: dict[str, Any] = {}
    for item in filter(None, options.split(",")):
        key, _, value = item.partition("=")
        kwargs[_KEYS[name][key]] = float(value) if key == "q" else int(value)
    if name == "median":
        defaults = {"n_startup_trials": 5, "n_warmup_steps": 10}
        return optuna.pruners.MedianPruner(**{**defaults, **kwargs})
    if name == "percentile":
        defaults = {"percentile": 50.0, "n_startup_trials": 5, "n_warmup_steps": 10}
        return optuna.pruners.PercentilePruner(**{**defaults, **kwargs})
    defaults = {"min_resource": 10, "reduction_factor": 3}
    return optuna.pruners.HyperbandPruner(
        **{**defaults, **kwargs}, max_resource=objective.max_rounds
    )


def _report(args: argparse.Namespace, records: list[dict[str, Any]], maximize: bool) -> None:
    """Per-seed rows, then the summary and the paired comparison with ``none``."""
    print("| seed | pruner | best value | wall s | CPU s | pruned | rounds trained |")
    print("|---:|---|---:|---:|---:|---:|---:|")
    by: dict[str, dict[int, dict[str, Any]]] = {p: {} for p in args.pruners}
    for r in sorted(records, key=lambda r: (r["seed"], args.pruners.index(r["pruner"]))):
        by[r["pruner"]][r["seed"]] = r
        print(
            f"| {r['seed']} | {r['pruner']} | {r['best']:.5f} | {r['wall']:.1f} | "
            f"{r['cpu']:.1f} | {r['pruned']} | {r['rounds']} |"
        )
    base = by.get("none", {})
    print("\n## Summary (mean over seeds; ratios against `none` of the same seed)\n")
    print(
        "| pruner | seeds | best value mean ± sd | wall s mean | wall ratio | CPU ratio | "
        "rounds ratio |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|")
    for name in args.pruners:
        runs = by[name]
        if not runs:
            continue
        best = [r["best"] for r in runs.values()]
        sd = statistics.stdev(best) if len(best) > 1 else 0.0
        seeds = [s for s in runs if s in base]
        ratios = ["-", "-", "-"]
        if seeds:
            ratios = [
                f"{statistics.mean(runs[s][k] / base[s][k] for s in seeds):.2f}"
                for k in ("wall", "cpu", "rounds")
            ]
        print(
            f"| {name} | {len(runs)} | {statistics.mean(best):.5f} ± {sd:.5f} | "
            f"{statistics.mean(r['wall'] for r in runs.values()):.1f} | {ratios[0]} | "
            f"{ratios[1]} | {ratios[2]} |"
        )
    if len(base) < 2:
        return
    from scipy import stats

    sign = 1.0 if maximize else -1.0  # a positive difference = the pruned arm is better
    print("\n## Best value vs `none`, paired by seed\n")
    print(
        "Relative difference = (pruned - none) / |none|, signed so that > 0 means the pruned "
        "study ended better. `none` sd = the spread of `none`'s best over seeds, relative to "
        "its mean (the seed-to-seed noise). Wilcoxon: two-sided signed-rank test of the "
        "per-seed differences (exact for these sizes).\n"
    )
    print(
        "| pruner | seeds | better / worse / equal | mean rel. diff | worst seed | `none` sd "
        "(rel.) | Wilcoxon p |"
    )
    print("|---|---:|---|---:|---:|---:|---:|")
    base_best = [r["best"] for r in base.values()]
    noise = statistics.stdev(base_best) / abs(statistics.mean(base_best))
    for name in args.pruners:
        if name == "none":
            continue
        seeds = [s for s in by[name] if s in base]
        if len(seeds) < 2:
            continue
        diff = [sign * (by[name][s]["best"] - base[s]["best"]) for s in seeds]
        rel = [d / abs(base[s]["best"]) for d, s in zip(diff, seeds, strict=True)]
        better = sum(d > 0 for d in diff)
        worse = sum(d < 0 for d in diff)
        p = float(stats.wilcoxon(diff).pvalue) if any(d != 0 for d in diff) else 1.0
        print(
            f"| {name} | {len(seeds)} | {better} / {worse} / {len(seeds) - better - worse} | "
            f"{100 * statistics.mean(rel):+.2f}% | {100 * min(rel):+.2f}% | "
            f"{100 * noise:.2f}% | {p:.3f} |"
        )


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--dataset", default="breast_cancer")
    parser.add_argument("--library", default="xgboost", choices=["xgboost", "lightgbm"])
    parser.add_argument("--metric", default="log_loss")
    parser.add_argument("--cv", default="3")
    parser.add_argument("--rounds", type=int, default=300)
    parser.add_argument("--early-stopping", type=int, default=30)
    parser.add_argument("--trials", type=int, default=100)
    parser.add_argument("--max-bin", type=int, default=None, help="fixed histogram bins")
    parser.add_argument("--seeds", type=int, nargs="+", default=[0, 1, 2])
    parser.add_argument("--pruners", nargs="+", default=["none", "median", "hyperband"])
    parser.add_argument("--sampler", default="tpe", choices=["tpe", "random"])
    parser.add_argument(
        "--runs",
        default=None,
        help="JSON-lines file: each finished (seed, pruner) is appended; seeds already there "
        "(all pruners) are skipped, so a killed run resumes, and runs split over processes "
        "(--seeds) can share the file",
    )
    parser.add_argument(
        "--report-only", action="store_true", help="print the report of what --runs holds"
    )
    args = parser.parse_args()

    X, y = _data(args.dataset)
    print(f"# Pruning pays? {args.library}, {args.dataset}\n")
    print(
        "Command: `python " + " ".join(["benchmarks/adapters_pruning.py", *sys.argv[1:]]) + "`\n"
    )
    print(
        f"Data: {X.shape[0]} rows x {X.shape[1]} features; metric {args.metric}; cv={args.cv}; "
        f"num_boost_round={args.rounds}, early_stopping_rounds={args.early_stopping}; "
        f"max_bin={args.max_bin or 'library default'}; "
        f"{args.trials} {args.sampler.upper()} trials per study; n_jobs=1; "
        f"optuna {optuna.__version__}.\n"
    )
    records: list[dict[str, Any]] = []
    if args.runs is not None and Path(args.runs).exists():
        for line in Path(args.runs).read_text().splitlines():
            if line.strip():
                r = json.loads(line)
                if r["pruner"] in args.pruners and r["seed"] in args.seeds:
                    records.append(r)
    done = {
        s
        for s in args.seeds
        if all(any(r["seed"] == s and r["pruner"] == p for r in records) for p in args.pruners)
    }
    records = [r for r in records if r["seed"] in done]
    for seed in [] if args.report_only else [s for s in args.seeds if s not in done]:
        objective = _objective(args, X, y, seed)
        objective.evaluate({})  # builds the per-fold data once, outside the timed studies
        studies = {
            name: optuna.create_study(
                direction=objective.direction,
                sampler=(
                    optuna.samplers.TPESampler(seed=seed)
                    if args.sampler == "tpe"
                    else optuna.samplers.RandomSampler(seed=seed)
                ),
                pruner=_pruner(name, objective),
            )
            for name in args.pruners
        }
        wall = dict.fromkeys(args.pruners, 0.0)
        cpu = dict.fromkeys(args.pruners, 0.0)
        # Interleaved trial by trial (the arm that goes first rotates), so that drifting load
        # on a shared machine hits every arm alike.
        for i in range(args.trials):
            shift = i % len(args.pruners)
            for name in args.pruners[shift:] + args.pruners[:shift]:
                w, c = time.perf_counter(), time.process_time()
                studies[name].optimize(objective, n_trials=1)
                wall[name] += time.perf_counter() - w
                cpu[name] += time.process_time() - c
        for name, study in studies.items():
            states = [t.state for t in study.trials]
            record = {
                "seed": seed,
                "pruner": name,
                "direction": objective.direction,
                "best": study.best_value,
                "wall": wall[name],
                "cpu": cpu[name],
                "pruned": sum(s == optuna.trial.TrialState.PRUNED for s in states),
                "rounds": sum(len(t.intermediate_values) for t in study.trials),
            }
            records.append(record)
            if args.runs is not None:
                with open(args.runs, "a") as f:
                    f.write(json.dumps(record) + "\n")
        print(f"seed {seed} done", file=sys.stderr, flush=True)
    if not records:
        raise SystemExit("no finished seeds to report")
    _report(args, records, maximize=records[0]["direction"] == "maximize")


if __name__ == "__main__":
    main()
