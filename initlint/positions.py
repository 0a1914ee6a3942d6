"""Where a libcst tree's nodes are in the source, for the fixes: PositionProvider, about 3x faster.

A fix finds the libcst node at its finding's range and edits it. libcst's PositionProvider
regenerates the module and, for every token, splits it on newlines and allocates line/column
objects; through MetadataWrapper it is three times the cost of the parse itself. The same codegen that only counts characters gives the same ranges: start and end
offsets per node (syntactic positions recorded exactly where PositionProvider records them),
turned into lines and columns only for the nodes asked for. A test compares the two on every
node of real files.
"""

from __future__ import annotations

from contextlib import contextmanager
from typing import Iterable, Iterator

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst._position import CodePosition, CodeRange

from initlint.lines import line_starts


class _OffsetState(CodegenState):
    """A CodegenState that records each node's (start, end) character offsets."""

    def __init__(self, module: cst.Module) -> None:
        super().__init__(default_indent=module.default_indent, default_newline=module.default_newline)
        self.offset = 0
        self.stack: list[int] = []
        self.computed: dict[cst.CSTNode, tuple[int, int]] = {}
        #: every node's whole generated code (owned whitespace and leading lines included)
        self.spans: dict[cst.CSTNode, tuple[int, int]] = {}
        #: the final newline Module drops when the file has none: PositionProvider counts it
        self.popped = ""

    def pop_trailing_newline(self) -> None:
        if self.tokens:
            self.popped = self.tokens.pop()

    def add_indent_tokens(self) -> None:
        self.tokens.extend(self.indent_tokens)
        for token in self.indent_tokens:
            self.offset += len(token)

    def add_token(self, value: str) -> None:
        self.tokens.append(value)
        self.offset += len(value)

    def before_codegen(self, node: cst.CSTNode) -> None:
        self.stack.append(self.offset)

    def after_codegen(self, node: cst.CSTNode) -> None:
        start = self.stack.pop()
        self.spans[node] = (start, self.offset)
        if node not in self.computed:
            self.computed[node] = (start, self.offset)

    @contextmanager
    def record_syntactic_position(
        self, node: cst.CSTNode, *, start_node: cst.CSTNode | None = None, end_node: cst.CSTNode | None = None
    ) -> Iterator[None]:
        start = self.offset
        try:
            yield
        finally:
            end = self.offset
            if start_node is not None:
                start = self.computed[start_node][0]
            if end_node is not None:
                end = self.computed[end_node][1]
            self.computed[node] = (start, end)


class Positions:
    """Ranges of a libcst module's nodes, as PositionProvider gives them (1-based lines, 0-based
    columns, end exclusive), for the fixes' edits."""

    #: every node of the module has its range (a table made by ``measured`` has only some)
    complete = True

    def __init__(self, module: cst.Module) -> None:
        state = _OffsetState(module)
        module._codegen(state)
        self.offsets = state.computed
        #: (start, end) of each node's whole code, as a fix regenerates it (fixes/base.py)
        self.spans = state.spans
        self.code = "".join(state.tokens)
        self.starts = line_starts(self.code + state.popped)

    @classmethod
    def measured(cls, module: cst.Module, text: str, lines: set[int]) -> "Positions | None":
        """The ranges of the nodes in the top-level statements that hold any of ``lines``
        (where findings are) only: the others are not generated again. Most findings sit in one
        or two of a file's classes, and generating a whole large file costs as much as parsing
        it. Where each top-level statement starts comes from CPython's parser; each measured
        statement's code must be exactly the text there, else None (measure the whole module)."""
        starts = _statement_starts(module, text)
        if starts is None:
            return None
        line_offsets = line_starts(text)
        wanted = sorted(line_offsets[line - 1] for line in lines if 0 < line <= len(line_offsets))
        if len(wanted) != len(lines):
            return None
        state = _OffsetState(module)
        ends = [*starts[1:], len(text) + 1]
        for statement, start, end in zip(module.body, starts, ends):
            if not any(start <= offset < end for offset in wanted):
                continue
            state.offset = start
            first = len(state.tokens)
            statement._codegen(state)
            code = "".join(state.tokens[first:])
            if text[start : start + len(code)] != code and not (
                # the file's last line has no newline: the module drops the one generated
                statement is module.body[-1] and not module.footer and not module.has_trailing_newline
                and text[start:] == code[: len(code) - len(state.tokens[-1])]
            ):
                return None
        table = cls.__new__(cls)
        table.offsets, table.spans, table.code = state.computed, state.spans, text
        table.starts = line_starts(text if module.has_trailing_newline else text + module.default_newline)
        table.complete = False
        return table

    def _position(self, offset: int) -> CodePosition:
        from bisect import bisect_right

        line = bisect_right(self.starts, offset) - 1
        return CodePosition(line + 1, offset - self.starts[line])

    def __getitem__(self, node: cst.CSTNode) -> CodeRange:
        start, end = self.offsets[node]
        return CodeRange(self._position(start), self._position(end))

    def get(self, node: cst.CSTNode, default=None):
        return self[node] if node in self.offsets else default

    def nodes(self) -> Iterable[cst.CSTNode]:
        return self.offsets.keys()


def positions(module: cst.Module, text: str | None = None, lines: set[int] | None = None) -> Positions:
    """The ranges of every node of ``module`` (look one up with ``result[node]``); given its
    ``text`` and the ``lines`` that matter, at least those of the statements holding them."""
    table = Positions.measured(module, text, lines) if text is not None and lines else None
    return table if table is not None else Positions(module)


def _statement_starts(module: cst.Module, text: str) -> list[int] | None:
    """The offset in ``text`` where each of ``module.body``'s statements begins (its leading
    lines included), from CPython's line numbers; None where CPython cannot parse ``text``
    or counts the statements differently."""
    from initlint.parsing import python_tree  # CPython's parse, in a thread with fixed room

    tree = python_tree(text)
    if isinstance(tree, str):
        return None
    body = tree.body
    lines = line_starts(text)
    starts = []
    index = 0
    for statement in module.body:
        if index >= len(body):
            return None
        first = body[index]
        index += len(statement.body) if isinstance(statement, cst.SimpleStatementLine) else 1
        decorators = getattr(first, "decorator_list", None)
        line = (decorators[0].lineno if decorators else first.lineno) - len(statement.leading_lines)
        if not 1 <= line <= len(lines):
            return None
        starts.append(lines[line - 1])
    return starts if index == len(body) else None
