"""Suite files: the built-in suites parse, and malformed files name the line and the fix."""

from __future__ import annotations

import pytest

from optuna_recipes.bench.suite import SuiteError
from optuna_recipes.bench.suite import builtin_suites
from optuna_recipes.bench.suite import load_suite
from optuna_recipes.bench.suite import parse_suite

GOOD = """\
[suite]
trials = 5
seeds = 2
strategies = ["random", "tpe"]

[[problems]]
name = "s"
type = "mixed"
options = { function = "sphere" }
"""


def test_builtin_suites_parse() -> None:
    suites = builtin_suites()
    assert {"quick", "bbob", "bbob-mixint", "hpo", "transfer", "pruning"} <= set(suites)
    for name in suites:
        suite = load_suite(name)
        assert suite.problems and suite.runs()
    assert len(load_suite("bbob").problems) == 24
    quick = load_suite("quick")
    assert {p.group for p in quick.problems} == {"samplers", "transfer", "pruning"}
    # Sources come first and are made once per related task.
    runs = quick.runs()
    sources = [r for r in runs if r.role == "source"]
    assert (
        sources
        and runs[: len(sources)] != []
        and len({r.study_name for r in sources}) == len(sources)
    )


def test_runs_and_overrides() -> None:
    suite = parse_suite(GOOD, name="t")
    runs = suite.runs()
    assert [(r.strategy.name, r.seed) for r in runs] == [
        ("random", 0),
        ("random", 1),
        ("tpe", 0),
        ("tpe", 1),
    ]
    assert runs[0].study_name == "t:s/random/seed0"
    runs = suite.runs(seeds=1, trials=9, strategies=["cmaes+median"])
    assert [(r.strategy.name, r.n_trials) for r in runs] == [("cmaes+median", 9)]


def test_matrix_expands_problems() -> None:
    text = GOOD.replace(
        'options = { function = "sphere" }',
        'options = { n_int = 0 }\nmatrix = { function = ["sphere", "rastrigin"], '
        "n_float = [1, 2] }",
    )
    names = [p.spec.name for p in parse_suite(text).problems]
    assert names == [
        "s-functionsphere-n_float1",
        "s-functionsphere-n_float2",
        "s-functionrastrigin-n_float1",
        "s-functionrastrigin-n_float2",
    ]


@pytest.mark.parametrize(
    ("broken", "match"),
    [
        (GOOD.replace("seeds = 2", "seeds = "), r"not valid TOML.*line 3"),
        (GOOD.replace("seeds = 2", "seeds = 0"), r"line 3: `seeds` must be an int >= 1; got 0"),
        (GOOD.replace("seeds = 2", "sedes = 2"), r"line 3: unknown key 'sedes'.*valid keys:"),
        (GOOD.replace('"tpe"]', '"tpee"]'), r"line 4: Unknown strategy 'tpee'.*'tpe'"),
        (GOOD.replace('"tpe"]', '"tpe+medain"]'), r"line 4: Unknown pruner 'medain'"),
        (GOOD.replace('type = "mixed"', 'type = "mixd"'), r"line 7: problem 's'.*'mixed'"),
        (GOOD.replace('"sphere"', '"sphre"'), r"line 7: problem 's': `function` must be one"),
        (GOOD.replace("function =", "functon ="), r"line 7.*no option.*functon"),
        (GOOD.replace('name = "s"', 'nam = "s"'), r"line 7: unknown key 'nam'"),
        (GOOD + GOOD.split("\n", 5)[5], r"duplicate problem name 's'"),
        (GOOD.replace('"tpe"]', '"warmstart"]'), r"need source tasks.*sources = N"),
        ("[suite]\ntrials = 3\n", r"at least one \[\[problems\]\]"),
        (
            GOOD + "\n[strategies.x]\nsampler = 'tpe'\nprune = 'median'\n",
            r"line 13: unknown key .prune.",
        ),
    ],
)
def test_malformed_suites_name_the_line_and_the_choices(broken: str, match: str) -> None:
    with pytest.raises(SuiteError, match=match):
        parse_suite(broken, "my.toml")


def test_unknown_suite_lists_the_builtin_ones() -> None:
    with pytest.raises(SuiteError, match=r"Unknown suite 'quik'.*quick"):
        load_suite("quik")
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite("missing.toml")
