"""Warm-start pruner benchmark on recorded learning curves (MLPClassifier epochs on digits).

Per seed: 4 related tasks (random 900-row subsamples of scikit-learn's digits with feature noise).
Three are sources: TPE studies of 100 trials, no pruning, reporting the validation log-loss after
every epoch (30 epochs of ``MLPClassifier.partial_fit``). On the fourth (the target) the learning
curves of 100 random configurations are recorded once, then replayed under each pruner, so every
pruner sees the same configurations in the same order and only the pruning decisions differ.
Figures: training steps (epochs) spent, over all 100 trials and over the first 10, and the best
final validation loss, relative to no pruning.

Usage: python benchmarks/warm_start_pruner.py [--seeds N] [--workers 2] > results/x.md
"""

from __future__ import annotations

import argparse
from concurrent.futures import ProcessPoolExecutor
from pathlib import Path
import sys
import time
from typing import Any
import warnings

import numpy as np
import optuna

# Import this checkout's package, not an installed one.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

N_EPOCHS = 20
N_TRIALS = 100
N_SOURCE_TRIALS = 100


def _task(rng: np.random.RandomState) -> dict[str, np.ndarray]:
    from sklearn.datasets import load_digits
    from sklearn.preprocessing import StandardScaler

    x, y = load_digits(return_X_y=True)
    idx = rng.choice(len(y), size=900, replace=False)
    xs = x[idx] + rng.normal(0, rng.uniform(0.5, 1.5), size=(900, x.shape[1]))
    scaler = StandardScaler().fit(xs[:600])
    return {
        "xt": scaler.transform(xs[:600]),
        "yt": y[idx][:600],
        "xv": scaler.transform(xs[600:]),
        "yv": y[idx][600:],
    }


def suggest(trial: optuna.Trial) -> dict[str, Any]:
    """The MLP's search space (mixed: log int, categorical, log floats)."""
    return {
        "width": trial.suggest_int("width", 8, 128, log=True),
        "activation": trial.suggest_categorical("activation", ["relu", "tanh", "logistic"]),
        "alpha": trial.suggest_float("alpha", 1e-6, 1e-1, log=True),
        "lr": trial.suggest_float("lr", 1e-4, 1e-1, log=True),
        "batch_size": trial.suggest_categorical("batch_size", [32, 64, 128, 256]),
    }


def learning_curve(trial: optuna.Trial, task: dict[str, np.ndarray]) -> list[float]:
    """Validation log-loss after each of ``N_EPOCHS`` epochs of an MLP (params from trial)."""
    from sklearn.exceptions import ConvergenceWarning
    from sklearn.metrics import log_loss
    from sklearn.neural_network import MLPClassifier

    p = suggest(trial)
    model = MLPClassifier(
        hidden_layer_sizes=(p["width"],),
        activation=p["activation"],
        alpha=p["alpha"],
        learning_rate_init=p["lr"],
        batch_size=p["batch_size"],
        random_state=0,
    )
    classes = np.arange(10)
    curve = []
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", ConvergenceWarning)
        for _ in range(N_EPOCHS):
            model.partial_fit(task["xt"], task["yt"], classes=classes)
            proba = np.clip(model.predict_proba(task["xv"]), 1e-7, 1.0)
            value = log_loss(task["yv"], proba / proba.sum(axis=1, keepdims=True), labels=classes)
            curve.append(float(min(value, 10.0)) if np.isfinite(value) else 10.0)
    return curve


def _reporting_objective(task: dict[str, np.ndarray]):
    def objective(trial: optuna.Trial) -> float:
        curve = learning_curve(trial, task)
        for step, v in enumerate(curve):
            trial.report(v, step)
        return curve[-1]

    return objective


