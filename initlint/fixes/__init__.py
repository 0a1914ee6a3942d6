"""Automatic fixes, in ruff's model: each rule's fix is safe or unsafe, and computed as libcst
edits that keep everything else in the file as it was (attach.py; ``runner.py`` applies them).

This module is what the rest of initlint imports: it names the rules that have fixes without
importing libcst, so a run whose findings have none never loads it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

from initlint.findings import Finding

if TYPE_CHECKING:
    from initlint.tree import nodes

#: the rules with a fix (attach.FIXES has each one's function; a test keeps the two equal)
FIXABLE_CODES = frozenset({"IL201", "IL202", "IL203", "IL205", "IL206", "IL209", "IL301", "IL302", "IL303", "IL401", "IL501", "IL502", "IL503", "IL506"})


def attach_fixes(text: str, findings: Sequence[Finding], tree: "nodes.Module | None" = None) -> None:
    """Give each finding in ``text`` whose rule has a fix its edits (attach.attach_fixes);
    ``tree`` is the evaluator's tree of ``text`` if the caller has it."""
    if any(finding.code in FIXABLE_CODES for finding in findings):
        from initlint.fixes.attach import attach_fixes as attach

        attach(text, findings, tree)


def fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    """Whether ``--fix`` (with ``--unsafe-fixes`` when ``unsafe_fixes``) applies this finding's fix."""
    return finding.fix is not None and finding.fix.applies(unsafe_fixes)


__all__ = ["FIXABLE_CODES", "attach_fixes", "fixable"]
