"""The init walk's visits of leaf modules: a later visit of an equal module is a copy.

transformers' ``post_init`` calls ``_init_weights(module)`` on every module of the model, and
a model of 32 layers has 32 equal ``q_proj`` layers: on a tenth of the speed corpus the walk
took a third of the evaluation steps, and 92% of the steps its visits of leaf modules (modules
without child modules) took went to a leaf equal to one visited before. Copying them saves
544,000 of those steps (13,490 of 19,396 leaf visits copied): 5% of that tenth's time, 2% of a
third's (a copy costs a fifth of the visit it replaces; the key most of it).

A visit is recorded when it provably depended on nothing that tells the two modules apart and
changed nothing but their own tensors' values:
- the leaf is equal field for field (kind, class, folded constructor arguments, attributes, and
  each tensor's shape, flags and current values, the writes that made them compared by value),
  and the evaluator is in the same state (the same walk, calls, autograd, nothing else undecided);
- the visit compared no object by identity (``module is self.head``), used no other module's
  tensor (whose values or flags no key of the leaf shows), changed no object but the leaf's
  tensors (``note_change``), made no definition, flow node or loaded file, hit no depth limit,
  and left the leaf's and its tensors' fields as they were (only their values changed);
- what it recorded (writes, events, init calls) refers only to the leaf, its tensors, their
  earlier writes, the writes it made, and shared values (places, distributions, constants).
A copy maps those references to the new leaf's, as a second visit would have made them, and is
made only while no object other than a tensor has changed since the record (a config, the
model's attributes: what the visit may have read besides the leaf).
"""

from __future__ import annotations

from dataclasses import fields
from typing import TYPE_CHECKING, Any

from initlint.model.dists import Dist
from initlint.model.interp.context import BudgetExceeded, Event, InitRecord
from initlint.model.tensors import Storage, Tensor, Write
from initlint.model.values import (
    UNKNOWN,
    DictObj,
    External,
    KnownSet,
    ListObj,
    Module,
    Place,
    Sym,
    next_serial,
)

if TYPE_CHECKING:
    from initlint.model.interp.context import Frame
    from initlint.model.interp.machine import Evaluator
    from initlint.model.values import BoundMethod

#: values a record shares with its copies as they are (immutable, or places in the code)
_SHARED = (str, int, float, bool, type(None), Place, Dist, External, Sym, KnownSet, frozenset)
#: a visit that could not be recorded: later visits of equal leaves are evaluated
REFUSED = object()
#: the fields of a Module a visit must leave as they were (values compared by identity, dicts
#: by their items)
_MODULE_FIELDS = ("kind", "family", "cls", "args", "params", "buffers", "modules", "attrs", "made", "path",
                  "repeat", "tainted", "open_base", "external_hooks", "init_skipped")
_TENSOR_FIELDS = tuple(f.name for f in fields(Tensor) if f.name != "serial")


class Unrecordable(Exception):
    """This visit cannot be copied (the reason is the message)."""


class VisitLog:
    """What the visit being recorded changed (``note_change``) and which tensors it used (an
    attribute or method of one, or one passed to library code)."""

    __slots__ = ("changed", "used")

    def __init__(self) -> None:
        self.changed: list[Any] = []
        self.used: list[Tensor] = []


class VisitRecord:
    """One recorded visit: what it added, by reference to the leaf it visited."""

    __slots__ = ("alive", "changes", "old", "base", "writes", "storages", "events", "init_calls", "raised", "called",
                 "steps", "depth")

    def __init__(self, alive: tuple, changes: int, old: dict[int, int], base: int, writes: list[Write],
                 storages: list[tuple[list, list]], events: list[Event], init_calls: list[InitRecord],
                 raised: list[Place], called: list[Any], steps: int, depth: int) -> None:
        #: what the key names by identity (the leaf, the method, the calls): kept alive so that
        #: no later object takes one of their ids
        self.alive = alive
        #: Evaluator.object_changes when it was recorded: a copy is made only while no object
        #: the visit may have read (a config, the model's attributes) has changed since
        self.changes = changes
        #: the leaf's objects by id: their place in the leaf (see _parts)
        self.old = old
        #: the writes the visit appended to the evaluator (which held ``base`` before), in order
        self.base, self.writes = base, writes
        #: each tensor's (values after the visit, writes appended to its storage), in _parts order
        self.storages = storages
        self.events, self.init_calls, self.raised, self.called = events, init_calls, raised, called
        self.steps, self.depth = steps, depth


