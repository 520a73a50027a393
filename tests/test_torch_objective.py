"""TorchObjective: studies on shipped data, refit/save_best with weights, torch-specific input.

What every objective promises (bad input, failed trials, reporting, pruning records,
refit/save, artifacts) is tested once for all of them in ``test_objective_contract.py``.
"""

from __future__ import annotations

from collections.abc import Iterator
import json
from pathlib import Path

import numpy as np
import optuna
from optuna.distributions import FloatDistribution
from optuna.trial import TrialState
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.datasets import load_diabetes
from sklearn.datasets import load_digits
from sklearn.model_selection import train_test_split

torch = pytest.importorskip("torch")


from optuna_recipes.adapters import TorchObjective as LazyTorchObjective  # noqa: E402
from optuna_recipes.adapters.torch import TorchObjective  # noqa: E402
from optuna_recipes.adapters.torch import mlp  # noqa: E402

nn = torch.nn
# A fixed configuration (training and architecture), so results do not depend on sampling.
GOOD = {
    "optimizer": "adam",
    "lr": 1e-2,
    "batch_size": 64,
    "weight_decay": 1e-5,
    "lr_schedule": "constant",
    "n_layers": 1,
    "units_0": 64,
    "activation": "relu",
    "dropout": 0.1,
}
SMALL = {"n_layers": (1, 1), "units": (32, 64), "normalization": "none"}


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    threads = torch.get_num_threads()
    torch.set_num_threads(1)  # small models; avoids OpenMP oversubscription under pytest -n 2
    yield
    torch.set_num_threads(threads)


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    x, y = load_digits(return_X_y=True)
    return tuple(train_test_split(x / 16.0, y, test_size=0.25, stratify=y, random_state=0))


def small_mlp(trial: optuna.Trial) -> nn.Module:
    return mlp(trial, 64, 10, **SMALL)  # type: ignore[arg-type]


def objective_for(digits: tuple[np.ndarray, ...], **kwargs: object) -> TorchObjective:
    xt, xv, yt, yv = digits
    args: dict[str, object] = {"loss": "cross_entropy", "metric": "accuracy", "epochs": 6}
    args.update(kwargs)
    return TorchObjective(small_mlp, (xt, yt), (xv, yv), **args)  # type: ignore[arg-type]


@pytest.mark.slow
def test_study_on_digits_reports_every_epoch(digits: tuple[np.ndarray, ...]) -> None:
    objective = objective_for(digits, epochs=8, patience=3)
    assert objective.direction == "maximize"
    assert set(objective.search_space) == {
        "optimizer",
        "lr",
        "batch_size",
        "weight_decay",
        "momentum",
        "lr_schedule",
    }
    assert LazyTorchObjective is TorchObjective
    study = optuna.create_study(
        direction=objective.direction, sampler=optuna.samplers.TPESampler(seed=0)
    )
    study.enqueue_trial(GOOD)
    study.optimize(objective, n_trials=4)
    assert study.best_value >= 0.95
    for trial in study.trials:
        assert trial.state == TrialState.COMPLETE
        curve = trial.intermediate_values
        assert list(curve) == list(range(trial.user_attrs["n_rounds"]))
        assert trial.value == max(curve.values())
        assert curve[trial.user_attrs["best_iteration"]] == trial.value
        assert ("momentum" in trial.params) == (trial.params["optimizer"] == "sgd")
        assert {"n_layers", "units_0", "activation", "dropout"} <= set(trial.params)


