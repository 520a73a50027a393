"""What only ``SklearnObjective`` does: name shortcuts, pipelines, rounds per kind of estimator
(warm-started boosting and forests, ``partial_fit`` epochs, one fit), conditional and derived
parameters, models without ``predict_proba``. The contract it shares with every objective runs
in ``test_objective_contract.py`` (kits ``sklearn`` and ``sklearn-mlp``)."""

from __future__ import annotations

import json
from pathlib import Path
import pickle
import textwrap
from typing import Any

from _objective_kit import seed_new_studies
import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.datasets import load_diabetes
from sklearn.datasets import load_wine
from sklearn.ensemble import ExtraTreesRegressor
from sklearn.ensemble import GradientBoostingClassifier
from sklearn.ensemble import HistGradientBoostingClassifier
from sklearn.ensemble import RandomForestClassifier
from sklearn.linear_model import LogisticRegression
from sklearn.linear_model import Ridge
from sklearn.linear_model import SGDClassifier
from sklearn.metrics import log_loss
from sklearn.metrics import mean_squared_error
from sklearn.pipeline import Pipeline
from sklearn.pipeline import make_pipeline
from sklearn.preprocessing import StandardScaler
from sklearn.svm import SVC
from sklearn.svm import SVR

from optuna_recipes.adapters import SklearnObjective
from optuna_recipes.adapters import load_best
from optuna_recipes.adapters import save_best
from optuna_recipes.adapters._base.metrics import SCORERS
from optuna_recipes.adapters.sklearn import plan_for
from optuna_recipes.adapters.spaces import SKLEARN_SPACES

Data = tuple[np.ndarray, np.ndarray]
LOG_LOSS = SCORERS["log_loss"][1]  # the objectives' log loss (clipped at 1e-15)


@pytest.fixture(scope="module")
def cancer() -> Data:
    X, y = load_breast_cancer(return_X_y=True)
    return X, y


@pytest.fixture(scope="module")
def diabetes() -> Data:
    X, y = load_diabetes(return_X_y=True)
    return X, y


def _study(objective: SklearnObjective, pruner: Any = None) -> optuna.Study:
    return optuna.create_study(
        direction=objective.direction,
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=pruner or optuna.pruners.NopPruner(),
    )


