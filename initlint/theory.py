"""Variance arithmetic of init schemes and activations: pure math, no torch.

For a layer ``y = W x`` with fan-in ``n``, zero-mean independent inputs of unit second moment
and weights of second moment ``E[W^2]``, the output second moment is ``n * E[W^2]``. An
activation after the layer keeps a share ``c`` of it (ReLU keeps half), so the forward gain of
one layer is ``G = n * E[W^2] * c`` and ``L`` such layers compound to ``G ** L``. Every
formula below is the one ``torch.nn.init`` documents, written as the papers write it.

Total, because its arguments are folded from whatever code says (``std=float("nan")``, a
400-digit integer, ``calculate_gain(None)``): every function takes anything and never raises;
it returns a finite float, or None where no finite number can be established (a non-number,
NaN, a value or result beyond the float range, an activation torch does not know). None is
"unknown", and a rule does not fire on it; NaN never leaves this module.
"""

from __future__ import annotations

import math
from typing import Any

#: PyTorch's default for nn.Linear / nn.ConvNd: kaiming_uniform_(w, a=sqrt(5)).
DEFAULT_LAYER_A = math.sqrt(5.0)

_LINEAR = {"linear", "identity", "sigmoid"}


def real(value: Any) -> float | None:
    """``value`` as a finite float; None for a non-number, a bool, NaN, or beyond the float range."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return None
    try:
        number = float(value)
    except OverflowError:  # an int beyond ~1.8e308
        return None
    return number if math.isfinite(number) else None


def _finite(value: float) -> float | None:
    return value if math.isfinite(value) else None


def uniform_second_moment(low: Any, high: Any) -> float | None:
    """E[W^2] of U(low, high): variance (high-low)^2/12 plus squared mean."""
    low, high = real(low), real(high)
    if low is None or high is None:
        return None
    return _finite((low * low + low * high + high * high) / 3.0)


def uniform_variance(low: Any, high: Any) -> float | None:
    low, high = real(low), real(high)
    if low is None or high is None:
        return None
    width = high - low
    return _finite(width * width / 12.0)


def normal_second_moment(mean: Any, std: Any) -> float | None:
    """E[W^2] of N(mean, std^2)."""
    mean, std = real(mean), real(std)
    if mean is None or std is None:
        return None
    return _finite(mean * mean + std * std)


def calculate_gain(nonlinearity: Any, param: Any = None) -> float | None:
    """The gain torch.nn.init.calculate_gain recommends for an activation; None where torch
    would raise (a name it does not know, not a string, a slope that is not a number)."""
    if not isinstance(nonlinearity, str):
        return None
    name = nonlinearity.lower()
    if name in _LINEAR or name.startswith(("conv", "conv_transpose")):
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        slope = 0.01 if param is None else real(param)
        if slope is None:
            return None
        return _finite(math.sqrt(2.0 / (1.0 + slope * slope)))
    if name == "selu":
        return 3.0 / 4.0
    return None


def kaiming_second_moment(fan: Any, a: Any = 0.0, nonlinearity: Any = "leaky_relu") -> float | None:
    """He et al. 2015: Var(W) = gain^2 / fan, for kaiming_uniform_ and kaiming_normal_ alike."""
    gain, fan = calculate_gain(nonlinearity, a), real(fan)
    if gain is None or fan is None or fan <= 0:
        return None
    return _finite(gain * gain / fan)


def xavier_second_moment(fan_in: Any, fan_out: Any, gain: Any = 1.0) -> float | None:
    """Glorot & Bengio 2010: Var(W) = gain^2 * 2 / (fan_in + fan_out)."""
    fan_in, fan_out, gain = real(fan_in), real(fan_out), real(gain)
    if fan_in is None or fan_out is None or gain is None or fan_in + fan_out <= 0:
        return None
    return _finite(gain * gain * 2.0 / (fan_in + fan_out))


def default_layer_second_moment(fan_in: Any) -> float | None:
    """PyTorch's nn.Linear/ConvNd default, kaiming_uniform_(a=sqrt 5): Var(W) = 1 / (3 fan_in)."""
    return kaiming_second_moment(fan_in, DEFAULT_LAYER_A, "leaky_relu")


