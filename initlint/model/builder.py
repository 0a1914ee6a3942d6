"""The single pass over a file that records its FileFacts (facts.py says what they are).

walk.py explains why this is a read-only Walker and not a libcst CSTVisitor.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterator

import libcst as cst

from initlint.model.facts import (
    ApplySite,
    Assignment,
    CallSite,
    FileFacts,
    FunctionInfo,
    Loop,
    ModuleClass,
)
from initlint.model.flow import loop_bindings
from initlint.model.fold import UNKNOWN, fold, is_number
from initlint.model.imports import ImportTable, dotted_name
from initlint.model.inits import InitCall, classify, parse_target
from initlint.model.layers import Layer
from initlint.model.containers import Item, LayerMaker
from initlint.model.walk import Walker

@dataclass
class _Scope:
    kind: str  # class, function
    name: str
    env: dict[str, Any]
    cls: ModuleClass | None = None
    info: FunctionInfo | None = None
    #: local lists of layers being built: ``layers.append(nn.Linear(...))``
    lists: dict[str, list[Item]] = field(default_factory=dict)
    #: parameters whose default is a class: ``act_layer=nn.GELU`` -> torch.nn.GELU
    classes: dict[str, str] = field(default_factory=dict)


class FactsBuilder(LayerMaker, Walker):
    """The single pass (see the module docstring)."""

    def __init__(self, module: cst.Module) -> None:
        self.module = module
        self.imports = ImportTable()
        self.constants: dict[str, Any] = {}
        self.classes: dict[str, ModuleClass] = {}
        self.inits: list[InitCall] = []
        self.partial_writes: set[str] = set()
        self.bindings: dict[tuple[str | None, str], Layer] = {}
        self.instances: dict[tuple[str | None, str], str] = {}
        self.functions: dict[tuple[str | None, str], FunctionInfo] = {}
        self.calls: list[CallSite] = []
        self.applies: list[ApplySite] = []
        self.assignments: list[Assignment] = []
        self._module_lists: dict[str, list[Item]] = {}
        self._scopes: list[_Scope] = []
        self._narrowed: list[tuple[str, tuple[str, ...]]] = []
        self._guards: list[cst.BaseExpression] = []
        self._loops: list[Loop] = []  # loops of the current function (for repeat counts)
        self._saved_loops: list[list[Loop]] = []  # loops of the functions around it
        self._expression_statement: cst.CSTNode | None = None  # the call a statement holds
        self._blocks: list[list[int]] = []  # [block id, index of the statement being walked]
        self._conditions = 0
        self._no_grad = 0
        self._order = 0
        self._sequence = 0

    # ----- helpers
    def _env(self) -> dict[str, Any]:
        return self._scopes[-1].env if self._scopes else self.constants

    def _lists(self) -> dict[str, list[Item]]:
        return self._scopes[-1].lists if self._scopes else self._module_lists

    def _class(self) -> ModuleClass | None:
        for scope in reversed(self._scopes):
            if scope.cls is not None:
                return scope.cls
        return None

    def _function_scope(self) -> _Scope | None:
        for scope in reversed(self._scopes):
            if scope.kind == "function":
                return scope
        return None

    def _function(self) -> str | None:
        scope = self._function_scope()
        return scope.name if scope is not None else None

    def _next(self) -> int:
        self._sequence += 1
        return self._sequence

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
        if isinstance(node.target, cst.Name) and isinstance(node.operator, cst.AddAssign):
            items = self._items(node.value)
            if items:
                self._grow_list(node.target.value, items)

    def _grow_list(self, name: str, items: list[Item]) -> None:
        lists = self._lists()
        if name not in lists:
            return
        times = self._loop_count()
        for item in items:
            repeat = item.repeat
            total = repeat * times if is_number(repeat) and is_number(times) else UNKNOWN
            lists[name].append(item._replace(repeat=total))

    def visit_Assign(self, node: cst.Assign) -> None:
        for target in node.targets:
            self._note_partial_write(target.target)
        if len(node.targets) != 1:
            return
        target = node.targets[0].target
        if isinstance(target, cst.Name):
            self._bind_name(target.value, node.value)
            return
        cls = self._class()
        text = dotted_name(target)
        if cls is None or text is None or not text.startswith("self."):
            return
        name = text[len("self.") :]
        self.assignments.append(
            Assignment(cls.name, self._function(), name, self._next(), node)
        )
        if isinstance(node.value, cst.Call):
            cls.members[name] = self.imports.qualify(node.value.func) or "?"
        kind = self._layer_kind(node.value)
        if kind is not None and isinstance(node.value, cst.Call):
            layer = self._make_layer(name, node.value, kind)
            cls.layers[name] = layer
            for child in _descendants(layer):
                cls.layers[child.name] = child

    def _bind_name(self, name: str, value: cst.BaseExpression) -> None:
        env = self._env()
        env[name] = fold(value, env, self.imports.qualify)
        key = (self._function(), name)
        if isinstance(value, (cst.List, cst.ListComp)):
            items = self._items(value)
            self._lists()[name] = items
            layer = self._list_layer(name, items)
            if layer is not None:
                self.bindings[key] = layer
            return
        kind = self._layer_kind(value)
        if kind is not None and isinstance(value, cst.Call):
            self.bindings[key] = self._make_layer(name, value, kind)
        elif isinstance(value, cst.Call) and isinstance(value.func, cst.Name):
            self.instances[key] = value.func.value

    # ----- scopes and statement order
    def visit_Module(self, node: cst.Module) -> bool:
        self._walk_block(node.body)
        return False

    def visit_IndentedBlock(self, node: cst.IndentedBlock) -> bool:
        self._walk_block(node.body)
        return False

    def _walk_block(self, body: Any) -> None:
        position = [id(body), 0]
        self._blocks.append(position)
        for index, statement in enumerate(body):
            position[1] = index
            self.walk(statement)
        self._blocks.pop()

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
        params = (*node.params.posonly_params, *node.params.params, *node.params.kwonly_params)
        for param in params:
            default = fold(param.default, outer, self.imports.qualify) if param.default else UNKNOWN
            env[param.name.value] = default
        cls = self._scopes[-1].cls if self._scopes and self._scopes[-1].kind == "class" else None
        no_grad = any(self._is_no_grad(d.decorator) for d in node.decorators)
        info = FunctionInfo(
            node.name.value,
            cls.name if cls is not None else None,
            tuple(p.name.value for p in params),
            node,
            no_grad=no_grad,
        )
        self.functions.setdefault((info.cls, info.name), info)
        if cls is not None:
            cls.methods.setdefault(info.name, node)
        scope = _Scope("function", node.name.value, env, info=info)
        for param in params:
            if isinstance(param.default, (cst.Name, cst.Attribute)):
                qualified = self.imports.qualify(param.default)
                if qualified and qualified.startswith("torch.nn."):
                    scope.classes[param.name.value] = qualified
        self._scopes.append(scope)
        self._saved_loops.append(self._loops)
        self._loops = []
        if no_grad:
            self._no_grad += 1

    def leave_FunctionDef(self, original_node: cst.FunctionDef) -> None:
        self._scopes.pop()
        self._loops = self._saved_loops.pop()
        if any(self._is_no_grad(d.decorator) for d in original_node.decorators):
            self._no_grad -= 1

    def visit_Return(self, node: cst.Return) -> None:
        scope = self._function_scope()
        if scope is not None and scope.info is not None and node.value is not None:
            scope.info.returns_value = True

    def visit_Lambda(self, node: cst.Lambda) -> bool:
        return True

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
        func = node.func
        if isinstance(func, cst.Attribute):
            self._note_partial_write(func.value)
            self._note_method_call(node, func)
        elif isinstance(func, cst.Name):
            self._note_call(func.value, node)
        init = classify(node, self.imports)
        if init is None:
            return
        cls = self._class()
        init.cls = cls.name if cls is not None else None
        init.function = self._function()
        init.narrowed = {name: kinds for name, kinds in self._narrowed if name}
        init.loops = tuple(self._all_loops())
        init.conditions = self._conditions
        init.guards = tuple(self._guards)
        init.in_no_grad = self._no_grad > 0
        init.sequence = self._next()
        init.statement = self._statement_of(node)
        env = self._env()
        init.args = {
            key: fold(value, env, self.imports.qualify) for key, value in init.arg_nodes.items()
        }
        self.inits.append(init)

    def _all_loops(self) -> Iterator[Loop]:
        for saved in self._saved_loops:
            yield from saved
        yield from self._loops

    def _statement_of(self, node: cst.Call) -> tuple[int, int] | None:
        """(block, index) when the call is the whole statement, for "initialised twice"."""
        if not self._blocks:
            return None
        return tuple(self._blocks[-1]) if self._expression_statement is node else None

    def visit_Expr(self, node: cst.Expr) -> None:
        self._expression_statement = node.value

    def _note_call(self, callee: str, node: cst.Call) -> None:
        cls = self._class()
        args = tuple(dotted_name(a.value) if not a.keyword else None for a in node.args)
        self.calls.append(
            CallSite(callee, args, cls.name if cls else None, self._function(), self._no_grad > 0)
        )

    def _note_method_call(self, node: cst.Call, func: cst.Attribute) -> None:
        method = func.attr.value
        receiver = dotted_name(func.value)
        if receiver is None:
            return
        cls = self._class()
        if method == "apply" and len(node.args) == 1:
            self.applies.append(
                ApplySite(
                    receiver,
                    node.args[0].value,
                    cls.name if cls else None,
                    self._function(),
                    self._no_grad > 0,
                    node,
                )
            )
        elif receiver == "self":
            self._note_call(method, node)
        elif method in {"append", "extend"} and len(node.args) == 1:
            value = node.args[0].value
            items = [Item(value)] if method == "append" and isinstance(value, cst.Call) else []
            self._grow_list(receiver, items or self._items(value))

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
        iterable = node.iter
        if isinstance(iterable, cst.Call) and dotted_name(iterable.func) == "enumerate" and iterable.args:
            iterable = iterable.args[0].value
        if isinstance(iterable, cst.Call) and isinstance(iterable.func, cst.Attribute):
            over = iterable.func.attr.value
            receiver = dotted_name(iterable.func.value)
        loop = Loop(names, over, receiver, self._conditions, dotted_name(iterable))
        loop.iterables = {name: dotted_name(value) for name, value in loop_bindings(node)}
        loop.count = self._count(node.iter)
        return loop


def _descendants(layer: Layer) -> Iterator[Layer]:
    for child in layer.children:
        yield child
        yield from _descendants(child)


def build_facts(module: cst.Module, text: str | None = None) -> FileFacts:
    """Walk the module once and return its facts; ``text`` is the source it was parsed from."""
    builder = FactsBuilder(module)
    builder.walk(module)
    facts = FileFacts(
        module,
        builder.imports,
        builder.constants,
        builder.classes,
        builder.inits,
        builder.partial_writes,
        builder.bindings,
        builder.instances,
        builder.functions,
        builder.calls,
        builder.applies,
        builder.assignments,
    )
    if text is not None:
        facts.text = text  # saves regenerating the code from the tree (a third of a parse)
    return facts
