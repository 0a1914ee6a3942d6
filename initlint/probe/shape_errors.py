"""The words of torch's shape errors that the fitter and the rebuild both read, in one place
(pure Python): each pattern names the sizes the failed op needed and got."""

from __future__ import annotations

import re

#: ``a + b`` of different sizes: (size of a, size of b, the dimension)
BROADCAST = re.compile(r"size of tensor a \((\d+)\) must match the size of tensor b \((\d+)\) at non-singleton dimension (\d+)")
#: a convolution fed another channel count: (input shape, channels needed, channels got)
CHANNELS = re.compile(r"expected input\[(\d+(?:, \d+)*)\] to have (\d+) channels, but got (\d+) channels")
#: ``x @ w``: (rows of x, columns of x, rows of w, columns of w)
MATMUL = re.compile(r"shapes cannot be multiplied \((\d+)x(\d+) and (\d+)x(\d+)\)")
#: ``x[i]`` past the end: (the index, the size of that dimension)
OUT_OF_BOUNDS = re.compile(r"index (\d+) is out of bounds for dimension \d+ with size (\d+)")
