"""Harness overhead per trial, next to Optuna's own per-trial cost (same sampler, objective).

For each configuration, the same runs (problem x seeds, RandomSampler or TPESampler, a cheap
synthetic objective) are executed three ways, in this process, one after the other:

- `optuna (fsync journal)`: plain `study.optimize` on Optuna's `JournalFileBackend` (the
  default file storage, which fsyncs every write);
- `optuna (journal, no fsync)`: plain `study.optimize` on the journal file backend the harness
  uses by default (same format, no fsync);
- `optuna (in memory)`: plain `study.optimize` on `InMemoryStorage`;
- `harness`: `run_suite(..., workers=1, report=False)` on its default storage. A run optimizes
  in memory with the sampler timing wrapper, then writes the study to the journal file (one
  operation per trial) with its timings; add the resume checks, the results collection and
  the CSV files.

Per trial: wall time of the whole thing divided by the number of trials. "Optuna's own cost" is
`optuna (in memory)` minus the time inside the sampler (from the harness's records: the same
work in all of them, since the seeds are the same) and minus the pure objective (the same
parameters evaluated again without storage); it is Optuna's loop per trial. The harness
overhead is `harness` minus `optuna (in memory)`: everything the harness adds, its storage
writes included. Median of 3 repetitions.

Usage: python benchmarks/harness_overhead.py > benchmarks/results/harness_overhead.md
"""

from __future__ import annotations

import os
from pathlib import Path
import statistics
import sys
import tempfile
import time

import optuna

# `python benchmarks/harness_overhead.py` puts benchmarks/ first on sys.path: use this checkout.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from optuna_recipes.bench import run_suite
from optuna_recipes.bench.problems import make_problem
from optuna_recipes.bench.runner import _journal_file_backend
from optuna_recipes.bench.runner import open_storage
from optuna_recipes.bench.strategies import parse_strategy

N_TRIALS = 100
SEEDS = 6
REPEATS = 3
SUITE = """
[suite]
trials = {trials}
seeds = {seeds}
strategies = ["{strategy}"]

[[problems]]
name = "sphere"
type = "mixed"
options = {{ function = "sphere", n_float = 3, n_int = 2, n_cat = 1 }}
"""


def plain(strategy: str, storage_factory, tmp: Path) -> float:
    problem = make_problem("mixed", {"function": "sphere", "n_float": 3, "n_int": 2, "n_cat": 1})
    storage = storage_factory(tmp)
    start = time.perf_counter()
    for seed in range(SEEDS):
        study = optuna.create_study(
            storage=storage,
            sampler=parse_strategy(strategy).build_sampler(seed=seed),
            pruner=optuna.pruners.NopPruner(),
            study_name=f"s{seed}",
        )
        study.optimize(problem, n_trials=N_TRIALS)
    return (time.perf_counter() - start) / (SEEDS * N_TRIALS)


def harness(strategy: str, tmp: Path) -> tuple[float, float, float]:
    """Per trial: harness wall time, time inside the sampler, pure objective time."""
    suite = tmp / "overhead.toml"
    suite.write_text(SUITE.format(trials=N_TRIALS, seeds=SEEDS, strategy=strategy))
    start = time.perf_counter()
    result = run_suite(str(suite), tmp / "out", workers=1, progress=False, report=False)
    per_trial = (time.perf_counter() - start) / (SEEDS * N_TRIALS)
    sampler = float(result.results["sampler_time"].mean())
    # The harness's objective time includes the storage writes of trial.suggest_*; the pure
    # objective is timed again here on the same parameters without any storage.
    problem = make_problem("mixed", {"function": "sphere", "n_float": 3, "n_int": 2, "n_cat": 1})
    storage = open_storage(str((tmp / "out" / "studies.journal").resolve()))
    params = [
        t.params
        for s in optuna.get_all_study_summaries(storage)
        for t in optuna.load_study(study_name=s.study_name, storage=storage).trials
    ]
    start = time.perf_counter()
    for p in params:
        problem(optuna.trial.FixedTrial(p))
    pure = (time.perf_counter() - start) / len(params)
    return per_trial, sampler, pure


def main() -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    print("# Harness overhead per trial\n")
    print("Command: `python benchmarks/harness_overhead.py`\n")
    print(
        f"{SEEDS} runs x {N_TRIALS} trials, cheap mixed-space objective, one process, "
        f"median of {REPEATS} repetitions; machine: {os.cpu_count()} cores, load average "
        f"{os.getloadavg()[0]:.1f} at start (shared with other jobs). Times in ms per trial.\n"
    )
    print(
        "| sampler | optuna (fsync journal) | optuna (journal, no fsync) | optuna (in memory) | "
        "harness | sampler | objective | Optuna's own cost (in memory) | Optuna's own cost "
        "(journal, no fsync) | harness overhead | overhead / own cost in memory | "
        "overhead / own cost on the journal |"
    )
    print("|---|---|---|---|---|---|---|---|---|---|---|---|")
    for strategy in ("random", "tpe"):
        fsync, nosync, memory, ours, sampler, pure = [], [], [], [], [], []
        for _ in range(REPEATS):
            with tempfile.TemporaryDirectory() as d:
                tmp = Path(d)
                fsync.append(
                    plain(
                        strategy,
                        lambda t: optuna.storages.JournalStorage(
                            optuna.storages.journal.JournalFileBackend(str(t / "a.journal"))
                        ),
                        tmp,
                    )
                )
                nosync.append(
                    plain(
                        strategy,
                        lambda t: optuna.storages.JournalStorage(
                            _journal_file_backend(str(t / "b.journal"))
                        ),
                        tmp,
                    )
                )
                memory.append(plain(strategy, lambda t: optuna.storages.InMemoryStorage(), tmp))
                h, s, o = harness(strategy, tmp)
                ours.append(h)
                sampler.append(s)
                pure.append(o)
        f, n, m, h, s, o = (
            statistics.median(x) * 1e3 for x in (fsync, nosync, memory, ours, sampler, pure)
        )
        own, own_journal = m - s - o, n - s - o
        print(
            f"| {strategy} | {f:.2f} | {n:.2f} | {m:.2f} | {h:.2f} | {s:.2f} | {o:.3f} | "
            f"{own:.2f} | {own_journal:.2f} | {h - m:.2f} | {(h - m) / own:.2f} | "
            f"{(h - m) / own_journal:.2f} |"
        )
        sys.stdout.flush()
    print(
        "\nThe harness keeps every trial in a journal file (its default storage), so its "
        "overhead includes those writes. Against Optuna's own loop in memory (no storage "
        "writes at all) it is several times larger; against Optuna's own per-trial cost on "
        "the same journal file, which is what a user pays to keep the trials, it is the "
        "last column."
    )


if __name__ == "__main__":
    main()
