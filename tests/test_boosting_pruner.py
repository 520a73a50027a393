"""BoostingPruner and the step protocol (``optuna_recipes.pruners._boosting``)."""

from __future__ import annotations

from typing import Any

from _objective_kit import GDObjective
import optuna
from optuna.trial import TrialState
import pytest
from sklearn.datasets import load_breast_cancer

from optuna_recipes import _optuna_compat as compat
from optuna_recipes.adapters import BoostingPruner as FromAdapters
from optuna_recipes.adapters import boosting_pruner as from_adapters
from optuna_recipes.pruners import BoostingPruner
from optuna_recipes.pruners import boosting_pruner
from optuna_recipes.pruners._boosting import StepDecider
from optuna_recipes.pruners._boosting import decision_rule


def _decisions(pruner: optuna.pruners.BasePruner, n_complete: int, steps: int) -> list[int]:
    """Steps at which ``pruner`` stops a trial that is worse than ``n_complete`` finished ones."""
    study = optuna.create_study(pruner=pruner)
    for _ in range(n_complete):
        trial = study.ask()
        for step in range(steps):
            trial.report(1.0, step)
        study.tell(trial, 1.0)
    bad = study.ask()
    pruned_at = []
    for step in range(steps):
        bad.report(2.0, step)
        if bad.should_prune():
            pruned_at.append(step)
    return pruned_at


def test_public_paths() -> None:
    assert FromAdapters is BoostingPruner and from_adapters is boosting_pruner
    assert isinstance(boosting_pruner(10), StepDecider)


def test_boosting_pruner_waits_for_startup_and_warmup_and_decides_at_intervals() -> None:
    # 300 rounds: warm-up 30 rounds, a decision every 5 rounds, after 5 finished trials.
    assert _decisions(boosting_pruner(300), n_complete=5, steps=51) == [30, 35, 40, 45, 50]
    assert _decisions(boosting_pruner(300), n_complete=4, steps=51) == []
    # 1000 rounds: warm-up 100, interval 16; short budgets decide every round after 10.
    assert _decisions(boosting_pruner(1000), n_complete=5, steps=140) == [100, 116, 132]
    assert _decisions(boosting_pruner(60), n_complete=5, steps=14) == [10, 11, 12, 13]
    for bad in (0, -5, 2.5, True, "300"):
        with pytest.raises(ValueError, match="`max_rounds` must be an int >= 1"):
            boosting_pruner(bad)  # type: ignore[arg-type]


def test_decision_rule_follows_the_protocol_by_duck_typing() -> None:
    class OwnPruner(optuna.pruners.BasePruner):  # no base class of ours, only the method
        def decides_at(self, step: int) -> bool:
            return step == 3

        def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
            return False

    assert [s for s in range(6) if decision_rule(OwnPruner())(s)] == [3]
    assert not any(decision_rule(optuna.pruners.NopPruner())(s) for s in range(6))
    assert all(decision_rule(optuna.pruners.MedianPruner())(s) for s in range(6))
    assert all(decision_rule(None)(s) for s in range(6))


def test_boosting_pruner_is_asked_only_where_it_decides_and_prunes_like_median(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    pruner = boosting_pruner(300)
    assert isinstance(pruner, BoostingPruner) and isinstance(pruner, optuna.pruners.MedianPruner)
    decides = [step for step in range(51) if pruner.decides_at(step)]
    assert decides == [30, 35, 40, 45, 50] == _decisions(pruner, n_complete=5, steps=51)
    X, y = load_breast_cancer(return_X_y=True)
    obj = GDObjective(X, y, cv=3, max_rounds=40, early_stopping_rounds=None)

    def run(pruner: optuna.pruners.BasePruner) -> tuple[list[Any], list[int]]:
        asked: list[int] = []
        original = optuna.Trial.should_prune

        def spy(self: optuna.Trial) -> bool:
            frozen = self.storage.get_trial(compat.trial_id_of(self))
            asked.append(len(frozen.intermediate_values) - 1)
            return original(self)

        monkeypatch.setattr(optuna.Trial, "should_prune", spy)
        study = optuna.create_study(
            direction=obj.direction, sampler=optuna.samplers.RandomSampler(seed=3), pruner=pruner
        )
        study.optimize(obj, n_trials=14)
        monkeypatch.undo()
        return [(t.state, len(t.intermediate_values)) for t in study.trials], asked

    fast, asked_fast = run(BoostingPruner(n_startup_trials=5, n_warmup_steps=10, interval_steps=4))
    plain, asked_plain = run(
        optuna.pruners.MedianPruner(n_startup_trials=5, n_warmup_steps=10, interval_steps=4)
    )
    assert fast == plain  # the same trials pruned at the same rounds
    assert any(state == TrialState.PRUNED for state, _ in fast)
    assert set(asked_fast) <= {10, 14, 18, 22, 26, 30, 34, 38}  # only at decision rounds
    assert len(asked_plain) > 3 * len(asked_fast)  # the plain pruner is asked every round
