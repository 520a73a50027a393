"""Simulated asynchronous workers: event order, visibility, pruning in simulated time, failures."""

from __future__ import annotations

from collections.abc import Sequence
import gc
from typing import Any

import greenlet
import optuna
from optuna.trial import TrialState
import pytest

from optuna_recipes.bench.problems import FunctionProblem
from optuna_recipes.bench.simulate import SIM_ATTR
from optuna_recipes.bench.simulate import ScaledCost
from optuna_recipes.bench.simulate import SimEvent
from optuna_recipes.bench.simulate import cost_model_for
from optuna_recipes.bench.simulate import read_events
from optuna_recipes.bench.simulate import simulate_optimize
from optuna_recipes.bench.simulate import unit_cost


def _table_study(costs: Sequence[float], **kwargs: Any) -> optuna.Study:
    """A study whose trial ``i`` has parameter ``c = costs[i]`` (enqueued)."""
    study = optuna.create_study(**kwargs)
    for c in costs:
        study.enqueue_trial({"c": float(c)})
    return study


def _table_cost(params: Any, steps: int | None) -> float:
    """Trial cost ``c`` without steps; ``c`` per step with steps."""
    return params["c"] * (1 if steps is None else steps)


def _rows(events: Sequence[SimEvent]) -> list[tuple[int, int, float, float]]:
    return [(e.trial, e.worker, e.start, e.end) for e in events]


def _suspended_objectives() -> list[greenlet.greenlet]:
    """Greenlets (trials' objectives) that started and have not ended."""
    here = greenlet.getcurrent()
    # type(), not isinstance(): some objects' __class__ properties warn when read.
    found = [g for g in gc.get_objects() if issubclass(type(g), greenlet.greenlet)]
    return [g for g in found if g and g is not here and g.parent is not None]


def test_event_order_and_visibility_on_a_cost_table() -> None:
    # Trial 0 takes 10 units on worker 0; worker 1 runs trials 1..10 of 1 unit each meanwhile.
    study = _table_study([10] + [1] * 12)
    seen: dict[int, dict[int, tuple[str, float | None]]] = {}

    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("c", 0, 100)
        seen[trial.number] = {
            t.number: (t.state.name, t.value) for t in trial.study.get_trials(deepcopy=False)
        }
        return c

    events = simulate_optimize(study, objective, n_trials=13, n_workers=2, cost=_table_cost)
    expected = [(k, 1, k - 1.0, float(k)) for k in range(1, 10)]
    # At t=10 both workers finish: results first (worker 0, then 1), then both ask.
    expected += [(0, 0, 0.0, 10.0), (10, 1, 9.0, 10.0), (11, 0, 10.0, 11.0), (12, 1, 10.0, 11.0)]
    assert _rows(events) == expected
    # Trial 0 finishes later in simulated time: invisible (running, no value) to trials 1..10.
    for k in range(1, 11):
        assert seen[k][0] == ("RUNNING", None)
    assert all(seen[k][k - 1] == ("COMPLETE", 1.0) for k in range(2, 11))
    # A result at t is visible to a trial asked at t, whichever worker it came from.
    assert seen[11][0] == ("COMPLETE", 10.0) and seen[11][10] == ("COMPLETE", 1.0)
    assert seen[12][0] == ("COMPLETE", 10.0)
    # Samplers see the other workers' trials running, as under real workers (trial 11 is asked
    # at t=10 before worker 1 asks trial 12).
    running = {n: sum(s == "RUNNING" for s, _ in v.values()) for n, v in seen.items()}
    assert [running[n] for n in range(13)] == [1] + [2] * 10 + [1, 2]


def test_events_are_stored_in_system_attrs_and_callbacks_see_each_trial() -> None:
    study = _table_study([3, 1, 2, 1])
    told: list[int] = []

    def objective(trial: optuna.Trial) -> float:
        assert isinstance(trial, optuna.Trial)
        return trial.suggest_float("c", 0, 10)

    events = simulate_optimize(
        study,
        objective,
        n_trials=4,
        n_workers=2,
        cost=_table_cost,
        callbacks=[lambda s, t: told.append(t.number)],
    )
    assert told == [e.trial for e in events] == [1, 0, 2, 3]
    assert read_events(study.get_trials()) == events
    assert study.trials[2].system_attrs[SIM_ATTR] == {"worker": 1, "start": 1.0, "end": 3.0}


