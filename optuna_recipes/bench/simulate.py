"""Simulated asynchronous parallel workers: N virtual workers in virtual time, no real waiting.

How a sampler degrades with 8 or 64 workers is a question about *order*: which results it has
seen, and which trials are still running, when it is asked for the next configuration. On cheap
(recorded or synthetic) problems that order can be replayed exactly without the workers, as Syne
Tune's simulated backend and OptunaHub's ``async_opt_simulator`` (mfhpo-simulator) do for
tabular benchmarks. :func:`simulate_optimize` does it for any Optuna objective and any sampler or
pruner, unchanged:

- ``n_workers`` virtual workers share one virtual clock. Whenever a worker is free it asks the
  study for a trial (``study.ask``); the trial then occupies the worker for its simulated cost,
  and its result is told to the study (``study.tell``) only when that cost has elapsed. Until
  then the trial is ``RUNNING`` in the storage, exactly as under real workers, so samplers that
  look at running trials (TPE's constant liar, the GA's steady state) see what they would see.
- Each in-flight trial's objective runs as a greenlet (a coroutine of the ``greenlet`` package,
  in the caller's thread), so only one runs at a time and passing control between them is a
  coroutine switch, far cheaper than a hand-off between threads: ``trial.report(value, step)``
  suspends the
  objective until the event loop has advanced the virtual clock to the time that step is
  reached, then writes the intermediate value; ``trial.should_prune()`` right after it therefore
  sees exactly the steps every other trial has reached by then. Pruning decisions, and the
  number of steps a pruned trial trains, are those of real asynchronous workers with these
  costs. Per-thread state is shared by all trials' objectives, as it is not between real
  workers' threads; PyTorch's grad mode is kept per trial (a trial that reports inside
  ``torch.no_grad()`` does not turn gradients off in the others), other per-thread settings
  held across a ``report`` call are not.
- A discrete-event loop (a heap keyed by ``(time, phase, worker)``) is the only caller of
  ``ask`` and ``tell``. At equal times, results (steps reached, trials ending) come before asks,
  and lower worker ids first: a trial finishing at ``t`` is visible to a trial asked at ``t``.
  An objective whose next step is earlier than every pending event goes on without a hand-over
  (nothing else can happen in between), so one worker costs about what ``study.optimize`` does;
  otherwise control passes straight to the objective of the trial whose step is next, and the
  loop itself resumes only to ask for trials and to tell ended ones (one switch per step, not
  two).
  Under a ``NopPruner`` no decision depends on when an intermediate value is written, so a
  trial's objective runs to its end without waiting at its steps (its result is still told only
  at its simulated end): many workers then cost about what one does in real time.
- The event order, and hence the trial sequence for a seeded sampler, is a pure function of the
  inputs: there is no randomness here and no real time in the clock. The time spent inside the
  sampler is not added to the clock (mfhpo-simulator can add it; it would make runs
  irreproducible); report it separately.

Cost model (:data:`CostFunction`): ``cost(params, steps)`` is the simulated seconds from a
trial's start until it has trained ``steps`` steps (``steps = step + 1`` when step ``step`` is
reported); ``steps=None`` asks for the whole trial of an objective that reports no steps. A trial
that reports steps ends at its last reported step's time (a pruned trial has then paid only for
the steps it trained); one that reports none ends ``cost(params, None)`` after its start. A trial
that fails, or is pruned before reporting, ends at its last reported step (at its start if none):
a crash costs what was trained before it. Defaults: :func:`unit_cost` (one time unit per step,
one per trial without steps); :func:`cost_model_for` a benchmark problem uses the problem's
``cost(params)`` (simulated seconds of a whole trial, e.g. the recorded training time of that
configuration) scaled linearly by the steps trained, when the problem has one.

Each told trial gets the system attribute :data:`SIM_ATTR` (``{"worker", "start", "end"}``), so
the results table can be built from the stored trials (:func:`read_events`).

Example:
    .. code-block:: python

        import optuna
        from optuna_recipes.bench.simulate import simulate_optimize


        def objective(trial):
            x = trial.suggest_float("x", -5, 5)
            for step in range(10):
                trial.report((x - 1) ** 2 + 1 / (step + 1), step)
                if trial.should_prune():
                    raise optuna.TrialPruned()
            return (x - 1) ** 2


        study = optuna.create_study(pruner=optuna.pruners.MedianPruner())
        events = simulate_optimize(study, objective, n_trials=100, n_workers=8)
        print(max(e.end for e in events))  # simulated makespan, in cost units
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterable
from collections.abc import Mapping
from collections.abc import Sequence
from dataclasses import dataclass
import heapq
import logging
import math
import sys
from typing import Any

import optuna
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from optuna_recipes import _optuna_compat as compat
from optuna_recipes._validation import check_int

CostFunction = Callable[[Mapping[str, Any], "int | None"], float]
"""``cost(params, steps) -> simulated seconds`` (see the module docstring)."""

SIM_ATTR = "optuna_recipes.simulate:event"
"""Trial system attribute written by :func:`simulate_optimize`: worker, start and end times."""

_RESULT, _ASK = 0, 1  # event phases: at equal times, results are told before new trials start
_RUN_KEY = "_optuna_recipes_simulated_run"
_logger = logging.getLogger(__name__)


def unit_cost(params: Mapping[str, Any], steps: int | None) -> float:
    """The default cost model: one time unit per step, one per trial that reports no steps.

    Example:
        .. code-block:: python

            from optuna_recipes.bench.simulate import unit_cost

            unit_cost({"x": 0.5}, None), unit_cost({"x": 0.5}, 10)  # (1.0, 10.0)
    """
    return 1.0 if steps is None else float(steps)


class ScaledCost:
    """Cost of a whole trial, scaled linearly by the steps trained (pruned trials pay less).

    ``trial_cost(params)`` gives the simulated seconds of a whole trial, ``n_steps`` steps long;
    a trial stopped after ``k`` steps costs ``k / n_steps`` of it. Recorded problems provide
    the recorded training seconds of a configuration this way. The simulator asks for the cost
    at every step, so ``trial_cost`` is remembered per configuration (the last 4096).

    Example:
        .. code-block:: python

            from optuna_recipes.bench.simulate import ScaledCost

            cost = ScaledCost(lambda params: 10.0 * params["depth"], n_steps=100)
            cost({"depth": 3}, 50)  # 15.0: half of a 30 s trial

    Args:
        trial_cost: ``trial_cost(params) -> float``, simulated seconds of a whole trial.
        n_steps: Steps of a whole trial, or ``None`` when the objective reports no steps.
    """

    def __init__(
        self, trial_cost: Callable[[Mapping[str, Any]], float], n_steps: int | None = None
    ) -> None:
        if not callable(trial_cost):
            raise ValueError(f"`trial_cost` must be callable; got {trial_cost!r}.")
        self.trial_cost = trial_cost
        self.n_steps = check_int("n_steps", n_steps, minimum=1, allow_none=True)
        self._seen: dict[tuple[tuple[str, Any], ...], float] = {}

    def __call__(self, params: Mapping[str, Any], steps: int | None) -> float:
        key = tuple(sorted(params.items()))
        full = self._seen.get(key)
        if full is None:
            if len(self._seen) >= 4096:
                self._seen.clear()
            full = self._seen[key] = float(self.trial_cost(params))
        if steps is None or self.n_steps is None:
            return full
        return full * steps / self.n_steps

    def __repr__(self) -> str:
        return f"ScaledCost({self.trial_cost!r}, n_steps={self.n_steps})"


def cost_model_for(problem: Any) -> CostFunction:
    """The cost model of a benchmark problem.

    A problem with a ``cost(params) -> float`` method (simulated seconds of a whole trial) gets
    :class:`ScaledCost` of it over its ``n_steps``; a problem with ``seconds(params)`` (the
    recorded training seconds of a whole trial, as
    :class:`~optuna_recipes.bench.problems.recorded.RecordedProblem` has) gets the same of that;
    any other problem gets :func:`unit_cost`.

    Example:
        .. code-block:: python

            from optuna_recipes.bench.problems import FunctionProblem
            from optuna_recipes.bench.simulate import cost_model_for

            cost = cost_model_for(FunctionProblem(lambda t: t.suggest_float("x", 0, 1)))
            cost({"x": 0.3}, None)  # 1.0 (unit cost)
    """
    trial_cost = getattr(problem, "cost", None)
    if not callable(trial_cost):
        trial_cost = getattr(problem, "seconds", None)
    if callable(trial_cost):
        return ScaledCost(trial_cost, getattr(problem, "n_steps", None))
    return unit_cost


@dataclass(frozen=True)
class SimEvent:
    """One simulated trial: which virtual worker ran it, and when (simulated seconds).

    Attributes:
        trial: The trial's number in the study.
        worker: Virtual worker id, ``0 .. n_workers - 1``.
        start: Simulated time at which the trial was asked.
        end: Simulated time at which its result was told (``end - start`` is its cost).
        state: Final state name (``"COMPLETE"``, ``"PRUNED"`` or ``"FAIL"``).
        steps: Steps reached (largest reported step + 1; 0 when none was reported).
        error: ``repr`` of the objective's exception for a failed trial, else ``None``.
    """

    trial: int
    worker: int
    start: float
    end: float
    state: str
    steps: int = 0
    error: str | None = None


def read_events(trials: Iterable[FrozenTrial]) -> list[SimEvent]:
    """Rebuild the :class:`SimEvent` list from stored trials (those with :data:`SIM_ATTR`).

    Sorted by end time, then worker: the order in which they were told.

    Example:
        .. code-block:: python

            from optuna_recipes.bench.simulate import read_events

            events = read_events(study.get_trials(deepcopy=False))
    """
    events = []
    for t in trials:
        attr = t.system_attrs.get(SIM_ATTR)
        if attr is None or not t.state.is_finished():
            continue
        steps = (max(t.intermediate_values) + 1) if t.intermediate_values else 0
        events.append(
            SimEvent(t.number, attr["worker"], attr["start"], attr["end"], t.state.name, steps)
        )
    return sorted(events, key=lambda e: (e.end, e.worker))


class _Aborted(BaseException):
    """Unwinds a trial's objective when the simulation stops (not an ``Exception``)."""


