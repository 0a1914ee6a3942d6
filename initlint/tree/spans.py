"""Where a node is, from CPython's positions: the source text it covers and its range in characters.

CPython counts columns in UTF-8 bytes; editors, libcst and initlint's findings count characters.
The two differ only on lines with non-ASCII text, so only those are encoded.
"""

from __future__ import annotations

#: (line, column, end line, end column, the file's lines): 1-based lines, 0-based columns in
#: UTF-8 bytes; the lines make a node's text readable without knowing which file holds it
Span = tuple[int, int, int, int, list[str]]


def _line(lines: list[str], number: int) -> str:
    return lines[number - 1] if 0 < number <= len(lines) else ""


def _cut(line: str, start: int | None, end: int | None) -> str:
    if line.isascii():
        return line[start:end]
    return line.encode()[start:end].decode(errors="replace")


def segment(lines: list[str], span: Span) -> str:
    """The source text a span covers."""
    first, start, last, end = span[:4]
    if first == last:
        return _cut(_line(lines, first), start, end)
    return _cut(_line(lines, first), start, None) + "".join(lines[first:last - 1]) + _cut(_line(lines, last), None, end)


def code(node) -> str:
    """The source text of a node of the evaluator's tree, from whichever file holds it."""
    span = node.span
    return segment(span[4], span) if span is not None else ""


def before(lines: list[str], line: int, column: int) -> str:
    """The text of a line before a byte column."""
    return _cut(_line(lines, line), None, column)


def character_column(lines: list[str], line: int, column: int) -> int:
    """A byte column of CPython's as a character column."""
    text = _line(lines, line)
    if text.isascii():
        return column
    return len(text.encode()[:column].decode(errors="replace"))


def character_range(lines: list[str], span: Span) -> tuple[int, int, int, int]:
    """The span with character columns, as editors and findings count them."""
    first, start, last, end = span[:4]
    return (first, character_column(lines, first, start), last, character_column(lines, last, end))


def node_range(node) -> tuple[int, int, int, int]:
    """Where a node of the evaluator's tree is, in characters, in whichever file holds it."""
    return character_range(node.span[4], node.span)
