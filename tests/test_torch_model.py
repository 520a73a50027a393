"""Keras-style PyTorch model: fit/evaluate/predict on shipped data, callbacks, inputs, devices."""

from __future__ import annotations

from collections.abc import Iterator
import subprocess
import sys
import textwrap

import numpy as np
import optuna
import pytest
from sklearn.datasets import load_breast_cancer
from sklearn.datasets import load_diabetes
from sklearn.datasets import load_digits
from sklearn.metrics import accuracy_score
from sklearn.metrics import mean_absolute_error
from sklearn.metrics import r2_score
from sklearn.model_selection import train_test_split

torch = pytest.importorskip("torch")

from _objective_kit import seed_new_studies  # noqa: E402

from optuna_recipes import _optuna_compat as compat  # noqa: E402
from optuna_recipes.adapters.torch import EarlyStopping  # noqa: E402
from optuna_recipes.adapters.torch import Metric  # noqa: E402
from optuna_recipes.adapters.torch import Model  # noqa: E402
from optuna_recipes.adapters.torch import PruningCallback  # noqa: E402
from optuna_recipes.adapters.torch import TerminateOnNaN  # noqa: E402
from optuna_recipes.adapters.torch import TorchEstimator  # noqa: E402
from optuna_recipes.adapters.torch import mlp  # noqa: E402

nn = torch.nn


@pytest.fixture(scope="module")
def digits() -> tuple[np.ndarray, ...]:
    x, y = load_digits(return_X_y=True)
    return tuple(train_test_split(x / 16.0, y, test_size=0.25, stratify=y, random_state=0))


def small_net(seed: int = 0, in_features: int = 64, out: int = 10, hidden: int = 64) -> nn.Module:
    torch.manual_seed(seed)
    return nn.Sequential(nn.Linear(in_features, hidden), nn.ReLU(), nn.Linear(hidden, out))


@pytest.fixture(autouse=True, scope="module")
def one_thread() -> Iterator[None]:
    # Small models gain nothing from threads; on a loaded CI box (pytest -n 2 on 2 cores)
    # OpenMP oversubscription makes them 10-30x slower.
    threads = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(threads)


def compiled(net: nn.Module) -> Model:
    return Model(net, seed=0).compile(
        lambda p: torch.optim.Adam(p, lr=1e-2), "cross_entropy", metrics=["accuracy"]
    )


def test_fit_learns_digits_and_reports_history(digits: tuple[np.ndarray, ...]) -> None:
    xt, xv, yt, yv = digits
    model = compiled(small_net())
    history = model.fit(xt, yt, epochs=8, batch_size=32, validation_data=(xv, yv))
    assert history.epoch == list(range(8))
    assert set(history.history) == {"loss", "accuracy", "val_loss", "val_accuracy", "lr"}
    assert all(len(v) == 8 for v in history.history.values())
    assert history["loss"][-1] < history["loss"][0] / 3
    assert history["val_accuracy"][-1] >= 0.95
    result = model.evaluate(xv, yv)
    assert result["accuracy"] == pytest.approx(history["val_accuracy"][-1])
    pred = model.predict(xv)
    assert pred.shape == (len(xv), 10)
    assert accuracy_score(yv, pred.argmax(1).numpy()) == pytest.approx(result["accuracy"])
    loss = nn.functional.cross_entropy(pred, torch.as_tensor(yv)).item()
    assert result["loss"] == pytest.approx(loss, rel=1e-5)


def test_every_data_form_trains(digits: tuple[np.ndarray, ...]) -> None:
    xt, xv, yt, yv = digits
    xt_t, yt_t = torch.tensor(xt, dtype=torch.float32), torch.tensor(yt)

    class Pairs(torch.utils.data.Dataset):
        def __len__(self) -> int:
            return len(xt_t)

        def __getitem__(self, i: int) -> tuple[torch.Tensor, torch.Tensor]:
            return xt_t[i], yt_t[i]

    # numpy, tensors and a two-tensor TensorDataset share one in-memory path: same history.
    h_np = compiled(small_net()).fit(xt, yt, epochs=2, batch_size=64).history
    h_t = compiled(small_net()).fit(xt_t, yt_t, epochs=2, batch_size=64).history
    ds = torch.utils.data.TensorDataset(xt_t, yt_t)
    h_ds = compiled(small_net()).fit(ds, epochs=2, batch_size=64).history
    assert h_np == h_t == h_ds
    loader = torch.utils.data.DataLoader(Pairs(), batch_size=64, shuffle=True)
    for data in (Pairs(), loader):
        model = compiled(small_net())
        model.fit(data, epochs=4, batch_size=64, validation_data=Pairs())
        assert model.evaluate(xv, yv)["accuracy"] >= 0.9
        val_loader = torch.utils.data.DataLoader(
            torch.utils.data.TensorDataset(
                torch.tensor(xv, dtype=torch.float32), torch.tensor(yv)
            ),
            batch_size=100,
        )
        assert torch.equal(model.predict(val_loader), model.predict(xv))


