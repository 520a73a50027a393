"""Suites: TOML files naming problems, strategies, seeds and budgets.

A suite file (copy one from ``optuna_recipes/bench/suites/`` and edit it)::

    [suite]
    description = "What this suite compares"
    trials = 40                  # trials per run (a problem may override it)
    seeds = 3                    # seeds 0 .. seeds-1
    first_seed = 0               # optional: seeds first_seed .. first_seed+seeds-1
    strategies = ["random", "tpe", "cmaes"]
    source_trials = 40           # trials of each source study (task families only)
    source_strategy = "tpe"      # the baseline that makes the source studies
    simulate_workers = [1, 8]    # optional: simulated asynchronous workers (one run per count)
    hub_registry = "../optunahub-registry"  # optional: local OptunaHub checkout (hub: names)

    [strategies.tpe-mv]          # optional: named strategies with options
    sampler = "tpe"
    sampler_options = { multivariate = true }

    [[problems]]
    name = "sphere-5d"
    type = "mixed"               # registered type or "package.module:factory"
    options = { function = "sphere", n_float = 3 }
    group = "samplers"           # optional: ranks and tests are computed per group
    trials = 30                  # optional
    strategies = ["tpe", "tpe-mv"]   # optional

    [[problems]]                 # `matrix`: one problem per combination of the listed values
    name = "bbob"                # named bbob-function1-dimension5, ...
    type = "coco"
    options = { suite = "bbob" }
    matrix = { function = [1, 2, 3], dimension = [5, 10] }

Errors name the file, the line and the valid choices.

A suite is code: a problem ``type`` or a strategy given as an import path
(``package.module:Name``) imports that module and calls it when the suite runs. Parsing a suite
(:func:`load_suite`, ``bench show``) never imports or calls anything it names;
:meth:`Suite.check` and running do. :meth:`Suite.import_paths` lists what would run.

Example:
    .. code-block:: python

        from optuna_recipes.bench.suite import load_suite

        suite = load_suite("quick")
        print(len(suite.runs()), "runs")
"""

from __future__ import annotations

from dataclasses import dataclass
from dataclasses import field
from importlib import resources
import os
from pathlib import Path
import re
import sys
from typing import Any

from optuna_recipes._validation import check_int
from optuna_recipes.bench._registry import UnknownNameError
from optuna_recipes.bench.problems import ProblemSpec
from optuna_recipes.bench.strategies import Strategy
from optuna_recipes.bench.strategies import parse_strategy
from optuna_recipes.bench.strategies import with_hub_registry

if sys.version_info >= (3, 11):
    import tomllib
else:  # pragma: no cover - exercised on Python 3.10 only
    import tomli as tomllib

SUITE_KEYS = {
    "description",
    "trials",
    "seeds",
    "first_seed",
    "strategies",
    "source_trials",
    "source_strategy",
    "simulate_workers",
    "hub_registry",
}
PROBLEM_KEYS = {"name", "type", "options", "matrix", "group", "trials", "strategies"}
STRATEGY_KEYS = {
    "sampler",
    "pruner",
    "sampler_options",
    "pruner_options",
    "sampler_needs_sources",
    "pruner_needs_sources",
}


class SuiteError(ValueError):
    """A malformed suite file; the message names the file, the line and the fix."""


def builtin_suites() -> dict[str, Path]:
    """Names and paths of the suites shipped with the package."""
    folder = resources.files("optuna_recipes.bench") / "suites"
    return {
        Path(str(p)).stem: Path(str(p))
        for p in sorted(folder.iterdir(), key=lambda p: p.name)
        if p.name.endswith(".toml")
    }


