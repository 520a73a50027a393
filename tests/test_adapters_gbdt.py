"""XGBoostObjective / LightGBMObjective and their pruning callbacks, on scikit-learn's data.

What every objective promises (bad input, failed trials, reporting, refit/save, artifacts) is
tested once for all of them in ``test_objective_contract.py``; this file tests what is
particular to the boosting libraries.
"""

from __future__ import annotations

import inspect
import subprocess
import sys
from typing import Any

import lightgbm as lgb
import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState
import pandas as pd
import pytest
import scipy.sparse as sp
from sklearn.datasets import load_breast_cancer
from sklearn.datasets import load_diabetes
from sklearn.datasets import load_wine
from sklearn.metrics import roc_auc_score
from sklearn.model_selection import train_test_split
import xgboost as xgb

from optuna_recipes import _optuna_compat as compat
from optuna_recipes.adapters.lightgbm import LightGBMObjective
from optuna_recipes.adapters.lightgbm import LightGBMPruningCallback
from optuna_recipes.adapters.xgboost import XGBoostObjective
from optuna_recipes.adapters.xgboost import XGBoostPruningCallback

optuna.logging.set_verbosity(optuna.logging.WARNING)
# One thread per booster: on a shared 2-core CI box, OpenMP spin-waiting across
# oversubscribed threads makes boosting orders of magnitude slower.
FAST = {"n_jobs": 1, "num_boost_round": 60, "early_stopping_rounds": 15}
OBJECTIVES = [XGBoostObjective, LightGBMObjective]


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]:
    X, y = load_breast_cancer(return_X_y=True)
    X_tr, X_te, y_tr, y_te = train_test_split(X, y, test_size=0.3, random_state=0, stratify=y)
    return X_tr, X_te, y_tr, y_te


def _study(obj: Any, pruner: optuna.pruners.BasePruner | None = None) -> optuna.Study:
    return optuna.create_study(
        direction=obj.direction,
        sampler=optuna.samplers.TPESampler(seed=0),
        pruner=pruner or optuna.pruners.NopPruner(),
    )


@pytest.mark.slow
@pytest.mark.parametrize("cls", OBJECTIVES)
def test_tuned_beats_library_defaults_on_breast_cancer(cls: Any, cancer: Any) -> None:
    X_tr, X_te, y_tr, y_te = cancer
    obj = cls(X_tr, y_tr, metric="log_loss", cv=3, **FAST)
    default = obj.evaluate({})  # the library's own defaults, same folds and early stopping
    study = _study(obj)
    study.optimize(obj, n_trials=15)
    assert study.best_value < default["value"]
    model = obj.refit(study)
    auc = roc_auc_score(y_te, obj.predict(model, X_te))
    assert auc > 0.985, auc  # held-out rows the search never saw
    assert study.best_trial.user_attrs["n_rounds"] <= FAST["num_boost_round"]


@pytest.mark.slow
@pytest.mark.parametrize("cls", OBJECTIVES)
def test_recommended_pruner_prunes_only_after_startup_and_warmup(cls: Any, cancer: Any) -> None:
    X_tr, _, y_tr, _ = cancer
    obj = cls(X_tr, y_tr, metric="log_loss", cv=3, **FAST)
    pruner = obj.recommended_pruner()
    assert isinstance(pruner, optuna.pruners.MedianPruner)
    assert pruner is not obj.recommended_pruner()  # a fresh one per study
    study = _study(obj, pruner)
    slow = {"learning_rate": 0.005}  # a slow learner: far above the median early on
    study.enqueue_trial(slow)
    study.optimize(obj, n_trials=5)
    assert all(t.state == TrialState.COMPLETE for t in study.trials)  # 5 startup trials
    study.enqueue_trial(slow)
    study.optimize(obj, n_trials=1)
    last = study.trials[-1]
    assert last.state == TrialState.PRUNED
    assert len(last.intermediate_values) == 11  # decided at round 10, after the warm-up


