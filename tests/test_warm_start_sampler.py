"""WarmStartSampler: transfer, negative-transfer guard, storages, processes, reproducibility."""

from __future__ import annotations

import functools
import logging
import pickle

from _storage_kit import StorageSpec
from _storage_kit import optimize_in_processes
import numpy as np
import optuna
from optuna.distributions import CategoricalDistribution
from optuna.distributions import json_to_distribution
from optuna.trial import TrialState
import pytest

from optuna_recipes import SourceStudy
from optuna_recipes.samplers import WarmStartSampler
from optuna_recipes.samplers._warm_start import DECISION_KEY
from optuna_recipes.samplers._warm_start import GP_WEIGHTS_KEY
from optuna_recipes.samplers._warm_start import MODE_KEY
from optuna_recipes.samplers._warm_start import PROPOSAL_KEY
from optuna_recipes.samplers._warm_start import WEIGHTS_KEY
from optuna_recipes.samplers._warm_start import _parzen
from optuna_recipes.samplers._warm_start import _relatedness as rel_
from optuna_recipes.samplers._warm_start import _sampler
from optuna_recipes.warm_start import as_sources


def mixed_objective(trial: optuna.Trial, shift: float = 0.0, scale: float = 1.0) -> float:
    """Mixed, conditional space with its optimum near x=1+shift, lr=1e-2, kind='b'."""
    x = trial.suggest_float("x", -5, 5)
    lr = trial.suggest_float("lr", 1e-4, 1.0, log=True)
    n = trial.suggest_int("n", 1, 9, step=2)
    kind = trial.suggest_categorical("kind", ["a", "b", "c"])
    value = (x - 1 - shift) ** 2 + (np.log10(lr) + 2) ** 2 + 0.1 * abs(n - 5)
    if kind == "b":
        value += 0.1 * trial.suggest_float("extra", 0, 1)
    else:
        value += 2.0
    return scale * value


def _source(shift: float, scale: float = 1.0, seed: int = 0, n: int = 60, **kw: str):
    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed), **kw)
    study.optimize(lambda t: mixed_objective(t, shift, scale), n_trials=n)
    return study


@pytest.fixture(scope="module")
def related_sources() -> list[SourceStudy]:
    return as_sources([_source(s, sc, seed=i) for i, (s, sc) in enumerate([(0.1, 3), (-0.1, 50)])])


def _curve(study: optuna.Study) -> np.ndarray:
    return np.minimum.accumulate([t.value for t in study.trials])


def _assert_consistent(study: optuna.Study, sources: list[SourceStudy]) -> None:
    """What holds for every trial of ``mixed_objective``, in whatever order workers ran: params
    inside the space, and a recorded mode with the attributes that mode writes."""
    names = {s.name for s in sources}
    for t in study.trials:
        p = t.params
        assert -5 <= p["x"] <= 5 and p["n"] in (1, 3, 5, 7, 9) and 1e-4 <= p["lr"] <= 1.0
        assert isinstance(p["n"], int) and isinstance(p["x"], float)
        assert p["kind"] in ("a", "b", "c") and ("extra" in p) == (p["kind"] == "b")
        attrs = t.system_attrs
        mode = attrs[MODE_KEY]
        assert mode in ("proposal", "gp", "parzen", "cold", "tpe")
        assert (GP_WEIGHTS_KEY in attrs) == (mode == "gp")
        assert (DECISION_KEY in attrs) == (mode != "proposal")
        if mode in ("gp", "parzen", "cold"):
            assert set(attrs[WEIGHTS_KEY]) == names
            assert all(0.0 <= w <= 1.0 for w in attrs[WEIGHTS_KEY].values())
        if mode == "proposal":
            proposal = attrs[PROPOSAL_KEY]
            assert set(proposal["params"]) == {"x", "lr", "n", "kind", "extra"}
            for u, dist_json in proposal["params"].values():
                dist = json_to_distribution(dist_json)
                if isinstance(dist, CategoricalDistribution):
                    assert u in range(len(dist.choices))
                else:
                    assert 0.0 <= u <= 1.0
            assert set(proposal["source_weights"]) == names


