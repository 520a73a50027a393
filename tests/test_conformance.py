"""Optuna's own sampler conformance suite, run against every sampler we export, on every storage.

Every sampler class exported from ``optuna_recipes.samplers`` must have an entry in
``SAMPLER_FACTORIES`` (``test_every_exported_sampler_is_registered`` fails otherwise), so a new
sampler is checked the moment it is exported. Each entry builds the sampler with no further input
and says whether it supports multi-objective studies (``MultiObjectiveSamplerTestCase``) or must
refuse them (``SingleOnlySamplerTestCase``).

The suite's tests call ``optuna.create_study(...)`` without a storage; the autouse fixture below
patches it so that every test runs once per storage kind of ``_storage_kit.STORAGE_KINDS``.
"""

from __future__ import annotations

from collections.abc import Callable
from collections.abc import Iterator
import functools
from typing import Any

from _storage_kit import STORAGE_KINDS
from _storage_kit import isolated_storage
from conftest import require_server
import optuna
from optuna.samplers import BaseSampler
from optuna.testing.pytest_samplers import BasicSamplerTestCase
from optuna.testing.pytest_samplers import MultiObjectiveSamplerTestCase
from optuna.testing.pytest_samplers import RelativeSamplerTestCase
from optuna.testing.pytest_samplers import SingleOnlySamplerTestCase
import pytest

import optuna_recipes.samplers
from optuna_recipes.samplers import GeneticSampler


def _warm_start_sampler() -> BaseSampler:
    # A small in-memory source study whose "x" and "y" overlap the suite's parameter names.
    source = optuna.study.create_study(
        storage=optuna.storages.InMemoryStorage(),
        sampler=optuna.samplers.RandomSampler(seed=0),
    )
    source.optimize(
        lambda t: t.suggest_float("x", -10, 10) ** 2 + t.suggest_int("y", -10, 10), n_trials=10
    )
    return optuna_recipes.samplers.WarmStartSampler([source], seed=0)


# name -> (factory, supports multi-objective)
SAMPLER_FACTORIES: dict[str, tuple[Callable[[], BaseSampler], bool]] = {
    "WarmStartSampler": (_warm_start_sampler, False),
    "GeneticSampler": (lambda: GeneticSampler(seed=0), False),
}

SINGLE_ONLY = sorted(n for n, (_, mo) in SAMPLER_FACTORIES.items() if not mo)
MULTI = sorted(n for n, (_, mo) in SAMPLER_FACTORIES.items() if mo)


def _exported_samplers() -> set[str]:
    return {
        name
        for name in optuna_recipes.samplers.__all__
        if isinstance(obj := getattr(optuna_recipes.samplers, name), type)
        and issubclass(obj, BaseSampler)
    }


def test_every_exported_sampler_is_registered() -> None:
    missing = _exported_samplers() - set(SAMPLER_FACTORIES)
    assert not missing, f"Add conformance factories for {sorted(missing)} in {__file__}."


class _OnEveryStorage:
    @pytest.fixture(autouse=True, params=STORAGE_KINDS)
    def _storage(
        self,
        request: pytest.FixtureRequest,
        tmp_path_factory: pytest.TempPathFactory,
        monkeypatch: pytest.MonkeyPatch,
    ) -> Iterator[None]:
        require_server(request.param)
        with isolated_storage(request.param, str(tmp_path_factory.mktemp("s"))) as spec:
            original = optuna.study.create_study

            @functools.wraps(original)
            def create_study(*args: Any, **kwargs: Any) -> optuna.Study:
                if kwargs.get("storage") is None:
                    kwargs["storage"] = spec.make()
                return original(*args, **kwargs)

            monkeypatch.setattr(optuna.study, "create_study", create_study)
            monkeypatch.setattr(optuna, "create_study", create_study)
            yield


def _factory(request: pytest.FixtureRequest) -> Callable[[], BaseSampler]:
    return SAMPLER_FACTORIES[request.param][0]


class TestBasic(_OnEveryStorage, BasicSamplerTestCase):
    @pytest.fixture(params=sorted(SAMPLER_FACTORIES))
    def sampler(self, request: pytest.FixtureRequest) -> Callable[[], BaseSampler]:
        return _factory(request)


class TestRelative(_OnEveryStorage, RelativeSamplerTestCase):
    @pytest.fixture(params=sorted(SAMPLER_FACTORIES))
    def sampler(self, request: pytest.FixtureRequest) -> Callable[[], BaseSampler]:
        return _factory(request)


class TestSingleOnly(_OnEveryStorage, SingleOnlySamplerTestCase):
    @pytest.fixture(params=SINGLE_ONLY)
    def sampler(self, request: pytest.FixtureRequest) -> Callable[[], BaseSampler]:
        return _factory(request)


class TestMultiObjective(_OnEveryStorage, MultiObjectiveSamplerTestCase):
    @pytest.fixture(params=MULTI)
    def sampler(self, request: pytest.FixtureRequest) -> Callable[[], BaseSampler]:
        return _factory(request)
