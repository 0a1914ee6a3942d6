"""CPython's expressions to the libcst-shaped nodes of nodes.py (build.py does statements).

The text of a number and each piece of an implicitly joined string are read from the source at
CPython's positions; libcst keeps them, CPython does not.
"""

from __future__ import annotations

import ast
from typing import Any, Callable

from initlint.lines import text_lines
from initlint.tree import nodes as n
from initlint.tree.spans import before, segment
from initlint.tree.strings import StringBuilder

_new = object.__new__


class ExpressionBuilder(StringBuilder):
    """Expressions, parameters and annotations (StringBuilder: literals); the source text."""

    def __init__(self, text: str) -> None:
        self.lines = text_lines(text)
        #: inside an f-string, where CPython 3.11's positions are not the source's
        self.in_fstring = 0

    # ----- source text at CPython's positions
    def _span(self, node: ast.AST) -> tuple:
        """Where ``node`` is: CPython's positions and the lines they index."""
        return (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset, self.lines)

    def _line(self, number: int) -> str:
        return self.lines[number - 1] if 0 < number <= len(self.lines) else ""

    def segment(self, node: ast.AST) -> str:
        return segment(self.lines, (node.lineno, node.col_offset, node.end_lineno, node.end_col_offset))

    def _before(self, node: ast.AST) -> str:
        """The text of the node's first line before it."""
        return before(self.lines, node.lineno, node.col_offset)

    def parameters(self, arguments: ast.arguments, span: tuple) -> n.CSTNode:
        node = _new(n.Parameters)
        node.span = span
        positional = [*arguments.posonlyargs, *arguments.args]
        defaults: list[ast.expr | None] = [None] * (len(positional) - len(arguments.defaults)) + list(arguments.defaults)
        params = [self._param(arg, default) for arg, default in zip(positional, defaults)]
        count = len(arguments.posonlyargs)
        node.posonly_params = params[:count]
        node.params = params[count:]
        if count:
            node.posonly_ind = _new(n.ParamSlash)
            node.posonly_ind.span = span
        else:
            node.posonly_ind = n.MaybeSentinel.DEFAULT
        if arguments.vararg is not None:
            node.star_arg = self._param(arguments.vararg, None, "*")
        elif arguments.kwonlyargs:
            node.star_arg = _new(n.ParamStar)
            node.star_arg.span = span
        else:
            node.star_arg = n.MaybeSentinel.DEFAULT
        node.kwonly_params = [self._param(arg, default) for arg, default in zip(arguments.kwonlyargs, arguments.kw_defaults)]
        node.star_kwarg = None if arguments.kwarg is None else self._param(arguments.kwarg, None, "**")
        return node

    def _param(self, arg: ast.arg, default: ast.expr | None, star: str = "") -> n.CSTNode:
        node = _new(n.Param)
        span = self._span(arg)
        node.name = _name(arg.arg, (span[0], span[1], span[0], span[1] + len(arg.arg.encode()), self.lines))
        node.span = (span[0], span[1] - len(star), span[2], span[3], self.lines) if star and self._before(arg).endswith(star) else span
        node.annotation = None if arg.annotation is None else self.annotation(arg.annotation)
        node.default = None if default is None else self.expr(default)
        node.star = star
        return node

    def annotation(self, expression: ast.expr) -> n.CSTNode:
        node = _new(n.Annotation)
        node.annotation = self.expr(expression)
        node.span = node.annotation.span
        return node

    def expr(self, e: ast.expr) -> n.CSTNode:
        node = _EXPRESSIONS[type(e)](self, e)
        node.span = (e.lineno, e.col_offset, e.end_lineno, e.end_col_offset, self.lines)
        return node

    def _name(self, e: ast.Name) -> n.CSTNode:
        node = _new(n.Name)
        node.value = e.id
        return node

    def _attribute(self, e: ast.Attribute) -> n.CSTNode:
        node = _new(n.Attribute)
        node.value = self.expr(e.value)
        width = len(e.attr.encode()) if not e.attr.isascii() else len(e.attr)
        node.attr = _name(e.attr, (e.end_lineno, e.end_col_offset - width, e.end_lineno, e.end_col_offset, self.lines))
        return node

    def _call(self, e: ast.Call) -> n.CSTNode:
        node = _new(n.Call)
        node.func = self.expr(e.func)
        args = [self._arg(arg) for arg in e.args]
        if e.keywords:
            args.extend(self._keyword(keyword) for keyword in e.keywords)
            if e.args and _start(e.keywords[0]) < _start(e.args[-1]):  # f(a, x=1, *b): source order
                args.sort(key=lambda arg: arg.span[:2])
        if len(args) == 1 and type(e.args[0] if e.args else None) is ast.GeneratorExp and args[0].span[2:4] == (e.end_lineno, e.end_col_offset):
            # ``f(x for x in y)``: CPython counts the call's brackets as the generator's own
            inner = args[0].value
            inner.span = args[0].span = (inner.span[0], inner.span[1] + 1, inner.span[2], inner.span[3] - 1, self.lines)
        node.args = args
        return node

    def _arg(self, e: ast.expr) -> n.CSTNode:
        node = _new(n.Arg)
        node.keyword = None
        if type(e) is ast.Starred:
            node.value = self.expr(e.value)
            node.star = "*"
        else:
            node.value = self.expr(e)
            node.star = ""
        node.span = self._span(e)
        return node

    def _keyword(self, keyword: ast.keyword) -> n.CSTNode:
        node = _new(n.Arg)
        span = self._span(keyword)
        node.span = span
        node.value = self.expr(keyword.value)
        if keyword.arg is None:
            node.keyword = None
            node.star = "**"
        else:
            node.keyword = _name(keyword.arg, (span[0], span[1], span[0], span[1] + len(keyword.arg.encode()), self.lines))
            node.star = ""
        return node

    def _binary(self, e: ast.BinOp) -> n.CSTNode:
        node = _new(n.BinaryOperation)
        node.left = self.expr(e.left)
        node.operator = _operator(_BINARY[type(e.op)])
        node.right = self.expr(e.right)
        return node

    def _unary(self, e: ast.UnaryOp) -> n.CSTNode:
        node = _new(n.UnaryOperation)
        node.operator = _operator(_UNARY[type(e.op)])
        node.expression = self.expr(e.operand)
        return node

    def _boolean(self, e: ast.BoolOp) -> n.CSTNode:
        operator = n.And if isinstance(e.op, ast.And) else n.Or
        node = self.expr(e.values[0])
        for value in e.values[1:]:
            joined = _new(n.BooleanOperation)
            joined.left = node
            joined.operator = _operator(operator)
            joined.right = self.expr(value)
            joined.span = (e.lineno, e.col_offset, value.end_lineno, value.end_col_offset, self.lines)
            node = joined
        return node

    def _compare(self, e: ast.Compare) -> n.CSTNode:
        node = _new(n.Comparison)
        node.left = self.expr(e.left)
        targets = []
        for op, comparator in zip(e.ops, e.comparators):
            target = _new(n.ComparisonTarget)
            target.operator = _operator(_COMPARE[type(op)])
            target.comparator = self.expr(comparator)
            target.span = target.comparator.span
            targets.append(target)
        node.comparisons = targets
        return node

    def _element(self, e: ast.expr) -> n.CSTNode:
        if type(e) is ast.Starred:
            node = _new(n.StarredElement)
            node.value = self.expr(e.value)
        else:
            node = _new(n.Element)
            node.value = self.expr(e)
        node.span = self._span(e)
        return node

    def _display(self, e: ast.Tuple | ast.List | ast.Set) -> n.CSTNode:
        node = _new(_DISPLAYS[type(e)])
        node.elements = [self._element(element) for element in e.elts]
        return node

    def _dict(self, e: ast.Dict) -> n.CSTNode:
        node = _new(n.Dict)
        elements = []
        for key, value in zip(e.keys, e.values):
            if key is None:
                element = _new(n.StarredDictElement)
                element.value = self.expr(value)
                element.span = element.value.span
            else:
                element = _new(n.DictElement)
                element.key = self.expr(key)
                element.value = self.expr(value)
                element.span = (key.lineno, key.col_offset, value.end_lineno, value.end_col_offset, self.lines)
            elements.append(element)
        node.elements = elements
        return node

    def _starred(self, e: ast.Starred) -> n.CSTNode:
        node = _new(n.StarredElement)
        node.value = self.expr(e.value)
        return node

    def _subscript(self, e: ast.Subscript) -> n.CSTNode:
        node = _new(n.Subscript)
        node.value = self.expr(e.value)
        index = e.slice
        if type(index) is ast.Tuple and not self._parenthesized(index):
            parts = index.elts
        else:
            parts = [index]
        elements = []
        for part in parts:
            element = _new(n.SubscriptElement)
            element.slice = self._slice(part)
            element.span = element.slice.span
            elements.append(element)
        node.slice = elements
        return node

    def _parenthesized(self, e: ast.Tuple) -> bool:
        """Whether a tuple is written in its own brackets (``x[(a, b)]``, not ``x[a, b]``)."""
        if not e.elts:
            return True
        first = e.elts[0]
        return (e.lineno, e.col_offset) < (first.lineno, first.col_offset) and self.segment(e).startswith("(") and _closes_at_end(self.segment(e))

    def _slice(self, e: ast.expr) -> n.CSTNode:
        if type(e) is ast.Slice:
            node = _new(n.Slice)
            node.lower = None if e.lower is None else self.expr(e.lower)
            node.upper = None if e.upper is None else self.expr(e.upper)
            node.step = None if e.step is None else self.expr(e.step)
        else:
            node = _new(n.Index)
            if type(e) is ast.Starred:
                node.value = self.expr(e.value)
                node.star = "*"
            else:
                node.value = self.expr(e)
                node.star = None
        node.span = self._span(e)
        return node

    def _lambda(self, e: ast.Lambda) -> n.CSTNode:
        node = _new(n.Lambda)
        node.params = self.parameters(e.args, self._span(e))
        node.body = self.expr(e.body)
        return node

    def _if_exp(self, e: ast.IfExp) -> n.CSTNode:
        node = _new(n.IfExp)
        node.test = self.expr(e.test)
        node.body = self.expr(e.body)
        node.orelse = self.expr(e.orelse)
        return node

    def _named(self, e: ast.NamedExpr) -> n.CSTNode:
        node = _new(n.NamedExpr)
        node.target = self.expr(e.target)
        node.value = self.expr(e.value)
        return node

    def _await(self, e: ast.Await) -> n.CSTNode:
        node = _new(n.Await)
        node.expression = self.expr(e.value)
        return node

    def _yield(self, e: ast.Yield | ast.YieldFrom) -> n.CSTNode:
        node = _new(n.Yield)
        if e.value is None:
            node.value = None
        elif isinstance(e, ast.YieldFrom):
            node.value = _new(n.From)
            node.value.item = self.expr(e.value)
            node.value.span = node.value.item.span
        else:
            node.value = self.expr(e.value)
        return node

    def _comprehension(self, e: Any) -> n.CSTNode:
        kind = type(e)
        node = _new(_COMPREHENSIONS[kind])
        if kind is ast.DictComp:
            node.key = self.expr(e.key)
            node.value = self.expr(e.value)
        else:
            node.elt = self.expr(e.elt)
        inner = None
        for generator in reversed(e.generators):
            loop = _new(n.CompFor)
            loop.target = self.expr(generator.target)
            loop.iter = self.expr(generator.iter)
            tests = []
            for test in generator.ifs:
                condition = _new(n.CompIf)
                condition.test = self.expr(test)
                condition.span = condition.test.span
                tests.append(condition)
            loop.ifs = tests
            loop.inner_for_in = inner
            loop.asynchronous = _asynchronous(loop.target.span) if generator.is_async else None
            loop.span = (generator.target.lineno, generator.target.col_offset, generator.iter.end_lineno, generator.iter.end_col_offset, self.lines)
            inner = loop
        node.for_in = inner
        return node


