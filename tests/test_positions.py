"""Where nodes are: libcst's ranges for the fixes (positions.py), and the evaluator's tree's
spans (tree/spans.py), both equal to libcst's PositionProvider node for node."""

from __future__ import annotations

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from initlint.parsing import parse
from initlint.positions import Positions, positions
from initlint.tree import nodes
from initlint.lines import text_lines
from initlint.tree.spans import character_range

from conftest import FIXTURES, ROOT

FILES = sorted(FIXTURES.glob("*.py")) + sorted((ROOT / "examples").glob("*.py")) + [ROOT / "initlint" / "engine.py"]


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_positions_equal_position_provider(path):
    text = path.read_text()
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    mine = positions(module)
    assert mine.code == text
    assert {node: mine[node] for node in expected} == dict(expected)


def test_positions_of_a_file_without_final_newline():
    module = cst.parse_module("x = 1\n\n# end")
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    assert {node: positions(module)[node] for node in expected} == dict(expected)


_LAYOUT = (cst.SimpleWhitespace, cst.ParenthesizedWhitespace, cst.TrailingWhitespace, cst.Newline, cst.EmptyLine, cst.Comment)


def _deepest_nodes(module: cst.Module, first: int) -> list[cst.CSTNode]:
    """One node deep inside every other top-level statement from ``first`` (code, never
    layout: no finding is placed on whitespace)."""
    nodes = []
    for statement in module.body[first::2]:
        node = statement
        while children := [c for c in node.children if not isinstance(c, _LAYOUT)]:
            node = children[len(children) // 2]
        nodes.append(node)
    return nodes


_ODD_LAYOUT = (
    "# header comment\n\n"
    "import torch; import torch.nn as nn\n"
    "# before the decorators\n\n"
    "@decorator\n"
    "# between decorators\n"
    "@other(1,\n       2)\n"
    "class Net(nn.Module):\n"
    "    def __init__(self):\n"
    "        super().__init__()\n"
    "            # a comment deeper than the block\n"
    "x = [\n    1,\n]\n"
    "if x: y = 2\n"
    "z = 3"
)


@pytest.mark.parametrize(
    "text",
    [*(path.read_text() for path in FILES), _ODD_LAYOUT, _ODD_LAYOUT.replace("\n", "\r\n"), _ODD_LAYOUT + "\n# footer\n"],
    ids=[*(path.name for path in FILES), "odd-layout", "crlf", "footer"],
)
def test_positions_measured_for_some_statements_equal_position_provider(text):
    # the ranges of the statements holding the wanted lines only, each statement found where
    # CPython's parser says it starts: the same ranges as PositionProvider, node for node
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    for first in (0, 1):
        wanted = _deepest_nodes(module, first)
        lines = {expected[node].start.line for node in wanted}
        table = Positions.measured(module, text, lines)
        assert table is not None and not table.complete
        assert all(node in table.offsets for node in wanted)
        assert len(table.offsets) < len(expected)
        assert {node: table[node] for node in table.offsets} == {node: expected[node] for node in table.offsets}


def test_positions_measured_gives_up_where_cpython_cannot_parse():
    module = cst.parse_module("type Alias = int\nx = 1\n")  # 3.12 syntax, Python 3.11 here
    assert Positions.measured(module, module.code, {2}) is None
    assert positions(module, module.code, {2}).complete  # every node measured instead




#: node kinds findings are placed on, with the libcst kind of the same name
_PLACED = ("Call", "Attribute", "Name", "Assign", "AugAssign", "Expr", "FunctionDef", "ClassDef", "Subscript", "Param", "Arg")


def _kinds_in_order(tree, names: tuple[str, ...]) -> dict[str, list]:
    """The nodes of each kind, in a depth-first order both trees share."""
    found: dict[str, list] = {name: [] for name in names}
    stack = [tree]
    while stack:
        node = stack.pop()
        name = type(node).__name__
        if name in found:
            found[name].append(node)
        children = list(node.children)
        if isinstance(node, cst.CSTNode):
            children = [c for c in children if type(c).__name__ in nodes.__dict__ and not isinstance(c, _LAYOUT)]
        stack.extend(reversed(children))
    return found


_UNICODE = '''
import torch.nn as nn


class Réseau(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(8, 8)  # « commentaire »
        nn.init.normal_(self.fc.weight, std="é" and 1.0)
        label = "naïve"; nn.init.zeros_(self.fc.bias)
'''


@pytest.mark.parametrize(
    "text",
    [*(path.read_text() for path in FILES), _ODD_LAYOUT, _ODD_LAYOUT.replace("\n", "\r\n"), _UNICODE],
    ids=[*(path.name for path in FILES), "odd-layout", "crlf", "unicode"],
)
def test_tree_spans_equal_position_provider(text):
    """Each node a finding can be placed on has, in characters, the range libcst gives it."""
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    tree = parse(text)
    lines = text_lines(text)
    theirs, mine = _kinds_in_order(module, _PLACED), _kinds_in_order(tree, _PLACED)
    compared = 0
    for name in _PLACED:
        if name in ("Param", "Arg"):  # libcst's include their comma; only the start is shared
            pairs = [(expected[a].start.line, expected[a].start.column) for a in theirs[name]]
            assert pairs == [character_range(lines, b.span)[:2] for b in mine[name]], name
            continue
        assert len(theirs[name]) == len(mine[name]), name
        for a, b in zip(theirs[name], mine[name]):
            where = expected[a]
            assert (where.start.line, where.start.column, where.end.line, where.end.column) == character_range(lines, b.span), (name, b)
            compared += 1
    assert compared > 0
