"""Which rules could fire on a file, from its raw text, before anything is parsed.

Each rule names the substrings without which it cannot fire (``Rule.tokens``). Most files
contain none of them, so the question is asked of every file and must cost little: the
distinct tokens of the selected rules are searched once per file (not once per rule), and a
token that contains a shorter one (``trunc_normal_(`` contains ``normal_(``) is searched only
where the shorter one was found.
"""

from __future__ import annotations

from functools import lru_cache
from typing import Sequence

from initlint.rules.base import Rule


class Prefilter:
    """The rules of a selection that a text leaves possible."""

    def __init__(self, rules: Sequence[Rule]) -> None:
        self.rules = tuple(rules)
        self._needs = [(rule, frozenset(rule.tokens)) for rule in self.rules]
        tokens = sorted({token for rule in self.rules for token in rule.tokens})
        #: tokens with no shorter token inside them: searched in every text
        self._roots = [t for t in tokens if not any(o != t and o in t for o in tokens)]
        #: every other token, searched only where the first root inside it was found
        self._dependents: dict[str, list[str]] = {root: [] for root in self._roots}
        for token in tokens:
            if token not in self._dependents:
                gate = next(root for root in self._roots if root in token)
                self._dependents[gate].append(token)

    def present(self, text: str) -> frozenset[str]:
        """The tokens of the selected rules that occur in ``text``."""
        found = []
        for root in self._roots:
            if root in text:
                found.append(root)
                found.extend(token for token in self._dependents[root] if token in text)
        return frozenset(found)

    def possible(self, text: str) -> list[Rule]:
        """The rules that could fire on ``text``: those with at least one token in it."""
        present = self.present(text)
        if not present:
            return []
        return [rule for rule, needs in self._needs if needs & present]


@lru_cache(maxsize=64)
def prefilter_for(rules: tuple[Rule, ...]) -> Prefilter:
    """One Prefilter per selection of rules (per-file-ignores make a few selections)."""
    return Prefilter(rules)
