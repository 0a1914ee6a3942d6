"""Room on CPython's frame stack for the evaluator's deep, restless recursion.

CPython (3.11 and later) keeps the frames of Python calls in chunks of 16 KiB, and hands a chunk
back to the system the moment the first frame in it returns. The evaluator recurses deeply and
its depth swings by tens of frames all the time; wherever a swing crosses the edge of a chunk,
each crossing maps a fresh chunk, faults its pages in and unmaps it again. Which depths straddle
an edge depends on how deep the caller already is, so the same files cost more CPU in a worker
process than in the main one. Linting transformers' model files, about 70 % of all page faults
came from there, and a toy recursion that straddles an edge runs 4-5 times slower than one that
does not.

``with_stack_room`` calls a function from a frame that reserves a large block of unused stack
slots: CPython gives that frame a chunk twice the size of the reservation, and every frame below
it lives in the other half, which stays mapped until the call returns. The reserved slots are
never written, so their pages are never touched. On a Python without such chunks (3.10, PyPy)
it is an ordinary call.
"""

from __future__ import annotations

from typing import Any, Callable, TypeVar

Result = TypeVar("Result")

#: unused stack slots the calling frame reserves: 8 bytes each, just over 1 MiB, so CPython maps
#: a 2 MiB chunk and almost 1 MiB of it (thousands of frames) is left for the frames below
RESERVED_SLOTS = 131_200


def _call(function: Callable[..., Result], args: tuple, kwargs: dict[str, Any]) -> Result:
    return function(*args, **kwargs)


try:
    _call.__code__ = _call.__code__.replace(co_stacksize=RESERVED_SLOTS)
except (AttributeError, TypeError, ValueError):  # a Python whose code objects do not allow it
    pass


def with_stack_room(function: Callable[..., Result], *args: Any, **kwargs: Any) -> Result:
    """``function(*args, **kwargs)``, its recursion kept in one chunk of the frame stack."""
    return _call(function, args, kwargs)


__all__ = ["RESERVED_SLOTS", "with_stack_room"]
