"""Parsing a document again after an edit, for the language server: only what changed.

An editor sends the whole text after each keystroke; libcst's parse of a 1,000-line model file
alone is most of the 150 ms the server may take. So the text is cut into its top-level
statements (where CPython's much faster parser says they start), each piece is parsed once and
kept while its text is unchanged, and the module is put together from the pieces. Positions of
the pieces are kept too (a piece starts at a line start, so its positions only shift by lines).
An edit inside one piece moves the later cuts by its length, with no parse of the whole text by
CPython, as long as the piece still holds as many statements.

The assembled module prints back exactly the text; where it could not (pieces that disagree on
the indentation unit or line ending, or that libcst reads differently alone), the whole text is
parsed as usual. Tests check equal findings with and without it on real files and over long
sequences of random edits (test_incremental_edits.py).
"""

from __future__ import annotations

import ast
from bisect import bisect_right
from dataclasses import dataclass

import libcst as cst

from initlint import positions as positions_module
from initlint.parsing import parse


@dataclass
class _Piece:
    text: str
    statements: list[cst.BaseStatement]
    header: list[cst.EmptyLine]
    footer: list[cst.EmptyLine]
    module: cst.Module
    indented: bool
    _positions: positions_module.Positions | None = None
    _merged: list[cst.BaseStatement] | None = None

    def merged(self) -> list[cst.BaseStatement]:
        """The statements with the piece's header lines as the first one's leading lines (how
        they read inside the whole module), made once so the nodes stay the same objects."""
        if self._merged is None:
            statements = list(self.statements)
            if self.header and statements:
                first = statements[0]
                statements[0] = first.with_changes(leading_lines=[*self.header, *first.leading_lines])
                self.positions.offsets[statements[0]] = self.positions.offsets[first]
            self._merged = statements
        return self._merged

    @property
    def positions(self) -> positions_module.Positions:
        if self._positions is None:
            self._positions = positions_module.positions(self.module)
        return self._positions


