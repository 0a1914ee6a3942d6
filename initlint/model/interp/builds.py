"""Building a model class once per file: a later build with the same arguments is a copy.

A file of transformers holds a base model and several heads, and each head's constructor builds
the base model again (``self.model = DoryModel(config)``), post_init's walk included: about a
third of the evaluation of transformers' model files went to builds an earlier entry of the same
file had already done.

The entry of a class that another class of the file calls by name records its own build, when
every argument is known (a configuration's defaults; not the symbols of open parameters); once
the class has a record, a build with other known arguments is recorded too, the first time they
come (heads that build their base model without its pooler). A later build of that class with
arguments equal value for value, in an evaluator in the same state (nothing undecided, nothing
repeated, outside forward and ``try``, autograd alike, room left below the depth limit, none of
its functions running), gets a copy: the module tree with its tensors and their writes, and the
writes, events, init calls, raises and executed functions the build added to the evaluator, its
call frames moved under the new caller.

A build is recorded only when it provably stayed inside what it made: it added no node to the
flow graph, loaded no other file, hit no depth or recursion limit, wrote to no tensor and changed
no object it did not make (its arguments, a module-level list, a class), made no function or
class, and holds nothing the copy does not know. What existed before the build is shared by the
copies, as a second evaluation would share it; what the build made is copied. Objects are told
apart by their creation number (``values.next_serial``). The record is a pickle: loading one
costs about a fourth of the evaluation it replaces (transformers' model files, every 8th: 2.8 s
of builds replaced for 0.7 s of loading and 1.0 s of recording).

A recorded build that runs its entry out of steps is remembered too: a later entry that makes
the same build, in the same state, with no more steps left, would run out again (evaluation is
deterministic) and fail; it fails at once, its reached functions those the first one ran (on a
third of the speed corpus, entries that ran out of steps took 7% of the time, 2 of 13 twice).
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from initlint.model.interp import records
from initlint.model.interp import build_keys, slots
from initlint.model.interp.build_keys import Unmemoizable
from initlint.model.interp.context import MAX_DEPTH, MISSING, BudgetExceeded
from initlint.model.values import (
    ClassValue,
    FunctionValue,
    Module,
    Place,
    Sym,
    next_serial,
)

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: steps below which a build is not recorded: fingerprinting and pickling it would cost more
#: than evaluating it again where it comes back
_MIN_STEPS = 1000
#: the same for a build that comes again with other ints: its copies are many (every layer of
#: a stack), fingerprinting and pickling it is paid once
_MIN_STACKED_STEPS = 100


@dataclass(eq=False)
class Snapshot:
    """One recorded build."""

    #: the arguments it was given, bound to parameter names (kept alive: the key holds ids)
    arguments: dict[str, Any]
    #: the objects inside those arguments, in the key's order: a replay maps them to its own
    twins: list[Any]
    #: where the recorded build was called: a copy is made where it is called
    place: Place
    #: what the record refers to rather than holds: older objects, places, constants
    shared: list[Any]
    #: the pickled (module, writes, events, init calls, raised places, modules the init walk marked)
    data: bytes
    #: the functions the build ran, in order (the copy ran them too: ``executed``)
    called: list[FunctionValue]
    #: the evaluation steps it took: a copy spends them from its entry's budget
    steps: int
    #: how much deeper than its start its calls went
    depth: int
    #: BuildMemo.shared_changes when the build started: what it read of the shared state
    shared_changes: int


@dataclass(eq=False)
class Exhausted:
    """A build that ran its entry out of steps: from as late a start, in the same state, it
    would again (evaluation is deterministic), and the entry fails either way."""

    #: the entry's steps left when it started
    steps_left: int
    #: the functions it ran before it stopped (their defs count as reached, as they did)
    called: list[FunctionValue]
    #: how much deeper than its start its calls went
    depth: int
    shared_changes: int


@dataclass(eq=False)
class Stacked:
    """The record of a build that only moved its ``varying`` ints (slots.py): a copy with
    other values of them where the other arguments, ``fixed`` ints included, are equal."""

    snapshot: Snapshot
    varying: tuple[str, ...]
    fixed: dict[str, int]


#: a stack whose tracked build could not be recorded: its builds are evaluated
_REFUSED = object()


class BuildMemo:
    """The recorded builds of one file's class entries (see the module docstring)."""

    def __init__(self, wanted: set[str] | frozenset[str] = frozenset()) -> None:
        #: names of the classes another class of the file calls: the builds that may come back
        self.wanted = wanted
        self.snapshots: dict[tuple, Snapshot] = {}
        #: ids of the classes with a snapshot: a nested build of another class needs no key
        self.recorded: set[int] = set()
        #: keys recorded or refused: a build is recorded once at most
        self.tried: set[tuple] = set()
        #: recorded builds that ran out of steps, and the ids of their classes
        self.exhausted: dict[tuple, Exhausted] = {}
        self.exhausted_classes: set[int] = set()
        #: changes so far to objects no entry made (module-level lists, classes): a build may
        #: have read them, so a record is copied only while they stand as they were
        self.shared_changes = 0
        #: builds inside others, by class and arguments but for their ints: the ints of the
        #: first, then the record of the second when it only moved its ints (_repeated)
        self.stacks: dict[tuple, dict[str, int] | Stacked | object] = {}
        #: for benchmarks and tests: replays done, and why builds were not recorded
        self.replayed = 0
        self.refusals: dict[str, int] = {}

    def build(self, evaluator: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place, open_: bool) -> Any:
        """``cls(*args, **kwargs)``: a copy of a recorded build, else evaluated, and recorded
        when every argument is known and it is the entry's own build or the class has a record
        for other arguments (a head that builds its base model without the pooler)."""
        own = not evaluator.calls
        if not own and id(cls) not in self.recorded and id(cls) not in self.exhausted_classes:
            return self._repeated(evaluator, cls, args, kwargs, place, open_)
        grad = _context(evaluator)
        arguments = build_keys.bind(evaluator._find_init(cls.mro()), args, kwargs)
        if grad is MISSING or arguments is None or open_:
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        try:
            fingerprint, twins = build_keys.fingerprint(arguments)
        except Unmemoizable as why:
            self._refuse(str(why))
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        key = (id(cls), fingerprint, repr(grad))
        exhausted = self.exhausted.get(key)
        if exhausted is not None and _exhausts(evaluator, exhausted, self.shared_changes):
            evaluator.called.extend(exhausted.called)
            evaluator.steps = evaluator.budget + 1
            raise BudgetExceeded()
        snapshot = self.snapshots.get(key)
        if snapshot is not None and snapshot.shared_changes == self.shared_changes and _fits(evaluator, snapshot):
            self.replayed += 1
            return _replay(evaluator, snapshot, twins, place)
        if key in self.tried or any(isinstance(value, Sym) for value in arguments.values()):
            # the code's own calls pass values, never the symbols an entry gives open parameters
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        self.tried.add(key)
        return self._record(evaluator, cls, args, kwargs, place, key, arguments, twins)

    def _record(self, evaluator: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place,
                key: tuple, arguments: dict[str, Any], twins: list[Any]) -> Any:
        result, snapshot = self._recorded(evaluator, cls, args, kwargs, place, arguments, key[1], twins, _MIN_STEPS, key)
        if snapshot is not None:
            self.snapshots[key] = snapshot
            self.recorded.add(id(cls))
        return result

    def _recorded(self, evaluator: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place,
                  arguments: dict[str, Any], fingerprint: tuple, twins: list[Any], min_steps: int,
                  exhausted_key: tuple | None = None, log: slots.SlotLog | None = None) -> tuple[Any, Snapshot | None]:
        """The build, evaluated, and its snapshot when it may be copied: ``arguments`` still
        have ``fingerprint`` after it, and with ``log``, it used none of its tracked ints. A
        build that runs out of steps is remembered under ``exhausted_key``."""
        floor = next_serial()
        start = Marks(evaluator)
        shared_changes = self.shared_changes
        deepest, evaluator.deepest = evaluator.deepest, len(evaluator.calls)
        level = [floor, 0]
        evaluator.recording.append(level)
        try:
            result = evaluator.make_instance(cls, args, kwargs, place, False)
        except BudgetExceeded:
            if exhausted_key is not None and evaluator.refused == start.refused:  # no call cut short: the same build again
                self.exhausted[exhausted_key] = Exhausted(
                    evaluator.budget - start.steps, evaluator.called[start.called:], evaluator.deepest - start.calls,
                    shared_changes,
                )
                self.exhausted_classes.add(id(cls))
            raise
        finally:
            evaluator.recording.pop()
            reached, evaluator.deepest = evaluator.deepest, max(deepest, evaluator.deepest)
        try:
            if not isinstance(result, Module):
                raise Unmemoizable("the class is no module")
            if evaluator.steps - start.steps < min_steps:
                raise Unmemoizable("the build is cheaper than a copy")
            if log is not None and log.used:
                raise Unmemoizable("the build used the value of an int argument")
            start.unchanged_since(evaluator)
            if level[1]:
                raise Unmemoizable("the build changed an object it did not make")
            if build_keys.fingerprint(arguments)[0] != fingerprint:
                raise Unmemoizable("the build changed its arguments")
            snapshot = _snapshot(evaluator, result, start, floor, arguments, twins, place, reached - start.calls,
                                 shared_changes, log)
        except Unmemoizable as why:
            self._refuse(str(why))
            return result, None
        return result, snapshot

    def _repeated(self, evaluator: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place,
                  open_: bool) -> Any:
        """A build inside another that may come again with other ints (a layer of a stack,
        ``Block(config, index)``): the first is evaluated; the second, with other ints, is
        evaluated with those ints tracked (slots.py) and recorded if it only moved them; the
        later ones, equal but for those ints, are copies of that record with their own ints."""
        grad = _context(evaluator)
        init = evaluator._find_init(cls.mro())
        arguments = build_keys.bind(init, args, kwargs)
        if grad is MISSING or arguments is None or open_:
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        ints = {name: value for name, value in arguments.items() if type(value) is int}
        if not ints:
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        others = {name: value for name, value in arguments.items() if name not in ints}
        try:
            fingerprint, twins = build_keys.fingerprint(others)
        except Unmemoizable:
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        key = (id(cls), tuple(ints), fingerprint, repr(grad))
        known = self.stacks.get(key)
        if known is None:
            self.stacks[key] = ints  # the first: evaluated as it is
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        if isinstance(known, Stacked):
            snapshot = known.snapshot
            if (
                all(ints[name] == value for name, value in known.fixed.items())
                and snapshot.shared_changes == self.shared_changes and _fits(evaluator, snapshot)
            ):
                self.replayed += 1
                return _replay(evaluator, snapshot, twins, place, tuple(ints[name] for name in known.varying))
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        if known is _REFUSED or known == ints:
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        self.stacks[key] = _REFUSED  # tried once
        varying = tuple(name for name in ints if ints[name] != known[name])
        log = slots.SlotLog()
        tracked = {name: slots.SlotInt(ints[name], position, log) for position, name in enumerate(varying)}
        args, kwargs = _substituted(init, args, kwargs, tracked)
        slots.tracking += 1
        try:
            result, snapshot = self._recorded(
                evaluator, cls, args, kwargs, place, others, fingerprint, twins, _MIN_STACKED_STEPS, log=log,
            )
        finally:
            slots.tracking -= 1
            log.active = False
        if snapshot is not None:
            fixed = {name: value for name, value in ints.items() if name not in tracked}
            self.stacks[key] = Stacked(snapshot, varying, fixed)
        return result

    def _refuse(self, why: str) -> None:
        self.refusals[why] = self.refusals.get(why, 0) + 1