class _Spy(optuna.pruners.BasePruner):
    """Records, at each pruning decision, how many steps every other trial has reported."""

    def __init__(self, prune_at: dict[int, int] | None = None) -> None:
        self.prune_at = prune_at or {}
        self.log: list[tuple[int, int, dict[int, int]]] = []

    def prune(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> bool:
        others = {
            t.number: len(t.intermediate_values)
            for t in study.get_trials(deepcopy=False)
            if t.number != trial.number
        }
        assert trial.last_step is not None
        self.log.append((trial.number, trial.last_step, others))
        return self.prune_at.get(trial.number) == trial.last_step


def _stepped(n_steps: int) -> Any:
    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("c", 0, 100)
        for step in range(n_steps):
            trial.report(c + step, step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return c

    return objective


def test_pruning_decisions_see_only_the_steps_reached_by_then() -> None:
    # Trial 0 reaches step k at k + 1; trial 1 at 2 (k + 1).
    spy = _Spy()
    study = _table_study([1, 2], pruner=spy)
    simulate_optimize(study, _stepped(5), n_trials=2, n_workers=2, cost=_table_cost)
    for number, step, others in spy.log:
        if number == 0:  # at k + 1, trial 1's steps strictly before (ties: worker 0 goes first)
            assert others[1] == step // 2
        else:  # at 2 (k + 1), trial 0's steps up to that time, ties included
            assert others[0] == min(2 * step + 2, 5)
    assert len(spy.log) == 10


def test_a_pruned_trial_pays_for_the_steps_it_trained_and_frees_its_worker() -> None:
    study = _table_study([1, 1, 1], pruner=_Spy(prune_at={0: 2}))
    events = simulate_optimize(study, _stepped(5), n_trials=3, n_workers=2, cost=_table_cost)
    by_trial = {e.trial: e for e in events}
    assert (by_trial[0].state, by_trial[0].end, by_trial[0].steps) == ("PRUNED", 3.0, 3)
    assert (by_trial[2].worker, by_trial[2].start, by_trial[2].end) == (0, 3.0, 8.0)
    assert study.trials[0].value == 2.0 + 1.0  # the last reported value, as under optimize


def test_failures_mark_the_trial_failed_and_free_the_worker() -> None:
    study = _table_study([1, 2, 1, 1, 1])

    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("c", 0, 100)
        if trial.number == 1:
            trial.report(0.0, 0)  # trained one step (2 units), then crashed
            raise RuntimeError("boom")
        if trial.number == 3:
            return float("nan")  # an invalid value fails the trial, as under optimize
        return c

    with pytest.warns(UserWarning):
        events = simulate_optimize(study, objective, n_trials=5, n_workers=2, cost=_table_cost)
    states = {e.trial: e.state for e in events}
    assert states == {0: "COMPLETE", 1: "FAIL", 2: "COMPLETE", 3: "FAIL", 4: "COMPLETE"}
    failed = next(e for e in events if e.trial == 1)
    assert (failed.end, failed.error) == (2.0, "RuntimeError('boom')")
    assert len(study.trials) == 5 and all(t.state.is_finished() for t in study.trials)


def test_an_uncaught_exception_stops_the_simulation_and_fails_running_trials() -> None:
    study = _table_study([5, 1, 1, 1])

    def objective(trial: optuna.Trial) -> float:
        c = trial.suggest_float("c", 0, 100)
        trial.report(c, 0)
        if trial.number == 2:
            raise KeyError("not caught")
        return c

    with pytest.raises(KeyError):
        simulate_optimize(study, objective, 4, 2, cost=_table_cost, catch=(ValueError,))
    states = [t.state for t in study.trials if t.state != TrialState.WAITING]
    assert states == [TrialState.FAIL, TrialState.COMPLETE, TrialState.FAIL]
    assert not _suspended_objectives()


def test_an_invalid_cost_is_an_error_that_names_the_trial() -> None:
    study = _table_study([1, 2, 1, 1])

    def cost(params: Any, steps: int | None) -> float:
        return -1.0 if params["c"] == 2 else params["c"]

    with pytest.raises(ValueError, match=r"finite number >= 0; got -1\.0 for trial 1"):
        simulate_optimize(study, _stepped(3), n_trials=4, n_workers=2, cost=cost)
    assert not study.get_trials(states=(TrialState.RUNNING,))
    assert not _suspended_objectives()


def _tpe_run(n_workers: int) -> tuple[list[SimEvent], list[dict[str, Any]]]:
    study = optuna.create_study(
        sampler=optuna.samplers.TPESampler(seed=3, n_startup_trials=5),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=3),
    )

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -3, 3)
        k = trial.suggest_int("k", 0, 4)
        for step in range(8):
            trial.report((x - 1) ** 2 + k + 1 / (step + 1), step)
            if trial.should_prune():
                raise optuna.TrialPruned()
        return (x - 1) ** 2 + k

    def cost(params: Any, steps: int | None) -> float:
        return (1.0 + params["k"] + abs(params["x"])) * (steps or 8)

    events = simulate_optimize(study, objective, n_trials=40, n_workers=n_workers, cost=cost)
    return events, [t.params for t in study.trials]