def _replay(curves: list[list[float]], params: list[dict[str, Any]], counter: list[int]):
    def objective(trial: optuna.Trial) -> float:
        assert suggest(trial) == params[trial.number], "replay out of sync"
        curve = curves[trial.number]
        for step, v in enumerate(curve):
            counter[trial.number] += 1
            trial.report(v, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return curve[-1]

    return objective


def run_seed(seed: int) -> dict[str, Any]:
    optuna.logging.set_verbosity(optuna.logging.ERROR)
    from optuna_recipes.pruners import WarmStartPruner

    rng = np.random.RandomState(2000 + seed)
    tasks = [_task(rng) for _ in range(4)]
    t0 = time.perf_counter()
    sources = []
    for k in range(3):
        study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed * 10 + k))
        study.optimize(_reporting_objective(tasks[k]), n_trials=N_SOURCE_TRIALS)
        sources.append(study)
    # Record the target's curves for N_TRIALS random configurations.
    recorder = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
    recorder.optimize(_reporting_objective(tasks[3]), n_trials=N_TRIALS)
    curves = [[t.intermediate_values[s] for s in range(N_EPOCHS)] for t in recorder.trials]
    params = [t.params for t in recorder.trials]
    record_s = time.perf_counter() - t0

    pruners: dict[str, optuna.pruners.BasePruner] = {
        "none": optuna.pruners.NopPruner(),
        "MedianPruner": optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=2),
        "SuccessiveHalvingPruner": optuna.pruners.SuccessiveHalvingPruner(),
        "HyperbandPruner": optuna.pruners.HyperbandPruner(min_resource=1, max_resource=N_EPOCHS),
        "WarmStartPruner": WarmStartPruner(sources),
        "WarmStartPruner(percentile=25)": WarmStartPruner(sources, percentile=25.0),
    }
    out: dict[str, Any] = {"seed": seed, "record_s": record_s, "pruners": {}}
    for name, pruner in pruners.items():
        counter = [0] * N_TRIALS
        # The same seeded RandomSampler re-creates the recorded configurations in order.
        study = optuna.create_study(
            sampler=optuna.samplers.RandomSampler(seed=seed), pruner=pruner
        )
        study.optimize(_replay(curves, params, counter), n_trials=N_TRIALS)
        complete = [t.value for t in study.trials if t.state.name == "COMPLETE"]
        out["pruners"][name] = {
            "steps": sum(counter),
            "steps10": sum(counter[:10]),
            "best": min(complete) if complete else float("inf"),
            "n_pruned": sum(t.state.name == "PRUNED" for t in study.trials),
        }
    return out


def report(results: list[dict[str, Any]], command: str, elapsed: float) -> str:
    names = list(results[0]["pruners"])
    lines = [
        "# WarmStartPruner benchmark (recorded MLP learning curves on digits)",
        "",
        f"Command: `{command}`",
        "",
        f"{len(results)} seeds; per seed 3 source studies x {N_SOURCE_TRIALS} TPE trials with "
        f"full curves, and {N_TRIALS} random target configurations x {N_EPOCHS} epochs replayed "
        "under each pruner (same configurations for all). Steps = epochs trained. 'best' = "
        f"best final validation log-loss of complete trials. Wall time {elapsed:.0f} s.",
        "",
        "| pruner | steps (mean) | steps vs none | steps, first 10 trials (mean) | "
        "best (mean) | best vs none (mean, worst seed) | pruned trials (mean) |",
        "|---|---|---|---|---|---|---|",
    ]
    base_steps = np.array([r["pruners"]["none"]["steps"] for r in results], dtype=float)
    base_best = np.array([r["pruners"]["none"]["best"] for r in results], dtype=float)
    for name in names:
        steps = np.array([r["pruners"][name]["steps"] for r in results], dtype=float)
        steps10 = np.array([r["pruners"][name]["steps10"] for r in results], dtype=float)
        best = np.array([r["pruners"][name]["best"] for r in results], dtype=float)
        rel = best / base_best - 1.0
        pruned = np.mean([r["pruners"][name]["n_pruned"] for r in results])
        lines.append(
            f"| {name} | {steps.mean():.0f} | {np.mean(steps / base_steps - 1) * 100:+.1f}% | "
            f"{steps10.mean():.0f} | {best.mean():.4f} | {rel.mean() * 100:+.2f}%, "
            f"{rel.max() * 100:+.2f}% | {pruned:.1f} |"
        )
    lines += ["", "Per seed (steps / steps in first 10 trials / best):", ""]
    lines += ["| seed | " + " | ".join(names) + " |", "|---" * (len(names) + 1) + "|"]
    for r in results:
        cells = [
            f"{p['steps']} / {p['steps10']} / {p['best']:.4f}"
            for p in (r["pruners"][n] for n in names)
        ]
        lines.append(f"| {r['seed']} | " + " | ".join(cells) + " |")
    return "\n".join(lines) + "\n"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seeds", type=int, default=4)
    parser.add_argument("--workers", type=int, default=2)
    args = parser.parse_args()
    t0 = time.perf_counter()
    with ProcessPoolExecutor(max_workers=min(args.workers, 2)) as pool:
        results = list(pool.map(run_seed, range(args.seeds)))
    print(report(results, "python " + " ".join(sys.argv), time.perf_counter() - t0))
    return 0


if __name__ == "__main__":
    sys.exit(main())