@pytest.mark.slow
def test_on_every_storage(storage: optuna.storages.BaseStorage, related_sources: list) -> None:
    study = optuna.create_study(storage=storage, sampler=WarmStartSampler(related_sources, seed=0))
    study.optimize(mixed_objective, n_trials=22)
    trials = study.trials
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in trials)
    _assert_consistent(study, related_sources)
    # The first trial is proposed jointly from the source model (no target data yet) ...
    assert trials[0].system_attrs[MODE_KEY] == "proposal"
    proposal = trials[0].system_attrs[PROPOSAL_KEY]
    assert proposal["source_weights"] == {s.name: 1.0 for s in related_sources}
    # ... the next ones by the GP (its warm-up), with the source weights recorded; from 20
    # target trials on the bandit picks the GP or the cold arm, and says so.
    modes = [t.system_attrs[MODE_KEY] for t in trials]
    assert modes[1:20] == ["gp"] * 19 and set(modes[20:]) <= {"gp", "cold", "tpe"}
    reasons = [t.system_attrs[DECISION_KEY]["reason"] for t in trials[1:]]
    assert reasons == ["warm-up"] * 19 + ["bandit"] * 2
    assert len(trials[21].system_attrs[DECISION_KEY]["pulls"]) == 3


@pytest.mark.slow
@pytest.mark.parametrize("surrogate", ["gp", "parzen"])
def test_transfer_helps_on_a_related_task(related_sources: list, surrogate: str) -> None:
    warm, cold = [], []
    for seed in range(3):
        sampler = WarmStartSampler(related_sources, seed=seed, surrogate=surrogate)
        ws = optuna.create_study(sampler=sampler)
        ws.optimize(lambda t: mixed_objective(t, 0.05), n_trials=10)
        tpe = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        tpe.optimize(lambda t: mixed_objective(t, 0.05), n_trials=10)
        warm.append(_curve(ws)[-1])
        cold.append(_curve(tpe)[-1])
    # Sources found kind='b', lr near 1e-2 and x near 1: ten warm trials beat ten cold ones.
    # Best value after 10 trials over seeds 0-19: gp median 0.36 (max 0.58), parzen median
    # 0.39 (max 0.73), cold TPE median 2.69 (min 0.31); the 3 seeds here are fixed.
    assert np.median(warm) < 0.5 * np.median(cold)
    assert np.median(warm) < 1.0


