"""A dependency's module body evaluated a few times per process; later files get a copy.

Each linted file has a project of its own, so each evaluates the bodies of the files it imports
again: on a third of the speed corpus, modeling_llama.py's body ran for 98 linted files and
modeling_auto.py's (2,800 lines of mappings, 170 ms) for 14. The second time a body is evaluated
in a process, what it made is recorded (records.py); from then on a file gets a copy.

What is recorded is a group: the file's namespace and those of the files its body loaded
(``config_class = BertConfig`` in a class body loads the configuration file), with the functions
they defined and ran. A body is recorded only when it stayed inside what it made: it touched no
object older than itself (a namespace loaded before it, the linted file's), added no write,
event, flow node, init call or raise, reached no depth or recursion limit, and ran out of no
budget. A copy is made only where the body would run the same: none of the group's files is
loaded already in this project, each is still the very file the record read, the dependency
limit and the entry's step budget leave room, and no ``try`` is open around it.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

from initlint.lean import dataclass
from initlint.model.interp import records
from initlint.model.interp.snapshots import Marks
from initlint.model.project import MAX_DEPENDENCIES
from initlint.model.source import ParsedFile
from initlint.model.values import Namespace, next_serial

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: evaluations of a body in this process before it is recorded (a dependency of one file only
#: is not worth a record)
_RECORD_AT = 2
#: steps below which a body is not recorded: loading a copy would cost as much
_MIN_STEPS = 40
#: bytes of records one process keeps at most
_MAX_BYTES = 96 * 2**20


@dataclass(eq=False)
class Group:
    """One recorded body, with the bodies it loaded."""

    #: each file's path and the ParsedFile it was read as, in the order they were loaded
    sources: list[tuple[Path, ParsedFile]]
    data: bytes
    shared: list[Any]
    steps: int
    #: how deep its calls went (the body runs from an empty call stack)
    depth: int


#: bodies recorded at most this many times (a record refused in one file may be taken in another)
_MAX_TRIES = 3

#: path -> how many times its body was evaluated in this process, and was tried as a record
_evaluated: dict[Path, int] = {}
_tried: dict[Path, int] = {}
_groups: dict[Path, Group] = {}
_kept = [0]


def copy(evaluator: "Evaluator", key: Path) -> Namespace | None:
    """A copy of the recorded body of ``key`` and of the files it loaded, registered in the
    evaluator's project; None where no record applies (then the body is evaluated)."""
    group = _groups.get(key)
    if group is None or not _same_context(evaluator):
        return None
    project = evaluator.project
    if evaluator.loaded + len(group.sources) > MAX_DEPENDENCIES or evaluator.steps + group.steps > evaluator.budget:
        return None
    for path, source in group.sources:
        if path in project.namespaces or project.source(path) is not source:
            return None
    namespaces, defined, called = records.load(group.data, group.shared, ())
    for (path, _), namespace in zip(group.sources, namespaces):
        project.namespaces[path] = namespace
    evaluator.loaded += len(namespaces)
    evaluator.defined.update(defined)
    evaluator.called.extend(called)
    evaluator.steps += group.steps
    evaluator.deepest = max(evaluator.deepest, group.depth)  # a body runs from an empty call stack
    return namespaces[0]


class Recording:
    """Around a body's evaluation (machine.namespace_of): the marks it is judged by."""

    def __init__(self, evaluator: "Evaluator", key: Path) -> None:
        count = _evaluated.get(key, 0) + 1
        _evaluated[key] = count
        self.wanted = (
            count >= _RECORD_AT and key not in _groups and _tried.get(key, 0) < _MAX_TRIES and _kept[0] < _MAX_BYTES
            and _same_context(evaluator)
        )
        self.key = key
        if not self.wanted:
            return
        _tried[key] = _tried.get(key, 0) + 1
        project = evaluator.project
        self.floor = next_serial()
        self.before = set(project.namespaces)
        self.start = Marks(evaluator)
        self.level = [self.floor, 0]
        evaluator.recording.append(self.level)
        #: the body read a file loaded before it (a copy, where that file is not loaded yet,
        #: would not load it)
        self.read_older = False
        evaluator.body_recordings.append(self)
        self.defined, evaluator.defined = evaluator.defined, {}
        self.deepest, evaluator.deepest = evaluator.deepest, 0

    def finish(self, evaluator: "Evaluator", completed: bool) -> None:
        """Restore what the recording changed; record the group when the body qualifies."""
        if not self.wanted:
            return
        evaluator.recording.pop()
        evaluator.body_recordings.pop()
        defined, evaluator.defined = evaluator.defined, self.defined
        evaluator.defined.update(defined)
        depth, evaluator.deepest = evaluator.deepest, max(self.deepest, evaluator.deepest)
        steps = evaluator.steps - self.start.steps
        if not completed or self.level[1] or self.read_older or self.start.effects_since(evaluator) or steps < _MIN_STEPS:
            return
        project = evaluator.project
        paths = [path for path in project.namespaces if path not in self.before]
        sources = [(path, project.sources.get(path)) for path in paths]
        if not paths or paths[0] != self.key or any(source is None for _, source in sources):
            return
        payload = ([project.namespaces[path] for path in paths], defined, evaluator.called[self.start.called:])
        try:
            data, shared = records.dump(payload, self.floor, 0, 0, 0, set(), definitions=True)
        except records.NotRecordable:
            return
        _groups[self.key] = Group(sources, data, shared, steps, depth)
        _kept[0] += len(data)


def note_read(evaluator: "Evaluator", key: Path) -> None:
    """A body being evaluated reads the namespace of ``key``, loaded already: a body recorded
    around it that started after that file was loaded read an older file."""
    for recording in evaluator.body_recordings:
        if key in recording.before:
            recording.read_older = True


def _same_context(evaluator: "Evaluator") -> bool:
    """A body evaluated here runs as it did where it was recorded: not inside a ``try`` (a
    body runs outside any class body wherever it is loaded from: Evaluator.namespace_of)."""
    return not evaluator.in_try


__all__ = ["Group", "Recording", "copy", "note_read"]
