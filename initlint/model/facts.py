"""The model facts of one source file, computed in a single libcst pass.

Rules never walk the tree: they read these facts. The pass records the file's imports, module
constants, every class with the nn layers and parameters its methods create, and every init call
with its surroundings (enclosing class and function, ``isinstance`` narrowing, loops over
parameters or modules, ``torch.no_grad()``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from initlint.model.fold import UNKNOWN, fold
from initlint.model.imports import ImportTable, dotted_name
from initlint.model.inits import InitCall, classify, parse_target
from initlint.model.layers import SIGNATURES, Layer, family_of
from initlint.model.walk import Walker


@dataclass
class Loop:
    """A ``for`` loop around an init: its variables and what it iterates over."""

    names: tuple[str, ...]
    over: str  # parameters, named_parameters, modules, named_modules, children, other
    receiver: str | None
    conditions: int = 0  # enclosing ``if`` blocks when the loop starts

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

    def weight_layers(self) -> list[Layer]:
        """Layers with a weight matrix, in the order ``__init__`` creates them."""
        found: list[Layer] = []
        for layer in sorted(self.layers.values(), key=lambda item: item.order):
            if layer.has_weight and "." not in layer.name:
                found.append(layer)
            elif layer.family == "container":
                found.extend(child for child in layer.children if child.has_weight)
        return found


@dataclass
class FileFacts:
    """Everything the rules know about one file."""

    module: cst.Module
    imports: ImportTable
    constants: dict[str, Any]
    classes: dict[str, ModuleClass]
    inits: list[InitCall]
    partial_writes: set[str] = field(default_factory=set)

    def code(self, node: cst.CSTNode) -> str:
        """Source text of a node, for messages."""
        return self.module.code_for_node(node)

    def layer_of(self, init: InitCall) -> Layer | None:
        """The nn layer whose tensor the init writes to, where the file says which it is."""
        target = init.target
        if target is None:
            return None
        owner = ".".join(target.owner)
        if target.base == "self" and init.cls in self.classes:
            return self.classes[init.cls].layers.get(owner)
        for kind in init.narrowed.get(target.base, ()):
            if not owner:
                return _bare_layer(kind, init)
            if kind in self.classes:
                return self.classes[kind].layers.get(owner)
        return None

    def owner_kinds(self, init: InitCall) -> tuple[str, ...]:
        """Layer kinds the target's module may have: its declared kind or isinstance narrowing."""
        layer = self.layer_of(init)
        if layer is not None:
            return (layer.kind,)
        if init.target is not None and not init.target.owner:
            return init.narrowed.get(init.target.base, ())
        return ()


def _bare_layer(kind: str, init: InitCall) -> Layer | None:
    family = family_of(kind)
    if family is None:
        return None
    return Layer(init.target.base if init.target else "?", kind, family, {}, {}, -1, init.node)


@dataclass
class _Scope:
    kind: str  # class, function
    name: str
    env: dict[str, Any]
    cls: ModuleClass | None = None


