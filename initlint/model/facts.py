"""The model facts of one source file: what the single pass in builder.py records.

Rules never walk the tree: they read these facts. They hold the file's imports, module
constants, every class with the nn layers its methods create, module-level layers and lists of
layers, every function with its call and ``apply`` sites, and every init call with its
surroundings (enclosing class and function, ``isinstance`` narrowing, loops, ``torch.no_grad()``).
Which layers an init reaches and what follows them in ``forward`` is derived on demand
(network.py, flow.py), only for the files and rules that ask.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any, Callable

import libcst as cst

from initlint.model.imports import ImportTable
from initlint.model.inits import InitCall
from initlint.model.layers import Layer, family_of


@dataclass
class Loop:
    """A ``for`` loop around an init: its variables and what it iterates over."""

    names: tuple[str, ...]
    over: str  # parameters, named_parameters, modules, named_modules, children, other
    receiver: str | None
    conditions: int = 0  # enclosing ``if`` blocks when the loop starts
    iterable: str | None = None  # ``self.layers`` in ``for layer in self.layers``
    count: Any = None  # iterations, when ``range(n)`` folds
    #: loop variable -> dotted text of what it runs over (``zip(self.fcs, self.bns)``)
    iterables: dict[str, str | None] = field(default_factory=dict)

    def filtered(self, init: InitCall) -> bool:
        """Whether an ``if`` inside this loop guards the init (``if p.dim() > 1``)."""
        return init.conditions > self.conditions


@dataclass
class ModuleClass:
    """A class in the file, with the layers its methods assign to ``self``."""

    name: str
    bases: tuple[str, ...]
    node: cst.ClassDef
    layers: dict[str, Layer] = field(default_factory=dict)
    #: every ``self.x = Callable(...)``: attribute -> qualified callee (``torch.nn.Dropout``)
    members: dict[str, str] = field(default_factory=dict)
    methods: dict[str, cst.FunctionDef] = field(default_factory=dict)

    def weight_layers(self) -> list[Layer]:
        """Layers with a weight matrix, in the order ``__init__`` creates them."""
        found: list[Layer] = []
        for layer in sorted(self.layers.values(), key=lambda item: item.order):
            if "." in layer.name:
                continue
            found.extend(all_weight_layers(layer))
        return found


def all_weight_layers(layer: Layer) -> list[Layer]:
    """The layer itself, or the weight layers a container holds (depth first)."""
    if layer.has_weight:
        return [layer]
    found: list[Layer] = []
    for child in layer.children:
        found.extend(all_weight_layers(child))
    return found


@dataclass
class FunctionInfo:
    """A def in the file: its parameters, class, and whether it returns a value."""

    name: str
    cls: str | None
    params: tuple[str, ...]
    node: cst.FunctionDef
    returns_value: bool = False
    no_grad: bool = False


@dataclass
class CallSite:
    """``name(args)`` or ``self.name(args)``: how a helper reaches the modules it initialises."""

    callee: str
    args: tuple[str | None, ...]  # dotted text of each positional argument
    cls: str | None
    function: str | None
    in_no_grad: bool


@dataclass
class ApplySite:
    """``receiver.apply(fn)``: fn runs on every sub-module of receiver."""

    receiver: str
    fn: cst.BaseExpression
    cls: str | None
    function: str | None
    in_no_grad: bool
    node: cst.Call


@dataclass
class Assignment:
    """``self.x = ...``: an init of ``self.x`` earlier in the same method is lost."""

    cls: str | None
    function: str | None
    name: str
    sequence: int
    node: cst.CSTNode


@dataclass
class FileFacts:
    """Everything the rules know about one file."""

    module: cst.Module
    imports: ImportTable
    constants: dict[str, Any]
    classes: dict[str, ModuleClass]
    inits: list[InitCall]
    partial_writes: set[str] = field(default_factory=set)
    #: (function or None, name) -> a layer or list of layers bound to a plain name
    bindings: dict[tuple[str | None, str], Layer] = field(default_factory=dict)
    #: (function or None, name) -> class name, for ``model = Net()``
    instances: dict[tuple[str | None, str], str] = field(default_factory=dict)
    functions: dict[tuple[str | None, str], FunctionInfo] = field(default_factory=dict)
    calls: list[CallSite] = field(default_factory=list)
    applies: list[ApplySite] = field(default_factory=list)
    assignments: list[Assignment] = field(default_factory=list)
    #: facts derived on demand and shared by rules (networks, per-layer moments, code of nodes)
    _derived: dict[Any, Any] = field(default_factory=dict, repr=False, compare=False)

    def derived(self, key: Any, compute: Callable[[], Any]) -> Any:
        """``compute()`` once per file, for the first rule that asks."""
        if key not in self._derived:
            self._derived[key] = compute()
        return self._derived[key]

    def code(self, node: cst.CSTNode) -> str:
        """Source text of a node (memoized: rules ask for the same guards and functions often,
        and libcst regenerates code node by node)."""
        return self.derived(("code", id(node)), lambda: self.module.code_for_node(node))

    @cached_property
    def text(self) -> str:
        return self.module.code

    def mentions(self, name: str) -> int:
        """How often ``name`` appears as a word in the file (defs, calls, strings, comments)."""
        return len(re.findall(rf"(?<![\w.]){re.escape(name)}\b", self.text)) + len(
            re.findall(rf"\.{re.escape(name)}\b", self.text)
        )

    def function_of(self, init: InitCall) -> FunctionInfo | None:
        if init.function is None:
            return None
        return self.functions.get((init.cls, init.function)) or self.functions.get(
            (None, init.function)
        )

    def layer_of(self, init: InitCall) -> Layer | None:
        """The nn layer whose tensor the init writes to, where the file says which it is."""
        target = init.target
        if target is None:
            return None
        if target.base == "self" and init.cls in self.classes:
            return find_layer(self.classes[init.cls].layers, target.owner)
        for kind in init.narrowed.get(target.base, ()):
            if not target.owner:
                return _bare_layer(kind, init)
            if kind in self.classes:
                return find_layer(self.classes[kind].layers, target.owner)
        reached = self.reach(init)
        if len(reached) == 1:
            return reached[0]
        return None

    def reach(self, init: InitCall) -> list[Layer]:
        """Every layer of this file the init writes to (through loops, helpers and apply)."""
        from initlint.model.network import reached_layers

        return reached_layers(self, init)

    def owner_kinds(self, init: InitCall) -> tuple[str, ...]:
        """Layer kinds the target's module may have: its declared kind or isinstance narrowing."""
        layer = self.layer_of(init)
        if layer is not None:
            return (layer.kind,)
        if init.target is not None and not init.target.owner:
            return init.narrowed.get(init.target.base, ())
        return ()


def find_layer(layers: dict[str, Layer], owner: tuple[str, ...]) -> Layer | None:
    """``("fc1",)`` or ``("layers", "3")``: a layer, or an element of a container layer."""
    if not owner:
        return None
    name = ".".join(owner)
    if name in layers:
        return layers[name]
    found = layers.get(owner[0])
    for part in owner[1:]:
        if found is None:
            return None
        found = found.child(part)
    return found


def _bare_layer(kind: str, init: InitCall) -> Layer | None:
    family = family_of(kind)
    if family is None:
        return None
    return Layer(init.target.base if init.target else "?", kind, family, {}, {}, -1, init.node)
