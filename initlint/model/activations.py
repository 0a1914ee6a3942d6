"""Which activation a layer, function or method applies, in one canonical spelling.

``nn.ReLU()``, ``F.relu(x)``, ``torch.relu(x)``, ``x.relu()`` and ``x.clamp(min=0)`` are all
``relu``; ``nn.LeakyReLU(0.2)`` and ``F.leaky_relu(x, 0.2)`` are ``leaky_relu`` with slope 0.2.
The mismatch rules compare these names with the ``nonlinearity`` an init was written for.
"""

from __future__ import annotations

from typing import Any

from initlint import theory
from initlint.lean import dataclass
from initlint.model.values import is_number

#: nn layer class -> canonical activation
LAYER_ACTIVATIONS: dict[str, str] = {
    "ReLU": "relu", "ReLU6": "relu", "LeakyReLU": "leaky_relu", "PReLU": "leaky_relu",
    "RReLU": "leaky_relu", "ELU": "elu", "CELU": "elu", "SELU": "selu", "GELU": "gelu",
    "SiLU": "silu", "Mish": "silu", "Hardswish": "silu", "Tanh": "tanh", "Hardtanh": "tanh",
    "Softsign": "tanh", "Sigmoid": "sigmoid", "Hardsigmoid": "sigmoid", "Softplus": "softplus",
    "Identity": "identity", "GLU": "glu", "Softmax": "softmax", "LogSoftmax": "softmax",
}
#: torch / torch.nn.functional function or Tensor method name -> canonical activation
FUNCTION_ACTIVATIONS: dict[str, str] = {
    "relu": "relu", "relu_": "relu", "relu6": "relu", "leaky_relu": "leaky_relu",
    "leaky_relu_": "leaky_relu", "prelu": "leaky_relu", "rrelu": "leaky_relu", "elu": "elu",
    "elu_": "elu", "celu": "elu", "selu": "selu", "gelu": "gelu", "silu": "silu", "mish": "silu",
    "hardswish": "silu", "tanh": "tanh", "tanh_": "tanh", "hardtanh": "tanh", "softsign": "tanh",
    "sigmoid": "sigmoid", "sigmoid_": "sigmoid", "hardsigmoid": "sigmoid", "softplus": "softplus",
    "glu": "glu", "softmax": "softmax", "log_softmax": "softmax",
}
RELU_FAMILY = frozenset({"relu", "leaky_relu"})
SATURATING = frozenset({"tanh", "sigmoid"})
#: activations whose output lies in a fixed range, whatever their input
BOUNDED = SATURATING | {"softmax"}
#: PyTorch's default slopes: LeakyReLU 0.01, PReLU 0.25 (its initial value)
_DEFAULT_SLOPE = {"LeakyReLU": 0.01, "PReLU": 0.25, "RReLU": (1 / 8 + 1 / 3) / 2}


@dataclass(frozen=True)
class Activation:
    """An activation as the variance arithmetic needs it: its name and leaky slope."""

    name: str
    slope: float | None = None
    spelled: str = ""

    @property
    def factor(self) -> float:
        """Share of the second moment it keeps for a zero-mean input (theory.py).

        ReLU keeps 1/2 and leaky ReLU (1 + a^2)/2; every other activation is taken as 1 (the
        tanh-near-0 linear regime), which can only make a vanishing prediction milder.
        """
        if self.name == "relu":
            return theory.relu_factor()
        if self.name == "leaky_relu":
            return theory.leaky_relu_factor(self.slope if self.slope is not None else 0.01)
        return 1.0

    @property
    def gain_name(self) -> str | None:
        """The ``nonlinearity`` torch.nn.init.calculate_gain knows this activation by."""
        if self.name in {"relu", "leaky_relu", "tanh", "sigmoid", "selu"}:
            return self.name
        if self.name == "identity":
            return "linear"
        return None


def of_layer(kind: str, args: dict[str, Any]) -> Activation | None:
    """The activation an nn layer applies; LeakyReLU's slope from its folded arguments."""
    name = LAYER_ACTIVATIONS.get(kind)
    if name is None:
        return None
    slope = None
    if name == "leaky_relu":
        value = args.get("negative_slope", args.get("init", _DEFAULT_SLOPE.get(kind, 0.01)))
        slope = float(value) if is_number(value) else None
    return Activation(name, slope, f"nn.{kind}")


def of_function(name: str, slope: Any = None) -> Activation | None:
    """The activation a functional call or tensor method applies (``F.leaky_relu(x, 0.2)``)."""
    canonical = FUNCTION_ACTIVATIONS.get(name)
    if canonical is None:
        return None
    if canonical == "leaky_relu":
        value = 0.01 if slope is None else slope
        return Activation(canonical, float(value) if is_number(value) else None, name)
    return Activation(canonical, None, name)
