"""Python's operators on evaluated values: arithmetic, comparison, identity, equality, membership.

Each computes what Python would on the values of values.py, where Python's answer does not
depend on anything unmodelled; otherwise UNKNOWN (or None for a truth that is not decided). A
Sym stays symbolic through arithmetic (``4 * hidden``), so messages can name the size a finding
depends on.
"""

from __future__ import annotations

import math
import operator
from typing import TYPE_CHECKING, Any

from initlint.model.interp import slots
from initlint.model.interp.context import Frame
from initlint.model.tensors import Tensor
from initlint.model.values import UNKNOWN, DictObj, External, ListObj, Module, Signal, Sym, derived, is_number
from initlint.tree import nodes

if TYPE_CHECKING:
    from initlint.model.interp.machine import Evaluator

_BINARY = {
    nodes.Add: operator.add, nodes.Subtract: operator.sub, nodes.Multiply: operator.mul,
    nodes.Divide: operator.truediv, nodes.FloorDivide: operator.floordiv, nodes.Modulo: operator.mod,
    nodes.Power: operator.pow, nodes.BitAnd: operator.and_, nodes.BitOr: operator.or_,
    nodes.BitXor: operator.xor, nodes.LeftShift: operator.lshift, nodes.RightShift: operator.rshift,
    nodes.MatrixMultiply: None,
}
_AUGMENTED = {
    nodes.AddAssign: nodes.Add, nodes.SubtractAssign: nodes.Subtract, nodes.MultiplyAssign: nodes.Multiply,
    nodes.DivideAssign: nodes.Divide, nodes.FloorDivideAssign: nodes.FloorDivide,
    nodes.ModuloAssign: nodes.Modulo, nodes.PowerAssign: nodes.Power, nodes.BitAndAssign: nodes.BitAnd,
    nodes.BitOrAssign: nodes.BitOr, nodes.BitXorAssign: nodes.BitXor, nodes.MatrixMultiplyAssign: nodes.MatrixMultiply,
    nodes.LeftShiftAssign: nodes.LeftShift, nodes.RightShiftAssign: nodes.RightShift,
}
_COMPARE = {
    nodes.Equal: operator.eq, nodes.NotEqual: operator.ne, nodes.LessThan: operator.lt,
    nodes.LessThanEqual: operator.le, nodes.GreaterThan: operator.gt, nodes.GreaterThanEqual: operator.ge,
}
#: integers beyond this are kept as UNKNOWN: sizes are never that large, and float() overflows
HUGE = 10**18


def augmented(operator_node: nodes.BaseAugOp) -> type:
    return _AUGMENTED[type(operator_node)]


def _is_count(value: Any) -> bool:
    """An int a str can be repeated by (``'x' * 0.5`` raises in Python: not a value)."""
    return isinstance(value, int) and not isinstance(value, bool)


#: objects that equal modules of a model do not share: comparing one by identity tells them apart
_DISTINCT = (Module, Tensor)


def is_plain(value: Any) -> bool:
    return value is None or isinstance(value, (bool, int, float, str))


