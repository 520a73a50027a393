"""benchmarks/paired.py: one strategy of one bench folder against one of another, per block."""

from __future__ import annotations

from pathlib import Path

from _bench_helpers import load_benchmark_script
import optuna
import pandas as pd
import pytest

from optuna_recipes.bench import compare as bench_compare

paired = load_benchmark_script("paired")


def _runs(strategy: str, finals: list[float], direction: str = "maximize") -> pd.DataFrame:
    """Two-trial runs on problems p0, p1, ... (seed 0): first value 0, then ``finals[i]``."""
    rows = []
    for i, final in enumerate(finals):
        best = max(0.0, final) if direction == "maximize" else min(0.0, final)
        for trial, (value, so_far) in enumerate([(0.0, 0.0), (final, best)]):
            rows.append(
                {
                    "group": "g",
                    "problem": f"p{i}",
                    "strategy": strategy,
                    "seed": 0,
                    "trial": trial,
                    "value": value,
                    "best": so_far,
                    "direction": direction,
                    "optimum": float("nan"),
                    "cum_steps": float("nan"),
                    "wall_time": float("nan"),
                }
            )
    return pd.DataFrame(rows)


def test_counts_follow_the_direction_and_the_second_strategy() -> None:
    first = _runs(paired.FIRST, [1.0, 2.0, 3.0, 4.0, 5.0, 6.0])
    second = _runs(paired.SECOND, [2.0, 3.0, 4.0, 5.0, 6.0, 6.0])  # maximized: five better
    table = paired.compare(first, second, budgets=(0.5, 1.0))
    start, end = table.iloc[0], table.iloc[1]
    assert (start["better"], start["worse"], start["level"]) == (0, 0, 6)  # trial 1 only
    assert (end["blocks"], end["better"], end["worse"], end["level"]) == (6, 5, 0, 1)
    assert end["median_diff"] < 0  # negative: the second has less regret
    # Swapped, the same blocks count the other way and the difference changes sign.
    swapped = paired.compare(
        first.assign(strategy=paired.SECOND), second.assign(strategy=paired.FIRST), (1.0,)
    ).iloc[0]
    assert (swapped["better"], swapped["worse"]) == (0, 5)
    assert swapped["median_diff"] == pytest.approx(-end["median_diff"])
    assert swapped["p"] == pytest.approx(end["p"])


def _quadratic(trial: optuna.Trial) -> float:
    return (trial.suggest_float("x", -5.0, 5.0) - 1.0) ** 2 + trial.suggest_float("y", 0, 1)


def test_command_reads_a_folder_without_digest_and_names_bad_input(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    out = tmp_path / "cmp"
    df = bench_compare(
        _quadratic, ["random", "tpe"], n_trials=16, seeds=3, out=out, progress=False
    )
    assert not (out / "digest.csv.gz").exists()
    assert paired.main([f"{out}:random", f"{out}:tpe", "--budgets", "0.5,1"]) == 0
    text = capsys.readouterr().out
    lines = text.splitlines()
    assert "second = " in lines[0] and len(lines) == 4
    # TPE's first 10 trials are random search with the same seed: level at 8 trials.
    half = lines[2].split()
    assert half[2:6] == ["3", "0", "0", "3"]
    final = df[df["trial"] == 15].set_index(["seed", "strategy"])["best"].unstack()
    better = int((final["tpe"] < final["random"]).sum())
    assert lines[3].split()[3] == str(better)
    assert not (out / "digest.csv.gz").exists()  # nothing written into the folder

    assert paired.main([f"{out}:random", f"{out}:cmaes"]) == 2
    assert "no runs of strategy 'cmaes'; it has: random, tpe" in capsys.readouterr().err
    assert paired.main([str(out), f"{out}:tpe"]) == 2
    assert "write FOLDER:STRATEGY" in capsys.readouterr().err
    assert paired.main([f"{tmp_path / 'nowhere'}:ga", f"{out}:tpe"]) == 2
    assert "does not exist" in capsys.readouterr().err
