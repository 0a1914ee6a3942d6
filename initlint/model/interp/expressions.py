"""Evaluating expressions: literals, names, operator nodes, displays, comprehensions, lambdas.

Each handler computes what Python would, on the values of values.py. Anything outside what is
modelled gives UNKNOWN. The operators themselves (``+``, ``==``, ``in``, ...) are computed in
operators.py.
"""

from __future__ import annotations

import math
from typing import TYPE_CHECKING, Any

from initlint.model.interp import slots
from initlint.model.interp.calls import Calls
from initlint.model.interp.context import BudgetExceeded, Frame, Lazy, join, truth
from initlint.model.interp.operators import HUGE, is_plain
from initlint.model.tensors import Tensor
from initlint.model.values import (
    UNKNOWN,
    DictObj,
    FunctionValue,
    ListObj,
    Place,
    Signal,
    Sym,
    is_number,
)
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

#: a slice whose bounds are not known (``x[:n]`` with an open n)
OPEN_SLICE = slice(UNKNOWN, UNKNOWN, UNKNOWN)
_CONSTANTS = {"None": None, "True": True, "False": False}
_NOT_LOCAL = object()


class Expressions:
    """The expression half of the Evaluator (machine.py mixes the halves together)."""

    def eval(self: "Evaluator", node: nodes.BaseExpression, frame: Frame) -> Any:
        self.steps += 1  # self.tick(), inlined: the hottest call of the evaluator
        if self.steps > self.budget:
            raise BudgetExceeded()
        handler = _HANDLERS.get(type(node))
        if handler is None:
            return UNKNOWN
        return handler(self, node, frame)

    # ----- literals
    def _integer(self, node: nodes.Integer, frame: Frame) -> Any:
        text = node.value.replace("_", "")
        try:
            value = int(text, 0) if not (len(text) > 1 and text[0] == "0" and text.strip("0") == "") else 0
        except ValueError:
            return UNKNOWN
        return value if abs(value) < HUGE else UNKNOWN

    def _float(self, node: nodes.Float, frame: Frame) -> Any:
        try:
            value = float(node.value.replace("_", ""))
        except ValueError:
            return UNKNOWN
        return value if math.isfinite(value) else UNKNOWN

    def _string(self, node: nodes.SimpleString, frame: Frame) -> Any:
        text = node.value
        quote = text[-1]
        prefix = text[: len(text) - len(text.lstrip("rRbBuUfF"))].lower()
        if "b" in prefix:
            return UNKNOWN
        body = text[len(prefix):]
        if "\\" not in body:
            size = 3 if body.startswith(quote * 3) and len(body) >= 6 else 1
            return body[size:-size]
        try:
            return node.evaluated_value
        except Exception:  # noqa: BLE001 - an odd escape: not a value we need
            return UNKNOWN

    def _concatenated(self, node: nodes.ConcatenatedString, frame: Frame) -> Any:
        left, right = self.eval(node.left, frame), self.eval(node.right, frame)
        return left + right if isinstance(left, str) and isinstance(right, str) else UNKNOWN

    def _formatted(self, node: nodes.FormattedString, frame: Frame) -> Any:
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, nodes.FormattedStringText):
                parts.append(part.value)
                continue
            value = self.eval(part.expression, frame)
            if part.format_spec or part.conversion or not isinstance(value, (str, int)) or isinstance(value, bool):
                return UNKNOWN
            parts.append(str(value))
        return "".join(parts)

    def _name(self, node: nodes.Name, frame: Frame) -> Any:
        name = node.value
        value = frame.locals.get(name, _NOT_LOCAL)  # Objects.lookup's first step, inlined
        if value is not _NOT_LOCAL and type(value) is not Lazy:
            return value
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        return self.lookup(name, frame)

    def _constant_none(self, node: nodes.Ellipsis, frame: Frame) -> Any:
        return Ellipsis

    # ----- operators
    def _binary(self, node: nodes.BinaryOperation, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        right = self.eval(node.right, frame)
        return self.binop(type(node.operator), left, right, node, frame)

    def _unary(self, node: nodes.UnaryOperation, frame: Frame) -> Any:
        value = self.eval(node.expression, frame)
        if slots.tracking:
            slots.touch(value)
        op = type(node.operator)
        if op is nodes.Not:
            decided = truth(value)
            return UNKNOWN if decided is None else not decided
        if isinstance(value, (Signal, Tensor)):
            if op is nodes.Minus:
                return self.tensor_binop(nodes.Multiply, value, -1.0, node, frame)
            return value if op is nodes.Plus else UNKNOWN
        if isinstance(value, Sym):
            return Sym(frame.source.code(node), derived=value.derived)
        if is_number(value) or isinstance(value, bool):
            if op is nodes.Minus:
                return -value
            if op is nodes.Plus:
                return +value
            if op is nodes.BitInvert and isinstance(value, int):
                return ~value
        return UNKNOWN

    def _boolean(self, node: nodes.BooleanOperation, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        decided = truth(left)
        is_and = isinstance(node.operator, nodes.And)
        if decided is not None:
            if decided is not is_and:  # `True or x`, `False and x`: the left value
                return left
            return self.eval(node.right, frame)
        with self.undecided():
            right = self.eval(node.right, frame)
        return join([left, right])

    def _compare(self, node: nodes.Comparison, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        result: Any = True
        for target in node.comparisons:
            right = self.eval(target.comparator, frame)
            outcome = self.compare(type(target.operator), left, right)
            if outcome is False:
                return False
            if outcome is not True:
                result = UNKNOWN
            left = right
        return result

    def _if_expression(self, node: nodes.IfExp, frame: Frame) -> Any:
        decided = truth(self.eval(node.test, frame))
        if decided is True:
            return self.eval(node.body, frame)
        if decided is False:
            return self.eval(node.orelse, frame)
        with self.undecided():
            body = self.eval(node.body, frame)
            orelse = self.eval(node.orelse, frame)
        return join([body, orelse])

    def _lambda(self, node: nodes.Lambda, frame: Frame) -> Any:
        defaults = self.param_defaults(node.params, frame)
        return FunctionValue(node, "<lambda>", frame.namespace, defaults, closure=self.closure_of(frame))

    def _named(self, node: nodes.NamedExpr, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame)
        return value

    # ----- displays
    def elements(self: "Evaluator", elements: Any, frame: Frame) -> list[Any] | None:
        """Values of a display's elements, ``*x`` expanded; None when an expansion is open."""
        values: list[Any] = []
        for element in elements:
            if isinstance(element, nodes.StarredElement):
                items = self.iterate(self.eval(element.value, frame))
                if items is None:
                    return None
                values.extend(items)
            else:
                values.append(self.eval(element.value, frame))
        return values

    def _tuple(self, node: nodes.Tuple, frame: Frame) -> Any:
        values = self.elements(node.elements, frame)
        return UNKNOWN if values is None else tuple(values)

    def _list(self, node: nodes.List, frame: Frame) -> Any:
        values = self.elements(node.elements, frame)
        return ListObj([UNKNOWN], UNKNOWN) if values is None else ListObj(values)

    def _set(self, node: nodes.Set, frame: Frame) -> Any:
        self.elements(node.elements, frame)
        return UNKNOWN

    def _dict(self, node: nodes.Dict, frame: Frame) -> Any:
        result = DictObj()
        for element in node.elements:
            if isinstance(element, nodes.StarredDictElement):
                value = self.eval(element.value, frame)
                if isinstance(value, DictObj):
                    result.items.update(value.items)
                    result.open = result.open or value.open
                else:
                    result.open = True
                continue
            key = self.eval(element.key, frame)
            value = self.eval(element.value, frame)
            if is_plain(key) or isinstance(key, tuple) and all(map(is_plain, key)):
                result.items[key] = value
            else:
                result.open = True
        return result

    def _subscript(self, node: nodes.Subscript, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        if len(node.slice) != 1:
            index: Any = tuple(self.slice_value(element.slice, frame) for element in node.slice)
        else:
            index = self.slice_value(node.slice[0].slice, frame)
        return self.getitem(value, index, node, frame)

    def slice_value(self: "Evaluator", part: nodes.BaseSlice, frame: Frame) -> Any:
        if isinstance(part, nodes.Index):
            return self.eval(part.value, frame)
        bounds = [None if b is None else self.eval(b, frame) for b in (part.lower, part.upper, part.step)]
        if all(b is None or isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            return slice(*bounds)
        return OPEN_SLICE

    def _attribute(self, node: nodes.Attribute, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        return self.getattr(value, node.attr.value, Place(frame.source, node), frame)

    def _comprehension(self, node: Any, frame: Frame) -> Any:
        """List/generator/set/dict comprehensions, loops unrolled like ``for`` statements."""
        results: list[Any] = []
        keys: list[Any] = []
        is_dict = isinstance(node, nodes.DictComp)
        inner = Frame(frame.source, frame.namespace, dict(frame.locals), frame.function, self.closure_of(frame))

        def produce() -> None:
            if is_dict:
                keys.append(self.eval(node.key, inner))
                results.append(self.eval(node.value, inner))
            else:
                results.append(self.eval(node.elt, inner))

        repeat = self.run_comprehension(node.for_in, inner, produce)
        if is_dict:
            result = DictObj()
            for key, value in zip(keys, results):
                if is_plain(key):
                    result.items[key] = value
                else:
                    result.open = True
            if repeat != 1:
                result.open = True
            return result
        if isinstance(node, nodes.SetComp):
            return UNKNOWN
        return ListObj(results, repeat)


def _yield(self: "Evaluator", node: nodes.Yield, frame: Frame) -> Any:
    value = None
    if isinstance(node.value, nodes.From):
        items = self.iterate(self.eval(node.value.item, frame))
        if frame.yields is None:
            frame.yields = []
        if items is None:
            frame.maybe_returned = True  # an open number of items: the list is not known
        else:
            frame.yields.extend(items)
        return UNKNOWN
    if node.value is not None:
        value = self.eval(node.value, frame)
    if frame.yields is None:
        frame.yields = []
    frame.yields.append(value)
    return UNKNOWN


def _await(self: "Evaluator", node: nodes.Await, frame: Frame) -> Any:
    self.eval(node.expression, frame)
    return UNKNOWN


_HANDLERS = {
    nodes.Yield: _yield,
    nodes.Await: _await,
    nodes.Integer: Expressions._integer,
    nodes.Float: Expressions._float,
    nodes.Imaginary: lambda self, node, frame: UNKNOWN,
    nodes.SimpleString: Expressions._string,
    nodes.ConcatenatedString: Expressions._concatenated,
    nodes.FormattedString: Expressions._formatted,
    nodes.Name: Expressions._name,
    nodes.Ellipsis: Expressions._constant_none,
    nodes.BinaryOperation: Expressions._binary,
    nodes.UnaryOperation: Expressions._unary,
    nodes.BooleanOperation: Expressions._boolean,
    nodes.Comparison: Expressions._compare,
    nodes.IfExp: Expressions._if_expression,
    nodes.Lambda: Expressions._lambda,
    nodes.NamedExpr: Expressions._named,
    nodes.Tuple: Expressions._tuple,
    nodes.List: Expressions._list,
    nodes.Set: Expressions._set,
    nodes.Dict: Expressions._dict,
    nodes.Subscript: Expressions._subscript,
    nodes.Attribute: Expressions._attribute,
    nodes.Call: Calls.eval_call,  # not through Expressions._call: one Python call less per call
    nodes.ListComp: Expressions._comprehension,
    nodes.GeneratorExp: Expressions._comprehension,
    nodes.SetComp: Expressions._comprehension,
    nodes.DictComp: Expressions._comprehension,
}
