"""The pieces of an implicitly joined string literal, and an f-string piece's own tree.

CPython joins ``"a" f"{b}" 'c'`` into one node; libcst keeps each piece. The pieces are cut
from the source text, and an f-string piece is parsed alone with its positions moved to where
it stands (CPython 3.11 places the expressions of a joined f-string wrongly).
"""

from __future__ import annotations

import ast
from typing import Any

from initlint.tree import nodes as n

_new = object.__new__


class StringBuilder:
    """Literals: numbers, strings and f-strings (a mixin of ExpressionBuilder, whose
    ``segment`` and ``expr`` it uses)."""

    def _constant(self, e: ast.Constant) -> n.CSTNode:
        value = e.value
        kind = type(value)
        if self.in_fstring:  # the text at CPython's positions is not this literal's
            return self._literal(value)
        if kind is str or kind is bytes:
            return self._strings(e)
        if kind is bool or value is None:
            node = _new(n.Name)
            node.value = str(value)
            return node
        if value is Ellipsis:
            return _new(n.Ellipsis)
        node = _new(n.Integer if kind is int else n.Float if kind is float else n.Imaginary)
        node.value = self.segment(e)
        return node

    def _literal(self, value: Any) -> n.CSTNode:
        """A constant written inside an f-string, spelled as Python would spell it."""
        kind = type(value)
        if kind is bool or value is None:
            node = _new(n.Name)
            node.value = str(value)
        elif value is Ellipsis:
            node = _new(n.Ellipsis)
        else:
            node = _new(n.SimpleString if kind in (str, bytes) else n.Integer if kind is int else n.Float if kind is float else n.Imaginary)
            node.value = repr(value)
        return node

    def _strings(self, e: ast.expr) -> n.CSTNode:
        """A literal, or libcst's right-nested ConcatenatedString of each piece."""
        text = self.segment(e)
        pieces = string_pieces(text)
        if not pieces:
            node = _new(n.SimpleString)
            node.value = text
            return node
        span = (e.lineno, e.col_offset, e.end_lineno, e.end_col_offset, self.lines)
        if len(pieces) == 1:
            return self._piece(pieces[0][1], e if isinstance(e, ast.JoinedStr) else None, span)
        built = []
        for offset, piece in pieces:
            before = text[:offset]
            line = e.lineno + before.count("\n")
            column = e.col_offset + len(before.encode()) if line == e.lineno else len(before.rpartition("\n")[2].encode())
            parsed = None
            if "f" in piece[: len(piece) - len(piece.lstrip("rRbBuUfF"))].lower():
                parsed = parse_at(piece, line, column)
            built.append(self._piece(piece, parsed, (line, column, line + piece.count("\n"), 0, self.lines)))
        node = built[-1]
        for left in reversed(built[:-1]):
            joined = _new(n.ConcatenatedString)
            joined.left, joined.right = left, node
            joined.span = span
            node = joined
        return node

    def _piece(self, piece: str, parsed: ast.JoinedStr | None, span: tuple) -> n.CSTNode:
        """One literal; an f-string's parts come from ``parsed``, its tree at its own place."""
        prefix = piece[: len(piece) - len(piece.lstrip("rRbBuUfF"))]
        if "f" not in prefix.lower():
            node = _new(n.SimpleString)
            node.value = piece
            node.span = span
            return node
        node = _new(n.FormattedString)
        body = piece[len(prefix):]
        quote = body[:3] if body[:3] in ('"""', "'''") else body[:1]
        node.start = prefix + quote
        node.end = quote
        node.parts = self._fstring_parts(parsed.values) if isinstance(parsed, ast.JoinedStr) else []
        node.span = span
        return node

    def _fstring_parts(self, values: list[ast.expr]) -> list[n.CSTNode]:
        parts: list[n.CSTNode] = []
        for value in values:
            if isinstance(value, ast.Constant):
                text = _new(n.FormattedStringText)
                text.value = str(value.value)
                text.span = (value.lineno, value.col_offset, value.end_lineno, value.end_col_offset, self.lines)
                parts.append(text)
            elif isinstance(value, ast.FormattedValue):
                part = _new(n.FormattedStringExpression)
                self.in_fstring += 1
                try:
                    part.expression = self.expr(value.value)
                finally:
                    self.in_fstring -= 1
                part.conversion = None if value.conversion == -1 else chr(value.conversion)
                part.format_spec = None if value.format_spec is None else self._fstring_parts(value.format_spec.values)
                part.span = part.expression.span
                parts.append(part)
        return parts

    def _joined(self, e: ast.JoinedStr) -> n.CSTNode:
        return self._strings(e)


def string_pieces(text: str) -> list[tuple[int, str]]:
    """(offset, text) of each literal of an implicitly joined string (``"a" 'b'`` is two),
    skipping what lies between them (spaces, line breaks, backslash continuations, comments);
    [] if ``text`` is not a run of literals."""
    pieces: list[tuple[int, str]] = []
    at, size = 0, len(text)
    while at < size:
        char = text[at]
        if char in " \t\f\r\n\\":
            at += 1
            continue
        if char == "#":
            newline = text.find("\n", at)
            at = size if newline < 0 else newline
            continue
        end = literal_end(text, at)
        if end is None:
            return []
        pieces.append((at, text[at:end]))
        at = end
    return pieces


def literal_end(text: str, at: int) -> int | None:
    """Where the string literal starting at ``at`` (its prefix included) ends, or None.

    Inside an f-string's replacement fields quotes do not end it: Python 3.12 allows the same
    quote there (``f"{d["key"]}"``), so those fields are skipped with the strings they hold."""
    size = len(text)
    start = at
    while at < size and text[at] in "rRbBuUfF":
        at += 1
    if at >= size or text[at] not in "'\"":
        return None
    formatted = "f" in text[start:at].lower()
    quote = text[at: at + 3] if text[at: at + 3] in ('"""', "'''") else text[at]
    at += len(quote)
    if not formatted:  # no fields: the first quote no backslash keeps ends it
        while True:
            end = text.find(quote, at)
            if end < 0:
                return None
            escape = text.find("\\", at, end)
            if escape < 0:
                return end + len(quote)
            at = escape + 2
    depth = 0
    while at < size:
        char = text[at]
        if char == "\\":  # also in a raw string, a backslash keeps the quote after it
            at += 2
        elif formatted and char == "{":
            if depth == 0 and text.startswith("{{", at):
                at += 2
            else:
                depth, at = depth + 1, at + 1
        elif formatted and char == "}" and depth:
            depth, at = depth - 1, at + 1
        elif depth and char in "'\"":
            inner = literal_end(text, at)
            if inner is None:
                return None
            at = inner
        elif depth == 0 and text.startswith(quote, at):
            return at + len(quote)
        else:
            at += 1
    return None


def parse_at(piece: str, line: int, column: int) -> ast.JoinedStr | None:
    """An f-string literal's own tree, its positions moved to where it stands in the file."""
    try:
        tree = ast.parse(piece, mode="eval").body
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    for node in ast.walk(tree):
        if hasattr(node, "lineno"):
            if node.lineno == 1:
                node.col_offset += column
            if node.end_lineno == 1:
                node.end_col_offset += column
            node.lineno += line - 1
            node.end_lineno += line - 1
    return tree if isinstance(tree, ast.JoinedStr) else None
