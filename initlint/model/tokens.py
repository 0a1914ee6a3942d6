"""The text a file needs before anything in it can initialise a tensor.

Every fact the rules read comes from a write to a tensor's values: an init function
(``nn.init.*``, transformers' ``init.*``, timm's ``trunc_normal_``...), an in-place tensor method,
a ``.data =`` or item assignment, or a parameter made from a tensor factory. A file without any
of these spellings writes nothing itself; it may still build models whose init lives in another
file, which the engine finds through its imports (engine.py), not through these tokens.
"""

from __future__ import annotations

#: spellings of a write to a tensor's values (``nn.init import`` covers aliased imports)
INIT_TOKENS: tuple[str, ...] = (
    "normal_(", "uniform_(", "constant_(", "zeros_(", "ones_(", "fill_(", "zero_(", "xavier_",
    "kaiming_", "orthogonal_", "trunc_normal", "eye_(", "dirac_(", "sparse_(", "lecun_normal",
    "variance_scaling", "nn.init", "init import", "Parameter(", ".data =", ".data=", "copy_(",
    "weight[", "out=self.", "normal(", "uniform(", "constant(",
)
