"""libcst's tree to the evaluator's, for source newer than the Python running initlint.

CPython parses only its own version's syntax: on Python 3.11, a file with ``type Alias = ...``
or ``class Box[T]:`` (3.12) is a syntax error, while libcst reads every version it knows. Such
a file is parsed by libcst and copied into the evaluator's nodes here, field by field (the two
have the same shapes), with each node's span taken from libcst's positions. Slower than
build.py, and needed only where CPython refuses the file.
"""

from __future__ import annotations

import enum
from typing import Any

import libcst as cst

from initlint.positions import Positions
from initlint.tree import nodes
from initlint.lines import text_lines

_new = object.__new__


def from_libcst(module: cst.Module, text: str) -> nodes.Module:
    """The evaluator's tree of a module libcst parsed from ``text``."""
    return _Copier(module, text).module()


class _Copier:
    def __init__(self, module: cst.Module, text: str) -> None:
        self.source = module
        self.lines = text_lines(text)
        self.ranges = Positions(module)

    def module(self) -> nodes.Module:
        copied = _new(nodes.Module)
        copied.body = [self.copy(statement) for statement in self.source.body]
        copied.span = (1, 0, len(self.lines) or 1, 0, self.lines)
        return copied

    def copy(self, value: Any) -> Any:
        if isinstance(value, (list, tuple)):
            return [self.copy(item) for item in value]
        if isinstance(value, enum.Enum):  # MaybeSentinel.DEFAULT: the piece is absent
            return nodes.MaybeSentinel.DEFAULT
        if not isinstance(value, cst.CSTNode):
            return value  # str, None
        kind = getattr(nodes, type(value).__name__, None)
        if not (isinstance(kind, type) and issubclass(kind, nodes.CSTNode)):
            return None  # a node the evaluator has no use for (type parameters)
        copied = _new(kind)
        for field in kind.all_fields:
            item = getattr(value, field, None)
            if field == "star" and not isinstance(item, str):
                item = "" if kind is not nodes.Index else None
            setattr(copied, field, self.copy(item))
        copied.span = self._span(value)
        return copied

    def _span(self, node: cst.CSTNode) -> tuple | None:
        """libcst's range in CPython's terms: UTF-8 byte columns, with the file's lines."""
        where = self.ranges.get(node)
        if where is None:
            return None
        start, end = where.start, where.end
        return (start.line, self._bytes(start.line, start.column), end.line, self._bytes(end.line, end.column), self.lines)

    def _bytes(self, line: int, column: int) -> int:
        text = self.lines[line - 1] if 0 < line <= len(self.lines) else ""
        return column if text.isascii() else len(text[:column].encode())
