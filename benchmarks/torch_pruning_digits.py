"""Pruning savings of ``TorchObjective`` on scikit-learn's digits.

30-trial studies with the same sampler seed, objective seed, data split, network builder
(``mlp``) and epoch budget: one without pruning, then one per pruner (``MedianPruner``,
``SuccessiveHalvingPruner``). Reports the best validation accuracy, the wall time of each study
and its ratio to the unpruned one (target: a pruned study reaches >= 0.97 accuracy in at most
60% of the unpruned wall time).

    python benchmarks/torch_pruning_digits.py --threads 1
"""

from __future__ import annotations

import argparse
import os
import platform
import sys
import time

import optuna
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split
import torch

from optuna_recipes.adapters.torch import TorchObjective
from optuna_recipes.adapters.torch import mlp


def run(
    pruner: optuna.pruners.BasePruner, args: argparse.Namespace
) -> tuple[optuna.Study, float, float]:
    x, y = load_digits(return_X_y=True)
    xt, xv, yt, yv = train_test_split(x / 16.0, y, test_size=0.25, stratify=y, random_state=0)
    objective = TorchObjective(
        lambda trial: mlp(trial, 64, 10),
        (xt, yt),
        (xv, yv),
        loss="cross_entropy",
        metric="accuracy",
        epochs=args.epochs,
        patience=args.patience,
        seed=0,
    )
    study = optuna.create_study(
        direction=objective.direction,
        sampler=optuna.samplers.TPESampler(seed=args.seed),
        pruner=pruner,
    )
    start, cpu = time.perf_counter(), time.process_time()
    study.optimize(objective, n_trials=args.trials)
    return study, time.perf_counter() - start, time.process_time() - cpu


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--threads", type=int, default=1)
    parser.add_argument("--trials", type=int, default=30)
    parser.add_argument("--epochs", type=int, default=30)
    parser.add_argument("--patience", type=int, default=5)
    parser.add_argument("--seed", type=int, default=0, help="TPE sampler seed")
    parser.add_argument("--startup", type=int, default=5, help="MedianPruner n_startup_trials")
    parser.add_argument("--warmup", type=int, default=2, help="MedianPruner n_warmup_steps")
    args = parser.parse_args()
    torch.set_num_threads(args.threads)
    optuna.logging.set_verbosity(optuna.logging.WARNING)

    print(f"Command: `python benchmarks/torch_pruning_digits.py {' '.join(sys.argv[1:])}`\n")
    print(
        f"torch {torch.__version__} on CPU ({platform.machine()}), "
        f"torch.set_num_threads({args.threads}); optuna {optuna.__version__}; digits "
        f"(1347 train / 450 validation, stratified); build_model = mlp(trial, 64, 10); "
        f"default training space; {args.trials} trials, TPESampler(seed={args.seed}), "
        f"objective seed 0, up to {args.epochs} epochs, patience {args.patience}.\n"
    )
    pruners = [
        ("no pruning (NopPruner)", optuna.pruners.NopPruner()),
        (
            f"MedianPruner(n_startup_trials={args.startup}, n_warmup_steps={args.warmup})",
            optuna.pruners.MedianPruner(n_startup_trials=args.startup, n_warmup_steps=args.warmup),
        ),
        ("SuccessiveHalvingPruner()", optuna.pruners.SuccessiveHalvingPruner()),
    ]
    rows = []
    for name, pruner in pruners:
        study, wall, cpu = run(pruner, args)
        states = [t.state for t in study.trials]
        epochs = sum(len(t.intermediate_values) for t in study.trials)
        rows.append((name, study.best_value, wall, cpu, epochs, states))
        sys.stderr.write(f"{name}: best {study.best_value:.4f} in {wall:.1f}s\n")
    base, base_cpu = rows[0][2], rows[0][3]
    print(
        "| study | best val. accuracy | wall time (s) | wall ratio | CPU time (s) | CPU ratio "
        "| epochs trained | pruned | failed |"
    )
    print("|---|---:|---:|---:|---:|---:|---:|---:|---:|")
    for name, best, wall, cpu, epochs, states in rows:
        pruned = sum(s == optuna.trial.TrialState.PRUNED for s in states)
        failed = sum(s == optuna.trial.TrialState.FAIL for s in states)
        print(
            f"| {name} | {best:.4f} | {wall:.1f} | {wall / base:.2f} | {cpu:.1f} | "
            f"{cpu / base_cpu:.2f} | {epochs} | {pruned} | {failed} |"
        )
    print("\nTarget: a pruned study reaches >= 0.97 and takes <= 0.60 of the unpruned wall time.")
    for name, best, wall, _, _, _ in rows[1:]:
        ok = best >= 0.97 and wall / base <= 0.60
        print(f"- {name}: {'met' if ok else 'NOT met'} (best {best:.4f}, ratio {wall / base:.2f})")


if __name__ == "__main__":
    load = os.getloadavg()[0]
    main()
    print(
        f"\nMachine load (1-min load average, {os.cpu_count()} CPUs, shared with other jobs): "
        f"{load:.1f} at the start, {os.getloadavg()[0]:.1f} at the end."
    )
