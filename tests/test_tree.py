"""The evaluator's tree (tree/): built from CPython's parser, the same shapes as libcst's.

Every node type and semantic field the rules and the evaluator read is compared with libcst's
own tree of the same text, node for node, on every fixture, example and initlint's own engine.
"""

from __future__ import annotations

import enum

import libcst as cst
import pytest

from initlint.parsing import parse
from initlint.tree import nodes
from initlint.tree.strings import string_pieces

from conftest import FIXTURES, ROOT

FILES = sorted(FIXTURES.glob("*.py")) + sorted((ROOT / "examples").glob("*.py")) + [ROOT / "initlint" / "engine.py"]

#: every shape build.py must get right, in one file
SHAPES = '''
from . import a
from ..pkg.mod import b as c, d
import x.y.z as w, v
async def f(p, /, q: int = 1, *args, r, s=2, **kw) -> "T":
    global g; nonlocal h
    del a, b
    x = y = (1, *z)
    x[1:2, ::3], x[(1, 2)], x[...] = 0x1F, 1_000.5e-3, 2j
    t: list[int] = [i for i in range(3) if i for j in i]
    u += -~+1 ** 2 // 3 @ m
    if a: return
    elif b or c and not d: pass
    else:
        if e is not None in f: yield
    for i in j:
        continue
    else: break
    while 1 < 2 <= 3: await q
    try: raise E from F
    except (A, B) as err: ...
    else: x = lambda k=1, *a, **b: {k: v for k, v in b} | {*a} | {**b, 'c': 1}
    finally: assert x, "m"
    with open(p) as (a, b), g(): y = yield from q
    s = "a" 'b' r"\\d" f"{a!r:>{w}} {b}" "t"
    bs = b"x" rb'y'
    z = (n := 3) if q else f(*a, k=1, *b, **c)
    g = f(x for x in y)
@dec.a(1)
class K(B, *bs, metaclass=M):
    x: int
'''


def _canonical(node, mirror: bool):
    """The node as (type name, semantic fields) in nodes.py's field list; f-strings by type only
    (their raw text is libcst's, their values CPython's)."""
    if isinstance(node, (list, tuple)):
        return [_canonical(child, mirror) for child in node]
    if isinstance(node, enum.Enum):
        return "absent"
    if node is None or isinstance(node, (str, int, float)):
        return node
    name = type(node).__name__
    if name in ("FormattedString", "FormattedStringText"):
        return name
    kind = getattr(nodes, name)
    out = [name]
    for field in kind.all_fields:
        value = getattr(node, field)
        if field == "star" and not isinstance(value, str):
            value = ""  # libcst: MaybeSentinel or None where CPython has nothing
        out.append((field, _canonical(value, mirror)))
    return out


@pytest.mark.parametrize("text", [SHAPES, *(path.read_text() for path in FILES)], ids=["shapes", *(p.name for p in FILES)])
def test_the_tree_has_libcsts_shapes(text):
    assert _canonical(parse(text), True) == _canonical(cst.parse_module(text), False)


def test_string_pieces_are_cut_where_each_literal_ends():
    text = '"a\\"b" r\'\\\'\'  # c\n  f"""{x}"""\\\n b""'
    assert string_pieces(text) == [(0, '"a\\"b"'), (7, "r'\\''"), (20, 'f"""{x}"""'), (33, 'b""')]
    # Python 3.12 f-strings may reuse their quote inside a replacement field
    assert string_pieces('f"{d["k"]}" f\'{x!r:>{w}}{{}}\' "}"') == [(0, 'f"{d["k"]}"'), (12, "f'{x!r:>{w}}{{}}'"), (30, '"}"')]
    assert string_pieces("x + 'a'") == []
    assert string_pieces("'open") == []


def test_non_ascii_text_gives_character_columns():
    from initlint.engine import check_source

    text = (
        "import torch.nn as nn\n\n\nclass Réseau(nn.Module):\n    def __init__(self):\n"
        "        super().__init__()\n        self.fc = nn.Linear(512, 512)\n"
        "        é = 'ü'; nn.init.uniform_(self.fc.weight, -100, 100)\n"
    )
    (finding,) = [f for f in check_source(text) if f.code == "IL201"]
    assert (finding.location.line, finding.location.column) == (8, 18)  # 20 in UTF-8 bytes


@pytest.mark.parametrize("path", FILES, ids=lambda p: p.name)
def test_the_copy_of_libcsts_tree_equals_the_built_tree(path):
    """For source newer than the running Python the tree comes from libcst (from_libcst.py):
    the same nodes and spans as build.py gives where CPython can parse."""
    from initlint.tree.from_libcst import from_libcst

    text = path.read_text()
    built, copied = parse(text), from_libcst(cst.parse_module(text), text)
    assert _canonical(copied, True) == _canonical(built, True)
    placed = (nodes.Call, nodes.Attribute, nodes.Name, nodes.SimpleStatementLine, nodes.FunctionDef, nodes.ClassDef, nodes.Subscript)
    spans = [(type(node).__name__, node.span[:4]) for node in built.walk() if isinstance(node, placed)]
    assert [(type(node).__name__, node.span[:4]) for node in copied.walk() if isinstance(node, placed)] == spans


NEWER = '''import torch.nn as nn

type Width = int


class Net[T](nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear(512, 512)
        nn.init.uniform_(self.fc.weight, -100, 100)
'''


def test_source_newer_than_this_python_is_read_through_libcst():
    from initlint.engine import check_source

    (finding,) = check_source(NEWER)
    assert (finding.code, finding.location.line, finding.location.column) == ("IL201", 10, 9)
    assert check_source(NEWER.replace("type Width = int", "Width = int").replace("class Net[T]", "class Net")) == [finding]


@pytest.mark.parametrize("text", [SHAPES, *(path.read_text() for path in FILES)], ids=["shapes", *(p.name for p in FILES)])
def test_a_tree_whose_bodies_are_built_when_read_is_the_same_tree(text):
    # another file read for its definitions: each function's body is built on first reading
    lazy = parse(text, lazy=True)
    functions = [node for node in lazy.walk() if isinstance(node, nodes.FunctionDef)]  # walking builds them
    assert _canonical(lazy, False) == _canonical(parse(text), False)
    assert all(function.pending is None for function in functions)  # built once, builder dropped


def test_a_lazy_body_is_built_only_when_read():
    tree = parse("def f(x):\n    def g():\n        return x\n    return g\n", lazy=True)
    (f,) = tree.body
    assert f.pending is not None
    (inner, _) = f.body.body
    assert f.pending is None and inner.pending is not None  # the nested function waits its turn
    assert type(inner.body.body[0].body[0]).__name__ == "Return"
    with pytest.raises(AttributeError):
        f.no_such_field
