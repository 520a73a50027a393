"""What a trial tells the user while it trains, and when it runs out of time.

Messages go through Optuna's logging (logger ``optuna.optuna_recipes.adapters``, a child of
Optuna's root logger): they appear beside Optuna's own "Trial 3 finished ..." lines, in its
format, and ``optuna.logging.set_verbosity(optuna.logging.WARNING)`` silences them with
Optuna's. The objective's ``verbose`` chooses which messages are made: ``0`` none, ``1`` one
line when a trial starts and one when it ends (value, best round, rounds trained, why it
stopped, seconds), ``2`` also one line every :attr:`TrialProgress.every` rounds. Rounds are
numbered from 0, as in the trial's user attr ``best_iteration`` and Optuna's pruning messages.

``timeout`` is checked after every round: a trial stops at the end of the round during which
its time ran out (so it overruns by at most one round), and completes with the best value so
far (see :class:`~optuna_recipes.adapters.BaseObjective`).

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.adapters._base.progress import TrialProgress

        trial = optuna.create_study().ask()
        progress = TrialProgress(trial, verbose=1, what="numpy, 3 folds, up to 100 rounds",
                                 metric_name="rmse", max_rounds=100, timeout=None)
        progress.started()  # [I ...] Trial 0 started: numpy, 3 folds, up to 100 rounds
"""

from __future__ import annotations

import time
from typing import Any

import optuna

LOGGER_NAME = "optuna.optuna_recipes.adapters"
#: Lines a ``verbose=2`` trial logs over ``max_rounds`` rounds (about; one every few rounds).
PROGRESS_LINES = 10


def _logger() -> Any:
    return optuna.logging.get_logger(LOGGER_NAME)


class TrialProgress:
    """Logs a trial's start, every few rounds and its end; knows its deadline.

    Args:
        trial: The trial (``None``: nothing is logged, e.g. ``evaluate``).
        verbose: ``0``, ``1`` or ``2`` (see the module docstring).
        what: What trains, for the start line (library, folds, rounds, threads).
        metric_name: The validation metric's name.
        max_rounds: The cap on rounds (sets :attr:`every`).
        timeout: Seconds the trial may train, or ``None``.
    """

    def __init__(
        self,
        trial: Any,
        *,
        verbose: int,
        what: str,
        metric_name: str,
        max_rounds: int,
        timeout: float | None,
    ) -> None:
        self.number = getattr(trial, "number", None)
        self.verbose = verbose if self.number is not None else 0
        self.what = what
        self.metric_name = metric_name
        self.max_rounds = max_rounds
        self.every = max(1, max_rounds // PROGRESS_LINES)
        self.start = time.monotonic()
        self.deadline = None if timeout is None else self.start + timeout

    @property
    def elapsed(self) -> float:
        """Seconds since the trial started."""
        return time.monotonic() - self.start

    def out_of_time(self) -> bool:
        """Whether the trial's ``timeout`` has passed."""
        return self.deadline is not None and time.monotonic() >= self.deadline

    def started(self) -> None:
        if self.verbose >= 1:
            _logger().info(f"Trial {self.number} started: {self.what}.")

    def round(self, round_: int, value: float, best_value: float, best_round: int) -> None:
        """After round ``round_`` (0-based) with fold-mean ``value``."""
        if self.verbose >= 2 and (round_ + 1) % self.every == 0:
            _logger().info(
                f"Trial {self.number} after {round_ + 1}/{self.max_rounds} rounds: "
                f"{self.metric_name}={value:.6g} (best {best_value:.6g} at round {best_round}), "
                f"{self.elapsed:.1f} s."
            )

    def ended(self, best_value: float, best_round: int, rounds: int, why: str) -> None:
        """The trial completed after ``rounds`` rounds; ``why`` it stopped."""
        if self.verbose >= 1:
            _logger().info(
                f"Trial {self.number} done in {self.elapsed:.1f} s: {self.metric_name}="
                f"{best_value:.6g} at round {best_round}, {rounds} rounds trained ({why})."
            )

    def pruned(self, best_value: float, best_round: int, rounds: int) -> None:
        if self.verbose >= 1:
            _logger().info(
                f"Trial {self.number} pruned after {rounds} rounds, {self.elapsed:.1f} s: best "
                f"{self.metric_name}={best_value:.6g} at round {best_round}."
            )

    def failed(self, reason: str) -> None:
        if self.verbose >= 1:
            _logger().info(f"Trial {self.number} failed after {self.elapsed:.1f} s: {reason}")
