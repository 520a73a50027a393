"""transfer_report: how WarmStartSampler sampled a study, read back from its trials."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

from _storage_kit import StorageSpec
from _storage_kit import isolated_storage
import conftest
import numpy as np
import optuna
import pytest

from optuna_recipes.cli import main
from optuna_recipes.samplers import WarmStartSampler
from optuna_recipes.warm_start import TransferReport
from optuna_recipes.warm_start import create_warm_started_study
from optuna_recipes.warm_start import transfer_report
from optuna_recipes.warm_start._report import PROPOSERS


def _quadratic(trial: optuna.Trial, centre: float, sign: float = 1.0) -> float:
    x = trial.suggest_float("x", -5, 5)
    n = trial.suggest_int("n", 0, 8)
    return sign * ((x - centre) ** 2 + 0.1 * (n - 3) ** 2)


def _source(name: str, centre: float, sign: float = 1.0, seed: int = 0) -> optuna.Study:
    study = optuna.create_study(study_name=name, sampler=optuna.samplers.TPESampler(seed=seed))
    study.optimize(lambda t: _quadratic(t, centre, sign), n_trials=30)
    return study


@pytest.fixture(scope="module")
def misled() -> optuna.Study:
    """Two related sources and one whose best points are the target's worst (it maximizes the
    same function), 30 trials."""
    sources = [
        _source("month-08", 1.0, seed=1),
        _source("month-09", 1.1, seed=2),
        _source("inverted", 1.0, sign=-1.0, seed=3),
    ]
    study = optuna.create_study(study_name="month-10", sampler=WarmStartSampler(sources, seed=0))
    study.optimize(lambda t: _quadratic(t, 1.2), n_trials=30)
    return study


def test_one_row_per_finished_trial_with_its_recorded_proposer(misled: optuna.Study) -> None:
    report = transfer_report(misled)
    assert isinstance(report, TransferReport)
    assert report.trials["number"].tolist() == list(range(30))
    assert set(report.trials["mode"]) <= set(PROPOSERS) - {"other"}
    for trial, mode in zip(misled.trials, report.trials["mode"], strict=True):
        assert trial.system_attrs["optuna_recipes.warm_start:mode"] == mode
    assert report.trials.loc[0, "mode"] == "proposal"
    assert report.sources == ["month-08", "month-09", "inverted"]
    assert sum(report.mode_counts().values()) == 30


def test_new_bests_and_the_best_trial_match_the_study(misled: optuna.Study) -> None:
    report = transfer_report(misled)
    values = np.array([t.value for t in misled.trials])
    running = np.minimum.accumulate(values)
    expected = np.r_[True, values[1:] < running[:-1]]
    assert report.trials["new_best"].tolist() == expected.tolist()
    assert report.best_trial == misled.best_trial.number
    assert report.best_mode == misled.best_trial.system_attrs["optuna_recipes.warm_start:mode"]
    assert sum(report.new_bests().values()) == int(expected.sum())


def test_the_misleading_source_is_named_faded_with_a_hint(misled: optuna.Study) -> None:
    report = transfer_report(misled)
    weights = report.final_weights()
    assert set(weights) == {"month-08", "month-09", "inverted"}
    assert weights["inverted"] == 0.0 and weights["month-08"] > 0.0
    assert report.faded_sources() == ["inverted"]
    text = str(report)
    assert "inverted" in text and "(faded)" in text and "Hint: 1 source(s)" in text
    assert f"at trial {report.best_trial}, proposed by {report.best_mode}" in text


def test_trials_sampled_after_every_source_faded_are_listed() -> None:
    inverted = _source("inverted", 1.0, sign=-1.0, seed=0)
    study = optuna.create_study(sampler=WarmStartSampler([inverted], seed=0))
    study.optimize(lambda t: _quadratic(t, 1.0), n_trials=25)
    report = transfer_report(study)
    faded = report.faded_trials()
    assert faded and report.faded_at == faded[0]
    rows = report.trials.set_index("number").loc[faded]
    # Multivariate TPE (its density-ratio stand-in during TPE's startup trials) proposed them.
    assert set(rows["mode"]) <= {"tpe", "parzen"}
    assert f"the first at trial {faded[0]}" in str(report)


def test_maximize_pruned_and_unsampled_trials() -> None:
    source = _source("old", 1.0, sign=-1.0)  # maximize -(...) : same optimum
    source_max = optuna.create_study(direction="maximize", study_name="old-max")
    source_max.add_trials(source.trials)
    study = optuna.create_study(direction="maximize", sampler=WarmStartSampler([source_max]))

    def objective(trial: optuna.Trial) -> float:
        value = _quadratic(trial, 1.0, sign=-1.0)
        if trial.number in (3, 4):
            raise optuna.TrialPruned()
        return value

    study.optimize(objective, n_trials=12)
    study.enqueue_trial({"x": 1.0, "n": 3})
    study.optimize(objective, n_trials=1)
    report = transfer_report(study)
    assert report.direction == "maximize"
    assert report.best_trial == study.best_trial.number == 12  # the enqueued optimum
    pruned = report.trials.set_index("number").loc[[3, 4]]
    assert pruned["state"].tolist() == ["PRUNED", "PRUNED"]
    assert pruned["value"].isna().all() and not pruned["new_best"].any()


def test_a_study_without_warm_start_records_is_refused_with_the_fix() -> None:
    study = optuna.create_study(study_name="plain")
    study.optimize(lambda t: _quadratic(t, 1.0), n_trials=3)
    with pytest.raises(ValueError, match=r"plain.*WarmStartSampler.*create_warm_started_study"):
        transfer_report(study)
    multi = optuna.create_study(directions=["minimize", "minimize"])
    with pytest.raises(ValueError, match="2 objectives"):
        transfer_report(multi)


def test_an_empty_study_reports_that_it_has_no_trials_yet() -> None:
    study = optuna.create_study(sampler=WarmStartSampler([_source("old", 1.0)]))
    report = transfer_report(study)
    assert report.trials.empty and report.best_trial is None and report.best_mode is None
    assert report.final_weights() == {} and report.faded_at is None
    assert "No finished trial yet" in str(report)


def test_cli_report(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    url = f"sqlite:///{tmp_path / 'hpo.db'}"
    for month, centre in (("2026-09", 1.0), ("2026-10", 1.1)):
        old = optuna.create_study(
            study_name=f"churn-{month}", storage=url, sampler=optuna.samplers.TPESampler(seed=0)
        )
        old.optimize(lambda t, c=centre: _quadratic(t, c), n_trials=15)
    study = create_warm_started_study(url, "churn-2026-11", source_pattern="churn-*", seed=0)
    study.optimize(lambda t: _quadratic(t, 1.2), n_trials=8)
    capsys.readouterr()
    argv = ["warmstart", "--storage", url, "--study", "churn-2026-11", "--report"]
    assert main(argv) == 0
    out = capsys.readouterr().out
    assert out.startswith("Warm start of study 'churn-2026-11' (minimize): 8 finished trial(s)")
    assert "churn-2026-09" in out and "churn-2026-10" in out
    assert main([*argv[:4], "churn-2026-09", "--report"]) == 2
    assert "sampled by WarmStartSampler" in capsys.readouterr().err
    assert main([*argv[:4], "nope", "--report"]) == 2
    assert "no study named 'nope'" in capsys.readouterr().err
    assert main([*argv, "--from", "churn-*"]) == 2
    assert "drop --from/--sources" in capsys.readouterr().err


def test_the_docstring_example_runs(capsys: pytest.CaptureFixture[str]) -> None:
    import textwrap

    doc = TransferReport.__doc__ or ""
    exec(textwrap.dedent(doc.split(".. code-block:: python\n", 1)[1]), {})
    assert "proposed by" in capsys.readouterr().out


@pytest.fixture
def postgres_url(tmp_path: Path) -> Iterator[str]:
    """A fresh PostgreSQL database, as a URL without a driver (the command picks one)."""
    conftest.require_server("postgresql")
    with isolated_storage("postgresql", str(tmp_path)) as spec:
        assert isinstance(spec, StorageSpec)
        yield spec.location.replace("postgresql+psycopg2://", "postgresql://")


@pytest.mark.postgres
def test_cli_report_reads_a_postgresql_study(
    postgres_url: str, capsys: pytest.CaptureFixture[str]
) -> None:
    old = optuna.create_study(study_name="churn-2026-10", storage=postgres_url)
    old.optimize(lambda t: _quadratic(t, 1.0), n_trials=10)
    study = create_warm_started_study(postgres_url, "churn-2026-11", source_pattern="churn-*")
    study.optimize(lambda t: _quadratic(t, 1.1), n_trials=4)
    capsys.readouterr()
    assert (
        main(["warmstart", "--storage", postgres_url, "--study", "churn-2026-11", "--report"]) == 0
    )
    assert "4 finished trial(s), 1 source study(ies)" in capsys.readouterr().out


def test_cli_report_never_prints_a_password(capsys: pytest.CaptureFixture[str]) -> None:
    url = "postgresql+psycopg2://bench:s3cret@127.0.0.1:1/hpo"  # nothing listens on port 1
    assert main(["warmstart", "--storage", url, "--study", "new", "--report"]) == 2
    out, err = capsys.readouterr()
    assert "s3cret" not in out + err and "bench:***@127.0.0.1" in err
