"""IL2xx scale: weight ranges whose predicted per-layer variance gain is far from 1.

A layer with fan-in n and weights of second moment E[W^2] multiplies the second moment of its
input by G = n * E[W^2] (theory.py). U(-100, 100) has E[W^2] = 3.3e3, so at fan-in 128 the gain
is 4.3e5 per layer (std x650) where PyTorch's default gives 1/3. Where the fan-in cannot be
folded, the rule fires only when the gain exceeds the limit for every fan-in (E[W^2] alone does).
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect
from initlint.model.facts import FileFacts
from initlint.model.fold import is_number
from initlint.model.inits import InitCall, call_tokens
from initlint.rules.base import Hit, Thresholds, rule
from initlint.model.network import where
from initlint.rules.stacks import exploding_chain, second_moment, stacks
from initlint.rules.targets import FanIn, fan_in, weight_like

fmt = theory.format_number


def _explosion(
    facts: FileFacts, init: InitCall, limits: Thresholds, second_moment: float, spelled: str
) -> Hit | None:
    """A Hit when this second moment explodes at the target's fan-in (or at every fan-in)."""
    fan = fan_in(facts, init)
    target = init.target.text if init.target is not None else "the tensor"
    if fan.known:
        gain = theory.layer_gain(fan.value, second_moment)
        if gain <= limits.max_gain:
            return None
        at = f"at fan-in {fmt(fan.value)}" + (f" ({fan.text})" if _is_symbolic(fan) else "")
        details = {"second_moment": second_moment, "fan_in": fan.value, "predicted_gain": gain}
        chain = exploding_chain(facts, fan.layer, limits.max_gain) if fan.layer is not None else None
        depth = ""
        if chain is not None:
            depth = (
                f", x{fmt(chain.total)} over {chain.depth} layers ({chain.names}) with no "
                "normalization between them"
            )
            details.update(depth=chain.depth, stack_gain=chain.total)
            details.update(where(chain.network, chain.steps))
        message = (
            f"{spelled} on `{target}` gives E[W^2] = {fmt(second_moment)}; {at} the variance "
            f"gain is {fmt(gain)} per layer (std x{fmt(math.sqrt(gain))}){depth}; "
            f"PyTorch's default gives {fmt(1 / 3)}"
        )
        bound = math.sqrt(3.0 / fan.value)
        fix = (
            f"use nn.init.kaiming_uniform_(w, nonlinearity='relu') or U(-b, b) with "
            f"b = sqrt(3 / fan_in) = {fmt(bound)} for a gain of 1"
        )
    else:
        if second_moment <= limits.max_gain:
            return None
        size = f"fan-in `{fan.text}`" if fan.text else "any fan-in n"
        message = (
            f"{spelled} on `{target}` gives E[W^2] = {fmt(second_moment)}: the variance gain is "
            f"{fmt(second_moment)} x n per layer for {size}, above {fmt(limits.max_gain)} "
            f"for every n >= 1 (a gain of 1 needs E[W^2] = 1/n)"
        )
        details = {
            "second_moment": second_moment,
            "fan_in": None,
            "predicted_gain": None,
            "gain_per_fan_in": second_moment,
        }
        fix = "use nn.init.kaiming_uniform_(w, nonlinearity='relu'), or U(-b, b) with b = sqrt(3 / fan_in)"
    return Hit(init.node, message, details, fix)


def _is_symbolic(fan: FanIn) -> bool:
    return bool(fan.text) and not fan.text.replace(".", "").isdigit()


@rule(
    "IL201",
    "extreme-uniform-range",
    Effect.EXPLODING,
    "uniform_ bounds so wide the variance grows by orders of magnitude per layer",
    call_tokens("uniform_", "uniform"),
)
def extreme_uniform_range(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.scheme != "uniform_" or not weight_like(facts, init):
            continue
        low, high = init.value("a"), init.value("b")
        if not (is_number(low) and is_number(high)):
            continue
        spelled = f"U({fmt(low)}, {fmt(high)})"
        hit = _explosion(facts, init, limits, theory.uniform_second_moment(low, high), spelled)
        if hit is not None:
            hit.details.update(low=low, high=high)
            yield hit


@rule(
    "IL202",
    "extreme-normal-std",
    Effect.EXPLODING,
    "normal_ std so large the variance grows by orders of magnitude per layer",
    call_tokens("normal_", "normal"),
)
def extreme_normal_std(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.scheme != "normal_" or not weight_like(facts, init):
            continue
        mean, std = init.value("mean"), init.value("std")
        if not (is_number(mean) and is_number(std)):
            continue
        spelled = f"N({fmt(mean)}, {fmt(std)}^2)"
        hit = _explosion(facts, init, limits, theory.normal_second_moment(mean, std), spelled)
        if hit is not None:
            hit.details.update(mean=mean, std=std)
            yield hit


#: schemes whose size the author chose as a number (std, bounds), not from the fan-in
_NUMERIC_SCHEMES = frozenset({"normal_", "uniform_", "trunc_normal_", "trunc_normal_tf_"})


@rule(
    "IL203",
    "vanishing-stack",
    Effect.VANISHING,
    "a std or range too small for a stack of layers: the signal shrinks layer after layer",
    call_tokens("normal_", "uniform_", "normal", "uniform"),
)
def vanishing_stack(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.scheme not in _NUMERIC_SCHEMES or not weight_like(facts, init):
            continue
        found = [
            stack
            for stack in stacks(facts, init)
            if stack.depth >= limits.min_stack_depth
            and max(stack.gains) < 1.0
            and stack.total < limits.min_stack_gain
        ]
        if not found:
            continue
        stack = min(found, key=lambda item: item.total)
        first = stack.steps[0].layer
        fan = first.fan_in
        target = init.target.text if init.target is not None else "the tensor"
        moment = second_moment(init, first) or 0.0
        std = math.sqrt(1.0 / fan) if is_number(fan) and fan > 0 else None
        yield Hit(
            init.node,
            f"{_spelled(init)} on `{target}` gives E[W^2] = {fmt(moment)}; at fan-in "
            f"{fmt(fan)} the variance gain is {stack.per_layer()} per layer, "
            f"x{fmt(stack.total)} over {stack.depth} layers ({stack.names}) with no "
            f"normalization or residual between them: the signal vanishes "
            f"(std x{fmt(math.sqrt(stack.total))})",
            {
                "second_moment": moment,
                "fan_in": fan,
                "predicted_gain": stack.gains[0],
                "depth": stack.depth,
                "stack_gain": stack.total,
                "includes_activation": True,  # the gain runs to the next layer's input
                **where(stack.network, stack.steps),
            },
            "scale the std with the fan-in: nn.init.kaiming_normal_(w, nonlinearity='relu') "
            "before ReLU, nn.init.xavier_normal_(w) otherwise"
            + (f" (std = sqrt(1 / fan_in) = {fmt(std)} keeps the gain at 1)" if std else ""),
        )


def _spelled(init: InitCall) -> str:
    if init.scheme == "uniform_":
        return f"U({fmt(init.value('a'))}, {fmt(init.value('b'))})"
    mean, std = init.value("mean"), init.value("std")
    name = "N" if init.scheme == "normal_" else init.scheme.rstrip("_")
    return f"{name}({fmt(mean)}, {fmt(std)}^2)"
