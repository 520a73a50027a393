"""Compare strategies on your own objective in one call, without a suite file.

:func:`compare` wraps an objective ``f(trial) -> float`` (or a zero-argument factory returning
one, or a :class:`~optuna_recipes.bench.problems.Problem`) as the one problem of a suite built
in Python, runs it with :func:`~optuna_recipes.bench.run_suite` (the same runner, storage,
resume and report as ``bench run``) and returns the per-trial results table.

Example:
    .. code-block:: python

        from optuna_recipes.bench import compare


        def objective(trial):
            x = trial.suggest_float("x", -5.0, 5.0)
            return (x - 1.0) ** 2


        df = compare(objective, ["random", "tpe"], n_trials=20, seeds=3, progress=False)
        print(df.groupby("strategy")["best"].min())
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
from collections.abc import Mapping
from collections.abc import Sequence
from contextlib import contextmanager
import hashlib
import inspect
import json
import os
from pathlib import Path
import pickle
import re
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import distribution_to_json
from optuna.distributions import json_to_distribution
import pandas as pd

from optuna_recipes._validation import check_int
from optuna_recipes.bench.problems import FunctionProblem
from optuna_recipes.bench.problems import Problem
from optuna_recipes.bench.problems import ProblemSpec
from optuna_recipes.bench.strategies import Strategy
from optuna_recipes.bench.strategies import parse_strategy
from optuna_recipes.bench.suite import Suite
from optuna_recipes.bench.suite import SuiteProblem

# Objectives handed to compare() in this process, by key (workers=1 runs them here).
_REGISTERED: dict[str, Callable[..., Any]] = {}


def _is_factory(obj: Any) -> bool:
    """A callable that takes no argument (a factory), as opposed to ``f(trial)``."""
    try:
        params = inspect.signature(obj).parameters.values()
    except (TypeError, ValueError):
        return False
    required = [
        p
        for p in params
        if p.default is p.empty and p.kind in (p.POSITIONAL_ONLY, p.POSITIONAL_OR_KEYWORD)
    ]
    return not required and not any(p.kind is p.VAR_POSITIONAL for p in params)


def _wrap(
    obj: Any,
    factory: bool,
    direction: str | None,
    optimum: float | None,
    n_steps: int | None,
    space: Mapping[str, str] | None,
) -> Problem:
    """The :class:`Problem` of an objective or of what its factory returns."""
    built = obj() if factory else obj
    if isinstance(built, Problem):
        return built
    if not callable(built):
        raise TypeError(f"the factory returned {built!r}, not an objective f(trial) -> float.")
    dists = {k: json_to_distribution(v) for k, v in (space or {}).items()} or None
    return FunctionProblem(
        built, direction=direction, optimum=optimum, n_steps=n_steps, space=dists
    )


def registered_problem(key: str, **options: Any) -> Problem:
    """The problem of an objective registered by :func:`compare` in this process."""
    if key not in _REGISTERED:
        raise ValueError(
            f"no objective {key!r} in this process: compare() runs objectives that are not "
            "importable (lambdas, local functions, __main__) with workers=1 only."
        )
    return _wrap(_REGISTERED[key], **options)


def imported_problem(path: str, **options: Any) -> Problem:
    """The problem of an importable objective or factory (``package.module:name``)."""
    from optuna_recipes.bench._registry import import_object

    return _wrap(import_object(path, "objective"), **options)


def _import_path(obj: Any) -> str | None:
    """``module:qualname`` when ``obj`` can be imported by that path in another process."""
    module = getattr(obj, "__module__", None)
    qualname = getattr(obj, "__qualname__", None)
    if not module or not qualname or module == "__main__" or "<" in qualname:
        return None
    return f"{module}:{qualname}"


def _default_name(obj: Any) -> str:
    name = getattr(obj, "__name__", None) or type(obj).__name__
    name = re.sub(r"[^A-Za-z0-9_.\-]+", "-", str(name)).strip("-.") or "objective"
    return "objective" if name == "lambda" else name


def _fingerprint(obj: Any) -> str:
    """A hash of the objective's source (of its class for an object; else its repr) and of
    the data it holds where that pickles (an object's state, a closure's variables and
    defaults): a folder made with another objective or other data is not resumed by mistake."""
    target = obj if inspect.isroutine(obj) or inspect.isclass(obj) else type(obj)
    try:
        text = inspect.getsource(target).encode()
    except (OSError, TypeError):
        text = repr(obj).encode()
    if inspect.isfunction(obj):
        cells = [c.cell_contents for c in obj.__closure__ or ()]
        state: Any = (cells, obj.__defaults__, obj.__kwdefaults__)
    else:
        state = obj if not inspect.isroutine(obj) else None
    try:
        text += pickle.dumps(state, protocol=4)
    except Exception:  # unpicklable data: the source alone
        pass
    return hashlib.sha256(text).hexdigest()[:16]


def _strategy_names(strategies: Sequence[str | Strategy]) -> tuple[list[str], dict[str, Any]]:
    names, defined = [], {}
    for s in strategies:
        if isinstance(s, Strategy):
            defined[s.name] = s
            names.append(s.name)
        else:
            names.append(str(s))
    for name in names:
        parse_strategy(name, defined)
    if not names:
        raise ValueError("`strategies` must name at least one strategy, e.g. ['random', 'tpe'].")
    return names, defined


def _check_args(
    objective: Any, n_trials: int, seeds: int, workers: int, direction: str | None
) -> None:
    check_int("n_trials", n_trials, minimum=1)
    check_int("seeds", seeds, minimum=1)
    check_int("workers", workers, minimum=1)
    if direction not in (None, "minimize", "maximize"):
        raise ValueError(f"`direction` must be 'minimize' or 'maximize', got {direction!r}.")
    if not callable(objective):
        raise ValueError(f"`objective` must be callable, got {objective!r}.")


def compare(
    objective: Callable[..., Any],
    strategies: Sequence[str | Strategy] = ("random", "tpe"),
    *,
    n_trials: int = 30,
    seeds: int = 3,
    out: str | Path | None = None,
    direction: str | None = None,
    search_space: Mapping[str, BaseDistribution] | None = None,
    optimum: float | None = None,
    n_steps: int | None = None,
    name: str | None = None,
    workers: int = 1,
    progress: bool = True,
    report: bool = True,
) -> pd.DataFrame:
    """Compare search strategies on your own objective; return the per-trial results table.

    Every (strategy, seed) is one Optuna study of ``n_trials`` trials, run by the benchmark
    harness (:func:`~optuna_recipes.bench.run_suite`), which writes the usual folder: results,
    ``report.md`` with the verdict (which strategies are significantly better), plots. Calling
    again with the same objective, settings and ``out`` resumes (finished runs are skipped); a
    changed objective's source is refused there (choose another ``out``).

    Example:
        .. code-block:: python

            from optuna_recipes.bench import compare

            df = compare(
                lambda t: (t.suggest_float("x", -5, 5) - 1) ** 2,
                ["random", "tpe"], n_trials=20, seeds=3, out="bench-out/my-compare",
            )
            print(df.attrs["report"])

    Args:
        objective: ``f(trial) -> float`` (a function or an object such as the project's
            adapters; ``.direction`` is used when it has one), a zero-argument factory that
            returns one (called in each run), or a factory returning a
            :class:`~optuna_recipes.bench.problems.Problem`.
        strategies: Strategy names (``"tpe"``, ``"random+median"``, ``"pkg.mod:Sampler"``; see
            ``optuna-recipes bench list strategies``) or
            :class:`~optuna_recipes.bench.strategies.Strategy` objects with options.
        n_trials: Trials per run.
        seeds: Runs per strategy (seeds ``0 .. seeds-1``); significance needs about 6 or more.
        out: Output folder; default ``bench-out/compare-NAME`` (a new ``-2``, ``-3``, ...
            folder when that one holds another comparison).
        direction: ``"minimize"`` or ``"maximize"``; default the objective's ``.direction``,
            else ``"minimize"``.
        search_space: Static search space (needed by the ``grid`` strategy only).
        optimum: The best achievable value, when known (the report then shows regret).
        n_steps: Learning-curve length, when the objective reports intermediate values (for
            pruners).
        name: The problem's name in the report; default the objective's name.
        workers: Worker processes. More than one needs an objective importable by another
            process (a module-level function or class, not a lambda or ``__main__``).
        progress: Print progress and a summary line (stderr).
        report: Write ``report.md`` and the plots.

    Returns:
        One row per trial (see :func:`~optuna_recipes.bench.load_results`);
        ``df.attrs["out"]`` is the folder and ``df.attrs["report"]`` the report's path.

    Raises:
        ValueError: bad arguments, or ``workers > 1`` with an objective that is not importable.
    """
    from optuna_recipes.bench.runner import run_suite

    _check_args(objective, n_trials, seeds, workers, direction)
    names, defined = _strategy_names(strategies)
    pname = name or _default_name(objective)
    problem = (direction, search_space, optimum, n_steps)
    suite = _suite(objective, pname, names, defined, n_trials, seeds, workers, *problem)
    folder = Path(out) if out is not None else _default_out(pname, suite)
    with _process_state_kept():
        result = run_suite(suite, folder, workers=workers, progress=progress, report=report)
    df = result.results
    df.attrs.update(out=str(result.out), report=str(result.report) if result.report else None)
    return df


def _suite(
    objective: Any,
    pname: str,
    names: list[str],
    defined: dict[str, Any],
    n_trials: int,
    seeds: int,
    workers: int,
    direction: str | None,
    search_space: Mapping[str, BaseDistribution] | None,
    optimum: float | None,
    n_steps: int | None,
) -> Suite:
    """The one-problem suite of a comparison; its ``text`` (its identity in the output folder)
    holds the settings and the objective's fingerprint."""
    fingerprint = _fingerprint(objective)
    options: dict[str, Any] = {
        "factory": _is_factory(objective),
        "direction": direction,
        "optimum": optimum,
        "n_steps": n_steps,
        "space": {k: distribution_to_json(d) for k, d in (search_space or {}).items()},
    }
    path = _import_path(objective)
    if workers > 1:
        if path is None:
            raise ValueError(
                f"workers={workers} runs the objective in other processes, which cannot import "
                f"{objective!r} (a lambda, a local function or one defined in __main__): move "
                "it to a module, or use workers=1."
            )
        ptype, options["path"] = f"{__name__}:imported_problem", path
    else:
        key = f"{pname}-{fingerprint}"
        _REGISTERED[key] = objective
        ptype, options["key"] = f"{__name__}:registered_problem", key
    text = json.dumps(
        {
            "compare": pname,
            "objective": path or repr(objective),
            "source_sha256": fingerprint,
            "strategies": names,
            "defined": {k: v.describe() for k, v in defined.items()},
            "trials": n_trials,
            "seeds": seeds,
            "options": {k: v for k, v in options.items() if k != "key"},
        },
        indent=2,
        sort_keys=True,
        default=str,
    )
    spec = ProblemSpec(pname, ptype, options)
    return Suite(
        name="compare",
        path=f"<compare {pname}>",
        description=f"compare() on {pname}",
        trials=n_trials,
        seeds=seeds,
        strategies=names,
        problems=[SuiteProblem(spec, "main", n_trials, names, 0)],
        defined=defined,
        text=text + "\n",
        reproduce=(
            f"# Python: optuna_recipes.bench.compare({pname}, {names}, n_trials={n_trials}, "
            f"seeds={seeds}, out=...) with this folder as out"
        ),
    )