def visit(evaluator: "Evaluator", method: "BoundMethod", module: Module, place: Place, frame: "Frame | None") -> None:
    """``method(module)`` for the init walk: a copy of a recorded visit of an equal leaf, else
    evaluated (and recorded when it qualifies)."""
    key = _key(evaluator, method, module)
    if key is None:
        evaluator.call(method, [module], {}, place, frame)
        return
    memo = evaluator.visits
    record = memo.get(key)
    if record is REFUSED:
        evaluator.call(method, [module], {}, place, frame)
        return
    if record is not None and record.changes == evaluator.object_changes:
        _replay(evaluator, record, module)
        return
    if record is not None:  # recorded before an object it may have read changed: evaluated again
        evaluator.call(method, [module], {}, place, frame)
        return
    memo[key] = _record(evaluator, method, module, place, frame)


def _key(evaluator: "Evaluator", method: "BoundMethod", module: Module) -> tuple | None:
    """Equal for visits that would run alike, or None when the leaf cannot be compared."""
    if module.modules:
        return None
    try:
        tensors = [_tensor_key(name, tensor, module) for name, tensor in module.params.items()]
        if module.buffers:
            tensors += [_tensor_key(name, tensor, module) for name, tensor in module.buffers.items()]
        state = (
            shared_key(evaluator, method, module), _values_key(module.args), _values_key(module.attrs),
            len(module.params), *tensors,
        )
        hash(state)
    except (Unrecordable, TypeError):  # TypeError: a value that cannot be compared by hash
        return None
    return state


def shared_key(evaluator: "Evaluator", method: "BoundMethod", module: Module) -> tuple:
    """The part of a visit's key that is not the module's contents: the method and its
    receiver, the module's class and flags, and the evaluator's state (the same walk, calls,
    autograd, nothing else undecided). Raises Unrecordable or TypeError for values that cannot
    be compared."""
    return (
        id(method.function), id(method.receiver), module.kind, module.family, id(module.cls),
        _value_key(module.repeat), module.tainted, module.open_base, module.external_hooks,
        module.init_skipped is None, evaluator.maybe, tuple(evaluator.grad_stack), repr(evaluator.grad_base),
        evaluator.in_forward, evaluator.in_try, _value_key(evaluator.repeat), evaluator.in_dependency,
        evaluator.defining_class is None, *map(id, evaluator.calls), None, *map(id, evaluator.active),
        evaluator.statement,
    )


def _tensor_key(name: str, tensor: Any, module: Module) -> tuple:
    if tensor is None:
        return (name, None)
    if type(tensor) is not Tensor or tensor.owner is not module or tensor.base is not None or tensor.view:
        raise Unrecordable("a tensor that is not the leaf's own")
    storage = tensor.storage
    shape = tensor.shape
    writes = storage.writes
    return (
        name, tensor.name, shape if type(shape) is tuple and all(type(size) is int for size in shape) else _value_key(shape),
        tensor.parameter, tensor.buffer, tensor.requires_grad, tensor.dtype, tensor.derived,
        *[_write_key(write) for write in storage.state], None, *[_write_key(write) for write in writes],
        *[_position(write, writes) for write in storage.state],
    )


def _position(write: Write, writes: list[Write]) -> int:
    """Which of the storage's writes holds the current value (-1: none of them, a combination)."""
    for index, earlier in enumerate(writes):
        if earlier is write:
            return index
    return -1


def _write_key(write: Write) -> tuple:
    """A write by what a visit could read of it (its values and flags; not where it was made).
    Distributions compare by value (frozen dataclasses of numbers); the flags are True, False
    or UNKNOWN."""
    return (
        write.kind, write.dist, write.conditional, write.partial, write.no_grad, write.via_data,
        write.spelled, write.in_forward, write.leaf, write.origin is None,
    )


#: plain values a key holds with their type (1, 1.0 and True are equal in a tuple, not in code)
_TYPED = frozenset({int, str, bool, type(None)})


def _values_key(values: dict[str, Any]) -> tuple:
    return tuple(
        (name, value.__class__, value) if value.__class__ in _TYPED else (name, _value_key(value))
        for name, value in values.items()
    )


def _value_key(value: Any) -> Any:
    """Equal keys for values a visit cannot tell apart: plain values by type and value (floats
    by their repr: -0.0 is not 0.0), shared objects by identity (both leaves hold the same one)."""
    if value is UNKNOWN:
        return "?"
    kind = type(value)
    if kind is float:
        return (kind, repr(value))
    if isinstance(value, (str, int, bool, type(None), Sym, External, KnownSet)):
        return (kind, value)
    if kind is tuple:
        return ("tuple", tuple(_value_key(item) for item in value))
    if isinstance(value, (Tensor, Storage, Write)):
        raise Unrecordable("a leaf attribute holds a tensor")
    return ("id", id(value))