def _categorical_frame() -> tuple[pd.DataFrame, np.ndarray]:
    rng = np.random.default_rng(0)
    n = 600
    color = rng.choice(["red", "green", "blue", "grey"], n)
    x = rng.normal(size=n)
    y = ((color == "red") | (color == "blue")) ^ (x > 1.5)
    frame = pd.DataFrame({"color": pd.Categorical(color), "x": x, "noise": rng.normal(size=n)})
    return frame, y.astype(int)


@pytest.mark.parametrize("cls", OBJECTIVES)
def test_pandas_categorical_columns_use_native_support(cls: Any) -> None:
    frame, y = _categorical_frame()
    obj = cls(frame, y, metric="accuracy", cv=3, **FAST)
    assert obj.has_categorical and "max_cat_to_onehot" in obj.search_space
    study = _study(obj)
    study.optimize(obj, n_trials=4)
    assert study.best_value > 0.97  # the label is a function of the category (and x)
    pred = obj.predict(obj.refit(study), frame.iloc[:50])
    assert np.mean((pred > 0.5) == y[:50]) > 0.95


@pytest.mark.slow
@pytest.mark.parametrize("cls", OBJECTIVES)
def test_sparse_and_library_data_objects(cls: Any, cancer: Any) -> None:
    X_tr, _, y_tr, _ = cancer
    params = {"learning_rate": 0.1}
    ref = cls(X_tr, y_tr, cv=3, **FAST).evaluate(params)["value"]
    sparse = cls(sp.csr_matrix(X_tr), y_tr, cv=3, **FAST).evaluate(params)["value"]
    if cls is XGBoostObjective:
        native = cls(xgb.DMatrix(X_tr, label=y_tr), cv=3, **FAST)
    else:
        native = cls(lgb.Dataset(X_tr, label=y_tr, free_raw_data=False), cv=3, **FAST)
    assert native.task == "binary" and native.data_shape == X_tr.shape
    assert ref == pytest.approx(sparse, rel=0.05)
    assert ref == pytest.approx(native.evaluate(params)["value"], rel=0.05)


@pytest.mark.slow
@pytest.mark.parametrize("cls", OBJECTIVES)
def test_multiclass_regression_and_explicit_validation(cls: Any) -> None:
    X, y = load_wine(return_X_y=True)
    labels = np.array(["barolo", "grignolino", "barbera"])[y]
    obj = cls(X, labels, metric="accuracy", cv=3, **FAST)
    assert obj.task == "multiclass" and obj.classes_ == sorted(set(labels))
    study = _study(obj)
    study.optimize(obj, n_trials=4)
    assert study.best_value > 0.93
    proba = obj.predict(obj.refit(study), X)
    assert proba.shape == (len(X), 3)

    X, y = load_diabetes(return_X_y=True)
    obj = cls(X[:350], y[:350], validation_data=(X[350:], y[350:]), metric="r2", **FAST)
    assert obj.task == "regression" and obj.direction == "maximize"
    study = _study(obj)
    study.optimize(obj, n_trials=6)
    assert study.best_value > 0.3  # r2 of the mean predictor is ~0


@pytest.mark.parametrize("cls", OBJECTIVES)
def test_ranking_with_query_groups(cls: Any) -> None:
    rng = np.random.default_rng(0)
    sizes = rng.integers(5, 15, size=60)
    X = rng.normal(size=(int(sizes.sum()), 5))
    relevance = np.clip(np.round(X[:, 0] + 0.3 * rng.normal(size=len(X)) + 1), 0, 3)
    obj = cls(X, relevance, group=sizes, cv=3, **FAST)
    assert obj.task == "ranking" and obj.metric.name == "ndcg@10"
    qid = np.repeat(np.arange(len(sizes)), sizes)
    for fold in obj.folds:  # queries are never split between training and validation
        assert not set(qid[fold.train]) & set(qid[fold.valid])
    study = _study(obj)
    study.optimize(obj, n_trials=3)
    assert study.best_value > 0.85
    ranker = obj.best_estimator(study)
    assert isinstance(ranker, (xgb.XGBRanker, lgb.LGBMRanker))
    np.testing.assert_allclose(ranker.predict(X), obj.predict(obj.refit(study), X), rtol=1e-5)


