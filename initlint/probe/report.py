"""What one probe run measured, as plain data: crosses process boundaries as JSON, no torch.

Gains are ratios of second moments (E[y^2] / E[x^2]), the quantity theory.py predicts. Each layer
has two: ``gain`` from the activations themselves (biases included) and ``signal_gain`` from a
forward-mode Jacobian-vector product (how much of the output still depends on the input; biases
cannot mask a collapse there). ``step_*`` gains run from this layer's input to the next weight
layer's input, so they include the activation in between, as the stack rules do.
"""

from __future__ import annotations

import math
from dataclasses import asdict, field, fields
from typing import Any

from initlint.lean import dataclass


@dataclass
class LayerStats:
    """One leaf module, in the order forward ran it."""

    name: str
    kind: str
    calls: int = 1
    out_std: float | None = None
    out_mean: float | None = None
    gain: float | None = None  # E[out^2] / E[in^2] of this layer
    signal_gain: float | None = None  # the same for the JVP tangent
    step_gain: float | None = None  # to the next weight layer's input (activation included)
    step_signal_gain: float | None = None
    weight_std: float | None = None
    weight_mean: float | None = None
    grad_norm: float | None = None
    grad_ratio: float | None = None  # ||dL/dW|| / ||W||
    saturated: float | None = None  # tanh/sigmoid modules: share of saturated outputs
    dead: float | None = None  # ReLU modules: share of units inactive on the whole batch
    #: shares if tanh or sigmoid followed this layer (saturated) or ReLU (``relu_dead``)
    pre_saturated: dict[str, float] = field(default_factory=dict)
    unit_correlation: float | None = None  # mean pairwise correlation of output units
    identical_units: bool | None = None  # every unit's output equal at init
    identical_after_sgd: bool | None = None  # weight rows still equal after the SGD steps
    activation: str | None = None  # tanh, sigmoid or relu seen applied to this layer's output
    rows: int | None = None  # units of the weight (its first dimension)
    identical_rows_at_init: bool | None = None  # every row of the weight equal (constant init)
    rank_after_sgd: int | None = None  # numerical rank of the weight rows after the SGD steps
    fan_in: int | None = None
    nonfinite: bool = False
    has_weight: bool = False
    zero_weight: bool = False  # every weight exactly 0 (a zero-init output layer or gate)


@dataclass
class Verdict:
    kind: str  # exploding, vanishing, symmetry, saturation, dead, nonfinite
    reason: str


@dataclass
class ModelReport:
    """The measurements of one model and the verdicts drawn from them."""

    target: str
    device: str = "cpu"
    seed: int = 0
    batch: int = 0
    input_shape: list[int] = field(default_factory=list)
    layers: list[LayerStats] = field(default_factory=list)
    output_gain: float | None = None
    signal_gain: float | None = None  # input -> output tangent second-moment gain
    hidden_signal_gain: float | None = None  # input -> the judged point (JVP)
    hidden_gain: float | None = None  # the same for the activations themselves
    #: the layer whose input is the judged point (see measure._hidden_path)
    judged_at: str | None = None
    #: the model has normalization layers: gradient norms across layers are not comparable
    normalized: bool = False
    first_last_grad: float | None = None
    nonfinite: bool = False
    sgd_steps: int = 0
    max_stable_lr: float | None = None
    hessian_max: float | None = None
    #: how the learning rate was estimated (exact or finite differences, iterations)
    lr_method: str | None = None
    #: Lanczos stopped before its top Ritz value settled: lambda_max is at least hessian_max, so
    #: max_stable_lr is an upper bound on the stable rate, not an estimate of it
    lr_upper_bound: bool = False
    seconds: float = 0.0
    verdicts: list[Verdict] = field(default_factory=list)
    #: verdicts on an input a norm layer could not use (too few values): reported, never counted
    warnings: list[Verdict] = field(default_factory=list)
    notes: list[str] = field(default_factory=list)
    #: BatchNorm ran in eval mode (its initial running statistics)
    norm_eval: bool = False
    #: the module where the input's signal is cut exactly by the forward's math (stats.py)
    signal_cut: str | None = None
    #: forward argument -> what the probe fed (``Bx3x224x224 float32``)
    inputs: dict[str, str] = field(default_factory=dict)

    def weight_layers(self) -> list[LayerStats]:
        return [layer for layer in self.layers if layer.has_weight]

    def to_dict(self) -> dict[str, Any]:
        return _clean(asdict(self))

    @classmethod
    def from_dict(cls, data: dict[str, Any]) -> "ModelReport":
        known = {f.name for f in fields(cls)}
        values = {k: _unclean(v) for k, v in data.items() if k in known}
        values["layers"] = [
            LayerStats(**{k: _unclean(v) for k, v in item.items()}) for item in data.get("layers", [])
        ]
        values["verdicts"] = [Verdict(**item) for item in data.get("verdicts", [])]
        values["warnings"] = [Verdict(**item) for item in data.get("warnings", [])]
        return cls(**values)

    def table(self) -> str:
        """Per-layer table: layer, type, output std, gain, signal gain, grad ratio, sat %, dead %."""
        header = ("layer", "type", "out std", "gain", "signal", "grad/w", "sat %", "dead %")
        rows = [header]
        for layer in self.layers:
            rows.append(
                (
                    layer.name + (f" (x{layer.calls})" if layer.calls > 1 else ""),
                    layer.kind,
                    _num(layer.out_std),
                    _num(layer.gain),
                    _num(layer.signal_gain),
                    _num(layer.grad_ratio),
                    _pct(layer.saturated),
                    _pct(layer.dead),
                )
            )
        widths = [max(len(row[i]) for row in rows) for i in range(len(header))]
        return "\n".join(
            "  ".join(cell.ljust(widths[i]) if i < 2 else cell.rjust(widths[i]) for i, cell in enumerate(row)).rstrip()
            for row in rows
        )


def _clean(value: Any) -> Any:
    """NaN and infinities as strings, so the JSON stays standard."""
    if isinstance(value, float) and not math.isfinite(value):
        return str(value)
    if isinstance(value, dict):
        return {k: _clean(v) for k, v in value.items()}
    if isinstance(value, list):
        return [_clean(v) for v in value]
    return value


def _unclean(value: Any) -> Any:
    if value in ("inf", "-inf", "nan"):
        return float(value)
    return value


def _num(value: float | None) -> str:
    if value is None:
        return "-"
    from initlint.theory import format_number

    return format_number(float(value))


def _pct(value: float | None) -> str:
    return "-" if value is None else f"{100 * value:.0f}"
