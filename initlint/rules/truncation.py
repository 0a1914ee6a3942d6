"""IL209: a truncated normal whose absolute bounds lie so far out that nothing is truncated.

torch's ``trunc_normal_(w, mean, std, a, b)`` (and timm's ``trunc_normal_``) take ``a`` and ``b``
as absolute values, defaulting to -2 and 2. With the usual ``std=0.02`` they sit at +-100 std:
no draw of N(0, 0.02^2) ever comes near them, so the call is a plain ``normal_``. An author who
wrote the bounds (``std=0.01, a=-2, b=2``) asked for a truncation and almost always meant
TensorFlow's ``truncated_normal`` (and timm's ``trunc_normal_tf_``), which cuts at +-2 std; the
default bounds say the same thing less loudly (the timm/BERT idiom ``trunc_normal_(w, std=.02)``
reads as "truncated at two stds" and is a plain normal). The init is not harmful as such, which
is why this has its own code and a ``misuse`` effect: a project that knows can ignore it.
"""

from __future__ import annotations

import math
from typing import Iterable

from initlint import theory
from initlint.findings import Effect
from initlint.model.dists import TruncNormal
from initlint.model.facts import FileFacts
from initlint.model.syntax import number_literal
from initlint.model.torchlib.init_fns import INIT_SIGNATURES
from initlint.rules.base import Hit, Thresholds, rule
from initlint.rules.support import code, live
from initlint.tree import nodes

fmt = theory.format_number
#: bounds at least this many stds away on both sides cut nothing a normal draw gives
#: (P(|z| > 6) = 2e-9: one value in 500 million)
MIN_SIGMAS = 6.0


def _reach(dist: TruncNormal) -> tuple[float, float] | None:
    """How many stds below and above the mean the bounds are (absolute bounds only)."""
    if dist.std_units or not dist.std > 0:
        return None
    low, high = dist.bounds()
    if not (math.isfinite(low) and math.isfinite(high)) or low >= high:
        return None
    return (dist.mean_ - low) / dist.std, (high - dist.mean_) / dist.std


@rule(
    "IL209",
    "truncation-does-nothing",
    Effect.MISUSE,
    "trunc_normal_'s absolute bounds lie so many stds out that nothing is truncated",
    ("trunc_normal",),
)
def truncation_does_nothing(facts: FileFacts, limits: Thresholds) -> Iterable[Hit]:
    reported: set[int] = set()
    for entry in live(facts):
        for record in entry.init_calls:
            # the call's own text is the problem (its bounds), so it is reported where it is
            # written: a subclass in another file that runs it would repeat the base's finding
            if not record.frames or record.frames[-1].source is not facts.source:
                continue
            hit = _hit(record.frames[-1].node, record.dist, record.target, bool({"a", "b"} & record.given))
            if hit is not None and id(hit.node) not in reported:
                reported.add(id(hit.node))
                yield hit
    # a call no entry ran (a method only a training script calls, a function of a script) is
    # judged from its literal arguments: the bounds do not depend on what the tensor is
    for call in facts.syntax.truncations:
        if id(call) in reported:
            continue
        literal = literal_truncation(call)
        if literal is not None:
            dist, tensor, given = literal
            hit = _hit(call, dist, code(facts, tensor), given)
            if hit is not None:
                yield hit


def literal_truncation(call: nodes.Call) -> tuple[TruncNormal, nodes.BaseExpression, bool] | None:
    """The distribution of ``trunc_normal_(w, ...)`` whose arguments are all number literals
    (torch's defaults for the rest), the tensor it writes, and whether a bound was written."""
    signature = INIT_SIGNATURES["trunc_normal_"]
    names = ("tensor", *(name for name, _ in signature))
    values = {name: default for name, default in signature}
    given, tensor = False, None
    for position, arg in enumerate(call.args):
        key = arg.keyword.value if arg.keyword is not None else (names[position] if position < len(names) else None)
        if arg.star or key not in names:
            return None
        if key == "tensor":
            tensor = arg.value
        elif key != "generator":
            values[key] = number_literal(arg.value)
            if values[key] is None:
                return None
            given = given or key in ("a", "b")
    if tensor is None:
        return None
    return TruncNormal(values["mean"], values["std"], values["a"], values["b"]), tensor, given


def _hit(node: nodes.CSTNode, dist, target: str, written: bool) -> Hit | None:
    if not isinstance(dist, TruncNormal):
        return None
    reach = _reach(dist)
    if reach is None or min(reach) < MIN_SIGMAS:
        return None
    low, high = dist.bounds()
    sigmas = min(reach)
    default = "" if written else "the default bounds "
    return Hit(
        node,
        f"{dist.describe()} on `{target}` cuts at {default}a={fmt(low)}, b={fmt(high)}, which are "
        f"absolute values: {fmt(sigmas)} stds from the mean, where no draw of "
        f"N({fmt(dist.mean_)}, {fmt(dist.std)}^2) ever lands, so nothing is truncated and this "
        "is a plain normal_; truncation at +-2 std (TensorFlow's truncated_normal, timm's "
        "trunc_normal_tf_) needs the bounds scaled with the std",
        {"std": dist.std, "low": low, "high": high, "sigmas": sigmas},
        f"pass the bounds in absolute units: a=-2*std, b=2*std (here a={fmt(dist.mean_ - 2 * dist.std)}, "
        f"b={fmt(dist.mean_ + 2 * dist.std)}), or call timm's trunc_normal_tf_, whose bounds are in std units",
    )
