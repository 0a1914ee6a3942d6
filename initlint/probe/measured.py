"""Measured problems as findings: a verdict no static finding explains becomes an IL9xx finding.

Pure Python. The finding sits at the model's class (or factory) definition and its message holds
the measured numbers; ``probe`` says ``measured``. A static finding on the same model with the
same effect that the measurement did not refute already explains the verdict, so there is no
second finding. ``# noqa: IL901`` on the definition line and ``--select``/``--ignore`` apply.
"""

from __future__ import annotations

from initlint.findings import Effect, Finding, Location, Prediction
from initlint.probe.candidates import Definition
from initlint.probe.report import ModelReport
from initlint.rules.measured import CODE_FOR_VERDICT


def _context(report: ModelReport) -> str:
    shown = ", ".join(f"{name} {shape}" for name, shape in report.inputs.items())
    return f"measured on {shown or 'its input'}, seed {report.seed}"


def measured_findings(
    path: str, definition: Definition, report: ModelReport, static: list[Finding],
    allowed: set[str], suppressed=lambda code, line: False,
) -> list[Finding]:
    """IL9xx findings for the verdicts of ``report`` (see the module docstring)."""
    from initlint.rules import REGISTRY

    explained = {f.effect for f in static if (f.probe or {}).get("status") not in ("refuted",)}
    reasons: dict[str, list[str]] = {}
    for verdict in report.verdicts:
        code = CODE_FOR_VERDICT.get(verdict.kind)
        if code is None:
            continue
        reasons.setdefault(code, []).append(verdict.reason)
    found = []
    for code, why in sorted(reasons.items()):
        rule = REGISTRY[code]
        if rule.effect in explained or code not in allowed or suppressed(code, definition.line):
            continue
        line = definition.shown_line
        location = Location(path, line, definition.column, line, definition.end_column, definition.cell)
        measured = "; ".join(why)
        message = f"{definition.name}: {measured} ({_context(report)})"
        found.append(
            Finding(
                code, rule.name, Effect(rule.effect), message, location,
                details={"model": definition.name, "verdicts": why, "inputs": report.inputs},
                probe={"status": "measured"},
                prediction=Prediction(model=definition.name),
            )
        )
    return found