class FactsBuilder(Walker):
    """The single pass (see the module docstring); walk.py explains why not CSTVisitor."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.imports = ImportTable()
        self.constants: dict[str, Any] = {}
        self.classes: dict[str, ModuleClass] = {}
        self.inits: list[InitCall] = []
        self.partial_writes: set[str] = set()
        self._scopes: list[_Scope] = []
        self._narrowed: list[tuple[str, tuple[str, ...]]] = []
        self._guards: list[cst.BaseExpression] = []
        self._loops: list[Loop] = []
        self._conditions = 0
        self._no_grad = 0
        self._order = 0

    # ----- helpers
    def _env(self) -> dict[str, Any]:
        return self._scopes[-1].env if self._scopes else self.constants

    def _class(self) -> ModuleClass | None:
        for scope in reversed(self._scopes):
            if scope.cls is not None:
                return scope.cls
        return None

    def _function(self) -> str | None:
        for scope in reversed(self._scopes):
            if scope.kind == "function":
                return scope.name
        return None

    def _layer_kind(self, node: cst.BaseExpression) -> str | None:
        if not isinstance(node, cst.Call):
            return None
        qualified = self.imports.qualify(node.func)
        if not qualified or not qualified.startswith("torch.nn."):
            return None
        kind = qualified.rsplit(".", 1)[-1]
        return kind if family_of(kind) else None

    def _make_layer(self, name: str, call: cst.Call, kind: str) -> Layer:
        names = SIGNATURES.get(kind, ())
        args: dict[str, Any] = {}
        texts: dict[str, str] = {}
        position = 0
        env = self._env()
        for arg in call.args:
            if arg.star:
                break
            key = arg.keyword.value if arg.keyword is not None else None
            if key is None:
                if position >= len(names):
                    continue
                key = names[position]
                position += 1
            args[key] = fold(arg.value, env, self.imports.qualify)
            texts[key] = self.module.code_for_node(arg.value)
        self._order += 1
        layer = Layer(name, kind, family_of(kind) or "other", args, texts, self._order, call)
        if kind == "Sequential":
            for index, arg in enumerate(a for a in call.args if not a.star):
                child_kind = self._layer_kind(arg.value)
                if child_kind is not None and isinstance(arg.value, cst.Call):
                    layer.children.append(self._make_layer(f"{name}.{index}", arg.value, child_kind))
        return layer

    # ----- imports and constants
    def visit_Import(self, node: cst.Import) -> None:
        self.imports.add_import(node)

    def visit_ImportFrom(self, node: cst.ImportFrom) -> None:
        self.imports.add_import_from(node)

    def _note_partial_write(self, node: cst.BaseExpression) -> None:
        """``w.data[0:4] = ...`` or ``w[idx].copy_(...)``: a constant init of w is not the end."""
        if isinstance(node, cst.Subscript):
            written = parse_target(node.value)
            if written is not None:
                self.partial_writes.add(written.text)

    def visit_AugAssign(self, node: cst.AugAssign) -> None:
        self._note_partial_write(node.target)

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._note_partial_write(target.target)
        if len(node.targets) != 1:
            return
        target = node.targets[0].target
        if isinstance(target, cst.Name):
            self._env()[target.value] = fold(node.value, self._env(), self.imports.qualify)
            return
        cls = self._class()
        text = dotted_name(target)
        if cls is None or text is None or not text.startswith("self."):
            return
        kind = self._layer_kind(node.value)
        if kind is not None and isinstance(node.value, cst.Call):
            name = text[len("self.") :]
            layer = self._make_layer(name, node.value, kind)
            cls.layers[name] = layer
            for child in layer.children:
                cls.layers[child.name] = child

    # ----- scopes
    def visit_ClassDef(self, node: cst.ClassDef) -> None:
        bases = tuple(self.imports.qualify(arg.value) or "?" for arg in node.bases)
        cls = ModuleClass(node.name.value, bases, node)
        self.classes.setdefault(cls.name, cls)
        self._scopes.append(_Scope("class", cls.name, dict(self.constants), cls))

    def leave_ClassDef(self, original_node: cst.ClassDef) -> None:
        self._scopes.pop()

    def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
        env = dict(self.constants)
        outer = self._env()
        for param in (*node.params.params, *node.params.kwonly_params):
            default = fold(param.default, outer, self.imports.qualify) if param.default else UNKNOWN
            env[param.name.value] = default
        self._scopes.append(_Scope("function", node.name.value, env))
        for decorator in node.decorators:
            if self._is_no_grad(decorator.decorator):
                self._no_grad += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()
        for decorator in original_node.decorators:
            if self._is_no_grad(decorator.decorator):
                self._no_grad -= 1

    # ----- control flow around init calls
    def visit_If_body(self, node: cst.If) -> None:
        self._conditions += 1
        self._narrowed.append(self._narrowing(node.test))
        self._guards.append(node.test)

    def leave_If_body(self, node: cst.If) -> None:
        self._conditions -= 1
        self._narrowed.pop()
        self._guards.pop()

    def visit_If_orelse(self, node: cst.If) -> None:
        self._conditions += 1

    def leave_If_orelse(self, node: cst.If) -> None:
        self._conditions -= 1

    def visit_For_body(self, node: cst.For) -> None:
        self._loops.append(self._loop(node))

    def leave_For_body(self, node: cst.For) -> None:
        self._loops.pop()

    def visit_With_body(self, node: cst.With) -> None:
        if any(self._is_no_grad(item.item) for item in node.items):
            self._no_grad += 1

    def leave_With_body(self, node: cst.With) -> None:
        if any(self._is_no_grad(item.item) for item in node.items):
            self._no_grad -= 1

    def visit_Call(self, node: cst.Call) -> None:
        if isinstance(node.func, cst.Attribute):
            self._note_partial_write(node.func.value)
        init = classify(node, self.imports)
        if init is None:
            return
        cls = self._class()
        init.cls = cls.name if cls is not None else None
        init.function = self._function()
        init.narrowed = {name: kinds for name, kinds in self._narrowed if name}
        init.loops = tuple(self._loops)
        init.conditions = self._conditions
        init.guards = tuple(self._guards)
        init.in_no_grad = self._no_grad > 0
        env = self._env()
        init.args = {
            key: fold(value, env, self.imports.qualify) for key, value in init.arg_nodes.items()
        }
        self.inits.append(init)

    def _is_no_grad(self, node: cst.BaseExpression) -> bool:
        func = node.func if isinstance(node, cst.Call) else node
        return (self.imports.qualify(func) or "") in {"torch.no_grad", "torch.inference_mode"}

    def _narrowing(self, test: cst.BaseExpression) -> tuple[str, tuple[str, ...]]:
        """``isinstance(m, (nn.Linear, Conv2d))`` -> ("m", ("Linear", "Conv2d"))."""
        if (
            isinstance(test, cst.Call)
            and dotted_name(test.func) == "isinstance"
            and len(test.args) == 2
            and isinstance(test.args[0].value, cst.Name)
        ):
            types = test.args[1].value
            elements = types.elements if isinstance(types, (cst.Tuple, cst.List)) else None
            nodes = [el.value for el in elements] if elements is not None else [types]
            kinds = tuple((dotted_name(n) or "?").rsplit(".", 1)[-1] for n in nodes)
            return test.args[0].value.value, kinds
        return "", ()

    def _loop(self, node: cst.For) -> Loop:
        names: tuple[str, ...] = ()
        target = node.target
        if isinstance(target, cst.Name):
            names = (target.value,)
        elif isinstance(target, cst.Tuple):
            names = tuple(el.value.value for el in target.elements if isinstance(el.value, cst.Name))
        over, receiver = "other", None
        if isinstance(node.iter, cst.Call) and isinstance(node.iter.func, cst.Attribute):
            over = node.iter.func.attr.value
            receiver = dotted_name(node.iter.func.value)
        return Loop(names, over, receiver, self._conditions)


def build_facts(module: cst.Module) -> FileFacts:
    """Walk the module once and return its facts."""
    builder = FactsBuilder(module)
    builder.walk(module)
    return FileFacts(
        module,
        builder.imports,
        builder.constants,
        builder.classes,
        builder.inits,
        builder.partial_writes,
    )
