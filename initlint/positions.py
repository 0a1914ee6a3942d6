"""Where nodes are in the source: libcst's PositionProvider, computed about 3x faster.

libcst's PositionProvider regenerates the module and, for every token, splits it on newlines and
allocates line/column objects; through MetadataWrapper it is three times the cost of the parse
itself, and it was most of the time of linting a file with findings (the language server's
budget). The same codegen that only counts characters gives the same ranges: start and end
offsets per node (syntactic positions recorded exactly where PositionProvider records them),
turned into lines and columns only for the nodes asked for. A test compares the two on every
node of real files.
"""

from __future__ import annotations

import re
from contextlib import contextmanager
from typing import Iterable, Iterator

import libcst as cst
from libcst._nodes.internal import CodegenState
from libcst._position import CodePosition, CodeRange

_NEWLINE = re.compile(r"\r\n?|\n")


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
    """Ranges of a module's nodes, as PositionProvider gives them (1-based lines, 0-based
    columns, end exclusive)."""

    def __init__(self, module: cst.Module) -> None:
        state = _OffsetState(module)
        module._codegen(state)
        self.offsets = state.computed
        #: (start, end) of each node's whole code, as a fix regenerates it (fixes/base.py)
        self.spans = state.spans
        self.code = "".join(state.tokens)
        self.starts = [0] + [match.end() for match in _NEWLINE.finditer(self.code + state.popped)]

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


#: the module whose positions are known: the last one computed, or one registered (the
#: language server's incremental parse knows them piece by piece)
_KNOWN: list = [None, None]


def register(module: cst.Module, table) -> None:
    """Let ``positions(module)`` answer with ``table`` (anything indexable by node)."""
    _KNOWN[:] = [module, table]


def positions(module: cst.Module) -> Positions:
    """The ranges of every node of ``module`` (look one up with ``result[node]``)."""
    if _KNOWN[0] is module:
        return _KNOWN[1]
    table = Positions(module)
    _KNOWN[:] = [module, table]  # the fixes of a file ask again for the module just placed
    return table


def line_starts(text: str) -> list[int]:
    """Offset of each line's first character (lines end at \\n, \\r\\n or \\r, as in Python)."""
    return [0] + [match.end() for match in _NEWLINE.finditer(text)]
