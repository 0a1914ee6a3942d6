"""Where lines start in a text: shared by the readers of text (no libcst: a cached run never
imports it)."""

from __future__ import annotations

import re

_NEWLINE = re.compile(r"\r\n?|\n")


def line_starts(text: str) -> list[int]:
    """Offset of each line's first character (lines end at \\n, \\r\\n or \\r, as in Python)."""
    return [0] + [match.end() for match in _NEWLINE.finditer(text)]


def text_lines(text: str) -> list[str]:
    """The lines, each with its line ending, as CPython's tokenizer counts them (not at
    ``\\f`` or ``\\v``, where ``str.splitlines`` would also cut)."""
    starts = line_starts(text)
    lines = [text[start:end] for start, end in zip(starts, starts[1:])]
    if starts[-1] < len(text):
        lines.append(text[starts[-1]:])
    return lines
