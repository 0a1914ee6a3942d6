"""A class built as ``Net()`` would build it: each constructor parameter without a default a
symbolic value named after it, except a configuration class of the project that builds with no
arguments, which is built (``config = BertConfig()``, as transformers' documentation does)."""

from __future__ import annotations

from typing import Any

from initlint.model.interp.context import BudgetExceeded, Frame
from initlint.model.interp.hf import config_class_of
from initlint.model.interp.machine import Evaluator
from initlint.model.torchlib.classes import torch_class
from initlint.model.values import ClassValue, External, FunctionValue, Instance, Place, Sym


def build_with_defaults(evaluator: Evaluator, cls: ClassValue, place: Place) -> tuple[Any, tuple[str, ...]]:
    """``cls()`` with its open parameters symbolic or configured; and the assumptions made."""
    init = evaluator._find_init(cls.mro())
    kwargs = open_parameters(init, skip_self=True) if isinstance(init, FunctionValue) else {}
    assumed = _configured(evaluator, cls, init, kwargs, place) if isinstance(init, FunctionValue) else ()
    return evaluator.instantiate(cls, [], kwargs, place, False), assumed


def open_parameters(function: FunctionValue, skip_self: bool) -> dict[str, Any]:
    """Each parameter without a default, as a symbolic value named after it."""
    params = function.node.params
    positional = [*params.posonly_params, *params.params][1 if skip_self else 0:]
    return {
        param.name.value: Sym(param.name.value)
        for param in (*positional, *params.kwonly_params)
        if param.default is None
    }


def _configured(evaluator: Evaluator, cls: ClassValue, init: FunctionValue, kwargs: dict[str, Any], place: Place) -> tuple[str, ...]:
    """Replace each open parameter whose type is a project class built with no arguments by
    that default instance; the assumptions made, as ``config = BertConfig()``."""
    assumed = []
    params = init.node.params
    positional = [*params.posonly_params, *params.params][1:]
    for index, param in enumerate([*positional, *params.kwonly_params]):
        name = param.name.value
        if name not in kwargs:
            continue
        config = None
        if param.annotation is not None:
            frame = Frame(init.namespace.source, init.namespace, {})
            try:
                config = evaluator.eval(param.annotation.annotation, frame)
            except BudgetExceeded:
                raise
            except Exception:  # an annotation the evaluator cannot read is no type
                config = None
        elif index == 0:
            config = config_class_of(cls)
        instance = _default_instance(evaluator, config, place)
        if instance is not None:
            kwargs[name] = instance
            assumed.append(f"{name} = {config.name}()")
    return tuple(assumed)


def _default_instance(evaluator: Evaluator, cls: Any, place: Place) -> Instance | None:
    """``cls()`` when cls is a plain class of the project (not a model) whose constructor needs
    no argument and does not raise."""
    if not isinstance(cls, ClassValue) or any(isinstance(item, External) and torch_class(item.name) for item in cls.mro()):
        return None
    init = evaluator._find_init(cls.mro())
    if isinstance(init, FunctionValue) and open_parameters(init, skip_self=True):
        return None
    raised = len(evaluator.raised)
    value = evaluator.instantiate(cls, [], {}, place, False)
    if not isinstance(value, Instance) or len(evaluator.raised) > raised:
        return None
    return value


__all__ = ["build_with_defaults", "open_parameters"]
