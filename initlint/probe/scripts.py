"""A script's definitions, for the probe: the file's classes without its training code.

Importing a script runs its top level: data downloads, training loops, plots, ``sys.exit``.
When that code fails (or runs past the time limit; sweep.py then asks again), the probe runs
only the file's definitions, as it does for a notebook: imports, ``def``, ``class``, constants
(assignments that call nothing), and ``try`` blocks made only of those. Every other line is
blanked, so line numbers, tracebacks and ``inspect`` still point into the file as it is on disk.
Pure Python (no torch); the file is only read.
"""

from __future__ import annotations

import ast
from dataclasses import dataclass

from initlint.notebook import _defines


@dataclass(frozen=True)
class ScriptDefinitions:
    """The runnable text and the first lines of the top-level statements left out."""

    text: str
    skipped: tuple[int, ...]


def _keeps(statement: ast.stmt) -> bool:
    if _defines(statement):
        return True
    if isinstance(statement, ast.Try):  # ``try: import apex`` / ``except ImportError: ...``
        blocks = [statement.body, statement.orelse, statement.finalbody, *(h.body for h in statement.handlers)]
        return all(_keeps(s) or isinstance(s, ast.Pass) for block in blocks for s in block)
    return isinstance(statement, ast.Expr) and isinstance(statement.value, ast.Constant)  # a docstring


def script_definitions(text: str) -> ScriptDefinitions:
    """``text`` with every top-level statement that is not a definition blanked (see above).
    Raises SyntaxError when the text does not parse."""
    tree = ast.parse(text)
    lines = text.splitlines(keepends=True)
    keep = [False] * len(lines)
    skipped = []
    for statement in tree.body:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
        last = statement.end_lineno or statement.lineno
        if _keeps(statement):
            for number in range(first, last + 1):
                keep[number - 1] = True
        else:
            skipped.append(first)
    return ScriptDefinitions("".join(line if keep[i] else "\n" for i, line in enumerate(lines)), tuple(skipped))


def failed_in_top_level(text: str, line: int | None) -> bool:
    """Whether ``line`` (the file's innermost ``<module>`` frame of a failed import) lies in a
    top-level statement the definitions leave out: then running only the definitions avoids it."""
    if line is None:
        return False
    try:
        tree = ast.parse(text)
    except (SyntaxError, ValueError):
        return False
    for statement in tree.body:
        first = min([statement.lineno] + [d.lineno for d in getattr(statement, "decorator_list", [])])
        if first <= line <= (statement.end_lineno or statement.lineno):
            return not _keeps(statement)
    return False
