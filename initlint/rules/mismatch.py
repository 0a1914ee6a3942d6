"""IL3xx mismatch: an init scheme tuned for one activation, and another one follows in forward.

Xavier keeps the variance of a *linear* layer (gain 1 at fan_in = fan_out); ReLU then drops
half, so each Xavier+ReLU layer halves the signal: 0.5^L through L layers. Kaiming's gain sqrt(2)
pays for that half; before tanh, which is linear near 0, it doubles the pre-activation variance
of each layer instead (std x1.41) and gradients grow with depth. The activation that follows a
layer comes from ``forward`` (flow.py); a norm or residual right after the layer makes the
question moot and the rules stay silent there.
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect
from initlint.model.activations import RELU_FAMILY, SATURATING
from initlint.model.facts import FileFacts
from initlint.model.flow import Step
from initlint.model.inits import InitCall, call_tokens
from initlint.model.network import placements, where
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.stacks import layer_gain, nonlinearity_of, second_moment, stacks

fmt = theory.format_number
_XAVIER = ("xavier_uniform_", "xavier_normal_")
_KAIMING = ("kaiming_uniform_", "kaiming_normal_")
_FAMILY = {
    "relu": "relu", "leaky_relu": "relu", "tanh": "saturating", "sigmoid": "saturating",
    "linear": "linear", "identity": "linear", "selu": "selu",
}


def _hidden(network, step: Step) -> bool:
    """A layer whose output feeds another layer (the output layer's activation is the task's)."""
    last = step is network.steps[-1] and step.repeat == 1
    return not last and not step.reset


@rule(
    "IL301",
    "xavier-before-relu",
    Effect.VANISHING,
    "xavier/glorot init before ReLU through depth: each layer halves the signal",
    call_tokens("xavier_uniform_", "xavier_normal_", "xavier_uniform", "xavier_normal"),
)
def xavier_before_relu(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.scheme not in _XAVIER or init.target is None or init.target.role == "bias":
            continue
        if nonlinearity_of(init) in RELU_FAMILY:
            continue  # gain=calculate_gain('relu') pays for the half ReLU drops
        relu_after = lambda step: step.activation is not None and step.activation.name in RELU_FAMILY  # noqa: E731
        found = [
            s for s in stacks(facts, init, relu_after)
            if s.depth >= 2 and max(s.gains) < 1.0 and s.total < limits.min_stack_gain
        ]
        if not found:
            continue
        stack = min(found, key=lambda item: item.total)
        activation = stack.steps[0].activation.spelled if stack.steps[0].activation else "ReLU"
        yield Hit(
            init.node,
            f"{init.scheme} keeps the variance of a linear layer, but `{activation}` follows "
            f"and keeps half of it: the variance gain is {stack.per_layer()} per layer, "
            f"x{fmt(stack.total)} over {stack.depth} layers ({stack.names}) with no "
            f"normalization between them (std x{fmt(math.sqrt(stack.total))})",
            {
                "predicted_gain": stack.gains[0],
                "depth": stack.depth,
                "stack_gain": stack.total,
                "includes_activation": True,  # the gain runs to the next layer's input
                "activation": stack.steps[0].activation.name if stack.steps[0].activation else None,
                **where(stack.network, stack.steps),
            },
            "use nn.init.kaiming_uniform_(w, nonlinearity='relu') (He init), or "
            "xavier_uniform_(w, gain=nn.init.calculate_gain('relu'))",
        )


def _following(facts: FileFacts, init: InitCall, names: frozenset[str]):
    """The first hidden (network, step) the init reaches whose activation is in ``names``."""
    for network, step in placements(facts, init):
        if step.activation is not None and step.activation.name in names and _hidden(network, step):
            return network, step
    return None


@rule(
    "IL302",
    "relu-init-before-tanh",
    Effect.EXPLODING,
    "kaiming (He) init or a ReLU gain before tanh or sigmoid: the variance doubles per layer",
    call_tokens("kaiming_uniform_", "kaiming_normal_", "kaiming_uniform", "kaiming_normal"),
)
def relu_init_before_tanh(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.scheme not in (*_KAIMING, *_XAVIER) or init.target is None or init.target.role == "bias":
            continue
        nonlinearity = nonlinearity_of(init)
        if nonlinearity not in RELU_FAMILY:
            continue  # xavier counts only with gain=calculate_gain('relu')
        found = _following(facts, init, SATURATING)
        if found is None:
            continue
        network, step = found
        moment = second_moment(init, step.layer)
        gain = layer_gain(step, moment, last=True) if moment is not None else None
        if gain is None or gain < 1.5:
            continue  # a large negative slope a: the gain is close to 1 already
        activation = step.activation.spelled
        yield Hit(
            init.node,
            f"{init.scheme} with the gain for '{nonlinearity}' is tuned for ReLU, but "
            f"`{activation}` follows `{step.layer.name}`: tanh-like units are linear near 0 and "
            f"drop nothing, so the pre-activation variance grows x{fmt(gain)} per layer "
            f"(std x{fmt(math.sqrt(gain))}) and gradients grow with depth",
            {"predicted_gain": gain, "activation": step.activation.name, **where(network, [step])},
            "use nn.init.xavier_uniform_(w) (Glorot init, made for tanh/sigmoid), or "
            "kaiming with nonlinearity='tanh' / gain=nn.init.calculate_gain('tanh')",
        )


@rule(
    "IL303",
    "nonlinearity-mismatch",
    Effect.VANISHING,
    "nonlinearity= or calculate_gain() names another activation than the one that follows",
    call_tokens(*_XAVIER, *_KAIMING, "xavier_uniform", "xavier_normal", "kaiming_uniform", "kaiming_normal"),
)
def nonlinearity_mismatch(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        if init.target is None or init.target.role == "bias":
            continue
        named = nonlinearity_of(init)
        if named is None or named not in _FAMILY:
            continue
        explicit = "nonlinearity" in init.arg_nodes or "gain" in init.arg_nodes
        if not explicit:
            continue
        if _FAMILY[named] == "relu" and init.scheme in (*_KAIMING, *_XAVIER):
            continue  # a ReLU gain before tanh/sigmoid is IL302
        for network, step in placements(facts, init):
            if step.activation is None or not _hidden(network, step):
                continue
            used = step.activation.gain_name
            if used is None or _FAMILY.get(used) in (None, _FAMILY[named]):
                continue
            moment = second_moment(init, step.layer)
            gain = layer_gain(step, moment, last=False) if moment is not None else None
            if gain is None or gain > 0.67:
                continue  # within a factor 1.5 of 1, or growing (IL302's side)
            yield Hit(
                init.node,
                f"`{init.scheme}` is tuned for '{named}', but `{step.activation.spelled}` follows "
                f"`{step.layer.name}`: the variance gain is {fmt(gain)} per layer "
                f"(std x{fmt(math.sqrt(gain))}) where the matching gain gives 1",
                {"predicted_gain": gain, "named": named, "activation": step.activation.name,
                 "includes_activation": True, **where(network, [step])},
                f"name the activation that follows: nonlinearity='{used}' or "
                f"gain=nn.init.calculate_gain('{used}')",
            )
            break
