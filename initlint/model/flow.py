"""The order in which ``forward`` applies a module's layers, and what follows each one.

Read once per class, on demand: the statements of ``forward`` are evaluated abstractly, each value
remembering the last layer that produced it. ``F.relu(self.fc(x))``, ``self.fc(x).relu()``,
``x = self.fc(x); x = self.act(x)``, ``for layer in self.layers: x = torch.tanh(layer(x))`` and a
Sequential's own order all give the activation that follows a layer. A norm layer, a functional
norm or a residual add after a layer resets the compounding of gains, so it is recorded too.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

import libcst as cst

from initlint.model import activations
from initlint.model.activations import Activation
from initlint.model.fold import MAX_SEQUENCE, fold
from initlint.model.imports import dotted_name
from initlint.model.layers import Layer

if TYPE_CHECKING:
    from initlint.model.facts import FileFacts, ModuleClass

#: calls and methods that pass their input's signal through unchanged in kind
_PASSTHROUGH = frozenset(
    {
        "view", "reshape", "flatten", "permute", "transpose", "contiguous", "squeeze",
        "unsqueeze", "float", "half", "to", "type_as", "dropout", "clone", "chunk",
    }
)
_PASSTHROUGH_LAYERS = frozenset(
    {"Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout", "Flatten", "Unflatten"}
)
_NORM_FUNCTIONS = frozenset(
    {"layer_norm", "batch_norm", "group_norm", "instance_norm", "normalize", "rms_norm"}
)


@dataclass(eq=False)  # one application; ``source`` links steps, so equality is identity
class Step:
    """One layer application in forward order."""

    layer: Layer
    index: int
    activation: Activation | None = None
    reset: bool = False  # a norm or residual add follows before the next layer
    repeat: Any = 1
    called: bool = True  # False when the order comes from creation, not from forward
    source: "Step | None" = None  # the step whose output this one reads, where known

    def activate(self, activation: Activation | None) -> None:
        if activation is not None and self.activation is None:
            self.activation = activation


@dataclass
class _Value:
    """What an expression holds: the output of ``step``, possibly activated already."""

    step: Step | None
    activated: bool = False


_NONE = _Value(None)


class _Flow:
    """Evaluates forward (or a container) of one class; module-level containers have no class."""

    def __init__(self, facts: "FileFacts", cls: "ModuleClass | None") -> None:
        self.facts = facts
        self.layers: dict[str, Layer] = cls.layers if cls is not None else {}
        self.members: dict[str, str] = cls.members if cls is not None else {}
        self.steps: list[Step] = []

    # ----- steps
    def _step(self, layer: Layer, repeat: Any = 1, source: Step | None = None) -> _Value:
        step = Step(layer, len(self.steps), repeat=repeat, source=source)
        self.steps.append(step)
        return _Value(step)

    def _apply_layer(self, layer: Layer, value: _Value, repeat: Any = 1) -> _Value:
        """The result of calling ``layer`` on ``value``."""
        family = layer.family
        if layer.has_weight:
            reads = value.step if layer.family != "embedding" else None  # a lookup reads ids
            return self._step(layer, repeat, reads)
        if family == "activation":
            return self._activate(value, activations.of_layer(layer.kind, layer.args))
        if family == "norm":
            if value.step is not None:
                value.step.reset = True
            return value
        if family == "container" and layer.kind in {"Sequential", "list"}:
            for child in layer.children:
                value = self._apply_layer(child, value, child.repeat)
            return value
        return _NONE

    def _activate(self, value: _Value, activation: Activation | None) -> _Value:
        if value.step is not None and not value.activated and activation is not None:
            value.step.activate(activation)
            return _Value(value.step, True)
        return value

    # ----- expressions
    def expr(self, node: cst.BaseExpression, env: dict[str, Any]) -> _Value:
        kind = type(node)  # exact types: isinstance on libcst's ABC-based nodes is slow
        if kind is cst.Name:
            held = env.get(node.value)
            return held if isinstance(held, _Value) else _NONE
        if kind is cst.Call:
            return self.call(node, env)
        if kind is cst.BinaryOperation:
            left, right = self.expr(node.left, env), self.expr(node.right, env)
            if isinstance(node.operator, cst.Add):
                for side in (left, right):
                    if side.step is not None:
                        side.step.reset = True  # a residual sum
            return _NONE
        if kind is cst.Tuple or kind is cst.List:
            for element in node.elements:
                self.expr(element.value, env)
            return _NONE
        if kind is cst.Subscript:
            return self.expr(node.value, env)
        if kind is cst.Attribute:
            return self.expr(node.value, env) if node.attr.value in {"T", "mT"} else _NONE
        return _NONE

    def _first_arg(self, node: cst.Call, env: dict[str, Any]) -> _Value:
        value = _NONE
        for index, arg in enumerate(node.args):
            result = self.expr(arg.value, env)
            if index == 0:
                value = result
        return value

    def call(self, node: cst.Call, env: dict[str, Any]) -> _Value:
        func = node.func
        layer = self._callee_layer(func, env)
        if layer is not None:
            layer_obj, repeat = layer
            return self._apply_layer(layer_obj, self._first_arg(node, env), repeat)
        if isinstance(func, cst.Attribute) and dotted_name(func.value) == "self":
            value = self._first_arg(node, env)  # a member that is no nn layer, or a method
            return value if self._passthrough_member(func) else _NONE
        qualified = self.facts.imports.qualify(func) or ""
        if isinstance(func, cst.Attribute) and not qualified.startswith("torch"):
            method = func.attr.value
            receiver = self.expr(func.value, env)
            for arg in node.args:
                self.expr(arg.value, env)
            activation = activations.of_function(method, self._slope(node, 0))
            if method == "clamp" and any(a.keyword and a.keyword.value == "min" for a in node.args):
                activation = activations.of_function("relu")
            if activation is not None:
                return self._activate(receiver, activation)
            if method in _PASSTHROUGH or self._passthrough_member(func):
                return receiver
            return _NONE
        name = qualified.rsplit(".", 1)[-1]
        value = self._first_arg(node, env)
        if qualified.startswith("torch"):
            activation = activations.of_function(name, self._slope(node, 1))
            if activation is not None:
                return self._activate(value, activation)
            if name in _NORM_FUNCTIONS:
                if value.step is not None:
                    value.step.reset = True
                return value
            if name in _PASSTHROUGH:
                return value
        return _NONE

    def _slope(self, node: cst.Call, position: int) -> Any:
        for index, arg in enumerate(node.args):
            if arg.keyword is not None and arg.keyword.value == "negative_slope":
                return fold(arg.value, {})
            if arg.keyword is None and index == position:
                return fold(arg.value, {})
        return None

    def _passthrough_member(self, func: cst.Attribute) -> bool:
        """``self.dropout(x)`` where ``self.dropout = nn.Dropout(p)``."""
        if dotted_name(func.value) != "self":
            return False
        member = self.members.get(func.attr.value, "")
        return member.rsplit(".", 1)[-1] in _PASSTHROUGH_LAYERS

    def _callee_layer(self, func: cst.BaseExpression, env: dict[str, Any]) -> tuple[Layer, Any] | None:
        text = dotted_name(func)
        if text is not None and text.startswith("self."):
            found = self.layers.get(text[len("self.") :])
            return (found, 1) if found is not None else None
        if isinstance(func, cst.Name):
            held = env.get(func.value)
            if isinstance(held, tuple):  # a loop variable over a container: (container, count)
                return held
        if isinstance(func, cst.Subscript):  # self.layers[i](x)
            base = dotted_name(func.value)
            if base and base.startswith("self."):
                container = self.layers.get(base[len("self.") :])
                if container is not None and container.children:
                    return container.children[0], container.children[0].repeat
        return None

    # ----- statements
    def block(self, body: Any, env: dict[str, Any]) -> None:
        for statement in body:
            self.statement(statement, env)

    def statement(self, node: cst.CSTNode, env: dict[str, Any]) -> None:
        if isinstance(node, cst.SimpleStatementLine):
            for small in node.body:
                self.small(small, env)
        elif isinstance(node, cst.If):
            self.expr(node.test, env)
            self.block(node.body.body, env)
            if node.orelse is not None:
                orelse = node.orelse
                self.statement(orelse, env) if isinstance(orelse, cst.If) else self.block(
                    orelse.body.body, env
                )
        elif isinstance(node, cst.For):
            self._for(node, env)
        elif isinstance(node, (cst.With, cst.While, cst.Try)):
            self.block(node.body.body, env)

    def _for(self, node: cst.For, env: dict[str, Any]) -> None:
        bindings = loop_bindings(node)
        unrolled: tuple[str, list[Layer]] | None = None
        for name, iterable in bindings:
            text = dotted_name(iterable) or ""
            container = self.layers.get(text[len("self.") :]) if text.startswith("self.") else None
            if container is not None and container.children:
                children = container.children
                if len(bindings) == 1 and 1 < len(children) <= MAX_SEQUENCE:
                    unrolled = (name, children)  # layers that differ: each in its turn
                    continue
                template = children[0]
                count: Any = sum(c.repeat for c in children) if all(
                    isinstance(c.repeat, int) for c in children
                ) else template.repeat
                env[name] = (template, count)
        if unrolled is None:
            self.block(node.body.body, env)
            return
        name, children = unrolled
        for child in children:
            env[name] = (child, child.repeat)
            self.block(node.body.body, env)

    def small(self, node: cst.BaseSmallStatement, env: dict[str, Any]) -> None:
        if isinstance(node, cst.Assign):
            value = self.expr(node.value, env)
            for target in node.targets:
                if isinstance(target.target, cst.Name):
                    env[target.target.value] = value
        elif isinstance(node, cst.AugAssign):
            value = self.expr(node.value, env)
            if value.step is not None and isinstance(node.operator, cst.AddAssign):
                value.step.reset = True
            if isinstance(node.target, cst.Name):
                env[node.target.value] = _NONE
        elif isinstance(node, cst.AnnAssign) and node.value is not None:
            value = self.expr(node.value, env)
            if isinstance(node.target, cst.Name):
                env[node.target.value] = value
        elif isinstance(node, (cst.Expr, cst.Return)) and node.value is not None:
            self.expr(node.value, env)


def loop_bindings(node: cst.For) -> list[tuple[str, cst.BaseExpression]]:
    """Loop variable -> what it runs over: ``for i, b in enumerate(X)``, ``for a, b in zip(A, B)``."""
    iterable, target = node.iter, node.target
    if isinstance(iterable, cst.Call) and iterable.args:
        func = dotted_name(iterable.func)
        if func == "enumerate" and isinstance(target, cst.Tuple) and len(target.elements) == 2:
            iterable, target = iterable.args[0].value, target.elements[1].value
        elif func == "zip" and isinstance(target, cst.Tuple):
            return [
                (element.value.value, arg.value)
                for element, arg in zip(target.elements, iterable.args)
                if isinstance(element.value, cst.Name)
            ]
    return [(target.value, iterable)] if isinstance(target, cst.Name) else []


def class_steps(facts: "FileFacts", cls: "ModuleClass") -> list[Step]:
    """The layers of ``cls`` in the order its ``forward`` applies them."""
    forward = cls.methods.get("forward")
    flow = _Flow(facts, cls)
    if forward is not None and isinstance(forward.body, cst.IndentedBlock):
        flow.block(forward.body.body, {})
    return flow.steps


def container_steps(facts: "FileFacts", cls: "ModuleClass | None", layer: Layer) -> list[Step]:
    """The layers of a Sequential or list in their own order (``nn.Sequential`` is its forward)."""
    flow = _Flow(facts, cls)
    flow._apply_layer(layer, _NONE)
    for step in flow.steps:
        step.called = layer.kind == "Sequential"
    return flow.steps
