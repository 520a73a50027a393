"""The sampler timing wrapper: how long a run spends inside its sampler and its objective.

The runner wraps every strategy's sampler in :class:`TimedSampler` and its objective in
:meth:`TimedSampler.wrap`; the per-trial seconds become the ``sampler_time`` and
``objective_time`` columns of ``results.csv``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Sequence
import math
import time
from typing import Any

import optuna
from optuna.distributions import BaseDistribution
from optuna.samplers import BaseSampler
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from optuna_recipes import _optuna_compat as compat


class TimedSampler(BaseSampler):
    """Wrap a sampler and measure the time spent inside it for each trial.

    Every call (``infer_relative_search_space``, ``sample_relative``, ``sample_independent``,
    ``before_trial``, ``after_trial``) is delegated to ``sampler`` and timed; in ``after_trial``
    the total, and the objective time measured by :meth:`wrap`, go to :attr:`times` (trial
    number -> ``{"sampler": s, "objective": s}``). The runner stores them in the study once the
    run is over (system attribute ``optuna_recipes.bench:times``): a run cut short is redone
    anyway, and one write per run instead of one per trial keeps the harness's cost low.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.timing import TimedSampler

            timed = TimedSampler(optuna.samplers.TPESampler(seed=0))
            study = optuna.create_study(sampler=timed)
            study.optimize(timed.wrap(lambda t: t.suggest_float("x", 0, 1) ** 2), n_trials=5)
            print(timed.times[4])  # {'sampler': ..., 'objective': ...}

    Args:
        sampler: The sampler to measure.
    """

    def __init__(self, sampler: BaseSampler) -> None:
        self.sampler = sampler
        self._sampler_s: dict[int, float] = {}
        self._objective_s: dict[int, float] = {}
        self.times: dict[int, dict[str, float]] = {}
        self.errors: list[str] = []

    def _timed(self, trial_id: int, fn: Callable[..., Any], *args: Any) -> Any:
        start = time.perf_counter()
        try:
            return fn(*args)
        except Exception as err:
            self.errors.append(f"{type(err).__name__}: {err}")
            raise
        finally:
            elapsed = time.perf_counter() - start
            self._sampler_s[trial_id] = self._sampler_s.get(trial_id, 0.0) + elapsed

    def infer_relative_search_space(
        self, study: optuna.Study, trial: FrozenTrial
    ) -> dict[str, BaseDistribution]:
        return self._timed(
            compat.trial_id_of(trial), self.sampler.infer_relative_search_space, study, trial
        )

    def sample_relative(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        search_space: dict[str, BaseDistribution],
    ) -> dict[str, Any]:
        return self._timed(
            compat.trial_id_of(trial), self.sampler.sample_relative, study, trial, search_space
        )

    def sample_independent(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        param_name: str,
        param_distribution: BaseDistribution,
    ) -> Any:
        return self._timed(
            compat.trial_id_of(trial),
            self.sampler.sample_independent,
            study,
            trial,
            param_name,
            param_distribution,
        )

    def before_trial(self, study: optuna.Study, trial: FrozenTrial) -> None:
        self._timed(compat.trial_id_of(trial), self.sampler.before_trial, study, trial)

    def after_trial(
        self,
        study: optuna.Study,
        trial: FrozenTrial,
        state: TrialState,
        values: Sequence[float] | None,
    ) -> None:
        self._timed(
            compat.trial_id_of(trial), self.sampler.after_trial, study, trial, state, values
        )
        times = {
            "sampler": self._sampler_s.pop(compat.trial_id_of(trial), 0.0),
            "objective": self._objective_s.pop(compat.trial_id_of(trial), math.nan),
        }
        if math.isnan(times["objective"]):
            times.pop("objective")
        self.times[trial.number] = times

    def reseed_rng(self) -> None:
        self.sampler.reseed_rng()

    def wrap(self, objective: Callable[[optuna.Trial], float]) -> Callable[[optuna.Trial], float]:
        """The objective, timed (sampler time spent in ``suggest_*`` calls is subtracted)."""

        def timed_objective(trial: optuna.Trial) -> float:
            trial_id = compat.trial_id_of(trial)
            before = self._sampler_s.get(trial_id, 0.0)
            start = time.perf_counter()
            try:
                return objective(trial)
            finally:
                elapsed = time.perf_counter() - start
                inside = self._sampler_s.get(trial_id, 0.0) - before
                self._objective_s[trial_id] = max(elapsed - inside, 0.0)

        return timed_objective