def test_gp_records_source_coefficients_and_hands_over_to_tpe(
    related_sources: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(_sampler, "_GP_MAX_TRIALS", 8)
    study = optuna.create_study(sampler=WarmStartSampler(related_sources, seed=0, surrogate="gp"))
    study.optimize(mixed_objective, n_trials=14)
    trials = study.trials
    # Trial 0 is the joint proposal; trials 1-7 come from the GP, with a coefficient per
    # source; from 8 target trials on, multivariate TPE samples (no GP attribute), with the
    # density ratio standing in for it until it has its 10 startup trials.
    modes = [t.system_attrs[MODE_KEY] for t in trials]
    assert modes == ["proposal"] + ["gp"] * 7 + ["parzen"] * 2 + ["tpe"] * 4
    for t in trials[1:8]:
        assert set(t.system_attrs[GP_WEIGHTS_KEY]) == {s.name for s in related_sources}
        assert all(np.isfinite(v) for v in t.system_attrs[GP_WEIGHTS_KEY].values())
    assert all(GP_WEIGHTS_KEY not in t.system_attrs for t in [trials[0], *trials[8:]])
    assert all(WEIGHTS_KEY in t.system_attrs for t in trials[1:10])
    parzen = WarmStartSampler(related_sources, seed=0, surrogate="parzen")
    parzen_study = optuna.create_study(sampler=parzen)
    parzen_study.optimize(mixed_objective, n_trials=5)
    assert all(GP_WEIGHTS_KEY not in t.system_attrs for t in parzen_study.trials)
    modes = [t.system_attrs[MODE_KEY] for t in parzen_study.trials]
    assert modes == ["proposal"] + ["parzen"] * 4
    assert "surrogate='gp'" in repr(WarmStartSampler(related_sources))  # the default
    # The GP cache does not travel with the sampler.
    assert pickle.loads(pickle.dumps(study.sampler))._source_models._models == {}


def test_gp_mode_fits_the_good_density_only(
    related_sources: list, monkeypatch: pytest.MonkeyPatch
) -> None:
    fitted: list[str] = []
    for name in ("build_density_ratio", "build_good_density"):
        original = getattr(_parzen, name)

        def spy(*args: object, _name: str = name, _original: object = original) -> object:
            fitted.append(_name)
            return _original(*args)  # type: ignore[operator]

        monkeypatch.setattr(_parzen, name, spy)
    study = optuna.create_study(sampler=WarmStartSampler(related_sources, seed=0))
    study.optimize(mixed_objective, n_trials=6)
    # The joint proposal (trial 0, and "extra" outside the common space) needs l and g; the
    # GP's candidate search only l; nothing else is fitted.
    proposals = sum(PROPOSAL_KEY in t.system_attrs for t in study.trials)
    modes = [t.system_attrs[MODE_KEY] for t in study.trials]
    assert modes == ["proposal"] + ["gp"] * 5
    assert fitted.count("build_density_ratio") == proposals
    assert fitted.count("build_good_density") == 5 and len(fitted) == proposals + 5


def _bowl_source(a: float, b: float, seed: int) -> optuna.Study:
    study = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(
        lambda t: (t.suggest_float("x", -5, 5) - a) ** 2 + (t.suggest_float("y", -5, 5) - b) ** 2,
        n_trials=40,
    )
    return study


@pytest.mark.parametrize("surrogate", ["parzen", "gp"])
def test_sources_that_disagree_with_each_other_start_faded(surrogate: str) -> None:
    # Optima in three far corners: an unrelated family, whatever the new task's optimum.
    unrelated = [_bowl_source(a, b, i) for i, (a, b) in enumerate([(-4, -4), (4, -3), (0, 4)])]
    related = [_bowl_source(1 + d, 2 - d, i) for i, d in enumerate([0.0, 0.2, -0.2])]
    weights = {}
    for name, sources in (("unrelated", unrelated), ("related", related)):
        study = optuna.create_study(sampler=WarmStartSampler(sources, seed=0, surrogate=surrogate))
        study.optimize(
            lambda t: t.suggest_float("x", -5, 5) ** 2 + t.suggest_float("y", -5, 5) ** 2,
            n_trials=1,
        )
        weights[name] = list(study.trials[0].system_attrs[PROPOSAL_KEY]["source_weights"].values())
    assert max(weights["unrelated"]) < 0.5
    assert weights["related"] == [1.0, 1.0, 1.0]


@pytest.mark.slow
@pytest.mark.parametrize("surrogate", ["parzen", "gp"])
def test_misleading_source_fades_and_related_one_stays(
    related_sources: list, surrogate: str
) -> None:
    misleading = _source(0.0, -1.0, seed=5)  # same direction, reversed objective
    sampler = WarmStartSampler([related_sources[0], misleading], seed=0, surrogate=surrogate)
    study = optuna.create_study(sampler=sampler)
    study.optimize(mixed_objective, n_trials=25)
    weights = study.trials[-1].system_attrs[WEIGHTS_KEY]
    assert weights[misleading.study_name] < 0.1
    assert weights[related_sources[0].name] > 0.5
    if surrogate == "gp":
        # A source of relatedness 0 leaves the GP: its prediction's coefficient is 0.
        coefficients = study.trials[-1].system_attrs[GP_WEIGHTS_KEY]
        if weights[misleading.study_name] == 0.0:
            assert coefficients[misleading.study_name] == 0.0
        assert coefficients[related_sources[0].name] != 0.0


@pytest.mark.slow
def test_scale_offset_and_direction_free() -> None:
    # A source that maximizes -1000 f + 7 carries exactly the information of one minimizing f.
    flipped = optuna.create_study(
        direction="maximize", sampler=optuna.samplers.RandomSampler(seed=0)
    )
    flipped.optimize(lambda t: -1000 * mixed_objective(t) + 7, n_trials=60)
    plain = _source(0.0, 1.0, seed=0)
    runs = []
    for source in (flipped, plain):
        study = optuna.create_study(sampler=WarmStartSampler([source], seed=1))
        study.optimize(mixed_objective, n_trials=8)
        runs.append([t.params for t in study.trials])
    assert runs[0] == runs[1]
    assert [p["kind"] for p in runs[0]].count("b") >= 4  # random would give ~8/3


@pytest.mark.slow
def test_same_seed_same_params_and_pickling(related_sources: list) -> None:
    def run(sampler: WarmStartSampler) -> list[dict]:
        study = optuna.create_study(sampler=sampler)
        study.optimize(mixed_objective, n_trials=8)
        return [t.params for t in study.trials]

    first = run(WarmStartSampler(related_sources, seed=3))
    assert run(WarmStartSampler(related_sources, seed=3)) == first
    gp_first = run(WarmStartSampler(related_sources, seed=3, surrogate="gp"))
    assert run(WarmStartSampler(related_sources, seed=3, surrogate="gp")) == gp_first
    assert run(WarmStartSampler(related_sources, seed=4)) != first
    restored = pickle.loads(pickle.dumps(WarmStartSampler(related_sources, seed=3)))
    assert run(restored) == first


def test_ranges_types_and_missing_parameters() -> None:
    # Source: "x" on a wider range, "kind" as a float, no "lr"; the target differs on all.
    source = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    source.optimize(
        lambda t: (t.suggest_float("x", -50, 50) - 1) ** 2 + t.suggest_float("kind", 0, 1),
        n_trials=40,
    )
    study = optuna.create_study(sampler=WarmStartSampler([source], seed=0))
    study.optimize(mixed_objective, n_trials=10)
    for t in study.trials:
        assert -5 <= t.params["x"] <= 5 and t.params["kind"] in ("a", "b", "c")
    # Source values outside the new range are ignored: x < 2.5 is where the source's good
    # trials inside [-5, 5] lie.
    assert np.median([t.params["x"] for t in study.trials]) < 2.5


def test_no_compatible_source_warns_once_and_samples(caplog: pytest.LogCaptureFixture) -> None:
    source = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    source.optimize(lambda t: t.suggest_float("other", 0, 1), n_trials=5)
    study = optuna.create_study(sampler=WarmStartSampler([source], seed=0))
    with caplog.at_level(logging.WARNING, logger="optuna_recipes"):
        study.optimize(lambda t: t.suggest_float("x", 0, 1) ** 2, n_trials=15)
    messages = [r.getMessage() for r in caplog.records if "appears in no source" in r.message]
    assert len(messages) == 1 and "'x'" in messages[0]
    assert len(study.trials) == 15 and study.best_value < 0.05
    # Nothing to transfer: the hand-over from the second trial on (the density ratio on the
    # study's own trials until multivariate TPE has its 10 startup trials).
    modes = [t.system_attrs[MODE_KEY] for t in study.trials]
    assert modes == ["proposal"] + ["parzen"] * 9 + ["tpe"] * 5


def test_failed_and_pruned_trials_and_threads(related_sources: list) -> None:
    def objective(trial: optuna.Trial) -> float:
        value = mixed_objective(trial)
        if trial.number % 5 == 3:
            raise optuna.TrialPruned()
        if trial.number % 5 == 4:
            raise RuntimeError("training crashed")
        return value

    study = optuna.create_study(sampler=WarmStartSampler(related_sources, seed=0))
    study.optimize(objective, n_trials=15, n_jobs=2, catch=(RuntimeError,))
    states = [t.state for t in sorted(study.trials, key=lambda t: t.number)]
    complete, pruned, fail = TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL
    assert states == [complete, complete, complete, pruned, fail] * 3
    _assert_consistent(study, related_sources)


def test_multi_objective_is_refused(related_sources: list) -> None:
    study = optuna.create_study(
        directions=["minimize", "minimize"], sampler=WarmStartSampler(related_sources, seed=0)
    )
    with pytest.raises(ValueError, match="single-objective studies only"):
        study.optimize(lambda t: (t.suggest_float("x", 0, 1), 1.0), n_trials=1)


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"seed": 1.5}, "`seed` must be an int"),
        ({"source_weight": -1}, "`source_weight` must be a number >= 0"),
        ({"source_decay": 0}, "`source_decay` must be a number > 0"),
        ({"n_ei_candidates": 0}, "`n_ei_candidates` must be an int >= 1; got 0"),
        ({"n_ei_candidates": 2.0}, "`n_ei_candidates` must be an int >= 1; got 2.0"),
        ({"seed": -1}, "`seed` must be an int >= 0 or None; got -1"),
        ({"surrogate": "tpe"}, "`surrogate` must be one of 'gp', 'parzen'; got 'tpe'"),
    ],
)
def test_constructor_validates(related_sources: list, kwargs: dict, match: str) -> None:
    with pytest.raises(ValueError, match=match):
        WarmStartSampler(related_sources, **kwargs)