def _holdout(n: int, seed: int = 0) -> list[tuple[np.ndarray, np.ndarray]]:
    order = np.random.default_rng(seed).permutation(n)
    return [(np.sort(order[: 2 * n // 3]), np.sort(order[2 * n // 3 :]))]


class _PruneFrom(optuna.pruners.BasePruner):
    def __init__(self, step: int) -> None:
        self.step = step

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.last_step is not None and trial.last_step >= self.step


# ----------------------------------------------------------------------------- estimators
def test_name_shortcuts_resolve_by_task(cancer: Data, diabetes: Data) -> None:
    expected = {
        "hgb": ("HistGradientBoostingClassifier", "HistGradientBoostingRegressor"),
        "rf": ("RandomForestClassifier", "RandomForestRegressor"),
        "et": ("ExtraTreesClassifier", "ExtraTreesRegressor"),
        "svm": ("SVC", "SVR"),
        "logreg": ("LogisticRegression", "Ridge"),
        "ridge": ("RidgeClassifier", "Ridge"),
        "knn": ("KNeighborsClassifier", "KNeighborsRegressor"),
        "mlp": ("MLPClassifier", "MLPRegressor"),
        "sgd": ("SGDClassifier", "SGDRegressor"),
    }
    for name, classes in expected.items():
        for (X, y), cls in zip((cancer, diabetes), classes, strict=True):
            objective = SklearnObjective(name, X, y, cv=3)
            estimator = objective.estimator
            final = estimator.steps[-1][1] if isinstance(estimator, Pipeline) else estimator
            assert type(final).__name__ == cls
            scaled = name not in ("hgb", "rf", "et")
            assert isinstance(estimator, Pipeline) == scaled
            assert isinstance(estimator.steps[0][1], StandardScaler) if scaled else True
            prefix = f"{estimator.steps[-1][0]}__" if scaled else ""
            assert set(objective.search_space) >= {prefix + p for p in SKLEARN_SPACES[cls]}
    with pytest.raises(ValueError, match="did you mean 'svm'"):
        SklearnObjective("svn", *cancer)
    with pytest.raises(ValueError, match="SVC is not a regressor"):
        SklearnObjective(SVC(), *diabetes)
    with pytest.raises(ValueError, match="must be a scikit-learn estimator"):
        SklearnObjective(3, *cancer)
    assert isinstance(SklearnObjective(Ridge, *diabetes).estimator, Ridge)  # a class works too


def test_pipeline_parameters_address_the_final_step(cancer: Data) -> None:
    X, y = cancer
    labels = np.where(y == 1, "benign", "malignant")  # the fitted model predicts these
    space = {"standardscaler__with_mean": CategoricalDistribution([True, False])}
    objective = SklearnObjective(
        make_pipeline(StandardScaler(), SVC()), X, labels, cv=3, space=space, seed=3
    )
    assert list(objective.search_space) == ["svc__C", "svc__gamma", "standardscaler__with_mean"]
    study = _study(objective)
    study.optimize(objective, n_trials=3)
    assert set(study.best_params) == set(objective.search_space)
    model = objective.best_estimator(study)
    assert isinstance(model, Pipeline) and model is not objective.estimator
    assert model.get_params()["svc__C"] == study.best_params["svc__C"]
    assert (
        model.get_params()["standardscaler__with_mean"]
        == study.best_params["standardscaler__with_mean"]
    )
    assert set(model.predict(X[:20])) <= {"benign", "malignant"}
    assert np.mean(model.predict(X) == labels) > 0.9
    with pytest.raises(ValueError, match="'C', which is not a sklearn parameter"):
        SklearnObjective(
            make_pipeline(StandardScaler(), SVC()),
            X,
            y,
            space={"C": space["standardscaler__with_mean"]},
        )
    with pytest.raises(ValueError, match=r"did you mean 'svc__C'"):
        SklearnObjective(make_pipeline(StandardScaler(), SVC()), X, y, fixed_params={"svc_C": 1})


def test_unknown_estimator_needs_a_space(cancer: Data) -> None:
    from sklearn.tree import DecisionTreeClassifier

    with pytest.raises(ValueError, match="no default search space for DecisionTreeClassifier"):
        SklearnObjective(DecisionTreeClassifier(), *cancer)
    space = {"max_depth": optuna.distributions.IntDistribution(1, 8)}
    objective = SklearnObjective(DecisionTreeClassifier(), *cancer, cv=3, space=space)
    assert objective.plan.kind == "once" and objective.max_rounds == 1
    study = _study(objective)
    study.optimize(objective, n_trials=2)
    assert study.best_trial.params.keys() == {"max_depth"}


@pytest.mark.slow
# ----------------------------------------------------------------------------- rounds
def test_boosting_rounds_are_staged_iterations(cancer: Data) -> None:
    X, y = cancer
    folds = _holdout(len(y))
    objective = SklearnObjective(
        "hgb", X, y, cv=folds, max_rounds=12, early_stopping_rounds=None, iterations_per_fit=5
    )
    assert objective.plan.param == "max_iter" and objective.plan.iterations_per_fit == 5
    params = {
        "learning_rate": 0.3,
        "max_leaf_nodes": 7,
        "min_samples_leaf": 10,
        "l2_regularization": 1.0,
    }
    study = _study(objective)
    study.enqueue_trial(params)
    study.optimize(objective, n_trials=1)
    curve = study.trials[0].intermediate_values
    assert list(curve) == list(range(12))
    train, valid = folds[0]
    for n in (1, 5, 6, 12):  # round n - 1 reports the model of n iterations
        model = HistGradientBoostingClassifier(
            max_iter=n, early_stopping=False, random_state=0, **params
        ).fit(X[train], y[train])
        expected = log_loss(y[valid], model.predict_proba(X[valid]))
        assert curve[n - 1] == pytest.approx(expected, rel=1e-9)
    refit = objective.refit(params, n_rounds=6)
    assert refit.n_iter_ == 6 and refit.early_stopping is False and not refit.warm_start


def test_forest_rounds_are_trees_and_prune(cancer: Data) -> None:
    X, y = cancer
    folds = _holdout(len(y))
    objective = SklearnObjective(
        RandomForestClassifier(), X, y, cv=folds, max_rounds=15, early_stopping_rounds=None
    )
    study = _study(objective, _PruneFrom(11))
    params = {"max_features": 0.5, "min_samples_split": 2, "min_impurity_decrease": 1e-5}
    study.enqueue_trial({**params, "bootstrap": False})
    study.optimize(objective, n_trials=1)
    trial = study.trials[0]
    assert trial.state == optuna.trial.TrialState.PRUNED
    assert sorted(trial.intermediate_values) == list(range(12))
    train, valid = folds[0]
    for n in (1, 7, 12):  # round n - 1 reports the forest of n trees
        forest = RandomForestClassifier(
            n_estimators=n, random_state=0, bootstrap=False, **params
        ).fit(X[train], y[train])
        expected = LOG_LOSS(y[valid], forest.predict_proba(X[valid])[:, 1])
        assert trial.intermediate_values[n - 1] == pytest.approx(expected, rel=1e-9)
    assert "max_samples" not in trial.params  # searched only with bootstrap=True
    study.enqueue_trial({**params, "bootstrap": True})
    study.pruner = optuna.pruners.NopPruner()
    study.optimize(objective, n_trials=1)
    assert "max_samples" in study.trials[1].params
    model = objective.best_estimator(study)
    assert model.n_estimators == study.best_trial.user_attrs["best_iteration"] + 1
    assert not model.warm_start


def test_regression_forest_and_gradient_boosting_report_every_iteration(
    cancer: Data, diabetes: Data
) -> None:
    objective = SklearnObjective(ExtraTreesRegressor(), *diabetes, cv=3, max_rounds=6)
    assert (
        objective.metric.name == "rmse" and "min_impurity_decrease" not in objective.search_space
    )
    study = _study(objective)
    study.optimize(objective, n_trials=1)
    assert list(study.trials[0].intermediate_values) == list(range(6))
    space = {"learning_rate": FloatDistribution(0.05, 0.5, log=True)}
    gb = SklearnObjective(GradientBoostingClassifier(), *cancer, cv=3, max_rounds=7, space=space)
    assert gb.plan.kind == "staged" and gb.plan.param == "n_estimators"
    study = _study(gb)
    study.optimize(gb, n_trials=1)
    assert list(study.trials[0].intermediate_values) == list(range(7))
    with pytest.raises(ValueError, match="`n_estimators` is the number of rounds"):
        SklearnObjective(RandomForestClassifier(), *cancer, fixed_params={"n_estimators": 50})


def test_partial_fit_rounds_are_epochs(cancer: Data) -> None:
    X, y = cancer
    X = StandardScaler().fit_transform(X)
    estimator = SGDClassifier(loss="log_loss")
    assert plan_for(estimator).kind == "epochs"
    objective = SklearnObjective(estimator, X, y, cv=3, max_rounds=6, early_stopping_rounds=None)
    study = _study(objective, _PruneFrom(100))
    study.optimize(objective, n_trials=2)
    for trial in study.trials:
        assert list(trial.intermediate_values) == list(range(6))
    params = dict(study.best_params)
    model = objective.refit(params, n_rounds=4)
    manual = SGDClassifier(loss="log_loss", random_state=0)
    manual.set_params(**objective._decode(objective._library_params(params)))
    for _ in range(4):
        manual.partial_fit(X, y, classes=[0, 1])
    np.testing.assert_array_equal(model.predict_proba(X), manual.predict_proba(X))
    assert objective.describe()["round_unit"] == "epoch"


def test_mlp_layers_are_searched_as_depth_and_width(cancer: Data) -> None:
    objective = SklearnObjective("mlp", *cancer, cv=3, max_rounds=3)
    assert "mlpclassifier__hidden_layer_depth" in objective.search_space
    params = {"mlpclassifier__hidden_layer_depth": 2, "mlpclassifier__num_nodes_per_layer": 20}
    model = objective.best_estimator(params)
    assert model[-1].hidden_layer_sizes == (20, 20)
    assert len(model[-1].loss_curve_) == 3  # max_rounds epochs for a plain parameter dict


def test_models_fitted_once_report_one_round(diabetes: Data) -> None:
    X, y = diabetes
    for estimator in (Ridge(), make_pipeline(StandardScaler(), SVR())):
        objective = SklearnObjective(estimator, X, y, cv=3, max_rounds=500)
        assert objective.max_rounds == 1 and objective.early_stopping_rounds is None
        assert isinstance(objective.recommended_pruner(), optuna.pruners.NopPruner)
        assert objective.describe()["round_unit"] is None
        study = _study(objective, _PruneFrom(100))
        study.optimize(objective, n_trials=2)
        for trial in study.trials:
            assert list(trial.intermediate_values) == [0]
            assert trial.user_attrs["best_iteration"] == 0
    folds = _holdout(len(y))
    objective = SklearnObjective(Ridge(), X, y, cv=folds)
    value = objective.evaluate({"alpha": 0.1})["value"]
    train, valid = folds[0]
    ridge = Ridge(alpha=0.1).fit(X[train], y[train])
    assert value == pytest.approx(mean_squared_error(y[valid], ridge.predict(X[valid])) ** 0.5)
    assert isinstance(
        SklearnObjective("hgb", X, y, max_rounds=100).recommended_pruner(),
        optuna.pruners.MedianPruner,
    )


def test_classifier_without_predict_proba(cancer: Data) -> None:
    X, y = cancer
    objective = SklearnObjective("ridge", X, y, cv=3)
    assert objective.metric.name == "accuracy"  # no probabilities: accuracy by default
    study = _study(objective)
    study.optimize(objective, n_trials=2)
    assert 0.9 < study.best_value <= 1.0
    auc = SklearnObjective("svm", X, y, cv=3, metric="roc_auc")
    assert auc.evaluate({"svc__C": 1.0, "svc__gamma": 0.01})["value"] > 0.95
    with pytest.raises(ValueError, match="`metric='log_loss'` needs predicted probabilities"):
        SklearnObjective("svm", X, y, metric="log_loss")
    assert SklearnObjective(SVC(probability=True), X, y, metric="log_loss").metric.score


def test_multiclass_string_labels_and_validation_data() -> None:
    X, y = load_wine(return_X_y=True)
    order = np.random.default_rng(0).permutation(len(y))
    X, names = X[order], np.array(["barolo", "grignolino", "barbera"])[y[order]]
    objective = SklearnObjective(
        "logreg", X[:120], names[:120], validation_data=(X[120:], names[120:]), cv=None
    )
    assert objective.task == "multiclass" and objective.classes_ == sorted(set(names))
    result = objective.evaluate({"logisticregression__C": 1.0})
    model = objective.refit({"logisticregression__C": 1.0})
    expected = log_loss(names[120:], model.predict_proba(X[120:]), labels=model.classes_)
    assert result["value"] == pytest.approx(expected, rel=1e-6)


def test_seed_threads_and_input_checks(cancer: Data) -> None:
    X, y = cancer
    objective = SklearnObjective("rf", X, y, n_jobs=2, seed=5)
    params = objective._library_params({})
    assert params["random_state"] == 5 and params["n_jobs"] == 2
    kept = SklearnObjective(RandomForestClassifier(random_state=1), X, y, seed=5)
    assert "random_state" not in kept._library_params({})  # the user's own seed stays
    logreg = SklearnObjective(LogisticRegression(), X, y, n_jobs=2)
    assert "n_jobs" not in logreg._library_params({})  # no effect since scikit-learn 1.8
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match="SVC does not accept"):
        SklearnObjective(SVC(), X_nan, y)
    SklearnObjective("hgb", X_nan, y)  # HistGradientBoosting handles missing values
    with pytest.raises(ValueError, match="2-dimensional"):
        SklearnObjective("hgb", X[:, 0], y)
    with pytest.raises(ValueError, match="not 'ranking'"):
        SklearnObjective("hgb", X, y, group=[len(y)])
    with pytest.raises(ValueError, match="`iterations_per_fit` must be an int >= 1"):
        SklearnObjective("hgb", X, y, iterations_per_fit=0)


def test_features_and_weights_are_checked_for_the_estimator(cancer: Data) -> None:
    import pandas as pd
    from sklearn.compose import make_column_transformer
    from sklearn.preprocessing import OneHotEncoder

    X, y = cancer
    frame = pd.DataFrame(X[:, :3], columns=["a", "b", "c"])
    frame["city"] = np.where(y == 1, "Paris", "Lyon")
    with pytest.raises(ValueError, match="neither numbers nor `category`"):
        SklearnObjective("logreg", frame, y)
    encode = make_column_transformer((OneHotEncoder(), ["city"]), remainder=StandardScaler())
    prepared = SklearnObjective(make_pipeline(encode, LogisticRegression()), frame, y, cv=3)
    assert prepared.evaluate({"logisticregression__C": 1.0})["value"] < 0.1  # city is y
    weight = np.random.default_rng(0).uniform(0.1, 3.0, len(y))
    with pytest.raises(ValueError, match=r"KNeighborsClassifier\.fit takes no `sample_weight`"):
        SklearnObjective("knn", X, y, sample_weight=weight)
    X_nan = X.copy()
    X_nan[0, 0] = np.nan
    with pytest.raises(ValueError, match=r"`validation_data\[0\]` has 1 missing value"):
        SklearnObjective(SVC(), X, y, validation_data=(X_nan, y))
    scores = [
        SklearnObjective("svm", X, y, cv=3, metric="balanced_accuracy", sample_weight=w).evaluate(
            {"svc__C": 1.0, "svc__gamma": 0.01}
        )["value"]
        for w in (None, weight)
    ]
    assert scores[0] != scores[1]  # weights reach the final step and the extra metrics


def test_best_params_json_rebuilds_the_estimator(cancer: Data, tmp_path: Path) -> None:
    X, y = cancer
    objective = SklearnObjective("et", X, y, cv=3, max_rounds=20, early_stopping_rounds=3)
    study = _study(objective)
    study.optimize(objective, n_trials=2)
    record = save_best(study, tmp_path / "best.json", objective=objective)
    assert json.loads((tmp_path / "best.json").read_text()) == record
    assert record["library"] == "sklearn" and record["round_unit"] == "n_estimators"
    assert record["estimator"] == "ExtraTreesClassifier()"
    model = objective.best_estimator(study)
    assert model.n_estimators == study.best_trial.user_attrs["best_iteration"] + 1
    fresh = SklearnObjective("et", X, y, cv=3)
    again = fresh.best_estimator(load_best(tmp_path / "best.json"))
    np.testing.assert_array_equal(again.predict_proba(X), model.predict_proba(X))
    path = objective.save_model(model, str(tmp_path / "model"))
    with open(path, "rb") as file:
        np.testing.assert_array_equal(pickle.load(file).predict(X), model.predict(X))


@pytest.mark.slow
def test_docstring_example_runs(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    doc = SklearnObjective.__doc__ or ""
    code = textwrap.dedent(doc.split(".. code-block:: python\n", 1)[1].split("\n    Args:")[0])
    seed_new_studies(monkeypatch)
    monkeypatch.chdir(tmp_path)
    namespace: dict[str, Any] = {}
    exec(compile(code, "SklearnObjective.__doc__", "exec"), namespace)
    assert isinstance(namespace["model"], Pipeline)
    assert (tmp_path / "best.json").exists()
