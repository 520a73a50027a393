"""The library-agnostic adapter core, through a small numpy adapter (gradient descent)."""

from __future__ import annotations

from collections.abc import Mapping
import json
from pathlib import Path
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
from optuna.trial import TrialState
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GroupKFold

from optuna_recipes.adapters import BoostingPruner
from optuna_recipes.adapters import boosting_pruner
from optuna_recipes.adapters import load_best
from optuna_recipes.adapters import save_best
from optuna_recipes.adapters._core import BaseObjective
from optuna_recipes.adapters._core import Fold
from optuna_recipes.adapters._core import check_labels
from optuna_recipes.adapters._core import infer_task
from optuna_recipes.adapters._core import make_folds
from optuna_recipes.adapters._core import merge_space


class GDObjective(BaseObjective):
    """Linear/logistic model trained by full-batch gradient descent, one step per round."""

    library = "numpy-gd"
    extra = "none"

    def __init__(self, X: Any, y: Any = None, **kwargs: Any) -> None:
        X = np.asarray(X, dtype=float)
        mean, std = X.mean(0), X.std(0) + 1e-12
        self.X = self._design(X, mean, std)
        valid = kwargs.get("validation_data")
        if valid is not None:
            self.Xv = self._design(np.asarray(valid[0], dtype=float), mean, std)
        super().__init__(X, y, **kwargs)

    @staticmethod
    def _design(X: np.ndarray, mean: np.ndarray, std: np.ndarray) -> np.ndarray:
        return np.column_stack([np.ones(len(X)), (X - mean) / std])

    def _inspect_data(self, X: Any, y: Any) -> tuple[np.ndarray, tuple[int, ...]]:
        return np.asarray(y) if y is not None else y, np.shape(X)

    def _library_version(self) -> str:
        return np.__version__

    def _library_metrics(self, task: str) -> Mapping[str, str]:
        return {"mse": "minimize"} if task == "regression" else {"error": "minimize"}

    def _native_alias(self, name: str, task: str) -> str | None:
        return None

    def _default_space(self, task: str) -> dict[str, BaseDistribution]:
        return {
            "lr": FloatDistribution(1e-4, 1.0, log=True),
            "l2": FloatDistribution(1e-6, 10.0, log=True),
        }

    def _known_params(self) -> set[str]:
        return {"lr", "l2", "fail", "momentum"}

    def _library_params(self, sampled: Mapping[str, Any]) -> dict[str, Any]:
        return {"lr": 0.1, "l2": 1e-3, **self.fixed_params, **sampled}

    def _start_fold(self, params: dict[str, Any], fold: Fold) -> Any:
        if params.get("fail"):
            raise RuntimeError("boom: this configuration cannot train")
        if fold.valid is None:
            Xv, yv = self.Xv, self.y_valid_
        else:
            Xv, yv = self.X[fold.valid], self.y_[fold.valid]
        w = np.zeros(self.X.shape[1])
        return {"p": params, "w": w, "tr": fold.train, "Xv": Xv, "yv": yv}

    def _predict(self, w: np.ndarray, X: np.ndarray) -> np.ndarray:
        z = X @ w
        return z if self.task == "regression" else 1.0 / (1.0 + np.exp(-z))

    def _step_fold(self, state: Any, round_: int) -> float:
        X, y = self.X[state["tr"]], self.y_[state["tr"]]
        grad = X.T @ (self._predict(state["w"], X) - y) / len(y) + state["p"]["l2"] * state["w"]
        state["w"] = state["w"] - state["p"]["lr"] * grad
        p = self._predict(state["w"], state["Xv"])
        yv = state["yv"]
        if self.metric.score is not None:
            return self.metric.score(yv, p)
        if self.metric.native == "mse":
            return float(np.mean((p - yv) ** 2))
        return float(np.mean((p > 0.5) != yv))

    def _fit_full(self, params: dict[str, Any], n_rounds: int) -> Any:
        w = np.zeros(self.X.shape[1])
        for _ in range(n_rounds):
            grad = self.X.T @ (self._predict(w, self.X) - self.y_) / len(self.y_)
            w = w - params["lr"] * (grad + params["l2"] * w)
        return w

    def _save_model(self, model: Any, path: str) -> str:
        np.save(path + ".npy", model)
        return path + ".npy"


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    return load_breast_cancer(return_X_y=True)


