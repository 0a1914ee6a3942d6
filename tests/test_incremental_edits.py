"""The language server's incremental lint equals a lint from scratch after every edit of a long
sequence: edits inside a class, of a module-level constant, a base class, an import and a helper
function several classes use, new and deleted statements, comments, and syntax errors."""

from __future__ import annotations

import random
import sys

import pytest

from initlint.config import Settings
from initlint.documents import Document, lint_document
from initlint.engine import rules_for
from initlint.incremental import IncrementalParser

from conftest import ROOT

sys.path.insert(0, str(ROOT / "benchmarks"))
from lsp_latency import BLOCKS, HEADER  # noqa: E402

#: what the classes below read from the module: a constant, an imported init, a base class
TOP = HEADER + '''SCALE = 0.05
from torch.nn.init import uniform_ as draw


class Scaled(nn.Module):
    def __init__(self, width=128):
        super().__init__()
        self.fc = nn.Linear(width, width)
        draw(self.fc.weight, -SCALE, SCALE)

    def forward(self, x):
        return torch.tanh(self.fc(x))


'''


def _text(blocks: int = 12) -> str:
    parts = [TOP]
    for n in range(blocks):
        parts.append(BLOCKS[n % len(BLOCKS)].format(n=n, w=64 + 16 * (n % 5)) + "\n\n")
    return "".join(parts)


def _findings(text: str, parse_module=None):
    settings = Settings()
    result = lint_document(
        Document("models.py", b"", text), rules_for(settings, "models.py"), settings, fixes=False, parse_module=parse_module
    )
    return [(f.code, f.location, f.message) for f in result.findings], result.error


#: edits that change what several classes read: (old, new), applied or undone
SHARED = [
    ("SCALE = 0.05", "SCALE = 100"),  # a constant a class uses: IL201 appears
    ("from torch.nn.init import uniform_ as draw", "from torch.nn.init import uniform as draw"),  # an import: IL501
    ("nn.init.trunc_normal_(m.weight, std=0.02)", "nn.init.trunc_normal_(m.weight, std=20.0)"),  # the base class
    ("gain=nn.init.calculate_gain(\"tanh\")", "gain=50.0"),  # the helper several classes apply
    ("classname.find(\"Conv\")", "classname.find(\"Conv2d\")"),  # the name test of weights_init
    ("HIDDEN = 256", "HIDDEN = 2"),
    ("class Base(nn.Module):", "class Base(nn.Sequential):"),
    ("import torch.nn.functional as F\n", ""),  # an import removed
]


def _edit(text: str, rng: random.Random) -> str:
    lines = text.splitlines(keepends=True)
    kind = rng.randrange(14)
    if kind >= 10:  # a keystroke anywhere: a character typed or deleted, a span cut out
        at = rng.randrange(len(text))
        if kind == 10:
            return text[:at] + rng.choice("\n \t:()[]'\"#\\,0x") + text[at:]
        if kind == 11:
            return text[:at] + text[at + 1:]
        if kind == 12:  # two lines joined: the line break at the end of a statement goes
            breaks = [i for i, ch in enumerate(text) if ch == "\n"]
            at = rng.choice(breaks)
            return text[:at] + text[at + 1:]
        return text[:at] + text[at + rng.randrange(1, 40):]
    if kind < 3:
        old, new = rng.choice(SHARED)
        return text.replace(old, new, 1) if old in text else text.replace(new, old, 1) if new else text
    at = rng.randrange(len(lines))
    if kind == 3:  # a digit in a random line changes
        digits = [i for i, ch in enumerate(lines[at]) if ch.isdigit()]
        if digits:
            i = rng.choice(digits)
            lines[at] = lines[at][:i] + rng.choice("0123456789") + lines[at][i + 1:]
    elif kind == 4:  # a comment or a blank line appears
        lines.insert(at, rng.choice(["\n", "# note\n", "    # indented note\n"]))
    elif kind == 5:  # a line goes (often a syntax or indentation error, or a changed model)
        del lines[at]
    elif kind == 6:  # a line is typed twice
        lines.insert(at, lines[at])
    elif kind == 7:  # an unclosed bracket, for a keystroke or two
        lines[at] = lines[at].replace("(", "((", 1)
    elif kind == 8:  # a new class
        lines.insert(at, BLOCKS[rng.randrange(len(BLOCKS))].format(n=900 + at, w=32) + "\n\n")
    else:  # an init method renamed: IL510 may appear
        return text.replace("def _init_weights(self):", "def _init_weight(self):", 1)
    return "".join(lines)