def _parts(module: Module) -> list[Any]:
    """The leaf's objects in a fixed order: the leaf, then per tensor the tensor, its storage,
    and its earlier writes (values first, then history). Equal leaves list them alike."""
    found: list[Any] = [module]
    for tensor in (*module.params.values(), *module.buffers.values()):
        if tensor is not None:
            found.extend((tensor, tensor.storage, *tensor.storage.state, *tensor.storage.writes))
    return found


def _fields_of(module: Module) -> list[tuple[Any, ...]]:
    """What the visit must leave as it was: the leaf's and its tensors' fields."""
    state: list[tuple[Any, ...]] = [tuple(_snapshot_field(getattr(module, name)) for name in _MODULE_FIELDS)]
    for tensor in (*module.params.values(), *module.buffers.values()):
        if tensor is not None:
            state.append(tuple(_snapshot_field(getattr(tensor, name)) for name in _TENSOR_FIELDS))
    return state


def _snapshot_field(value: Any) -> Any:
    if type(value) is dict:
        return ("dict", tuple((name, id(item)) for name, item in value.items()))
    return ("id", id(value)) if not isinstance(value, (str, int, float, bool, type(None))) else value


def _record(evaluator: "Evaluator", method: "BoundMethod", module: Module, place: Place, frame: "Frame | None") -> Any:
    floor = next_serial()
    before = _fields_of(module)
    parts = _parts(module)
    tensors = [part for part in parts if type(part) is Tensor]
    lengths = [len(tensor.storage.writes) for tensor in tensors]
    records, others = records_reached(evaluator), other_effects(evaluator)
    steps, calls = evaluator.steps, len(evaluator.calls)
    deepest, evaluator.deepest = evaluator.deepest, calls
    log = VisitLog()
    evaluator.visit_logs.append(log)
    try:
        evaluator.call(method, [module], {}, place, frame)
    finally:
        evaluator.visit_logs.pop()
        reached, evaluator.deepest = evaluator.deepest, max(deepest, evaluator.deepest)
    try:
        if other_effects(evaluator) != others:
            raise Unrecordable("the visit did more than write values")
        own = {id(tensor) for tensor in tensors}
        if any(id(obj) not in own for obj in log.changed):
            raise Unrecordable("the visit changed an object that is not the leaf's tensor")
        if any(id(tensor.root) not in own for tensor in log.used):
            raise Unrecordable("the visit used a tensor that is not the leaf's")
        if _fields_of(module) != before:
            raise Unrecordable("the visit changed the leaf's fields")
        old = {id(part): index for index, part in enumerate(parts)}
        writes_at, events_at, init_calls_at, raised_at, called_at = records
        writes = evaluator.writes[writes_at:]
        made = {id(write) for write in writes}
        for tensor in tensors:
            made.update(id(write) for write in tensor.storage.writes if write.serial >= floor)
        storages = [
            (list(tensor.storage.state), tensor.storage.writes[length:]) for tensor, length in zip(tensors, lengths)
        ]
        for write in writes:
            _check(write, old, made, floor)
        for state, appended in storages:
            for write in (*state, *appended):
                _check(write, old, made, floor)
        events = evaluator.events[events_at:]
        init_calls = evaluator.init_calls[init_calls_at:]
        for item in (*events, *init_calls):
            _check(item, old, made, floor)
        alive = (module, method, tuple(evaluator.calls), tuple(evaluator.active))
        return VisitRecord(alive, evaluator.object_changes, old, writes_at, writes, storages, events, init_calls,
                           evaluator.raised[raised_at:], evaluator.called[called_at:], evaluator.steps - steps,
                           reached - calls)
    except Unrecordable:
        return REFUSED


def records_reached(evaluator: "Evaluator") -> tuple[int, ...]:
    """How far the records a visit may add to reach (what a copy adds again)."""
    return (len(evaluator.writes), len(evaluator.events), len(evaluator.init_calls), len(evaluator.raised),
            len(evaluator.called))


def other_effects(evaluator: "Evaluator") -> tuple[int, ...]:
    """How far everything else reaches that a visit could change: a recorded visit left it all."""
    return (len(evaluator.graph), len(evaluator.defined), len(evaluator.project.namespaces), evaluator.loaded,
            evaluator.refused, evaluator.identity_tests, len(evaluator.hf_initialized),
            len(evaluator.read_in_forward), len(evaluator.forwards))


