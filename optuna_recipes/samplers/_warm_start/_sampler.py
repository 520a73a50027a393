"""``WarmStartSampler``: the Optuna glue of the warm-start models.

It turns the sources and the new study's trials into encoded arrays, decides how each trial is
sampled (one mode per trial: the joint proposal, the transfer GP, the density ratio, or the
hand-over to multivariate TPE), fits only what that mode needs from the numpy models
(``_relatedness``, ``_parzen``, ``_gp``, ``_acquisition``) and records what it did in the
trial's system attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
import logging
from typing import Any

import numpy as np
import optuna
from optuna.distributions import BaseDistribution
from optuna.distributions import CategoricalDistribution
from optuna.distributions import distribution_to_json
from optuna.distributions import json_to_distribution
from optuna.samplers import BaseSampler
from optuna.samplers import TPESampler
from optuna.search_space import IntersectionSearchSpace
from optuna.trial import FrozenTrial
from optuna.trial import TrialState
from threadpoolctl import threadpool_limits

from optuna_recipes import _optuna_compat as compat
from optuna_recipes._encoding import SearchSpaceEncoder
from optuna_recipes._encoding import from_unit
from optuna_recipes._encoding import is_categorical
from optuna_recipes._encoding import to_unit
from optuna_recipes._validation import check_choice
from optuna_recipes._validation import check_float
from optuna_recipes._validation import check_int
from optuna_recipes._validation import check_seed
from optuna_recipes.samplers._warm_start import _acquisition as acq
from optuna_recipes.samplers._warm_start import _arms as arms
from optuna_recipes.samplers._warm_start import _gp as gp
from optuna_recipes.samplers._warm_start import _parzen as parzen
from optuna_recipes.samplers._warm_start._data import WarmStartConfig
from optuna_recipes.samplers._warm_start._data import rank_quantiles
from optuna_recipes.samplers._warm_start._data import row_keys
from optuna_recipes.samplers._warm_start._relatedness import relatedness
from optuna_recipes.samplers._warm_start._relatedness import source_masses
from optuna_recipes.samplers._warm_start._source_models import SourceModels
from optuna_recipes.samplers._warm_start._source_models import signed
from optuna_recipes.samplers._warm_start._source_models import source_space
from optuna_recipes.warm_start._sources import SourceStudy
from optuna_recipes.warm_start._sources import as_sources

_logger = logging.getLogger("optuna_recipes.samplers")

_NS = "optuna_recipes.warm_start"
PROPOSAL_KEY = f"{_NS}:proposal"
WEIGHTS_KEY = f"{_NS}:source_weights"
GP_WEIGHTS_KEY = f"{_NS}:gp_source_weights"
MODE_KEY = f"{_NS}:mode"
DECISION_KEY = f"{_NS}:decision"

# How a trial's jointly sampled parameters are chosen (recorded under MODE_KEY).
MODE_PROPOSAL = "proposal"  # no common search space yet: every parameter from the proposal
MODE_GP = "gp"  # the transfer GP's expected improvement
MODE_PARZEN = "parzen"  # the density ratio l(x) / g(x)
MODE_TPE = "tpe"  # multivariate TPE: the bandit's TPE arm, or the hand-over
MODE_COLD = "cold"  # the bandit's cold arm: a density ratio on its own trials only
# Why a trial got its mode (recorded under DECISION_KEY with the bandit's credits).
REASON_WARM_UP = "warm-up"  # the surrogate, before the bandit starts
REASON_BANDIT = "bandit"  # the arm the bandit drew (``_arms``)
REASON_FADED = "sources faded"
REASON_GP_BUDGET = "gp budget"  # the GP's trial budget is spent, or no source has a GP

_SURROGATES = (MODE_GP, MODE_PARZEN)
# The GP costs O(n^3) per trial; past this many target trials multivariate TPE takes over.
_GP_MAX_TRIALS = 200
# Below this total worth (in target trials) the sources have faded: hand over to TPE.
_MIN_SOURCE_MASS = 0.5
# Draws of multivariate TPE per trial while it proposes an evaluated configuration.
_TPE_RETRIES = 5
# Smallest Parzen bandwidth in unit space.
_MIN_BANDWIDTH = 0.02
# Source names shown by repr().
_REPR_SOURCES = 5
_SCORED_STATES = (TrialState.COMPLETE, TrialState.PRUNED)
_UNSCORED_STATES = (TrialState.RUNNING, TrialState.WAITING, TrialState.FAIL)
# Random streams of one trial: its joint sampling and its proposal.
_RELATIVE_STREAM = 1
_PROPOSAL_STREAM = 2
_ARM_STREAM = 3


def _fresh_seed() -> int:
    return int(np.random.SeedSequence().entropy % 2**32)  # type: ignore[operator]


def _min_bandwidth(enc: SearchSpaceEncoder) -> np.ndarray:
    """Per column: half a grid cell on evenly spaced grids (ints, steps), else a small floor
    (continuous and log-scaled columns)."""
    half_cell = np.where(enc.is_log, 0.0, 0.5 * enc.cell_widths)
    return np.maximum(_MIN_BANDWIDTH, half_cell)


def _compatible(a: BaseDistribution, b: BaseDistribution) -> bool:
    return is_categorical(a) == is_categorical(b)


class WarmStartSampler(BaseSampler):
    """Start a new study from where earlier, similar studies found good configurations.

    Choose it when you tune the same (or a similar) model again: after retraining on fresh
    data, on a new dataset, for a new machine much like the old one. Two models are available:

    - ``surrogate="gp"`` (the default): from the second trial on, a Gaussian process on the new
      study's scores in a Gaussian copula (ranks mapped to normal quantiles, so objective
      scales, offsets and directions may differ), whose prior comes from the sources (Salinas
      et al., ICML 2020; Feurer et al.'s RGPE, 2018): one GP per source, their predictions and
      gradients as features of a Bayesian linear model (so a target whose optimum moved a
      little is modelled as a shifted source), length-scale priors from the sources' GPs, and a
      Matern 5/2 residual. Candidates are scored by expected improvement. Each trial records
      the coefficient of each source's prediction in the fitted model in
      ``optuna_recipes.warm_start:gp_source_weights``. Past 200 trials (the GP costs
      ``O(n^3)``) a multivariate :class:`~optuna.samplers.TPESampler` takes over.
    - ``surrogate="parzen"``: a TPE-style density ratio ``l(x) / g(x)`` fitted on the sources'
      trials (each source split into good and bad by its own rank quantiles), blended with the
      new study's own trials as they accumulate. It costs less per trial than the GP and
      refines a moved optimum more slowly.
      Under either surrogate it proposes the first trial and any parameter outside the new
      study's common search space, and the GP searches among its candidates.

    How the two compare with cold-start TPE on related and unrelated tasks, and what they cost
    per trial, is measured in the README section "Tune again after retraining".

    Each source is weighted by how well it ranks the new study's evaluated points: a Kendall tau
    between the source GP's predictions and the observed values in which pairs holding the
    study's best points weigh most (:func:`scipy.stats.weightedtau`, ranked by the observed
    values), so a source that ranks the bulk right and the best points wrong loses trust; shrunk
    towards a prior (how well that source's GP ranks the other sources' trials) for the first
    trials. A source that disagrees fades out (a GP source of weight 0 leaves the GP), and once
    every source has faded both surrogates hand over to multivariate TPE.

    Sources can also help at first and then mislead: their region is good early, another one
    is better later, and a surrogate built on them keeps sampling theirs. So after the first
    20 target trials each trial goes to one of three arms: the surrogate; multivariate TPE on
    all the study's trials (which refines what any arm found, without the sources); or a *cold*
    arm (a TPE-style density ratio fitted only on the trials the cold arm proposed, uniform for
    its first 5, so it explores as a cold start would, away from where the sources pointed). The
    arm is drawn by Thompson sampling on each arm's credit: how often its trials were a new best
    of the study, older trials counting less (``_arms``). The cold arm keeps at least 15% of
    the trials.

    No arm proposes a configuration the study has evaluated, is evaluating, or saw pruned or
    failed, while its candidates hold a new one (on integer, stepped and categorical
    parameters a model that trusts its fit would otherwise propose its incumbent again, and
    re-evaluating it only repeats its value).

    Each trial records in its system attributes how it was sampled,
    ``optuna_recipes.warm_start:mode``: ``"gp"`` or ``"parzen"`` (the surrogate, over the new
    study's common search space), ``"cold"`` (the cold arm), ``"tpe"`` (the TPE arm or the
    hand-over; until multivariate TPE has its startup trials, and when all its draws repeat
    known configurations, the density ratio stands in, recorded as ``"parzen"``), or
    ``"proposal"`` (no common search space yet, e.g. the first trial); why,
    ``optuna_recipes.warm_start:decision``: ``{"reason": ...}`` with ``"warm-up"``,
    ``"bandit"`` (with each arm's discounted ``wins`` and ``pulls``: surrogate, cold, TPE),
    ``"sources faded"`` or ``"gp budget"``; the source weights behind it,
    ``optuna_recipes.warm_start:source_weights``; and ``optuna_recipes.warm_start:proposal``,
    the joint proposal used for parameters outside the common space, with its
    ``source_weights``.

    Mixed and conditional spaces are supported: float and int (log, step) and categorical
    parameters; a parameter missing from a source, or a source value outside the new range,
    leaves that source uninformative along that parameter; parameters no source has are sampled
    by ``independent_sampler`` (a warning names them once). Everything is derived from the
    study's storage and the source snapshots, so the sampler works with ``n_jobs>1`` and many
    processes on one storage, and pickles (the sources are plain trial lists). Multi-objective
    studies are not supported (``ValueError``).

    Compared with ``CmaEsSampler(source_trials=...)`` (WS-CMA-ES, Nomura et al., 2021), it
    accepts categorical parameters and has a guard against negative transfer.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.samplers import WarmStartSampler


            def objective(trial, shift):
                x = trial.suggest_float("x", -5, 5)
                kind = trial.suggest_categorical("kind", ["a", "b"])
                return (x - shift) ** 2 + (kind == "b")


            old = optuna.create_study()
            old.optimize(lambda t: objective(t, 1.0), n_trials=30)

            study = optuna.create_study(sampler=WarmStartSampler([old], seed=0))
            study.optimize(lambda t: objective(t, 1.2), n_trials=10)

    Args:
        source_studies: Earlier studies: a sequence of :class:`optuna.Study` objects, lists of
            :class:`~optuna.trial.FrozenTrial` (taken to share the new study's direction), or
            :class:`~optuna_recipes.SourceStudy` snapshots from
            :func:`~optuna_recipes.load_sources`. Studies are snapshot at construction.
        seed: Seed of the sampler's randomness: each trial draws from a generator derived from
            it and the trial's number, and the TPE samplers are seeded from it. ``None``
            (default) draws one at construction (and again at ``reseed_rng``).
        source_weight: How many new-study trials one fully related source is worth at the
            start; must be ``>= 0``. Default ``20.0``.
        source_decay: Number of new-study trials after which a source's worth has halved
            (``source_weight / (1 + n / source_decay)``); must be ``> 0``. Default ``30.0``.
        n_ei_candidates: Candidates drawn from ``l(x)`` per trial; must be ``>= 1``.
            Default ``24``.
        independent_sampler: Sampler for parameters no source has: default a
            :class:`~optuna.samplers.TPESampler` seeded from ``seed``. (The hand-over once the
            sources fade uses a multivariate TPE sampler of its own.)
        surrogate: ``"gp"`` (default): the transfer Gaussian process described above;
            ``"parzen"``: the density ratio.
    """

    def __init__(
        self,
        source_studies: Sequence[Any],
        *,
        seed: int | None = None,
        source_weight: float = 20.0,
        source_decay: float = 30.0,
        n_ei_candidates: int = 24,
        independent_sampler: BaseSampler | None = None,
        surrogate: str = "gp",
    ) -> None:
        seed = check_seed("seed", seed)
        self._config = WarmStartConfig(
            source_weight=check_float("source_weight", source_weight, minimum=0),
            source_decay=check_float("source_decay", source_decay, minimum=0, exclusive_min=True),
            n_ei_candidates=check_int("n_ei_candidates", n_ei_candidates, minimum=1),
        )
        self._surrogate = check_choice("surrogate", surrogate, _SURROGATES)
        self._sources: list[SourceStudy] = as_sources(source_studies)
        self._seed = seed
        # Every trial draws from its own generator, derived from this seed and the trial's
        # number (as GeneticSampler does): threads and processes share no random state, and
        # the same seed gives the same trials in a sequential study.
        self._rng_seed = seed if seed is not None else _fresh_seed()
        self._independent = independent_sampler or TPESampler(seed=seed)
        self._tpe = TPESampler(seed=None if seed is None else seed + 1, multivariate=True)
        self._search_space = IntersectionSearchSpace(include_pruned=True)
        self._source_space = source_space(self._sources)
        self._source_models = SourceModels(self._sources, self._config)
        self._warned: set[str] = set()
        self._last_proposal: tuple[Any, int, dict[str, Any]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_last_proposal"] = None  # holds a storage handle
        return state

    def __repr__(self) -> str:
        # Source names, not their trials; a long list is cut.
        names = [repr(s.name) for s in self._sources[:_REPR_SOURCES]]
        if len(self._sources) > _REPR_SOURCES:
            names.append(f"... ({len(self._sources)} sources)")
        return (
            f"WarmStartSampler(sources=[{', '.join(names)}], seed={self._seed}, "
            f"source_weight={self._config.source_weight}, "
            f"source_decay={self._config.source_decay}, "
            f"n_ei_candidates={self._config.n_ei_candidates}, surrogate={self._surrogate!r})"
        )

    @property
    def sources(self) -> list[SourceStudy]:
        """The source snapshots this sampler learns from."""
        return list(self._sources)

    def reseed_rng(self) -> None:
        self._rng_seed = _fresh_seed()
        self._independent.reseed_rng()
        self._tpe.reseed_rng()

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if compat.is_multi_objective(study):
            return {}
        space = self._search_space.calculate(study)
        return {n: d for n, d in sorted(space.items()) if not d.single()}

    # -- joint sampling over the common search space ----------------------------------------

    def sample_relative(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        self._check_single_objective(study)
        if not search_space:
            compat.set_trial_system_attr(study, trial, MODE_KEY, MODE_PROPOSAL)
            return {}
        rng = self._trial_rng(trial, _RELATIVE_STREAM)
        enc = SearchSpaceEncoder(search_space)
        with threadpool_limits(1):  # small matrices: BLAS threads only cost time
            target, modes = self._target_data(study, search_space)
            known = _known_configurations(study, trial, enc, scored=target[0])
            rel = self._relatedness(study, search_space, target)
            masses = source_masses(rel, len(target[1]), self._config)
            mode, decision = self._choose_mode(study, trial, search_space, target, modes, masses)
            if mode == MODE_TPE:
                params = self._hand_over(study, trial, search_space, enc, known)
                if params is not None:
                    compat.set_trial_system_attr(study, trial, MODE_KEY, MODE_TPE)
                    compat.set_trial_system_attr(study, trial, DECISION_KEY, decision)
                    return params
                # Multivariate TPE is still in its startup trials, or every draw repeated a
                # known configuration; the density ratio on the target's trials (and what is
                # left of the sources) stands in for it.
                mode = MODE_PARZEN
            coefficients = None
            if mode == MODE_COLD:
                own = np.array([m == MODE_COLD for m in modes], dtype=bool)
                row = parzen.propose_cold(
                    target[0][own],
                    target[1][own],
                    enc.n_choices,
                    _min_bandwidth(enc),
                    self._config,
                    rng,
                    enc.snap,
                    known,
                )
            elif mode == MODE_GP:
                row, coefficients = self._propose_gp(
                    study, search_space, target, (rel, masses), rng, known
                )
            else:
                lower, upper = parzen.build_density_ratio(
                    *self._parzen_data(study, search_space, target, masses)
                )
                row = parzen.propose(
                    lower, upper, rng, self._config.n_ei_candidates, enc.snap, known
                )
        self._record(study, trial, mode, rel, coefficients, decision)
        return enc.decode(row)

    def _choose_mode(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        space: dict[str, BaseDistribution],
        target: tuple[np.ndarray, np.ndarray],
        modes: list[str | None],
        masses: np.ndarray,
    ) -> tuple[str, dict[str, Any]]:
        """The one decision per trial, and its reason: ``MODE_TPE`` once the sources have
        faded, or when the GP does not apply (no source has a model of this space, or the
        target has ``_GP_MAX_TRIALS`` trials); else the surrogate (``MODE_GP`` or
        ``MODE_PARZEN``) for the first ``bandit_start`` target trials, then the arm the
        bandit draws from the credit of each mode's trials (``_arms``)."""
        n_target = len(target[1])
        if masses.sum() < _MIN_SOURCE_MASS:
            return MODE_TPE, {"reason": REASON_FADED}
        if self._surrogate == MODE_GP:
            models, _ = self._source_models.models(space, study.direction)
            if n_target >= _GP_MAX_TRIALS or all(m is None for m in models):
                return MODE_TPE, {"reason": REASON_GP_BUDGET}
        if n_target < self._config.bandit_start:
            return self._surrogate, {"reason": REASON_WARM_UP}
        arm, decision = arms.decide(
            modes,
            target[1],
            self._config.half_life,
            self._config.cold_floor,
            self._trial_rng(trial, _ARM_STREAM),
        )
        return {arms.COLD: MODE_COLD, arms.TPE: MODE_TPE}.get(arm, self._surrogate), decision

    def _hand_over(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        space: dict[str, BaseDistribution],
        enc: SearchSpaceEncoder,
        known: set[bytes],
    ) -> dict[str, Any] | None:
        """Multivariate TPE's parameters, or ``None`` while it is in its startup trials or
        when it proposed a configuration in ``known`` on every one of its draws (the first and
        ``_TPE_RETRIES`` more)."""
        if not any(n in self._source_space for n in space):
            self._warn_once(
                "no-compatible",
                f"No source study shares a parameter with the search space "
                f"{sorted(space)}; WarmStartSampler behaves as TPESampler.",
            )
        params = self._tpe.sample_relative(study, trial, space)
        if set(params) != set(space):
            return None
        for attempt in range(_TPE_RETRIES + 1):
            if attempt:
                params = self._tpe.sample_relative(study, trial, space)
            if row_keys(enc.snap(enc.encode(params)[None, :]))[0] not in known:
                return params
        return None

    def _propose_gp(
        self,
        study: optuna.Study,
        space: dict[str, BaseDistribution],
        target: tuple[np.ndarray, np.ndarray],
        weights: tuple[np.ndarray, np.ndarray],
        rng: np.random.Generator,
        known: set[bytes],
    ) -> tuple[np.ndarray, np.ndarray]:
        """The row maximising expected improvement under the transfer GP (each source's
        features scaled by its relatedness, the first of ``weights``; the second is its worth
        in the density ratio) among the configurations not in ``known``, and each source's
        prediction's coefficient in it. Candidates come from the density ratio's good mixture
        ``l(x)``, uniform draws and the neighbourhoods of the target's and each source's best
        trials."""
        enc = SearchSpaceEncoder(space)
        n_choices = enc.n_choices
        rel, masses = weights
        models, _ = self._source_models.models(space, study.direction)
        tx, raw = gp.impute(target[0], n_choices), target[1]
        model = gp.fit_transfer_gp(models, tx, raw, n_choices, rel)
        lower = parzen.build_good_density(*self._parzen_data(study, space, target, masses))
        initial = acq.initial_candidates(lower.sample, n_choices, rng)
        incumbents = [acq.best_rows(tx, raw)]
        for src in self._source_models.encoded(space, study.direction):
            if len(src.y):
                incumbents.append(gp.impute(acq.best_rows(src.x, src.y), n_choices))
        row = acq.optimize_acquisition(
            model, initial, np.concatenate(incumbents), n_choices, enc.snap, rng, known=known
        )
        return row, model.source_weights()

    # -- data --------------------------------------------------------------------------------

    def _target_data(
        self, study: optuna.Study, space: dict[str, BaseDistribution]
    ) -> tuple[tuple[np.ndarray, np.ndarray], list[str | None]]:
        """Encoded target trials and their scores (lower is better; ``inf`` = pruned), in
        trial order, and the mode each was sampled in (``None``: not recorded)."""
        trials = compat.get_trials(study, deepcopy=False, states=_SCORED_STATES, use_cache=True)
        trials = sorted(trials, key=lambda t: t.number)
        x = SearchSpaceEncoder(space).encode_trials(trials, out_of_range="nan")
        raw = np.array(
            [
                signed(t.values[0], study.direction)
                if t.state == TrialState.COMPLETE and t.values is not None
                else np.inf
                for t in trials
            ]
        )
        return (x, raw), [t.system_attrs.get(MODE_KEY) for t in trials]

    def _relatedness(
        self,
        study: optuna.Study,
        space: dict[str, BaseDistribution],
        target: tuple[np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """Each source's relatedness to the new study in ``[0, 1]`` (``_relatedness``)."""
        models, priors = self._source_models.models(space, study.direction)
        predict = [None if m is None else m.predict_mean for m in models]
        rel, _ = relatedness(predict, target[0], target[1], priors, self._config)
        return rel

    def _parzen_data(
        self,
        study: optuna.Study,
        space: dict[str, BaseDistribution],
        target: tuple[np.ndarray, np.ndarray],
        masses: np.ndarray,
    ) -> tuple[Any, ...]:
        """The arguments of ``_parzen.build_density_ratio`` / ``build_good_density``."""
        enc = SearchSpaceEncoder(space)
        return (
            self._source_models.encoded(space, study.direction),
            masses,
            target[0],
            rank_quantiles(target[1]),
            enc.n_choices,
            _min_bandwidth(enc),
            self._config,
        )

    def _record(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        mode: str,
        rel: np.ndarray,
        coefficients: np.ndarray | None,
        decision: dict[str, Any],
    ) -> None:
        compat.set_trial_system_attr(study, trial, MODE_KEY, mode)
        compat.set_trial_system_attr(study, trial, DECISION_KEY, decision)
        compat.set_trial_system_attr(study, trial, WEIGHTS_KEY, _weights(self._sources, rel))
        if coefficients is not None:
            compat.set_trial_system_attr(
                study, trial, GP_WEIGHTS_KEY, _weights(self._sources, coefficients)
            )

    def _trial_rng(self, trial: FrozenTrial, stream: int) -> np.random.Generator:
        return np.random.default_rng([self._rng_seed, trial.number, stream])

    def _check_single_objective(self, study: optuna.Study) -> None:
        if compat.is_multi_objective(study):
            raise ValueError(
                "WarmStartSampler supports single-objective studies only; this study has "
                f"{len(study.directions)} objectives. Use optuna.samplers.TPESampler or "
                "NSGAIISampler for multi-objective studies."
            )

    # -- parameters outside the common search space: the joint proposal ---------------------

    def _proposal_space(self, study: optuna.Study) -> dict[str, BaseDistribution]:
        """Source parameters, in the new study's latest distribution where it has one."""
        space = dict(self._source_space)
        done: set[str] = set()
        for t in reversed(compat.get_trials(study, states=None)):
            if len(done) == len(space):
                break
            for name, dist in t.distributions.items():
                if name in space and name not in done:
                    done.add(name)
                    if _compatible(dist, space[name]) and not dist.single():
                        space[name] = dist
        return {n: d for n, d in sorted(space.items())}

    def _proposal(self, study: optuna.Study, trial: FrozenTrial) -> dict[str, Any]:
        """The trial's joint proposal over every source parameter: drawn from the density
        ratio once per trial and kept in its system attributes (the last one also here, so
        that the trial's later parameters do not each re-read the storage)."""
        storage, trial_id = compat.storage_of(study), compat.trial_id_of(trial)
        last = self._last_proposal
        if last is not None and last[0] is storage and last[1] == trial_id:
            return last[2]
        attrs = trial.system_attrs
        if PROPOSAL_KEY not in attrs:
            attrs = compat.get_trial_system_attrs(study, trial)
        if PROPOSAL_KEY in attrs:
            return attrs[PROPOSAL_KEY]["params"]
        space = self._proposal_space(study)
        with threadpool_limits(1):  # small matrices: BLAS threads only cost time
            target, _ = self._target_data(study, space)
            rel = self._relatedness(study, space, target)
            masses = source_masses(rel, len(target[1]), self._config)
            lower, upper = parzen.build_density_ratio(
                *self._parzen_data(study, space, target, masses)
            )
            rng = self._trial_rng(trial, _PROPOSAL_STREAM)
            row = parzen.propose(lower, upper, rng, self._config.n_ei_candidates)
        proposal: dict[str, Any] = {
            name: [float(u), distribution_to_json(dist)]
            for (name, dist), u in zip(space.items(), row, strict=True)
        }
        # One write: the joint proposal and the source weights behind it.
        compat.set_trial_system_attr(
            study,
            trial,
            PROPOSAL_KEY,
            {"params": proposal, "source_weights": _weights(self._sources, rel)},
        )
        self._last_proposal = (storage, trial_id, proposal)
        return proposal

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        self._check_single_objective(study)
        known = self._source_space.get(param_name)
        if known is None or not _compatible(known, param_distribution):
            self._warn_once(
                f"param:{param_name}",
                f"Parameter {param_name!r} appears in no source study (with a compatible "
                f"type); it is sampled by {type(self._independent).__name__}.",
            )
            return self._independent.sample_independent(
                study, trial, param_name, param_distribution
            )
        entry = self._proposal(study, trial).get(param_name)
        if entry is not None:
            proposed = from_unit(json_to_distribution(entry[1]), entry[0])
            value = _fit_into(proposed, param_distribution)
            if value is not _NO_FIT:
                return value
        return self._independent.sample_independent(study, trial, param_name, param_distribution)

    def _warn_once(self, key: str, message: str) -> None:
        if key not in self._warned:
            self._warned.add(key)
            _logger.warning(message)

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._independent.before_trial(study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._independent.after_trial(study, trial, state, values)


_NO_FIT: Any = object()


def _known_configurations(
    study: optuna.Study,
    trial: FrozenTrial,
    enc: SearchSpaceEncoder,
    scored: np.ndarray | None = None,
) -> set[bytes]:
    """Keys (``row_keys``) of the configurations the study's other trials evaluated, are
    evaluating, or failed or were pruned on: the proposals skip them while a new candidate
    remains (re-evaluating one gives its value again, or fails again). ``scored``: the
    complete and pruned trials already encoded by ``enc`` (``_target_data``), so that only the
    others are encoded here."""
    states = None if scored is None else _UNSCORED_STATES
    others = [
        t
        for t in compat.get_trials(study, deepcopy=False, states=states)
        if t.number != trial.number
    ]
    rows = enc.encode_trials(others, out_of_range="nan")
    if scored is not None:
        rows = np.concatenate([scored.reshape(-1, rows.shape[1]), rows])
    rows = rows[~np.isnan(rows).any(axis=1)]
    return set(row_keys(enc.snap(rows))) if len(rows) else set()


def _weights(sources: list[SourceStudy], rel: np.ndarray) -> dict[str, float]:
    return {s.name: round(float(r), 4) for s, r in zip(sources, rel, strict=True)}


def _fit_into(value: Any, dist: BaseDistribution) -> Any:
    """``value`` as a member of ``dist`` (snapped to its grid), or ``_NO_FIT``."""
    if isinstance(dist, CategoricalDistribution):
        for choice in dist.choices:
            if choice == value and type(choice) is type(value):
                return choice
        return _NO_FIT
    u = to_unit(dist, value)
    if not (0.0 <= u <= 1.0):
        return _NO_FIT
    return from_unit(dist, u)
