"""Confirmed or refuted: a static finding next to what the probe measured (pure Python).

A finding's Prediction says what it predicts, so the probe needs no list of rule codes: a
per-layer ``gain`` (``includes_activation`` when it runs to the next layer's input), ``raises``
(the text torch raises when the model is built), a unit ``correlation``, ``symmetric`` and
``every_layer`` (a whole-model symmetry), ``saturated_by``.

A prediction names its model and layers (patterns such as ``blocks.*`` for every copy of a
repeated layer). Confirmed means the measurement agrees with the
prediction: the per-layer gain in the predicted direction and within an order of magnitude of
it, the units identical (and still so after the SGD steps) for symmetry, the saturated share for
saturation. Refuted means the measured path is healthy where the finding said it would not be.
"""

from __future__ import annotations

import fnmatch
import math
from typing import Any

from initlint.findings import Finding
from initlint.probe.report import LayerStats, ModelReport
from initlint.probe.standins import STAND_IN_NOTE
from initlint.theory import format_number as fmt

_SATURATION_KEYS = {"tanh": "tanh", "sigmoid": "sigmoid"}


def matched(report: ModelReport, patterns: list[str]) -> list[LayerStats]:
    """Measured layers named by the finding's layer paths (``blocks.*`` matches every block)."""
    found = []
    for layer in report.layers:
        if not layer.has_weight:
            continue  # ``body.*`` names the Linear layers of a Sequential, not its Tanh modules
        if any(fnmatch.fnmatchcase(layer.name, p) or layer.name == p for p in patterns):
            found.append(layer)
    return found


def _geometric_mean(values: list[float]) -> float | None:
    values = [v for v in values if v is not None and v > 0 and math.isfinite(v)]
    if not values:
        return None
    return math.exp(sum(math.log(v) for v in values) / len(values))


def status(state: str, measured: str | None = None, reason: str | None = None) -> dict[str, Any]:
    out: dict[str, Any] = {"status": state}
    if measured:
        out["measured"] = measured
    if reason:
        out["reason"] = reason
    return out


def confirm_error(finding: Finding, stage: str, error: str) -> dict[str, Any]:
    """A model that could not be built or run: confirmed where the finding predicted the error."""
    expected = finding.prediction.raises
    if expected and expected in error and stage == "build":
        return status("confirmed", f"building the model raised {error}")
    return status("error", reason=f"{stage}: {error}" if stage else error)


#: a gain this far from 1 (either way) is "wildly off-scale": no init a user chose gives it
OFF_SCALE = 1e6


def confirm(finding: Finding, report: ModelReport) -> dict[str, Any]:
    """The finding's status against ``report``; a measurement of a file imported with stand-ins
    for modules that are not installed says so (the model ran without them)."""
    result = _confirm(finding, report)
    if "measured" in result and any(STAND_IN_NOTE in note for note in report.notes):
        result["measured"] += "; its file was imported with a stand-in for a module that is not installed, unused by the model"
    return result


def _confirm(finding: Finding, report: ModelReport) -> dict[str, Any]:
    prediction = finding.prediction
    if prediction.raises is not None:
        return status("refuted", "the model was built without an error")
    if prediction.uninitialised:
        return _uninitialised(finding, report)
    layers = matched(report, list(prediction.layers))
    effect = finding.effect.value
    if effect in ("exploding", "vanishing"):
        return _gain(finding, layers)
    if effect == "symmetry":
        return _symmetry(finding, layers, report)
    if effect == "saturation":
        return _saturation(finding, layers)
    return status("not probed", reason="nothing to measure for this rule")


def _uninitialised(finding: Finding, report: ModelReport) -> dict[str, Any]:
    """A tensor left as torch.empty: confirmed by NaN/Inf or a wildly off-scale signal (its
    memory may hold zeros, leftovers or garbage), on the layers it names or the output."""
    layers = matched(report, list(finding.prediction.layers))
    bad = [l.name for l in layers if l.nonfinite]
    if bad or report.nonfinite:
        return status("confirmed", f"NaN or Inf in the forward pass{' at ' + ', '.join(bad[:3]) if bad else ''}")
    gains = [(l.name, l.signal_gain if l.signal_gain is not None else l.gain) for l in layers]
    gains += [("the output", report.output_gain)] if not layers else []
    for name, gain in gains:
        if gain is not None and (gain > OFF_SCALE or gain < 1 / OFF_SCALE):
            return status("confirmed", f"{name}: variance x{fmt(gain)}, off-scale for any init")
    shown = ", ".join(f"{n} x{fmt(g)}" for n, g in gains if g is not None) or "no gain measured"
    return status("refuted", f"finite and on scale ({shown}): the memory happened to hold sane values")


