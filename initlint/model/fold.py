"""Constant folding of the small expressions model code uses for sizes and init arguments.

``512 * 7 * 7``, ``4 * n_embd``, ``int(hidden * mlp_ratio)``, ``0.02 / math.sqrt(2 * n_layer)``,
``nn.init.calculate_gain('relu')``: numbers, strings and booleans from literals, names bound in an
environment (module constants, constructor defaults, earlier local assignments) and a handful of
pure functions. Anything else folds to UNKNOWN, never to a guess.
"""

from __future__ import annotations

import math
import operator
from typing import Any, Callable, Mapping

import libcst as cst

from initlint import theory
from initlint.model.imports import dotted_name


class _Unknown:
    """The value of an expression that cannot be folded statically."""

    _instance: "_Unknown | None" = None

    def __new__(cls) -> "_Unknown":
        if cls._instance is None:
            cls._instance = super().__new__(cls)
        return cls._instance

    def __repr__(self) -> str:
        return "UNKNOWN"

    def __bool__(self) -> bool:
        return False


UNKNOWN: Any = _Unknown()

_BINARY: dict[type, Callable[[Any, Any], Any]] = {
    cst.Add: operator.add,
    cst.Subtract: operator.sub,
    cst.Multiply: operator.mul,
    cst.Divide: operator.truediv,
    cst.FloorDivide: operator.floordiv,
    cst.Modulo: operator.mod,
    cst.Power: operator.pow,
}

_FUNCTIONS: dict[str, Callable[..., Any]] = {
    "math.sqrt": math.sqrt,
    "math.log": math.log,
    "math.exp": math.exp,
    "math.pow": math.pow,
    "np.sqrt": math.sqrt,
    "numpy.sqrt": math.sqrt,
    "int": int,
    "float": float,
    "abs": abs,
    "min": min,
    "max": max,
    "round": round,
    "torch.nn.init.calculate_gain": theory.calculate_gain,
    "len": len,
    "zip": lambda *sequences: tuple(zip(*map(_folded_sequence, sequences))),
    "enumerate": lambda sequence, start=0: tuple(enumerate(_folded_sequence(sequence), start)),
    "list": lambda sequence: _folded_sequence(sequence),
    "tuple": lambda sequence: _folded_sequence(sequence),
}
#: a folded sequence longer than this stays UNKNOWN (sizes lists are short; ranges may not be)
MAX_SEQUENCE = 64

_CONSTANTS: dict[str, float] = {"math.pi": math.pi, "math.e": math.e, "np.pi": math.pi}

Resolver = Callable[[cst.BaseExpression], "str | None"]


def fold(
    node: cst.BaseExpression | None,
    env: Mapping[str, Any],
    qualify: Resolver | None = None,
) -> Any:
    """The value of ``node`` or UNKNOWN. ``env`` maps names to already folded values."""
    if node is None:
        return UNKNOWN
    try:
        return _fold(node, env, qualify)
    except (ArithmeticError, LookupError, ValueError, TypeError, RecursionError):
        return UNKNOWN


