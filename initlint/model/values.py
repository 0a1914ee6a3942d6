"""The values the evaluator computes with: what a Python expression in model code stands for.

Plain Python values stand for themselves (ints, floats, strings, booleans, None, tuples of
values). Everything else is one of the classes below, or a tensor (tensors.py). Two of them
mean "not established": ``UNKNOWN`` (a call or construct the evaluator does not model) and
``Sym`` (a size the code leaves open, such as a constructor parameter without a default:
``Sym("hidden_dim")``). Neither ever turns into a number: arithmetic with them gives Sym or
UNKNOWN, a test on them is undecided.
"""

from __future__ import annotations

import math
from dataclasses import field
from itertools import count
from typing import TYPE_CHECKING, Any

from initlint.lean import dataclass

if TYPE_CHECKING:
    from initlint.tree import nodes

    from initlint.model.source import ParsedFile
    from initlint.model.tensors import Tensor


class _Unknown:
    """A value the evaluator could not establish."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:  # a guard on UNKNOWN never reads as decided
        raise TypeError("the truth of UNKNOWN is undecided")


UNKNOWN: Any = _Unknown()

#: creation numbers of the evaluator's objects, in the order they are made: the build memo
#: (interp/builds.py) tells what a build made from what existed before it
next_serial = count().__next__


class Shape(tuple):
    """A tensor's shape (``w.size()``, ``w.shape``): a tuple that remembers whose it is, so that
    reading ``size[0]`` of a weight can be told apart from other numbers (IL207)."""

    tensor: Any = None


def shape_of(tensor: Any, shape: Any) -> Any:
    if not isinstance(shape, tuple):
        return shape
    result = Shape(shape)
    result.tensor = tensor
    return result


@dataclass(frozen=True)
class Sym:
    """A size the code leaves open, by the source text it comes from (``config.hidden_size``).

    ``derived``: read from an open value (its attribute or item, or computed from such a read),
    not an open parameter itself or arithmetic on those: sized layers take it as a size, as the
    code does, but where a call reads an int one way and any other value another
    (``torch.Tensor(n)`` allocates n values, ``torch.Tensor(wiring.adjacency_matrix)`` copies
    them) it decides nothing."""

    text: str
    derived: bool = False


def derived(value: Any) -> bool:
    """A Sym read from an open value (``Sym.derived``)."""
    return type(value) is Sym and value.derived


def is_number(value: Any) -> bool:
    """A finite int or float (booleans are not sizes, nan and inf are not established sizes)."""
    if isinstance(value, bool):
        return False
    if isinstance(value, int):
        return True
    return isinstance(value, float) and math.isfinite(value)


def is_known(value: Any) -> bool:
    """Neither UNKNOWN nor Sym, nor a tuple holding one."""
    if value is UNKNOWN or isinstance(value, Sym):
        return False
    if isinstance(value, tuple):
        return all(is_known(item) for item in value)
    return True


def describe(value: Any) -> str:
    """A value as a message shows it: ``128``, ``hidden_dim``, ``?``."""
    if isinstance(value, Sym):
        return value.text
    if value is UNKNOWN:
        return "?"
    if isinstance(value, float):
        from initlint.theory import format_number

        return format_number(value)
    return repr(value) if isinstance(value, str) else str(value)


class Place:
    """A node in a file: where a value was made or a write happened; equal when file and node
    are the same objects, and never changed once made. A slotted class, not a frozen
    dataclass: the evaluator makes one per attribute access and call, and a frozen
    dataclass's constructor costs three times as much."""

    __slots__ = ("source", "node")
    source: "ParsedFile"
    node: "nodes.CSTNode"

    def __init__(self, source: "ParsedFile", node: "nodes.CSTNode") -> None:
        self.source = source  # never reassigned (it was a frozen dataclass): no guard to pay for
        self.node = node

    def __eq__(self, other: object) -> bool:
        if other.__class__ is not Place:
            return NotImplemented
        return self.source is other.source and self.node is other.node  # type: ignore[attr-defined]

    def __hash__(self) -> int:
        return hash((self.source, self.node))

    def __getstate__(self) -> tuple:
        return (self.source, self.node)

    def __setstate__(self, state: tuple) -> None:
        self.source, self.node = state

    def __repr__(self) -> str:
        return f"Place({self.source.path}, {type(self.node).__name__})"


class Obj:
    """A mutable object with identity (lists, dicts, modules, tensors, namespaces)."""

    __slots__ = ()


@dataclass(eq=False)
class ListObj(Obj):
    """A Python list; ``template`` marks one built by a loop whose count is open: its single
    element stands for ``repeat`` copies."""

    items: list[Any] = field(default_factory=list)
    repeat: Any = 1
    serial: int = field(default_factory=next_serial, init=False, repr=False)

    @property
    def template(self) -> bool:
        return self.repeat != 1