class Marks:
    """How far each of the evaluator's records reached when a build (or a module body,
    loads.py) started."""

    def __init__(self, evaluator: "Evaluator") -> None:
        self.writes = len(evaluator.writes)
        self.events = len(evaluator.events)
        self.init_calls = len(evaluator.init_calls)
        self.raised = len(evaluator.raised)
        self.called = len(evaluator.called)
        self.graph = len(evaluator.graph)
        self.namespaces = len(evaluator.project.namespaces)
        self.loaded = evaluator.loaded
        self.refused = evaluator.refused
        self.steps = evaluator.steps
        self.calls = len(evaluator.calls)

    def effects_since(self, evaluator: "Evaluator") -> bool:
        """Whether the evaluator has recorded a write, event, flow node, init call or raise
        since, or reached a depth or recursion limit: what a copy would not repeat."""
        return (
            len(evaluator.writes) != self.writes or len(evaluator.events) != self.events
            or len(evaluator.graph) != self.graph or len(evaluator.init_calls) != self.init_calls
            or len(evaluator.raised) != self.raised or evaluator.refused != self.refused
        )

    def unchanged_since(self, evaluator: "Evaluator") -> None:
        if len(evaluator.graph) != self.graph:
            raise Unmemoizable("the build ran a model forward")
        if len(evaluator.project.namespaces) != self.namespaces or evaluator.loaded != self.loaded:
            raise Unmemoizable("the build loaded another file")
        if evaluator.refused != self.refused:
            raise Unmemoizable("the build reached a depth or recursion limit")