def _greenlet_type() -> type[Any]:
    """``greenlet.greenlet``, or an ImportError that says how to install it."""
    try:
        from greenlet import greenlet
    except ImportError as err:
        raise ImportError(
            "Simulated workers under a pruner run each trial's objective as a greenlet: "
            "install the `greenlet` package (pip install 'optuna-recipes[bench]' or "
            "pip install greenlet)."
        ) from err
    return greenlet


def _switch(target: Any) -> None:
    """Pass control to greenlet ``target``; when control comes back, restore the caller's
    per-thread state that all greenlets of the thread share and a trial may have changed:
    PyTorch's grad mode (a trial that reports inside ``torch.no_grad()`` must not turn off
    gradients in the others)."""
    torch = sys.modules.get("torch")
    grad = torch.is_grad_enabled() if torch is not None else None
    target.switch()
    if grad is not None and torch is not None and torch.is_grad_enabled() != grad:
        torch.set_grad_enabled(grad)


class _SimulatedTrial(optuna.Trial):
    """The trial an objective sees: the live ``optuna.Trial`` whose ``report`` waits.

    It shares the asked trial's instance dictionary, so it is the same trial (no second
    sampling, same cached state) and passes ``isinstance(trial, optuna.Trial)``; only
    :meth:`report` differs: it first lets the virtual clock reach the step.
    """

    def __init__(self, trial: optuna.Trial, run: _TrialRun) -> None:
        self.__dict__ = trial.__dict__
        self.__dict__[_RUN_KEY] = run

    def report(self, value: float, step: int) -> None:
        try:
            reached = int(step)
        except (TypeError, ValueError):
            reached = -1  # Optuna's report raises the error that names the problem
        if reached >= 0:
            self.__dict__[_RUN_KEY].reach(reached)
        super().report(value, step)


