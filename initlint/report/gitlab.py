"""GitLab Code Quality report: a JSON list of issues (``description``, ``check_name``,
``fingerprint``, ``severity``, ``location.path`` and ``location.lines.begin``).

Severity follows ``--fail-on``: ``major`` when the finding counts, else ``minor``, or ``info``
for misuse; a file that could not be analysed is ``blocker``. The fingerprint is stable while
the finding's rule, file, message and place among equal findings stay the same (not its line,
so moving code does not make a finding look new). Code Quality has no place for counts: with
``--statistics`` the issues are kept and nothing else changes (the text table is for people).
"""

from __future__ import annotations

import hashlib
import json

from initlint.findings import LintResult
from initlint.report.severity import ERROR, NOTE, level
from initlint.selection import FailPolicy

_SEVERITIES = {ERROR: "major", NOTE: "info"}


def _fingerprint(*parts: object) -> str:
    return hashlib.blake2b("\x1f".join(map(str, parts)).encode(), digest_size=16).hexdigest()


def render(result: LintResult, policy: FailPolicy | None = None, statistics: bool = False) -> str:
    policy = policy or FailPolicy()
    issues = []
    seen: dict[tuple, int] = {}
    for f in result.findings:
        loc = f.location
        key = (f.code, loc.path, loc.cell, f.message)
        seen[key] = seen.get(key, 0) + 1
        where = f"cell {loc.cell}:{loc.line}:{loc.column}: " if loc.cell is not None else ""
        issues.append({
            "description": f"{where}{f.code} [{f.effect}] {f.message}",
            "check_name": f"{f.code} {f.name}",
            "fingerprint": _fingerprint(*key, seen[key]),
            "severity": _SEVERITIES.get(level(f, policy), "minor"),
            "location": {"path": loc.path, "lines": {"begin": loc.line if loc.cell is None else 1}},
        })
    for error in result.errors:
        issues.append({
            "description": f"initlint could not analyse this file: {error.reason}",
            "check_name": "initlint error",
            "fingerprint": _fingerprint("error", error.path, error.reason),
            "severity": "blocker",
            "location": {"path": error.path, "lines": {"begin": 1}},
        })
    return json.dumps(issues, indent=2) + "\n"