def _context(evaluator: "Evaluator") -> Any:
    """Whether autograd is off (the state a build's writes record), or MISSING where the
    evaluator's state would make a build differ from a recorded one."""
    if (
        evaluator.maybe or evaluator.in_forward or evaluator.in_try or evaluator.repeat_marks or evaluator.in_dependency
        or type(evaluator.repeat) is not int or evaluator.repeat != 1 or evaluator.defining_class is not None
    ):
        return MISSING
    return evaluator.grad_off()


def _exhausts(evaluator: "Evaluator", exhausted: Exhausted, shared_changes: int) -> bool:
    """The build would run out of steps again: no more steps left than it had, the shared state
    as it was, and none of its calls cut short by the depth or recursion limit where it ran."""
    if evaluator.budget - evaluator.steps > exhausted.steps_left or shared_changes != exhausted.shared_changes:
        return False
    return _runs_alike(evaluator, exhausted.depth, exhausted.called)


def _fits(evaluator: "Evaluator", snapshot: Snapshot) -> bool:
    return _runs_alike(evaluator, snapshot.depth, snapshot.called)


def _runs_alike(evaluator: "Evaluator", depth: int, called: list[FunctionValue]) -> bool:
    """The evaluator would run a recorded build the same way: no call it makes would pass
    the depth limit (it went ``depth`` deeper), and none of the functions it ran is running
    already (the recursion limit)."""
    if len(evaluator.calls) + depth >= MAX_DEPTH:
        return False
    ran = {id(function) for function in called}
    return not any(id(function) in ran for function in evaluator.active)


