"""benchmarks/ws_arms.py: how WarmStartSampler spent its trials, read from a bench storage."""

from __future__ import annotations

from pathlib import Path

from _bench_helpers import load_benchmark_script
import optuna
from optuna.storages import JournalStorage
from optuna.storages.journal import JournalFileBackend
import pytest

from optuna_recipes.samplers import WarmStartSampler

ws_arms = load_benchmark_script("ws_arms")


def _objective(trial: optuna.Trial, shift: float) -> float:
    x = trial.suggest_float("x", -3, 3)
    kind = trial.suggest_categorical("kind", ["a", "b"])
    return -((x - shift) ** 2) - (kind == "b")  # maximized


def test_modes_and_new_bests_are_read_per_trial_in_study_direction(tmp_path: Path) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    storage = JournalStorage(JournalFileBackend(str(tmp_path / "studies.journal")))
    source = optuna.create_study(
        study_name="s:p@source0/tpe/seed0",
        storage=storage,
        direction="maximize",
        sampler=optuna.samplers.TPESampler(seed=0),
    )
    source.optimize(lambda t: _objective(t, 1.0), n_trials=20)
    target = optuna.create_study(
        study_name="s:p/warmstart/seed0",
        storage=storage,
        direction="maximize",
        sampler=WarmStartSampler([source], seed=0),
    )
    target.optimize(lambda t: _objective(t, 1.2), n_trials=14)

    modes = ws_arms.trial_modes(storage)
    assert set(modes["study"]) == {"s:p/warmstart/seed0"}  # the source records no mode
    assert list(modes["number"]) == list(range(14))
    assert modes["mode"].iloc[0] == "proposal" and bool(modes["new_best"].iloc[0])
    best = -float("inf")
    values = [float(t.value) for t in target.trials if t.value is not None]
    for value, new in zip(values, modes["new_best"], strict=True):  # maximized: larger is new
        assert new == (value > best)
        best = max(best, value)

    table = ws_arms.summarize(modes)
    assert list(dict.fromkeys(table["phase"])) == ["1-10", "11-30"]
    assert table.groupby("phase")["share"].sum().round(9).eq(1.0).all()
    assert table["trials"].sum() == 14


def test_the_command_names_the_missing_journal(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    assert ws_arms.main([str(tmp_path)]) == 2
    assert "studies.journal does not exist" in capsys.readouterr().err
