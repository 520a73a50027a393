"""Optuna glue of the genetic algorithm: trials in the storage <-> encoded rows for ``_core``."""

from __future__ import annotations

from collections.abc import Hashable
from collections.abc import Sequence
import math
import threading
from typing import Any
import zlib

import numpy as np
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.samplers import BaseSampler
from optuna.search_space import IntersectionSearchSpace
from optuna.study import Study
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from optuna_recipes import _optuna_compat as compat
from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes._encoding import from_unit
from optuna_recipes._encoding import to_unit
from optuna_recipes._validation import check_int
from optuna_recipes._validation import check_seed
from optuna_recipes.samplers._genetic import _core

ATTR_PREFIX = "optuna_recipes.genetic:"
ORIGIN_ATTR = ATTR_PREFIX + "origin"
# Offspring outcomes the success rule looks at.
_SUCCESS_WINDOW = 20
# Probability that a gene outside the relative search space is inherited from the target parent.
_INHERIT_PROB = 0.8
# Smallest population of the first epoch while it grows (a third of its completed trials).
_MIN_POPULATION = 5
# Smallest population bred from once many trials run at once (the best half of the elites).
_MIN_PARALLEL_POPULATION = 3
# Children bred per trial once more trials run at once than the full population holds; the one
# a kernel regression on the evaluated trials predicts best is proposed.
_SCREENED = 8
# Smallest kernel width of a numerical gene in that regression (unit space).
_MIN_BANDWIDTH = 0.05


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().entropy % 2**32)  # type: ignore[operator]


def _gene_spec(encoder: SearchSpaceEncoder) -> _core.GeneSpec:
    return _core.GeneSpec(
        is_categorical=encoder.is_categorical.copy(),
        n_choices=encoder.n_choices.copy(),
        cell=encoder.cell_widths.copy(),
    )


def _key_value(value: Any) -> Hashable:
    # Continuous values round-trip through the encoding with ulp noise: compare 12 digits.
    if isinstance(value, float):
        return float(f"{value:.12g}")
    return value


def _fitness_of(trial: FrozenTrial, sign: float) -> tuple[float, float]:
    """(total constraint violation, signed value): lexicographically smaller is better."""
    violation = sum(max(0.0, c) for c in trial.constraints.values())
    return violation, sign * float(trial.value)  # type: ignore[arg-type]


