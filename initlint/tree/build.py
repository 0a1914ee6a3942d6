"""CPython's ``ast`` to the libcst-shaped nodes of nodes.py: the module and its statements.

One pass over the tree ``ast.parse`` returns. Where libcst's shape holds more than CPython's
(statements grouped in lines, one-line suites, ``elif``, each piece of an implicitly joined
string, the text of a number) it is read from the source at the positions CPython gives.
"""

from __future__ import annotations

import ast
import re
from functools import partial
from typing import Any, Callable

from initlint.tree import nodes as n
from initlint.tree.expressions import ExpressionBuilder, _asynchronous, _name, _operator

_new = object.__new__


def build_module(tree: ast.Module, text: str, lazy: bool = False) -> n.Module:
    """The module's nodes; with ``lazy``, each function's body is built when first read
    (nodes.FunctionDef): for a file read for its definitions, not linted."""
    builder = _Builder(text)
    builder.lazy = lazy
    return builder.module(tree)


class _Builder(ExpressionBuilder):
    """Statements (expressions.py builds what they hold)."""

    #: functions' bodies built when first read (build_module)
    lazy = False

    # ----- statements
    def module(self, tree: ast.Module) -> n.Module:
        module = _new(n.Module)
        module.span = (1, 0, len(self.lines) or 1, 0, self.lines)
        module.body = self.statements(tree.body)
        return module

    def statements(self, body: list[ast.stmt]) -> list[n.CSTNode]:
        """Statements; small ones that share a line (``a = 1; b = 2``) form one line node."""
        out: list[n.CSTNode] = []
        line: n.CSTNode | None = None
        last_end = -1
        for statement in body:
            handler = _COMPOUND.get(type(statement))
            if handler is not None:
                out.append(handler(self, statement))
                line = None
                continue
            small = self.small(statement)
            if line is not None and statement.lineno == last_end:
                line.body.append(small)
                line.span = (line.span[0], line.span[1], statement.end_lineno, statement.end_col_offset, self.lines)
            else:
                line = _new(n.SimpleStatementLine)
                line.body = [small]
                line.span = self._span(statement)
                out.append(line)
            last_end = statement.end_lineno
        return out

    def suite(self, body: list[ast.stmt]) -> n.CSTNode:
        """An indented block, or the one-line suite of ``if x: return y``."""
        first = body[0]
        if self._before(first).strip():
            suite = _new(n.SimpleStatementSuite)
            suite.body = [self.small(statement) for statement in body]
        else:
            suite = _new(n.IndentedBlock)
            suite.body = self.statements(body)
        last = body[-1]
        suite.span = (first.lineno, first.col_offset, last.end_lineno, last.end_col_offset, self.lines)
        return suite

    def small(self, statement: ast.stmt) -> n.CSTNode:
        handler = _SMALL.get(type(statement))
        if handler is None:
            raise TypeError(f"a compound statement where a simple one was expected: {type(statement).__name__}")
        node = handler(self, statement)
        node.span = self._span(statement)
        return node

    def _else(self, body: list[ast.stmt], kind: type = n.Else) -> n.CSTNode | None:
        if not body:
            return None
        node = _new(kind)
        node.body = self.suite(body)
        node.span = node.body.span
        return node

    def _expr_statement(self, s: ast.Expr) -> n.CSTNode:
        node = _new(n.Expr)
        node.value = self.expr(s.value)
        return node

    def _assign(self, s: ast.Assign) -> n.CSTNode:
        node = _new(n.Assign)
        targets = []
        for target in s.targets:
            holder = _new(n.AssignTarget)
            holder.target = self.expr(target)
            holder.span = self._span(target)
            targets.append(holder)
        node.targets = targets
        node.value = self.expr(s.value)
        return node

    def _ann_assign(self, s: ast.AnnAssign) -> n.CSTNode:
        node = _new(n.AnnAssign)
        node.target = self.expr(s.target)
        node.annotation = self.annotation(s.annotation)
        node.value = None if s.value is None else self.expr(s.value)
        return node

    def _aug_assign(self, s: ast.AugAssign) -> n.CSTNode:
        node = _new(n.AugAssign)
        node.target = self.expr(s.target)
        node.operator = _operator(_AUG[type(s.op)])
        node.value = self.expr(s.value)
        return node

    def _return(self, s: ast.Return) -> n.CSTNode:
        node = _new(n.Return)
        node.value = None if s.value is None else self.expr(s.value)
        return node

    def _raise(self, s: ast.Raise) -> n.CSTNode:
        node = _new(n.Raise)
        node.exc = None if s.exc is None else self.expr(s.exc)
        if s.cause is None:
            node.cause = None
        else:
            node.cause = _new(n.From)
            node.cause.item = self.expr(s.cause)
            node.cause.span = self._span(s.cause)
        return node

    def _assert(self, s: ast.Assert) -> n.CSTNode:
        node = _new(n.Assert)
        node.test = self.expr(s.test)
        node.msg = None if s.msg is None else self.expr(s.msg)
        return node

    def _pass(self, s: ast.stmt) -> n.CSTNode:
        return _new(_KEYWORD_STATEMENTS[type(s)])

    def _delete(self, s: ast.Delete) -> n.CSTNode:
        node = _new(n.Del)
        if len(s.targets) == 1:
            node.target = self.expr(s.targets[0])
        else:
            node.target = _new(n.Tuple)
            node.target.elements = [self._element(target) for target in s.targets]
            node.target.span = (s.targets[0].lineno, s.targets[0].col_offset, s.end_lineno, s.end_col_offset, self.lines)
        return node

    def _global(self, s: ast.Global | ast.Nonlocal) -> n.CSTNode:
        node = _new(n.Global if isinstance(s, ast.Global) else n.Nonlocal)
        items = []
        for name in s.names:
            item = _new(n.NameItem)
            item.name = _name(name, self._span(s))
            item.span = item.name.span
            items.append(item)
        node.names = items
        return node

    def _import(self, s: ast.Import) -> n.CSTNode:
        node = _new(n.Import)
        node.names = [self._alias(alias) for alias in s.names]
        return node

    def _import_from(self, s: ast.ImportFrom) -> n.CSTNode:
        node = _new(n.ImportFrom)
        span = self._span(s)
        node.module = None if s.module is None else _dotted(s.module, self._module_start(s))
        dots = []
        for _ in range(s.level or 0):
            dot = _new(n.Dot)
            dot.span = span
            dots.append(dot)
        node.relative = dots
        if len(s.names) == 1 and s.names[0].name == "*":
            node.names = _new(n.ImportStar)
            node.names.span = self._span(s.names[0])
        else:
            node.names = [self._alias(alias) for alias in s.names]
        return node

    def _as_name(self, handler: ast.ExceptHandler, name: str) -> tuple:
        """Where ``name`` stands after ``as`` on the handler's line (else the handler's span)."""
        line = self._line(handler.lineno)
        match = re.search(rf"\bas\s+({re.escape(name)})\b", line)
        if match is None:
            return self._span(handler)
        start = len(line[: match.start(1)].encode())
        return (handler.lineno, start, handler.lineno, start + len(name.encode()), self.lines)

    def _module_start(self, s: ast.ImportFrom) -> tuple:
        """Where the module name of ``from .pkg.mod import x`` starts."""
        line = self._line(s.lineno)
        rest = line.encode()[s.col_offset:].decode(errors="replace")
        match = _FROM.match(rest)
        column = s.col_offset + len(rest[: match.end()].encode()) if match else s.col_offset
        return (s.lineno, column, s.lineno, column, self.lines)

    def _alias(self, alias: ast.alias) -> n.CSTNode:
        node = _new(n.ImportAlias)
        span = self._span(alias)
        node.span = span
        node.name = _dotted(alias.name, span)
        if alias.asname is None:
            node.asname = None
        else:
            node.asname = _new(n.AsName)
            node.asname.name = _name(alias.asname, (span[2], span[3] - len(alias.asname), span[2], span[3], self.lines))
            node.asname.span = node.asname.name.span
        return node

    def _type_alias(self, s: Any) -> n.CSTNode:  # 3.12 syntax; never reached on 3.11
        node = _new(n.TypeAlias)
        node.name = self.expr(s.name)
        node.value = self.expr(s.value)
        return node

    # ----- compound statements
    def _function(self, s: ast.FunctionDef | ast.AsyncFunctionDef) -> n.CSTNode:
        node = _new(n.FunctionDef)
        node.span = self._span(s)
        node.decorators = [self._decorator(d) for d in s.decorator_list]
        node.name = self._def_name(s, s.name)
        node.params = self.parameters(s.args, node.name.span)
        node.returns = None if s.returns is None else self.annotation(s.returns)
        if self.lazy:
            node.pending = partial(self.suite, s.body)  # the builder keeps nothing else that changes
        else:
            node.body = self.suite(s.body)
            node.pending = None
        node.asynchronous = _asynchronous(node.span) if isinstance(s, ast.AsyncFunctionDef) else None
        return node

    def _class(self, s: ast.ClassDef) -> n.CSTNode:
        node = _new(n.ClassDef)
        node.span = self._span(s)
        node.decorators = [self._decorator(d) for d in s.decorator_list]
        node.name = self._def_name(s, s.name)
        node.bases = [self._arg(base) for base in s.bases]
        node.keywords = [self._keyword(keyword) for keyword in s.keywords]
        node.body = self.suite(s.body)
        return node

    def _def_name(self, s: ast.stmt, name: str) -> n.CSTNode:
        """The Name after ``def``/``class``, where it stands on the header's line."""
        line = self._line(s.lineno)
        start = s.col_offset
        match = _HEADER.match(line.encode()[start:].decode(errors="replace") if not line.isascii() else line[start:])
        column = start + (match.end() if match else 0)
        return _name(name, (s.lineno, column, s.lineno, column + len(name.encode()), self.lines))

    def _decorator(self, expression: ast.expr) -> n.CSTNode:
        node = _new(n.Decorator)
        node.decorator = self.expr(expression)
        node.span = self._span(expression)
        return node

    def _if(self, s: ast.If) -> n.CSTNode:
        node = _new(n.If)
        node.span = self._span(s)
        node.test = self.expr(s.test)
        node.body = self.suite(s.body)
        orelse = s.orelse
        if len(orelse) == 1 and isinstance(orelse[0], ast.If) and self._is_elif(orelse[0]):
            node.orelse = self._if(orelse[0])
        else:
            node.orelse = self._else(orelse)
        return node

    def _is_elif(self, s: ast.If) -> bool:
        line = self._line(s.lineno)
        rest = line[s.col_offset:] if line.isascii() else line.encode()[s.col_offset:].decode(errors="replace")
        return rest.startswith("elif")

    def _for(self, s: ast.For | ast.AsyncFor) -> n.CSTNode:
        node = _new(n.For)
        node.span = self._span(s)
        node.target = self.expr(s.target)
        node.iter = self.expr(s.iter)
        node.body = self.suite(s.body)
        node.orelse = self._else(s.orelse)
        node.asynchronous = _asynchronous(node.span) if isinstance(s, ast.AsyncFor) else None
        return node

    def _while(self, s: ast.While) -> n.CSTNode:
        node = _new(n.While)
        node.span = self._span(s)
        node.test = self.expr(s.test)
        node.body = self.suite(s.body)
        node.orelse = self._else(s.orelse)
        return node

    def _try(self, s: Any) -> n.CSTNode:
        star = type(s).__name__ == "TryStar"
        node = _new(n.TryStar if star else n.Try)
        node.span = self._span(s)
        node.body = self.suite(s.body)
        handlers = []
        for handler in s.handlers:
            built = _new(n.ExceptStarHandler if star else n.ExceptHandler)
            built.span = self._span(handler)
            built.type = None if handler.type is None else self.expr(handler.type)
            if handler.name is None:
                built.name = None
            else:
                built.name = _new(n.AsName)
                built.name.name = _name(handler.name, self._as_name(handler, handler.name))
                built.name.span = built.span
            built.body = self.suite(handler.body)
            handlers.append(built)
        node.handlers = handlers
        node.orelse = self._else(s.orelse)
        node.finalbody = self._else(s.finalbody, n.Finally)
        return node

    def _with(self, s: ast.With | ast.AsyncWith) -> n.CSTNode:
        node = _new(n.With)
        node.span = self._span(s)
        items = []
        for item in s.items:
            built = _new(n.WithItem)
            built.item = self.expr(item.context_expr)
            built.span = built.item.span
            if item.optional_vars is None:
                built.asname = None
            else:
                built.asname = _new(n.AsName)
                built.asname.name = self.expr(item.optional_vars)
                built.asname.span = built.asname.name.span
            items.append(built)
        node.items = items
        node.body = self.suite(s.body)
        node.asynchronous = _asynchronous(node.span) if isinstance(s, ast.AsyncWith) else None
        return node

    def _match(self, s: Any) -> n.CSTNode:
        node = _new(n.Match)
        node.span = self._span(s)
        node.subject = self.expr(s.subject)
        cases = []
        for case in s.cases:
            built = _new(n.MatchCase)
            built.guard = None if case.guard is None else self.expr(case.guard)
            built.body = self.suite(case.body)
            built.span = built.body.span
            cases.append(built)
        node.cases = cases
        return node