def test_same_inputs_give_the_same_events_and_trials() -> None:
    assert _tpe_run(4) == _tpe_run(4)


def test_one_worker_gives_the_trials_of_optimize() -> None:
    def run(simulated: bool) -> list[tuple[Any, ...]]:
        study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=5, n_startup_trials=4),
            pruner=optuna.pruners.MedianPruner(n_startup_trials=2),
        )
        objective = _stepped(6)
        if simulated:
            simulate_optimize(study, objective, n_trials=25, n_workers=1)
        else:
            study.optimize(objective, n_trials=25)
        return [(t.params, t.state, t.intermediate_values) for t in study.trials]

    assert run(True) == run(False)


@pytest.mark.slow
def test_makespan_of_random_search_is_total_cost_over_workers() -> None:
    costs = [1.0, 1.5, 2.0, 2.5, 3.0]

    def objective(trial: optuna.Trial) -> float:
        return float(trial.suggest_categorical("i", list(range(len(costs)))))

    def cost(params: Any, steps: int | None) -> float:
        return costs[params["i"]]

    for n_trials in (200, 640):
        study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
        events = simulate_optimize(study, objective, n_trials, 32, cost=cost)
        total = sum(e.end - e.start for e in events)
        makespan = max(e.end for e in events)
        # No worker idles while trials remain to be asked; only the last wave is uneven.
        assert max(e.start for e in events) <= total / 32 <= makespan <= total / 32 + max(costs)
        assert sorted({e.worker for e in events}) == list(range(32))
    # With enough trials per worker, the makespan is total cost / workers within 10%.
    assert makespan / (total / 32) - 1.0 <= 0.10


def _greedy_makespan(costs: Sequence[float], n_workers: int) -> float:
    """List scheduling: each trial, in order, on the worker that is free first."""
    import heapq

    free = [0.0] * n_workers
    for c in costs:
        heapq.heappush(free, heapq.heappop(free) + c)
    return max(free)


def test_without_pruning_objectives_run_unhindered_in_the_loop() -> None:
    """Under a NopPruner the objective never waits at its steps (it runs in the caller's
    greenlet, no hand-over); the events are those of the waiting mode, and the makespan is the
    list schedule's."""
    from optuna_recipes.bench import simulate

    def run(free: bool) -> tuple[list[Any], list[greenlet.greenlet]]:
        where: list[greenlet.greenlet] = []
        study = optuna.create_study(
            sampler=optuna.samplers.TPESampler(seed=3, n_startup_trials=4, constant_liar=True),
            pruner=optuna.pruners.NopPruner(),
        )

        def objective(trial: optuna.Trial) -> float:
            where.append(greenlet.getcurrent())
            return _stepped(5)(trial)

        def cost(params: Any, steps: int | None) -> float:
            return (1.0 + params["c"] / 10) * (steps or 5)

        original = simulate._EventLoop.__init__

        def init(self: Any, *args: Any, **kwargs: Any) -> None:
            original(self, *args, **kwargs)
            self.free_running = free

        with pytest.MonkeyPatch.context() as mp:
            mp.setattr(simulate._EventLoop, "__init__", init)
            events = simulate_optimize(study, objective, n_trials=30, n_workers=8, cost=cost)
        trials = [(t.params, t.value, t.intermediate_values) for t in study.trials]
        return [_rows(events), trials], where

    free, free_where = run(True)
    waiting, waiting_where = run(False)
    assert free == waiting
    assert all(g is greenlet.getcurrent() for g in free_where)
    assert len({id(g) for g in waiting_where}) == 30  # one greenlet per trial
    assert all(g is not greenlet.getcurrent() for g in waiting_where)
    assert not _suspended_objectives()
    rows = sorted(free[0])
    assert max(end for *_, end in rows) == pytest.approx(
        _greedy_makespan([end - start for _, _, start, end in rows], 8)
    )


