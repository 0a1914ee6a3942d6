"""The rules' read-only walks (walk.py) find exactly what libcst's own visit finds."""

from __future__ import annotations

from pathlib import Path

import libcst as cst
import pytest

from initlint.rules.name_guards import _enclosing_def
from initlint.rules.noop_writes import _ExpressionStatements
from initlint.rules.undefined import _called_attributes

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


def _libcst_called(tree: cst.Module) -> set[int]:
    found: set[int] = set()

    class Visitor(cst.CSTVisitor):
        def visit_Call(self, node: cst.Call) -> None:
            if isinstance(node.func, cst.Attribute):
                found.add(id(node.func))

    tree.visit(Visitor())
    return found


def _libcst_expressions(tree: cst.Module) -> set[int]:
    found: set[int] = set()

    class Visitor(cst.CSTVisitor):
        def visit_Expr(self, node: cst.Expr) -> None:
            found.add(id(node.value))

    tree.visit(Visitor())
    return found


def _libcst_enclosing(tree: cst.Module) -> dict[int, int]:
    """id of every node inside a def -> id of the innermost def around it."""
    found: dict[int, int] = {}

    class Visitor(cst.CSTVisitor):
        def __init__(self) -> None:
            self.stack: list[cst.FunctionDef] = []

        def visit_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.stack.append(node)

        def leave_FunctionDef(self, node: cst.FunctionDef) -> None:
            self.stack.pop()

        def on_visit(self, node: cst.CSTNode) -> bool:
            if self.stack:
                found.setdefault(id(node), id(self.stack[-1]))
            return super().on_visit(node)

    tree.visit(Visitor())
    return found


def _sources():
    yield "tricky", TRICKY
    for path in FILES:
        yield path.name, path.read_text()


@pytest.mark.parametrize("name,text", list(_sources()), ids=lambda v: v if isinstance(v, str) and len(v) < 60 else "")
def test_walks_find_what_libcst_visits_find(name, text):
    tree = cst.parse_module(text)
    assert _called_attributes(tree) == _libcst_called(tree)
    walker = _ExpressionStatements()
    walker.walk(tree)
    assert walker.found == _libcst_expressions(tree)


def test_enclosing_def_of_every_call_and_attribute():
    tree = cst.parse_module(TRICKY)
    expected = _libcst_enclosing(tree)
    targets: list[cst.CSTNode] = []

    class Collect(cst.CSTVisitor):
        def on_visit(self, node: cst.CSTNode) -> bool:
            if isinstance(node, (cst.Call, cst.Attribute, cst.Name, cst.Lambda, cst.Param)):
                targets.append(node)
            return True

    tree.visit(Collect())
    assert len(targets) > 40
    for target in targets:
        found = _enclosing_def(tree, target)
        assert (id(found) if found is not None else None) == expected.get(id(target))


def test_tricky_calls_are_all_found():
    tree = cst.parse_module(TRICKY)
    called = _called_attributes(tree)
    texts = set()

    class Visitor(cst.CSTVisitor):
        def visit_Attribute(self, node: cst.Attribute) -> None:
            if id(node) in called:
                texts.add(tree.code_for_node(node))

    tree.visit(Visitor())
    assert texts == {
        "self.size", "self.kind", "self._init_weights", "self.width", "self.more", "self.path",
        "self.key", "self.typed", "self.lazy", "self.reset_parameters", "self.deco", "self.default",
        "self.each", "super().__init__",
    }