_FROM = re.compile(r"from\s*[.\s]*")
_HEADER = re.compile(r"(?:async\s+)?(?:def|class)\s+")


def _dotted(dotted: str, span: tuple) -> n.CSTNode:
    """``a.b.c`` as libcst's Attribute(Attribute(Name a, Name b), Name c), written from where
    ``span`` starts (CPython keeps no positions of its own for these names)."""
    line, column, lines = span[0], span[1], span[4]
    parts = dotted.split(".")
    node = _name(parts[0], (line, column, line, column + len(parts[0].encode()), lines))
    end = node.span[3]
    for part in parts[1:]:
        attribute = _new(n.Attribute)
        attribute.value = node
        attribute.attr = _name(part, (line, end + 1, line, end + 1 + len(part.encode()), lines))
        end = attribute.attr.span[3]
        attribute.span = (line, column, line, end, lines)
        node = attribute
    return node


_AUG = {
    ast.Add: n.AddAssign, ast.Sub: n.SubtractAssign, ast.Mult: n.MultiplyAssign,
    ast.MatMult: n.MatrixMultiplyAssign, ast.Div: n.DivideAssign, ast.FloorDiv: n.FloorDivideAssign,
    ast.Mod: n.ModuloAssign, ast.Pow: n.PowerAssign, ast.LShift: n.LeftShiftAssign,
    ast.RShift: n.RightShiftAssign, ast.BitOr: n.BitOrAssign, ast.BitXor: n.BitXorAssign,
    ast.BitAnd: n.BitAndAssign,
}
_KEYWORD_STATEMENTS = {ast.Pass: n.Pass, ast.Break: n.Break, ast.Continue: n.Continue}