def _fold(node: cst.BaseExpression, env: Mapping[str, Any], qualify: Resolver | None) -> Any:
    kind = type(node)  # exact types: isinstance on libcst's ABC-based nodes is slow
    if kind is cst.Integer:
        return int(node.value.replace("_", ""), 0) if not _LEADING_ZERO(node.value) else 0
    if kind is cst.Float:
        return float(node.value.replace("_", ""))
    if kind is cst.SimpleString:
        return string_value(node)
    if kind is cst.Name:
        if node.value in ("True", "False"):
            return node.value == "True"
        if node.value == "None":
            return None
        return env.get(node.value, UNKNOWN)
    if kind is cst.Attribute:
        dotted = _dotted(node, qualify)
        if dotted in _CONSTANTS:
            return _CONSTANTS[dotted]
        text = dotted_name(node)
        return env.get(text, UNKNOWN) if text else UNKNOWN
    if kind is cst.UnaryOperation:
        value = _fold(node.expression, env, qualify)
        if not _is_number(value):
            return UNKNOWN
        if isinstance(node.operator, cst.Minus):
            return -value
        if isinstance(node.operator, cst.Plus):
            return +value
        return UNKNOWN
    if kind is cst.BinaryOperation:
        op = _BINARY.get(type(node.operator))
        if op is None:
            return UNKNOWN
        left = _fold(node.left, env, qualify)
        right = _fold(node.right, env, qualify)
        if _is_number(left) and _is_number(right):
            if op is operator.pow and abs(right) > 64:
                return UNKNOWN
            return op(left, right)
        return UNKNOWN
    if kind is cst.Tuple or kind is cst.List:  # lists fold to tuples: values, never mutated
        if len(node.elements) > MAX_SEQUENCE or any(type(el) is cst.StarredElement for el in node.elements):
            return UNKNOWN
        values = tuple(_fold(el.value, env, qualify) for el in node.elements)
        return UNKNOWN if any(v is UNKNOWN for v in values) else values
    if kind is cst.Subscript:
        return _fold_subscript(node, env, qualify)
    if kind is cst.Call:
        return _fold_call(node, env, qualify)
    return UNKNOWN


def _fold_subscript(node: cst.Subscript, env: Mapping[str, Any], qualify: Resolver | None) -> Any:
    """``widths[1:]``, ``dims[-1]``: an index or slice of a folded tuple."""
    sequence = _fold(node.value, env, qualify)
    if not isinstance(sequence, tuple) or len(node.slice) != 1:
        return UNKNOWN
    part = node.slice[0].slice
    if isinstance(part, cst.Index):
        index = _fold(part.value, env, qualify)
        return sequence[index] if _is_int(index) else UNKNOWN
    if isinstance(part, cst.Slice):
        bounds = [None if b is None else _fold(b, env, qualify) for b in (part.lower, part.upper, part.step)]
        if all(b is None or _is_int(b) for b in bounds):
            return sequence[slice(*bounds)]
    return UNKNOWN


def _folded_sequence(value: Any) -> tuple:
    """A folded list or tuple, for zip/enumerate/list; anything else (a string) is no size list."""
    if not isinstance(value, tuple):
        raise TypeError("not a folded sequence")
    return value


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


def _LEADING_ZERO(text: str) -> bool:
    """``00``: valid Python (zero), but int(..., 0) refuses it."""
    return len(text) > 1 and text[0] == "0" and text.strip("0_") == ""


def string_value(node: cst.SimpleString) -> str:
    """The value of a string literal; libcst's evaluated_value runs ast.literal_eval, which
    compiles (a third of the fold time on model code), so plain literals take a fast path."""
    text = node.value
    quote = text[-1]
    if "\\" not in text and text[0] == quote:
        size = 3 if text.startswith(quote * 3) and len(text) >= 6 else 1
        return text[size:-size]
    return node.evaluated_value


def _fold_call(node: cst.Call, env: Mapping[str, Any], qualify: Resolver | None) -> Any:
    name = _dotted(node.func, qualify)
    function = _FUNCTIONS.get(name or "")
    if function is None:
        return UNKNOWN
    args: list[Any] = []
    kwargs: dict[str, Any] = {}
    for arg in node.args:
        if arg.star:
            return UNKNOWN
        value = _fold(arg.value, env, qualify)
        if value is UNKNOWN:
            return UNKNOWN
        if arg.keyword is not None:
            kwargs[arg.keyword.value] = value
        else:
            args.append(value)
    return function(*args, **kwargs)


def _dotted(node: cst.BaseExpression, qualify: Resolver | None) -> str | None:
    if qualify is not None:
        return qualify(node)
    return dotted_name(node)


def _is_number(value: Any) -> bool:
    return isinstance(value, (int, float)) and not isinstance(value, bool)


def is_number(value: Any) -> bool:
    """A folded int or float (booleans are not sizes)."""
    return _is_number(value)