@dataclass(frozen=True)
class RunSpec:
    """One run: (problem, strategy, seed) optimized for ``n_trials`` in one Optuna study.

    ``role`` is ``"target"`` for the runs being compared and ``"source"`` for the studies made
    on related tasks for transfer strategies; ``sources`` names the source studies a target run
    hands to its strategy; ``sim_workers`` is the number of simulated asynchronous workers
    (:mod:`~optuna_recipes.bench.simulate`), ``None`` for ``study.optimize``.
    """

    suite: str
    group: str
    problem: ProblemSpec
    strategy: Strategy
    seed: int
    n_trials: int
    role: str = "target"
    sources: tuple[str, ...] = ()
    sim_workers: int | None = None

    @property
    def label(self) -> str:
        """The strategy as the results name it: ``NAME``, or ``NAME@Nw`` when simulated."""
        if self.sim_workers is None:
            return self.strategy.name
        return f"{self.strategy.name}@{self.sim_workers}w"

    @property
    def study_name(self) -> str:
        return f"{self.suite}:{self.problem.name}/{self.label}/seed{self.seed}"

    def fingerprint(self) -> dict[str, Any]:
        """What must match for a stored study to count as this run (resume check)."""
        out = {
            "problem": {"type": self.problem.type, "options": self.problem.options},
            "strategy": self.strategy.describe(),
            "seed": self.seed,
            "n_trials": self.n_trials,
            "sources": list(self.sources),
        }
        if self.sim_workers is not None:
            out["simulate_workers"] = self.sim_workers
        return out


@dataclass
class SuiteProblem:
    spec: ProblemSpec
    group: str
    trials: int
    strategies: list[str]
    line: int


@dataclass
class Suite:
    """A parsed suite. Build it with :func:`load_suite`.

    ``text`` is the suite's identity when it has no file (a suite built in Python, e.g. by
    :func:`~optuna_recipes.bench.compare.compare`): a resume must find the same text;
    ``reproduce`` is what the report shows instead of the ``bench run`` command.
    """

    name: str
    path: str
    description: str
    trials: int
    seeds: int
    strategies: list[str]
    problems: list[SuiteProblem]
    defined: dict[str, Strategy] = field(default_factory=dict)
    source_trials: int = 50
    source_strategy: str = "tpe"
    text: str | None = None
    reproduce: str | None = None

    def import_roots(self) -> Any:
        """A context manager within which the suite's import paths also resolve relative to
        the suite file's folder and the working directory (see
        :func:`~optuna_recipes.bench._registry.import_roots`)."""
        from optuna_recipes.bench._registry import import_roots

        folder = Path(self.path).parent if Path(self.path).is_file() else None
        return import_roots(folder, Path.cwd())

    simulate_workers: list[int] | None = None
    hub_registry: str | None = None
    first_seed: int = 0

    def strategy(self, name: str) -> Strategy:
        """The strategy ``name`` resolves to, loading ``hub:`` packages from ``hub_registry``."""
        return with_hub_registry(parse_strategy(name, self.defined), self.hub_registry)

    def import_paths(self, strategies: list[str] | None = None) -> list[str]:
        """The import paths the suite names (problem types, samplers, pruners; ``strategies``
        replacing the suite's): modules that are imported, and code that runs, when the suite
        runs. Registered names are not listed."""
        from optuna_recipes.bench.problems import PROBLEM_TYPES

        paths: list[str] = []
        for sp in self.problems:
            if sp.spec.type not in PROBLEM_TYPES:
                paths.append(sp.spec.type)
            for name in strategies if strategies is not None else sp.strategies:
                strategy = self.strategy(name)
                paths += [p for p in (strategy.sampler, strategy.pruner) if ":" in p]
        source = parse_strategy(self.source_strategy, self.defined)
        paths += [p for p in (source.sampler, source.pruner) if ":" in p]
        return list(dict.fromkeys(paths))

    def check(self, strategies: list[str] | None = None) -> None:
        """Build every problem (this calls its factory, imported when it is an import path)
        and check that the strategies that need source tasks get them.

        Parsing never does this: a suite can be read and listed without running its code.

        Raises:
            SuiteError: a problem cannot be built with its options; the message names the
                line and the valid options.
        """
        for sp in self.problems:
            where = f"{self.path}, line {sp.line}" if sp.line else self.path
            try:
                built = sp.spec.build()
            except (ValueError, TypeError, ImportError) as err:
                raise SuiteError(f"{where}: problem {sp.spec.name!r}: {err}") from err
            names = strategies if strategies is not None else sp.strategies
            needs = [n for n in names if self.strategy(n).needs_sources]
            if needs and not built.source_tasks():
                raise SuiteError(
                    f"{where}: problem {sp.spec.name!r}: strategies {needs} need source tasks, "
                    "but the problem has no task family; set `sources = N` in its options."
                )

    def strategy_names(self) -> list[str]:
        names: list[str] = []
        for p in self.problems:
            names += [s for s in p.strategies if s not in names]
        return names

    def runs(
        self,
        *,
        seeds: int | None = None,
        trials: int | None = None,
        strategies: list[str] | None = None,
        exclude: frozenset[str] | set[str] = frozenset(),
        simulate_workers: list[int] | None = None,
        only: list[str] | None = None,
        first_seed: int | None = None,
    ) -> list[RunSpec]:
        """All runs, sources first: ``seeds``, ``trials``, ``strategies``, ``simulate_workers``
        and ``first_seed`` override the file; strategies named in ``exclude``, or not in
        ``only`` when it is given, are left out (with the sources only they need). Each target
        run is repeated per simulated worker count (sources are not simulated). Target runs
        use seeds ``first_seed .. first_seed + seeds - 1``; source studies do not depend on
        them."""
        n_seeds = self.seeds if seeds is None else seeds
        first = self.first_seed if first_seed is None else first_seed
        workers = simulate_workers or self.simulate_workers
        counts: list[int | None] = list(workers) if workers else [None]
        source_strategy = self.strategy(self.source_strategy)
        out: list[RunSpec] = []
        sources_done: set[str] = set()
        for sp in self.problems:
            names = strategies if strategies is not None else sp.strategies
            names = [n for n in names if n not in exclude and (only is None or n in only)]
            n_trials = trials if trials is not None else sp.trials
            parsed = [self.strategy(n) for n in names]
            source_names: tuple[str, ...] = ()
            if any(s.needs_sources for s in parsed):
                src_runs = [
                    RunSpec(
                        self.name,
                        sp.group,
                        spec,
                        source_strategy,
                        seed=k,
                        n_trials=trials if trials is not None else self.source_trials,
                        role="source",
                    )
                    for k, spec in enumerate(sp.spec.source_specs(), start=1)
                ]
                source_names = tuple(r.study_name for r in src_runs)
                out += [r for r in src_runs if r.study_name not in sources_done]
                sources_done.update(source_names)
            for strategy in parsed:
                for count in counts:
                    out += [
                        RunSpec(
                            self.name,
                            sp.group,
                            sp.spec,
                            strategy,
                            seed,
                            n_trials,
                            sources=source_names if strategy.needs_sources else (),
                            sim_workers=count,
                        )
                        for seed in range(first, first + n_seeds)
                    ]
        return out


