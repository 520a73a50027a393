"""Suite files: the built-in suites parse, malformed files name the line and the fix, and a
suite is code that only runs when the suite runs (issue 26, finding 4)."""

from __future__ import annotations

from pathlib import Path
import re

import pytest

from optuna_recipes.bench import run_suite
from optuna_recipes.bench.report import plot_name
from optuna_recipes.bench.suite import SuiteError
from optuna_recipes.bench.suite import builtin_suites
from optuna_recipes.bench.suite import load_suite
from optuna_recipes.bench.suite import parse_suite
from optuna_recipes.cli import main

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
        suite.check()  # every problem builds with its options
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
    # Problems are built by `check` (at run time), never while parsing.
    with pytest.raises(SuiteError, match=match):
        parse_suite(broken, "my.toml").check()


def test_unknown_suite_lists_the_builtin_ones() -> None:
    with pytest.raises(SuiteError, match=r"Unknown suite 'quik'.*quick"):
        load_suite("quik")
    with pytest.raises(SuiteError, match="does not exist"):
        load_suite("missing.toml")


def test_parsing_and_showing_a_suite_runs_none_of_its_code(
    tmp_path: Path, capsys: pytest.CaptureFixture[str]
) -> None:
    """The finding: `type = "os:system"` ran its command while the suite was parsed."""
    marker = tmp_path / "ran"
    text = f"""
[suite]
strategies = ["random", "evil"]

[strategies.evil]
sampler = "subprocess:getoutput"
sampler_options = {{ cmd = "touch {marker}" }}

[[problems]]
name = "p"
type = "os:system"
options = {{ command = "touch {marker}" }}
"""
    path = tmp_path / "evil.toml"
    path.write_text(text)
    suite = load_suite(str(path))
    assert suite.import_paths() == ["os:system", "subprocess:getoutput"]
    assert main(["bench", "show", str(path)]) == 0
    shown = capsys.readouterr().out
    assert "type 'os:system' (IMPORT PATH)" in shown and "  subprocess:getoutput" in shown
    out = tmp_path / "out"
    assert main(["bench", "run", str(path), "--out", str(out), "--no-imports"]) == 2
    err = capsys.readouterr().err
    assert "names import paths (os:system, subprocess:getoutput)" in err
    assert "bench show" in err
    assert not marker.exists() and not out.exists()


def test_builtin_suites_need_no_imports(capsys: pytest.CaptureFixture[str]) -> None:
    for name in builtin_suites():
        assert load_suite(name).import_paths() == [], name
    assert main(["bench", "show", "quick"]) == 0
    assert "Import paths: none" in capsys.readouterr().out


@pytest.mark.slow
def test_no_imports_runs_a_suite_of_registered_names(tmp_path: Path) -> None:
    path = tmp_path / "plain.toml"
    path.write_text(GOOD)
    args = ["bench", "run", str(path), "--out", str(tmp_path / "out"), "--no-imports"]
    assert main([*args, "--trials", "2", "--seeds", "1", "--workers", "1", "--no-progress"]) == 0
    assert main([*args[:3], "--strategies", "_bench_helpers:BrokenSampler", *args[3:]]) == 2


@pytest.mark.slow
def test_names_are_escaped_in_the_report_and_plots_never_collide(tmp_path: Path) -> None:
    """The finding: raw names went into report.md, and "x/y" and "x_y" wrote one plot file."""
    text = """
[suite]
trials = 3
seeds = 1
strategies = ["random", "a|b*"]

[strategies."a|b*"]
sampler = "random"

[[problems]]
name = "x/y"
type = "mixed"
options = { function = "sphere" }

[[problems]]
name = "x_y"
type = "mixed"
options = { function = "sphere" }

[[problems]]
name = "<img src=x> | [link](http://e) # *bold*"
type = "mixed"
options = { function = "sphere" }
"""
    path = tmp_path / "names.toml"
    path.write_text(text)
    out = tmp_path / "out"
    run_suite(str(path), out, workers=1, progress=False)
    report = (out / "report.md").read_text()
    assert len(list((out / "plots").glob("*.png"))) == 3
    assert plot_name("x/y") != plot_name("x_y")
    for raw in (r"<img", r"\]\(http", r"\|b\*", r"\*bold"):  # nothing unescaped
        assert not re.search(r"(?<!\\)" + raw, report), raw
    assert "### \\<img src=x\\> \\| \\[link\\](http://e) \\# \\*bold\\*" in report
    assert "### x/y" in report and "### x\\_y" in report
    tables: list[list[int]] = [[]]
    for line in report.splitlines():  # every row of a table has as many cells as its header
        if line.startswith("|"):
            tables[-1].append(len(re.findall(r"(?<!\\)\|", line)))
        elif tables[-1]:
            tables.append([])
    assert len(tables) > 5 and all(len(set(t)) <= 1 for t in tables), tables
    assert any("a\\|b\\*" in line for line in report.splitlines() if line.startswith("|"))
