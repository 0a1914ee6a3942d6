"""Evaluating expressions: literals, names, operators, displays, comprehensions, lambdas.

Each handler computes what Python would, on the values of values.py. Anything outside what is
modelled gives UNKNOWN; a Sym stays symbolic through arithmetic (``4 * hidden``), so messages
can name the size a finding depends on.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

import libcst as cst

from initlint.model.interp.context import BudgetExceeded, Frame, join, truth
from initlint.model.values import (
    UNKNOWN,
    DictObj,
    External,
    FunctionValue,
    ListObj,
    Place,
    Signal,
    Sym,
    Tensor,
    is_number,
)

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

_BINARY = {
    cst.Add: operator.add, cst.Subtract: operator.sub, cst.Multiply: operator.mul,
    cst.Divide: operator.truediv, cst.FloorDivide: operator.floordiv, cst.Modulo: operator.mod,
    cst.Power: operator.pow, cst.BitAnd: operator.and_, cst.BitOr: operator.or_,
    cst.BitXor: operator.xor, cst.LeftShift: operator.lshift, cst.RightShift: operator.rshift,
    cst.MatrixMultiply: None,
}
_AUGMENTED = {
    cst.AddAssign: cst.Add, cst.SubtractAssign: cst.Subtract, cst.MultiplyAssign: cst.Multiply,
    cst.DivideAssign: cst.Divide, cst.FloorDivideAssign: cst.FloorDivide,
    cst.ModuloAssign: cst.Modulo, cst.PowerAssign: cst.Power, cst.BitAndAssign: cst.BitAnd,
    cst.BitOrAssign: cst.BitOr, cst.BitXorAssign: cst.BitXor, cst.MatrixMultiplyAssign: cst.MatrixMultiply,
    cst.LeftShiftAssign: cst.LeftShift, cst.RightShiftAssign: cst.RightShift,
}
_COMPARE = {
    cst.Equal: operator.eq, cst.NotEqual: operator.ne, cst.LessThan: operator.lt,
    cst.LessThanEqual: operator.le, cst.GreaterThan: operator.gt, cst.GreaterThanEqual: operator.ge,
}
#: a slice whose bounds are not known (``x[:n]`` with an open n)
OPEN_SLICE = slice(UNKNOWN, UNKNOWN, UNKNOWN)
_CONSTANTS = {"None": None, "True": True, "False": False}
#: integers beyond this are kept as UNKNOWN: sizes are never that large, and float() overflows
_HUGE = 10**18


def augmented(operator_node: cst.BaseAugOp) -> type:
    return _AUGMENTED[type(operator_node)]


def _is_count(value: Any) -> bool:
    """An int a str can be repeated by (``'x' * 0.5`` raises in Python: not a value)."""
    return isinstance(value, int) and not isinstance(value, bool)


def _plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


class Expressions:
    """The expression half of the Evaluator (machine.py mixes the halves together)."""

    def eval(self: "Evaluator", node: cst.BaseExpression, frame: Frame) -> Any:
        self.steps += 1  # self.tick(), inlined: the hottest call of the evaluator
        if self.steps > self.budget:
            raise BudgetExceeded()
        handler = _HANDLERS.get(type(node))
        if handler is None:
            return UNKNOWN
        return handler(self, node, frame)

    # ----- literals
    def _integer(self, node: cst.Integer, frame: Frame) -> Any:
        text = node.value.replace("_", "")
        try:
            value = int(text, 0) if not (len(text) > 1 and text[0] == "0" and text.strip("0") == "") else 0
        except ValueError:
            return UNKNOWN
        return value if abs(value) < _HUGE else UNKNOWN

    def _float(self, node: cst.Float, frame: Frame) -> Any:
        try:
            value = float(node.value.replace("_", ""))
        except ValueError:
            return UNKNOWN
        return value if math.isfinite(value) else UNKNOWN

    def _string(self, node: cst.SimpleString, frame: Frame) -> Any:
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

    def _concatenated(self, node: cst.ConcatenatedString, frame: Frame) -> Any:
        left, right = self.eval(node.left, frame), self.eval(node.right, frame)
        return left + right if isinstance(left, str) and isinstance(right, str) else UNKNOWN

    def _formatted(self, node: cst.FormattedString, frame: Frame) -> Any:
        parts: list[str] = []
        for part in node.parts:
            if isinstance(part, cst.FormattedStringText):
                parts.append(part.value)
                continue
            value = self.eval(part.expression, frame)
            if part.format_spec or part.conversion or not isinstance(value, (str, int)) or isinstance(value, bool):
                return UNKNOWN
            parts.append(str(value))
        return "".join(parts)

    def _name(self, node: cst.Name, frame: Frame) -> Any:
        name = node.value
        if name in _CONSTANTS:
            return _CONSTANTS[name]
        return self.lookup(name, frame)

    def _constant_none(self, node: cst.Ellipsis, frame: Frame) -> Any:
        return Ellipsis

    # ----- operators
    def _binary(self, node: cst.BinaryOperation, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        right = self.eval(node.right, frame)
        return self.binop(type(node.operator), left, right, node, frame)

    def binop(self: "Evaluator", op: type, left: Any, right: Any, node: cst.CSTNode, frame: Frame) -> Any:
        """``left op right`` on evaluated values."""
        if isinstance(left, (Signal, Tensor)) or isinstance(right, (Signal, Tensor)):
            return self.tensor_binop(op, left, right, node, frame)
        if isinstance(left, Sym) or isinstance(right, Sym):
            if (is_number(left) or isinstance(left, Sym)) and (is_number(right) or isinstance(right, Sym)):
                return Sym(frame.source.code(node))
            return UNKNOWN
        function = _BINARY.get(op)
        if function is None:
            return UNKNOWN
        if is_number(left) and is_number(right) or isinstance(left, bool) or isinstance(right, bool):
            if not (_plain(left) and _plain(right)):
                return UNKNOWN
            if op is cst.Power and (not is_number(right) or abs(right) > 64 or abs(left) > 1e6):
                return UNKNOWN
            if op in (cst.LeftShift,) and is_number(right) and right > 64:
                return UNKNOWN
            try:
                value = function(left, right)
            except (ArithmeticError, ValueError, TypeError):
                return UNKNOWN
            if isinstance(value, float) and not math.isfinite(value):
                return UNKNOWN
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= _HUGE:
                return UNKNOWN
            return value
        if isinstance(left, str) and (isinstance(right, str) and op is cst.Add or _is_count(right) and op is cst.Multiply and 0 <= right < 1000):
            return function(left, right)
        if isinstance(left, str) and op is cst.Modulo:
            try:
                return left % right if _plain(right) or isinstance(right, tuple) and all(map(_plain, right)) else UNKNOWN
            except (TypeError, ValueError):
                return UNKNOWN
        if isinstance(left, tuple) and isinstance(right, tuple) and op is cst.Add:
            return left + right
        if isinstance(left, tuple) and is_number(right) and op is cst.Multiply and 0 <= right <= 64:
            return left * int(right)
        if isinstance(left, ListObj) and isinstance(right, ListObj) and op is cst.Add:
            repeat = 1 if not (left.template or right.template) else UNKNOWN
            return ListObj([*left.items, *right.items], repeat)
        if isinstance(left, ListObj) and is_number(right) and op is cst.Multiply and not left.template:
            if 0 <= right <= 64:
                return ListObj(left.items * int(right))
            return ListObj(list(left.items), right if len(left.items) == 1 else UNKNOWN)
        return UNKNOWN

    def _unary(self, node: cst.UnaryOperation, frame: Frame) -> Any:
        value = self.eval(node.expression, frame)
        op = type(node.operator)
        if op is cst.Not:
            decided = truth(value)
            return UNKNOWN if decided is None else not decided
        if isinstance(value, (Signal, Tensor)):
            if op is cst.Minus:
                return self.tensor_binop(cst.Multiply, value, -1.0, node, frame)
            return value if op is cst.Plus else UNKNOWN
        if isinstance(value, Sym):
            return Sym(frame.source.code(node))
        if is_number(value) or isinstance(value, bool):
            if op is cst.Minus:
                return -value
            if op is cst.Plus:
                return +value
            if op is cst.BitInvert and isinstance(value, int):
                return ~value
        return UNKNOWN

    def _boolean(self, node: cst.BooleanOperation, frame: Frame) -> Any:
        left = self.eval(node.left, frame)
        decided = truth(left)
        is_and = isinstance(node.operator, cst.And)
        if decided is not None:
            if decided is not is_and:  # `True or x`, `False and x`: the left value
                return left
            return self.eval(node.right, frame)
        with self.undecided():
            right = self.eval(node.right, frame)
        return join([left, right])

    def _compare(self, node: cst.Comparison, frame: Frame) -> Any:
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

    def compare(self: "Evaluator", op: type, left: Any, right: Any) -> Any:
        """True/False when decided, else UNKNOWN."""
        if op in (cst.Is, cst.IsNot):
            decided = self.identical(left, right)
            if decided is None:
                return UNKNOWN
            return decided if op is cst.Is else not decided
        if op in (cst.In, cst.NotIn):
            decided = self.contains(right, left)
            if decided is None:
                return UNKNOWN
            return decided if op is cst.In else not decided
        function = _COMPARE.get(op)
        if function is None:
            return UNKNOWN
        if op in (cst.Equal, cst.NotEqual):
            decided = self.equal(left, right)
            if decided is None:
                return UNKNOWN
            return decided if op is cst.Equal else not decided
        if (is_number(left) or isinstance(left, bool)) and (is_number(right) or isinstance(right, bool)):
            return function(left, right)
        if isinstance(left, str) and isinstance(right, str) or isinstance(left, tuple) and isinstance(right, tuple) and all(map(_plain, left + right)):
            try:
                return function(left, right)
            except TypeError:
                return UNKNOWN
        return UNKNOWN

    def identical(self, left: Any, right: Any) -> bool | None:
        if left is UNKNOWN or right is UNKNOWN or isinstance(left, Sym) or isinstance(right, Sym):
            return None
        if _plain(left) and _plain(right):
            return type(left) is type(right) and left == right
        if isinstance(left, External) and isinstance(right, External):
            return left.name == right.name
        return left is right

    def equal(self: "Evaluator", left: Any, right: Any) -> bool | None:
        if left is UNKNOWN or right is UNKNOWN or isinstance(left, Sym) or isinstance(right, Sym):
            return None
        if _plain(left) and _plain(right):
            return left == right
        if isinstance(left, tuple) and isinstance(right, tuple):
            if len(left) != len(right):
                return False
            results = [self.equal(a, b) for a, b in zip(left, right)]
            if False in results:
                return False
            return None if None in results else True
        classes = self.class_equality(left, right)
        if classes is not None:
            return classes
        if isinstance(left, (Signal, Tensor)) or isinstance(right, (Signal, Tensor)):
            return None
        if isinstance(left, (ListObj, DictObj)) or isinstance(right, (ListObj, DictObj)):
            if _plain(left) or _plain(right):
                return False
            return True if left is right else None
        if _plain(left) or _plain(right):
            return False  # a module, function or class never equals a number or a string
        return True if left is right else None

    def contains(self: "Evaluator", container: Any, item: Any) -> bool | None:
        if isinstance(container, str) and isinstance(item, str):
            return item in container
        if isinstance(container, (tuple, ListObj)):
            items = container if isinstance(container, tuple) else container.items
            if isinstance(container, ListObj) and container.template:
                return None
            results = [self.equal(item, element) for element in items]
            if True in results:
                return True
            return None if None in results else False
        if isinstance(container, DictObj):
            if not _plain(item):
                return None
            if item in container.items:
                return True
            return None if container.open else False
        return None

    def _if_expression(self, node: cst.IfExp, frame: Frame) -> Any:
        decided = truth(self.eval(node.test, frame))
        if decided is True:
            return self.eval(node.body, frame)
        if decided is False:
            return self.eval(node.orelse, frame)
        with self.undecided():
            body = self.eval(node.body, frame)
            orelse = self.eval(node.orelse, frame)
        return join([body, orelse])

    def _lambda(self, node: cst.Lambda, frame: Frame) -> Any:
        defaults = self.param_defaults(node.params, frame)
        return FunctionValue(node, "<lambda>", frame.namespace, defaults, closure=self.closure_of(frame))

    def _named(self, node: cst.NamedExpr, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        self.assign(node.target, value, frame)
        return value

    # ----- displays
    def elements(self: "Evaluator", elements: Any, frame: Frame) -> list[Any] | None:
        """Values of a display's elements, ``*x`` expanded; None when an expansion is open."""
        values: list[Any] = []
        for element in elements:
            if isinstance(element, cst.StarredElement):
                items = self.iterate(self.eval(element.value, frame))
                if items is None:
                    return None
                values.extend(items)
            else:
                values.append(self.eval(element.value, frame))
        return values

    def _tuple(self, node: cst.Tuple, frame: Frame) -> Any:
        values = self.elements(node.elements, frame)
        return UNKNOWN if values is None else tuple(values)

    def _list(self, node: cst.List, frame: Frame) -> Any:
        values = self.elements(node.elements, frame)
        return ListObj([UNKNOWN], UNKNOWN) if values is None else ListObj(values)

    def _set(self, node: cst.Set, frame: Frame) -> Any:
        self.elements(node.elements, frame)
        return UNKNOWN

    def _dict(self, node: cst.Dict, frame: Frame) -> Any:
        result = DictObj()
        for element in node.elements:
            if isinstance(element, cst.StarredDictElement):
                value = self.eval(element.value, frame)
                if isinstance(value, DictObj):
                    result.items.update(value.items)
                    result.open = result.open or value.open
                else:
                    result.open = True
                continue
            key = self.eval(element.key, frame)
            value = self.eval(element.value, frame)
            if _plain(key) or isinstance(key, tuple) and all(map(_plain, key)):
                result.items[key] = value
            else:
                result.open = True
        return result

    def _subscript(self, node: cst.Subscript, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        if len(node.slice) != 1:
            index: Any = tuple(self.slice_value(element.slice, frame) for element in node.slice)
        else:
            index = self.slice_value(node.slice[0].slice, frame)
        return self.getitem(value, index, node, frame)

    def slice_value(self: "Evaluator", part: cst.BaseSlice, frame: Frame) -> Any:
        if isinstance(part, cst.Index):
            return self.eval(part.value, frame)
        bounds = [None if b is None else self.eval(b, frame) for b in (part.lower, part.upper, part.step)]
        if all(b is None or isinstance(b, int) and not isinstance(b, bool) for b in bounds):
            return slice(*bounds)
        return OPEN_SLICE

    def _attribute(self, node: cst.Attribute, frame: Frame) -> Any:
        value = self.eval(node.value, frame)
        return self.getattr(value, node.attr.value, Place(frame.source, node), frame)

    def _call(self, node: cst.Call, frame: Frame) -> Any:
        return self.eval_call(node, frame)

    def _comprehension(self, node: Any, frame: Frame) -> Any:
        """List/generator/set/dict comprehensions, loops unrolled like ``for`` statements."""
        results: list[Any] = []
        keys: list[Any] = []
        is_dict = isinstance(node, cst.DictComp)
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
                if _plain(key):
                    result.items[key] = value
                else:
                    result.open = True
            if repeat != 1:
                result.open = True
            return result
        if isinstance(node, cst.SetComp):
            return UNKNOWN
        return ListObj(results, repeat)


def _yield(self: "Evaluator", node: cst.Yield, frame: Frame) -> Any:
    value = None
    if isinstance(node.value, cst.From):
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


def _await(self: "Evaluator", node: cst.Await, frame: Frame) -> Any:
    self.eval(node.expression, frame)
    return UNKNOWN


_HANDLERS = {
    cst.Yield: _yield,
    cst.Await: _await,
    cst.Integer: Expressions._integer,
    cst.Float: Expressions._float,
    cst.Imaginary: lambda self, node, frame: UNKNOWN,
    cst.SimpleString: Expressions._string,
    cst.ConcatenatedString: Expressions._concatenated,
    cst.FormattedString: Expressions._formatted,
    cst.Name: Expressions._name,
    cst.Ellipsis: Expressions._constant_none,
    cst.BinaryOperation: Expressions._binary,
    cst.UnaryOperation: Expressions._unary,
    cst.BooleanOperation: Expressions._boolean,
    cst.Comparison: Expressions._compare,
    cst.IfExp: Expressions._if_expression,
    cst.Lambda: Expressions._lambda,
    cst.NamedExpr: Expressions._named,
    cst.Tuple: Expressions._tuple,
    cst.List: Expressions._list,
    cst.Set: Expressions._set,
    cst.Dict: Expressions._dict,
    cst.Subscript: Expressions._subscript,
    cst.Attribute: Expressions._attribute,
    cst.Call: Expressions._call,
    cst.ListComp: Expressions._comprehension,
    cst.GeneratorExp: Expressions._comprehension,
    cst.SetComp: Expressions._comprehension,
    cst.DictComp: Expressions._comprehension,
}
