"""The adapter contract, written once and run against every objective class.

:class:`ObjectiveContract` is what every objective promises (see the README sections on the
adapters and ``optuna_recipes.adapters._base``): bad input refused before training, a failing
configuration fails only its trial, every round reported and the best one recorded (also when
pruned), the step protocol of pruners respected, the direction following the metric, the
search space as documented, ``evaluate``/``refit``/``save_best``/``load_best`` reproducing the
trials, the refit model uploaded as an artifact; and the shared settings: the study's direction
checked, ``timeout``, progress logging, thread counts, ``sample_weight``, grouped folds,
features checked at construction, ``best_estimator`` on raw input, ``load_best`` errors.
``TestObjectiveContract`` runs it for each :class:`~_objective_kit.Kit` (numpy gradient
descent, XGBoost, LightGBM, PyTorch, scikit-learn), as Optuna's
``optuna.testing.pytest_samplers`` does for samplers. Library-specific behaviour (data objects,
callbacks in the user's loops, the Keras-style model, scikit-learn pipelines) is tested in the
library's own file.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
import logging
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
from optuna_recipes.adapters._base.persistence import FORMAT
from optuna_recipes.adapters._base.progress import LOGGER_NAME

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

    @pytest.mark.slow
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

    @pytest.mark.slow
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

    @pytest.mark.slow
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

    def test_direction_follows_the_metric_and_is_checked(self, kit: Kit, data: Data) -> None:
        auc = kit.build(*data, metric="roc_auc", cv=3, rounds=2)
        assert auc.direction == "maximize"
        objective = kit.build(*data, metric="log_loss", cv=3, rounds=2)
        assert objective.direction == "minimize" and objective.metric.name == "log_loss"
        forgotten = optuna.create_study()  # no direction: minimizes ROC AUC
        with pytest.raises(ValueError, match=r"direction=objective\.direction"):
            forgotten.optimize(auc, n_trials=1)
        assert forgotten.trials[0].params == {}  # refused before any training
        _study("maximize").optimize(auc, n_trials=1)  # the right study trains
        wrong = _study("maximize")
        wrong.add_trial(optuna.trial.create_trial(value=0.5, params={}, distributions={}))
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

    @pytest.mark.slow
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

    @pytest.mark.slow
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

    def test_timeout_completes_the_trial_with_its_best_so_far(self, kit: Kit, data: Data) -> None:
        objective = kit.build(*data, cv=3, rounds=8, patience=None, timeout=1e-9)
        study = _study(objective.direction)
        study.optimize(objective, n_trials=1)
        (trial,) = study.trials
        assert trial.state == TrialState.COMPLETE and trial.user_attrs["timed_out"] is True
        assert trial.user_attrs["n_rounds"] == 1 and list(trial.intermediate_values) == [0]
        assert trial.value == trial.intermediate_values[0]
        untimed = kit.build(*data, cv=3, rounds=3, patience=None)
        study = _study(untimed.direction)
        study.optimize(untimed, n_trials=1)
        assert "timed_out" not in study.trials[0].user_attrs
        assert study.trials[0].user_attrs["n_rounds"] == 3
        with pytest.raises(ValueError, match="`timeout` must be a number > 0"):
            kit.build(*data, timeout=0)

    @pytest.mark.slow
    def test_progress_is_logged_through_optuna(self, kit: Kit, data: Data) -> None:
        lines: list[str] = []
        handler = logging.Handler()
        handler.emit = lambda record: lines.append(record.getMessage())  # type: ignore[method-assign]
        logger = logging.getLogger(LOGGER_NAME)
        logger.addHandler(handler)
        level = optuna.logging.get_verbosity()
        optuna.logging.set_verbosity(optuna.logging.INFO)
        try:
            for verbose in (0, 1, 2):
                objective = kit.build(*data, cv=3, rounds=20, patience=None, verbose=verbose)
                _study(objective.direction).optimize(objective, n_trials=1)
        finally:
            logger.removeHandler(handler)
            optuna.logging.set_verbosity(level)
        started = [line for line in lines if "started" in line]
        done = [line for line in lines if "done in" in line]
        rounds = [line for line in lines if "/20 rounds:" in line]
        assert len(started) == 2 and len(done) == 2  # verbose 1 and 2; 0 is silent
        assert "Trial 0 started" in started[0] and "3 fold(s), up to 20 rounds" in started[0]
        assert "log_loss=" in done[0] and "(all rounds)" in done[0]
        assert [line.split(":")[0] for line in rounds] == [
            f"Trial 0 after {r}/20 rounds" for r in range(2, 21, 2)
        ]
        assert "20 rounds trained (all rounds)" in done[0]

    def test_threads_default_to_half_the_cpus_shared_by_concurrent_trials(
        self, kit: Kit, data: Data
    ) -> None:
        from optuna_recipes.adapters._base.threads import available_cpus

        objective = kit.build(*data, cv=3, n_jobs=None)
        half = max(1, available_cpus() // 2)
        assert objective.n_jobs is None and objective.threads() == half
        with objective._active, objective._active:  # two trials at once in this process
            assert objective.threads() == max(1, half // 2)
        assert kit.build(*data, cv=3, n_jobs=3).threads() == 3
        assert kit.build(*data, cv=3, n_jobs=-1).threads() == available_cpus()
        with pytest.raises(ValueError, match="`n_jobs` must be a non-zero int or None"):
            kit.build(*data, n_jobs=0)

    @pytest.mark.slow
    def test_sample_weight_is_used_in_training_and_in_the_metric(
        self, kit: Kit, data: Data
    ) -> None:
        X, y = data
        rng = np.random.default_rng(0)
        weight = rng.uniform(0.1, 3.0, len(y))
        plain = kit.build(X, y, cv=3, rounds=5, patience=None)
        study = _study(plain.direction)
        study.optimize(plain, n_trials=1)
        params = study.best_params
        weighted = kit.build(X, y, cv=3, rounds=5, patience=None, sample_weight=weight)
        assert weighted.evaluate(params)["value"] != plain.evaluate(params)["value"]
        p_plain = kit.proba(plain, plain.refit(params), X)
        p_weighted = kit.proba(weighted, weighted.refit(params), X)
        assert not np.allclose(p_plain, p_weighted)
        # Validation weights: 1 on a subset, 0 elsewhere == validating on the subset alone.
        Xt, yt, Xv, yv = X[:400], y[:400], X[400:], y[400:]
        subset = rng.random(len(yv)) < 0.5
        on_subset = kit.build(Xt, yt, validation_data=(Xv[subset], yv[subset]), rounds=3)
        masked = kit.build(Xt, yt, validation_data=(Xv, yv, subset.astype(float)), rounds=3)
        expected = on_subset.evaluate(params)["fold_scores"]
        assert masked.evaluate(params)["fold_scores"] == pytest.approx(expected, rel=1e-5)
        for bad, match in ((weight[:-1], "one weight per row"), (-weight, ">= 0")):
            with pytest.raises(ValueError, match=match):
                kit.build(X, y, sample_weight=bad)

    def test_grouped_cv_keeps_groups_apart(self, kit: Kit, data: Data) -> None:
        X, y = data
        groups = np.arange(len(y)) % 37
        objective = kit.build(X, y, cv=3, groups=groups, rounds=2)
        for fold in objective.folds:
            assert not set(groups[fold.train]) & set(groups[fold.valid])
        study = _study(objective.direction)
        study.optimize(objective, n_trials=1)
        assert study.trials[0].state == TrialState.COMPLETE

    def test_features_are_checked_at_construction(self, kit: Kit, data: Data) -> None:
        import pandas as pd

        X, y = data
        with_inf = X.copy()
        with_inf[[3, 9], 4] = np.inf
        with pytest.raises(ValueError, match=r"2 infinite value\(s\) in columns \[4\]"):
            kit.build(with_inf, y)
        frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
        frame["city"] = np.where(y == 1, "Paris", "Lyon")
        with pytest.raises(ValueError, match=r"\('city', '(object|str)'\).*astype\('category'\)"):
            kit.build(frame, y)
        with_nan = X.copy()
        with_nan[5, 2] = np.nan
        objective = kit.build(with_nan, y, cv=3, rounds=1) if kit.allows_nan else None
        if objective is None:
            with pytest.raises(ValueError, match=r"1 NaN value\(s\) in columns \[2\]"):
                kit.build(with_nan, y)

    @pytest.mark.slow
    def test_best_estimator_predicts_labels_on_raw_X(
        self, kit: Kit, data: Data, tmp_path: Path
    ) -> None:
        import pickle

        X, y = data
        labels = np.where(y == 1, "malignant", "benign")
        objective = kit.build(X, labels, cv=3, rounds=6)
        assert objective.classes_ == ["benign", "malignant"]
        study = _study(objective.direction)
        study.optimize(objective, n_trials=2)
        estimator = objective.best_estimator(study)
        assert list(estimator.classes_) == ["benign", "malignant"]
        predicted = estimator.predict(X)
        assert isinstance(predicted, np.ndarray) and set(predicted) <= {"benign", "malignant"}
        assert np.mean(predicted == labels) > 0.8
        proba = estimator.predict_proba(X)
        assert proba.shape == (len(y), 2) and np.allclose(proba.sum(1), 1.0, atol=1e-5)
        refit = kit.proba(objective, objective.refit(study), X)
        np.testing.assert_allclose(proba[:, 1], refit, rtol=1e-5, atol=1e-6)
        again = pickle.loads(pickle.dumps(estimator))
        np.testing.assert_array_equal(again.predict_proba(X), proba)
        save_best(study, tmp_path / "best.json", objective=objective)
        rebuilt = kit.build(X, labels, cv=3, rounds=6).best_estimator(
            load_best(tmp_path / "best.json")
        )
        np.testing.assert_allclose(rebuilt.predict_proba(X), proba, rtol=1e-5, atol=1e-6)

    def test_load_best_errors_name_the_file(self, kit: Kit, data: Data, tmp_path: Path) -> None:
        objective = kit.build(*data, cv=3, rounds=2)
        cases = {
            "model.bin": (b"\x80\x04\x95\xff binary", "is not a text file"),
            "broken.json": (b'{"format": ', "is not valid JSON"),
            "other.json": (b'{"params": {}}', "was not written by"),
        }
        for name, (content, match) in cases.items():
            path = tmp_path / name
            path.write_bytes(content)
            with pytest.raises(ValueError, match=f"{name}.* {match}|{match}"):
                objective.refit(load_best(path))
            with pytest.raises(ValueError, match=name):
                load_best(path)
        with pytest.raises(ValueError, match="is a folder"):
            load_best(tmp_path)
        with pytest.raises(FileNotFoundError, match=r"missing\.json"):
            load_best(tmp_path / "missing.json")
        other = {"format": FORMAT, "library": "no-such-library", "params": {}}
        with pytest.raises(ValueError, match="These best parameters are for no-such-library"):
            objective.best_estimator(other)


class TestObjectiveContract(ObjectiveContract):
    @pytest.fixture(params=sorted(KITS))
    def kit(self, request: pytest.FixtureRequest) -> Kit:
        kit = KITS[request.param]
        require(kit)
        return kit
