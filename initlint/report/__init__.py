"""Reports: the same LintResult as text, JSON, GitHub annotations, SARIF, GitLab Code Quality or
JUnit XML. Nothing re-derived; how serious a finding looks follows ``--fail-on`` (severity.py)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

if TYPE_CHECKING:
    from initlint.findings import Finding, LintResult
    from initlint.selection import FailPolicy

__all__ = ["render", "FORMATS"]

FORMATS = ("text", "json", "github", "sarif", "gitlab", "junit")


def render(result: LintResult, fmt: str, *, color: bool = False, statistics: bool = False,
           quiet: bool = False, policy: FailPolicy | None = None, show_fixes: bool = False,
           fixed: Sequence[Finding] | None = None, unsafe_fixes: bool = False) -> str:
    """The report for ``result`` in format ``fmt``; ``statistics`` gives counts per rule in the
    format's own shape."""
    from initlint.selection import FailPolicy

    policy = policy or FailPolicy()
    if fmt == "text":
        from initlint.report import text

        return text.render(result, color=color, statistics=statistics, quiet=quiet, policy=policy,
                           show_fixes=show_fixes, fixed=fixed, unsafe_fixes=unsafe_fixes)
    import importlib

    module = importlib.import_module(f"initlint.report.{'jsonfmt' if fmt == 'json' else fmt}")
    return module.render(result, policy, statistics=statistics)
