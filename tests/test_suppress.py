"""``# noqa`` lines are counted as the tokenizer and libcst count them (issue 14, item 5)."""

from __future__ import annotations

import pytest

from initlint import check_source
from initlint.suppress import Suppressions

MODEL = """\
import torch.nn as nn
{before}
class M(nn.Module):
    def __init__(self):
        super().__init__()
        self.a = nn.Linear(512, 512)
        self.b = nn.Linear(512, 512)
        nn.init.normal_(self.a.weight, std=1.0)  # noqa: IL202
        nn.init.normal_(self.b.weight, std=1.0)

    def forward(self, x):
        return self.b(self.a(x))
"""

#: characters ``str.splitlines`` breaks at and Python's tokenizer does not
NOT_LINE_BREAKS = ["\x0b", "\x0c", "\x1c", "\x1d", "\x1e", "\x85", "\u2028", "\u2029"]


@pytest.mark.parametrize("char", NOT_LINE_BREAKS, ids=lambda c: f"U+{ord(c):04X}")
@pytest.mark.parametrize("where", ["# a comment {c} with a break", "TEXT = 'a string {c} with a break'"])
def test_noqa_names_the_line_a_finding_names(char, where):
    source = MODEL.format(before=where.format(c=char))
    # the suppressed finding stays hidden, and the next line's finding is not swallowed
    assert [(f.code, f.location.line) for f in check_source(source)] == [("IL202", 9)]


@pytest.mark.parametrize("ending", ["\n", "\r\n", "\r"], ids=["LF", "CRLF", "CR"])
def test_every_line_ending_python_knows_counts_once(ending):
    source = MODEL.format(before="# plain").replace("\n", ending)
    assert [(f.code, f.location.line) for f in check_source(source)] == [("IL202", 9)]
    assert Suppressions.parse(source).lines == {8: frozenset({"IL202"})}


def test_file_level_noqa_after_a_lone_carriage_return():
    source = "x = 1\r# initlint: noqa\rimport torch.nn as nn\rnn.init.normal(w)\r"
    assert Suppressions.parse(source).skip_file is True
    assert check_source(source) == []