@pytest.mark.parametrize("cls", OBJECTIVES)
def test_boosting_arguments_are_checked(cls: Any, cancer: Any) -> None:
    X, _, y, _ = cancer
    for n_jobs in (0, 1.5, True):
        with pytest.raises(ValueError, match="`n_jobs` must be a non-zero int or None"):
            cls(X, y, n_jobs=n_jobs)
    with pytest.raises(ValueError, match="`num_boost_round` must be an int >= 1; got 0"):
        cls(X, y, num_boost_round=0)
    with pytest.raises(TypeError, match="multiple values for keyword argument 'max_rounds'"):
        cls(X, y, max_rounds=10)  # spelled `num_boost_round` here
    obj = cls(X, y, num_boost_round=7, **{k: v for k, v in FAST.items() if k != "num_boost_round"})
    assert obj.num_boost_round == obj.max_rounds == 7


def test_space_overrides_and_lightgbm_aliases(cancer: Any) -> None:
    X, _, y, _ = cancer
    obj = XGBoostObjective(
        X,
        y,
        space={"max_depth": None, "gamma": FloatDistribution(0.0, 1.0)},
        fixed_params={"subsample": 0.8},
        **FAST,
    )
    assert "max_depth" not in obj.search_space and "gamma" in obj.search_space
    assert "subsample" not in obj.search_space
    lobj = LightGBMObjective(X, y, fixed_params={"min_child_samples": 5}, **FAST)
    assert "min_data_in_leaf" not in lobj.search_space  # alias of a fixed parameter
    assert lobj._library_params({})["min_data_in_leaf"] == 5


@pytest.mark.slow
@pytest.mark.parametrize("cls", OBJECTIVES)
def test_best_estimator_carries_categories_and_labels(cls: Any) -> None:
    """Issue 28: what people ship is a scikit-learn estimator that predicts on their raw frame,
    with their labels."""
    import pickle

    frame, y = _categorical_frame()
    labels = np.array(["churn", "stay"])[y]
    obj = cls(frame, labels, cv=3, **FAST)
    study = _study(obj)
    study.optimize(obj, n_trials=3)
    model = obj.best_estimator(study)
    expected = xgb.XGBClassifier if cls is XGBoostObjective else lgb.LGBMClassifier
    assert isinstance(model, expected) and list(model.classes_) == ["churn", "stay"]
    assert model.get_params()["n_estimators"] == study.best_trial.user_attrs["best_iteration"] + 1
    raw = frame.iloc[:100]
    assert np.mean(model.predict(raw) == labels[:100]) > 0.95
    refit = obj.predict(obj.refit(study), raw)
    np.testing.assert_allclose(model.predict_proba(raw)[:, 1], refit, rtol=1e-5, atol=1e-7)
    shipped = pickle.loads(pickle.dumps(model))
    np.testing.assert_array_equal(shipped.predict(raw), model.predict(raw))

    X, target = load_diabetes(return_X_y=True)
    reg = cls(X, target, cv=3, **FAST)
    study = _study(reg)
    study.optimize(reg, n_trials=2)
    model = reg.best_estimator(study)
    assert isinstance(model, (xgb.XGBRegressor, lgb.LGBMRegressor))
    np.testing.assert_allclose(model.predict(X), reg.predict(reg.refit(study), X), rtol=1e-5)


