"""Facts read from the code as written, not evaluated: what a rule needs about code no entry ran.

A deprecated ``nn.init.normal(w)`` is misuse wherever it is written, run or not; an init method
that nothing calls never runs, so evaluation alone cannot see what it would do. One read-only
walk (walk.py) collects: every call of a deprecated torch.nn.init alias, and for every ``def``
whether its body calls an init function or in-place init method, and where.
"""

from __future__ import annotations

import ast
from dataclasses import field

from initlint.lean import dataclass
from initlint.model.imports import ImportTable, dotted_name
from initlint.model.torchlib.init_fns import DEPRECATED, INIT_SIGNATURES, TENSOR_WRITES
from initlint.model.walk import Walker
from initlint.tree import nodes

_TIMM = frozenset({"trunc_normal_", "trunc_normal_tf_", "lecun_normal_", "variance_scaling_"})
_LAST_NAMES = frozenset(INIT_SIGNATURES) | DEPRECATED | _TIMM | frozenset(TENSOR_WRITES)


@dataclass
class DefInfo:
    """A ``def`` of the file: its class (if a method) and the init calls in its own body."""

    node: nodes.FunctionDef
    cls: str | None
    inits: list[nodes.Call] = field(default_factory=list)
    #: the init calls that initialise a layer's parameters: init functions, and in-place init
    #: methods on ``.weight`` / ``.bias`` (torch's own parameter names), not on counters
    weight_inits: list[nodes.Call] = field(default_factory=list)
    #: its body (nested defs included) calls an init or ``.apply(...)``: worth evaluating
    relevant: bool = False
    #: the plain names its body calls (``ResNet(...)``, ``_resnet(...)``): a factory of a model
    called: set[str] = field(default_factory=set)


#: how a call by plain name passes its arguments (SyntaxFacts.call_shapes)
CallShape = tuple[str, int, tuple[str, ...], bool]


@dataclass
class SyntaxFacts:
    """What the file's text alone says, before any evaluation: the deprecated calls, the
    definitions and every init call, wherever it is."""

    deprecated: list[tuple[nodes.Call, str]] = field(default_factory=list)
    defs: list[DefInfo] = field(default_factory=list)
    #: every init call of the file, wherever it is
    inits: list[nodes.Call] = field(default_factory=list)
    #: the init calls that initialise parameters (see DefInfo.weight_inits): coverage counts them
    weight_inits: list[nodes.Call] = field(default_factory=list)
    #: calls of torch's or timm's own ``trunc_normal_`` (imports resolved; a project's own
    #: function of that name is not one): IL209 reads their literal arguments, run or not
    truncations: list[nodes.Call] = field(default_factory=list)
    #: calls by plain name (``Model(config, pool=False)``), counted by how they pass arguments:
    #: (name, positional count, keyword names, whether a ``*``/``**`` may pass more)
    call_shapes: dict[CallShape, int] = field(default_factory=dict)


def init_callee(call: nodes.Call, imports: ImportTable) -> tuple[str, bool, bool] | None:
    """(init name, deprecated, an in-place tensor method) when the call is an init, else None:
    ``init.normal_(w)`` is the function of an init module, ``w.normal_()`` the method."""
    func = call.func
    if type(func) is nodes.Attribute:
        last = func.attr.value
    elif type(func) is nodes.Name:
        last = imports.names.get(func.value, func.value).rpartition(".")[2]
    else:
        return None
    if last not in _LAST_NAMES:
        return None
    qualified = imports.qualify(func) or ""
    module = qualified.rpartition(".")[0]
    if module in ("torch.nn.init", "nn.init", "init") or module.endswith(".initialization"):
        if last in DEPRECATED:
            return last, True, False
        return (last, False, False) if last in INIT_SIGNATURES else None
    if last in _TIMM and ("timm" in module or module.endswith(("weight_init", "layers"))):
        return last, False, False
    if type(func) is nodes.Attribute and last in TENSOR_WRITES:
        return last, False, True
    return None


