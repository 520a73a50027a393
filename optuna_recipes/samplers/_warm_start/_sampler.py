"""``WarmStartSampler``: the Optuna glue of the warm-start models.

It turns the sources and the new study's trials into encoded arrays, decides how each trial is
sampled, calls the numpy models (``_relatedness``, ``_parzen``, ``_gp``, ``_acquisition``) and
records what it did in the trial's system attributes.
"""

from __future__ import annotations

from collections.abc import Sequence
import json
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
from optuna.study import StudyDirection
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
from optuna_recipes.samplers._warm_start import _gp as gp
from optuna_recipes.samplers._warm_start import _parzen as parzen
from optuna_recipes.samplers._warm_start._data import SourceData
from optuna_recipes.samplers._warm_start._data import WarmStartConfig
from optuna_recipes.samplers._warm_start._data import rank_quantiles
from optuna_recipes.samplers._warm_start._relatedness import agreement_priors
from optuna_recipes.samplers._warm_start._relatedness import relatedness
from optuna_recipes.samplers._warm_start._relatedness import source_masses
from optuna_recipes.warm_start._sources import SourceStudy
from optuna_recipes.warm_start._sources import as_sources

_logger = logging.getLogger("optuna_recipes.samplers")

_NS = "optuna_recipes.warm_start"
PROPOSAL_KEY = f"{_NS}:proposal"
WEIGHTS_KEY = f"{_NS}:source_weights"
GP_WEIGHTS_KEY = f"{_NS}:gp_source_weights"

# The GP costs O(n^3) per trial; past this many target trials multivariate TPE takes over.
_GP_MAX_TRIALS = 200
_SURROGATES = ("gp", "parzen")
# Smallest Parzen bandwidth in unit space.
_MIN_BANDWIDTH = 0.02


def _min_bandwidth(enc: SearchSpaceEncoder) -> np.ndarray:
    """Per column: half a grid cell on evenly spaced grids (ints, steps), else a small floor
    (continuous and log-scaled columns)."""
    half_cell = np.where(enc.is_log, 0.0, 0.5 * enc.cell_widths)
    return np.maximum(_MIN_BANDWIDTH, half_cell)


def _compatible(a: BaseDistribution, b: BaseDistribution) -> bool:
    return is_categorical(a) == is_categorical(b)