def test_labeled_xgb_classifier_is_a_scikit_learn_classifier() -> None:
    from sklearn.base import clone
    from sklearn.base import is_classifier

    from optuna_recipes.adapters.xgboost import LabeledXGBClassifier

    X, y = load_wine(return_X_y=True)
    labels = np.array([3, 7, 9])[y]  # not 0..K-1
    model = LabeledXGBClassifier(n_estimators=5, n_jobs=1).fit(X, labels)
    assert is_classifier(model) and list(model.classes_) == [3, 7, 9]
    assert set(model.predict(X)) <= {3, 7, 9}
    again = clone(model).fit(X, labels)
    np.testing.assert_array_equal(again.predict(X), model.predict(X))
    obj = XGBoostObjective(X, labels, cv=3, **FAST)
    assert isinstance(obj.best_estimator({"learning_rate": 0.3}), LabeledXGBClassifier)
    plain = XGBoostObjective(X, y, cv=3, **FAST).best_estimator({"learning_rate": 0.3})
    assert type(plain) is xgb.XGBClassifier  # labels 0..K-1: nothing of ours to unpickle


@pytest.mark.parametrize("cls", OBJECTIVES)
def test_library_threads_follow_n_jobs(cls: Any, cancer: Any) -> None:
    from optuna_recipes.adapters._base.threads import default_threads

    X, _, y, _ = cancer
    key = "nthread" if cls is XGBoostObjective else "num_threads"
    assert cls(X, y)._library_params({})[key] == default_threads()
    assert cls(X, y, n_jobs=1)._library_params({})[key] == 1


@pytest.mark.parametrize("cls", OBJECTIVES)
def test_object_columns_fail_at_construction_not_in_every_trial(cls: Any) -> None:
    """Issue 26: an object column passed construction, then every trial failed."""
    frame, y = _categorical_frame()
    frame["color"] = frame["color"].astype(str).astype(object)
    with pytest.raises(ValueError, match=r"\('color', 'object'\).*astype\('category'\)"):
        cls(frame, y, **FAST)
    frame["color"] = frame["color"].astype("category")  # the fix the message names
    assert cls(frame, y, **FAST).has_categorical


# ------------------------------------------------------------------ callbacks, user's own loop
class _PruneAfter(optuna.pruners.BasePruner):
    def __init__(self, step: int) -> None:
        self.step = step

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        return trial.last_step is not None and trial.last_step >= self.step


def _run_with(fit: Any, direction: str = "maximize", step: int = 4) -> optuna.trial.FrozenTrial:
    study = optuna.create_study(direction=direction, pruner=_PruneAfter(step))
    study.optimize(lambda t: fit(t), n_trials=1)
    return study.trials[0]


def _assert_pruned_at(trial: optuna.trial.FrozenTrial, step: int) -> None:
    assert trial.state == TrialState.PRUNED
    assert sorted(trial.intermediate_values) == list(range(step + 1))
    assert "best_value" in trial.user_attrs


def test_xgboost_callback_with_train_cv_and_sklearn(cancer: Any) -> None:
    X, X_va, y, y_va = cancer
    dtrain, dvalid = xgb.DMatrix(X, label=y), xgb.DMatrix(X_va, label=y_va)
    params = {"objective": "binary:logistic", "eval_metric": "auc", "nthread": 1}

    def train(t: optuna.Trial) -> float:
        cb = XGBoostPruningCallback(t, "valid-auc")
        xgb.train(params, dtrain, 30, evals=[(dvalid, "valid")], callbacks=[cb])
        return 0.0

    def cv(t: optuna.Trial) -> float:
        xgb.cv(params, dtrain, 30, nfold=3, callbacks=[XGBoostPruningCallback(t, "test-auc")])
        return 0.0

    def sk(t: optuna.Trial) -> float:
        cb = XGBoostPruningCallback(t)  # default: last metric of the last eval set
        model = xgb.XGBClassifier(n_estimators=30, n_jobs=1, eval_metric="auc", callbacks=[cb])
        model.fit(X, y, eval_set=[(X_va, y_va)], verbose=False)
        return 0.0

    for fit in (train, cv, sk):
        _assert_pruned_at(_run_with(fit), 4)
    # The cv value reported is the mean over folds: compare with xgb.cv's own result.
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    res = xgb.cv(params, dtrain, 5, nfold=3, seed=1, callbacks=[XGBoostPruningCallback(trial)])
    assert trial.storage.get_trial(compat.trial_id_of(trial)).intermediate_values[
        4
    ] == pytest.approx(res["test-auc-mean"].iloc[4])
    reused = XGBoostPruningCallback(trial, "valid-auc")
    xgb.train(params, dtrain, 2, evals=[(dvalid, "valid")], callbacks=[reused])
    with pytest.warns(UserWarning, match="fresh callback per fit"):
        xgb.train(params, dtrain, 2, evals=[(dvalid, "valid")], callbacks=[reused])
    with pytest.raises(ValueError, match="not in XGBoost's evaluation log"):
        xgb.train(
            params,
            dtrain,
            3,
            evals=[(dvalid, "valid")],
            callbacks=[XGBoostPruningCallback(trial, "valid-rmse")],
        )


