"""JSON report: a list of finding objects (see Finding.to_dict), for scripts; with
``--statistics`` a list of per-rule counts (code, name, effect, count, fixable, level)."""

from __future__ import annotations

import json

from initlint.findings import LintResult
from initlint.selection import FailPolicy


def render(result: LintResult, policy: FailPolicy | None = None, statistics: bool = False) -> str:
    if statistics:
        from initlint.report.severity import rule_counts

        data = [item.to_dict() for item in rule_counts(result, policy or FailPolicy())]
    else:
        data = [f.to_dict() for f in result.findings]
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
