"""``optuna-recipes warmstart``: create a study warm-started from earlier studies of a storage,
or (``--report``) print how the warm start of an existing study went.

Example:
    .. code-block:: console

        $ optuna-recipes warmstart --storage sqlite:///hpo.db --study churn-model-2026-11 \\
              --from 'churn-model-*' --direction minimize
        $ optuna-recipes warmstart --storage sqlite:///hpo.db --study churn-model-2026-11 --report
"""

from __future__ import annotations

import argparse
import sys

from optuna_recipes._redact import redact


def configure(parser: argparse.ArgumentParser) -> None:
    """Arguments of ``optuna-recipes warmstart``."""
    parser.add_argument(
        "--storage",
        required=True,
        help="storage URL of the earlier studies, e.g. sqlite:///hpo.db; it must exist, and the "
        "new study is added to it",
    )
    parser.add_argument("--study", required=True, help="name of the new study")
    parser.add_argument(
        "--from",
        dest="pattern",
        default=None,
        help="shell-style pattern of the source study names, e.g. 'churn-model-*'",
    )
    parser.add_argument(
        "--sources", nargs="+", default=None, metavar="NAME", help="exact source study names"
    )
    parser.add_argument("--direction", choices=["minimize", "maximize"], default="minimize")
    parser.add_argument("--seed", type=int, default=None)
    parser.add_argument(
        "--load-if-exists", action="store_true", help="open the study if it already exists"
    )
    parser.add_argument(
        "--report",
        action="store_true",
        help="print how the warm start of the existing study --study went (which proposer found "
        "its best trials, each source's weight) instead of creating a study",
    )


def run(args: argparse.Namespace) -> int:
    """Create the warm-started study and print what was done; exit code 0 on success."""
    import optuna

    from optuna_recipes._storage_urls import StorageUnavailableError
    from optuna_recipes.warm_start._sources import check_storage_exists
    from optuna_recipes.warm_start._workflow import _recorded_sources
    from optuna_recipes.warm_start._workflow import create_warm_started_study

    optuna.logging.set_verbosity(optuna.logging.WARNING)
    if args.report:
        return _report(args)
    try:
        check_storage_exists(args.storage)
        if (
            args.pattern is None
            and args.sources is None
            and not (args.load_if_exists and _recorded_sources(args.storage, args.study))
        ):
            raise ValueError(
                "say which earlier studies to warm-start from: --from PATTERN (e.g. --from "
                "'churn-model-*') or --sources NAME [NAME ...] (with --load-if-exists, an "
                "existing study made by this command reuses the sources it recorded)."
            )
        study = create_warm_started_study(
            args.storage,
            args.study,
            source_names=args.sources,
            source_pattern=args.pattern,
            direction=args.direction,
            seed=args.seed,
            load_if_exists=args.load_if_exists,
        )
    except (
        ValueError,
        KeyError,
        StorageUnavailableError,
        optuna.exceptions.DuplicatedStudyError,
    ) as err:
        print(f"optuna-recipes warmstart: error: {redact(str(err))}", file=sys.stderr)
        return 2
    sources = study.sampler.sources  # type: ignore[union-attr]
    print(f"Warm-started study {study.study_name!r} ({args.direction}) in {redact(args.storage)}")
    print(f"from {len(sources)} source studies:")
    for src in sources:
        direction = src.direction.name.lower() if src.direction is not None else "?"
        best = src.best_value()
        print(
            f"  {src.name}: {src.n_complete} complete trials, {direction}, "
            f"best {best if best is not None else 'n/a'}"
        )
    print("Sampler: WarmStartSampler; pruner: WarmStartPruner.")
    print("Run trials from any process with:")
    print("  import optuna_recipes")
    shown = redact(args.storage)
    print(f"  study = optuna_recipes.load_warm_started_study({shown!r}, {args.study!r})")
    print("  study.optimize(objective, n_trials=...)")
    return 0


def _report(args: argparse.Namespace) -> int:
    """``--report``: print :func:`~optuna_recipes.warm_start.transfer_report` of ``--study``."""
    import optuna

    from optuna_recipes._storage_urls import StorageUnavailableError
    from optuna_recipes.warm_start._report import transfer_report
    from optuna_recipes.warm_start._sources import _get_storage

    try:
        if args.pattern is not None or args.sources is not None:
            raise ValueError(
                "--report reads an existing study and creates nothing: drop --from/--sources "
                "(the study recorded its sources)."
            )
        storage = _get_storage(args.storage)  # the same URL handling as creating a study
        try:
            study = optuna.load_study(study_name=args.study, storage=storage)
        except KeyError:
            raise ValueError(
                f"no study named {args.study!r} in {redact(args.storage)}; list the names with "
                f"`optuna studies --storage {redact(args.storage)}`."
            ) from None
        report = transfer_report(study)
    except (ValueError, StorageUnavailableError) as err:
        print(f"optuna-recipes warmstart: error: {redact(str(err))}", file=sys.stderr)
        return 2
    print(report)
    return 0