class _Collector(Walker):
    def __init__(self) -> None:
        self.imports = ImportTable()
        self.facts = SyntaxFacts()
        self._defs: list[DefInfo] = []
        self._scopes: list[str | None] = []  # a class name, or None for a def

    def visit_Import(self, node: nodes.Import) -> None:
        self.imports.add_import(node)

    def visit_ImportFrom(self, node: nodes.ImportFrom) -> None:
        self.imports.add_import_from(node)

    def visit_ClassDef(self, node: nodes.ClassDef) -> None:
        self._scopes.append(node.name.value)

    def leave_ClassDef(self, node: nodes.ClassDef) -> None:
        self._scopes.pop()

    def visit_FunctionDef(self, node: nodes.FunctionDef) -> None:
        info = DefInfo(node, self._scopes[-1] if self._scopes else None)
        self._scopes.append(None)
        self._defs.append(info)
        self.facts.defs.append(info)

    def leave_FunctionDef(self, node: nodes.FunctionDef) -> None:
        self._scopes.pop()
        self._defs.pop()

    def visit_Call(self, node: nodes.Call) -> None:
        func = node.func
        if type(func) is nodes.Name:
            for info in self._defs:
                info.called.add(func.value)
            shape = _shape(func.value, node)
            self.facts.call_shapes[shape] = self.facts.call_shapes.get(shape, 0) + 1
        if type(func) is nodes.Attribute and func.attr.value == "apply":
            for info in self._defs:
                info.relevant = True
        found = init_callee(node, self.imports)
        if found is None:
            return
        for info in self._defs:
            info.relevant = True
        name, deprecated, method = found
        self.facts.inits.append(node)
        weights = not method or _writes_a_parameter(node)
        if weights:
            self.facts.weight_inits.append(node)
        if deprecated:
            self.facts.deprecated.append((node, dotted_name(node.func) or name))
        if name == "trunc_normal_" and not method and _library_function(node, self.imports):
            self.facts.truncations.append(node)
        if self._defs:
            self._defs[-1].inits.append(node)
            if weights:
                self._defs[-1].weight_inits.append(node)


def _library_function(call: nodes.Call, imports: ImportTable) -> bool:
    """The call names torch's ``torch.nn.init`` function, timm's, or transformers' wrapper of
    torch's (absolute bounds in all three)."""
    qualified = imports.qualify(call.func) or ""
    module = qualified.removesuffix(".trunc_normal_")
    return module in ("torch.nn.init", "nn.init") or module.startswith("timm.") or (
        module.endswith("initialization") and module.startswith(("transformers", "."))  # torch's, wrapped
    )


def number_literal(node: nodes.BaseExpression) -> float | None:
    """The number a literal expression writes (``0.02``, ``-2``, ``1e-5``), else None."""
    try:
        value = ast.literal_eval(_literal_text(node))
    except (ValueError, SyntaxError, TypeError, MemoryError, RecursionError):
        return None
    if not isinstance(value, (int, float)) or isinstance(value, bool):
        return None
    try:
        return float(value)
    except OverflowError:  # an int beyond float's range: no number the rules can use
        return None


def _literal_text(node: nodes.BaseExpression) -> str:
    """The text of a number literal, signed or not (``-2``, ``+1e-5``); "" for anything else."""
    if isinstance(node, nodes.UnaryOperation) and type(node.operator) in (nodes.Minus, nodes.Plus):
        inner = _literal_text(node.expression)
        return ("-" if type(node.operator) is nodes.Minus else "+") + inner if inner else ""
    if isinstance(node, (nodes.Integer, nodes.Float, nodes.Imaginary)):
        return node.value
    return ""


def _writes_a_parameter(call: nodes.Call) -> bool:
    """An in-place init method on ``.weight`` / ``.bias`` (``.data`` between allowed)."""
    receiver = call.func.value
    while type(receiver) is nodes.Attribute and receiver.attr.value == "data":
        receiver = receiver.value
    return type(receiver) is nodes.Attribute and receiver.attr.value in ("weight", "bias")


def read_syntax(module: nodes.Module) -> SyntaxFacts:
    collector = _Collector()
    collector.walk(module)
    return collector.facts


def _shape(name: str, call: nodes.Call) -> CallShape:
    positional = sum(1 for arg in call.args if arg.keyword is None and not arg.star)
    keywords = tuple(sorted(arg.keyword.value for arg in call.args if arg.keyword is not None))
    return name, positional, keywords, any(arg.star for arg in call.args)
