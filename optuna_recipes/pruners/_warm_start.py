"""``WarmStartPruner``: percentile pruning against earlier studies' learning curves."""

from __future__ import annotations

from collections.abc import Sequence
import math
from typing import Any

import numpy as np
import optuna
from optuna.pruners import BasePruner
from optuna.study import StudyDirection
from optuna.trial import FrozenTrial
from optuna.trial import TrialState

from optuna_recipes._validation import check_float
from optuna_recipes._validation import check_int
from optuna_recipes.warm_start._sources import SourceStudy
from optuna_recipes.warm_start._sources import as_sources


def weighted_percentile(values: np.ndarray, weights: np.ndarray, q: float) -> float:
    """The ``q``-th percentile (0-100) of a weighted sample (linear in cumulative weight)."""
    order = np.argsort(values, kind="stable")
    v, w = values[order], weights[order]
    cum = np.cumsum(w) - 0.5 * w
    return float(np.interp(q / 100.0 * w.sum(), cum, v))


def _iqr_scale(values: np.ndarray) -> tuple[float, float]:
    q25, q50, q75 = np.percentile(values, [25, 50, 75])
    return float(q50), float(q75 - q25)


class _Curves:
    """Best-so-far learning curves of one study on a dense step grid (lower is better).

    ``values[i, k]`` is curve ``i``'s best value over steps ``<= steps[k]`` (``NaN`` before its
    first report); ``last[i]`` is the last step it reported.
    """

    def __init__(self, trials: Sequence[FrozenTrial], sign: float) -> None:
        curves = [t.intermediate_values for t in trials if t.intermediate_values]
        self.steps = np.array(sorted({s for c in curves for s in c}), dtype=float)
        self.values = np.full((len(curves), len(self.steps)), np.nan)
        self.last = np.array([max(c) for c in curves], dtype=float)
        index = {s: k for k, s in enumerate(self.steps)}
        for i, c in enumerate(curves):
            for s, v in c.items():
                self.values[i, index[s]] = sign * v if v is not None else np.nan
        with np.errstate(invalid="ignore"):
            self.values = np.fmin.accumulate(self.values, axis=1)

    def at(self, step: int) -> np.ndarray:
        """Best-so-far values at ``step`` of the curves that reached it."""
        k = int(np.searchsorted(self.steps, step, side="right")) - 1
        if k < 0:
            return np.empty(0)
        col = self.values[:, k][self.last >= step]
        return col[np.isfinite(col)]


