"""GitHub Actions workflow commands: one annotation per finding (``::error`` when it counts
under ``--fail-on``, else ``::warning``, or ``::notice`` for misuse) and one ``::error`` per bad
file; with ``--statistics`` one annotation per rule."""

from __future__ import annotations

from initlint.findings import LintResult
from initlint.report.severity import ERROR, NOTE, level, rule_counts
from initlint.selection import FailPolicy

_COMMANDS = {ERROR: "error", NOTE: "notice"}


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


def render(result: LintResult, policy: FailPolicy | None = None, statistics: bool = False) -> str:
    policy = policy or FailPolicy()
    lines = []
    if statistics:
        for item in rule_counts(result, policy):
            command = _COMMANDS.get(item.level, "warning")
            plural = "" if item.count == 1 else "s"
            lines.append(f"::{command} title={_property(f'{item.code} {item.name}')}::{_data(f'{item.count} finding{plural} [{item.effect}]')}")
    else:
        for f in result.findings:
            loc = f.location
            command = _COMMANDS.get(level(f, policy), "warning")
            if loc.cell is None:
                where = (f"line={loc.line},col={loc.column},endLine={loc.end_line},"
                         f"endColumn={loc.end_column},")
                prefix = ""
            else:  # a notebook: lines of the JSON file would point elsewhere
                where, prefix = "", f"cell {loc.cell}:{loc.line}:{loc.column}: "
            lines.append(
                f"::{command} file={_property(loc.path)},{where}"
                f"title={_property(f'{f.code} {f.name}')}::{_data(f'{prefix}[{f.effect}] {f.message}{_probe(f)}')}"
            )
    for error in result.errors:
        lines.append(f"::error file={_property(error.path)},title=initlint::{_data(error.reason)}")
    return "".join(line + "\n" for line in lines)
