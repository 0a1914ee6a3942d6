"""The rule registry: importing this package registers every rule family."""

from __future__ import annotations

from initlint.rules import bias, distribution, measured, mismatch, misuse, scale, symmetry  # noqa: F401  (registration)
from initlint.rules import adapters, name_guards, noop_writes, scheme_gain, skipped_init, truncation, undefined, uninitialised  # noqa: F401  (registration)
from initlint.rules.base import REGISTRY, Hit, Rule, Thresholds

__all__ = ["REGISTRY", "Hit", "Rule", "Thresholds", "all_rules", "get_rule"]


def all_rules() -> list[Rule]:
    """Every rule, in code order."""
    return [REGISTRY[code] for code in sorted(REGISTRY)]


def get_rule(code: str) -> Rule | None:
    return REGISTRY.get(code.upper())
