"""The model a task names: a class, a factory function, a module-level instance or layer list.

Runs inside the task child. Classes and factories are called with the arguments construct.py
infers; ``Built.values`` keeps every constructor value (defaults included), so that inputs.py can
size ``forward(state, action)`` from ``state_dim`` and ``action_dim``.
"""

from __future__ import annotations

import ast
import inspect
from typing import Any

from torch import nn

from initlint.probe.construct import Built, BuildError, build
from initlint.probe.loading import load_callable
from initlint.probe.method_forward import forward_through_method
from initlint.probe.notebook_loading import NotebookInstance, notebook_instance


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
        instance = notebook_instance(module, name)
        if instance is not None:
            return _from_notebook_call(module, name, instance, overrides)
        raise BuildError(f"`{name}` is not defined at the top level of the module")
    value = getattr(module, name)
    if inspect.isclass(value):
        if not issubclass(value, nn.Module):
            raise BuildError(f"`{name}` is not an nn.Module subclass")
        return _as_model(build(value, overrides, name), name)
    if inspect.isfunction(value) or inspect.isbuiltin(value):
        return _as_model(build(value, overrides, name, factory_kwargs), name)
    return _as_model(Built(value), name)


def _from_notebook_call(module: Any, name: str, instance: NotebookInstance, overrides: dict[str, Any]) -> Built:
    """A notebook's ``name = Class(...)``, whose cell does not run: the class built with the
    call's arguments that the definitions can evaluate; the others are inferred, and noted."""
    cls = getattr(module, instance.cls, None)
    if not (inspect.isclass(cls) and issubclass(cls, nn.Module)):
        raise BuildError(f"`{name}` is made in cell {instance.cell}, which the probe does not run, "
                         f"by `{instance.cls}`, which is not an nn.Module class of the notebook")
    given: dict[str, Any] = {}
    unknown: list[str] = []
    try:
        names = list(inspect.signature(cls).parameters)
    except (TypeError, ValueError):
        names = []
    pairs = [(names[i] if i < len(names) else None, text) for i, text in enumerate(instance.args)]
    for parameter, text in [*pairs, *instance.kwargs]:
        try:
            if any(isinstance(node, ast.Call) for node in ast.walk(ast.parse(text, mode="eval"))):
                raise ValueError("a call may be training code")
            value = eval(text, vars(module))  # noqa: S307 - the notebook's own argument text
        except Exception:  # noqa: BLE001 - a name of the skipped code, or a call: infer instead
            unknown.append(text)
            continue
        if parameter is not None:
            given[parameter] = value
    built = build(cls, {**given, **overrides}, name)
    note = f"`{name}` is built as `{instance.cls}(...)` from cell {instance.cell}, which the probe does not run"
    if unknown:
        note += f"; arguments it cannot evaluate from the definitions are inferred ({', '.join(unknown)})"
    built.notes.insert(0, note)
    return _as_model(built, name)


def _as_model(built: Built, name: str) -> Built:
    value = built.model
    if isinstance(value, (list, tuple)) and value and all(isinstance(v, nn.Module) for v in value):
        built.model = nn.Sequential(*value)
    elif not isinstance(value, nn.Module):
        raise BuildError(f"`{name}` gives {type(value).__name__}, not an nn.Module or a list of them")
    forward_through_method(built)
    return built
