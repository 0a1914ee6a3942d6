"""What a write puts into a tensor: a distribution, and the numbers rules need from it.

A distribution answers: its second moment E[W^2] for the tensor's shape (None when it cannot be
established), its mean, whether it is one constant, whether it is random at all, and how to
say it in a message (``U(-100, 100)``, ``N(0, 0.01^2)``, ``kaiming_uniform_(a=sqrt(5))``).
Fan-scaled schemes compute their moment from the shape exactly as torch.nn.init does.
"""

from __future__ import annotations

import math
from typing import Any

from initlint import theory
from initlint.lean import dataclass
from initlint.model.values import UNKNOWN, Sym, describe, is_number

fmt = theory.format_number


_GAINS = {"linear": 1.0, "tanh": 5.0 / 3.0, "relu": math.sqrt(2.0), "selu": 0.75}


def fans(shape: Any) -> tuple[Any, Any]:
    """torch.nn.init._calculate_fan_in_and_fan_out: (size(1) * receptive, size(0) * receptive)."""
    if not isinstance(shape, tuple) or len(shape) < 2:
        return UNKNOWN, UNKNOWN
    receptive = 1
    for size in shape[2:]:
        if not is_number(size):
            return UNKNOWN, UNKNOWN
        receptive *= size

    def scale(size: Any) -> Any:
        if is_number(size):
            return size * receptive
        if isinstance(size, Sym) and receptive == 1:
            return size  # a size the code leaves open: messages name it
        return UNKNOWN

    return scale(shape[1]), scale(shape[0])


class Dist:
    """Base: a distribution whose numbers are not known."""

    random = True
    label = "?"

    def second_moment(self, shape: Any) -> float | None:
        return None

    @property
    def mean(self) -> float | None:
        return None

    @property
    def constant(self) -> float | None:
        """The one value every element gets, or None."""
        return None

    def describe(self) -> str:
        return self.label

    def scaled(self, factor: float) -> "Dist":
        return Scaled(self, factor)

    def shifted(self, offset: float) -> "Dist":
        return Opaque(f"{self.describe()} + {fmt(offset)}")


@dataclass(frozen=True)
class Constant(Dist):
    """Every entry equal to ``value`` (``fill_``, ``zeros_``, ``torch.ones``, ...)."""

    value: float
    random = False

    def second_moment(self, shape: Any) -> float | None:
        return float(self.value) ** 2

    @property
    def mean(self) -> float:
        return float(self.value)

    @property
    def constant(self) -> float:
        return float(self.value)

    def describe(self) -> str:
        return f"the constant {fmt(self.value)}"

    def scaled(self, factor: float) -> Dist:
        return Constant(self.value * factor)

    def shifted(self, offset: float) -> Dist:
        return Constant(self.value + offset)


@dataclass(frozen=True)
class Uniform(Dist):
    """U(low, high)."""

    low: float
    high: float

    def second_moment(self, shape: Any) -> float:
        return theory.uniform_second_moment(self.low, self.high)

    @property
    def mean(self) -> float:
        return (self.low + self.high) / 2.0

    def describe(self) -> str:
        return f"U({fmt(self.low)}, {fmt(self.high)})"

    def scaled(self, factor: float) -> Dist:
        low, high = sorted((self.low * factor, self.high * factor))
        return Uniform(low, high)

    def shifted(self, offset: float) -> Dist:
        return Uniform(self.low + offset, self.high + offset)


@dataclass(frozen=True)
class Normal(Dist):
    """N(mean_, std²)."""

    mean_: float
    std: float

    def second_moment(self, shape: Any) -> float:
        return theory.normal_second_moment(self.mean_, self.std)

    @property
    def mean(self) -> float:
        return self.mean_

    def describe(self) -> str:
        return f"N({fmt(self.mean_)}, {fmt(self.std)}^2)"

    def scaled(self, factor: float) -> Dist:
        return Normal(self.mean_ * factor, abs(self.std * factor))

    def shifted(self, offset: float) -> Dist:
        return Normal(self.mean_ + offset, self.std)


