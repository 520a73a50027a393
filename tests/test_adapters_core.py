"""The library-agnostic adapter core (``optuna_recipes.adapters._base``), unit by unit.

The contract every objective keeps is in ``test_objective_contract.py``; this file tests the
pieces underneath it (labels, task, folds, search spaces, settings, metrics) and what only a
plain :class:`~optuna_recipes.adapters.BaseObjective` subclass shows (``GDObjective``).
"""

from __future__ import annotations

import ast
from pathlib import Path
import warnings

from _objective_kit import GDObjective
import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import FloatDistribution
from optuna.distributions import IntDistribution
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.datasets import load_diabetes
from sklearn.model_selection import GroupKFold

from optuna_recipes.adapters._base.data import check_labels
from optuna_recipes.adapters._base.data import infer_task
from optuna_recipes.adapters._base.folds import Fold
from optuna_recipes.adapters._base.folds import make_folds
from optuna_recipes.adapters._base.metrics import DIRECTIONS
from optuna_recipes.adapters._base.metrics import SCORERS
from optuna_recipes.adapters._base.metrics import direction_of
from optuna_recipes.adapters._base.search_space import merge_space
from optuna_recipes.adapters._base.settings import ObjectiveSettings


@pytest.fixture(scope="module")
def cancer() -> tuple[np.ndarray, np.ndarray]:
    return load_breast_cancer(return_X_y=True)


def test_task_inference() -> None:
    assert infer_task(np.array([0, 1, 1, 0])) == "binary"
    assert infer_task(np.array(["a", "b", "c"])) == "multiclass"
    assert infer_task(np.array([0.5, 1.2, 3.3])) == "regression"
    assert infer_task(np.arange(200)) == "regression"
    assert infer_task(np.arange(20) % 20) == "multiclass"
    assert infer_task(np.array([f"class{i}" for i in range(30)])) == "multiclass"  # names
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
    with pytest.raises(ValueError, match="`cv` must be an int >= 2, a float in"):
        make_folds(cv=object(), y=y, task="binary", n_rows=100, seed=0)
    with pytest.raises(ValueError, match="outside"):
        make_folds(cv=[([0, 1], [100])], y=y, task="binary", n_rows=100, seed=0)


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


def test_settings_are_checked_once_with_one_message_style() -> None:
    settings = ObjectiveSettings.from_kwargs("X", {"metric": "rmse", "fixed_params": {"a": 1}})
    assert settings.max_rounds == 1000 and settings.early_stopping_rounds == 50
    assert settings.seed == 0 and settings.fixed_params == {"a": 1}
    assert settings.replace(seed=None).seed is None and settings.seed == 0
    cases = [
        ({"max_rounds": 0}, "`max_rounds` must be an int >= 1; got 0."),
        ({"max_rounds": True}, "`max_rounds` must be an int >= 1; got True."),
        ({"early_stopping_rounds": 2.5}, "`early_stopping_rounds` must be an int >= 1 or None"),
        ({"seed": "0"}, "`seed` must be an int or None; got '0'."),
        ({"validation_data": (1, 2, 3, 4)}, "`validation_data` must be a pair"),
    ]
    for kwargs, match in cases:
        with pytest.raises(ValueError, match=match.replace("(", r"\(").replace(")", r"\)")):
            ObjectiveSettings.from_kwargs("X", kwargs)
    with pytest.raises(TypeError, match="GDObjective\\(\\) got an unexpected keyword argument"):
        ObjectiveSettings.from_kwargs("GDObjective", {"zzz": 1})


def test_one_metric_vocabulary() -> None:
    assert set(SCORERS) <= set(DIRECTIONS)
    assert direction_of("acc") == direction_of("accuracy") == "maximize"
    assert direction_of("mean_squared_error") == "minimize"
    assert direction_of("ndcg") is None  # a library's own name: the library says