class _TrialRun:
    """One in-flight trial: its worker, its simulated times and its objective's greenlet."""

    def __init__(self, loop: _EventLoop, trial: optuna.Trial, worker: int) -> None:
        self.loop = loop
        self.trial = trial
        self.worker = worker
        self.start = self.time = loop.clock
        self.steps = 0
        self.finished = False
        self.state = TrialState.FAIL
        self.value: Any = None
        self.error: BaseException | None = None
        self.fatal: BaseException | None = None
        # Made by the loop's greenlet, which is its parent: control returns there when the
        # objective ends. None in free-running mode (the objective runs in the loop itself).
        self.glet: Any = None if loop.free_running else loop.greenlet(self._main)

    def _cost(self, steps: int | None) -> float:
        try:
            seconds = float(self.loop.cost(self.trial.params, steps))
        except Exception as err:
            self.fatal = err
            raise _Aborted from err
        if not (math.isfinite(seconds) and seconds >= 0):
            self.fatal = ValueError(
                f"`cost` must return a finite number >= 0; got {seconds!r} for trial "
                f"{self.trial.number} (params {self.trial.params}, steps {steps})."
            )
            raise _Aborted
        return self.start + seconds

    def reach(self, step: int) -> None:
        """Called in the objective: wait until ``step`` is reached in virtual time."""
        if self.loop.aborted:
            raise _Aborted
        self.steps = max(self.steps, step + 1)
        self.time = max(self.time, self._cost(step + 1))
        if self.loop.free_running:
            return
        if not self.loop.runs_next(self.time, self.worker):
            self.loop.switch(self)
            if self.loop.aborted:
                raise _Aborted
        self.loop.clock = self.time

    def resume(self) -> None:
        """Let the objective go on from its last step (or start it); returns when control
        comes back to the caller."""
        _switch(self.glet)

    def _main(self) -> None:
        try:
            self.value = self.loop.objective(_SimulatedTrial(self.trial, self))
            self.state = TrialState.COMPLETE
            if self.steps == 0:
                self.time = self._cost(None)
        except optuna.TrialPruned:
            self.state = TrialState.PRUNED
        except _Aborted:
            pass
        except BaseException as err:  # the objective failed: the trial fails, the study goes on
            self.state, self.error = TrialState.FAIL, err
        self.finished = True
        if not self.loop.aborted and self.fatal is None:
            heapq.heappush(self.loop.heap, (self.time, _RESULT, self.worker))
        self.loop.last = self
        # Returning passes control to the parent: the loop's greenlet.


