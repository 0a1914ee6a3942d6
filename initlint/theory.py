"""Variance arithmetic of init schemes and activations: pure math, no torch.

For a layer ``y = W x`` with fan-in ``n``, zero-mean independent inputs of unit second moment
and weights of second moment ``E[W^2]``, the output second moment is ``n * E[W^2]``. An
activation after the layer keeps a share ``c`` of it (ReLU keeps half), so the forward gain of
one layer is ``G = n * E[W^2] * c`` and ``L`` such layers compound to ``G ** L``. Every
formula below is the one ``torch.nn.init`` documents, written as the papers write it.
"""

from __future__ import annotations

import math

#: PyTorch's default for nn.Linear / nn.ConvNd: kaiming_uniform_(w, a=sqrt(5)).
DEFAULT_LAYER_A = math.sqrt(5.0)


def uniform_second_moment(low: float, high: float) -> float:
    """E[W^2] of U(low, high): variance (high-low)^2/12 plus squared mean."""
    return (low * low + low * high + high * high) / 3.0


def uniform_variance(low: float, high: float) -> float:
    return (high - low) ** 2 / 12.0


def normal_second_moment(mean: float, std: float) -> float:
    """E[W^2] of N(mean, std^2)."""
    return mean * mean + std * std


def calculate_gain(nonlinearity: str, param: float | None = None) -> float:
    """The gain torch.nn.init.calculate_gain recommends for an activation."""
    name = nonlinearity.lower()
    if name in {"linear", "identity", "sigmoid"} or name.startswith(("conv", "conv_transpose")):
        return 1.0
    if name == "tanh":
        return 5.0 / 3.0
    if name == "relu":
        return math.sqrt(2.0)
    if name == "leaky_relu":
        slope = 0.01 if param is None else float(param)
        return math.sqrt(2.0 / (1.0 + slope * slope))
    if name == "selu":
        return 3.0 / 4.0
    raise ValueError(f"unsupported nonlinearity {nonlinearity!r}")


def kaiming_second_moment(
    fan: float, a: float = 0.0, nonlinearity: str = "leaky_relu"
) -> float:
    """He et al. 2015: Var(W) = gain^2 / fan, for kaiming_uniform_ and kaiming_normal_ alike."""
    return calculate_gain(nonlinearity, a) ** 2 / fan


def xavier_second_moment(fan_in: float, fan_out: float, gain: float = 1.0) -> float:
    """Glorot & Bengio 2010: Var(W) = gain^2 * 2 / (fan_in + fan_out)."""
    return gain * gain * 2.0 / (fan_in + fan_out)


def default_layer_second_moment(fan_in: float) -> float:
    """PyTorch's nn.Linear/ConvNd default, kaiming_uniform_(a=sqrt 5): Var(W) = 1 / (3 fan_in)."""
    return kaiming_second_moment(fan_in, DEFAULT_LAYER_A, "leaky_relu")


def orthogonal_second_moment(fan_in: float, fan_out: float, gain: float = 1.0) -> float:
    """Saxe et al. 2014: the shorter side is orthonormal, so E[W^2] = gain^2 / max(fan_in, fan_out)."""
    return gain * gain / max(fan_in, fan_out)


def trunc_normal_second_moment(mean: float, std: float, low: float, high: float) -> float:
    """E[W^2] of N(mean, std^2) cut to the absolute interval [low, high]."""
    if std <= 0:
        return mean * mean
    alpha, beta = (low - mean) / std, (high - mean) / std
    pdf = lambda t: math.exp(-0.5 * t * t) / math.sqrt(2.0 * math.pi)  # noqa: E731
    cdf = lambda t: 0.5 * (1.0 + math.erf(t / math.sqrt(2.0)))  # noqa: E731
    z = cdf(beta) - cdf(alpha)
    if z <= 0:
        return min(low * low, high * high)
    shift = (pdf(alpha) - pdf(beta)) / z
    variance = std * std * (1.0 + (alpha * pdf(alpha) - beta * pdf(beta)) / z - shift * shift)
    new_mean = mean + std * shift
    return variance + new_mean * new_mean


def relu_factor() -> float:
    """ReLU zeroes half of a symmetric input: it keeps half the second moment."""
    return 0.5


def leaky_relu_factor(negative_slope: float = 0.01) -> float:
    return (1.0 + negative_slope * negative_slope) / 2.0


def layer_gain(fan_in: float, second_moment: float, activation_factor: float = 1.0) -> float:
    """Forward second-moment gain of one layer: G = n * E[W^2] * c."""
    return fan_in * second_moment * activation_factor


def compound(gain: float, depth: int) -> float:
    """Gain through ``depth`` identical layers with nothing in between that renormalizes."""
    try:
        return gain**depth
    except OverflowError:
        return math.inf


def format_number(value: float) -> str:
    """Short form for messages: 128, 650, 0.33, 3.3e3, 4.3e5, 1e-20."""
    if value == 0:
        return "0"
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
