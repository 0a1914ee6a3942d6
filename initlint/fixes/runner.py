"""Applying fixes to files: passes until nothing changes, atomic writes, diffs.

Each pass lints the current content, takes every applicable fix whose edits do not overlap an
earlier one (in file order; the others wait for the next pass, as in ruff), and applies them.
A pass whose result no longer parses is rejected: the file keeps the content of the pass before
and the error says so. A file is written only if it still holds the bytes that were read, by
a rename of a temporary file in the same folder (never half-written).
"""

from __future__ import annotations

import difflib
import os
from dataclasses import field
from pathlib import Path
from typing import Callable, Sequence

from initlint.documents import Document, apply_edits, load_document
from initlint.findings import Edit, FileError, FileResult, Finding
from initlint.fixes import fixable
from initlint.lean import dataclass

#: passes per file; fixes that make room for others converge in two or three
MAX_PASSES = 8

Lint = Callable[[Document], FileResult]


@dataclass
class FixedFile:
    """What fixing one file gave: its new content, the fixes applied, what is left."""

    original: Document
    current: Document
    result: FileResult
    fixed: list[Finding] = field(default_factory=list)
    converged: bool = True

    @property
    def changed(self) -> bool:
        return self.current.data != self.original.data


def choose(findings: Sequence[Finding], unsafe_fixes: bool) -> list[Finding]:
    """Applicable fixes in file order, skipping any whose edits share a line with an earlier
    one's: edits are trimmed to the characters that change, but a fix that re-indents a
    statement still owns its whole lines (the next pass takes the other fix)."""
    eligible = [f for f in findings if fixable(f, unsafe_fixes)]
    eligible.sort(key=lambda f: min(edit.start for edit in f.fix.edits))
    taken: list[tuple[tuple, tuple]] = []
    chosen = []
    for finding in eligible:
        spans = [((edit.cell or 0, edit.line), (edit.cell or 0, edit.end_line)) for edit in finding.fix.edits]
        if any(not (end < start2 or end2 < start) for start, end in spans for start2, end2 in taken):
            continue
        chosen.append(finding)
        taken.extend(spans)
    return chosen


def fix_document(document: Document, lint: Lint, unsafe_fixes: bool) -> FixedFile:
    """Apply fixes pass after pass until none applies (or MAX_PASSES)."""
    result = lint(document)
    outcome = FixedFile(document, document, result)
    for _ in range(MAX_PASSES):
        chosen = choose(outcome.result.findings, unsafe_fixes)
        if not chosen:
            return outcome
        edits: list[Edit] = [edit for finding in chosen for edit in finding.fix.edits]
        data = apply_edits(outcome.current, edits)
        if data == outcome.current.data:
            return outcome
        try:
            candidate = load_document(document.display, data, document.is_notebook)
        except ValueError as error:
            return _rejected(outcome, str(error))
        after = lint(candidate)
        if after.error is not None and (outcome.result.error is None or after.error.reason != outcome.result.error.reason):
            return _rejected(outcome, after.error.reason)
        outcome.fixed.extend(chosen)
        outcome.current, outcome.result = candidate, after
    outcome.converged = not choose(outcome.result.findings, unsafe_fixes)
    return outcome


def _rejected(outcome: FixedFile, reason: str) -> FixedFile:
    message = f"fixes not applied: they would leave the file unreadable ({reason}); a bug in initlint, please report it with this file"
    outcome.result.error = FileError(outcome.original.display, message)
    return outcome


def write_atomically(path: Path, data: bytes, expected: bytes) -> str | None:
    """Replace ``path``'s content with ``data`` if it still holds ``expected``; the reason
    why not, otherwise (the file is then untouched)."""
    import tempfile

    try:
        if path.read_bytes() != expected:
            return "changed on disk since initlint read it; fixes not written (run again)"
        mode = path.stat().st_mode
    except OSError as error:
        return f"cannot re-read before writing: {error.strerror or error}"
    try:
        descriptor, temporary = tempfile.mkstemp(dir=path.parent, prefix=f".{path.name}.", suffix=".initlint")
    except OSError as error:
        return f"cannot write fixes: {error.strerror or error}"
    try:
        with os.fdopen(descriptor, "wb") as handle:
            handle.write(data)
            handle.flush()
            os.fsync(handle.fileno())
        os.chmod(temporary, mode & 0o7777)
        os.replace(temporary, path)
    except OSError as error:
        Path(temporary).unlink(missing_ok=True)
        return f"cannot write fixes: {error.strerror or error}"
    return None


def unified_diff(outcome: FixedFile) -> str:
    """The change as a unified diff (per cell for a notebook)."""
    old, new = outcome.original, outcome.current
    name = old.display
    if old.notebook is None or new.notebook is None:
        return "".join(difflib.unified_diff(
            _lines(old.text), _lines(new.text), fromfile=f"a/{name}", tofile=f"b/{name}"
        ))
    parts = []
    for before, after in zip(old.notebook.cells, new.notebook.cells):
        if before.source != after.source:
            label = f"{name}:cell {before.number}"
            parts.append("".join(difflib.unified_diff(
                _lines(before.source), _lines(after.source), fromfile=f"a/{label}", tofile=f"b/{label}"
            )))
    return "".join(parts)


def _lines(text: str) -> list[str]:
    lines = text.splitlines(keepends=True)
    if lines and not lines[-1].endswith(("\n", "\r")):
        lines[-1] += "\n\\ No newline at end of file\n"
    return lines
