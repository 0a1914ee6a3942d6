"""positions.py gives PositionProvider's ranges; the incremental parse of the language server
gives the same module text and the same findings as a fresh parse, also after edits."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest
from libcst.metadata import MetadataWrapper, PositionProvider

from initlint.config import Settings
from initlint.documents import Document, lint_document
from initlint.engine import rules_for
from initlint.incremental import IncrementalParser
from initlint.positions import Positions, positions

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
    # the ranges of the statements holding the wanted nodes only, each statement found where
    # CPython's parser says it starts: the same ranges as PositionProvider, node for node
    module = cst.parse_module(text)
    expected = MetadataWrapper(module, unsafe_skip_copy=True).resolve(PositionProvider)
    for first in (0, 1):
        wanted = _deepest_nodes(module, first)
        table = Positions.measured(module, text, wanted)
        assert table is not None and not table.complete
        assert all(node in table.offsets for node in wanted)
        assert len(table.offsets) < len(expected)
        assert {node: table[node] for node in table.offsets} == {node: expected[node] for node in table.offsets}


def test_positions_measured_gives_up_where_cpython_cannot_parse():
    module = cst.parse_module("type Alias = int\nx = 1\n")  # 3.12 syntax, Python 3.11 here
    assert Positions.measured(module, module.code, [module.body[1]]) is None
    assert positions(module, [module.body[1]], module.code).complete  # every node measured instead


def _findings(text: str, parse_module=None):
    settings = Settings()
    result = lint_document(Document("m.py", b"", text), rules_for(settings), settings, fixes=False, parse_module=parse_module)
    return [(f.code, f.location, f.message) for f in result.findings], result.error


@pytest.mark.parametrize("path", [p for p in FILES if p.parent == FIXTURES], ids=lambda p: p.name)
def test_incremental_parse_gives_the_same_findings_after_edits(path):
    text = path.read_text()
    parser = IncrementalParser()
    assert parser.parse(text).code == text
    edits = [
        text,
        text.replace("\n\n", "\n\n# an edit\n", 1),  # a comment added near the top
        text + "\n\nclass Added:\n    pass\n",
        text.replace("(", "((", 1),  # a syntax error: the same error as a full parse
    ]
    for edited in edits:
        assert _findings(edited, parser.parse) == _findings(edited)
    assert parser.parse(text).code == text


def test_incremental_parse_reuses_unchanged_statements():
    parser = IncrementalParser()
    first = parser.parse("import torch\n\n\ndef a():\n    return 1\n\n\ndef b():\n    return 2\n")
    second = parser.parse("import torch\n\n\ndef a():\n    return 1\n\n\ndef b():\n    return 3\n")
    assert second.body[1] is first.body[1] and second.body[2] is not first.body[2]


def test_mixed_indentation_falls_back_to_a_full_parse():
    text = "def a():\n    return 1\n\n\ndef b():\n  return 2\n"
    assert IncrementalParser().parse(text).code == text