def _signed(value: float, direction: StudyDirection) -> float:
    return value if direction == StudyDirection.MINIMIZE else -value


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

    Each source is weighted by how well it ranks the new study's evaluated points: Kendall's tau
    between the source GP's predictions and the observed values, shrunk towards a prior (how
    well that source's GP ranks the other sources' trials) for the first trials. A source that
    disagrees fades out (a GP source of weight 0 leaves the GP), and once every source has
    faded both surrogates hand over to multivariate TPE, so a misleading warm start costs only
    the first few trials. Each trial records these weights in its system
    attributes: ``optuna_recipes.warm_start:source_weights`` (trials sampled jointly over the
    new study's search space) or ``optuna_recipes.warm_start:proposal`` (the joint proposal
    used for parameters outside that space, e.g. in the first trial, with its
    ``source_weights``).

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
        seed: Seed of the sampler's random number generator. Default ``None``.
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
        self._rng = np.random.RandomState(seed)
        self._independent = independent_sampler or TPESampler(seed=seed)
        self._tpe = TPESampler(
            seed=None if seed is None else seed + 1,
            multivariate=True,
        )
        self._search_space = IntersectionSearchSpace(include_pruned=True)
        self._source_space = self._collect_source_space()
        self._encoded: dict[str, list[SourceData]] = {}
        self._gp_models: dict[str, tuple[list[gp.SourceModel | None], np.ndarray]] = {}
        self._warned: set[str] = set()
        self._last_proposal: tuple[Any, int, dict[str, Any]] | None = None

    def __getstate__(self) -> dict[str, Any]:
        state = self.__dict__.copy()
        state["_last_proposal"] = None  # holds a storage handle
        state["_gp_models"] = {}  # a cache, rebuilt from the sources on demand
        return state

    def __repr__(self) -> str:
        names = [s.name for s in self._sources]
        return (
            f"WarmStartSampler(sources={names}, seed={self._seed}, "
            f"source_weight={self._config.source_weight}, "
            f"source_decay={self._config.source_decay}, "
            f"n_ei_candidates={self._config.n_ei_candidates}, surrogate={self._surrogate!r})"
        )

    @property
    def sources(self) -> list[SourceStudy]:
        """The source snapshots this sampler learns from."""
        return list(self._sources)

    def reseed_rng(self) -> None:
        self._rng.seed()
        self._independent.reseed_rng()
        self._tpe.reseed_rng()

    # -- search spaces -------------------------------------------------------------------

    def _collect_source_space(self) -> dict[str, BaseDistribution]:
        space: dict[str, BaseDistribution] = {}
        for src in self._sources:
            for t in src.trials:
                for name, dist in t.distributions.items():
                    if name not in space and not dist.single():
                        space[name] = dist
        return space

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        if compat.is_multi_objective(study):
            return {}
        space = self._search_space.calculate(study)
        return {n: d for n, d in sorted(space.items()) if not d.single()}

    # -- data ------------------------------------------------------------------------------

    def _encode_sources(
        self, space: dict[str, BaseDistribution], direction: StudyDirection
    ) -> list[SourceData]:
        key = _space_key(space, direction)
        cached = self._encoded.get(key)
        if cached is not None:
            return cached
        enc = SearchSpaceEncoder(space)
        out = []
        for src in self._sources:
            src_dir = src.direction or direction
            trials = [
                t
                for t in src.trials
                if t.state == TrialState.PRUNED
                or (t.values is not None and not np.isnan(t.values[0]))
            ]
            x = enc.encode_trials(trials, out_of_range="nan")
            y = np.array(
                [
                    _signed(t.values[0], src_dir) if t.state == TrialState.COMPLETE else np.inf
                    for t in trials
                ]
            )
            informative = ~np.isnan(x).all(axis=1) if x.shape[1] else np.zeros(len(y), bool)
            out.append(SourceData(x[informative], y[informative]))
        if len(self._encoded) > 32:
            self._encoded.clear()
        self._encoded[key] = out
        return out

    def _target_data(
        self, study: optuna.Study, space: dict[str, BaseDistribution]
    ) -> tuple[np.ndarray, np.ndarray]:
        """Encoded target trials and their scores (lower is better; ``inf`` = pruned)."""
        trials = compat.get_trials(
            study, deepcopy=False, states=(TrialState.COMPLETE, TrialState.PRUNED), use_cache=True
        )
        enc = SearchSpaceEncoder(space)
        x = enc.encode_trials(trials, out_of_range="nan")
        raw = np.array(
            [
                _signed(t.values[0], study.direction)
                if t.state == TrialState.COMPLETE and t.values is not None
                else np.inf
                for t in trials
            ]
        )
        return x, raw

    def _relatedness(
        self,
        study: optuna.Study,
        space: dict[str, BaseDistribution],
        target: tuple[np.ndarray, np.ndarray],
    ) -> np.ndarray:
        """Each source's relatedness to the new study in ``[0, 1]`` (the negative-transfer
        guard of both surrogates): Kendall's tau between the source GP's predictions at the
        target's points and their observed scores, shrunk towards how well that GP ranks the
        other sources' trials."""
        with threadpool_limits(1):  # small matrices: BLAS threads only cost time
            models, priors = self._source_models(space, study.direction)
            predict = [None if m is None else m.predict_mean for m in models]
            rel, _ = relatedness(predict, target[0], target[1], priors, self._config)
        return rel

    def _fit(
        self,
        study: optuna.Study,
        space: dict[str, BaseDistribution],
        target: tuple[np.ndarray, np.ndarray],
        rel: np.ndarray,
    ) -> tuple[parzen.ParzenMixture, parzen.ParzenMixture, np.ndarray]:
        """Fit the density ratio on ``space``, the target data ``(x, scores)`` of
        ``_target_data`` and each source's relatedness ``rel``; also return each source's
        current worth (in target trials)."""
        sources = self._encode_sources(space, study.direction)
        tx, raw = target
        ty = rank_quantiles(raw)
        n_choices = SearchSpaceEncoder(space).n_choices
        masses = source_masses(rel, len(ty), self._config)
        min_bw = _min_bandwidth(SearchSpaceEncoder(space))
        lower, upper = parzen.build_density_ratio(
            sources, masses, tx, ty, n_choices, min_bw, self._config
        )
        return lower, upper, masses

    def _record_weights(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        rel: np.ndarray,
        fitted: np.ndarray | None = None,
    ) -> None:
        compat.storage_of(study).set_trial_system_attr(
            compat.trial_id_of(trial), WEIGHTS_KEY, _weights(self._sources, rel)
        )
        if fitted is not None:
            compat.storage_of(study).set_trial_system_attr(
                compat.trial_id_of(trial), GP_WEIGHTS_KEY, _weights(self._sources, fitted)
            )

    # -- sampling -------------------------------------------------------------------------

    def _check_single_objective(self, study: optuna.Study) -> None:
        if compat.is_multi_objective(study):
            raise ValueError(
                "WarmStartSampler supports single-objective studies only; this study has "
                f"{len(study.directions)} objectives. Use optuna.samplers.TPESampler or "
                "NSGAIISampler for multi-objective studies."
            )

    def sample_relative(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        self._check_single_objective(study)
        if not search_space:
            return {}
        target = self._target_data(study, search_space)
        rel = self._relatedness(study, search_space, target)
        lower, upper, masses = self._fit(study, search_space, target, rel)
        if self._surrogate == "gp" and masses.sum() >= 0.5:
            with threadpool_limits(1):  # small matrices: BLAS threads only cost time
                params = self._sample_gp(study, trial, search_space, lower, target, rel)
            if params is not None:
                return params
        if masses.sum() < 0.5 or self._surrogate == "gp":
            # Every source has faded (or none fits this space, or the GP's trial budget is
            # spent): hand over to multivariate TPE once it has its startup trials; until then
            # our model is target-only TPE.
            if not any(n in self._source_space for n in search_space):
                self._warn_once(
                    "no-compatible",
                    f"No source study shares a parameter with the search space "
                    f"{sorted(search_space)}; WarmStartSampler behaves as TPESampler.",
                )
            params = self._tpe.sample_relative(study, trial, search_space)
            if set(params) == set(search_space):
                return params
        else:
            self._record_weights(study, trial, rel)
        row = parzen.propose(lower, upper, self._rng, self._config.n_ei_candidates)
        return SearchSpaceEncoder(search_space).decode(row)

    def _sample_gp(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
        lower: parzen.ParzenMixture,
        target: tuple[np.ndarray, np.ndarray],
        rel: np.ndarray,
    ) -> dict[str, Any] | None:
        """Params from the transfer GP, or ``None`` when it does not apply (no source has a
        model of this space, or the target has ``_GP_MAX_TRIALS`` trials)."""
        models, _ = self._source_models(search_space, study.direction)
        if not any(m is not None for m in models) or len(target[1]) >= _GP_MAX_TRIALS:
            return None
        row, coefficients = self._propose_gp(study, search_space, lower, models, target, rel)
        self._record_weights(study, trial, rel, coefficients)
        return SearchSpaceEncoder(search_space).decode(row)

    def _source_models(
        self, space: dict[str, BaseDistribution], direction: StudyDirection
    ) -> tuple[list[gp.SourceModel | None], np.ndarray]:
        """One GP per source (``None`` for a source with fewer than 3 trials in ``space``) and
        each source's prior Kendall tau (``agreement_priors``)."""
        # A pure function of the source snapshots and the space: safe to cache.
        key = _space_key(space, direction)
        cached = self._gp_models.get(key)
        if cached is not None:
            return cached
        n_choices = SearchSpaceEncoder(space).n_choices
        sources = self._encode_sources(space, direction)
        models = [gp.fit_source_model(src.x, src.y, n_choices) for src in sources]
        priors = agreement_priors(
            [None if m is None else m.predict_mean for m in models], sources, self._config
        )
        if len(self._gp_models) > 32:
            self._gp_models.clear()
        self._gp_models[key] = (models, priors)
        return models, priors

    def _propose_gp(
        self,
        study: optuna.Study,
        space: dict[str, BaseDistribution],
        lower: parzen.ParzenMixture,
        models: list[gp.SourceModel | None],
        target: tuple[np.ndarray, np.ndarray],
        rel: np.ndarray,
    ) -> tuple[np.ndarray, np.ndarray]:
        """The row maximising expected improvement under the transfer GP, and each source's
        prediction's coefficient in the target model (a source's features are scaled by its
        relatedness ``rel``)."""
        n_choices = SearchSpaceEncoder(space).n_choices
        tx, raw = target
        tx = gp.impute(tx, n_choices)
        model = gp.fit_transfer_gp(models, tx, raw, n_choices, rel)
        row = self._maximize(model, study, space, lower, acq.best_rows(tx, raw))
        return row, model.source_weights()

    def _maximize(
        self,
        model: gp.TransferGP,
        study: optuna.Study,
        space: dict[str, BaseDistribution],
        lower: parzen.ParzenMixture,
        target_best: np.ndarray,
    ) -> np.ndarray:
        """Maximise ``model.log_ei`` over draws from ``l(x)``, uniform draws and local
        searches from the target's and each source's best trials."""
        n_choices = SearchSpaceEncoder(space).n_choices
        initial = acq.initial_candidates(lower.sample, n_choices, self._rng)
        incumbents = [target_best]
        for src in self._encode_sources(space, study.direction):
            if len(src.y):
                incumbents.append(gp.impute(acq.best_rows(src.x, src.y), n_choices))
        return acq.optimize_acquisition(
            model,
            initial,
            np.concatenate(incumbents),
            n_choices,
            SearchSpaceEncoder(space).snap,
            self._rng,
        )

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
        # The proposal lives in the trial's system attrs; the last one is also kept here so
        # that the trial's later parameters do not each re-read the storage.
        last = self._last_proposal
        if (
            last is not None
            and last[0] is compat.storage_of(study)
            and last[1] == compat.trial_id_of(trial)
        ):
            return last[2]
        attrs = trial.system_attrs
        if PROPOSAL_KEY not in attrs:
            attrs = compat.storage_of(study).get_trial_system_attrs(compat.trial_id_of(trial))
        if PROPOSAL_KEY in attrs:
            return attrs[PROPOSAL_KEY]["params"]
        space = self._proposal_space(study)
        target = self._target_data(study, space)
        rel = self._relatedness(study, space, target)
        lower, upper, _ = self._fit(study, space, target, rel)
        row = parzen.propose(lower, upper, self._rng, self._config.n_ei_candidates)
        proposal: dict[str, Any] = {
            name: [float(u), distribution_to_json(dist)]
            for (name, dist), u in zip(space.items(), row, strict=True)
        }
        # One write: the joint proposal and the source weights behind it.
        compat.storage_of(study).set_trial_system_attr(
            compat.trial_id_of(trial),
            PROPOSAL_KEY,
            {"params": proposal, "source_weights": _weights(self._sources, rel)},
        )
        self._last_proposal = (compat.storage_of(study), compat.trial_id_of(trial), proposal)
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


def _space_key(space: dict[str, BaseDistribution], direction: StudyDirection) -> str:
    """Cache key of what is derived from the sources for one search space and direction."""
    return json.dumps([direction.name, [(n, distribution_to_json(d)) for n, d in space.items()]])


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
