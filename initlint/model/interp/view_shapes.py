"""The shape of a tensor view: ``w.t()``, ``x.expand(1, -1)``, ``w.view(a, b)``, ``p.unsqueeze(0)``.

A view's shape decides the fan-in a matmul reads from it (``x @ w.t()``) and the shape of a
parameter or buffer made from it (``nn.Buffer(torch.arange(n).expand((1, -1)))``). Each method
is computed as torch computes it, from the base's shape and the arguments; a size that is not a
number or a symbol, a ``-1`` that cannot be resolved, or a dimension out of range gives a shape
that is not known (UNKNOWN), never a guess.
"""

from __future__ import annotations

import math
from typing import Any

from initlint.model.values import UNKNOWN, Sym, is_number

#: casts and moves: the values may be copied, the shape stays
SAME_SHAPE = frozenset(
    {"contiguous", "float", "double", "half", "bfloat16", "to", "cuda", "cpu", "type", "type_as",
     "requires_grad_", "pin_memory"}
)


def view_shape(name: str, shape: Any, args: list[Any], kwargs: dict[str, Any]) -> Any:
    """The shape ``tensor.<name>(*args, **kwargs)`` has, for a tensor of ``shape``."""
    if name in SAME_SHAPE:
        return shape
    if name in ("view_as", "reshape_as", "expand_as"):
        other = args[0] if args else kwargs.get("other")
        return getattr(other, "shape", UNKNOWN)
    if not isinstance(shape, tuple):
        return UNKNOWN
    if name == "t":
        return shape[::-1] if len(shape) <= 2 else UNKNOWN
    if name in ("transpose", "swapaxes"):
        dims = _dims(args, kwargs, ("dim0", "dim1"), len(shape))
        if dims is None or len(dims) != 2:
            return UNKNOWN
        swapped = list(shape)
        swapped[dims[0]], swapped[dims[1]] = swapped[dims[1]], swapped[dims[0]]
        return tuple(swapped)
    if name == "permute":
        order = _dims(_sizes(args, kwargs, "dims"), {}, (), len(shape))
        if order is None or sorted(order) != list(range(len(shape))):
            return UNKNOWN
        return tuple(shape[d] for d in order)
    if name == "unsqueeze":
        dims = _dims(args, kwargs, ("dim",), len(shape) + 1)
        return shape[: dims[0]] + (1,) + shape[dims[0]:] if dims else UNKNOWN
    if name == "squeeze":
        return _squeezed(shape, args, kwargs)
    if name == "expand":
        return _expanded(shape, _sizes(args, kwargs, "size"))
    if name in ("view", "reshape"):
        return _reshaped(shape, _sizes(args, kwargs, "shape"))
    if name == "flatten":
        return _flattened(shape, args, kwargs)
    return UNKNOWN


def _sizes(args: list[Any], kwargs: dict[str, Any], keyword: str) -> list[Any]:
    """``f(a, b)``, ``f((a, b))`` and ``f(size=(a, b))`` alike."""
    if len(args) == 1 and isinstance(args[0], (tuple, list)):
        return list(args[0])
    if not args and isinstance(kwargs.get(keyword), (tuple, list)):
        return list(kwargs[keyword])
    return list(args)


def _size(value: Any) -> bool:
    return is_number(value) and value >= 0 or isinstance(value, Sym)


def _dims(args: list[Any], kwargs: dict[str, Any], keywords: tuple[str, ...], rank: int) -> list[int] | None:
    """Dimension arguments, negatives counted from the end; None if one is not a known int in range."""
    values = list(args) + [kwargs[k] for k in keywords[len(args):] if k in kwargs]
    found = []
    for value in values:
        if not isinstance(value, int) or isinstance(value, bool) or not -rank <= value < rank:
            return None
        found.append(value % rank)
    return found


def _squeezed(shape: tuple, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not args and "dim" not in kwargs:
        if all(is_number(s) for s in shape):
            return tuple(s for s in shape if s != 1)
        return UNKNOWN
    dims = _dims(args, kwargs, ("dim",), len(shape))
    if not dims or not is_number(shape[dims[0]]):
        return UNKNOWN
    return shape[: dims[0]] + shape[dims[0] + 1:] if shape[dims[0]] == 1 else shape


def _expanded(shape: tuple, sizes: list[Any]) -> Any:
    """torch's broadcast: new leading dimensions, ``-1`` keeps the existing size."""
    if len(sizes) < len(shape):
        return UNKNOWN
    lead = len(sizes) - len(shape)
    result = []
    for index, size in enumerate(sizes):
        if size == -1 and not isinstance(size, bool) and index >= lead:
            result.append(shape[index - lead])
        elif _size(size):
            result.append(size)
        else:
            return UNKNOWN
    return tuple(result)


def _reshaped(shape: tuple, sizes: list[Any]) -> Any:
    """``view``/``reshape``: one ``-1`` is what the known total leaves."""
    if not sizes:
        return UNKNOWN
    free = [i for i, s in enumerate(sizes) if s == -1 and not isinstance(s, bool)]
    if any(not _size(s) for i, s in enumerate(sizes) if i not in free) or len(free) > 1:
        return UNKNOWN
    if not free:
        return tuple(sizes)
    known = [s for i, s in enumerate(sizes) if i not in free]
    if not all(is_number(s) for s in (*shape, *known)) or math.prod(known) == 0:
        return UNKNOWN
    total = math.prod(shape)
    if total % math.prod(known):
        return UNKNOWN
    result = list(sizes)
    result[free[0]] = total // math.prod(known)
    return tuple(result)


def _flattened(shape: tuple, args: list[Any], kwargs: dict[str, Any]) -> Any:
    if not shape:
        return (1,)
    start = args[0] if args else kwargs.get("start_dim", 0)
    end = args[1] if len(args) > 1 else kwargs.get("end_dim", -1)
    dims = _dims([start, end], {}, (), len(shape))
    if dims is None or dims[0] > dims[1]:
        return UNKNOWN
    merged = shape[dims[0]: dims[1] + 1]
    if not all(is_number(s) for s in merged):
        return UNKNOWN
    return shape[: dims[0]] + (math.prod(merged),) + shape[dims[1] + 1:]
