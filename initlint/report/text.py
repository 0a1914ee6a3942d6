"""Text report in ruff's shape: ``path:line:col: CODE [effect] message``, then a summary.

A notebook's findings read ``path.ipynb:cell N:line:col``. ``[*]`` after the code marks a fix that
``--fix`` applies (``--unsafe-fixes`` too, when given).
"""

from __future__ import annotations

from collections import Counter
from typing import Sequence

from initlint.findings import Finding, LintResult, Location
from initlint.selection import FailPolicy

_EFFECT_COLORS = {
    "exploding": "\x1b[31m",
    "vanishing": "\x1b[34m",
    "symmetry": "\x1b[35m",
    "saturation": "\x1b[33m",
    "misuse": "\x1b[36m",
}
_BOLD, _RED, _DIM, _RESET = "\x1b[1m", "\x1b[1;31m", "\x1b[2m", "\x1b[0m"


def _paint(text: str, code: str, color: bool) -> str:
    return f"{code}{text}{_RESET}" if color else text


def place(loc: Location) -> str:
    """``path:line:col``, or ``path:cell N:line:col`` in a notebook."""
    cell = f"cell {loc.cell}:" if loc.cell is not None else ""
    return f"{loc.path}:{cell}{loc.line}:{loc.column}"


def finding_line(f: Finding, color: bool = False, show_fixes: bool = False, unsafe_fixes: bool = False) -> str:
    where = _paint(f"{place(f.location)}:", _BOLD, color)
    code = _paint(f.code, _RED, color)
    if f.fix is not None and f.fix.applies(unsafe_fixes):
        code += " [*]"
    effect = _paint(f"[{f.effect}]", _EFFECT_COLORS.get(f.effect.value, ""), color)
    line = f"{where} {code} {effect} {f.message}"
    if f.probe is not None:
        line += "\n    " + probe_line(f.probe)
    if show_fixes and f.fix is not None:
        kind = f"{f.fix.applicability} fix" if f.fix.automatic else "fix (by hand)"
        line += f"\n    {kind}: {f.fix.message}"
    return line


def probe_line(probe: dict) -> str:
    status = probe.get("status", "not probed")
    detail = probe.get("measured") or probe.get("reason")
    return f"probe: {status}" + (f" ({detail})" if detail else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(result: LintResult, policy: FailPolicy | None = None, unsafe_fixes: bool = False) -> str:
    if not result.findings:
        text = f"All checked: no findings in {_plural(result.files, 'file')}."
    else:
        effects = Counter(f.effect.value for f in result.findings)
        parts = ", ".join(f"{n} {effect}" for effect, n in sorted(effects.items()))
        text = (
            f"Found {_plural(len(result.findings), 'finding')} ({parts}) in "
            f"{result.files_with_findings} of {_plural(result.files, 'file')}."
        )
        if policy is not None:
            failing = sum(1 for f in result.findings if policy.counts(f))
            if failing != len(result.findings):
                text += f" {failing} count under --fail-on {','.join(policy.selectors)}."
        safe = sum(1 for f in result.findings if f.fix is not None and f.fix.applies(unsafe_fixes))
        unsafe = sum(1 for f in result.findings if f.fix is not None and f.fix.applies(True)) - safe
        if safe:
            text += f"\n[*] {safe} fixable with --fix" + (" --unsafe-fixes" if unsafe_fixes else "")
            text += f" ({unsafe} more with --unsafe-fixes)." if unsafe else "."
        elif unsafe:
            text += f"\n{unsafe} fixable with --fix --unsafe-fixes."
    if result.errors:
        text += f" {_plural(len(result.errors), 'file')} could not be analysed."
    return text


def fixed_lines(fixed: Sequence[Finding], show: bool) -> list[str]:
    """``Fixed 3 findings in 2 files.`` and, with --show-fixes, which ones (as ruff lists them)."""
    files = sorted({f.location.path for f in fixed})
    lines = [f"Fixed {_plural(len(fixed), 'finding')} in {_plural(len(files), 'file')}."]
    if show:
        for path in files:
            lines.append(f"- {path}:")
            counts = Counter((f.code, f.name) for f in fixed if f.location.path == path)
            for (code, name), count in sorted(counts.items()):
                lines.append(f"    {count} x {code} ({name})")
    return lines


def statistics_table(result: LintResult, policy: FailPolicy | None = None) -> str:
    """Counts per rule, most frequent first, as ruff's --statistics prints them."""
    from initlint.report.severity import rule_counts

    lines = []
    for item in rule_counts(result, policy or FailPolicy()):
        fixable = f"  [*] {item.fixable} fixable" if item.fixable else ""
        lines.append(f"{item.count:5d}  {item.code}  {'[' + item.effect + ']':<12} {item.name}{fixable}")
    return "\n".join(lines)


def render(result: LintResult, *, color: bool = False, statistics: bool = False,
           quiet: bool = False, policy: FailPolicy | None = None, show_fixes: bool = False,
           fixed: Sequence[Finding] | None = None, unsafe_fixes: bool = False) -> str:
    if statistics:
        lines = [statistics_table(result, policy)] if result.findings else []
    else:
        lines = [finding_line(f, color, show_fixes, unsafe_fixes) for f in result.findings]
    if not quiet:
        if lines:
            lines.append("")
        if fixed:
            lines.extend(fixed_lines(fixed, show_fixes))
        lines.append(summary(result, policy, unsafe_fixes))
    return "".join(line + "\n" for line in lines)