def test_validation_data_and_regression() -> None:
    X, y = load_diabetes(return_X_y=True)
    obj = GDObjective(X[:300], y[:300], validation_data=(X[300:], y[300:]), max_rounds=200)
    assert obj.task == "regression" and obj.metric.name == "rmse"
    assert len(obj.folds) == 1 and obj.folds[0].valid is None
    assert obj.describe()["cv"] == "validation_data"
    study = optuna.create_study(
        direction=obj.direction, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.optimize(obj, n_trials=8)
    assert study.best_value < 0.8 * float(np.std(y[300:]))  # better than predicting the mean
    with pytest.raises(ValueError, match="either `cv` or `validation_data`"):
        GDObjective(X, y, cv=3, validation_data=(X, y))


def test_validation_labels_must_be_known_classes(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    labels = np.array(["benign", "malignant"])[y]
    obj = GDObjective(X[:400], labels[:400], validation_data=(X[400:], labels[400:]))
    assert obj.classes_ == ["benign", "malignant"]
    np.testing.assert_array_equal(obj.y_valid_, y[400:])
    unknown = labels[400:].copy()
    unknown[0] = "other"
    with pytest.raises(ValueError, match="labels \\['other'\\] that `y` does not have"):
        GDObjective(X[:400], labels[:400], validation_data=(X[400:], unknown))


def test_refit_takes_what_it_documents(cancer: tuple[np.ndarray, np.ndarray]) -> None:
    X, y = cancer
    obj = GDObjective(X, y, cv=3, max_rounds=10)
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    study.optimize(obj, n_trials=2)
    np.testing.assert_array_equal(obj.refit(study), obj.refit(study.best_trial))
    assert obj.refit({"lr": 0.1}).shape == (X.shape[1] + 1,)
    with pytest.raises(ValueError, match="`n_rounds` must be an int >= 1"):
        obj.refit({"lr": 0.1}, n_rounds=0)
    with pytest.raises(ValueError, match="`refit` takes a study"):
        obj.refit(3)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="These best parameters are for xgboost"):
        obj.refit({"format": "optuna_recipes.adapters.best/1", "library": "xgboost", "params": {}})
    with pytest.raises(ValueError, match="`artifact_store` needs the study"):
        obj.refit({"lr": 0.1}, artifact_store=object())


def test_old_private_paths_warn_and_resolve() -> None:
    from optuna_recipes.adapters import _core
    from optuna_recipes.adapters._base.metrics import ValidationMetric

    with pytest.warns(DeprecationWarning, match="has moved to `optuna_recipes.adapters._base"):
        assert _core.Fold is Fold
    with pytest.warns(DeprecationWarning, match="_base.metrics.ValidationMetric"):
        assert _core.Metric is ValidationMetric
    with warnings.catch_warnings():
        warnings.simplefilter("ignore", DeprecationWarning)
        from optuna_recipes.adapters._core import BoostingPruner
        from optuna_recipes.adapters._core import boosting_pruner
    assert isinstance(boosting_pruner(100), BoostingPruner)
    with pytest.raises(AttributeError, match="no attribute 'nothing'"):
        _core.nothing  # noqa: B018


def _module_imports(path: Path, package_root: Path) -> set[str]:
    """Modules of the package that ``path`` imports (at run time or under TYPE_CHECKING)."""
    tree = ast.parse(path.read_text())
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.ImportFrom) and node.module:
            names = [node.module, *(f"{node.module}.{a.name}" for a in node.names)]
        elif isinstance(node, ast.Import):
            names = [a.name for a in node.names]
        else:
            continue
        for name in names:
            file = package_root.parent.joinpath(*name.split(".")).with_suffix(".py")
            if name.startswith("optuna_recipes.") and file.exists():
                found.add(name)
    return found


def test_adapter_modules_form_no_import_cycle() -> None:
    import optuna_recipes

    root = Path(optuna_recipes.__file__).parent
    graph = {}
    for folder in ("adapters", "pruners"):
        for path in (root / folder).rglob("*.py"):
            if path.name == "__init__.py":
                continue
            name = ".".join(path.relative_to(root.parent).with_suffix("").parts)
            graph[name] = _module_imports(path, root)
            assert "TYPE_CHECKING" not in path.read_text(), f"{name} imports for types only"
    state: dict[str, int] = {}

    def visit(node: str, trail: list[str]) -> None:
        state[node] = 1
        for nxt in graph.get(node, ()):
            assert state.get(nxt) != 1, f"import cycle: {' -> '.join([*trail, node, nxt])}"
            if nxt not in state:
                visit(nxt, [*trail, node])
        state[node] = 2

    for node in graph:
        if node not in state:
            visit(node, [])
    assert "optuna_recipes.adapters.torch.callbacks" in graph
    assert not any("model" in m for m in graph["optuna_recipes.adapters.torch.callbacks"])


def test_integer_targets_with_many_values_ask_for_the_task() -> None:
    """Issue 26: a 26-level integer score was tuned silently as a 26-class classifier."""
    score = np.arange(260) % 26
    for y in (score, score.astype(float)):
        with pytest.raises(ValueError, match=r"26 distinct integer values.*task='regression'"):
            infer_task(y)
    assert infer_task(score, task="regression") == "regression"
    X = np.random.default_rng(0).normal(size=(260, 3))
    with pytest.raises(ValueError, match="task='multiclass'"):
        GDObjective(X, score)
    assert GDObjective(X, score, task="regression", cv=3).task == "regression"


