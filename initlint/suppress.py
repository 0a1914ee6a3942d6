"""``# noqa`` comments: per line (``# noqa: IL101, IL2``, bare ``# noqa``) and per file.

``# initlint: noqa`` alone on a line skips the whole file. The comments are read from the raw
text with a regular expression, so suppression costs nothing when a file has no findings;
lines are counted as the tokenizer counts them, so a ``noqa`` line is the line a finding names.
"""

from __future__ import annotations

import re
from dataclasses import field

from initlint.lean import dataclass

_LINE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:\s*,\s*[A-Z]+[0-9]*)*))?", re.I)
_FILE = re.compile(r"[ \t\f]*#[ \t\f]*initlint[ \t\f]*:[ \t\f]*noqa[ \t\f]*\Z", re.I)
#: the line ends Python's tokenizer (and so libcst's positions) counts: not form feeds,
#: U+0085, U+2028 or the other breaks ``str.splitlines`` also splits at
_LINE_END = re.compile(r"\r\n|\r|\n")


@dataclass
class Suppressions:
    """Which lines suppress which codes (an empty set suppresses every code)."""

    skip_file: bool = False
    lines: dict[int, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Suppressions":
        if "noqa" not in text and "NOQA" not in text:
            return cls()
        found = cls()
        for number, line in enumerate(_LINE_END.split(text), start=1):
            if "#" not in line:
                continue
            if _FILE.match(line):
                found.skip_file = True
            match = _LINE.search(line)
            if match is None:
                continue
            codes = match.group("codes")
            found.lines[number] = (
                frozenset(c.strip().upper() for c in codes.split(",")) if codes else frozenset()
            )
        return found

    def suppressed(self, code: str, line: int) -> bool:
        if line not in self.lines:
            return False
        codes = self.lines[line]
        return not codes or any(code.startswith(c) for c in codes)