def _check(item: Any, old: dict[int, int], made: set[int], floor: int) -> None:
    """``item`` (a write, event or init call the visit made) refers to nothing a copy could not map."""
    if id(item) in old:
        return
    kind = type(item)
    if kind is Write:
        if item.serial < floor:
            raise Unrecordable("the visit refers to an earlier write that is not the leaf's")
        made.add(id(item))
    for name in _FIELDS[kind]:
        value = getattr(item, name)
        if name in _MAPPED[kind]:
            _check_value(value, old, made, floor)
        elif not (isinstance(value, _SHARED) or value is UNKNOWN or type(value) is tuple and all(isinstance(v, _SHARED) for v in value)):
            raise Unrecordable(f"a {kind.__name__}'s {name} holds a {type(value).__name__}")


def _check_value(value: Any, old: dict[int, int], made: set[int], floor: int) -> None:
    if isinstance(value, _SHARED) or value is UNKNOWN:
        return
    if type(value) is tuple:
        for element in value:
            _check_value(element, old, made, floor)
        return
    if id(value) in old or id(value) in made:
        return
    if type(value) is Write:
        _check(value, old, made, floor)
        return
    raise Unrecordable(f"the visit refers to a {type(value).__name__} it did not make")


_FIELDS: dict[type, tuple[str, ...]] = {
    Write: tuple(f.name for f in fields(Write) if f.name != "serial"),
    Event: tuple(f.name for f in fields(Event)),
    InitRecord: tuple(f.name for f in fields(InitRecord)),
}
#: the fields of what a visit made that may refer to the leaf's objects or to each other (the
#: others hold shared values only, as _check made sure): a copy maps these
_MAPPED: dict[type, tuple[str, ...]] = {
    Write: ("tensor", "origin"),
    Event: ("subject", "other", "extra"),
    InitRecord: ("tensor",),
}


def _replay(evaluator: "Evaluator", record: VisitRecord, module: Module) -> None:
    parts = _parts(module)
    mapped: dict[int, Any] = {key: parts[index] for key, index in record.old.items()}

    def copy_of(value: Any) -> Any:
        if isinstance(value, _SHARED) or value is UNKNOWN:
            return value
        if type(value) is tuple:
            return tuple(copy_of(element) for element in value)
        found = mapped.get(id(value))
        if found is not None:
            return found
        kind = type(value)  # a write, event or init call the visit made
        duplicate = object.__new__(kind)
        duplicate.__dict__.update(value.__dict__)
        mapped[id(value)] = duplicate
        if kind is Write:
            duplicate.serial = next_serial()
        for name in _MAPPED[kind]:
            setattr(duplicate, name, copy_of(getattr(value, name)))
        return duplicate

    base = len(evaluator.writes)
    evaluator.writes.extend(copy_of(write) for write in record.writes)
    tensors = [part for part in parts if type(part) is Tensor]
    for tensor, (state, appended) in zip(tensors, record.storages):
        tensor.storage.state = [copy_of(write) for write in state]
        tensor.storage.writes.extend(copy_of(write) for write in appended)
    shift = base - record.base
    for event in record.events:
        duplicate = copy_of(event)
        duplicate.at_write = event.at_write + shift
        evaluator.events.append(duplicate)
    evaluator.init_calls.extend(copy_of(item) for item in record.init_calls)
    replay_run(evaluator, record)


def replay_run(evaluator: "Evaluator", record: Any) -> None:
    """What running a recorded visit adds besides its effects: the raises and functions it
    reached, its depth and its steps (out of steps as the visit would have run out)."""
    evaluator.raised.extend(record.raised)
    evaluator.called.extend(record.called)
    evaluator.deepest = max(evaluator.deepest, len(evaluator.calls) + record.depth)
    evaluator.steps += record.steps
    if evaluator.steps > evaluator.budget:
        raise BudgetExceeded()


def tensors_in(values: list[Any], depth: int = 0) -> list[Tensor]:
    """The tensors among ``values`` and inside the tuples, lists and dicts they are (library
    code called with them reads their values)."""
    found: list[Tensor] = []
    for value in values:
        if type(value) is Tensor:
            found.append(value)
        elif depth < 2 and isinstance(value, (tuple, ListObj, DictObj)):
            items = value if type(value) is tuple else value.items if isinstance(value, ListObj) else list(value.items.values())
            found.extend(tensors_in(items, depth + 1))
    return found


__all__ = ["REFUSED", "Unrecordable", "VisitLog", "other_effects", "records_reached", "replay_run", "shared_key", "tensors_in", "visit"]
