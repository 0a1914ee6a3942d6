"""IL1xx symmetry: constant weights keep every unit of a layer identical forever.

If all weights of a layer share one value, every unit computes the same output and receives the
same gradient, so no update can ever tell them apart. Zero is the right constant in a few places
(the last layer of a residual branch or head, LoRA's B, adaLN-Zero gates, norm biases) and one is
right for norm weights: those are not findings.
"""

from __future__ import annotations

import re
from typing import Iterable

from initlint import theory
from initlint.findings import Effect
from initlint.model.facts import FileFacts
from initlint.model.fold import is_number
from initlint.model.inits import InitCall, call_tokens
from initlint.model.network import networks, where
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.targets import fan_in, is_last_layer, is_norm_target, zero_by_design_name

CONSTANT_SCHEMES = frozenset({"zeros_", "ones_", "constant_"})
TOKENS = call_tokens("zeros_", "ones_", "constant_", "constant", "fill_", "zero_")
_FIX = (
    "draw the weights at random: nn.init.kaiming_uniform_(w, nonlinearity='relu') before ReLU, "
    "nn.init.xavier_uniform_(w) before tanh; zero only the last layer of a residual branch or head"
)


def constant_value(init: InitCall):
    """The constant an init writes, or None when it is not a constant init or not foldable."""
    if init.scheme == "zeros_":
        return 0
    if init.scheme == "ones_":
        return 1
    if init.scheme == "constant_":
        value = init.args.get("val")
        return value if is_number(value) else None
    return None


#: helpers that zero one sub-module on purpose, e.g. ControlNet's ``zero_module(conv)``
_ZERO_HELPER = re.compile(r"zero_?(module|conv|layer|linear)", re.IGNORECASE)


def _parameter_loop(init: InitCall):
    """The loop over ``.parameters()`` whose variable is the target, without a filter on it."""
    if init.target is None or init.target.path:
        return None
    if init.function and _ZERO_HELPER.search(init.function):
        return None
    for loop in reversed(init.loops):
        if loop.receiver in init.narrowed:
            return None  # the parameters of one kind of sub-module: a zero-module idiom
        if init.target.base in loop.names:
            if loop.over in {"parameters", "named_parameters"} and not loop.filtered(init):
                return loop
            return None
    return None


@rule(
    "IL101",
    "constant-weight-init",
    Effect.SYMMETRY,
    "a hidden layer's weight is set to a constant, so its units stay identical",
    TOKENS,
)
def constant_weight_init(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        value = constant_value(init)
        target = init.target
        if value is None or target is None or target.role != "weight":
            continue
        layer = facts.layer_of(init)
        if layer is None or not layer.has_weight or is_norm_target(facts, init):
            continue  # only layers the file shows to be weight layers: unknown stays silent
        if layer.family == "embedding":
            continue  # each row gets gradients only from its own tokens: rows diverge at once
        if value == 0 and any(layer is a.layer or layer is b.layer for _, a, b, _ in zero_pairs(facts)):
            continue  # a zero layer next to another zero layer: IL103 reports the pair
        if value == 0 and target.base != "self" and target.owner:
            continue  # `module.x.weight` of another class: whether x is hidden needs dataflow
        if target.text in facts.partial_writes:
            continue  # zeroed, then written block by block (a structured init)
        if value == 0 and (
            is_last_layer(facts, init)
            or zero_by_design_name(facts, init)
            or target.owner[-1:] == ("-1",)
        ):
            continue
        fan = fan_in(facts, init)
        units = layer.units if layer is not None and is_number(layer.units) else None
        owner = ".".join(target.owner) or f"{target.base} ({layer.kind if layer else '?'})"
        unit_text = f"all {theory.format_number(units)} units" if units else "all units"
        if value == 0:
            gain = 0.0
            effect = "the output carries no input signal (variance gain x0)"
        else:
            gain = fan.value * value * value if fan.known else None
            effect = (
                f"variance gain {theory.format_number(gain)} per layer"
                if gain is not None
                else f"variance gain fan-in x {theory.format_number(value * value)}"
            )
        yield Hit(
            init.node,
            f"`{target.text}` is set to the constant {theory.format_number(value)}: "
            f"{unit_text} of `{owner}` compute the same output and get the same gradient, "
            f"so they stay (nearly) identical; {effect}",
            {"value": value, "units": units, "predicted_gain": gain, "layer": owner},
            _FIX,
        )


@rule(
    "IL102",
    "constant-all-parameters",
    Effect.SYMMETRY,
    "every parameter of a model is set to one constant",
    TOKENS,
)
def constant_all_parameters(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        value = constant_value(init)
        loop = _parameter_loop(init) if value is not None else None
        if loop is None:
            continue
        source = f"{loop.receiver}.{loop.over}()" if loop.receiver else f"{loop.over}()"
        yield Hit(
            init.node,
            f"every parameter from `{source}` is set to {theory.format_number(value)}: the units "
            "of every layer compute the same output and get the same gradient, so the model "
            "learns like one unit per layer"
            + ("; with zero weights the output carries no input signal (variance gain x0)"
               if value == 0 else ""),
            {"value": value, "predicted_gain": 0.0 if value == 0 else None, "every_layer": True},
            "loop over modules with isinstance checks and draw weights at random "
            "(kaiming/xavier); set only biases and norm parameters to constants",
        )


def zero_pairs(facts: FileFacts):
    """(network, first step, second step, layer id -> its zero init): zero layers where the
    second reads the first. IL101 and IL103 both ask; it is computed once per file."""
    return facts.derived("zero_pairs", lambda: _zero_pairs(facts))


def _zero_pairs(facts: FileFacts):
    zeroed: dict[int, InitCall] = {}
    for init in facts.inits:
        if constant_value(init) == 0 and init.target is not None and init.target.role == "weight":
            for layer in facts.reach(init):
                zeroed[id(layer)] = init
    pairs = []
    if len(zeroed) >= 2:
        for network in networks(facts):
            for second in network.steps:
                first = second.source
                if (
                    first is not None
                    and id(first.layer) in zeroed
                    and id(second.layer) in zeroed
                    and first.layer.family in {"dense", "conv"}
                    and second.layer.family in {"dense", "conv"}
                ):
                    pairs.append((network, first, second, zeroed))
    return pairs


@rule(
    "IL103",
    "zero-branch",
    Effect.SYMMETRY,
    "two consecutive layers both zero: neither gets a gradient, the branch stays dead",
    TOKENS,
)
def zero_branch(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for network, first, second, zeroed in zero_pairs(facts):
        yield Hit(
            zeroed[id(second.layer)].node,
            f"`{first.layer.name}` and `{second.layer.name}` are both zero and "
            f"`{second.layer.name}` reads `{first.layer.name}`'s output: the gradient of "
            f"each is a product with the other's zero weights, so neither ever moves "
            "and the branch stays dead (LoRA zeroes only B, and draws A at random)",
            where(network, [first, second]),
            f"draw `{first.layer.name}` at random (kaiming_uniform_) and keep only "
            f"`{second.layer.name}` at zero",
        )
