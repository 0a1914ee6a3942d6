"""Python's builtins as the evaluator models them: ``len``, ``range``, ``zip``, ``sorted``...
(those that ask about objects and classes, ``isinstance`` and ``getattr`` among them, are in
reflection.py).

Each takes evaluated values and returns one; anything it cannot establish is UNKNOWN.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from initlint.model.interp import reflection
from initlint.model.interp.calls import Builtin
from initlint.model.tensors import Tensor
from initlint.model.values import (
    UNKNOWN,
    DictObj,
    External,
    KnownSet,
    ListObj,
    Module,
    Namespace,
    Signal,
    Sym,
    is_number,
)

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator


def _len(ev: "Evaluator", args, kwargs, place, frame, open_):
    value = args[0] if args else UNKNOWN
    if isinstance(value, Module) and value.family == "container":
        items = ev.iterate(value)
        if items is None:
            count = ev.template_count(value)
            return count if is_number(count) else UNKNOWN
        return len(items)
    if isinstance(value, ListObj) and value.template:
        return value.repeat if is_number(value.repeat) and len(value.items) == 1 else UNKNOWN
    if isinstance(value, Sym):
        return Sym(f"len({value.text})")
    if isinstance(value, KnownSet):
        return len(value.items)
    items = ev.iterate(value)
    return len(items) if items is not None else UNKNOWN


def _range(ev, args, kwargs, place, frame, open_):
    if open_ or not args or not all(isinstance(a, int) and not isinstance(a, bool) for a in args):
        if args and any(isinstance(a, Sym) for a in args):
            return ListObj([UNKNOWN], UNKNOWN)
        return UNKNOWN
    try:
        return range(*args)
    except (TypeError, ValueError):
        return UNKNOWN


def _enumerate(ev, args, kwargs, place, frame, open_):
    items = ev.iterate(args[0]) if args else None
    start = args[1] if len(args) > 1 else kwargs.get("start", 0)
    if items is None or not isinstance(start, int):
        element = ev.template_element(args[0]) if args else UNKNOWN
        return ListObj([(UNKNOWN, element)], ev.template_count(args[0]) if args else UNKNOWN)
    return tuple(enumerate(items, start))


def _zip(ev, args, kwargs, place, frame, open_):
    lists = [ev.iterate(a) for a in args]
    if any(items is None for items in lists) or open_:
        return ListObj([tuple(_stands_for_all(ev, a, items) for a, items in zip(args, lists))], UNKNOWN)
    return tuple(zip(*lists))


def _stands_for_all(ev, value, items):
    """The one value that stands for every element of an iterable in a template loop: its
    template element, or a known sequence's elements when they are all the same."""
    if items is None:
        return ev.template_element(value)
    from initlint.model.interp.context import same

    if items and all(same(items[0], item) for item in items[1:]):
        return items[0]
    return UNKNOWN


def _list(ev, args, kwargs, place, frame, open_):
    if not args:
        return ListObj([])
    items = ev.iterate(args[0])
    if items is None:
        return ListObj([ev.template_element(args[0])], ev.template_count(args[0]))
    return ListObj(list(items))


def _tuple(ev, args, kwargs, place, frame, open_):
    if not args:
        return ()
    items = ev.iterate(args[0])
    return tuple(items) if items is not None else UNKNOWN


def _dict(ev, args, kwargs, place, frame, open_):
    result = DictObj(open=open_)
    if args:
        source = args[0]
        if isinstance(source, DictObj):
            result.items.update(source.items)
            result.open = result.open or source.open
        else:
            pairs = ev.iterate(source)
            if pairs is None:
                result.open = True
            else:
                for pair in pairs:
                    if isinstance(pair, tuple) and len(pair) == 2 and _hashable(pair[0]):
                        result.items[pair[0]] = pair[1]
                    else:
                        result.open = True
    result.items.update(kwargs)
    return result


def _number(kind):
    def convert(ev, args, kwargs, place, frame, open_):
        value = args[0] if args else 0
        if isinstance(value, Sym):
            return value
        if is_number(value) or isinstance(value, bool) or isinstance(value, str) and kind is not int:
            try:
                result = kind(value)
            except (ValueError, OverflowError):
                return UNKNOWN
            return result if not isinstance(result, float) or math.isfinite(result) else UNKNOWN
        if isinstance(value, str):
            try:
                return int(value)
            except ValueError:
                return UNKNOWN
        return UNKNOWN

    return convert


def _minmax(function):
    def pick(ev, args, kwargs, place, frame, open_):
        values = args if len(args) != 1 else (ev.iterate(args[0]) or [UNKNOWN])
        if values and all(is_number(v) for v in values) and not kwargs:
            return function(values)
        return UNKNOWN

    return pick


def _abs(ev, args, kwargs, place, frame, open_):
    value = args[0] if args else UNKNOWN
    return abs(value) if is_number(value) else (value if isinstance(value, Sym) else UNKNOWN)


