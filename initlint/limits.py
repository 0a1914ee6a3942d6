"""Limits a user sets (time, memory, thresholds) are finite, positive numbers.

NaN compares false with everything, so ``value <= 0`` lets it through, and a NaN time limit
or memory cap then never trips: the run goes on for ever. Infinity switches a limit off as
well. Every limit from the command line or a config file is checked here, one way.
"""

from __future__ import annotations

import math
from typing import Any


def is_positive_finite(value: Any) -> bool:
    """A number (not a bool) greater than 0 and neither NaN nor infinite."""
    if isinstance(value, bool) or not isinstance(value, (int, float)):
        return False
    try:
        return math.isfinite(value) and value > 0
    except OverflowError:  # an int beyond the float range is no usable limit either
        return False


def positive_finite_float(text: Any) -> float:
    """``text`` as a positive finite float; ValueError (with the reason) otherwise."""
    try:
        value = float(text)
    except (TypeError, ValueError, OverflowError):
        raise ValueError(f"{text!r} is not a number") from None
    if not is_positive_finite(value):
        raise ValueError(f"{text!r} is not a finite number above 0")
    return value