def test_numeric_string_labels_are_refused_or_used_as_given() -> None:
    """Issue 26: numbers read as text gave a cross-validation error about class counts."""
    text = np.array([str(v) for v in np.arange(100) % 7 * 1.5])
    with pytest.raises(ValueError, match=r"numbers written as text.*y\.astype\(float\)"):
        infer_task(text)
    assert infer_task(np.array(["0", "1", "1"])) == "binary"  # two labels: class names
    X = np.random.default_rng(0).normal(size=(100, 2))
    regression = GDObjective(X, text, task="regression", cv=3)
    np.testing.assert_array_equal(regression.y_, text.astype(float))
    classes = GDObjective(X, np.where(X[:, 0] > 0, "10", "9"), cv=3)
    assert classes.classes_ == ["10", "9"]  # strings, in sorted order, decoded by estimators
    with pytest.raises(ValueError, match="mixes label types"):
        infer_task(np.array([1, "1", 2, "x"], dtype=object))


def test_feature_checks_name_the_columns_and_the_fix() -> None:
    import pandas as pd
    import scipy.sparse as sp

    from optuna_recipes.adapters._base.features import check_features

    frame = pd.DataFrame(
        {
            "x": [1.0, np.inf, 2.0],
            "city": pd.Series(["a", "b", "c"], dtype="string"),
            "when": pd.to_datetime(["2024-01-01"] * 3),
            "kind": pd.Categorical(["u", "v", "u"]),
            "flag": [True, False, True],
        }
    )
    with pytest.raises(ValueError, match=r"\('city', 'string'\), \('when', 'datetime64"):
        check_features(frame)
    with pytest.raises(ValueError, match=r"1 infinite value\(s\) in columns \['x'\]"):
        check_features(frame[["x", "kind", "flag"]])
    check_features(frame[["kind", "flag"]].assign(x=[1.0, np.nan, 2.0]))  # NaN: missing
    with pytest.raises(ValueError, match=r"NaN value\(s\) in columns \['x'\]"):
        check_features(frame[["kind"]].assign(x=[1.0, np.nan, 2.0]), allow_nan=False)
    matrix = sp.csr_matrix(np.array([[0.0, 1.0, 0.0], [0.0, 0.0, -np.inf]]))
    with pytest.raises(ValueError, match=r"infinite value\(s\) in columns \[2\]"):
        check_features(matrix)
    with pytest.raises(ValueError, match="array of dtype <U1"):
        check_features(np.array([["a", "b"]]))
    many = np.zeros((2, 30))
    many[0] = np.inf
    with pytest.raises(ValueError, match=r"\[0, 1, .*, 9\] and 20 more"):
        check_features(many)


def test_sample_weight_and_validation_weight_checks() -> None:
    from optuna_recipes.adapters._base.data import check_sample_weight

    np.testing.assert_array_equal(check_sample_weight([[1], [2]], 2), [1.0, 2.0])
    assert check_sample_weight(None, 3) is None
    for bad, match in (
        ([1, 2], "one weight per row \\(3\\)"),
        ([1, np.nan, 1], "finite"),
        ([0, 0, 0], "at least one positive"),
        (["a", "b", "c"], "must hold numbers"),
    ):
        with pytest.raises(ValueError, match=match):
            check_sample_weight(bad, 3)
    X = np.random.default_rng(0).normal(size=(30, 2))
    y = (X[:, 0] > 0).astype(int)
    with pytest.raises(ValueError, match=r"`validation_data\[2\]` must have one weight"):
        GDObjective(X, y, validation_data=(X[:10], y[:10], np.ones(3)))
    with pytest.raises(ValueError, match="not supported for ranking"):
        GDObjective(X, y.astype(float), group=[15, 15], sample_weight=np.ones(30))


def test_model_files_stay_in_the_folder_of_their_json(tmp_path: Path) -> None:
    from optuna_recipes.adapters._base.persistence import model_file

    (tmp_path / "run").mkdir()
    (tmp_path / "run" / "best.pt").write_bytes(b"weights")
    (tmp_path / "secret.pt").write_bytes(b"elsewhere")
    record = tmp_path / "run" / "best.json"
    assert model_file(record, "best.pt") == (tmp_path / "run" / "best.pt").resolve()
    for name in ("../secret.pt", str(tmp_path / "secret.pt")):
        with pytest.raises(ValueError, match=r"outside its folder.*allow_outside=True"):
            model_file(record, name)
        assert model_file(record, name, allow_outside=True).read_bytes() == b"elsewhere"
    with pytest.raises(FileNotFoundError, match=r"gone\.pt, which is missing"):
        model_file(record, "gone.pt")
