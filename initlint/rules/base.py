"""What a rule is: a code, a name, an effect, the tokens it needs, and a function over facts.

A rule holds no parsing code. It reads FileFacts and yields Hits; the engine turns hits into
Findings (placing them in the file) and drops the suppressed ones. ``tokens`` lists source
substrings without which the rule cannot fire: the engine skips parsing a file that contains
none of the tokens of any selected rule.
"""

from __future__ import annotations

from dataclasses import field
from typing import Any, Callable, Iterable

from initlint.config import Thresholds
from initlint.findings import Effect, Prediction
from initlint.lean import dataclass
from initlint.model.facts import FileFacts
from initlint.tree import nodes


@dataclass
class Hit:
    """What a rule found, before the engine places it: the node, the message, the numbers."""

    node: nodes.CSTNode
    message: str
    details: dict[str, Any] = field(default_factory=dict)
    fix: str | None = None
    prediction: Prediction | None = None
    #: the effect of this finding when it is not the rule's usual one (IL205: what the cut
    #: truncation does to the signal decides it)
    effect: Effect | None = None
    #: how strongly this hit makes its case, to keep the strongest of the hits several entries
    #: give at one node (a longer chain, a larger gain)
    weight: float = 0.0


Check = Callable[[FileFacts, Thresholds], Iterable[Hit]]


@dataclass(frozen=True)
class Rule:
    """A rule of the catalog: its code and effect, the text it needs, and its check."""

    code: str
    name: str
    effect: Effect
    summary: str
    tokens: tuple[str, ...]
    check: Check
    #: found by measuring the built model (``--probe=all``), not by reading the source
    measured: bool = False

    @property
    def page(self) -> str:
        """File name of the rule's catalog page in ``rules/``."""
        return f"{self.code}-{self.name}.md"


REGISTRY: dict[str, Rule] = {}


def rule(code: str, name: str, effect: Effect, summary: str, tokens: Iterable[str], measured: bool = False):
    """Register ``check`` as rule ``code``; codes are unique and stable once released."""

    def register(check: Check) -> Check:
        if code in REGISTRY:
            raise ValueError(f"rule {code} registered twice")
        REGISTRY[code] = Rule(code, name, effect, summary, tuple(tokens), check, measured)
        return check

    return register
