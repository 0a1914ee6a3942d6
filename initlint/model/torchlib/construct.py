"""Building torch layers: their parameters, shapes and PyTorch's default init of each.

Shapes and defaults are torch's (``reset_parameters`` of each class): Linear and ConvNd weights
``kaiming_uniform_(a=sqrt(5))`` (E[W^2] = 1/(3 fan_in)) with biases U(+-1/sqrt(fan_in)),
embeddings N(0, 1), recurrent weights U(+-1/sqrt(hidden)), norm scales 1 and shifts 0, PReLU 0.25.
"""

from __future__ import annotations

import math
from typing import Any

from initlint.model.dists import Constant, Dist, FanScaled, Normal, Opaque, Uniform, fans
from initlint.model.torchlib.classes import REQUIRED, SIGNATURES, family
from initlint.model.tensors import Storage, Tensor, Write
from initlint.model.values import UNKNOWN, Module, Place, Sym, is_number

DEFAULT_WEIGHT = FanScaled("default", a=math.sqrt(5.0), nonlinearity="leaky_relu", spelled="default")

_GATES = {"LSTM": 4, "GRU": 3, "RNN": 1, "LSTMCell": 4, "GRUCell": 3, "RNNCell": 1}


def bind(kind: str, args: list[Any], kwargs: dict[str, Any]) -> dict[str, Any]:
    """Constructor arguments by name, torch's defaults filled in; a missing required one is
    UNKNOWN (torch would raise; the evaluator reports nothing it cannot establish)."""
    signature = SIGNATURES.get(kind)
    if signature is None:
        return dict(kwargs)
    bound: dict[str, Any] = {}
    for (name, default), value in zip(signature, args):
        bound[name] = value
    for name, default in signature:
        if name not in bound:
            value = kwargs.get(name, default)
            bound[name] = UNKNOWN if value is REQUIRED else value
    return bound


def make_tensor(shape: Any, dist: Dist, place: Place | None, frames: tuple, *, parameter: bool,
                spelled: str, kind: str = "default") -> Tensor:
    """A tensor whose values come from one write (its creation)."""
    storage = Storage()
    tensor = Tensor(shape, storage, parameter=parameter, requires_grad=parameter, made=place)
    if place is not None:
        write = Write(dist, place, frames, spelled=spelled, kind=kind, no_grad=True)
        storage.state.append(write)
        storage.writes.append(write)
    return tensor


def _size(value: Any) -> Any:
    if is_number(value) or isinstance(value, Sym):
        return value
    return UNKNOWN


def _kernel(kind: str, kernel: Any) -> tuple[Any, ...]:
    dims = int(kind[-2]) if kind[-2].isdigit() else 2
    if isinstance(kernel, tuple):
        return tuple(_size(k) for k in kernel) if len(kernel) == dims else (UNKNOWN,) * dims
    return (_size(kernel),) * dims


def _div(value: Any, by: Any) -> Any:
    if is_number(value) and is_number(by) and by:
        return value // by if value % by == 0 else UNKNOWN
    if isinstance(value, Sym) and by == 1:
        return value
    return UNKNOWN


def _bias_default(weight_shape: Any) -> Dist:
    fan_in, _ = fans(weight_shape)
    if is_number(fan_in) and fan_in > 0:
        bound = 1.0 / math.sqrt(fan_in)
        return Uniform(-bound, bound)
    return Opaque("PyTorch's default bias U(-1/sqrt(fan_in), 1/sqrt(fan_in))")