def test_task_inference() -> None:
    assert infer_task(np.array([0, 1, 1, 0])) == "binary"
    assert infer_task(np.array(["a", "b", "c"])) == "multiclass"
    assert infer_task(np.array([0.5, 1.2, 3.3])) == "regression"
    assert infer_task(np.arange(200)) == "regression"
    assert infer_task(np.array([True, False])) == "binary"
    assert infer_task(np.array([1.0, 2.0]), group=[1, 1]) == "ranking"
    with pytest.raises(ValueError, match="single distinct value"):
        infer_task(np.ones(5))
    with pytest.raises(ValueError, match="`task` must be one of"):
        infer_task(np.array([0, 1]), task="clustering")


@pytest.mark.parametrize(
    ("y", "n", "match"),
    [
        (np.array([0.0, np.nan, 1.0]), 3, "NaN or infinite"),
        (np.array([0.0, np.inf, 1.0]), 3, "NaN or infinite"),
        (np.array([0, 1, 1]), 4, "3 labels but the feature matrix has 4 rows"),
        (np.array([]), 0, "empty"),
        (np.array(["a", None], dtype=object), 2, "missing"),
    ],
)
def test_label_checks(y: np.ndarray, n: int, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        check_labels(y, n)


def test_folds_are_stratified_by_default_and_grouped_on_request() -> None:
    y = np.array([0] * 90 + [1] * 10, dtype=float)
    folds = make_folds(cv=5, y=y, task="binary", n_rows=100, seed=0)
    assert [int(y[f.valid].sum()) for f in folds] == [2] * 5
    groups = np.repeat(np.arange(20), 5)
    folds = make_folds(cv=4, y=y, task="binary", n_rows=100, seed=0, groups=groups)
    for f in folds:
        assert not set(groups[f.train]) & set(groups[f.valid])
    folds = make_folds(cv=GroupKFold(3), y=y, task="binary", n_rows=100, seed=0, groups=groups)
    assert len(folds) == 3
    holdout = make_folds(cv=0.25, y=y, task="binary", n_rows=100, seed=0)
    assert len(holdout) == 1 and len(holdout[0].valid) == 25
    with pytest.raises(ValueError, match="holdout fraction"):
        make_folds(cv=1.5, y=y, task="binary", n_rows=100, seed=0)
    with pytest.raises(ValueError, match=">= 2"):
        make_folds(cv=1, y=y, task="binary", n_rows=100, seed=0)


def test_space_merge_override_add_remove_and_refusals() -> None:
    default = {"a": FloatDistribution(0, 1), "b": IntDistribution(1, 5)}
    merged = merge_space(
        default,
        {"a": FloatDistribution(0, 2), "b": None, "c": CategoricalDistribution([1, 2])},
        known={"a", "b", "c"},
        library="lib",
        fixed_params={"c": 1},
    )
    assert merged == {"a": FloatDistribution(0, 2)}
    with pytest.raises(ValueError, match="'typo', which is not a lib parameter"):
        merge_space(default, {"typo": FloatDistribution(0, 1)}, known={"a", "b"}, library="lib")
    with pytest.raises(ValueError, match="not in the default search space"):
        merge_space(default, {"zz": None}, known=None, library="lib")
    with pytest.raises(ValueError, match="must be an Optuna distribution"):
        merge_space(default, {"a": (0, 1)}, known=None, library="lib")  # type: ignore[dict-item]


def test_bad_input_is_refused_before_training(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    with pytest.raises(ValueError, match="Unknown `metric='auc_typo'`"):
        GDObjective(X, y, metric="auc_typo")
    with pytest.raises(ValueError, match="does not fit task 'binary'"):
        GDObjective(X, y, metric="r2")
    with pytest.raises(ValueError, match="single class"):
        GDObjective(X, y, cv=[(np.arange(100), np.flatnonzero(y == 1)[:20])])
    with pytest.raises(ValueError, match="empty"):
        GDObjective(X, y, cv=[(np.arange(100), np.array([], dtype=int))])
    with pytest.raises(ValueError, match="not a numpy-gd parameter"):
        GDObjective(X, y, space={"learning_rat": FloatDistribution(0.1, 1)})
    with pytest.raises(ValueError, match="either `cv` or `validation_data`"):
        GDObjective(X, y, cv=3, validation_data=(X, y))
    with pytest.raises(ValueError, match="`early_stopping_rounds`"):
        GDObjective(X, y, early_stopping_rounds=0)
    with pytest.raises(ValueError, match="labels"):
        GDObjective(X, y[:-1])


def test_study_reports_fold_means_and_records_attrs(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    obj = GDObjective(X, y, metric="log_loss", cv=3, max_rounds=30, early_stopping_rounds=5)
    assert obj.direction == "minimize" and obj.task == "binary"
    assert set(obj.search_space) == {"lr", "l2"}
    study = optuna.create_study(
        direction=obj.direction, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(obj, n_trials=8)
    best = study.best_trial
    assert best.value < 0.3  # the constant predictor has log loss 0.66
    scores = best.user_attrs["fold_scores"]
    assert len(scores) == 3 and np.isclose(np.mean(scores), best.value)
    it = best.user_attrs["best_iteration"]
    assert best.intermediate_values[it] == pytest.approx(best.value)
    assert len(best.intermediate_values) == best.user_attrs["n_rounds"]
    # The reported value of each round is the mean over folds, checked on the best trial.
    ev = obj.evaluate(best.params)
    assert ev["value"] == pytest.approx(best.value)


def test_failed_configuration_is_recorded_and_the_study_goes_on(
    cancer: tuple[np.ndarray, np.ndarray],
) -> None:
    X, y = cancer
    obj = GDObjective(
        X, y, cv=3, max_rounds=5, space={"fail": CategoricalDistribution([False, True])}
    )
    study = optuna.create_study(
        direction=obj.direction, sampler=optuna.samplers.RandomSampler(seed=1)
    )
    with pytest.warns(RuntimeWarning, match="boom"):
        study.optimize(obj, n_trials=10)
    states = {t.state for t in study.trials}
    assert states == {TrialState.COMPLETE, TrialState.FAIL}
    failed = [t for t in study.trials if t.state == TrialState.FAIL]
    assert all("boom" in t.user_attrs["fail_reason"] for t in failed)


class _AlwaysPrune(optuna.pruners.BasePruner):
    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.last_step is not None and trial.last_step >= 10


def test_pruned_trial_records_best_value_so_far(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    obj = GDObjective(X, y, cv=3, max_rounds=50, early_stopping_rounds=None)
    study = optuna.create_study(direction=obj.direction, pruner=_AlwaysPrune())
    study.enqueue_trial({"lr": 1.0, "l2": 1e-6})
    study.optimize(obj, n_trials=1)
    trial = study.trials[0]
    assert trial.state == TrialState.PRUNED
    values = trial.intermediate_values
    assert trial.user_attrs["best_value"] == min(values.values())
    assert values[trial.user_attrs["best_iteration"]] == trial.user_attrs["best_value"]


class _CountingPruner(optuna.pruners.BasePruner):
    def __init__(self) -> None:
        self.calls = 0

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        self.calls += 1
        return False


def test_pruner_is_asked_every_round_except_a_nop_pruner(
    cancer: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    X, y = cancer
    obj = GDObjective(X, y, cv=3, max_rounds=12, early_stopping_rounds=None)
    counting = _CountingPruner()
    study = optuna.create_study(direction=obj.direction, pruner=counting)
    study.optimize(obj, n_trials=2)
    assert counting.calls == 2 * 12
    # A NopPruner never prunes: its should_prune is skipped, every round is still reported.
    asked: list[int] = []
    original = optuna.Trial.should_prune

    def spy(self: optuna.Trial) -> bool:
        asked.append(self.number)
        return original(self)

    monkeypatch.setattr(optuna.Trial, "should_prune", spy)
    nop = optuna.create_study(direction=obj.direction, pruner=optuna.pruners.NopPruner())
    nop.optimize(obj, n_trials=2)
    assert asked == []
    assert all(len(t.intermediate_values) == 12 for t in nop.trials)
    # A trial without a study (FixedTrial) is still asked, and never prunes.
    value = obj(optuna.trial.FixedTrial({"lr": 0.1, "l2": 1e-3}))
    assert np.isfinite(value)


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


def test_boosting_pruner_waits_for_startup_and_warmup_and_decides_at_intervals() -> None:
    # 300 rounds: warm-up 30 rounds, a decision every 5 rounds, after 5 finished trials.
    assert _decisions(boosting_pruner(300), n_complete=5, steps=51) == [30, 35, 40, 45, 50]
    assert _decisions(boosting_pruner(300), n_complete=4, steps=51) == []
    # 1000 rounds: warm-up 100, interval 16; short budgets decide every round after 10.
    assert _decisions(boosting_pruner(1000), n_complete=5, steps=140) == [100, 116, 132]
    assert _decisions(boosting_pruner(60), n_complete=5, steps=14) == [10, 11, 12, 13]
    for bad in (0, -5, 2.5, True, "300"):
        with pytest.raises(ValueError, match="max_rounds"):
            boosting_pruner(bad)  # type: ignore[arg-type]


def test_boosting_pruner_is_asked_only_where_it_decides_and_prunes_like_median(
    cancer: tuple[np.ndarray, np.ndarray], monkeypatch: pytest.MonkeyPatch
) -> None:
    pruner = boosting_pruner(300)
    assert isinstance(pruner, BoostingPruner) and isinstance(pruner, optuna.pruners.MedianPruner)
    decides = [step for step in range(51) if pruner.decides_at(step)]
    assert decides == [30, 35, 40, 45, 50] == _decisions(pruner, n_complete=5, steps=51)
    X, y = cancer
    obj = GDObjective(X, y, cv=3, max_rounds=40, early_stopping_rounds=None)

    def run(pruner: optuna.pruners.BasePruner) -> tuple[list[Any], list[int]]:
        asked: list[int] = []
        original = optuna.Trial.should_prune

        def spy(self: optuna.Trial) -> bool:
            asked.append(len(self.storage.get_trial(self._trial_id).intermediate_values) - 1)
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


def test_refit_save_load_reproduce(cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    X, y = cancer
    obj = GDObjective(X, y, cv=3, max_rounds=40, seed=3)
    study = optuna.create_study(
        direction=obj.direction, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(obj, n_trials=5)
    record = save_best(study, tmp_path / "best.json", objective=obj)
    on_disk = json.loads((tmp_path / "best.json").read_text())
    assert on_disk == record
    for key in ("params", "value", "metric", "direction", "best_iteration", "library_version"):
        assert key in on_disk
    assert on_disk["optuna_version"] == optuna.__version__
    assert on_disk["data_shape"] == list(X.shape) and on_disk["task"] == "binary"
    assert on_disk["seed"] == 3
    w1 = obj.refit(study)
    w2 = obj.refit(load_best(tmp_path / "best.json"))
    np.testing.assert_array_equal(w1, w2)
    w3 = obj.refit(study.best_params, n_rounds=study.best_trial.user_attrs["best_iteration"] + 1)
    np.testing.assert_array_equal(w1, w3)
    (tmp_path / "bad.json").write_text("{}")
    with pytest.raises(ValueError, match="not written by"):
        load_best(tmp_path / "bad.json")


def test_artifact_upload(cancer: tuple[np.ndarray, np.ndarray], tmp_path: Path) -> None:
    from optuna.artifacts import FileSystemArtifactStore
    from optuna.artifacts import download_artifact

    X, y = cancer
    obj = GDObjective(X, y, cv=3, max_rounds=20)
    study = optuna.create_study(direction=obj.direction)
    study.optimize(obj, n_trials=3)
    store = FileSystemArtifactStore(str(tmp_path / "artifacts"))
    (tmp_path / "artifacts").mkdir()
    record = save_best(study, tmp_path / "best.json", objective=obj, artifact_store=store)
    artifact_id = record["model_artifact_id"]
    from optuna.artifacts import get_all_artifact_meta

    metas = get_all_artifact_meta(study)
    assert [m.artifact_id for m in metas] == [artifact_id]
    assert metas[0].filename == f"numpy-gd-best-trial{study.best_trial.number}.npy"
    download_artifact(
        artifact_store=store, artifact_id=artifact_id, file_path=str(tmp_path / "m.npy")
    )
    np.testing.assert_array_equal(np.load(tmp_path / "m.npy"), obj.refit(study))


def test_regression_and_validation_data() -> None:
    X, y = load_diabetes(return_X_y=True)
    obj = GDObjective(X[:300], y[:300], validation_data=(X[300:], y[300:]), max_rounds=200)
    assert obj.task == "regression" and obj.metric.name == "rmse"
    assert len(obj.folds) == 1 and obj.folds[0].valid is None
    study = optuna.create_study(
        direction=obj.direction, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(obj, n_trials=8)
    assert study.best_value < 0.8 * float(np.std(y[300:]))  # better than predicting the mean
