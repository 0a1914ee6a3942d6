"""Verdicts from measured ratios, with documented thresholds (pure Python, no torch).

Anchors: AUTOTRAINER flags a first/last gradient ratio below 1e-3 or above 70; SageMaker
Debugger flags more than 50% saturated or dead units in a layer. Gains are judged on the hidden
path, from the input to the judged point (measure._hidden_path: the input of the last weight
layer that is not all zero and still sees the input's layout), so an intentionally zero or tiny
output layer (ControlNet's zero conv, U(+-3e-3) policy heads) is not called vanishing and a head
after global pooling is not either.

Exploding is a blow-up of the activations themselves (forward overflow); vanishing is a collapse
of the JVP signal (the output stops depending on the input, even where biases keep activations
alive). The first/last gradient ratio is judged only in models without normalization layers:
there a layer's gradient scales with 1 / its weight norm (the loss is invariant to that scale),
so deep BatchNorm ResNets show ratios of 100 and more while they train well.
"""

from __future__ import annotations


from initlint.lean import dataclass
from initlint.probe.report import ModelReport, Verdict
from initlint.theory import format_number as fmt


@dataclass(frozen=True)
class ProbeThresholds:
    #: input-to-hidden signal variance gain above this is exploding (std x100)
    max_signal_gain: float = 1e4
    #: and below this vanishing (std /100)
    min_signal_gain: float = 1e-4
    #: first/last weight-gradient norm ratio outside these bounds (AUTOTRAINER)
    max_grad_ratio: float = 70.0
    min_grad_ratio: float = 1e-3
    #: share of saturated or dead units in one layer (SageMaker Debugger)
    max_saturated: float = 0.5
    max_dead: float = 0.5


def judge(report: ModelReport, limits: ProbeThresholds) -> list[Verdict]:
    """Verdicts from the measured ratios (see the module docstring)."""
    found: list[Verdict] = []
    if report.nonfinite:
        found.append(Verdict("nonfinite", "NaN or Inf in the forward pass"))
    where = f" (at {report.judged_at}'s input)" if report.judged_at else ""
    if report.hidden_gain is not None and report.hidden_gain > limits.max_signal_gain:
        found.append(Verdict("exploding", f"activation variance x{fmt(report.hidden_gain)} from input to the last layer{where}"))
    elif report.output_gain is not None and report.output_gain > limits.max_signal_gain:
        found.append(Verdict("exploding", f"activation variance x{fmt(report.output_gain)} from input to output"))
    signal = report.hidden_signal_gain if report.hidden_signal_gain is not None else report.signal_gain
    if signal is not None and signal < limits.min_signal_gain:
        found.append(Verdict("vanishing", f"signal variance x{fmt(signal)} from input to the last layer{where}"))
    ratio = report.first_last_grad
    if ratio is not None and not report.normalized:
        if ratio > limits.max_grad_ratio:
            found.append(Verdict("exploding", f"first/last gradient ratio {fmt(ratio)} > {fmt(limits.max_grad_ratio)}"))
        elif ratio < limits.min_grad_ratio:
            found.append(Verdict("vanishing", f"first/last gradient ratio {fmt(ratio)} < {fmt(limits.min_grad_ratio)}"))
    for kind, attribute, limit, what in (
        ("saturation", "saturated", limits.max_saturated, "saturated"),
        ("dead", "dead", limits.max_dead, "dead (ReLU)"),
    ):
        over = [l for l in report.layers if getattr(l, attribute) is not None and getattr(l, attribute) > limit]
        if over:
            worst = max(over, key=lambda l: getattr(l, attribute))
            share = 100 * getattr(worst, attribute)
            where_ = worst.name if len(over) == 1 else f"{len(over)} layers, most in {worst.name}"
            found.append(Verdict(kind, f"{share:.0f}% of units {what} ({where_})"))
    for layer in report.layers:
        if layer.identical_units and layer.identical_after_sgd:
            found.append(
                Verdict("symmetry", f"{layer.name}: all units identical, still after {report.sgd_steps} SGD steps")
            )
    return found