def test_constructor_needs_sources() -> None:
    with pytest.raises(ValueError, match="empty"):
        WarmStartSampler([])


def _factory(sources: list[SourceStudy], worker: int) -> WarmStartSampler:
    return WarmStartSampler(sources, seed=100 + worker)


@pytest.mark.slow
def test_several_processes_share_one_study(
    shared_storage_spec: StorageSpec, related_sources: list
) -> None:
    study = optimize_in_processes(
        shared_storage_spec,
        mixed_objective,
        functools.partial(_factory, related_sources),
        n_workers=2,
        n_trials=16,
    )
    # The workers interleave differently every run, so values are not reproducible; what
    # always holds is checked instead (quality is covered by the sequential tests).
    assert sorted(t.number for t in study.trials) == list(range(16))
    assert all(t.state == optuna.trial.TrialState.COMPLETE for t in study.trials)
    _assert_consistent(study, related_sources)
    assert study.trials[0].system_attrs[MODE_KEY] == "proposal"


def _two_basins(trial: optuna.Trial, sources_only: bool = False, shift: float = 0.0) -> float:
    """4-D: the sources' basin near 0.2 (value 0.3 at its bottom on the target) and, on the
    target only, a deeper one near 0.8 that the sources never saw."""
    v = np.array([trial.suggest_float(f"x{i}", 0, 1) for i in range(4)])
    near = 2 * float(np.sum((v - 0.2 - shift) ** 2))
    if sources_only:
        return near
    return min(0.3 + near, 4 * float(np.sum((v - 0.8) ** 2)))


