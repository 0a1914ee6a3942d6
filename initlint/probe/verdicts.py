"""Verdicts from measured ratios, with documented thresholds (pure Python, no torch).

Anchors: AUTOTRAINER flags a first/last gradient ratio below 1e-3 or above 70; SageMaker
Debugger flags more than 50% saturated or dead units in a layer. Signal gains are judged on the
hidden path (input to the last weight layer's input), so an intentionally zero or tiny output
layer (ControlNet's zero conv, U(+-3e-3) policy heads) is not called vanishing.
"""

from __future__ import annotations

from dataclasses import dataclass

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
    found: list[Verdict] = []
    if report.nonfinite:
        found.append(Verdict("nonfinite", "NaN or Inf in the forward pass"))
    signal = report.hidden_signal_gain if report.hidden_signal_gain is not None else report.signal_gain
    if signal is not None:
        if signal > limits.max_signal_gain:
            found.append(Verdict("exploding", f"signal variance x{fmt(signal)} from input to the last layer"))
        elif signal < limits.min_signal_gain:
            found.append(Verdict("vanishing", f"signal variance x{fmt(signal)} from input to the last layer"))
    ratio = report.first_last_grad
    if ratio is not None:
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
            where = worst.name if len(over) == 1 else f"{len(over)} layers, most in {worst.name}"
            found.append(Verdict(kind, f"{share:.0f}% of units {what} ({where})"))
    for layer in report.layers:
        if layer.identical_units and layer.identical_after_sgd:
            found.append(
                Verdict("symmetry", f"{layer.name}: all units identical, still after {report.sgd_steps} SGD steps")
            )
    return found
