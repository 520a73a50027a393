"""Problems and samplers used by the benchmark-harness tests (importable by worker processes)."""

from __future__ import annotations

from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from concurrent.futures import TimeoutError as FuturesTimeout
import importlib.util
import os
from pathlib import Path
import signal
import subprocess
import sys
import time
from types import ModuleType
from typing import Any

import optuna

from optuna_recipes import _optuna_compat as compat
from optuna_recipes.bench.problems import FunctionProblem
from optuna_recipes.bench.problems import Problem

ROOT = Path(__file__).resolve().parents[1]


def load_benchmark_script(name: str) -> ModuleType:
    """Import ``benchmarks/NAME.py`` (not a package) as module ``benchmarks_NAME``."""
    spec = importlib.util.spec_from_file_location(
        f"benchmarks_{name}", ROOT / "benchmarks" / f"{name}.py"
    )
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    sys.modules[spec.name] = module  # dataclasses look their module up
    spec.loader.exec_module(module)
    return module


class Parabola(Problem):
    """(x - 1)^2 + (k - 2)^2 + cost of a categorical; crashes when ``crash_above`` < x."""

    optimum = 0.0

    def __init__(self, crash_above: float | None = None, shift: float = 0.0) -> None:
        self.crash_above = crash_above
        self.shift = shift

    def __call__(self, trial: optuna.Trial) -> float:
        x = trial.suggest_float("x", -5.0, 5.0)
        k = trial.suggest_int("k", -3, 3)
        c = trial.suggest_categorical("c", ["a", "b"])
        if self.crash_above is not None and x > self.crash_above:
            raise RuntimeError("boom: the objective crashed")
        return (x - 1.0 - self.shift) ** 2 + (k - 2) ** 2 + (0.0 if c == "a" else 1.0)

    def source_tasks(self) -> list[dict[str, Any]]:
        return [{"shift": 0.1}, {"shift": -0.1}]


class Gate(Parabola):
    """A :class:`Parabola` whose trial ``block_at`` waits until the file ``release`` exists.

    Before waiting it prints ``GATE_LINE`` to stdout, so a test that runs the harness in a
    subprocess knows a run is in flight and cannot finish. Values are Parabola's: a run that
    passed the gate equals one that never met it.
    """

    def __init__(self, release: str, block_at: int = 0) -> None:
        super().__init__()
        self.release = release
        self.block_at = block_at

    def __call__(self, trial: optuna.Trial) -> float:
        if trial.number == self.block_at and not os.path.exists(self.release):
            # One write(2) of under PIPE_BUF bytes: two workers' lines never interleave on
            # the shared pipe (print() writes the text and the newline separately).
            os.write(1, (GATE_LINE + "\n").encode())
            while not os.path.exists(self.release):
                time.sleep(0.05)
        return super().__call__(trial)


GATE_LINE = f"{__name__}: a run waits at its gate"


def make_maximize() -> Problem:
    return FunctionProblem(
        lambda t: -((t.suggest_float("x", -2.0, 2.0)) ** 2), direction="maximize"
    )


def not_a_problem() -> object:
    return 42


class SourceCountingSampler(optuna.samplers.RandomSampler):
    """A random sampler that takes source studies and records how many it got, and their sizes."""

    def __init__(self, source_studies: Sequence[optuna.Study], seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.sizes = [len(s.trials) for s in source_studies]

    def before_trial(self, study: optuna.Study, trial: optuna.trial.FrozenTrial) -> None:
        compat.set_trial_system_attr(study, trial, "test:source_sizes", self.sizes)


class BrokenSampler(optuna.samplers.RandomSampler):
    """Raises inside sampling: a broken strategy, not a crashing objective."""

    def sample_independent(self, *args: Any, **kwargs: Any) -> Any:
        raise ValueError("sampler bug")


def wait_for_gates(proc: subprocess.Popen, n: int, timeout: float = 240.0) -> None:
    """Read the command's stdout until ``n`` workers wait at their gate.

    Other lines are kept for the failure message. On failure (the command ended, or the
    deadline passed) the process group is killed before reporting, so that a worker waiting at
    its gate cannot keep the test waiting on the command forever.
    """
    import pytest

    assert proc.stdout is not None
    seen: list[str] = []
    with ThreadPoolExecutor(max_workers=1) as reader:
        deadline = time.monotonic() + timeout
        while sum(line.count(GATE_LINE) for line in seen) < n:
            pending = reader.submit(proc.stdout.readline)
            try:
                text = pending.result(timeout=max(0.0, deadline - time.monotonic()))
            except FuturesTimeout:
                text = None
            if not text:
                os.killpg(proc.pid, signal.SIGKILL)
                _, err = proc.communicate()
                pytest.fail(f"{n} gates not reached; stdout lines {seen}; stderr: {err}")
            seen.append(text.strip())


_TESTS = Path(__file__).resolve().parent
_ROOT = _TESTS.parent


def default_sigint() -> None:
    """In the child before exec: Ctrl-C handled as from a terminal. A shell runs background jobs
    (`cmd &`, nohup) with SIGINT ignored; the ignored disposition survives exec, so Python would
    install no KeyboardInterrupt handler and the SIGINT test would wait forever."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def spawn_bench_run(args: list[str]) -> subprocess.Popen:
    """`python -m optuna_recipes bench run ARGS` in its own session, from the repository root,
    with the tests folder importable; stdout and stderr piped."""
    env = {**os.environ, "PYTHONPATH": os.pathsep.join([str(_ROOT), str(_TESTS)])}
    return subprocess.Popen(
        [sys.executable, "-m", "optuna_recipes", "bench", "run", *args],
        cwd=_ROOT,
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
        preexec_fn=default_sigint,
    )


class SourceSampler(optuna.samplers.RandomSampler):
    """Takes earlier studies, as ``WarmStartSampler`` does: it cannot be built without them."""

    def __init__(self, source_studies: list[Any], *, seed: int | None = None) -> None:
        super().__init__(seed=seed)
        self.source_studies = source_studies
