"""Rule selectors (``--select``/``--ignore``) and the ``--fail-on`` policy.

A selector is a code (``IL201``) or a code prefix (``IL2``, ``IL``); ``--fail-on`` also takes
effects (``exploding``), ``any`` and ``none``. Unknown selectors are usage errors, as in ruff:
a typo must not silently select nothing.
"""

from __future__ import annotations

from typing import Iterable

from initlint.findings import EFFECTS, Finding
from initlint.lean import dataclass


class SelectorError(ValueError):
    """A selector that names no rule, effect or keyword."""


def _codes() -> list[str]:
    from initlint.rules import all_rules  # the registry imports the rules, which import config

    return [r.code for r in all_rules()]


def normalize_selectors(values: Iterable[str], option: str, allow_effects: bool = False) -> tuple[str, ...]:
    """Split comma lists, upper-case codes, and reject anything that matches nothing."""
    out: list[str] = []
    codes: list[str] | None = None  # the registry imports every rule: only when a code is named
    for value in values:
        for raw in str(value).split(","):
            item = raw.strip()
            if not item:
                continue
            lower = item.lower()
            if allow_effects and (lower in EFFECTS or lower in {"any", "none", "unprobed"}):
                out.append(lower)
                continue
            upper = item.upper()
            if upper == "ALL" and not allow_effects:
                out.append("IL")
                continue
            codes = _codes() if codes is None else codes
            if not any(code.startswith(upper) for code in codes):
                choices = "a rule code or prefix (e.g. IL201, IL2)"
                if allow_effects:
                    choices += f", an effect ({', '.join(EFFECTS)}), any, none or unprobed"
                raise SelectorError(f"{option}: unknown selector {item!r}; expected {choices}")
            out.append(upper)
    return tuple(out)


def matches(code: str, selectors: Iterable[str]) -> bool:
    return any(code.startswith(selector) for selector in selectors)


def selected_codes(select: tuple[str, ...], ignore: tuple[str, ...]) -> tuple[str, ...]:
    """Codes that run: selected (everything when ``select`` is empty) minus ignored.

    The more specific selector wins, as in ruff: ``--select IL201 --ignore IL2`` keeps IL201.
    """
    chosen = []
    for code in _codes():
        if select:
            best_select = max((len(s) for s in select if code.startswith(s)), default=-1)
        else:
            best_select = 0
        best_ignore = max((len(s) for s in ignore if code.startswith(s)), default=-1)
        if best_select >= 0 and best_select > best_ignore:
            chosen.append(code)
    return tuple(chosen)


@dataclass(frozen=True)
class FailPolicy:
    """Which findings make the run fail (exit 1)."""

    selectors: tuple[str, ...] = ("any",)

    def counts(self, finding: Finding) -> bool:
        if finding.probe is not None and finding.probe.get("status") == "refuted":
            return False
        return self.counts_rule(finding.code, finding.effect)

    def counts_rule(self, code: str, effect) -> bool:
        """Whether a finding of this code and effect counts (before any probe verdict)."""
        value = getattr(effect, "value", effect)
        for selector in self.selectors:
            if selector == "any":
                return True
            if selector == "none":
                continue
            if selector == value or code.startswith(selector.upper()):
                return True
        return False