def _mislead_run(sources: list, n_trials: int, bandit_start: int | None = None) -> tuple:
    sampler = WarmStartSampler(sources, seed=1)
    if bandit_start is not None:
        sampler._config.bandit_start = bandit_start
    study = optuna.create_study(sampler=sampler)
    study.optimize(_two_basins, n_trials=n_trials)
    return _curve(study), [t.system_attrs[MODE_KEY] for t in study.trials]


@pytest.mark.slow
def test_sources_that_mislead_after_a_good_start_lose_trust_and_trials(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    sources = []
    for seed, shift in enumerate((0.02, -0.03)):
        src = optuna.create_study(sampler=optuna.samplers.TPESampler(seed=seed))
        src.optimize(functools.partial(_two_basins, sources_only=True, shift=shift), n_trials=40)
        sources.append(src)
    default, alone = _mislead_run(sources, 40), _mislead_run(sources, 40, bandit_start=10**6)
    # Both start well: the sources' basin within the first 10 trials, the surrogate's warm-up.
    assert default[0][9] == alone[0][9] < 0.32
    assert default[1][:20] == ["proposal"] + ["gp"] * 19
    # Once the study's best points lie in the deeper basin, the sources rank them wrong: the
    # top-weighted tau takes their trust, so even the surrogate alone hands over to TPE, and
    # both leave the sources' basin.
    assert "tpe" in alone[1] and alone[0][-1] < 0.1
    assert default[0][-1] < 0.1
    # A plain Kendall tau keeps trusting them (they rank the bulk of the points right): the
    # surrogate alone stays in their basin ...
    monkeypatch.setattr(rel_, "top_weighted_tau", rel_.kendall_tau)
    plain_alone = _mislead_run(sources, 30, bandit_start=10**6)
    assert plain_alone[1] == ["proposal"] + ["gp"] * 29
    assert plain_alone[0][-1] > 0.29
    # ... and the bandit's cold arm is what finds the deeper basin (GP or TPE then refine it).
    plain_bandit = _mislead_run(sources, 30, bandit_start=10)
    assert plain_bandit[1][:10] == ["proposal"] + ["gp"] * 9 and "cold" in plain_bandit[1][10:20]
    assert plain_bandit[0][-1] < 0.1


def _grid_objective(trial: optuna.Trial, shift: int = 0) -> float:
    """45 configurations: two integers and a categorical."""
    a = trial.suggest_int("a", 0, 4)
    b = trial.suggest_categorical("b", ["p", "q", "r"])
    c = trial.suggest_int("c", 0, 2)
    return (a - 2 - shift) ** 2 + (b != "q") + 0.3 * c


def test_no_configuration_is_proposed_twice_while_new_ones_remain() -> None:
    sources = []
    for seed, shift in enumerate((0, 1)):
        src = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=seed))
        src.optimize(functools.partial(_grid_objective, shift=shift), n_trials=30)
        sources.append(src)
    study = optuna.create_study(sampler=WarmStartSampler(sources, seed=3))
    study.optimize(_grid_objective, n_trials=40)
    seen, repeated = set(), []
    for t in study.trials:
        key = tuple(sorted(t.params.items()))
        if key in seen:
            repeated.append(t.system_attrs[MODE_KEY])
        seen.add(key)
    modes = [t.system_attrs[MODE_KEY] for t in study.trials]
    assert {"gp", "cold", "tpe"} <= set(modes)
    # Of 45 configurations, 40 trials: no arm repeats one (the GP kept proposing its
    # incumbent; multivariate TPE, which is Optuna's, repeats once it concentrates, and after
    # 5 more draws the density ratio stands in for it).
    assert repeated == []
    assert min(t.value for t in study.trials) == 0.0