class IncrementalParser:
    """``parse(text)`` with the pieces of the previous texts reused; one per document."""

    def __init__(self) -> None:
        self.pieces: dict[str, _Piece] = {}
        #: the last text assembled from pieces, and its cuts
        self.last: tuple[str, list[int]] | None = None

    def parse(self, text: str) -> cst.Module | str:
        local = self._local_cuts(text)
        module = self._assemble(text, *local) if local is not None else None
        if module is None:
            cuts = _cuts(text)
            module = self._assemble(text, cuts) if cuts is not None else None
            if module is None:
                self.last = None
                return parse(text)  # its own words for why it does not parse
        return module

    def _local_cuts(self, text: str) -> tuple[list[int], tuple[int, str]] | None:
        """The last cuts, moved by the edit, when the edit lies inside one piece (a keystroke
        needs no parse of the whole text by CPython to say where statements start), with that
        piece's number and old text; None when the edit spans pieces."""
        if self.last is None:
            return None
        old, cuts = self.last
        prefix = _common_prefix(old, text)
        suffix = _common_prefix(old[prefix:][::-1], text[prefix:][::-1])
        index = min(bisect_right(cuts, prefix) - 1, len(cuts) - 2)
        end = len(old) - suffix  # the edit replaced old[prefix:end]
        if index < 0 or end > cuts[index + 1] or (end == cuts[index + 1] and index + 2 < len(cuts)):
            return None  # it spans pieces, or changed the line break that ends the piece
        delta = len(text) - len(old)
        moved = cuts[: index + 1] + [cut + delta for cut in cuts[index + 1:]]
        if moved[index + 1] <= moved[index]:
            return None  # the piece was deleted
        return moved, (index, old[cuts[index]:cuts[index + 1]])

    def _assemble(self, text: str, cuts: list[int], changed: tuple[int, str] | None = None) -> cst.Module | None:
        """The module from the pieces between ``cuts``; None when a piece does not parse alone
        or the pieces do not fit together (then the whole text is parsed). ``changed``: the
        piece an edit changed (cuts moved, not found by CPython) must hold as many statements
        as before (none joined or split), so the cuts stay where CPython would put them."""
        pieces: list[_Piece] = []
        for start, end in zip(cuts, cuts[1:]):
            if end < len(text) and text[end - 1] not in "\r\n":
                return None  # a piece that does not end a line: it would not parse alone as in the text
            piece = self._piece(text[start:end])
            if piece is None:
                return None
            pieces.append(piece)
        if changed is not None:
            index, before = changed
            old = self.pieces.get(before)
            if old is None or len(pieces[index].statements) != len(old.statements):
                return None  # statements joined or split: cut again where CPython says
        self.pieces = {piece.text: piece for piece in pieces}
        indents = {p.module.default_indent for p in pieces if p.indented}
        newlines = {p.module.default_newline for p in pieces if "\n" in p.text or "\r" in p.text}
        if len(indents) > 1 or len(newlines) > 1:
            return None
        body: list[cst.BaseStatement] = []
        shifts: list[tuple[int, positions_module.Positions]] = []
        line = 0
        for index, piece in enumerate(pieces):
            if index > 0 and piece.header and not piece.statements:
                return None
            statements = piece.merged() if index > 0 else piece.statements
            if index < len(pieces) - 1 and piece.footer:
                return None
            body.extend(statements)
            shifts.append((line, piece.positions))
            line += _line_count(piece.text)
        first, last = pieces[0], pieces[-1]
        module = cst.Module(
            body=body,
            header=first.header,
            footer=last.footer,
            encoding=first.module.encoding,
            default_indent=next(iter(indents), first.module.default_indent),
            default_newline=next(iter(newlines), first.module.default_newline),
            has_trailing_newline=last.module.has_trailing_newline,
        )
        positions_module.register(module, _Shifted(shifts))
        self.last = (text, cuts)
        return module

    def _piece(self, text: str) -> _Piece | None:
        piece = self.pieces.get(text)
        if piece is not None:
            return piece
        module = parse(text)
        if isinstance(module, str):
            return None
        indented = any(isinstance(s, cst.BaseCompoundStatement) for s in module.body)
        return _Piece(text, list(module.body), list(module.header), list(module.footer), module, indented)


def _common_prefix(a: str, b: str) -> int:
    """Length of the longest common prefix (halving: each test is one C-level comparison)."""
    low, high = 0, min(len(a), len(b))
    while low < high:
        middle = (low + high + 1) // 2
        if a[low:middle] == b[low:middle]:
            low = middle
        else:
            high = middle - 1
    return low


def _line_count(text: str) -> int:
    return len(positions_module.line_starts(text)) - 1


def _cuts(text: str) -> list[int] | None:
    """Character offsets where top-level statements begin (after the previous one's last
    line), plus 0 and len(text); None where CPython cannot parse the text."""
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError, RecursionError, MemoryError):
        return None
    starts = positions_module.line_starts(text)
    cuts = [0]
    previous_end = None
    for statement in tree.body:
        if previous_end is not None:
            first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
            if first > previous_end:  # ``a; b`` share a line: one libcst statement
                offset = starts[previous_end] if previous_end < len(starts) else len(text)
                if offset > cuts[-1]:
                    cuts.append(offset)
        previous_end = statement.end_lineno or statement.lineno
    cuts.append(len(text))
    return cuts


class _Shifted:
    """Positions of an assembled module: each piece's own, moved down by the lines before it."""

    def __init__(self, shifts: list[tuple[int, positions_module.Positions]]) -> None:
        self.shifts = shifts

    def __getitem__(self, node: cst.CSTNode):
        from libcst._position import CodePosition, CodeRange

        for lines, table in self.shifts:
            if node in table.offsets:
                found = table[node]
                return CodeRange(
                    CodePosition(found.start.line + lines, found.start.column),
                    CodePosition(found.end.line + lines, found.end.column),
                )
        raise KeyError(node)
