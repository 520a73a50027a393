"""The adapter contract, written once and run against every objective class.

:class:`ObjectiveContract` is what every objective promises (see the README sections on the
adapters and ``optuna_recipes.adapters._base``): bad input refused before training, a failing
configuration fails only its trial, every round reported and the best one recorded (also when
pruned), the step protocol of pruners respected, the direction following the metric, the
search space as documented, ``evaluate``/``refit``/``save_best``/``load_best`` reproducing the
trials, and the refit model uploaded as an artifact. ``TestObjectiveContract`` runs it for each
:class:`~_objective_kit.Kit` (numpy gradient descent, XGBoost, LightGBM, PyTorch,
scikit-learn), as Optuna's ``optuna.testing.pytest_samplers`` does for samplers.
Library-specific behaviour (data objects, callbacks in the user's loops, the Keras-style model,
scikit-learn pipelines) is tested in the library's own file.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path
from typing import Any

from _objective_kit import KITS
from _objective_kit import Kit
from _objective_kit import require
import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState
import pytest
from sklearn.datasets import load_breast_cancer

from optuna_recipes.adapters import load_best
from optuna_recipes.adapters import save_best

Data = tuple[np.ndarray, np.ndarray]


@pytest.fixture(scope="module")
def data() -> Data:
    X, y = load_breast_cancer(return_X_y=True)
    return ((X - X.mean(0)) / X.std(0)).astype(np.float32), y


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    """Small models on a shared 2-core box: one torch thread (the boosting kits use n_jobs=1)."""
    try:
        import torch
    except ImportError:
        yield
        return
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def _study(direction: str, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    return optuna.create_study(
        direction=direction,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=pruner or optuna.pruners.NopPruner(),
    )


class _PruneFrom(optuna.pruners.BasePruner):
    def __init__(self, step: int) -> None:
        self.step = step

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.last_step is not None and trial.last_step >= self.step


class _Deciding(optuna.pruners.BasePruner):
    """Implements the step protocol: can decide at steps 1, 4, 7, ...; records where asked."""

    def __init__(self) -> None:
        self.asked: list[int] = []

    def decides_at(self, step: int) -> bool:
        return step % 3 == 1

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        assert trial.last_step is not None
        self.asked.append(trial.last_step)
        return False


class ObjectiveContract:
    """The contract of an objective class; a subclass provides the ``kit`` fixture."""

    @pytest.fixture
    def kit(self) -> Kit:
        raise NotImplementedError

    def test_bad_input_raises_before_training(self, kit: Kit, data: Data) -> None:
        X, y = data
        y_nan = y.astype(float)
        y_nan[3] = np.nan
        one_class_fold = [(np.arange(50), np.flatnonzero(y == 0)[:10])]
        cases: list[tuple[Any, Any, dict[str, Any], str]] = [
            (X, y_nan, {}, "NaN or infinite"),
            (X, y[:-2], {}, "same length"),
            (X, y, {"metric": "auc_pr_typo"}, "Unknown `metric='auc_pr_typo'`"),
            (X, y, {"metric": "r2"}, "does not fit task 'binary'"),
            (X, y, {"space": {"max_dept": FloatDistribution(1, 3)}}, "'max_dept'"),
            (X, y, {"space": {"not_there": None}}, "not in the default search space"),
            (X, y, {"space": [("lr", None)]}, "`space` must be a dict"),
            (X, y, {"fixed_params": 3}, "`fixed_params` must be a dict"),
            (X, y, {"cv": one_class_fold}, "single class"),
            (X, y, {"cv": 1}, "`cv` as an int must be >= 2"),
            (X, y, {"rounds": 0}, f"`{kit.rounds_arg}` must be an int >= 1"),
            (X, y, {"patience": 0}, f"`{kit.patience_arg}` must be an int >= 1 or None"),
            (X, y, {"seed": 1.5}, "`seed` must be an int"),
        ]
        for X_, y_, kwargs, match in cases:
            with pytest.raises(ValueError, match=match):
                kit.build(X_, y_, **kwargs)
        with pytest.raises(TypeError, match="'metirc'; did you mean 'metric'"):
            kit.build(X, y, metirc="roc_auc")

    def test_failing_configuration_fails_only_its_trial(self, kit: Kit, data: Data) -> None:
        objective, param, bad, good, reason = kit.failing(*data)
        study = _study(objective.direction)
        study.enqueue_trial({param: bad})
        study.enqueue_trial({param: good})
        with pytest.warns(RuntimeWarning, match="failed during"):
            study.optimize(objective, n_trials=2)
        failed, done = study.trials
        assert failed.state == TrialState.FAIL and reason in failed.user_attrs["fail_reason"]
        assert done.state == TrialState.COMPLETE and np.isfinite(done.value)

    def test_every_round_is_reported_and_the_best_recorded(self, kit: Kit, data: Data) -> None:
        objective = kit.build(*data, metric="log_loss", cv=3, seed=0)
        assert objective.direction == "minimize" and objective.task == "binary"
        assert len(objective.folds) == 3
        study = _study(objective.direction)
        study.optimize(objective, n_trials=3)
        for trial in study.trials:
            assert trial.state == TrialState.COMPLETE
            curve = trial.intermediate_values
            assert list(curve) == list(range(trial.user_attrs["n_rounds"]))
            assert trial.value == min(curve.values())
            assert curve[trial.user_attrs["best_iteration"]] == trial.value
            assert trial.user_attrs["best_value"] == trial.value
            assert trial.user_attrs["metric"] == "log_loss"
            scores = trial.user_attrs["fold_scores"]
            assert len(scores) == 3 and np.mean(scores) == pytest.approx(trial.value)
        best = study.best_trial
        assert objective.evaluate(best.params)["value"] == pytest.approx(best.value, rel=1e-9)

    def test_pruned_trial_records_its_best_so_far(self, kit: Kit, data: Data) -> None:
        objective = kit.build(*data, cv=3, rounds=8, patience=None)
        study = _study(objective.direction, _PruneFrom(2))
        study.optimize(objective, n_trials=2)
        for trial in study.trials:
            assert trial.state == TrialState.PRUNED
            values = trial.intermediate_values
            assert sorted(values) == [0, 1, 2]
            assert trial.user_attrs["best_value"] == min(values.values())
            assert values[trial.user_attrs["best_iteration"]] == trial.user_attrs["best_value"]
            assert len(trial.user_attrs["fold_scores"]) == 3

    def test_pruners_are_asked_per_the_step_protocol(
        self, kit: Kit, data: Data, monkeypatch: pytest.MonkeyPatch
    ) -> None:
        objective = kit.build(*data, cv=3, rounds=8, patience=None)
        deciding = _Deciding()
        _study(objective.direction, deciding).optimize(objective, n_trials=2)
        assert deciding.asked == [1, 4, 7] * 2  # only where it decides; every round reported
        asked: list[int] = []
        original = optuna.Trial.should_prune

        def spy(self: optuna.Trial) -> bool:
            asked.append(1)
            return original(self)

        monkeypatch.setattr(optuna.Trial, "should_prune", spy)
        nop = _study(objective.direction)
        nop.optimize(objective, n_trials=1)
        assert asked == []  # a NopPruner never prunes: it is not asked
        assert len(nop.trials[0].intermediate_values) == 8
        _study(objective.direction, _PruneFrom(100)).optimize(objective, n_trials=1)
        assert len(asked) == 8  # any other pruner: every round

    def test_direction_follows_the_metric(self, kit: Kit, data: Data) -> None:
        assert kit.build(*data, metric="roc_auc", cv=3).direction == "maximize"
        objective = kit.build(*data, metric="log_loss", cv=3)
        assert objective.direction == "minimize" and objective.metric.name == "log_loss"
        wrong = _study("maximize")
        wrong.optimize(objective, n_trials=1)
        with pytest.raises(ValueError, match="The study's direction is maximize"):
            save_best(wrong, "unused.json", objective=objective)

    def test_search_space_overrides_and_fixed_params(self, kit: Kit, data: Data) -> None:
        name, value = kit.fixed
        objective = kit.build(*data, cv=3)
        space = objective.search_space
        assert name in space
        space.clear()  # a copy
        assert name in objective.search_space
        removed = kit.build(*data, cv=3, space={name: None})
        assert set(removed.search_space) == set(objective.search_space) - {name}
        fixed = kit.build(*data, cv=3, fixed_params={name: value}, rounds=2)
        assert name not in fixed.search_space and fixed.fixed_params == {name: value}
        study = _study(fixed.direction)
        study.optimize(fixed, n_trials=1)
        assert name not in study.trials[0].params

    def test_refit_and_saved_params_reproduce(self, kit: Kit, data: Data, tmp_path: Path) -> None:
        X, y = data
        objective = kit.build(X, y, cv=3, seed=7)
        study = _study(objective.direction)
        study.optimize(objective, n_trials=3)
        record = save_best(study, tmp_path / "best.json", objective=objective)
        assert json.loads((tmp_path / "best.json").read_text()) == record
        best = study.best_trial
        assert record["params"] == best.params and record["value"] == best.value
        assert record["best_iteration"] == best.user_attrs["best_iteration"]
        assert record["library"] == objective.library and record["seed"] == 7
        assert record["data_shape"] == list(X.shape) and record["task"] == "binary"
        assert record["optuna_version"] == optuna.__version__
        model = objective.refit(study)
        expected = kit.predict(objective, model, X)
        fresh = kit.build(X, y, cv=3, seed=7)  # a new objective and the JSON file alone
        again = fresh.refit(load_best(tmp_path / "best.json"))
        np.testing.assert_array_equal(kit.predict(fresh, again, X), expected)
        rounds = record["best_iteration"] + 1
        same = objective.refit(best.params, n_rounds=rounds)
        np.testing.assert_array_equal(kit.predict(objective, same, X), expected)
        assert kit.n_rounds(model) in (None, rounds)
        (tmp_path / "other.json").write_text("{}")
        with pytest.raises(ValueError, match="not written by"):
            load_best(tmp_path / "other.json")

    def test_artifact_is_the_refit_model(self, kit: Kit, data: Data, tmp_path: Path) -> None:
        from optuna.artifacts import FileSystemArtifactStore
        from optuna.artifacts import download_artifact
        from optuna.artifacts import get_all_artifact_meta

        X, y = data
        objective = kit.build(X, y, cv=3)
        study = _study(objective.direction)
        study.optimize(objective, n_trials=2)
        (tmp_path / "store").mkdir()
        store = FileSystemArtifactStore(str(tmp_path / "store"))
        record = save_best(
            study, tmp_path / "best.json", objective=objective, artifact_store=store
        )
        metas = get_all_artifact_meta(study)
        assert [m.artifact_id for m in metas] == [record["model_artifact_id"]]
        number = study.best_trial.number
        assert metas[0].filename == f"{objective.library}-best-trial{number}{kit.suffix}"
        path = str(tmp_path / f"model{kit.suffix}")
        download_artifact(artifact_store=store, artifact_id=metas[0].artifact_id, file_path=path)
        expected = kit.predict(objective, objective.refit(study), X)
        saved = kit.load(objective, path, X, study.best_params)
        np.testing.assert_array_equal(saved, expected)


class TestObjectiveContract(ObjectiveContract):
    @pytest.fixture(params=sorted(KITS))
    def kit(self, request: pytest.FixtureRequest) -> Kit:
        kit = KITS[request.param]
        require(kit)
        return kit