@dataclass(frozen=True)
class TruncNormal(Dist):
    """torch's trunc_normal_ (bounds a, b absolute) or timm's trunc_normal_tf_ (in std units)."""

    mean_: float
    std: float
    low: float
    high: float
    std_units: bool = False
    spelled: str = "trunc_normal_"

    def bounds(self) -> tuple[float, float]:
        """The absolute interval values are kept in."""
        if self.std_units:
            return self.low * self.std + self.mean_, self.high * self.std + self.mean_
        return self.low, self.high

    def second_moment(self, shape: Any) -> float | None:
        low, high = self.bounds()
        if not low < high or self.std < 0:
            return None
        return theory.trunc_normal_second_moment(self.mean_, self.std, low, high)

    @property
    def mean(self) -> float:
        return self.mean_

    @property
    def cut(self) -> float | None:
        """Drawn std / requested std: below 1 when the bounds cut the distribution."""
        moment = self.second_moment(())
        if moment is None or self.std <= 0:
            return None
        drawn = max(moment - self.mean_ * self.mean_, 0.0)
        return math.sqrt(drawn) / self.std

    def describe(self) -> str:
        low, high = (self.low, self.high)
        return f"{self.spelled}(std={fmt(self.std)}, a={fmt(low)}, b={fmt(high)})"


@dataclass(frozen=True)
class FanScaled(Dist):
    """xavier_*, kaiming_*, orthogonal_, lecun/variance scaling: E[W^2] from the shape."""

    scheme: str  # xavier, kaiming, orthogonal, lecun, default (PyTorch's layer default)
    gain: float | None = None  # xavier/orthogonal gain; kaiming: None
    mode: str = "fan_in"
    nonlinearity: str | None = "leaky_relu"
    a: float = 0.0
    spelled: str = ""
    #: the code named the nonlinearity (or gain) itself, instead of taking the default
    explicit: bool = False

    def tuned_for(self) -> str | None:
        """The activation the scheme's gain is made for: kaiming's nonlinearity, or the
        calculate_gain name a xavier/orthogonal gain equals."""
        if self.scheme == "kaiming":
            if self.nonlinearity == "leaky_relu" and self.a >= 1.0:
                return "linear"
            return self.nonlinearity
        if self.scheme in ("xavier", "orthogonal") and self.gain is not None:
            for name, value in _GAINS.items():
                if math.isclose(self.gain, value, rel_tol=1e-3):
                    return name
        return None

    def second_moment(self, shape: Any) -> float | None:
        fan_in, fan_out = fans(shape)
        try:
            if self.scheme == "xavier":
                if not (is_number(fan_in) and is_number(fan_out)) or fan_in + fan_out <= 0:
                    return None
                return theory.xavier_second_moment(fan_in, fan_out, self.gain or 1.0)
            if self.scheme in ("kaiming", "default"):
                fan = fan_out if self.mode == "fan_out" else fan_in
                if not is_number(fan) or fan <= 0 or self.nonlinearity is None:
                    return None
                return theory.kaiming_second_moment(fan, self.a, self.nonlinearity)
            if self.scheme == "orthogonal":
                if not (is_number(fan_in) and is_number(fan_out)) or max(fan_in, fan_out) <= 0:
                    return None
                # torch flattens to (rows, numel / rows); rows = size(0) = fan_out / receptive
                rows = shape[0]
                cols = fan_in  # numel / rows = size(1) * receptive
                return theory.orthogonal_second_moment(cols, rows, self.gain or 1.0)
            if self.scheme == "lecun":
                return 1.0 / fan_in if is_number(fan_in) and fan_in > 0 else None
        except (ValueError, ZeroDivisionError, OverflowError, TypeError):
            return None
        return None

    @property
    def mean(self) -> float:
        return 0.0

    @property
    def relu_gain(self) -> bool:
        """Whether the scheme pays for ReLU's half (kaiming with a ReLU nonlinearity)."""
        return self.scheme == "kaiming" and self.nonlinearity in ("relu", "leaky_relu") and (
            self.nonlinearity == "relu" or self.a < 1.0
        )

    def describe(self) -> str:
        if self.scheme == "default":
            return "PyTorch's default kaiming_uniform_(a=sqrt(5))"
        return self.spelled or self.scheme


