"""IL9xx measured: problems the probe measures on a built model (``initlint --probe=all``).

Static analysis cannot see every init bug: sizes come from configs, inits from another library,
behaviour from runtime order. These rules have no static check (their tokens are empty, so the
prefilter never runs them); probe/measured.py turns a measured verdict that no static finding
explains into one of these findings, located at the model's class (or factory) definition and
carrying the measured numbers. Their catalog pages are proven by probe tests.
"""

from __future__ import annotations

from typing import Any, Iterable

from initlint.findings import Effect
from initlint.rules.base import Hit, rule

#: measured verdict kind (probe/verdicts.py) -> rule code
CODE_FOR_VERDICT = {
    "nonfinite": "IL901",
    "exploding": "IL901",
    "vanishing": "IL902",
    "symmetry": "IL903",
    "saturation": "IL904",
    "dead": "IL905",
}


def _nothing(facts: Any, thresholds: Any) -> Iterable[Hit]:
    """No static check: the probe reports these (its facts are measurements, not source)."""
    return ()


rule("IL901", "measured-exploding", Effect.EXPLODING,
     "the built model's signal grows by orders of magnitude, or turns NaN/Inf, at init", (), measured=True)(_nothing)
rule("IL902", "measured-vanishing", Effect.VANISHING,
     "the built model's output stops depending on its input, or its gradients die, at init", (), measured=True)(_nothing)
rule("IL903", "measured-symmetry", Effect.SYMMETRY,
     "a layer's units are identical at init and stay identical after SGD steps", (), measured=True)(_nothing)
rule("IL904", "measured-saturation", Effect.SATURATION,
     "most tanh/sigmoid units of a layer are saturated at init", (), measured=True)(_nothing)
rule("IL905", "measured-dead-units", Effect.SATURATION,
     "most ReLU units of a layer are dead (never active) at init", (), measured=True)(_nothing)