_B = _Builder
_SMALL: dict[type, Callable[[_Builder, Any], n.CSTNode]] = {
    ast.Expr: _B._expr_statement, ast.Assign: _B._assign, ast.AnnAssign: _B._ann_assign,
    ast.AugAssign: _B._aug_assign, ast.Return: _B._return, ast.Raise: _B._raise,
    ast.Assert: _B._assert, ast.Pass: _B._pass, ast.Break: _B._pass, ast.Continue: _B._pass,
    ast.Delete: _B._delete, ast.Global: _B._global, ast.Nonlocal: _B._global,
    ast.Import: _B._import, ast.ImportFrom: _B._import_from,
}
_COMPOUND: dict[type, Callable[[_Builder, Any], n.CSTNode]] = {
    ast.FunctionDef: _B._function, ast.AsyncFunctionDef: _B._function, ast.ClassDef: _B._class,
    ast.If: _B._if, ast.For: _B._for, ast.AsyncFor: _B._for, ast.While: _B._while,
    ast.Try: _B._try, ast.With: _B._with, ast.AsyncWith: _B._with,
}
for _name_of, _handler in (("TryStar", _B._try), ("Match", _B._match)):
    if hasattr(ast, _name_of):
        _COMPOUND[getattr(ast, _name_of)] = _handler
if hasattr(ast, "TypeAlias"):
    _SMALL[ast.TypeAlias] = _B._type_alias
