"""``--add-noqa``: a ``# noqa: CODE`` comment on every line that has a finding, for adopting
initlint on a big code base (as ruff's ``--add-noqa``). Codes already listed on the line are
kept; a line that cannot take a comment (its end is inside a string or a backslash
continuation) is left alone and counted."""

from __future__ import annotations

import re
from typing import Sequence

from initlint.documents import Document, commentable_lines, source_lines
from initlint.findings import Edit, Finding
from initlint.lean import dataclass

#: an existing ``# noqa`` / ``# noqa: A, B`` comment (the same syntax suppress.py reads)
_NOQA = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:\s*,\s*[A-Z]+[0-9]*)*))?", re.I)


@dataclass
class NoqaPlan:
    edits: list[Edit]
    #: findings whose line cannot take a comment
    skipped: list[Finding]


def noqa_edits(document: Document, findings: Sequence[Finding]) -> NoqaPlan:
    wanted: dict[tuple[int | None, int], set[str]] = {}
    skipped = []
    allowed = commentable_lines(document)
    for finding in findings:
        key = (finding.location.cell, finding.location.line)
        if key in allowed:
            wanted.setdefault(key, set()).add(finding.code)
        else:
            skipped.append(finding)
    edits = []
    lines_of: dict[int | None, list[str]] = {}
    for (cell, number), codes in sorted(wanted.items(), key=lambda item: (item[0][0] or 0, item[0][1])):
        lines = lines_of.setdefault(cell, source_lines(document, cell))
        if number > len(lines):
            continue
        line = lines[number - 1]
        body = line.rstrip("\r\n")
        match = _NOQA.search(body)
        if match is not None and match.group("codes") is None:
            continue  # a bare noqa already silences every code
        if match is not None:
            present = [c.strip().upper() for c in match.group("codes").split(",")]
            merged = present + sorted(codes - set(present))
            edits.append(Edit(number, match.start() + 1, number, match.end() + 1, f"# noqa: {', '.join(merged)}", cell))
        else:
            column = len(body.rstrip()) + 1
            edits.append(Edit(number, column, number, len(body) + 1, f"  # noqa: {', '.join(sorted(codes))}", cell))
    return NoqaPlan(edits, skipped)
