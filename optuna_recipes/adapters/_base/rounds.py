"""The per-round loop: report the fold-mean metric, track the best round, stop early, prune.

Folds are trained in lockstep, so every round has one value per fold; their mean is what the
trial sees. Reporting the mean (rather than each fold's curve in turn) lets any Optuna pruner
act on every fold, not only the first. The trial attributes written here are public: they are
documented on :class:`~optuna_recipes.adapters.BaseObjective`.

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.adapters._base.rounds import RoundTracker

        study = optuna.create_study()
        trial = study.ask()
        tracker = RoundTracker(trial, maximize=False, early_stopping_rounds=2, metric_name="mse")
        for round_, values in enumerate([[3.0, 2.0], [2.0, 1.0], [2.5, 1.5], [2.6, 1.6]]):
            if tracker.update(round_, values):
                break
        tracker.best_round, tracker.best_value  # 1, 1.5
"""

from __future__ import annotations

from collections.abc import Sequence
import math

import optuna

from optuna_recipes.adapters._base.progress import TrialProgress
from optuna_recipes.pruners._boosting import decision_rule

# Trial user attrs written by the round loop (public: documented in BaseObjective).
ATTR_BEST_ITERATION = "best_iteration"
ATTR_N_ROUNDS = "n_rounds"
ATTR_FOLD_SCORES = "fold_scores"
ATTR_BEST_VALUE = "best_value"
ATTR_METRIC = "metric"
ATTR_FAIL_REASON = "fail_reason"
ATTR_TIMED_OUT = "timed_out"


class RoundTracker:
    """Reports the fold-mean metric of each round, tracks the best round, stops and prunes.

    ``update(round, fold_values)`` reports the mean to the trial (``trial.report``), asks the
    pruner, and returns ``True`` when training should stop: early stopping, or the trial's
    ``timeout`` passed (``progress``, a :class:`~._base.progress.TrialProgress`, also logs).
    Before raising :class:`optuna.TrialPruned` it records the best value so far, its round and
    the per-fold scores in the trial's user attrs (a pruned trial's own value is the last
    reported one).

    The pruner is asked through the step protocol of :mod:`optuna_recipes.pruners._boosting`:
    only at the steps where a pruner with ``decides_at`` can decide, never for a
    ``NopPruner`` (the values are still reported), and at every step otherwise. A trial
    without a study (``FixedTrial``) is asked at every step.

    Example:
        .. code-block:: python

            from optuna_recipes.adapters._base.rounds import RoundTracker

            tracker = RoundTracker(
                None, maximize=True, early_stopping_rounds=None, metric_name="auc"
            )
            tracker.update(0, [0.8, 0.9])  # False: keep training
            tracker.best_value  # 0.85
    """

    def __init__(
        self,
        trial: optuna.Trial | None,
        *,
        maximize: bool,
        early_stopping_rounds: int | None,
        metric_name: str,
        progress: TrialProgress | None = None,
    ) -> None:
        self.trial = trial
        self.progress = progress
        self.timed_out = False
        self.stopped_early = False
        self.maximize = maximize
        self.early_stopping_rounds = early_stopping_rounds
        self.metric_name = metric_name
        self.best_value = math.nan
        self.best_round = -1
        self.best_fold_values: list[float] = []
        self.rounds_done = 0
        pruner = getattr(getattr(trial, "study", None), "pruner", None)
        self._asks_at = decision_rule(pruner)

    def _better(self, value: float) -> bool:
        if self.best_round < 0:
            return True
        return value > self.best_value if self.maximize else value < self.best_value

    def update(self, round_: int, fold_values: Sequence[float]) -> bool:
        """Record round ``round_`` (0-based); ``True`` when training should stop early."""
        values = [float(v) for v in fold_values]
        # Plain Python: np.mean costs more per call than a small boosting round can spare.
        mean = math.fsum(values) / len(values)
        if not math.isfinite(mean):
            raise FloatingPointError(
                f"validation {self.metric_name} is {mean} at round {round_} (fold values "
                f"{values}); training diverged."
            )
        self.rounds_done = round_ + 1
        if self._better(mean):
            self.best_value, self.best_round, self.best_fold_values = mean, round_, values
        if self.trial is not None:
            self.trial.report(mean, round_)
            if self._asks_at(round_) and self.trial.should_prune():
                self.record()
                raise optuna.TrialPruned(
                    f"pruned at round {round_}: {self.metric_name}={mean:.6g}, best "
                    f"{self.best_value:.6g} at round {self.best_round}"
                )
        esr = self.early_stopping_rounds
        self.stopped_early = esr is not None and round_ - self.best_round >= esr
        if self.progress is not None:
            self.progress.round(round_, mean, self.best_value, self.best_round)
            self.timed_out = not self.stopped_early and self.progress.out_of_time()
        return self.stopped_early or self.timed_out

    @property
    def stop_reason(self) -> str:
        """Why training stopped: ``"stopped early"``, ``"timed out"`` or ``"all rounds"``."""
        if self.stopped_early:
            return "stopped early"
        return "timed out" if self.timed_out else "all rounds"

    def record(self) -> None:
        """Write the best round, its value and fold scores to the trial's user attrs."""
        if self.trial is None:
            return
        self.trial.set_user_attr(ATTR_METRIC, self.metric_name)
        self.trial.set_user_attr(ATTR_BEST_ITERATION, self.best_round)
        self.trial.set_user_attr(ATTR_BEST_VALUE, self.best_value)
        self.trial.set_user_attr(ATTR_N_ROUNDS, self.rounds_done)
        self.trial.set_user_attr(ATTR_FOLD_SCORES, self.best_fold_values)
        if self.progress is not None and self.progress.deadline is not None:
            self.trial.set_user_attr(ATTR_TIMED_OUT, self.timed_out)
