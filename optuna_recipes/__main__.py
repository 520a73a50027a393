"""``python -m optuna_recipes`` runs the ``optuna-recipes`` command."""

from __future__ import annotations

import sys

from optuna_recipes.cli import main

if __name__ == "__main__":
    sys.exit(main())
