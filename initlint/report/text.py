"""Text report in ruff's shape: ``path:line:col: CODE [effect] message``, then a summary."""

from __future__ import annotations

from collections import Counter

from initlint.findings import LintResult
from initlint.findings import Finding
from initlint.rules import REGISTRY
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


def finding_line(f: Finding, color: bool = False) -> str:
    loc = f.location
    where = _paint(f"{loc.path}:{loc.line}:{loc.column}:", _BOLD, color)
    code = _paint(f.code, _RED, color)
    effect = _paint(f"[{f.effect}]", _EFFECT_COLORS.get(f.effect.value, ""), color)
    line = f"{where} {code} {effect} {f.message}"
    if f.probe is not None:
        line += "\n    " + probe_line(f.probe)
    return line


def probe_line(probe: dict) -> str:
    status = probe.get("status", "not probed")
    detail = probe.get("measured") or probe.get("reason")
    return f"probe: {status}" + (f" ({detail})" if detail else "")


def _plural(count: int, word: str) -> str:
    return f"{count} {word}{'' if count == 1 else 's'}"


def summary(result: LintResult, policy: FailPolicy | None = None) -> str:
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
    if result.errors:
        text += f" {_plural(len(result.errors), 'file')} could not be analysed."
    return text


def statistics_table(result: LintResult) -> str:
    """Counts per rule, most frequent first, as ruff's --statistics prints them."""
    counts = Counter(f.code for f in result.findings)
    lines = []
    for code, count in sorted(counts.items(), key=lambda item: (-item[1], item[0])):
        rule = REGISTRY.get(code)
        name = rule.name if rule else ""
        effect = f"[{rule.effect}]" if rule else ""
        lines.append(f"{count:5d}  {code}  {effect:<12} {name}")
    return "\n".join(lines)


def render(result: LintResult, *, color: bool = False, statistics: bool = False,
           quiet: bool = False, policy: FailPolicy | None = None) -> str:
    if statistics:
        lines = [statistics_table(result)] if result.findings else []
    else:
        lines = [finding_line(f, color) for f in result.findings]
    if not quiet:
        if lines:
            lines.append("")
        lines.append(summary(result, policy))
    return "".join(line + "\n" for line in lines)
