"""SARIF 2.1.0 for code scanning: every rule in the driver, one result per finding.

Files that could not be analysed become tool execution notifications, so a scanning service
shows them instead of silently reporting a clean file.
"""

from __future__ import annotations

import json
from pathlib import PurePosixPath

from initlint import __version__
from initlint.findings import LintResult
from initlint.rules import all_rules
from initlint.report.text import probe_line

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"
_LEVELS = {"exploding": "error", "vanishing": "error", "symmetry": "error"}


def _artifact(path: str) -> dict:
    if PurePosixPath(path).is_absolute():
        return {"uri": PurePosixPath(path).as_uri()}
    return {"uri": path, "uriBaseId": "%SRCROOT%"}


def render(result: LintResult) -> str:
    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    driver = {
        "name": "initlint",
        "version": __version__,
        "informationUri": "https://pypi.org/project/initlint/",
        "rules": [
            {
                "id": rule.code,
                "name": rule.name,
                "shortDescription": {"text": rule.summary},
                "help": {"text": f"initlint rule {rule.code} prints the catalog page."},
                "defaultConfiguration": {"level": _LEVELS.get(rule.effect.value, "warning")},
                "properties": {"effect": rule.effect.value},
            }
            for rule in rules
        ],
    }
    results = []
    for f in result.findings:
        loc = f.location
        entry = {
            "ruleId": f.code,
            "level": _LEVELS.get(f.effect.value, "warning"),
            "message": {"text": f"[{f.effect}] {f.message}" + (f"\n{probe_line(f.probe)}" if f.probe else "")},
            "locations": [
                {
                    "physicalLocation": {
                        "artifactLocation": _artifact(loc.path),
                        "region": {
                            "startLine": loc.line,
                            "startColumn": loc.column,
                            "endLine": loc.end_line,
                            "endColumn": loc.end_column,
                        },
                    }
                }
            ],
            "properties": {"effect": f.effect.value, "details": f.details},
        }
        if f.code in index:
            entry["ruleIndex"] = index[f.code]
        if f.probe is not None:
            entry["properties"]["probe"] = f.probe
        results.append(entry)
    invocation = {
        "executionSuccessful": not result.errors,
        "toolExecutionNotifications": [
            {
                "level": "error",
                "message": {"text": error.reason},
                "locations": [{"physicalLocation": {"artifactLocation": _artifact(error.path)}}],
            }
            for error in result.errors
        ],
    }
    log = {
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [{"tool": {"driver": driver}, "invocations": [invocation], "results": results}],
    }
    return json.dumps(log, indent=2) + "\n"