class Operators:
    """Python's operators on evaluated values: arithmetic, comparisons, identity, equality,
    membership. Decided where Python would decide; UNKNOWN (or None) where it cannot."""

    def binop(self: "Evaluator", op: type, left: Any, right: Any, node: nodes.CSTNode, frame: Frame) -> Any:
        """``left op right`` on evaluated values."""
        if slots.tracking:
            slots.touch(left, right)  # str % int and sequence * int read an int subclass in C
        if isinstance(left, (Signal, Tensor)) or isinstance(right, (Signal, Tensor)):
            return self.tensor_binop(op, left, right, node, frame)
        if isinstance(left, Sym) or isinstance(right, Sym):
            if (is_number(left) or isinstance(left, Sym)) and (is_number(right) or isinstance(right, Sym)):
                return Sym(frame.source.code(node), derived=derived(left) or derived(right))
            return UNKNOWN
        function = _BINARY.get(op)
        if function is None:
            return UNKNOWN
        if is_number(left) and is_number(right) or isinstance(left, bool) or isinstance(right, bool):
            if not (is_plain(left) and is_plain(right)):
                return UNKNOWN
            if op is nodes.Power and (not is_number(right) or abs(right) > 64 or abs(left) > 1e6):
                return UNKNOWN
            if op in (nodes.LeftShift,) and is_number(right) and right > 64:
                return UNKNOWN
            try:
                value = function(left, right)
            except (ArithmeticError, ValueError, TypeError):
                return UNKNOWN
            if isinstance(value, float) and not math.isfinite(value):
                return UNKNOWN
            if isinstance(value, int) and not isinstance(value, bool) and abs(value) >= HUGE:
                return UNKNOWN
            return value
        if isinstance(left, str) and (isinstance(right, str) and op is nodes.Add or _is_count(right) and op is nodes.Multiply and 0 <= right < 1000):
            return function(left, right)
        if isinstance(left, str) and op is nodes.Modulo:
            try:
                return left % right if is_plain(right) or isinstance(right, tuple) and all(map(is_plain, right)) else UNKNOWN
            except (TypeError, ValueError):
                return UNKNOWN
        if isinstance(left, tuple) and isinstance(right, tuple) and op is nodes.Add:
            return left + right
        if isinstance(left, tuple) and is_number(right) and op is nodes.Multiply and 0 <= right <= 64:
            return left * int(right)
        if isinstance(left, ListObj) and isinstance(right, ListObj) and op is nodes.Add:
            repeat = 1 if not (left.template or right.template) else UNKNOWN
            return ListObj([*left.items, *right.items], repeat)
        if isinstance(left, ListObj) and is_number(right) and op is nodes.Multiply and not left.template:
            if 0 <= right <= 64:
                return ListObj(left.items * int(right))
            return ListObj(list(left.items), right if len(left.items) == 1 else UNKNOWN)
        return UNKNOWN

    def compare(self: "Evaluator", op: type, left: Any, right: Any) -> Any:
        """True/False when decided, else UNKNOWN."""
        if op in (nodes.Is, nodes.IsNot):
            decided = self.identical(left, right)
            if decided is None:
                return UNKNOWN
            return decided if op is nodes.Is else not decided
        if op in (nodes.In, nodes.NotIn):
            decided = self.contains(right, left)
            if decided is None:
                return UNKNOWN
            return decided if op is nodes.In else not decided
        function = _COMPARE.get(op)
        if function is None:
            return UNKNOWN
        if op in (nodes.Equal, nodes.NotEqual):
            decided = self.equal(left, right)
            if decided is None:
                return UNKNOWN
            return decided if op is nodes.Equal else not decided
        if (is_number(left) or isinstance(left, bool)) and (is_number(right) or isinstance(right, bool)):
            return function(left, right)
        if isinstance(left, str) and isinstance(right, str) or isinstance(left, tuple) and isinstance(right, tuple) and all(map(is_plain, left + right)):
            try:
                return function(left, right)
            except TypeError:
                return UNKNOWN
        return UNKNOWN

    def identical(self, left: Any, right: Any) -> bool | None:
        if slots.tracking and left is not None and right is not None:
            slots.touch(left, right)  # ``is`` between two ints tells them apart by value
        if left is UNKNOWN or right is UNKNOWN or isinstance(left, Sym) or isinstance(right, Sym):
            return None
        if is_plain(left) and is_plain(right):
            return type(left) is type(right) and left == right
        if isinstance(left, External) and isinstance(right, External):
            return left.name == right.name
        if left is not None and right is not None and (isinstance(left, _DISTINCT) or isinstance(right, _DISTINCT)):
            self.identity_tests += 1  # visits.py: two equal modules differ here
        return left is right

    def equal(self: "Evaluator", left: Any, right: Any) -> bool | None:
        if left is UNKNOWN or right is UNKNOWN or isinstance(left, Sym) or isinstance(right, Sym):
            return None
        if is_plain(left) and is_plain(right):
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
            if is_plain(left) or is_plain(right):
                return False
            return True if left is right else None
        if is_plain(left) or is_plain(right):
            return False  # a module, function or class never equals a number or a string
        if isinstance(left, _DISTINCT) or isinstance(right, _DISTINCT):
            self.identity_tests += 1  # visits.py: two equal modules differ here
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
            if not is_plain(item):
                return None
            if item in container.items:
                return True
            return None if container.open else False
        return None