@dataclass(frozen=True)
class Eye(Dist):
    """eye_ / dirac_: the identity map (gain 1 on its matching channels)."""

    spelled: str = "eye_"
    random = False

    def second_moment(self, shape: Any) -> float | None:
        fan_in, fan_out = fans(shape)
        if is_number(fan_in) and is_number(fan_out) and fan_in > 0 and fan_out > 0:
            return min(fan_in, fan_out) / (fan_in * fan_out)
        return None

    @property
    def mean(self) -> float | None:
        return None

    def describe(self) -> str:
        return self.spelled


@dataclass(frozen=True)
class Uninitialised(Dist):
    """torch.empty / torch.Tensor(n, m): whatever the memory held."""

    spelled: str = "torch.empty"

    def describe(self) -> str:
        return f"{self.spelled} (uninitialised memory)"


@dataclass(frozen=True)
class Opaque(Dist):
    """Values the evaluator cannot put numbers on: data, a copy of unknown values, clamps."""

    label: str = "values the code computes"
    random: bool = True

    def describe(self) -> str:
        return self.label


@dataclass(frozen=True)
class Scaled(Dist):
    """``w.mul_(c)`` of a distribution whose own numbers may depend on the shape."""

    base: Dist
    factor: float

    @property
    def random(self) -> bool:  # type: ignore[override]
        return self.base.random

    def second_moment(self, shape: Any) -> float | None:
        moment = self.base.second_moment(shape)
        return None if moment is None else moment * self.factor * self.factor

    @property
    def mean(self) -> float | None:
        mean = self.base.mean
        return None if mean is None else mean * self.factor

    @property
    def constant(self) -> float | None:
        value = self.base.constant
        return None if value is None else value * self.factor

    def describe(self) -> str:
        return f"{self.base.describe()} x {fmt(self.factor)}"


@dataclass(frozen=True)
class WeightNormed(Dist):
    """weight_norm: each output row is g * v / |v|, so E[W^2] = E[g^2] / fan_in.
    ``parametrized``: torch.nn.utils.parametrizations.weight_norm, whose g and v are the
    parameters ``parametrizations.<name>.original0`` and ``original1`` (the older
    torch.nn.utils.weight_norm names them ``<name>_g`` and ``<name>_v``)."""

    g: Dist
    parametrized: bool = False

    def second_moment(self, shape: Any) -> float | None:
        fan_in, _ = fans(shape)
        g_moment = self.g.second_moment(())
        if g_moment is None or not is_number(fan_in) or fan_in <= 0:
            return None
        return g_moment / fan_in

    def describe(self) -> str:
        return f"weight_norm with g = {self.g.describe()}"


@dataclass(frozen=True)
class Mixed(Dist):
    """A tensor written in parts (``zeros_`` then a block set to the identity)."""

    parts: tuple[Dist, ...]

    @property
    def random(self) -> bool:  # type: ignore[override]
        return any(part.random for part in self.parts)

    @property
    def constant(self) -> float | None:
        values = {part.constant for part in self.parts}
        return values.pop() if len(values) == 1 else None

    def describe(self) -> str:
        return " then partly ".join(part.describe() for part in self.parts)


UNKNOWN_DIST = Opaque("values written by code the evaluator does not model")


def number(value: Any) -> float | None:
    """A finite float from an evaluated argument, else None."""
    return float(value) if is_number(value) else None


def spelled_number(value: Any) -> str:
    return describe(value)