def test_seeded_fit_is_deterministic_and_leaves_global_rng_alone(
    digits: tuple[np.ndarray, ...],
) -> None:
    xt, _, yt, _ = digits
    states = []
    for _ in range(2):
        torch.manual_seed(123)
        net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.3), nn.Linear(32, 10))
        before = torch.get_rng_state()
        Model(net, seed=7).compile("sgd", "cross_entropy").fit(xt, yt, epochs=2)
        assert torch.equal(torch.get_rng_state(), before)
        states.append(net.state_dict())
    assert all(torch.equal(states[0][k], states[1][k]) for k in states[0])


def test_early_stopping_restores_best_weights(digits: tuple[np.ndarray, ...]) -> None:
    xt, xv, yt, yv = digits
    # A small training set and a wide net overfit: val_loss rises after a few epochs.
    model = Model(small_net(hidden=256), seed=0).compile(
        lambda p: torch.optim.Adam(p, lr=3e-2), "cross_entropy", metrics=["accuracy"]
    )
    stop = EarlyStopping("val_loss", patience=2, restore_best_weights=True)
    history = model.fit(xt[:150], yt[:150], epochs=60, validation_data=(xv, yv), callbacks=[stop])
    assert stop.stopped_epoch == len(history.epoch) - 1 < 59
    assert stop.best_epoch == stop.stopped_epoch - 3
    assert history["val_loss"][-1] > stop.best
    assert model.evaluate(xv, yv)["loss"] == pytest.approx(stop.best, rel=1e-6)


class _StubModel:
    """Not a Model: only the public protocol callbacks rely on (``TrainedModel``)."""

    def __init__(self) -> None:
        self.stop_training = False
        self.weights = {"w": torch.zeros(1)}

    def state_dict(self) -> dict[str, torch.Tensor]:
        return self.weights

    def load_state_dict(self, state: dict[str, torch.Tensor]) -> None:
        self.weights = state

    def check_log_key(self, key: str, who: str) -> None:
        assert key == "val_loss"

    def higher_is_better(self, key: str) -> bool:
        return False


@pytest.mark.parametrize(
    ("values", "patience", "min_delta", "stopped", "best_epoch"),
    [
        ([1.0, 0.5, 0.6, 0.7, 0.4], 2, 0.0, None, 4),
        ([1.0, 0.5, 0.6, 0.7, 0.8], 2, 0.0, 4, 1),
        ([1.0, 0.5, 0.6, 0.4], 0, 0.0, 2, 1),
        ([1.0, 0.95, 0.92, 0.9], 1, 0.1, 2, 0),
        ([1.0, float("nan"), 0.9], 1, 0.0, None, 2),
    ],
)
def test_early_stopping_patience(
    values: list[float], patience: int, min_delta: float, stopped: int | None, best_epoch: int
) -> None:
    stop = EarlyStopping(patience=patience, min_delta=min_delta, restore_best_weights=True)
    stub = _StubModel()
    stop.set_model(stub)
    stop.on_train_begin()
    for epoch, value in enumerate(values):
        stub.weights = {"w": torch.tensor([float(epoch)])}
        stop.on_epoch_end(epoch, {"val_loss": value})
        if stub.stop_training:
            break
    stop.on_train_end()
    assert stop.stopped_epoch == stopped
    assert stop.best_epoch == best_epoch
    assert stub.weights["w"].item() == best_epoch  # restored through the protocol


