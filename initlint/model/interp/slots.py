"""An int argument of a build recorded for other values of it: it acts as its value and notes
any use of that value.

A layer stack builds one class again and again with arguments equal but for an int:
``Block(config, layer_idx)`` for each index. Where the build only moves the int (binds it to
parameters, stores it in attributes, passes it to the code's own functions and classes), a
copy of its record with the other int in those places is what evaluating it would give
(builds.py). Any other operation on it is a use and the build is not copied: arithmetic,
comparison, hashing, truth, formatting, indexing, ``type()``, a call of a library or builtin
function, identity with another int.

``SlotInt`` answers ``isinstance(x, int)`` as every int does and notes the uses Python runs
through an int's methods. The ones CPython does for an int subclass in C without them
(indexing or slicing a sequence, ``range``, ``%`` formatting, ``is`` between ints) the
evaluator reports where it does them (``touch``), while ``tracking`` is on.
"""

from __future__ import annotations

from typing import Any


class SlotLog:
    """One recorded build's tracked ints: whether the build still runs, whether it used one."""

    __slots__ = ("active", "used")

    def __init__(self) -> None:
        self.active = True
        self.used = False


#: builds running with tracked ints: the evaluator reports uses only while this is above 0
tracking = 0


class SlotInt(int):
    """The int argument at ``position`` of a build tracked by ``log``."""

    position: int
    log: SlotLog

    def __new__(cls, value: int, position: int, log: SlotLog) -> SlotInt:
        self = super().__new__(cls, value)
        self.position = position
        self.log = log
        return self


def _noting(name: str) -> Any:
    method = getattr(int, name)

    def noted(self: SlotInt, *args: Any) -> Any:
        log = self.__dict__["log"]
        if log.active:
            log.used = True
        return method(self, *args)

    noted.__name__ = name
    return noted


def _noting_property(name: str) -> property:
    descriptor = getattr(int, name)

    def read(self: SlotInt) -> Any:
        log = self.__dict__["log"]
        if log.active:
            log.used = True
        return descriptor.__get__(self, int)

    return property(read)


#: every method of int that reads its value (copying is a use too: a copy is not tracked)
_METHODS = (
    "__abs__", "__add__", "__and__", "__bool__", "__ceil__", "__divmod__", "__eq__", "__float__", "__floor__",
    "__floordiv__", "__format__", "__ge__", "__gt__", "__hash__", "__index__", "__int__", "__invert__", "__le__",
    "__lshift__", "__lt__", "__mod__", "__mul__", "__ne__", "__neg__", "__or__", "__pos__", "__pow__", "__radd__",
    "__rand__", "__rdivmod__", "__repr__", "__rfloordiv__", "__rlshift__", "__rmod__", "__rmul__", "__ror__",
    "__round__", "__rpow__", "__rrshift__", "__rshift__", "__rsub__", "__rtruediv__", "__rxor__", "__str__",
    "__sub__", "__truediv__", "__trunc__", "__xor__", "__getnewargs__", "__sizeof__", "as_integer_ratio",
    "bit_count", "bit_length", "conjugate", "to_bytes",
)
for _name in _METHODS:
    setattr(SlotInt, _name, _noting(_name))
for _name in ("real", "imag", "numerator", "denominator"):
    setattr(SlotInt, _name, _noting_property(_name))


def _reduce(self: SlotInt, *protocol: Any) -> tuple:
    """A copy or a pickle is a plain int (a finding's numbers go to the parent process and
    the cache as ints); while the build runs, copying it is a use."""
    log = self.__dict__["log"]
    if log.active:
        log.used = True
    return int, (int.__int__(self),)


SlotInt.__reduce__ = _reduce  # type: ignore[assignment]
SlotInt.__reduce_ex__ = _reduce  # type: ignore[assignment]


def touch(*values: Any) -> None:
    """Note a use of any tracked int among ``values`` (also inside tuples and slices): for
    operations CPython does on an int subclass without calling its methods."""
    for value in values:
        kind = type(value)
        if kind is SlotInt:
            if value.log.active:
                value.log.used = True
        elif kind is tuple:
            touch(*value)
        elif kind is slice:
            touch(value.start, value.stop, value.step)


def plain(value: SlotInt) -> int:
    """The value as a plain int, without noting a use."""
    return int.__int__(value)


__all__ = ["SlotInt", "SlotLog", "plain", "touch"]
