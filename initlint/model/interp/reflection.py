"""The builtins that ask about objects and classes, as the evaluator models them:
``isinstance``, ``issubclass``, ``hasattr``, ``getattr``, ``setattr``, ``type``, ``super`` and
``callable``. Each answers from what the evaluated code established, else UNKNOWN.
"""

from __future__ import annotations

from initlint.model.interp.calls import Builtin, Super
from initlint.model.values import UNKNOWN, ClassValue, External, FunctionValue, Instance, Module


def isinstance_(ev, args, kwargs, place, frame, open_):
    if len(args) != 2:
        return UNKNOWN
    decided = ev.isinstance_of(args[0], args[1])
    return UNKNOWN if decided is None else decided


def issubclass_(ev, args, kwargs, place, frame, open_):
    """``issubclass(A, B)`` for classes of the evaluated code; torch's and library classes by
    name (a class of the code is no subclass of a torch layer unless its MRO says so)."""
    if len(args) != 2:
        return UNKNOWN
    sub, bases = args[0], args[1] if isinstance(args[1], tuple) else (args[1],)
    if not isinstance(sub, (ClassValue, External)):
        return UNKNOWN
    order = sub.mro() if isinstance(sub, ClassValue) else [sub]
    results = []
    for base in bases:
        if any(item is base or isinstance(item, External) and isinstance(base, External) and item.name == base.name
               for item in order):
            results.append(True)
        elif isinstance(base, ClassValue) and ev.excludes(base, order):
            results.append(False)  # no class of the MRO holds it, nor can one outside the code
        else:
            results.append(None)
    if True in results:
        return True
    return UNKNOWN if None in results else False


def hasattr_(ev, args, kwargs, place, frame, open_):
    if len(args) != 2 or not isinstance(args[1], str):
        return UNKNOWN
    obj, name = args
    if isinstance(obj, Module):
        if any(name in table for table in (obj.params, obj.buffers, obj.modules, obj.attrs, obj.args)):
            return True
        if obj.cls is not None:
            try:
                found = obj.cls.lookup(name)
                return True if found is not UNKNOWN else UNKNOWN
            except KeyError:
                pass
        if obj.family in ("opaque",) or obj.open_base or obj.tainted:
            return UNKNOWN
        if name in ("weight", "bias") or name.startswith(("in_", "out_")):
            return False
        from initlint.model.interp.objects import MODULE_METHODS

        return name in MODULE_METHODS or name == "training"
    if isinstance(obj, Instance):
        return True if name in obj.attrs else UNKNOWN
    return UNKNOWN


def getattr_(ev, args, kwargs, place, frame, open_):
    if len(args) < 2 or not isinstance(args[1], str):
        return UNKNOWN
    obj, name = args[0], args[1]
    if len(args) > 2:
        present = hasattr_(ev, args[:2], {}, place, frame, open_)
        if present is False:
            return args[2]
        if present is UNKNOWN:
            return UNKNOWN
    return ev.getattr(obj, name, place, frame)


def setattr_(ev, args, kwargs, place, frame, open_):
    if len(args) == 3 and isinstance(args[1], str):
        ev.setattr(args[0], args[1], args[2], place, frame)
    return None


def type_(ev, args, kwargs, place, frame, open_):
    return ev.type_of(args[0]) if len(args) == 1 else UNKNOWN


def super_(ev, args, kwargs, place, frame, open_):
    if len(args) == 2 and isinstance(args[0], ClassValue):
        return Super(args[0], args[1])
    function = frame.function if frame is not None else None
    if function is None or function.cls is None:
        return UNKNOWN
    params = function.node.params.params
    if not params or params[0].name.value not in frame.locals:
        return UNKNOWN
    return Super(function.cls, frame.locals[params[0].name.value])


def callable_(ev, args, kwargs, place, frame, open_):
    value = args[0] if args else None
    if isinstance(value, (FunctionValue, ClassValue, Builtin, Module)):
        return True
    if value is None or isinstance(value, (bool, int, float, str, tuple)):
        return False
    return UNKNOWN


__all__ = ["isinstance_", "issubclass_", "hasattr_", "getattr_", "setattr_", "type_", "super_", "callable_"]
