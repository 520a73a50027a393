"""Benchmark problems: built-in types, the optimum, determinism, task families, bad options."""

from __future__ import annotations

import math

import numpy as np
import optuna
import pytest

from optuna_recipes.bench._registry import UnknownNameError
from optuna_recipes.bench.problems import PROBLEM_TYPES
from optuna_recipes.bench.problems import FunctionProblem
from optuna_recipes.bench.problems import Problem
from optuna_recipes.bench.problems import ProblemSpec
from optuna_recipes.bench.problems import make_problem
from optuna_recipes.bench.problems.synthetic import FUNCTIONS
from optuna_recipes.bench.problems.synthetic import MixedProblem

CHEAP = {
    "mixed": {},
    "conditional": {},
    "curves": {"n_steps": 5},
    "sklearn": {"model": "svm", "dataset": "iris"},
    "sgd-curves": {"dataset": "iris", "n_steps": 3},
    "coco": {"suite": "bbob-mixint", "function": 3, "dimension": 5},
    "adapter": {"library": "lightgbm", "dataset": "iris", "num_boost_round": 4},
    "recorded": {"family": "lightgbm-wine", "n_steps": 5},
    "rippled": {"sources": 3},
    "heldout": {"library": "lightgbm", "dataset": "iris", "cv": 2, "num_boost_round": 4},
}


def _optimize(problem: Problem, n: int = 6, seed: int = 0) -> optuna.Study:
    study = optuna.create_study(
        direction=problem.direction,
        sampler=optuna.samplers.RandomSampler(seed=seed),
        pruner=optuna.pruners.NopPruner(),
    )
    study.optimize(problem, n_trials=n)
    return study


def test_every_registered_type_has_a_cheap_case() -> None:
    assert set(CHEAP) == set(PROBLEM_TYPES)


@pytest.mark.parametrize("type_name", sorted(CHEAP))
def test_builtin_types_run_and_are_deterministic(type_name: str) -> None:
    problem = make_problem(type_name, CHEAP[type_name])
    a = _optimize(problem)
    b = _optimize(make_problem(type_name, CHEAP[type_name]))
    assert [t.state for t in a.trials] == [optuna.trial.TrialState.COMPLETE] * 6
    assert all(math.isfinite(t.value) for t in a.trials)
    assert [t.value for t in a.trials] == [t.value for t in b.trials]
    if problem.n_steps:
        assert all(1 <= len(t.intermediate_values) <= problem.n_steps for t in a.trials)


@pytest.mark.parametrize("function", FUNCTIONS)
def test_mixed_problem_reaches_its_optimum_at_the_shift(function: str) -> None:
    problem = MixedProblem(function=function, n_float=2, n_int=2, n_cat=2, instance=3)
    shift = problem._shift
    params: dict[str, object] = {"x0": shift[0], "x1": shift[1], "k0": int(shift[2])}
    params.update({"k1": int(shift[3]), "lr": 10 ** shift[4]})
    for i, costs in enumerate(problem._cat_costs):
        params[f"c{i}"] = "abcd"[int(np.argmin(costs))]
    value = problem(optuna.trial.FixedTrial(params))
    assert value == pytest.approx(problem.optimum, abs=1e-6)
    # Anywhere else is worse.
    params["x0"] = float(shift[0]) + 0.5
    assert problem(optuna.trial.FixedTrial(params)) > problem.optimum


def test_task_family_moves_and_rescales() -> None:
    spec = ProblemSpec("p", "mixed", {"function": "sphere", "sources": 3})
    sources = spec.source_specs()
    assert [s.options["task"] for s in sources] == [1, 2, 3]
    assert [s.name for s in sources] == ["p@source1", "p@source2", "p@source3"]
    params = {"x0": 0.0, "x1": 0.0, "x2": 0.0, "k0": 0, "k1": 0, "lr": 1e-3, "c0": "a"}
    values = {s.build()(optuna.trial.FixedTrial(params)) for s in [spec, *sources]}
    assert len(values) == 4
    assert ProblemSpec("p", "mixed", {}).source_specs() == []
    assert spec.source_specs()[0].build().optimum is None  # unknown after rescaling


def test_curve_problem_can_be_pruned_and_counts_steps() -> None:
    problem = make_problem("curves", {"n_steps": 9})
    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=1),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=2, n_warmup_steps=1),
    )
    study.optimize(problem, n_trials=12)
    pruned = [t for t in study.trials if t.state == optuna.trial.TrialState.PRUNED]
    assert pruned and all(len(t.intermediate_values) < 9 for t in pruned)


def test_grid_space_is_static_where_the_space_is() -> None:
    assert make_problem("mixed", {}).search_space()
    assert make_problem("coco", {"suite": "bbob", "dimension": 2}).search_space()
    assert make_problem("conditional", {}).search_space() is None


