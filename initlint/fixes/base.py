"""What a fix function gets and gives, and how its libcst changes become text edits.

A fix function reads a FixContext (the parsed module, the node at the finding's location with
its ancestors, the finding's ``details``) and returns a Change: which nodes to replace by which
(or remove, or replace by several statements), and a message. The change is applied to the
module with libcst, which regenerates every untouched node byte for byte; the difference between
the old and the new code becomes the fix's text edits. Comments and formatting outside the
replaced nodes stay as they are by construction.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Callable, Mapping, Union

import libcst as cst

from initlint.findings import Applicability, Edit
from initlint.lean import dataclass

Replacement = Union[cst.CSTNode, cst.RemovalSentinel, cst.FlattenSentinel]


@dataclass(frozen=True)
class FixContext:
    """Everything a fix function may read: no facts, no rules (they are being rewritten)."""

    module: cst.Module
    node: cst.CSTNode
    #: from the module down to the node's parent
    ancestors: tuple[cst.CSTNode, ...]
    details: Mapping[str, Any]

    def parent(self, levels: int = 1) -> cst.CSTNode | None:
        return self.ancestors[-levels] if len(self.ancestors) >= levels else None

    def enclosing(self, kind: type) -> cst.CSTNode | None:
        """The innermost ancestor of type ``kind``."""
        for node in reversed(self.ancestors):
            if isinstance(node, kind):
                return node
        return None


@dataclass
class Change:
    """Node replacements that fix a finding, and what they do in words."""

    message: str
    replace: dict[cst.CSTNode, Replacement] = field(default_factory=dict)


FixFunction = Callable[[FixContext], "Change | None"]


@dataclass(frozen=True)
class FixRule:
    """A rule's fix: how safe it is and the function that computes it."""

    applicability: Applicability
    function: FixFunction


class _Replacer(cst.CSTTransformer):
    def __init__(self, replacements: Mapping[cst.CSTNode, Replacement]) -> None:
        super().__init__()
        self.replacements = replacements

    def on_leave(self, original_node, updated_node):  # type: ignore[override]
        return self.replacements.get(original_node, updated_node)


def changed_code(module: cst.Module, change: Change) -> str:
    """The module's code with ``change`` applied."""
    return module.visit(_Replacer(change.replace)).code


#: a node's ancestors, the module first
Ancestors = tuple[cst.CSTNode, ...]


def changed_text(
    text: str, module: cst.Module, change: Change, spans: Mapping[cst.CSTNode, tuple[int, int]],
    path_of: Callable[[cst.CSTNode], "Ancestors | None"],
) -> str | None:
    """``text`` (the code of ``module``) with ``change`` applied, regenerating only the innermost
    statement that holds every replaced node: rewriting and regenerating the whole module for
    each fix cost a third of a cold run over timm's large files. ``spans`` gives each node's whole code
    in ``text``, ``path_of`` a node's ancestors (module first). None where no statement holds
    them all or the statement's code is not where ``spans`` says: the caller regenerates the
    module."""
    common: Ancestors | None = None
    for node in change.replace:
        path = path_of(node)
        if path is None:
            return None
        if common is None:
            common = path
            continue
        shared = 0
        while shared < min(len(common), len(path)) and common[shared] is path[shared]:
            shared += 1
        common = common[:shared]
    depth = next((i for i in range(len(common or ()) - 1, -1, -1) if isinstance(common[i], cst.BaseStatement)), None)
    if common is None or depth is None or common[depth] not in spans:
        return None
    anchor = common[depth]
    indents = [
        module.default_indent if node.indent is None else node.indent
        for node in common[:depth]
        if isinstance(node, cst.IndentedBlock)
    ]
    start, end = spans[anchor]
    if text[start:end] != _code(anchor, module, indents):
        return None
    return text[:start] + _code(anchor.visit(_Replacer(change.replace)), module, indents) + text[end:]


def _code(node: cst.CSTNode, module: cst.Module, indents: list[str]) -> str:
    """``node``'s code as the module writes it, inside blocks indented by ``indents``."""
    from libcst._nodes.internal import CodegenState

    state = CodegenState(module.default_indent, module.default_newline, indent_tokens=list(indents))
    node._codegen(state)
    return "".join(state.tokens)


def text_edits(old: str, new: str) -> tuple[Edit, ...]:
    """The smallest line hunks that turn ``old`` into ``new``, each trimmed to the characters
    that differ; coordinates are 1-based (line, column) in ``old``."""
    import difflib

    from initlint.documents import line_starts, position_of

    old_lines = old.splitlines(keepends=True)
    new_lines = new.splitlines(keepends=True)
    starts = line_starts(old)
    offsets = [0]
    for line in old_lines:
        offsets.append(offsets[-1] + len(line))
    # A fix changes a few lines: match only what lies between the common first and last lines,
    # or a file of many equal lines (20,000 ``x = 1``) makes the matcher quadratic.
    head = 0
    while head < min(len(old_lines), len(new_lines)) and old_lines[head] == new_lines[head]:
        head += 1
    tail = 0
    while (tail < min(len(old_lines), len(new_lines)) - head
           and old_lines[len(old_lines) - 1 - tail] == new_lines[len(new_lines) - 1 - tail]):
        tail += 1
    edits = []
    matcher = difflib.SequenceMatcher(
        None, old_lines[head : len(old_lines) - tail], new_lines[head : len(new_lines) - tail], autojunk=False
    )
    for tag, i1, i2, j1, j2 in matcher.get_opcodes():
        if tag == "equal":
            continue
        i1, i2, j1, j2 = i1 + head, i2 + head, j1 + head, j2 + head
        before = "".join(old_lines[i1:i2])
        after = "".join(new_lines[j1:j2])
        prefix = 0
        limit = min(len(before), len(after))
        while prefix < limit and before[prefix] == after[prefix]:
            prefix += 1
        suffix = 0
        while suffix < limit - prefix and before[len(before) - 1 - suffix] == after[len(after) - 1 - suffix]:
            suffix += 1
        start = offsets[i1] + prefix
        end = offsets[i2] - suffix
        content = after[prefix : len(after) - suffix]
        line, column = position_of(starts, start)
        end_line, end_column = position_of(starts, end)
        edits.append(Edit(line, column, end_line, end_column, content))
    return tuple(edits)
