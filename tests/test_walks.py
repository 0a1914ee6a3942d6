"""The rules' read-only walks (walk.py), which skip leaves and fields no rule reads, find exactly
what a walk through every field finds."""

from __future__ import annotations

from pathlib import Path

import pytest

from initlint.rules.name_guards import _enclosing_def
from initlint.rules.noop_writes import _ExpressionStatements
from initlint.rules.undefined import _called_attributes
from initlint.parsing import parse
from initlint.tree import nodes
from initlint.tree.spans import segment

from conftest import FIXTURES, ROOT

FILES = sorted(FIXTURES.glob("*.py")) + sorted((ROOT / "examples").glob("*.py")) + [ROOT / "initlint" / "engine.py"]

#: calls where a walk that skips strings, annotations or ``as`` targets would miss them
TRICKY = '''
import torch.nn as nn


class Net(nn.Module):
    def __init__(self, n: self.size() = 3) -> self.kind():
        super().__init__()
        label = f"{self._init_weights()!r:>{self.width()}}" "tail" f"{self.more()}"
        with open(self.path()) as self.handle[self.key()]:
            x: self.typed() = lambda: self.lazy()
        print(self.reset_parameters())

    @decorate(self.deco())
    def forward(self, x):
        def inner(y=self.default()):
            return [self.each(z) for z in y]
        return inner(x)
'''


def _full_walk(tree: nodes.CSTNode):
    """Every node, entering every child field (the nodes' own complete walk)."""
    return list(tree.walk())


def _called(tree: nodes.Module) -> set[int]:
    return {id(node.func) for node in _full_walk(tree) if isinstance(node, nodes.Call) and isinstance(node.func, nodes.Attribute)}


def _expressions(tree: nodes.Module) -> set[int]:
    return {id(node.value) for node in _full_walk(tree) if isinstance(node, nodes.Expr)}


def _enclosing(tree: nodes.CSTNode, inside: int | None = None, found: dict[int, int] | None = None) -> dict[int, int]:
    """id of every node inside a def -> id of the innermost def around it."""
    found = {} if found is None else found
    for child in tree.children:
        if inside is not None:
            found.setdefault(id(child), inside)
        _enclosing(child, id(child) if isinstance(child, nodes.FunctionDef) else inside, found)
    return found


def _sources():
    yield "tricky", TRICKY
    for path in FILES:
        yield path.name, path.read_text()


@pytest.mark.parametrize("name,text", list(_sources()), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else "")
def test_walks_find_what_a_full_walk_finds(name, text):
    tree = parse(text)
    assert _called_attributes(tree) == _called(tree)
    walker = _ExpressionStatements()
    walker.walk(tree)
    assert walker.found == _expressions(tree)


def test_enclosing_def_of_every_call_and_attribute():
    tree = parse(TRICKY)
    expected = _enclosing(tree)
    targets = [node for node in _full_walk(tree) if isinstance(node, (nodes.Call, nodes.Attribute, nodes.Name, nodes.Lambda, nodes.Param))]
    assert len(targets) > 40
    for target in targets:
        found = _enclosing_def(tree, target)
        assert (id(found) if found is not None else None) == expected.get(id(target))


def test_tricky_calls_are_all_found():
    tree = parse(TRICKY)
    called = _called_attributes(tree)
    lines = TRICKY.splitlines(keepends=True)
    texts = {segment(lines, node.span) for node in _full_walk(tree) if isinstance(node, nodes.Attribute) and id(node) in called}
    assert texts == {
        "self.size", "self.kind", "self._init_weights", "self.width", "self.more", "self.path",
        "self.key", "self.typed", "self.lazy", "self.reset_parameters", "self.deco", "self.default",
        "self.each", "super().__init__",
    }
