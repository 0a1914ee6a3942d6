"""GitHub Actions workflow commands: one ``::error`` annotation per finding and per bad file."""

from __future__ import annotations

from initlint.findings import LintResult


def _data(value: str) -> str:
    return value.replace("%", "%25").replace("\r", "%0D").replace("\n", "%0A")


def _property(value: str) -> str:
    return _data(value).replace(":", "%3A").replace(",", "%2C")


def _probe(finding) -> str:
    """With --probe, the annotation says what was measured (a second line)."""
    if finding.probe is None:
        return ""
    from initlint.report.text import probe_line

    return "\n" + probe_line(finding.probe)


def render(result: LintResult) -> str:
    lines = []
    for f in result.findings:
        loc = f.location
        lines.append(
            f"::error file={_property(loc.path)},line={loc.line},col={loc.column},"
            f"endLine={loc.end_line},endColumn={loc.end_column},"
            f"title={_property(f'{f.code} {f.name}')}::{_data(f'[{f.effect}] {f.message}{_probe(f)}')}"
        )
    for error in result.errors:
        lines.append(f"::error file={_property(error.path)},title=initlint::{_data(error.reason)}")
    return "".join(line + "\n" for line in lines)
