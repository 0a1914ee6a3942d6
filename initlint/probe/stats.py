"""Per-layer statistics and the hidden path, from what the recorder kept (recording.py)."""

from __future__ import annotations

import torch

from torch import nn

from initlint.probe.recording import _RELU, _SIGMOID, _TANH, SATURATION_POINT, Recorder, collapsed
from initlint.probe.report import LayerStats, ModelReport
from initlint.probe.tensors import dead_share, moment, weight_of

def layer_stats(report: ModelReport, recorder: Recorder, first, output: torch.Tensor, model: nn.Module) -> None:
    weight_names = []
    for name in recorder.order:
        record = recorder.stats[name]
        module = record["module"]
        out = record.get("sample")
        weight = weight_of(module)
        layer = LayerStats(name, type(module).__name__, calls=record["calls"], has_weight=weight is not None)
        if out is not None:
            layer.nonfinite = record["nonfinite"]
            finite = out[torch.isfinite(out)]
            layer.out_std = float(finite.std()) if finite.numel() > 1 else 0.0
            layer.out_mean = float(finite.mean()) if finite.numel() else None
            if record.get("in"):
                layer.gain = record["out_m2"] / record["in"]
            if record.get("t_in"):
                layer.signal_gain = record["t_out"] / record["t_in"]
            units = record.get("units")
            if isinstance(module, _TANH):
                layer.saturated = float((out.abs() > 0.99).double().mean())
            elif isinstance(module, _SIGMOID):
                layer.saturated = float(((out < 0.01) | (out > 0.99)).double().mean())
            elif isinstance(module, _RELU) and units is not None:
                layer.dead = dead_share(units)
            if weight is not None and units is not None:
                layer.pre_saturated = {
                    key: float((out.abs() > point).double().mean()) for key, point in SATURATION_POINT.items()
                }
                dead = dead_share(units)
                if dead is not None:
                    layer.pre_saturated["relu_dead"] = dead
                layer.unit_correlation = _mean_correlation(units)
                spread = (units - units[:, :1]).abs().max()
                layer.identical_units = bool(spread <= 1e-6 * (units.abs().max() + 1e-12)) and units.shape[1] > 1
        if "activation" in record:
            layer.activation = record["activation"]
            if record["activation"] == "relu":
                layer.dead = record.get("act_share")
            else:
                layer.saturated = record.get("act_share")
        if weight is not None:
            layer.fan_in = int(weight[0].numel())  # torch.nn.init's fan-in: size(1) x kernel
            layer.weight_std = float(weight.detach().double().std())
            layer.weight_mean = float(weight.detach().double().mean())
            layer.zero_weight = not bool(weight.detach().any())
            weight_names.append(name)
        report.layers.append(layer)
    report.nonfinite = any(layer.nonfinite for layer in report.layers) or not bool(
        torch.isfinite(output.detach()).all()
    )
    if first is not None and first.is_floating_point():
        report.output_gain = moment(output) / max(moment(first), 1e-30)
    # step gains: from this weight layer's input to the next weight layer's input
    inputs_m2 = [recorder.stats[n].get("in") for n in weight_names]
    tangents = [recorder.stats[n].get("t_in") for n in weight_names]
    final_t = recorder.stats.get("__output__", {}).get("t_in")
    final_m2 = moment(output)
    by_name = {layer.name: layer for layer in report.layers}
    for index, name in enumerate(weight_names):
        nxt_m2 = inputs_m2[index + 1] if index + 1 < len(weight_names) else final_m2
        nxt_t = tangents[index + 1] if index + 1 < len(weight_names) else final_t
        if inputs_m2[index] and nxt_m2 is not None:
            by_name[name].step_gain = nxt_m2 / inputs_m2[index]
        if tangents[index] and nxt_t is not None:
            by_name[name].step_signal_gain = nxt_t / tangents[index]
    _hidden_path(report, recorder, weight_names, by_name, first)


def _hidden_path(report: ModelReport, recorder: Recorder, weight_names: list[str], by_name, first) -> None:
    """Gains from the input to the judged point: the input of the last weight layer that is not
    all zero (a zero output layer, ControlNet's zero conv, is a design judged by what feeds it)
    and still sees the input's layout (a head after global pooling sees averages of white noise,
    whose variance pooling divides by the positions: no signal loss of the model's making)."""
    start_t = recorder.stats.get("__input__", {}).get("t_in")
    live = [n for n in weight_names if not by_name[n].zero_weight and recorder.stats[n].get("t_in") is not None]
    if first is not None and first.is_floating_point() and not collapsed(first):
        kept = [n for n in live if recorder.stats[n].get("collapsed") is False]
        live = kept if len(kept) >= 2 else live
    cut = _cut_without_zero_weights(recorder)
    if cut is not None:
        report.signal_gain, report.signal_cut = None, cut
        report.notes.append(
            f"the output does not depend on the input through {cut} (its JVP tangent is exactly 0 there, "
            "and no weight on the way is zero): the forward's math, not an init scale; signal gains omitted"
        )
        start_t = None
    # one weight layer: it is the output layer, whose scale is a design (an FQF fraction
    # proposal at gain .01, a zero head); the signal is judged at its input, as for deeper models
    if start_t and live:
        end = live[-1]
        report.judged_at = end
        report.hidden_signal_gain = recorder.stats[end]["t_in"] / start_t
        start_m2 = recorder.stats[live[0]].get("in")
        if start_m2 and recorder.stats[end].get("in") is not None and first is not None and first.is_floating_point():
            report.hidden_gain = recorder.stats[end]["in"] / start_m2
    report.normalized = any(
        "Norm" in type(recorder.stats[n]["module"]).__name__ for n in recorder.order
    )


def _cut_without_zero_weights(recorder: Recorder) -> str | None:
    """The module where the input's tangent becomes exactly 0 when no all-zero weight comes
    before it (softmax over a single key, a comparison, an integer cast): the output does not
    depend on that input at all, whatever the init. None when the tangent lives on, or when a
    zero weight is what cut it (a real collapse)."""
    cuts = []
    for name in recorder.order:
        record = recorder.stats[name]
        weight = weight_of(record["module"])
        if weight is not None and not bool(weight.detach().any()):
            return None
        t_in, t_out = record.get("t_in"), record.get("t_out")
        if t_in and t_out == 0.0:
            cuts.append(record["module"])
            if type(record["module"]).__module__ == "torch.nn.modules.activation":
                return None  # every unit of a ReLU dead: the init's doing (IL905 measures it)
            cuts[-1] = name
    return cuts[0] if cuts else None


def _mean_correlation(units: torch.Tensor, limit: int = 64) -> float | None:
    sample = units[:, :limit].double()
    if sample.shape[0] < 2 or sample.shape[1] < 2:
        return None
    centred = sample - sample.mean(dim=0, keepdim=True)
    std = centred.pow(2).mean(dim=0).sqrt()
    if bool((std < 1e-12).any()):
        return 1.0 if bool((std < 1e-12).all()) else None
    corr = (centred.t() @ centred) / sample.shape[0] / (std[:, None] * std[None, :])
    count = corr.shape[0]
    return float((corr.sum() - corr.diagonal().sum()) / (count * (count - 1)))
