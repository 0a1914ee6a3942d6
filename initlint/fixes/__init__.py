"""Automatic fixes, in ruff's model: each rule's fix is safe or unsafe, and computed as libcst
edits that keep everything else in the file as it was.

``FIXES`` is the table: rule code -> applicability and the function that computes the change.
The fix functions read only the parsed module, the node at the finding's location and the
finding's ``details`` (documented per function), never the rules' internals. ``attach_fixes``
gives each finding of a file its Fix with text edits; ``runner.py`` applies them (``--fix``).
"""

from __future__ import annotations

from typing import Sequence

import libcst as cst
from libcst.metadata import MetadataWrapper, PositionProvider

from initlint.findings import Applicability, Finding, Fix
from initlint.fixes import safe, unsafe
from initlint.fixes.base import FixContext, FixRule, changed_code, text_edits

SAFE, UNSAFE = Applicability.SAFE, Applicability.UNSAFE

FIXES: dict[str, FixRule] = {
    "IL501": FixRule(SAFE, safe.deprecated_alias),
    "IL503": FixRule(SAFE, safe.pass_init_function),
    "IL206": FixRule(SAFE, safe.swap_bounds),
    "IL502": FixRule(SAFE, safe.no_grad),
    "IL201": FixRule(UNSAFE, unsafe.fan_in_scheme),
    "IL202": FixRule(UNSAFE, unsafe.fan_in_scheme),
    "IL203": FixRule(UNSAFE, unsafe.fan_in_scheme),
    "IL301": FixRule(UNSAFE, unsafe.fan_in_scheme),
    "IL302": FixRule(UNSAFE, unsafe.fan_in_scheme),
    "IL303": FixRule(UNSAFE, unsafe.matching_nonlinearity),
    "IL401": FixRule(UNSAFE, unsafe.add_bias_init),
    "IL205": FixRule(UNSAFE, unsafe.scale_truncation),
    "IL506": FixRule(UNSAFE, unsafe.remove_dead_init),
}

Span = tuple[int, int, int, int]


class _Locator(cst.CSTVisitor):
    """The innermost node at each wanted span, with its ancestors."""

    METADATA_DEPENDENCIES = (PositionProvider,)

    def __init__(self, spans: set[Span]) -> None:
        super().__init__()
        self.spans = spans
        self.stack: list[cst.CSTNode] = []
        self.found: dict[Span, tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = {}

    def on_visit(self, node: cst.CSTNode) -> bool:
        position = self.get_metadata(PositionProvider, node, None)
        if position is not None:
            span = (position.start.line, position.start.column + 1, position.end.line, position.end.column + 1)
            if span in self.spans:
                self.found[span] = (node, tuple(self.stack))
        self.stack.append(node)
        return True

    def on_leave(self, original_node: cst.CSTNode) -> None:
        self.stack.pop()


def _span(finding: Finding) -> Span:
    loc = finding.location
    return (loc.line, loc.column, loc.end_line, loc.end_column)


def attach_fixes(text: str, findings: Sequence[Finding]) -> None:
    """Give each finding in ``text`` (Python; positions in ``text``) whose rule has a fix its
    edits; the rule's advice stays the fix's message where the function declines."""
    wanted = [f for f in findings if f.code in FIXES]
    if not wanted:
        return
    from initlint.parsing import parse

    module = parse(text)
    if isinstance(module, str):
        return
    locator = _Locator({_span(f) for f in wanted})
    MetadataWrapper(module, unsafe_skip_copy=True).visit(locator)
    for finding in wanted:
        found = locator.found.get(_span(finding))
        if found is None:
            continue
        rule = FIXES[finding.code]
        node, ancestors = found
        try:
            change = rule.function(FixContext(module, node, ancestors, finding.details))
            edits = text_edits(text, changed_code(module, change)) if change is not None and change.replace else ()
        except Exception:  # a bug in one fix costs that fix, never the finding or the run
            continue
        if edits:
            finding.fix = Fix(change.message, rule.applicability, edits)


def fixable(finding: Finding, unsafe_fixes: bool) -> bool:
    """Whether ``--fix`` (with ``--unsafe-fixes`` when ``unsafe_fixes``) applies this finding's fix."""
    return finding.fix is not None and finding.fix.applies(unsafe_fixes)


__all__ = ["FIXES", "SAFE", "UNSAFE", "attach_fixes", "fixable"]
