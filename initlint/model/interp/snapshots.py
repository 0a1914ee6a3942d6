"""A recorded build: what a build added to the evaluator, pickled (records.py), and its copy.

builds.py decides which builds to record and where a copy stands for a build; this module takes
the snapshot when a build ends and lays a copy into the evaluator, as if the build had run where
the copy is made: its writes, events, init calls and raises appended, its call frames moved
under the new caller, its steps spent from the entry's budget.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from initlint.lean import dataclass
from initlint.model.interp import records, slots
from initlint.model.interp.build_keys import Unmemoizable
from initlint.model.interp.context import MAX_DEPTH, MISSING, BudgetExceeded
from initlint.model.values import FunctionValue, Module, Place

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator


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


def build_context(evaluator: "Evaluator") -> Any:
    """Whether autograd is off (the state a build's writes record), or MISSING where the
    evaluator's state would make a build differ from a recorded one."""
    if (
        evaluator.maybe or evaluator.in_forward or evaluator.in_try or evaluator.repeat_marks or evaluator.in_dependency
        or type(evaluator.repeat) is not int or evaluator.repeat != 1 or evaluator.defining_class is not None
    ):
        return MISSING
    return evaluator.grad_off()


def exhausts(evaluator: "Evaluator", exhausted: Exhausted, shared_changes: int) -> bool:
    """The build would run out of steps again: no more steps left than it had, the shared state
    as it was, and none of its calls cut short by the depth or recursion limit where it ran."""
    if evaluator.budget - evaluator.steps > exhausted.steps_left or shared_changes != exhausted.shared_changes:
        return False
    return _runs_alike(evaluator, exhausted.depth, exhausted.called)


def fits(evaluator: "Evaluator", snapshot: Snapshot) -> bool:
    return _runs_alike(evaluator, snapshot.depth, snapshot.called)


def _runs_alike(evaluator: "Evaluator", depth: int, called: list[FunctionValue]) -> bool:
    """The evaluator would run a recorded build the same way: no call it makes would pass
    the depth limit (it went ``depth`` deeper), and none of the functions it ran is running
    already (the recursion limit)."""
    if len(evaluator.calls) + depth >= MAX_DEPTH:
        return False
    ran = {id(function) for function in called}
    return not any(id(function) in ran for function in evaluator.active)


def take_snapshot(evaluator: "Evaluator", result: Module, start: Marks, floor: int, arguments: dict[str, Any],
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


def replay(evaluator: "Evaluator", snapshot: Snapshot, twins: list[Any], place: Place, ints: tuple[int, ...] = ()) -> Module:
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


__all__ = ["Exhausted", "Marks", "Snapshot", "build_context", "exhausts", "fits", "replay", "take_snapshot"]
