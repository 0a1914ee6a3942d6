"""Building a model class once per file: a later build with the same arguments is a copy.

A file of transformers holds a base model and several heads, and each head's constructor builds
the base model again (``self.model = DoryModel(config)``), post_init's walk included: about a
third of the evaluation of transformers' model files went to builds an earlier entry of the same
file had already done.

The entry of a class that another class of the file calls by name records its own build, when
every argument is known (a configuration's defaults; not the symbols of open parameters); once
the class has a record, a build with other known arguments is recorded too, the first time they
come (heads that build their base model without its pooler). Any other entry's own build of
a module class is noted: when a build with the same arguments comes again all the same (heads
whose constructor another file writes, as in transformers' modular files, build the base model
under that file's name), the third such build is recorded. A later build of that class with
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

from typing import TYPE_CHECKING, Any

from initlint.lean import dataclass
from initlint.model.interp import build_keys, slots, snapshots
from initlint.model.interp.snapshots import Exhausted, Marks, Snapshot
from initlint.model.interp.build_keys import Unmemoizable
from initlint.model.interp.context import MISSING, BudgetExceeded
from initlint.model.values import (
    ClassValue,
    Module,
    Place,
    Sym,
    next_serial,
)

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator
    from initlint.model.syntax import CallShape

#: steps below which a build is not recorded: fingerprinting and pickling it would cost more
#: than evaluating it again where it comes back
_MIN_STEPS = 1000
#: the same for a build that comes again with other ints: its copies are many (every layer of
#: a stack), fingerprinting and pickling it is paid once
_MIN_STACKED_STEPS = 100


@dataclass(eq=False)
class Stacked:
    """The record of a build that only moved its ``varying`` ints (slots.py): a copy with
    other values of them where the other arguments, ``fixed`` ints included, are equal."""

    snapshot: Snapshot
    varying: tuple[str, ...]
    fixed: dict[str, int]


#: which build of a key no call of the file seemed to repeat is recorded (see BuildMemo.unforeseen)
_UNFORESEEN_RECORDED_AT = 3

#: a stack whose tracked build could not be recorded: its builds are evaluated
_REFUSED = object()


class BuildMemo:
    """The recorded builds of one file's class and function entries (see the module docstring)."""

    def __init__(self, wanted: set[str] | frozenset[str] = frozenset(), calls: dict[CallShape, int] | None = None) -> None:
        #: names of the classes another class of the file calls: the builds that may come back
        self.wanted = wanted
        #: the file's calls by plain name: how each passes arguments, how often (None: not known)
        self.calls: dict[str, list[tuple[int, tuple[str, ...], bool, int]]] | None = None
        if calls is not None:
            self.calls = {}
            for (name, given, keywords, starred), times in calls.items():
                self.calls.setdefault(name, []).append((given, keywords, starred, times))
        self.snapshots: dict[tuple, Snapshot] = {}
        #: ids of the classes with a snapshot: a nested build of another class needs no key
        self.recorded: set[int] = set()
        #: keys recorded or refused: a build is recorded once at most
        self.tried: set[tuple] = set()
        #: keys built without a record, no call of the file seeming to repeat them (a head whose
        #: constructor another file writes builds the base model by another name), with how
        #: often they were built, and the ids of their classes: the third build with such a key
        #: is recorded after all (at the second, a record would often be copied by none: a
        #: model and one head)
        self.unforeseen: dict[tuple, int] = {}
        self.unforeseen_classes: set[int] = set()
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
        """``cls(*args, **kwargs)``: a copy of a recorded build, else evaluated; recorded when
        every argument is known and a later build may be the same: the entry's own build that
        a call in the file repeats, a build inside another entry that two calls of the file
        make alike (heads that build their base model without the pooler), or a class with a
        record already. Other builds inside an entry may be layers of a stack (_repeated)."""
        own = not evaluator.calls
        grad = snapshots.build_context(evaluator)
        init = evaluator._find_init(cls.mro())
        arguments = build_keys.bind(init, args, kwargs)
        if grad is MISSING or arguments is None or open_:
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        nested_only = not own and id(cls) not in self.recorded and id(cls) not in self.exhausted_classes and (
            self.calls is None or self._calls_binding(cls, init, arguments) < 2
        )
        if nested_only and id(cls) not in self.unforeseen_classes:
            return self._repeated(evaluator, cls, args, kwargs, place, open_, grad, init, arguments)
        try:
            fingerprint, twins = build_keys.fingerprint(arguments)
        except Unmemoizable as why:
            if nested_only:
                return self._repeated(evaluator, cls, args, kwargs, place, open_, grad, init, arguments)
            self._refuse(str(why))
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        key = (id(cls), fingerprint, repr(grad))
        if nested_only and key not in self.unforeseen:  # a layer of a stack, maybe
            return self._repeated(evaluator, cls, args, kwargs, place, open_, grad, init, arguments)
        exhausted = self.exhausted.get(key)
        if exhausted is not None and snapshots.exhausts(evaluator, exhausted, self.shared_changes):
            evaluator.called.extend(exhausted.called)
            evaluator.steps = evaluator.budget + 1
            raise BudgetExceeded()
        snapshot = self.snapshots.get(key)
        if snapshot is not None and snapshot.shared_changes == self.shared_changes and snapshots.fits(evaluator, snapshot):
            self.replayed += 1
            return snapshots.replay(evaluator, snapshot, twins, place)
        built = self.unforeseen.get(key)
        if built is not None:  # it came again: recorded the third time, copied from then on
            if built < _UNFORESEEN_RECORDED_AT - 1:
                self.unforeseen[key] = built + 1
                return evaluator.make_instance(cls, args, kwargs, place, open_)
            del self.unforeseen[key]
            return self._record(evaluator, cls, args, kwargs, place, key, arguments, twins, init, 0)
        if key in self.tried or any(isinstance(value, Sym) for value in arguments.values()):
            # the code's own calls pass values, never the symbols an entry gives open parameters
            return evaluator.make_instance(cls, args, kwargs, place, open_)
        self.tried.add(key)
        return self._record(evaluator, cls, args, kwargs, place, key, arguments, twins, init, 1 if own else 2)

    def _record(self, evaluator: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place,
                key: tuple, arguments: dict[str, Any], twins: list[Any], init: Any, sites: int) -> Any:
        """The build, recorded when at least ``sites`` calls of the file may repeat it: the
        entry's own build for one call in another class, a head's build with other arguments
        for two (a record no later build can match is pickled for nothing; on a tenth of the
        speed corpus, a third of the records' bytes)."""
        dump = self._calls_binding(cls, init, arguments) >= sites
        if not dump:
            self.unforeseen[key] = 1
            self.unforeseen_classes.add(id(cls))
        result, snapshot = self._recorded(evaluator, cls, args, kwargs, place, arguments, key[1], twins,
                                          _MIN_STEPS if dump else None, key)
        if snapshot is not None:
            self.snapshots[key] = snapshot
            self.recorded.add(id(cls))
        return result

    def _recorded(self, evaluator: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place,
                  arguments: dict[str, Any], fingerprint: tuple, twins: list[Any], min_steps: int | None,
                  exhausted_key: tuple | None = None, log: slots.SlotLog | None = None) -> tuple[Any, Snapshot | None]:
        """The build, evaluated, and its snapshot when it may be copied: it took ``min_steps``
        (None: no snapshot wanted), ``arguments`` still have ``fingerprint`` after it, and with
        ``log``, it used none of its tracked ints. A build that runs out of steps is remembered
        under ``exhausted_key``."""
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
        if min_steps is None:
            self._refuse("no other call of the file passes the same arguments")
            return result, None
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
            snapshot = snapshots.take_snapshot(evaluator, result, start, floor, arguments, twins, place, reached - start.calls,
                                 shared_changes, log)
        except Unmemoizable as why:
            self._refuse(str(why))
            return result, None
        return result, snapshot

    def _repeated(self, evaluator: "Evaluator", cls: ClassValue, args: list[Any], kwargs: dict[str, Any], place: Place,
                  open_: bool, grad: Any, init: Any, arguments: dict[str, Any]) -> Any:
        """A build inside another that may come again with other ints (a layer of a stack,
        ``Block(config, index)``): the first is evaluated; the second, with other ints, is
        evaluated with those ints tracked (slots.py) and recorded if it only moved them; the
        later ones, equal but for those ints, are copies of that record with their own ints."""
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
                and snapshot.shared_changes == self.shared_changes and snapshots.fits(evaluator, snapshot)
            ):
                self.replayed += 1
                return snapshots.replay(evaluator, snapshot, twins, place, tuple(ints[name] for name in known.varying))
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

    def _calls_binding(self, cls: ClassValue, init: Any, arguments: dict[str, Any]) -> int:
        """How many calls of ``cls`` by name in the file bind the parameters ``arguments`` binds
        (a call with ``*``/``**`` may bind any; unknown calls: as many as needed)."""
        if self.calls is None:
            return 2
        positional = build_keys.positional_names(init)
        bound = set(arguments)
        return sum(
            times for given, keywords, starred, times in self.calls.get(cls.name, ())
            if starred or {*positional[:given], *keywords} == bound
        )

    def _refuse(self, why: str) -> None:
        self.refusals[why] = self.refusals.get(why, 0) + 1


def _substituted(init: Any, args: list[Any], kwargs: dict[str, Any], values: dict[str, Any]) -> tuple[list[Any], dict[str, Any]]:
    """``args`` and ``kwargs`` with the arguments bound to the parameters named in ``values``
    replaced by those values (the binding of ``build_keys.bind``)."""
    positional = build_keys.positional_names(init)
    args = [values.get(name, arg) for name, arg in zip(positional, args)]  # bind took no more args than names
    return args, {name: values.get(name, value) for name, value in kwargs.items()}


__all__ = ["BuildMemo", "Marks", "Unmemoizable"]
