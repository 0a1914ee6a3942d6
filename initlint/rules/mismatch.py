"""IL3xx mismatch: an init scheme tuned for one activation, and another one follows in forward.

Xavier keeps the variance of a *linear* layer (gain 1 at fan_in = fan_out); ReLU then drops
half, so each Xavier+ReLU layer halves the signal: 0.5^L through L layers. Kaiming's gain sqrt(2)
pays for that half; before tanh, which is linear near 0, it doubles the pre-activation variance
of each layer instead (std x1.41) and gradients grow with depth. The activation that follows a
layer is read from the evaluated flow graph; a norm or residual right after the layer makes the
question moot and the rules stay silent there.
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect, Prediction
from initlint.model.activations import RELU_FAMILY, SATURATING
from initlint.model.dists import FanScaled
from initlint.model.facts import FileFacts
from initlint.model.graph import next_layer
from initlint.model.tokens import INIT_TOKENS
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.gains import layer_patterns, model_name, names, stacks, step_of
from initlint.rules.support import anchor, live, named, target_text

fmt = theory.format_number
_FAMILY = {
    "relu": "relu", "leaky_relu": "relu", "tanh": "saturating", "sigmoid": "saturating",
    "linear": "linear", "identity": "linear", "selu": "selu",
}
_TOKENS = INIT_TOKENS


def _scheme(step) -> FanScaled | None:
    dist = step.write.dist
    return dist if isinstance(dist, FanScaled) else None


@rule(
    "IL301",
    "xavier-before-relu",
    Effect.VANISHING,
    "xavier/glorot init before ReLU through depth: each layer halves the signal",
    _TOKENS,
)
def xavier_before_relu(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    def keep(step) -> bool:
        scheme = _scheme(step)
        return (
            scheme is not None and scheme.scheme == "xavier" and scheme.tuned_for() not in RELU_FAMILY
            and not scheme.explicit  # a gain the code names is IL303's question
            and step.activation is not None and step.activation.name in RELU_FAMILY
        )

    for entry in live(facts):
        for stack in stacks(entry, keep):
            if stack.depth < 2 or max(s.gain for s in stack.steps) >= 1.0 or stack.total >= limits.min_stack_gain:
                continue
            first = stack.steps[0]
            at = anchor(facts, first.write.drawn.frames)
            if at is None:
                continue
            activation = first.activation.spelled
            yield Hit(
                at,
                f"{first.write.dist.describe()} keeps the variance of a linear layer, but `{activation}` "
                f"follows and keeps half of it: the variance gain is {stack.per_layer()} per layer, "
                f"x{fmt(stack.total)} over {stack.depth} layers ({names(facts, entry, stack.steps)}) with "
                f"no normalization between them (std x{fmt(math.sqrt(stack.total))})",
                {"predicted_gain": first.gain, "depth": stack.depth, "stack_gain": stack.total,
                 "activation": first.activation.name},
                "use nn.init.kaiming_uniform_(w, nonlinearity='relu') (He init), or "
                "xavier_uniform_(w, gain=nn.init.calculate_gain('relu'))",
                Prediction(model=model_name(entry, stack.steps, facts), layers=layer_patterns(entry, stack.steps, facts),
                           gain=first.gain, includes_activation=True, depth=stack.depth, stack_gain=stack.total),
                weight=stack.depth,
            )


@rule(
    "IL302",
    "relu-init-before-tanh",
    Effect.EXPLODING,
    "kaiming (He) init or a ReLU gain before tanh or sigmoid: the variance doubles per layer",
    _TOKENS,
)
def relu_init_before_tanh(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    def keep(step) -> bool:
        scheme = _scheme(step)
        return (
            scheme is not None and scheme.tuned_for() in RELU_FAMILY and step.activation is not None
            and step.activation.name in SATURATING and step.linear_gain >= 1.5
        )

    for entry in live(facts):
        for stack in stacks(entry, keep):
            total = math.prod(theory.compound(s.linear_gain, s.repeat or 1) for s in stack.steps)
            if total <= limits.max_gain:
                continue  # a shallow net (CleanRL's two tanh layers at gain sqrt 2) stays in range
            first = stack.steps[0]
            scheme = _scheme(first)
            at = anchor(facts, first.write.drawn.frames)
            if at is None:
                continue
            gain = first.linear_gain
            yield Hit(
                at,
                f"{scheme.describe()} on {named(target_text(first.write), first.tensor)} is tuned for "
                f"ReLU, but `{first.activation.spelled}` follows it: tanh-like units are linear near 0 "
                f"and drop nothing, so the pre-activation variance grows x{fmt(gain)} per layer "
                f"(std x{fmt(math.sqrt(gain))}), x{fmt(total)} over {stack.depth} layers "
                f"({names(facts, entry, stack.steps)}), and gradients grow with depth",
                {"predicted_gain": gain, "activation": first.activation.name, "depth": stack.depth,
                 "stack_gain": total},
                "use nn.init.xavier_uniform_(w) (Glorot init, made for tanh/sigmoid), or "
                "kaiming with nonlinearity='tanh' / gain=nn.init.calculate_gain('tanh')",
                Prediction(model=model_name(entry, stack.steps, facts), layers=layer_patterns(entry, stack.steps, facts),
                           gain=gain, depth=stack.depth, stack_gain=total),
                weight=stack.depth,
            )


@rule(
    "IL303",
    "nonlinearity-mismatch",
    Effect.VANISHING,
    "nonlinearity= or calculate_gain() names another activation than the one that follows",
    _TOKENS,
)
def nonlinearity_mismatch(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    def keep(step) -> bool:
        scheme = _scheme(step)
        if scheme is None or not scheme.explicit or step.activation is None:
            return False
        named_for = scheme.tuned_for()
        if named_for not in _FAMILY or _FAMILY[named_for] == "relu":
            return False  # a ReLU gain before tanh/sigmoid is IL302
        used = step.activation.gain_name
        return used is not None and _FAMILY.get(used) not in (None, _FAMILY[named_for]) and step.gain <= 0.67

    for entry in live(facts):
        for stack in stacks(entry, keep):
            if stack.total >= limits.min_stack_gain:
                continue  # one or two such layers: the loss stays small
            first = stack.steps[0]
            scheme = _scheme(first)
            at = anchor(facts, first.write.drawn.frames)
            if at is None:
                continue
            named_for, used = scheme.tuned_for(), first.activation.gain_name
            yield Hit(
                at,
                f"`{scheme.describe()}` is tuned for '{named_for}', but `{first.activation.spelled}` "
                f"follows: the variance gain is {stack.per_layer()} per layer, x{fmt(stack.total)} over "
                f"{stack.depth} layers ({names(facts, entry, stack.steps)}) where the matching gain gives 1 "
                f"(std x{fmt(math.sqrt(stack.total))})",
                {"predicted_gain": first.gain, "named": named_for, "activation": first.activation.name,
                 "depth": stack.depth, "stack_gain": stack.total},
                f"name the activation that follows: nonlinearity='{used}' or gain=nn.init.calculate_gain('{used}')",
                Prediction(model=model_name(entry, stack.steps, facts), layers=layer_patterns(entry, stack.steps, facts),
                           gain=first.gain, includes_activation=True, depth=stack.depth, stack_gain=stack.total),
                weight=stack.depth,
            )


__all__ = ["names"]
