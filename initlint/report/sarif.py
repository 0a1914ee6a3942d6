"""SARIF 2.1.0 for code scanning: every rule in the driver (with its catalog page as
``helpUri``, its "Why" as ``fullDescription`` and the whole page as ``help``), one result per
finding at the level ``--fail-on`` gives it (error, warning or note).

Files that could not be analysed become tool execution notifications, so a scanning service
shows them instead of silently reporting a clean file. A notebook finding has no region (SARIF
regions are lines of the JSON file): its message starts with ``cell N:line:col``.
"""

from __future__ import annotations

import json
import os
from pathlib import PurePosixPath
from urllib.parse import quote

from initlint import __version__
from initlint.catalog import CATALOG_URL, read_page, section
from initlint.findings import LintResult
from initlint.report.severity import level, rule_counts, rule_level
from initlint.report.text import probe_line
from initlint.rules import all_rules
from initlint.selection import FailPolicy

SCHEMA = "https://json.schemastore.org/sarif-2.1.0.json"


def _artifact(path: str) -> dict:
    """An artifactLocation: a ``file://`` URI for an absolute path, else a relative reference
    to ``%SRCROOT%``; every byte outside the unreserved set percent-encoded (RFC 3986), the
    bytes of the file system's name (a name that is not UTF-8 keeps its bytes)."""
    if PurePosixPath(path).is_absolute():
        return {"uri": "file://" + _quote(path)}
    return {"uri": _quote(path), "uriBaseId": "%SRCROOT%"}


def _quote(path: str) -> str:
    return quote(os.fsencode(path), safe="/")


def _rule(rule, policy: FailPolicy) -> dict:
    page = read_page(rule.code)
    why = section(page, "Why") if page else None
    entry = {
        "id": rule.code,
        "name": rule.name,
        "shortDescription": {"text": rule.summary},
        "fullDescription": {"text": " ".join((why or rule.summary).split())},
        "helpUri": f"{CATALOG_URL}/{rule.page}",
        "help": {"text": page or f"initlint rule {rule.code} prints the catalog page.", "markdown": page or rule.summary},
        "defaultConfiguration": {"level": rule_level(rule.code, rule.effect, policy)},
        "properties": {"effect": rule.effect.value},
    }
    return entry


def render(result: LintResult, policy: FailPolicy | None = None, statistics: bool = False) -> str:
    policy = policy or FailPolicy()
    rules = all_rules()
    index = {rule.code: i for i, rule in enumerate(rules)}
    driver = {
        "name": "initlint",
        "version": __version__,
        "informationUri": "https://pypi.org/project/initlint/",
        "rules": [_rule(rule, policy) for rule in rules],
    }
    results = []
    for f in result.findings:
        loc = f.location
        physical: dict = {"artifactLocation": _artifact(loc.path)}
        prefix = ""
        if loc.cell is None:
            physical["region"] = {
                "startLine": loc.line,
                "startColumn": loc.column,
                "endLine": loc.end_line,
                "endColumn": loc.end_column,
            }
        else:
            prefix = f"cell {loc.cell}:{loc.line}:{loc.column}: "
        entry = {
            "ruleId": f.code,
            "level": level(f, policy),
            "message": {"text": f"{prefix}[{f.effect}] {f.message}" + (f"\n{probe_line(f.probe)}" if f.probe else "")},
            "locations": [{"physicalLocation": physical}],
            "properties": {"effect": f.effect.value, "details": f.details},
        }
        if loc.cell is not None:
            entry["properties"]["cell"] = loc.cell
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
    run: dict = {"tool": {"driver": driver}, "invocations": [invocation], "results": results}
    if statistics:
        run["properties"] = {"statistics": [item.to_dict() for item in rule_counts(result, policy)]}
    log = {"$schema": SCHEMA, "version": "2.1.0", "runs": [run]}
    return json.dumps(log, indent=2) + "\n"