def _default_out(pname: str, suite: Suite) -> Path:
    """``bench-out/compare-NAME``, or the first ``-2``, ``-3``, ... folder that is new or holds
    this very comparison (which is then resumed)."""
    from optuna_recipes._storage_urls import storage_identity
    from optuna_recipes.bench import outdir
    from optuna_recipes.bench.runner import _settings

    slug = re.sub(r"[^A-Za-z0-9_.\-]+", "-", pname).strip("-.") or "objective"
    settings = _settings(suite, None, None, None)
    for k in range(1, 1000):
        folder = Path("bench-out") / (f"compare-{slug}" + (f"-{k}" if k > 1 else ""))
        try:
            outdir.check_folder(folder, settings, suite.text or "", storage_identity(None))
        except outdir.OutputFolderError:
            continue
        return folder
    raise ValueError(f"bench-out holds too many compare-{slug}-N folders; pass `out`.")


@contextmanager
def _process_state_kept() -> Iterator[None]:
    """Runs executed in this process (``workers=1``) set Optuna's log level and one thread per
    native library; the caller's settings come back afterwards."""
    from optuna_recipes.bench.execution import _THREAD_VARS

    verbosity = optuna.logging.get_verbosity()
    env = {var: os.environ.get(var) for var in _THREAD_VARS}
    try:
        from threadpoolctl import threadpool_limits

        limiter: Any = threadpool_limits(limits=None)
    except ImportError:  # pragma: no cover - threadpoolctl comes with scikit-learn
        limiter = None
    try:
        yield
    finally:
        optuna.logging.set_verbosity(verbosity)
        for var, value in env.items():
            if value is None:
                os.environ.pop(var, None)
            else:
                os.environ[var] = value
        if limiter is not None:
            limiter.restore_original_limits()
