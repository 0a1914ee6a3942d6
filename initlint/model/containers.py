"""How the facts pass turns constructor calls into Layers: sizes, containers, repeat counts.

``nn.Linear(4 * n_embd, n_embd)`` becomes a Layer with folded sizes; ``nn.ModuleList([nn.Linear(h,
h) for _ in range(n)])``, ``nn.Sequential(*layers)`` after ``layers.append(...)`` in a loop and a
plain list of layers become containers whose children know how often they repeat. A mixin of
builder.FactsBuilder: it reads the builder's scopes, loops, imports and order counter.
"""

from __future__ import annotations

from typing import Any, Mapping, NamedTuple

import libcst as cst

from initlint.model.fold import MAX_SEQUENCE, UNKNOWN, fold, is_number
from initlint.model.imports import dotted_name
from initlint.model.layers import SIGNATURES, Layer, family_of

#: containers whose constructor arguments are their children, in order
SEQUENCES = frozenset({"Sequential", "ModuleList"})


class Item(NamedTuple):
    """A layer call a list holds, how often it repeats, and the loop values its arguments see:
    ``[nn.Conv2d(a, b, 3) for a, b in zip(widths, widths[1:])]`` is one Item per pair."""

    call: cst.Call
    repeat: Any = 1
    bindings: Mapping[str, Any] | None = None