def build(module: Module, kind: str, args: dict[str, Any], place: Place | None, frames: tuple) -> None:
    """Give ``module`` the parameters and buffers torch's ``kind.__init__`` creates."""
    module.args.update(args)
    module.kind = kind if module.cls is None else module.kind
    module.family = family(kind) if module.family in ("user", "opaque", "") else module.family

    def param(name: str, shape: Any, dist: Dist) -> None:
        tensor = make_tensor(shape, dist, place, frames, parameter=True, spelled="default")
        tensor.owner, tensor.name = module, name
        module.params[name] = tensor

    def buffer(name: str, shape: Any, dist: Dist) -> None:
        tensor = make_tensor(shape, dist, place, frames, parameter=False, spelled="default")
        tensor.owner, tensor.name, tensor.buffer = module, name, True
        module.buffers[name] = tensor

    fam = family(kind)
    if kind in ("Linear", "LazyLinear", "NonDynamicallyQuantizableLinear"):
        shape = (_size(args.get("out_features")), _size(args.get("in_features", UNKNOWN)))
        param("weight", shape, DEFAULT_WEIGHT)
        if args.get("bias") is not False:
            param("bias", shape[:1], _bias_default(shape))
    elif kind == "Bilinear":
        shape = (_size(args.get("out_features")), _size(args.get("in1_features")), _size(args.get("in2_features")))
        in1 = args.get("in1_features")
        dist: Dist = Uniform(-1 / math.sqrt(in1), 1 / math.sqrt(in1)) if is_number(in1) and in1 > 0 else Opaque(
            "PyTorch's default U(-1/sqrt(in1_features), 1/sqrt(in1_features))"
        )
        param("weight", shape, dist)
        if args.get("bias") is not False:
            param("bias", shape[:1], dist)
    elif fam == "conv":
        groups = args.get("groups", 1)
        kernel = _kernel(kind, args.get("kernel_size"))
        channels_in, channels_out = _size(args.get("in_channels", UNKNOWN)), _size(args.get("out_channels"))
        if "Transpose" in kind:
            shape = (channels_in, _div(channels_out, groups), *kernel)
        else:
            shape = (channels_out, _div(channels_in, groups), *kernel)
        param("weight", shape, DEFAULT_WEIGHT)
        if args.get("bias") is not False:
            param("bias", (channels_out,), _bias_default(shape))
    elif fam == "embedding":
        shape = (_size(args.get("num_embeddings")), _size(args.get("embedding_dim")))
        param("weight", shape, Normal(0.0, 1.0))
    elif fam == "recurrent":
        _recurrent(module, kind, args, param)
    elif kind == "MultiheadAttention":
        embed = _size(args.get("embed_dim"))
        param("in_proj_weight", (_times(3, embed), embed), FanScaled("xavier", gain=1.0, spelled="xavier_uniform_"))
        if args.get("bias") is not False:
            param("in_proj_bias", (_times(3, embed),), Constant(0.0))
        out = Module("NonDynamicallyQuantizableLinear", "dense", made=place)
        build(out, "NonDynamicallyQuantizableLinear", {"in_features": embed, "out_features": embed, "bias": args.get("bias", True)}, place, frames)
        if "bias" in out.params and out.params["bias"] is not None:
            out.params["bias"] = None
            param_out = make_tensor((embed,), Constant(0.0), place, frames, parameter=True, spelled="default")
            param_out.owner, param_out.name = out, "bias"
            out.params["bias"] = param_out
        module.modules["out_proj"] = out
    elif fam == "norm":
        _norm(kind, args, param, buffer)
    elif kind == "PReLU":
        value = args.get("init", 0.25)
        param("weight", (_size(args.get("num_parameters", 1)),), Constant(value) if is_number(value) else Opaque("PReLU init"))


def _times(a: Any, b: Any) -> Any:
    if is_number(a) and is_number(b):
        return a * b
    return UNKNOWN


def _recurrent(module: Module, kind: str, args: dict[str, Any], param) -> None:
    hidden = _size(args.get("hidden_size"))
    inputs = _size(args.get("input_size"))
    bound = 1.0 / math.sqrt(hidden) if is_number(hidden) and hidden > 0 else None
    dist: Dist = Uniform(-bound, bound) if bound is not None else Opaque(
        "PyTorch's default U(-1/sqrt(hidden_size), 1/sqrt(hidden_size))"
    )
    gates = _times(_GATES.get(kind, 1), hidden)
    bias = args.get("bias") is not False
    if kind.endswith("Cell"):
        param("weight_ih", (gates, inputs), dist)
        param("weight_hh", (gates, hidden), dist)
        if bias:
            param("bias_ih", (gates,), dist)
            param("bias_hh", (gates,), dist)
        return
    layers = args.get("num_layers", 1)
    directions = 2 if args.get("bidirectional") is True else 1
    if not is_number(layers) or layers > 16:
        layers = 1  # the first layer's parameters are the ones rules ask about
    for layer in range(int(layers)):
        for direction in range(directions):
            suffix = f"_l{layer}" + ("_reverse" if direction else "")
            size_in = inputs if layer == 0 else _times(directions, hidden)
            param(f"weight_ih{suffix}", (gates, size_in), dist)
            param(f"weight_hh{suffix}", (gates, hidden), dist)
            if bias:
                param(f"bias_ih{suffix}", (gates,), dist)
                param(f"bias_hh{suffix}", (gates,), dist)


def _norm(kind: str, args: dict[str, Any], param, buffer) -> None:
    if kind == "LocalResponseNorm":
        return
    if kind in ("LayerNorm", "RMSNorm"):
        shape_arg = args.get("normalized_shape")
        shape = shape_arg if isinstance(shape_arg, tuple) else (_size(shape_arg),)
        if args.get("elementwise_affine") is not False:
            param("weight", shape, Constant(1.0))
            if kind == "LayerNorm" and args.get("bias") is not False:
                param("bias", shape, Constant(0.0))
        return
    if kind == "GroupNorm":
        channels = (_size(args.get("num_channels")),)
        if args.get("affine") is not False:
            param("weight", channels, Constant(1.0))
            param("bias", channels, Constant(0.0))
        return
    features = (_size(args.get("num_features", UNKNOWN)),)
    if args.get("affine") is True:
        param("weight", features, Constant(1.0))
        param("bias", features, Constant(0.0))
    if args.get("track_running_stats") is True:
        buffer("running_mean", features, Constant(0.0))
        buffer("running_var", features, Constant(1.0))
        buffer("num_batches_tracked", (), Constant(0.0))  # torch's step counter, a 0-d long tensor
