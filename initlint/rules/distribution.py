"""IL2xx scale, from the arguments alone: a mean that dominates, bounds that cut, a wrong fan.

These rules read what the init call itself says, before any fan-in: U(0, 1) is all positive,
``trunc_normal_``'s bounds are absolute (not in std units, as TensorFlow's and timm's
``trunc_normal_tf_`` are), ``uniform_(w, 0.1, -0.1)`` raises, and ``weight.size(0)`` of a Linear
is its fan-out.
"""

from __future__ import annotations

import math
import re
from typing import Iterable

from initlint import theory
from initlint.findings import Effect
from initlint.model.facts import FileFacts
from initlint.model.fold import is_number
from initlint.model.inits import call_tokens
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.targets import is_norm_target, weight_like

fmt = theory.format_number
#: a weight's pairwise unit correlation above which units act as one (U(0, 1) gives 0.75)
MAX_CORRELATION = 0.5


@rule(
    "IL204",
    "positive-mean-weights",
    Effect.SYMMETRY,
    "weights drawn with a mean that dominates their spread (U(0, 1)): units move together",
    call_tokens("uniform_", "normal_", "uniform", "normal"),
)
def positive_mean_weights(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.scheme not in {"uniform_", "normal_"} or not weight_like(facts, init):
            continue
        if is_norm_target(facts, init):
            continue  # norm scales drawn around 1 (DCGAN's N(1, 0.02)) are meant to be positive
        layer = facts.layer_of(init)
        names = " ".join(init.target.path).lower()
        if layer is not None and layer.family not in {"dense", "conv"} or "embed" in names:
            continue  # rows are looked up, not summed: DETR's U(0, 1) position embeddings
        if layer is None and init.target.attribute != "weight":
            continue  # a free parameter (wav2vec2's masked_spec_embed) is no weight matrix
        if init.scheme == "uniform_":
            low, high = init.value("a"), init.value("b")
            if not (is_number(low) and is_number(high)) or low > high:
                continue
            mean = (low + high) / 2.0
            moment = theory.uniform_second_moment(low, high)
            spelled = f"U({fmt(low)}, {fmt(high)})" + (" (the default bounds)" if not init.arg_nodes else "")
        else:
            mean, std = init.value("mean"), init.value("std")
            if not (is_number(mean) and is_number(std)):
                continue
            moment = theory.normal_second_moment(mean, std)
            spelled = f"N({fmt(mean)}, {fmt(std)}^2)"
        if moment <= 0:
            continue
        correlation = mean * mean / moment
        if correlation <= MAX_CORRELATION:
            continue
        yield Hit(
            init.node,
            f"{spelled} on `{init.target.text}` has mean {fmt(mean)}: every unit shares the "
            f"component mean x sum(x), so any two units' outputs correlate at "
            f"{fmt(correlation)} (mean^2 / E[W^2]) and the layer acts like far fewer units",
            {"mean": mean, "second_moment": moment, "correlation": correlation},
            "draw zero-mean weights: nn.init.uniform_(w, -b, b) with b = sqrt(3 / fan_in), or "
            "nn.init.kaiming_uniform_(w, nonlinearity='relu')",
        )


@rule(
    "IL205",
    "truncation-cuts-std",
    Effect.VANISHING,
    "trunc_normal_'s absolute bounds cut the requested std",
    call_tokens("trunc_normal_"),
)
def truncation_cuts_std(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.scheme != "trunc_normal_" or init.target is None:
            continue
        mean, std, low, high = (init.value(name) for name in ("mean", "std", "a", "b"))
        if not all(is_number(v) for v in (mean, std, low, high)) or std <= 0 or low >= high:
            continue
        moment = theory.trunc_normal_second_moment(mean, std, low, high)
        requested = mean * mean + std * std
        ratio = math.sqrt(moment / requested)
        if ratio >= 0.8:
            continue
        yield Hit(
            init.node,
            f"trunc_normal_(std={fmt(std)}) on `{init.target.text}` keeps only values in "
            f"[{fmt(low)}, {fmt(high)}]; these bounds are absolute, not in std units, so the "
            f"drawn std is {fmt(math.sqrt(moment))}, x{fmt(ratio)} of the requested "
            f"{fmt(std)} (variance x{fmt(ratio * ratio)})",
            {"requested_std": std, "std": math.sqrt(moment), "ratio": ratio},
            f"pass bounds in absolute units (a=-2 * std, b=2 * std = {fmt(2 * std)}), or use "
            "timm's trunc_normal_tf_ whose bounds are in std units",
        )


@rule(
    "IL206",
    "reversed-uniform-bounds",
    Effect.MISUSE,
    "uniform_ with its lower bound above the upper bound: RuntimeError",
    call_tokens("uniform_", "uniform"),
)
def reversed_uniform_bounds(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.scheme != "uniform_" or init.target is None:
            continue
        low, high = init.value("a"), init.value("b")
        if not (is_number(low) and is_number(high)) or low <= high:
            continue
        yield Hit(
            init.node,
            f"uniform_ on `{init.target.text}` gets a={fmt(low)} > b={fmt(high)}: PyTorch raises "
            f"\"uniform_ expects to return a [from, to) range, but found from={fmt(low)} > "
            f"to={fmt(high)}\" when this runs",
            {"low": low, "high": high, "raises": "uniform_ expects"},
            f"swap the bounds: uniform_(w, {fmt(high)}, {fmt(low)})",
        )


#: ``self.fc.weight.size(0)``, ``.data.size()[0]``, ``.shape[0]``: a Linear's out_features
#: (without the owner it starts with a literal, so it scans a whole file quickly)
_SIZE_ZERO_ANYWHERE = re.compile(r"\.weight(?:\.data)?\.(?:size\(\s*0\s*\)|size\(\)\[0\]|shape\[0\])")
_SIZE_ZERO = re.compile(r"(?P<owner>[A-Za-z_][\w.]*?)" + _SIZE_ZERO_ANYWHERE.pattern)


@rule(
    "IL207",
    "fan-out-as-fan-in",
    Effect.MISUSE,
    "fan-in taken from weight.size(0) of a Linear or Conv, which is its fan-out",
    call_tokens("uniform_", "normal_", "uniform", "normal"),  # it judges uniform_/normal_ calls
)
def fan_out_as_fan_in(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    layers = {
        f"self.{name}": layer
        for cls in facts.classes.values()
        for name, layer in cls.layers.items()
        if layer.family in {"dense", "conv"}
    }
    if not layers or "sqrt" not in facts.text:
        return
    helpers = _size_zero_helpers(facts)
    # regenerating a function's code is costly: only where the file reads a weight's size(0)
    sized = facts.inits if _SIZE_ZERO_ANYWHERE.search(facts.text) else []
    for init in sized:
        info = facts.function_of(init)
        if info is None or init.scheme not in {"uniform_", "normal_"}:
            continue
        args = " ".join(facts.code(node) for node in init.arg_nodes.values())
        if "sqrt" not in args and not _defined_with_sqrt(facts.code(info.node), args):
            continue
        for match in _SIZE_ZERO.finditer(facts.code(info.node)):
            layer = layers.get(match.group("owner"))
            if layer is not None:
                yield _hit(init.node, f"`{match.group(0)}`", layer)
                break
    for name, call in helpers:
        for match in re.finditer(rf"{name}\(\s*(?P<owner>[\w.]+)\.weight(?:\.data)?\.size\(\)", facts.text):
            layer = layers.get(match.group("owner"))
            if layer is None:
                continue
            for init in facts.inits:
                if init.function == name:
                    yield _hit(init.node, f"{call} via `{match.group(0)})`", layer)
                    break


def _defined_with_sqrt(code: str, args: str) -> bool:
    """``bound = 1 / math.sqrt(fan_in)`` earlier in the function, then ``uniform_(w, -bound, bound)``."""
    for name in re.findall(r"[A-Za-z_]\w*", args):
        if re.search(rf"\b{name}\s*=.*sqrt", code):
            return True
    return False


def _size_zero_helpers(facts: FileFacts) -> list[tuple[str, str]]:
    """Functions that draw an init from ``param[0]`` under a sqrt (DDPG's fanin_init)."""
    found = []
    with_inits = {(init.cls, init.function) for init in facts.inits if init.function}
    for (cls, name), info in facts.functions.items():
        if (cls, name) not in with_inits or not info.params:
            continue
        param = info.params[1] if cls is not None and len(info.params) > 1 else info.params[0]
        if f"{param}[0]" not in facts.text:
            continue  # cheap on the file's text before regenerating the function's code
        code = facts.code(info.node)
        if "sqrt" in code and re.search(rf"\b{re.escape(param)}\[0\]", code):
            found.append((name, f"`{param}[0]` in `{name}`"))
    return found


def _hit(node, spelled: str, layer) -> Hit:
    fan_in, fan_out = layer.fan_in, layer.fan_out
    ratio = ""
    if is_number(fan_in) and is_number(fan_out) and fan_out > 0:
        gain = fan_in / fan_out
        ratio = (
            f"; here fan-in {fmt(fan_in)} and fan-out {fmt(fan_out)}, so the variance is "
            f"x{fmt(gain)} of what the formula intends"
        )
    return Hit(
        node,
        f"{spelled} is the first dimension of `{layer.name}.weight` ({layer.kind} weights are "
        f"(out, in, ...)): that is the fan-out, not the fan-in{ratio}",
        {"layer": layer.name, "fan_in": fan_in, "fan_out": fan_out},
        "take the fan-in from weight.size(1) (times the kernel size for convs), or use "
        "torch.nn.init._calculate_fan_in_and_fan_out(w)",
    )