@pytest.mark.slow
def test_incremental_lint_equals_a_fresh_lint_over_random_edits():
    rng = random.Random(13)
    base = _text()
    parser = IncrementalParser()
    text = base
    seen_codes: set[str] = set()
    errors = 0
    for step in range(80):
        text = _edit(text, rng) if step % 16 else base  # back to the clean file now and then
        incremental = _findings(text, parser.parse)
        fresh = _findings(text)
        assert incremental == fresh, f"step {step}"
        module = parser.parse(text)
        assert isinstance(module, str) or module.code == text
        seen_codes |= {code for code, _, _ in fresh[0]}
        errors += fresh[1] is not None
    assert {"IL201", "IL501", "IL510", "IL511"} <= seen_codes  # the edits reached the rules
    assert 0 < errors < 70  # some texts did not parse, most did


@pytest.mark.slow
def test_every_keystroke_from_a_clean_text_equals_a_fresh_lint():
    """Each edit is made to the clean file the parser last read (the path of a keystroke)."""
    rng = random.Random(7)
    base = _text(4)
    parser = IncrementalParser()
    clean = _findings(base, parser.parse)
    for step in range(50):
        edited = _edit(base, rng) if step % 2 else _keystroke(base, rng)
        module = parser.parse(edited)
        assert isinstance(module, str) or module.code == edited, step
        assert _findings(edited, parser.parse) == _findings(edited), step
        assert _findings(base, parser.parse) == clean


def _keystroke(text: str, rng: random.Random) -> str:
    """A line break deleted (two lines joined) or typed, or a character deleted, often where
    one top-level statement ends and the next begins (where the parser cuts the text)."""
    breaks = [i for i, ch in enumerate(text) if ch == "\n"]
    if rng.randrange(2):
        breaks = [i for i in breaks if text[i + 1:i + 2] not in ("", " ", "\n")]
    at = rng.choice(breaks)
    kind = rng.randrange(3)
    if kind == 0:
        return text[:at] + text[at + 1:]
    if kind == 1:
        return text[:at] + "\n" + text[at:]
    return text[:at - 1] + text[at:]


def test_statements_joined_by_a_deleted_line_break_are_a_syntax_error():
    parser = IncrementalParser()
    parser.parse("import torch\n\nx = 1\ny = 2\n")
    assert parser.parse("import torch\n\nx = 1y = 2\n") == "syntax error at line 3, column 5: invalid decimal literal"
    assert parser.parse("import torch\n\nx = 1\ny = 2").code == "import torch\n\nx = 1\ny = 2"


@pytest.mark.slow
def test_an_edit_of_what_many_classes_read_is_followed():
    base = _text()
    parser = IncrementalParser()
    before = _findings(base, parser.parse)
    assert before == _findings(base)
    changed = []
    for old, new in SHARED:
        edited = base.replace(old, new, 1)
        after = _findings(edited, parser.parse)
        assert after == _findings(edited), old
        if after != before:
            changed.append(old)
        assert _findings(base, parser.parse) == before, old
    assert len(changed) >= 5, changed  # the constant, import, base class, helper, name test


def test_edits_inside_one_statement_need_no_new_cuts(monkeypatch):
    """Keystrokes inside one statement (the benchmark's edit, a constant, a new method, a
    comment): the later cuts move by the edit's length, CPython's parser is not asked again."""
    from initlint import incremental

    text = _text()
    parser = IncrementalParser()
    assert _findings(text, parser.parse) == _findings(text)

    def refuse(text):
        raise AssertionError("cut again")

    monkeypatch.setattr(incremental, "_cuts", refuse)
    edits = [
        ("width=64,", "width=65,"),
        ("width=65,", "width=7,"),
        ("SCALE = 0.05", "SCALE = 100"),
        ("        self.fc = nn.Linear(width, width)\n", "        self.fc = nn.Linear(width, width)\n        # a note\n"),
        ("    def forward(self, x):\n        return torch.tanh", "    def reset(self):\n        pass\n\n    def forward(self, x):\n        return torch.tanh"),
        ("nn.init.uniform_(self.layer2.weight, -100, 100)", "nn.init.uniform_(self.layer2.weight, -0.1, 0.1)"),
    ]
    for old, new in edits:
        assert old in text
        text = text.replace(old, new, 1)
        assert _findings(text, parser.parse) == _findings(text), old