class _EventLoop:
    """The discrete-event loop: the only caller of ``ask`` and ``tell``."""

    def __init__(
        self,
        study: optuna.Study,
        objective: Callable[[optuna.Trial], Any],
        cost: CostFunction,
        catch: tuple[type[Exception], ...],
        callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]],
    ) -> None:
        self.study, self.objective, self.cost = study, objective, cost
        self.catch, self.callbacks = catch, callbacks
        self.clock = 0.0
        self.aborted = False
        # Without pruning nothing reads intermediate values: objectives need not wait at steps.
        self.free_running = isinstance(study.pruner, optuna.pruners.NopPruner)
        # greenlet.greenlet, and the greenlet that runs the loop (the caller's); set by run().
        self.greenlet: Any = None
        self.home: Any = None
        self.heap: list[tuple[float, int, int]] = []
        self.running: dict[int, _TrialRun] = {}
        self.events: list[SimEvent] = []
        # The trial that last gave control back to the loop's own greenlet.
        self.last: _TrialRun | None = None

    def runs_next(self, time: float, worker: int) -> bool:
        """Whether a result of ``worker`` at ``time`` precedes every pending event."""
        return not self.heap or (time, _RESULT, worker) < self.heap[0]

    def switch(self, run: _TrialRun) -> None:
        """Called in ``run``'s objective, which holds control and waits for a later time:
        queue its next step and pass control on; returns when ``run`` is resumed. When the
        next event is a step of another in-flight trial, that trial goes on directly (one
        switch per step instead of two through the loop); asks and ended trials go back to
        the loop's greenlet. The order of the events is the heap's either way."""
        heapq.heappush(self.heap, (run.time, _RESULT, run.worker))
        time, phase, worker = self.heap[0]
        after = self.running.get(worker) if phase == _RESULT else None
        if after is not None and after is not run and not after.finished:
            heapq.heappop(self.heap)
            self.clock = time
            after.resume()
            return
        self.last = run
        _switch(self.home)

    def _wait(self) -> None:
        """Called when control is back in the loop's greenlet: raise a trial's cost error."""
        if self.last is not None and self.last.fatal is not None:
            raise self.last.fatal

    def run(self, n_trials: int, n_workers: int) -> list[SimEvent]:
        if not self.free_running:
            self.greenlet = _greenlet_type()
            self.home = self.greenlet.getcurrent()
        self.heap = [(0.0, _ASK, w) for w in range(n_workers)]
        asked = 0
        while self.heap:
            self.clock, phase, worker = heapq.heappop(self.heap)
            if phase == _ASK:
                if asked < n_trials:
                    asked += 1
                    self._start(worker)
                continue
            run = self.running[worker]
            if run.finished:
                self._finish(run)
                heapq.heappush(self.heap, (self.clock, _ASK, worker))
            else:
                run.resume()
                self._wait()
        return self.events

    def _start(self, worker: int) -> None:
        run = _TrialRun(self, self.study.ask(), worker)
        self.running[worker] = run
        if self.free_running:
            run._main()  # it never waits: it runs to its end here
        else:
            run.resume()
        self._wait()

    def _finish(self, run: _TrialRun) -> None:
        times = {"worker": run.worker, "start": run.start, "end": run.time}
        compat.set_trial_system_attr(self.study, run.trial, SIM_ATTR, times)
        if run.state == TrialState.COMPLETE:
            frozen = self.study.tell(run.trial, run.value)
        else:
            frozen = self.study.tell(run.trial, state=run.state)
        del self.running[run.worker]
        error = None if run.error is None else repr(run.error)
        if error is not None:
            _logger.warning("Trial %d failed: %s", run.trial.number, error)
        self.events.append(
            SimEvent(
                run.trial.number,
                run.worker,
                run.start,
                run.time,
                frozen.state.name,
                run.steps,
                error,
            )
        )
        for callback in self.callbacks:
            callback(self.study, frozen)
        if run.error is not None and not isinstance(run.error, self.catch):
            raise run.error

    def abort(self) -> None:
        """Stop every in-flight trial (its objective unwinds) and mark it failed."""
        self.aborted = True
        for run in self.running.values():
            if run.glet is not None and not run.glet.dead:
                run.resume()  # its next report raises _Aborted, up to the objective's end
        for run in self.running.values():
            try:
                self.study.tell(run.trial, state=TrialState.FAIL, skip_if_finished=True)
            except Exception:  # the storage itself may be what broke
                _logger.exception("Could not mark trial %d failed.", run.trial.number)
        self.running.clear()