def _snapshot(evaluator: "Evaluator", result: Module, start: Marks, floor: int, arguments: dict[str, Any],
              twins: list[Any], place: Place, depth: int, shared_changes: int, log: slots.SlotLog | None = None) -> Snapshot:
    writes = evaluator.writes[start.writes:]
    for write in writes:
        if write.tensor is not None and write.tensor.serial < floor:
            raise Unmemoizable("the build wrote to a tensor it did not make")
    events = evaluator.events[start.events:]
    marked = [module for module in _modules_below(result) if id(module) in evaluator.hf_initialized]
    payload = (result, writes, events, evaluator.init_calls[start.init_calls:], evaluator.raised[start.raised:], marked)
    try:
        data, shared = records.dump(payload, floor, start.calls, start.writes, evaluator.born, {id(twin) for twin in twins},
                                    slots=log)
    except records.NotRecordable as why:
        raise Unmemoizable(str(why)) from None
    return Snapshot(
        arguments, twins, place, shared, data, evaluator.called[start.called:], evaluator.steps - start.steps, depth,
        shared_changes,
    )


def _substituted(init: Any, args: list[Any], kwargs: dict[str, Any], values: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """``args`` and ``kwargs`` with the arguments bound to the parameters named in ``values``
    replaced by those values (the binding of ``build_keys.bind``)."""
    params = init.node.params
    positional = [param.name.value for param in (*params.posonly_params, *params.params)][1:]
    args = [values.get(name, arg) for name, arg in zip(positional, args)]  # bind took no more args than names
    return args, {name: values.get(name, value) for name, value in kwargs.items()}


def _modules_below(model: Module) -> list[Module]:
    """The model and every module under it (the walk's reach, at any depth)."""
    found: list[Module] = []
    seen: set[int] = set()
    stack = [model]
    while stack:
        module = stack.pop()
        if id(module) in seen:
            continue
        seen.add(id(module))
        found.append(module)
        stack.extend(child for child in module.modules.values() if isinstance(child, Module))
    return found


def _replay(evaluator: "Evaluator", snapshot: Snapshot, twins: list[Any], place: Place, ints: tuple[int, ...] = ()) -> Module:
    mapped = {id(old): new for old, new in zip(snapshot.twins, twins)}
    mapped[id(snapshot.place)] = place
    shared = [mapped.get(id(item), item) for item in snapshot.shared]
    model, writes, events, init_calls, raised, marked = records.load(snapshot.data, shared, tuple(evaluator.calls), ints)
    base = len(evaluator.writes)
    for event in events:
        event.at_write += base
    evaluator.writes.extend(writes)
    evaluator.events.extend(events)
    evaluator.init_calls.extend(init_calls)
    evaluator.raised.extend(raised)
    evaluator.called.extend(snapshot.called)
    evaluator.hf_initialized.update(id(module) for module in marked)
    evaluator.deepest = max(evaluator.deepest, len(evaluator.calls) + snapshot.depth)
    evaluator.steps += snapshot.steps
    if evaluator.steps > evaluator.budget:
        raise BudgetExceeded()
    return model


__all__ = ["BuildMemo", "Marks", "Unmemoizable"]