class _Archive:
    """Completed trials of one study as growing numpy arrays, filled incrementally.

    Completed trials never change, so everything here but ``max_running`` is a pure function of
    the storage contents; the archive only saves re-reading and re-encoding them on every call.
    ``max_running`` is the most other trials this sampler has seen running when it was asked
    for a trial of the study (0 in a sequential study).
    """

    def __init__(self, storage: Any, study_id: int, sign: float) -> None:
        self.storage, self.study_id, self.sign = storage, study_id, sign
        self.index: dict[int, int] = {}  # trial id -> row in the arrays
        self.settled = 0  # trials before this position in the study's list are all finished
        self.max_running = 0
        self.trials: list[FrozenTrial] = []
        self.number = np.empty(0, dtype=np.int64)
        self.value = np.empty(0)
        self.violation = np.empty(0)
        self.success = np.empty(0)  # 1 / 0 for offspring, NaN for other trials
        # Epoch whose population had collapsed when the trial was bred; -1 if none.
        self.collapsed = np.empty(0, dtype=np.int64)
        self.signature: tuple[tuple[str, str], ...] | None = None
        self.rows = np.empty((0, 0))
        self.keys: set[tuple[Hashable, ...]] = set()
        self.names: list[str] = []
        # Pruned and failed trials: not bred from, but their configurations are not proposed
        # again (a pruned configuration would be pruned again).
        self.dead: list[FrozenTrial] = []
        self.dead_ids: set[int] = set()
        # Restart scan state, valid for the completed trials numbered up to `scanned`.
        self.scanned = -1
        self.patience = 0
        self.scan = _core.EpochState()

    def matches(self, study: Study, sign: float) -> bool:
        return (
            self.storage is compat.storage_of(study)
            and self.study_id == compat.study_id_of(study)
            and (self.sign == sign)
        )

    def add(self, new: list[FrozenTrial]) -> None:
        n0 = len(self.trials)
        if any(t.number < self.scanned for t in new):
            self.scanned = -1  # a lower-numbered trial finished late: rescan epochs
        self.trials.extend(new)
        for i, t in enumerate(new):
            self.index[compat.trial_id_of(t)] = n0 + i
        fit = [_fitness_of(t, self.sign) for t in new]
        self.number = np.concatenate([self.number, [t.number for t in new]])
        self.violation = np.concatenate([self.violation, [f[0] for f in fit]])
        self.value = np.concatenate([self.value, [f[1] for f in fit]])
        succ, collapsed = [], []
        for t, f in zip(new, fit, strict=True):
            origin = t.system_attrs.get(ORIGIN_ATTR)
            origin = origin if isinstance(origin, dict) else {}
            parent = origin.get("parent_fitness")
            succ.append(np.nan if parent is None else float(f < tuple(parent)))
            epoch = origin.get("epoch")
            collapsed.append(int(epoch) if origin.get("collapsed") and epoch is not None else -1)
        self.success = np.concatenate([self.success, succ])
        self.collapsed = np.concatenate([self.collapsed, np.asarray(collapsed, dtype=np.int64)])
        if self.signature is not None:
            self._encode(new)

    def add_dead(self, new: list[FrozenTrial]) -> None:
        self.dead.extend(new)
        self.dead_ids.update(compat.trial_id_of(t) for t in new)
        if self.signature is not None:
            self.keys.update(_param_key(t.params, self.names) for t in new)

    def _encode(self, new: list[FrozenTrial]) -> None:
        self.rows = np.concatenate([self.rows, self.encoder.encode_trials(new)])
        self.keys.update(_param_key(t.params, self.names) for t in new)

    def set_space(self, search_space: dict[str, BaseDistribution]) -> None:
        signature = tuple((name, repr(dist)) for name, dist in search_space.items())
        if signature == self.signature:
            return
        self.signature = signature
        self.encoder = SearchSpaceEncoder(search_space)
        self.spec = _gene_spec(self.encoder)
        self.names = self.encoder.names
        self.rows = np.empty((0, len(search_space)))
        self.keys = {_param_key(t.params, self.names) for t in self.dead}
        self._encode(self.trials)

    def epoch(self, patience: int) -> tuple[int, int]:
        """(first trial number of the current epoch, number of restarts so far)."""
        if patience != self.patience:
            self.patience, self.scanned = patience, -1
        if self.scanned < 0:
            self.scan = _core.EpochState()
        fresh = self.number > self.scanned
        if fresh.any():
            order = np.argsort(self.number[fresh], kind="stable")
            numbers = self.number[fresh][order]
            fitness = np.where(self.violation == 0.0, self.value, np.inf)[fresh][order]
            collapsed = self.collapsed[fresh][order]
            self.scan = _core.scan_epochs(
                numbers, fitness, patience, self.scan, collapsed_epoch=collapsed
            )
            self.scanned = int(numbers[-1])
        return self.scan.start, self.scan.restarts


def _param_key(params: dict[str, Any], names: list[str]) -> tuple[Hashable, ...]:
    return tuple(_key_value(params.get(n)) for n in names)


