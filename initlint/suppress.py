"""``# noqa`` comments: per line (``# noqa: IL101, IL2``, bare ``# noqa``) and per file.

``# initlint: noqa`` alone on a line skips the whole file. The comments are read from the raw
text with a regular expression, so suppression costs nothing when a file has no findings.
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field

_LINE = re.compile(r"#\s*noqa(?::\s*(?P<codes>[A-Z]+[0-9]*(?:\s*,\s*[A-Z]+[0-9]*)*))?", re.I)
_FILE = re.compile(r"^\s*#\s*initlint\s*:\s*noqa\s*$", re.I | re.M)


@dataclass
class Suppressions:
    """Which lines suppress which codes (an empty set suppresses every code)."""

    skip_file: bool = False
    lines: dict[int, frozenset[str]] = field(default_factory=dict)

    @classmethod
    def parse(cls, text: str) -> "Suppressions":
        if "noqa" not in text and "NOQA" not in text:
            return cls()
        found = cls(skip_file=bool(_FILE.search(text)))
        for number, line in enumerate(text.splitlines(), start=1):
            if "#" not in line:
                continue
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