class LayerMaker:
    """Layer construction for FactsBuilder (see the module docstring)."""

    def _layer_kind(self, node: cst.BaseExpression) -> str | None:
        if not isinstance(node, cst.Call):
            return None
        qualified = self.imports.qualify(node.func)
        scope = self._function_scope()
        if isinstance(node.func, cst.Name) and scope is not None and node.func.value in scope.classes:
            qualified = scope.classes[node.func.value]  # act_layer() with act_layer=nn.GELU
        if not qualified or not qualified.startswith("torch.nn."):
            return None
        kind = qualified.rsplit(".", 1)[-1]
        return kind if family_of(kind) else None

    def _loop_count(self) -> Any:
        """Iterations of the loops around the current statement, inside the current function."""
        count: Any = 1
        for loop in self._loops:
            if not is_number(loop.count):
                return UNKNOWN
            count *= loop.count
        return count

    def _count(self, node: cst.BaseExpression) -> Any:
        """Length of ``range(n)``, ``range(a, b)`` or a literal list: what a loop repeats."""
        if isinstance(node, (cst.List, cst.Tuple)):
            return len(node.elements)
        if isinstance(node, cst.Call) and dotted_name(node.func) == "range":
            values = [fold(a.value, self._env(), self.imports.qualify) for a in node.args]
            if not all(is_number(v) for v in values) or not values or len(values) > 2:
                return UNKNOWN
            low, high = (0, values[0]) if len(values) == 1 else values
            return max(0, int(high) - int(low))
        return UNKNOWN

    def _comprehension_count(self, comp: cst.ListComp | cst.GeneratorExp) -> Any:
        count: Any = 1
        clause: Any = comp.for_in
        while clause is not None:
            if clause.ifs:
                return UNKNOWN
            value = self._count(clause.iter)
            if not is_number(value):
                return UNKNOWN
            count *= value
            clause = clause.inner_for_in
        return count

    def _items(self, node: cst.BaseExpression) -> list[Item]:
        """The layer calls a list expression holds, each with its repeat count."""
        if isinstance(node, (cst.ListComp, cst.GeneratorExp)):
            if isinstance(node.elt, cst.Call):
                return self._unrolled(node) or [Item(node.elt, self._comprehension_count(node))]
            return []
        if isinstance(node, (cst.List, cst.Tuple)):
            found: list[Item] = []
            for element in node.elements:
                if isinstance(element, cst.StarredElement):
                    found.extend(self._items(element.value))
                elif isinstance(element.value, cst.Call):
                    found.append(Item(element.value))
            return found
        if isinstance(node, cst.Name):
            return list(self._lists().get(node.value, ()))
        if isinstance(node, cst.BinaryOperation) and isinstance(node.operator, cst.Multiply):
            times = fold(node.right, self._env(), self.imports.qualify)
            inner = self._items(node.left)
            if is_number(times) and inner:
                return [
                    item._replace(repeat=item.repeat * times if is_number(item.repeat) else UNKNOWN)
                    for item in inner
                ]
        return []

    def _unrolled(self, comp: cst.ListComp | cst.GeneratorExp) -> list[Item]:
        """One Item per value when a comprehension's layers differ by its loop variables:
        ``for a, b in zip(widths, widths[1:])`` over a literal ``widths``. Empty otherwise
        (then the layers are alike and one Item repeats)."""
        clause = comp.for_in
        if clause.ifs or clause.inner_for_in is not None:
            return []
        names = _target_names(clause.target)
        if not names or not _mentions(comp.elt, set(names)):
            return []
        values = fold(clause.iter, self._env(), self.imports.qualify)
        if not isinstance(values, tuple) or not 0 < len(values) <= MAX_SEQUENCE:
            return []
        items = []
        for value in values:
            if isinstance(clause.target, cst.Name):
                bindings = {names[0]: value}
            elif isinstance(value, tuple) and len(value) == len(names):
                bindings = dict(zip(names, value))
            else:
                return []
            items.append(Item(comp.elt, 1, bindings))
        return items

    def _make_layer(
        self, name: str, call: cst.Call, kind: str, repeat: Any = 1,
        bindings: Mapping[str, Any] | None = None,
    ) -> Layer:
        names = SIGNATURES.get(kind, ())
        args: dict[str, Any] = {}
        texts: dict[str, cst.BaseExpression] = {}
        position = 0
        env = self._env() if not bindings else {**self._env(), **bindings}
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
            texts[key] = arg.value
        self._order += 1
        layer = Layer(name, kind, family_of(kind) or "other", args, texts, self._order, call)
        layer.repeat = repeat
        if kind in SEQUENCES:
            self._add_children(layer, self._container_items(call))
        return layer

    def _container_items(self, call: cst.Call) -> list[Item]:
        items: list[Item] = []
        for arg in call.args:
            if arg.keyword is not None:
                continue
            if arg.star or isinstance(arg.value, (cst.ListComp, cst.List, cst.Tuple)):
                items.extend(self._items(arg.value))
            elif isinstance(arg.value, cst.Call):
                items.append(Item(arg.value))
        return items

    def _add_children(self, layer: Layer, items: list[Item]) -> None:
        for index, (call, repeat, bindings) in enumerate(items):
            child_kind = self._layer_kind(call)
            if child_kind is not None:
                layer.children.append(
                    self._make_layer(f"{layer.name}.{index}", call, child_kind, repeat, bindings)
                )

    def _list_layer(self, name: str, items: list[Item]) -> Layer | None:
        """A plain list of layers, as a ModuleList-like container."""
        if not any(self._layer_kind(item.call) for item in items):
            return None
        self._order += 1
        layer = Layer(name, "list", "container", {}, {}, self._order, items[0].call)
        self._add_children(layer, items)
        return layer


def _target_names(target: cst.BaseExpression) -> list[str]:
    """``a`` or ``a, b`` (names only; anything else: none)."""
    if isinstance(target, cst.Name):
        return [target.value]
    if isinstance(target, cst.Tuple) and all(isinstance(e.value, cst.Name) for e in target.elements):
        return [e.value.value for e in target.elements]
    return []


def _mentions(node: cst.CSTNode, names: set[str]) -> bool:
    """Whether ``node`` reads any of ``names`` (a cheap walk over Name leaves)."""
    stack = [node]
    while stack:
        current = stack.pop()
        if isinstance(current, cst.Name):
            if current.value in names:
                return True
            continue
        stack.extend(current.children)
    return False
