"""``python -m optuna_recipes.bench.recording``: record task families."""

from optuna_recipes.bench.recording.record import main

raise SystemExit(main())
