"""theory.py is total, and odd literals never become "a bug in initlint", NaN or a false finding
(issue 14, item 8). The lead is replacing initlint/model/: the check_source tests guard it."""

from __future__ import annotations

import inspect
import itertools
import math

import pytest

from initlint import check_source, theory

HUGE = "1" + "0" * 400  # an integer literal far beyond the float range
ODD_VALUES = [
    None, True, "x", (1, 2), [], {}, 0, -1, 3.5, 10**400, -(10**400), math.nan, math.inf, -math.inf,
    1e308, 5e-324,
]


def _functions():
    for name, function in inspect.getmembers(theory, inspect.isfunction):
        if function.__module__ == theory.__name__ and not name.startswith("_"):
            yield name, function


@pytest.mark.parametrize("name, function", list(_functions()), ids=lambda v: v if isinstance(v, str) else "")
def test_every_theory_function_is_total(name, function):
    """Never raises, never returns NaN, for any combination of odd arguments."""
    arity = len(inspect.signature(function).parameters)
    for args in itertools.product(ODD_VALUES, repeat=arity):
        value = function(*args)
        if name == "format_number":
            assert isinstance(value, str)
            continue
        assert value is None or isinstance(value, float), (args, value)
        if value is not None and name != "compound":
            assert math.isfinite(value), (args, value)
        if value is not None:
            assert not math.isnan(value), (args, value)


def test_theory_keeps_its_numbers():
    assert theory.calculate_gain("relu") == math.sqrt(2)
    assert theory.calculate_gain("leaky_relu", math.sqrt(5)) == math.sqrt(2 / 6)
    assert theory.calculate_gain("tanh") == 5 / 3
    assert theory.calculate_gain(None) is None and theory.calculate_gain("swish") is None
    assert theory.calculate_gain("leaky_relu", "x") is None
    assert theory.uniform_second_moment(-100, 100) == pytest.approx(1e4 / 3)
    assert theory.uniform_second_moment(-10**400, 10**400) is None
    assert theory.trunc_normal_second_moment(0.0, 1.0, -1e300, 1e300) == pytest.approx(1.0)
    assert theory.trunc_normal_second_moment(0.0, 1.0, -math.inf, math.inf) is None  # unknown bounds
    assert theory.trunc_normal_second_moment(0.0, 1e-300, -1e10, 1e10) == pytest.approx(1e-600, abs=1e-300)
    assert theory.compound(10.0, 400) == math.inf
    assert theory.compound(0.5, 2) == 0.25
    assert theory.format_number(10**400) == "1e400" and theory.format_number(-3 * 10**500) == "-3e500"
    assert theory.format_number(None) == "None"


TEMPLATE = """\
import torch.nn as nn


class Net(nn.Module):
    def __init__(self):
        super().__init__()
        self.fc = nn.Linear({fan_in}, 256)
        self.out = nn.Linear(256, 10)
        {init}

    def forward(self, x):
        return self.out(self.fc(x).relu())
"""

ODD_INITS = [
    "nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain(None))",
    "nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain(1))",
    "nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain(3.5))",
    "nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain((1, 2)))",
    "nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain('leaky_relu', 'x'))",
    f"nn.init.xavier_uniform_(self.fc.weight, gain=nn.init.calculate_gain('leaky_relu', {HUGE}))",
    f"nn.init.uniform_(self.fc.weight, -{HUGE}, {HUGE})",
    f"nn.init.normal_(self.fc.weight, std={HUGE})",
    f"nn.init.normal_(self.fc.weight, mean={HUGE})",
    f"nn.init.trunc_normal_(self.fc.weight, std={HUGE})",
    f"nn.init.trunc_normal_(self.fc.weight, std=0.02, a=-{HUGE}, b={HUGE})",
    f"nn.init.kaiming_normal_(self.fc.weight, a={HUGE})",
    f"nn.init.xavier_normal_(self.fc.weight, gain={HUGE})",
    f"nn.init.orthogonal_(self.fc.weight, gain={HUGE})",
    f"nn.init.constant_(self.fc.weight, {HUGE})",
    "nn.init.normal_(self.fc.weight, std=float('nan'))",
    "nn.init.normal_(self.fc.weight, mean=float('nan'))",
    "nn.init.uniform_(self.fc.weight, float('nan'), 1)",
    "nn.init.uniform_(self.fc.weight, -float('inf'), float('inf'))",
    "nn.init.normal_(self.fc.weight, std=float('inf'))",
    "nn.init.normal_(self.fc.weight, std=1e308 * 10)",
    "nn.init.trunc_normal_(self.fc.weight, std=float('nan'))",
    "nn.init.kaiming_normal_(self.fc.weight, a=float('nan'))",
    "nn.init.xavier_normal_(self.fc.weight, gain=float('nan'))",
    "nn.init.constant_(self.fc.weight, float('nan'))",
    "nn.init.normal_(self.fc.weight, std=(10 ** 64) ** 64 ** 64)",
    # finite, but E[W^2] is beyond the float range: the rules get None, not a number
    "nn.init.uniform_(self.fc.weight, -1e308, 1e308)",
    "nn.init.normal_(self.fc.weight, std=1e308)",
    "nn.init.normal_(self.fc.weight, mean=1e308)",
]


@pytest.mark.parametrize("fan_in", ["128", HUGE, "float('nan')"], ids=["128", "huge", "nan"])
@pytest.mark.parametrize("init", ODD_INITS)
def test_odd_literals_are_unknown_never_a_bug_nan_or_a_finding(init, fan_in):
    findings = check_source(TEMPLATE.format(init=init, fan_in=fan_in))  # raises on a file error
    assert findings == []


def test_the_same_model_with_plain_numbers_is_still_flagged():
    """The odd literals above are silent because they are unknown, not because the rules broke."""
    findings = check_source(TEMPLATE.format(init="nn.init.normal_(self.fc.weight, std=1.0)", fan_in="128"))
    assert [(f.code, f.location.line) for f in findings] == [("IL202", 9)]
    assert "the variance gain is 128 per layer" in findings[0].message


@pytest.mark.parametrize(
    "init, code",
    [
        ("nn.init.trunc_normal_(self.fc.weight, std=1e308, a=-2, b=2)", "IL205"),
        ("nn.init.kaiming_normal_(self.fc.weight, nonlinearity='leaky_relu', a=1e200)", "IL303"),
    ],
)
def test_finite_extremes_whose_squares_overflow_still_give_their_finding(init, code):
    """Intermediate squares beyond the float range (1e308 ** 2) are None inside theory.py;
    the finding that holds without them stays, and no rule fails on the None."""
    findings = check_source(TEMPLATE.format(init=init, fan_in="128"))
    assert [(f.code, f.location.line) for f in findings] == [(code, 9)]
