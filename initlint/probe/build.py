"""The model a task names: a class, a factory function, a module-level instance or layer list.

Runs inside the task child. Classes and factories are called with the arguments construct.py
infers; ``Built.values`` keeps every constructor value (defaults included), so that inputs.py can
size ``forward(state, action)`` from ``state_dim`` and ``action_dim``.
"""

from __future__ import annotations

import inspect
from typing import Any

from torch import nn

from initlint.probe.construct import Built, BuildError, build
from initlint.probe.loading import load_callable


def build_model(module: Any, name: str, overrides: dict[str, Any], factory: str | None = None,
                factory_kwargs: dict[str, Any] | None = None) -> Built:
    """The model called ``name`` in ``module`` (see the module docstring)."""
    if factory:
        where, _, function = factory.rpartition(":")
        maker = load_callable(factory) if where else getattr(module, function, None)
        if maker is None:
            raise BuildError(f"the factory `{factory}` is not defined")
        return _as_model(build(maker, overrides, name, factory_kwargs), name)
    if not hasattr(module, name):
        raise BuildError(f"`{name}` is not defined at the top level of the module")
    value = getattr(module, name)
    if inspect.isclass(value):
        if not issubclass(value, nn.Module):
            raise BuildError(f"`{name}` is not an nn.Module subclass")
        return _as_model(build(value, overrides, name), name)
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return _as_model(build(value, overrides, name, factory_kwargs), name)
    return _as_model(Built(value), name)


def _as_model(built: Built, name: str) -> Built:
    value = built.model
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, nn.Module) for v in value):
        built.model = nn.Sequential(*value)
    elif not isinstance(value, nn.Module):
        raise BuildError(f"`{name}` gives {type(value).__name__}, not an nn.Module or a list of them")
    return built