def test_lightgbm_callback_with_train_cv_and_sklearn(cancer: Any) -> None:
    X, X_va, y, y_va = cancer
    params = {"objective": "binary", "metric": "auc", "verbose": -1, "num_threads": 1}

    def train(t: optuna.Trial) -> float:
        dtrain = lgb.Dataset(X, y)
        lgb.train(
            params,
            dtrain,
            30,
            valid_sets=[dtrain, lgb.Dataset(X_va, y_va, reference=dtrain)],
            callbacks=[LightGBMPruningCallback(t, "auc")],
        )
        return 0.0

    def cv(t: optuna.Trial) -> float:
        lgb.cv(params, lgb.Dataset(X, y), 30, nfold=3, callbacks=[LightGBMPruningCallback(t)])
        return 0.0

    def sk(t: optuna.Trial) -> float:
        model = lgb.LGBMClassifier(n_estimators=30, n_jobs=1, verbose=-1)
        # lightgbm 4.7 deprecates eval_set in favour of eval_X/eval_y.
        new_api = "eval_X" in inspect.signature(model.fit).parameters
        evals = {"eval_X": (X_va,), "eval_y": (y_va,)} if new_api else {"eval_set": [(X_va, y_va)]}
        model.fit(X, y, eval_metric="auc", callbacks=[LightGBMPruningCallback(t, "auc")], **evals)
        return 0.0

    for fit in (train, cv, sk):
        _assert_pruned_at(_run_with(fit), 4)
    study = optuna.create_study(direction="maximize", pruner=optuna.pruners.NopPruner())
    trial = study.ask()
    res = lgb.cv(params, lgb.Dataset(X, y), 5, nfold=3, callbacks=[LightGBMPruningCallback(trial)])
    reported = trial.storage.get_trial(compat.trial_id_of(trial)).intermediate_values
    assert reported[4] == pytest.approx(res["valid auc-mean"][4])


@pytest.mark.slow
def test_adapters_import_is_lazy_and_missing_library_names_the_extra() -> None:
    code = (
        "import sys, optuna_recipes.adapters as a;"
        "print([m for m in ('xgboost', 'lightgbm') if m in sys.modules])"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
    code = (
        "import sys; sys.modules['xgboost'] = None\n"
        "try:\n    from optuna_recipes.adapters import XGBoostObjective\n"
        "except ImportError as e:\n    print(e)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install optuna-recipes[xgboost]" in out.stdout


@pytest.mark.parametrize("cls", OBJECTIVES)
def test_objective_pickles_for_multiprocess_studies(cls: Any, cancer: Any) -> None:
    import pickle

    X, _, y, _ = cancer
    obj = cls(X, y, cv=3, **FAST)
    before = obj.evaluate({"learning_rate": 0.1})  # fills the per-fold data cache
    clone = pickle.loads(pickle.dumps(obj))
    assert clone.evaluate({"learning_rate": 0.1})["value"] == pytest.approx(before["value"])