@dataclass(eq=False)
class DictObj(Obj):
    """A Python dict with hashable known keys; ``open`` when some keys are not known."""

    items: dict[Any, Any] = field(default_factory=dict)
    open: bool = False
    serial: int = field(default_factory=next_serial, init=False, repr=False)


@dataclass(frozen=True)
class KnownSet:
    """A ``set`` or ``frozenset`` of known plain values. Its members and size are known; the
    order a loop visits them is not (string hashes are randomised per process), so only an
    ordering of it (``sorted``) or a single member is iterated."""

    items: frozenset = frozenset()


@dataclass(eq=False)
class Instance(Obj):
    """An instance of a user class that is not an nn.Module (a config object, a helper)."""

    cls: "ClassValue"
    attrs: dict[str, Any] = field(default_factory=dict)
    serial: int = field(default_factory=next_serial, init=False, repr=False)


@dataclass(frozen=True)
class External:
    """Something from outside the evaluated code, by qualified name (``torch.nn.Linear``)."""

    name: str

    @property
    def last(self) -> str:
        return self.name.rsplit(".", 1)[-1]


@dataclass(eq=False)
class FunctionValue:
    """A ``def`` or ``lambda`` of the evaluated code, with the globals it closes over."""

    node: Any = field(repr=False)  # nodes.FunctionDef | nodes.Lambda
    name: str = ""
    namespace: "Namespace" = field(default=None, repr=False)
    defaults: dict[str, Any] = field(default_factory=dict, repr=False)
    cls: "ClassValue | None" = field(default=None, repr=False)  # the class a method is defined in
    closure: dict[str, Any] | None = field(default=None, repr=False)
    decorators: tuple[str, ...] = ()
    serial: int = field(default_factory=next_serial, init=False, repr=False)

    @property
    def is_lambda(self) -> bool:
        return self.name == "<lambda>"


@dataclass(eq=False)
class BoundMethod:
    """``obj.method``: a function with its receiver."""

    receiver: Any
    function: Any  # FunctionValue, or an External method name on a known object


def forward_of(module: Module) -> Any:
    """The ``forward`` (else ``__call__``) the module's class resolves to: a FunctionValue, None
    when its class defines neither, UNKNOWN when a base outside the code may define it."""
    if module.cls is None:
        return None
    for name in ("forward", "__call__"):
        try:
            found = module.cls.lookup(name)
        except KeyError:
            continue
        if found is not None:
            return found
    return None


def module_tree(model: Module, depth: int = 0) -> list[Module]:
    """The model and every module below it, parents before children (32 levels at most)."""
    found = [model]
    if depth < 32:
        for child in model.modules.values():
            if isinstance(child, Module):
                found.extend(module_tree(child, depth + 1))
    return found


@dataclass(eq=False)
class PartialValue:
    """``functools.partial(fn, *args, **kwargs)``."""

    function: Any
    args: tuple[Any, ...]
    kwargs: dict[str, Any]


@dataclass(eq=False)
class ClassValue:
    """A ``class`` of the evaluated code."""

    node: Any = field(repr=False)  # nodes.ClassDef
    name: str = ""
    namespace: "Namespace" = field(default=None, repr=False)
    bases: tuple[Any, ...] = field(default=(), repr=False)  # ClassValue or External (or UNKNOWN)
    body: dict[str, Any] = field(default_factory=dict, repr=False)  # methods and class attributes
    #: the types its body declares without a value (``config: BertConfig``), evaluated
    declared: dict[str, Any] = field(default_factory=dict, repr=False)
    #: the classes its module had bound when its class statement ran: they existed before it,
    #: so none of them, nor any of their bases, derives from it (types.Types.excludes)
    earlier: tuple[Any, ...] = field(default=(), repr=False)
    serial: int = field(default_factory=next_serial, init=False, repr=False)

    def mro(self) -> tuple[Any, ...]:
        """This class, then its bases depth first (a simple MRO: enough for model code).
        Computed once: ``bases`` is fixed when the class statement runs, and so are theirs."""
        try:
            return self._mro
        except AttributeError:
            pass
        order: list[Any] = [self]
        for base in self.bases:
            for item in base.mro() if isinstance(base, ClassValue) else (base,):
                if not any(item is seen for seen in order):
                    order.append(item)
        self._mro: tuple[Any, ...] = tuple(order)
        return self._mro

    def lookup(self, name: str) -> Any:
        """The class attribute ``name`` along the MRO: a value, or UNKNOWN when a base outside
        the evaluated code may define it, or a KeyError when nothing defines it. A base that is
        no class the evaluator knows (UNKNOWN, a library's class, or None where a guarded import
        fell back to it: ``class Bert(PreTrainedModel)`` after ``except: PreTrainedModel =
        None``, a class statement that only runs when the import worked) leaves it open."""
        for item in self.mro():
            if isinstance(item, ClassValue):
                if name in item.body:
                    return item.body[name]
            elif not (isinstance(item, External) and _plain_base(item)):
                return UNKNOWN
        raise KeyError(name)


