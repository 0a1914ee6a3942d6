"""Questions several rules ask about the tensor an init writes to.

Is it a norm layer's weight (where 1 and 0 are the right constants)? Is it the last layer of its
module (where zero is the zero-init-residual / output-head idiom)? What is its fan-in?
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from initlint.model.facts import FileFacts
from initlint.model.fold import UNKNOWN, is_number
from initlint.model.inits import InitCall
from initlint.model.layers import Layer, NORMS

#: attribute names that hold a norm layer in real code (bn1, norm2, ln_f, gn, layer_norm)
_NORM_NAME = re.compile(r"(^|[_.])(bn|gn|ln|norm)(\d|_|$)|norm|^ln_")
#: names of layers that are zeroed on purpose: heads, output projections, gates, LoRA B
_ZERO_BY_DESIGN = re.compile(
    r"head|out|proj|final|last|gate|ada_?ln|modulation|lora_?b|lora_up|zero|skip|classifier"
    r"|residual|to_logits",
    re.IGNORECASE,
)


def is_norm_target(facts: FileFacts, init: InitCall) -> bool:
    """A norm layer's affine weight or bias: its constant init is the standard one."""
    if any(kind in NORMS for kind in facts.owner_kinds(init)):
        return True
    target = init.target
    if target is None:
        return False
    owner = target.owner[-1] if target.owner else ""
    if owner and _NORM_NAME.search(owner.lower()):
        return True
    # DCGAN's ``if classname.find("BatchNorm") != -1:`` picks norm layers by name
    return any("norm" in facts.code(guard).lower() for guard in init.guards)


def is_last_layer(facts: FileFacts, init: InitCall) -> bool:
    """The target is the last weight layer its module creates: the output of a block or head."""
    layer = facts.layer_of(init)
    if layer is None or init.cls not in facts.classes or init.target is None:
        return False
    if init.target.base != "self":
        return False
    layers = facts.classes[init.cls].weight_layers()
    return bool(layers) and layers[-1] is layer


def zero_by_design_name(facts: FileFacts, init: InitCall) -> bool:
    """The owner's name, or an ``if`` around the call, says head, output, gate or LoRA B.

    ``if name.startswith("head"): zeros_(module.weight)`` (timm) is the same idiom as
    ``zeros_(self.head.weight)``.
    """
    if init.target is not None and any(
        _ZERO_BY_DESIGN.search(part) for part in init.target.owner if not part.isdigit()
    ):
        return True
    return any(_ZERO_BY_DESIGN.search(facts.code(guard)) for guard in init.guards)


@dataclass(frozen=True)
class FanIn:
    """The fan-in of the target's layer, or the source text of the size that decides it."""

    value: Any
    text: str | None
    layer: Layer | None

    @property
    def known(self) -> bool:
        return is_number(self.value) and self.value > 0


def fan_in(facts: FileFacts, init: InitCall) -> FanIn:
    layer = facts.layer_of(init)
    if layer is None:
        return FanIn(UNKNOWN, None, None)
    if layer.family == "embedding":  # a lookup: each output reads one row
        return FanIn(1, None, layer)
    return FanIn(layer.fan_in, layer.describe_fan_in(), layer)


def weight_like(facts: FileFacts, init: InitCall) -> bool:
    """A weight by its name, or a tensor of a layer the file creates (not its bias).

    Other parameters (Mamba's ``A_log`` drawn from U(1, 16), temperatures, offsets) are not
    multiplied into a signal, so a variance gain says nothing about them.
    """
    target = init.target
    if target is None or target.role == "bias":
        return False
    return target.role == "weight" or facts.layer_of(init) is not None
