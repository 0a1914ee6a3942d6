"""Writes to tensors: torch.nn.init, the wrappers real code uses, and in-place tensor methods.

``nn.init.uniform_(w, -1, 1)``, transformers' ``init.normal_(w, std=0.02)``, timm's
``trunc_normal_(w, std=.02)`` and ``trunc_normal_tf_``, ``w.data.normal_(0, 0.02)``,
``w.fill_(0)`` and the deprecated ``nn.init.normal(w)`` each become one distribution written to
one tensor. An argument the evaluator cannot establish makes the written values Opaque: never
torch's default for that argument.
"""

from __future__ import annotations

import math
from typing import Any

from initlint import theory
from initlint.model.dists import (
    Constant,
    Dist,
    Eye,
    FanScaled,
    Normal,
    Opaque,
    TruncNormal,
    Uniform,
    fans,
)
from initlint.model.values import UNKNOWN, is_number

#: torch.nn.init functions: parameter names after the tensor, with torch's defaults
INIT_SIGNATURES: dict[str, tuple[tuple[str, Any], ...]] = {
    "uniform_": (("a", 0.0), ("b", 1.0), ("generator", None)),
    "normal_": (("mean", 0.0), ("std", 1.0), ("generator", None)),
    "trunc_normal_": (("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0), ("generator", None)),
    "constant_": (("val", UNKNOWN),),
    "ones_": (),
    "zeros_": (),
    "eye_": (),
    "dirac_": (("groups", 1),),
    "xavier_uniform_": (("gain", 1.0), ("generator", None)),
    "xavier_normal_": (("gain", 1.0), ("generator", None)),
    "kaiming_uniform_": (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu"), ("generator", None)),
    "kaiming_normal_": (("a", 0.0), ("mode", "fan_in"), ("nonlinearity", "leaky_relu"), ("generator", None)),
    "orthogonal_": (("gain", 1.0), ("generator", None)),
    "sparse_": (("sparsity", UNKNOWN), ("std", 0.01), ("generator", None)),
    # timm.layers.weight_init
    "trunc_normal_tf_": (("mean", 0.0), ("std", 1.0), ("a", -2.0), ("b", 2.0)),
    "lecun_normal_": (),
    "variance_scaling_": (("scale", 1.0), ("mode", "fan_in"), ("distribution", "normal")),
    # transformers.initialization
    "copy_": (("other", UNKNOWN),),
}
#: the non-underscore aliases torch deprecated in 0.4: they warn on every call
DEPRECATED = frozenset(
    {
        "uniform", "normal", "constant", "eye", "dirac", "xavier_uniform", "xavier_normal",
        "kaiming_uniform", "kaiming_normal", "orthogonal", "sparse",
    }
)
#: in-place tensor methods that write a distribution: name -> (init function, parameters)
TENSOR_WRITES: dict[str, tuple[str, tuple[tuple[str, Any], ...]]] = {
    "normal_": ("normal_", (("mean", 0.0), ("std", 1.0))),
    "uniform_": ("uniform_", (("from", 0.0), ("to", 1.0))),
    "fill_": ("constant_", (("value", UNKNOWN),)),
    "zero_": ("zeros_", ()),
}
#: in-place tensor methods that draw other random values (their numbers are not modelled)
RANDOM_METHODS = frozenset({"exponential_", "log_normal_", "cauchy_", "geometric_", "bernoulli_", "random_"})
#: in-place tensor methods that change part of a tensor
PARTIAL_METHODS = frozenset({"fill_diagonal_", "masked_fill_", "index_fill_", "scatter_", "index_copy_", "masked_scatter_", "index_put_"})
#: in-place arithmetic: how it transforms the values
ARITHMETIC_METHODS = frozenset({"mul_", "div_", "add_", "sub_", "clamp_", "clip_", "abs_", "neg_", "exp_", "log_", "pow_", "sqrt_", "sign_", "t_", "transpose_", "squeeze_", "unsqueeze_", "resize_", "normal", "renorm_", "copy_", "set_", "fmod_", "remainder_", "round_", "floor_", "ceil_", "sigmoid_", "tanh_", "relu_", "addmm_", "addcmul_", "addcdiv_", "lerp_"})


def bind_init(
    name: str, args: list[Any], kwargs: dict[str, Any], starred: bool,
    signature: tuple[tuple[str, Any], ...] | None = None,
) -> dict[str, Any] | None:
    """Arguments of an init call by torch's parameter names (after the tensor).

    Returns None when a starred argument hides which values go where: the call writes values the
    evaluator cannot name (``uniform_(*hidden_init(layer))`` must not read as U(0, 1)).
    """
    if starred:
        return None
    if signature is None:
        signature = INIT_SIGNATURES.get(name, ())
    bound: dict[str, Any] = {}
    for (param, _), value in zip(signature, args):
        bound[param] = value
    aliases = {"from": "a", "to": "b", "value": "val", "tensor": None}
    for key, value in kwargs.items():
        bound[aliases.get(key, key) or key] = value
    given = set(bound)
    for param, default in signature:
        key = aliases.get(param, param) or param
        if param not in bound and key not in bound:
            bound[key] = default
        elif param in bound and key != param:
            bound[key] = bound.pop(param)
            given.add(key)
    bound["__given__"] = frozenset(given)
    return bound


def _num(value: Any) -> float | None:
    return float(value) if is_number(value) else None


def distribution(name: str, bound: dict[str, Any] | None, shape: Any) -> Dist:
    """The distribution ``name`` writes with these arguments (Opaque where one is not known)."""
    if bound is None:
        return Opaque(f"{name} with arguments the evaluator cannot bind")
    if name == "uniform_":
        low, high = _num(bound.get("a")), _num(bound.get("b"))
        return Uniform(low, high) if low is not None and high is not None else Opaque(f"uniform_ with bounds {_text(bound, 'a', 'b')}")
    if name == "normal_":
        mean, std = _num(bound.get("mean")), _num(bound.get("std"))
        return Normal(mean, std) if mean is not None and std is not None else Opaque(f"normal_ with {_text(bound, 'mean', 'std')}")
    if name in ("trunc_normal_", "trunc_normal_tf_"):
        values = [_num(bound.get(k)) for k in ("mean", "std", "a", "b")]
        if any(v is None for v in values):
            return Opaque(f"{name} with {_text(bound, 'mean', 'std', 'a', 'b')}")
        mean, std, low, high = values
        return TruncNormal(mean, std, low, high, std_units=name == "trunc_normal_tf_", spelled=name)
    if name in ("constant_", "fill_"):
        value = bound.get("val")
        return Constant(float(value)) if is_number(value) or isinstance(value, bool) else Opaque("a constant the evaluator cannot establish")
    if name == "zeros_":
        return Constant(0.0)
    if name == "ones_":
        return Constant(1.0)
    if name in ("eye_", "dirac_"):
        return Eye(name)
    if name in ("xavier_uniform_", "xavier_normal_", "orthogonal_"):
        gain = _num(bound.get("gain"))
        if gain is None:
            return Opaque(f"{name} with a gain the evaluator cannot establish")
        scheme = "orthogonal" if name == "orthogonal_" else "xavier"
        spelled = f"{name}(gain={theory.format_number(gain)})" if gain != 1.0 else name
        return FanScaled(scheme, gain=gain, nonlinearity=None, spelled=spelled, explicit="gain" in bound.get("__given__", ()))
    if name in ("kaiming_uniform_", "kaiming_normal_"):
        a, mode, nonlinearity = _num(bound.get("a")), bound.get("mode"), bound.get("nonlinearity")
        if a is None or mode not in ("fan_in", "fan_out") or not isinstance(nonlinearity, str):
            return Opaque(f"{name} with arguments the evaluator cannot establish")
        if theory.calculate_gain(nonlinearity, a) is None:  # torch would raise
            return Opaque(f"{name} with nonlinearity {nonlinearity!r}")
        spelled = f"{name}(nonlinearity='{nonlinearity}'" + (f", a={theory.format_number(a)}" if a else "") + (", mode='fan_out'" if mode == "fan_out" else "") + ")"
        return FanScaled("kaiming", mode=mode, nonlinearity=nonlinearity, a=a, spelled=spelled,
                         explicit="nonlinearity" in bound.get("__given__", ()))
    if name == "lecun_normal_":
        return FanScaled("lecun", nonlinearity=None, spelled="lecun_normal_")
    if name == "variance_scaling_":
        scale, mode = _num(bound.get("scale")), bound.get("mode")
        if scale is None or mode not in ("fan_in", "fan_out", "fan_avg"):
            return Opaque("variance_scaling_ with arguments the evaluator cannot establish")
        return _variance_scaling(scale, mode, shape)
    if name == "sparse_":
        return Opaque("sparse_ (mostly zeros, N(0, std^2) elsewhere)")
    return Opaque(name)


def _variance_scaling(scale: float, mode: str, shape: Any) -> Dist:
    fan_in, fan_out = fans(shape)
    if not (is_number(fan_in) and is_number(fan_out)):
        return Opaque("variance_scaling_ of a tensor whose fans are not known")
    denominator = {"fan_in": fan_in, "fan_out": fan_out, "fan_avg": (fan_in + fan_out) / 2}[mode]
    if denominator <= 0:
        return Opaque("variance_scaling_ of an empty tensor")
    return Normal(0.0, math.sqrt(scale / denominator))


def _text(bound: dict[str, Any], *keys: str) -> str:
    from initlint.model.values import describe

    return ", ".join(f"{key}={describe(bound.get(key))}" for key in keys)