def test_steps_pass_from_trial_to_trial_without_waking_the_loop() -> None:
    """Under a pruner each reported step waits for the simulated clock; control passes from
    one trial's objective straight to the next one's, and the loop itself wakes only to ask
    for trials and to tell ended ones: at most twice per trial, whatever the number of steps
    (through the loop, each of the 240 steps here would wake it)."""
    from optuna_recipes.bench import simulate

    wakes = []
    original = simulate._EventLoop._wait

    def wait(self: Any, *args: Any) -> None:
        wakes.append(1)
        original(self, *args)

    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=100),  # waits, never prunes
    )
    with pytest.MonkeyPatch.context() as mp:
        mp.setattr(simulate._EventLoop, "_wait", wait)
        events = simulate_optimize(study, _stepped(20), n_trials=12, n_workers=4)
    assert sum(e.steps for e in events) == 240
    assert len(wakes) <= 2 * 12


def test_cost_models() -> None:
    assert unit_cost({}, None) == 1.0 and unit_cost({}, 7) == 7.0
    calls: list[dict[str, Any]] = []

    def seconds(params: dict[str, Any]) -> float:
        calls.append(params)
        return 10.0 * params["d"]

    scaled = ScaledCost(seconds, n_steps=100)
    assert scaled({"d": 3}, 50) == 15.0 and scaled({"d": 3}, None) == 30.0
    assert calls == [{"d": 3}]  # asked at every step: remembered per configuration

    class Timed(FunctionProblem):
        def cost(self, params: Any) -> float:
            return 4.0

    plain = FunctionProblem(lambda t: 0.0, n_steps=4)
    assert cost_model_for(plain) is unit_cost
    assert cost_model_for(Timed(lambda t: 0.0, n_steps=4))({}, 1) == 1.0
    with pytest.raises(ValueError, match="`n_workers` must be an int >= 1; got 0"):
        simulate_optimize(optuna.create_study(), lambda t: 0.0, 3, 0)
    with pytest.raises(ValueError, match="`cost` must be callable"):
        simulate_optimize(optuna.create_study(), lambda t: 0.0, 3, 2, cost=1.0)  # type: ignore[arg-type]


class _AfterTrialBug(optuna.samplers.RandomSampler):
    """Fails in ``study.tell`` (the event loop's side) from the third trial on."""

    def after_trial(self, study: optuna.Study, trial: Any, state: Any, values: Any) -> None:
        if trial.number >= 2:
            raise RuntimeError("sampler bug")


def test_a_sampler_error_stops_the_simulation_and_fails_running_trials() -> None:
    study = optuna.create_study(sampler=_AfterTrialBug(seed=0))

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        try:
            for step in range(3):
                trial.report(x, step)
        except BaseException:  # an objective that swallows everything cannot hang the loop
            pass
        return x

    with pytest.raises(RuntimeError, match="sampler bug"):
        simulate_optimize(study, objective, 6, 2, cost=lambda p, s: 1.0 if s is None else s)
    assert not study.get_trials(states=(TrialState.RUNNING,))
    assert not _suspended_objectives()


def test_each_objective_keeps_its_own_torch_grad_mode() -> None:
    """All objectives run in the caller's thread: a trial that reports inside
    ``torch.no_grad()`` must not switch gradients off for the trials that run in between (nor
    get them switched back on itself), as with real workers' threads."""
    torch = pytest.importorskip("torch")
    seen: dict[int, list[bool]] = {}

    def objective(trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", 0, 1)
        seen[trial.number] = []
        for step in range(5):
            if trial.number % 2 == 0:
                with torch.no_grad():
                    trial.report(x, step)
                    seen[trial.number].append(torch.is_grad_enabled())
            else:
                trial.report(x, step)
                seen[trial.number].append(torch.is_grad_enabled())
        return x

    study = optuna.create_study(
        sampler=optuna.samplers.RandomSampler(seed=0),
        pruner=optuna.pruners.MedianPruner(n_startup_trials=100),  # waits, never prunes
    )
    assert torch.is_grad_enabled()
    simulate_optimize(study, objective, n_trials=8, n_workers=4)
    assert torch.is_grad_enabled()
    assert seen == {n: [n % 2 == 1] * 5 for n in range(8)}
