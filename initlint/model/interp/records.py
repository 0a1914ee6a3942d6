"""A build's record: a pickle of the objects a build made, referring to those it did not.

builds.py records a build and copies it where the same build comes again. What the build made
(creation number ``floor`` or later) is pickled; what existed before it (older modules, the
arguments' objects, classes, functions, places, constants) is referred to by index, so a copy
shares it, or gets the replacement its caller gives (its own arguments, its own call site).
Call frames are kept below the build's own caller and get the new caller's frames in front on
loading. The tracked ints of a build recorded for other values of them (slots.py) are pickled
as their positions and loaded as the copy's own ints. Anything the record does not know makes
it refuse (``NotRecordable``). Loading is most of a copy's cost, so the pickle is kept small:
fields that hold their class's default are left out, and equal call stacks are pickled once.
"""

from __future__ import annotations

import copyreg
import io
import pickle
from dataclasses import fields
from functools import cache, partial
from typing import Any

from initlint.model.dists import Dist
from initlint.model.source import ParsedFile
from initlint.tree.nodes import CSTNode
from initlint.model.interp.calls import Builtin, Property
from initlint.model.interp.context import Event, InitRecord, Lazy
from initlint.model.interp.slots import SlotInt, SlotLog, plain
from initlint.model.tensors import Storage, Tensor, Write
from initlint.model.values import (
    UNKNOWN,
    BoundMethod,
    ClassValue,
    DictObj,
    External,
    FlowNode,
    FunctionValue,
    Instance,
    KnownSet,
    ListObj,
    Module,
    Namespace,
    PartialValue,
    Place,
    Shape,
    Signal,
    Sym,
    next_serial,
)


#: while a record loads: (the objects it refers to, the caller's frames, the creation number
#: of what it makes, the values of its tracked ints)
_loading: list[tuple[list[Any], tuple[Place, ...], int, tuple[int, ...]]] = []


class NotRecordable(Exception):
    """The build holds something a record cannot copy or refer to (the reason is the message)."""


def dump(payload: Any, floor: int, prefix: int, writes: int, entry: int, arguments: set[int],
         definitions: bool = False, slots: SlotLog | None = None) -> tuple[bytes, list[Any]]:
    """The pickle of ``payload`` and the objects it refers to. ``prefix``: how many call frames
    belong to the caller; ``writes``: the evaluator's count of writes when the build started
    (events count writes from there). An older object made since ``entry`` (the creation number
    its entry started at) may be referred to only when it is one of the ``arguments`` (ids): any
    other belongs to this entry alone, and a copy in another entry must not share it. With
    ``definitions``, functions, classes and namespaces made since ``floor`` are copied too (a
    module body's, loads.py); the files and tree nodes they name are referred to. The ints that
    ``slots`` tracks become places for the ints a copy is loaded with."""
    buffer = io.BytesIO()
    recorder = _Recorder(buffer, floor, prefix, writes, entry, arguments, definitions, slots)
    try:
        recorder.dump(payload)
    except NotRecordable:
        raise
    except Exception as error:  # noqa: BLE001 - whatever pickle cannot copy: no record, no crash
        raise NotRecordable(f"the build holds what pickle cannot copy ({type(error).__name__})") from None
    return buffer.getvalue(), recorder.shared


def load(data: bytes, shared: list[Any], caller: tuple[Place, ...], ints: tuple[int, ...] = ()) -> Any:
    """A new copy of a dumped payload: ``shared`` in place of what it refers to, ``caller``'s
    frames in front of its call frames, ``ints`` where its tracked ints were."""
    _loading.append((shared, caller, next_serial(), ints))
    try:
        return pickle.loads(data)
    finally:
        _loading.pop()


#: what a build may hold besides the objects it made: referred to, never copied (UNKNOWN and
#: the other markers are compared by identity; the rest is immutable or older than the build)
_REFERRED = frozenset({
    Place, Sym, External, KnownSet, Builtin, Lazy, Signal, FlowNode, partial, type(UNKNOWN), object, type(Ellipsis),
    type(NotImplemented),
})
#: objects with a creation number: copied when the build made them, referred to when older
_NUMBERED = frozenset({Module, Tensor, Storage, Write, Instance, ListObj, DictObj})
#: older ones are referred to; made by the build, they are closures or classes: not recorded
_DEFINITIONS = frozenset({FunctionValue, ClassValue, Namespace})
#: pickled as they are: containers and immutable wrappers of the above, and the functions and
#: classes a record names
_CONTAINERS = frozenset({dict, list, tuple, frozenset, Shape, BoundMethod, PartialValue, Property, type, type(dump)})


class _Frames(tuple):
    """The call frames of a write, event or init call below the build's own caller."""




