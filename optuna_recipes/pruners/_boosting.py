"""Pruning for training loops that report every round, and the step protocol they use.

The step protocol
-----------------
Optuna's ``Trial.should_prune`` costs more the more steps a trial has reported (the median
rule walks them to find its interval, then computes percentiles over the other trials), which
is a noticeable share of a round when a loop reports every boosting round or epoch. A pruner
that knows at which steps it can prune at all may say so with one method::

    def decides_at(self, step: int) -> bool: ...

``False`` promises that :meth:`~optuna.pruners.BasePruner.prune` returns ``False`` at ``step``
when steps are reported one by one from 0. Loops that report every round (the objective
adapters' round loop) then call ``should_prune`` only at steps where ``decides_at`` is
``True``, and still report every step. Any pruner with such a method is treated this way
(duck typing: :class:`StepDecider` describes it, no base class is needed); other pruners are
asked at every step, and a ``NopPruner`` never. :func:`decision_rule` is what such a loop
calls.

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.pruners import boosting_pruner

        pruner = boosting_pruner(300)  # a MedianPruner that decides every 5 rounds from 30
        [step for step in range(40) if pruner.decides_at(step)]  # [30, 35]
        study = optuna.create_study(pruner=pruner)
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Protocol
from typing import runtime_checkable

import optuna

from optuna_recipes._validation import check_int


@runtime_checkable
class StepDecider(Protocol):
    """A pruner that says at which steps it can prune (see the module docstring).

    Example:
        .. code-block:: python

            import optuna


            class EveryTenSteps(optuna.pruners.BasePruner):  # needs no base class of ours
                def decides_at(self, step: int) -> bool:
                    return step % 10 == 9

                def prune(self, study, trial) -> bool:
                    return trial.last_step % 10 == 9 and trial.intermediate_values[
                        trial.last_step
                    ] > 1.0
    """

    def decides_at(self, step: int) -> bool:
        """``False`` when ``prune`` certainly returns ``False`` at ``step``."""
        ...


def _always(step: int) -> bool:
    return True


def _never(step: int) -> bool:
    return False


def decision_rule(pruner: object) -> Callable[[int], bool]:
    """``rule(step)``: whether a loop reporting every step should call ``should_prune`` at it.

    ``pruner.decides_at`` for a pruner that has it (the step protocol), never for a
    ``NopPruner``, always for any other pruner, and always when there is no pruner to look at
    (``None``, e.g. the trial is an ``optuna.trial.FixedTrial``).
    """
    if type(pruner) is optuna.pruners.NopPruner:
        return _never
    decides_at = getattr(pruner, "decides_at", None)
    return decides_at if callable(decides_at) else _always


class BoostingPruner(optuna.pruners.MedianPruner):
    """A :class:`optuna.pruners.MedianPruner` that tells training loops when it can decide.

    It prunes exactly like ``MedianPruner(n_startup_trials, n_warmup_steps, interval_steps)``.
    :meth:`decides_at` (the step protocol of this module) says whether :meth:`prune` can return
    ``True`` at a step when every step is reported, as the objective adapters do: on the other
    steps they skip ``trial.should_prune``, whose cost grows with the rounds and the trials.
    Build it with :func:`boosting_pruner` (or ``objective.recommended_pruner()``); see the README
    section "Tuned XGBoost and LightGBM models in one call".

    Example:
        .. code-block:: python

            import optuna
            from sklearn.datasets import load_breast_cancer
            from optuna_recipes.adapters.xgboost import XGBoostObjective

            X, y = load_breast_cancer(return_X_y=True)
            objective = XGBoostObjective(X, y, num_boost_round=100, n_jobs=1)
            study = optuna.create_study(
                direction=objective.direction, pruner=objective.recommended_pruner()
            )
            study.optimize(objective, n_trials=10)

    Args:
        n_startup_trials: Trials that must finish before any is pruned (``>= 0``).
        n_warmup_steps: Steps of a trial before it can be pruned (``>= 0``).
        interval_steps: Steps between decisions after the warm-up (``>= 1``).
    """

    def __init__(self, n_startup_trials: int, n_warmup_steps: int, interval_steps: int) -> None:
        super().__init__(
            n_startup_trials=n_startup_trials,
            n_warmup_steps=n_warmup_steps,
            interval_steps=interval_steps,
        )
        self.n_startup_trials = n_startup_trials
        self.n_warmup_steps = n_warmup_steps
        self.interval_steps = interval_steps

    def decides_at(self, step: int) -> bool:
        """``False`` when :meth:`prune` certainly returns ``False`` at ``step`` (steps reported
        one by one from 0): before the warm-up and between the interval's decision steps."""
        offset = step - self.n_warmup_steps
        return offset >= 0 and offset % self.interval_steps == 0


def boosting_pruner(max_rounds: int) -> BoostingPruner:
    """The pruner recommended with the boosting objectives, for a cap of ``max_rounds`` rounds.

    A :class:`BoostingPruner`, i.e. ``MedianPruner(n_startup_trials=5,
    n_warmup_steps=max(10, max_rounds // 10), interval_steps=max(1, max_rounds // 60))``:

    - No decision before 5 trials have finished, nor in the first ``max(10, max_rounds // 10)``
      rounds of a trial. The configurations that end best are often slow learners (small
      learning rates, strong regularisation) that are behind the median in the early rounds;
      a long warm-up keeps them.
    - A decision every ``max(1, max_rounds // 60)`` rounds only, and the objectives do not call
      ``should_prune`` in between (the objective still reports every round), so that asking
      the pruner does not cost as much as the boosting rounds it saves.

    The README section "Tuned XGBoost and LightGBM models in one call" gives the measurements
    behind these settings. Pass it to ``optuna.create_study(pruner=...)``; any other Optuna
    pruner works too.

    Example:
        .. code-block:: python

            from optuna_recipes.pruners import boosting_pruner

            pruner = boosting_pruner(1000)  # warm-up 100 rounds, a decision every 16
    """
    rounds = check_int("max_rounds", max_rounds, minimum=1)
    return BoostingPruner(
        n_startup_trials=5,
        n_warmup_steps=max(10, rounds // 10),
        interval_steps=max(1, rounds // 60),
    )