def test_regression_metrics_match_sklearn() -> None:
    x, y = load_diabetes(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    y = (y - y.mean()) / y.std()
    model = Model(small_net(in_features=10, out=1), seed=0).compile(
        lambda p: torch.optim.Adam(p, lr=1e-2), "mse", metrics=["r2", "mae", "rmse"]
    )
    model.fit(x[:350], y[:350], epochs=30, batch_size=32)  # (n,) targets vs (n, 1) outputs
    result = model.evaluate(x[350:], y[350:], batch_size=17)
    pred = model.predict(x[350:]).numpy().ravel()
    assert result["r2"] == pytest.approx(r2_score(y[350:], pred), abs=1e-5)
    assert result["mae"] == pytest.approx(mean_absolute_error(y[350:], pred), abs=1e-5)
    assert result["rmse"] ** 2 == pytest.approx(result["loss"], rel=1e-5)
    assert result["r2"] > 0.3


def test_binary_classification_with_bce(digits: tuple[np.ndarray, ...]) -> None:
    x, y = load_breast_cancer(return_X_y=True)
    x = (x - x.mean(0)) / x.std(0)
    model = Model(small_net(in_features=30, out=1), seed=0).compile(
        "adam", "binary_crossentropy", metrics=["accuracy"]
    )
    model.fit(x[:450], y[:450], epochs=10)
    result = model.evaluate(x[450:], y[450:])
    pred = (model.predict(x[450:]).numpy().ravel() > 0).astype(int)
    assert result["accuracy"] == pytest.approx(accuracy_score(y[450:], pred))
    assert result["accuracy"] > 0.9


def test_scheduler_and_named_optimizers(digits: tuple[np.ndarray, ...]) -> None:
    xt, _, yt, _ = digits
    model = Model(small_net()).compile(
        "sgd", "cross_entropy", scheduler=lambda opt: torch.optim.lr_scheduler.StepLR(opt, 1, 0.5)
    )
    history = model.fit(xt[:200], yt[:200], epochs=3)
    assert history["lr"] == pytest.approx([1e-2, 5e-3, 2.5e-3])
    assert isinstance(model.optimizer, torch.optim.SGD)
    for name, cls in [("adamw", torch.optim.AdamW), ("rmsprop", torch.optim.RMSprop)]:
        assert isinstance(Model(small_net()).compile(name, "mse").optimizer, cls)


def test_terminate_on_nan_stops(digits: tuple[np.ndarray, ...]) -> None:
    xt, _, yt, _ = digits
    x_bad = xt.copy()
    x_bad[0, 0] = np.nan
    guard = TerminateOnNaN()
    history = compiled(small_net()).fit(x_bad, yt, epochs=5, callbacks=[guard])
    assert guard.stopped_epoch == 0
    assert len(history.epoch) == 1 and np.isnan(history["loss"][0])


def test_pruning_callback_prunes_when_told(digits: tuple[np.ndarray, ...]) -> None:
    xt, xv, yt, yv = digits
    study = optuna.create_study(
        direction="maximize", pruner=optuna.pruners.ThresholdPruner(lower=0.99)
    )
    trial = study.ask()
    cb = PruningCallback(trial, "val_accuracy")
    with pytest.raises(optuna.TrialPruned, match="epoch 0"):
        compiled(small_net()).fit(xt, yt, epochs=3, validation_data=(xv, yv), callbacks=[cb])
    assert list(trial.storage.get_trial(compat.trial_id_of(trial)).intermediate_values) == [0]


@pytest.mark.parametrize(
    ("kwargs", "match"),
    [
        ({"loss": "hinge"}, "Unknown `loss` 'hinge'"),
        ({"metrics": ["f1"]}, "Unknown metric 'f1'"),
        ({"metrics": ["r2"]}, "does not apply to the multiclass loss"),
        ({"optimizer": "lbfgsx"}, "Unknown `optimizer`"),
        ({"metrics": ["accuracy", "acc"]}, "distinct names"),
    ],
)
def test_compile_rejects_bad_names(kwargs: dict[str, object], match: str) -> None:
    args: dict[str, object] = {"optimizer": "adam", "loss": "cross_entropy", **kwargs}
    with pytest.raises(ValueError, match=match):
        Model(small_net()).compile(**args)  # type: ignore[arg-type]


def test_bad_data_fails_before_training(digits: tuple[np.ndarray, ...]) -> None:
    xt, xv, yt, yv = digits
    net = small_net()
    w0 = net[0].weight.detach().clone()
    model = compiled(net)
    cases = [
        ((xt[:, :60], yt), "cannot run on `x` inputs.*shape \\(2, 60\\)"),
        ((xt, yt.astype(float)), "integer class labels"),
        ((xt, yt + 5), "class labels in \\[5, 14\\].*10 classes"),
        ((xt, yt[:-1]), "same number of samples"),
        ((xt[:0], yt[:0]), "is empty"),
        ((np.array([["a"] * 64] * 3), yt[:3]), "must hold numbers"),
        ((xt, np.stack([yt, yt], 1)), "classification loss must be class labels"),
    ]
    for (x, y), match in cases:
        with pytest.raises(ValueError, match=match):
            model.fit(x, y, epochs=1)
    with pytest.raises(ValueError, match="`validation_data` must be \\(x_val, y_val\\)"):
        model.fit(xt, yt, validation_data=(xv, yv, yv))
    with pytest.raises(ValueError, match="cannot run on `validation_data`"):
        model.fit(xt, yt, validation_data=(xv[:, :3], yv))
    with pytest.raises(ValueError, match="`epochs` must be an int >= 1"):
        model.fit(xt, yt, epochs=0)
    with pytest.raises(ValueError, match="'val_acc' is not logged"):
        model.fit(xt, yt, validation_data=(xv, yv), callbacks=[EarlyStopping("val_acc")])
    with pytest.raises(ValueError, match="'val_loss' is not logged"):
        model.fit(xt, yt, callbacks=[EarlyStopping()])
    with pytest.raises(ValueError, match="Call `compile"):
        Model(small_net()).fit(xt, yt)
    with pytest.raises(ValueError, match="empty"):
        model.fit(torch.utils.data.TensorDataset(torch.zeros(0, 64), torch.zeros(0)), epochs=1)
    regression = Model(small_net(out=3)).compile("adam", "mse")
    with pytest.raises(ValueError, match=r"targets of the model output's shape.*\(2, 3\)"):
        regression.fit(xt, yt.astype(float))
    assert torch.equal(net[0].weight, w0), "no training step ran"


def test_devices_and_amp_arguments() -> None:
    model = Model(small_net(), device="auto")
    assert model.device.type == ("cuda" if torch.cuda.is_available() else "cpu")
    if not torch.cuda.is_available():
        with pytest.raises(ValueError, match="CUDA is not available"):
            Model(small_net(), device="cuda")
        with pytest.warns(UserWarning, match="only applies on CUDA"):
            assert Model(small_net(), amp=True).amp_dtype is None
    with pytest.raises(ValueError, match="`device` must be"):
        Model(small_net(), device="tpu9")
    with pytest.raises(ValueError, match="`amp` must be"):
        Model(small_net(), amp="int8")
    with pytest.raises(ValueError, match=r"`module` must be a torch\.nn\.Module"):
        Model(lambda x: x)  # type: ignore[arg-type]
    with pytest.raises(ValueError, match="`patience` must be an int >= 0"):
        EarlyStopping(patience=-1)


def test_mlp_builds_the_suggested_architecture() -> None:
    params = {
        "n_layers": 2,
        "activation": "gelu",
        "normalization": "layer",
        "dropout": 0.25,
        "units_0": 48,
        "units_1": 16,
    }
    net = mlp(optuna.trial.FixedTrial(params), 8, 3, units=(8, 64))
    kinds = [type(m).__name__ for m in net]
    assert kinds == ["Linear", "LayerNorm", "GELU", "Dropout"] * 2 + ["Linear"]
    assert [m.out_features for m in net if isinstance(m, nn.Linear)] == [48, 16, 3]
    assert net(torch.zeros(5, 8)).shape == (5, 3)
    assert len(mlp(optuna.trial.FixedTrial({"n_layers": 0}), 8, 3, n_layers=(0, 2))) == 1

    study = optuna.create_study(sampler=optuna.samplers.RandomSampler(seed=0))
    for _ in range(10):
        trial = study.ask()
        net = mlp(trial, 8, 2, n_layers=(1, 3), units=(4, 64), normalization="batch")
        depth = trial.params["n_layers"]
        assert {f"units_{i}" for i in range(depth)} <= set(trial.params)
        assert "normalization" not in trial.params  # a single choice is fixed, not tuned
        assert sum(isinstance(m, nn.BatchNorm1d) for m in net) == depth
        widths = [trial.params[f"units_{i}"] for i in range(depth)]
        assert all(4 <= w <= 64 for w in widths)
        study.tell(trial, 0.0)
    fixed = optuna.trial.FixedTrial({})
    net = mlp(
        fixed, 4, 2, n_layers=1, units=7, activation="tanh", dropout=0.0, normalization="none"
    )
    assert [type(m).__name__ for m in net] == ["Linear", "Tanh", "Linear"]
    with pytest.raises(ValueError, match="`activation` must be among"):
        mlp(fixed, 4, 2, n_layers=1, units=7, activation="swish")
    with pytest.raises(ValueError, match="`in_features` must be an int >= 1"):
        mlp(fixed, 0, 2)


@pytest.mark.slow
def test_importing_adapters_does_not_import_torch_and_missing_torch_names_the_extra() -> None:
    code = "import sys, optuna_recipes.adapters; print('torch' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"
    code = (
        "import sys; sys.modules['torch'] = None\n"
        "try:\n    import optuna_recipes.adapters.torch\n"
        "except ImportError as e:\n    print(e)\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert "pip install optuna-recipes[torch]" in out.stdout


@pytest.mark.parametrize(
    "obj",
    [Model, Metric, EarlyStopping, TerminateOnNaN, PruningCallback, mlp, TorchEstimator],
    ids=lambda o: o.__name__,
)
def test_docstring_examples_run(
    obj: object, capsys: pytest.CaptureFixture[str], monkeypatch: pytest.MonkeyPatch
) -> None:
    optuna.logging.set_verbosity(optuna.logging.WARNING)
    torch.manual_seed(0)  # the examples draw random data and create unseeded studies
    seed_new_studies(monkeypatch)
    doc = obj.__doc__ or ""
    code = doc.split(".. code-block:: python\n", 1)[1].split("\n    Args:")[0]
    exec(compile(textwrap.dedent(code), f"{obj.__name__}.__doc__", "exec"), {})


def test_interleaved_training_runs_match_separate_runs(digits: tuple[np.ndarray, ...]) -> None:
    """Folds trained in lockstep (TorchObjective with cv=k) get the same networks as alone."""
    from optuna_recipes.adapters.torch.model import TrainingRun

    xt, _, yt, _ = digits

    def run(seed: int, data: slice) -> TrainingRun:
        torch.manual_seed(0)
        net = nn.Sequential(nn.Linear(64, 32), nn.ReLU(), nn.Dropout(0.5), nn.Linear(32, 10))
        model = Model(net, seed=seed).compile("adam", "cross_entropy")
        return TrainingRun(model, model._source(xt[data], yt[data], "x"), None, batch_size=32,
                           val_batch_size=32)  # fmt: skip

    alone = []
    for seed, data in ((1, slice(0, 600)), (2, slice(600, None))):
        r = run(seed, data)
        alone.append([r.step()["loss"] for _ in range(3)])
    a, b = run(1, slice(0, 600)), run(2, slice(600, None))
    together: list[list[float]] = [[], []]
    for _ in range(3):
        together[0].append(a.step()["loss"])
        together[1].append(b.step()["loss"])
    assert together == alone


def test_device_metrics_speak_the_adapters_metric_vocabulary() -> None:
    from optuna_recipes.adapters._base.metrics import ALIASES
    from optuna_recipes.adapters._base.metrics import direction_of
    from optuna_recipes.adapters.torch.metrics import DEVICE_METRICS
    from optuna_recipes.adapters.torch.metrics import device_metric
    from optuna_recipes.adapters.torch.metrics import resolve_loss

    for name, cls in DEVICE_METRICS.items():
        assert cls.higher_is_better == (direction_of(name) == "maximize"), name
    loss = resolve_loss("mse")
    for alias, name in ALIASES.items():
        assert (
            device_metric(alias, loss if name != "accuracy" else resolve_loss("nll")).name == name
        )
    model = Model(small_net()).compile("adam", "cross_entropy", metrics=["acc"])
    assert model.higher_is_better("val_accuracy") and not model.higher_is_better("val_loss")


def test_a_builtin_loss_module_resolves_to_its_per_sample_twin() -> None:
    from optuna_recipes.adapters.torch.metrics import CUSTOM
    from optuna_recipes.adapters.torch.metrics import MULTICLASS
    from optuna_recipes.adapters.torch.metrics import resolve_loss

    module = torch.nn.CrossEntropyLoss(label_smoothing=0.1)
    spec = resolve_loss(module)
    assert (spec.fn, spec.name, spec.kind) == (module, "cross_entropy", MULTICLASS)
    assert module.reduction == "mean"  # the per-sample twin is a copy
    pred, target = torch.randn(6, 3), torch.tensor([0, 1, 2, 0, 1, 2])
    assert spec.per_sample is not None
    torch.testing.assert_close(spec.per_sample(pred, target).mean(), module(pred, target))
    torch.testing.assert_close(spec.weighted(pred, target, torch.ones(6)), module(pred, target))

    class Smoothed(torch.nn.CrossEntropyLoss):  # a subclass may change the loss: a user loss
        pass

    custom = resolve_loss(Smoothed())
    assert (custom.kind, custom.per_sample) == (CUSTOM, None)


def test_old_private_path_warns_and_resolves() -> None:
    from optuna_recipes.adapters import _torch_model
    from optuna_recipes.adapters.torch.model import TrainingRun

    with pytest.warns(DeprecationWarning, match="adapters.torch.model.TrainingRun"):
        assert _torch_model.TrainingRun is TrainingRun
