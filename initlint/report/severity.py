"""How serious each finding looks in a report: the ``--fail-on`` gate decides.

A finding that counts under ``--fail-on`` is an error (it fails the run); one that does not is a
warning, or a note for misuse (it costs no training run by itself). A refuted finding never counts.
"""

from __future__ import annotations


from initlint.findings import Effect, Finding, LintResult
from initlint.lean import dataclass
from initlint.selection import FailPolicy

ERROR, WARNING, NOTE = "error", "warning", "note"


def level(finding: Finding, policy: FailPolicy) -> str:
    if policy.counts(finding):
        return ERROR
    return NOTE if finding.effect is Effect.MISUSE else WARNING


def rule_level(code: str, effect: Effect, policy: FailPolicy) -> str:
    """The level a finding of this rule gets (without a probe verdict)."""
    if policy.counts_rule(code, effect):
        return ERROR
    return NOTE if effect is Effect.MISUSE else WARNING


@dataclass(frozen=True)
class RuleCount:
    """One line of ``--statistics``."""

    code: str
    name: str
    effect: str
    count: int
    #: how many of them --fix (safe) could fix
    fixable: int
    level: str

    def to_dict(self) -> dict:
        return {"code": self.code, "name": self.name, "effect": self.effect, "count": self.count,
                "fixable": self.fixable, "level": self.level}


def rule_counts(result: LintResult, policy: FailPolicy) -> list[RuleCount]:
    """Counts per rule, most frequent first (then by code)."""
    grouped: dict[str, list[Finding]] = {}
    for finding in result.findings:
        grouped.setdefault(finding.code, []).append(finding)
    counts = []
    for code, findings in grouped.items():
        first = findings[0]
        worst = ERROR if any(level(f, policy) == ERROR for f in findings) else level(first, policy)
        counts.append(RuleCount(code, first.name, first.effect.value, len(findings),
                                sum(1 for f in findings if f.fix is not None and f.fix.applies()), worst))
    return sorted(counts, key=lambda item: (-item.count, item.code))
