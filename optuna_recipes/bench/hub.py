"""OptunaHub strategies: samplers and pruners of the OptunaHub registry, named ``hub:...``.

A hub name is ``hub:CATEGORY/PACKAGE`` or ``hub:CATEGORY/PACKAGE:Class`` (e.g.
``hub:samplers/restart_cmaes``, ``hub:samplers/restart_cmaes:RestartCmaEsSampler``). Without a
class, the package must export exactly one sampler (or pruner) class. The package is loaded with
``optunahub.load_module`` (from GitHub, cached by optunahub), or, when a local registry checkout
is given (``--hub-registry DIR`` or the suite key ``hub_registry``; ``DIR`` holds ``package/``
as the optunahub-registry repository does), with
``optunahub.load_local_module(package, registry_root=DIR/package)``, which needs no network.
Loading a package runs its code, like an import path.

Example:
    .. code-block:: python

        from optuna_recipes.bench.hub import load_hub_class

        cls = load_hub_class(
            "hub:samplers/restart_cmaes", "sampler", registry="../shared/optunahub-registry"
        )
        sampler = cls(seed=0, restart_strategy="ipop")
"""

from __future__ import annotations

from functools import lru_cache
from pathlib import Path
import re
from typing import Any

HUB_PREFIX = "hub:"
_NAME = re.compile(r"[A-Za-z0-9_]+/[A-Za-z0-9_.\-]+(:[A-Za-z_][A-Za-z0-9_]*)?")


def is_hub(name: str) -> bool:
    """Whether ``name`` is a hub name (``hub:...``)."""
    return name.startswith(HUB_PREFIX)


def split_hub_name(name: str) -> tuple[str, str | None]:
    """``hub:samplers/NAME[:Class]`` -> ``("samplers/NAME", "Class" or None)``.

    Raises:
        ValueError: ``name`` is not of that form.
    """
    body = name.removeprefix(HUB_PREFIX)
    if not _NAME.fullmatch(body):
        raise ValueError(
            f"{name!r} is not an OptunaHub name: write hub:CATEGORY/PACKAGE or "
            "hub:CATEGORY/PACKAGE:Class, e.g. hub:samplers/restart_cmaes."
        )
    package, _, cls = body.partition(":")
    return package, cls or None


def _unavailable(message: str) -> Exception:
    from optuna_recipes.bench.strategies import HubUnavailableError

    return HubUnavailableError(message)


@lru_cache(maxsize=64)
def _load_module(package: str, registry: str | None) -> Any:
    """The package's module (cached per process: workers load each package once)."""
    try:
        import optunahub
    except ImportError:
        raise _unavailable(
            f"hub:{package} needs the `optunahub` package (pip install 'optuna-recipes[bench]')."
        ) from None
    if registry is not None:
        root = Path(registry) / "package"
        if not (root / package / "__init__.py").is_file():
            raise _unavailable(
                f"OptunaHub package {package!r} is not in the local registry {registry} "
                f"(no {root / package / '__init__.py'})."
            )
        try:
            return optunahub.load_local_module(package, registry_root=str(root))
        except Exception as err:
            raise _unavailable(f"OptunaHub package {package!r} failed to load: {err}") from None
    try:
        return optunahub.load_module(package)
    except Exception as err:
        lines = [line.strip() for line in str(err).splitlines() if line.strip()]
        reason = ([line for line in lines if "fatal:" in line] or lines or [repr(err)])[0]
        raise _unavailable(
            f"OptunaHub package {package!r} could not be loaded ({reason}); check the name and "
            "the network, or give a local registry checkout with --hub-registry DIR."
        ) from None


def load_hub_class(name: str, what: str, registry: str | Path | None = None) -> Any:
    """The class a hub name stands for.

    Args:
        name: ``hub:CATEGORY/PACKAGE[:Class]``.
        what: ``"sampler"`` or ``"pruner"``: without ``:Class``, the package's only exported
            subclass of Optuna's ``BaseSampler`` (``BasePruner``).
        registry: A local registry checkout (holding ``package/``); default: load from GitHub.

    Raises:
        HubUnavailableError: the package is missing, cannot be downloaded or fails to import,
            or the class cannot be chosen; one line says which.
    """
    package, cls_name = split_hub_name(name)
    module = _load_module(package, None if registry is None else str(registry))
    if cls_name is not None:
        cls = getattr(module, cls_name, None)
        if cls is None:
            raise _unavailable(f"OptunaHub package {package!r} has no {cls_name!r}.")
        return cls
    import optuna

    base = optuna.samplers.BaseSampler if what == "sampler" else optuna.pruners.BasePruner
    exported = getattr(module, "__all__", None) or [n for n in dir(module) if n[:1] != "_"]
    found = [
        n
        for n in exported
        if isinstance(getattr(module, n, None), type) and issubclass(getattr(module, n), base)
    ]
    if len(found) != 1:
        raise _unavailable(
            f"OptunaHub package {package!r} exports {len(found)} {what} classes "
            f"({', '.join(found) or 'none'}); name one: {name}:Class."
        )
    return getattr(module, found[0])
