"""The text of ``initlint probe TARGET``: the per-layer table, the totals, the verdicts."""

from __future__ import annotations

import math
import re

from initlint.probe.report import ModelReport
from initlint.theory import format_number as fmt


def render_report(report: ModelReport) -> str:
    shape = "x".join(str(n) for n in report.input_shape)
    batch = re.compile(r"(?:^|(?<=x))B(?=x|\*|\s|$)")
    fed = ", ".join(f"{name} {batch.sub(str(report.batch), text)}" for name, text in report.inputs.items())
    lines = [
        f"{report.target}: input {fed or shape}, device {report.device}, seed {report.seed}, "
        f"{report.seconds:.2f} s",
        "",
        report.table(),
        "",
    ]
    if report.output_gain is not None:
        lines.append(
            f"output/input: variance x{fmt(report.output_gain)} (std x{fmt(math.sqrt(report.output_gain))})"
        )
    if report.signal_gain is not None:
        lines.append(
            f"signal (JVP) input -> output: variance x{fmt(report.signal_gain)}"
            + (f"; to the last layer's input x{fmt(report.hidden_signal_gain)}" if report.hidden_signal_gain is not None else "")
        )
    if report.first_last_grad is not None:
        lines.append(f"first/last weight-gradient ratio: {fmt(report.first_last_grad)}")
    if report.max_stable_lr is not None:
        bound, relation = ("at most ", ">=") if report.lr_upper_bound else ("", "=")
        lines.append(
            f"largest stable SGD learning rate at init: {bound}{fmt(report.max_stable_lr)} "
            f"(2 / lambda_max, lambda_max {relation} {fmt(report.hessian_max)}"
            + (f"; {report.lr_method})" if report.lr_method else ")")
        )
    for note in report.notes:
        lines.append(f"note: {note}")
    lines.append("")
    for warning in report.warnings:
        lines.append(f"warning: {warning.kind}: {warning.reason} (not a verdict: see the notes)")
    if report.verdicts:
        for verdict in report.verdicts:
            lines.append(f"verdict: {verdict.kind}: {verdict.reason}")
    else:
        lines.append("verdict: healthy (no threshold crossed)")
    return "".join(line + "\n" for line in lines)
