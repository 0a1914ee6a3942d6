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

from contextlib import contextmanager
from typing import Iterable, Iterator, Sequence

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
    """Ranges of a module's nodes, as PositionProvider gives them (1-based lines, 0-based
    columns, end exclusive)."""

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
    def measured(cls, module: cst.Module, text: str, wanted: Sequence[cst.CSTNode]) -> "Positions | None":
        """The ranges of the nodes in the top-level statements that hold ``wanted`` only: the
        others are not generated again. Most findings sit in one or two of a file's classes,
        and generating a whole large file cost as much as parsing it. Where each top-level
        statement starts comes from CPython's parser (a tenth of libcst's cost); each measured
        statement's code must be exactly the text there, else None (measure the whole module)."""
        starts = _statement_starts(module, text)
        if starts is None:
            return None
        wanted_ids = {id(node) for node in wanted}
        state = _OffsetState(module)
        for statement, start in zip(module.body, starts):
            if not _holds(statement, wanted_ids):
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
            if not wanted_ids:
                break
        if wanted_ids:
            return None  # a node outside the module body (its header or footer)
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


#: the module whose positions are known: the last one computed, or one registered (the
#: language server's incremental parse knows them piece by piece)
_KNOWN: list = [None, None]


def register(module: cst.Module, table) -> None:
    """Let ``positions(module)`` answer with ``table`` (anything indexable by node)."""
    _KNOWN[:] = [module, table]


def positions(
    module: cst.Module, wanted: Sequence[cst.CSTNode] | None = None, text: str | None = None,
) -> Positions:
    """The ranges of every node of ``module`` (look one up with ``result[node]``); given the
    ``wanted`` nodes and the module's ``text``, at least theirs (``Positions.measured``)."""
    known, table = _KNOWN
    if known is module and (
        getattr(table, "complete", True) or wanted is not None and all(n in table.offsets for n in wanted)
    ):
        return table
    table = None
    if wanted is not None and text is not None:
        table = Positions.measured(module, text, wanted)
    if table is None:
        table = Positions(module)
    _KNOWN[:] = [module, table]  # the fixes of a file ask again for the module just placed
    return table


def last_positions(module: cst.Module) -> Positions:
    """The table the findings of ``module`` were just placed with, else every node's: a fix
    needs only the statements around its finding (fixes/__init__.py)."""
    return _KNOWN[1] if _KNOWN[0] is module else positions(module)


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


#: the fields of each node type that can hold nodes a finding is placed on
_FIELDS: dict[type, tuple[str, ...]] = {}


def _holds(root: cst.CSTNode, wanted: set[int]) -> bool:
    """Whether ``root``'s subtree holds any node whose id is in ``wanted``; those found are
    removed from it."""
    import dataclasses

    found = False
    stack = [root]
    while stack:
        node = stack.pop()
        if id(node) in wanted:
            wanted.discard(id(node))
            found = True
            if not wanted:
                return True  # every wanted node placed: the rest of the subtree is not needed
        kind = type(node)
        fields = _FIELDS.get(kind)
        if fields is None:
            fields = _FIELDS[kind] = tuple(
                f.name for f in dataclasses.fields(kind) if not f.name.startswith("whitespace")
            )
        for name in fields:
            value = getattr(node, name)
            if isinstance(value, cst.CSTNode):
                stack.append(value)
            elif isinstance(value, (list, tuple)):
                stack.extend(item for item in value if isinstance(item, cst.CSTNode))
    return found
