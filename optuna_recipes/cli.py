"""The ``optuna-recipes`` command.

Subcommands live in their own modules and are listed in ``SUBCOMMANDS``. Each such module
provides ``configure(parser: argparse.ArgumentParser) -> None`` (adds its arguments, and may
add nested subparsers) and ``run(args: argparse.Namespace) -> int``. Those modules import
heavy libraries inside ``run`` only, so ``optuna-recipes --help`` stays fast.

Example:
    .. code-block:: console

        $ optuna-recipes --version
        $ python -m optuna_recipes --help
"""

from __future__ import annotations

import argparse
import importlib
import sys
from typing import TYPE_CHECKING

from optuna_recipes._version import __version__

if TYPE_CHECKING:
    from collections.abc import Sequence


# (name, module, one-line help)
SUBCOMMANDS: list[tuple[str, str, str]] = [
    ("bench", "optuna_recipes.bench.cli", "Benchmark search strategies on suites of problems."),
    (
        "warmstart",
        "optuna_recipes.warm_start.cli",
        "Create a study warm-started from earlier studies in a storage (retraining workflow).",
    ),
]


def build_parser() -> argparse.ArgumentParser:
    """Return the argument parser of the ``optuna-recipes`` command."""
    parser = argparse.ArgumentParser(
        prog="optuna-recipes",
        description=(
            "Samplers, pruners, objective adapters and a benchmark harness for Optuna. "
            "Run a subcommand with --help for its options."
        ),
    )
    parser.add_argument("--version", action="version", version=f"optuna-recipes {__version__}")
    subparsers = parser.add_subparsers(dest="command", metavar="COMMAND")
    for name, module_name, help_text in SUBCOMMANDS:
        module = importlib.import_module(module_name)
        sub = subparsers.add_parser(name, help=help_text, description=help_text)
        module.configure(sub)
        sub.set_defaults(_run=module.run)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    """Entry point of the console script; returns the process exit code."""
    parser = build_parser()
    args = parser.parse_args(argv)
    run = getattr(args, "_run", None)
    if run is None:
        parser.print_help()
        return 0
    return int(run(args) or 0)


if __name__ == "__main__":
    sys.exit(main())