def simulate_optimize(
    study: optuna.Study,
    objective: Callable[[optuna.Trial], Any],
    n_trials: int,
    n_workers: int,
    *,
    cost: CostFunction = unit_cost,
    catch: tuple[type[Exception], ...] = (Exception,),
    callbacks: Sequence[Callable[[optuna.Study, FrozenTrial], None]] = (),
) -> list[SimEvent]:
    """Optimize ``study`` as ``n_workers`` asynchronous workers would, in simulated time.

    See the module docstring for the event order, the cost model and what samplers and pruners
    see. Nothing waits in real time; the real cost is that of the sampler and the objective.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.bench.simulate import simulate_optimize

            study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=0))
            events = simulate_optimize(
                study,
                lambda t: t.suggest_float("x", -1, 1) ** 2,
                n_trials=64,
                n_workers=8,
                cost=lambda params, steps: 1.0 + abs(params["x"]),
            )

    Args:
        study: The study; its sampler, pruner and storage are used as they are.
        objective: ``objective(trial) -> value``, as for ``study.optimize``.
        n_trials: Number of trials to ask (in all workers together).
        n_workers: Number of virtual workers (1: sequential, the same trials as
            ``study.optimize`` for a seeded sampler).
        cost: ``cost(params, steps) -> simulated seconds``; default :func:`unit_cost`.
        catch: Exceptions of the objective that only fail their trial; any other exception
            fails its trial, stops the simulation (the other running trials are marked failed)
            and is raised. Default: every ``Exception``.
        callbacks: Called as ``callback(study, frozen_trial)`` after each trial is told.

    Returns:
        One :class:`SimEvent` per told trial, in the order they were told.
    """
    check_int("n_trials", n_trials, minimum=0)
    check_int("n_workers", n_workers, minimum=1)
    if not callable(objective):
        raise ValueError(f"`objective` must be callable; got {objective!r}.")
    if not callable(cost):
        raise ValueError(f"`cost` must be callable `cost(params, steps)`; got {cost!r}.")
    loop = _EventLoop(study, objective, cost, tuple(catch), list(callbacks))
    try:
        return loop.run(n_trials, n_workers)
    finally:
        if loop.running:
            loop.abort()
