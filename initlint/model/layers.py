"""What torch.nn's layer classes are, how their constructors are called, and their fan-in/out.

Fan-in and fan-out follow ``torch.nn.init._calculate_fan_in_and_fan_out`` applied to the weight
shape each constructor creates, so a static gain matches what torch.nn.init would compute.
"""

from __future__ import annotations

import math
from dataclasses import dataclass, field
from typing import Any

import libcst as cst

from initlint.model.fold import UNKNOWN, is_number

#: positional parameter names of each constructor, as torch spells them
SIGNATURES: dict[str, tuple[str, ...]] = {
    "Linear": ("in_features", "out_features", "bias"),
    "LazyLinear": ("out_features", "bias"),
    "Bilinear": ("in1_features", "in2_features", "out_features", "bias"),
    "Embedding": ("num_embeddings", "embedding_dim", "padding_idx"),
    "EmbeddingBag": ("num_embeddings", "embedding_dim"),
    "MultiheadAttention": ("embed_dim", "num_heads", "dropout", "bias"),
    "RNN": ("input_size", "hidden_size", "num_layers"),
    "LSTM": ("input_size", "hidden_size", "num_layers"),
    "GRU": ("input_size", "hidden_size", "num_layers"),
    "RNNCell": ("input_size", "hidden_size", "bias"),
    "LSTMCell": ("input_size", "hidden_size", "bias"),
    "GRUCell": ("input_size", "hidden_size", "bias"),
    "LeakyReLU": ("negative_slope", "inplace"),
}
_CONV = ("in_channels", "out_channels", "kernel_size", "stride", "padding", "dilation", "groups")
_CONV_T = (
    "in_channels", "out_channels", "kernel_size", "stride", "padding", "output_padding", "groups",
)
for _dims in (1, 2, 3):
    SIGNATURES[f"Conv{_dims}d"] = _CONV
    SIGNATURES[f"ConvTranspose{_dims}d"] = _CONV_T

NORMS = frozenset(
    {
        "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm",
        "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "LocalResponseNorm",
        "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d",
    }
)
ACTIVATIONS = frozenset(
    {
        "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
        "Mish", "Tanh", "Sigmoid", "Hardtanh", "Hardswish", "Hardsigmoid", "Softplus",
        "Softsign", "Tanhshrink", "LogSigmoid", "Softmax", "LogSoftmax", "GLU", "Identity",
    }
)
CONTAINERS = frozenset({"Sequential", "ModuleList", "ModuleDict", "ParameterList", "ParameterDict"})
DENSE = frozenset({"Linear", "LazyLinear", "Bilinear"})
CONVS = frozenset(
    f"{prefix}{dims}d" for prefix in ("Conv", "ConvTranspose", "LazyConv", "LazyConvTranspose")
    for dims in (1, 2, 3)
)
EMBEDDINGS = frozenset({"Embedding", "EmbeddingBag"})
RECURRENT = frozenset({"RNN", "LSTM", "GRU", "RNNCell", "LSTMCell", "GRUCell"})
ATTENTION = frozenset({"MultiheadAttention"})


def family_of(kind: str) -> str | None:
    """dense, conv, embedding, recurrent, attention, norm, activation, container; None if not nn."""
    if kind in DENSE:
        return "dense"
    if kind in CONVS:
        return "conv"
    if kind in EMBEDDINGS:
        return "embedding"
    if kind in RECURRENT:
        return "recurrent"
    if kind in ATTENTION:
        return "attention"
    if kind in NORMS:
        return "norm"
    if kind in ACTIVATIONS:
        return "activation"
    if kind in CONTAINERS:
        return "container"
    return None


@dataclass(eq=False)  # a layer is one place in the file: compared by identity
class Layer:
    """One nn layer created in a module's ``__init__`` (or inside a container there)."""

    name: str
    kind: str
    family: str
    args: dict[str, Any]
    arg_nodes: dict[str, cst.BaseExpression]  # the source of each argument, for messages
    order: int
    node: cst.CSTNode
    children: list["Layer"] = field(default_factory=list)
    #: how many copies a container holds of this layer (``[nn.Linear(h, h) for _ in range(n)]``)
    repeat: Any = 1

    def child(self, key: str) -> "Layer | None":
        """A container's child by index; every index of a repeated template is the template."""
        for child in self.children:
            if child.name.rsplit(".", 1)[-1] == key:
                return child
        if len(self.children) == 1 and self.children[0].repeat != 1:
            return self.children[0]
        return None

    @property
    def fan_in(self) -> Any:
        return fans(self)[0]

    @property
    def fan_out(self) -> Any:
        return fans(self)[1]

    def describe_fan_in(self) -> str | None:
        """The source text of the size that decides fan-in, when it could not be folded."""
        for key in ("in_features", "in_channels", "in1_features", "input_size", "embed_dim"):
            if key in self.arg_nodes:
                return cst.Module([]).code_for_node(self.arg_nodes[key])  # only for messages
        return None

    @property
    def units(self) -> Any:
        """Output units (features or channels): what a constant weight makes identical."""
        for key in ("out_features", "out_channels", "hidden_size"):
            if key in self.args:
                return self.args[key]
        return self.fan_out

    @property
    def has_weight(self) -> bool:
        return self.family in {"dense", "conv", "embedding", "recurrent", "attention"}


def _kernel_volume(kind: str, kernel: Any) -> Any:
    dims = int(kind[-2]) if kind[-2].isdigit() else 2
    if is_number(kernel):
        return kernel**dims
    if isinstance(kernel, tuple) and all(is_number(k) for k in kernel):
        return math.prod(kernel)
    return UNKNOWN


def _times(*values: Any) -> Any:
    if all(is_number(v) for v in values):
        return math.prod(values)
    return UNKNOWN


def _div(value: Any, by: Any) -> Any:
    if is_number(value) and is_number(by) and by:
        return value / by
    return UNKNOWN


def fans(layer: Layer) -> tuple[Any, Any]:
    """(fan_in, fan_out) of the layer's main weight, as torch.nn.init computes them."""
    a, kind = layer.args, layer.kind
    if kind in ("Linear", "LazyLinear"):
        return a.get("in_features", UNKNOWN), a.get("out_features", UNKNOWN)
    if kind == "Bilinear":
        return _times(a.get("in1_features"), a.get("in2_features")), a.get("out_features", UNKNOWN)
    if layer.family == "conv":
        volume = _kernel_volume(kind, a.get("kernel_size", UNKNOWN))
        groups = a.get("groups", 1)
        if "Transpose" in kind:  # weight (in, out/groups, *k): torch's fan_in is size(1) * k
            return _times(_div(a.get("out_channels"), groups), volume), _times(
                a.get("in_channels"), volume
            )
        return _times(_div(a.get("in_channels"), groups), volume), _times(
            _div(a.get("out_channels"), groups), volume
        )
    if layer.family == "embedding":  # weight (num, dim): torch's fan_in is dim
        return a.get("embedding_dim", UNKNOWN), a.get("num_embeddings", UNKNOWN)
    if layer.family == "recurrent":
        return a.get("input_size", UNKNOWN), a.get("hidden_size", UNKNOWN)
    if layer.family == "attention":
        return a.get("embed_dim", UNKNOWN), _times(3, a.get("embed_dim"))
    return UNKNOWN, UNKNOWN