def _line_of(text: str, *needles: str) -> int:
    """First line (1-based) that contains all needles, or 0."""
    for i, line in enumerate(text.splitlines(), start=1):
        if all(n in line for n in needles):
            return i
    return 0


@dataclass(frozen=True)
class _Source:
    """The suite file being parsed: errors name it and the line of the offending key."""

    path: str
    text: str

    def fail(self, message: str, *needles: str) -> SuiteError:
        line = _line_of(self.text, *needles) if needles else 0
        where = f"{self.path}, line {line}" if line else self.path
        return SuiteError(f"{where}: {message}")

    def positive_int(self, value: Any, key: str) -> int:
        return self.int_at_least(value, key, 1)

    def int_at_least(self, value: Any, key: str, minimum: int) -> int:
        try:
            return check_int(key, value, minimum=minimum)
        except ValueError as err:
            raise self.fail(str(err), key) from None

    def check_keys(self, table: dict[str, Any], valid: set[str], where: str) -> None:
        for key in table:
            if key not in valid:
                raise self.fail(
                    f"unknown key {key!r} in {where}; valid keys: {', '.join(sorted(valid))}.",
                    key,
                )


def resolve_suite_path(name_or_path: str) -> Path:
    """A built-in suite name (``quick``) or a path to a TOML file."""
    builtins = builtin_suites()
    if name_or_path in builtins:
        return builtins[name_or_path]
    path = Path(name_or_path)
    if path.suffix == ".toml" or path.exists():
        if not path.is_file():
            raise SuiteError(f"Suite file {str(path)!r} does not exist.")
        return path
    raise SuiteError(
        f"Unknown suite {name_or_path!r}. Built-in suites: {', '.join(builtins)}; "
        "or give the path of a .toml suite file."
    )


