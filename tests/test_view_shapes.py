"""A view's shape, computed as torch computes it; UNKNOWN where the arguments do not decide it."""

from __future__ import annotations

import pytest

from initlint.model.interp.view_shapes import view_shape
from initlint.model.values import UNKNOWN, Sym

D = Sym("dim")


@pytest.mark.parametrize(
    "name, shape, args, kwargs, expected",
    [
        ("float", (64, 1024), [], {}, (64, 1024)),
        ("to", (64, 1024), [UNKNOWN], {}, (64, 1024)),
        ("contiguous", (3, D), [], {}, (3, D)),
        ("t", (64, 1024), [], {}, (1024, 64)),
        ("t", (7,), [], {}, (7,)),
        ("t", (2, 3, 4), [], {}, UNKNOWN),
        ("transpose", (2, 3, 4), [0, -1], {}, (4, 3, 2)),
        ("transpose", (2, 3, 4), [0, 3], {}, UNKNOWN),
        ("permute", (2, 3, 4), [2, 0, 1], {}, (4, 2, 3)),
        ("permute", (2, 3, 4), [(1, 2, 0)], {}, (3, 4, 2)),
        ("permute", (2, 3, 4), [0, 0, 1], {}, UNKNOWN),
        ("unsqueeze", (5,), [0], {}, (1, 5)),
        ("unsqueeze", (5,), [-1], {}, (5, 1)),
        ("squeeze", (1, 5, 1), [], {}, (5,)),
        ("squeeze", (1, D), [], {}, UNKNOWN),
        ("squeeze", (1, D), [0], {}, (D,)),
        ("squeeze", (4, D), [0], {}, (4, D)),
        ("expand", (512,), [(1, -1)], {}, (1, 512)),
        ("expand", (1, 8), [4, 3, -1], {}, (4, 3, 8)),
        ("expand", (1, 8), [-1], {}, UNKNOWN),
        ("expand", (1, 8), [-1, 8], {}, (1, 8)),
        ("view", (4, 6), [3, 8], {}, (3, 8)),
        ("view", (4, 6), [-1], {}, (24,)),
        ("reshape", (4, 6), [(2, -1)], {}, (2, 12)),
        ("reshape", (4, 6), [5, -1], {}, UNKNOWN),
        ("reshape", (D, 6), [-1, 6], {}, UNKNOWN),
        ("view", (D, 6), [D, 2, 3], {}, (D, 2, 3)),
        ("flatten", (2, 3, 4), [], {}, (24,)),
        ("flatten", (2, 3, 4), [1], {}, (2, 12)),
        ("flatten", (D, 3, 4), [1], {}, (D, 12)),
        ("flatten", (D, 3, 4), [], {}, UNKNOWN),
        ("movedim", (2, 3), [0, 1], {}, UNKNOWN),
        ("view", UNKNOWN, [3, 8], {}, UNKNOWN),
    ],
)
def test_view_shape(name, shape, args, kwargs, expected):
    assert view_shape(name, shape, args, kwargs) == expected
