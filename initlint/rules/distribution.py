"""IL2xx scale, from what a distribution is: a mean that dominates, bounds that cut, a wrong fan.

U(0, 1) is all positive; ``trunc_normal_``'s bounds are absolute (not in std units, as
TensorFlow's and timm's ``trunc_normal_tf_`` are); ``uniform_(w, 0.1, -0.1)`` raises; and a bound
computed from ``weight.size(0)`` of a Linear uses its fan-out.
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect, Prediction
from initlint.model.dists import Normal, TruncNormal, Uniform, fans
from initlint.model.effective import by_author, established, second_moment, trainable
from initlint.model.facts import FileFacts
from initlint.model.values import is_number
from initlint.model.tokens import INIT_TOKENS
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.gains import layer_label
from initlint.rules.scale import weights
from initlint.rules.support import anchor, live, model_of, named, target_text

fmt = theory.format_number
#: a weight's pairwise unit correlation above which units act as one (U(0, 1) gives 0.75)
MAX_CORRELATION = 0.5
#: a truncation that keeps less than this share of the requested std changes the init
MATERIAL_CUT = 0.8


@rule(
    "IL204",
    "positive-mean-weights",
    Effect.SYMMETRY,
    "weights drawn with a mean that dominates their spread (U(0, 1)): units move together",
    INIT_TOKENS,
)
def positive_mean_weights(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        for tensor, _ in weights(entry):
            write = established(tensor)
            if write is None or not by_author(write) or not trainable(tensor):
                continue
            shape = tensor.root.shape
            if isinstance(shape, tuple) and len(shape) < 2:
                continue  # a vector (``X @ w``, an attention vector): one unit, none to move together
            dist = write.dist
            if not isinstance(dist, (Uniform, Normal)) or isinstance(dist, Uniform) and dist.low > dist.high:
                continue
            moment = dist.second_moment(())
            mean = dist.mean
            if moment is None or moment <= 0 or mean is None:  # None: no finite number
                continue
            correlation = mean * mean / moment
            at = anchor(facts, write.drawn.frames)
            if correlation <= MAX_CORRELATION or at is None:
                continue
            default = " (the default bounds)" if write.spelled.endswith("uniform_") and _no_bounds(write) else ""
            model, path = model_of(entry, tensor, facts)
            yield Hit(
                at,
                f"{dist.describe()}{default} on {named(target_text(write), tensor)} has mean {fmt(mean)}: "
                f"every unit shares the component mean x sum(x), so any two units' outputs correlate "
                f"at {fmt(correlation)} (mean^2 / E[W^2]) and the layer acts like far fewer units",
                {"mean": mean, "second_moment": moment, "correlation": correlation},
                "draw zero-mean weights: nn.init.uniform_(w, -b, b) with b = sqrt(3 / fan_in), or "
                "nn.init.kaiming_uniform_(w, nonlinearity='relu')",
                Prediction(model=model, layers=(path,) if path else (), correlation=correlation),
            )


def _no_bounds(write) -> bool:
    node = write.place.node
    args = getattr(node, "args", ())
    return len(args) <= (1 if not write.spelled.startswith(".") else 0)


@rule(
    "IL205",
    "truncation-cuts-std",
    Effect.EXPLODING,
    "trunc_normal_'s absolute bounds cut the requested std, and the layer's gain is off",
    INIT_TOKENS,
)
def truncation_cuts_std(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        for tensor, node in weights(entry):
            write = established(tensor)
            if write is None or not by_author(write) or not isinstance(write.dist, TruncNormal):
                continue
            dist = write.dist
            cut = dist.cut
            moment = second_moment(tensor, write)
            at = anchor(facts, write.drawn.frames)
            if dist.std_units or cut is None or cut >= MATERIAL_CUT or moment is None or at is None:
                continue
            fan = node.fan_in if node is not None else fans(tensor.shape)[0]
            if not is_number(fan) or fan <= 0:
                continue
            gain = theory.layer_gain(fan, moment)
            if gain is None or gain <= limits.max_gain:  # None: beyond the float range
                continue  # a cut that leaves a healthy or small gain: IL203 judges the stack
            low, high = dist.bounds()
            model, path = model_of(entry, tensor, facts)
            yield Hit(
                at,
                f"{dist.describe()} on {named(target_text(write), tensor)} keeps only values in "
                f"[{fmt(low)}, {fmt(high)}]; these bounds are absolute, not in std units, so the drawn "
                f"std is {fmt(math.sqrt(moment))}, x{fmt(cut)} of the requested {fmt(dist.std)}; at "
                f"fan-in {fmt(fan)} that is still a variance gain of {fmt(gain)} per layer "
                f"(std x{fmt(math.sqrt(gain))}): the signal explodes",
                {"requested_std": dist.std, "std": math.sqrt(moment), "ratio": cut, "fan_in": fan,
                 "predicted_gain": gain},
                f"scale the std with the fan-in (std = sqrt(1 / fan_in) = {fmt(math.sqrt(1 / fan))}) and "
                "give the bounds in absolute units (a=-2 * std, b=2 * std)",
                Prediction(model=model, layers=(path,) if path else (), gain=gain),
            )


@rule(
    "IL206",
    "reversed-uniform-bounds",
    Effect.MISUSE,
    "uniform_ with its lower bound above the upper bound: RuntimeError",
    INIT_TOKENS,
)
def reversed_uniform_bounds(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        for record in entry.init_calls:
            dist = record.dist
            if not isinstance(dist, Uniform) or dist.low <= dist.high:
                continue
            at = anchor(facts, record.frames)
            if at is None:
                continue
            model = None
            if record.tensor is not None:
                model, path = model_of(entry, record.tensor, facts)
            low, high = fmt(dist.low), fmt(dist.high)
            yield Hit(
                at,
                f"uniform_ on `{record.target}` gets a={low} > b={high}: PyTorch raises "
                f"\"uniform_ expects to return a [from, to) range, but found from={low} > to={high}\" "
                "when this runs",
                {"low": dist.low, "high": dist.high, "raises": "uniform_ expects"},
                f"swap the bounds: uniform_(w, {high}, {low})",
                Prediction(model=model, raises="uniform_ expects"),
            )


@rule(
    "IL207",
    "fan-out-as-fan-in",
    Effect.MISUSE,
    "fan-in taken from weight.size(0) of a Linear or Conv, which is its fan-out",
    INIT_TOKENS,
)
def fan_out_as_fan_in(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        read = {id(event.subject) for event in entry.events if event.kind == "size-read" and event.other == 0}
        if not read:
            continue
        for tensor, _ in weights(entry):
            write = established(tensor)
            if write is None or not by_author(write) or id(tensor) not in read:
                continue
            shape = tensor.shape
            fan_in, fan_out = fans(shape)
            if not (isinstance(shape, tuple) and is_number(shape[0]) and is_number(fan_in)) or shape[0] == fan_in:
                continue
            scale = _scale(write.dist)
            if scale is None or not _scaled_by(scale, shape[0]):
                continue
            at = anchor(facts, write.drawn.frames)
            if at is None:
                continue
            gain = fan_in / shape[0]
            owner = layer_label(facts, entry, tensor)
            yield Hit(
                at,
                f"{write.dist.describe()} on {named(target_text(write), tensor)} is scaled by "
                f"1/sqrt({fmt(shape[0])}), the first dimension of `{owner}`'s weight, which is its "
                f"fan-out (weights are (out, in, ...)), not its fan-in {fmt(fan_in)}: the variance is "
                f"x{fmt(gain)} of what the formula intends",
                {"layer": owner, "fan_in": fan_in, "fan_out": shape[0]},
                "take the fan-in from weight.size(1) (times the kernel size for convs), or use "
                "torch.nn.init._calculate_fan_in_and_fan_out(w)",
            )


def _scale(dist) -> float | None:
    if isinstance(dist, Uniform) and math.isclose(dist.low, -dist.high):
        return dist.high
    if isinstance(dist, Normal) and dist.mean_ == 0:
        return dist.std
    return None


def _scaled_by(scale: float, size: float) -> bool:
    """scale == k / sqrt(size) for a constant k that fan-in formulas use."""
    for k in (1.0, math.sqrt(2.0), math.sqrt(3.0), math.sqrt(6.0), 2.0, 3.0):
        if math.isclose(scale, k / math.sqrt(size), rel_tol=1e-6):
            return True
    return False
