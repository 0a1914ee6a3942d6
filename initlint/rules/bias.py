"""IL4xx bias: biases that outweigh a redrawn weight, or so large the next unit saturates.

PyTorch's default bias is U(-1/sqrt(n), 1/sqrt(n)) (second moment 1/(3n)), chosen together with
its default weight scale. When the code redraws a layer's weights much smaller and keeps that
bias, the bias carries more of the output than the input does: activations look alive while the
input's signal has died (ten Linear(100, 100) layers at std 0.001 keep an activation variance
from the biases alone). A constant bias of 20 before a sigmoid starts the unit at
sigmoid(20) = 1 - 2e-9, where its gradient is gone.
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect, Prediction
from initlint.model.activations import SATURATING
from initlint.model.effective import by_author, established, second_moment
from initlint.model.facts import FileFacts
from initlint.model.graph import following_activation, gates_block_output, next_layer, role
from initlint.model.tensors import Tensor
from initlint.model.values import is_number
from initlint.model.tokens import INIT_TOKENS
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.gains import layer_patterns, model_name, scaled_down_branch, step_of
from initlint.rules.support import anchor, layer_name, live, model_of, named, target_text

fmt = theory.format_number
#: |pre-activation| beyond which tanh is above 0.99 and sigmoid outside [0.01, 0.99]
#: a bias this many times the input's share of a hidden layer's output makes the units constants
BIAS_DOMINANCE = 10.0
SATURATION_POINT = {"tanh": math.atanh(0.99), "sigmoid": math.log(99.0)}
#: where the saturated units' output goes (graph.role), as IL402's message says it
_REACH = {
    "hidden": "their output feeds other layers", "residual": "their output is summed into a block's output",
    "gate": "their output gates another signal", "attention": "their output feeds an attention product",
    "output": "their output is the model's output",
}


@rule(
    "IL401",
    "bias-left-default",
    Effect.MISUSE,
    "a hidden layer's weights redrawn so small that the default bias outweighs its input x10",
    INIT_TOKENS,
)
def bias_left_default(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        seen: set[int] = set()
        for node in entry.graph:
            step = step_of(node)
            if step is None or step.tensor.owner is None or id(step.write.place.node) in seen:
                continue
            bias = step.tensor.owner.params.get("bias")
            if not isinstance(bias, Tensor):
                continue
            bias_write = established(bias)
            if bias_write is None or by_author(bias_write):
                continue
            bias_moment = second_moment(bias, bias_write)
            signal = step.linear_gain
            at = anchor(facts, step.write.drawn.frames)
            if bias_moment is None or signal <= 0 or signal * BIAS_DOMINANCE > bias_moment or at is None:
                continue
            if next_layer(node) is None:
                continue  # an output layer's bias is the model's output offset, not hidden noise
            if scaled_down_branch(node, step.write):
                continue  # a branch drawn small whole to start adding ~0: its biases may lead
            seen.add(id(step.write.place.node))
            layer = layer_name(facts, entry, step.tensor)
            yield Hit(
                at,
                f"{step.write.dist.describe()} redraws {named(target_text(step.write), step.tensor)}: "
                f"at fan-in {fmt(step.fan_in)} the input reaches the output with variance "
                f"x{fmt(signal)}, while `{layer}.bias` keeps PyTorch's default "
                f"{bias_write.dist.describe()} (E[b^2] = {fmt(bias_moment)}, x{fmt(bias_moment / signal)} "
                "the input's share): the layer's units start nearly constant, their input barely "
                "matters, and activation statistics hide that the signal vanishes",
                {"predicted_gain": signal, "bias_second_moment": bias_moment, "layer": layer},
                f"initialize the bias with the weight: `nn.init.zeros_({layer}.bias)` (and scale the "
                "weight with the fan-in)",
                Prediction(model=model_name(entry, [step], facts), layers=layer_patterns(entry, [step], facts)),
            )


@rule(
    "IL402",
    "saturating-bias",
    Effect.SATURATION,
    "a constant bias so large that the tanh or sigmoid after it starts saturated",
    INIT_TOKENS,
)
def saturating_bias(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for entry in live(facts):
        for node in entry.graph:
            if node.op != "layer" or node.module is None:
                continue
            bias = node.module.params.get("bias")
            if not isinstance(bias, Tensor):
                continue
            write = established(bias)
            if write is None or not by_author(write):
                continue
            value = write.dist.constant
            activation = following_activation(node)
            if value is None or activation is None or activation.name not in SATURATING:
                continue
            point = SATURATION_POINT[activation.name]
            at = anchor(facts, write.drawn.frames)
            if abs(value) < point or at is None:
                continue
            reach = role(node)
            if reach in ("unknown", "unused"):
                continue  # where the saturated units' output goes is not established
            if activation.name == "sigmoid" and value < 0 and (reach == "output" or gates_block_output(node)):
                continue  # a rare class's prior (focal loss), or a block gated closed at the start: designs
            if activation.name == "tanh":
                output = math.tanh(value)
                slope = 1.0 - output * output
            else:
                output = 1.0 / (1.0 + math.exp(-value)) if value > -700 else 0.0
                slope = 4.0 * output * (1.0 - output)
            shown = f"{output:.4g}" if abs(output) < 0.999 else (
                f"{'-' if output < 0 else ''}1 {'+' if output < 0 else '-'} {fmt(1 - abs(output))}"
            )
            layer = node.module.path or "the layer"
            yield Hit(
                at,
                f"{named(target_text(write), bias)} is set to {fmt(value)} and `{activation.spelled}` "
                f"follows `{layer}`: every unit starts at {activation.name}({fmt(value)}) = {shown}, "
                f"where the gradient is x{fmt(slope)} of its value at 0, and {_REACH[reach]}",
                {"value": value, "activation": activation.name, "gradient_factor": slope, "role": reach},
                f"keep |bias| below {point:.1f} (the saturation point of {activation.name}); zero is the usual choice",
                Prediction(model=model_of(entry, bias, facts)[0], layers=(layer,), saturated_by=activation.name),
            )


__all__ = ["is_number"]