#: the typing bases that make a class subscriptable (``class Net(Generic[T])``: ``Net[Any]``)
_GENERIC_BASES = frozenset({"typing.Generic", "typing.Protocol", "typing_extensions.Generic", "typing_extensions.Protocol"})
#: library bases that define no attribute model code looks up (only dunders and the typing
#: machinery's private names): ``class Encoder(nn.Module, ABC)``, ``Generic[T]`` (evaluated
#: to ``typing.Generic``) and Protocol mixins leave ``self.apply``, ``self.modules`` and the
#: rest to nn.Module, where Python finds them
_EMPTY_BASES = frozenset({"object", "builtins.object", "abc.ABC"}) | _GENERIC_BASES


def is_generic(cls: ClassValue) -> bool:
    """Whether ``cls[...]`` is typing's alias of ``cls`` (a Generic or Protocol base)."""
    return any(isinstance(item, External) and item.name in _GENERIC_BASES for item in cls.mro())


def _plain_base(base: External) -> bool:
    """Bases whose attributes the evaluator knows: object, nn.Module and torch's own layers,
    and the typing and abc mixins that add none."""
    return base.name in _EMPTY_BASES or base.name.startswith("torch.nn")


@dataclass(eq=False)
class Namespace(Obj):
    """The globals of one evaluated file (also what ``import project_module`` binds)."""

    source: "ParsedFile"
    names: dict[str, Any] = field(default_factory=dict, repr=False)
    serial: int = field(default_factory=next_serial, init=False, repr=False)


@dataclass(eq=False)
class Module(Obj):
    """An nn.Module instance: a torch layer (``kind`` Linear, Conv2d, ...) or a user class."""

    kind: str
    family: str  # dense, conv, embedding, recurrent, attention, norm, activation, container,
    #              passthrough, pool, other (a torch class modelled without params), opaque
    #              (a torch or library class whose internals are not modelled), user
    cls: ClassValue | None = None
    args: dict[str, Any] = field(default_factory=dict)  # torch layers: folded constructor args
    #: computes ``arg_text`` when a message first asks (most layers are never named in one)
    arg_source: Any = field(default=None, repr=False)
    params: dict[str, "Tensor | None"] = field(default_factory=dict)
    buffers: dict[str, "Tensor | None"] = field(default_factory=dict)
    modules: dict[str, "Module | None"] = field(default_factory=dict)
    attrs: dict[str, Any] = field(default_factory=dict)
    made: Place | None = None
    path: str = ""  # attribute path inside the entry's model ("blocks.0.fc1")
    repeat: Any = 1  # copies this template stands for (a loop with an open count)
    #: code outside the evaluated sources may have changed it (an unknown call got it)
    tainted: bool = False
    #: a base class outside the evaluated code (not nn.Module): its attributes are open
    open_base: bool = False
    external_hooks: tuple[str, ...] = ()
    #: built by a library constructor told to skip its init (timm's ``weight_init='skip'``)
    init_skipped: Place | None = None
    serial: int = field(default_factory=next_serial, init=False, repr=False)

    @property
    def arg_text(self) -> dict[str, str]:
        """The source text of each constructor argument (``hidden_dim``), for messages."""
        if callable(self.arg_source):
            self.arg_source = self.arg_source()
        return self.arg_source or {}


@dataclass(eq=False)
class Signal:
    """A value computed from the model's input: the output of one node of the flow graph."""

    node: "FlowNode"


@dataclass(eq=False)
class FlowNode:
    """One operation on signals, in the order the evaluator saw it.

    ``op`` is one of: input, layer (a weight applied: ``tensor`` and ``fan_in``), act (an
    activation), pass (shape-only: view, dropout, identity), norm, add, mul, scale (times a
    known constant), cat, attention (signal times signal), output (the model's output),
    unknown (a call the evaluator does not model).
    """

    op: str
    inputs: tuple["FlowNode", ...] = ()
    module: Module | None = None
    tensor: Tensor | None = None
    fan_in: Any = UNKNOWN
    activation: Any = None  # an Activation for op == act
    factor: Any = None  # the constant of a scale
    place: Place | None = None
    repeat: Any = 1
    consumers: list["FlowNode"] = field(default_factory=list)
    #: when it was made: a node's inputs are made before it, so nothing made earlier than a
    #: node can be computed from it (graph.depends_on stops there)
    order: int = field(default_factory=next_serial, repr=False)
