"""The key of a build: its arguments bound to parameter names, compared value for value.

builds.py copies a recorded build where the same class is built again with arguments equal to
the recorded ones (with the same sharing between them); this module says when they are.
"""

from __future__ import annotations

from typing import Any

from initlint.model.dists import Dist
from initlint.model.interp.calls import Builtin
from initlint.model.interp.context import Lazy
from initlint.model.values import (
    UNKNOWN,
    ClassValue,
    DictObj,
    External,
    FunctionValue,
    Instance,
    KnownSet,
    ListObj,
    Namespace,
    Place,
    Sym,
)

#: objects an argument may hold before it is too large to compare
_MAX_ARGUMENT_PARTS = 4000


class Unmemoizable(Exception):
    """This build cannot be recorded (the reason is the message)."""



def bind(init: Any, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any] | None:
    """The arguments by the names of the parameters of ``init`` (the ``__init__`` a build runs),
    so ``Net(config)`` and ``Net(config=config)`` are one build; None when they do not all bind
    to named parameters of the code's own ``__init__``."""
    if init is None:
        return None if args or kwargs else {}  # no __init__ at all: object's
    if not isinstance(init, FunctionValue):
        return None  # a library's constructor: its parameters are not known
    positional = positional_names(init)
    named = set(positional) | {param.name.value for param in init.node.params.kwonly_params}
    if len(args) > len(positional):
        return None
    bound = dict(zip(positional, args))
    for name, value in kwargs.items():
        if name in bound or name not in named:
            return None
        bound[name] = value
    return dict(sorted(bound.items()))


def positional_names(init: Any) -> list[str]:
    """The names of the code's own ``__init__``'s positional parameters after ``self`` (none
    for a library's constructor)."""
    if not isinstance(init, FunctionValue):
        return []
    params = init.node.params
    return [param.name.value for param in (*params.posonly_params, *params.params)][1:]


_PLAIN = (int, float, str, bool, type(None), complex, bytes)
_BY_VALUE = (Sym, External, KnownSet, range, slice, Dist)
_BY_IDENTITY = (FunctionValue, ClassValue, Namespace, Builtin, Lazy, Place)


def fingerprint(arguments: dict[str, Any]) -> tuple[tuple, list[Any]]:
    """A key equal for equal arguments (value for value, with the same sharing), and the
    mutable objects inside them in the order the key lists them."""
    twins: list[Any] = []
    seen: dict[int, int] = {}

    def key(value: Any) -> Any:
        kind = type(value)
        if kind in _PLAIN:
            return (kind, repr(value)) if kind is float else (kind, value)
        if value is UNKNOWN:
            return "?"
        if isinstance(value, _BY_VALUE):
            return (kind, value)
        if isinstance(value, _BY_IDENTITY):
            return ("id", id(value))
        if kind is tuple:
            return ("tuple", tuple(key(item) for item in value))
        if kind not in (Instance, ListObj, DictObj):
            raise Unmemoizable(f"an argument holds a {kind.__name__}")
        if id(value) in seen:
            return ("ref", seen[id(value)])
        seen[id(value)] = len(twins)
        twins.append(value)
        if len(twins) > _MAX_ARGUMENT_PARTS:
            raise Unmemoizable("an argument is too large to compare")
        if kind is Instance:
            return ("instance", id(value.cls), tuple((name, key(item)) for name, item in value.attrs.items()))
        if kind is ListObj:
            return ("list", key(value.repeat), tuple(key(item) for item in value.items))
        return ("dict", value.open, tuple((key(name), key(item)) for name, item in value.items.items()))

    return tuple((name, key(value)) for name, value in arguments.items()), twins


__all__ = ["Unmemoizable", "bind", "fingerprint", "positional_names"]
