"""The evaluator's state: frames, completions of statements, the budget, joins of values."""

from __future__ import annotations

from dataclasses import field
from typing import Any

from initlint.lean import dataclass
from initlint.model.source import ParsedFile
from initlint.model.tensors import Tensor
from initlint.model.values import (
    UNKNOWN,
    FunctionValue,
    Module,
    Namespace,
    Place,
    Signal,
    Sym,
)

#: statements (and expressions) one entry may evaluate before it is abandoned as too costly
STEP_BUDGET = 60_000
#: steps the module body of another file of the project may take (as the linted file's own may):
#: past them the rest of that body stays unevaluated, its names unknown, and the entry that
#: imported from it goes on (transformers' modeling_auto.py builds sixty mappings of six hundred
#: models: 180,000 steps, more than a class entry may take)
DEPENDENCY_BUDGET = STEP_BUDGET
#: nested calls before a call is left unevaluated (recursion, deep helper chains)
MAX_DEPTH = 24
#: how deep one function may recurse: a walk over a module tree (timm's named_apply) recurses
#: once per level; deeper than this is a loop the budget would end anyway
MAX_RECURSION = 12
#: iterations a loop over ``range(n)`` is unrolled; longer ones run once as a template whose
#: objects stand for n copies (see statements.py)
MAX_UNROLL = 64
#: items a loop over a sequence of known objects (``self.modules()``, a list of layers) visits
#: one by one; each item is a different object, so a template would stand for the wrong ones
MAX_ITEMS = 4096


def unroll_limit(iterable: Any) -> int:
    """How many items of ``iterable`` a loop visits one by one (see MAX_UNROLL, MAX_ITEMS)."""
    return MAX_UNROLL if isinstance(iterable, range) else MAX_ITEMS


class Lazy:
    """A name imported from another file of the project, loaded when first used."""

    __slots__ = ("evaluator_source", "path", "name", "dotted")

    def __init__(self, evaluator_source: ParsedFile, path: Any, name: str | None, dotted: str) -> None:
        self.evaluator_source, self.path, self.name, self.dotted = evaluator_source, path, name, dotted


class BudgetExceeded(Exception):
    """The entry took more steps than STEP_BUDGET: its facts are incomplete and dropped."""


class Completion:
    """How a statement ended when it did not just fall through."""

    __slots__ = ()


@dataclass(eq=False)
class Return(Completion):
    """A ``return`` that ends the block being run, with its value."""

    value: Any


class _Marker(Completion):
    __slots__ = ("name",)

    def __init__(self, name: str) -> None:
        self.name = name

    def __repr__(self) -> str:
        return self.name


BREAK = _Marker("BREAK")
CONTINUE = _Marker("CONTINUE")
#: an exception was raised on a path the evaluator knows is taken
RAISE = _Marker("RAISE")


@dataclass(eq=False)
class Frame:
    """One function call (or module or class body) being evaluated."""

    source: ParsedFile
    namespace: Namespace
    locals: dict[str, Any]
    function: FunctionValue | None = None
    closure: dict[str, Any] | None = None
    #: values returned on paths that were only possibly taken (an undecided ``if``)
    returns: list[Any] = field(default_factory=list)
    #: the class body being evaluated (names go into the class, not the module)
    class_body: bool = False
    #: names declared ``global`` / ``nonlocal`` in this function
    globals_: set[str] = field(default_factory=set)
    nonlocals: set[str] = field(default_factory=set)
    #: an undecided ``return``/``raise`` happened: the rest of the function is undecided
    maybe_returned: bool = False
    #: the loops being evaluated (statements.LoopState)
    loops: list[Any] = field(default_factory=list)
    #: values a generator yielded (None: not a generator)
    yields: list[Any] | None = None
    #: annotated names in a class body, in order (dataclass fields)
    annotations: list[str] = field(default_factory=list)


def same(a: Any, b: Any) -> bool:
    """Whether two evaluated values are the same value (objects by identity)."""
    if a is b:
        return True
    if type(a) is not type(b):
        return False
    if isinstance(a, (int, float, str, bool, Sym)) or a is None:
        return a == b
    if isinstance(a, tuple):
        return len(a) == len(b) and all(same(x, y) for x, y in zip(a, b))
    return False


def join(values: list[Any]) -> Any:
    """The value of an expression that holds one of ``values`` depending on an undecided test."""
    if not values:
        return None
    first = values[0]
    if all(same(first, other) for other in values[1:]):
        return first
    return UNKNOWN


def truth(value: Any) -> bool | None:
    """Python's truth of a value, or None when it is not decided."""
    if value is None or isinstance(value, (bool, int, float, str)):
        return bool(value)
    if isinstance(value, tuple):
        return bool(value)
    from initlint.model.values import DictObj, ListObj

    if isinstance(value, ListObj):
        return None if value.template else bool(value.items)
    if isinstance(value, DictObj):
        return None if value.open else bool(value.items)
    if isinstance(value, (Module, FunctionValue, Namespace)):
        return True
    if isinstance(value, (Tensor, Signal)) or value is UNKNOWN or isinstance(value, Sym):
        return None
    return True  # classes, externals, bound methods, partials


@dataclass(eq=False)
class InitRecord:
    """One call of an init function or in-place init method, whatever its target evaluated to."""

    place: Place
    frames: tuple[Place, ...]
    scheme: str
    spelled: str
    dist: Any
    tensor: Tensor | None
    target: str
    deprecated: bool = False
    #: the arguments the call wrote (the others took the function's defaults)
    given: frozenset[str] = frozenset()


@dataclass(eq=False)
class Event:
    """Something a rule asks about that is not a write: ``kind`` says which (see facts.py)."""

    kind: str
    place: Place
    frames: tuple[Place, ...]
    subject: Any = None
    other: Any = None
    extra: Any = None
    conditional: bool = False
    #: how many writes the entry had made when this happened (orders events and writes)
    at_write: int = 0


#: "no value here at all" (an attribute or item never set), as opposed to UNKNOWN
MISSING = object()
