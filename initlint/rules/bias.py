"""IL4xx bias: biases forgotten by a custom init, or set so large the next unit saturates.

PyTorch's default bias is U(-1/sqrt(n), 1/sqrt(n)) (variance 1/(3n)), tied to its default weight
scale. An init loop that redraws the weights but not the biases leaves that default in place; with
small weights the biases then carry most of the output and hide a collapsed signal (the seeds'
ten-layer std-0.01 stack plateaus at variance ~3e-3 from the biases alone). A constant bias of
20 before a sigmoid starts the unit at sigmoid(20) = 1 - 2e-9, where its gradient is gone.
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect
from initlint.model.activations import SATURATING
from initlint.model.facts import FileFacts
from initlint.model.fold import is_number
from initlint.model.inits import InitCall, call_tokens
from initlint.model.network import placements, where
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.symmetry import constant_value

fmt = theory.format_number
#: |pre-activation| beyond which tanh is above 0.99 and sigmoid outside [0.01, 0.99]
SATURATION_POINT = {"tanh": math.atanh(0.99), "sigmoid": math.log(99.0)}
_DEFAULT_A = math.sqrt(5.0)


def _reproduces_default(init: InitCall) -> bool:
    """kaiming_uniform_(w, a=math.sqrt(5)): PyTorch's own reset_parameters, bias included."""
    slope = init.args.get("a")
    return init.scheme == "kaiming_uniform_" and is_number(slope) and math.isclose(slope, _DEFAULT_A)


def _has_bias(layer) -> bool:
    value = layer.args.get("bias", True)
    return value is not False and layer.family in {"dense", "conv"}


def _extends_parent(facts: FileFacts, init: InitCall) -> bool:
    """``super()._init_weights(module)`` or ``PreTrainedModel._init_weights(self, module)``
    first: the parent's init has set the bias already."""
    info = facts.function_of(init)
    if info is None:
        return False
    code = facts.code(info.node)
    return "super()." in code or f".{info.name}(self" in code


@rule(
    "IL401",
    "bias-left-default",
    Effect.MISUSE,
    "an init loop redraws the weights but leaves the biases at PyTorch's default",
    call_tokens("normal_", "uniform_", "xavier_uniform_", "xavier_normal_", "kaiming_uniform_",
                "kaiming_normal_", "orthogonal_", "trunc_normal_"),
)
def bias_left_default(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    biased: set[tuple[str | None, str | None, str]] = set()
    for init in facts.inits:
        if init.target is not None and init.target.role == "bias":
            biased.add((init.cls, init.function, init.target.base))
    reported: set[tuple[str | None, str | None, str]] = set()
    for init in facts.inits:
        target = init.target
        if target is None or target.path != ("weight",) or target.base == "self":
            continue
        if not init.narrowed.get(target.base) or _reproduces_default(init):
            continue  # only loops and apply functions that pick layers by isinstance
        key = (init.cls, init.function, target.base)
        if key in biased or key in reported:
            continue
        layers = [layer for layer in facts.reach(init) if _has_bias(layer)]
        if not layers or _extends_parent(facts, init):
            continue
        reported.add(key)
        names = ", ".join(f"`{layer.name}`" for layer in layers[:4]) + (", ..." if len(layers) > 4 else "")
        yield Hit(
            init.node,
            f"{init.scheme} redraws `{target.text}` of {len(layers)} layer(s) ({names}) but "
            f"`{target.base}.bias` keeps PyTorch's default U(-1/sqrt(fan_in), 1/sqrt(fan_in)), "
            "which belongs to the default weight scale: with a smaller weight scale the biases "
            "carry the output and hide a vanishing signal",
            {"reached": [layer.name for layer in layers]},
            f"initialize the bias in the same branch: `if {target.base}.bias is not None: "
            f"nn.init.zeros_({target.base}.bias)`",
        )


@rule(
    "IL402",
    "saturating-bias",
    Effect.SATURATION,
    "a constant bias so large that the tanh or sigmoid after it starts saturated",
    call_tokens("constant_", "constant", "fill_", "ones_"),
)
def saturating_bias(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    for init in facts.inits:
        value = constant_value(init)
        if value is None or init.target is None or init.target.role != "bias":
            continue
        for network, step in placements(facts, init):
            activation = step.activation
            if activation is None or activation.name not in SATURATING or step.reset:
                continue
            point = SATURATION_POINT[activation.name]
            if abs(value) < point:
                continue
            if activation.name == "tanh":
                output = math.tanh(value)
                slope = 1.0 - output * output
            else:
                output = 1.0 / (1.0 + math.exp(-value))
                slope = output * (1.0 - output)
                slope *= 4.0  # relative to sigmoid's slope at 0, 1/4
            shown = f"{output:.4g}" if abs(output) < 0.999 else (
                f"{'-' if output < 0 else ''}1 {'+' if output < 0 else '-'} {fmt(1 - abs(output))}"
            )
            yield Hit(
                init.node,
                f"`{init.target.text}` is set to {fmt(value)} and `{activation.spelled}` follows "
                f"`{step.layer.name}`: every unit starts at {activation.name}({fmt(value)}) = "
                f"{shown}, where the gradient is x{fmt(slope)} of its value at 0",
                {"value": value, "activation": activation.name, "gradient_factor": slope,
                 **where(network, [step])},
                f"keep |bias| below {point:.1f} (the saturation point of {activation.name}); "
                "zero is the usual choice",
            )
            break
