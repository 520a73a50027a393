"""WarmStartPruner: pruning from the first trial, warm-up, directions, calibration, storages."""

from __future__ import annotations

import pickle

import numpy as np
import optuna
import pytest

from optuna_recipes.pruners import WarmStartPruner
from optuna_recipes.pruners._warm_start import weighted_percentile

N_STEPS = 10


def curve(quality: float, step: int, scale: float = 1.0, offset: float = 0.0) -> float:
    """A decreasing loss curve; higher ``quality`` = lower loss at every step."""
    return scale * (2.0 - quality) * np.exp(-0.2 * step) + offset


def _training(trial: optuna.Trial, sign: float = 1.0, **kw: float) -> float:
    q = trial.suggest_float("quality", 0.0, 1.0)
    for step in range(N_STEPS):
        trial.report(sign * curve(q, step, **kw), step)
        if trial.should_prune():
            raise optuna.TrialPruned()
    return sign * curve(q, N_STEPS - 1, **kw)


def _source(n: int = 20, **kw: float) -> optuna.Study:
    direction = "maximize" if kw.get("sign", 1.0) < 0 else "minimize"
    study = optuna.create_study(direction=direction, sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(lambda t: _training(t, **kw), n_trials=n)
    return study


def _enqueue_run(study: optuna.Study, qualities: list[float], **kw: float) -> None:
    for q in qualities:
        study.enqueue_trial({"quality": q})
    study.optimize(lambda t: _training(t, **kw), n_trials=len(qualities))


def test_prunes_from_the_very_first_trial_on_every_storage(
    storage: optuna.storages.BaseStorage,
) -> None:
    pruner = WarmStartPruner([_source()], n_warmup_steps=2)
    study = optuna.create_study(storage=storage, pruner=pruner)
    _enqueue_run(study, [0.05, 0.95])
    bad, good = study.trials
    assert bad.state == optuna.trial.TrialState.PRUNED
    assert bad.last_step == 2  # pruned at the first step after the warm-up
    assert good.state == optuna.trial.TrialState.COMPLETE
    # MedianPruner cannot prune the first trial at all.
    median = optuna.create_study(storage=storage, pruner=optuna.pruners.MedianPruner())
    _enqueue_run(median, [0.05])
    assert median.trials[0].state == optuna.trial.TrialState.COMPLETE


def test_never_prunes_before_the_warmup() -> None:
    study = optuna.create_study(pruner=WarmStartPruner([_source()], n_warmup_steps=6))
    _enqueue_run(study, [0.0])
    assert study.trials[0].last_step == 6


def test_direction_aware_and_opposite_direction_sources_wait_for_calibration() -> None:
    # Target maximizes -loss; a same-direction source prunes the bad trial at once.
    same = _source(sign=-1.0)
    study = optuna.create_study(direction="maximize", pruner=WarmStartPruner([same]))
    _enqueue_run(study, [0.05, 0.95], sign=-1.0)
    assert [t.state.name for t in study.trials] == ["PRUNED", "COMPLETE"]
    # A source with the opposite direction (another metric) is unused until calibrated.
    study = optuna.create_study(
        direction="maximize", pruner=WarmStartPruner([_source()], n_calibration_trials=3)
    )
    _enqueue_run(study, [0.05], sign=-1.0)
    assert study.trials[0].state.name == "COMPLETE"
    _enqueue_run(study, [0.5, 0.6, 0.7, 0.02], sign=-1.0)
    assert study.trials[-1].state.name == "PRUNED"


def test_rescales_sources_with_another_scale() -> None:
    # The source's losses are 100x larger and offset: raw comparison would prune everything
    # never; after calibration on the target's complete curves the bad trial is pruned.
    source = _source(scale=100.0, offset=50.0)
    pruner = WarmStartPruner([source], n_calibration_trials=3, percentile=50.0)
    study = optuna.create_study(pruner=pruner)
    _enqueue_run(study, [0.4, 0.5, 0.6])
    ref, _ = pruner.reference(study, 5)
    assert ref.max() < 2.0  # source values now on the target's scale
    _enqueue_run(study, [0.01, 0.99])
    assert [t.state.name for t in study.trials[-2:]] == ["PRUNED", "COMPLETE"]


def test_target_curves_take_over_as_they_accumulate() -> None:
    pruner = WarmStartPruner([_source()], source_weight=2.0)
    study = optuna.create_study(pruner=pruner)
    _enqueue_run(study, [0.9] * 10)
    _, weights = pruner.reference(study, 4)
    target_share = weights[:10].sum() / weights.sum()
    assert target_share == pytest.approx(10 / 12)


def test_works_with_any_sampler_and_saves_steps() -> None:
    steps = {}
    for name, pruner in (
        ("none", optuna.pruners.NopPruner()),
        ("warm", WarmStartPruner([_source(40)])),
    ):
        study = optuna.create_study(sampler=optuna.samplers.QMCSampler(seed=0), pruner=pruner)
        study.optimize(_training, n_trials=20)
        steps[name] = sum(len(t.intermediate_values) for t in study.trials)
        best = study.best_value
        steps[name + "_best"] = best
    assert steps["warm"] < 0.7 * steps["none"]
    assert steps["warm_best"] == pytest.approx(steps["none_best"])


def test_weighted_percentile() -> None:
    v = np.array([1.0, 2.0, 3.0, 4.0])
    assert weighted_percentile(v, np.ones(4), 50) == pytest.approx(2.5)
    assert weighted_percentile(v, np.array([10.0, 1, 1, 1]), 50) < 1.5


def test_pickles_and_prints_settings() -> None:
    pruner = WarmStartPruner([_source(5)], percentile=30.0)
    again = pickle.loads(pickle.dumps(pruner))
    assert "percentile=30.0" in repr(again)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"percentile": 0}, "`percentile` must be a number > 0 and <= 100; got 0"),
        ({"percentile": 101}, "`percentile` must be a number > 0 and <= 100; got 101"),
        ({"n_warmup_steps": -1}, "`n_warmup_steps` must be an int >= 0"),
        ({"interval_steps": 0}, "`interval_steps` must be an int >= 1"),
        ({"n_min_trials": 0}, "`n_min_trials` must be an int >= 1"),
        ({"n_calibration_trials": 1}, "`n_calibration_trials` must be an int >= 2"),
        ({"source_weight": -2}, "`source_weight` must be a number >= 0"),
    ],
)
def test_constructor_validates(kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        WarmStartPruner([_source(3)], **kwargs)