def _round(ev, args, kwargs, place, frame, open_):
    value = args[0] if args else UNKNOWN
    digits = args[1] if len(args) > 1 else None
    if is_number(value) and (digits is None or isinstance(digits, int)):
        return round(value, digits) if digits is not None else round(value)
    return UNKNOWN


def _sum(ev, args, kwargs, place, frame, open_):
    items = ev.iterate(args[0]) if args else None
    if items is not None and all(is_number(v) for v in items):
        return sum(items)
    return UNKNOWN


def _bool(ev, args, kwargs, place, frame, open_):
    from initlint.model.interp.context import truth

    decided = truth(args[0]) if args else False
    return UNKNOWN if decided is None else decided


def _str(ev, args, kwargs, place, frame, open_):
    value = args[0] if args else ""
    if value is None or isinstance(value, (bool, int, float, str)):
        return str(value)
    return UNKNOWN


def _print(ev, args, kwargs, place, frame, open_):
    return None


def _sorted(ev, args, kwargs, place, frame, open_):
    items = ev.iterate(args[0]) if args else None
    if args and isinstance(args[0], KnownSet):
        items = list(args[0].items)
    if items is None or kwargs:
        return UNKNOWN
    try:
        return ListObj(sorted(items))
    except TypeError:
        return UNKNOWN


def _reversed(ev, args, kwargs, place, frame, open_):
    items = ev.iterate(args[0]) if args else None
    return tuple(reversed(items)) if items is not None else UNKNOWN


def _any_all(function):
    def check(ev, args, kwargs, place, frame, open_):
        from initlint.model.interp.context import truth

        items = ev.iterate(args[0]) if args else None
        if items is None:
            return UNKNOWN
        decided = [truth(v) for v in items]
        if function is any:
            if True in decided:
                return True
            return UNKNOWN if None in decided else False
        if False in decided:
            return False
        return UNKNOWN if None in decided else True

    return check


def _map(ev, args, kwargs, place, frame, open_):
    if len(args) < 2:
        return UNKNOWN
    lists = [ev.iterate(a) for a in args[1:]]
    if any(items is None for items in lists):
        return UNKNOWN
    return ListObj([ev.call(args[0], list(values), {}, place, frame) for values in zip(*lists)])


def _filter(ev, args, kwargs, place, frame, open_):
    from initlint.model.interp.context import truth

    if len(args) != 2:
        return UNKNOWN
    items = ev.iterate(args[1])
    if items is None:
        return UNKNOWN
    kept = []
    for item in items:
        decided = truth(ev.call(args[0], [item], {}, place, frame) if args[0] is not None else item)
        if decided is None:
            return UNKNOWN
        if decided:
            kept.append(item)
    return ListObj(kept)


def _iter(ev, args, kwargs, place, frame, open_):
    return args[0] if args else UNKNOWN


def _next(ev, args, kwargs, place, frame, open_):
    items = ev.iterate(args[0]) if args else None
    if items:
        return items[0]
    return args[1] if len(args) > 1 and items == [] else UNKNOWN


def _hashable(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str, tuple))


def _identity(ev, args, kwargs, place, frame, open_):
    return args[0] if args else UNKNOWN


_FUNCTIONS = {
    "len": _len, "range": _range, "enumerate": _enumerate, "zip": _zip, "list": _list,
    "tuple": _tuple, "dict": _dict, "int": _number(int), "float": _number(float),
    "min": _minmax(min), "max": _minmax(max), "abs": _abs, "round": _round, "sum": _sum,
    "bool": _bool, "str": _str, "isinstance": reflection.isinstance_, "issubclass": reflection.issubclass_,
    "hasattr": reflection.hasattr_, "getattr": reflection.getattr_, "setattr": reflection.setattr_,
    "type": reflection.type_, "super": reflection.super_, "print": _print,
    "sorted": _sorted, "reversed": _reversed, "any": _any_all(any), "all": _any_all(all),
    "map": _map, "filter": _filter, "iter": _iter, "next": _next, "callable": reflection.callable_,
    "property": _identity, "staticmethod": _identity, "classmethod": _identity,
}
BUILTINS = {name: Builtin(name, function) for name, function in _FUNCTIONS.items()}
#: builtin names that are classes or constants, not modelled calls
_EXTERNAL_NAMES = frozenset(
    {
        "object", "Exception", "ValueError", "TypeError", "RuntimeError", "NotImplementedError",
        "KeyError", "AttributeError", "AssertionError", "IndexError", "ImportError",
        "NotImplemented", "set", "frozenset", "bytes", "slice", "vars", "globals", "locals", "id",
        "hash", "repr", "format", "open", "input", "divmod", "pow", "chr", "ord", "hex", "bin",
        "ModuleNotFoundError", "StopIteration", "Warning", "UserWarning",
        "DeprecationWarning", "FileNotFoundError", "OSError", "ZeroDivisionError",
    }
)


def builtin(name: str) -> Any:
    if name in BUILTINS:
        return BUILTINS[name]
    if name in _EXTERNAL_NAMES:
        return External(f"builtins.{name}")
    return UNKNOWN


__all__ = ["BUILTINS", "builtin", "Namespace", "Signal", "Tensor", "External"]