@pytest.mark.parametrize("suite", ["bbob", "bbob-mixint"])
def test_coco_family_tasks_exist_outside_the_default_instances(suite: str) -> None:
    # COCO's default instances are bbob 1-5, 71-80 and bbob-mixint 1-15; a family starting at 5
    # (bbob) or 15 (bbob-mixint) needs the instances after it.
    start = {"bbob": 5, "bbob-mixint": 15}[suite]
    values = []
    for task in range(3):
        options = {"suite": suite, "dimension": 5, "instance": start, "sources": 2}
        problem = make_problem("coco", {**options, "task": task})
        values.append(_optimize(problem, n=1).trials[0].value)
    assert len(set(values)) == 3  # three different instances, not one of them three times


def test_coco_instance_is_cocos_own() -> None:
    import cocoex  # the bench extra, as for every COCO problem test here

    suite = cocoex.Suite("bbob", "", "dimensions: 5 function_indices: 3")
    expected = suite.get_problem_by_function_dimension_instance(3, 5, 72)
    problem = make_problem("coco", {"suite": "bbob", "function": 3, "instance": 72})
    study = _optimize(problem, n=3)
    for t in study.trials:
        x = [t.params[f"x{i}"] for i in range(5)]
        assert t.value == expected(x)


def test_function_problem_takes_direction_from_the_objective() -> None:
    class Objective:
        direction = "maximize"

        def __call__(self, trial: optuna.Trial) -> float:
            return trial.suggest_float("x", 0, 1)

    assert FunctionProblem(Objective()).direction == "maximize"
    assert FunctionProblem(lambda t: 0.0).direction == "minimize"
    with pytest.raises(ValueError, match="`direction` must be one of"):
        FunctionProblem(lambda t: 0.0, direction="up")
    with pytest.raises(ValueError, match="`objective` must be callable"):
        FunctionProblem(3)  # type: ignore[arg-type]


def test_import_path_types() -> None:
    problem = make_problem("_bench_helpers:Parabola", {"shift": 0.5})
    assert problem.optimum == 0.0
    assert make_problem("_bench_helpers:make_maximize").direction == "maximize"
    with pytest.raises(TypeError, match="not a Problem"):
        make_problem("_bench_helpers:not_a_problem")
    with pytest.raises(ImportError, match="has no attribute"):
        make_problem("_bench_helpers:Nope")


@pytest.mark.parametrize(
    ("type_name", "options", "match"),
    [
        ("mixed", {"function": "nope"}, "`function` must be one of"),
        ("mixed", {"n_float": -1}, "`n_float` must be an integer >= 0"),
        ("mixed", {"n_float": 0, "n_int": 0, "n_cat": 0, "log": False}, "at least one"),
        ("mixed", {"dims": 3}, "has no option.*dims.*its options are: function"),
        ("curves", {"n_steps": 1}, "`n_steps` must be an integer >= 2"),
        ("sklearn", {"model": "xgb"}, "`model` must be one of"),
        ("sklearn", {"dataset": "mnist"}, "`dataset` must be one of"),
        ("sgd-curves", {"dataset": "diabetes"}, "`dataset` must be one of"),
        ("coco", {"suite": "bbob", "dimension": 7}, "`dimension` must be one of"),
        ("coco", {"function": 25}, r"`function` must be an integer in \[1, 24\]"),
    ],
)
def test_bad_options_name_the_argument(type_name: str, options: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        make_problem(type_name, options)


def test_unknown_type_lists_the_valid_ones() -> None:
    with pytest.raises(UnknownNameError, match=r"Did you mean 'mixed'.*conditional, curves"):
        make_problem("mixd")


def test_generated_datasets_have_a_realistic_size() -> None:
    from optuna_recipes.bench.problems.sklearn_tasks import _load

    X, y, classification = _load("make_classification")
    assert X.shape == (5000, 20) and classification and set(np.unique(y)) == {0, 1}
    X, y, classification = _load("make_regression")
    assert X.shape == (5000, 20) and not classification and np.std(y) > 1.0


@pytest.mark.slow  # importing torch: ~3 s idle, ~20 s on the loaded shared machine
def test_torch_adapter_problem_reports_epochs() -> None:
    pytest.importorskip("torch")
    options = {"library": "torch", "dataset": "iris", "cv": 0.25, "epochs": 3}
    problem = make_problem("adapter", options)
    assert problem.n_steps == 3 and problem.direction == "minimize"
    study = _optimize(problem, n=2)
    assert all(len(t.intermediate_values) == 3 for t in study.trials)
    assert all(math.isfinite(t.value) for t in study.trials)
    with pytest.raises(ValueError, match="`cv` must be an int >= 2 or a fraction"):
        make_problem("adapter", {**options, "cv": 1.5})
