"""Computing fixes: libcst edits that keep everything else in the file as it was.

``FIXES`` is the table: rule code -> applicability and the function that computes the change.
The fix functions read only the parsed module, the node at the finding's location and the
finding's ``details`` (documented per function), never the rules' internals. ``attach_fixes``
gives each finding of a file its Fix with text edits; ``runner.py`` applies them (``--fix``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Sequence

import libcst as cst

from initlint.findings import Applicability, Finding, Fix
from initlint.fixes import safe, unsafe
from initlint.fixes.base import Change, FixContext, FixRule, changed_code, changed_text, text_edits

if TYPE_CHECKING:
    from initlint.tree import nodes

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
    "IL209": FixRule(UNSAFE, unsafe.scale_truncation),
    "IL506": FixRule(UNSAFE, unsafe.remove_dead_init),
}

Span = tuple[int, int, int, int]


def _locate(module: cst.Module, spans: set[Span], ranges) -> dict[Span, tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]]:
    """The innermost node at each wanted span, with its ancestors (module first)."""
    wanted: dict[tuple[int, int], Span] = {}
    for span in spans:
        line, column, end_line, end_column = span
        if line - 1 < len(ranges.starts) and end_line - 1 < len(ranges.starts):
            key = (ranges.starts[line - 1] + column - 1, ranges.starts[end_line - 1] + end_column - 1)
            wanted[key] = span
    found: dict[Span, tuple[cst.CSTNode, tuple[cst.CSTNode, ...]]] = {}
    for node, offsets in ranges.offsets.items():
        span = wanted.get(offsets)
        if span is None or offsets[0] == offsets[1]:
            continue
        ancestors = _ancestors(module, node, ranges.offsets)
        if ancestors is not None and len(ancestors) > len(found.get(span, (None, ()))[1]):
            found[span] = (node, ancestors)
    return found


def _ancestors(module: cst.Module, node: cst.CSTNode, offsets) -> tuple[cst.CSTNode, ...] | None:
    """The path from the module to ``node``'s parent, descending by character ranges: the
    child whose range holds the node's (siblings only touch at their ends)."""
    start, end = offsets[node]
    path: list[cst.CSTNode] = []
    current: cst.CSTNode = module
    while current is not node:
        path.append(current)
        for child in current.children:
            if child is node:
                current = child
                break
            child_start, child_end = offsets.get(child, (-1, -1))
            if child_start <= start and end <= child_end and child_start < child_end:
                current = child
                break
        else:
            return None
    return tuple(path)


def _span(finding: Finding) -> Span:
    loc = finding.location
    return (loc.line, loc.column, loc.end_line, loc.end_column)


def attach_fixes(text: str, findings: Sequence[Finding], tree: "nodes.Module | None" = None) -> None:
    """Give each finding in ``text`` (Python; positions in ``text``) whose rule has a fix its
    edits; the rule's advice stays the fix's message where the function declines. ``tree`` is
    the evaluator's tree of ``text`` when the caller has it (else it is parsed here).

    Edits need libcst's lossless tree, so libcst parses here, only files whose findings have
    fixes, and first only the part of the file a fix reads (``_fix_scope``). A fix whose edits
    reach outside that part is computed again on the whole file."""
    wanted = [f for f in findings if f.code in FIXES]
    if not wanted:
        return
    if tree is None:
        from initlint.parsing import parse

        parsed = parse(text)
        tree = parsed if not isinstance(parsed, str) else None
    lines = {line for f in wanted for line in (f.location.line, f.location.end_line)}
    definitions = any(FIXES[f.code].function is safe.pass_init_function for f in wanted)
    scoped, kept = _fix_scope(text, tree, lines, definitions) if tree is not None else (text, None)
    retry = _attach(scoped, wanted, kept)
    if retry and kept is not None:
        _attach(text, retry, None)


def _attach(text: str, findings: Sequence[Finding], kept: set[int] | None) -> list[Finding]:
    """Attach the fixes computed on ``text``; the findings whose edits touch lines outside
    ``kept`` (None: every line) get none, and are returned."""
    from initlint.parsing import parse_lossless

    module = parse_lossless(text)
    if isinstance(module, str):
        return list(findings) if kept is not None else []
    from initlint.positions import positions

    spans = {_span(f) for f in findings}
    ranges = positions(module, text, {line for span in spans for line in (span[0], span[2])})
    located = _locate(module, spans, ranges)
    outside = []
    for finding in findings:
        found = located.get(_span(finding))
        if found is None:
            continue
        rule = FIXES[finding.code]
        node, ancestors = found
        try:
            change = rule.function(FixContext(module, node, ancestors, finding.details))
            edits = text_edits(text, _changed(text, module, change, ranges)) if change is not None and change.replace else ()
        except Exception:  # a bug in one fix costs that fix, never the finding or the run
            continue
        if kept is not None and any(line not in kept for edit in edits for line in range(edit.line, edit.end_line + 1)):
            outside.append(finding)
        elif edits:
            finding.fix = Fix(change.message, rule.applicability, edits)
    return outside


def _fix_scope(text: str, tree: "nodes.Module", lines: set[int], definitions: bool = False) -> tuple[str, set[int] | None]:
    """``text`` with every top-level class and function, and every method of a class kept,
    that holds none of ``lines`` blanked out (its lines kept, empty, so every position stays),
    and the numbers of the lines kept as they were (None: nothing was blanked). ``tree`` is the
    evaluator's tree of ``text``; ``definitions``: a fix reads the file's functions and the
    methods of its class (IL503's init function passed by name), so only classes go.

    A fix reads the statement around its finding and the file's imports; the classes and
    functions around are most of a model file, and parsing them with libcst was most of the
    fixes' cost. Where blanking leaves a body empty, libcst refuses the text and the fix is
    computed on the whole file (``attach_fixes``)."""
    from initlint.lines import text_lines
    from initlint.tree import nodes

    def span(statement) -> tuple[int, int]:
        return min([statement.span[0], *(d.span[0] for d in statement.decorators)]), statement.span[2]

    def holds(first: int, last: int) -> bool:
        return any(first <= line <= last for line in lines)

    source = text_lines(text)
    blanked: set[int] = set()
    for statement in tree.body:
        kind = type(statement)
        if kind is not nodes.ClassDef and (definitions or kind is not nodes.FunctionDef):
            continue
        first, last = span(statement)
        if not holds(first, last):
            blanked.update(range(first, last + 1))
        elif kind is nodes.ClassDef and not definitions and isinstance(statement.body, nodes.IndentedBlock):
            for member in statement.body.body:
                if type(member) is nodes.FunctionDef:
                    first, last = span(member)
                    if not holds(first, last):
                        blanked.update(range(first, last + 1))
    if not blanked:
        return text, None
    scoped = "".join(
        line[len(line.rstrip("\r\n")):] if number in blanked else line for number, line in enumerate(source, 1)
    )
    return scoped, set(range(1, len(source) + 2)) - blanked


def _changed(text: str, module: cst.Module, change: Change, ranges: object) -> str:
    """``text`` with ``change`` applied: only the statement around it regenerated where the
    positions know every node's whole code, else the whole module."""
    spans = getattr(ranges, "spans", None)
    if spans is not None:
        def path_of(node: cst.CSTNode) -> tuple[cst.CSTNode, ...] | None:
            # a node outside the statements the findings were placed in has no range here
            return _ancestors(module, node, ranges.offsets) if node in ranges.offsets else None

        local = changed_text(text, module, change, spans, path_of)
        if local is not None:
            return local
    return changed_code(module, change)


__all__ = ["FIXES", "SAFE", "UNSAFE", "attach_fixes"]
