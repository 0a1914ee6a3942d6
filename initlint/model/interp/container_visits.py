"""The init walk's visits of modules with children: a visit that did nothing is not repeated
for a module like it.

transformers' ``post_init`` calls ``_init_weights(module)`` on every module, also on the
blocks that hold layers (``BertLayer``, ``BertAttention``, ...), where it usually runs a chain of
``isinstance`` tests that none of them passes and does nothing. Linting bert's model file, those
visits were a third of the walk's visits and a fourth of its time.

A visit of a module with children is recorded when it did nothing and read nothing of the
module but what its key holds: its class and flags (``visits.shared_key``). While it runs, the
module's class is swapped for a subclass that notes any read or write of the rest (its
arguments, attributes, parameters, buffers, children, path, creation site): whatever code
reads it, the evaluator's or the modelled library's, reads through that. It must also have
written nothing, made no event or init call, changed no object, used no tensor, compared no
object by identity and made nothing else (``visits.other_effects``). A later visit with an
equal key, while no object it may have read (a config, the model's attributes) has changed,
adds the steps, reached functions and raises of the record and nothing else, as the visit
would have.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.model.interp.visits import (
    REFUSED,
    Unrecordable,
    VisitLog,
    other_effects,
    records_reached,
    replay_run,
    shared_key,
)
from initlint.model.values import Module

if TYPE_CHECKING:
    from initlint.model.interp.context import Frame
    from initlint.model.interp.machine import Evaluator
    from initlint.model.values import BoundMethod, Place

#: what two modules of one class and flags may differ in (a read of one refuses the record)
_UNKEYED = frozenset({
    "args", "arg_source", "arg_text", "params", "buffers", "modules", "attrs", "made", "path", "serial", "__dict__",
})
#: the same for a module without parameters and buffers, which the key says it has none of
#: (the library's ``_init_weights`` reads a module's own tensors: here, none)
_UNKEYED_BUT_EMPTY = _UNKEYED - {"params", "buffers"}
#: ids of the watched modules that were read or written beyond their key
_TOUCHED: set[int] = set()


class _Watched(Module):
    """A module being visited for a record: notes what the key does not hold being read or
    written. The module is one of these only while that visit runs."""

    __slots__ = ()
    #: the names whose reads the key does not cover
    unkeyed = _UNKEYED

    def __getattribute__(self, name: str) -> Any:
        if name in type(self).unkeyed:
            _TOUCHED.add(id(self))
        return object.__getattribute__(self, name)

    def __setattr__(self, name: str, value: Any) -> None:
        _TOUCHED.add(id(self))
        object.__setattr__(self, name, value)

    def __delattr__(self, name: str) -> None:
        _TOUCHED.add(id(self))
        object.__delattr__(self, name)


class _WatchedEmpty(_Watched):
    """A watched module with no parameters and no buffers."""

    __slots__ = ()
    unkeyed = _UNKEYED_BUT_EMPTY


class _Idle:
    """A recorded visit that did nothing: what a later one adds to the evaluator."""

    __slots__ = ("alive", "changes", "raised", "called", "steps", "depth")

    def __init__(self, alive: tuple, changes: int, raised: list[Any], called: list[Any], steps: int, depth: int) -> None:
        #: what the key names by identity, kept alive so that no later object takes their ids
        self.alive = alive
        #: Evaluator.object_changes at the record (see visits.VisitRecord)
        self.changes = changes
        self.raised, self.called, self.steps, self.depth = raised, called, steps, depth


def visit(evaluator: "Evaluator", method: "BoundMethod", module: Module, place: "Place", frame: "Frame | None") -> None:
    """``method(module)`` for the init walk on a module with children: skipped when a module
    like it was visited to no effect, else evaluated (and recorded when it qualifies)."""
    if type(module) is not Module:
        evaluator.call(method, [module], {}, place, frame)
        return
    try:
        empty = not module.params and not module.buffers
        key = ("container", empty, shared_key(evaluator, method, module))
        hash(key)
    except (Unrecordable, TypeError):
        evaluator.call(method, [module], {}, place, frame)
        return
    memo = evaluator.visits
    record = memo.get(key)
    if record is None:
        memo[key] = _record(evaluator, method, module, place, frame, _WatchedEmpty if empty else _Watched)
    elif record is not REFUSED and record.changes == evaluator.object_changes:
        _replay(evaluator, record)
    else:
        evaluator.call(method, [module], {}, place, frame)


def _record(evaluator: "Evaluator", method: "BoundMethod", module: Module, place: "Place", frame: "Frame | None",
            watched: type[_Watched]) -> Any:
    records, others = records_reached(evaluator), other_effects(evaluator)
    steps, calls = evaluator.steps, len(evaluator.calls)
    deepest, evaluator.deepest = evaluator.deepest, calls
    log = VisitLog()
    evaluator.visit_logs.append(log)
    module.__class__ = watched
    try:
        evaluator.call(method, [module], {}, place, frame)
    finally:
        object.__setattr__(module, "__class__", Module)
        touched = id(module) in _TOUCHED
        _TOUCHED.discard(id(module))
        evaluator.visit_logs.pop()
        reached, evaluator.deepest = evaluator.deepest, max(deepest, evaluator.deepest)
    writes_at, events_at, init_calls_at, raised_at, called_at = records
    if (
        touched or log.changed or log.used or other_effects(evaluator) != others
        or (len(evaluator.writes), len(evaluator.events), len(evaluator.init_calls)) != (writes_at, events_at, init_calls_at)
    ):
        return REFUSED
    alive = (module, method, tuple(evaluator.calls), tuple(evaluator.active))
    return _Idle(alive, evaluator.object_changes, evaluator.raised[raised_at:], evaluator.called[called_at:],
                 evaluator.steps - steps, reached - calls)


def _replay(evaluator: "Evaluator", record: _Idle) -> None:
    replay_run(evaluator, record)


__all__ = ["visit"]