def load_suite(name_or_path: str) -> Suite:
    """Parse and validate a suite (built-in name or file path).

    Raises:
        SuiteError: malformed TOML, unknown keys, names or options; the message names the line.
    """
    path = resolve_suite_path(name_or_path)
    text = path.read_text(encoding="utf-8")
    return parse_suite(text, str(path), name=path.stem)


def parse_suite(text: str, path: str = "<suite>", name: str = "suite") -> Suite:
    """Parse and validate suite TOML text (see the module docstring for the format)."""
    src = _Source(path, text)
    try:
        data = tomllib.loads(text)
    except tomllib.TOMLDecodeError as err:
        raise SuiteError(f"{path}: not valid TOML: {err}.") from err
    src.check_keys(data, {"suite", "strategies", "problems"}, "the file")
    head = data.get("suite", {})
    if not isinstance(head, dict):
        raise src.fail("`suite` must be a table ([suite]).", "suite")
    src.check_keys(head, SUITE_KEYS, "[suite]")
    trials = src.positive_int(head.get("trials", 50), "trials")
    seeds = src.positive_int(head.get("seeds", 3), "seeds")
    first_seed = src.int_at_least(head.get("first_seed", 0), "first_seed", 0)
    source_trials = src.positive_int(head.get("source_trials", trials), "source_trials")
    if not re.fullmatch(r"[A-Za-z0-9_.\-]+", name):
        raise SuiteError(f"{path}: the suite name {name!r} (the file name) must be a plain word.")
    defined = _defined_strategies(data.get("strategies") or {}, src)
    defaults = _Defaults(
        trials=trials,
        strategies=_strategy_list(
            head.get("strategies", ["random", "tpe"]), "[suite]", "strategies", defined, src
        ),
        defined=defined,
    )
    source_strategy = str(head.get("source_strategy", "tpe"))
    try:
        parse_strategy(source_strategy, defined)
    except UnknownNameError as err:
        raise src.fail(str(err), "source_strategy") from err
    return Suite(
        name=name,
        path=path,
        description=str(head.get("description", "")),
        trials=trials,
        seeds=seeds,
        first_seed=first_seed,
        strategies=defaults.strategies,
        problems=_problems(data.get("problems"), defaults, src),
        defined=defined,
        source_trials=source_trials,
        source_strategy=source_strategy,
        simulate_workers=_worker_counts(head.get("simulate_workers"), src),
        hub_registry=_hub_registry(head.get("hub_registry"), path, src),
    )


def _worker_counts(value: Any, src: _Source) -> list[int] | None:
    """``simulate_workers``: a positive int or a non-empty list of them (deduplicated)."""
    if value is None:
        return None
    values = value if isinstance(value, list) else [value]
    if not values:
        raise src.fail("`simulate_workers` must be a positive integer or a list of them.")
    counts = [src.positive_int(v, "simulate_workers") for v in values]
    return list(dict.fromkeys(counts))


def _hub_registry(value: Any, path: str, src: _Source) -> str | None:
    """``hub_registry``: a folder, relative to the suite file's folder."""
    if value is None:
        return None
    if not isinstance(value, str) or not value:
        raise src.fail("`hub_registry` must be a folder path (a string).", "hub_registry")
    folder = Path(value).expanduser()
    if not folder.is_absolute() and not path.startswith("<"):
        folder = Path(path).parent / folder
    return os.path.abspath(folder)


@dataclass(frozen=True)
class _Defaults:
    """What a problem entry inherits from the suite."""

    trials: int
    strategies: list[str]
    defined: dict[str, Strategy]


