"""Packaging: version, the command, cheap import, optional-dependency errors, README == CI."""

from __future__ import annotations

from pathlib import Path
import re
import subprocess
import sys

import pytest

import optuna_recipes
from optuna_recipes._imports import optional_import
from optuna_recipes.cli import main

ROOT = Path(__file__).resolve().parents[1]


def test_version_is_single_sourced() -> None:
    text = (ROOT / "optuna_recipes" / "_version.py").read_text()
    assert f'__version__ = "{optuna_recipes.__version__}"' in text
    assert re.fullmatch(r"\d+\.\d+\.\d+(\.dev\d+)?", optuna_recipes.__version__)


def test_cli_version_and_help(capsys: pytest.CaptureFixture[str]) -> None:
    with pytest.raises(SystemExit) as exc:
        main(["--version"])
    assert exc.value.code == 0
    assert capsys.readouterr().out.strip() == f"optuna-recipes {optuna_recipes.__version__}"
    assert main([]) == 0
    assert "usage: optuna-recipes" in capsys.readouterr().out


def test_python_m_runs_the_command() -> None:
    out = subprocess.run(
        [sys.executable, "-m", "optuna_recipes", "--version"],
        capture_output=True,
        text=True,
        check=True,
    )
    assert out.stdout.strip() == f"optuna-recipes {optuna_recipes.__version__}"


@pytest.mark.slow
def test_import_pulls_no_heavy_library() -> None:
    code = (
        "import sys, optuna_recipes, optuna_recipes.samplers, optuna_recipes.pruners;"
        "heavy = [m for m in ('torch', 'xgboost', 'lightgbm', 'matplotlib', 'cocoex')"
        " if m in sys.modules]; print(heavy)"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_missing_optional_dependency_names_the_extra() -> None:
    with pytest.raises(ImportError, match=r"pip install optuna-recipes\[xgboost\]"):
        optional_import("surely_not_installed_module", extra="xgboost", feature="XGBoostObjective")


def test_unknown_attribute() -> None:
    with pytest.raises(AttributeError, match="no attribute 'Nope'"):
        optuna_recipes.Nope  # noqa: B018


def _readme_commands() -> list[str]:
    readme = (ROOT / "README.md").read_text()
    quick = readme.split("## Quick start", 1)[1].split("\n## ", 1)[0]
    return re.findall(r"```(?:bash|console)\n(.*?)\n```", quick, flags=re.S)


def test_readme_quick_start_has_two_commands_and_ci_runs_the_second() -> None:
    commands = _readme_commands()
    assert len(commands) == 2, commands
    assert all("\n" not in c for c in commands)
    ci_lines = (ROOT / ".ci" / "run").read_text().splitlines()
    assert commands[1] in ci_lines, "'.ci/run' must run the README's test command verbatim"