def _gain(finding: Finding, layers: list[LayerStats]) -> dict[str, Any]:
    prediction = finding.prediction
    predicted = prediction.gain
    per_fan_in = prediction.gain_per_fan_in
    if predicted is None and per_fan_in is not None and layers and layers[0].fan_in:
        predicted = per_fan_in * layers[0].fan_in  # the size the probe built it with
    if not layers:
        return status("not probed", reason="the measured model has no layer this finding names")
    if predicted is None:
        return status("not probed", reason="the finding predicts no number to compare with")
    step = prediction.includes_activation
    signal = [(l.step_signal_gain if step else l.signal_gain) for l in layers]
    plain = [(l.step_gain if step else l.gain) for l in layers]
    measured = _geometric_mean(signal) or _geometric_mean(plain)
    if measured is None:
        return status("not probed", reason="no gain could be measured on these layers")
    kind = "signal" if _geometric_mean(signal) is not None else "activation"
    text = (
        f"measured {kind} variance x{fmt(measured)} per layer (std x{fmt(math.sqrt(measured))}) on "
        f"{', '.join(l.name for l in layers[:3])}{', ...' if len(layers) > 3 else ''}; "
        f"predicted x{fmt(predicted)}"
    )
    depth = prediction.depth
    if depth:
        stack = prediction.stack_gain if prediction.stack_gain is not None else predicted**depth
        text += f", x{fmt(stack)} over {depth} layers"
    direction = measured > 1.0 if finding.effect.value == "exploding" else measured < 1.0
    close = abs(math.log10(measured / predicted)) <= 1.0 if predicted > 0 else False
    return status("confirmed" if direction and close else "refuted", text)


def _symmetry(finding: Finding, layers: list[LayerStats], report: ModelReport) -> dict[str, Any]:
    prediction = finding.prediction
    if prediction.correlation is not None:
        values = [l.unit_correlation for l in layers if l.unit_correlation is not None]
        if not values:
            return status("not probed", reason="no unit correlation could be measured")
        corr = values[0]
        text = f"measured unit correlation {fmt(corr)}; predicted {fmt(prediction.correlation)}"
        return status("confirmed" if corr > 0.5 else "refuted", text)
    if prediction.every_layer:
        layers = report.weight_layers()
    if not layers:
        return status("not probed", reason="the measured model has no layer this finding names")
    distinct = [l.name for l in layers if l.identical_rows_at_init is False]
    if distinct:
        return status("refuted", f"the weight rows of {', '.join(distinct[:3])} differ at init")
    layers = [l for l in layers if l.rank_after_sgd is not None and l.rows]
    if not layers:
        return status("not probed", reason="no rank could be measured after the SGD steps")
    steps = report.sgd_steps
    ranks = ", ".join(f"{l.name} rank {l.rank_after_sgd} of {l.rows}" for l in layers[:3])
    collapsed = all(l.rank_after_sgd <= max(2, l.rows // 4) for l in layers)
    verdict = "confirmed" if collapsed else "refuted"
    return status(verdict, f"weight rows after {steps} SGD steps: {ranks}")


def _saturation(finding: Finding, layers: list[LayerStats]) -> dict[str, Any]:
    key = _SATURATION_KEYS.get(str(finding.prediction.saturated_by))
    shares = [
        l.saturated if l.activation == key and l.saturated is not None else l.pre_saturated.get(key)
        for l in layers
        if key and (l.saturated is not None or l.pre_saturated.get(key) is not None)
    ]
    if not shares:
        return status("not probed", reason="no saturation could be measured on these layers")
    share = shares[0]
    text = f"measured {100 * share:.0f}% of units saturated by {key}"
    return status("confirmed" if share > 0.5 else "refuted", text)
