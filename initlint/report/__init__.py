"""Reports: the same LintResult as text, JSON, GitHub annotations or SARIF. Nothing re-derived."""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from initlint.findings import LintResult
    from initlint.selection import FailPolicy

__all__ = ["render"]


def render(result: LintResult, fmt: str, *, color: bool = False, statistics: bool = False,
           quiet: bool = False, policy: FailPolicy | None = None) -> str:
    """The report for ``result`` in format ``fmt`` (text, json, github, sarif)."""
    if fmt == "json":
        from initlint.report import jsonfmt

        return jsonfmt.render(result)
    if fmt == "github":
        from initlint.report import github

        return github.render(result)
    if fmt == "sarif":
        from initlint.report import sarif

        return sarif.render(result)
    from initlint.report import text

    return text.render(result, color=color, statistics=statistics, quiet=quiet, policy=policy)
