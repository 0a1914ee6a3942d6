"""IL5xx misuse: init code that does not do what its author meant, or warns while doing it."""

from __future__ import annotations

from typing import Iterable

from initlint.findings import Effect
from initlint.model.facts import FileFacts
from initlint.model.inits import DEPRECATED, call_tokens
from initlint.rules.base import Hit, Thresholds, rule


@rule(
    "IL501",
    "deprecated-init-alias",
    Effect.MISUSE,
    "a deprecated non-underscore torch.nn.init alias (warns on every call)",
    call_tokens(*sorted(DEPRECATED)),
)
def deprecated_init_alias(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if not init.deprecated:
            continue
        new = init.spelled + "_"
        yield Hit(
            init.node,
            f"`{init.spelled}` is deprecated in favour of `{new}` and warns on every call",
            {"replacement": new},
            f"call `{new}` (same arguments, in place)",
        )