def test_refit_and_save_best_reproduce_the_best_trial(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    _, xv, _, yv = digits
    objective = objective_for(digits, epochs=6, patience=2)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial({**GOOD, "lr_schedule": "cosine", "dropout": 0.2})
    study.enqueue_trial({**GOOD, "optimizer": "sgd", "momentum": 0.9, "lr": 0.05})
    study.optimize(objective, n_trials=2)
    # Same seed, same data, best_iteration + 1 epochs: the same network as the best trial.
    model = objective.refit(study)
    assert model.evaluate(xv, yv)["accuracy"] == study.best_value
    record = objective.save_best(study, tmp_path / "best.json")
    assert (tmp_path / "best.pt").exists()
    on_disk = json.loads((tmp_path / "best.json").read_text())
    assert on_disk["state_dict"] == "best.pt" and on_disk["library"] == "torch"
    assert on_disk["params"] == study.best_params and record["seed"] == 0
    assert on_disk["loss"] == "cross_entropy" and on_disk["metric"] == "accuracy"
    loaded = objective.load_model(tmp_path / "best.json")
    assert torch.equal(loaded.predict(xv), model.predict(xv))
    assert loaded.evaluate(xv, yv)["accuracy"] == study.best_value


def test_space_override_fixed_params_and_cross_validation(digits: tuple[np.ndarray, ...]) -> None:
    xt, _, yt, _ = digits
    objective = TorchObjective(
        small_mlp,
        (xt, yt),
        metric="log_loss",
        epochs=3,
        cv=3,
        space={"lr_schedule": None, "lr": FloatDistribution(3e-3, 3e-2, log=True)},
        fixed_params={"optimizer": "adamw", "batch_size": 128},
    )
    assert objective.direction == "minimize" and objective.metric.native == "loss"
    assert set(objective.search_space) == {"lr", "weight_decay", "momentum"}
    study = optuna.create_study(direction="minimize", sampler=optuna.samplers.RandomSampler(0))
    study.optimize(objective, n_trials=2)
    for trial in study.trials:
        assert 3e-3 <= trial.params["lr"] <= 3e-2
        assert "optimizer" not in trial.params and "momentum" not in trial.params
        assert len(trial.user_attrs["fold_scores"]) == 3
        assert trial.value == pytest.approx(np.mean(trial.user_attrs["fold_scores"]))
        assert trial.value < 1.0  # chance level is ln(10) = 2.3
    with pytest.raises(ValueError, match="`space` names 'dropout_rate'"):
        TorchObjective(small_mlp, (xt, yt), space={"dropout_rate": FloatDistribution(0, 1)})
    with pytest.raises(ValueError, match="unknown training parameters \\['units'\\]"):
        TorchObjective(small_mlp, (xt, yt), fixed_params={"units": 3})
    with pytest.raises(ValueError, match="`optimizer` must be one of"):
        TorchObjective(small_mlp, (xt, yt), fixed_params={"optimizer": "lamb"})


def test_regression_binary_and_dataset_inputs() -> None:
    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    objective = TorchObjective(
        lambda t: mlp(t, 10, 1, **SMALL), (x, (y - y.mean()) / y.std()), metric="r2", epochs=15
    )
    assert objective.task == "regression" and objective.loss_spec.name == "mse"
    study = optuna.create_study(direction=objective.direction)
    study.enqueue_trial(GOOD)
    study.optimize(objective, n_trials=1)
    assert study.best_value > 0.3

    xb, yb = load_breast_cancer(return_X_y=True)
    xb = (xb - xb.mean(0)) / xb.std(0)
    binary = TorchObjective(
        lambda t: mlp(t, 30, 1, **SMALL), (xb, yb), loss="bce_with_logits", metric="roc_auc",
        epochs=3,
    )  # fmt: skip
    assert binary.direction == "maximize" and binary.metric.native is None
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(GOOD)
    study.optimize(binary, n_trials=1)
    assert study.best_value > 0.97

    xd, yd = load_digits(return_X_y=True)
    xs, ys = torch.tensor(xd / 16.0, dtype=torch.float32), torch.tensor(yd)

    class Pairs(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(xs)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            return xs[i], ys[i]

    from_dataset = TorchObjective(small_mlp, Pairs(), metric="accuracy", epochs=3)
    assert from_dataset.data_shape == (1797, 64) and from_dataset.n_classes == 10
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(GOOD)
    study.optimize(from_dataset, n_trials=1)
    assert study.best_value > 0.9
    assert from_dataset.refit(study).evaluate(Pairs())["accuracy"] > 0.9


def test_bad_input_raises_before_training(digits: tuple[np.ndarray, ...]) -> None:
    xt, xv, yt, yv = digits
    with pytest.raises(ValueError, match="Unknown `loss` 'hinge'"):
        TorchObjective(small_mlp, (xt, yt), loss="hinge")
    with pytest.raises(ValueError, match="`task='binary'` needs exactly 2 distinct labels"):
        TorchObjective(small_mlp, (xt, yt), loss="bce_with_logits")
    with pytest.raises(ValueError, match="is empty"):
        TorchObjective(small_mlp, (xt[:0], yt[:0]))
    with pytest.raises(ValueError, match="pass its Dataset"):
        loader = torch.utils.data.DataLoader(torch.utils.data.TensorDataset(torch.zeros(4, 2)))
        TorchObjective(small_mlp, loader)
    with pytest.raises(ValueError, match="`validation_data` has \\(60,\\) features"):
        TorchObjective(small_mlp, (xt, yt), (xv[:, :60], yv))
    with pytest.raises(ValueError, match="`validation_batch_size` must be an int >= 1"):
        TorchObjective(small_mlp, (xt, yt), validation_batch_size=0)
    with pytest.raises(TypeError, match="multiple values for keyword argument 'max_rounds'"):
        TorchObjective(small_mlp, (xt, yt), max_rounds=3)  # spelled `epochs` here
    with pytest.raises(ValueError, match="does not support ranking"):
        TorchObjective(small_mlp, (xt, yt), group=[len(xt)])
    study = optuna.create_study(direction="minimize")  # log loss
    wrong_out = TorchObjective(lambda t: mlp(t, 64, 3, **SMALL), (xt, yt), (xv, yv), epochs=1)
    with pytest.raises(
        ValueError, match=r"`y` has 10 classes but the network .* outputs 3 logits"
    ):
        study.optimize(wrong_out, n_trials=1)
    wrong_in = TorchObjective(lambda t: mlp(t, 32, 10, **SMALL), (xt, yt), (xv, yv), epochs=1)
    with pytest.raises(ValueError, match="cannot run on `train_data` inputs"):
        study.optimize(wrong_in, n_trials=1)
    not_a_module = TorchObjective(lambda t: "mlp", (xt, yt), (xv, yv), epochs=1)
    with pytest.raises(ValueError, match=r"must return a torch\.nn\.Module; it returned str"):
        study.optimize(not_a_module, n_trials=1)


def test_nan_and_inf_inputs_are_data_errors_not_divergence(
    digits: tuple[np.ndarray, ...],
) -> None:
    """Issue 26: NaN/inf features were reported as "training diverged" in every trial."""
    xt, xv, yt, yv = digits
    bad = xt.copy()
    bad[4, 10] = np.nan
    with pytest.raises(ValueError, match=r"`train_data x` has 1 NaN value\(s\) in columns \[10\]"):
        TorchObjective(small_mlp, (bad, yt))
    tensor = torch.tensor(xt, dtype=torch.float32)
    tensor[0, 3] = -float("inf")
    with pytest.raises(ValueError, match=r"infinite value\(s\) in columns \[3\]"):
        TorchObjective(small_mlp, (tensor, yt))
    bad_valid = xv.copy()
    bad_valid[0, 0] = np.inf
    with pytest.raises(ValueError, match="`valid_data x` has 1 infinite"):
        TorchObjective(small_mlp, (xt, yt), (bad_valid, yv))


def test_threads_are_set_for_the_trial_and_restored(digits: tuple[np.ndarray, ...]) -> None:
    seen: list[int] = []

    def build(trial: optuna.Trial) -> nn.Module:
        seen.append(torch.get_num_threads())
        return small_mlp(trial)

    xt, xv, yt, yv = digits
    objective = TorchObjective(build, (xt, yt), (xv, yv), epochs=1, n_jobs=2)
    torch.set_num_threads(1)
    study = optuna.create_study(direction=objective.direction)
    study.enqueue_trial(GOOD)
    study.optimize(objective, n_trials=1)
    assert seen == [2] and torch.get_num_threads() == 1  # the module fixture's setting


def test_load_model_reads_only_weights_next_to_its_json(
    digits: tuple[np.ndarray, ...], tmp_path: Path
) -> None:
    objective = objective_for(digits, epochs=1)
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(GOOD)
    study.optimize(objective, n_trials=1)
    objective.save_best(study, tmp_path / "run" / "best.json")
    record = json.loads((tmp_path / "run" / "best.json").read_text())
    (tmp_path / "best.pt").write_bytes((tmp_path / "run" / "best.pt").read_bytes())
    record["state_dict"] = "../best.pt"
    (tmp_path / "run" / "best.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"outside its folder.*allow_outside=True"):
        objective.load_model(tmp_path / "run" / "best.json")
    objective.load_model(tmp_path / "run" / "best.json", allow_outside=True)
    # A pickle that runs code is not weights: torch.load(weights_only=True) refuses it.
    torch.save({"weights": Path("/etc/passwd")}, tmp_path / "run" / "evil.pt")
    record["state_dict"] = "evil.pt"
    (tmp_path / "run" / "best.json").write_text(json.dumps(record))
    with pytest.raises(ValueError, match=r"evil\.pt cannot be loaded as this network's weights"):
        objective.load_model(tmp_path / "run" / "best.json")


def test_torch_estimator_refits_like_the_objective(digits: tuple[np.ndarray, ...]) -> None:
    from sklearn.base import clone
    from sklearn.base import is_classifier
    from sklearn.base import is_regressor

    xt, xv, yt, yv = digits
    names = np.array([f"digit-{d}" for d in range(10)])
    objective = TorchObjective(small_mlp, (xt, names[yt]), (xv, names[yv]), epochs=3)
    study = optuna.create_study(direction=objective.direction)
    study.enqueue_trial(GOOD)
    study.optimize(objective, n_trials=1)
    model = objective.best_estimator(study)
    assert is_classifier(model) and list(model.classes_) == sorted(names)
    predicted = model.predict(xv)
    assert isinstance(predicted, np.ndarray) and np.mean(predicted == names[yv]) > 0.85
    again = clone(model).fit(xt, names[yt])  # scikit-learn style refit: the same network
    np.testing.assert_array_equal(again.predict_proba(xv), model.predict_proba(xv))

    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    reg = TorchObjective(lambda t: mlp(t, 10, 1, **SMALL), (x, y / 100), epochs=2)
    study = optuna.create_study(direction=reg.direction)
    study.enqueue_trial(GOOD)
    study.optimize(reg, n_trials=1)
    model = reg.best_estimator(study)
    assert is_regressor(model) and model.predict(x).shape == (len(x),)
    assert not hasattr(model, "predict_proba")


def test_sample_weight_needs_arrays_a_named_loss_and_a_weighted_metric(
    digits: tuple[np.ndarray, ...],
) -> None:
    xt, _, yt, _ = digits
    w = np.ones(len(yt))
    with pytest.raises(ValueError, match="needs a built-in loss"):
        TorchObjective(small_mlp, (xt, yt), loss=lambda p, t: p.sum(), task="multiclass",
                       sample_weight=w)  # fmt: skip
    with pytest.raises(ValueError, match="`metric='loss'` is not weighted"):
        TorchObjective(small_mlp, (xt, yt), metric="loss", sample_weight=w)
    pairs = torch.utils.data.TensorDataset(torch.zeros(4, 2), torch.zeros(4))
    wrapped = torch.utils.data.Subset(pairs, [0, 1, 2, 3])
    with pytest.raises(ValueError, match="needs in-memory"):
        TorchObjective(small_mlp, wrapped, sample_weight=np.ones(4), task="regression")


def test_device_auto_falls_back_to_cpu(digits: tuple[np.ndarray, ...]) -> None:
    objective = objective_for(digits, device="auto", epochs=1)
    assert objective.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    study = optuna.create_study(direction="maximize")
    study.enqueue_trial(GOOD)
    study.optimize(objective, n_trials=1)
    assert study.trials[0].state == TrialState.COMPLETE
    assert objective.describe()["device"] == str(objective.device)
