"""IL210: a variance-scaling init given a gain far from any activation's.

``xavier_normal_(w, gain=0.02)`` reads like a std, but xavier multiplies its own
sqrt(2 / (fan_in + fan_out)) by the gain: E[W^2] = gain^2 * 2 / (fan_in + fan_out), so each layer
keeps gain^2 (4e-4) of the signal's variance. ``orthogonal_(w, gain=10)`` multiplies it by 100
instead. The gain is meant to be ``calculate_gain(nonlinearity)`` (1 to 5/3, sqrt(2) for ReLU);
a gain that is none of those, compounded over the evaluated stack like IL203 and IL201, is this
rule's finding. A single small-gain layer (PPO's ``orthogonal_(policy_head, gain=0.01)``, a
zero-ish output head) is a design; only a stack of them vanishes, unless the stack is a whole
branch drawn small to start adding ~0 (its last layer ends a residual branch or a gate).
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect, Prediction
from initlint.model.dists import FanScaled
from initlint.model.facts import FileFacts
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.gains import Stack, Step, layer_patterns, model_name, names, scaled_down_branch, stacks
from initlint.rules.support import anchor, live, named, target_text

fmt = theory.format_number


def _untuned(step: Step) -> FanScaled | None:
    """The step's xavier/orthogonal init when the code gave it a gain no activation has."""
    dist = step.write.dist
    if not isinstance(dist, FanScaled) or dist.scheme not in ("xavier", "orthogonal"):
        return None
    if not dist.explicit or dist.gain is None or dist.tuned_for() is not None:
        return None
    return dist


@rule(
    "IL210",
    "extreme-scheme-gain",
    Effect.VANISHING,
    "xavier_/orthogonal_ with a gain far from any activation's, compounded over a stack of layers",
    ("gain=", "xavier_", "orthogonal_"),
)
def extreme_scheme_gain(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        small = stacks(entry, lambda s: _untuned(s) is not None and s.gain < 1.0)
        for stack in small:
            if stack.depth < limits.min_stack_depth or stack.total >= limits.min_stack_gain:
                continue
            if scaled_down_branch(stack.steps[0].node, stack.steps[0].write):
                continue  # a branch drawn small whole to start adding ~0, by design
            hit = _hit(facts, entry, stack, Effect.VANISHING)
            if hit is not None:
                yield hit
        large = stacks(entry, lambda s: _untuned(s) is not None and s.linear_gain > limits.max_gain)
        for stack in large:
            hit = _hit(facts, entry, stack, Effect.EXPLODING)
            if hit is not None:
                yield hit


def _hit(facts: FileFacts, entry, stack: Stack, effect: Effect) -> Hit | None:
    first = stack.steps[0]
    dist = _untuned(first)
    at = anchor(facts, first.write.drawn.frames)
    if at is None or dist is None:
        return None
    fan = first.fan_in
    over = (
        f", x{fmt(stack.total)} over {stack.depth} layers ({names(facts, entry, stack.steps)}) with no "
        "normalization or residual between them" if stack.depth > 1 else ""
    )
    word = "vanishes" if effect is Effect.VANISHING else "explodes"
    message = (
        f"{dist.describe()} on {named(target_text(first.write), first.tensor)} gives E[W^2] = {fmt(first.moment)}; "
        f"at fan-in {fmt(fan)} the variance gain is {stack.per_layer()} per layer{over}: the signal {word} "
        f"(std x{fmt(math.sqrt(stack.total))}); a gain of {fmt(dist.gain)} is no activation's "
        "(calculate_gain gives 1 for linear/sigmoid, 5/3 for tanh, sqrt(2) for ReLU)"
    )
    if effect is Effect.VANISHING:
        message += f", and reads like a std ({dist.scheme} multiplies its own fan-based std by it)"
    return Hit(
        at,
        message,
        {"gain": dist.gain, "second_moment": first.moment, "fan_in": fan, "predicted_gain": first.gain,
         "depth": stack.depth, "stack_gain": stack.total},
        f"pass the gain of the activation that follows: {dist.spelled.split('(')[0]}(w, "
        "gain=nn.init.calculate_gain('relu')), or drop gain= for 1",
        Prediction(
            model=model_name(entry, stack.steps, facts), layers=layer_patterns(entry, stack.steps, facts),
            gain=first.gain, includes_activation=True, depth=stack.depth, stack_gain=stack.total,
        ),
        effect=effect,
        weight=stack.depth,
    )
