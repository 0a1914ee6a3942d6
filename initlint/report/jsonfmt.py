"""JSON report: a list of finding objects (see Finding.to_dict), for scripts."""

from __future__ import annotations

import json

from initlint.findings import LintResult


def render(result: LintResult) -> str:
    return json.dumps([f.to_dict() for f in result.findings], indent=2, sort_keys=False) + "\n"
