"""JSON report: a list of finding objects (see Finding.to_dict), for scripts; with
``--statistics`` a list of per-rule counts (code, name, effect, count, fixable, level).

A file that could not be analysed is in the list of findings, as ruff puts its syntax errors
there: an object with ``"code": null``, ``"name": "file-error"``, the reason as ``message`` and
no location, so a script that counts findings by code never mistakes a broken file for a clean one.
"""

from __future__ import annotations

import json

from initlint.findings import FileError, LintResult
from initlint.selection import FailPolicy


def error_entry(error: FileError) -> dict:
    """The JSON object of a file that could not be analysed."""
    return {
        "code": None,
        "name": "file-error",
        "effect": None,
        "message": error.reason,
        "path": error.path,
        "line": None,
        "column": None,
        "end_line": None,
        "end_column": None,
        "cell": None,
        "details": {},
        "fix": None,
    }


def render(result: LintResult, policy: FailPolicy | None = None, statistics: bool = False) -> str:
    if statistics:
        from initlint.report.severity import rule_counts

        data = [item.to_dict() for item in rule_counts(result, policy or FailPolicy())]
    else:
        data = [f.to_dict() for f in result.findings] + [error_entry(e) for e in result.errors]
    return json.dumps(data, indent=2, sort_keys=False) + "\n"
