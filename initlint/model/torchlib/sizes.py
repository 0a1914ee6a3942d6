"""Shapes of the tensors torch's factories make, from their size arguments."""

from __future__ import annotations

import math
from typing import Any

from initlint.model.values import UNKNOWN, ListObj, Sym, is_number


def size_shape(size: Any, rest: list[Any]) -> Any:
    """``torch.zeros(3, 4)``'s, ``(3, 4)``'s or ``[3, 4]``'s size as a shape tuple (numbers or
    symbols); UNKNOWN for anything else."""
    if isinstance(size, tuple):
        if len(size) == 1 and isinstance(size[0], tuple):
            return size[0]
        return size if all(is_number(s) or isinstance(s, Sym) for s in size) else UNKNOWN
    if isinstance(size, ListObj) and not size.template:
        return tuple(size.items)
    if is_number(size) or isinstance(size, Sym):
        return (size,)
    return UNKNOWN


def range_shape(last: str, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """``torch.arange(end)``, ``(start, end)``, ``(start, end, step)`` with numbers: (length,);
    ``linspace``/``logspace`` with a number of steps: (steps,); else UNKNOWN."""
    if last == "arange":
        bounds = [*args[:3]]
        for key in ("start", "end", "step")[len(bounds):]:
            if key in kwargs:
                bounds.append(kwargs[key])
        if not bounds or not all(is_number(b) and not isinstance(b, bool) for b in bounds):
            return UNKNOWN
        start, end, step = (0, bounds[0], 1) if len(bounds) == 1 else (bounds[0], bounds[1], bounds[2] if len(bounds) > 2 else 1)
        if step == 0:
            return UNKNOWN
        return (max(0, math.ceil((end - start) / step)),)
    if last in ("linspace", "logspace"):
        steps = args[2] if len(args) > 2 else kwargs.get("steps")
        return (int(steps),) if is_number(steps) and not isinstance(steps, bool) and steps >= 0 and steps == int(steps) else UNKNOWN
    return UNKNOWN


__all__ = ["range_shape", "size_shape"]