def orthogonal_second_moment(fan_in: Any, fan_out: Any, gain: Any = 1.0) -> float | None:
    """Saxe et al. 2014: the shorter side is orthonormal, so E[W^2] = gain^2 / max(fan_in, fan_out)."""
    fan_in, fan_out, gain = real(fan_in), real(fan_out), real(gain)
    if fan_in is None or fan_out is None or gain is None or max(fan_in, fan_out) <= 0:
        return None
    return _finite(gain * gain / max(fan_in, fan_out))


def _pdf(t: float) -> float:
    return math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)


def _t_pdf(t: float) -> float:
    """t * pdf(t), which tends to 0 at both infinities (where the product itself is NaN)."""
    return t * _pdf(t) if math.isfinite(t) else 0.0


def _cdf(t: float) -> float:
    return 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))


def trunc_normal_second_moment(mean: Any, std: Any, low: Any, high: Any) -> float | None:
    """E[W^2] of N(mean, std^2) cut to the absolute interval [low, high]."""
    mean, std, low, high = real(mean), real(std), real(low), real(high)
    if mean is None or std is None or low is None or high is None:
        return None
    if std <= 0:
        return _finite(mean * mean)
    alpha, beta = (low - mean) / std, (high - mean) / std  # may overflow to +-inf: fine below
    z = _cdf(beta) - _cdf(alpha)
    if not z > 0:
        return _finite(min(low * low, high * high))
    shift = (_pdf(alpha) - _pdf(beta)) / z
    variance = std * std * (1.0 + (_t_pdf(alpha) - _t_pdf(beta)) / z - shift * shift)
    new_mean = mean + std * shift
    return _finite(max(variance, 0.0) + new_mean * new_mean)


def relu_factor() -> float:
    """ReLU zeroes half of a symmetric input: it keeps half the second moment."""
    return 0.5


def leaky_relu_factor(negative_slope: Any = 0.01) -> float | None:
    slope = real(negative_slope)
    if slope is None:
        return None
    return _finite((1.0 + slope * slope) / 2.0)


def layer_gain(fan_in: Any, second_moment: Any, activation_factor: Any = 1.0) -> float | None:
    """Forward second-moment gain of one layer: G = n * E[W^2] * c."""
    fan_in, moment, factor = real(fan_in), real(second_moment), real(activation_factor)
    if fan_in is None or moment is None or factor is None:
        return None
    return _finite(fan_in * moment * factor)


def compound(gain: Any, depth: Any) -> float | None:
    """Gain through ``depth`` identical layers with nothing in between that renormalizes;
    ``inf`` when that is beyond the float range (a gain above 1 compounded, never NaN)."""
    gain = real(gain)
    if gain is None or isinstance(depth, bool) or not isinstance(depth, int):
        return None
    if gain == 0.0:
        return 0.0 if depth > 0 else (1.0 if depth == 0 else None)
    try:
        return gain**depth
    except OverflowError:
        return math.copysign(math.inf, gain if depth % 2 else 1.0)


def format_number(value: Any) -> str:
    """Short form for messages: 128, 650, 0.33, 3.3e3, 4.3e5, 1e-20; anything else as str()."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return str(value)
    if value == 0:
        return "0"
    if isinstance(value, int) and real(value) is None:  # beyond floats: from its logarithm
        exponent = math.log10(abs(value))
        mantissa = f"{10 ** (exponent - int(exponent)):.1f}".removesuffix(".0")
        return f"{'-' if value < 0 else ''}{mantissa}e{int(exponent)}"
    if math.isinf(value) or math.isnan(value):
        return str(value)
    magnitude = abs(value)
    if float(value).is_integer() and magnitude < 1e5:
        return str(int(value))
    if 0.01 <= magnitude < 1000:
        rounded = float(f"{value:.2g}")
        return str(int(rounded)) if rounded.is_integer() else f"{rounded:g}"
    mantissa, exponent = f"{value:.1e}".split("e")
    if mantissa.endswith(".0"):
        mantissa = mantissa[:-2]
    return f"{mantissa}e{int(exponent)}"
