"""torch.nn's classes as the evaluator knows them: family, constructor signature, ancestry.

The signatures are torch's own (torch 2.x), in order, with their defaults, so a call binds its
arguments the way torch would. ``REQUIRED`` marks a parameter without a default. A class that is
not listed is modelled as ``opaque``: a module whose parameters and forward are not known.
"""

from __future__ import annotations

from functools import lru_cache

from typing import Any

REQUIRED: Any = object()

_CONV = (
    ("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED),
    ("stride", 1), ("padding", 0), ("dilation", 1), ("groups", 1), ("bias", True),
    ("padding_mode", "zeros"),
)
_CONV_T = (
    ("in_channels", REQUIRED), ("out_channels", REQUIRED), ("kernel_size", REQUIRED),
    ("stride", 1), ("padding", 0), ("output_padding", 0), ("groups", 1), ("bias", True),
    ("dilation", 1), ("padding_mode", "zeros"),
)
_RNN = (
    ("input_size", REQUIRED), ("hidden_size", REQUIRED), ("num_layers", 1), ("bias", True),
    ("batch_first", False), ("dropout", 0.0), ("bidirectional", False), ("proj_size", 0),
)
_BATCH_NORM = (
    ("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", True),
    ("track_running_stats", True),
)
_INSTANCE_NORM = (
    ("num_features", REQUIRED), ("eps", 1e-5), ("momentum", 0.1), ("affine", False),
    ("track_running_stats", False),
)

SIGNATURES: dict[str, tuple[tuple[str, Any], ...]] = {
    "Linear": (("in_features", REQUIRED), ("out_features", REQUIRED), ("bias", True)),
    "LazyLinear": (("out_features", REQUIRED), ("bias", True)),
    "Bilinear": (
        ("in1_features", REQUIRED), ("in2_features", REQUIRED), ("out_features", REQUIRED),
        ("bias", True),
    ),
    "Embedding": (
        ("num_embeddings", REQUIRED), ("embedding_dim", REQUIRED), ("padding_idx", None),
        ("max_norm", None), ("norm_type", 2.0), ("scale_grad_by_freq", False), ("sparse", False),
        ("_weight", None), ("_freeze", False),
    ),
    "EmbeddingBag": (
        ("num_embeddings", REQUIRED), ("embedding_dim", REQUIRED), ("max_norm", None),
        ("norm_type", 2.0), ("scale_grad_by_freq", False), ("mode", "mean"), ("sparse", False),
        ("_weight", None), ("include_last_offset", False), ("padding_idx", None),
    ),
    "RNN": (
        ("input_size", REQUIRED), ("hidden_size", REQUIRED), ("num_layers", 1),
        ("nonlinearity", "tanh"), ("bias", True), ("batch_first", False), ("dropout", 0.0),
        ("bidirectional", False),
    ),
    "LSTM": _RNN,
    "GRU": _RNN,
    "RNNCell": (("input_size", REQUIRED), ("hidden_size", REQUIRED), ("bias", True), ("nonlinearity", "tanh")),
    "LSTMCell": (("input_size", REQUIRED), ("hidden_size", REQUIRED), ("bias", True)),
    "GRUCell": (("input_size", REQUIRED), ("hidden_size", REQUIRED), ("bias", True)),
    "MultiheadAttention": (
        ("embed_dim", REQUIRED), ("num_heads", REQUIRED), ("dropout", 0.0), ("bias", True),
        ("add_bias_kv", False), ("add_zero_attn", False), ("kdim", None), ("vdim", None),
        ("batch_first", False),
    ),
    "BatchNorm1d": _BATCH_NORM,
    "BatchNorm2d": _BATCH_NORM,
    "BatchNorm3d": _BATCH_NORM,
    "SyncBatchNorm": (*_BATCH_NORM, ("process_group", None)),
    "InstanceNorm1d": _INSTANCE_NORM,
    "InstanceNorm2d": _INSTANCE_NORM,
    "InstanceNorm3d": _INSTANCE_NORM,
    "LayerNorm": (
        ("normalized_shape", REQUIRED), ("eps", 1e-5), ("elementwise_affine", True), ("bias", True),
    ),
    "GroupNorm": (("num_groups", REQUIRED), ("num_channels", REQUIRED), ("eps", 1e-5), ("affine", True)),
    "RMSNorm": (("normalized_shape", REQUIRED), ("eps", None), ("elementwise_affine", True)),
    "LocalResponseNorm": (("size", REQUIRED), ("alpha", 1e-4), ("beta", 0.75), ("k", 1.0)),
    "PReLU": (("num_parameters", 1), ("init", 0.25)),
    "LeakyReLU": (("negative_slope", 0.01), ("inplace", False)),
    "ELU": (("alpha", 1.0), ("inplace", False)),
    "CELU": (("alpha", 1.0), ("inplace", False)),
    "RReLU": (("lower", 1 / 8), ("upper", 1 / 3), ("inplace", False)),
    "Hardtanh": (("min_val", -1.0), ("max_val", 1.0), ("inplace", False)),
    "Softplus": (("beta", 1.0), ("threshold", 20.0)),
    "Softmax": (("dim", None),),
    "LogSoftmax": (("dim", None),),
    "GLU": (("dim", -1),),
    "Dropout": (("p", 0.5), ("inplace", False)),
    "Flatten": (("start_dim", 1), ("end_dim", -1)),
    "Unflatten": (("dim", REQUIRED), ("unflattened_size", REQUIRED)),
}
for _n in (1, 2, 3):
    SIGNATURES[f"Conv{_n}d"] = _CONV
    SIGNATURES[f"ConvTranspose{_n}d"] = _CONV_T
    SIGNATURES[f"LazyConv{_n}d"] = (_CONV[1:])
    SIGNATURES[f"LazyConvTranspose{_n}d"] = (_CONV_T[1:])
    SIGNATURES[f"LazyBatchNorm{_n}d"] = (_BATCH_NORM[1:])
    SIGNATURES[f"Dropout{_n}d"] = (("p", 0.5), ("inplace", False))

_ACTIVATIONS = (
    "ReLU", "ReLU6", "LeakyReLU", "PReLU", "RReLU", "ELU", "SELU", "CELU", "GELU", "SiLU",
    "Mish", "Tanh", "Sigmoid", "Hardtanh", "Hardswish", "Hardsigmoid", "Softplus", "Softsign",
    "Tanhshrink", "LogSigmoid", "Softmax", "LogSoftmax", "GLU", "Threshold", "Hardshrink",
    "Softshrink", "Softmin", "Softmax2d",
)
_PASSTHROUGH = (
    "Identity", "Dropout", "Dropout1d", "Dropout2d", "Dropout3d", "AlphaDropout",
    "FeatureAlphaDropout", "Flatten", "Unflatten",
)
_POOLS = tuple(
    f"{kind}{n}d"
    for kind in ("MaxPool", "AvgPool", "AdaptiveAvgPool", "AdaptiveMaxPool", "LPPool",
                 "FractionalMaxPool", "MaxUnpool")
    for n in (1, 2, 3)
)
_OTHER = (
    "Upsample", "UpsamplingNearest2d", "UpsamplingBilinear2d", "PixelShuffle", "PixelUnshuffle",
    "ChannelShuffle", "Fold", "Unfold", "CosineSimilarity", "PairwiseDistance",
    *(f"{pad}{n}d" for pad in ("ZeroPad", "ReflectionPad", "ReplicationPad", "ConstantPad", "CircularPad") for n in (1, 2, 3)),
)
_NORMS = (
    "BatchNorm1d", "BatchNorm2d", "BatchNorm3d", "SyncBatchNorm", "LayerNorm", "GroupNorm",
    "InstanceNorm1d", "InstanceNorm2d", "InstanceNorm3d", "RMSNorm", "LocalResponseNorm",
    "LazyBatchNorm1d", "LazyBatchNorm2d", "LazyBatchNorm3d", "CrossMapLRN2d",
)

FAMILIES: dict[str, str] = {
    "Linear": "dense", "LazyLinear": "dense", "Bilinear": "dense",
    "NonDynamicallyQuantizableLinear": "dense",
    "Embedding": "embedding", "EmbeddingBag": "embedding",
    "RNN": "recurrent", "LSTM": "recurrent", "GRU": "recurrent", "RNNCell": "recurrent",
    "LSTMCell": "recurrent", "GRUCell": "recurrent",
    "MultiheadAttention": "attention",
    "Sequential": "container", "ModuleList": "container", "ModuleDict": "container",
    "ParameterList": "container", "ParameterDict": "container",
    **{name: "activation" for name in _ACTIVATIONS},
    **{name: "passthrough" for name in _PASSTHROUGH},
    **{name: "pool" for name in _POOLS},
    **{name: "other" for name in _OTHER},
    **{name: "norm" for name in _NORMS},
}
for _n in (1, 2, 3):
    for _kind in ("Conv", "ConvTranspose", "LazyConv", "LazyConvTranspose"):
        FAMILIES[f"{_kind}{_n}d"] = "conv"
FAMILIES["Identity"] = "passthrough"

#: torch's class ancestry below nn.Module, for isinstance
_ANCESTORS: dict[str, tuple[str, ...]] = {
    **{f"Conv{n}d": ("_ConvNd",) for n in (1, 2, 3)},
    **{f"ConvTranspose{n}d": ("_ConvTransposeNd", "_ConvNd") for n in (1, 2, 3)},
    **{f"LazyConv{n}d": (f"Conv{n}d", "_ConvNd", "LazyModuleMixin") for n in (1, 2, 3)},
    **{f"LazyConvTranspose{n}d": (f"ConvTranspose{n}d", "_ConvTransposeNd", "_ConvNd") for n in (1, 2, 3)},
    **{f"BatchNorm{n}d": ("_BatchNorm", "_NormBase") for n in (1, 2, 3)},
    **{f"LazyBatchNorm{n}d": (f"BatchNorm{n}d", "_BatchNorm", "_NormBase") for n in (1, 2, 3)},
    "SyncBatchNorm": ("_BatchNorm", "_NormBase"),
    **{f"InstanceNorm{n}d": ("_InstanceNorm", "_NormBase") for n in (1, 2, 3)},
    "LazyLinear": ("Linear",),
    "NonDynamicallyQuantizableLinear": ("Linear",),
    "RNN": ("RNNBase",), "LSTM": ("RNNBase",), "GRU": ("RNNBase",),
    "RNNCell": ("RNNCellBase",), "LSTMCell": ("RNNCellBase",), "GRUCell": ("RNNCellBase",),
    "Dropout": ("_DropoutNd",), "Dropout1d": ("_DropoutNd",), "Dropout2d": ("_DropoutNd",),
    "Dropout3d": ("_DropoutNd",), "AlphaDropout": ("_DropoutNd",),
    **{f"MaxPool{n}d": ("_MaxPoolNd",) for n in (1, 2, 3)},
    **{f"AvgPool{n}d": ("_AvgPoolNd",) for n in (1, 2, 3)},
    **{f"AdaptiveAvgPool{n}d": ("_AdaptiveAvgPoolNd",) for n in (1, 2, 3)},
    **{f"AdaptiveMaxPool{n}d": ("_AdaptiveMaxPoolNd",) for n in (1, 2, 3)},
}


def family(kind: str) -> str:
    """The family of a torch.nn class by its name; ``opaque`` for classes not modelled."""
    return FAMILIES.get(kind, "opaque")


def ancestry(kind: str) -> frozenset[str]:
    """Names ``isinstance`` accepts for an instance of torch class ``kind``."""
    return frozenset((kind, *_ANCESTORS.get(kind, ()), "Module"))


def is_torch_nn(name: str) -> bool:
    """``torch.nn.Linear``, ``torch.nn.modules.conv.Conv2d``, ``torch.nn.Module``."""
    return name.startswith("torch.nn.") and name.rsplit(".", 1)[-1][:1].isupper() or name.startswith(
        "torch.nn.modules."
    )


@lru_cache(maxsize=8192)
def torch_class(name: str) -> str | None:
    """The torch.nn class a qualified name denotes (``torch.nn.Linear`` -> ``Linear``)."""
    if not name.startswith("torch.nn."):
        return None
    last = name.rsplit(".", 1)[-1]
    if not last[:1].isupper() and not last.startswith("_"):
        return None
    if ".functional." in name or ".init." in name or ".utils." in name:
        return None
    return last