class GeneticSampler(BaseSampler):
    """A steady-state genetic algorithm for mixed, conditional search spaces.

    Each new trial is one child bred from the best trials already in the storage, so workers never
    wait for a generation: it runs unchanged with ``n_jobs>1``, many processes or many hosts.
    Choose it over ``NSGAIISampler`` for single-objective studies (it is much stronger on the
    COCO bbob-mixint suite), and over ``TPESampler`` for long runs or when sampler overhead
    matters (its cost per trial stays flat after thousands of trials; README, "GeneticSampler").

    The algorithm:

    - **Initial population**: the first ``n_startup_trials`` trials form a Latin hypercube per
      parameter, seeded by ``seed`` and indexed by trial number (deterministic and parallel-safe).
      Enqueued (``enqueue_trial``) and added (``add_trials``) trials join the population like any
      other completed trial.
    - **Population**: the best ``population_size`` completed trials of the current epoch, feasible
      ones first (constraints set with ``trial.set_constraint``), infeasible ones by total
      violation. Failed and pruned trials are ignored (NaN objectives are failed trials). In the
      first epoch the population grows with the completed trials: the best third of them (at
      least 5) until it reaches ``population_size``, so the first offspring are bred from the
      best of the initial design rather than from all of it. Once more trials have been seen
      running at once (other workers' trials when one is asked) than there are elites,
      offspring are bred from the best half of the elites (at least 3): with many workers a
      whole batch of children is bred before any of them is evaluated, and at 32 workers
      keeping the batch near the best elites was clearly better on the development problems.
      Once more trials have been seen running at once than the full population holds, each
      trial is also the best of 8 children by a kernel regression (Nadaraya-Watson) of the
      fitness ranks of the evaluated trials, so that a batch bred before any of its members
      returns is screened; at 32 workers this was better on both development suites and
      at 8 workers it changes nothing. A sequential study never changes.
    - **Offspring**: rank-based selection of a target parent, DE current-to-pbest/1 crossover
      (``F`` in [0.4, 0.9], binomial crossover with rate 0.9 or 0.2) in the encoded unit space
      (log scales and steps respected), uniform crossover of categorical genes with one of the top
      20% elites, Gaussian mutation of each gene with probability ``1/d``, whose step is the
      elites' spread times a 1/5th-success-rule factor computed from the last 20 offspring in the
      storage. Discrete genes move at least to the neighbouring grid point; children identical to
      an evaluated, pruned, failed or running trial are mutated again (a pruned configuration
      would be pruned again), and initial points that repeat one are redrawn.
    - **Restarts**: when the best of the current epoch stalls for ``restart_patience`` completed
      trials, or when 10 offspring in a row were bred from a population that has collapsed
      into one point (every numerical gene's spread among the best quarter of the elites, at
      least 3, below 1e-4 in the unit space, every categorical gene agreed among all the
      elites: it can then only refine a local optimum), a new epoch starts from fresh random
      points with a population twice as large (IPOP); the patience doubles too. The best trial
      found so far stays the study's best.
    - **Conditional and dynamic spaces**: the parameters present in every completed trial (the
      intersection search space) evolve jointly; any other parameter is inherited from the target
      parent when it has a valid value (probability 0.8) and drawn fresh otherwise.

    Parent trial numbers and operators are stored in the trial system attribute
    ``optuna_recipes.genetic:origin``; everything else is derived from the storage.

    Multi-objective studies are not supported: the first trial of one raises ``ValueError``
    (use ``optuna.samplers.NSGAIISampler`` there).

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.samplers import GeneticSampler


            def objective(trial):
                x = trial.suggest_float("x", -5, 5)
                n = trial.suggest_int("n", 1, 10)
                kind = trial.suggest_categorical("kind", ["a", "b"])
                return (x - 1) ** 2 + (n - 3) ** 2 + (kind == "b")


            study = optuna.create_study(sampler=GeneticSampler(seed=0))
            study.optimize(objective, n_trials=100)

    Args:
        population_size:
            Number of elites parents are drawn from, at least 3. ``None`` (default) uses
            ``max(10, 2 * d)`` for ``d`` jointly evolved parameters.
        n_startup_trials:
            Number of Latin hypercube trials before breeding starts, at least 1. Default 10.
        restart_patience:
            Completed trials without improvement of the epoch's best that trigger a restart, at
            least 1. ``None`` (default) uses ``max(150, 30 * d)``.
        seed:
            Seed of the random generator. ``None`` (default) draws one at construction.
    """

    def __init__(
        self,
        *,
        population_size: int | None = None,
        n_startup_trials: int = 10,
        restart_patience: int | None = None,
        seed: int | None = None,
    ) -> None:
        self._population_size = check_int(
            "population_size", population_size, minimum=3, allow_none=True
        )
        self._n_startup_trials = check_int("n_startup_trials", n_startup_trials, minimum=1)
        self._restart_patience = check_int(
            "restart_patience", restart_patience, minimum=1, allow_none=True
        )
        seed = check_seed("seed", seed)
        self._seed = seed if seed is not None else _fresh_seed()
        self._init_caches()

    def _init_caches(self) -> None:
        # Caches are pure functions of storage contents (keyed by trial id); safe to drop.
        self._lock = threading.Lock()
        self._search_space = IntersectionSearchSpace()
        self._archive: _Archive | None = None
        self._parents: dict[int, FrozenTrial] = {}

    def __getstate__(self) -> dict[str, Any]:
        return {
            "_population_size": self._population_size,
            "_n_startup_trials": self._n_startup_trials,
            "_restart_patience": self._restart_patience,
            "_seed": self._seed,
        }

    def __setstate__(self, state: dict[str, Any]) -> None:
        self.__dict__.update(state)
        self._init_caches()

    def __repr__(self) -> str:
        return (
            f"GeneticSampler(population_size={self._population_size}, "
            f"n_startup_trials={self._n_startup_trials}, "
            f"restart_patience={self._restart_patience}, seed={self._seed})"
        )

    def reseed_rng(self) -> None:
        self._seed = _fresh_seed()

    # ------------------------------------------------------------------ Optuna API

    def infer_relative_search_space(
        self, study: Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        self._raise_if_multi_objective(study)
        with self._lock:
            space = self._search_space.calculate(study, use_cache=True)
        return {name: dist for name, dist in space.items() if not dist.single()}

    def sample_relative(
        self, study: Study, trial: FrozenTrial, search_space: dict[str, BaseDistribution]
    ) -> dict[str, Any]:
        self._raise_if_multi_objective(study)
        trials = compat.get_trials(study)
        d = len(search_space)
        rng = np.random.default_rng([self._seed, trial.number, 1])
        with self._lock:
            archive, running = self._sync(study, trials)
            others = sum(t.number != trial.number for t in running)
            archive.max_running = max(archive.max_running, others)
            start, restarts = archive.epoch(self._restart_patience or max(150, 30 * d))
            in_epoch = np.flatnonzero(archive.number >= start)
            startup = self._n_startup_trials if restarts == 0 else self._mu(d) * 2**restarts
            if in_epoch.size < startup:
                return self._fresh(search_space, trial, rng, restarts, archive, running)
            mu = full = self._mu(d) * 2**restarts
            # Whole batches of children are bred before any of them is evaluated: screen them.
            screen = archive.max_running >= full
            if restarts == 0:
                # The first epoch's population grows with its completed trials (a third of them),
                # so the first offspring are bred from the best of the start-up design only.
                mu = min(mu, max(_MIN_POPULATION, in_epoch.size // 3))
            if archive.max_running >= mu:
                # More trials run at once than there are elites: each batch of children is bred
                # from elites that are stale by a batch; breeding from the best half of them
                # keeps the batch near the best (README, "GeneticSampler", parallel workers).
                mu = max(_MIN_PARALLEL_POPULATION, mu // 2)
            if d > 0:
                archive.set_space(search_space)
                in_epoch = in_epoch[~np.isnan(archive.rows[in_epoch]).any(axis=1)]
                if in_epoch.size == 0:
                    return self._fresh(search_space, trial, rng, restarts, archive, running)
            ranking = np.lexsort((archive.value[in_epoch], archive.violation[in_epoch]))
            order = in_epoch[ranking[:mu]]
            success = archive.success[in_epoch]
            recent = success[~np.isnan(success)][-_SUCCESS_WINDOW:]
            if d == 0:
                target = int(rng.choice(order.size, p=_core.rank_weights(order.size)))
                self._remember(study, trial, archive, int(order[target]), restarts, "inherit")
                return {}
            encoder, spec = archive.encoder, archive.spec
            population = archive.rows[order].copy()
            known = archive.keys
            if screen:
                evaluated = archive.rows[in_epoch].copy()
                ranks = np.empty(in_epoch.size)
                ranks[ranking] = np.arange(in_epoch.size) / max(1, in_epoch.size - 1)
        numeric = ~spec.is_categorical
        population[:, numeric] = np.clip(population[:, numeric], 0.0, 1.0)
        collapsed = order.size >= mu and _core.is_collapsed(population, spec)
        names = encoder.names
        busy = {_param_key(t.params, names) for t in running}

        def is_known(row: np.ndarray) -> bool:
            key = _param_key(encoder.decode(row), names)
            return key in known or key in busy

        step_factor = _core.success_step_factor(recent.astype(bool))
        bred = [
            _core.make_offspring(
                rng,
                population,
                spec,
                step_factor=step_factor,
                is_known=is_known,
                neighbors=encoder.grid_neighbors,
            )
            for _ in range(_SCREENED if screen else 1)
        ]
        pick = 0
        if screen:
            evaluated[:, numeric] = np.clip(evaluated[:, numeric], 0.0, 1.0)
            bandwidth = np.maximum(population[:, numeric].std(axis=0), _MIN_BANDWIDTH)
            candidates = np.array([c for c, _ in bred])
            pick = _core.screen_offspring(candidates, evaluated, ranks, spec, bandwidth)
        child, target = bred[pick]
        with self._lock:
            self._remember(
                study,
                trial,
                archive,
                int(order[target]),
                restarts,
                "de",
                collapsed=collapsed,
                screened=len(bred) if screen else 0,
            )
        return encoder.decode(child)

    def sample_independent(
        self,
        study: Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._raise_if_multi_objective(study)
        rng = np.random.default_rng([self._seed, trial.number, 2, zlib.crc32(param_name.encode())])
        parent = self._parents.get(compat.trial_id_of(trial))
        if parent is not None and param_name in parent.params and rng.random() < _INHERIT_PROB:
            value = parent.params[param_name]
            dist = parent.distributions[param_name]
            if isinstance(param_distribution, CategoricalDistribution):
                choices = param_distribution.choices
                if isinstance(dist, CategoricalDistribution) and value in choices:
                    return value
            elif not isinstance(dist, CategoricalDistribution):
                u = to_unit(param_distribution, value)
                if 0.0 <= u <= 1.0:
                    return from_unit(param_distribution, u)
        if trial.number < self._n_startup_trials:
            u = _core.lhs_unit(self._seed, param_name, trial.number, self._n_startup_trials)
        else:
            u = float(rng.random())
        return self._decode_one(param_distribution, u)

    def after_trial(
        self,
        study: Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        with self._lock:
            self._parents.pop(compat.trial_id_of(trial), None)

    # ------------------------------------------------------------------ helpers

    @staticmethod
    def _raise_if_multi_objective(study: Study) -> None:
        if compat.is_multi_objective(study):
            raise ValueError(
                "GeneticSampler supports single-objective studies only; this study has "
                f"{len(study.directions)} objectives. Use optuna.samplers.NSGAIISampler for "
                "multi-objective optimization."
            )

    def _mu(self, d: int) -> int:
        return self._population_size or max(10, 2 * d)

    @staticmethod
    def _decode_one(dist: BaseDistribution, u: float) -> Any:
        if isinstance(dist, CategoricalDistribution):
            return dist.choices[min(int(u * len(dist.choices)), len(dist.choices) - 1)]
        return from_unit(dist, u)

    def _fresh(
        self,
        search_space: dict[str, BaseDistribution],
        trial: FrozenTrial,
        rng: np.random.Generator,
        restarts: int,
        archive: _Archive,
        running: list[FrozenTrial],
    ) -> dict[str, Any]:
        """Initial design: Latin hypercube in the first epoch, uniform after a restart.

        A point that repeats an evaluated, pruned, failed or running configuration (small grids)
        is replaced by uniform draws until it is new, when it can be.
        """
        params = {}
        for name, dist in search_space.items():
            if restarts == 0:
                u = _core.lhs_unit(self._seed, name, trial.number, self._n_startup_trials)
            else:
                u = float(rng.random())
            params[name] = self._decode_one(dist, u)
        if not search_space:
            return params
        archive.set_space(search_space)
        names = archive.names
        busy = {_param_key(t.params, names) for t in running}
        for _ in range(_core.MAX_DUPLICATE_RETRIES):
            key = _param_key(params, names)
            if key not in archive.keys and key not in busy:
                break
            params = {n: self._decode_one(d, float(rng.random())) for n, d in search_space.items()}
        return params

    def _remember(
        self,
        study: Study,
        trial: FrozenTrial,
        archive: _Archive,
        parent: int,
        restarts: int,
        operator: str,
        *,
        collapsed: bool = False,
        screened: int = 0,
    ) -> None:
        """Keep the target parent for ``sample_independent`` and record the origin."""
        if len(self._parents) > 10_000:  # trials sampled but never told (direct API use)
            self._parents.clear()
        self._parents[compat.trial_id_of(trial)] = archive.trials[parent]
        violation, value = float(archive.violation[parent]), float(archive.value[parent])
        origin = {
            "parent": archive.trials[parent].number,
            "parent_fitness": [violation, value]
            if math.isfinite(value) and math.isfinite(violation)
            else None,
            "epoch": restarts,
            "operator": operator,
        }
        if collapsed:
            origin["collapsed"] = True
        if screened:
            origin["screened"] = screened
        compat.storage_of(study).set_trial_system_attr(
            compat.trial_id_of(trial), ORIGIN_ATTR, origin
        )

    def _sync(self, study: Study, trials: list[FrozenTrial]) -> tuple[_Archive, list[FrozenTrial]]:
        """Update the archive of ``study`` with newly completed trials; return running ones.

        Finished trials never change, so only the trials from the first unfinished one on
        (``archive.settled``, in trial-number order) are looked at: O(1) per call in a sequential
        run instead of O(n).
        """
        sign = -1.0 if study.direction == StudyDirection.MAXIMIZE else 1.0
        archive = self._archive
        if archive is None or not archive.matches(study, sign):
            archive = self._archive = _Archive(
                compat.storage_of(study), compat.study_id_of(study), sign
            )
        index = archive.index
        start = archive.settled
        if start > len(trials) or (start > 0 and trials[start - 1].number != start - 1):
            start = 0  # not the list we scanned before: look at everything again
        new, dead, running = [], [], []
        settled = start
        for i in range(start, len(trials)):
            t = trials[i]
            state = t.state
            if state is TrialState.COMPLETE:
                if compat.trial_id_of(t) not in index:
                    new.append(t)
            elif state is TrialState.RUNNING or state is TrialState.WAITING:
                if state is TrialState.RUNNING:
                    running.append(t)
                continue
            elif compat.trial_id_of(t) not in archive.dead_ids:
                dead.append(t)
            if settled == i:
                settled = i + 1
        archive.settled = settled
        if new:
            archive.add(new)
        if dead:
            archive.add_dead(dead)
        return archive, running