def _referred(index: int) -> Any:
    return _loading[-1][0][index]


class _Serial:
    """Stands for the creation number of a copy in the state of each object it makes: pickle
    keeps one, so the number is asked once per copy. The objects of one copy share it: no
    record starts while a copy loads, so a build recorded around the copy still tells them
    from older objects, and copies them in turn."""


_SERIAL = _Serial()


def _serial() -> int:
    return _loading[-1][2]


def _frames(tail: tuple[Place, ...]) -> tuple[Place, ...]:
    return (*_loading[-1][1], *tail)


def _tracked(position: int) -> int:
    return _loading[-1][3][position]


@cache
def _class_defaults(kind: type) -> tuple[tuple[str, Any], ...]:
    """The fields a copy may leave out of its state: those whose default is a class attribute
    (not a factory's). An object that holds that very default reads it from the class once
    loaded, as ``kind.field``; a copy of a big build loads a sixth faster."""
    return tuple((f.name, getattr(kind, f.name)) for f in fields(kind) if f.name in kind.__dict__)


#: a field missing from an object's ``__dict__`` (a copy of a copy: the class holds it)
_ABSENT = object()


def _state(obj: Any, kind: type) -> dict[str, Any]:
    """The object's fields to pickle, less those that hold their class's default."""
    state = obj.__dict__.copy()
    for name, default in _class_defaults(kind):
        if state.get(name, _ABSENT) is default:
            del state[name]
    return state


class _Recorder(pickle.Pickler):
    """Pickles what a build made (creation number ``floor`` or later); refers to the rest."""

    def __init__(self, file: io.BytesIO, floor: int, prefix: int, writes: int, entry: int, arguments: set[int],
                 definitions: bool = False, slots: SlotLog | None = None) -> None:
        super().__init__(file, protocol=pickle.HIGHEST_PROTOCOL)
        #: frames below ``prefix`` belong to the caller; events count writes from ``writes``
        self.floor, self.prefix, self.writes = floor, prefix, writes
        self.entry, self.arguments, self.definitions = entry, arguments, definitions
        self.slots = slots
        self.shared: list[Any] = []
        #: the call stacks below the caller's, by the ids of their places (see _tail)
        self.tails: dict[tuple[int, ...], _Frames] = {}

    def reducer_override(self, obj: Any) -> Any:
        kind = type(obj)
        if kind in _NUMBERED:
            if obj.serial < self.floor:
                return self._older(obj)
            state = _state(obj, kind)
            state["serial"] = _SERIAL
            if kind is Write:
                state["frames"] = self._tail(obj.frames)
            return copyreg.__newobj__, (kind,), state
        if kind in _CONTAINERS:
            return NotImplemented
        if kind is SlotInt:
            if obj.log is self.slots:
                return _tracked, (obj.position,)
            if obj.log.active:
                raise NotRecordable("the build holds an int that an enclosing build tracks")
            return int, (plain(obj),)  # a finished build's tracked int: its value
        if kind in _REFERRED or isinstance(obj, Dist):
            return self._refer(obj)
        if kind is _Frames:
            return _frames, (tuple(obj),)
        if kind is _Serial:
            return _serial, ()
        if kind is Event or kind is InitRecord:
            state = _state(obj, kind)
            state["frames"] = self._tail(obj.frames)
            if kind is Event:
                state["at_write"] = obj.at_write - self.writes
            return copyreg.__newobj__, (kind,), state
        if kind in _DEFINITIONS:
            if obj.serial < self.floor:
                return self._older(obj)
            if not self.definitions:
                raise NotRecordable(f"the build made a {kind.__name__}")
            state = _state(obj, kind)
            state["serial"] = _SERIAL
            return copyreg.__newobj__, (kind,), state
        if self.definitions and (kind is ParsedFile or isinstance(obj, CSTNode)):
            return self._refer(obj)
        raise NotRecordable(f"the build holds a {kind.__name__}")

    def _tail(self, frames: tuple[Place, ...]) -> _Frames:
        """The frames below the caller's, one object for equal ones: pickled once, each copy
        builds them once (a build's writes share a few dozen call stacks)."""
        tail = frames[self.prefix:]
        key = tuple(map(id, tail))
        found = self.tails.get(key)
        if found is None:
            found = self.tails[key] = _Frames(tail)
        return found

    def _older(self, obj: Any) -> Any:
        if obj.serial >= self.entry and id(obj) not in self.arguments:
            raise NotRecordable("the build holds an object its entry made before it")
        return self._refer(obj)

    def _refer(self, obj: Any) -> Any:
        self.shared.append(obj)
        return _referred, (len(self.shared) - 1,)


__all__ = ["NotRecordable", "dump", "load"]
