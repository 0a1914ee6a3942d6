"""Reports: the same LintResult as text, JSON, GitHub annotations or SARIF. Nothing re-derived."""

from __future__ import annotations

from initlint.engine import LintResult
from initlint.report import github, jsonfmt, sarif, text
from initlint.selection import FailPolicy

__all__ = ["render"]


def render(result: LintResult, fmt: str, *, color: bool = False, statistics: bool = False,
           quiet: bool = False, policy: FailPolicy | None = None) -> str:
    """The report for ``result`` in format ``fmt`` (text, json, github, sarif)."""
    if fmt == "json":
        return jsonfmt.render(result)
    if fmt == "github":
        return github.render(result)
    if fmt == "sarif":
        return sarif.render(result)
    return text.render(result, color=color, statistics=statistics, quiet=quiet, policy=policy)