def _defined_strategies(tables: dict[str, Any], src: _Source) -> dict[str, Strategy]:
    """The ``[strategies.NAME]`` tables."""
    defined: dict[str, Strategy] = {}
    for sname, table in tables.items():
        if not isinstance(table, dict):
            raise src.fail(f"strategy {sname!r} must be a table.", sname)
        src.check_keys(table, STRATEGY_KEYS, f"[strategies.{sname}]")
        try:
            defined[sname] = Strategy(name=sname, **table)
        except (UnknownNameError, TypeError) as err:
            raise src.fail(f"strategy {sname!r}: {err}", sname) from err
    return defined


def _strategy_list(
    value: Any, where: str, needle: str, defined: dict[str, Strategy], src: _Source
) -> list[str]:
    """A ``strategies`` list whose names all resolve."""
    if not isinstance(value, list) or not value or not all(isinstance(v, str) for v in value):
        raise src.fail(f"`strategies` in {where} must be a non-empty list of names.", needle)
    for s in value:
        try:
            parse_strategy(s, defined)
        except UnknownNameError as err:
            raise src.fail(str(err), f'"{s}"') from err
    return list(value)


def _problems(raw_problems: Any, defaults: _Defaults, src: _Source) -> list[SuiteProblem]:
    """The ``[[problems]]`` tables, each expanded over its ``matrix``."""
    from optuna_recipes.bench.problems import PROBLEM_TYPES

    if not isinstance(raw_problems, list) or not raw_problems:
        raise src.fail("the suite needs at least one [[problems]] table.")
    problems: list[SuiteProblem] = []
    seen: set[str] = set()
    for i, table in enumerate(raw_problems):
        src.check_keys(table, PROBLEM_KEYS, f"[[problems]] #{i + 1}")
        ptype = table.get("type")
        if not isinstance(ptype, str):
            raise src.fail(
                f"[[problems]] #{i + 1} needs `type`: one of {', '.join(PROBLEM_TYPES)} "
                "or an import path `package.module:factory`.",
                "[[problems]]",
            )
        base_options = table.get("options", {})
        base_name = str(table.get("name", ptype))
        line = _line_of(src.text, f'"{base_name}"') or _line_of(src.text, f'"{ptype}"')
        if not isinstance(base_options, dict):
            raise src.fail(f"problem {base_name!r}: `options` must be a table.", base_name)
        for pname, options in _expand(table.get("matrix"), base_name, base_options, src):
            if pname in seen:
                raise src.fail(f"duplicate problem name {pname!r}.", f'"{pname}"')
            seen.add(pname)
            spec = ProblemSpec(pname, ptype, dict(options))
            problems.append(_problem(table, spec, line, defaults, src))
    return problems


def _expand(
    matrix: Any, name: str, options: dict[str, Any], src: _Source
) -> list[tuple[str, dict[str, Any]]]:
    """One (name, options) per combination of the matrix values (or just the problem)."""
    import itertools

    if matrix is None:
        return [(name, dict(options))]
    if not isinstance(matrix, dict) or not all(isinstance(v, list) and v for v in matrix.values()):
        raise src.fail(
            f"problem {name!r}: `matrix` must map options to non-empty lists.", "matrix"
        )
    out = []
    for combo in itertools.product(*matrix.values()):
        extra = dict(zip(matrix, combo, strict=True))
        suffix = "-".join(f"{k}{v}" for k, v in extra.items())
        out.append((f"{name}-{suffix}", {**options, **extra}))
    return out


def _problem(
    table: dict[str, Any], spec: ProblemSpec, line: int, defaults: _Defaults, src: _Source
) -> SuiteProblem:
    """One problem entry, checked for its form only (:meth:`Suite.check` builds it)."""
    pname = spec.name
    strategies = _strategy_list(
        table.get("strategies", defaults.strategies),
        f"problem {pname!r}",
        f'"{pname}"',
        defaults.defined,
        src,
    )
    return SuiteProblem(
        spec=spec,
        group=str(table.get("group", "main")),
        trials=src.positive_int(table.get("trials", defaults.trials), "trials"),
        strategies=strategies,
        line=line,
    )