class WarmStartPruner(BasePruner):
    """Prune from the very first trial, using the learning curves of earlier studies.

    Choose it when you retune a model whose earlier studies recorded intermediate values
    (``trial.report``): it knows from trial 1 what a promising curve looks like, whereas
    :class:`~optuna.pruners.MedianPruner` prunes nothing during its ``n_startup_trials``. At step
    ``s`` a trial is pruned when its best value so far is worse than the ``percentile``-th best
    value at step ``s`` of the reference curves: the complete trials of the new study (weight 1
    each) and of every source (each source is worth ``source_weight`` new-study trials in total,
    so the new study's own curves dominate as they accumulate). Source curves are put on the new
    study's scale per step: once the new study has ``n_calibration_trials`` complete curves at a
    step, a source's values there are matched to them by median and interquartile range; before
    that they are used as they are (same metric assumed), and sources with the opposite direction
    wait for calibration. Works with any sampler; stateless (everything comes from the storage
    and the source snapshots), so it runs unchanged on many processes, and pickles.

    Example:
        .. code-block:: python

            import optuna
            from optuna_recipes.pruners import WarmStartPruner


            def objective(trial):
                lr = trial.suggest_float("lr", 1e-3, 1.0, log=True)
                loss = 1.0
                for step in range(20):
                    loss *= 1.0 - 0.5 * lr
                    trial.report(loss, step)
                    if trial.should_prune():
                        raise optuna.TrialPruned()
                return loss


            old = optuna.create_study()
            old.optimize(objective, n_trials=20)
            study = optuna.create_study(pruner=WarmStartPruner([old], n_warmup_steps=2))
            study.optimize(objective, n_trials=20)

    Args:
        source_studies: Earlier studies with intermediate values: :class:`optuna.Study`
            objects, lists of :class:`~optuna.trial.FrozenTrial` (same direction as the new
            study) or :class:`~optuna_recipes.SourceStudy` snapshots from
            :func:`~optuna_recipes.load_sources`.
        percentile: Keep trials within this best percentile of the reference at each step;
            ``0 < percentile <= 100``. Default ``50.0`` (median).
        n_warmup_steps: Never prune before this step (steps are the ``step`` argument of
            ``trial.report``); must be ``>= 0``. Default ``2``.
        interval_steps: Only consider pruning every ``interval_steps`` steps after the warm-up;
            must be ``>= 1``. Default ``1``.
        n_min_trials: Do not prune when fewer reference curves than this reached the step;
            must be ``>= 1``. Default ``5``.
        source_weight: Total weight of one source's curves, in new-study trials; must be
            ``>= 0``. Default ``10.0``.
        n_calibration_trials: New-study complete curves at a step needed to rescale the sources
            there; must be ``>= 2``. Default ``5``.
    """

    def __init__(
        self,
        source_studies: Sequence[Any],
        *,
        percentile: float = 50.0,
        n_warmup_steps: int = 2,
        interval_steps: int = 1,
        n_min_trials: int = 5,
        source_weight: float = 10.0,
        n_calibration_trials: int = 5,
    ) -> None:
        self._percentile = check_float(
            "percentile", percentile, minimum=0, exclusive_min=True, maximum=100
        )
        self._n_warmup_steps = check_int("n_warmup_steps", n_warmup_steps, minimum=0)
        self._interval_steps = check_int("interval_steps", interval_steps, minimum=1)
        self._n_min_trials = check_int("n_min_trials", n_min_trials, minimum=1)
        self._source_weight = check_float("source_weight", source_weight, minimum=0)
        self._n_calibration_trials = check_int(
            "n_calibration_trials", n_calibration_trials, minimum=2
        )
        self._sources: list[SourceStudy] = as_sources(source_studies)
        self._curves: dict[StudyDirection, list[_Curves | None]] = {}
        if not any(t.intermediate_values for s in self._sources for t in s.trials if _complete(t)):
            optuna.logging.get_logger("optuna_recipes.pruners").warning(
                "No source trial has intermediate values; WarmStartPruner prunes only once the "
                "new study has its own complete learning curves."
            )

    def __repr__(self) -> str:
        return (
            f"WarmStartPruner(sources={[s.name for s in self._sources]}, "
            f"percentile={self._percentile}, n_warmup_steps={self._n_warmup_steps}, "
            f"interval_steps={self._interval_steps}, n_min_trials={self._n_min_trials}, "
            f"source_weight={self._source_weight}, "
            f"n_calibration_trials={self._n_calibration_trials})"
        )

    def _source_curves(self, direction: StudyDirection) -> list[_Curves | None]:
        """Per source: its curves in "lower is better" form, ``None`` if it needs
        calibration before use (opposite direction)."""
        if direction not in self._curves:
            out: list[_Curves | None] = []
            for src in self._sources:
                src_dir = src.direction or direction
                sign = 1.0 if src_dir == StudyDirection.MINIMIZE else -1.0
                trials = [t for t in src.trials if _complete(t)]
                curves = _Curves(trials, sign)
                out.append(curves if len(curves.steps) else None)
            self._curves[direction] = out
        return self._curves[direction]

    def reference(self, study: optuna.Study, step: int) -> tuple[np.ndarray, np.ndarray]:
        """Reference values at ``step`` (lower is better) and their weights."""
        direction = study.direction
        sign = 1.0 if direction == StudyDirection.MINIMIZE else -1.0
        target_trials = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
        target = _Curves(target_trials, sign).at(step)
        values = [target]
        weights = [np.ones(len(target))]
        calibrated = len(target) >= self._n_calibration_trials
        if calibrated:
            t_mid, t_spread = _iqr_scale(target)
        for src, curves in zip(self._sources, self._source_curves(direction), strict=True):
            if curves is None or self._source_weight == 0:
                continue
            vals = curves.at(step)
            if len(vals) == 0:
                continue
            same = (src.direction or direction) == direction
            if calibrated:
                s_mid, s_spread = _iqr_scale(vals)
                scale = t_spread / s_spread if s_spread > 0 else 1.0
                vals = t_mid + (vals - s_mid) * scale
            elif not same:
                continue
            values.append(vals)
            weights.append(np.full(len(vals), self._source_weight / len(vals)))
        return np.concatenate(values), np.concatenate(weights)

    def prune(self, study: optuna.Study, trial: FrozenTrial) -> bool:
        if len(study.directions) != 1:
            return False
        step = trial.last_step
        if step is None or step < self._n_warmup_steps:
            return False
        if (step - self._n_warmup_steps) % self._interval_steps != 0:
            return False
        sign = 1.0 if study.direction == StudyDirection.MINIMIZE else -1.0
        own = np.array(
            [sign * v for s, v in trial.intermediate_values.items() if s <= step], dtype=float
        )
        if np.isnan(own).all():
            return True
        current = float(np.nanmin(own))
        values, weights = self.reference(study, step)
        if len(values) < self._n_min_trials:
            return False
        threshold = weighted_percentile(values, weights, self._percentile)
        return bool(current > threshold and not math.isclose(current, threshold))


def _complete(t: FrozenTrial) -> bool:
    return t.state == TrialState.COMPLETE
