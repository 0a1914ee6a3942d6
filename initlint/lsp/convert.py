"""Findings and edits in LSP terms: 0-based lines, columns counted in UTF-16 code units."""

from __future__ import annotations

from typing import Sequence

from lsprotocol import types

from initlint.catalog import CATALOG_URL
from initlint.findings import Edit, Finding
from initlint.report.severity import ERROR, NOTE, level
from initlint.selection import FailPolicy

_SEVERITY = {ERROR: types.DiagnosticSeverity.Error, NOTE: types.DiagnosticSeverity.Information}


def utf16_column(line: str, column: int) -> int:
    """The 0-based UTF-16 column of 1-based code-point ``column`` in ``line``."""
    prefix = line[: max(column - 1, 0)]
    return len(prefix.encode("utf-16-le")) // 2


def code_point_column(line: str, character: int) -> int:
    """The 1-based code-point column of a 0-based UTF-16 ``character`` in ``line``."""
    units = 0
    for index, char in enumerate(line):
        if units >= character:
            return index + 1
        units += 2 if ord(char) > 0xFFFF else 1
    return len(line) + 1


def _line(lines: Sequence[str], number: int) -> str:
    return lines[number - 1] if 0 < number <= len(lines) else ""


def position(lines: Sequence[str], line: int, column: int) -> types.Position:
    return types.Position(line=line - 1, character=utf16_column(_line(lines, line), column))


def diagnostic(finding: Finding, lines: Sequence[str], policy: FailPolicy, rule_page: str | None) -> types.Diagnostic:
    loc = finding.location
    return types.Diagnostic(
        range=types.Range(start=position(lines, loc.line, loc.column), end=position(lines, loc.end_line, loc.end_column)),
        message=f"[{finding.effect}] {finding.message}",
        severity=_SEVERITY.get(level(finding, policy), types.DiagnosticSeverity.Warning),
        code=finding.code,
        code_description=types.CodeDescription(href=f"{CATALOG_URL}/{rule_page}") if rule_page else None,
        source="initlint",
    )


def text_edit(edit: Edit, lines: Sequence[str]) -> types.TextEdit:
    return types.TextEdit(
        range=types.Range(start=position(lines, edit.line, edit.column), end=position(lines, edit.end_line, edit.end_column)),
        new_text=edit.content,
    )