def test_known_configurations_are_every_other_trials_whatever_its_state() -> None:
    study = optuna.create_study()
    space = {
        "a": optuna.distributions.IntDistribution(0, 4),
        "b": CategoricalDistribution(["p", "q", "r"]),
    }
    for state, (a, b) in zip(
        (TrialState.COMPLETE, TrialState.PRUNED, TrialState.FAIL),
        ((0, "p"), (1, "q"), (2, "r")),
        strict=True,
    ):
        study.add_trial(
            optuna.trial.create_trial(
                params={"a": a, "b": b},
                distributions=space,
                state=state,
                value=1.0 if state == TrialState.COMPLETE else None,
            )
        )
    running = study.ask(space)  # RUNNING, a worker is evaluating it
    current = study.ask()  # the trial being sampled: not known to itself
    study.add_trial(  # another space: no key
        optuna.trial.create_trial(
            params={"z": 1.0},
            distributions={"z": optuna.distributions.FloatDistribution(0, 2)},
            value=0.0,
        )
    )
    enc = _sampler.SearchSpaceEncoder(space)
    frozen = study._storage.get_trial(current._trial_id)
    known = _sampler._known_configurations(study, frozen, enc)
    rows = enc.encode_many(
        [{"a": 0, "b": "p"}, {"a": 1, "b": "q"}, {"a": 2, "b": "r"}, running.params]
    )
    assert known == set(_sampler.row_keys(enc.snap(rows)))
    # The sampler passes the complete and pruned trials it has just encoded; same keys.
    scored = enc.encode_trials(
        study.get_trials(states=(TrialState.COMPLETE, TrialState.PRUNED)), out_of_range="nan"
    )
    assert _sampler._known_configurations(study, frozen, enc, scored=scored) == known