def _closes_at_end(text: str) -> bool:
    """Whether the bracket opening ``text`` is the one that closes at its end."""
    depth = 0
    for index, char in enumerate(text):
        if char in "([{":
            depth += 1
        elif char in ")]}":
            depth -= 1
            if depth == 0:
                return index == len(text) - 1
    return False


def _start(node: ast.AST) -> tuple[int, int]:
    return (node.lineno, node.col_offset)


def _name(value: str, span: tuple) -> n.CSTNode:
    node = _new(n.Name)
    node.value = value
    node.span = span
    return node


def _asynchronous(span: tuple) -> n.CSTNode:
    node = _new(n.Asynchronous)
    node.span = span
    return node


_OPERATORS: dict[type, n.CSTNode] = {}


def _operator(kind: type) -> n.CSTNode:
    """The one node of each operator kind (operators are compared by type, never by identity)."""
    node = _OPERATORS.get(kind)
    if node is None:
        node = _OPERATORS[kind] = _new(kind)
        node.span = None
    return node


_BINARY = {
    ast.Add: n.Add, ast.Sub: n.Subtract, ast.Mult: n.Multiply, ast.MatMult: n.MatrixMultiply,
    ast.Div: n.Divide, ast.FloorDiv: n.FloorDivide, ast.Mod: n.Modulo, ast.Pow: n.Power,
    ast.LShift: n.LeftShift, ast.RShift: n.RightShift, ast.BitOr: n.BitOr, ast.BitXor: n.BitXor,
    ast.BitAnd: n.BitAnd,
}
_UNARY = {ast.UAdd: n.Plus, ast.USub: n.Minus, ast.Not: n.Not, ast.Invert: n.BitInvert}
_COMPARE = {
    ast.Eq: n.Equal, ast.NotEq: n.NotEqual, ast.Lt: n.LessThan, ast.LtE: n.LessThanEqual,
    ast.Gt: n.GreaterThan, ast.GtE: n.GreaterThanEqual, ast.Is: n.Is, ast.IsNot: n.IsNot,
    ast.In: n.In, ast.NotIn: n.NotIn,
}
_DISPLAYS = {ast.Tuple: n.Tuple, ast.List: n.List, ast.Set: n.Set}
_COMPREHENSIONS = {ast.ListComp: n.ListComp, ast.SetComp: n.SetComp, ast.GeneratorExp: n.GeneratorExp, ast.DictComp: n.DictComp}
_E = ExpressionBuilder
_EXPRESSIONS: dict[type, Callable[[ExpressionBuilder, Any], n.CSTNode]] = {
    ast.Name: _E._name, ast.Constant: _E._constant, ast.Attribute: _E._attribute, ast.Call: _E._call,
    ast.BinOp: _E._binary, ast.UnaryOp: _E._unary, ast.BoolOp: _E._boolean, ast.Compare: _E._compare,
    ast.Tuple: _E._display, ast.List: _E._display, ast.Set: _E._display, ast.Dict: _E._dict,
    ast.Starred: _E._starred, ast.Subscript: _E._subscript, ast.Lambda: _E._lambda,
    ast.IfExp: _E._if_exp, ast.NamedExpr: _E._named, ast.Await: _E._await, ast.Yield: _E._yield,
    ast.YieldFrom: _E._yield, ast.ListComp: _E._comprehension, ast.SetComp: _E._comprehension,
    ast.GeneratorExp: _E._comprehension, ast.DictComp: _E._comprehension, ast.JoinedStr: _E._joined,
}
